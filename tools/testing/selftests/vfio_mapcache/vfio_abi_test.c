// SPDX-License-Identifier: GPL-2.0
/*
 * The VFIO Type1v2 ioctl ABI as userspace sees it: VFIO_IOMMU_GET_INFO and
 * the validation of MAP_DMA / UNMAP_DMA.  Every test runs on stock
 * vfio_iommu_type1 and on vfio_iommu_mapcache; the expected errnos are the
 * ones stock type1 gives (recorded on 6.1 and 6.12), which our backend must
 * match.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>

#include "kselftest_harness.h"

#include "vmc_lib.h"

#define IOVA_BASE	0x100000UL
#define MSI_BASE	0xfee00000UL
#define RW		(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define NR_PAGES	16
#define TAIL_BYTE	0xa5

FIXTURE(abi) {
	struct vmc_env env;
	void *buf;
};

FIXTURE_VARIANT(abi) {
	enum vmc_backend backend;
};

FIXTURE_VARIANT_ADD(abi, type1) {
	.backend = VMC_BACKEND_TYPE1,
};

FIXTURE_VARIANT_ADD(abi, mapcache) {
	.backend = VMC_BACKEND_MAPCACHE,
};

FIXTURE_SETUP(abi)
{
	int ret = vmc_env_open(&self->env, variant->backend);

	if (ret == 1)
		SKIP(return, "backend %s not available", vmc_backend_name(variant->backend));
	ASSERT_EQ(0, ret);
	self->buf = vmc_alloc_pages(NR_PAGES);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(abi)
{
	if (self->buf)
		vmc_free_pages(self->buf, NR_PAGES);
	vmc_env_close(&self->env);
}

TEST_F(abi, info_pgsizes)
{
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };

	ASSERT_EQ(0, ioctl(self->env.container, VFIO_IOMMU_GET_INFO, &info));
	ASSERT_TRUE(info.flags & VFIO_IOMMU_INFO_PGSIZES);
	/* 4 KiB pages, and nothing smaller. */
	ASSERT_TRUE(info.iova_pgsizes & VMC_PAGE);
	ASSERT_EQ(0, info.iova_pgsizes & (VMC_PAGE - 1));
	/* Caps did not fit: the kernel says how much room they need. */
	ASSERT_TRUE(info.flags & VFIO_IOMMU_INFO_CAPS);
	ASSERT_LT(sizeof(info), info.argsz);
	ASSERT_EQ(0, info.cap_offset);
}

