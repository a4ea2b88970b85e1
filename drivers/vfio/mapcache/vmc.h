/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vfio_iommu_mapcache internals.
 *
 * Vocabulary (as in the rest of this driver): "iova"/"vaddr" are the first
 * byte of a range, "last" its last byte (inclusive), "end" one past it.  A
 * range may reach U64_MAX, so code compares "last" values, never "end".
 *
 * Lock order: vmc_container.lock, then either vmc_vm.lock or the VMM's
 * mmap_lock, never both: the VM's mmu notifier takes vmc_vm.lock under
 * mmap_lock, so GUP and locked_vm accounting run with vmc_vm.lock dropped.
 * vmc_vms_lock (the list of VMs) nests inside nothing; only the shrinker
 * takes a vmc_vm.lock under it, and only with mutex_trylock().
 *
 * Memory reclaim may call the shrinker under any of these locks (each is
 * held across allocations) and under any mm's mmap_lock, so the shrinker
 * never blocks on one: it trylocks vmc_vms_lock and each vmc_vm.lock, and
 * leaves the locked_vm uncharge, which takes mmap_lock, to a work item.
 */
#ifndef VMC_H
#define VMC_H

#include <linux/iommu.h>
#include <linux/list.h>
#include <linux/kobject.h>
#include <linux/mm.h>
#include <linux/mm_types.h>
#include <linux/mmu_notifier.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/xarray.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/types.h>
#include <linux/vfio.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "pcrules.h"
#include "vfio_core.h"

/* Slots of vmc_container.hint: a ring of this many buffers never misses. */
#define VMC_DMA_HINTS		256
/* Unpins collected under one IOTLB gather before it is synced. */
#define VMC_UNPIN_BATCH		64
/* struct page pointers pinned per GUP call: one page of pointers. */
#define VMC_PIN_BATCH		((unsigned long)VMC_PIN_BATCH_PAGES)
static_assert(VMC_PIN_BATCH_PAGES * sizeof(struct page *) <= PAGE_SIZE);
/* Largest idle_ms setting (a day); 0 is off. */
#define VMC_IDLE_MAX_MS		(24U * 3600 * 1000)

/**
 * struct vmc_stats - counters of a container, a VM, or the whole module
 * @pinned_pages: pages pinned now
 * @pins: pages pinned, in total
 * @unpins: pages unpinned, in total
 * @map_requests: MAP_DMA requests that succeeded
 * @unmap_requests: UNMAP_DMA requests that succeeded
 * @iommu_maps: iommu_map() calls
 * @iommu_unmaps: iommu_unmap() and iommu_unmap_fast() calls
 * @iotlb_flushes: IOTLB flushes (gather syncs and synchronous unmaps)
 * @full_hits: pages a guest map found pinned and still in the IOMMU (lazy)
 * @pin_hits: pages a guest map found pinned
 * @misses: pages a guest map had to pin
 * @evictions: cached pages unpinned to make room
 * @eviction_batches: evictions done in one go (one flush, one unpin batch)
 * @quota_overruns: pin batches of MAP_DMA requests admitted above the quota,
 *                  because live pages filled it (a quota never fails a map)
 * @notifier_drops: cached pages dropped because the VMM unmapped, remapped
 *                  or discarded their address
 * @batch_requests: VFIO_MAPCACHE_BATCH calls that ran at least one entry
 * @batch_entries: entries those calls processed
 * @shrinker_releases: cached pages unpinned under host memory pressure (not
 *                     counted in @evictions)
 * @idle_releases: cached pages unpinned for having been idle (idle_ms; not
 *                 counted in @evictions)
 * @prefetch_issued: pages pinned ahead of the guest by the prefetcher
 * @prefetch_useful: prefetched pages that a guest map then found pinned
 * @prefetch_wasted: prefetched pages unpinned or replaced before any use
 * @ext_hits: maps served by a cached extent, with no GUP (ext.c)
 */
struct vmc_stats {
	u64 pinned_pages;
	u64 pins;
	u64 unpins;
	u64 map_requests;
	u64 unmap_requests;
	u64 iommu_maps;
	u64 iommu_unmaps;
	u64 iotlb_flushes;
	u64 full_hits;
	u64 pin_hits;
	u64 misses;
	u64 evictions;
	u64 eviction_batches;
	u64 quota_overruns;
	u64 notifier_drops;
	u64 batch_requests;
	u64 batch_entries;
	u64 shrinker_releases;
	u64 idle_releases;
	u64 prefetch_issued;
	u64 prefetch_useful;
	u64 prefetch_wasted;
	u64 ext_hits;
};

/**
 * enum vmc_mode - what a VM caches
 * @VMC_MODE_OFF: nothing: every MAP pins, every UNMAP unpins (type1)
 * @VMC_MODE_STRICT: pins; translations go at UNMAP_DMA as in type1
 * @VMC_MODE_LAZY: pins and translations: an unmapped IOVA stays reachable
 *                 by the device until evicted (trusted devices only)
 * @VMC_MODE_NR: number of modes
 */
