/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vfio-mapcache policy core: eviction order and access-graph prefetching.
 *
 * The policy core decides, it never acts.  It knows nothing of pins, IOMMU
 * domains or locks: it orders nodes that its caller embeds in its own per-page
 * structures and answers two questions, "which page should go?" and "which
 * pages will be wanted next?".  It does no locking (the caller serialises every
 * call on one &struct vmc_policy or &struct vmc_ag), no allocation (history is
 * kept in arrays the caller hands in at init, so memory is bounded and the
 * caller decides where it comes from) and no I/O.  The same source files build
 * into the kernel module and, through a userspace policy_internal.h, into the
 * simulator and the unit tests.
 *
 * Vocabulary:
 *  - page: the unit the cache pins, named by a 64-bit @key chosen by the
 *    caller (a guest frame number, a host virtual page number, ...).
 *  - live: the guest has at least one mapping of the page.  Never evictable.
 *  - candidate: pinned but not mapped by the guest (it was unmapped, or was
 *    pinned ahead by the prefetcher).  Only candidates may be evicted.
 *  - capacity: the quota in pages; policies that partition the cache (LIRS)
 *    size their partitions from it.  The caller enforces the quota itself.
 *
 * Life of a page, one call per event, all O(1) amortised:
 *
 *   vmc_policy_insert(LIVE)      the guest mapped a page that was not pinned
 *   vmc_policy_insert(PREFETCH)  a page was pinned ahead of use (candidate)
 *   vmc_policy_hit()             the guest mapped a page that is pinned
 *   vmc_policy_unmap()           the guest's last mapping of the page went
 *   vmc_policy_victim()          which candidate to evict (not unlinked)
 *   vmc_policy_del(EVICT)        the caller evicted it (history may be kept)
 *   vmc_policy_del(DROP)         it went for another reason (mmu notifier,
 *                                teardown): forget it entirely
 *
 * The access graph (&struct vmc_ag) is independent of the eviction policy:
 * vmc_ag_record() on every guest map, vmc_ag_predict() on a miss.
 */
#ifndef _VMC_POLICY_H
#define _VMC_POLICY_H

#include "policy_internal.h"

/**
 * enum vmc_policy_kind - eviction policies of the core
 * @VMC_POLICY_LRU: evict the candidate that became a candidate first
 *	(least recently unmapped).
 * @VMC_POLICY_FIFO: evict the candidate that was pinned first; mapping a
 *	page again does not change its place.
 * @VMC_POLICY_LIRS: Low Inter-reference Recency Set (Jiang and Zhang,
 *	SIGMETRICS 2002): pages with a short reuse distance (LIR) are kept,
 *	candidates among the others (HIR) go first.  Resists scans and loops
 *	larger than the cache, where LRU evicts exactly the page needed next.
 * @VMC_POLICY_DUEL: LRU and LIRS in a duel: shadow caches of both, over a
 *	hashed sample of the pages, count which would have hit; the cache
 *	evicts in the order of the one ahead.  LIRS's order where loops and
 *	scans make LRU fail, LRU's where LIRS keeps a stale LIR set.
 * @VMC_POLICY_NR: number of policies.
 */
enum vmc_policy_kind {
	VMC_POLICY_LRU,
	VMC_POLICY_FIFO,
	VMC_POLICY_LIRS,
	VMC_POLICY_DUEL,
	VMC_POLICY_NR,
};

/* What a VM gets unless told otherwise (default_policy). */
#define VMC_POLICY_DEFAULT	VMC_POLICY_DUEL
/* Prefetching is off unless asked for (default_prefetch). */
#define VMC_PF_DEFAULT_ON	false

/* vmc_pnode.flags */
#define VMC_PN_LIVE	0x01	/* mapped by the guest */
#define VMC_PN_CAND	0x02	/* on a victim list or tree */
#define VMC_PN_LIR	0x04	/* LIRS: in the LIR set */
#define VMC_PN_STACK	0x08	/* LIRS: in the recency stack */
#define VMC_PN_GHOST	0x10	/* LIRS: a non-resident history entry */
#define VMC_PN_PREFETCH	0x20	/* pinned ahead, not yet mapped */

