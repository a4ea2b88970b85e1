/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vfio-mapcache pin-cache rules: what happens to a page of the cache when
 * a guest maps or unmaps it, when candidates are released for the quota
 * and for idleness, and in which order.
 *
 * Between the policy core (policy.h: which page goes) and the pin cache
 * (pincache.c: GUP, the xarray of pins, the IOMMU, locking), this layer
 * keeps the counts that those decisions depend on (pinned, live, the idle
 * list) and applies them.  It does no locking (the caller serialises every
 * call on one &struct vmc_cache), no allocation and no I/O, and acts on
 * the world only through &struct vmc_cache_ops.  Like the policy core it
 * builds into the module and, through a userspace policy_internal.h, into
 * the unit tests, which replay traces through these very rules and
 * through tools/mapcache-sim and expect the same counters.
 *
 * Life of a page: vmc_cache_insert() when a map pinned it, live;
 * vmc_cache_use() and vmc_cache_unuse() as guest maps come and go (the
 * last unuse makes it a candidate: on the idle list, evictable);
 * vmc_cache_take() and vmc_cache_finish() when it is evicted or released;
 * vmc_cache_forget() when it leaves for another reason (the VMM changed
 * the memory): unpinned at once, or stale until its last live user or
 * cached translation goes.
 */
#ifndef _VMC_PCRULES_H
#define _VMC_PCRULES_H

#include "policy.h"

/**
 * struct vmc_centry - a page of a pin cache, as the rules see it
 * @pn: its node in the policy
 * @idle: link in &vmc_cache.idle while a candidate, else empty
 * @live: live guest mappings of the page
 * @xlates: cached translations leading to the page (lazy mode)
 * @idle_stamp: the idle epoch in which it last became a candidate
 * @stale: out of the cache, pinned until its last live mapping or cached
 *         translation goes
 *
 * Embedded in the caller's per-page object (struct vmc_pin).
 */
struct vmc_centry {
	struct vmc_pnode pn;
	struct list_head idle;
	unsigned int live;
	unsigned int xlates;
	u32 idle_stamp;
	bool stale;
};

struct vmc_cache;

/**
 * enum vmc_release - why candidates were released
 * @VMC_REL_EVICT: for the quota
 * @VMC_REL_IDLE: idle for a whole window
 */
enum vmc_release {
	VMC_REL_EVICT,
	VMC_REL_IDLE,
};

/**
 * struct vmc_cache_ops - what the rules ask of the pin cache
 * @detach: @e leaves the cache's index (the pin cache's xarray); with
 *          @evict, its cached translations are unlinked too, to be torn
 *          down by the next @sync
 * @sync: the translations unlinked since the last sync no longer reach
 *        their pages (one IOTLB flush), before those pages are unpinned
 * @unpin: unpin @e's page and free @e; &vmc_cache.pinned_pages is already
 *         one less
 * @tick: bring &vmc_cache.idle_epoch up to now
 * @released: @nr candidates were released in one batch, for @why
 * @evict_big: optional: release candidates outside the policy (the pin
 *             cache's cached extents, each many pages, cheap to pin again
 *             per page), which go before any of the policy's, until at
 *             least @nr_pages went or none is left; returns the pages
 *             released, already off &vmc_cache.pinned_pages
 */
struct vmc_cache_ops {
	void (*detach)(struct vmc_cache *c, struct vmc_centry *e, bool evict);
	void (*sync)(struct vmc_cache *c);
	void (*unpin)(struct vmc_cache *c, struct vmc_centry *e);
	void (*tick)(struct vmc_cache *c);
	void (*released)(struct vmc_cache *c, u64 nr, enum vmc_release why);
	u64 (*evict_big)(struct vmc_cache *c, u64 nr_pages);
};

/**
 * struct vmc_cache - the rules' state of one pin cache (one VM)
 * @policy: the eviction policy of its pages
 * @ops: the pin cache's side
 * @idle: candidates, oldest first
 * @quota_pages: the quota, 0 for none
 * @pinned_pages: pages pinned: live, candidates, stale until unpinned, and
 *                room reserved by maps in flight
 * @live_pages: pages with live mappings
 * @peak_pinned_pages: highest @pinned_pages
 * @peak_live_pages: highest @live_pages
 * @idle_epoch: the current idle window (see @ops->tick)
 * @idle_on: candidates idle for a whole window are released
 * @keep: pages that stop being live stay cached (modes strict and lazy);
 *        if not (mode off), they are forgotten
 */
struct vmc_cache {
	struct vmc_policy policy;
	const struct vmc_cache_ops *ops;
	struct list_head idle;
	u64 quota_pages;
	u64 pinned_pages;
	u64 live_pages;
	u64 peak_pinned_pages;
	u64 peak_live_pages;
	u32 idle_epoch;
	bool idle_on;
	bool keep;
};

void vmc_cache_init(struct vmc_cache *c, const struct vmc_cache_ops *ops);
void vmc_cache_reserve(struct vmc_cache *c, u64 nr_pages);
void vmc_cache_insert(struct vmc_cache *c, struct vmc_centry *e, u64 key);
void vmc_cache_use(struct vmc_cache *c, struct vmc_centry *e);
void vmc_cache_unuse(struct vmc_cache *c, struct vmc_centry *e);
void vmc_cache_idle(struct vmc_cache *c, struct vmc_centry *e);
void vmc_cache_unpin(struct vmc_cache *c, struct vmc_centry *e);
void vmc_cache_forget(struct vmc_cache *c, struct vmc_centry *e);
void vmc_cache_take(struct vmc_cache *c, struct vmc_centry *e, struct list_head *victims);
void vmc_cache_finish(struct vmc_cache *c, struct list_head *victims);
u64 vmc_cache_evict(struct vmc_cache *c, u64 nr_pages);
void vmc_cache_release_idle(struct vmc_cache *c);
bool vmc_cache_make_room(struct vmc_cache *c, u64 nr_pages);
void vmc_cache_add_live(struct vmc_cache *c, u64 nr_pages);
void vmc_cache_drop_live(struct vmc_cache *c, u64 nr_pages);

#endif /* _VMC_PCRULES_H */
