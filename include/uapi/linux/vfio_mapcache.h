/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vfio_mapcache.h - userspace ABI of the vfio_iommu_mapcache backend.
 *
 * The backend speaks the VFIO Type1v2 ABI of <linux/vfio.h>; this header adds
 * what is its own.
 */
#ifndef _UAPI_LINUX_VFIO_MAPCACHE_H
#define _UAPI_LINUX_VFIO_MAPCACHE_H

/*
 * VFIO_MAPCACHE_IOMMU - extension and IOMMU type of this backend.
 *
 * VFIO_CHECK_EXTENSION answers 1 for it when the backend is loaded, so a VMM
 * can ask for it explicitly with VFIO_SET_IOMMU; on a container whose IOMMU
 * is set, a non-zero answer tells that this backend serves the container.
 * The number is far above the VFIO core's own extension numbers.
 */
#define VFIO_MAPCACHE_IOMMU	0x4d43

#endif /* _UAPI_LINUX_VFIO_MAPCACHE_H */
