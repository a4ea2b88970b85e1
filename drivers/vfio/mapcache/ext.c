// SPDX-License-Identifier: GPL-2.0-only
/*
 * Extents: the pages of one large map, pinned, charged and counted as one
 * object.
 *
 * A VM without a vIOMMU has QEMU map all guest RAM at start in a few maps
 * of hundreds of MiB or more, and a vIOMMU VM does the same until its guest
 * enables the IOMMU; per-page state (a vmc_pin, an xarray slot and a policy
 * node for each 4 KiB page) would make such maps several times slower than
 * type1's and cost tens of MiB of kernel memory per GiB.  So in modes
 * strict and lazy a map of at least VMC_EXT_MIN_BYTES (in strict, of
 * VMC_EXT_STRICT_MIN_BYTES; of hugetlbfs pages, of VMC_PIN_BATCH pages
 * and its huge page size) is an extent:
 * its pages are pinned and mapped as mode off pins them (in physically
 * contiguous runs, the largest IOMMU superpages the alignment allows), its
 * only record of them while it is mapped is its own IOMMU mapping (as with
 * type1), and what the VM keeps is one struct vmc_ext in @vmc_vm.exts.
 * The extent is charged to locked_vm before it pins and counted as live
 * pages of the cache (pinned_bytes, live_bytes, the quota's view) as long
 * as its map lives; what happens to its pages at the unmap is below.
 *
 * A small map may meanwhile pin a page of a live extent through the pin
 * cache: the page then holds two pins but is charged once, the pin being
 * "shared" (it is not charged, and takes no charge back when it goes).
 * A map decides that when it looks its pages up, before GUP; an extent
 * that begins or ends over a map in flight has it start over.  Pins the
 * cache holds in a new extent's range (candidates of earlier maps, QEMU's
 * maps of the pieces below 1 MiB) become shared too, their charge taken
 * over by the extent.  A pin is shared exactly while an extent covers its
 * page.
 *
 * Extents may overlap: with a vIOMMU QEMU opens a container per assigned
 * device and maps all guest RAM in each until the guest enables its IOMMU.
 * Each such map is an extent that pins and maps its pages for its own
 * container, but the charge and the live count are per page of the
 * extents' union: an extent takes them for the pages no other extent or
 * pin holds, and when it goes gives back those of its pages that no other
 * extent covers, but the pages pins hold (they become ordinary pins).
 *
 * When its map goes in modes strict and lazy, an extent is kept, cached,
 * if nothing else pins there (no other extent, no pin of the cache): its
 * pages stay pinned and charged, their runs recorded as its map's IOMMU
 * mapping is torn down, and a later map of exactly its range (QEMU maps
 * guest RAM again after a reset, a guest driver its buffers) maps those
 * runs again, with no GUP; its next unmap finds them through the IOMMU
 * again.  A cached extent counts against the quota as candidates do, and
 * goes, whole, before any candidate page when room is needed (its pages
 * are pinned again a batch at a time, a small map's page by page), when
 * idle for a whole window, when the VMM unmaps or write-protects any of
 * its pages, and when any other map, small or large, pins any of them:
 * so a cached extent overlaps nothing else that pins, and its charge is
 * all its own.
 *
 * Every extent operation takes vmc_vm.lock; nothing allocates under it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/interval_tree_generic.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "vmc.h"

#define VMC_EXT_FIRST(ext)	((ext)->vpn)
#define VMC_EXT_LAST(ext)	((ext)->last)

INTERVAL_TREE_DEFINE(struct vmc_ext, node, unsigned long, subtree_last, VMC_EXT_FIRST,
		     VMC_EXT_LAST, static, vmc_ext_it)

/**
 * vmc_ext_covers() - is a page part of a live extent?
 * @vm: the VM (lock held)
 * @vpn: the VMM's virtual page number
 *
 * Return: true if an extent pins @vpn.
 */
bool vmc_ext_covers(struct vmc_vm *vm, unsigned long vpn)
{
	lockdep_assert_held(&vm->lock);
	return vmc_ext_it_iter_first(&vm->exts, vpn, vpn);
}

/**
 * vmc_ext_cached_at() - is a page part of a cached extent?
 * @vm: the VM (lock held)
 * @vpn: the VMM's virtual page number
 *
 * Return: true if a cached extent holds @vpn pinned.
 */
