// SPDX-License-Identifier: GPL-2.0
/*
 * The pin cache of vfio_iommu_mapcache: hits, quota, eviction order,
 * coherence with the VMM's memory, the per-VM sysfs files, and teardown.
 * Each test runs in its own process, hence its own VM.
 */
#include <errno.h>
#include <signal.h>
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
#define NR_PAGES	8
#define UNTOUCHED	0x5a
#define R		VFIO_DMA_MAP_FLAG_READ
#define W		VFIO_DMA_MAP_FLAG_WRITE
#define RW		(R | W)
#define PG		VMC_PAGE

FIXTURE(cache) {
	struct vmc_env env;
	uint8_t *buf;	/* NR_PAGES pages the tests map */
	uint8_t *out;	/* one page edu writes back into */
	char sysfs[128];
	char sysfs_policy[160];
	char debugfs[128];
};

static int vm_set(struct _test_data_cache *self, const char *file, const char *val);

FIXTURE_SETUP(cache)
{
	int ret = vmc_env_open(&self->env, VMC_BACKEND_MAPCACHE);

	if (ret == 1)
		SKIP(return, "vfio_iommu_mapcache not available");
	ASSERT_EQ(0, ret);
	snprintf(self->sysfs, sizeof(self->sysfs), "/sys/kernel/vfio_mapcache/%d", getpid());
	snprintf(self->sysfs_policy, sizeof(self->sysfs_policy), "%s/policy", self->sysfs);
	snprintf(self->debugfs, sizeof(self->debugfs), VMC_DEBUGFS_DIR "/vm-%d/stats",
		 getpid());
	/* A known start, whatever the module's defaults are. */
	ASSERT_EQ(0, vm_set(self, "mode", "strict"));
	ASSERT_EQ(0, vm_set(self, "policy", "lru"));
	ASSERT_EQ(0, vm_set(self, "quota_bytes", "0"));
	ASSERT_EQ(0, vmc_dma_bufs(&self->buf, NR_PAGES, 7, &self->out, UNTOUCHED));
}

FIXTURE_TEARDOWN(cache)
{
	vmc_env_close(&self->env);
}

static long long vm_stat(struct _test_data_cache *self, const char *key)
{
	return vmc_stat(self->debugfs, key);
}

static long long vm_bytes(struct _test_data_cache *self, const char *file)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/%s", self->sysfs, file);
	return vmc_read_ll(path);
}

static int vm_set(struct _test_data_cache *self, const char *file, const char *val)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/%s", self->sysfs, file);
	return vmc_write_str(path, val);
}

static int read_line(const char *path, char *buf, int len)
{
	FILE *f = fopen(path, "r");
	char *ok;

	if (!f)
		return -errno;
	ok = fgets(buf, len, f);
	fclose(f);
	return ok ? 0 : -EIO;
}

/* Does edu read page @page_idx of buf through @iova?  (RAM -> dev -> out) */
static int dma_reads_page(struct _test_data_cache *self, uint64_t iova, int page_idx)
{
	memset(self->out, UNTOUCHED, PG);
	if (vmc_edu_dma_to_dev(&self->env, iova, 0, 512) ||
	    vmc_edu_dma_from_dev(&self->env, IOVA_OUT, 0, 512))
		return -1;
	return !memcmp(self->out, self->buf + page_idx * PG, 512);
}

