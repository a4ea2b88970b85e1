// SPDX-License-Identifier: GPL-2.0
/*
 * Peer-to-peer maps: QEMU maps the BARs of assigned devices (VM_PFNMAP
 * memory, from an mmap of the VFIO device) into the IOMMU, so that devices
 * can reach each other's memory.  Such memory has no struct page: type1
 * maps it without pinning or charging it, and so must the map-cache,
 * without caching it either.  Each case runs on both backends, which must
 * give the same answers; the edu device then reads its own ID register
 * through the mapping (a DMA to its own BAR).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "vmc_lib.h"

#define PG		VMC_PAGE
#define BAR_SIZE	(1UL << 20)	/* edu's BAR0 */
#define EDU_ID		0x010000edU	/* edu register 0x00, version 1.0 */
#define IOVA_BAR	0x1000000UL
#define IOVA_OUT	0x4000000UL
#define UNTOUCHED	0x5a
#define R		VFIO_DMA_MAP_FLAG_READ
#define W		VFIO_DMA_MAP_FLAG_WRITE

FIXTURE(pfnmap) {
	struct vmc_env env;
	uint8_t *out;
	uint8_t *area;		/* a reservation: RAM pages, then the BAR */
	size_t area_len;
	long long base_pages;
	long long base_kb;
};

FIXTURE_VARIANT(pfnmap) {
	enum vmc_backend backend;
	const char *mode;	/* map-cache mode, NULL for type1 */
};

FIXTURE_VARIANT_ADD(pfnmap, type1) {
	.backend = VMC_BACKEND_TYPE1,
};

FIXTURE_VARIANT_ADD(pfnmap, strict) {
	.backend = VMC_BACKEND_MAPCACHE,
	.mode = "strict",
};

FIXTURE_VARIANT_ADD(pfnmap, lazy) {
	.backend = VMC_BACKEND_MAPCACHE,
	.mode = "lazy",
};

FIXTURE_VARIANT_ADD(pfnmap, off) {
	.backend = VMC_BACKEND_MAPCACHE,
	.mode = "off",
};

/* RAM pages at the start of the area, before the BAR. */
#define NR_RAM		4

FIXTURE_SETUP(pfnmap)
{
	int ret;

	self->base_pages = vmc_pinned_pages();
	self->base_kb = vmc_locked_vm_kb();
	ret = vmc_env_open(&self->env, variant->backend);
	if (ret == 1)
		SKIP(return, "backend %s not available", vmc_backend_name(variant->backend));
	ASSERT_EQ(0, ret);
	if (variant->mode)
		ASSERT_EQ(0, vmc_vm_write("mode", variant->mode));
	self->out = vmc_alloc_pages(1);
	ASSERT_NE(NULL, self->out);
	memset(self->out, UNTOUCHED, PG);
	/* Room for RAM, the BAR and nothing after it, at one address. */
	self->area_len = NR_RAM * PG + 2 * BAR_SIZE;
	self->area = mmap(NULL, self->area_len, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->area);
	ASSERT_EQ(0, munmap(self->area + NR_RAM * PG + BAR_SIZE, BAR_SIZE));
	ASSERT_EQ(self->area, mmap(self->area, NR_RAM * PG, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE,
				   -1, 0));
	memset(self->area, 0x33, NR_RAM * PG);
}

FIXTURE_TEARDOWN(pfnmap)
{
	vmc_env_close(&self->env);
	if (self->area && self->area != MAP_FAILED)
		munmap(self->area, NR_RAM * PG + BAR_SIZE);
}

/* The BAR, mmap()ed from the device with @prot right after the RAM pages. */
static uint8_t *map_bar(struct _test_data_pfnmap *self, int prot)
{
	void *bar = mmap(self->area + NR_RAM * PG, BAR_SIZE, prot, MAP_SHARED | MAP_FIXED,
			 self->env.device, self->env.bar0_offset);

	return bar == MAP_FAILED ? NULL : bar;
}

/* Does edu read its ID register through @iova?  (BAR -> dev -> out) */
static int dma_reads_id(struct _test_data_pfnmap *self, uint64_t iova)
{
	uint32_t id;

	memset(self->out, UNTOUCHED, PG);
	if (vmc_edu_dma_to_dev(&self->env, iova, 0, 4) ||
	    vmc_edu_dma_from_dev(&self->env, IOVA_OUT, 0, 4))
		return -1;
	memcpy(&id, self->out, 4);
	return id == EDU_ID && vmc_all_bytes(self->out + 4, PG - 4, UNTOUCHED);
}

/* Charged to locked_vm, and pinned module-wide: @nr_pages RAM pages, never the BAR. */
static void check_charged(struct __test_metadata *_metadata,
			  struct _test_data_pfnmap *self, long long nr_pages)
{
	ASSERT_EQ(self->base_kb + nr_pages * PG / 1024, vmc_locked_vm_kb());
	ASSERT_GE(self->base_pages + nr_pages, vmc_pinned_pages());
}

