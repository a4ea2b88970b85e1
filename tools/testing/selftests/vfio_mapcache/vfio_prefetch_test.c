// SPDX-License-Identifier: GPL-2.0
/*
 * Prefetching of vfio_iommu_mapcache: after the guest has mapped pages in a
 * pattern, a miss on the first page pins the pages that followed it, and
 * mapping those is a pin hit; the quota holds, live pages stay, a page the
 * VMM takes away is dropped, a page it does not have is never faulted in;
 * the sysfs files and module parameters; teardown gives everything back.
 * Each test runs in its own process, hence its own VM.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vmc_lib.h"

#define IOVA_A		0x100000UL
#define IOVA_B		0x200000UL
#define IOVA_OUT	0x800000UL
#define NR_PAGES	16
#define UNTOUCHED	0x5a
#define R		VFIO_DMA_MAP_FLAG_READ
#define W		VFIO_DMA_MAP_FLAG_WRITE
#define RW		(R | W)
#define PG		VMC_PAGE

/* vm-<pid>/pins flags of a page, as pin_state() returns them. */
#define PIN_CACHED	0x1
#define PIN_PREFETCHED	0x2
#define PIN_WRITABLE	0x4

FIXTURE(prefetch) {
	struct vmc_env env;
	uint8_t *buf;	/* NR_PAGES pages the tests map */
	uint8_t *out;	/* one page edu writes back into */
	char sysfs[128];
	char debugfs[128];
	char def_on[16], def_depth[16];	/* module parameters to restore */
};

static long long vm_stat(struct _test_data_prefetch *self, const char *key)
{
	return vmc_stat(self->debugfs, key);
}

static void read_param(const char *name, char *val, size_t len)
{
	char path[192];
	FILE *f;

	snprintf(path, sizeof(path), MODPARAM_DIR "/%s", name);
	val[0] = '\0';
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(val, len, f))
		val[strcspn(val, "\n")] = '\0';
	fclose(f);
}

static int write_param(const char *name, const char *val)
{
	char path[192];

	snprintf(path, sizeof(path), MODPARAM_DIR "/%s", name);
	return vmc_write_str(path, val);
}

static int open_vm(struct _test_data_prefetch *self)
{
	int ret = vmc_env_open(&self->env, VMC_BACKEND_MAPCACHE);

	if (ret)
		return ret;
	/* A known start, whatever the module's defaults are. */
	return vmc_vm_write("mode", "strict") ?: vmc_vm_write("policy", "lru") ?:
	       vmc_vm_write("quota_bytes", "0") ?: vmc_vm_write("prefetch", "0") ?:
	       vmc_vm_write("prefetch_depth", "8");
}

FIXTURE_SETUP(prefetch)
{
	int ret;

	snprintf(self->sysfs, sizeof(self->sysfs), "/sys/kernel/vfio_mapcache/%d", getpid());
	snprintf(self->debugfs, sizeof(self->debugfs), VMC_DEBUGFS_DIR "/vm-%d/stats",
		 getpid());
	read_param("default_prefetch", self->def_on, sizeof(self->def_on));
	read_param("default_prefetch_depth", self->def_depth, sizeof(self->def_depth));
	ret = open_vm(self);
	if (ret == 1)
		SKIP(return, "vfio_iommu_mapcache not available");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, vmc_dma_bufs(&self->buf, NR_PAGES, 11, &self->out, UNTOUCHED));
}

FIXTURE_TEARDOWN(prefetch)
{
	vmc_env_close(&self->env);
	if (self->def_on[0])
		write_param("default_prefetch", self->def_on);
	if (self->def_depth[0])
		write_param("default_prefetch_depth", self->def_depth);
}

/* Flags of the VMM's page at @p in vm-<pid>/pins; -1 if it is not pinned. */
static int pin_state(const void *p)
{
	char path[192], line[160], flags[64];
	unsigned long vaddr, pfn;
	unsigned int live;
	int state = -1, n;
	FILE *f;

	snprintf(path, sizeof(path), VMC_DEBUGFS_DIR "/vm-%d/pins", getpid());
	f = fopen(path, "r");
	if (!f)
		return -2;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx %lx %u %n", &vaddr, &pfn, &live, &n) != 3 ||
		    vaddr != (unsigned long)p)
			continue;
		snprintf(flags, sizeof(flags), "%s", line + n);
		state = (strstr(flags, "cached") ? PIN_CACHED : 0) |
			(strstr(flags, "prefetched") ? PIN_PREFETCHED : 0) |
			(flags[0] == 'w' ? PIN_WRITABLE : 0);
	}
	fclose(f);
	return state;
}

