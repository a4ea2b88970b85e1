/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The VFIO core's interface for IOMMU backends, declared by us.
 *
 * The kernel keeps it in its private drivers/vfio/vfio.h, which no headers
 * package ships, so an out-of-tree backend has to declare it itself.  The
 * core calls through the table it is handed without checking anything: the
 * layout must be the kernel's to the byte.  It changed once since 6.1 (the
 * notify hook was dropped in 6.3), hence one declaration per range of
 * versions, picked at build time.  The lint tier builds vfio_core_check.c
 * against the real vfio.h of every kernel of the matrix (scripts/check.sh):
 * same size, every member at the same offset with the same type, the same
 * group types.  Ranges without a kernel in the matrix are from the kernel's
 * history and unchecked (Documentation/admin-guide/vfio-mapcache.rst).
 *
 * Hooks this module does not implement are declared with their real types
 * all the same: they hold the places of the ones it does.
 */
#ifndef VMC_VFIO_CORE_H
#define VMC_VFIO_CORE_H

#include <linux/types.h>
#include <linux/version.h>

struct iommu_domain;
struct iommu_group;
struct module;
struct page;
struct vfio_device;

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0)
#error "vfio_iommu_mapcache needs Linux 6.1 or later"
#endif

/* What backs a group: this module serves VFIO_IOMMU groups only. */
enum vfio_group_type {
	VFIO_IOMMU,		/* a device behind an IOMMU */
	VFIO_EMULATED_IOMMU,	/* a mediated device: the core fakes the group */
	VFIO_NO_IOMMU,		/* no IOMMU at all (unsafe no-IOMMU mode) */
};

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
/* Until 6.3 the core told backends when their container was closed. */
#define VMC_VFIO_HAS_NOTIFY

/* Events of the notify hook. */
enum vfio_iommu_notify_type {
	VFIO_IOMMU_CONTAINER_CLOSE = 0,
};
#endif

/**
 * struct vfio_iommu_driver_ops - the hooks of a VFIO IOMMU backend
 * @name: shown in the kernel log and debugfs
 * @owner: the module, pinned while a container uses the backend
 * @open: VFIO_SET_IOMMU: a new backend instance for the container, or an
 *	ERR_PTR to hand the container on to the next backend
 * @release: the container is gone: free the instance
 * @ioctl: every container ioctl the core does not handle itself
 * @attach_group: a group joins the container
 * @detach_group: a group leaves the container
 * @pin_pages: pin for an emulated (mdev) device; not implemented here
 * @unpin_pages: the reverse of @pin_pages; not implemented here
 * @register_device: an emulated device joins; not implemented here
 * @unregister_device: an emulated device leaves; not implemented here
 * @dma_rw: CPU access through IOVAs for emulated devices; not implemented
 * @group_iommu_domain: the domain of a group, for KVM; not implemented
 * @notify: (before 6.3) container events; not implemented here
 */
struct vfio_iommu_driver_ops {
	char *name;
	struct module *owner;
	void *(*open)(unsigned long arg);
	void (*release)(void *iommu_data);
	long (*ioctl)(void *iommu_data, unsigned int cmd, unsigned long arg);
	int (*attach_group)(void *iommu_data, struct iommu_group *group,
			    enum vfio_group_type type);
	void (*detach_group)(void *iommu_data, struct iommu_group *group);
	int (*pin_pages)(void *iommu_data, struct iommu_group *group,
			 dma_addr_t user_iova, int npage, int prot,
			 struct page **pages);
	void (*unpin_pages)(void *iommu_data, dma_addr_t user_iova, int npage);
	void (*register_device)(void *iommu_data, struct vfio_device *vdev);
	void (*unregister_device)(void *iommu_data, struct vfio_device *vdev);
	int (*dma_rw)(void *iommu_data, dma_addr_t user_iova, void *data,
		      size_t count, bool write);
	struct iommu_domain *(*group_iommu_domain)(void *iommu_data,
						   struct iommu_group *group);
#ifdef VMC_VFIO_HAS_NOTIFY
	void (*notify)(void *iommu_data, enum vfio_iommu_notify_type event);
#endif
};

int vfio_register_iommu_driver(const struct vfio_iommu_driver_ops *ops);
void vfio_unregister_iommu_driver(const struct vfio_iommu_driver_ops *ops);

#endif /* VMC_VFIO_CORE_H */
