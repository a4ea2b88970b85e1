/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vfio_iommu_mapcache internals.
 *
 * Vocabulary (as in the rest of this driver): "iova"/"vaddr" are the first
 * byte of a range, "last" its last byte (inclusive), "end" one past it.  A
 * range may reach U64_MAX, so code compares "last" values, never "end".
 *
 * Lock order: vmc_container.lock, then the VMM's mmap_lock (taken by GUP and
 * by locked_vm accounting).  Nothing else nests.
 */
#ifndef VMC_H
#define VMC_H

#include <linux/iommu.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/types.h>
#include <linux/vfio.h>

#include "compat.h"
#include "vfio.h"

/* Unpins collected under one IOTLB gather before it is synced. */
#define VMC_UNPIN_BATCH		64
/* struct page pointers pinned per GUP call: one page of pointers. */
#define VMC_PIN_BATCH		(PAGE_SIZE / sizeof(struct page *))

/**
 * struct vmc_stats - counters of one container (or of the whole module)
 * @pinned_pages: pages pinned now
 * @pins: pages pinned, in total
 * @unpins: pages unpinned, in total
 * @map_requests: MAP_DMA requests that succeeded
 * @unmap_requests: UNMAP_DMA requests that succeeded
 * @iommu_maps: iommu_map() calls
 * @iommu_unmaps: iommu_unmap() and iommu_unmap_fast() calls
 * @iotlb_flushes: IOTLB flushes (gather syncs and synchronous unmaps)
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
 * struct vmc_dma - one MAP_DMA mapping, as userspace made it
 * @node: link in vmc_container.dma_root, keyed by @iova
 * @iova: first IOVA
 * @size: bytes; only the first @size bytes are mapped while it is built
 * @vaddr: the VMM's virtual address of @iova
 * @prot: IOMMU_READ / IOMMU_WRITE
 * @mm: the mm that was pinned (a grab, not a user reference)
 */
struct vmc_dma {
	struct rb_node node;
	u64 iova;
	u64 size;
	unsigned long vaddr;
	int prot;
	struct mm_struct *mm;
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
 * @lock: protects every field below; held across MAP/UNMAP, attach/detach
 * @domains: the container's vmc_domains; the first one answers
 *           iova-to-phys lookups at unmap time
 * @dma_root: the vmc_dmas, keyed by IOVA, never overlapping
 * @iova_ranges: usable IOVA space: the apertures minus reserved regions
 * @nr_iova_ranges: entries in @iova_ranges
 * @pgsize_bitmap: page sizes every domain supports
 * @dma_avail: MAP_DMA entries still allowed (dma_entry_limit at open)
 * @unpins: runs unmapped under the current IOTLB gather, unpinned after it
 *          is synced; preallocated so that teardown needs no memory
 * @nr_unpins: entries used in @unpins
 * @gather: the current IOTLB gather of the first domain
 * @stats: counters
 * @id: number shown in debugfs
 * @pid: thread group of the process that set the container up
 * @debugfs: this container's debugfs directory
 */
struct vmc_container {
	struct mutex lock;	/* protects every field below */
	struct list_head domains;
	struct rb_root dma_root;
	struct vmc_iova_range *iova_ranges;
	unsigned int nr_iova_ranges;
	unsigned long pgsize_bitmap;
	unsigned int dma_avail;
	struct vmc_unpin unpins[VMC_UNPIN_BATCH];
	unsigned int nr_unpins;
	struct iommu_iotlb_gather gather;
	struct vmc_stats stats;
	unsigned int id;
	pid_t pid;
	struct dentry *debugfs;
};

/* main.c: module parameters */
extern bool vmc_claim_type1v2;
extern bool vmc_allow_unsafe_interrupts;
extern unsigned int vmc_dma_entry_limit;

/* container.c */
void *vmc_open(unsigned long arg);
void vmc_release(void *iommu_data);
int vmc_attach_group(void *iommu_data, struct iommu_group *group,
		     enum vfio_group_type type);
void vmc_detach_group(void *iommu_data, struct iommu_group *group);
bool vmc_enforce_cc(struct vmc_container *c);
bool vmc_iova_valid(struct vmc_container *c, u64 iova, u64 last);

/* dma.c */
struct vmc_dma *vmc_dma_find(struct vmc_container *c, u64 iova, u64 last);
int vmc_dma_map(struct vmc_container *c, u64 iova, unsigned long vaddr,
		u64 size, int prot);
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

/* stats: per container under its lock, and module-wide */
void vmc_stat_add(struct vmc_container *c, size_t offset, u64 n);
void vmc_stat_sub(struct vmc_container *c, size_t offset, u64 n);
#define vmc_count(c, field, n) \
	vmc_stat_add(c, offsetof(struct vmc_stats, field), n)
#define vmc_uncount(c, field, n) \
	vmc_stat_sub(c, offsetof(struct vmc_stats, field), n)

#endif /* VMC_H */
