// SPDX-License-Identifier: GPL-2.0
/*
 * Extents: a map of 64 MiB or more (QEMU's guest RAM maps) is pinned and
 * mapped as one object in modes strict and lazy, as mode off and type1 do:
 * no per-page pin, counted live while mapped.  Unmapped, it stays pinned
 * and charged as one cached object, which a map of the same range maps
 * again without pinning; it goes whole when the quota, RLIMIT_MEMLOCK,
 * mode off, the idle window, the VMM's munmap() or another map of its
 * pages needs it to.  A
 * small map of a page such a map pins holds a pin of its own but no second
 * locked_vm charge, and keeps the page's charge once the large map goes;
 * pins the cache holds in a large map's range share its charge likewise.
 * Large maps of the same memory in two containers (QEMU with a vIOMMU and
 * two devices) are two extents charged for their union.  The
 * device reads what the process wrote through an extent and writes land
 * in it; every counter is back to its baseline at the end.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vmc_lib.h"

#define PG		VMC_PAGE
#define RW		(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
/* VMC_EXT_MIN_BYTES of the module: 64 MiB. */
#define EXT_PAGES	16384UL
#define EXT_BYTES	(EXT_PAGES * PG)
#define EXT_KB		(EXT_BYTES >> 10)
/* Below edu's 256 MiB reach. */
#define IOVA_EXT	0x4000000UL
#define IOVA_SMALL	0x100000UL
#define IOVA_OUT	0x200000UL
#define IOVA_EXT2	0x8000000UL
#define UNTOUCHED	0x5a
#define SEED		41

FIXTURE(ext) {
	struct vmc_env env;
	struct vmc_env env2;
	uint8_t *buf;		/* EXT_PAGES, then one guard page */
	uint8_t *out;
	long long base_pages;
	long long base_kb;
	char memory[128];
};

FIXTURE_SETUP(ext)
{
	int ret;

	self->env.container = self->env2.container = -1;
	self->env.group = self->env2.group = -1;
	self->env.device = self->env2.device = -1;
	if (!vmc_mapcache_loaded())
		SKIP(return, "vfio_iommu_mapcache is not loaded");
	self->base_pages = vmc_pinned_pages();
	self->base_kb = vmc_locked_vm_kb();
	self->buf = vmc_alloc_pages(EXT_PAGES + 1);
	self->out = vmc_alloc_pages(1);
	ASSERT_NE(NULL, self->buf);
	ASSERT_NE(NULL, self->out);
	memset(self->buf, 1, EXT_BYTES);
	memset(self->buf + EXT_BYTES, UNTOUCHED, PG);
	ret = vmc_env_open(&self->env, VMC_BACKEND_MAPCACHE);
	ASSERT_EQ(0, ret);
	/* Strict, no quota, candidates kept however long they idle. */
	ASSERT_EQ(0, vmc_vm_write("mode", "strict"));
	ASSERT_EQ(0, vmc_vm_write("quota_bytes", "0"));
	ASSERT_EQ(0, vmc_vm_write("idle_ms", "0"));
	snprintf(self->memory, sizeof(self->memory), VMC_DEBUGFS_DIR "/vm-%d/memory",
		 getpid());
}

FIXTURE_TEARDOWN(ext)
{
	if (self->env.container >= 0)
		vmc_vm_reset();
	vmc_env_close(&self->env2);
	vmc_env_close(&self->env);
}

static long long mem(struct __test_metadata *_metadata, FIXTURE_DATA(ext) *self,
		     const char *key)
{
	return vmc_stat(self->memory, key);
}

/* locked_vm of this process above the baseline, in KiB. */
#define lck(self)	(vmc_locked_vm_kb() - (self)->base_kb)

/* Everything closed: pins and charges back to where they were. */
static void back_to_baseline(struct __test_metadata *_metadata, FIXTURE_DATA(ext) *self)
{
	vmc_vm_reset();
	vmc_env_close(&self->env2);
	vmc_env_close(&self->env);
	EXPECT_EQ(self->base_pages, vmc_pinned_settles_at(self->base_pages));
	EXPECT_EQ(0, lck(self));
}