TEST_F(abi, info_iova_ranges)
{
	struct vfio_iommu_type1_info *info = vmc_get_info(self->env.container);
	struct vfio_iommu_type1_info_cap_iova_range *cap;
	uint64_t prev_end = 0;
	uint32_t i;

	ASSERT_NE(NULL, info);
	cap = (void *)vmc_find_cap(info, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	ASSERT_NE(NULL, cap);
	ASSERT_LE(1, cap->nr_iovas);
	for (i = 0; i < cap->nr_iovas; i++) {
		struct vfio_iova_range *r = &cap->iova_ranges[i];

		ASSERT_LE(r->start, r->end);
		if (i)
			ASSERT_LT(prev_end, r->start);
		prev_end = r->end;
		/* The MSI window is reserved, never usable IOVA space. */
		ASSERT_FALSE(r->start <= MSI_BASE && MSI_BASE <= r->end);
	}
	/* Our test IOVAs lie in the first range. */
	ASSERT_LE(cap->iova_ranges[0].start, IOVA_BASE);
	ASSERT_LE(EDU_IOVA_LIMIT, cap->iova_ranges[0].end);
	free(info);
}

TEST_F(abi, info_dma_avail)
{
	struct vfio_iommu_type1_info *info = vmc_get_info(self->env.container);
	struct vfio_iommu_type1_info_dma_avail *cap;
	uint32_t before;

	ASSERT_NE(NULL, info);
	cap = (void *)vmc_find_cap(info, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	ASSERT_NE(NULL, cap);
	before = cap->avail;
	ASSERT_LT(0, before);
	free(info);

	test_map(IOVA_BASE, self->buf, VMC_PAGE, RW);
	info = vmc_get_info(self->env.container);
	ASSERT_NE(NULL, info);
	cap = (void *)vmc_find_cap(info, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	ASSERT_NE(NULL, cap);
	ASSERT_EQ(before - 1, cap->avail);
	free(info);
}

/*
 * Every argsz from 0 to past the full reply: too small is EINVAL, anything
 * else succeeds, and the kernel never writes a byte past argsz.
 */
TEST_F(abi, info_every_argsz)
{
	struct vfio_iommu_type1_info *full = vmc_get_info(self->env.container);
	const uint32_t minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	uint32_t argsz, total;
	uint8_t *buf;

	ASSERT_NE(NULL, full);
	total = full->argsz;
	buf = malloc(total + 64);
	ASSERT_NE(NULL, buf);
	for (argsz = 0; argsz <= total + 32; argsz++) {
		struct vfio_iommu_type1_info *info = (void *)buf;
		int ret;

		memset(buf, TAIL_BYTE, total + 64);
		ret = _vmc_ioctl_argsz(self->env.container, VFIO_IOMMU_GET_INFO,
				       buf, argsz);
		if (argsz < minsz) {
			ASSERT_EQ(-EINVAL, ret) TH_LOG("argsz %u", argsz);
			/* Only our own argsz may be there; the rest untouched. */
			ASSERT_TRUE(vmc_all_bytes(buf + 4, total + 60, TAIL_BYTE));
			continue;
		}
		ASSERT_EQ(0, ret) TH_LOG("argsz %u", argsz);
		ASSERT_TRUE(vmc_all_bytes(buf + argsz, total + 64 - argsz, TAIL_BYTE))
			TH_LOG("argsz %u: write past argsz", argsz);
		ASSERT_EQ(full->iova_pgsizes, info->iova_pgsizes);
		if (argsz < total) {
			/* Too small for the caps: told the size they need. */
			ASSERT_EQ(total, info->argsz);
		} else {
			ASSERT_EQ(argsz, info->argsz);
			ASSERT_EQ(0, memcmp(buf + sizeof(*info), (uint8_t *)full + sizeof(*info),
					    total - sizeof(*info)));
		}
	}
	free(buf);
	free(full);
}

TEST_F(abi, map_argsz_too_small)
{
	struct vfio_iommu_type1_dma_map map = {
		.flags = RW, .vaddr = (uintptr_t)self->buf,
		.iova = IOVA_BASE, .size = VMC_PAGE,
	};
	uint32_t minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);

	ASSERT_EQ(-EINVAL, _vmc_ioctl_argsz(self->env.container, VFIO_IOMMU_MAP_DMA,
					    &map, minsz - 1));
	ASSERT_EQ(-EINVAL, _vmc_ioctl_argsz(self->env.container, VFIO_IOMMU_MAP_DMA,
					    &map, 0));
	/* Larger than the struct is fine. */
	ASSERT_EQ(0, _vmc_ioctl_argsz(self->env.container, VFIO_IOMMU_MAP_DMA,
				      &map, sizeof(map) + 64));
	test_unmap(IOVA_BASE, VMC_PAGE, VMC_PAGE);
}

TEST_F(abi, unmap_argsz_too_small)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.iova = IOVA_BASE, .size = VMC_PAGE,
	};
	uint32_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);

	test_map(IOVA_BASE, self->buf, VMC_PAGE, RW);
	ASSERT_EQ(-EINVAL, _vmc_ioctl_argsz(self->env.container, VFIO_IOMMU_UNMAP_DMA,
					    &unmap, minsz - 1));
	ASSERT_EQ(0, _vmc_ioctl_argsz(self->env.container, VFIO_IOMMU_UNMAP_DMA,
				      &unmap, sizeof(unmap) + 64));
	ASSERT_EQ(VMC_PAGE, unmap.size);
}

