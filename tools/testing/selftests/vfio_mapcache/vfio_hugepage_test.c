// SPDX-License-Identifier: GPL-2.0
/*
 * Guest RAM on huge pages, as QEMU backs it with hugetlbfs or transparent
 * huge pages: a map of it works through the IOMMU as type1's does, and is
 * made of IOMMU superpages where the IOVA and the memory allow them.
 *
 * Each variant maps a region of huge-page memory (four 2 MiB pages, or one
 * 1 GiB page) at an IOVA aligned to the page size, and
 *  - dma: has edu read the region at its start, across a huge-page
 *    boundary and at its end (the bytes match), and write into it (the
 *    bytes it wrote land, the bytes around them stay), then unmaps, closes
 *    the container, and finds the pins and locked_vm back where they were;
 *  - superpages: with the IOMMU driver's debugfs (INTEL_IOMMU_DEBUGFS, the
 *    debug kernel), reads the device's I/O page table while the map is
 *    live and requires every leaf entry of the region to be of the huge
 *    page's size, which is what type1 makes of such memory; it skips
 *    without that debugfs.
 * The split fixture (THP, each backend and mode) splits the first huge
 * page's mapping in the process (an mprotect() of one 4 KiB page of it,
 * then back), which the mmu notifier sees as a change of the whole 2 MiB;
 * the live mapping must go on reaching the very pages the process sees:
 * edu's write there shows up in the process's memory, and a read returns
 * what the process wrote after the split.
 * Backings: hugetlb 2 MiB pages (the test raises nr_hugepages for its four
 * and puts it back), THP (madvise(MADV_HUGEPAGE); skipped if the kernel
 * gives no huge page), and a hugetlb 1 GiB page, only where one is free
 * (reserved on the guest's command line: hugepagesz=1G hugepages=1, with
 * a CPU that has pdpe1gb).  edu reaches IOVAs below 256 MiB only, so the
 * 1 GiB page is mapped at IOVA 0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/mman.h>

#include "kselftest_harness.h"
#include "vmc_lib.h"

#define PG		VMC_PAGE
#define SZ_2M		(2UL << 20)
#define SZ_1G		(1UL << 30)
#define IOVA_2M		0x4000000UL	/* 64 MiB: 2 MiB aligned, edu reaches it */
#define IOVA_OUT	0x2000000UL
#define UNTOUCHED	0x5a
#define SEED		7
#define RW		(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define NR_HUGE_2M	4

#define NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"
#define FREE_2M		"/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
#define FREE_1G		"/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages"
#define IOMMU_DEBUGFS	"/sys/kernel/debug/iommu/intel"

enum backing { HUGETLB_2M, THP_2M, HUGETLB_1G };

FIXTURE(huge) {
	struct vmc_env env;
	uint8_t *region;	/* the huge-page memory, aligned */
	void *mapping;		/* what mmap() gave, to munmap() */
	size_t mapping_len;
	size_t len;		/* bytes of the region */
	size_t dma_len;		/* bytes of it edu can reach (below 256 MiB) */
	size_t page;		/* its huge-page size */
	uint64_t iova;
	uint8_t *out;		/* one page edu writes what it read into */
	uint64_t out_iova;	/* its IOVA */
	bool own_out;		/* a page of its own, not one of the region */
	long long old_nr_huge;	/* nr_hugepages to put back, -1: untouched */
	long long base_pinned;
	long long base_kb;
};

FIXTURE_VARIANT(huge) {
	enum vmc_backend backend;
	const char *mode;	/* map-cache mode, NULL for type1 */
	enum backing backing;
};

#define HUGE_VARIANT(name, be, md, bk) \
	FIXTURE_VARIANT_ADD(huge, name) { .backend = (be), .mode = (md), .backing = (bk) }

HUGE_VARIANT(type1_hugetlb_2m, VMC_BACKEND_TYPE1, NULL, HUGETLB_2M);
HUGE_VARIANT(strict_hugetlb_2m, VMC_BACKEND_MAPCACHE, "strict", HUGETLB_2M);
HUGE_VARIANT(lazy_hugetlb_2m, VMC_BACKEND_MAPCACHE, "lazy", HUGETLB_2M);
HUGE_VARIANT(off_hugetlb_2m, VMC_BACKEND_MAPCACHE, "off", HUGETLB_2M);
HUGE_VARIANT(type1_thp, VMC_BACKEND_TYPE1, NULL, THP_2M);
HUGE_VARIANT(strict_thp, VMC_BACKEND_MAPCACHE, "strict", THP_2M);
HUGE_VARIANT(off_thp, VMC_BACKEND_MAPCACHE, "off", THP_2M);
HUGE_VARIANT(type1_hugetlb_1g, VMC_BACKEND_TYPE1, NULL, HUGETLB_1G);
HUGE_VARIANT(strict_hugetlb_1g, VMC_BACKEND_MAPCACHE, "strict", HUGETLB_1G);
HUGE_VARIANT(off_hugetlb_1g, VMC_BACKEND_MAPCACHE, "off", HUGETLB_1G);

