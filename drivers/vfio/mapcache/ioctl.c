// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Type1v2 ioctl ABI: parse and validate exactly as vfio_iommu_type1
 * does (same checks, same order, same errnos), then call the workers.
 *
 * VFIO_MAPCACHE_BATCH (our own, <uapi/linux/vfio_mapcache.h>) runs a vector
 * of such requests under one hold of the container's lock, with one IOTLB
 * flush for all of them.
 *
 * Not offered, hence not advertised: VFIO_UPDATE_VADDR (the VADDR flags
 * fail with -EINVAL, like any unknown flag), dirty page tracking
 * (VFIO_IOMMU_DIRTY_PAGES fails with -ENOTTY, the GET_DIRTY_BITMAP unmap
 * flag with -EINVAL) and the migration capability.
 */
#include <linux/limits.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <uapi/linux/vfio_mapcache.h>

#include "vmc.h"
#include "vmc_trace.h"

static int vmc_check_extension(struct vmc_container *c, unsigned long ext)
{
	int ret;

	switch (ext) {
	case VFIO_TYPE1v2_IOMMU:
		/* A container we serve is ours whatever the parameter says. */
		return c || READ_ONCE(vmc_claim_type1v2);
	case VFIO_TYPE1_IOMMU:
#ifdef VFIO_TYPE1_NESTING_IOMMU
	/* Served by type1 until 6.13, a reserved number since. */
	case VFIO_TYPE1_NESTING_IOMMU:
#endif
		/*
		 * What type1 answers on its containers, though it is type1
		 * that serves these types; before, type1 answers.
		 */
		return !!c;
	case VFIO_MAPCACHE_IOMMU:
	case VFIO_UNMAP_ALL:
		return 1;
	case VFIO_DMA_CC_IOMMU:
		if (!c)
			return 0;
		mutex_lock(&c->lock);
		ret = vmc_enforce_cc(c);
		mutex_unlock(&c->lock);
		return ret;
	default:
		return 0;
	}
}

/* Build the capability chain of GET_INFO: DMA available, IOVA ranges. */
static int vmc_info_caps(struct vmc_container *c, struct vfio_info_cap *caps)
{
	struct vfio_iommu_type1_info_cap_iova_range *ranges;
	struct vfio_iommu_type1_info_dma_avail *avail;
	struct vfio_info_cap_header *hdr;
	unsigned int i;

	hdr = vfio_info_cap_add(caps, sizeof(*avail), VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 1);
	if (IS_ERR(hdr))
		return PTR_ERR(hdr);
	avail = container_of(hdr, struct vfio_iommu_type1_info_dma_avail, header);
	/* Type1's count: cached translations are not mappings of the VMM's. */
	avail->avail = c->dma_avail + c->nr_idle_dmas;

	hdr = vfio_info_cap_add(caps, struct_size(ranges, iova_ranges, c->nr_iova_ranges),
				VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1);
	if (IS_ERR(hdr))
		return PTR_ERR(hdr);
	ranges = container_of(hdr, struct vfio_iommu_type1_info_cap_iova_range, header);
	ranges->nr_iovas = c->nr_iova_ranges;
	for (i = 0; i < c->nr_iova_ranges; i++) {
		ranges->iova_ranges[i].start = c->iova_ranges[i].iova;
		ranges->iova_ranges[i].end = c->iova_ranges[i].last;
	}
	return 0;
}

static int vmc_get_info(struct vmc_container *c, void __user *arg)
{
	struct vfio_info_cap caps = { .buf = NULL, .size = 0 };
	struct vfio_iommu_type1_info info = {};
	unsigned long minsz;
	int ret;

	minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	minsz = min_t(size_t, info.argsz, sizeof(info));

	mutex_lock(&c->lock);
	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = c->pgsize_bitmap;
	ret = vmc_info_caps(c, &caps);
	mutex_unlock(&c->lock);
	if (ret)
		goto out_free;

	info.flags |= VFIO_IOMMU_INFO_CAPS;
	if (info.argsz < sizeof(info) + caps.size) {
		/* Tell userspace how much room the chain needs. */
		info.argsz = sizeof(info) + caps.size;
	} else {
		vfio_info_cap_shift(&caps, sizeof(info));
		if (copy_to_user(arg + sizeof(info), caps.buf, caps.size))
			ret = -EFAULT;
		info.cap_offset = sizeof(info);
	}
	if (!ret && copy_to_user(arg, &info, minsz))
		ret = -EFAULT;
out_free:
	kfree(caps.buf);
	return ret;
}