TEST_F(cache, sysfs_files)
{
	static const struct { const char *name; mode_t mode; } files[] = {
		{ "quota_bytes", 0600 }, { "policy", 0600 }, { "mode", 0600 },
		{ "pinned_bytes", 0400 }, { "live_bytes", 0400 },
		{ "peak_pinned_bytes", 0600 }, { "peak_live_bytes", 0600 },
		{ "idle_ms", 0600 },
		{ "comm", 0400 },
	};
	char path[192], buf[64] = "";
	struct stat st;
	unsigned int i;
	FILE *f;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", self->sysfs, files[i].name);
		ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s", path);
		ASSERT_EQ(files[i].mode, st.st_mode & 0777) TH_LOG("%s", path);
	}
	snprintf(path, sizeof(path), "%s/mode", self->sysfs);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(buf, sizeof(buf), f));
	fclose(f);
	ASSERT_STREQ("strict\n", buf);

	/* Good writes take, bad ones fail with EINVAL and change nothing. */
	ASSERT_EQ(0, vm_set(self, "quota_bytes", "65536"));
	ASSERT_EQ(65536, vm_bytes(self, "quota_bytes"));
	ASSERT_EQ(-EINVAL, vm_set(self, "quota_bytes", "4097"));
	ASSERT_EQ(-EINVAL, vm_set(self, "quota_bytes", "-1"));
	ASSERT_EQ(-EINVAL, vm_set(self, "quota_bytes", "lots"));
	ASSERT_EQ(65536, vm_bytes(self, "quota_bytes"));
	ASSERT_EQ(0, vm_set(self, "policy", "fifo"));
	ASSERT_EQ(-EINVAL, vm_set(self, "policy", "mru"));
	ASSERT_EQ(-EINVAL, vm_set(self, "policy", "fifo2"));
	ASSERT_EQ(0, vm_set(self, "mode", "off"));
	ASSERT_EQ(-EINVAL, vm_set(self, "mode", "sloppy"));
	ASSERT_EQ(0, vm_set(self, "mode", "strict"));
	ASSERT_EQ(-EACCES, vm_set(self, "pinned_bytes", "0"));
	/* A peak only takes 0, which starts it again. */
	ASSERT_EQ(0, vm_set(self, "peak_pinned_bytes", "0"));
	ASSERT_EQ(-EINVAL, vm_set(self, "peak_pinned_bytes", "4096"));
	ASSERT_EQ(-EINVAL, vm_set(self, "peak_live_bytes", "-1"));
	ASSERT_EQ(-EINVAL, vm_set(self, "peak_live_bytes", "zero"));
	/* The idle window: ms, 0 for none, at most a day. */
	ASSERT_EQ(30000, vm_bytes(self, "idle_ms"));
	ASSERT_EQ(0, vm_set(self, "idle_ms", "0"));
	ASSERT_EQ(0, vm_bytes(self, "idle_ms"));
	ASSERT_EQ(0, vm_set(self, "idle_ms", "86400000"));
	ASSERT_EQ(-EINVAL, vm_set(self, "idle_ms", "86400001"));
	ASSERT_EQ(-EINVAL, vm_set(self, "idle_ms", "-1"));
	ASSERT_EQ(-EINVAL, vm_set(self, "idle_ms", "10s"));
	ASSERT_EQ(86400000, vm_bytes(self, "idle_ms"));
}

/* Map P at A, unmap, map P at B: no new pin; B reaches P, A faults. */
TEST_F(cache, pin_hit)
{
	long long pins;

	test_map(IOVA_OUT, self->out, PG, W);
	test_map(IOVA_A, self->buf, PG, R);
	ASSERT_EQ(1, dma_reads_page(self, IOVA_A, 0));
	test_unmap(IOVA_A, PG, PG);
	pins = vm_stat(self, "pins");
	ASSERT_LE(2, pins);
	ASSERT_EQ(2 * PG, vm_bytes(self, "pinned_bytes"));
	ASSERT_EQ(PG, vm_bytes(self, "live_bytes"));

	test_map(IOVA_B, self->buf, PG, R);
	ASSERT_EQ(pins, vm_stat(self, "pins"));
	ASSERT_LE(1, vm_stat(self, "pin_hits"));
	ASSERT_EQ(1, dma_reads_page(self, IOVA_B, 0));

	/* Strict: the old IOVA is gone from the IOMMU. */
	vmc_expect_dmar_faults(1);
	memset(self->out, UNTOUCHED, PG);
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env, IOVA_A, 0, 512));
	ASSERT_TRUE(vmc_all_bytes(self->out, PG, UNTOUCHED));
}

/*
 * Live pages fill the quota: further maps succeed all the same (QEMU
 * aborts the VM when a boot-time map fails), and once unmapped the pages
 * go back down to the quota.
 */
