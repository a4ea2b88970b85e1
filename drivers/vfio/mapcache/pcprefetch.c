// SPDX-License-Identifier: GPL-2.0-only
/*
 * Prefetching into the pin cache along the access graph.
 *
 * While a VM prefetches, every guest map of a page through its pin cache is
 * recorded in its access graph (struct vmc_ag, prefetch.c), in page order.
 * Once a batch of a map has pinned its misses, the pages the graph proposes
 * after each missed page (its followers) are pinned ahead of the guest, as
 * candidates (VMC_INS_PREFETCH):
 *
 *  - only pages the VMM has at that address now: GUP never faults memory in
 *    for a guess (absent, swapped-out or not yet writable pages are skipped);
 *  - within the quota: room is reserved before GUP, and at the quota a
 *    follower only takes the place of a cold candidate
 *    (vmc_policy_victim_cold(): never a live page, a LIR page or an unused
 *    prefetch); if there is none, that miss prefetches no more;
 *  - writable if the map that missed is.
 *
 * The followers go in chunks of VMC_PF_CHUNK: planned (graph, room,
 * evictions) under vmc_vm.lock, pinned with it dropped, inserted under it
 * again unless the mmu notifier sequence moved meanwhile, as a miss is.
 * tools/mapcache-sim (sim_prefetch()) follows the same order of policy
 * events, so that both count the same hits on a trace.
 *
 * A prefetched page that a guest map finds pinned is useful; one that leaves
 * the cache unused (evicted, dropped by the notifier or a mode change,
 * replaced by a writable pin, or at teardown) is wasted.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitops.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "vmc.h"
#include "vmc_trace.h"

/*
 * Graph knobs (VMC_PF_SUCC, VMC_PF_WIDTH, VMC_PF_MAX_PAGES: the simulator
 * sweep's recommendation, policies.rst) and VMC_PF_CHUNK are in policy.h,
 * shared with the simulator.
 */

/* Graph nodes: 4 per quota page and a few, at most 2^16 (and with no quota). */
#define VMC_AG_NODES_PER_PAGE	4
#define VMC_AG_NODES_SLACK	16
#define VMC_AG_NODES_MAX	BIT(16)

/* What vmc_pf_reconfigure() makes of a VM's graph. */
enum vmc_pf_want {
	VMC_PF_OFF,
	VMC_PF_ON,
	VMC_PF_RESIZE,	/* sized for the quota if on, left off if off */
};

/* One chunk of followers to pin: their pages, and pins once GUP gave them. */
struct vmc_pf_plan {
	unsigned long vpn[VMC_PF_CHUNK];
	struct vmc_pin *pin[VMC_PF_CHUNK];
	unsigned int nr;
	unsigned int nr_evicted;
};

static u32 vmc_pf_nr_nodes(u64 quota_pages)
{
	if (!quota_pages)
		return VMC_AG_NODES_MAX;
	return min_t(u64, quota_pages * VMC_AG_NODES_PER_PAGE + VMC_AG_NODES_SLACK,
		     VMC_AG_NODES_MAX);
}

static void vmc_pf_ag_free(struct vmc_ag *ag)
{
	if (!ag)
		return;
	kvfree(ag->nodes);
	kvfree(ag->buckets);
	kfree(ag);
}

static struct vmc_ag *vmc_pf_ag_new(u32 nr_nodes, unsigned int depth)
{
	struct vmc_ag_cfg cfg = {
		.succ = VMC_PF_SUCC,
		.depth = depth,
		.width = VMC_PF_WIDTH,
		.max_pages = VMC_PF_MAX_PAGES,
	};
	u32 nr_buckets = roundup_pow_of_two(nr_nodes);
	struct hlist_head *buckets;
	struct vmc_agnode *nodes;
	struct vmc_ag *ag;

	ag = kzalloc(sizeof(*ag), GFP_KERNEL_ACCOUNT);
	nodes = kvcalloc(nr_nodes, sizeof(*nodes), GFP_KERNEL_ACCOUNT);
	buckets = kvcalloc(nr_buckets, sizeof(*buckets), GFP_KERNEL_ACCOUNT);
	if (!ag || !nodes || !buckets ||
	    vmc_ag_init(ag, &cfg, nodes, nr_nodes, buckets, nr_buckets)) {
		kfree(ag);
		kvfree(nodes);
		kvfree(buckets);
		return NULL;
	}
	return ag;
}

