// SPDX-License-Identifier: GPL-2.0
/*
 * DUEL: LRU and LIRS in a duel, the cache taking the order of the winner.
 *
 * LIRS beats LRU by far where the guest loops over more pages than the
 * quota (a page cache recycled, a buffer pool, a ring of page fragments),
 * but where the pages reused soon keep changing (several TCP streams
 * sharing page fragments, say) its LIR set holds pages that are not
 * reused any more and LRU does better.  No fixed order wins everywhere, so
 * this policy runs both as shadow caches and follows the one ahead:
 *
 *  - the cache itself is kept in LIRS's state (its stack, queues and
 *    ghosts, from policy_lirs.c through vmc_lirs_ops) and, besides, in
 *    LRU's order of candidates (@lru);
 *  - two shadow caches, an LRU one and a LIRS one (plain policy instances
 *    of their own, over nodes of their own), see the same maps and unmaps
 *    for a sample of the pages (one in 2^sample_shift by hash, all of them
 *    for quotas up to VMC_DUEL_SHADOW_PAGES) with the quota scaled by the
 *    same rate, and evict down to it as the pin cache does;
 *  - a map that hits in one shadow only moves the score towards it; once
 *    the score passes VMC_DUEL_MARGIN one way, the cache evicts its oldest
 *    candidate (LRU), once it passes it the other way, LIRS's victim.
 *
 * Following one order all along, the cache makes that policy's very
 * choices: the other's state is bookkeeping only.  Shadow storage comes
 * from the caller (&struct vmc_duel); without it the cache keeps LIRS's
 * order.  When the shadow entries run out (many sampled pages live at
 * once) a sampled page goes unseen by both shadows alike.
 */
#include "policy.h"

#define VMC_DUEL_LRU	0
#define VMC_DUEL_LIRS	1

static struct vmc_shadow *vmc_duel_ent(struct vmc_pnode *pn, int i)
{
	return container_of(pn - i, struct vmc_shadow, pn[0]);
}

static bool vmc_duel_sampled(const struct vmc_duel *d, u64 key)
{
	if (d->sample_shift >= 32)
		return false;
	return !(hash_64(key, 32) & (BIT(d->sample_shift) - 1));
}

static struct hlist_head *vmc_duel_bucket(struct vmc_duel *d, u64 key)
{
	return &d->buckets[d->bucket_bits ? hash_64(key, d->bucket_bits) : 0];
}

static struct vmc_shadow *vmc_duel_find(struct vmc_duel *d, u64 key)
{
	struct vmc_shadow *e;

	hlist_for_each_entry(e, vmc_duel_bucket(d, key), hash)
		if (e->key == key)
			return e;
	return NULL;
}

/* The shadows' entry of @key, if the duel samples @key and has one. */
static struct vmc_shadow *vmc_duel_entry(struct vmc_duel *d, u64 key)
{
	return d && vmc_duel_sampled(d, key) ? vmc_duel_find(d, key) : NULL;
}

static void vmc_duel_put(struct vmc_duel *d, struct vmc_shadow *e)
{
	hlist_del(&e->hash);
	list_add(&e->free, &d->free);
}

/* Take @pn out of shadow @i; the entry goes when no shadow has it. */
static void vmc_duel_shadow_del(struct vmc_duel *d, int i, struct vmc_pnode *pn,
				bool evicted)
{
	struct vmc_shadow *e = vmc_duel_ent(pn, i);

	vmc_policy_del(&d->shadow[i], pn, evicted);
	e->in &= ~BIT(i);
	d->pinned[i]--;
	if (!e->in)
		vmc_duel_put(d, e);
}

/* Evict from shadow @i until @nr_pages more fit, as the pin cache does. */
static void vmc_duel_shadow_room(struct vmc_duel *d, int i, u64 nr_pages)
{
	struct vmc_pnode *v;

	while (vmc_quota_excess(d->shadow_pages, d->pinned[i], nr_pages)) {
		v = vmc_policy_victim(&d->shadow[i]);
		if (!v)
			break;
		vmc_duel_shadow_del(d, i, v, VMC_DEL_EVICT);
	}
}

static void vmc_duel_score(struct vmc_duel *d, bool lru_hit, bool lirs_hit)
{
	bool lead;

	if (lru_hit == lirs_hit)
		return;
	if (lru_hit && d->score < VMC_DUEL_SCORE_MAX)
		d->score++;
	else if (lirs_hit && d->score > -VMC_DUEL_SCORE_MAX)
		d->score--;
	/* Follow the other only once it is clearly ahead: switching costs. */
	if (d->score >= VMC_DUEL_MARGIN)
		lead = true;
	else if (d->score <= -VMC_DUEL_MARGIN)
		lead = false;
	else
		lead = d->lru_leads;
	if (lead != d->lru_leads) {
		d->lru_leads = lead;
		d->switches++;
	}
}