TEST_F(cache, quota_never_fails_a_map)
{
	int i;

	ASSERT_EQ(0, vm_set(self, "quota_bytes", "16384"));
	test_map(IOVA_OUT, self->out, PG, W);
	for (i = 0; i < 3; i++)
		test_map(IOVA_A + i * PG, self->buf + i * PG, PG, R);
	ASSERT_EQ(4 * PG, vm_bytes(self, "pinned_bytes"));
	test_map(IOVA_A + 3 * PG, self->buf + 3 * PG, PG, R);
	test_map(IOVA_B, self->buf + 4 * PG, 2 * PG, R);
	ASSERT_EQ(7 * PG, vm_bytes(self, "pinned_bytes"));
	ASSERT_EQ(7 * PG, vm_bytes(self, "live_bytes"));
	ASSERT_EQ(2, vm_stat(self, "quota_overruns"));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(1, dma_reads_page(self, IOVA_A + i * PG, i));
	ASSERT_EQ(1, dma_reads_page(self, IOVA_B + PG, 5));
	/* Unmapped, they are candidates: evicted down to the quota. */
	test_unmap(IOVA_B, 2 * PG, 2 * PG);
	ASSERT_EQ(5 * PG, vm_bytes(self, "pinned_bytes"));
	test_unmap(IOVA_A, 4 * PG, 4 * PG);
	ASSERT_EQ(4 * PG, vm_bytes(self, "pinned_bytes"));
	ASSERT_EQ(PG, vm_bytes(self, "live_bytes"));
	ASSERT_EQ(3, vm_stat(self, "evictions"));
	ASSERT_EQ(7 * PG, vm_bytes(self, "peak_pinned_bytes"));
	ASSERT_EQ(7 * PG, vm_bytes(self, "peak_live_bytes"));
	/* A peak starts again from the current value. */
	ASSERT_EQ(0, vm_set(self, "peak_pinned_bytes", "0"));
	ASSERT_EQ(0, vm_set(self, "peak_live_bytes", "0"));
	ASSERT_EQ(4 * PG, vm_bytes(self, "peak_pinned_bytes"));
	ASSERT_EQ(PG, vm_bytes(self, "peak_live_bytes"));
	/* At the quota, a map that misses evicts a candidate for its page. */
	test_map(IOVA_A, self->buf + 3 * PG, PG, R);
	ASSERT_EQ(1, dma_reads_page(self, IOVA_A, 3));
	ASSERT_EQ(4 * PG, vm_bytes(self, "pinned_bytes"));
}

/* Is the VMM's page at @p in the VM's pin cache?  (debugfs dump) */
static int cached(struct _test_data_cache *self, const void *p)
{
	char path[192], line[128];
	unsigned long vaddr;
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), VMC_DEBUGFS_DIR "/vm-%d/pins", getpid());
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx", &vaddr) == 1 && vaddr == (unsigned long)p)
			found = 1;
	fclose(f);
	return found;
}

/*
 * Pages pinned in the order 0, 1, 2 and unmapped in the order 1, 0, 2;
 * a fourth page needs room for one: LRU evicts page 1, FIFO page 0.  The
 * dump of the cache and the counters (the evicted page is the one miss)
 * must agree, and every page still reaches the device.
 */
