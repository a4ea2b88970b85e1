/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel interfaces that changed across the supported kernels
 * (scripts/kernels.list), behind one name each.  This is the only file
 * that tests LINUX_VERSION_CODE, with vfio_core.h, which declares the VFIO
 * core's private interface per range of versions.
 */
#ifndef VMC_COMPAT_H
#define VMC_COMPAT_H

#include <linux/iommu.h>
#include <linux/irqdomain.h>
#include <linux/mm.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/version.h>

/*
 * The errno of a MAP_DMA or UNMAP_DMA whose range wraps past 2^64: type1
 * said EINVAL, and says EOVERFLOW since its ranges may reach the top of
 * the address space (6.18).  As seen: 6.1.192 and 6.12.118 EINVAL, 7.3.4
 * EOVERFLOW; the kernels between are not in the matrix.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 18, 0)
#define VMC_COMPAT_EWRAP	EOVERFLOW
#else
#define VMC_COMPAT_EWRAP	EINVAL
#endif

/* iommu_map() took a gfp_t in 6.3. */
static inline int vmc_compat_iommu_map(struct iommu_domain *dom, unsigned long iova,
				       phys_addr_t phys, size_t size, int prot)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	return iommu_map(dom, iova, phys, size, prot, GFP_KERNEL_ACCOUNT);
#else
	return iommu_map(dom, iova, phys, size, prot);
#endif
}

/* pin_user_pages_remote() lost its vmas argument in 6.5. */
static inline long vmc_compat_pin_remote(struct mm_struct *mm, unsigned long vaddr,
					 unsigned long nr_pages, unsigned int flags,
					 struct page **pages)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
	return pin_user_pages_remote(mm, vaddr, nr_pages, flags, pages, NULL);
#else
	return pin_user_pages_remote(mm, vaddr, nr_pages, flags, pages, NULL, NULL);
#endif
}

/*
 * Pin what the VMM has mapped now with the access asked for, and nothing
 * else: FOLL_NOFAULT (5.16) makes GUP stop where it would fault, with
 * FOLL_LONGTERM too, on every supported kernel (a macro before 6.5, an enum
 * since: test the version, never the name).  Returns the pages pinned from
 * @vaddr on, or an errno if the first one is not there.
 */
static inline long vmc_compat_pin_present(struct mm_struct *mm, unsigned long vaddr,
					  unsigned long nr_pages, bool write,
					  struct page **pages)
{
	unsigned int flags = FOLL_LONGTERM | FOLL_NOFAULT | (write ? FOLL_WRITE : 0);

	return vmc_compat_pin_remote(mm, vaddr, nr_pages, flags, pages);
}

/*
 * The frame a VM_PFNMAP @vma maps at @vaddr (mmap_lock held), and whether
 * it is writable: 0, or the errno of a walk that found nothing (the caller
 * faults it in and asks again).  follow_pfnmap_start() replaced
 * follow_pte() in 6.12; follow_pte() took the VMA from 6.10.
 */
static inline int vmc_compat_follow_pfn(struct vm_area_struct *vma, unsigned long vaddr,
					unsigned long *pfn, bool *writable)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	struct follow_pfnmap_args args = { .vma = vma, .address = vaddr };
	int ret = follow_pfnmap_start(&args);

	if (ret)
		return ret;
	*pfn = args.pfn;
	*writable = args.writable;
	follow_pfnmap_end(&args);
	return 0;
#else
	spinlock_t *ptl;	/* the page table's lock, held by follow_pte() */
	pte_t *ptep;
	int ret;

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
	ret = follow_pte(vma, vaddr, &ptep, &ptl);
#else
	ret = follow_pte(vma->vm_mm, vaddr, &ptep, &ptl);
#endif
	if (ret)
		return ret;
	/* follow_pte() returns with the lock held, unannotated for sparse. */
	__acquire(ptl);
	*pfn = pte_pfn(*ptep);
	*writable = pte_write(*ptep);
	pte_unmap_unlock(ptep, ptl);
	return 0;
#endif
}

/* Paging domains are allocated per device since 6.11, per bus before. */
static inline struct iommu_domain *vmc_compat_domain_alloc(struct device *dev)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
	return iommu_paging_domain_alloc(dev);
#else
	return iommu_domain_alloc(dev->bus) ?: ERR_PTR(-EIO);
#endif
}

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline int vmc_compat_dev_intr_remap(struct device *dev, void *data)
{
	return device_iommu_capable(dev, IOMMU_CAP_INTR_REMAP) ? 0 : -EPERM;
}
#endif

/* Can the group's devices be kept from forging MSIs?  (6.3 named it.) */
static inline bool vmc_compat_group_msi_isolated(struct iommu_group *group)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	return iommu_group_has_isolated_msi(group);
#else
	return irq_domain_check_msi_remap() ||
	       !iommu_group_for_each_dev(group, NULL, vmc_compat_dev_intr_remap);
#endif
}

typedef unsigned long (*vmc_compat_shrink_fn)(struct shrinker *s, struct shrink_control *sc);

/*
 * A registered shrinker, or NULL.  Shrinkers are allocated by the core and
 * registered in a second step since 6.7; before, the caller provided the
 * struct and registered it in one call.
 */
static inline struct shrinker *vmc_compat_shrinker_create(const char *name,
							  vmc_compat_shrink_fn count,
							  vmc_compat_shrink_fn scan)
{
	struct shrinker *s;

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
	s = shrinker_alloc(0, "%s", name);
#else
	s = kzalloc(sizeof(*s), GFP_KERNEL);
#endif
	if (!s)
		return NULL;
	s->count_objects = count;
	s->scan_objects = scan;
	s->seeks = DEFAULT_SEEKS;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
	shrinker_register(s);
#else
	if (register_shrinker(s, "%s", name)) {
		kfree(s);
		return NULL;
	}
#endif
	return s;
}

/* Unregister; returns once no call of the shrinker runs any more. */
static inline void vmc_compat_shrinker_destroy(struct shrinker *s)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
	shrinker_free(s);
#else
	unregister_shrinker(s);
	kfree(s);
#endif
}

#endif /* VMC_COMPAT_H */