TEST_F(ext, large_map_is_one_object)
{
	uint64_t done = 0;

	ASSERT_EQ(0, _vmc_map(self->env.container, IOVA_OUT, self->out, PG, RW));
	ASSERT_EQ(0, _vmc_map(self->env.container, IOVA_EXT, self->buf, EXT_BYTES, RW));
	EXPECT_EQ(1, mem(_metadata, self, "extent_objects"));
	/* The one page of @out is the only per-page pin. */
	EXPECT_EQ(1, mem(_metadata, self, "pin_objects"));
	EXPECT_EQ(EXT_BYTES + PG, vmc_vm_read_ll("pinned_bytes"));
	EXPECT_EQ(EXT_BYTES + PG, vmc_vm_read_ll("live_bytes"));
	EXPECT_EQ(EXT_KB + 4, lck(self));

	/* The device reads the extent's last page... */
	vmc_fill_pattern(self->buf + EXT_BYTES - PG, PG, SEED);
	memset(self->out, UNTOUCHED, PG);
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env, IOVA_EXT + EXT_BYTES - PG, 0, 4000));
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env, IOVA_OUT, 0, 4000));
	EXPECT_EQ(0, memcmp(self->out, self->buf + EXT_BYTES - PG, 4000));
	/* ...and writes its first one; the guard page after it stays untouched. */
	vmc_fill_pattern(self->out, PG, SEED + 1);
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env, IOVA_OUT, 0, 4000));
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env, IOVA_EXT, 0, 4000));
	EXPECT_EQ(0, memcmp(self->buf, self->out, 4000));
	EXPECT_TRUE(vmc_all_bytes(self->buf + 4000, PG - 4000, 1));
	EXPECT_TRUE(vmc_all_bytes(self->buf + EXT_BYTES, PG, UNTOUCHED));

	/* Unmapped, it stays pinned and charged: one cached object. */
	ASSERT_EQ(0, _vmc_unmap(self->env.container, IOVA_EXT, EXT_BYTES, 0, &done));
	EXPECT_EQ(EXT_BYTES, done);
	EXPECT_EQ(1, mem(_metadata, self, "extent_objects"));
	EXPECT_EQ(1, mem(_metadata, self, "extent_cached"));
	EXPECT_EQ(1, mem(_metadata, self, "pin_objects"));
	EXPECT_EQ(EXT_BYTES + PG, vmc_vm_read_ll("pinned_bytes"));
	EXPECT_EQ(PG, vmc_vm_read_ll("live_bytes"));
	EXPECT_EQ(EXT_KB + 4, lck(self));
	/* Mode off keeps nothing: it goes. */
	ASSERT_EQ(0, vmc_vm_write("mode", "off"));
	EXPECT_EQ(0, mem(_metadata, self, "extent_objects"));
	EXPECT_EQ(PG, vmc_vm_read_ll("pinned_bytes"));
	EXPECT_EQ(4, lck(self));
	back_to_baseline(_metadata, self);
}

/* One cached extent, charged, in the fixture's container. */
static void cache_one(struct __test_metadata *_metadata, FIXTURE_DATA(ext) *self, int flags)
{
	ASSERT_EQ(0, _vmc_map(self->env.container, IOVA_EXT, self->buf, EXT_BYTES, flags));
	ASSERT_EQ(0, _vmc_unmap(self->env.container, IOVA_EXT, EXT_BYTES, 0, NULL));
	ASSERT_EQ(1, mem(_metadata, self, "extent_cached"));
	ASSERT_EQ(EXT_BYTES, vmc_vm_read_ll("pinned_bytes"));
	ASSERT_EQ(EXT_KB, lck(self));
}

/*
 * A map of the cached extent's range, at another IOVA, maps its pages
 * again with no GUP: the module pins nothing, the device reaches the same
 * memory through the new IOVAs, and the old ones fault.
 */