/**
 * struct vmc_plink - a list link tagged with flags
 * @node: the link.
 * @flags: VMC_PN_* flags of the entry holding the link.
 *
 * LIRS keeps resident pages and ghosts on one recency stack; the tag tells
 * which is which.
 */
struct vmc_plink {
	struct list_head node;
	u32 flags;
};

/**
 * struct vmc_pnode - per-page policy state, embedded by the caller
 * @link: LRU, LIRS, DUEL: recency order; FIFO: unused.
 * @rb: FIFO: candidates by @seq.
 * @q: LIRS, DUEL: candidate queue (HIR candidates, or LIR candidates).
 * @lru: DUEL: candidates in the order they became candidates.
 * @key: the page, as given to vmc_policy_insert().
 * @seq: insertion order (FIFO).
 *
 * Owned by the policy between vmc_policy_insert() and vmc_policy_del();
 * the caller must not touch it in between, nor free it before del.
 */
struct vmc_pnode {
	struct vmc_plink link;
	union {
		struct rb_node rb;
		struct {
			struct list_head q;
			struct list_head lru;
		};
	};
	u64 key;
	u64 seq;
};

/**
 * struct vmc_ghost - history of an evicted page (LIRS)
 * @link: place on the LIRS recency stack; @link.flags has VMC_PN_GHOST.
 * @age: on the policy's ghost age list (oldest first) or its free list.
 * @hash: in the policy's ghost hash table.
 * @key: the evicted page.
 */
struct vmc_ghost {
	struct vmc_plink link;
	struct list_head age;
	struct hlist_node hash;
	u64 key;
};

struct vmc_duel;

/**
 * struct vmc_policy_mem - bounded history storage handed in at init
 * @ghosts: array of @nr_ghosts entries; 0 entries is valid (no history:
 *	LIRS then only promotes pages still resident).
 * @nr_ghosts: number of entries of @ghosts.
 * @buckets: hash table of @nr_buckets heads, a power of two (>= 1 when
 *	@nr_ghosts is non-zero).
 * @nr_buckets: number of entries of @buckets.
 * @duel: DUEL: storage of the shadow caches, with its arrays set (see
 *	&struct vmc_duel); NULL for the other policies.  Without it DUEL
 *	keeps LIRS's order.
 *
 * LRU and FIFO keep no history and accept a zeroed struct.  Twice the
 * capacity in ghosts is plenty for LIRS and DUEL.
 */
struct vmc_policy_mem {
	struct vmc_ghost *ghosts;
	u32 nr_ghosts;
	struct hlist_head *buckets;
	u32 nr_buckets;
	struct vmc_duel *duel;
};

/**
 * struct vmc_policy_stats - event counts of one policy instance
 * @nr_live: pages currently live.
 * @nr_cand: pages currently candidates.
 * @nr_lir: LIRS: pages in the LIR set.
 * @nr_hir_live: LIRS: live pages outside the LIR set.
 * @nr_ghosts: LIRS: ghost entries in use.
 * @ghost_hits: LIRS: inserts of a page that had a ghost.
 * @ghost_recycled: LIRS: ghosts reused before they left the stack.
 */
struct vmc_policy_stats {
	u64 nr_live;
	u64 nr_cand;
	u64 nr_lir;
	u64 nr_hir_live;
	u64 nr_ghosts;
	u64 ghost_hits;
	u64 ghost_recycled;
};

struct vmc_policy;