enum vmc_mode {
	VMC_MODE_OFF,
	VMC_MODE_STRICT,
	VMC_MODE_LAZY,
	VMC_MODE_NR,
};

/**
 * struct vmc_pin - one page of a VM's pin cache
 * @ce: its state under the cache's rules (pcrules.h): policy node
 *      (@ce.pn.key is the VMM's virtual page number), live mappings (of any
 *      container of the VM; 0 makes it a candidate), cached translations
 *      (lazy mode; they go before the page is unpinned), idle list and
 *      stamp, and whether it is stale: the VMM's address no longer maps
 *      @page (mmu notifier), so it is out of the cache and unpinned when
 *      its last live user or translation goes
 * @page: the pinned page
 * @writable: pinned with FOLL_WRITE, and not write-protected since
 * @dirty: ever pinned for write: dirtied when unpinned
 * @prefetched: pinned ahead by the prefetcher and not mapped since
 * @shared: a live extent pins @page too and holds its locked_vm charge
 *          (ext.c): this pin takes none while that lasts
 *
 * Protected by vmc_vm.lock once in the cache.
 */
struct vmc_pin {
	struct vmc_centry ce;
	struct page *page;
	bool writable;
	bool dirty;
	bool prefetched;
	bool shared;
};

/* Maps of at least this size in modes strict and lazy are extents (ext.c). */
#define VMC_EXT_MIN_BYTES	SZ_64M
/* In strict mode, maps of at least this size are extents too. */
#define VMC_EXT_STRICT_MIN_BYTES	SZ_2M

/* A physically contiguous run of a cached extent's pinned pages. */
struct vmc_ext_run {
	unsigned long pfn;
	unsigned long nr;
};

/* Runs per page-sized chunk of a cached extent's list of runs. */
#define VMC_EXT_CHUNK_RUNS \
	((PAGE_SIZE - sizeof(struct list_head) - sizeof(unsigned long)) / \
	 sizeof(struct vmc_ext_run))

/**
 * struct vmc_ext_chunk - a page of a cached extent's runs
 * @node: in vmc_ext.chunks
 * @nr: runs used
 * @runs: the runs, in IOVA order
 */
struct vmc_ext_chunk {
	struct list_head node;
	unsigned long nr;
	struct vmc_ext_run runs[VMC_EXT_CHUNK_RUNS];
};

/**
 * struct vmc_ext - the pages of one large map, as one object (ext.c)
 * @node: in the interval tree vmc_vm.exts while live; extents may overlap
 *        (two containers of a VM map the same guest RAM); in
 *        vmc_vm.ext_cache while cached, where none overlaps another
 *        extent or a pin of the cache
 * @vpn: the VMM's first virtual page
 * @last: the last one
 * @subtree_last: the interval tree's: the greatest @last below @node
 * @nr_pages: pages; the charge to locked_vm and the count of live pages
 *            in the cache are per page of the extents' union
 * @lru: in vmc_vm.ext_lru while cached (oldest first), else in
 *       vmc_container.ext_pending between its unmap and the IOTLB sync,
 *       or in the list of extents whose pages await their unpinning
 * @chunks: the runs of its pages (struct vmc_ext_chunk), recorded at its
 *          unmap and kept while it is cached; empty while live
 * @nr_chunks: chunks in @chunks
 * @recorded: pages @chunks holds
 * @stamp: idle window in which it was cached
 * @writable: its pages were pinned for write (dirtied when unpinned)
 *
 * While live, its pages are found through its map's IOMMU mapping, as
 * type1 finds its own.  Protected by vmc_vm.lock, but for its @chunks and
 * @recorded, which only the container of its map touches, under its
 * lock, until the extent is cached.
 */
struct vmc_ext {
	struct rb_node node;
	unsigned long vpn;
	unsigned long last;
	unsigned long subtree_last;
	unsigned long nr_pages;
	struct list_head lru;
	struct list_head chunks;
	unsigned long nr_chunks;
	unsigned long recorded;
	u32 stamp;
	bool writable;
};

struct vmc_vm_sysfs;

/**
 * struct vmc_vm_mem - objects of a VM's own, counted as they come and go
 * @pins: vmc_pins: in the cache, stale, or preallocated by maps in flight
 * @dmas: vmc_dmas of the VM's containers (live mappings, cached and dead
 *        translations)
 * @dma_pin_bytes: bytes of those mappings' arrays of pins, as allocated
 * @containers: containers of the VM
 * @own_pinned: pages the VM's containers pinned themselves, outside the
 *              cache (mode off, maps made by another process, extents)
 * @exts: extents (struct vmc_ext), live or cached
 * @ext_pages: pages of the live ones' union, which the cache counts too
 * @ext_cached: cached extents
 * @ext_chunks: chunks of runs of cached extents (struct vmc_ext_chunk)
 *
 * For debugfs (vm-<pid>/memory): what the VM costs in kernel memory beside
 * the pages it pins.  Atomics: updated under different locks.
 */
