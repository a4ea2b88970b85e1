// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-mapcache pin-cache rules (see pcrules.h): no kernel dependencies
 * beyond the policy core's, so that the unit tests build this very file.
 */
#include "pcrules.h"

/**
 * vmc_cache_init() - an empty cache
 * @c: the cache; its policy is initialised by the caller
 * @ops: the pin cache's side
 *
 * No quota, no idle release, pages kept when unmapped.
 */
void vmc_cache_init(struct vmc_cache *c, const struct vmc_cache_ops *ops)
{
	c->ops = ops;
	INIT_LIST_HEAD(&c->idle);
	c->quota_pages = 0;
	c->pinned_pages = 0;
	c->live_pages = 0;
	c->peak_pinned_pages = 0;
	c->peak_live_pages = 0;
	c->idle_epoch = 0;
	c->idle_on = false;
	c->keep = true;
}

/**
 * vmc_cache_reserve() - count pages about to be pinned
 * @c: the cache
 * @nr_pages: pages a map will pin (its misses), counted from now on
 */
void vmc_cache_reserve(struct vmc_cache *c, u64 nr_pages)
{
	c->pinned_pages += nr_pages;
	c->peak_pinned_pages = max(c->peak_pinned_pages, c->pinned_pages);
}

static void vmc_cache_live_inc(struct vmc_cache *c)
{
	c->live_pages++;
	c->peak_live_pages = max(c->peak_live_pages, c->live_pages);
}

/**
 * vmc_cache_insert() - a page a map pinned enters the cache, live
 * @c: the cache
 * @e: the page; reserved by vmc_cache_reserve() before
 * @key: its key in the policy
 */
void vmc_cache_insert(struct vmc_cache *c, struct vmc_centry *e, u64 key)
{
	e->live = 1;
	vmc_cache_live_inc(c);
	vmc_policy_insert(&c->policy, &e->pn, key, VMC_INS_LIVE);
}

/**
 * vmc_cache_use() - a map found @e pinned: one more live mapping
 * @c: the cache
 * @e: the page
 */
void vmc_cache_use(struct vmc_cache *c, struct vmc_centry *e)
{
	if (!e->live++) {
		/* A candidate no more. */
		list_del_init(&e->idle);
		vmc_cache_live_inc(c);
	}
	vmc_policy_hit(&c->policy, &e->pn);
}

/**
 * vmc_cache_unuse() - one live mapping of @e fewer
 * @c: the cache
 * @e: the page
 *
 * After the last, a stale page is unpinned (once no cached translation
 * leads to it either), a page of a cache that keeps nothing is forgotten,
 * and any other becomes a candidate.
 */
void vmc_cache_unuse(struct vmc_cache *c, struct vmc_centry *e)
{
	if (--e->live)
		return;
	c->live_pages--;
	if (e->stale) {
		if (!e->xlates)
			vmc_cache_unpin(c, e);
	} else if (!c->keep) {
		/* Switched off while it was live: not kept now. */
		vmc_cache_forget(c, e);
	} else {
		vmc_policy_unmap(&c->policy, &e->pn);
		vmc_cache_idle(c, e);
	}
}

/**
 * vmc_cache_idle() - @e became a candidate: the newest on the idle list
 * @c: the cache
 * @e: the page
 */
void vmc_cache_idle(struct vmc_cache *c, struct vmc_centry *e)
{
	c->ops->tick(c);
	e->idle_stamp = c->idle_epoch;
	list_add_tail(&e->idle, &c->idle);
}

/**
 * vmc_cache_unpin() - unpin a page that nothing uses any more
 * @c: the cache
 * @e: the page: out of the index and the policy, no live mapping, no
 *     cached translation
 */
void vmc_cache_unpin(struct vmc_cache *c, struct vmc_centry *e)
{
	c->pinned_pages--;
	c->ops->unpin(c, e);
}

/**
 * vmc_cache_forget() - take @e out of the cache, for good
 * @c: the cache
 * @e: the page (live, a candidate, or prefetched)
 *
 * Unpinned now if nothing reaches it, else stale: unpinned by its last
 * live user or cached translation.  Its history goes too.
 */
void vmc_cache_forget(struct vmc_cache *c, struct vmc_centry *e)
{
	c->ops->detach(c, e, false);
	vmc_policy_del(&c->policy, &e->pn, VMC_DEL_DROP);
	list_del_init(&e->idle);
	if (e->live || e->xlates)
		e->stale = true;
	else
		vmc_cache_unpin(c, e);
}

/**
 * vmc_cache_take() - take a candidate out of the cache, for a batch
 * @c: the cache
 * @e: the candidate, as the policy or the idle list chose it
 * @victims: where it goes until vmc_cache_finish()
 */