TEST_F(abi, map_bad_flags)
{
	void *b = self->buf;

	/* Neither READ nor WRITE. */
	test_err_map(EINVAL, IOVA_BASE, b, VMC_PAGE, 0);
	/* Unknown flag bits. */
	test_err_map(EINVAL, IOVA_BASE, b, VMC_PAGE, RW | (1U << 3));
	test_err_map(EINVAL, IOVA_BASE, b, VMC_PAGE, RW | (1U << 31));
	/* VADDR update of a range that was never mapped. */
	test_err_map(EINVAL, IOVA_BASE, b, VMC_PAGE, RW | VFIO_DMA_MAP_FLAG_VADDR);
	/* Read-only and write-only maps are fine. */
	test_map(IOVA_BASE, b, VMC_PAGE, VFIO_DMA_MAP_FLAG_READ);
	test_map(IOVA_BASE + VMC_PAGE, (char *)b + VMC_PAGE, VMC_PAGE,
		 VFIO_DMA_MAP_FLAG_WRITE);
}

TEST_F(abi, map_unaligned)
{
	char *b = self->buf;

	test_err_map(EINVAL, IOVA_BASE + 1, b, VMC_PAGE, RW);
	test_err_map(EINVAL, IOVA_BASE + 2048, b, VMC_PAGE, RW);
	test_err_map(EINVAL, IOVA_BASE, b + 8, VMC_PAGE, RW);
	test_err_map(EINVAL, IOVA_BASE, b, VMC_PAGE + 1, RW);
	test_err_map(EINVAL, IOVA_BASE, b, VMC_PAGE - 1, RW);
}

TEST_F(abi, map_zero_size)
{
	test_err_map(EINVAL, IOVA_BASE, self->buf, 0, RW);
}

TEST_F(abi, map_wrap)
{
	/* IOVA + size wraps past 2^64 (EOVERFLOW since 6.18). */
	test_err_map(vmc_wrap_errno(), ~0ULL - VMC_PAGE + 1, self->buf, 2 * VMC_PAGE, RW);
	/* vaddr + size wraps. */
	test_err_map(vmc_wrap_errno(), IOVA_BASE, (void *)(~0UL - VMC_PAGE + 1), 2 * VMC_PAGE, RW);
	/* Since 6.18 a wrap is found before bad flags and misalignment. */
	test_err_map(vmc_wrap_errno(), ~0ULL - VMC_PAGE + 1, self->buf, 2 * VMC_PAGE, 0);
	test_err_map(vmc_wrap_errno(), ~0ULL - VMC_PAGE + 2, self->buf, 2 * VMC_PAGE, RW);
	/* Outside every usable IOVA range (the MSI window, the top). */
	test_err_map(EINVAL, MSI_BASE, self->buf, VMC_PAGE, RW);
	test_err_map(EINVAL, ~0ULL - VMC_PAGE + 1, self->buf, VMC_PAGE, RW);
}

TEST_F(abi, map_overlap)
{
	char *b = self->buf;

	test_map(IOVA_BASE + VMC_PAGE, b, 2 * VMC_PAGE, RW);
	test_err_map(EEXIST, IOVA_BASE + VMC_PAGE, b, 2 * VMC_PAGE, RW);
	test_err_map(EEXIST, IOVA_BASE, b, 2 * VMC_PAGE, RW);
	test_err_map(EEXIST, IOVA_BASE + 2 * VMC_PAGE, b, 2 * VMC_PAGE, RW);
	test_err_map(EEXIST, IOVA_BASE, b, 8 * VMC_PAGE, RW);
	/* Adjacent on both sides is fine. */
	test_map(IOVA_BASE, b, VMC_PAGE, RW);
	test_map(IOVA_BASE + 3 * VMC_PAGE, b, VMC_PAGE, RW);
}

TEST_F(abi, unmap_nothing)
{
	test_unmap(IOVA_BASE, VMC_PAGE, 0);
	test_map(IOVA_BASE, self->buf, VMC_PAGE, RW);
	test_unmap(IOVA_BASE + 4 * VMC_PAGE, 4 * VMC_PAGE, 0);
	test_unmap(IOVA_BASE, VMC_PAGE, VMC_PAGE);
	test_unmap(IOVA_BASE, VMC_PAGE, 0);
}