struct vmc_vm_mem {
	atomic_long_t pins;
	atomic_long_t dmas;
	atomic_long_t dma_pin_bytes;
	atomic_long_t containers;
	atomic_long_t own_pinned;
	atomic_long_t exts;
	atomic_long_t ext_pages;
	atomic_long_t ext_cached;
	atomic_long_t ext_chunks;
};

/**
 * struct vmc_gup_window - the pages a map is pinning outside vm->lock
 * @node: link in vmc_vm.gups (vm->lock)
 * @start: first byte
 * @end: one past the last byte
 * @raced: the VMM changed its memory in [@start, @end) since the window
 *         opened: what GUP returned may be stale (vm->lock)
 *
 * The VM's notifier covers the whole address space, so its sequence count
 * moves on every change anywhere in the VMM; a map that retried on that
 * would make no progress while the VMM changes unrelated memory faster
 * than GUP pins a batch.  The window says whether the change touched the
 * batch.  It opens under vm->lock before mmu_interval_read_begin(), which
 * waits out invalidations already under way, so every later one finds it.
 */
struct vmc_gup_window {
	struct list_head node;
	unsigned long start;
	unsigned long end;
	bool raced;
};

/**
 * struct vmc_vm - a VM: the VMM process (its mm) and its pin cache
 * @sysfs: /sys/kernel/vfio_mapcache/<pid>/, or NULL once hidden: when the
 *         mm went away, or when a newer VM of the same pid took the name
 *         (vmc_vms_lock)
 * @node: link in the list of VMs, while not dying (vmc_vms_lock)
 * @nr_containers: containers using this VM (vmc_vms_lock)
 * @mm_gone: the mm went away: the VM goes with its last container
 *           (vmc_vms_lock)
 * @dying: off the list, being destroyed (vmc_vms_lock)
 * @mm_notifier: tells when the mm goes away (its release callback)
 * @destroy_work: destroys a VM whose mm went away after its containers
 * @mm: the VMM's mm (a grab)
 * @pid: the VMM's thread group
 * @comm: the VMM's command name
 * @notifier: drops cached pins whose address the VMM unmaps or discards
 * @lock: protects the fields below; never held while taking mmap_lock
 *        (GUP and locked_vm accounting run outside it) or a container lock,
 *        nor across an allocation that may reclaim (reclaim can migrate the
 *        VMM's pages, and the notifier takes @lock): such memory is
 *        allocated before it is taken
 * @pins: vmc_pins by virtual page number (stale ones are not here)
 * @reservers: maps between vmc_pc_prealloc() and vmc_pc_prealloc_end(),
 *             which reserve slots of @pins without @lock; under @pins'
 *             xa_lock, which also orders them
 * @xlates: vmc_dmas of every container whose translation is or was cached
 *          (lazy mode), by virtual address; see vmc_dma.vnode
 * @xlate_doomed: cached translations unlinked, waiting for their teardown
 * @gups: the vmc_gup_windows of maps pinning pages outside @lock
 * @exts: the live extents (struct vmc_ext): an interval tree of virtual
 *        pages
 * @ext_cache: the cached extents: their maps are gone, their pages stay
 *             pinned and charged for a map of the same range; an interval
 *             tree of virtual pages, none overlapping another extent or a
 *             pin of @pins
 * @ext_lru: the cached extents, oldest first: evicted before any candidate
 *           page, and released when idle, as candidates are
 * @ext_cand_pages: pages of the cached extents, counted in @cache's pinned
 *                  pages but not in its policy
 * @cache: the pin cache's rules and counts (pcrules.h): its policy (the
 *         eviction order of the candidates), quota (most pages it keeps
 *         pinned, 0: no fixed limit; live pages may go above it), pages
 *         pinned through it (live, candidate, stale, and reserved by maps
 *         in flight), live pages, their peaks (since reset through sysfs),
 *         the candidates in the order they became candidates, and the
 *         number of the current idle window
 * @pmem: history storage of @cache.policy
 * @policy_kind: which policy
 * @mode: what is cached
 * @idle_window: length of an idle window in jiffies; 0: idle candidates are
 *               kept (up to the quota)
 * @idle_end: when the current window ends (jiffies)
 * @idle_armed: @idle_work is queued
 * @idle_work: releases idle candidates at the end of a window, while there
 *             are more than VMC_IDLE_KEEP_PAGES
 * @ag: access graph of the prefetcher, sized by @cache.quota_pages; NULL while
 *      prefetching is off
 * @prefetch_depth: edges the prefetcher follows from a missed page
 * @stats: counters
 * @unaccount: pages to take off locked_vm once no lock forbids it
 * @unaccount_work: takes @unaccount off locked_vm after a shrinker release
 *                  or a notifier's drops, in a context that may take
 *                  mmap_lock; queued by the shrinker only while the VM is
 *                  on the list of VMs, by the notifier only until it is
 *                  removed: vmc_vm_destroy() cancels it after both
 * @requests: MAP_DMA and UNMAP_DMA requests of all its containers, counted
 *            without the lock (shown as map_requests, unmap_requests)
 * @debugfs: the VM's debugfs directory, NULL once hidden (vmc_vms_lock)
 * @mem: its kernel memory, for debugfs
 *
 * A VM lives as long as its mm or its last container, whichever goes last:
 * its settings outlast containers that close and open again, its pins do
 * not (vmc_pc_release_all()).
 */