static void eviction_order(struct __test_metadata *_metadata,
			   struct _test_data_cache *self, const char *policy,
			   int expect_evicted)
{
	static const int unmap_order[] = { 1, 0, 2 };
	long long misses;
	int i;

	ASSERT_EQ(0, vm_set(self, "policy", policy));
	ASSERT_EQ(0, vm_set(self, "quota_bytes", "16384"));
	test_map(IOVA_OUT, self->out, PG, W);
	for (i = 0; i < 3; i++)
		test_map(IOVA_A + i * PG, self->buf + i * PG, PG, R);
	for (i = 0; i < 3; i++)
		test_unmap(IOVA_A + unmap_order[i] * PG, PG, PG);
	test_map(IOVA_B, self->buf + 3 * PG, PG, R);
	ASSERT_EQ(1, vm_stat(self, "evictions"));
	ASSERT_EQ(4 * PG, vm_bytes(self, "pinned_bytes"));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(i != expect_evicted, cached(self, self->buf + i * PG))
			TH_LOG("%s: page %d", policy, i);
	ASSERT_EQ(1, dma_reads_page(self, IOVA_B, 3));
	test_unmap(IOVA_B, PG, PG);

	/* The evicted page is a miss, a surviving one a hit. */
	misses = vm_stat(self, "misses");
	test_map(IOVA_A, self->buf + ((expect_evicted + 1) % 3) * PG, PG, R);
	ASSERT_EQ(misses, vm_stat(self, "misses"));
	test_unmap(IOVA_A, PG, PG);
	test_map(IOVA_A, self->buf + expect_evicted * PG, PG, R);
	ASSERT_EQ(misses + 1, vm_stat(self, "misses"));
	ASSERT_EQ(1, dma_reads_page(self, IOVA_A, expect_evicted));
	ASSERT_GE(4 * PG, vm_bytes(self, "pinned_bytes"));
}

TEST_F(cache, eviction_lru)
{
	eviction_order(_metadata, self, "lru", 1);
}

TEST_F(cache, eviction_fifo)
{
	eviction_order(_metadata, self, "fifo", 0);
}

/* Lowering the quota evicts down to it at once; live pages stay. */
TEST_F(cache, quota_lowered)
{
	int i;

	for (i = 0; i < 6; i++)
		test_map(IOVA_A + i * PG, self->buf + i * PG, PG, R);
	for (i = 0; i < 4; i++)
		test_unmap(IOVA_A + i * PG, PG, PG);
	ASSERT_EQ(6 * PG, vm_bytes(self, "pinned_bytes"));
	ASSERT_EQ(0, vm_set(self, "quota_bytes", "12288"));
	ASSERT_EQ(3 * PG, vm_bytes(self, "pinned_bytes"));
	ASSERT_EQ(0, vm_set(self, "quota_bytes", "4096"));
	/* Two live pages stay above the quota; new maps still work. */
	ASSERT_EQ(2 * PG, vm_bytes(self, "pinned_bytes"));
	test_map(IOVA_OUT, self->out, PG, W);
	test_map(IOVA_B, self->buf + 7 * PG, PG, R);
	ASSERT_EQ(4 * PG, vm_bytes(self, "pinned_bytes"));
	ASSERT_EQ(1, dma_reads_page(self, IOVA_B, 7));
	/* Once live pages drop, pinned pages come down to the quota. */
	test_unmap(IOVA_A + 4 * PG, 2 * PG, 2 * PG);
	test_unmap(IOVA_B, PG, PG);
	ASSERT_EQ(PG, vm_bytes(self, "pinned_bytes"));
	test_unmap(IOVA_OUT, PG, PG);
	ASSERT_EQ(PG, vm_bytes(self, "pinned_bytes"));
}

/* Switching to off drops the candidates; strict brings caching back. */
TEST_F(cache, mode_off_drops_candidates)
{
	test_map(IOVA_A, self->buf, 4 * PG, R);
	test_unmap(IOVA_A, 4 * PG, 4 * PG);
	ASSERT_EQ(4 * PG, vm_bytes(self, "pinned_bytes"));
	ASSERT_EQ(0, vm_set(self, "mode", "off"));
	ASSERT_EQ(0, vm_bytes(self, "pinned_bytes"));
	test_map(IOVA_A, self->buf, 4 * PG, R);
	test_unmap(IOVA_A, 4 * PG, 4 * PG);
	ASSERT_EQ(0, vm_bytes(self, "pinned_bytes"));
	ASSERT_EQ(0, vm_set(self, "mode", "strict"));
	test_map(IOVA_A, self->buf, 4 * PG, R);
	test_unmap(IOVA_A, 4 * PG, 4 * PG);
	ASSERT_EQ(4 * PG, vm_bytes(self, "pinned_bytes"));
	/* Live when switched off: unpinned, not kept, when unmapped. */
	test_map(IOVA_B, self->buf + 4 * PG, 2 * PG, R);
	ASSERT_EQ(0, vm_set(self, "mode", "off"));
	ASSERT_EQ(2 * PG, vm_bytes(self, "pinned_bytes"));
	test_unmap(IOVA_B, 2 * PG, 2 * PG);
	ASSERT_EQ(0, vm_bytes(self, "pinned_bytes"));
}