/* Nodes the graph of @vm should have now, 0 for no graph. */
static u32 vmc_pf_wanted_nodes(struct vmc_vm *vm, enum vmc_pf_want want)
{
	lockdep_assert_held(&vm->lock);
	if (want == VMC_PF_OFF || (want == VMC_PF_RESIZE && !vm->ag))
		return 0;
	return vmc_pf_nr_nodes(vm->cache.quota_pages);
}

/*
 * Give @vm the graph @want asks for: none, or one sized for its quota that
 * carries the old graph's history over.  Storage is allocated with the lock
 * dropped (reclaim may run the VM's notifier, which takes it); if the quota
 * or the switch changed meanwhile, another round.
 */
static int vmc_pf_reconfigure(struct vmc_vm *vm, enum vmc_pf_want want)
{
	struct vmc_ag *new = NULL, *old;
	unsigned int depth;
	u32 nr_nodes;

	mutex_lock(&vm->lock);
	for (;;) {
		nr_nodes = vmc_pf_wanted_nodes(vm, want);
		if (!nr_nodes || (vm->ag && vm->ag->nr_nodes == nr_nodes) ||
		    (new && new->nr_nodes == nr_nodes))
			break;
		depth = vm->prefetch_depth;
		mutex_unlock(&vm->lock);
		vmc_pf_ag_free(new);
		new = vmc_pf_ag_new(nr_nodes, depth);
		if (!new)
			return -ENOMEM;
		mutex_lock(&vm->lock);
	}
	/* vmc_pc_get() peeks at vm->ag without the lock: WRITE_ONCE(). */
	old = vm->ag;
	if (!nr_nodes) {
		WRITE_ONCE(vm->ag, NULL);
	} else if (!old || old->nr_nodes != nr_nodes) {
		if (old)
			vmc_ag_move(new, old);
		new->cfg.depth = vm->prefetch_depth;
		WRITE_ONCE(vm->ag, new);
		new = NULL;
	} else {
		old = NULL;	/* the graph in place fits */
	}
	mutex_unlock(&vm->lock);
	vmc_pf_ag_free(old);
	vmc_pf_ag_free(new);
	return 0;
}

/**
 * vmc_pf_init() - set up prefetching of a new VM from the module's defaults
 * @vm: the VM, its quota set, not visible to anyone yet
 *
 * Return: 0, or -ENOMEM.
 */
int vmc_pf_init(struct vmc_vm *vm)
{
	vm->prefetch_depth = READ_ONCE(vmc_default_prefetch_depth);
	if (!READ_ONCE(vmc_default_prefetch))
		return 0;
	return vmc_pf_reconfigure(vm, VMC_PF_ON);
}

/**
 * vmc_pf_destroy() - free the graph of a VM that is going away
 * @vm: the VM, its pin cache already destroyed
 */
void vmc_pf_destroy(struct vmc_vm *vm)
{
	vmc_pf_ag_free(vm->ag);
	vm->ag = NULL;
}

/**
 * vmc_pf_forget() - empty the access graph, keeping its storage and knobs
 * @vm: the VM (lock held)
 */
void vmc_pf_forget(struct vmc_vm *vm)
{
	struct vmc_ag_cfg cfg;
	struct vmc_ag *ag = vm->ag;

	lockdep_assert_held(&vm->lock);
	if (!ag)
		return;
	cfg = ag->cfg;
	vmc_ag_init(ag, &cfg, ag->nodes, ag->nr_nodes, ag->buckets, 1U << ag->bucket_bits);
}

/**
 * vmc_pf_set() - switch prefetching of a VM on or off
 * @vm: the VM
 * @on: prefetch
 *
 * Switching on starts an empty graph; switching off forgets it.  Pages
 * prefetched already stay in the cache.
 *
 * Return: 0, or -ENOMEM with nothing changed.
 */
int vmc_pf_set(struct vmc_vm *vm, bool on)
{
	return vmc_pf_reconfigure(vm, on ? VMC_PF_ON : VMC_PF_OFF);
}

/**
 * vmc_pf_resize() - size a VM's graph for its quota, after a quota change
 * @vm: the VM
 *
 * The most recently extended nodes are kept when the graph shrinks.
 *
 * Return: 0, or -ENOMEM with the old graph kept.
 */
int vmc_pf_resize(struct vmc_vm *vm)
{
	return vmc_pf_reconfigure(vm, VMC_PF_RESIZE);
}