struct vmc_vm {
	struct vmc_vm_sysfs *sysfs;
	struct list_head node;
	unsigned int nr_containers;
	bool mm_gone;
	bool dying;
	struct mmu_notifier mm_notifier;
	struct work_struct destroy_work;
	struct mm_struct *mm;
	pid_t pid;
	char comm[TASK_COMM_LEN];
	struct mmu_interval_notifier notifier;
	struct mutex lock;	/* what follows but atomics, works, @reservers */
	struct xarray pins;
	unsigned int reservers;
	struct rb_root_cached xlates;
	struct list_head xlate_doomed;
	struct list_head gups;
	struct rb_root_cached exts;
	struct rb_root_cached ext_cache;
	struct list_head ext_lru;
	u64 ext_cand_pages;
	struct vmc_cache cache;
	struct vmc_policy_mem pmem;
	enum vmc_policy_kind policy_kind;
	enum vmc_mode mode;
	unsigned long idle_window;
	unsigned long idle_end;
	bool idle_armed;
	struct delayed_work idle_work;
	struct vmc_ag *ag;
	unsigned int prefetch_depth;
	struct vmc_stats stats;
	atomic_long_t unaccount;
	struct work_struct unaccount_work;
	atomic64_t requests[2];
	struct dentry *debugfs;
	struct vmc_vm_mem mem;
};

/**
 * struct vmc_group - a VFIO group attached to a container
 * @node: link in vmc_domain.groups
 * @iommu_group: the group
 */
struct vmc_group {
	struct list_head node;
	struct iommu_group *iommu_group;
};

/**
 * struct vmc_domain - one IOMMU domain of a container
 * @node: link in vmc_container.domains
 * @domain: the IOMMU domain; every domain of a container maps the same IOVAs
 * @groups: the vmc_groups attached to it
 * @enforce_cc: the domain enforces cache coherency (IOMMU_CACHE honoured)
 */
struct vmc_domain {
	struct list_head node;
	struct iommu_domain *domain;
	struct list_head groups;
	bool enforce_cc;
};

/**
 * struct vmc_iova_range - a usable range of IOVA space
 * @iova: first byte
 * @last: last byte
 */
struct vmc_iova_range {
	u64 iova;
	u64 last;
};

/**
 * enum vmc_dma_state - what a vmc_dma in vmc_container.dma_root is
 * @VMC_DMA_LIVE: a guest mapping, as MAP_DMA made it
 * @VMC_DMA_CACHED: unmapped by the guest, translation kept (lazy mode)
 * @VMC_DMA_DEAD: a cached translation torn down by an eviction, the mmu
 *                notifier, the shrinker or a mode change: no longer mapped,
 *                no pins; on vmc_container.dead until its container frees it
 */
enum vmc_dma_state {
	VMC_DMA_LIVE,
	VMC_DMA_CACHED,
	VMC_DMA_DEAD,
};