bool vmc_ext_cached_at(struct vmc_vm *vm, unsigned long vpn)
{
	lockdep_assert_held(&vm->lock);
	return vmc_ext_it_iter_first(&vm->ext_cache, vpn, vpn);
}

/*
 * Cached extents out of their VM, whose pages vmc_ext_unpin_work unpins:
 * linked by their @lru.  The lock protects the list only.
 */
static LIST_HEAD(vmc_ext_doomed);
static DEFINE_SPINLOCK(vmc_ext_doomed_lock);

/**
 * vmc_ext_runs_free() - free an extent's record of its runs
 * @ext: the extent, not cached
 */
void vmc_ext_runs_free(struct vmc_ext *ext)
{
	struct vmc_ext_chunk *ch, *tmp;

	list_for_each_entry_safe(ch, tmp, &ext->chunks, node)
		free_page((unsigned long)ch);
	INIT_LIST_HEAD(&ext->chunks);
	ext->nr_chunks = 0;
	ext->recorded = 0;
}

/*
 * Unpin what dropped cached extents hold, dirtied as type1 does, each run
 * under its pages' locks: not in their VM's notifier, which a truncate may
 * call with such a lock held.
 */
static void vmc_ext_unpin_fn(struct work_struct *work)
{
	struct vmc_ext *ext, *tmp;
	struct vmc_ext_chunk *ch;
	LIST_HEAD(doomed);
	unsigned long i;

	spin_lock(&vmc_ext_doomed_lock);
	list_splice_init(&vmc_ext_doomed, &doomed);
	spin_unlock(&vmc_ext_doomed_lock);
	list_for_each_entry_safe(ext, tmp, &doomed, lru) {
		list_for_each_entry(ch, &ext->chunks, node) {
			for (i = 0; i < ch->nr; i++)
				unpin_user_page_range_dirty_lock(pfn_to_page(ch->runs[i].pfn),
								 ch->runs[i].nr, ext->writable);
			cond_resched();
		}
		vmc_total_stat(pinned_pages, -(s64)ext->nr_pages);
		vmc_total_stat(unpins, ext->nr_pages);
		vmc_ext_runs_free(ext);
		kfree(ext);
	}
}

static DECLARE_WORK(vmc_ext_unpin_work, vmc_ext_unpin_fn);

/**
 * vmc_ext_flush_unpins() - wait until dropped cached extents are unpinned
 *
 * Not under a lock the notifier takes.
 */
void vmc_ext_flush_unpins(void)
{
	flush_work(&vmc_ext_unpin_work);
}

/*
 * Under vm->lock: a cached extent leaves its VM, which stops counting and
 * charging its pages now; they are unpinned soon after (the caller may be
 * the notifier), and leave the module-wide counters then.
 */
static void vmc_ext_drop(struct vmc_vm *vm, struct vmc_ext *ext)
{
	unsigned long nr = ext->nr_pages;

	lockdep_assert_held(&vm->lock);
	vmc_ext_it_remove(ext, &vm->ext_cache);
	list_del(&ext->lru);
	vm->ext_cand_pages -= nr;
	vm->cache.pinned_pages -= nr;
	atomic_long_add(nr, &vm->unaccount);
	atomic_long_dec(&vm->mem.exts);
	atomic_long_dec(&vm->mem.ext_cached);
	atomic_long_sub(ext->nr_chunks, &vm->mem.ext_chunks);
	spin_lock(&vmc_ext_doomed_lock);
	list_add_tail(&ext->lru, &vmc_ext_doomed);
	spin_unlock(&vmc_ext_doomed_lock);
	queue_work(system_unbound_wq, &vmc_ext_unpin_work);
}

/**
 * vmc_ext_uncache() - drop the cached extents that hold pages of a range
 * @vm: the VM (lock held)
 * @first: first virtual page
 * @last: last virtual page
 *
 * Something else pins there, or the VMM changed those pages.
 *
 * Return: pages dropped.
 */
u64 vmc_ext_uncache(struct vmc_vm *vm, unsigned long first, unsigned long last)
{
	struct vmc_ext *ext;
	u64 nr = 0;

	lockdep_assert_held(&vm->lock);
	while ((ext = vmc_ext_it_iter_first(&vm->ext_cache, first, last))) {
		nr += ext->nr_pages;
		vmc_ext_drop(vm, ext);
	}
	return nr;
}

