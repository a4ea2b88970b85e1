/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vfio_mapcache.h - userspace ABI of the vfio_iommu_mapcache backend.
 *
 * The backend speaks the VFIO Type1v2 ABI of <linux/vfio.h>; this header adds
 * what is its own.
 */
#ifndef _UAPI_LINUX_VFIO_MAPCACHE_H
#define _UAPI_LINUX_VFIO_MAPCACHE_H

#include <linux/types.h>
#include <linux/vfio.h>

/*
 * VFIO_MAPCACHE_IOMMU - extension and IOMMU type of this backend.
 *
 * VFIO_CHECK_EXTENSION answers 1 for it when the backend is loaded, so a VMM
 * can ask for it explicitly with VFIO_SET_IOMMU; on a container whose IOMMU
 * is set, a non-zero answer tells that this backend serves the container.
 * The number is far above the VFIO core's own extension numbers.
 */
#define VFIO_MAPCACHE_IOMMU	0x4d43

/* Operations of a batch entry. */
#define VFIO_MAPCACHE_OP_MAP	1	/* as VFIO_IOMMU_MAP_DMA */
#define VFIO_MAPCACHE_OP_UNMAP	2	/* as VFIO_IOMMU_UNMAP_DMA */

/**
 * struct vfio_mapcache_batch_entry - one request of a batch
 * @op: VFIO_MAPCACHE_OP_MAP or VFIO_MAPCACHE_OP_UNMAP.
 * @flags: MAP: VFIO_DMA_MAP_FLAG_READ and/or VFIO_DMA_MAP_FLAG_WRITE;
 *	UNMAP: 0 or VFIO_DMA_UNMAP_FLAG_ALL.
 * @vaddr: MAP: the process virtual address of @iova; UNMAP: must be 0.
 * @iova: first IOVA.
 * @size: bytes.  For an UNMAP that succeeded, set to the bytes unmapped.
 * @result: set for every entry that was processed: 0, or the negative
 *	errno of the entry that stopped the batch.  Untouched after it.
 * @reserved: must be 0.
 *
 * An entry asks exactly what the Type1v2 ioctl of its @op asks and is
 * checked exactly as that ioctl checks it, with the same errnos.
 */
struct vfio_mapcache_batch_entry {
	__u32	op;
	__u32	flags;
	__u64	vaddr;
	__u64	iova;
	__u64	size;
	__s32	result;
	__u32	reserved;
};

/* Most entries in one batch. */
#define VFIO_MAPCACHE_BATCH_MAX		1024

/**
 * struct vfio_mapcache_batch - argument of VFIO_MAPCACHE_BATCH
 * @argsz: size of this structure, as in every VFIO ioctl.
 * @flags: 0; no flags are defined yet.
 * @nr_entries: entries in the vector, 1 to VFIO_MAPCACHE_BATCH_MAX.
 * @entry_size: sizeof(struct vfio_mapcache_batch_entry) of the caller; a
 *	larger entry (a later version) is accepted when its extra bytes are 0.
 * @entries: user pointer to the vector.
 * @nr_done: out: entries that succeeded, a prefix of the vector.
 * @reserved: must be 0.
 */
struct vfio_mapcache_batch {
	__u32	argsz;
	__u32	flags;
	__u32	nr_entries;
	__u32	entry_size;
	__u64	entries;
	__u32	nr_done;
	__u32	reserved;
};

/*
 * VFIO_MAPCACHE_BATCH - map and unmap a vector of requests in one call.
 *
 * A container ioctl, on containers this backend serves.  The entries run
 * in order, under one hold of the container's lock; the IOTLB invalidations
 * of every unmap and replacement of the batch are gathered and flushed once,
 * before the call returns, and only then are the unmapped pages released.
 * A device may thus reach a page an earlier entry of the batch unmapped until
 * the call returns, never after.  Unmaps can be piggybacked on the maps that
 * follow them.
 *
 * Partial failure: the batch stops at the first entry that fails (an invalid
 * entry, or one its Type1v2 ioctl would fail).  That entry has changed
 * nothing; the entries before it (@nr_done of them) have taken effect and
 * stay in effect; the entries after it are not looked at.  The call then
 * returns that entry's errno, with @nr_done and every processed entry's
 * @result written back.  Errors of the call itself (nothing done):
 *   EINVAL  @argsz too small, unknown @flags, @reserved not 0, @nr_entries 0,
 *           @entry_size too small;
 *   E2BIG   more than VFIO_MAPCACHE_BATCH_MAX entries, @entry_size above
 *           4096, or a larger entry whose extra bytes are not 0;
 *   EFAULT  the vector cannot be read in full.
 * If the results cannot be written back the call returns EFAULT; the
 * entries it processed stay in effect.
 */
#define VFIO_MAPCACHE_BATCH	_IO(VFIO_TYPE, VFIO_BASE + 77)

#endif /* _UAPI_LINUX_VFIO_MAPCACHE_H */