/* munmap + mmap at the same address: the next map reaches the new page. */
TEST_F(cache, coherence_remap)
{
	uint8_t *p;

	test_map(IOVA_OUT, self->out, PG, W);
	test_map(IOVA_A, self->buf, PG, R);
	ASSERT_EQ(1, dma_reads_page(self, IOVA_A, 0));
	test_unmap(IOVA_A, PG, PG);
	ASSERT_EQ(0, munmap(self->buf, PG));
	p = mmap(self->buf, PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0);
	ASSERT_EQ(self->buf, p);
	vmc_fill_pattern(p, PG, 99);
	test_map(IOVA_A, self->buf, PG, R);
	ASSERT_EQ(1, dma_reads_page(self, IOVA_A, 0));
	ASSERT_LE(1, vm_stat(self, "notifier_drops"));
}

/* A balloon discards cached pages: pinned_bytes drops at once. */
TEST_F(cache, coherence_madvise)
{
	test_map(IOVA_A, self->buf, 4 * PG, R);
	test_unmap(IOVA_A, 4 * PG, 4 * PG);
	ASSERT_EQ(4 * PG, vm_bytes(self, "pinned_bytes"));
	ASSERT_EQ(0, madvise(self->buf, 4 * PG, MADV_DONTNEED));
	ASSERT_EQ(0, vm_bytes(self, "pinned_bytes"));
	ASSERT_EQ(4, vm_stat(self, "notifier_drops"));
	/* The discarded memory reads as zeroes; so does the next DMA. */
	test_map(IOVA_OUT, self->out, PG, W);
	test_map(IOVA_A, self->buf, PG, R);
	memset(self->out, UNTOUCHED, PG);
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env, IOVA_A, 0, 512));
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env, IOVA_OUT, 0, 512));
	ASSERT_TRUE(vmc_all_bytes(self->out, 512, 0));
}

/* A live mapping keeps its page when the VMM discards the address. */
TEST_F(cache, coherence_live_kept)
{
	test_map(IOVA_OUT, self->out, PG, W);
	test_map(IOVA_A, self->buf, PG, R);
	ASSERT_EQ(0, madvise(self->buf, PG, MADV_DONTNEED));
	ASSERT_EQ(2 * PG, vm_bytes(self, "pinned_bytes"));
	test_unmap(IOVA_A, PG, PG);
	/* Stale once unmapped: unpinned, not cached. */
	ASSERT_EQ(PG, vm_bytes(self, "pinned_bytes"));
}

/* SIGKILL with live and cached pins: everything goes with the process. */
TEST_F(cache, sigkill_releases_everything)
{
	long long base;
	char path[192];
	int status, pipefd[2];
	pid_t pid;
	char c;

	/* Our own VM must not hold the device: release it first. */
	vmc_env_close(&self->env);
	base = vmc_pinned_pages();
	ASSERT_LE(0, base);
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct vmc_env env;

		if (vmc_env_open(&env, VMC_BACKEND_MAPCACHE) ||
		    _vmc_map(env.container, IOVA_A, self->buf, 4 * PG, R) ||
		    _vmc_unmap(env.container, IOVA_A, 2 * PG, 0, NULL) != -EINVAL ||
		    _vmc_map(env.container, IOVA_B, self->buf + 4 * PG, 2 * PG, R) ||
		    _vmc_unmap(env.container, IOVA_B, 2 * PG, 0, NULL))
			_exit(1);
		write(pipefd[1], "x", 1);
		pause();
		_exit(0);
	}
	close(pipefd[1]);
	ASSERT_EQ(1, read(pipefd[0], &c, 1));
	snprintf(path, sizeof(path), "/sys/kernel/vfio_mapcache/%d/pinned_bytes", pid);
	ASSERT_EQ(6 * PG, vmc_read_ll(path));
	ASSERT_EQ(base + 6, vmc_pinned_pages());
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(base, vmc_pinned_pages());
	ASSERT_NE(0, access(path, F_OK));
	snprintf(path, sizeof(path), VMC_DEBUGFS_DIR "/vm-%d", pid);
	ASSERT_NE(0, access(path, F_OK));
}