/**
 * vmc_ext_evict() - evict cached extents, oldest first
 * @vm: the VM (lock held)
 * @nr_pages: pages to evict at least, if there are as many
 *
 * Return: pages evicted (off the cache's pinned pages).
 */
u64 vmc_ext_evict(struct vmc_vm *vm, u64 nr_pages)
{
	struct vmc_ext *ext, *tmp;
	u64 nr = 0;

	lockdep_assert_held(&vm->lock);
	list_for_each_entry_safe(ext, tmp, &vm->ext_lru, lru) {
		if (nr >= nr_pages)
			break;
		nr += ext->nr_pages;
		vmc_ext_drop(vm, ext);
	}
	return nr;
}

/**
 * vmc_ext_release_idle() - release cached extents idle a whole window
 * @vm: the VM (lock held; the cache's idle epoch brought up to now)
 */
void vmc_ext_release_idle(struct vmc_vm *vm)
{
	struct vmc_ext *ext, *tmp;
	u64 nr = 0;

	lockdep_assert_held(&vm->lock);
	list_for_each_entry_safe(ext, tmp, &vm->ext_lru, lru) {
		if (!vm->cache.idle_on || !vmc_idle_expired(vm->cache.idle_epoch, ext->stamp))
			break;
		nr += ext->nr_pages;
		vmc_ext_drop(vm, ext);
	}
	if (nr)
		vmc_vm_stat(vm, idle_releases, nr);
}

/* Pages of [@first, @last] that live extents cover (vm->lock held). */
static unsigned long vmc_ext_covered(struct vmc_vm *vm, unsigned long first, unsigned long last)
{
	unsigned long nr = 0, from = first, to;
	struct vmc_ext *ext;

	lockdep_assert_held(&vm->lock);
	/* In order of first page: what is not counted yet starts at @from. */
	for (ext = vmc_ext_it_iter_first(&vm->exts, first, last); ext;
	     ext = vmc_ext_it_iter_next(ext, first, last)) {
		to = min(ext->last, last);
		if (to < max(ext->vpn, from))
			continue;
		nr += to - max(ext->vpn, from) + 1;
		from = to + 1;
	}
	return nr;
}

/*
 * The cache's pins of [@first, @last] (reservations are not pins) that no
 * extent covers; with @update, each pin is first made shared if an extent
 * covers its page and ordinary if none does.  Under vm->lock no pin comes
 * or goes, but maps in flight reserve slots (zero entries) under the
 * array's own lock: an RCU walk.
 */
static unsigned long vmc_ext_pins(struct vmc_vm *vm, unsigned long first, unsigned long last,
				  bool update)
{
	XA_STATE(xas, &vm->pins, first);
	unsigned long nr = 0;
	struct vmc_pin *pin;

	lockdep_assert_held(&vm->lock);
	rcu_read_lock();
	xas_for_each(&xas, pin, last) {
		if (xas_retry(&xas, pin) || xa_is_zero(pin))
			continue;
		if (update)
			pin->shared = vmc_ext_covers(vm, xas.xa_index);
		nr += !pin->shared;
	}
	rcu_read_unlock();
	return nr;
}

/*
 * Under vm->lock: link @ext once @charged pages cover what it must charge:
 * its pages that neither another extent nor a pin of the cache holds the
 * charge of (those pins become shared).  Returns the pages still to
 * charge (0: linked).
 */
static long vmc_ext_try_link(struct vmc_vm *vm, struct vmc_ext *ext, unsigned long charged)
{
	unsigned long fresh, need;

	lockdep_assert_held(&vm->lock);
	/* A cached extent there is not this one (vmc_ext_reuse()): it goes. */
	vmc_ext_uncache(vm, ext->vpn, ext->last);
	/* Pages no other extent pins: the cache counts them live now. */
	fresh = ext->nr_pages - vmc_ext_covered(vm, ext->vpn, ext->last);
	/* Live pages: candidates make room for them, a quota never refuses them. */
	if (!vmc_cache_make_room(&vm->cache, fresh))
		vmc_vm_stat(vm, quota_overruns, 1);
	need = fresh - vmc_ext_pins(vm, ext->vpn, ext->last, false);
	if (charged < need)
		return need - charged;
	atomic_long_add(charged - need, &vm->unaccount);
	vmc_ext_it_insert(ext, &vm->exts);
	vmc_ext_pins(vm, ext->vpn, ext->last, true);
	/* Maps in flight there looked up without it: they start over. */
	vmc_pc_gups_raced(vm, ext->vpn << PAGE_SHIFT, (ext->last + 1) << PAGE_SHIFT);
	vmc_cache_add_live(&vm->cache, fresh);
	atomic_long_add(fresh, &vm->mem.ext_pages);
	return 0;
}