/* The whole BAR: mapped, reached, never pinned nor charged. */
TEST_F(pfnmap, whole_bar)
{
	uint8_t *bar = map_bar(self, PROT_READ | PROT_WRITE);

	ASSERT_NE(NULL, bar);
	test_map(IOVA_OUT, self->out, PG, W);
	test_map(IOVA_BAR, bar, BAR_SIZE, R | W);
	/* The out page only. */
	check_charged(_metadata, self, 1);
	if (variant->mode)
		ASSERT_GE(PG, vmc_vm_read_ll("pinned_bytes"));
	ASSERT_EQ(1, dma_reads_id(self, IOVA_BAR));
	test_unmap(IOVA_BAR, BAR_SIZE, BAR_SIZE);
	test_unmap(IOVA_OUT, PG, PG);
	/* The BAR's mmap holds the device, and so the container, open. */
	ASSERT_EQ(0, munmap(bar, BAR_SIZE));
	vmc_env_close(&self->env);
	ASSERT_EQ(self->base_kb, vmc_locked_vm_kb());
	ASSERT_EQ(self->base_pages, vmc_pinned_pages());
}

/* Part of the BAR, at an offset, mapped again after an unmap. */
TEST_F(pfnmap, bar_offset_and_remap)
{
	uint8_t *bar = map_bar(self, PROT_READ | PROT_WRITE);
	uint64_t i;

	ASSERT_NE(NULL, bar);
	test_map(IOVA_OUT, self->out, PG, W);
	for (i = 0; i < 3; i++) {
		test_map(IOVA_BAR + PG, bar, 4 * PG, R);
		test_map(IOVA_BAR + 8 * PG, bar + 16 * PG, 4 * PG, R);
		ASSERT_EQ(1, dma_reads_id(self, IOVA_BAR + PG));
		test_unmap(IOVA_BAR + PG, 4 * PG, 4 * PG);
		test_unmap(IOVA_BAR + 8 * PG, 4 * PG, 4 * PG);
	}
	check_charged(_metadata, self, 1);
	if (variant->mode)
		ASSERT_EQ(0, vmc_container_stat("full_hits"));
}

/* RAM pages and the BAR in one range: both mapped, only RAM charged. */
TEST_F(pfnmap, ram_then_bar)
{
	uint8_t *bar = map_bar(self, PROT_READ | PROT_WRITE);

	ASSERT_NE(NULL, bar);
	test_map(IOVA_OUT, self->out, PG, W);
	test_map(IOVA_BAR, self->area, NR_RAM * PG + 2 * PG, R);
	check_charged(_metadata, self, NR_RAM + 1);
	ASSERT_EQ(1, dma_reads_id(self, IOVA_BAR + NR_RAM * PG));
	memset(self->out, UNTOUCHED, PG);
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env, IOVA_BAR + PG, 0, 64));
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env, IOVA_OUT, 0, 64));
	ASSERT_TRUE(vmc_all_bytes(self->out, 64, 0x33));
	test_unmap(IOVA_BAR, NR_RAM * PG + 2 * PG, NR_RAM * PG + 2 * PG);
	/* Pinned outside the cache (mode off's path): unpinned at unmap. */
	check_charged(_metadata, self, 1);
}

/* A range that runs past the end of the BAR into nothing: EFAULT, undone. */
TEST_F(pfnmap, past_the_end)
{
	uint8_t *bar = map_bar(self, PROT_READ | PROT_WRITE);

	ASSERT_NE(NULL, bar);
	/* Misaligned address, IOVA or size: EINVAL before anything is looked up. */
	test_err_map(EINVAL, IOVA_BAR, bar + 512, PG, R);
	test_err_map(EINVAL, IOVA_BAR + 512, bar, PG, R);
	test_err_map(EINVAL, IOVA_BAR, bar, PG + 512, R);
	test_err_map(EFAULT, IOVA_BAR, bar + BAR_SIZE / 2, BAR_SIZE, R);
	test_err_map(EFAULT, IOVA_BAR, bar + BAR_SIZE, PG, R);
	check_charged(_metadata, self, 0);
	/* Nothing of the failed maps is left at those IOVAs. */
	test_map(IOVA_BAR, bar, PG, R);
	test_unmap(IOVA_BAR, PG, PG);
}

/* A read-only BAR mmap: readable maps work, writable ones fail, as in type1. */
TEST_F(pfnmap, read_only_bar)
{
	uint8_t *bar = map_bar(self, PROT_READ);

	ASSERT_NE(NULL, bar);
	test_err_map(EFAULT, IOVA_BAR, bar, 4 * PG, R | W);
	test_map(IOVA_OUT, self->out, PG, W);
	test_map(IOVA_BAR, bar, 4 * PG, R);
	ASSERT_EQ(1, dma_reads_id(self, IOVA_BAR));
	check_charged(_metadata, self, 1);
}

TEST_HARNESS_MAIN