/* Two VMs at once (two processes, two edu devices): separate caches. */
TEST_F(cache, two_vms)
{
	const char *bdf2 = getenv("VMC_EDU_BDF2");
	char path[192], line[32];
	int status, tochild[2], toparent[2];
	pid_t pid;
	char c;

	if (!bdf2)
		SKIP(return, "no second edu device");
	ASSERT_EQ(0, pipe(tochild));
	ASSERT_EQ(0, pipe(toparent));
	/* Our VM caches page 0; the other VM maps the same virtual page. */
	test_map(IOVA_A, self->buf, PG, R);
	test_unmap(IOVA_A, PG, PG);
	ASSERT_EQ(0, vm_set(self, "policy", "fifo"));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct vmc_env env;

		setenv("VMC_EDU_BDF", bdf2, 1);
		if (vmc_env_open(&env, VMC_BACKEND_MAPCACHE) ||
		    _vmc_map(env.container, IOVA_A, self->buf, PG, R))
			_exit(1);
		write(toparent[1], "x", 1);
		read(tochild[0], &c, 1);
		_exit(0);
	}
	ASSERT_EQ(1, read(toparent[0], &c, 1));
	/* The child's VM has its own policy, its own pins, no hit on ours. */
	snprintf(path, sizeof(path), "/sys/kernel/vfio_mapcache/%d/policy", pid);
	ASSERT_EQ(0, read_line(path, line, sizeof(line)));
	ASSERT_STREQ("duel\n", line);	/* the module default */
	ASSERT_EQ(0, read_line(self->sysfs_policy, line, sizeof(line)));
	ASSERT_STREQ("fifo\n", line);
	snprintf(path, sizeof(path), VMC_DEBUGFS_DIR "/vm-%d/stats", pid);
	ASSERT_EQ(0, vmc_stat(path, "pin_hits"));
	ASSERT_EQ(1, vmc_stat(path, "misses"));
	snprintf(path, sizeof(path), "/sys/kernel/vfio_mapcache/%d/pinned_bytes", pid);
	ASSERT_EQ(PG, vmc_read_ll(path));
	ASSERT_EQ(PG, vm_bytes(self, "pinned_bytes"));
	ASSERT_EQ(0, vm_stat(self, "pin_hits"));
	write(tochild[1], "x", 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* Ours is untouched by the other VM's exit. */
	ASSERT_EQ(PG, vm_bytes(self, "pinned_bytes"));
}

/* Lazy: the same (IOVA, page) again is a full hit: no pin, no IOMMU call. */
TEST_F(cache, lazy_full_hit)
{
	long long pins, maps, flushes;

	ASSERT_EQ(0, vm_set(self, "mode", "lazy"));
	test_map(IOVA_OUT, self->out, PG, W);
	test_map(IOVA_A, self->buf, 2 * PG, R);
	test_unmap(IOVA_A, 2 * PG, 2 * PG);
	/* Documented: a guest-unmapped IOVA stays reachable until evicted. */
	ASSERT_EQ(1, dma_reads_page(self, IOVA_A, 0));
	pins = vm_stat(self, "pins");
	maps = vmc_container_stat("iommu_maps");
	flushes = vmc_container_stat("iotlb_flushes") + vm_stat(self, "iotlb_flushes");
	test_map(IOVA_A, self->buf, 2 * PG, R);
	ASSERT_EQ(pins, vm_stat(self, "pins"));
	ASSERT_EQ(maps, vmc_container_stat("iommu_maps"));
	ASSERT_EQ(flushes, vmc_container_stat("iotlb_flushes") + vm_stat(self, "iotlb_flushes"));
	ASSERT_EQ(2, vm_stat(self, "full_hits"));
	ASSERT_EQ(1, dma_reads_page(self, IOVA_A + PG, 1));
	/* Live again: overlap is EEXIST, unmap returns the size. */
	test_err_map(EEXIST, IOVA_A, self->buf, PG, R);
	test_unmap(IOVA_A, 2 * PG, 2 * PG);
	/* Another size at the same IOVA is no hit: replaced. */
	test_map(IOVA_A, self->buf, PG, R);
	ASSERT_EQ(2, vm_stat(self, "full_hits"));
	ASSERT_EQ(1, dma_reads_page(self, IOVA_A, 0));
}