/**
 * vmc_pf_set_depth() - how many edges the prefetcher follows from a miss
 * @vm: the VM
 * @depth: 1..VMC_AG_MAX_DEPTH
 */
void vmc_pf_set_depth(struct vmc_vm *vm, unsigned int depth)
{
	mutex_lock(&vm->lock);
	vm->prefetch_depth = depth;
	if (vm->ag)
		vm->ag->cfg.depth = depth;
	mutex_unlock(&vm->lock);
}

/**
 * vmc_pf_done() - a prefetched page is used, or leaves unused
 * @vm: the VM (lock held)
 * @pin: the page, still marked prefetched
 * @useful: a guest map found it pinned
 */
void vmc_pf_done(struct vmc_vm *vm, struct vmc_pin *pin, bool useful)
{
	lockdep_assert_held(&vm->lock);
	pin->prefetched = false;
	if (useful)
		vmc_vm_stat(vm, prefetch_useful, 1);
	else
		vmc_vm_stat(vm, prefetch_wasted, 1);
}

/* Take the policy's cold victim out of the cache onto @victims; false if none. */
static bool vmc_pf_evict_cold(struct vmc_vm *vm, struct list_head *victims)
{
	struct vmc_pnode *pn = vmc_policy_victim_cold(&vm->cache.policy);

	if (!pn)
		return false;
	vmc_cache_take(&vm->cache, container_of(pn, struct vmc_centry, pn), victims);
	return true;
}

/* Unpin the victims in one batch, after their cached translations. */
static void vmc_pf_evict_finish(struct vmc_vm *vm, struct list_head *victims,
				unsigned int nr)
{
	if (!nr)
		return;
	vmc_cache_finish(&vm->cache, victims);
	vmc_vm_stat(vm, evictions, nr);
	vmc_vm_stat(vm, eviction_batches, 1);
}

static bool vmc_pf_planned(const struct vmc_pf_plan *plan, u64 vpn)
{
	unsigned int k;

	for (k = 0; k < plan->nr; k++)
		if (plan->vpn[k] == vpn)
			return true;
	return false;
}

/*
 * Plan the followers of missed page @vpn that are not pinned, reserving room
 * for each, in the graph's order; false, with nothing done, if they might not
 * fit in @plan.
 */
static bool vmc_pf_plan_miss(struct vmc_vm *vm, unsigned long vpn,
			     struct vmc_pf_plan *plan, struct list_head *victims)
{
	u64 out[VMC_PF_MAX_PAGES];
	u32 n = vmc_ag_predict(vm->ag, vpn, out, ARRAY_SIZE(out)), k;

	if (plan->nr && plan->nr + n > VMC_PF_CHUNK)
		return false;
	for (k = 0; k < n; k++) {
		if (xa_load(&vm->pins, out[k]) || vmc_pf_planned(plan, out[k]))
			continue;
		if (vm->cache.quota_pages &&
		    vm->cache.pinned_pages - plan->nr_evicted >= vm->cache.quota_pages) {
			if (!vmc_pf_evict_cold(vm, victims))
				break;
			plan->nr_evicted++;
		}
		plan->vpn[plan->nr++] = out[k];
		vm->cache.pinned_pages++;
	}
	return true;
}

/*
 * A victim that a cached translation of another container still reaches
 * (unmapped in a batch not yet flushed) stays pinned, stale, until that
 * flush: it freed no room.  Give up the followers planned in its place,
 * the last ones, so that a prefetch never takes the VM above its quota
 * (nor further above it, if live pages had taken it there: @before).
 */
static void vmc_pf_trim(struct vmc_vm *vm, struct vmc_pf_plan *plan, u64 before)
{
	u64 limit = max(vm->cache.quota_pages, before);

	while (vm->cache.quota_pages && plan->nr && vm->cache.pinned_pages > limit) {
		plan->nr--;
		vm->cache.pinned_pages--;
	}
}

/*
 * Under the VM's lock: record pages @i.. of the batch at @vpn in the graph
 * and plan the followers of its misses until @plan is full.  Returns where
 * the next chunk starts (@nr when the batch is done).
 */
static unsigned long vmc_pf_plan(struct vmc_vm *vm, unsigned long vpn, unsigned long nr,
				 const unsigned long *missed, unsigned long i,
				 struct vmc_pf_plan *plan)
{
	u64 before = vm->cache.pinned_pages;
	LIST_HEAD(victims);