TEST_F(ext, cached_remap_pins_nothing)
{
	long long pins, hits, mod_pinned;

	cache_one(_metadata, self, RW);
	ASSERT_EQ(0, _vmc_map(self->env.container, IOVA_OUT, self->out, PG, RW));
	EXPECT_EQ(1, mem(_metadata, self, "extent_cached"));
	EXPECT_LT(0, mem(_metadata, self, "extent_run_bytes"));
	pins = vmc_stat(VMC_STATS_TOTAL, "pins");
	hits = vmc_stat(VMC_STATS_TOTAL, "extent_hits");
	mod_pinned = vmc_pinned_pages();
	ASSERT_EQ(0, _vmc_map(self->env.container, IOVA_EXT2, self->buf, EXT_BYTES, RW));
	EXPECT_EQ(pins, vmc_stat(VMC_STATS_TOTAL, "pins"));
	EXPECT_EQ(hits + 1, vmc_stat(VMC_STATS_TOTAL, "extent_hits"));
	EXPECT_EQ(mod_pinned, vmc_pinned_pages());
	EXPECT_EQ(0, mem(_metadata, self, "extent_cached"));
	EXPECT_EQ(0, mem(_metadata, self, "extent_run_bytes"));
	EXPECT_EQ(EXT_BYTES + PG, vmc_vm_read_ll("live_bytes"));
	EXPECT_EQ(EXT_KB + 4, lck(self));

	/* The device reads the last page and writes the first, through the new IOVAs. */
	vmc_fill_pattern(self->buf + EXT_BYTES - PG, PG, SEED + 6);
	memset(self->out, UNTOUCHED, PG);
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env, IOVA_EXT2 + EXT_BYTES - PG, 0, 4000));
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env, IOVA_OUT, 0, 4000));
	EXPECT_EQ(0, memcmp(self->out, self->buf + EXT_BYTES - PG, 4000));
	vmc_fill_pattern(self->out, PG, SEED + 7);
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env, IOVA_OUT, 0, 4000));
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env, IOVA_EXT2, 0, 4000));
	EXPECT_EQ(0, memcmp(self->buf, self->out, 4000));
	EXPECT_TRUE(vmc_all_bytes(self->buf + EXT_BYTES, PG, UNTOUCHED));
	/* The first map's IOVAs are gone: a write there lands nowhere. */
	memset(self->buf + 3 * PG, 1, PG);
	vmc_expect_dmar_faults(1);
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env, IOVA_EXT + 3 * PG, 0, 512));
	EXPECT_TRUE(vmc_all_bytes(self->buf + 3 * PG, PG, 1));

	/* Cached again; a quota below it lets it go, whole. */
	ASSERT_EQ(0, _vmc_unmap(self->env.container, IOVA_EXT2, EXT_BYTES, 0, NULL));
	EXPECT_EQ(1, mem(_metadata, self, "extent_cached"));
	ASSERT_EQ(0, vmc_vm_write("quota_bytes", "1048576"));
	EXPECT_EQ(0, mem(_metadata, self, "extent_objects"));
	EXPECT_EQ(PG, vmc_vm_read_ll("pinned_bytes"));
	EXPECT_EQ(4, lck(self));
	back_to_baseline(_metadata, self);
}

/* The VMM unmaps one page of a cached extent: all of it goes. */
TEST_F(ext, cached_dropped_by_munmap)
{
	long long drops = vmc_stat(VMC_STATS_TOTAL, "notifier_drops");

	int i;

	cache_one(_metadata, self, RW);
	ASSERT_EQ(0, munmap(self->buf + 77 * PG, PG));
	EXPECT_EQ(0, mem(_metadata, self, "extent_objects"));
	EXPECT_EQ(0, vmc_vm_read_ll("pinned_bytes"));
	/* Uncharged by a work item: the notifier may not take mmap_lock. */
	for (i = 0; i < 100 && lck(self); i++)
		vmc_sleep_ms(20);
	EXPECT_EQ(0, lck(self));
	EXPECT_EQ(drops + EXT_PAGES, vmc_stat(VMC_STATS_TOTAL, "notifier_drops"));
	EXPECT_EQ(self->base_pages, vmc_pinned_settles_at(self->base_pages));
	/* A map over the hole fails as type1's does, nothing left behind. */
	EXPECT_EQ(-EFAULT, _vmc_map(self->env.container, IOVA_EXT, self->buf, EXT_BYTES, RW));
	back_to_baseline(_metadata, self);
}