/**
 * vmc_ext_begin() - make a large map an extent, before it pins
 * @vm: the VM; the map is made by its own mm
 * @vaddr: first byte, page aligned
 * @size: bytes, at least VMC_EXT_MIN_BYTES
 * @out: the extent
 *
 * Charges to locked_vm (candidates go first if that would pass
 * RLIMIT_MEMLOCK) the map's pages but those that other extents or the
 * cache's pins are charged for already (such pins become shared), then
 * links the extent and counts the pages no other extent covers as live.
 *
 * Return: 0, or -ENOMEM with nothing taken.
 */
int vmc_ext_begin(struct vmc_vm *vm, unsigned long vaddr, u64 size, struct vmc_ext **out)
{
	struct vmc_ext *ext;
	unsigned long charged = 0;
	long more;
	int ret;

	ext = kzalloc(sizeof(*ext), GFP_KERNEL_ACCOUNT);
	if (!ext)
		return -ENOMEM;
	INIT_LIST_HEAD(&ext->lru);
	INIT_LIST_HEAD(&ext->chunks);
	ext->vpn = vaddr >> PAGE_SHIFT;
	ext->nr_pages = size >> PAGE_SHIFT;
	ext->last = ext->vpn + ext->nr_pages - 1;
	/* Charged outside the lock; pins may go meanwhile: until it holds. */
	for (;;) {
		mutex_lock(&vm->lock);
		more = vmc_ext_try_link(vm, ext, charged);
		mutex_unlock(&vm->lock);
		if (!more)
			break;
		ret = vmc_pc_charge_misses(vm, more);
		if (ret) {
			pr_warn_ratelimited("VM %d (%s): RLIMIT_MEMLOCK (%lu) exceeded\n",
					    vm->pid, vm->comm, rlimit(RLIMIT_MEMLOCK));
			atomic_long_add(charged, &vm->unaccount);
			vmc_vm_unaccount_flush(vm);
			kfree(ext);
			return ret;
		}
		charged += more;
	}
	vmc_vm_unaccount_flush(vm);
	atomic_long_inc(&vm->mem.exts);
	*out = ext;
	return 0;
}

/**
 * vmc_ext_count_moved() - an extent's pages join or leave a container's counts
 * @c: the container (lock held)
 * @nr: pages coming in as the extent is reused (negative: going out as it
 *      is cached)
 *
 * A container's pins and unpins count them coming and going, so that
 * pins - unpins stays its pinned_pages; a cached extent's pages are the
 * VM's, counted apart from its cache's pins (extent_cached_pages); the
 * module's totals count GUP and unpinning alone.
 */
void vmc_ext_count_moved(struct vmc_container *c, long nr)
{
	u64 in = nr > 0 ? nr : 0, out = nr < 0 ? -nr : 0;

	vmc_count(c, pinned_pages, (u64)nr);
	vmc_count(c, pins, in);
	vmc_count(c, unpins, out);
	/* Still pinned: the module's count does not move. */
	vmc_total_stat(pinned_pages, -nr);
	vmc_total_stat(pins, -(s64)in);
	vmc_total_stat(unpins, -(s64)out);
}

/**
 * vmc_ext_record() - note a run of an extent's pages as its map goes
 * @ext: the extent, whose map's container is locked
 * @phys: first byte of the run
 * @size: bytes
 *
 * Return: 0, or -ENOMEM (what was recorded stays recorded).
 */