	lockdep_assert_held(&vm->lock);
	plan->nr = 0;
	plan->nr_evicted = 0;
	/* Switched off meanwhile: a candidate would outlive the mode. */
	if (!vm->ag || vm->mode == VMC_MODE_OFF)
		return nr;
	for (; i < nr; i++) {
		if (test_bit(i, missed) && !vmc_pf_plan_miss(vm, vpn + i, plan, &victims))
			break;
		vmc_ag_record(vm->ag, vpn + i);
	}
	/* The victims are unpinned first: the peak never counts them twice. */
	vmc_pf_evict_finish(vm, &victims, plan->nr_evicted);
	vmc_pf_trim(vm, plan, before);
	vm->cache.peak_pinned_pages = max(vm->cache.peak_pinned_pages, vm->cache.pinned_pages);
	return i;
}

/* @order: the indexes of @plan's pages by ascending address. */
static void vmc_pf_sort(const struct vmc_pf_plan *plan, unsigned int *order)
{
	unsigned int k, j, x;

	for (k = 0; k < plan->nr; k++) {
		x = k;
		for (j = k; j > 0 && plan->vpn[order[j - 1]] > plan->vpn[x]; j--)
			order[j] = order[j - 1];
		order[j] = x;
	}
}

/* Pages of @plan from @order[@r] on that are contiguous. */
static unsigned int vmc_pf_run(const struct vmc_pf_plan *plan, const unsigned int *order,
			       unsigned int r)
{
	unsigned int n = 1;

	while (r + n < plan->nr &&
	       plan->vpn[order[r + n]] == plan->vpn[order[r]] + n)
		n++;
	return n;
}

/*
 * Pin the planned pages that are present, contiguous ones in one call; the
 * others get no pin (a NULL @plan->pin).  Returns the pages pinned.
 */
static unsigned long vmc_pf_gup(struct vmc_vm *vm, struct vmc_pf_plan *plan, bool write)
{
	struct page *pages[VMC_PF_CHUNK] = {};	/* by ascending address */
	unsigned int order[VMC_PF_CHUNK], r = 0, k, n;
	unsigned long got = 0;
	long ret;

	vmc_pf_sort(plan, order);
	mmap_read_lock(vm->mm);
	while (r < plan->nr) {
		n = vmc_pf_run(plan, order, r);
		ret = vmc_compat_pin_present(vm->mm, plan->vpn[order[r]] << PAGE_SHIFT, n,
					     write, pages + r);
		/* Stopped before page r + ret: skip that one, go on after it. */
		ret = max(ret, 0L);
		got += ret;
		r += ret < n ? ret + 1 : n;
	}
	mmap_read_unlock(vm->mm);
	/* The pins, with no lock held: a page without one is let go. */
	for (k = 0; k < plan->nr; k++) {
		struct vmc_pin *pin = pages[k] ? vmc_pin_alloc(vm) : NULL;

		if (pin) {
			pin->page = pages[k];
		} else if (pages[k]) {
			unpin_user_page(pages[k]);
			got--;
		}
		plan->pin[order[k]] = pin;
	}
	return got;
}

/* Give back what vmc_pf_gup() pinned, before it was charged. */
static void vmc_pf_unpin_all(struct vmc_vm *vm, struct vmc_pf_plan *plan)
{
	unsigned int k;

	for (k = 0; k < plan->nr; k++) {
		if (!plan->pin[k])
			continue;
		unpin_user_page(plan->pin[k]->page);
		vmc_pin_free(vm, plan->pin[k]);
		plan->pin[k] = NULL;
	}
}

/* Put a prefetched page into the cache; false if it is pinned already. */
static bool vmc_pf_insert_one(struct vmc_vm *vm, unsigned long vpn,
			      struct vmc_pin *pin, bool write)
{
	/* A guest map pinned it meanwhile; its pin is the one that counts. */
	if (xa_load(&vm->pins, vpn))
		return false;
	/*
	 * An extent's pages are pinned as long as it lives: nothing to gain;
	 * a cached one overlaps no pin (see vmc_vm.ext_cache).
	 */
	if (vmc_ext_covers(vm, vpn) || vmc_ext_cached_at(vm, vpn))
		return false;
	/* No sleeping allocation under the lock the notifier takes. */
	if (xa_err(xa_store(&vm->pins, vpn, pin, GFP_NOWAIT | __GFP_ACCOUNT)))
		return false;
	pin->writable = write;
	pin->dirty = write;
	pin->prefetched = true;
	vmc_policy_insert(&vm->cache.policy, &pin->ce.pn, vpn, VMC_INS_PREFETCH);
	vmc_cache_idle(&vm->cache, &pin->ce);
	vmc_vm_stat(vm, pins, 1);
	vmc_vm_stat(vm, pinned_pages, 1);
	vmc_vm_stat(vm, prefetch_issued, 1);
	trace_vmc_prefetch(vm->pid, vpn << PAGE_SHIFT, 1);
	return true;
}