/**
 * struct vmc_policy_ops - one eviction policy
 * @name: keyword used by sysfs and the simulator ("lru", "fifo", "lirs",
 *	"duel").
 * @init: called once by vmc_policy_init() after the common fields are set.
 * @insert: called when a page that was not pinned has just been pinned; the
 *	node has VMC_PN_LIVE set if the guest maps it now and VMC_PN_CAND
 *	clear, or VMC_PN_PREFETCH set if it was pinned ahead.  A prefetched
 *	node must end up evictable.
 * @hit: called when the guest maps a pinned page, live or candidate,
 *	after the common code has set VMC_PN_LIVE.  The node must leave every
 *	victim list.
 * @unmap: called when the guest's last mapping of a live page is gone;
 *	VMC_PN_LIVE is already clear.  The node must become evictable.
 * @victim: called when the caller needs a page back; returns the candidate
 *	to evict, or NULL when there is none.  Must not unlink it.
 * @del: called when the page is unpinned, with the reason; must unlink
 *	the node from everything.  Never fails.
 * @set_capacity: optional; called when the quota changes.
 */
struct vmc_policy_ops {
	const char *name;
	void (*init)(struct vmc_policy *pol);
	void (*insert)(struct vmc_policy *pol, struct vmc_pnode *pn);
	void (*hit)(struct vmc_policy *pol, struct vmc_pnode *pn);
	void (*unmap)(struct vmc_policy *pol, struct vmc_pnode *pn);
	struct vmc_pnode *(*victim)(struct vmc_policy *pol);
	void (*del)(struct vmc_policy *pol, struct vmc_pnode *pn, bool evicted);
	void (*set_capacity)(struct vmc_policy *pol);
};

/**
 * struct vmc_policy - one instance of an eviction policy (one pin cache)
 * @ops: the policy.
 * @capacity_pages: the quota, in pages.
 * @seq: next insertion sequence number.
 * @stack: LRU: candidates, oldest first; LIRS: recency stack, bottom first.
 * @cand: LIRS: HIR candidates, oldest first (the classic LIRS queue Q).
 * @lir_cand: LIRS: LIR candidates, oldest first.
 * @tree: FIFO: candidates by insertion order.
 * @hir_pct: LIRS: share of @capacity_pages reserved to HIR pages, percent.
 * @lir_max: LIRS: size of the LIR set, from @capacity_pages, less the
 *	number of live HIR pages.
 * @mem: LIRS: ghost storage.
 * @ghost_age: LIRS: ghosts in use, oldest first.
 * @ghost_free: LIRS: unused ghosts.
 * @bucket_bits: LIRS: log2 of @mem.nr_buckets.
 * @lru: DUEL: candidates, in the order they became candidates.
 * @filling: nothing was evicted since init or the last capacity change.
 * @stats: event counts.
 */
struct vmc_policy {
	const struct vmc_policy_ops *ops;
	u64 capacity_pages;
	u64 seq;
	struct list_head stack;
	struct list_head cand;
	struct list_head lir_cand;
	struct rb_root_cached tree;
	u32 hir_pct;
	u64 lir_max;
	struct vmc_policy_mem mem;
	struct list_head ghost_age;
	struct list_head ghost_free;
	u32 bucket_bits;
	struct list_head lru;
	bool filling;
	struct vmc_policy_stats stats;
};

/* Sampled pages each shadow of a DUEL cache holds at most. */
#define VMC_DUEL_SHADOW_PAGES	1024
/* Shadow entries beyond the two shadows' capacity: sampled live pages. */
#define VMC_DUEL_SLACK		64
/* The duel's score saturates at this, either way. */
#define VMC_DUEL_SCORE_MAX	256
/* How far ahead the other shadow must get before evictions follow it. */
#define VMC_DUEL_MARGIN		64

/**
 * struct vmc_shadow - a sampled page, as the DUEL shadows know it
 * @pn: its node in the LRU shadow ([0]) and in the LIRS shadow ([1]).
 * @hash: in &struct vmc_duel's hash table, or on its free list.
 * @free: on &struct vmc_duel's free list while unused.
 * @key: the page.
 * @in: bit i set: pinned in shadow i.
 */