/* The guest maps sampled page @key: a hit or a miss in each shadow. */
static void vmc_duel_access(struct vmc_policy *pol, u64 key)
{
	struct vmc_duel *d = pol->mem.duel;
	struct vmc_shadow *e;
	bool hit[2];
	int i;

	if (!d || !vmc_duel_sampled(d, key))
		return;
	e = vmc_duel_find(d, key);
	if (!e) {
		e = list_first_entry_or_null(&d->free, struct vmc_shadow, free);
		if (!e)
			return;
		list_del(&e->free);
		e->key = key;
		e->in = 0;
		hlist_add_head(&e->hash, vmc_duel_bucket(d, key));
	}
	for (i = 0; i < 2; i++) {
		hit[i] = e->in & BIT(i);
		if (hit[i]) {
			vmc_policy_hit(&d->shadow[i], &e->pn[i]);
			d->hits[i]++;
			continue;
		}
		vmc_duel_shadow_room(d, i, 1);
		vmc_policy_insert(&d->shadow[i], &e->pn[i], key, VMC_INS_LIVE);
		e->in |= BIT(i);
		d->pinned[i]++;
	}
	vmc_duel_score(d, hit[VMC_DUEL_LRU], hit[VMC_DUEL_LIRS]);
}

/* The guest's last mapping of @key went: the shadows keep it as a candidate. */
static void vmc_duel_release(struct vmc_policy *pol, u64 key)
{
	struct vmc_duel *d = pol->mem.duel;
	struct vmc_shadow *e = vmc_duel_entry(d, key);
	int i;

	if (!e)
		return;
	for (i = 0; i < 2; i++) {
		if ((e->in & BIT(i)) && vmc_pnode_live(&e->pn[i]))
			vmc_policy_unmap(&d->shadow[i], &e->pn[i]);
		/* The entry may go with this. */
		vmc_duel_shadow_room(d, i, 0);
	}
}

/* @key is gone for good (invalidated, teardown): the shadows forget it. */
static void vmc_duel_forget(struct vmc_policy *pol, u64 key)
{
	struct vmc_duel *d = pol->mem.duel;
	struct vmc_shadow *e = vmc_duel_entry(d, key);
	int i;

	for (i = 0; e && i < 2; i++)
		if (e->in & BIT(i))
			vmc_duel_shadow_del(d, i, &e->pn[i], VMC_DEL_DROP);
}

static void vmc_duel_setup(struct vmc_duel *d, u64 capacity_pages)
{
	u32 i;

	d->sample_shift = vmc_duel_sample_shift(capacity_pages);
	d->shadow_pages = vmc_duel_shadow_pages(capacity_pages);
	d->bucket_bits = ilog2(d->nr_buckets);
	d->score = 0;
	d->lru_leads = false;
	d->pinned[0] = 0;
	d->pinned[1] = 0;
	d->hits[0] = 0;
	d->hits[1] = 0;
	d->switches = 0;
	INIT_LIST_HEAD(&d->free);
	for (i = 0; i < d->nr_ents; i++)
		list_add_tail(&d->ents[i].free, &d->free);
	for (i = 0; i < d->nr_buckets; i++)
		INIT_HLIST_HEAD(&d->buckets[i]);
	vmc_policy_init(&d->shadow[VMC_DUEL_LRU], VMC_POLICY_LRU, d->shadow_pages, NULL);
	vmc_policy_init(&d->shadow[VMC_DUEL_LIRS], VMC_POLICY_LIRS, d->shadow_pages,
			&d->mem);
}

static void vmc_duel_init(struct vmc_policy *pol)
{
	vmc_lirs_ops.init(pol);
	if (pol->mem.duel)
		vmc_duel_setup(pol->mem.duel, pol->capacity_pages);
}

static void vmc_duel_insert(struct vmc_policy *pol, struct vmc_pnode *pn)
{
	bool live = vmc_pnode_live(pn);

	vmc_lirs_ops.insert(pol, pn);
	if (!live) {
		/* Pinned ahead: a candidate, the newest. */
		list_add_tail(&pn->lru, &pol->lru);
		return;
	}
	vmc_duel_access(pol, pn->key);
}

static void vmc_duel_hit(struct vmc_policy *pol, struct vmc_pnode *pn)
{
	if (pn->link.flags & VMC_PN_CAND)
		list_del(&pn->lru);
	vmc_lirs_ops.hit(pol, pn);
	vmc_duel_access(pol, pn->key);
}

static void vmc_duel_unmap(struct vmc_policy *pol, struct vmc_pnode *pn)
{
	vmc_lirs_ops.unmap(pol, pn);
	list_add_tail(&pn->lru, &pol->lru);
	vmc_duel_release(pol, pn->key);
}

static struct vmc_pnode *vmc_duel_victim(struct vmc_policy *pol)
{
	if (pol->mem.duel && pol->mem.duel->lru_leads)
		return list_first_entry_or_null(&pol->lru, struct vmc_pnode, lru);
	return vmc_lirs_ops.victim(pol);
}

static void vmc_duel_del(struct vmc_policy *pol, struct vmc_pnode *pn, bool evicted)
{
	if (pn->link.flags & VMC_PN_CAND)
		list_del(&pn->lru);
	vmc_lirs_ops.del(pol, pn, evicted);
	if (!evicted)
		vmc_duel_forget(pol, pn->key);
}

/*
 * The shadows keep the size their storage was made for: a caller that
 * changes the quota for good sets the policy up again with new storage
 * (vmc_policy_init()).
 */
static void vmc_duel_set_capacity(struct vmc_policy *pol)
{
	vmc_lirs_ops.set_capacity(pol);
}

const struct vmc_policy_ops vmc_duel_ops = {
	.name = "duel",
	.init = vmc_duel_init,
	.insert = vmc_duel_insert,
	.hit = vmc_duel_hit,
	.unmap = vmc_duel_unmap,
	.victim = vmc_duel_victim,
	.del = vmc_duel_del,
	.set_capacity = vmc_duel_set_capacity,
};