static void *page(struct _test_data_prefetch *self, int i)
{
	return self->buf + i * PG;
}

/* Map pages @first.. @first + @n - 1 one at a time at IOVA_A, unmap each. */
static int walk(struct _test_data_prefetch *self, int first, int n, uint32_t flags)
{
	int i, ret;

	for (i = first; i < first + n; i++) {
		ret = _vmc_map(self->env.container, IOVA_A, page(self, i), PG, flags);
		ret = ret ?: _vmc_unmap(self->env.container, IOVA_A, PG, 0, NULL);
		if (ret)
			return ret;
	}
	return 0;
}

/* Does edu read page @i of buf through @iova?  (RAM -> dev -> out) */
static int dma_reads_page(struct _test_data_prefetch *self, uint64_t iova, int i)
{
	memset(self->out, UNTOUCHED, PG);
	if (vmc_edu_dma_to_dev(&self->env, iova, 0, 512) ||
	    vmc_edu_dma_from_dev(&self->env, IOVA_OUT, 0, 512))
		return -1;
	return !memcmp(self->out, page(self, i), 512);
}

/*
 * The guest maps pages 0..5 in order, twice; the quota is lowered to the
 * one live page (the cached ones go) and raised again.  A miss on page 0
 * then pins 1..5 ahead, writable as that map; mapping them is a pin hit,
 * and the device reads and writes the right bytes through them.
 */
TEST_F(prefetch, trained_pattern_hits)
{
	long long hits, misses, pins;
	uint8_t copy[512];
	int i;

	test_map(IOVA_OUT, self->out, PG, W);
	ASSERT_EQ(0, vmc_vm_write("prefetch", "1"));
	ASSERT_EQ(0, walk(self, 0, 6, RW));
	ASSERT_EQ(0, walk(self, 0, 6, RW));
	ASSERT_EQ(7 * PG, vmc_vm_read_ll("pinned_bytes"));
	ASSERT_EQ(0, vmc_vm_write("quota_bytes", "4096"));
	ASSERT_EQ(PG, vmc_vm_read_ll("pinned_bytes"));
	ASSERT_EQ(0, vmc_vm_write("quota_bytes", "0"));
	for (i = 0; i < 6; i++)
		ASSERT_EQ(-1, pin_state(page(self, i))) TH_LOG("page %d", i);
	ASSERT_EQ(0, vm_stat(self, "prefetch_issued"));

	misses = vm_stat(self, "misses");
	test_map(IOVA_A, page(self, 0), PG, RW);
	ASSERT_EQ(misses + 1, vm_stat(self, "misses"));
	ASSERT_EQ(5, vm_stat(self, "prefetch_issued"));
	ASSERT_EQ(7 * PG, vmc_vm_read_ll("pinned_bytes"));
	ASSERT_EQ(2 * PG, vmc_vm_read_ll("live_bytes"));
	for (i = 1; i < 6; i++)
		ASSERT_EQ(PIN_CACHED | PIN_PREFETCHED | PIN_WRITABLE, pin_state(page(self, i)))
			TH_LOG("page %d", i);

	hits = vm_stat(self, "pin_hits");
	pins = vm_stat(self, "pins");
	for (i = 1; i < 6; i++)
		test_map(IOVA_A + i * PG, page(self, i), PG, RW);
	ASSERT_EQ(hits + 5, vm_stat(self, "pin_hits"));
	ASSERT_EQ(misses + 1, vm_stat(self, "misses"));
	ASSERT_EQ(pins, vm_stat(self, "pins"));
	ASSERT_EQ(5, vm_stat(self, "prefetch_useful"));
	ASSERT_EQ(0, vm_stat(self, "prefetch_wasted"));
	ASSERT_EQ(PIN_WRITABLE, pin_state(page(self, 3)));
	ASSERT_LE(5, vmc_stat(VMC_STATS_TOTAL, "prefetch_useful"));

	for (i = 0; i < 6; i++)
		ASSERT_EQ(1, dma_reads_page(self, IOVA_A + i * PG, i)) TH_LOG("page %d", i);
	/* Device writes land in the prefetched page: page 2 -> page 4. */
	memcpy(copy, page(self, 2), sizeof(copy));
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env, IOVA_A + 2 * PG, 0, sizeof(copy)));
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env, IOVA_A + 4 * PG, 0, sizeof(copy)));
	ASSERT_EQ(0, memcmp(copy, page(self, 4), sizeof(copy)));
}