struct vmc_shadow {
	struct vmc_pnode pn[2];
	union {
		struct hlist_node hash;
		struct list_head free;
	};
	u64 key;
	u32 in;
};

/**
 * struct vmc_duel - the two shadow caches of a DUEL policy
 * @ents: caller storage, @nr_ents entries: vmc_duel_nr_ents().
 * @nr_ents: entries of @ents.
 * @buckets: caller storage, a hash table of @nr_buckets heads, a power of
 *	two >= 1.
 * @nr_buckets: heads of @buckets.
 * @mem: caller storage for the LIRS shadow's history: 2 *
 *	vmc_duel_shadow_pages() ghosts and a power-of-two table.
 * @shadow: the shadows, LRU ([0]) and LIRS ([1]), of @shadow_pages each.
 * @shadow_pages: the shadows' capacity: the quota over the sampling rate.
 * @sample_shift: a page is sampled if the low @sample_shift bits of its
 *	hash are 0: one page in 2^@sample_shift.
 * @bucket_bits: log2 of @nr_buckets.
 * @free: unused entries of @ents.
 * @pinned: pages pinned in each shadow.
 * @score: LRU shadow's hits less the LIRS shadow's, on maps where only one
 *	hit, saturated at +-VMC_DUEL_SCORE_MAX: above 0 the cache evicts in
 *	LRU's order, else in LIRS's.
 * @hits: hits of each shadow.
 * @switches: changes of the order evictions follow.
 * @lru_leads: the order evictions follow is LRU's.
 *
 * The caller sets the storage fields and hands it in as
 * &struct vmc_policy_mem.duel; vmc_policy_init() sets up the rest.
 */
struct vmc_duel {
	struct vmc_shadow *ents;
	u32 nr_ents;
	struct hlist_head *buckets;
	u32 nr_buckets;
	struct vmc_policy_mem mem;
	struct vmc_policy shadow[2];
	u64 shadow_pages;
	u32 sample_shift;
	u32 bucket_bits;
	struct list_head free;
	u64 pinned[2];
	s32 score;
	u64 hits[2];
	u64 switches;
	bool lru_leads;
};

/**
 * vmc_duel_sample_shift() - how sparsely a DUEL cache samples its pages
 * @capacity_pages: the quota in pages.
 *
 * Return: the smallest shift that brings the quota within
 * VMC_DUEL_SHADOW_PAGES; 64 when the quota is U64_MAX (no quota: no duel).
 */
static inline u32 vmc_duel_sample_shift(u64 capacity_pages)
{
	u32 shift = 0;

	if (capacity_pages == U64_MAX)
		return 64;
	while ((capacity_pages >> shift) > VMC_DUEL_SHADOW_PAGES)
		shift++;
	return shift;
}

/**
 * vmc_duel_shadow_pages() - capacity of each shadow of a DUEL cache
 * @capacity_pages: the quota in pages.
 *
 * Return: the quota over the sampling rate, at least 1; 0 without a quota.
 */
static inline u64 vmc_duel_shadow_pages(u64 capacity_pages)
{
	u32 shift = vmc_duel_sample_shift(capacity_pages);

	if (shift >= 64)
		return 0;
	return max_t(u64, capacity_pages >> shift, 1);
}

/**
 * vmc_duel_nr_ents() - shadow entries a DUEL cache needs
 * @capacity_pages: the quota in pages.
 *
 * Return: room for both shadows full and some sampled live pages.
 */
static inline u32 vmc_duel_nr_ents(u64 capacity_pages)
{
	return 2 * vmc_duel_shadow_pages(capacity_pages) + VMC_DUEL_SLACK;
}

/* vmc_policy_insert() flags */
#define VMC_INS_LIVE		0x0	/* the guest maps the page now */
#define VMC_INS_PREFETCH	0x1	/* pinned ahead of use: a candidate */

