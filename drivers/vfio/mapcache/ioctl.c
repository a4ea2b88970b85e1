// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Type1v2 ioctl ABI: parse and validate exactly as vfio_iommu_type1
 * does (same checks, same order, same errnos), then call the workers.
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

static int vmc_check_extension(struct vmc_container *c, unsigned long ext)
{
	int ret;

	switch (ext) {
	case VFIO_TYPE1v2_IOMMU:
		/* A container we serve is ours whatever the parameter says. */
		return c || READ_ONCE(vmc_claim_type1v2);
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
	avail->avail = c->dma_avail;

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

/* A request done: counted for the container and, lock-free, for its VM. */
static void vmc_count_request(struct vmc_container *c, bool unmap)
{
	if (unmap)
		vmc_count(c, unmap_requests, 1);
	else
		vmc_count(c, map_requests, 1);
	if (c->vm)
		atomic64_inc(&c->vm->requests[unmap]);
}

/* Validate a MAP_DMA request under the lock, as type1 orders its checks. */
static int vmc_map_check(struct vmc_container *c, struct vfio_iommu_type1_dma_map *map)
{
	u64 pgmask = (1ULL << __ffs(c->pgsize_bitmap)) - 1;

	if (!map->size || (map->size | map->iova | map->vaddr) & pgmask)
		return -EINVAL;
	if (map->iova + map->size - 1 < map->iova ||
	    map->vaddr + map->size - 1 < map->vaddr)
		return -EINVAL;
	if (vmc_dma_find(c, map->iova, map->iova + map->size - 1))
		return -EEXIST;
	if (!c->dma_avail)
		return -ENOSPC;
	if (!vmc_iova_valid(c, map->iova, map->iova + map->size - 1))
		return -EINVAL;
	return 0;
}

static int vmc_map_dma(struct vmc_container *c, void __user *arg)
{
	struct vfio_iommu_type1_dma_map map;
	unsigned long minsz;
	int prot = 0, ret;

	minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	if (copy_from_user(&map, arg, minsz))
		return -EFAULT;
	/* VFIO_DMA_MAP_FLAG_VADDR is not offered: an unknown flag here. */
	if (map.argsz < minsz ||
	    map.flags & ~(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE))
		return -EINVAL;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= IOMMU_WRITE;
	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= IOMMU_READ;
	if (!prot || map.vaddr > ULONG_MAX || map.size > SIZE_MAX)
		return -EINVAL;

	mutex_lock(&c->lock);
	ret = vmc_map_check(c, &map);
	if (!ret)
		ret = vmc_dma_map(c, map.iova, map.vaddr, map.size, prot);
	if (!ret)
		vmc_count_request(c, false);
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
	if (!unmap->size || unmap->size & pgmask ||
	    unmap->iova + unmap->size - 1 < unmap->iova || unmap->size > SIZE_MAX)
		return -EINVAL;
	*last = unmap->iova + unmap->size - 1;
	return 0;
}

static int vmc_unmap_dma(struct vmc_container *c, void __user *arg)
{
	struct vfio_iommu_type1_dma_unmap unmap;
	unsigned long minsz;
	u64 last, unmapped = 0;
	int ret;

	minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	if (copy_from_user(&unmap, arg, minsz))
		return -EFAULT;
	/* No dirty tracking and no vaddr update: only FLAG_ALL is known. */
	if (unmap.argsz < minsz || unmap.flags & ~VFIO_DMA_UNMAP_FLAG_ALL)
		return -EINVAL;

	mutex_lock(&c->lock);
	ret = vmc_unmap_check(c, &unmap, &last);
	if (!ret)
		ret = vmc_dma_unmap(c, unmap.iova, last,
				    unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL, &unmapped);
	if (!ret)
		vmc_count_request(c, true);
	mutex_unlock(&c->lock);
	if (ret)
		return ret;
	unmap.size = unmapped;
	return copy_to_user(arg, &unmap, minsz) ? -EFAULT : 0;
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
	default:
		return -ENOTTY;
	}
}