/* Start a MAP_DMA, UNMAP_DMA or batch: the lock, and the dead reaped. */
static void vmc_request_lock(struct vmc_container *c)
{
	mutex_lock(&c->lock);
	/* Only a hint without the VM's lock: vmc_xc_reap() looks again. */
	if (unlikely(!list_empty(&c->dead)))
		vmc_xc_reap(c);
}

/* A request done: counted for the container and, lock-free, for its VM. */
static inline void vmc_count_request(struct vmc_container *c, bool unmap)
{
	if (unmap)
		vmc_count(c, unmap_requests, 1);
	else
		vmc_count(c, map_requests, 1);
	if (c->vm)
		atomic64_inc(&c->vm->requests[unmap]);
}

/*
 * Validate a MAP_DMA request under the lock, as type1 orders its checks.
 * *@old: the lowest mapping it overlaps, none of them live (lazy mode).
 */
static int vmc_map_check(struct vmc_container *c, struct vfio_iommu_type1_dma_map *map,
			 struct vmc_dma **old)
{
	u64 pgmask = (1ULL << __ffs(c->pgsize_bitmap)) - 1;
	struct vmc_dma *dma;

	/* vmc_map_prot() turned down ranges that wrap. */
	if (!map->size || (map->size | map->iova | map->vaddr) & pgmask)
		return -EINVAL;
	dma = vmc_dma_find(c, map->iova, map->iova + map->size - 1);
	*old = dma;
	/* One that covers the request is all it overlaps (a full hit, mostly). */
	if (dma && !vmc_dma_live(dma) && dma->iova <= map->iova &&
	    dma->iova + dma->size - 1 >= map->iova + map->size - 1)
		dma = NULL;
	for (; dma; dma = vmc_dma_next(dma, map->iova + map->size - 1))
		if (vmc_dma_live(dma))
			return -EEXIST;
	/*
	 * At the limit, a map that overlaps a cached translation reuses it
	 * or drops it (vmc_dma_map()): an entry either way.  Others take the
	 * entries of every cached translation back first.
	 */
	if (!c->dma_avail && !*old && c->nr_idle_dmas)
		vmc_xc_drop_container(c);
	if (!c->dma_avail && !*old)
		return -ENOSPC;
	if (!vmc_iova_valid(c, map->iova, map->iova + map->size - 1))
		return -EINVAL;
	return 0;
}

/* Does [@start, @start + @size) wrap past 2^64 (@size not 0)? */
static bool vmc_range_wraps(u64 start, u64 size)
{
	return start + size - 1 < start;
}

/*
 * The flags of a MAP_DMA as IOMMU permissions, or the errno type1 gives
 * before it takes its lock: an unknown flag, then (since type1 looks for
 * wrapping ranges first, and their errno changed) a range that wraps.
 */