/* A tight quota, prefetching on: pinned_bytes never passes it, not even for a moment. */
TEST_F(prefetch, quota_never_exceeded)
{
	const long long quota = 5 * PG;
	int round, i;

	ASSERT_EQ(0, vmc_vm_write("quota_bytes", "20480"));
	ASSERT_EQ(0, vmc_vm_write("prefetch", "1"));
	test_map(IOVA_OUT, self->out, PG, W);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 8; i++) {
			test_map(IOVA_A, page(self, i), PG, RW);
			ASSERT_GE(quota, vmc_vm_read_ll("pinned_bytes"));
			test_unmap(IOVA_A, PG, PG);
			ASSERT_GE(quota, vmc_vm_read_ll("pinned_bytes"));
		}
	}
	ASSERT_GE(quota, vmc_vm_read_ll("peak_pinned_bytes"));
	ASSERT_EQ(0, vm_stat(self, "quota_overruns"));
	/* Prefetches happened at the quota, by evicting cold candidates. */
	ASSERT_LT(0, vm_stat(self, "prefetch_issued"));
	ASSERT_LT(0, vm_stat(self, "prefetch_useful"));
	ASSERT_LT(0, vm_stat(self, "evictions"));
}

/* At the quota with live pages only, a miss prefetches nothing and evicts nothing. */
TEST_F(prefetch, never_evicts_live)
{
	int i;

	test_map(IOVA_OUT, self->out, PG, W);
	ASSERT_EQ(0, vmc_vm_write("prefetch", "1"));
	ASSERT_EQ(0, walk(self, 0, 6, R));
	ASSERT_EQ(0, walk(self, 0, 6, R));
	/* Off drops the candidates; the graph stays. */
	ASSERT_EQ(0, vmc_vm_write("mode", "off"));
	ASSERT_EQ(0, vmc_vm_write("mode", "strict"));
	for (i = 10; i < 13; i++)
		test_map(IOVA_B + i * PG, page(self, i), PG, R);
	ASSERT_EQ(4 * PG, vmc_vm_read_ll("pinned_bytes"));
	ASSERT_EQ(0, vmc_vm_write("quota_bytes", "20480"));

	test_map(IOVA_A, page(self, 0), PG, R);
	ASSERT_EQ(0, vm_stat(self, "prefetch_issued"));
	ASSERT_EQ(0, vm_stat(self, "evictions"));
	ASSERT_EQ(5 * PG, vmc_vm_read_ll("pinned_bytes"));
	ASSERT_EQ(5 * PG, vmc_vm_read_ll("live_bytes"));
	for (i = 1; i < 6; i++)
		ASSERT_EQ(-1, pin_state(page(self, i))) TH_LOG("page %d", i);
	for (i = 10; i < 13; i++)
		ASSERT_EQ(1, dma_reads_page(self, IOVA_B + i * PG, i)) TH_LOG("page %d", i);
	ASSERT_EQ(1, dma_reads_page(self, IOVA_A, 0));

	/*
	 * Pages 12 and 0 become candidates: the miss on page 1 evicts 12, its
	 * prefetch of page 2 evicts 0, and page 3 finds nothing cold to evict.
	 */
	test_unmap(IOVA_B + 12 * PG, PG, PG);
	test_unmap(IOVA_A, PG, PG);
	test_map(IOVA_A, page(self, 1), PG, R);
	ASSERT_EQ(1, vm_stat(self, "prefetch_issued"));
	ASSERT_EQ(2, vm_stat(self, "evictions"));
	ASSERT_EQ(5 * PG, vmc_vm_read_ll("pinned_bytes"));
	ASSERT_EQ(4 * PG, vmc_vm_read_ll("live_bytes"));
	ASSERT_EQ(PIN_CACHED | PIN_PREFETCHED, pin_state(page(self, 2)));
	ASSERT_EQ(-1, pin_state(page(self, 0)));
	for (i = 10; i < 12; i++)
		ASSERT_EQ(1, dma_reads_page(self, IOVA_B + i * PG, i)) TH_LOG("page %d", i);
}