int vmc_ext_record(struct vmc_ext *ext, phys_addr_t phys, size_t size)
{
	unsigned long pfn = PHYS_PFN(phys), nr = size >> PAGE_SHIFT;
	struct vmc_ext_chunk *ch = NULL;
	struct vmc_ext_run *run = NULL;

	BUILD_BUG_ON(sizeof(struct vmc_ext_chunk) > PAGE_SIZE);
	if (!list_empty(&ext->chunks)) {
		ch = list_last_entry(&ext->chunks, struct vmc_ext_chunk, node);
		run = &ch->runs[ch->nr - 1];
	}
	if (run && run->pfn + run->nr == pfn) {
		run->nr += nr;
	} else {
		if (!ch || ch->nr == VMC_EXT_CHUNK_RUNS) {
			ch = (void *)__get_free_page(GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
			if (!ch)
				return -ENOMEM;
			ch->nr = 0;
			list_add_tail(&ch->node, &ext->chunks);
			ext->nr_chunks++;
		}
		ch->runs[ch->nr].pfn = pfn;
		ch->runs[ch->nr].nr = nr;
		ch->nr++;
	}
	ext->recorded += nr;
	return 0;
}

/*
 * Under vm->lock, @ext just unlinked and no other extent over it: if no
 * pin of the cache in its range is live or reached by a cached
 * translation, forget them all (candidates whose pages @ext holds pinned;
 * still shared, they take no charge along) and return true, so that @ext
 * may be cached, overlapping no pin.
 */
static bool vmc_ext_forget_idle_pins(struct vmc_vm *vm, struct vmc_ext *ext)
{
	struct vmc_pin *pin;
	unsigned long idx;

	xa_for_each_range(&vm->pins, idx, pin, ext->vpn, ext->last)
		if (pin->ce.live || pin->ce.xlates)
			return false;
	xa_for_each_range(&vm->pins, idx, pin, ext->vpn, ext->last)
		vmc_cache_forget(&vm->cache, &pin->ce);
	return true;
}

/**
 * vmc_ext_end() - the map of an extent is gone
 * @c: the container of that map (lock held)
 * @ext: the extent; its pages are unmapped and either recorded (all of
 *       them: vmc_ext_record()) or queued for unpinning
 *
 * Of its pages that no other extent covers, those the cache's pins hold
 * keep their charge (the pins become ordinary ones); the others' charge is
 * given back and they stop counting as live.  But an extent whose pages
 * are all recorded, that overlaps no other extent and no live page of the
 * cache stays pinned and charged, counted by the VM rather than the
 * container (extent_cached_pages), to be cached after the IOTLB sync
 * (vmc_ext_cache_pending());
 * the candidates of the cache in its range go (its pins hold their pages).
 *
 * Return: true if it is to be cached; else the caller unpins what it
 * recorded and frees it (vmc_ext_free()).
 */
bool vmc_ext_end(struct vmc_container *c, struct vmc_ext *ext)
{
	struct vmc_vm *vm = c->vm;
	unsigned long gone, kept;
	bool keep;

	mutex_lock(&vm->lock);
	vmc_ext_it_remove(ext, &vm->exts);
	/* Maps in flight there took no charge for its pages: they start over. */
	vmc_pc_gups_raced(vm, ext->vpn << PAGE_SHIFT, (ext->last + 1) << PAGE_SHIFT);
	gone = ext->nr_pages - vmc_ext_covered(vm, ext->vpn, ext->last);
	keep = ext->recorded == ext->nr_pages && gone == ext->nr_pages && vm->cache.keep &&
	       vmc_ext_forget_idle_pins(vm, ext);
	kept = vmc_ext_pins(vm, ext->vpn, ext->last, true);
	vmc_cache_drop_live(&vm->cache, gone);
	atomic_long_sub(gone, &vm->mem.ext_pages);
	if (keep)
		vmc_cache_reserve(&vm->cache, ext->nr_pages);
	mutex_unlock(&vm->lock);
	if (keep) {
		vmc_ext_count_moved(c, -(long)ext->nr_pages);
		list_add_tail(&ext->lru, &c->ext_pending);
		return true;
	}
	atomic_long_add(gone - kept, &vm->unaccount);
	vmc_vm_unaccount_flush(vm);
	return false;
}

/**
 * vmc_ext_free() - free an extent that is not cached
 * @vm: its VM
 * @ext: the extent, its runs unpinned
 */
void vmc_ext_free(struct vmc_vm *vm, struct vmc_ext *ext)
{
	vmc_ext_runs_free(ext);
	atomic_long_dec(&vm->mem.exts);
	kfree(ext);
}

/* Under vm->lock: cache @ext, unmapped and synced, if it still may be. */
static void vmc_ext_link_cached(struct vmc_vm *vm, struct vmc_ext *ext)
{
	bool others = vmc_ext_it_iter_first(&vm->exts, ext->vpn, ext->last) ||
		      vmc_ext_it_iter_first(&vm->ext_cache, ext->vpn, ext->last) ||
		      vmc_ext_pins(vm, ext->vpn, ext->last, false);

	vmc_ext_it_insert(ext, &vm->ext_cache);
	list_add_tail(&ext->lru, &vm->ext_lru);
	vm->ext_cand_pages += ext->nr_pages;
	atomic_long_inc(&vm->mem.ext_cached);
	atomic_long_add(ext->nr_chunks, &vm->mem.ext_chunks);
	vm->cache.ops->tick(&vm->cache);
	ext->stamp = vm->cache.idle_epoch;
	/* Maps in flight there looked it up before: they start over. */
	vmc_pc_gups_raced(vm, ext->vpn << PAGE_SHIFT, (ext->last + 1) << PAGE_SHIFT);
	/* Since its unmap something else pinned there, or mode off began. */
	if (others || !vm->cache.keep)
		vmc_ext_drop(vm, ext);
}

/**
 * vmc_ext_cache_pending() - cache the extents unmapped before an IOTLB sync
 * @c: the container (lock held), just synced
 *
 * Then back within the quota: cached extents go first.
 */
void vmc_ext_cache_pending(struct vmc_container *c)
{
	struct vmc_vm *vm = c->vm;
	struct vmc_ext *ext, *tmp;

	mutex_lock(&vm->lock);
	list_for_each_entry_safe(ext, tmp, &c->ext_pending, lru) {
		list_del(&ext->lru);
		vmc_ext_link_cached(vm, ext);
	}
	vmc_cache_make_room(&vm->cache, 0);
	vmc_pc_idle_arm(vm);
	mutex_unlock(&vm->lock);
	vmc_vm_unaccount_flush(vm);
}

/**
 * vmc_ext_reuse() - a cached extent for a map of exactly its range
 * @vm: the VM; the map is made by its own mm
 * @vaddr: first byte, page aligned
 * @size: bytes
 * @write: the map is writable
 *
 * The extent is live again, with the pins and the charge it kept (it
 * overlapped nothing else that pins), to be counted by the caller's
 * container (vmc_ext_count_moved()); its runs are the caller's to map,
 * then to free.
 *
 * Return: the extent, or NULL if none is cached there, or one for read
 * only and @write.
 */
struct vmc_ext *vmc_ext_reuse(struct vmc_vm *vm, unsigned long vaddr, u64 size, bool write)
{
	unsigned long vpn = vaddr >> PAGE_SHIFT, last = vpn + (size >> PAGE_SHIFT) - 1;
	struct vmc_ext *ext;

	mutex_lock(&vm->lock);
	ext = vmc_ext_it_iter_first(&vm->ext_cache, vpn, last);
	if (!ext || ext->vpn != vpn || ext->last != last || (write && !ext->writable)) {
		mutex_unlock(&vm->lock);
		return NULL;
	}
	vmc_ext_it_remove(ext, &vm->ext_cache);
	list_del_init(&ext->lru);
	vm->ext_cand_pages -= ext->nr_pages;
	atomic_long_dec(&vm->mem.ext_cached);
	atomic_long_sub(ext->nr_chunks, &vm->mem.ext_chunks);
	vmc_ext_it_insert(ext, &vm->exts);
	vm->cache.live_pages += ext->nr_pages;
	vm->cache.peak_live_pages = max(vm->cache.peak_live_pages, vm->cache.live_pages);
	atomic_long_add(ext->nr_pages, &vm->mem.ext_pages);
	vmc_vm_stat(vm, ext_hits, 1);
	vmc_pc_gups_raced(vm, vpn << PAGE_SHIFT, (last + 1) << PAGE_SHIFT);
	mutex_unlock(&vm->lock);
	return ext;
}

/* Bytes of one extent object, for debugfs. */
size_t vmc_ext_obj_size(void)
{
	return kmalloc_size_roundup(sizeof(struct vmc_ext));
}
