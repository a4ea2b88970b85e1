// SPDX-License-Identifier: GPL-2.0
/*
 * LIRS (Jiang and Zhang, SIGMETRICS 2002), adapted to pages that may be live.
 *
 * A guest map is an access.  The recency stack holds, bottom (oldest) first,
 * LIR pages, resident HIR pages and ghosts (evicted HIR pages); its bottom is
 * always a LIR page, entries below the oldest LIR are pruned.  A HIR page
 * accessed while still on the stack has a reuse distance shorter than some
 * LIR page's, so it is promoted and the bottom LIR page is demoted.  In a
 * loop larger than the cache the LIR set therefore stays put and keeps
 * hitting, where LRU evicts exactly the page needed next.
 *
 * Only candidates are evicted: HIR candidates first, in the order they were
 * unmapped (the classic queue Q), LIR candidates only when no HIR candidate
 * is left.  Ghosts come from the caller's array; when it is exhausted the
 * oldest ghost is recycled, which only forgets history.
 */
#include "policy.h"

#define vmc_lirs_pn(l)	container_of(l, struct vmc_pnode, link)
#define vmc_lirs_gh(l)	container_of(l, struct vmc_ghost, link)

static struct vmc_plink *vmc_lirs_bottom(struct vmc_policy *pol)
{
	return list_first_entry_or_null(&pol->stack, struct vmc_plink, node);
}

static void vmc_lirs_size(struct vmc_policy *pol)
{
	u64 cap = pol->capacity_pages;
	u64 hir = cap / 100 * pol->hir_pct + cap % 100 * pol->hir_pct / 100;

	if (cap && !hir)
		hir = 1;
	pol->lir_max = cap > hir ? cap - hir : 0;
}

static void vmc_lirs_init(struct vmc_policy *pol)
{
	u32 i;

	for (i = 0; i < pol->mem.nr_ghosts; i++)
		list_add_tail(&pol->mem.ghosts[i].age, &pol->ghost_free);
	for (i = 0; i < pol->mem.nr_buckets; i++)
		INIT_HLIST_HEAD(&pol->mem.buckets[i]);
	if (pol->mem.nr_buckets)
		pol->bucket_bits = ilog2(pol->mem.nr_buckets);
	vmc_lirs_size(pol);
}

static struct hlist_head *vmc_lirs_bucket(struct vmc_policy *pol, u64 key)
{
	/* hash_64() of 0 bits would shift by 64: one bucket is bucket 0. */
	return &pol->mem.buckets[pol->bucket_bits ? hash_64(key, pol->bucket_bits) : 0];
}

static struct vmc_ghost *vmc_lirs_ghost_find(struct vmc_policy *pol, u64 key)
{
	struct vmc_ghost *g;

	if (!pol->mem.nr_ghosts)
		return NULL;
	hlist_for_each_entry(g, vmc_lirs_bucket(pol, key), hash)
		if (g->key == key)
			return g;
	return NULL;
}

static void vmc_lirs_ghost_free(struct vmc_policy *pol, struct vmc_ghost *g)
{
	list_del(&g->link.node);
	hlist_del(&g->hash);
	list_move(&g->age, &pol->ghost_free);
	g->link.flags = 0;
	pol->stats.nr_ghosts--;
}

static struct vmc_ghost *vmc_lirs_ghost_get(struct vmc_policy *pol)
{
	struct vmc_ghost *g;

	if (!pol->mem.nr_ghosts)
		return NULL;
	if (list_empty(&pol->ghost_free)) {
		g = list_first_entry(&pol->ghost_age, struct vmc_ghost, age);
		vmc_lirs_ghost_free(pol, g);
		pol->stats.ghost_recycled++;
	}
	g = list_first_entry(&pol->ghost_free, struct vmc_ghost, age);
	list_move_tail(&g->age, &pol->ghost_age);
	pol->stats.nr_ghosts++;
	return g;
}

/* Drop HIR entries from the bottom of the stack until a LIR page is there. */
static void vmc_lirs_prune(struct vmc_policy *pol)
{
	struct vmc_plink *l;

	while ((l = vmc_lirs_bottom(pol)) && !(l->flags & VMC_PN_LIR)) {
		if (l->flags & VMC_PN_GHOST) {
			vmc_lirs_ghost_free(pol, vmc_lirs_gh(l));
		} else {
			list_del_init(&l->node);
			l->flags &= ~VMC_PN_STACK;
		}
	}
}

static void vmc_lirs_push(struct vmc_policy *pol, struct vmc_pnode *pn)
{
	list_move_tail(&pn->link.node, &pol->stack);
	pn->link.flags |= VMC_PN_STACK;
}

/*
 * Live HIR pages cannot be evicted, so they take room from the HIR share: the
 * LIR set shrinks by their number, so that evictions keep coming from HIR
 * candidates (a NIC keeps its whole receive ring mapped, for instance).
 */
static u64 vmc_lirs_limit(const struct vmc_policy *pol)
{
	u64 live = pol->stats.nr_hir_live;

	return pol->lir_max > live ? pol->lir_max - live : 0;
}

static bool vmc_lirs_demote_bottom(struct vmc_policy *pol)
{
	struct vmc_plink *l = vmc_lirs_bottom(pol);
	struct vmc_pnode *pn;

	if (WARN_ON_ONCE(!l || !(l->flags & VMC_PN_LIR)))
		return false;
	pn = vmc_lirs_pn(l);
	list_del_init(&l->node);
	l->flags &= ~(VMC_PN_LIR | VMC_PN_STACK);
	pol->stats.nr_lir--;
	if (l->flags & VMC_PN_CAND)
		list_move_tail(&pn->q, &pol->cand);
	else
		pol->stats.nr_hir_live++;
	vmc_lirs_prune(pol);
	return true;
}