/* Lazy: IOVA A cached to P, then mapped to Q: the DMA reaches Q, never P. */
TEST_F(cache, lazy_replacement)
{
	ASSERT_EQ(0, vm_set(self, "mode", "lazy"));
	test_map(IOVA_OUT, self->out, PG, W);
	test_map(IOVA_A, self->buf, PG, R);
	ASSERT_EQ(1, dma_reads_page(self, IOVA_A, 0));
	test_unmap(IOVA_A, PG, PG);
	test_map(IOVA_A, self->buf + 3 * PG, PG, R);
	ASSERT_EQ(1, dma_reads_page(self, IOVA_A, 3));
	ASSERT_EQ(0, vm_stat(self, "full_hits"));
	/* A write-only map of the same page is no full hit either. */
	test_unmap(IOVA_A, PG, PG);
	test_map(IOVA_A, self->buf + 3 * PG, PG, RW);
	ASSERT_EQ(0, vm_stat(self, "full_hits"));
	ASSERT_EQ(1, dma_reads_page(self, IOVA_A, 3));
}

/*
 * Lazy, a quota of 3 pages: IOVA_A cached to page 0, which a miss then
 * evicts; pages 1 and 2 live at IOVA_B and IOVA_B + PG.
 */
static void lazy_evict_page0(struct __test_metadata *_metadata,
			     struct _test_data_cache *self)
{
	ASSERT_EQ(0, vm_set(self, "mode", "lazy"));
	ASSERT_EQ(0, vm_set(self, "quota_bytes", "12288"));
	test_map(IOVA_OUT, self->out, PG, W);
	test_map(IOVA_A, self->buf, PG, R);
	test_unmap(IOVA_A, PG, PG);
	test_map(IOVA_B, self->buf + PG, PG, R);
	/* Page 0 is the only candidate: the next miss evicts it. */
	test_map(IOVA_B + PG, self->buf + 2 * PG, PG, R);
	ASSERT_EQ(1, vm_stat(self, "evictions"));
}

/* Lazy: evicting a page first takes its cached translation away. */
TEST_F(cache, lazy_eviction_unmaps)
{
	lazy_evict_page0(_metadata, self);
	ASSERT_GE(3 * PG, vm_bytes(self, "pinned_bytes"));
	vmc_expect_dmar_faults(1);
	memset(self->out, UNTOUCHED, PG);
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env, IOVA_A, 0, 512));
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env, IOVA_OUT, 0, 512));
	ASSERT_FALSE(memcmp(self->out, self->buf, 512) == 0);
}

/* Lazy: the VMM discarding a cached page takes the translation with it. */
TEST_F(cache, lazy_madvise_unmaps)
{
	ASSERT_EQ(0, vm_set(self, "mode", "lazy"));
	test_map(IOVA_OUT, self->out, PG, W);
	test_map(IOVA_A, self->buf, 2 * PG, R);
	test_unmap(IOVA_A, 2 * PG, 2 * PG);
	ASSERT_EQ(3 * PG, vm_bytes(self, "pinned_bytes"));
	ASSERT_EQ(0, madvise(self->buf + PG, PG, MADV_DONTNEED));
	/* The whole cached mapping went; page 0 stays pinned, cached. */
	ASSERT_EQ(2 * PG, vm_bytes(self, "pinned_bytes"));
	vmc_expect_dmar_faults(1);
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env, IOVA_A, 0, 512));
	/* Back to strict: nothing cached in the IOMMU any more either. */
	test_map(IOVA_B, self->buf, PG, R);
	test_unmap(IOVA_B, PG, PG);
	ASSERT_EQ(0, vm_set(self, "mode", "strict"));
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env, IOVA_B, 0, 512));
}

