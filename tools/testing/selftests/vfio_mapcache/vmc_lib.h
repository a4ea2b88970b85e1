/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the vfio_mapcache kselftests: open a VFIO container,
 * group and device with a chosen backend, map and unmap, and drive the QEMU
 * edu device's DMA engine.
 *
 * Naming follows the iommufd selftests: _vmc_x() returns the raw result
 * (0 or -errno), test_x() asserts success, test_err_x(errno, ...) asserts
 * the errno.  The test_* macros need a harness fixture with a "self->env".
 */
#ifndef VMC_LIB_H
#define VMC_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/vfio.h>
#include <linux/vfio_mapcache.h>

#ifndef offsetofend
#define offsetofend(TYPE, MEMBER) \
	(offsetof(TYPE, MEMBER) + sizeof(((TYPE *)0)->MEMBER))
#endif

#define VMC_PAGE		4096UL
/* edu's DMA buffer in its own address space, and the largest safe transfer. */
#define EDU_BUF			0x40000UL
#define EDU_DMA_MAX		4095UL
/* edu masks DMA addresses to 28 bits: keep test IOVAs below that. */
#define EDU_IOVA_LIMIT		(1UL << 28)

#define MODPARAM_DIR		"/sys/module/vfio_iommu_mapcache/parameters"

/* Which backend a fixture variant runs on. */
enum vmc_backend {
	VMC_BACKEND_TYPE1,	/* stock vfio_iommu_type1 */
	VMC_BACKEND_MAPCACHE,	/* vfio_iommu_mapcache, picked as QEMU would */
};

struct vmc_env {
	int container;
	int group;
	int device;
	int iommu_type;
	uint64_t bar0_offset;
	uint64_t config_offset;
	char bdf[32];
};

const char *vmc_backend_name(enum vmc_backend backend);
/* 0, -errno, or 1 when the backend is not available (the caller skips). */
int vmc_env_open(struct vmc_env *env, enum vmc_backend backend);
void vmc_env_close(struct vmc_env *env);
/* Open a container and group only, with no IOMMU set (for ABI probing). */
int vmc_env_open_noiommu(struct vmc_env *env);
/* The group of PCI device @bdf, opened and viable: an fd, or -errno. */
int vmc_group_open(const char *bdf);

int _vmc_map(int container, uint64_t iova, void *vaddr, uint64_t size,
	     uint32_t flags);
int _vmc_unmap(int container, uint64_t iova, uint64_t size, uint32_t flags,
	       uint64_t *unmapped);
int _vmc_ioctl_argsz(int fd, unsigned long req, void *arg, uint32_t argsz);
/* VFIO_MAPCACHE_BATCH of @nr entries; *@nr_done as the kernel wrote it. */
int _vmc_batch(int container, struct vfio_mapcache_batch_entry *v, uint32_t nr,
	       uint32_t *nr_done);

/* edu DMA: RAM at @iova -> edu buffer, and edu buffer -> RAM at @iova. */
int vmc_edu_dma_to_dev(struct vmc_env *env, uint64_t iova, uint64_t dev_off,
		       uint32_t len);
int vmc_edu_dma_from_dev(struct vmc_env *env, uint64_t iova, uint64_t dev_off,
			 uint32_t len);
/* Tell the host runner how many DMAR faults QEMU must trace in this test. */
void vmc_expect_dmar_faults(int n);

void *vmc_alloc_pages(size_t nr_pages);
/* The usual pair of a DMA test: @nr_pages of a pattern, one page of @untouched. */
int vmc_dma_bufs(uint8_t **buf, size_t nr_pages, uint32_t seed, uint8_t **out,
		 uint8_t untouched);
void vmc_free_pages(void *p, size_t nr_pages);
/* Does [p, p + len) hold only @byte? */
bool vmc_all_bytes(const void *p, size_t len, uint8_t byte);
void vmc_fill_pattern(void *p, size_t len, uint32_t seed);

/* The whole GET_INFO reply, caps included, malloc'd; NULL with errno set. */
struct vfio_iommu_type1_info *vmc_get_info(int container);
/* Capability @id of a GET_INFO reply, or NULL. */
struct vfio_info_cap_header *vmc_find_cap(struct vfio_iommu_type1_info *info, uint16_t id);