/*
 * The guest accessed live HIR page @pn, now on top of the stack: it joins the
 * LIR set if its previous access was recent enough to still be on the stack
 * (its reuse distance beats the oldest LIR page's), or while the cache is
 * still filling.  Once it is full, only recency lets a page in: admitting
 * new pages whenever live pages leave room would turn the LIR set over like
 * a FIFO and lose what makes LIRS resist loops.
 */
static void vmc_lirs_access(struct vmc_policy *pol, struct vmc_pnode *pn,
			    bool recent)
{
	u64 limit = vmc_lirs_limit(pol);

	if ((pol->filling && pol->stats.nr_lir < limit) || (recent && limit)) {
		pn->link.flags |= VMC_PN_LIR;
		pol->stats.nr_lir++;
		pol->stats.nr_hir_live--;
		if (pol->stats.nr_lir == 1)
			vmc_lirs_prune(pol);	/* HIR left from no LIR time */
	}
	if (pol->stats.nr_lir > limit)
		vmc_lirs_demote_bottom(pol);
}

static void vmc_lirs_insert(struct vmc_policy *pol, struct vmc_pnode *pn)
{
	struct vmc_ghost *g = vmc_lirs_ghost_find(pol, pn->key);

	if (g) {
		/* The page takes its ghost's place: same recency. */
		list_replace(&g->link.node, &pn->link.node);
		INIT_LIST_HEAD(&g->link.node);
		pn->link.flags |= VMC_PN_STACK;
		vmc_lirs_ghost_free(pol, g);
		pol->stats.ghost_hits++;
	}
	if (pn->link.flags & VMC_PN_PREFETCH) {
		/* Not an access: an evictable HIR page, recency unchanged. */
		pn->link.flags |= VMC_PN_CAND;
		list_add_tail(&pn->q, &pol->cand);
		return;
	}
	pol->stats.nr_hir_live++;
	vmc_lirs_push(pol, pn);
	vmc_lirs_access(pol, pn, g);
}

static void vmc_lirs_hit(struct vmc_policy *pol, struct vmc_pnode *pn)
{
	u32 flags = pn->link.flags;
	bool bottom = vmc_lirs_bottom(pol) == &pn->link;

	if (flags & VMC_PN_CAND) {
		list_del(&pn->q);
		pn->link.flags &= ~VMC_PN_CAND;
		if (!(flags & VMC_PN_LIR))
			pol->stats.nr_hir_live++;
	}
	vmc_lirs_push(pol, pn);
	if (!(flags & VMC_PN_LIR))
		vmc_lirs_access(pol, pn, flags & VMC_PN_STACK);
	else if (bottom)
		vmc_lirs_prune(pol);
}

static void vmc_lirs_unmap(struct vmc_policy *pol, struct vmc_pnode *pn)
{
	pn->link.flags |= VMC_PN_CAND;
	if (pn->link.flags & VMC_PN_LIR) {
		list_add_tail(&pn->q, &pol->lir_cand);
	} else {
		list_add_tail(&pn->q, &pol->cand);
		pol->stats.nr_hir_live--;
	}
}

static struct vmc_pnode *vmc_lirs_victim(struct vmc_policy *pol)
{
	if (!list_empty(&pol->cand))
		return list_first_entry(&pol->cand, struct vmc_pnode, q);
	return list_first_entry_or_null(&pol->lir_cand, struct vmc_pnode, q);
}

/* Leave a ghost where @pn was on the stack, if there is storage for one. */
static void vmc_lirs_leave_ghost(struct vmc_policy *pol, struct vmc_pnode *pn)
{
	struct vmc_ghost *g = vmc_lirs_ghost_get(pol);

	if (!g) {
		list_del_init(&pn->link.node);
		return;
	}
	g->key = pn->key;
	g->link.flags = VMC_PN_GHOST | VMC_PN_STACK;
	list_replace_init(&pn->link.node, &g->link.node);
	hlist_add_head(&g->hash, vmc_lirs_bucket(pol, g->key));
}

static void vmc_lirs_del(struct vmc_policy *pol, struct vmc_pnode *pn,
			 bool evicted)
{
	u32 flags = pn->link.flags;
	bool bottom = vmc_lirs_bottom(pol) == &pn->link;

	if (flags & VMC_PN_CAND)
		list_del(&pn->q);
	else if (!(flags & VMC_PN_LIR))
		pol->stats.nr_hir_live--;
	if ((flags & VMC_PN_STACK) && evicted)
		vmc_lirs_leave_ghost(pol, pn);
	else
		list_del_init(&pn->link.node);
	if (flags & VMC_PN_LIR) {
		pol->stats.nr_lir--;
		if (bottom)
			vmc_lirs_prune(pol);
	}
}

static void vmc_lirs_set_capacity(struct vmc_policy *pol)
{
	vmc_lirs_size(pol);
	while (pol->stats.nr_lir > vmc_lirs_limit(pol))
		if (!vmc_lirs_demote_bottom(pol))
			break;
}

const struct vmc_policy_ops vmc_lirs_ops = {
	.name = "lirs",
	.init = vmc_lirs_init,
	.insert = vmc_lirs_insert,
	.hit = vmc_lirs_hit,
	.unmap = vmc_lirs_unmap,
	.victim = vmc_lirs_victim,
	.del = vmc_lirs_del,
	.set_capacity = vmc_lirs_set_capacity,
};