/*
 * Lazy: the VMM remaps the address of a live mapping; the guest unmaps it.
 * Its page is stale, so no translation is kept: mapping the same (IOVA,
 * address) again reaches the new memory, never the old page.
 */
TEST_F(cache, lazy_live_remap_not_cached)
{
	uint8_t *p;

	ASSERT_EQ(0, vm_set(self, "mode", "lazy"));
	test_map(IOVA_OUT, self->out, PG, W);
	test_map(IOVA_A, self->buf, PG, R);
	ASSERT_EQ(1, dma_reads_page(self, IOVA_A, 0));
	p = mmap(self->buf, PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0);
	ASSERT_EQ(self->buf, p);
	vmc_fill_pattern(p, PG, 99);
	test_unmap(IOVA_A, PG, PG);
	ASSERT_EQ(0, vm_stat(self, "full_hits"));
	test_map(IOVA_A, self->buf, PG, R);
	ASSERT_EQ(0, vm_stat(self, "full_hits"));
	ASSERT_EQ(1, dma_reads_page(self, IOVA_A, 0));
}

/*
 * Lazy: a cached translation torn down by an eviction is gone for every
 * request of its container: unmapping it unmaps nothing, mapping it again
 * is no full hit, and another page can take its IOVA.
 */
TEST_F(cache, lazy_evicted_is_gone)
{
	lazy_evict_page0(_metadata, self);
	test_unmap(IOVA_A, PG, 0);
	test_unmap(IOVA_B + PG, PG, PG);
	test_map(IOVA_A, self->buf, PG, R);
	ASSERT_EQ(0, vm_stat(self, "full_hits"));
	ASSERT_EQ(1, dma_reads_page(self, IOVA_A, 0));
	test_unmap(IOVA_A, PG, PG);
	test_unmap(IOVA_B, PG, PG);
	/* Another page takes both IOVAs, cached or not. */
	test_map(IOVA_A, self->buf + 3 * PG, PG, R);
	test_map(IOVA_B, self->buf + 3 * PG, PG, R);
	ASSERT_EQ(1, dma_reads_page(self, IOVA_B, 3));
	ASSERT_GE(3 * PG, vm_bytes(self, "pinned_bytes"));
}

/*
 * Lazy then strict: a mapping taken back by a full hit and unmapped after
 * the switch goes as in type1, and the VMM's address space can change
 * under what it used (the mmu notifier looks there).
 */
TEST_F(cache, lazy_hit_then_strict)
{
	ASSERT_EQ(0, vm_set(self, "mode", "lazy"));
	test_map(IOVA_OUT, self->out, PG, W);
	test_map(IOVA_A, self->buf, 2 * PG, R);
	test_unmap(IOVA_A, 2 * PG, 2 * PG);
	test_map(IOVA_A, self->buf, 2 * PG, R);
	ASSERT_EQ(2, vm_stat(self, "full_hits"));
	ASSERT_EQ(0, vm_set(self, "mode", "strict"));
	test_unmap(IOVA_A, 2 * PG, 2 * PG);
	vmc_expect_dmar_faults(1);
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env, IOVA_A, 0, 512));
	ASSERT_EQ(3 * PG, vm_bytes(self, "pinned_bytes"));
	ASSERT_EQ(0, madvise(self->buf, 2 * PG, MADV_DONTNEED));
	ASSERT_EQ(PG, vm_bytes(self, "pinned_bytes"));
	test_map(IOVA_A, self->buf, PG, R);
	memset(self->out, UNTOUCHED, PG);
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env, IOVA_A, 0, 512));
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env, IOVA_OUT, 0, 512));
	ASSERT_TRUE(vmc_all_bytes(self->out, 512, 0));
}

TEST_HARNESS_MAIN