/**
 * struct vmc_dma - one MAP_DMA mapping, as userspace made it
 * @node: link in vmc_container.dma_root, keyed by @iova
 * @vnode: link in vmc_vm.xlates, keyed by @vaddr, or cleared (RB_EMPTY_NODE)
 *         when not there (vmc_vm.lock); a mapping cached once stays there
 *         while live again, so a full hit touches no tree; only its
 *         container changes this while the mapping is live
 * @vsub_last: interval tree bookkeeping of @vnode
 * @c: the container whose domains hold it
 * @iova: first IOVA
 * @size: bytes; only the first @size bytes are mapped while it is built
 * @vaddr: the VMM's virtual address of @iova
 * @prot: IOMMU_READ / IOMMU_WRITE
 * @state: an enum vmc_dma_state.  Written under vmc_vm.lock (and the
 *         container's lock but for CACHED to DEAD); a LIVE mapping only
 *         changes under its container's lock, which may test for LIVE
 *         without vmc_vm.lock
 * @pins_bytes: kernel memory of @pins when allocated (not @pin1), for
 *              vmc_vm_mem
 * @mm: the mm that was pinned (a grab, not a user reference)
 * @pins: the VM's pins of each page, when the pin cache serves it; NULL
 *        when the mapping pinned its pages itself (mode off)
 * @nr_pins: entries of @pins holding a live reference
 * @nr_rsvd: pages of VM_PFNMAP memory (a device BAR) it maps: never pinned,
 *           cached nor charged, as in type1; only when @pins is NULL
 * @pin1: @pins of a one-page mapping, the common case, without an allocation
 * @ext: the extent of a large map (ext.c), whose pages it pinned itself
 *       (@pins is NULL) but charged and counted through the extent
 * @release: on vmc_container.release once unmapped, until the IOTLB sync
 *           lets its pins go; on vmc_container.xlate_release or
 *           vmc_vm.xlate_doomed while its cached translation goes; on
 *           vmc_container.dead once DEAD
 */
struct vmc_dma {
	struct rb_node node;
	struct rb_node vnode;
	unsigned long vsub_last;
	struct vmc_container *c;
	u64 iova;
	u64 size;
	unsigned long vaddr;
	int prot;
	u8 state;
	u32 pins_bytes;
	struct mm_struct *mm;
	struct vmc_pin **pins;
	unsigned long nr_pins;
	unsigned long nr_rsvd;
	struct vmc_pin *pin1;
	struct vmc_ext *ext;
	struct list_head release;
};

/**
 * struct vmc_unpin - a physically contiguous run waiting for its unpin
 * @pfn: first page frame
 * @nr_pages: length
 * @dirty: the device could write it
 */
struct vmc_unpin {
	unsigned long pfn;
	unsigned long nr_pages;
	bool dirty;
};

/**
 * struct vmc_container - the iommu_data of one VFIO container
 * @lock: protects every field below but @dead; held across
 *        MAP/UNMAP, attach/detach
 * @domains: the container's vmc_domains; the first one answers
 *           iova-to-phys lookups at unmap time
 * @dma_root: the vmc_dmas, keyed by IOVA, never overlapping: live ones,
 *            cached translations (lazy mode) and dead ones; only this
 *            container links and erases them
 * @hint: mappings of @dma_root by their first IOVA page, direct-mapped (the
 *        low bits of the page number), for O(1) lookups of exact requests:
 *        a slot is the last mapping linked there, cleared when it is erased
 * @iova_ranges: usable IOVA space: the apertures minus reserved regions
 * @nr_iova_ranges: entries in @iova_ranges
 * @pgsize_bitmap: page sizes every domain supports
 * @dma_avail: entries of @dma_root still allowed (dma_entry_limit at open)
 * @nr_idle_dmas: entries of @dma_root that are not live (cached or dead):
 *                they count against dma_entry_limit, as they hold IOMMU
 *                page tables, and a map at the limit reclaims them first
 * @unpins: runs unmapped under the current IOTLB gather, unpinned after it
 *          is synced; preallocated so that teardown needs no memory
 * @nr_unpins: entries used in @unpins
 * @gather: the current IOTLB gather of the first domain (vmc_gather_init())
 * @gather_dirty: @gather holds unmaps that still need a sync
 * @release: unmapped vmc_dmas whose pins go back to the cache after the sync
 * @xlate_release: cached translations torn down under @gather, whose pins
 *                 are released after the sync
 * @ext_pending: extents unmapped under @gather whose pages stay pinned:
 *               cached after the sync (vmc_ext_cache_pending())
 * @dead: DEAD vmc_dmas still in @dma_root, for vmc_xc_reap(); protected by
 *        vmc_vm.lock, not by @lock (tested without it, as a hint)
 * @vm: the VM of the process that set the container up, or NULL
 * @stats: counters
 * @id: number shown in debugfs
 * @pid: thread group of the process that set the container up
 * @debugfs: this container's debugfs directory
 */
struct vmc_container {
	struct mutex lock;	/* protects every field below but dead */
	struct list_head domains;
	struct rb_root dma_root;
	struct vmc_dma *hint[VMC_DMA_HINTS];
	struct vmc_iova_range *iova_ranges;
	unsigned int nr_iova_ranges;
	unsigned long pgsize_bitmap;
	unsigned int dma_avail;
	unsigned int nr_idle_dmas;
	struct vmc_unpin unpins[VMC_UNPIN_BATCH];
	unsigned int nr_unpins;
	struct iommu_iotlb_gather gather;
	bool gather_dirty;
	struct list_head release;
	struct list_head xlate_release;
	struct list_head ext_pending;
	struct list_head dead;
	struct vmc_vm *vm;
	struct vmc_stats stats;
	unsigned int id;
	pid_t pid;
	struct dentry *debugfs;
};