/*
 * Under the VM's lock: insert what vmc_pf_gup() pinned, or nothing if the
 * VMM's memory changed meanwhile (@raced); settle every reservation.
 */
static void vmc_pf_insert(struct vmc_vm *vm, struct vmc_pf_plan *plan, bool write,
			  bool raced)
{
	unsigned int k;

	lockdep_assert_held(&vm->lock);
	raced |= vm->mode == VMC_MODE_OFF;
	for (k = 0; k < plan->nr; k++) {
		struct vmc_pin *pin = plan->pin[k];

		if (pin && !raced && vmc_pf_insert_one(vm, plan->vpn[k], pin, write))
			continue;
		vm->cache.pinned_pages--;
		if (!pin)
			continue;
		unpin_user_page(pin->page);
		atomic_long_inc(&vm->unaccount);
		vmc_pin_free(vm, pin);
	}
}

/**
 * vmc_pf_map() - feed the graph with a batch of a guest map, and prefetch
 * @vm: the VM (lock not held)
 * @vaddr: first byte of the batch, page aligned
 * @nr_pages: pages of the batch, at most VMC_PIN_BATCH, all pinned now
 * @write: the map is writable: so are the prefetched pins
 * @missed: bit i set if page i of the batch was a miss
 *
 * Best effort: a follower that cannot be pinned is skipped, nothing fails.
 * The caller flushes locked_vm accounting afterwards
 * (vmc_vm_unaccount_flush()).
 */
void vmc_pf_map(struct vmc_vm *vm, unsigned long vaddr, unsigned long nr_pages,
		bool write, const unsigned long *missed)
{
	unsigned long vpn = vaddr >> PAGE_SHIFT, i = 0, got;
	struct vmc_gup_window win;
	struct vmc_pf_plan plan;
	unsigned int k;

	while (i < nr_pages) {
		mutex_lock(&vm->lock);
		i = vmc_pf_plan(vm, vpn, nr_pages, missed, i, &plan);
		if (plan.nr) {
			win.start = ULONG_MAX;
			win.end = 0;
			for (k = 0; k < plan.nr; k++) {
				win.start = min(win.start, plan.vpn[k] << PAGE_SHIFT);
				win.end = max(win.end, (plan.vpn[k] + 1) << PAGE_SHIFT);
			}
			win.raced = false;
			list_add(&win.node, &vm->gups);
		}
		mutex_unlock(&vm->lock);
		if (!plan.nr)
			continue;
		/* Sleeps while an invalidation runs, which takes vm->lock. */
		mmu_interval_read_begin(&vm->notifier);
		got = vmc_pf_gup(vm, &plan, write);
		if (got && vmc_pc_charge(vm, got))
			vmc_pf_unpin_all(vm, &plan);	/* RLIMIT_MEMLOCK: no guesses */
		mutex_lock(&vm->lock);
		list_del(&win.node);
		vmc_pf_insert(vm, &plan, write, win.raced);
		mutex_unlock(&vm->lock);
	}
}

/**
 * vmc_pf_bytes() - kernel memory of the VM's access graph
 * @vm: the VM (lock held)
 *
 * Return: bytes of the graph, its nodes and its hash table; 0 while
 * prefetching is off.
 */
size_t vmc_pf_bytes(struct vmc_vm *vm)
{
	struct vmc_ag *ag = vm->ag;

	lockdep_assert_held(&vm->lock);
	if (!ag)
		return 0;
	return kmalloc_size_roundup(sizeof(*ag)) +
	       vmc_kv_bytes(ag->nodes, ag->nr_nodes * sizeof(*ag->nodes)) +
	       vmc_kv_bytes(ag->buckets, BIT(ag->bucket_bits) * sizeof(*ag->buckets));
}