/*
 * Run on CPU 0 only: under TCG a request's cost depends on the vCPU it runs
 * on and on migrations between them, which splits timing samples in two.
 */
void vmc_one_cpu(void);
/*
 * Is this a debug kernel (KASAN, lockdep, ...), which run-guest.sh marks
 * with VMC_TIMEOUT_SCALE > 1?
 */
bool vmc_debug_kernel(void);
/* CLOCK_MONOTONIC in microseconds. */
double vmc_now_us(void);
/* The median of @n values (0 for none); sorts them in place. */
double vmc_median(double *v, unsigned int n);
/* The same, leaving @v as it is. */
double vmc_median_copy(const double *v, unsigned int n);
/* The median of @a[i] / @b[i] over the @n pairs whose @b[i] is positive. */
double vmc_median_ratio(const double *a, const double *b, unsigned int n);

/* Read a number from a sysfs/debugfs file; -1 if it cannot be read. */
long long vmc_read_ll(const char *path);
int vmc_write_str(const char *path, const char *val);
/* locked_vm of this process in KiB (from /proc/self/status). */
long long vmc_locked_vm_kb(void);
/* Drop CAP_IPC_LOCK, so that RLIMIT_MEMLOCK applies: 0 or -errno. */
int vmc_drop_cap_ipc_lock(void);

/* debugfs counters of vfio_iommu_mapcache (module-wide and per container). */
#define VMC_DEBUGFS_DIR		"/sys/kernel/debug/vfio_mapcache"
#define VMC_STATS_TOTAL		VMC_DEBUGFS_DIR "/stats"
/*
 * The value of the line "@key N" of a stats file (lines looked up by name,
 * unknown ones ignored); -1 if the file or the key is missing.
 */
long long vmc_stat(const char *path, const char *key);
/* Module-wide pinned_pages of our backend; -1 if the module is not loaded. */
long long vmc_pinned_pages(void);
long long vmc_pinned_settles_at(long long want);
void vmc_sleep_ms(long ms);
/* locked_vm (VmLck) of process @pid in KiB, 0 for this process; -1 if gone. */
long long vmc_pid_locked_vm_kb(int pid);
/* A counter of this process's container (debugfs container-<id>/stats). */
long long vmc_container_stat(const char *key);
/* Is vfio_iommu_mapcache loaded? */
bool vmc_mapcache_loaded(void);
/*
 * The errno type1 gives a MAP_DMA or UNMAP_DMA whose range wraps past 2^64
 * on the running kernel: EINVAL before 6.18, EOVERFLOW since.
 */
int vmc_wrap_errno(void);

/*
 * The sysfs files of this process's VM (/sys/kernel/vfio_mapcache/<pid>/,
 * there while a container of ours is open): write @val to @file (0 or
 * -errno), read a number (-1 if it cannot be read), does @file exist.
 */
#define VMC_SYSFS_DIR		"/sys/kernel/vfio_mapcache"
int vmc_vm_write(const char *file, const char *val);
long long vmc_vm_read_ll(const char *file);
bool vmc_vm_has(const char *file);
/*
 * Give this process's VM the module's defaults again (default_* module
 * parameters: quota, idle window, policy, mode, prefetch): a VM's settings
 * outlive its containers.  0 or the first -errno.
 */
int vmc_vm_reset(void);

#define test_map(iova, vaddr, size, flags) \
	ASSERT_EQ(0, _vmc_map(self->env.container, iova, vaddr, size, flags))
#define test_err_map(_errno, iova, vaddr, size, flags) \
	ASSERT_EQ(-(_errno), _vmc_map(self->env.container, iova, vaddr, size, flags))
#define test_unmap(iova, size, expect_unmapped) \
	({ uint64_t __u = 0; \
	   ASSERT_EQ(0, _vmc_unmap(self->env.container, iova, size, 0, &__u)); \
	   ASSERT_EQ((uint64_t)(expect_unmapped), __u); })
#define test_err_unmap(_errno, iova, size, flags) \
	ASSERT_EQ(-(_errno), _vmc_unmap(self->env.container, iova, size, flags, NULL))

#endif /* VMC_LIB_H */