/*
 * Four 2 MiB hugetlb pages (reserved on the command line, or added to
 * nr_hugepages for the test): the region, or NULL (@why says why).
 */
static uint8_t *hugetlb_2m(struct _test_data_huge *self, const char **why)
{
	long long nr = vmc_read_ll(NR_HUGEPAGES), free = vmc_read_ll(FREE_2M);
	char val[32];
	void *p;

	if (nr < 0 || free < 0) {
		*why = "no hugetlbfs in this kernel";
		return NULL;
	}
	if (free < NR_HUGE_2M) {
		snprintf(val, sizeof(val), "%lld", nr + NR_HUGE_2M - free);
		if (!vmc_write_str(NR_HUGEPAGES, val))
			self->old_nr_huge = nr;
	}
	self->mapping_len = NR_HUGE_2M * SZ_2M;
	p = mmap(NULL, self->mapping_len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED) {
		*why = "no free 2 MiB huge pages";
		return NULL;
	}
	self->mapping = p;
	return p;
}

/* AnonHugePages of the mapping at @addr, in KiB (/proc/self/smaps); -1 if none. */
static long long anon_huge_kb(const void *addr)
{
	char line[256];
	unsigned long start, end;
	long long kb = -1;
	bool in = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in = (unsigned long)addr >= start && (unsigned long)addr < end;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %lld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/* Four 2 MiB transparent huge pages: the region, or NULL (@why says why). */
static uint8_t *thp_2m(struct _test_data_huge *self, const char **why)
{
	size_t len = NR_HUGE_2M * SZ_2M;
	uint8_t *p, *r;

	/* Room to align to 2 MiB. */
	self->mapping_len = len + SZ_2M;
	p = mmap(NULL, self->mapping_len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		*why = "mmap failed";
		return NULL;
	}
	self->mapping = p;
	r = (uint8_t *)(((unsigned long)p + SZ_2M - 1) & ~(SZ_2M - 1));
	if (madvise(r, len, MADV_HUGEPAGE)) {
		*why = "no MADV_HUGEPAGE (THP not built in)";
		return NULL;
	}
	memset(r, 0, len);
	if (anon_huge_kb(r) < (long long)(len >> 10)) {
		*why = "the kernel gave no transparent huge pages (transparent_hugepage/enabled is never?)";
		return NULL;
	}
	return r;
}

/* One 1 GiB hugetlb page, if one is free: the region, or NULL. */
static uint8_t *hugetlb_1g(struct _test_data_huge *self, const char **why)
{
	void *p;

	if (vmc_read_ll(FREE_1G) < 1) {
		*why = "no free 1 GiB huge page (reserve one: hugepagesz=1G hugepages=1)";
		return NULL;
	}
	self->mapping_len = SZ_1G;
	p = mmap(NULL, SZ_1G, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_1GB, -1, 0);
	if (p == MAP_FAILED) {
		*why = "the free 1 GiB page could not be mapped";
		return NULL;
	}
	self->mapping = p;
	return p;
}

/*
 * The region of @backing, mapped with edu's output page on @backend in
 * @mode: 0, 1 to skip (*@why says why), or -errno.
 */
static int region_setup(struct _test_data_huge *self, enum vmc_backend backend,
		      const char *mode, enum backing backing, const char **why)
{
	double t0;
	int ret;

	self->old_nr_huge = -1;
	self->env.container = -1;
	self->base_pinned = vmc_pinned_pages();
	self->base_kb = vmc_locked_vm_kb();
	switch (backing) {
	case HUGETLB_2M:
		self->region = hugetlb_2m(self, why);
		break;
	case THP_2M:
		self->region = thp_2m(self, why);
		break;
	case HUGETLB_1G:
		self->region = hugetlb_1g(self, why);
		break;
	}
	if (!self->region)
		return 1;
	self->page = backing == HUGETLB_1G ? SZ_1G : SZ_2M;
	self->len = backing == HUGETLB_1G ? SZ_1G : NR_HUGE_2M * SZ_2M;
	self->iova = backing == HUGETLB_1G ? 0 : IOVA_2M;
	self->dma_len = self->len < EDU_IOVA_LIMIT - self->iova ? self->len :
			EDU_IOVA_LIMIT - self->iova;
	/* What edu reads and writes: the first and last 4 MiB it reaches. */
	vmc_fill_pattern(self->region, 4 << 20, SEED);
	vmc_fill_pattern(self->region + self->dma_len - (4 << 20), 4 << 20, SEED + 2);

	ret = vmc_env_open(&self->env, backend);
	if (ret == 1)
		*why = "backend not available";
	if (ret)
		return ret;
	if (mode) {
		ret = vmc_vm_write("mode", mode) ?: vmc_vm_write("quota_bytes", "0");
		if (ret)
			return ret;
	}
	/*
	 * The 1 GiB page at IOVA 0 covers all that edu reaches: its output
	 * page is one of the region, 64 MiB in, away from what is checked.
	 */
	if (backing == HUGETLB_1G) {
		self->out = self->region + (64 << 20);
		self->out_iova = self->iova + (64 << 20);
	} else {
		self->out = vmc_alloc_pages(1);
		if (!self->out)
			return -ENOMEM;
		self->own_out = true;
		self->out_iova = IOVA_OUT;
		ret = _vmc_map(self->env.container, IOVA_OUT, self->out, PG, RW);
		if (ret)
			return ret;
	}
	/* The time of the map, for the record (never judged). */
	t0 = vmc_now_us();
	ret = _vmc_map(self->env.container, self->iova, self->region, self->len, RW);
	ksft_print_msg("MAP_DMA of %zu MiB of %s pages on %s%s%s: %.1f ms\n", self->len >> 20,
		       backing == THP_2M ? "THP" : backing == HUGETLB_2M ? "2 MiB hugetlb" :
		       "1 GiB hugetlb", vmc_backend_name(backend), mode ? " " : "", mode ?: "",
		       (vmc_now_us() - t0) / 1000);
	return ret;
}

static void region_teardown(struct _test_data_huge *self)
{
	char val[32];

	vmc_env_close(&self->env);
	if (self->own_out)
		vmc_free_pages(self->out, 1);
	if (self->mapping)
		munmap(self->mapping, self->mapping_len);
	if (self->old_nr_huge >= 0) {
		snprintf(val, sizeof(val), "%lld", self->old_nr_huge);
		vmc_write_str(NR_HUGEPAGES, val);
	}
}

FIXTURE_SETUP(huge)
{
	const char *why = "";
	int ret;

	ret = region_setup(self, variant->backend, variant->mode, variant->backing, &why);

	if (ret == 1)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(huge)
{
	region_teardown(self);
}

/* Does edu read [@off, @off + @len) of the region as it is? */
static bool reads_back(struct _test_data_huge *self, size_t off, uint32_t len)
{
	memset(self->out, UNTOUCHED, PG);
	if (vmc_edu_dma_to_dev(&self->env, self->iova + off, 0, len) ||
	    vmc_edu_dma_from_dev(&self->env, self->out_iova, 0, len))
		return false;
	return !memcmp(self->out, self->region + off, len) &&
	       vmc_all_bytes(self->out + len, PG - len, UNTOUCHED);
}

TEST_F(huge, dma)
{
	size_t w = self->dma_len - 3 * PG - 100;
	uint8_t *before;

	/* The start, across a 2 MiB boundary, the end (of what edu reaches). */
	ASSERT_TRUE(reads_back(self, 0, EDU_DMA_MAX));
	ASSERT_TRUE(reads_back(self, SZ_2M - 2000, 4000));
	ASSERT_TRUE(reads_back(self, self->dma_len - 4000, 4000));

	/* edu writes 4000 bytes of another pattern near the end. */
	before = malloc(3 * PG + 1000);
	ASSERT_NE(NULL, before);
	memcpy(before, self->region + w - PG, 3 * PG + 1000);
	vmc_fill_pattern(self->out, PG, SEED + 1);
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env, self->out_iova, 0, 4000));
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env, self->iova + w, 0, 4000));
	EXPECT_EQ(0, memcmp(self->region + w, self->out, 4000));
	/* A page before and what follows the bytes written: untouched. */
	EXPECT_EQ(0, memcmp(self->region + w - PG, before, PG));
	EXPECT_EQ(0, memcmp(self->region + w + 4000, before + PG + 4000, 2 * PG + 1000 - 4000));
	free(before);

	/*
	 * In strict mode a map of 2 MiB or more (all of these) is an extent,
	 * not pages of the cache; in lazy mode one of hugetlbfs pages or of
	 * 64 MiB or more.
	 */
	if (variant->backend == VMC_BACKEND_MAPCACHE) {
		char memory[96];

		snprintf(memory, sizeof(memory), VMC_DEBUGFS_DIR "/vm-%d/memory", getpid());
		EXPECT_EQ(!strcmp(variant->mode, "strict") ||
			  (!strcmp(variant->mode, "lazy") &&
			   (variant->backing != THP_2M || self->len >= (64UL << 20))),
			  vmc_stat(memory, "extent_objects"));
	}
	ASSERT_EQ(0, _vmc_unmap(self->env.container, self->iova, self->len, 0, NULL));
	vmc_env_close(&self->env);
	EXPECT_EQ(self->base_kb, vmc_locked_vm_kb());
	if (self->base_pinned >= 0)
		EXPECT_EQ(self->base_pinned, vmc_pinned_settles_at(self->base_pinned));
}