/* Train 0..3, drop the candidates, then miss on page 0. */
static void train_and_miss(struct __test_metadata *_metadata,
			   struct _test_data_prefetch *self, uint32_t flags)
{
	ASSERT_EQ(0, vmc_vm_write("prefetch", "1"));
	ASSERT_EQ(0, walk(self, 0, 4, flags));
	ASSERT_EQ(0, walk(self, 0, 4, flags));
	ASSERT_EQ(0, vmc_vm_write("mode", "off"));
	ASSERT_EQ(0, vmc_vm_write("mode", "strict"));
	ASSERT_EQ(vmc_vm_read_ll("live_bytes"), vmc_vm_read_ll("pinned_bytes"));
	test_map(IOVA_A, page(self, 0), PG, flags);
}

/* A prefetched page the VMM discards or unmaps is dropped at once. */
TEST_F(prefetch, vmm_unmap_drops)
{
	long long misses, hits;
	uint8_t *p;

	test_map(IOVA_OUT, self->out, PG, W);
	train_and_miss(_metadata, self, R);
	ASSERT_EQ(3, vm_stat(self, "prefetch_issued"));
	ASSERT_EQ(5 * PG, vmc_vm_read_ll("pinned_bytes"));

	ASSERT_EQ(0, madvise(page(self, 1), PG, MADV_DONTNEED));
	ASSERT_EQ(4 * PG, vmc_vm_read_ll("pinned_bytes"));
	ASSERT_EQ(1, vm_stat(self, "notifier_drops"));
	ASSERT_EQ(1, vm_stat(self, "prefetch_wasted"));
	ASSERT_EQ(-1, pin_state(page(self, 1)));

	ASSERT_EQ(0, munmap(page(self, 2), PG));
	ASSERT_EQ(3 * PG, vmc_vm_read_ll("pinned_bytes"));
	ASSERT_EQ(2, vm_stat(self, "notifier_drops"));
	ASSERT_EQ(2, vm_stat(self, "prefetch_wasted"));
	/* The same address, new memory: the next map pins it, never the old page. */
	p = mmap(page(self, 2), PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0);
	ASSERT_EQ(page(self, 2), p);
	vmc_fill_pattern(p, PG, 77);

	/* Page 1 misses and prefetches the new page 2; 2 and 3 hit. */
	misses = vm_stat(self, "misses");
	hits = vm_stat(self, "pin_hits");
	test_map(IOVA_A + PG, page(self, 1), PG, R);
	ASSERT_EQ(4, vm_stat(self, "prefetch_issued"));
	test_map(IOVA_A + 2 * PG, page(self, 2), PG, R);
	test_map(IOVA_A + 3 * PG, page(self, 3), PG, R);
	ASSERT_EQ(misses + 1, vm_stat(self, "misses"));
	ASSERT_EQ(hits + 2, vm_stat(self, "pin_hits"));
	ASSERT_EQ(2, vm_stat(self, "prefetch_useful"));
	/* Discarded memory reads as zeroes, the remapped page as its new bytes. */
	memset(self->out, UNTOUCHED, PG);
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env, IOVA_A + PG, 0, 512));
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env, IOVA_OUT, 0, 512));
	ASSERT_TRUE(vmc_all_bytes(self->out, 512, 0));
	ASSERT_EQ(1, dma_reads_page(self, IOVA_A + 2 * PG, 2));
}

/* A page the VMM does not have now is not prefetched, nor faulted in. */
TEST_F(prefetch, absent_page_not_faulted_in)
{
	unsigned char vec;

	ASSERT_EQ(0, vmc_vm_write("prefetch", "1"));
	ASSERT_EQ(0, walk(self, 0, 4, R));
	ASSERT_EQ(0, walk(self, 0, 4, R));
	ASSERT_EQ(0, vmc_vm_write("mode", "off"));
	ASSERT_EQ(0, vmc_vm_write("mode", "strict"));
	ASSERT_EQ(0, madvise(page(self, 2), PG, MADV_DONTNEED));
	ASSERT_EQ(0, mincore(page(self, 2), PG, &vec));
	ASSERT_EQ(0, vec & 1);

	test_map(IOVA_A, page(self, 0), PG, R);
	ASSERT_EQ(2, vm_stat(self, "prefetch_issued"));
	ASSERT_EQ(PIN_CACHED | PIN_PREFETCHED, pin_state(page(self, 1)));
	ASSERT_EQ(-1, pin_state(page(self, 2)));
	ASSERT_EQ(PIN_CACHED | PIN_PREFETCHED, pin_state(page(self, 3)));
	ASSERT_EQ(0, mincore(page(self, 2), PG, &vec));
	ASSERT_EQ(0, vec & 1);
}