/*
 * A small map of a cached extent's page: the extent goes (no page is
 * pinned twice), and the next large map there pins afresh.
 */
TEST_F(ext, cached_dropped_by_small_map)
{
	long long hits = vmc_stat(VMC_STATS_TOTAL, "extent_hits");

	cache_one(_metadata, self, RW);
	ASSERT_EQ(0, _vmc_map(self->env.container, IOVA_SMALL, self->buf + 9 * PG, PG, RW));
	EXPECT_EQ(0, mem(_metadata, self, "extent_objects"));
	EXPECT_EQ(PG, vmc_vm_read_ll("pinned_bytes"));
	EXPECT_EQ(4, lck(self));
	ASSERT_EQ(0, _vmc_map(self->env.container, IOVA_EXT, self->buf, EXT_BYTES, RW));
	EXPECT_EQ(hits, vmc_stat(VMC_STATS_TOTAL, "extent_hits"));
	EXPECT_EQ(EXT_KB, lck(self));
	ASSERT_EQ(0, _vmc_unmap(self->env.container, IOVA_EXT, EXT_BYTES, 0, NULL));
	/* The small map's pin is in its range: not cached this time. */
	EXPECT_EQ(0, mem(_metadata, self, "extent_objects"));
	EXPECT_EQ(4, lck(self));
	back_to_baseline(_metadata, self);
}

/* Pinned for read only, it cannot serve a writable map: that one pins anew. */
TEST_F(ext, cached_read_only_not_for_write)
{
	long long hits = vmc_stat(VMC_STATS_TOTAL, "extent_hits");

	cache_one(_metadata, self, VFIO_DMA_MAP_FLAG_READ);
	ASSERT_EQ(0, _vmc_map(self->env.container, IOVA_EXT, self->buf, EXT_BYTES, RW));
	EXPECT_EQ(hits, vmc_stat(VMC_STATS_TOTAL, "extent_hits"));
	EXPECT_EQ(1, mem(_metadata, self, "extent_objects"));
	EXPECT_EQ(0, mem(_metadata, self, "extent_cached"));
	EXPECT_EQ(EXT_KB, lck(self));
	EXPECT_EQ(EXT_BYTES, vmc_vm_read_ll("pinned_bytes"));
	ASSERT_EQ(0, _vmc_unmap(self->env.container, IOVA_EXT, EXT_BYTES, 0, NULL));
	/* That one serves a read-only map. */
	ASSERT_EQ(0, _vmc_map(self->env.container, IOVA_EXT, self->buf, EXT_BYTES,
			      VFIO_DMA_MAP_FLAG_READ));
	EXPECT_EQ(hits + 1, vmc_stat(VMC_STATS_TOTAL, "extent_hits"));
	ASSERT_EQ(0, _vmc_unmap(self->env.container, IOVA_EXT, EXT_BYTES, 0, NULL));
	back_to_baseline(_metadata, self);
}

/*
 * RLIMIT_MEMLOCK of one extent: a cached one gives way to a map of other
 * memory, which type1 would let through.
 */
TEST_F(ext, cached_gives_way_to_memlock)
{
	uint8_t *other = vmc_alloc_pages(EXT_PAGES);
	struct rlimit rl;

	ASSERT_NE(NULL, other);
	cache_one(_metadata, self, RW);
	rl.rlim_cur = rl.rlim_max = (self->base_kb << 10) + EXT_BYTES;
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	ASSERT_EQ(0, vmc_drop_cap_ipc_lock());
	ASSERT_EQ(0, _vmc_map(self->env.container, IOVA_EXT, other, EXT_BYTES, RW));
	EXPECT_EQ(1, mem(_metadata, self, "extent_objects"));
	EXPECT_EQ(0, mem(_metadata, self, "extent_cached"));
	EXPECT_EQ(EXT_KB, lck(self));
	ASSERT_EQ(0, _vmc_unmap(self->env.container, IOVA_EXT, EXT_BYTES, 0, NULL));
	back_to_baseline(_metadata, self);
	vmc_free_pages(other, EXT_PAGES);
}