/* vmc_policy_del() reasons */
#define VMC_DEL_DROP		false	/* forget it (invalidated, teardown) */
#define VMC_DEL_EVICT		true	/* evicted: the policy may remember */

/**
 * vmc_policy_init() - set up a policy instance
 * @pol: the instance, any contents.
 * @kind: which policy.
 * @capacity_pages: the quota in pages (0 and U64_MAX are valid).
 * @mem: history storage, or NULL for none; must outlive @pol.
 *
 * Return: 0, or -EINVAL for an unknown @kind or a malformed @mem.
 */
int vmc_policy_init(struct vmc_policy *pol, enum vmc_policy_kind kind,
		    u64 capacity_pages, const struct vmc_policy_mem *mem);

/**
 * vmc_policy_set_capacity() - change the quota the policy sizes itself by
 * @pol: the instance.
 * @capacity_pages: the new quota in pages.
 *
 * Evicts nothing: the caller evicts with vmc_policy_victim() until it is
 * within the new quota.
 */
void vmc_policy_set_capacity(struct vmc_policy *pol, u64 capacity_pages);

/**
 * vmc_policy_insert() - a page has just been pinned
 * @pol: the instance.
 * @pn: the page's node, not known to any policy.
 * @key: the page.
 * @flags: VMC_INS_LIVE or VMC_INS_PREFETCH.
 */
void vmc_policy_insert(struct vmc_policy *pol, struct vmc_pnode *pn, u64 key,
		       unsigned int flags);

/**
 * vmc_policy_hit() - the guest maps a page that is already pinned
 * @pol: the instance.
 * @pn: the page's node, live or candidate.
 *
 * Call it for every guest map of the page, also a second mapping of a page
 * already live (a reference, for policies that count them).
 */
void vmc_policy_hit(struct vmc_policy *pol, struct vmc_pnode *pn);

/**
 * vmc_policy_unmap() - the guest's last mapping of a page is gone
 * @pol: the instance.
 * @pn: the page's node, live.
 *
 * The page becomes a candidate.  The caller keeps the count of mappings.
 */
void vmc_policy_unmap(struct vmc_policy *pol, struct vmc_pnode *pn);

/**
 * vmc_policy_victim() - choose a candidate to evict
 * @pol: the instance.
 *
 * Return: the node, still linked (unpin it, then vmc_policy_del() it), or
 * NULL if every pinned page is live.
 */
struct vmc_pnode *vmc_policy_victim(struct vmc_policy *pol);

/**
 * vmc_policy_victim_cold() - choose a candidate cheap to lose, for a prefetch
 * @pol: the instance.
 *
 * Like vmc_policy_victim(), but NULL when the victim would be a page the
 * policy protects (LIRS: a LIR page) or a prefetched page not used yet:
 * prefetching a guess must not push out a better guess or a hot page.
 *
 * Return: the node, still linked, or NULL.
 */
struct vmc_pnode *vmc_policy_victim_cold(struct vmc_policy *pol);

/**
 * vmc_policy_del() - a page is no longer pinned
 * @pol: the instance.
 * @pn: the page's node, live or candidate.
 * @evicted: VMC_DEL_EVICT if the policy chose it, VMC_DEL_DROP otherwise.
 */
void vmc_policy_del(struct vmc_policy *pol, struct vmc_pnode *pn, bool evicted);

/**
 * vmc_policy_kind_parse() - map a keyword to a policy
 * @name: "lru", "fifo", "lirs" or "duel" (exact match).
 *
 * Return: the kind, or -EINVAL.
 */
int vmc_policy_kind_parse(const char *name);

/**
 * vmc_policy_kind_name() - the keyword of a policy
 * @kind: the policy.
 *
 * Return: a static string, or NULL for an unknown @kind.
 */
const char *vmc_policy_kind_name(enum vmc_policy_kind kind);

/**
 * vmc_pnode_live() - is the guest mapping this page?
 * @pn: a node known to a policy.
 *
 * Return: true if live, false if a candidate.
 */
