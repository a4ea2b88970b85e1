// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proof at build time that vfio_core.h declares the VFIO core's backend
 * interface exactly as the kernel does.  Not part of the module: the lint
 * tier (scripts/check.sh) compiles this file alone for each kernel of the
 * matrix, with VMC_VFIO_H_DIR at that kernel's own drivers/vfio (from its
 * linux-source package).  Our declarations are renamed on the way in so that
 * both can be seen at once; any difference fails the compile.
 */
#include <linux/build_bug.h>
#include <linux/compiler.h>
#include <linux/stddef.h>

#include "vfio.h"		/* the kernel's, from VMC_VFIO_H_DIR */

#define vfio_iommu_driver_ops		vmc_own_iommu_driver_ops
#define vfio_group_type			vmc_own_group_type
#define VFIO_IOMMU			VMC_OWN_IOMMU
#define VFIO_EMULATED_IOMMU		VMC_OWN_EMULATED_IOMMU
#define VFIO_NO_IOMMU			VMC_OWN_NO_IOMMU
#define vfio_iommu_notify_type		vmc_own_iommu_notify_type
#define VFIO_IOMMU_CONTAINER_CLOSE	VMC_OWN_CONTAINER_CLOSE
#define vfio_register_iommu_driver	vmc_own_register_iommu_driver
#define vfio_unregister_iommu_driver	vmc_own_unregister_iommu_driver
#include "vfio_core.h"
#undef vfio_iommu_driver_ops
#undef vfio_group_type
#undef VFIO_IOMMU
#undef VFIO_EMULATED_IOMMU
#undef VFIO_NO_IOMMU
#undef vfio_iommu_notify_type
#undef VFIO_IOMMU_CONTAINER_CLOSE
#undef vfio_register_iommu_driver
#undef vfio_unregister_iommu_driver

#define VMC_OWN(m)	(((struct vmc_own_iommu_driver_ops *)NULL)->m)
#define VMC_REAL(m)	(((struct vfio_iommu_driver_ops *)NULL)->m)

/* A member of ours: at the kernel's offset, with the kernel's type. */
#define VMC_SAME_MEMBER(m)						\
	static_assert(offsetof(struct vmc_own_iommu_driver_ops, m) ==	\
		      offsetof(struct vfio_iommu_driver_ops, m) &&		\
		      __same_type(VMC_OWN(m), VMC_REAL(m)),			\
		      "vfio_iommu_driver_ops." #m)

/*
 * The same, for a hook that takes one of the enums: under its new name our
 * enum is another type, so the hook's type cannot match; its place can.
 */
#define VMC_SAME_SLOT(m)						\
	static_assert(offsetof(struct vmc_own_iommu_driver_ops, m) ==	\
		      offsetof(struct vfio_iommu_driver_ops, m) &&		\
		      sizeof(VMC_OWN(m)) == sizeof(VMC_REAL(m)),		\
		      "vfio_iommu_driver_ops." #m)

/* Equal sizes and every member of ours in place: no member is missing. */
static_assert(sizeof(struct vmc_own_iommu_driver_ops) ==
	      sizeof(struct vfio_iommu_driver_ops),
	      "size of struct vfio_iommu_driver_ops");
VMC_SAME_MEMBER(name);
VMC_SAME_MEMBER(owner);
VMC_SAME_MEMBER(open);
VMC_SAME_MEMBER(release);
VMC_SAME_MEMBER(ioctl);
VMC_SAME_SLOT(attach_group);
VMC_SAME_MEMBER(detach_group);
VMC_SAME_MEMBER(pin_pages);
VMC_SAME_MEMBER(unpin_pages);
VMC_SAME_MEMBER(register_device);
VMC_SAME_MEMBER(unregister_device);
VMC_SAME_MEMBER(dma_rw);
VMC_SAME_MEMBER(group_iommu_domain);
#ifdef VMC_VFIO_HAS_NOTIFY
VMC_SAME_SLOT(notify);
static_assert((int)VMC_OWN_CONTAINER_CLOSE == (int)VFIO_IOMMU_CONTAINER_CLOSE,
	      "VFIO_IOMMU_CONTAINER_CLOSE");
#endif

static_assert(sizeof(enum vmc_own_group_type) == sizeof(enum vfio_group_type),
	      "size of enum vfio_group_type");
/* Two enum types: compare the values as ints. */
static_assert((int)VMC_OWN_IOMMU == (int)VFIO_IOMMU, "VFIO_IOMMU");
static_assert((int)VMC_OWN_EMULATED_IOMMU == (int)VFIO_EMULATED_IOMMU,
	      "VFIO_EMULATED_IOMMU");
static_assert((int)VMC_OWN_NO_IOMMU == (int)VFIO_NO_IOMMU, "VFIO_NO_IOMMU");

/* The registration calls: what they return for a table (not evaluated). */
static_assert(__same_type(vmc_own_register_iommu_driver(NULL),
			  vfio_register_iommu_driver(NULL)),
	      "vfio_register_iommu_driver");
static_assert(__same_type(vmc_own_unregister_iommu_driver(NULL),
			  vfio_unregister_iommu_driver(NULL)),
	      "vfio_unregister_iommu_driver");