/* Transparent huge pages whose mapping in the process gets split. */
FIXTURE(split) {
	struct _test_data_huge h;
};

FIXTURE_VARIANT(split) {
	enum vmc_backend backend;
	const char *mode;
};

FIXTURE_VARIANT_ADD(split, type1) { .backend = VMC_BACKEND_TYPE1 };
FIXTURE_VARIANT_ADD(split, strict) { .backend = VMC_BACKEND_MAPCACHE, .mode = "strict" };
FIXTURE_VARIANT_ADD(split, lazy) { .backend = VMC_BACKEND_MAPCACHE, .mode = "lazy" };
FIXTURE_VARIANT_ADD(split, off) { .backend = VMC_BACKEND_MAPCACHE, .mode = "off" };

FIXTURE_SETUP(split)
{
	const char *why = "";
	int ret = region_setup(&self->h, variant->backend, variant->mode, THP_2M, &why);

	if (ret == 1)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(split)
{
	region_teardown(&self->h);
}

TEST_F(split, live_mapping_keeps_its_pages)
{
	struct _test_data_huge *h = &self->h;
	size_t off = 100 * PG + 123;
	long long before;

	before = anon_huge_kb(h->region);
	ASSERT_EQ(0, mprotect(h->region + 5 * PG, PG, PROT_READ));
	ASSERT_EQ(0, mprotect(h->region + 5 * PG, PG, PROT_READ | PROT_WRITE));
	/* The first huge page is mapped by 4 KiB entries now. */
	ASSERT_GT(before, anon_huge_kb(h->region + SZ_2M));
	/* What the process writes after the split, edu reads. */
	vmc_fill_pattern(h->region + off, 4000, SEED + 3);
	ASSERT_TRUE(reads_back(h, off, 4000));
	/* What edu writes, the process sees. */
	vmc_fill_pattern(h->out, PG, SEED + 4);
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&h->env, h->out_iova, 0, 3000));
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&h->env, h->iova + 7 * PG, 0, 3000));
	EXPECT_EQ(0, memcmp(h->region + 7 * PG, h->out, 3000));
	ASSERT_EQ(0, _vmc_unmap(h->env.container, h->iova, h->len, 0, NULL));
}