static inline bool vmc_pnode_live(const struct vmc_pnode *pn)
{
	return pn->link.flags & VMC_PN_LIVE;
}

/*
 * Access graph: for each page, the pages the guest mapped right after it,
 * most recent first.  Bounded: at most @nr_nodes pages have a node, and the
 * node least recently extended is recycled when a new one is needed.
 */

#define VMC_AG_MAX_SUCC		4	/* successors kept per page */
#define VMC_AG_MAX_DEPTH	8	/* edges followed from the missed page */

/**
 * struct vmc_agnode - successors of one page, caller-provided storage
 * @hash: in the graph's hash table.
 * @age: on the graph's age list (least recently extended first).
 * @key: the page.
 * @succ: the pages mapped right after @key, most recent first.
 * @nr_succ: valid entries of @succ.
 */
struct vmc_agnode {
	struct hlist_node hash;
	struct list_head age;
	u64 key;
	u64 succ[VMC_AG_MAX_SUCC];
	u32 nr_succ;
};

/**
 * struct vmc_ag_cfg - prefetch knobs
 * @succ: successors kept per page, 1..VMC_AG_MAX_SUCC.  More keeps branchy
 *	streams (interleaved requests) but dilutes each prediction.
 * @depth: how many edges vmc_ag_predict() follows from the missed page,
 *	1..VMC_AG_MAX_DEPTH: how far ahead of the guest it pins.
 * @width: successors of each visited page that vmc_ag_predict() follows,
 *	1..@succ: 1 follows the most recent path only, more fans out.
 * @max_pages: most pages one prediction returns.
 */
struct vmc_ag_cfg {
	u32 succ;
	u32 depth;
	u32 width;
	u32 max_pages;
};

/**
 * struct vmc_ag - an access graph
 * @cfg: knobs, clamped by vmc_ag_init().
 * @nodes: storage, @nr_nodes entries.
 * @nr_nodes: size of @nodes.
 * @nr_used: entries of @nodes handed out so far.
 * @buckets: hash table, 1 << @bucket_bits heads.
 * @bucket_bits: log2 of the number of buckets.
 * @age: nodes in use, least recently extended first.
 * @prev: the page mapped last, the source of the next edge.
 * @have_prev: @prev is valid.
 * @nr_recycled: nodes reused for another page.
 */
struct vmc_ag {
	struct vmc_ag_cfg cfg;
	struct vmc_agnode *nodes;
	u32 nr_nodes;
	u32 nr_used;
	struct hlist_head *buckets;
	u32 bucket_bits;
	struct list_head age;
	u64 prev;
	bool have_prev;
	u64 nr_recycled;
};

/**
 * vmc_ag_init() - set up an access graph
 * @ag: the graph, any contents.
 * @cfg: knobs; values out of range are clamped.
 * @nodes: node storage (may be NULL if @nr_nodes is 0: the graph then learns
 *	nothing and predicts nothing); must outlive @ag.
 * @nr_nodes: entries of @nodes.
 * @buckets: hash heads, a power of two >= 1.
 * @nr_buckets: entries of @buckets.
 *
 * Return: 0, or -EINVAL if @nr_buckets is not a power of two.
 */
int vmc_ag_init(struct vmc_ag *ag, const struct vmc_ag_cfg *cfg,
		struct vmc_agnode *nodes, u32 nr_nodes,
		struct hlist_head *buckets, u32 nr_buckets);

/**
 * vmc_ag_record() - the guest maps a page (hit or miss)
 * @ag: the graph.
 * @key: the page.
 *
 * Adds the edge from the previously mapped page to @key.
 */
void vmc_ag_record(struct vmc_ag *ag, u64 key);