static int vmc_map_prot(u32 flags, u64 iova, u64 vaddr, u64 size)
{
	int prot = 0;

	/* VFIO_DMA_MAP_FLAG_VADDR is not offered: an unknown flag here. */
	if (flags & ~(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE))
		return -EINVAL;
	if (size && (vmc_range_wraps(iova, size) || vmc_range_wraps(vaddr, size)))
		return -VMC_COMPAT_EWRAP;
	if (flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= IOMMU_WRITE;
	if (flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= IOMMU_READ;
	if (!prot || vaddr > ULONG_MAX || size > SIZE_MAX)
		return -EINVAL;
	return prot;
}

/* MAP_DMA under the lock; the caller flushes. */
static int vmc_map_locked(struct vmc_container *c, struct vfio_iommu_type1_dma_map *map,
			  int prot)
{
	struct vmc_dma *old;
	int ret = vmc_map_check(c, map, &old);

	if (!ret)
		ret = vmc_dma_map(c, old, map->iova, map->vaddr, map->size, prot);
	trace_vmc_map(c->id, map->iova, map->vaddr, map->size, prot, ret);
	if (!ret)
		vmc_count_request(c, false);
	return ret;
}

static int vmc_map_dma(struct vmc_container *c, void __user *arg)
{
	struct vfio_iommu_type1_dma_map map;
	unsigned long minsz;
	int prot, ret;

	minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	if (copy_from_user(&map, arg, minsz))
		return -EFAULT;
	if (map.argsz < minsz)
		return -EINVAL;
	prot = vmc_map_prot(map.flags, map.iova, map.vaddr, map.size);
	if (prot < 0)
		return prot;

	vmc_request_lock(c);
	ret = vmc_map_locked(c, &map, prot);
	vmc_dma_flush(c);
	mutex_unlock(&c->lock);
	return ret;
}

static int vmc_unmap_check(struct vmc_container *c,
			   struct vfio_iommu_type1_dma_unmap *unmap, u64 *last)
{
	u64 pgmask = (1ULL << __ffs(c->pgsize_bitmap)) - 1;

	if (unmap->iova & pgmask)
		return -EINVAL;
	if (unmap->flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (unmap->iova || unmap->size)
			return -EINVAL;
		*last = U64_MAX;
		return 0;
	}
	if (!unmap->size || unmap->size & pgmask || unmap->size > SIZE_MAX)
		return -EINVAL;
	if (vmc_range_wraps(unmap->iova, unmap->size))
		return -VMC_COMPAT_EWRAP;
	*last = unmap->iova + unmap->size - 1;
	return 0;
}

/* UNMAP_DMA under the lock, @unmap->size set to what went; no flush. */
static int vmc_unmap_locked(struct vmc_container *c, struct vfio_iommu_type1_dma_unmap *unmap)
{
	u64 last = 0, unmapped = 0;
	int ret;

	ret = vmc_unmap_check(c, unmap, &last);
	if (!ret)
		ret = vmc_dma_unmap(c, unmap->iova, last,
				    unmap->flags & VFIO_DMA_UNMAP_FLAG_ALL, &unmapped);
	trace_vmc_unmap(c->id, unmap->iova, last, unmapped, ret);
	if (ret)
		return ret;
	vmc_count_request(c, true);
	unmap->size = unmapped;
	return 0;
}

static int vmc_unmap_dma(struct vmc_container *c, void __user *arg)
{
	struct vfio_iommu_type1_dma_unmap unmap;
	unsigned long minsz;
	int ret;

	minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	if (copy_from_user(&unmap, arg, minsz))
		return -EFAULT;
	/* No dirty tracking and no vaddr update: only FLAG_ALL is known. */
	if (unmap.argsz < minsz || unmap.flags & ~VFIO_DMA_UNMAP_FLAG_ALL)
		return -EINVAL;

	vmc_request_lock(c);
	ret = vmc_unmap_locked(c, &unmap);
	vmc_dma_flush(c);
	mutex_unlock(&c->lock);
	if (ret)
		return ret;
	/* Only @size differs from what userspace passed. */
	return put_user(unmap.size, &((struct vfio_iommu_type1_dma_unmap __user *)arg)->size);
}

/* One entry of a batch, checked as its own ioctl checks it. */
static int vmc_batch_one(struct vmc_container *c, struct vfio_mapcache_batch_entry *e)
{
	struct vfio_iommu_type1_dma_unmap unmap;
	struct vfio_iommu_type1_dma_map map;
	int prot, ret;

	if (e->reserved)
		return -EINVAL;
	switch (e->op) {
	case VFIO_MAPCACHE_OP_MAP:
		prot = vmc_map_prot(e->flags, e->iova, e->vaddr, e->size);
		if (prot < 0)
			return prot;
		map = (struct vfio_iommu_type1_dma_map) {
			.flags = e->flags, .vaddr = e->vaddr, .iova = e->iova, .size = e->size,
		};
		return vmc_map_locked(c, &map, prot);
	case VFIO_MAPCACHE_OP_UNMAP:
		if (e->vaddr || e->flags & ~VFIO_DMA_UNMAP_FLAG_ALL)
			return -EINVAL;
		unmap = (struct vfio_iommu_type1_dma_unmap) {
			.flags = e->flags, .iova = e->iova, .size = e->size,
		};
		ret = vmc_unmap_locked(c, &unmap);
		if (!ret)
			e->size = unmap.size;
		return ret;
	default:
		return -EINVAL;
	}
}

/* Largest entry a later version of the ABI may hand in. */
#define VMC_BATCH_ENTRY_MAX	4096

/* Entries of a batch small enough for the stack: no allocation for those. */
#define VMC_BATCH_FEW		8

/* The vector of @b, read in full into @few or a kernel array, or an errno. */
static struct vfio_mapcache_batch_entry *vmc_batch_read(const struct vfio_mapcache_batch *b,
							struct vfio_mapcache_batch_entry *few)
{
	void __user *uv = u64_to_user_ptr(b->entries);
	struct vfio_mapcache_batch_entry *v = few;
	int ret = 0;
	u32 i;

	if (b->nr_entries > VMC_BATCH_FEW)
		v = kvmalloc_array(b->nr_entries, sizeof(*v), GFP_KERNEL_ACCOUNT);
	if (!v)
		return ERR_PTR(-ENOMEM);
	if (b->entry_size == sizeof(*v)) {
		if (copy_from_user(v, uv, array_size(b->nr_entries, sizeof(*v))))
			ret = -EFAULT;
	} else {
		/* A later version's entries: their extra bytes must be 0. */
		for (i = 0; i < b->nr_entries && !ret; i++)
			ret = copy_struct_from_user(&v[i], sizeof(*v),
						    uv + (size_t)i * b->entry_size,
						    b->entry_size);
	}
	if (ret) {
		if (v != few)
			kvfree(v);
		return ERR_PTR(ret);
	}
	return v;
}

/* Write back @size and @result of the first @nr entries, then @nr_done. */
static int vmc_batch_write(const struct vfio_mapcache_batch *b, void __user *arg,
			   const struct vfio_mapcache_batch_entry *v, u32 nr)
{
	void __user *uv = u64_to_user_ptr(b->entries);
	struct vfio_mapcache_batch_entry __user *ue;
	u32 i;

	/* Only the fields the call changes: a few stores, no copy of entries. */
	if (nr) {
		if (!user_write_access_begin(uv, (size_t)nr * b->entry_size))
			return -EFAULT;
		for (i = 0; i < nr; i++) {
			ue = uv + (size_t)i * b->entry_size;
			unsafe_put_user(v[i].size, &ue->size, efault);
			unsafe_put_user(v[i].result, &ue->result, efault);
		}
		user_write_access_end();
	}
	return put_user(b->nr_done, (u32 __user *)(arg + offsetof(struct vfio_mapcache_batch,
								  nr_done)));

efault:
	user_write_access_end();
	return -EFAULT;
}

/* Run the entries in order until one fails; one flush for all of them. */
static int vmc_batch_run(struct vmc_container *c, struct vfio_mapcache_batch *b,
			 struct vfio_mapcache_batch_entry *v, u32 *processed)
{
	int ret = 0;
	u32 i;

	vmc_request_lock(c);
	for (i = 0; i < b->nr_entries && !ret; i++) {
		ret = vmc_batch_one(c, &v[i]);
		v[i].result = ret;
		cond_resched();
	}
	vmc_dma_flush(c);
	vmc_count(c, batch_requests, 1);
	vmc_count(c, batch_entries, i);
	mutex_unlock(&c->lock);
	b->nr_done = ret ? i - 1 : i;
	*processed = i;
	trace_vmc_batch(c->id, b->nr_entries, b->nr_done, ret);
	return ret;
}

static int vmc_batch(struct vmc_container *c, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_mapcache_batch, reserved);
	/* Read in full before use: no need for the compiler to zero it first. */
	struct vfio_mapcache_batch_entry few[VMC_BATCH_FEW] __uninitialized;
	struct vfio_mapcache_batch_entry *v;
	struct vfio_mapcache_batch b;
	u32 processed;
	int ret, wret;

	if (copy_from_user(&b, arg, minsz))
		return -EFAULT;
	if (b.argsz < minsz || b.flags || b.reserved || !b.nr_entries ||
	    b.entry_size < sizeof(*v))
		return -EINVAL;
	if (b.nr_entries > VFIO_MAPCACHE_BATCH_MAX || b.entry_size > VMC_BATCH_ENTRY_MAX)
		return -E2BIG;
	v = vmc_batch_read(&b, few);
	if (IS_ERR(v))
		return PTR_ERR(v);
	ret = vmc_batch_run(c, &b, v, &processed);
	wret = vmc_batch_write(&b, arg, v, processed);
	if (v != few)
		kvfree(v);
	return ret ?: wret;
}

long vmc_ioctl(void *iommu_data, unsigned int cmd, unsigned long arg)
{
	struct vmc_container *c = iommu_data;

	switch (cmd) {
	case VFIO_CHECK_EXTENSION:
		return vmc_check_extension(c, arg);
	case VFIO_IOMMU_GET_INFO:
		return vmc_get_info(c, (void __user *)arg);
	case VFIO_IOMMU_MAP_DMA:
		return vmc_map_dma(c, (void __user *)arg);
	case VFIO_IOMMU_UNMAP_DMA:
		return vmc_unmap_dma(c, (void __user *)arg);
	case VFIO_MAPCACHE_BATCH:
		return vmc_batch(c, (void __user *)arg);
	default:
		return -ENOTTY;
	}
}