/* main.c: module parameters */
extern bool vmc_claim_type1v2;
extern bool vmc_allow_unsafe_interrupts;
extern unsigned int vmc_dma_entry_limit;
extern unsigned long vmc_default_quota_bytes;
extern int vmc_default_policy;
extern int vmc_default_mode;
extern bool vmc_shrinker_enabled;
extern bool vmc_default_prefetch;
extern unsigned int vmc_default_idle_ms;
extern unsigned int vmc_default_prefetch_depth;

/* vm.c: VMs, their sysfs directories and mmu notifiers */
extern const char * const vmc_mode_names[VMC_MODE_NR];
int vmc_vm_init(void);
void vmc_vm_exit(void);
struct vmc_vm *vmc_vm_get(void);
void vmc_vm_put(struct vmc_vm *vm);
void vmc_vm_unaccount_pending(struct vmc_vm *vm);

/* Take pages off locked_vm that were unpinned where that was not allowed. */
static inline void vmc_vm_unaccount_flush(struct vmc_vm *vm)
{
	/* Mostly nothing is owed: a plain read, no atomic exchange. */
	if (atomic_long_read(&vm->unaccount))
		vmc_vm_unaccount_pending(vm);
}

int vmc_vm_shrinker_init(void);
void vmc_vm_shrinker_exit(void);

/* pincache.c: the pin cache of a VM */
int vmc_pc_module_init(void);
void vmc_pc_module_exit(void);
int vmc_pc_get(struct vmc_vm *vm, unsigned long vaddr, unsigned long nr_pages,
	       bool write, struct vmc_pin **pins, bool room_coming);
void vmc_pc_put(struct vmc_vm *vm, struct vmc_pin **pins, unsigned long nr_pages);
long vmc_pc_shrink(struct vmc_vm *vm, unsigned long nr_pages);
int vmc_pc_set_quota(struct vmc_vm *vm, u64 quota_pages);
int vmc_pc_set_policy(struct vmc_vm *vm, enum vmc_policy_kind kind);
void vmc_pc_set_mode(struct vmc_vm *vm, enum vmc_mode mode);
int vmc_pc_init(struct vmc_vm *vm);
void vmc_pc_set_idle(struct vmc_vm *vm, unsigned long window);
void vmc_pc_release_all(struct vmc_vm *vm);
void vmc_pc_destroy(struct vmc_vm *vm);
void vmc_pc_idle_arm(struct vmc_vm *vm);
void vmc_pc_gups_raced(struct vmc_vm *vm, unsigned long start, unsigned long end);
void vmc_pc_invalidate(struct vmc_vm *vm, unsigned long start, unsigned long end);
void vmc_pc_write_protect(struct vmc_vm *vm, unsigned long start, unsigned long end);
void vmc_pc_xlate_get(struct vmc_vm *vm, struct vmc_pin **pins, unsigned long nr_pages);
void vmc_pc_xlate_reuse(struct vmc_vm *vm, struct vmc_pin **pins, unsigned long nr_pages);
void vmc_pc_xlate_put(struct vmc_vm *vm, struct vmc_pin *pin);
/* pincache.c, for pcprefetch.c */
struct vmc_pin *vmc_pin_alloc(struct vmc_vm *vm);
void vmc_pin_free(struct vmc_vm *vm, struct vmc_pin *pin);
size_t vmc_pin_obj_size(void);
unsigned long vmc_pc_xa_nodes(struct vmc_vm *vm);
size_t vmc_pc_policy_bytes(struct vmc_vm *vm);
u64 vmc_pc_candidates(struct vmc_vm *vm);
int vmc_pc_charge(struct vmc_vm *vm, long nr_pages);
int vmc_pc_charge_misses(struct vmc_vm *vm, long nr_pages);

/* ext.c: large maps as one object */
bool vmc_ext_covers(struct vmc_vm *vm, unsigned long vpn);
int vmc_ext_begin(struct vmc_vm *vm, unsigned long vaddr, u64 size, struct vmc_ext **out);
bool vmc_ext_end(struct vmc_container *c, struct vmc_ext *ext);
void vmc_ext_free(struct vmc_vm *vm, struct vmc_ext *ext);
int vmc_ext_record(struct vmc_ext *ext, phys_addr_t phys, size_t size);
void vmc_ext_count_moved(struct vmc_container *c, long nr);
void vmc_ext_cache_pending(struct vmc_container *c);
struct vmc_ext *vmc_ext_reuse(struct vmc_vm *vm, unsigned long vaddr, u64 size, bool write);
void vmc_ext_runs_free(struct vmc_ext *ext);
u64 vmc_ext_uncache(struct vmc_vm *vm, unsigned long first, unsigned long last);
u64 vmc_ext_evict(struct vmc_vm *vm, u64 nr_pages);
void vmc_ext_release_idle(struct vmc_vm *vm);
bool vmc_ext_cached_at(struct vmc_vm *vm, unsigned long vpn);
void vmc_ext_flush_unpins(void);
size_t vmc_ext_obj_size(void);

