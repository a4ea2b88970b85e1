// SPDX-License-Identifier: GPL-2.0
/*
 * Policy core: the verbs every caller uses.  They keep the live/candidate
 * state and counters common to all policies, then hand over to the policy's
 * ops.  See policy.h for when each is called.
 */
#include "policy.h"

static const struct vmc_policy_ops *const vmc_policy_tbl[VMC_POLICY_NR] = {
	[VMC_POLICY_LRU] = &vmc_lru_ops,
	[VMC_POLICY_FIFO] = &vmc_fifo_ops,
	[VMC_POLICY_LIRS] = &vmc_lirs_ops,
	[VMC_POLICY_DUEL] = &vmc_duel_ops,
};

static bool vmc_policy_mem_valid(const struct vmc_policy_mem *mem)
{
	const struct vmc_duel *d = mem->duel;

	if (d && (!d->ents || !d->buckets || !is_power_of_2(d->nr_buckets) ||
		  !vmc_policy_mem_valid(&d->mem)))
		return false;
	if (!mem->nr_ghosts)
		return true;
	return mem->ghosts && mem->buckets && mem->nr_buckets &&
	       is_power_of_2(mem->nr_buckets);
}

int vmc_policy_init(struct vmc_policy *pol, enum vmc_policy_kind kind,
		    u64 capacity_pages, const struct vmc_policy_mem *mem)
{
	if ((unsigned int)kind >= VMC_POLICY_NR)
		return -EINVAL;
	if (mem && !vmc_policy_mem_valid(mem))
		return -EINVAL;

	memset(pol, 0, sizeof(*pol));
	pol->ops = vmc_policy_tbl[kind];
	pol->capacity_pages = capacity_pages;
	pol->hir_pct = 1;
	pol->filling = true;
	INIT_LIST_HEAD(&pol->stack);
	INIT_LIST_HEAD(&pol->cand);
	INIT_LIST_HEAD(&pol->lir_cand);
	INIT_LIST_HEAD(&pol->ghost_age);
	INIT_LIST_HEAD(&pol->ghost_free);
	INIT_LIST_HEAD(&pol->lru);
	pol->tree = RB_ROOT_CACHED;
	if (mem && mem->nr_ghosts)
		pol->mem = *mem;
	if (mem && kind == VMC_POLICY_DUEL)
		pol->mem.duel = mem->duel;
	pol->ops->init(pol);
	return 0;
}

void vmc_policy_set_capacity(struct vmc_policy *pol, u64 capacity_pages)
{
	pol->capacity_pages = capacity_pages;
	pol->filling = true;
	if (pol->ops->set_capacity)
		pol->ops->set_capacity(pol);
}

void vmc_policy_insert(struct vmc_policy *pol, struct vmc_pnode *pn, u64 key,
		       unsigned int flags)
{
	pn->key = key;
	pn->seq = pol->seq++;
	INIT_LIST_HEAD(&pn->link.node);
	if (flags & VMC_INS_PREFETCH) {
		pn->link.flags = VMC_PN_PREFETCH;
		pol->stats.nr_cand++;
	} else {
		pn->link.flags = VMC_PN_LIVE;
		pol->stats.nr_live++;
	}
	pol->ops->insert(pol, pn);
}

void vmc_policy_hit(struct vmc_policy *pol, struct vmc_pnode *pn)
{
	if (!vmc_pnode_live(pn)) {
		pn->link.flags |= VMC_PN_LIVE;
		pn->link.flags &= ~VMC_PN_PREFETCH;
		pol->stats.nr_cand--;
		pol->stats.nr_live++;
	}
	pol->ops->hit(pol, pn);
}

void vmc_policy_unmap(struct vmc_policy *pol, struct vmc_pnode *pn)
{
	if (WARN_ON_ONCE(!vmc_pnode_live(pn)))
		return;
	pn->link.flags &= ~VMC_PN_LIVE;
	pol->stats.nr_live--;
	pol->stats.nr_cand++;
	pol->ops->unmap(pol, pn);
}

struct vmc_pnode *vmc_policy_victim(struct vmc_policy *pol)
{
	return pol->ops->victim(pol);
}

struct vmc_pnode *vmc_policy_victim_cold(struct vmc_policy *pol)
{
	struct vmc_pnode *pn = pol->ops->victim(pol);

	if (pn && (pn->link.flags & (VMC_PN_LIR | VMC_PN_PREFETCH)))
		return NULL;
	return pn;
}

void vmc_policy_del(struct vmc_policy *pol, struct vmc_pnode *pn, bool evicted)
{
	if (vmc_pnode_live(pn))
		pol->stats.nr_live--;
	else
		pol->stats.nr_cand--;
	if (evicted)
		pol->filling = false;
	pol->ops->del(pol, pn, evicted);
	pn->link.flags = 0;
}

int vmc_policy_kind_parse(const char *name)
{
	int i;

	for (i = 0; i < VMC_POLICY_NR; i++)
		if (!strcmp(name, vmc_policy_tbl[i]->name))
			return i;
	return -EINVAL;
}

const char *vmc_policy_kind_name(enum vmc_policy_kind kind)
{
	if ((unsigned int)kind >= VMC_POLICY_NR)
		return NULL;
	return vmc_policy_tbl[kind]->name;
}