/* Idle a whole window, it is released as candidates are. */
TEST_F(ext, cached_released_when_idle)
{
	long long idle = vmc_stat(VMC_STATS_TOTAL, "idle_releases");
	int i;

	ASSERT_EQ(0, vmc_vm_write("idle_ms", "100"));
	cache_one(_metadata, self, RW);
	for (i = 0; i < 100 && mem(_metadata, self, "extent_objects"); i++)
		vmc_sleep_ms(50);
	EXPECT_EQ(0, mem(_metadata, self, "extent_objects"));
	EXPECT_EQ(0, vmc_vm_read_ll("pinned_bytes"));
	EXPECT_EQ(0, lck(self));
	EXPECT_LE(idle + EXT_PAGES, vmc_stat(VMC_STATS_TOTAL, "idle_releases"));
	back_to_baseline(_metadata, self);
}

/*
 * A small map of pages a live extent pins: charged once.  Unmapped after
 * the extent, its pages end up as candidates that carry their charge (the
 * extent, over a live page, is not cached); unmapped before, they go when
 * the extent is cached over them.
 */
static void small_inside(struct __test_metadata *_metadata, FIXTURE_DATA(ext) *self,
			 bool small_first)
{
	ASSERT_EQ(0, _vmc_map(self->env.container, IOVA_EXT, self->buf, EXT_BYTES, RW));
	ASSERT_EQ(0, _vmc_map(self->env.container, IOVA_SMALL, self->buf + 100 * PG, 2 * PG,
			      RW));
	EXPECT_EQ(1, mem(_metadata, self, "extent_objects"));
	EXPECT_EQ(2, mem(_metadata, self, "pin_objects"));
	EXPECT_EQ(EXT_KB, lck(self));
	if (small_first) {
		ASSERT_EQ(0, _vmc_unmap(self->env.container, IOVA_SMALL, 2 * PG, 0, NULL));
		EXPECT_EQ(EXT_KB, lck(self));
	}
	ASSERT_EQ(0, _vmc_unmap(self->env.container, IOVA_EXT, EXT_BYTES, 0, NULL));
	if (small_first) {
		EXPECT_EQ(1, mem(_metadata, self, "extent_cached"));
		EXPECT_EQ(0, mem(_metadata, self, "pin_objects"));
		EXPECT_EQ(EXT_BYTES, vmc_vm_read_ll("pinned_bytes"));
		EXPECT_EQ(EXT_KB, lck(self));
		back_to_baseline(_metadata, self);
		return;
	}
	EXPECT_EQ(0, mem(_metadata, self, "extent_objects"));
	EXPECT_EQ(2 * PG, vmc_vm_read_ll("pinned_bytes"));
	EXPECT_EQ(8, lck(self));
	EXPECT_EQ(2 * PG, vmc_vm_read_ll("live_bytes"));
	ASSERT_EQ(0, _vmc_unmap(self->env.container, IOVA_SMALL, 2 * PG, 0, NULL));
	/* Candidates now, charged as such. */
	EXPECT_EQ(0, vmc_vm_read_ll("live_bytes"));
	EXPECT_EQ(2 * PG, vmc_vm_read_ll("pinned_bytes"));
	EXPECT_EQ(8, lck(self));
	back_to_baseline(_metadata, self);
}

TEST_F(ext, small_map_inside_unmapped_last)
{
	small_inside(_metadata, self, false);
}

TEST_F(ext, small_map_inside_unmapped_first)
{
	small_inside(_metadata, self, true);
}

/*
 * The cache holds a page of the range (QEMU maps the pieces of RAM below
 * 1 MiB before it maps all of it again): the large map is an extent all
 * the same, and the cached page's pin shares its charge.  Unmapped, the
 * extent is cached and that candidate goes: its pins hold the page.
 */
