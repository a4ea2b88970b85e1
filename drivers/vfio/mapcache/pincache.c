// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pin cache of a VM, keyed by the VMM's virtual page.
 *
 * A guest map takes a live reference on each page's pin, pinning only the
 * pages that are not pinned yet; a guest unmap (after its IOTLB flush)
 * drops the reference, and a page without live references stays pinned as
 * a candidate for eviction.  What the cache keeps is bounded twice, and
 * candidates are evicted in the policy's order down to both bounds:
 *
 *  - the VM's quota: room is reserved before GUP; a map that live pages
 *    alone push over it is admitted all the same (a quota never fails a
 *    map: QEMU aborts the VM when a boot-time map fails), and the pages go
 *    back down to the quota as they stop being live;
 *  - idleness: without a fixed quota the cache would keep every page the
 *    guest ever mapped (all of its RAM, after QEMU's boot-time maps), so a
 *    candidate that stays unmapped for between one and two windows of
 *    idle_window is released, oldest first, at the next request or by a
 *    work item at the end of a window; the VMC_IDLE_KEEP_PAGES most
 *    recently unmapped stay, so that sporadic I/O still hits.
 *
 * As in type1, live pages are bounded by RLIMIT_MEMLOCK alone; candidates
 * are charged to it too, and a map that they push over it gives them up
 * first.
 *
 * GUP and locked_vm accounting take mmap_lock, under which the mmu notifier
 * takes vmc_vm.lock: so they run with vmc_vm.lock dropped, and the notifier
 * sequence tells whether an invalidation raced with them.  Unpins that
 * happen under vmc_vm.lock leave their locked_vm update to
 * vmc_vm_unaccount_flush().
 *
 * Under host memory pressure the shrinker (vm.c) releases candidates too,
 * in the same policy order and batches as evictions for the quota.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "vmc.h"
#include "vmc_trace.h"

/* Pages of a map small enough for an on-stack GUP array. */
#define VMC_PIN_FEW	16

/* Every vmc_pin of every VM. */
static struct kmem_cache *vmc_pin_cache;

/*
 * Pins of file pages the device may have written, out of their VM, to be
 * dirtied under the page lock and unpinned by vmc_dirty_work: linked by
 * their @ce.idle, which nothing else uses once a pin leaves its VM.  The
 * lock protects the list only.
 */
static LIST_HEAD(vmc_dirty_pins);
static DEFINE_SPINLOCK(vmc_dirty_lock);

static void vmc_dirty_unpin(struct work_struct *work)
{
	struct vmc_pin *pin, *tmp;
	LIST_HEAD(pins);

	spin_lock(&vmc_dirty_lock);
	list_splice_init(&vmc_dirty_pins, &pins);
	spin_unlock(&vmc_dirty_lock);
	list_for_each_entry_safe(pin, tmp, &pins, ce.idle) {
		unpin_user_pages_dirty_lock(&pin->page, 1, true);
		kmem_cache_free(vmc_pin_cache, pin);
		vmc_total_stat(pinned_pages, -1LL);
		vmc_total_stat(unpins, 1);
		cond_resched();
	}
}

static DECLARE_WORK(vmc_dirty_work, vmc_dirty_unpin);

int vmc_pc_module_init(void)
{
	vmc_pin_cache = KMEM_CACHE(vmc_pin, 0);
	return vmc_pin_cache ? 0 : -ENOMEM;
}

/* After every VM is gone. */
void vmc_pc_module_exit(void)
{
	flush_work(&vmc_dirty_work);
	vmc_ext_flush_unpins();
	kmem_cache_destroy(vmc_pin_cache);
}

struct vmc_pin *vmc_pin_alloc(struct vmc_vm *vm)
{
	struct vmc_pin *pin = kmem_cache_zalloc(vmc_pin_cache, GFP_KERNEL_ACCOUNT);

	if (pin) {
		INIT_LIST_HEAD(&pin->ce.idle);
		atomic_long_inc(&vm->mem.pins);
	}
	return pin;
}

void vmc_pin_free(struct vmc_vm *vm, struct vmc_pin *pin)
{
	atomic_long_dec(&vm->mem.pins);
	kmem_cache_free(vmc_pin_cache, pin);
}

/* Bytes of one vmc_pin in its slab cache (alignment included). */
size_t vmc_pin_obj_size(void)
{
	return kmem_cache_size(vmc_pin_cache);
}

/*
 * LIRS history: VMC_GHOSTS_PER_PAGE ghosts per quota page up to
 * VMC_GHOSTS_MAX (policy.h).  Without a quota only the shrinker and the
 * idle release evict: a short history will do.
 */
#define VMC_GHOSTS_NO_QUOTA	BIT(12)

static u64 vmc_capacity(u64 quota_pages)
{
	return quota_pages ?: U64_MAX;
}

/* Does @kind keep a history of evicted pages (ghosts) sized by the quota? */
static bool vmc_kind_has_history(enum vmc_policy_kind kind)
{
	return kind == VMC_POLICY_LIRS || kind == VMC_POLICY_DUEL;
}

static void vmc_ghosts_free(struct vmc_policy_mem *mem)
{
	kvfree(mem->ghosts);
	kvfree(mem->buckets);
	mem->ghosts = NULL;
	mem->buckets = NULL;
}

/* @n ghosts (at most VMC_GHOSTS_MAX) and a table of half as many heads. */
static int vmc_ghosts_alloc(struct vmc_policy_mem *mem, u64 n)
{
	mem->nr_ghosts = min_t(u64, n, VMC_GHOSTS_MAX);
	mem->nr_buckets = roundup_pow_of_two(max(mem->nr_ghosts / 2, 1U));
	mem->ghosts = kvcalloc(mem->nr_ghosts, sizeof(*mem->ghosts), GFP_KERNEL_ACCOUNT);
	mem->buckets = kvcalloc(mem->nr_buckets, sizeof(*mem->buckets), GFP_KERNEL_ACCOUNT);
	if (!mem->ghosts || !mem->buckets) {
		vmc_ghosts_free(mem);
		return -ENOMEM;
	}
	return 0;
}

static void vmc_pmem_free(struct vmc_policy_mem *mem)
{
	struct vmc_duel *d = mem->duel;

	if (d) {
		kvfree(d->ents);
		kvfree(d->buckets);
		vmc_ghosts_free(&d->mem);
		kfree(d);
	}
	vmc_ghosts_free(mem);
	memset(mem, 0, sizeof(*mem));
}

/* DUEL's shadow caches, sized by @quota_pages (policy.h). */
static int vmc_duel_alloc(struct vmc_policy_mem *mem, u64 quota_pages)
{
	u64 cap = vmc_capacity(quota_pages);
	struct vmc_duel *d;

	d = kzalloc(sizeof(*d), GFP_KERNEL_ACCOUNT);
	if (!d)
		return -ENOMEM;
	mem->duel = d;
	d->nr_ents = vmc_duel_nr_ents(cap);
	d->nr_buckets = roundup_pow_of_two(d->nr_ents);
	d->ents = kvcalloc(d->nr_ents, sizeof(*d->ents), GFP_KERNEL_ACCOUNT);
	d->buckets = kvcalloc(d->nr_buckets, sizeof(*d->buckets), GFP_KERNEL_ACCOUNT);
	if (!d->ents || !d->buckets)
		return -ENOMEM;
	return vmc_ghosts_alloc(&d->mem, vmc_duel_shadow_pages(cap) * VMC_GHOSTS_PER_PAGE);
}

/* History storage for @kind at @quota_pages; none for LRU and FIFO. */
static int vmc_pmem_alloc(struct vmc_policy_mem *mem, enum vmc_policy_kind kind,
			  u64 quota_pages)
{
	u64 n = quota_pages ? quota_pages * VMC_GHOSTS_PER_PAGE : VMC_GHOSTS_NO_QUOTA;
	int ret;

	memset(mem, 0, sizeof(*mem));
	if (!vmc_kind_has_history(kind))
		return 0;
	ret = vmc_ghosts_alloc(mem, n);
	if (!ret && kind == VMC_POLICY_DUEL)
		ret = vmc_duel_alloc(mem, quota_pages);
	if (ret)
		vmc_pmem_free(mem);
	return ret;
}

static void vmc_pc_idle_work(struct work_struct *work);
static const struct vmc_cache_ops vmc_pc_cache_ops;

/* After vm->mode, quota and idle window are set. */
int vmc_pc_init(struct vmc_vm *vm)
{
	u64 quota = vm->cache.quota_pages;
	int ret;

	vmc_cache_init(&vm->cache, &vmc_pc_cache_ops);
	vm->cache.quota_pages = quota;
	vm->cache.idle_on = vm->idle_window;
	vm->cache.keep = vm->mode != VMC_MODE_OFF;
	vm->idle_end = jiffies + vm->idle_window;
	INIT_DELAYED_WORK(&vm->idle_work, vmc_pc_idle_work);
	xa_init(&vm->pins);
	vm->xlates = RB_ROOT_CACHED;
	INIT_LIST_HEAD(&vm->xlate_doomed);
	INIT_LIST_HEAD(&vm->gups);
	vm->exts = RB_ROOT_CACHED;
	vm->ext_cache = RB_ROOT_CACHED;
	INIT_LIST_HEAD(&vm->ext_lru);
	ret = vmc_pmem_alloc(&vm->pmem, vm->policy_kind, vm->cache.quota_pages);
	if (ret)
		return ret;
	return vmc_policy_init(&vm->cache.policy, vm->policy_kind,
			       vmc_capacity(vm->cache.quota_pages), &vm->pmem);
}

/**
 * vmc_pc_candidates() - the VM's candidates, for the shrinker
 * @vm: the VM (lock not needed: an estimate, read once)
 *
 * Return: the policy's count of pages it may evict, and the cached
 * extents' pages.
 */
u64 vmc_pc_candidates(struct vmc_vm *vm)
{
	return READ_ONCE(vm->cache.policy.stats.nr_cand) + READ_ONCE(vm->ext_cand_pages);
}

/**
 * vmc_pc_xa_nodes() - nodes of the VM's xarray of pins
 * @vm: the VM (lock held)
 *
 * The array's cost beside the pins, one struct xa_node each, counted by a
 * walk of its tree.  Under its xa_lock: maps in flight reserve slots
 * without vmc_vm.lock.
 *
 * Return: the number of nodes.
 */
unsigned long vmc_pc_xa_nodes(struct vmc_vm *vm)
{
	struct xarray *xa = &vm->pins;
	unsigned long nr = 0;
	unsigned int off = 0;
	struct xa_node *node;
	void *entry;

	lockdep_assert_held(&vm->lock);
	xa_lock(xa);
	entry = xa_head_locked(xa);
	if (!xa_is_node(entry))
		goto out;
	node = xa_to_node(entry);
	nr = 1;
	for (;;) {
		/* Down into the next child node, if any is left in this one. */
		if (node->shift && off < XA_CHUNK_SIZE) {
			entry = xa_entry_locked(xa, node, off++);
			if (xa_is_node(entry)) {
				node = xa_to_node(entry);
				off = 0;
				nr++;
			}
			continue;
		}
		/* Done with this node: on with its parent's next slot. */
		if (!xa_parent_locked(xa, node))
			break;
		off = node->offset + 1;
		node = xa_parent_locked(xa, node);
	}
out:
	xa_unlock(xa);
	return nr;
}

static size_t vmc_ghosts_bytes(struct vmc_policy_mem *mem)
{
	return vmc_kv_bytes(mem->ghosts, mem->nr_ghosts * sizeof(*mem->ghosts)) +
	       vmc_kv_bytes(mem->buckets, mem->nr_buckets * sizeof(*mem->buckets));
}

/**
 * vmc_pc_policy_bytes() - kernel memory of the VM's eviction history
 * @vm: the VM (lock held)
 *
 * The policy's per-page nodes live in the vmc_pins; this is what it keeps
 * beside them, sized by the quota: LIRS's and DUEL's ghosts and hash
 * tables, DUEL's shadow caches.
 *
 * Return: bytes.
 */
size_t vmc_pc_policy_bytes(struct vmc_vm *vm)
{
	struct vmc_duel *d = vm->pmem.duel;
	size_t bytes;

	lockdep_assert_held(&vm->lock);
	bytes = vmc_ghosts_bytes(&vm->pmem);
	if (d)
		bytes += kmalloc_size_roundup(sizeof(*d)) +
			 vmc_kv_bytes(d->ents, d->nr_ents * sizeof(*d->ents)) +
			 vmc_kv_bytes(d->buckets, d->nr_buckets * sizeof(*d->buckets)) +
			 vmc_ghosts_bytes(&d->mem);
	return bytes;
}

/*
 * Whether dirtying @page needs its page lock: a page of a file whose
 * writeback tracks dirt.  Anonymous and shmem pages (swap-backed) and
 * hugetlbfs pages are dirtied without it.
 */
static bool vmc_dirty_needs_lock(struct page *page)
{
	struct folio *folio = page_folio(page);

	return !folio_test_anon(folio) && !folio_test_swapbacked(folio) &&
	       !folio_test_hugetlb(folio);
}

/*
 * Unpin a page no guest mapping uses.  The device may have written it
 * since it was pinned (and since writeback last cleaned it): it is
 * dirtied, as type1 does.  A file page is dirtied under its page lock, so
 * not here: the caller may be our notifier, called by a truncate that
 * holds that lock.  Such pins leave the VM now (its counters, locked_vm)
 * and are unpinned by vmc_dirty_work soon after.  Only kernels before 6.5
 * give long-term writable pins of such files.
 */
static void vmc_pin_unpin(struct vmc_vm *vm, struct vmc_pin *pin)
{
	/* vmc_cache_unpin() took it off vm->cache.pinned_pages. */
	bool defer = pin->dirty && vmc_dirty_needs_lock(pin->page);

	if (pin->prefetched)
		vmc_pf_done(vm, pin, false);
	if (pin->dirty && !defer)
		set_page_dirty(pin->page);
	/* A shared pin's charge is its extent's. */
	if (!pin->shared)
		atomic_long_inc(&vm->unaccount);
	vmc_vm_stat(vm, unpins, 1);
	vmc_vm_stat(vm, pinned_pages, -1ULL);
	if (defer) {
		/*
		 * Out of the VM now: vmc_dirty_unpin() frees it.  The
		 * module-wide counters count it pinned until then.
		 */
		vmc_total_stat(pinned_pages, 1);
		vmc_total_stat(unpins, -1LL);
		atomic_long_dec(&vm->mem.pins);
		spin_lock(&vmc_dirty_lock);
		list_add_tail(&pin->ce.idle, &vmc_dirty_pins);
		spin_unlock(&vmc_dirty_lock);
		queue_work(system_unbound_wq, &vmc_dirty_work);
		return;
	}
	unpin_user_page(pin->page);
	vmc_pin_free(vm, pin);
}

void vmc_pc_destroy(struct vmc_vm *vm)
{
	struct vmc_pin *pin;
	unsigned long idx;

	/* No container is left to arm it; it may still re-arm itself. */
	cancel_delayed_work_sync(&vm->idle_work);
	mutex_lock(&vm->lock);
	xa_for_each(&vm->pins, idx, pin) {
		WARN_ON_ONCE(pin->ce.live);
		vmc_cache_forget(&vm->cache, &pin->ce);
	}
	WARN_ON_ONCE(vm->cache.policy.stats.nr_cand);
	WARN_ON_ONCE(!RB_EMPTY_ROOT(&vm->exts.rb_root));
	WARN_ON_ONCE(!RB_EMPTY_ROOT(&vm->ext_cache.rb_root));
	mutex_unlock(&vm->lock);
	xa_destroy(&vm->pins);
	vmc_pmem_free(&vm->pmem);
}

static struct vmc_vm *vmc_cache_vm(struct vmc_cache *c)
{
	return container_of(c, struct vmc_vm, cache);
}

static struct vmc_pin *vmc_ce_pin(struct vmc_centry *e)
{
	return container_of(e, struct vmc_pin, ce);
}

/* Out of the xarray; an evicted pin's translations go at the next sync. */
static void vmc_pc_detach(struct vmc_cache *c, struct vmc_centry *e, bool evict)
{
	struct vmc_vm *vm = vmc_cache_vm(c);

	lockdep_assert_held(&vm->lock);
	xa_erase(&vm->pins, e->pn.key);
	if (evict && e->xlates)
		vmc_xc_unlink_vaddr(vm, e->pn.key << PAGE_SHIFT,
				    (e->pn.key << PAGE_SHIFT) + PAGE_SIZE - 1);
}

static void vmc_pc_sync(struct vmc_cache *c)
{
	vmc_xc_destroy_pending(vmc_cache_vm(c));
}

static void vmc_pc_unpin(struct vmc_cache *c, struct vmc_centry *e)
{
	vmc_pin_unpin(vmc_cache_vm(c), vmc_ce_pin(e));
}

/* Start the next idle window if the current one is over. */
static void vmc_pc_tick(struct vmc_cache *c)
{
	struct vmc_vm *vm = vmc_cache_vm(c);
	unsigned long now = jiffies, n;

	if (!vm->idle_window || time_before(now, vm->idle_end))
		return;
	n = (now - vm->idle_end) / vm->idle_window + 1;
	c->idle_epoch += n;
	vm->idle_end += n * vm->idle_window;
}

static void vmc_pc_released(struct vmc_cache *c, u64 nr, enum vmc_release why)
{
	struct vmc_vm *vm = vmc_cache_vm(c);

	if (why == VMC_REL_IDLE) {
		vmc_vm_stat(vm, idle_releases, nr);
	} else {
		vmc_vm_stat(vm, evictions, nr);
		vmc_vm_stat(vm, eviction_batches, 1);
	}
	trace_vmc_evict(vm->pid, nr, c->pinned_pages, c->quota_pages);
}

static u64 vmc_pc_evict_big(struct vmc_cache *c, u64 nr_pages)
{
	return vmc_ext_evict(vmc_cache_vm(c), nr_pages);
}

static const struct vmc_cache_ops vmc_pc_cache_ops = {
	.detach = vmc_pc_detach,
	.sync = vmc_pc_sync,
	.unpin = vmc_pc_unpin,
	.tick = vmc_pc_tick,
	.released = vmc_pc_released,
	.evict_big = vmc_pc_evict_big,
};

/**
 * vmc_pc_idle_arm() - have the work item look at window ends, if need be
 * @vm: the VM (lock held)
 *
 * It is needed while there are cached extents or candidates beyond the
 * kept ones.
 */
void vmc_pc_idle_arm(struct vmc_vm *vm)
{
	unsigned long delay;

	lockdep_assert_held(&vm->lock);
	if (vm->idle_armed || !vm->idle_window ||
	    (vm->cache.policy.stats.nr_cand <= VMC_IDLE_KEEP_PAGES && list_empty(&vm->ext_lru)))
		return;
	vm->idle_armed = true;
	/* One jiffy past the end of the current window. */
	delay = time_after(vm->idle_end, jiffies) ? vm->idle_end - jiffies + 1 : 1;
	schedule_delayed_work(&vm->idle_work, delay);
}

/* At the end of a window: release what has been idle long enough. */
static void vmc_pc_idle_work(struct work_struct *work)
{
	struct vmc_vm *vm = container_of(to_delayed_work(work), struct vmc_vm, idle_work);

	mutex_lock(&vm->lock);
	vm->idle_armed = false;
	vmc_cache_release_idle(&vm->cache);
	vmc_ext_release_idle(vm);
	vmc_pc_idle_arm(vm);
	mutex_unlock(&vm->lock);
	vmc_vm_unaccount_flush(vm);
}

/**
 * vmc_pc_set_idle() - change the idle window
 * @vm: the VM
 * @window: the window in jiffies, 0 to keep idle candidates (up to the quota)
 *
 * The current window restarts now; stamps stay.
 */
void vmc_pc_set_idle(struct vmc_vm *vm, unsigned long window)
{
	mutex_lock(&vm->lock);
	vm->idle_window = window;
	vm->cache.idle_on = window;
	vm->idle_end = jiffies + window;
	vmc_cache_make_room(&vm->cache, 0);
	vmc_pc_idle_arm(vm);
	mutex_unlock(&vm->lock);
	vmc_vm_unaccount_flush(vm);
}

/**
 * vmc_pc_release_all() - empty the cache of a VM without containers
 * @vm: the VM
 *
 * A VM outlives its containers (its settings do), its pins do not: with no
 * device left, nothing may keep the VMM's memory pinned.  What the cache
 * learned (the policy's history, the access graph) goes with the pages, so
 * that the next container starts as a fresh VM would, but for the settings.
 */
void vmc_pc_release_all(struct vmc_vm *vm)
{
	unsigned long idx = 0;

	mutex_lock(&vm->lock);
	vmc_cache_evict(&vm->cache, U64_MAX);
	/* No container, so no live page, translation or map in flight is left. */
	if (!WARN_ON_ONCE(vm->cache.pinned_pages ||
			  xa_find(&vm->pins, &idx, ULONG_MAX, XA_PRESENT))) {
		/* What is left are reservations of maps that failed. */
		xa_destroy(&vm->pins);
		vmc_policy_init(&vm->cache.policy, vm->policy_kind,
				vmc_capacity(vm->cache.quota_pages), &vm->pmem);
		vmc_pf_forget(vm);
	}
	mutex_unlock(&vm->lock);
	vmc_vm_unaccount_flush(vm);
	/* Its cached extents' pages too, before the last container is gone. */
	vmc_ext_flush_unpins();
}

/* A cached translation now leads to @pins; the mapping stops being live. */
void vmc_pc_xlate_get(struct vmc_vm *vm, struct vmc_pin **pins, unsigned long nr_pages)
{
	unsigned long i;

	for (i = 0; i < nr_pages; i++) {
		pins[i]->ce.xlates++;
		vmc_cache_unuse(&vm->cache, &pins[i]->ce);
	}
	/* Candidates now, as after vmc_pc_put(): down to the quota. */
	vmc_cache_make_room(&vm->cache, 0);
	vmc_pc_idle_arm(vm);
}

/* A full hit: the cached translation to @pins is live again. */
void vmc_pc_xlate_reuse(struct vmc_vm *vm, struct vmc_pin **pins, unsigned long nr_pages)
{
	unsigned long i;

	for (i = 0; i < nr_pages; i++) {
		pins[i]->ce.xlates--;
		vmc_cache_use(&vm->cache, &pins[i]->ce);
		vmc_pf_record(vm, pins[i]->ce.pn.key);
	}
}

/* A cached translation to @pin is gone (and flushed). */
void vmc_pc_xlate_put(struct vmc_vm *vm, struct vmc_pin *pin)
{
	if (!--pin->ce.xlates && !pin->ce.live && pin->ce.stale)
		vmc_cache_unpin(&vm->cache, &pin->ce);
}

void vmc_pc_put(struct vmc_vm *vm, struct vmc_pin **pins, unsigned long nr_pages)
{
	unsigned long i;

	mutex_lock(&vm->lock);
	for (i = 0; i < nr_pages; i++)
		if (pins[i])
			vmc_cache_unuse(&vm->cache, &pins[i]->ce);
	/* Above a lowered quota, pages that stop being live go at once. */
	vmc_cache_make_room(&vm->cache, 0);
	vmc_pc_idle_arm(vm);
	mutex_unlock(&vm->lock);
}

/**
 * vmc_pc_shrink() - release candidates for the shrinker
 * @vm: the VM
 * @nr_pages: most candidates to release
 *
 * Reclaim may run while this VM's lock is held (it is held across
 * allocations): the VM is then skipped, never waited for.  The released
 * pages stay charged to locked_vm in @vm->unaccount; the caller has it
 * taken off where mmap_lock may be taken.
 *
 * Return: candidates released, or -EBUSY if the VM's lock was taken.
 */
long vmc_pc_shrink(struct vmc_vm *vm, unsigned long nr_pages)
{
	u64 released;

	if (!mutex_trylock(&vm->lock))
		return -EBUSY;
	released = vmc_cache_evict(&vm->cache, nr_pages);
	if (released)
		vmc_vm_stat(vm, shrinker_releases, released);
	mutex_unlock(&vm->lock);
	return released;
}

/*
 * Can cached @pin (or NULL) serve a @write map?  Takes a live reference if
 * so.  A read-only pin asked for write is a miss: the new pin replaces it.
 */
static struct vmc_pin *vmc_pc_take(struct vmc_vm *vm, struct vmc_pin *pin, bool write)
{
	if (!pin || (write && !pin->writable))
		return NULL;
	if (pin->prefetched)
		vmc_pf_done(vm, pin, true);
	vmc_cache_use(&vm->cache, &pin->ce);
	return pin;
}

/* Release the pages GUP gave for the NULL entries of @pins[0, @nr). */
static void vmc_pc_unpin_new(struct vmc_pin **pins, struct page **pages,
			     unsigned long nr)
{
	unsigned long i;

	for (i = 0; i < nr; i++)
		if (!pins[i])
			unpin_user_page(pages[i]);
}

/* GUP the pages of @pins that are NULL, in runs; all or nothing. */
static int vmc_pc_gup(struct vmc_vm *vm, unsigned long vaddr, unsigned long nr,
		      bool write, struct vmc_pin **pins, struct page **pages)
{
	unsigned int flags = FOLL_LONGTERM | (write ? FOLL_WRITE : 0);
	unsigned long i = 0, j;
	long got = 0;

	mmap_read_lock(vm->mm);
	while (i < nr) {
		if (pins[i]) {
			i++;
			continue;
		}
		for (j = i + 1; j < nr && !pins[j]; j++)
			;
		got = vmc_compat_pin_remote(vm->mm, vaddr + (i << PAGE_SHIFT), j - i, flags,
					    pages + i);
		if (got != j - i)
			break;
		i = j;
	}
	mmap_read_unlock(vm->mm);
	if (i == nr)
		return 0;
	if (got > 0)
		unpin_user_pages(pages + i, got);
	vmc_pc_unpin_new(pins, pages, i);
	/* VM_PFNMAP / VM_IO (device BARs) end up here as -EFAULT. */
	return got < 0 ? got : -EFAULT;
}

/*
 * A pin of @vpn that a map charged goes back unused: its charge with it.
 * Misses an extent covers were not charged (vmc_pc_lookup_all()); extents
 * come and go only with the GUP windows over them marked raced, so what
 * covered a page at the lookup still does (vm->lock held).
 */
static void vmc_pc_refund(struct vmc_vm *vm, unsigned long vpn)
{
	if (!vmc_ext_covers(vm, vpn))
		atomic_long_inc(&vm->unaccount);
}

/* Put a freshly pinned page into the cache, live; replaces a stale entry. */
static struct vmc_pin *vmc_pc_insert(struct vmc_vm *vm, unsigned long vpn,
				     struct page *page, bool write, struct list_head *fresh)
{
	struct vmc_pin *old = xa_load(&vm->pins, vpn), *pin;

	if (old && old->page == page) {
		/* Same page, now also pinned for write: keep one pin. */
		if (old->prefetched)
			vmc_pf_done(vm, old, false);
		unpin_user_page(page);
		old->writable |= write;
		old->dirty |= write;
		vm->cache.pinned_pages--;
		vmc_pc_refund(vm, vpn);
		vmc_cache_use(&vm->cache, &old->ce);
		return old;
	}
	pin = list_first_entry_or_null(fresh, struct vmc_pin, ce.pn.link.node);
	if (WARN_ON_ONCE(!pin))
		return NULL;
	list_del_init(&pin->ce.pn.link.node);
	/* The address maps another page now: live users keep the old one. */
	if (old)
		vmc_cache_forget(&vm->cache, &old->ce);
	/* The slot was reserved before the lock: nothing to allocate. */
	if (xa_err(xa_store(&vm->pins, vpn, pin, GFP_NOWAIT | __GFP_ACCOUNT))) {
		vmc_pin_free(vm, pin);
		return NULL;
	}
	pin->page = page;
	pin->writable = write;
	pin->dirty = write;
	/* An extent pins the page too and holds its charge: none was taken. */
	pin->shared = vmc_ext_covers(vm, vpn);
	vmc_cache_insert(&vm->cache, &pin->ce, vpn);
	vmc_vm_stat(vm, pins, 1);
	vmc_vm_stat(vm, pinned_pages, 1);
	return pin;
}

/*
 * Insert the pages GUP gave; on failure the pins inserted so far stay live
 * in @pins for the caller to release, the rest are unpinned.
 */
static int vmc_pc_insert_all(struct vmc_vm *vm, unsigned long vaddr, unsigned long nr,
			     bool write, struct vmc_pin **pins, struct page **pages,
			     struct list_head *fresh)
{
	unsigned long i, vpn = vaddr >> PAGE_SHIFT;

	for (i = 0; i < nr; i++) {
		if (pins[i])
			continue;
		pins[i] = vmc_pc_insert(vm, vpn + i, pages[i], write, fresh);
		if (!pins[i]) {
			unpin_user_page(pages[i]);
			vm->cache.pinned_pages--;
			vmc_pc_refund(vm, vpn + i);
			for (i++; i < nr; i++)
				if (!pins[i]) {
					unpin_user_page(pages[i]);
					vm->cache.pinned_pages--;
					vmc_pc_refund(vm, vpn + i);
				}
			return -ENOMEM;
		}
	}
	return 0;
}

/* Undo the live references of @pins and a reservation of @reserved pages. */
static void vmc_pc_abort(struct vmc_vm *vm, struct vmc_pin **pins, unsigned long nr,
			 u64 reserved)
{
	unsigned long i;

	mutex_lock(&vm->lock);
	vm->cache.pinned_pages -= reserved;
	for (i = 0; i < nr; i++)
		if (pins[i]) {
			vmc_cache_unuse(&vm->cache, &pins[i]->ce);
			pins[i] = NULL;
		}
	mutex_unlock(&vm->lock);
}

/*
 * Charge @nr_pages new pins to locked_vm, netted against unpins not yet
 * uncharged (an evicting miss then takes mmap_lock once, not twice).
 */
int vmc_pc_charge(struct vmc_vm *vm, long nr_pages)
{
	long owed = atomic_long_xchg(&vm->unaccount, 0);
	long delta = nr_pages - owed;
	int ret = 0;

	if (delta > 0) {
		ret = account_locked_vm(vm->mm, delta, true);
		if (ret)
			atomic_long_add(owed, &vm->unaccount);
	} else if (delta < 0) {
		account_locked_vm(vm->mm, -delta, false);
	}
	return ret;
}

/*
 * Charge the pins of a map's misses; over RLIMIT_MEMLOCK, the candidates
 * (which type1 would not hold) go first, and the charge is tried again.
 */
int vmc_pc_charge_misses(struct vmc_vm *vm, long nr_pages)
{
	u64 evicted;

	if (!vmc_pc_charge(vm, nr_pages))
		return 0;
	mutex_lock(&vm->lock);
	evicted = vmc_cache_evict(&vm->cache, nr_pages);
	if (evicted) {
		vmc_vm_stat(vm, evictions, evicted);
		vmc_vm_stat(vm, eviction_batches, 1);
	}
	mutex_unlock(&vm->lock);
	return evicted ? vmc_pc_charge(vm, nr_pages) : -ENOMEM;
}

/*
 * The pin at @xas's index (@first) or at the next one: one walk of the
 * xarray for a run of pages, not one per page.  Only the reservations of a
 * map in flight change the array without vmc_vm.lock; their slots read as
 * empty.  Not xas_retry(): it says "retry" for a reserved slot too, which
 * would then be loaded again, forever, while that map waits for the lock.
 */
static struct vmc_pin *vmc_pc_next(struct xa_state *xas, bool first)
{
	void *entry = first ? xas_load(xas) : xas_next(xas);

	while (xa_is_retry(entry)) {
		xas_reset(xas);
		entry = xas_load(xas);
	}
	return xa_is_zero(entry) ? NULL : entry;
}

/* Under the VM's lock: take the hits, reserve room for the misses. */
static int vmc_pc_lookup_all(struct vmc_vm *vm, unsigned long vaddr, unsigned long nr,
			     bool write, struct vmc_pin **pins, unsigned long *misses,
			     unsigned long *shared, bool room_coming)
{
	XA_STATE(xas, &vm->pins, vaddr >> PAGE_SHIFT);
	unsigned long i;

	/* No cached extent overlaps a pin: one there goes (see vmc_vm.ext_cache). */
	if (!RB_EMPTY_ROOT(&vm->ext_cache.rb_root))
		vmc_ext_uncache(vm, vaddr >> PAGE_SHIFT, (vaddr >> PAGE_SHIFT) + nr - 1);
	rcu_read_lock();

	*misses = 0;
	for (i = 0; i < nr; i++) {
		pins[i] = vmc_pc_take(vm, vmc_pc_next(&xas, !i), write);
		*misses += !pins[i];
	}
	rcu_read_unlock();
	/* Misses a live extent pins already: no charge (see vmc_pc_refund()). */
	*shared = 0;
	for (i = 0; !RB_EMPTY_ROOT(&vm->exts.rb_root) && i < nr; i++)
		*shared += !pins[i] && vmc_ext_covers(vm, (vaddr >> PAGE_SHIFT) + i);
	if (!vmc_cache_make_room(&vm->cache, *misses)) {
		/* The caller can free room and ask again first. */
		if (room_coming) {
			*misses = *shared = 0;
			return -EAGAIN;
		}
		/* Live pages fill the quota: admitted, as type1 would. */
		vmc_vm_stat(vm, quota_overruns, 1);
	}
	vmc_cache_reserve(&vm->cache, *misses);
	/* A retry after a racing invalidation counts its hits again: rare. */
	vmc_vm_stat(vm, pin_hits, nr - *misses);
	if (nr > *misses)
		trace_vmc_pin_hit(vm->pid, vaddr, nr - *misses);
	return 0;
}

/* Which pages of @pins[0, @nr) missed, for the prefetcher. */
static void vmc_pc_note_misses(struct vmc_pin **pins, unsigned long nr,
			       unsigned long *missed)
{
	unsigned long i;

	for (i = 0; missed && i < nr; i++)
		__assign_bit(i, missed, !pins[i]);
}

/*
 * Nothing under vmc_vm.lock may allocate with reclaim: reclaim can migrate
 * the VMM's pages, and the VM's mmu notifier then takes that lock.  So a
 * vmc_pin and an xarray slot for each missed page are allocated before.
 */
static int vmc_pc_prealloc(struct vmc_vm *vm, unsigned long vaddr, unsigned long nr,
			   struct vmc_pin **pins, struct list_head *fresh)
{
	unsigned long i, vpn = vaddr >> PAGE_SHIFT;
	struct vmc_pin *pin;

	xa_lock(&vm->pins);
	vm->reservers++;
	xa_unlock(&vm->pins);
	for (i = 0; i < nr; i++) {
		if (pins[i])
			continue;
		pin = vmc_pin_alloc(vm);
		if (!pin)
			return -ENOMEM;
		list_add(&pin->ce.pn.link.node, fresh);
		if (xa_reserve(&vm->pins, vpn + i, GFP_KERNEL_ACCOUNT))
			return -ENOMEM;
	}
	return 0;
}

/* Free the preallocated pins the insertion did not use. */
static void vmc_pc_fresh_free(struct vmc_vm *vm, struct list_head *fresh)
{
	struct vmc_pin *pin, *tmp;

	list_for_each_entry_safe(pin, tmp, fresh, ce.pn.link.node) {
		list_del(&pin->ce.pn.link.node);
		vmc_pin_free(vm, pin);
	}
}

/*
 * Free what vmc_pc_prealloc() gave and the insertion did not use; with
 * @release, the slots still merely reserved too (used ones hold their pin).
 * Not while another map of the VM is between its vmc_pc_prealloc() and
 * here: it may have reserved the same slots (a second reservation of a
 * slot is the same one), and its insertion must not find them gone and
 * allocate under vmc_vm.lock.  Those left read as empty, are taken by the
 * next insertion there, and go with the VM's array at the latest.
 */
static void vmc_pc_prealloc_end(struct vmc_vm *vm, unsigned long vaddr, unsigned long nr,
				struct list_head *fresh, bool release)
{
	unsigned long i, vpn = vaddr >> PAGE_SHIFT;

	vmc_pc_fresh_free(vm, fresh);
	xa_lock(&vm->pins);
	if (release && vm->reservers == 1)
		for (i = 0; i < nr; i++)
			__xa_cmpxchg(&vm->pins, vpn + i, XA_ZERO_ENTRY, NULL, 0);
	vm->reservers--;
	xa_unlock(&vm->pins);
}

/*
 * Look up, reserve room, GUP the misses, insert: one batch of pages.  Sets
 * the bits of @missed (if not NULL) of the pages that had to be pinned.
 */
static int vmc_pc_get_batch(struct vmc_vm *vm, unsigned long vaddr, unsigned long nr,
			    bool write, struct vmc_pin **pins, struct page **pages,
			    unsigned long *missed, bool room_coming)
{
	struct vmc_gup_window win = { .start = vaddr, .end = vaddr + (nr << PAGE_SHIFT) };
	unsigned long misses, shared;
	LIST_HEAD(fresh);
	int ret;

again:
	mutex_lock(&vm->lock);
	ret = vmc_pc_lookup_all(vm, vaddr, nr, write, pins, &misses, &shared, room_coming);
	if (!ret && misses) {
		win.raced = false;
		list_add(&win.node, &vm->gups);
	}
	mutex_unlock(&vm->lock);
	vmc_pc_note_misses(pins, nr, missed);
	if (ret || !misses)
		goto out;

	/*
	 * Before GUP, and not under vm->lock: it sleeps while an invalidation
	 * runs, which takes vm->lock.  Hits need no window: an invalidation
	 * after the lookup finds them live and leaves them stale.
	 */
	mmu_interval_read_begin(&vm->notifier);
	ret = vmc_pc_prealloc(vm, vaddr, nr, pins, &fresh);
	if (!ret)
		ret = vmc_pc_gup(vm, vaddr, nr, write, pins, pages);
	if (ret)
		goto out_close;
	ret = vmc_pc_charge_misses(vm, misses - shared);
	if (ret) {
		pr_warn_ratelimited("VM %d (%s): RLIMIT_MEMLOCK (%lu) exceeded\n",
				    vm->pid, vm->comm, rlimit(RLIMIT_MEMLOCK));
		vmc_pc_unpin_new(pins, pages, nr);
		goto out_close;
	}
	mutex_lock(&vm->lock);
	list_del(&win.node);
	if (win.raced) {
		/* The VMM changed these pages meanwhile: start over. */
		vmc_pc_unpin_new(pins, pages, nr);
		atomic_long_add(misses - shared, &vm->unaccount);
		mutex_unlock(&vm->lock);
		vmc_pc_abort(vm, pins, nr, misses);
		vmc_pc_prealloc_end(vm, vaddr, nr, &fresh, true);
		goto again;
	}
	vmc_vm_stat(vm, misses, misses);
	trace_vmc_miss(vm->pid, vaddr, misses);
	ret = vmc_pc_insert_all(vm, vaddr, nr, write, pins, pages, &fresh);
	mutex_unlock(&vm->lock);
	/* Inserted, every reserved slot holds its pin: only the pins to free. */
	vmc_pc_prealloc_end(vm, vaddr, nr, &fresh, ret);
	/* insert_all settled the reservation, whatever happened. */
	misses = 0;
out:
	if (ret)
		goto out_unreserve;
	return 0;

out_close:
	mutex_lock(&vm->lock);
	list_del(&win.node);
	mutex_unlock(&vm->lock);
out_unreserve:
	vmc_pc_abort(vm, pins, nr, misses);
	if (misses)
		vmc_pc_prealloc_end(vm, vaddr, nr, &fresh, true);
	return ret;
}

/**
 * vmc_pc_get() - live pins of the VMM's pages for a guest map
 * @vm: the VM
 * @vaddr: first byte, page aligned, in the VM's mm
 * @nr_pages: pages
 * @write: the device may write
 * @pins: filled with one pin per page
 * @room_coming: the caller holds pages back that it can release (a batch
 *               not yet flushed): if the quota is full, return -EAGAIN
 *               rather than go over it, and the caller releases them and
 *               retries
 *
 * Return: 0, or an errno with nothing taken.
 */
int vmc_pc_get(struct vmc_vm *vm, unsigned long vaddr, unsigned long nr_pages,
	       bool write, struct vmc_pin **pins, bool room_coming)
{
	/* Written before read (GUP, vmc_pc_note_misses()): not zeroed first. */
	struct page *few[VMC_PIN_FEW] __uninitialized;
	DECLARE_BITMAP(missed, VMC_PIN_BATCH) __uninitialized;
	struct page **pages = few;
	/* A hint: vmc_pf_map() looks again under the lock. */
	bool prefetch = !!READ_ONCE(vm->ag);
	unsigned long done = 0;
	int ret = 0;

	/* Guest maps are mostly a page or a few: no allocation for those. */
	if (nr_pages > VMC_PIN_FEW) {
		pages = (struct page **)__get_free_page(GFP_KERNEL);
		if (!pages)
			return -ENOMEM;
	}
	while (done < nr_pages) {
		unsigned long n = min_t(unsigned long, VMC_PIN_BATCH, nr_pages - done);

		ret = vmc_pc_get_batch(vm, vaddr + (done << PAGE_SHIFT), n, write,
				       pins + done, pages, prefetch ? missed : NULL,
				       room_coming);
		if (ret)
			break;
		if (prefetch)
			vmc_pf_map(vm, vaddr + (done << PAGE_SHIFT), n, write, missed);
		done += n;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
	if (pages != few)
		free_page((unsigned long)pages);
	if (ret)
		vmc_pc_put(vm, pins, done);
	vmc_vm_unaccount_flush(vm);
	return ret;
}

/**
 * vmc_pc_gups_raced() - the VMM changes [start, end): maps pinning there
 *                       must start over
 * @vm: the VM (lock held)
 * @start: first byte
 * @end: one past the last byte
 */
void vmc_pc_gups_raced(struct vmc_vm *vm, unsigned long start, unsigned long end)
{
	struct vmc_gup_window *win;

	lockdep_assert_held(&vm->lock);
	list_for_each_entry(win, &vm->gups, node)
		if (win->start < end && start < win->end)
			win->raced = true;
}

/* The VMM unmapped or discarded [start, end): drop what the cache has there. */
void vmc_pc_invalidate(struct vmc_vm *vm, unsigned long start, unsigned long end)
{
	struct vmc_pin *pin;
	unsigned long idx;
	u64 dropped = 0;

	lockdep_assert_held(&vm->lock);
	vmc_xc_drop_vaddr(vm, start, end - 1);
	dropped = vmc_ext_uncache(vm, start >> PAGE_SHIFT, (end - 1) >> PAGE_SHIFT);
	xa_for_each_range(&vm->pins, idx, pin, start >> PAGE_SHIFT, (end - 1) >> PAGE_SHIFT) {
		/* Live mappings keep their page, as in type1. */
		dropped += !pin->ce.live && !pin->ce.xlates;
		vmc_cache_forget(&vm->cache, &pin->ce);
	}
	if (dropped)
		vmc_vm_stat(vm, notifier_drops, dropped);
}

/**
 * vmc_pc_write_protect() - the VMM's protection of [start, end) changed
 * @vm: the VM (lock held)
 * @start: first byte
 * @end: one past the last byte
 *
 * mprotect(), a userfaultfd write-protect (QEMU's background snapshot) or
 * soft-dirty tracking: the pages stay, but a pin no longer proves that the
 * VMM may write them.  Cached translations there go, and the next
 * writable map of such a page asks GUP again (FOLL_WRITE), which fails or
 * faults where type1's would.  Live mappings keep their access, as in
 * type1.
 */
void vmc_pc_write_protect(struct vmc_vm *vm, unsigned long start, unsigned long end)
{
	struct vmc_pin *pin;
	unsigned long idx;

	lockdep_assert_held(&vm->lock);
	vmc_xc_drop_vaddr(vm, start, end - 1);
	/* A cached extent's pins go: it has no per-page state to mark. */
	vmc_ext_uncache(vm, start >> PAGE_SHIFT, (end - 1) >> PAGE_SHIFT);
	xa_for_each_range(&vm->pins, idx, pin, start >> PAGE_SHIFT, (end - 1) >> PAGE_SHIFT)
		pin->writable = false;
}

/* Re-enter every pin into a fresh policy of @kind; @mem becomes the VM's. */
static void vmc_pc_reinit_policy(struct vmc_vm *vm, enum vmc_policy_kind kind,
				 struct vmc_policy_mem *mem)
{
	struct vmc_pin *pin;
	unsigned long idx;

	lockdep_assert_held(&vm->lock);
	vmc_pmem_free(&vm->pmem);
	vm->pmem = *mem;
	vm->policy_kind = kind;
	vmc_policy_init(&vm->cache.policy, kind, vmc_capacity(vm->cache.quota_pages), &vm->pmem);
	xa_for_each(&vm->pins, idx, pin) {
		/* A prefetch not used yet stays cheap to lose. */
		if (pin->prefetched) {
			vmc_policy_insert(&vm->cache.policy, &pin->ce.pn, idx, VMC_INS_PREFETCH);
			continue;
		}
		vmc_policy_insert(&vm->cache.policy, &pin->ce.pn, idx, VMC_INS_LIVE);
		if (!pin->ce.live)
			vmc_policy_unmap(&vm->cache.policy, &pin->ce.pn);
	}
}

int vmc_pc_set_policy(struct vmc_vm *vm, enum vmc_policy_kind kind)
{
	struct vmc_policy_mem mem;
	u64 quota;
	int ret;

	/* History for the quota, allocated outside the lock (see prealloc). */
	for (;;) {
		quota = READ_ONCE(vm->cache.quota_pages);
		ret = vmc_pmem_alloc(&mem, kind, quota);
		if (ret)
			return ret;
		mutex_lock(&vm->lock);
		if (vm->cache.quota_pages == quota)
			break;
		/* The quota changed meanwhile: size it again. */
		mutex_unlock(&vm->lock);
		vmc_pmem_free(&mem);
	}
	vmc_pc_reinit_policy(vm, kind, &mem);
	mutex_unlock(&vm->lock);
	return 0;
}

int vmc_pc_set_quota(struct vmc_vm *vm, u64 quota_pages)
{
	enum vmc_policy_kind kind;
	struct vmc_policy_mem mem;
	bool have;

	/* History sized by the quota (LIRS, DUEL) follows it; keep the old if short. */
	kind = READ_ONCE(vm->policy_kind);
	have = vmc_kind_has_history(kind) && !vmc_pmem_alloc(&mem, kind, quota_pages);
	mutex_lock(&vm->lock);
	vm->cache.quota_pages = quota_pages;
	if (have && vm->policy_kind == kind) {
		vmc_pc_reinit_policy(vm, kind, &mem);
		have = false;
	} else {
		vmc_policy_set_capacity(&vm->cache.policy, vmc_capacity(quota_pages));
	}
	/* Down to the quota at once; live pages above it stay. */
	vmc_cache_make_room(&vm->cache, 0);
	mutex_unlock(&vm->lock);
	if (have)
		vmc_pmem_free(&mem);
	vmc_vm_unaccount_flush(vm);
	return 0;
}

void vmc_pc_set_mode(struct vmc_vm *vm, enum vmc_mode mode)
{
	struct vmc_pin *pin;
	unsigned long idx;

	mutex_lock(&vm->lock);
	/* Only lazy keeps translations. */
	if (vm->mode == VMC_MODE_LAZY && mode != VMC_MODE_LAZY)
		vmc_xc_drop_vaddr(vm, 0, ULONG_MAX);
	vm->mode = mode;
	vm->cache.keep = mode != VMC_MODE_OFF;
	/*
	 * Off caches nothing: candidates go now, live pins when unmapped; a
	 * page that a torn-down translation not yet synced still reaches
	 * goes after that sync.
	 */
	if (mode == VMC_MODE_OFF) {
		vmc_ext_evict(vm, U64_MAX);
		xa_for_each(&vm->pins, idx, pin)
			if (!pin->ce.live)
				vmc_cache_forget(&vm->cache, &pin->ce);
	}
	mutex_unlock(&vm->lock);
	vmc_vm_unaccount_flush(vm);
}
