// SPDX-License-Identifier: GPL-2.0-only
/*
 * MAP_DMA and UNMAP_DMA workers: pin, map, unmap, flush, unpin.
 *
 * Pages are pinned with FOLL_LONGTERM in batches of one page of pointers and
 * charged to the VMM's locked_vm (RLIMIT_MEMLOCK unless CAP_IPC_LOCK);
 * physically contiguous runs are mapped with one iommu_map() each, so the
 * IOMMU driver can use its largest page sizes.  Unmapping gathers IOTLB
 * invalidations and unpins only after the gather is synced: a device never
 * reaches a page after it is unpinned.  The unpin queue is preallocated in
 * the container, so teardown never allocates and never fails.
 *
 * VM_PFNMAP memory (the BARs of assigned devices, which QEMU maps for
 * peer-to-peer DMA) has no struct page to pin: as type1 does, its frames
 * are looked up (faulted in if need be), mapped, never pinned nor charged,
 * and never cached: such a range always takes the uncached path.
 *
 * All functions here are called with vmc_container.lock held.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "compat.h"
#include "vmc.h"

/* Every vmc_dma of every container: one per guest mapping, made and freed often. */
static struct kmem_cache *vmc_dma_cache;

int vmc_dma_module_init(void)
{
	vmc_dma_cache = KMEM_CACHE(vmc_dma, 0);
	return vmc_dma_cache ? 0 : -ENOMEM;
}

void vmc_dma_module_exit(void)
{
	kmem_cache_destroy(vmc_dma_cache);
}

/* Bytes of one vmc_dma in its slab cache (alignment included). */
size_t vmc_dma_obj_size(void)
{
	return kmem_cache_size(vmc_dma_cache);
}

/* A vmc_dma of @c goes: off its VM's count (debugfs memory). */
static void vmc_dma_cache_free(struct vmc_dma *dma)
{
	if (dma->c->vm)
		atomic_long_dec(&dma->c->vm->mem.dmas);
	kmem_cache_free(vmc_dma_cache, dma);
}

/* Free @dma's array of pins, and take it off its VM's count. */
static void vmc_dma_pins_free(struct vmc_dma *dma)
{
	if (dma->c->vm)
		atomic_long_sub(dma->pins_bytes, &dma->c->vm->mem.dma_pin_bytes);
	dma->pins_bytes = 0;
	if (dma->pins != &dma->pin1)
		kvfree(dma->pins);
	dma->pins = NULL;
}

/* See vmc_dma_find(): the tree, when the hint does not answer. */
struct vmc_dma *vmc_dma_find_tree(struct vmc_container *c, u64 iova, u64 last)
{
	struct rb_node *n = c->dma_root.rb_node;
	struct vmc_dma *found = NULL;

	while (n) {
		struct vmc_dma *dma = rb_entry(n, struct vmc_dma, node);

		if (dma->iova + dma->size - 1 < iova) {
			n = n->rb_right;
		} else if (dma->iova > last) {
			n = n->rb_left;
		} else {
			found = dma;
			n = n->rb_left;
		}
	}
	return found;
}

/* The mapping after @dma if it starts at or below @last, else NULL. */
struct vmc_dma *vmc_dma_next(struct vmc_dma *dma, u64 last)
{
	struct rb_node *n = rb_next(&dma->node);

	dma = rb_entry_safe(n, struct vmc_dma, node);
	return dma && dma->iova <= last ? dma : NULL;
}

/* The lowest live mapping of @c that overlaps [iova, last], or NULL. */
struct vmc_dma *vmc_dma_find_live(struct vmc_container *c, u64 iova, u64 last)
{
	struct vmc_dma *dma = vmc_dma_find(c, iova, last);

	while (dma && !vmc_dma_live(dma))
		dma = vmc_dma_next(dma, last);
	return dma;
}