TEST_F(ext, over_cached_pages)
{
	ASSERT_EQ(0, _vmc_map(self->env.container, IOVA_SMALL, self->buf + 5 * PG, PG, RW));
	ASSERT_EQ(0, _vmc_unmap(self->env.container, IOVA_SMALL, PG, 0, NULL));
	EXPECT_EQ(PG, vmc_vm_read_ll("pinned_bytes"));
	EXPECT_EQ(4, lck(self));
	ASSERT_EQ(0, _vmc_map(self->env.container, IOVA_EXT, self->buf, EXT_BYTES, RW));
	EXPECT_EQ(1, mem(_metadata, self, "extent_objects"));
	EXPECT_EQ(1, mem(_metadata, self, "pin_objects"));
	EXPECT_EQ(EXT_KB, lck(self));
	ASSERT_EQ(0, _vmc_unmap(self->env.container, IOVA_EXT, EXT_BYTES, 0, NULL));
	EXPECT_EQ(1, mem(_metadata, self, "extent_cached"));
	EXPECT_EQ(0, mem(_metadata, self, "pin_objects"));
	EXPECT_EQ(EXT_BYTES, vmc_vm_read_ll("pinned_bytes"));
	EXPECT_EQ(EXT_KB, lck(self));
	/* Mode off: nothing left, the page's charge gone with it. */
	ASSERT_EQ(0, vmc_vm_write("mode", "off"));
	EXPECT_EQ(0, vmc_vm_read_ll("pinned_bytes"));
	EXPECT_EQ(0, lck(self));
	back_to_baseline(_metadata, self);
}

/*
 * Two containers of one VM (a vIOMMU VM with two devices, each mapping all
 * RAM at boot): the second map of the extent's range pins page by page,
 * but locked_vm counts each page once, as long as either map lives.
 */
TEST_F(ext, two_containers_charge_once)
{
	const char *bdf2 = getenv("VMC_EDU_BDF2");

	if (!bdf2)
		SKIP(return, "no second edu device");
	setenv("VMC_EDU_BDF", bdf2, 1);
	ASSERT_EQ(0, vmc_env_open(&self->env2, VMC_BACKEND_MAPCACHE));
	unsetenv("VMC_EDU_BDF");
	ASSERT_EQ(0, _vmc_map(self->env.container, IOVA_EXT, self->buf, EXT_BYTES, RW));
	ASSERT_EQ(0, _vmc_map(self->env2.container, IOVA_EXT, self->buf, EXT_BYTES, RW));
	/* Each container's map is an extent, the pages counted once. */
	EXPECT_EQ(2, mem(_metadata, self, "extent_objects"));
	EXPECT_EQ(0, mem(_metadata, self, "pin_objects"));
	EXPECT_EQ(EXT_KB, lck(self));
	EXPECT_EQ(EXT_BYTES, vmc_vm_read_ll("pinned_bytes"));
	EXPECT_EQ(EXT_BYTES, vmc_vm_read_ll("live_bytes"));

	/* The second container's mapping reaches the same memory. */
	ASSERT_EQ(0, _vmc_map(self->env2.container, IOVA_OUT, self->out, PG, RW));
	vmc_fill_pattern(self->buf + 7 * PG, PG, SEED + 2);
	memset(self->out, UNTOUCHED, PG);
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env2, IOVA_EXT + 7 * PG, 0, 4000));
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env2, IOVA_OUT, 0, 4000));
	EXPECT_EQ(0, memcmp(self->out, self->buf + 7 * PG, 4000));

	/* The first goes: the second holds the charge. */
	ASSERT_EQ(0, _vmc_unmap(self->env.container, IOVA_EXT, EXT_BYTES, 0, NULL));
	EXPECT_EQ(1, mem(_metadata, self, "extent_objects"));
	EXPECT_EQ(EXT_KB + 4, lck(self));
	EXPECT_EQ(EXT_BYTES + PG, vmc_vm_read_ll("pinned_bytes"));
	/* Its own mapping still works, the first container's is gone. */
	vmc_fill_pattern(self->buf + 9 * PG, PG, SEED + 4);
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env2, IOVA_EXT + 9 * PG, 0, 4000));
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env2, IOVA_OUT, 0, 4000));
	EXPECT_EQ(0, memcmp(self->out, self->buf + 9 * PG, 4000));
	/* The second goes: nothing else pins there, it is cached, charged. */
	ASSERT_EQ(0, _vmc_unmap(self->env2.container, IOVA_EXT, EXT_BYTES, 0, NULL));
	EXPECT_EQ(1, mem(_metadata, self, "extent_cached"));
	EXPECT_EQ(EXT_KB + 4, lck(self));
	ASSERT_EQ(0, vmc_vm_write("mode", "off"));
	EXPECT_EQ(0, mem(_metadata, self, "extent_objects"));
	EXPECT_EQ(4, lck(self));
	EXPECT_EQ(PG, vmc_vm_read_ll("pinned_bytes"));
	back_to_baseline(_metadata, self);
}