/* pcprefetch.c: prefetching into the pin cache along the access graph */
int vmc_pf_init(struct vmc_vm *vm);
void vmc_pf_destroy(struct vmc_vm *vm);
int vmc_pf_set(struct vmc_vm *vm, bool on);
void vmc_pf_set_depth(struct vmc_vm *vm, unsigned int depth);
void vmc_pf_forget(struct vmc_vm *vm);
int vmc_pf_resize(struct vmc_vm *vm);
void vmc_pf_map(struct vmc_vm *vm, unsigned long vaddr, unsigned long nr_pages,
		bool write, const unsigned long *missed);

/**
 * vmc_pf_record() - a guest map of @vpn that did not go through vmc_pf_map()
 * @vm: the VM (lock held)
 * @vpn: the VMM's virtual page number
 *
 * For the full hits of lazy mode, which take cached translations back.
 */
static inline void vmc_pf_record(struct vmc_vm *vm, unsigned long vpn)
{
	lockdep_assert_held(&vm->lock);
	if (vm->ag)
		vmc_ag_record(vm->ag, vpn);
}

void vmc_pf_done(struct vmc_vm *vm, struct vmc_pin *pin, bool useful);
size_t vmc_pf_bytes(struct vmc_vm *vm);

/* container.c */
void *vmc_open(unsigned long arg);
void vmc_release(void *iommu_data);
int vmc_attach_group(void *iommu_data, struct iommu_group *group,
		     enum vfio_group_type type);
void vmc_detach_group(void *iommu_data, struct iommu_group *group);
bool vmc_enforce_cc(struct vmc_container *c);

/* Is [iova, last] inside one usable IOVA range of @c? */
static inline bool vmc_iova_valid(struct vmc_container *c, u64 iova, u64 last)
{
	unsigned int i;

	lockdep_assert_held(&c->lock);
	for (i = 0; i < c->nr_iova_ranges; i++)
		if (c->iova_ranges[i].iova <= iova && last <= c->iova_ranges[i].last)
			return true;
	return false;
}

/* dma.c */
int vmc_dma_module_init(void);
void vmc_dma_module_exit(void);
size_t vmc_dma_obj_size(void);
struct vmc_dma *vmc_dma_find_tree(struct vmc_container *c, u64 iova, u64 last);

static inline unsigned int vmc_dma_hint(u64 iova)
{
	return (iova >> PAGE_SHIFT) & (VMC_DMA_HINTS - 1);
}

/**
 * vmc_dma_find() - the lowest mapping of @c that overlaps [iova, last]
 * @c: the container (lock held)
 * @iova: first IOVA
 * @last: last IOVA
 *
 * Return: a live, cached or dead vmc_dma, or NULL.
 */
static inline struct vmc_dma *vmc_dma_find(struct vmc_container *c, u64 iova, u64 last)
{
	struct vmc_dma *dma = c->hint[vmc_dma_hint(iova)];

	/* Mappings never overlap: none below one that starts at @iova reaches it. */
	if (dma && dma->iova == iova)
		return dma;
	return vmc_dma_find_tree(c, iova, last);
}

struct vmc_dma *vmc_dma_next(struct vmc_dma *dma, u64 last);
struct vmc_dma *vmc_dma_find_live(struct vmc_container *c, u64 iova, u64 last);
void vmc_dma_erase(struct vmc_container *c, struct vmc_dma *dma);
int vmc_iommu_map(struct iommu_domain *dom, u64 iova, phys_addr_t phys,
		  size_t size, int prot);
void vmc_dma_free(struct vmc_dma *dma);
void vmc_gather_init(struct iommu_iotlb_gather *gather);
size_t vmc_unmap_gathered(struct iommu_domain *dom, u64 iova, size_t size,
			  struct iommu_iotlb_gather *gather);
void vmc_dma_unmap_iova(struct vmc_container *c, u64 iova, u64 size);
void vmc_dma_flush_pending(struct vmc_container *c);

/* Unmaps, replacements or failed maps wait for the container's flush? */
static inline bool vmc_dma_pending(struct vmc_container *c)
{
	return c->gather_dirty || !list_empty(&c->release) || !list_empty(&c->xlate_release) ||
	       !list_empty(&c->ext_pending);
}

/**
 * vmc_dma_flush() - end a request: sync the IOTLB gather, then release
 * @c: the container (lock held)
 *
 * Every request (a MAP_DMA, an UNMAP_DMA, a whole batch) ends with one
 * call, so a device never reaches a page once it returned; a full hit or
 * a cached unmap has nothing to flush.
 */