/* A read-only prefetch does not serve a writable map: a miss replaces it. */
TEST_F(prefetch, read_only_prefetch_write_map)
{
	long long misses;

	test_map(IOVA_OUT, self->out, PG, W);
	train_and_miss(_metadata, self, R);
	ASSERT_EQ(PIN_CACHED | PIN_PREFETCHED, pin_state(page(self, 1)));
	misses = vm_stat(self, "misses");
	test_map(IOVA_A + PG, page(self, 1), PG, RW);
	ASSERT_EQ(misses + 1, vm_stat(self, "misses"));
	ASSERT_EQ(1, vm_stat(self, "prefetch_wasted"));
	ASSERT_EQ(0, vm_stat(self, "prefetch_useful"));
	ASSERT_EQ(PIN_WRITABLE, pin_state(page(self, 1)));
	ASSERT_EQ(5 * PG, vmc_vm_read_ll("pinned_bytes"));
	ASSERT_EQ(1, dma_reads_page(self, IOVA_A + PG, 1));
}

/* Prefetch off: the same pattern pins nothing ahead; off forgets the graph. */
TEST_F(prefetch, off_means_off)
{
	int i;

	ASSERT_EQ(0, walk(self, 0, 4, R));
	ASSERT_EQ(0, walk(self, 0, 4, R));
	ASSERT_EQ(0, vmc_vm_write("mode", "off"));
	ASSERT_EQ(0, vmc_vm_write("mode", "strict"));
	test_map(IOVA_A, page(self, 0), PG, R);
	ASSERT_EQ(PG, vmc_vm_read_ll("pinned_bytes"));
	test_unmap(IOVA_A, PG, PG);

	/* Trained while on, then off and on again: the graph starts empty. */
	ASSERT_EQ(0, vmc_vm_write("prefetch", "1"));
	ASSERT_EQ(0, walk(self, 4, 4, R));
	ASSERT_EQ(0, walk(self, 4, 4, R));
	ASSERT_EQ(0, vmc_vm_write("prefetch", "0"));
	ASSERT_EQ(0, vmc_vm_write("mode", "off"));
	ASSERT_EQ(0, vmc_vm_write("mode", "strict"));
	test_map(IOVA_A, page(self, 4), PG, R);
	test_unmap(IOVA_A, PG, PG);
	ASSERT_EQ(0, vmc_vm_write("prefetch", "1"));
	ASSERT_EQ(0, vmc_vm_write("mode", "off"));
	ASSERT_EQ(0, vmc_vm_write("mode", "strict"));
	test_map(IOVA_A, page(self, 4), PG, R);
	ASSERT_EQ(0, vm_stat(self, "prefetch_issued"));
	for (i = 5; i < 8; i++)
		ASSERT_EQ(-1, pin_state(page(self, i))) TH_LOG("page %d", i);
	ASSERT_EQ(PG, vmc_vm_read_ll("pinned_bytes"));
}

/*
 * In a forked child (a new mm, so a new VM): does its VM have @prefetch and
 * @depth?  1 if so, 0 if not, -1 if the child could not tell.
 */
static int child_vm_sees(long long prefetch, long long depth)
{
	struct vmc_env env;
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		if (vmc_env_open(&env, VMC_BACKEND_MAPCACHE))
			_exit(2);
		_exit(vmc_vm_read_ll("prefetch") == prefetch &&
		      vmc_vm_read_ll("prefetch_depth") == depth ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) > 1)
		return -1;
	return !WEXITSTATUS(status);
}