TEST_F(abi, unmap_split)
{
	test_map(IOVA_BASE, self->buf, 4 * VMC_PAGE, RW);
	/* Head, tail and middle of a mapping. */
	test_err_unmap(EINVAL, IOVA_BASE, VMC_PAGE, 0);
	test_err_unmap(EINVAL, IOVA_BASE + 3 * VMC_PAGE, VMC_PAGE, 0);
	test_err_unmap(EINVAL, IOVA_BASE + VMC_PAGE, 2 * VMC_PAGE, 0);
	/* Starting inside, ending past it. */
	test_err_unmap(EINVAL, IOVA_BASE + VMC_PAGE, 8 * VMC_PAGE, 0);
	/* Covering it whole, with room around, unmaps it. */
	test_unmap(IOVA_BASE - VMC_PAGE, 8 * VMC_PAGE, 4 * VMC_PAGE);
}

TEST_F(abi, unmap_covers_several)
{
	char *b = self->buf;

	test_map(IOVA_BASE, b, VMC_PAGE, RW);
	test_map(IOVA_BASE + 2 * VMC_PAGE, b + VMC_PAGE, 2 * VMC_PAGE, RW);
	test_map(IOVA_BASE + 8 * VMC_PAGE, b, VMC_PAGE, RW);
	test_unmap(IOVA_BASE, 4 * VMC_PAGE, 3 * VMC_PAGE);
	test_unmap(IOVA_BASE, 16 * VMC_PAGE, VMC_PAGE);
}

TEST_F(abi, unmap_bad)
{
	test_map(IOVA_BASE, self->buf, VMC_PAGE, RW);
	test_err_unmap(EINVAL, IOVA_BASE, 0, 0);
	test_err_unmap(EINVAL, IOVA_BASE + 1, VMC_PAGE, 0);
	test_err_unmap(EINVAL, IOVA_BASE, VMC_PAGE + 1, 0);
	test_err_unmap(vmc_wrap_errno(), ~0ULL - VMC_PAGE + 1, 2 * VMC_PAGE, 0);
	test_err_unmap(EINVAL, IOVA_BASE, VMC_PAGE, 1U << 5);
	/* Dirty bitmap without dirty tracking started. */
	test_err_unmap(EINVAL, IOVA_BASE, VMC_PAGE, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP);
	test_unmap(IOVA_BASE, VMC_PAGE, VMC_PAGE);
}

TEST_F(abi, unmap_all)
{
	char *b = self->buf;
	uint64_t unmapped = 0;

	test_map(IOVA_BASE, b, VMC_PAGE, RW);
	test_map(IOVA_BASE + 4 * VMC_PAGE, b, 3 * VMC_PAGE, RW);
	test_err_unmap(EINVAL, IOVA_BASE, 0, VFIO_DMA_UNMAP_FLAG_ALL);
	test_err_unmap(EINVAL, 0, VMC_PAGE, VFIO_DMA_UNMAP_FLAG_ALL);
	test_err_unmap(EINVAL, IOVA_BASE, VMC_PAGE, VFIO_DMA_UNMAP_FLAG_ALL);
	ASSERT_EQ(0, _vmc_unmap(self->env.container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL,
				&unmapped));
	ASSERT_EQ(4 * VMC_PAGE, unmapped);
	ASSERT_EQ(0, _vmc_unmap(self->env.container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL,
				&unmapped));
	ASSERT_EQ(0, unmapped);
	/* Everything is gone: the same IOVAs map again. */
	test_map(IOVA_BASE, b, 8 * VMC_PAGE, RW);
}

/* 1 if the running kernel is older than @major.@minor, else 0. */
static int kernel_older_than(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return 0;
	return ma < major || (ma == major && mi < minor);
}

TEST_F(abi, extensions)
{
	int c = self->env.container;

	ASSERT_EQ(1, ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU));
	/* Type1 says 1 for the types it serves, on any container. */
	ASSERT_EQ(1, ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU));
	/* 6, VFIO_TYPE1_NESTING_IOMMU until 6.13, reserved since. */
	ASSERT_EQ(kernel_older_than(6, 13), ioctl(c, VFIO_CHECK_EXTENSION, 6));
	ASSERT_EQ(1, ioctl(c, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL));
	ASSERT_EQ(0, ioctl(c, VFIO_CHECK_EXTENSION, 0x7fff));
}

TEST_HARNESS_MAIN