/**
 * vmc_ag_predict() - pages likely to be mapped after @key
 * @ag: the graph.
 * @key: the page that missed.
 * @out: receives the predictions, nearest first, without duplicates and
 *	without @key.
 * @max: room in @out; at most @ag->cfg.max_pages are returned.
 *
 * Breadth-first walk of @cfg.depth levels, @cfg.width successors of each
 * page.  Does not change the graph.  The caller skips pages already pinned.
 *
 * Return: the number of pages written to @out.
 */
u32 vmc_ag_predict(const struct vmc_ag *ag, u64 key, u64 *out, u32 max);

/**
 * vmc_ag_move() - carry a graph's history over into a graph of another size
 * @dst: a graph fresh from vmc_ag_init(), with its own storage.
 * @src: the old graph; left as it is, its storage may be freed afterwards.
 *
 * @dst takes the nodes of @src that were extended most recently, as many as
 * it has room for, in the same age order, and the page mapped last: it then
 * predicts for those pages what @src would, under its own knobs.  Used when
 * the quota the graph is sized by changes.
 */
void vmc_ag_move(struct vmc_ag *dst, const struct vmc_ag *src);

/*
 * The pin cache around the core (pincache.c, pcprefetch.c) and the
 * simulator (tools/mapcache-sim) apply the same rules with these, so that
 * a trace replayed through either counts the same hits.
 */

/* Pages one MAP_DMA looks up, makes room for and pins at once. */
#define VMC_PIN_BATCH_PAGES	512
/* Candidates kept however long idle: 1 MiB of 4 KiB pages. */
#define VMC_IDLE_KEEP_PAGES	256
/* Prefetches planned under the lock before they are pinned. */
#define VMC_PF_CHUNK		16
/* The module's prefetch knobs (struct vmc_ag_cfg) and default depth. */
#define VMC_PF_SUCC		2
#define VMC_PF_WIDTH		2
#define VMC_PF_MAX_PAGES	8
#define VMC_PF_DEFAULT_DEPTH	VMC_AG_MAX_DEPTH

/*
 * dma_entry_limit's default: mappings a container may hold, live ones and
 * cached translations (lazy mode) together, as type1's (U16_MAX).  At the
 * limit a map first drops every cached translation of the container.
 */
#define VMC_DMA_ENTRY_LIMIT	65535

/* LIRS and DUEL history: ghosts per quota page, and a cap for huge quotas. */
#define VMC_GHOSTS_PER_PAGE	2
#define VMC_GHOSTS_MAX		BIT(16)

/**
 * vmc_quota_excess() - candidates to evict before more pages are pinned
 * @quota_pages: the quota, 0 for none.
 * @pinned_pages: pages pinned now, live or candidates.
 * @nr_pages: pages about to be pinned (0 after an unmap).
 *
 * A quota never fails a map: when live pages leave fewer candidates than
 * this, the map is admitted above the quota all the same, and pages that
 * stop being live while the cache is above its quota are evicted at once.
 *
 * Return: how far @pinned_pages + @nr_pages exceeds the quota, 0 if not.
 */
static inline u64 vmc_quota_excess(u64 quota_pages, u64 pinned_pages, u64 nr_pages)
{
	if (!quota_pages || pinned_pages + nr_pages <= quota_pages)
		return 0;
	return pinned_pages + nr_pages - quota_pages;
}

/**
 * vmc_idle_expired() - has a candidate been idle long enough to go?
 * @epoch: the current idle window.
 * @stamp: the window in which the page last became a candidate.
 *
 * Return: true once a whole window has passed since it was unmapped.
 */
static inline bool vmc_idle_expired(u32 epoch, u32 stamp)
{
	return epoch - stamp >= 2;
}

/* The policies, for policy.c's table only. */
extern const struct vmc_policy_ops vmc_lru_ops;
extern const struct vmc_policy_ops vmc_fifo_ops;
extern const struct vmc_policy_ops vmc_lirs_ops;
extern const struct vmc_policy_ops vmc_duel_ops;

#endif /* _VMC_POLICY_H */