/* The sysfs files and module parameters take good values, refuse others. */
TEST_F(prefetch, sysfs_and_params)
{
	static const char *const bad_on[] = { "2", "-1", "on", "yes", "\n", "1x", "0 1" };
	static const char *const bad_depth[] = { "0", "9", "-1", "deep", "\n", "4k" };
	char path[192], val[16];
	struct stat st;
	unsigned int i;

	snprintf(path, sizeof(path), "%s/prefetch", self->sysfs);
	ASSERT_EQ(0, stat(path, &st));
	ASSERT_EQ(0600, st.st_mode & 0777);
	snprintf(path, sizeof(path), "%s/prefetch_depth", self->sysfs);
	ASSERT_EQ(0, stat(path, &st));
	ASSERT_EQ(0600, st.st_mode & 0777);

	ASSERT_EQ(0, vmc_vm_read_ll("prefetch"));
	ASSERT_EQ(0, vmc_vm_write("prefetch", "1\n"));
	ASSERT_EQ(1, vmc_vm_read_ll("prefetch"));
	ASSERT_EQ(0, vmc_vm_write("prefetch_depth", "3"));
	for (i = 0; i < sizeof(bad_on) / sizeof(bad_on[0]); i++)
		ASSERT_EQ(-EINVAL, vmc_vm_write("prefetch", bad_on[i])) TH_LOG("'%s'", bad_on[i]);
	for (i = 0; i < sizeof(bad_depth) / sizeof(bad_depth[0]); i++)
		ASSERT_EQ(-EINVAL, vmc_vm_write("prefetch_depth", bad_depth[i]))
			TH_LOG("'%s'", bad_depth[i]);
	ASSERT_EQ(1, vmc_vm_read_ll("prefetch"));
	ASSERT_EQ(3, vmc_vm_read_ll("prefetch_depth"));
	ASSERT_EQ(0, vmc_vm_write("prefetch_depth", "8"));
	ASSERT_EQ(0, vmc_vm_write("prefetch", "0"));
	ASSERT_EQ(0, vmc_vm_read_ll("prefetch"));

	/* Module defaults: validated, applied to VMs created afterwards. */
	ASSERT_EQ(-EINVAL, write_param("default_prefetch", "maybe"));
	ASSERT_EQ(-EINVAL, write_param("default_prefetch_depth", "0"));
	ASSERT_EQ(-EINVAL, write_param("default_prefetch_depth", "9"));
	ASSERT_EQ(-EINVAL, write_param("default_prefetch_depth", "two"));
	read_param("default_prefetch_depth", val, sizeof(val));
	ASSERT_STREQ(self->def_depth, val);
	ASSERT_EQ(0, write_param("default_prefetch", "1"));
	ASSERT_EQ(0, write_param("default_prefetch_depth", "5"));
	ASSERT_EQ(0, vmc_vm_read_ll("prefetch"));
	ASSERT_EQ(8, vmc_vm_read_ll("prefetch_depth"));
	/* Our VM lives as long as our mm: closing containers keeps it. */
	ASSERT_EQ(0, vmc_vm_write("prefetch_depth", "2"));
	vmc_env_close(&self->env);
	ASSERT_EQ(2, vmc_vm_read_ll("prefetch_depth"));
	ASSERT_EQ(0, vmc_env_open(&self->env, VMC_BACKEND_MAPCACHE));
	ASSERT_EQ(0, vmc_vm_read_ll("prefetch"));
	ASSERT_EQ(2, vmc_vm_read_ll("prefetch_depth"));
	/* A new mm is a new VM, with the defaults of the moment. */
	vmc_env_close(&self->env);
	ASSERT_EQ(1, child_vm_sees(1, 5));
}

/* Prefetched pins are charged to locked_vm, and teardown returns it all. */
TEST_F(prefetch, teardown_returns_everything)
{
	long long base_pages = vmc_pinned_pages(), base_kb = vmc_locked_vm_kb();

	ASSERT_LE(0, base_pages);
	ASSERT_LE(0, base_kb);
	test_map(IOVA_OUT, self->out, PG, W);
	train_and_miss(_metadata, self, RW);
	ASSERT_EQ(3, vm_stat(self, "prefetch_issued"));
	ASSERT_EQ(5 * PG, vmc_vm_read_ll("pinned_bytes"));
	ASSERT_EQ(base_pages + 5, vmc_pinned_pages());
	ASSERT_EQ(base_kb + 5 * PG / 1024, vmc_locked_vm_kb());
	vmc_env_close(&self->env);
	ASSERT_EQ(base_pages, vmc_pinned_pages());
	ASSERT_EQ(base_kb, vmc_locked_vm_kb());
	/* The VM stays with our mm, without a pin. */
	ASSERT_EQ(0, vmc_vm_read_ll("pinned_bytes"));
	ASSERT_EQ(0, access(self->sysfs, F_OK));
}

TEST_HARNESS_MAIN