void vmc_cache_take(struct vmc_cache *c, struct vmc_centry *e, struct list_head *victims)
{
	c->ops->detach(c, e, true);
	vmc_policy_del(&c->policy, &e->pn, VMC_DEL_EVICT);
	list_del_init(&e->idle);
	/* The policy is done with the node: its link is ours now. */
	list_add_tail(&e->pn.link.node, victims);
}

/**
 * vmc_cache_finish() - unpin the candidates taken, in one batch
 * @c: the cache
 * @victims: what vmc_cache_take() took
 *
 * Their cached translations go first, with one sync; a victim that a
 * translation torn down but not yet synced still reaches (a batch in
 * flight) stays pinned, stale, until that translation is put.
 */
void vmc_cache_finish(struct vmc_cache *c, struct list_head *victims)
{
	struct vmc_centry *e, *tmp;

	if (list_empty(victims))
		return;
	c->ops->sync(c);
	list_for_each_entry_safe(e, tmp, victims, pn.link.node) {
		list_del(&e->pn.link.node);
		if (e->xlates)
			e->stale = true;
		else
			vmc_cache_unpin(c, e);
	}
}

/**
 * vmc_cache_evict() - evict candidates in the policy's order, in one batch
 * @c: the cache
 * @nr_pages: most to evict, but for the big candidates (@c->ops->evict_big),
 *            which go first and whole
 *
 * Return: how many were evicted (fewer if the candidates ran out).
 */
u64 vmc_cache_evict(struct vmc_cache *c, u64 nr_pages)
{
	u64 evicted = c->ops->evict_big ? c->ops->evict_big(c, nr_pages) : 0;
	LIST_HEAD(victims);

	while (evicted < nr_pages) {
		struct vmc_pnode *pn = vmc_policy_victim(&c->policy);

		if (!pn)
			break;
		vmc_cache_take(c, container_of(pn, struct vmc_centry, pn), &victims);
		evicted++;
	}
	vmc_cache_finish(c, &victims);
	return evicted;
}

/**
 * vmc_cache_release_idle() - release the candidates idle a whole window
 * @c: the cache
 *
 * Those stamped two windows ago or before go, oldest first, while more
 * than VMC_IDLE_KEEP_PAGES candidates are left.
 */
void vmc_cache_release_idle(struct vmc_cache *c)
{
	struct vmc_centry *e;
	LIST_HEAD(victims);
	u64 n = 0;

	c->ops->tick(c);
	while (c->idle_on && c->policy.stats.nr_cand > VMC_IDLE_KEEP_PAGES) {
		e = list_first_entry_or_null(&c->idle, struct vmc_centry, idle);
		if (!e || !vmc_idle_expired(c->idle_epoch, e->idle_stamp))
			break;
		vmc_cache_take(c, e, &victims);
		n++;
	}
	if (!n)
		return;
	vmc_cache_finish(c, &victims);
	c->ops->released(c, n, VMC_REL_IDLE);
}

/**
 * vmc_cache_make_room() - room for @nr_pages more pins within the quota
 * @c: the cache
 * @nr_pages: pages about to be pinned (0: just back within the quota)
 *
 * The idle candidates go first, then others in the policy's order until
 * @nr_pages more fit.
 *
 * Return: false if live pages keep them from fitting (the caller admits
 * them above the quota all the same: a quota never fails a map).
 */
bool vmc_cache_make_room(struct vmc_cache *c, u64 nr_pages)
{
	u64 over, evicted;

	/* Mostly a look at the oldest candidate's stamp. */
	if (c->idle_on && !list_empty(&c->idle))
		vmc_cache_release_idle(c);
	over = vmc_quota_excess(c->quota_pages, c->pinned_pages, nr_pages);
	if (over) {
		evicted = vmc_cache_evict(c, over);
		if (evicted)
			c->ops->released(c, evicted, VMC_REL_EVICT);
	}
	return !vmc_quota_excess(c->quota_pages, c->pinned_pages, nr_pages);
}

/**
 * vmc_cache_add_live() - count pages pinned live outside the cache's entries
 * @c: the cache
 * @nr_pages: pages of a large map (an extent): pinned and live until it goes,
 *            never candidates
 */
void vmc_cache_add_live(struct vmc_cache *c, u64 nr_pages)
{
	vmc_cache_reserve(c, nr_pages);
	c->live_pages += nr_pages;
	c->peak_live_pages = max(c->peak_live_pages, c->live_pages);
}

/**
 * vmc_cache_drop_live() - pages counted by vmc_cache_add_live() are unpinned
 * @c: the cache
 * @nr_pages: how many
 */
void vmc_cache_drop_live(struct vmc_cache *c, u64 nr_pages)
{
	c->pinned_pages -= nr_pages;
	c->live_pages -= nr_pages;
}
