// SPDX-License-Identifier: GPL-2.0
/*
 * Real DMA through the emulated VT-d: the edu device copies guest memory
 * into its buffer and back, and the bytes it moved are checked.  A DMA to an
 * IOVA that is not mapped must leave memory untouched and make QEMU trace a
 * DMAR fault (the host runner checks that part).
 */
#include <stdint.h>
#include <string.h>

#include "kselftest_harness.h"
#include "vmc_lib.h"

#define IOVA_SRC	0x100000UL
#define IOVA_DST	0x200000UL
#define NR_PAGES	4
#define UNTOUCHED	0x5a

FIXTURE(dma) {
	struct vmc_env env;
	uint8_t *src;
	uint8_t *dst;
};

FIXTURE_VARIANT(dma) {
	enum vmc_backend backend;
};

FIXTURE_VARIANT_ADD(dma, type1) {
	.backend = VMC_BACKEND_TYPE1,
};

FIXTURE_VARIANT_ADD(dma, mapcache) {
	.backend = VMC_BACKEND_MAPCACHE,
};

FIXTURE_SETUP(dma)
{
	int ret = vmc_env_open(&self->env, variant->backend);

	if (ret == 1)
		SKIP(return, "backend %s not available", vmc_backend_name(variant->backend));
	ASSERT_EQ(0, ret);
	self->src = vmc_alloc_pages(NR_PAGES);
	self->dst = vmc_alloc_pages(NR_PAGES);
	ASSERT_NE(NULL, self->src);
	ASSERT_NE(NULL, self->dst);
	vmc_fill_pattern(self->src, NR_PAGES * VMC_PAGE, 1);
	memset(self->dst, UNTOUCHED, NR_PAGES * VMC_PAGE);
}

FIXTURE_TEARDOWN(dma)
{
	if (self->src)
		vmc_free_pages(self->src, NR_PAGES);
	if (self->dst)
		vmc_free_pages(self->dst, NR_PAGES);
	vmc_env_close(&self->env);
}

/* RAM -> edu -> RAM through two mappings; exactly @len bytes move. */
TEST_F(dma, round_trip)
{
	const uint32_t len = EDU_DMA_MAX;

	test_map(IOVA_SRC, self->src, NR_PAGES * VMC_PAGE, VFIO_DMA_MAP_FLAG_READ);
	test_map(IOVA_DST, self->dst, NR_PAGES * VMC_PAGE, VFIO_DMA_MAP_FLAG_WRITE);
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env, IOVA_SRC, 0, len));
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env, IOVA_DST, 0, len));
	ASSERT_EQ(0, memcmp(self->src, self->dst, len));
	ASSERT_TRUE(vmc_all_bytes(self->dst + len, NR_PAGES * VMC_PAGE - len, UNTOUCHED));
}

/* Offsets inside a multi-page mapping reach the right pages. */
TEST_F(dma, round_trip_offsets)
{
	const uint64_t off_src = 2 * VMC_PAGE + 100, off_dst = VMC_PAGE + 7;
	const uint32_t len = 1000;

	test_map(IOVA_SRC, self->src, NR_PAGES * VMC_PAGE, VFIO_DMA_MAP_FLAG_READ);
	test_map(IOVA_DST, self->dst, NR_PAGES * VMC_PAGE, VFIO_DMA_MAP_FLAG_WRITE);
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env, IOVA_SRC + off_src, 0, len));
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env, IOVA_DST + off_dst, 0, len));
	ASSERT_EQ(0, memcmp(self->src + off_src, self->dst + off_dst, len));
	ASSERT_TRUE(vmc_all_bytes(self->dst, off_dst, UNTOUCHED));
	ASSERT_TRUE(vmc_all_bytes(self->dst + off_dst + len,
				  NR_PAGES * VMC_PAGE - off_dst - len, UNTOUCHED));
}

/* After UNMAP_DMA the IOVA is gone: the DMA faults and writes nothing. */
TEST_F(dma, after_unmap_faults)
{
	const uint32_t len = 2048;

	test_map(IOVA_SRC, self->src, VMC_PAGE, VFIO_DMA_MAP_FLAG_READ);
	test_map(IOVA_DST, self->dst, VMC_PAGE, VFIO_DMA_MAP_FLAG_WRITE);
	/* Load edu's buffer with the pattern, prove the path works. */
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env, IOVA_SRC, 0, len));
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env, IOVA_DST, 0, len));
	ASSERT_EQ(0, memcmp(self->src, self->dst, len));

	memset(self->dst, UNTOUCHED, VMC_PAGE);
	test_unmap(IOVA_DST, VMC_PAGE, VMC_PAGE);
	vmc_expect_dmar_faults(1);
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env, IOVA_DST, 0, len));
	ASSERT_TRUE(vmc_all_bytes(self->dst, NR_PAGES * VMC_PAGE, UNTOUCHED));
}

/* A read-only mapping cannot be written by the device. */
TEST_F(dma, write_to_readonly_faults)
{
	const uint32_t len = 512;

	test_map(IOVA_SRC, self->src, VMC_PAGE, VFIO_DMA_MAP_FLAG_READ);
	test_map(IOVA_DST, self->dst, VMC_PAGE, VFIO_DMA_MAP_FLAG_READ);
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env, IOVA_SRC, 0, len));
	vmc_expect_dmar_faults(1);
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env, IOVA_DST, 0, len));
	ASSERT_TRUE(vmc_all_bytes(self->dst, NR_PAGES * VMC_PAGE, UNTOUCHED));
}

/* A remap of the same IOVA to another page: the DMA reaches the new page. */
TEST_F(dma, remap_reaches_new_page)
{
	const uint32_t len = 1024;

	test_map(IOVA_SRC, self->src, VMC_PAGE, VFIO_DMA_MAP_FLAG_READ);
	test_map(IOVA_DST, self->dst, VMC_PAGE, VFIO_DMA_MAP_FLAG_WRITE);
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env, IOVA_SRC, 0, len));
	test_unmap(IOVA_DST, VMC_PAGE, VMC_PAGE);
	test_map(IOVA_DST, self->dst + VMC_PAGE, VMC_PAGE, VFIO_DMA_MAP_FLAG_WRITE);
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env, IOVA_DST, 0, len));
	ASSERT_EQ(0, memcmp(self->src, self->dst + VMC_PAGE, len));
	ASSERT_TRUE(vmc_all_bytes(self->dst, VMC_PAGE, UNTOUCHED));
}

TEST_HARNESS_MAIN