static inline void vmc_dma_flush(struct vmc_container *c)
{
	if (vmc_dma_pending(c) || c->nr_unpins)
		vmc_dma_flush_pending(c);
}

/* xlate.c: cached translations (lazy mode) */
static inline bool vmc_dma_live(const struct vmc_dma *dma)
{
	return READ_ONCE(dma->state) == VMC_DMA_LIVE;
}

/* Is @dma in its VM's tree by address?  See vmc_dma.vnode. */
static inline bool vmc_dma_in_vtree(const struct vmc_dma *dma)
{
	return !RB_EMPTY_NODE(&dma->vnode);
}

bool vmc_xc_hit(struct vmc_container *c, struct vmc_dma *dma, u64 iova,
		unsigned long vaddr, u64 size, int prot);
void vmc_xc_drop_iova(struct vmc_container *c, u64 iova, u64 last);
bool vmc_xc_cache(struct vmc_container *c, struct vmc_dma *dma);
void vmc_xc_forget(struct vmc_container *c, struct vmc_dma *dma);
void vmc_xc_reap(struct vmc_container *c);
void vmc_xc_drop_container(struct vmc_container *c);
void vmc_xc_drop_vaddr(struct vmc_vm *vm, unsigned long start, unsigned long last);
void vmc_xc_unlink_vaddr(struct vmc_vm *vm, unsigned long start, unsigned long last);
void vmc_xc_destroy_pending(struct vmc_vm *vm);
void vmc_xc_release_list(struct vmc_vm *vm, struct list_head *list);
int vmc_dma_map(struct vmc_container *c, struct vmc_dma *old, u64 iova,
		unsigned long vaddr, u64 size, int prot);
int vmc_dma_unmap(struct vmc_container *c, u64 iova, u64 last, bool all,
		  u64 *unmapped);
void vmc_dma_remove_all(struct vmc_container *c);
int vmc_dma_replay(struct vmc_container *c, struct vmc_domain *d);

/* ioctl.c */
long vmc_ioctl(void *iommu_data, unsigned int cmd, unsigned long arg);

/* debugfs.c */
void vmc_debugfs_init(void);
void vmc_debugfs_exit(void);
void vmc_debugfs_add(struct vmc_container *c);
void vmc_debugfs_remove(struct vmc_container *c);
void vmc_debugfs_add_vm(struct vmc_vm *vm);
void vmc_debugfs_remove_vm(struct vmc_vm *vm);

/* Counters: per container under its lock, per VM under its lock, and module-wide. */
#define VMC_NR_STATS	(sizeof(struct vmc_stats) / sizeof(u64))
extern atomic64_t vmc_totals[VMC_NR_STATS];

static inline void vmc_stat_add(struct vmc_container *c, size_t offset, u64 n)
{
	lockdep_assert_held(&c->lock);
	*(u64 *)((char *)&c->stats + offset) += n;
	atomic64_add(n, &vmc_totals[offset / sizeof(u64)]);
	/* A constant at every call site: the test folds away. */
	if (offset == offsetof(struct vmc_stats, pinned_pages) && c->vm)
		atomic_long_add(n, &c->vm->mem.own_pinned);
}

static inline void vmc_stat_sub(struct vmc_container *c, size_t offset, u64 n)
{
	lockdep_assert_held(&c->lock);
	*(u64 *)((char *)&c->stats + offset) -= n;
	atomic64_sub(n, &vmc_totals[offset / sizeof(u64)]);
	if (offset == offsetof(struct vmc_stats, pinned_pages) && c->vm)
		atomic_long_sub(n, &c->vm->mem.own_pinned);
}

/* Bytes that a kvmalloc()ed block of @size bytes at @p takes. */
static inline size_t vmc_kv_bytes(const void *p, size_t size)
{
	if (!p)
		return 0;
	return is_vmalloc_addr(p) ? PAGE_ALIGN(size) : kmalloc_size_roundup(size);
}

static inline void vmc_vm_count(struct vmc_vm *vm, size_t offset, u64 n)
{
	lockdep_assert_held(&vm->lock);
	*(u64 *)((char *)&vm->stats + offset) += n;
	atomic64_add(n, &vmc_totals[offset / sizeof(u64)]);
}

#define vmc_count(c, field, n) \
	vmc_stat_add(c, offsetof(struct vmc_stats, field), n)
#define vmc_uncount(c, field, n) \
	vmc_stat_sub(c, offsetof(struct vmc_stats, field), n)
#define vmc_vm_stat(vm, field, n) \
	vmc_vm_count(vm, offsetof(struct vmc_stats, field), n)
/* The module-wide counter alone (a VM's own counters stay as they are). */
#define vmc_total_stat(field, n) \
	atomic64_add(n, &vmc_totals[offsetof(struct vmc_stats, field) / sizeof(u64)])

#endif /* VMC_H */