static void vmc_dma_link(struct vmc_container *c, struct vmc_dma *new)
{
	struct rb_node **link = &c->dma_root.rb_node, *parent = NULL;

	while (*link) {
		parent = *link;
		if (new->iova < rb_entry(parent, struct vmc_dma, node)->iova)
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	rb_link_node(&new->node, parent, link);
	rb_insert_color(&new->node, &c->dma_root);
	c->hint[vmc_dma_hint(new->iova)] = new;
}

/* Take @dma out of the container's tree (and out of the hints). */
void vmc_dma_erase(struct vmc_container *c, struct vmc_dma *dma)
{
	unsigned int h = vmc_dma_hint(dma->iova);

	rb_erase(&dma->node, &c->dma_root);
	if (c->hint[h] == dma)
		c->hint[h] = NULL;
}

static struct vmc_domain *vmc_first_domain(struct vmc_container *c)
{
	return list_first_entry_or_null(&c->domains, struct vmc_domain, node);
}

/**
 * vmc_gather_init() - start an IOTLB gather whose range we keep ourselves
 * @gather: the gather
 *
 * IOMMU drivers add each unmapped range to a gather themselves, and sync it
 * at once when the new range is disjoint from the gathered one (Intel,
 * AMD): scattered unmaps would then flush once each.  A gather marked
 * queued is left alone by the drivers, and vmc_unmap_gathered() grows its
 * range instead, so one sync covers every unmap since the gather started.
 */
void vmc_gather_init(struct iommu_iotlb_gather *gather)
{
	iommu_iotlb_gather_init(gather);
	gather->queued = true;
}

/**
 * vmc_unmap_gathered() - unmap from @dom, invalidation left to a later sync
 * @dom: the domain
 * @iova: first IOVA
 * @size: bytes
 * @gather: a gather started by vmc_gather_init()
 *
 * Return: bytes unmapped.
 */
size_t vmc_unmap_gathered(struct iommu_domain *dom, u64 iova, size_t size,
			  struct iommu_iotlb_gather *gather)
{
	size_t unmapped = iommu_unmap_fast(dom, iova, size, gather);

	if (unmapped) {
		iommu_iotlb_gather_add_range(gather, iova, unmapped);
		/* A page-size hint for drivers that skip a sync without one. */
		if (!gather->pgsize)
			gather->pgsize = PAGE_SIZE;
	}
	return unmapped;
}

static void vmc_unaccount(struct mm_struct *mm, unsigned long nr_pages)
{
	/* An mm without users is gone with its locked_vm. */
	if (!nr_pages || !mmget_not_zero(mm))
		return;
	account_locked_vm(mm, nr_pages, false);
	mmput(mm);
}

/* Uncharge pages @dma pinned itself; an extent's charge goes with the extent. */
static void vmc_dma_unaccount(struct vmc_dma *dma, unsigned long nr_pages)
{
	if (!dma->ext)
		vmc_unaccount(dma->mm, nr_pages);
}

static void vmc_unpin_pages(struct vmc_container *c, struct page **pages,
			    unsigned long nr_pages)
{
	unpin_user_pages(pages, nr_pages);
	vmc_count(c, unpins, nr_pages);
	vmc_uncount(c, pinned_pages, nr_pages);
}

void vmc_dma_free(struct vmc_dma *dma)
{
	if (dma->pins)
		vmc_dma_pins_free(dma);
	vmc_dma_cache_free(dma);
}

/* Unmapped cached mappings give their live references back to the VM's cache. */
static void vmc_release_cached(struct vmc_container *c)
{
	struct vmc_dma *dma, *tmp;

	list_for_each_entry_safe(dma, tmp, &c->release, release) {
		vmc_pc_put(c->vm, dma->pins, dma->nr_pins);
		list_del(&dma->release);
		vmc_dma_free(dma);
	}
	vmc_vm_unaccount_flush(c->vm);
}

/**
 * vmc_dma_flush_pending() - sync the container's IOTLB gather, then release
 * @c: the container (lock held)
 *
 * What the gather covered goes after the sync, never before: cached
 * translations that were torn down give their pins back, unmapped cached
 * mappings give their live references back, and the pages of mode off are
 * unpinned.  See vmc_dma_flush().
 */
void vmc_dma_flush_pending(struct vmc_container *c)
{
	struct vmc_domain *first = vmc_first_domain(c);
	unsigned int i;

	if (c->gather_dirty) {
		iommu_iotlb_sync(first->domain, &c->gather);
		vmc_count(c, iotlb_flushes, 1);
		c->gather_dirty = false;
		vmc_gather_init(&c->gather);
	}
	if (!list_empty(&c->xlate_release))
		vmc_xc_release_list(c->vm, &c->xlate_release);
	if (!list_empty(&c->release))
		vmc_release_cached(c);
	if (!list_empty(&c->ext_pending))
		vmc_ext_cache_pending(c);
	if (!c->nr_unpins)
		return;
	for (i = 0; i < c->nr_unpins; i++) {
		struct vmc_unpin *u = &c->unpins[i];

		unpin_user_page_range_dirty_lock(pfn_to_page(u->pfn), u->nr_pages, u->dirty);
		vmc_count(c, unpins, u->nr_pages);
		vmc_uncount(c, pinned_pages, u->nr_pages);
	}
	c->nr_unpins = 0;
}

static void vmc_unpin_queue(struct vmc_container *c, phys_addr_t phys, size_t size,
			    bool dirty)
{
	struct vmc_unpin *u = &c->unpins[c->nr_unpins++];

	u->pfn = PHYS_PFN(phys);
	u->nr_pages = size >> PAGE_SHIFT;
	u->dirty = dirty;
	if (c->nr_unpins == VMC_UNPIN_BATCH)
		vmc_dma_flush_pending(c);
}

/* Frames without a struct page to pin: device memory, as type1 tells them. */
static bool vmc_pfn_reserved(unsigned long pfn)
{
	return !pfn_valid(pfn) || PageReserved(pfn_to_page(pfn));
}

/*
 * Bytes from @iova on that map to physically contiguous memory; with
 * @by_rsvd, also all reserved frames or none.
 */
static size_t vmc_contig_len(struct iommu_domain *dom, u64 iova, phys_addr_t phys,
			     u64 max, bool by_rsvd)
{
	bool rsvd = by_rsvd && vmc_pfn_reserved(PHYS_PFN(phys));
	size_t len = PAGE_SIZE;

	while (len < max && iommu_iova_to_phys(dom, iova + len) == phys + len &&
	       (!by_rsvd || vmc_pfn_reserved(PHYS_PFN(phys + len)) == rsvd))
		len += PAGE_SIZE;
	return len;
}

/* Queue the runs @ext recorded for unpinning, and forget them. */
static void vmc_ext_runs_unpin(struct vmc_container *c, struct vmc_ext *ext, bool dirty)
{
	struct vmc_ext_chunk *ch;
	unsigned long i;

	list_for_each_entry(ch, &ext->chunks, node)
		for (i = 0; i < ch->nr; i++)
			vmc_unpin_queue(c, PFN_PHYS(ch->runs[i].pfn),
					ch->runs[i].nr << PAGE_SHIFT, dirty);
	vmc_ext_runs_free(ext);
}

/*
 * A run of @dma's pages just unmapped: recorded if @dma is an extent that
 * may be cached (@keep), else queued for unpinning.  With no memory for
 * the record, what it holds is queued too, and @keep ends.
 */
static void vmc_dma_unpin_run(struct vmc_container *c, struct vmc_dma *dma, phys_addr_t phys,
			      size_t size, bool *keep)
{
	bool dirty = dma->prot & IOMMU_WRITE;

	if (*keep && !vmc_ext_record(dma->ext, phys, size))
		return;
	if (*keep) {
		vmc_ext_runs_unpin(c, dma->ext, dirty);
		*keep = false;
	}
	vmc_unpin_queue(c, phys, size, dirty);
}

/*
 * Unmap the first @size bytes of @dma from every domain and queue their
 * pages for unpinning, or, with @keep, record them in its extent.  The
 * first domain tells which pages they are.
 */
static void vmc_dma_unmap_pages(struct vmc_container *c, struct vmc_dma *dma, u64 size,
				bool keep)
{
	struct vmc_domain *first = vmc_first_domain(c), *d;
	u64 off = 0;

	if (!size || WARN_ON_ONCE(!first))
		return;
	d = first;
	list_for_each_entry_continue(d, &c->domains, node) {
		iommu_unmap(d->domain, dma->iova, size);
		vmc_count(c, iommu_unmaps, 1);
		vmc_count(c, iotlb_flushes, 1);
	}
	while (off < size) {
		phys_addr_t phys = iommu_iova_to_phys(first->domain, dma->iova + off);
		size_t len, unmapped;

		if (WARN_ON_ONCE(!phys)) {
			off += PAGE_SIZE;
			continue;
		}
		len = vmc_contig_len(first->domain, dma->iova + off, phys, size - off,
				     dma->nr_rsvd);
		unmapped = vmc_unmap_gathered(first->domain, dma->iova + off, len, &c->gather);
		vmc_count(c, iommu_unmaps, 1);
		c->gather_dirty = true;
		if (WARN_ON_ONCE(!unmapped))
			break;
		/* Device memory was never pinned. */
		if (!dma->nr_rsvd || !vmc_pfn_reserved(PHYS_PFN(phys)))
			vmc_dma_unpin_run(c, dma, phys, unmapped, &keep);
		off += unmapped;
	}
}

/**
 * vmc_dma_unmap_iova() - unmap a range the pin cache holds, sync deferred
 * @c: the container (lock held)
 * @iova: first IOVA
 * @size: bytes
 *
 * The first domain's invalidation joins the container's gather, for
 * vmc_dma_flush(); other domains (rare: groups that cannot share one)
 * unmap synchronously.
 */
void vmc_dma_unmap_iova(struct vmc_container *c, u64 iova, u64 size)
{
	struct vmc_domain *first = vmc_first_domain(c), *d;

	if (!size || !first)
		return;
	d = first;
	list_for_each_entry_continue(d, &c->domains, node) {
		iommu_unmap(d->domain, iova, size);
		vmc_count(c, iommu_unmaps, 1);
		vmc_count(c, iotlb_flushes, 1);
	}
	vmc_unmap_gathered(first->domain, iova, size, &c->gather);
	vmc_count(c, iommu_unmaps, 1);
	c->gather_dirty = true;
}

/*
 * May the pages of @dma, which goes, stay pinned as a cached extent?  If
 * it is an extent of all its pages, none of them device memory, and the
 * VM keeps what is unmapped, all of which fits in its quota.
 */
static bool vmc_dma_ext_keep(struct vmc_container *c, struct vmc_dma *dma)
{
	u64 quota;

	if (!dma->ext || dma->nr_rsvd || dma->size != (u64)dma->ext->nr_pages << PAGE_SHIFT ||
	    READ_ONCE(c->vm->mode) == VMC_MODE_OFF)
		return false;
	quota = READ_ONCE(c->vm->cache.quota_pages);
	return !quota || dma->ext->nr_pages <= quota;
}

/* Unlink the live @dma and release what it mapped; the caller flushes. */
static void vmc_dma_remove(struct vmc_container *c, struct vmc_dma *dma, bool lazy)
{
	/*
	 * Lazy: the translation stays, cached, and keeps its mm grab; it is
	 * still an entry of the container, counted until it is freed.
	 */
	if (dma->pins && lazy && dma->size == (u64)dma->nr_pins << PAGE_SHIFT &&
	    vmc_xc_cache(c, dma)) {
		c->nr_idle_dmas++;
		return;
	}
	c->dma_avail++;
	vmc_dma_erase(c, dma);
	if (dma->pins) {
		vmc_xc_forget(c, dma);
		mmdrop(dma->mm);
		/* Its pins wait for the IOTLB sync. */
		vmc_dma_unmap_iova(c, dma->iova, dma->size);
		list_add_tail(&dma->release, &c->release);
		return;
	}
	vmc_dma_unmap_pages(c, dma, dma->size, vmc_dma_ext_keep(c, dma));
	if (dma->ext && !vmc_ext_end(c, dma->ext)) {
		vmc_ext_runs_unpin(c, dma->ext, dma->prot & IOMMU_WRITE);
		vmc_ext_free(c->vm, dma->ext);
	}
	/* The mm may be another process's, gone but for our grab: drop it last. */
	vmc_dma_unaccount(dma, (dma->size >> PAGE_SHIFT) - dma->nr_rsvd);
	mmdrop(dma->mm);
	vmc_dma_cache_free(dma);
}

/* Every live mapping goes; cached ones are left to vmc_xc_drop_container(). */
void vmc_dma_remove_all(struct vmc_container *c)
{
	struct vmc_dma *dma = vmc_dma_find_live(c, 0, U64_MAX), *next;

	for (; dma; dma = next) {
		next = vmc_dma_next(dma, U64_MAX);
		if (vmc_dma_live(dma))
			vmc_dma_remove(c, dma, false);
		cond_resched();
	}
	vmc_dma_flush(c);
}

/* The live mapping that holds @iova, or NULL. */
static struct vmc_dma *vmc_dma_live_at(struct vmc_container *c, u64 iova)
{
	struct vmc_dma *dma = vmc_dma_find(c, iova, iova);

	return dma && vmc_dma_live(dma) ? dma : NULL;
}

int vmc_dma_unmap(struct vmc_container *c, u64 iova, u64 last, bool all,
		  u64 *unmapped)
{
	bool lazy = c->vm && READ_ONCE(c->vm->mode) == VMC_MODE_LAZY;
	struct vmc_dma *dma, *next;
	u64 done = 0;

	/* Type1v2 never splits a mapping. */
	if (!all) {
		dma = vmc_dma_live_at(c, iova);
		if (dma && dma->iova != iova)
			return -EINVAL;
		/* The common case: exactly one mapping, nothing else to look for. */
		if (dma && dma->iova + dma->size - 1 == last) {
			*unmapped = dma->size;
			vmc_dma_remove(c, dma, lazy);
			return 0;
		}
		dma = vmc_dma_live_at(c, last);
		if (dma && dma->iova + dma->size - 1 != last)
			return -EINVAL;
	}
	for (dma = vmc_dma_find_live(c, iova, last); dma; dma = next) {
		next = vmc_dma_next(dma, last);
		if (!vmc_dma_live(dma))
			continue;
		/*
		 * Whoever holds the container may unmap any mapping, as with
		 * type1 (6.1 and 6.12 alike): its pins go back to the mm that
		 * made it, or to the VM's cache.
		 */
		done += dma->size;
		vmc_dma_remove(c, dma, lazy);
	}
	/* The caller flushes, once for its whole request. */
	*unmapped = done;
	return 0;
}

int vmc_iommu_map(struct iommu_domain *dom, u64 iova, phys_addr_t phys,
		  size_t size, int prot)
{
	return vmc_compat_iommu_map(dom, iova, phys, size, prot | IOMMU_CACHE);
}

/* Map [iova, iova + size) to @phys in every domain, or in none. */
static int vmc_map_run(struct vmc_container *c, u64 iova, phys_addr_t phys,
		       size_t size, int prot)
{
	struct vmc_domain *d;
	int ret;

	list_for_each_entry(d, &c->domains, node) {
		ret = vmc_iommu_map(d->domain, iova, phys, size, prot);
		vmc_count(c, iommu_maps, 1);
		if (ret)
			goto err_unmap;
	}
	return 0;

err_unmap:
	list_for_each_entry_continue_reverse(d, &c->domains, node) {
		iommu_unmap(d->domain, iova, size);
		vmc_count(c, iommu_unmaps, 1);
		vmc_count(c, iotlb_flushes, 1);
	}
	return ret;
}

static long vmc_pin(struct mm_struct *mm, unsigned long vaddr, unsigned long nr_pages,
		    int prot, struct page **pages)
{
	unsigned int flags = FOLL_LONGTERM | (prot & IOMMU_WRITE ? FOLL_WRITE : 0);
	long pinned;

	mmap_read_lock(mm);
	pinned = vmc_compat_pin_remote(mm, vaddr, nr_pages, flags, pages);
	mmap_read_unlock(mm);
	/* VM_PFNMAP / VM_IO (device BARs) end up here as -EFAULT. */
	return pinned ?: -EFAULT;
}

/*
 * The frame of VM_PFNMAP memory at @vaddr, faulted in if need be (mmap_lock
 * held; a fault may drop and take it again).  -ENOENT if @vaddr is not in
 * such a mapping; -EFAULT if it maps memory that has struct pages, or for
 * a @write to a read-only mapping, as type1 answers.
 */
static int vmc_pfnmap_pfn(struct mm_struct *mm, unsigned long vaddr, bool write,
			  unsigned long *pfn)
{
	struct vm_area_struct *vma;
	bool unlocked, writable;
	int ret;

again:
	vma = vma_lookup(mm, vaddr);
	if (!vma || !(vma->vm_flags & VM_PFNMAP))
		return -ENOENT;
	ret = vmc_compat_follow_pfn(vma, vaddr, pfn, &writable);
	if (ret) {
		unlocked = false;
		ret = fixup_user_fault(mm, vaddr,
				       FAULT_FLAG_REMOTE | (write ? FAULT_FLAG_WRITE : 0),
				       &unlocked);
		/* The VMA may have changed while the lock was dropped. */
		if (unlocked)
			goto again;
		if (ret)
			return ret;
		ret = vmc_compat_follow_pfn(vma, vaddr, pfn, &writable);
		if (ret)
			return ret;
	}
	if (write && !writable)
		return -EFAULT;
	return vmc_pfn_reserved(*pfn) ? 0 : -EFAULT;
}

/*
 * Map the run of VM_PFNMAP frames at @dma + *@mapped that follow one
 * another, up to @nr_pages: never pinned nor charged.  -ENOENT if that
 * address is not VM_PFNMAP memory.
 */
static int vmc_map_pfnmap(struct vmc_container *c, struct vmc_dma *dma,
			  unsigned long nr_pages, u64 *mapped)
{
	unsigned long vaddr = dma->vaddr + *mapped, first, pfn, n = 1;
	bool write = dma->prot & IOMMU_WRITE;
	int ret;

	mmap_read_lock(dma->mm);
	ret = vmc_pfnmap_pfn(dma->mm, vaddr, write, &first);
	/* A page that does not follow is the next run's (or its error). */
	while (!ret && n < nr_pages &&
	       !vmc_pfnmap_pfn(dma->mm, vaddr + (n << PAGE_SHIFT), write, &pfn) &&
	       pfn == first + n)
		n++;
	mmap_read_unlock(dma->mm);
	if (ret)
		return ret;
	ret = vmc_map_run(c, dma->iova + *mapped, PFN_PHYS(first), n << PAGE_SHIFT, dma->prot);
	if (ret)
		return ret;
	dma->nr_rsvd += n;
	*mapped += n << PAGE_SHIFT;
	return 0;
}

/*
 * Pinned pages that follow one another physically and are not mapped yet.
 * A run grows across batches of pins, so that memory contiguous beyond a
 * batch (a 1 GiB huge page) goes to the IOMMU in one call, which makes it
 * the largest superpages the IOVA allows, as type1 does.
 */
struct vmc_run {
	unsigned long pfn;
	unsigned long nr;
};

/* Unpin and uncharge the pages of @run, which are not mapped. */
static void vmc_run_drop(struct vmc_container *c, struct vmc_dma *dma, struct vmc_run *run)
{
	unsigned long k;

	for (k = 0; k < run->nr; k++)
		unpin_user_page(pfn_to_page(run->pfn + k));
	vmc_count(c, unpins, run->nr);
	vmc_uncount(c, pinned_pages, run->nr);
	vmc_dma_unaccount(dma, run->nr);
	run->nr = 0;
}

/* Map @run at @dma + *@mapped, which grows by it; on failure drop it. */
static int vmc_run_map(struct vmc_container *c, struct vmc_dma *dma, struct vmc_run *run,
		       u64 *mapped)
{
	int ret;

	if (!run->nr)
		return 0;
	ret = vmc_map_run(c, dma->iova + *mapped, PFN_PHYS(run->pfn), run->nr << PAGE_SHIFT,
			  dma->prot);
	if (ret) {
		vmc_run_drop(c, dma, run);
		return ret;
	}
	*mapped += run->nr << PAGE_SHIFT;
	run->nr = 0;
	return 0;
}

/*
 * Pin up to @nr_pages pages at @dma + *@mapped + @run and map the runs
 * they complete; the last run stays in @run for the next batch to grow.
 * *@mapped grows by what got mapped; on failure the pages pinned but not
 * mapped, @run's included, are released here.
 */
static int vmc_pin_map_batch(struct vmc_container *c, struct vmc_dma *dma,
			     unsigned long nr_pages, struct page **pages, u64 *mapped,
			     struct vmc_run *run)
{
	u64 at = *mapped + (run->nr << PAGE_SHIFT);
	long pinned, i;
	int ret;

	pinned = vmc_pin(dma->mm, dma->vaddr + at, nr_pages, dma->prot, pages);
	if (pinned < 0) {
		/* GUP refuses device memory: a BAR mapped for peer-to-peer DMA? */
		ret = vmc_run_map(c, dma, run, mapped);
		if (!ret)
			ret = vmc_map_pfnmap(c, dma, nr_pages, mapped);
		return ret == -ENOENT ? pinned : ret;
	}
	vmc_count(c, pins, pinned);
	vmc_count(c, pinned_pages, pinned);
	/* An extent charged all its pages before it pinned. */
	ret = dma->ext ? 0 : account_locked_vm(dma->mm, pinned, true);
	if (ret) {
		pr_warn_ratelimited("%s (%d): RLIMIT_MEMLOCK (%lu) exceeded\n", current->comm,
				    task_pid_nr(current), rlimit(RLIMIT_MEMLOCK));
		vmc_unpin_pages(c, pages, pinned);
		vmc_run_drop(c, dma, run);
		return ret;
	}
	for (i = 0; i < pinned; i++) {
		unsigned long pfn = page_to_pfn(pages[i]);

		if (run->nr && pfn == run->pfn + run->nr) {
			run->nr++;
			continue;
		}
		ret = vmc_run_map(c, dma, run, mapped);
		if (ret) {
			vmc_unpin_pages(c, pages + i, pinned - i);
			vmc_dma_unaccount(dma, pinned - i);
			return ret;
		}
		run->pfn = pfn;
		run->nr = 1;
	}
	return 0;
}

static int vmc_dma_pin_map(struct vmc_container *c, struct vmc_dma *dma, u64 size)
{
	struct vmc_run run = { };
	struct page **pages;
	u64 mapped = 0;
	int ret = 0;

	pages = (struct page **)__get_free_page(GFP_KERNEL);
	if (!pages) {
		/* Nothing mapped nor charged: nothing for the caller to undo. */
		dma->size = 0;
		return -ENOMEM;
	}
	while (mapped + (run.nr << PAGE_SHIFT) < size) {
		u64 done = mapped + (run.nr << PAGE_SHIFT);
		unsigned long nr = min_t(u64, VMC_PIN_BATCH, (size - done) >> PAGE_SHIFT);

		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		ret = vmc_pin_map_batch(c, dma, nr, pages, &mapped, &run);
		if (ret)
			break;
		cond_resched();
	}
	if (!ret)
		ret = vmc_run_map(c, dma, &run, &mapped);
	else
		vmc_run_drop(c, dma, &run);
	free_page((unsigned long)pages);
	/* On failure the caller undoes the prefix that made it. */
	if (ret)
		dma->size = mapped;
	return ret;
}

/* Map the pinned pages of a cached mapping, in physically contiguous runs. */
static int vmc_dma_map_pins(struct vmc_container *c, struct vmc_dma *dma)
{
	unsigned long i = 0, j, pfn;
	u64 mapped = 0;
	int ret = 0;

	while (i < dma->nr_pins) {
		pfn = page_to_pfn(dma->pins[i]->page);
		for (j = i + 1; j < dma->nr_pins &&
		     page_to_pfn(dma->pins[j]->page) == pfn + j - i; j++)
			;
		ret = vmc_map_run(c, dma->iova + mapped, PFN_PHYS(pfn), (j - i) << PAGE_SHIFT,
				  dma->prot);
		if (ret)
			break;
		mapped += (j - i) << PAGE_SHIFT;
		i = j;
	}
	/* On failure the caller unmaps the prefix that made it. */
	if (ret)
		dma->size = mapped;
	return ret;
}

/*
 * Pages of a map above which its array of pins would pass kvmalloc()'s
 * INT_MAX (a map of 1 TiB or more): such a map takes type1's path.
 */
#define VMC_CACHE_MAX_PAGES	(INT_MAX / sizeof(struct vmc_pin *))

/* Should the VM's pin cache serve a map of @size bytes by the calling process? */
static bool vmc_dma_use_cache(struct vmc_container *c, u64 size)
{
	return c->vm && c->vm->mm == current->mm &&
	       READ_ONCE(c->vm->mode) != VMC_MODE_OFF &&
	       size >> PAGE_SHIFT <= VMC_CACHE_MAX_PAGES;
}

/*
 * Is all of [vaddr, vaddr + size) in VMAs of the caller?  A large map is
 * checked before it allocates or pins anything: type1 pins up to the hole
 * and fails with -EFAULT there, undoing it all.  Sets @hugetlb if every
 * one of those VMAs is hugetlbfs memory of pages no larger than the map.
 */
static bool vmc_vaddr_mapped(unsigned long vaddr, u64 size, bool *hugetlb)
{
	unsigned long addr = vaddr, last = vaddr + size - 1;
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	bool ok;

	*hugetlb = true;
	mmap_read_lock(mm);
	for (;;) {
		vma = find_vma(mm, addr);
		ok = vma && vma->vm_start <= addr;
		if (!ok)
			break;
		*hugetlb &= is_vm_hugetlb_page(vma) && vma_kernel_pagesize(vma) <= size;
		if (vma->vm_end - 1 >= last)
			break;
		addr = vma->vm_end;
	}
	mmap_read_unlock(mm);
	return ok;
}

/*
 * In modes strict and lazy, is the map an extent?  Those of 64 MiB or
 * more are (QEMU's RAM maps), and those of at least a huge page of
 * hugetlbfs memory: the cache would keep a pin, a slot and a policy node
 * for each 4 KiB of it (10 to 50 times type1's time), where an extent pins
 * and maps it a huge page at a time, and its cached re-map is a few IOMMU
 * calls.  In strict mode also those of 2 MiB or more: a pin hit walks
 * every 4 KiB page of its map (a 2 MiB hit took 3.8 times type1's map),
 * where a cached extent maps its recorded runs again.  Lazy mode's full
 * hits of smaller maps of 4 KiB pages (a translation kept, no page
 * walked) are worth keeping.
 */
static bool vmc_dma_is_ext(struct vmc_container *c, u64 size, bool hugetlb)
{
	return size >= VMC_EXT_MIN_BYTES || hugetlb ||
	       (READ_ONCE(c->vm->mode) == VMC_MODE_STRICT && size >= VMC_EXT_STRICT_MIN_BYTES);
}

static int vmc_dma_pin_map_cached(struct vmc_container *c, struct vmc_dma *dma)
{
	unsigned long nr = dma->size >> PAGE_SHIFT;
	int ret;

	/* Up to 2 GiB for a map just under 1 TiB: failing is not a splat. */
	dma->pins = nr == 1 ? &dma->pin1 :
		    kvcalloc(nr, sizeof(*dma->pins), GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!dma->pins) {
		dma->size = 0;
		return -ENOMEM;
	}
	/* At most INT_MAX: see VMC_CACHE_MAX_PAGES. */
	if (nr > 1)
		dma->pins_bytes = vmc_kv_bytes(dma->pins, nr * sizeof(*dma->pins));
	if (c->vm)
		atomic_long_add(dma->pins_bytes, &c->vm->mem.dma_pin_bytes);
	ret = vmc_pc_get(c->vm, dma->vaddr, nr, dma->prot & IOMMU_WRITE, dma->pins,
			 vmc_dma_pending(c));
	if (ret == -EAGAIN) {
		/*
		 * In a batch, pages unmapped by earlier entries stay live until
		 * the batch's flush, and the quota is full: flush now, so that
		 * they become candidates, and try again.
		 */
		vmc_dma_flush(c);
		ret = vmc_pc_get(c->vm, dma->vaddr, nr, dma->prot & IOMMU_WRITE,
				 dma->pins, false);
	}
	if (ret) {
		vmc_dma_pins_free(dma);
		/* GUP refused a page: VM_PFNMAP memory is mapped as type1 does. */
		if (ret == -EFAULT)
			return vmc_dma_pin_map(c, dma, dma->size);
		dma->size = 0;
		return ret;
	}
	dma->nr_pins = nr;
	return vmc_dma_map_pins(c, dma);
}

/*
 * Map the runs of @dma's extent, taken from the cache: with no GUP.  On
 * failure the runs not mapped are unpinned, and the caller undoes the
 * prefix that made it.
 */
static int vmc_dma_map_runs(struct vmc_container *c, struct vmc_dma *dma)
{
	struct vmc_ext *ext = dma->ext;
	struct vmc_ext_chunk *ch;
	struct vmc_run run;
	u64 mapped = 0;
	unsigned long i;
	int ret = 0;

	list_for_each_entry(ch, &ext->chunks, node) {
		for (i = 0; i < ch->nr; i++) {
			run.pfn = ch->runs[i].pfn;
			run.nr = ch->runs[i].nr;
			/* vmc_run_map() drops a run it fails to map. */
			if (ret)
				vmc_run_drop(c, dma, &run);
			else
				ret = vmc_run_map(c, dma, &run, &mapped);
		}
		cond_resched();
	}
	/* A live extent's pages are found through the IOMMU again. */
	vmc_ext_runs_free(ext);
	if (ret)
		dma->size = mapped;
	return ret;
}

/* A large map of the VM's own memory: an extent, pinned and mapped as mode off does. */
static int vmc_dma_map_ext(struct vmc_container *c, struct vmc_dma *dma)
{
	bool write = dma->prot & IOMMU_WRITE;
	int ret;

	dma->ext = vmc_ext_reuse(c->vm, dma->vaddr, dma->size, write);
	if (dma->ext) {
		vmc_ext_count_moved(c, dma->ext->nr_pages);
		return vmc_dma_map_runs(c, dma);
	}
	ret = vmc_ext_begin(c->vm, dma->vaddr, dma->size, &dma->ext);
	if (ret) {
		dma->size = 0;
		return ret;
	}
	dma->ext->writable = write;
	return vmc_dma_pin_map(c, dma, dma->size);
}

/**
 * vmc_dma_map() - MAP_DMA, once checked
 * @c: the container (lock held)
 * @old: the lowest mapping that [iova, iova + size) overlaps, none of them
 *       live, or NULL
 * @iova: first IOVA
 * @vaddr: the VMM's address of it
 * @size: bytes
 * @prot: IOMMU_READ / IOMMU_WRITE
 *
 * Return: 0 or an errno; the caller flushes in both cases.
 */
int vmc_dma_map(struct vmc_container *c, struct vmc_dma *old, u64 iova,
		unsigned long vaddr, u64 size, int prot)
{
	bool cached, hugetlb = false;
	struct vmc_dma *dma;
	int ret;

	if (old) {
		/* Lazy mode: a cached translation of exactly this is a full hit. */
		if (vmc_xc_hit(c, old, iova, vaddr, size, prot))
			return 0;
		/* Anything else it overlaps goes, flushed, before the IOVAs are reused. */
		vmc_xc_drop_iova(c, iova, iova + size - 1);
	}

	if (size >= VMC_PIN_BATCH << PAGE_SHIFT && !vmc_vaddr_mapped(vaddr, size, &hugetlb))
		return -EFAULT;
	dma = kmem_cache_zalloc(vmc_dma_cache, GFP_KERNEL_ACCOUNT);
	if (!dma)
		return -ENOMEM;
	if (c->vm)
		atomic_long_inc(&c->vm->mem.dmas);
	RB_CLEAR_NODE(&dma->vnode);
	dma->iova = iova;
	dma->size = size;
	dma->vaddr = vaddr;
	dma->prot = prot;
	dma->mm = current->mm;
	dma->c = c;
	mmgrab(dma->mm);
	vmc_dma_link(c, dma);
	c->dma_avail--;
	cached = vmc_dma_use_cache(c, size);
	if (cached && vmc_dma_is_ext(c, size, hugetlb))
		ret = vmc_dma_map_ext(c, dma);
	else if (cached)
		ret = vmc_dma_pin_map_cached(c, dma);
	else
		ret = vmc_dma_pin_map(c, dma, size);
	/* Undone; the caller flushes what that queued. */
	if (ret)
		vmc_dma_remove(c, dma, false);
	return ret;
}

static int vmc_replay_one(struct vmc_container *c, struct iommu_domain *from,
			  struct iommu_domain *to, struct vmc_dma *dma)
{
	u64 off = 0;
	int ret;

	while (off < dma->size) {
		phys_addr_t phys = iommu_iova_to_phys(from, dma->iova + off);
		size_t len = vmc_contig_len(from, dma->iova + off, phys, dma->size - off, false);

		ret = vmc_iommu_map(to, dma->iova + off, phys, len, dma->prot);
		vmc_count(c, iommu_maps, 1);
		if (ret) {
			if (off)
				iommu_unmap(to, dma->iova, off);
			return ret;
		}
		off += len;
	}
	return 0;
}

/* Map every existing mapping into the new domain @d, or nothing. */
int vmc_dma_replay(struct vmc_container *c, struct vmc_domain *d)
{
	struct vmc_domain *first = vmc_first_domain(c);
	struct rb_node *n, *failed;
	int ret = 0;

	if (!first)
		return 0;
	/* The caller dropped every cached translation: all are live. */
	for (n = rb_first(&c->dma_root); n; n = rb_next(n)) {
		ret = vmc_replay_one(c, first->domain, d->domain,
				     rb_entry(n, struct vmc_dma, node));
		if (ret)
			break;
	}
	if (!ret)
		return 0;
	failed = n;
	for (n = rb_first(&c->dma_root); n != failed; n = rb_next(n)) {
		struct vmc_dma *dma = rb_entry(n, struct vmc_dma, node);

		iommu_unmap(d->domain, dma->iova, dma->size);
	}
	return ret;
}
