// SPDX-License-Identifier: GPL-2.0
/*
 * LRU: candidates are evicted in the order they became candidates.  The guest
 * unmap is the last use of a page we can see, so this is least recently used
 * among the pages we are allowed to evict.  Live pages sit on no list.
 */
#include "policy.h"

static void vmc_lru_init(struct vmc_policy *pol)
{
}

static void vmc_lru_enqueue(struct vmc_policy *pol, struct vmc_pnode *pn)
{
	pn->link.flags |= VMC_PN_CAND;
	list_add_tail(&pn->q, &pol->cand);
}

static void vmc_lru_dequeue(struct vmc_pnode *pn)
{
	if (pn->link.flags & VMC_PN_CAND) {
		list_del(&pn->q);
		pn->link.flags &= ~VMC_PN_CAND;
	}
}

static void vmc_lru_insert(struct vmc_policy *pol, struct vmc_pnode *pn)
{
	if (!vmc_pnode_live(pn))
		vmc_lru_enqueue(pol, pn);
}

static void vmc_lru_hit(struct vmc_policy *pol, struct vmc_pnode *pn)
{
	vmc_lru_dequeue(pn);
}

static struct vmc_pnode *vmc_lru_victim(struct vmc_policy *pol)
{
	return list_first_entry_or_null(&pol->cand, struct vmc_pnode, q);
}

static void vmc_lru_del(struct vmc_policy *pol, struct vmc_pnode *pn,
			bool evicted)
{
	vmc_lru_dequeue(pn);
}

const struct vmc_policy_ops vmc_lru_ops = {
	.name = "lru",
	.init = vmc_lru_init,
	.insert = vmc_lru_insert,
	.hit = vmc_lru_hit,
	.unmap = vmc_lru_enqueue,
	.victim = vmc_lru_victim,
	.del = vmc_lru_del,
};