/*
 * The leaf entries of the device's I/O page table for [iova, iova + len):
 * counts per size (4 KiB, 2 MiB, 1 GiB) in @n.  The IOMMU driver's
 * debugfs prints one line per leaf: the IOVA's page number, '|', then
 * the entries of its path from the top (three always, then the 2 MiB
 * level's and the 4 KiB level's when the walk goes down to them).
 * 0, or -errno when the file is not there.
 */
static int leaf_sizes(const char *bdf, uint64_t iova, uint64_t len, unsigned int n[3])
{
	char path[128], line[512];
	unsigned long long pfn;
	FILE *f;

	snprintf(path, sizeof(path), IOMMU_DEBUGFS "/%s/domain_translation_struct", bdf);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	n[0] = n[1] = n[2] = 0;
	while (fgets(line, sizeof(line), f)) {
		char *bar = strchr(line, '|'), *tok, *save = NULL;
		unsigned int fields = 0;

		if (!bar || sscanf(line, "%llx", &pfn) != 1)
			continue;
		if (pfn < iova / PG || pfn >= (iova + len) / PG)
			continue;
		for (tok = strtok_r(bar + 1, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
			fields++;
		if (fields >= 3 && fields <= 5)
			n[5 - fields]++;
	}
	fclose(f);
	return 0;
}

TEST_F(huge, superpages)
{
	unsigned int n[3];
	int ret = leaf_sizes(self->env.bdf, self->iova, self->len, n);
	unsigned int level = self->page == SZ_1G ? 2 : 1;

	if (ret == -ENOENT)
		SKIP(return, "no %s/<device>/domain_translation_struct (INTEL_IOMMU_DEBUGFS)",
		     IOMMU_DEBUGFS);
	ASSERT_EQ(0, ret);
	TH_LOG("%s: leaves of 4 KiB %u, 2 MiB %u, 1 GiB %u over %zu MiB", self->env.bdf,
	       n[0], n[1], n[2], self->len >> 20);
	EXPECT_EQ(self->len / self->page, n[level]);
	EXPECT_EQ(0, n[0] + n[1] + n[2] - n[level]);
}

TEST_HARNESS_MAIN
