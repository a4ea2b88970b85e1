// SPDX-License-Identifier: GPL-2.0
/*
 * FIFO: candidates are evicted in the order they were pinned, whatever
 * happened to them since.  A page that is mapped again keeps its place, so
 * candidates are kept in a tree ordered by insertion sequence rather than on
 * a list: a page unmapped late may still be the oldest.
 */
#include "policy.h"

static void vmc_fifo_init(struct vmc_policy *pol)
{
}

static bool vmc_fifo_less(struct rb_node *a, const struct rb_node *b)
{
	return rb_entry(a, struct vmc_pnode, rb)->seq <
	       rb_entry(b, struct vmc_pnode, rb)->seq;
}

static void vmc_fifo_enqueue(struct vmc_policy *pol, struct vmc_pnode *pn)
{
	pn->link.flags |= VMC_PN_CAND;
	rb_add_cached(&pn->rb, &pol->tree, vmc_fifo_less);
}

static void vmc_fifo_dequeue(struct vmc_policy *pol, struct vmc_pnode *pn)
{
	if (pn->link.flags & VMC_PN_CAND) {
		rb_erase_cached(&pn->rb, &pol->tree);
		pn->link.flags &= ~VMC_PN_CAND;
	}
}

static void vmc_fifo_insert(struct vmc_policy *pol, struct vmc_pnode *pn)
{
	if (!vmc_pnode_live(pn))
		vmc_fifo_enqueue(pol, pn);
}

static void vmc_fifo_hit(struct vmc_policy *pol, struct vmc_pnode *pn)
{
	vmc_fifo_dequeue(pol, pn);
}

static struct vmc_pnode *vmc_fifo_victim(struct vmc_policy *pol)
{
	struct rb_node *rb = rb_first_cached(&pol->tree);

	return rb ? rb_entry(rb, struct vmc_pnode, rb) : NULL;
}

static void vmc_fifo_del(struct vmc_policy *pol, struct vmc_pnode *pn,
			 bool evicted)
{
	vmc_fifo_dequeue(pol, pn);
}

const struct vmc_policy_ops vmc_fifo_ops = {
	.name = "fifo",
	.init = vmc_fifo_init,
	.insert = vmc_fifo_insert,
	.hit = vmc_fifo_hit,
	.unmap = vmc_fifo_enqueue,
	.victim = vmc_fifo_victim,
	.del = vmc_fifo_del,
};