/*
 * Two large maps that overlap by half, in two containers, and a small map
 * inside both: charged for their union; each page's charge stays while
 * anything pins it, and goes with the last.
 */
TEST_F(ext, overlapping_extents)
{
	const char *bdf2 = getenv("VMC_EDU_BDF2");
	const unsigned long half = EXT_BYTES / 2;
	uint8_t *big;

	if (!bdf2)
		SKIP(return, "no second edu device");
	setenv("VMC_EDU_BDF", bdf2, 1);
	ASSERT_EQ(0, vmc_env_open(&self->env2, VMC_BACKEND_MAPCACHE));
	unsetenv("VMC_EDU_BDF");
	big = vmc_alloc_pages(EXT_PAGES + EXT_PAGES / 2);
	ASSERT_NE(NULL, big);
	memset(big, 1, EXT_BYTES + half);
	ASSERT_EQ(0, _vmc_map(self->env.container, IOVA_EXT, big, EXT_BYTES, RW));
	ASSERT_EQ(0, _vmc_map(self->env2.container, IOVA_EXT, big + half, EXT_BYTES, RW));
	EXPECT_EQ(2, mem(_metadata, self, "extent_objects"));
	EXPECT_EQ(EXT_KB + EXT_KB / 2, lck(self));
	EXPECT_EQ(EXT_BYTES + half, vmc_vm_read_ll("pinned_bytes"));
	/* A page both cover, through the cache: no charge. */
	ASSERT_EQ(0, _vmc_map(self->env.container, IOVA_SMALL, big + half + 5 * PG, PG, RW));
	EXPECT_EQ(EXT_KB + EXT_KB / 2, lck(self));

	/* The second container reads the overlap and its own half; writes land. */
	ASSERT_EQ(0, _vmc_map(self->env2.container, IOVA_OUT, self->out, PG, RW));
	vmc_fill_pattern(big + half + 3 * PG, PG, SEED + 5);
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env2, IOVA_EXT + 3 * PG, 0, 4000));
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env2, IOVA_OUT, 0, 4000));
	EXPECT_EQ(0, memcmp(self->out, big + half + 3 * PG, 4000));
	memset(big + EXT_BYTES + PG, UNTOUCHED, PG);
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env2, IOVA_EXT + half + PG, 0, 100));
	EXPECT_EQ(0, memcmp(self->out, big + EXT_BYTES + PG, 100));
	EXPECT_EQ(UNTOUCHED, big[EXT_BYTES + PG + 100]);

	/* The first goes: only its own half is given back. */
	ASSERT_EQ(0, _vmc_unmap(self->env.container, IOVA_EXT, EXT_BYTES, 0, NULL));
	EXPECT_EQ(1, mem(_metadata, self, "extent_objects"));
	EXPECT_EQ(EXT_KB + 4, lck(self));
	EXPECT_EQ(EXT_BYTES + 2 * PG, vmc_vm_read_ll("pinned_bytes"));
	/* The small map goes, a candidate the second extent still covers. */
	ASSERT_EQ(0, _vmc_unmap(self->env.container, IOVA_SMALL, PG, 0, NULL));
	EXPECT_EQ(EXT_KB + 4, lck(self));
	/*
	 * The second goes: cached, over the candidate, which goes; then in
	 * mode off the charge of the out page alone is left.
	 */
	ASSERT_EQ(0, _vmc_unmap(self->env2.container, IOVA_EXT, EXT_BYTES, 0, NULL));
	EXPECT_EQ(1, mem(_metadata, self, "extent_cached"));
	EXPECT_EQ(EXT_KB + 4, lck(self));
	EXPECT_EQ(EXT_BYTES + PG, vmc_vm_read_ll("pinned_bytes"));
	EXPECT_EQ(PG, vmc_vm_read_ll("live_bytes"));
	ASSERT_EQ(0, vmc_vm_write("mode", "off"));
	EXPECT_EQ(0, mem(_metadata, self, "extent_objects"));
	EXPECT_EQ(4, lck(self));
	EXPECT_EQ(PG, vmc_vm_read_ll("pinned_bytes"));
	back_to_baseline(_metadata, self);
	munmap(big, EXT_BYTES + half);
}

/*
 * The same with RLIMIT_MEMLOCK set to the extent exactly: the
 * second container's map needs no charge, so it fits (type1 would need
 * twice the extent).
 */
TEST_F(ext, two_containers_one_memlock)
{
	const char *bdf2 = getenv("VMC_EDU_BDF2");
	struct rlimit rl;

	if (!bdf2)
		SKIP(return, "no second edu device");
	setenv("VMC_EDU_BDF", bdf2, 1);
	ASSERT_EQ(0, vmc_env_open(&self->env2, VMC_BACKEND_MAPCACHE));
	unsetenv("VMC_EDU_BDF");
	rl.rlim_cur = rl.rlim_max = (self->base_kb << 10) + EXT_BYTES;
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	ASSERT_EQ(0, vmc_drop_cap_ipc_lock());
	ASSERT_EQ(0, _vmc_map(self->env.container, IOVA_EXT, self->buf, EXT_BYTES, RW));
	ASSERT_EQ(0, _vmc_map(self->env2.container, IOVA_EXT, self->buf, EXT_BYTES, RW));
	EXPECT_EQ(EXT_KB, lck(self));
	/* One page past the limit still fails, with type1's errno. */
	ASSERT_EQ(-ENOMEM, _vmc_map(self->env.container, IOVA_SMALL, self->buf + EXT_BYTES,
				    PG, RW));
	ASSERT_EQ(0, _vmc_unmap(self->env2.container, IOVA_EXT, EXT_BYTES, 0, NULL));
	ASSERT_EQ(0, _vmc_unmap(self->env.container, IOVA_EXT, EXT_BYTES, 0, NULL));
	back_to_baseline(_metadata, self);
}

/* Lazy mode keeps no translation of an extent: its IOVAs fault once unmapped. */
TEST_F(ext, lazy_keeps_nothing)
{
	ASSERT_EQ(0, vmc_vm_write("mode", "lazy"));
	ASSERT_EQ(0, _vmc_map(self->env.container, IOVA_OUT, self->out, PG, RW));
	ASSERT_EQ(0, _vmc_map(self->env.container, IOVA_EXT, self->buf, EXT_BYTES, RW));
	EXPECT_EQ(1, mem(_metadata, self, "extent_objects"));
	ASSERT_EQ(0, _vmc_unmap(self->env.container, IOVA_EXT, EXT_BYTES, 0, NULL));
	/* Its pages stay pinned, cached, but not its translation. */
	EXPECT_EQ(1, mem(_metadata, self, "extent_cached"));
	EXPECT_EQ(EXT_BYTES + PG, vmc_vm_read_ll("pinned_bytes"));
	/* A read of the unmapped IOVA faults: edu never sees the memory there. */
	vmc_fill_pattern(self->buf, PG, SEED + 3);
	vmc_expect_dmar_faults(1);
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env, IOVA_EXT, 0, 512));
	memset(self->out, UNTOUCHED, PG);
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env, IOVA_OUT, 0, 512));
	EXPECT_NE(0, memcmp(self->out, self->buf, 512));
	back_to_baseline(_metadata, self);
}

TEST_HARNESS_MAIN
