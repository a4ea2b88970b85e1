// SPDX-License-Identifier: GPL-2.0
/*
 * The shrinker of vfio_iommu_mapcache: under host memory pressure the
 * candidates (cached, not live) of every VM are released, oldest first,
 * live pins never, and DMA through live mappings stays correct.
 *
 * The guest has 1 GiB of RAM and no swap.  Pressure comes from a child
 * that allocates and touches anonymous memory until the first shrinker
 * release: with watermark_scale_factor raised for the test, kswapd wakes
 * 10% of RAM above the min watermark, and the child never goes closer than
 * 5% to it (no direct reclaim, no OOM killer, whose report would fail the
 * run).  With nothing else to reclaim, kswapd gives up on a node after 16
 * fruitless runs until some reclaim makes progress, so a boot may get only
 * one such episode: one pressure test, with two VMs (lazy here, strict in
 * a child on the second edu device) to cover both modes and the share of
 * each VM.  drop_caches=2, which calls every shrinker, covers each mode on
 * its own.
 *
 * Mapped buffers and the child's memory use 4 KiB pages only: fork() splits
 * the PMD of a transparent huge page with pinned pages, an invalidation
 * for the mmu notifier, which would drop the candidates before any
 * pressure; and huge page faults do not wake kswapd.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vmc_lib.h"

#define IOVA_OUT	0x100000UL
#define IOVA_LIVE	0x200000UL
#define IOVA_CAND	0x1000000UL
/* Pages per map of the candidates: 1 MiB, below the strict extent size. */
#define CAND_PIECE	256
#define NR_LIVE		4
#define NR_CAND		8192		/* 32 MiB of candidates */
#define NR_CAND_OTHER	4096		/* the other VM's */
#define CAND_SEED	11
#define LIVE_SEED	23
#define DMA_LEN		512
#define UNTOUCHED	0x5a
#define R		VFIO_DMA_MAP_FLAG_READ
#define W		VFIO_DMA_MAP_FLAG_WRITE
#define RW		(R | W)
#define PG		VMC_PAGE

#define SHRINKER_PARAM	MODPARAM_DIR "/shrinker"
#define WSF_SYSCTL	"/proc/sys/vm/watermark_scale_factor"
#define DROP_CACHES	"/proc/sys/vm/drop_caches"
#define MIN_FREE_SYSCTL	"/proc/sys/vm/min_free_kbytes"
/* 10% of RAM between the min watermark and the low one that wakes kswapd. */
#define PRESSURE_WSF	"1000"
#define CHUNK_BYTES	(4UL << 20)
/* Polls of 100 ms: while holding the memory, and for the deferred uncharge. */
#define HOLD_POLLS	100
#define UNCHARGE_POLLS	50

/* One VM: a container with candidates and live mappings of known bytes. */
struct cache_vm {
	struct vmc_env env;
	int nr_cand;
	uint8_t *cand;		/* nr_cand pages, mapped then unmapped */
	uint8_t *live;		/* NR_LIVE pages, mapped for device reads */
	uint8_t *out;		/* one page edu writes into */
	pid_t pid;
	long long base_lck_kb;	/* VmLck before its first map */
	char sysfs[96];
	char stats[96];
	char pins[96];
};

/* Populated anonymous pages, never part of a transparent huge page. */
static void *alloc_small_pages(size_t nr_pages)
{
	size_t len = nr_pages * PG;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (madvise(p, len, MADV_NOHUGEPAGE)) {
		munmap(p, len);
		return NULL;
	}
	memset(p, 0, len);
	return p;
}

/* Nothing open yet: teardown may close it whatever happened. */
static void vm_init_closed(struct cache_vm *vm)
{
	vm->env.container = vm->env.group = vm->env.device = -1;
}

static int vm_set(struct cache_vm *vm, const char *file, const char *val)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", vm->sysfs, file);
	return vmc_write_str(path, val);
}

static long long vm_bytes(struct cache_vm *vm, const char *file)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", vm->sysfs, file);
	return vmc_read_ll(path);
}

static long long vm_stat(struct cache_vm *vm, const char *key)
{
	return vmc_stat(vm->stats, key);
}

static int vm_map(struct cache_vm *vm, uint64_t iova, void *p, uint64_t size, uint32_t flags)
{
	return _vmc_map(vm->env.container, iova, p, size, flags);
}

/*
 * Open a container as this process's VM in @mode and fill its cache:
 * @nr_cand candidates, unmapped in address order (LRU releases page 0
 * first), then NR_LIVE live pages and the output page.  0 or -errno.
 */
static int vm_build(struct cache_vm *vm, const char *mode, int nr_cand)
{
	uint64_t unmapped = 0;
	int ret, i;

	memset(vm, 0, sizeof(*vm));
	vm->pid = getpid();
	vm->nr_cand = nr_cand;
	snprintf(vm->sysfs, sizeof(vm->sysfs), "/sys/kernel/vfio_mapcache/%d", vm->pid);
	snprintf(vm->stats, sizeof(vm->stats), VMC_DEBUGFS_DIR "/vm-%d/stats", vm->pid);
	snprintf(vm->pins, sizeof(vm->pins), VMC_DEBUGFS_DIR "/vm-%d/pins", vm->pid);
	vm->base_lck_kb = vmc_locked_vm_kb();
	ret = vmc_env_open(&vm->env, VMC_BACKEND_MAPCACHE);
	if (ret)
		return ret;
	/*
	 * No idle release: on a slow (debug) kernel the test outlasts the
	 * default window, and what the idle work gives back would be
	 * counted as the shrinker's.
	 */
	ret = vm_set(vm, "mode", mode) ?: vm_set(vm, "policy", "lru") ?:
	      vm_set(vm, "quota_bytes", "0") ?: vm_set(vm, "idle_ms", "0");
	if (ret)
		return ret;
	vm->cand = alloc_small_pages(nr_cand);
	vm->live = alloc_small_pages(NR_LIVE);
	vm->out = alloc_small_pages(1);
	if (!vm->cand || !vm->live || !vm->out)
		return -ENOMEM;
	vmc_fill_pattern(vm->cand, nr_cand * PG, CAND_SEED);
	vmc_fill_pattern(vm->live, NR_LIVE * PG, LIVE_SEED);
	memset(vm->out, UNTOUCHED, PG);
	/*
	 * Writable: in lazy mode the cached translation could be written
	 * through.  In pieces below 2 MiB: a larger strict map would be an
	 * extent, cached whole, not page by page.
	 */
	for (i = 0; i < nr_cand; i += CAND_PIECE) {
		ret = vm_map(vm, IOVA_CAND + (uint64_t)i * PG, vm->cand + (size_t)i * PG,
			     (uint64_t)(nr_cand - i < CAND_PIECE ? nr_cand - i : CAND_PIECE) * PG,
			     RW);
		if (ret)
			return ret;
	}
	return _vmc_unmap(vm->env.container, IOVA_CAND, nr_cand * PG, 0, &unmapped) ?:
	       vm_map(vm, IOVA_OUT, vm->out, PG, W) ?:
	       vm_map(vm, IOVA_LIVE, vm->live, NR_LIVE * PG, R);
}

/* Does edu read @expect through @iova?  (RAM -> device -> out) */
static bool dma_reads(struct cache_vm *vm, uint64_t iova, const uint8_t *expect)
{
	memset(vm->out, UNTOUCHED, PG);
	if (vmc_edu_dma_to_dev(&vm->env, iova, 0, DMA_LEN) ||
	    vmc_edu_dma_from_dev(&vm->env, IOVA_OUT, 0, DMA_LEN))
		return false;
	return !memcmp(vm->out, expect, DMA_LEN) &&
	       vmc_all_bytes(vm->out + DMA_LEN, PG - DMA_LEN, UNTOUCHED);
}

static bool live_dma_ok(struct cache_vm *vm)
{
	int i;

	for (i = 0; i < NR_LIVE; i++)
		if (!dma_reads(vm, IOVA_LIVE + i * PG, vm->live + i * PG))
			return false;
	return true;
}

/* Do the candidate pages still hold what vm_build() wrote? */
static bool cands_intact(struct cache_vm *vm)
{
	uint8_t *ref = malloc(vm->nr_cand * PG);
	bool same;

	if (!ref)
		return false;
	vmc_fill_pattern(ref, vm->nr_cand * PG, CAND_SEED);
	same = !memcmp(vm->cand, ref, vm->nr_cand * PG);
	free(ref);
	return same;
}

/* Candidate pages still cached, and the lowest of them (debugfs dump). */
static long long cached_cands(struct cache_vm *vm, unsigned long *lowest)
{
	unsigned long vaddr, lo = (unsigned long)vm->cand;
	unsigned long hi = lo + vm->nr_cand * PG;
	char line[128], flags[16], cached[16];
	unsigned int live;
	long long n = 0;
	FILE *f = fopen(vm->pins, "r");

	if (!f)
		return -1;
	*lowest = ~0UL;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx %*x %u %15s %15s", &vaddr, &live, flags, cached) != 4 ||
		    vaddr < lo || vaddr >= hi || live || strcmp(cached, "cached"))
			continue;
		n++;
		if (vaddr < *lowest)
			*lowest = vaddr;
	}
	fclose(f);
	return n;
}

/* locked_vm follows pinned_bytes once the deferred uncharge has run. */
static bool lck_settles(struct cache_vm *vm)
{
	struct timespec poll = { .tv_nsec = 100 * 1000 * 1000 };
	int i;

	for (i = 0; i < UNCHARGE_POLLS; i++) {
		if (vmc_pid_locked_vm_kb(vm->pid == getpid() ? 0 : vm->pid) ==
		    vm->base_lck_kb + vm_bytes(vm, "pinned_bytes") / 1024)
			return true;
		nanosleep(&poll, NULL);
	}
	return false;
}

/* The cache as vm_build() left it. */
static void check_built(struct __test_metadata *_metadata, struct cache_vm *vm)
{
	ASSERT_EQ(vm->nr_cand, vm_stat(vm, "cand_pages"));
	ASSERT_EQ((vm->nr_cand + NR_LIVE + 1) * PG, vm_bytes(vm, "pinned_bytes"));
	ASSERT_EQ((NR_LIVE + 1) * PG, vm_bytes(vm, "live_bytes"));
	ASSERT_TRUE(lck_settles(vm));
}

/*
 * After @released candidates went: the counters agree, the released ones
 * were the oldest, and every live page is still pinned (locked_vm follows
 * once the deferred uncharge has run).
 */
static void check_released(struct __test_metadata *_metadata, struct cache_vm *vm,
			   long long released)
{
	unsigned long lowest;

	ASSERT_EQ(released, vm_stat(vm, "shrinker_releases"));
	ASSERT_EQ((vm->nr_cand - released + NR_LIVE + 1) * PG, vm_bytes(vm, "pinned_bytes"));
	ASSERT_EQ((NR_LIVE + 1) * PG, vm_bytes(vm, "live_bytes"));
	ASSERT_EQ(vm->nr_cand - released, vm_stat(vm, "cand_pages"));
	ASSERT_EQ(released, vm_stat(vm, "unpins"));
	ASSERT_EQ(0, vm_stat(vm, "evictions"));
	ASSERT_EQ(0, vm_stat(vm, "notifier_drops"));
	ASSERT_EQ(vm_stat(vm, "pins") - vm_stat(vm, "unpins"), vm_stat(vm, "pinned_pages"));
	ASSERT_EQ(vm->nr_cand - released, cached_cands(vm, &lowest));
	if (released < vm->nr_cand)
		ASSERT_EQ((unsigned long)vm->cand + released * PG, lowest);
	ASSERT_TRUE(lck_settles(vm));
}

/*
 * This process's VM after the release: live mappings still reach the right
 * bytes, a device write through the released IOVAs reaches nothing (in
 * lazy mode page 0 took the cached translation with it), and closing the
 * container leaves nothing pinned or charged.
 */
static void check_dma_and_close(struct __test_metadata *_metadata, struct cache_vm *vm,
				long long base_pinned)
{
	ASSERT_TRUE(live_dma_ok(vm));
	vmc_expect_dmar_faults(1);
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&vm->env, IOVA_CAND, 0, DMA_LEN));
	ASSERT_TRUE(cands_intact(vm));
	vmc_env_close(&vm->env);
	ASSERT_EQ(base_pinned, vmc_pinned_pages());
	ASSERT_EQ(vm->base_lck_kb, vmc_locked_vm_kb());
}

/*
 * The shrinker on, the pinned pages before, and @vm built in @mode with
 * its candidates (the module is loaded).
 */
static void shrink_start(struct __test_metadata *_metadata, struct cache_vm *vm,
			 const char *mode, long long *base_pinned)
{
	ASSERT_EQ(0, vmc_write_str(SHRINKER_PARAM, "Y"));
	*base_pinned = vmc_pinned_pages();
	ASSERT_LE(0, *base_pinned);
	ASSERT_EQ(0, vm_build(vm, mode, NR_CAND));
	check_built(_metadata, vm);
}

FIXTURE(shrink) {
	struct cache_vm vm;
	long long base_pinned;
};

FIXTURE_VARIANT(shrink) {
	const char *mode;
};

FIXTURE_VARIANT_ADD(shrink, strict) {
	.mode = "strict",
};

/* Candidates keep their IOMMU translations: released ones must lose them. */
FIXTURE_VARIANT_ADD(shrink, lazy) {
	.mode = "lazy",
};

FIXTURE_SETUP(shrink)
{
	vm_init_closed(&self->vm);
	if (!vmc_mapcache_loaded())
		SKIP(return, "vfio_iommu_mapcache not available");
	shrink_start(_metadata, &self->vm, variant->mode, &self->base_pinned);
}

FIXTURE_TEARDOWN(shrink)
{
	vmc_env_close(&self->vm.env);
	vmc_write_str(SHRINKER_PARAM, "Y");
}

/* drop_caches=2 calls every shrinker until it frees no more: all go. */
TEST_F(shrink, drop_caches)
{
	ASSERT_EQ(0, vmc_write_str(DROP_CACHES, "2"));
	check_released(_metadata, &self->vm, NR_CAND);
	check_dma_and_close(_metadata, &self->vm, self->base_pinned);
}

/* shrinker=N: candidates stay whatever the pressure; Y: they go again. */
TEST_F(shrink, param_off)
{
	char buf[8] = "";
	FILE *f;

	ASSERT_EQ(-EINVAL, vmc_write_str(SHRINKER_PARAM, "maybe"));
	ASSERT_EQ(0, vmc_write_str(SHRINKER_PARAM, "N"));
	f = fopen(SHRINKER_PARAM, "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(buf, sizeof(buf), f));
	fclose(f);
	ASSERT_STREQ("N\n", buf);
	ASSERT_EQ(0, vmc_write_str(DROP_CACHES, "2"));
	ASSERT_EQ(0, vm_stat(&self->vm, "shrinker_releases"));
	check_built(_metadata, &self->vm);
	ASSERT_EQ(0, vmc_write_str(SHRINKER_PARAM, "Y"));
	ASSERT_EQ(0, vmc_write_str(DROP_CACHES, "2"));
	check_released(_metadata, &self->vm, NR_CAND);
	check_dma_and_close(_metadata, &self->vm, self->base_pinned);
}

/* A "key value" line of /proc/meminfo (kB) or /proc/vmstat; -1 if none. */
static long long proc_val(const char *path, const char *key)
{
	char line[128], name[64];
	long long v, found = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63[^: ]%*[: ]%lld", name, &v) == 2 && !strcmp(name, key)) {
			found = v;
			break;
		}
	fclose(f);
	return found;
}

struct pressure {
	long long allocated_kb;	/* what the child held at the end */
	long long min_free_kb;	/* lowest MemFree it saw */
	int released;		/* it saw shrinker_releases rise */
};

/*
 * The child: allocate and touch 4 MiB at a time until the module counts a
 * shrinker release, or until MemFree would fall below @floor_kb; then hold
 * what it has (kswapd keeps reclaiming meanwhile) until a release shows up
 * or the polls run out.
 */
static struct pressure pressure_child(long long base, long long floor_kb)
{
	struct timespec poll = { .tv_nsec = 100 * 1000 * 1000 };
	struct pressure p = { .min_free_kb = proc_val("/proc/meminfo", "MemFree") };
	long long free_kb;
	int polls = 0;

	vmc_write_str("/proc/self/oom_score_adj", "1000");
	for (;;) {
		if (vmc_stat(VMC_STATS_TOTAL, "shrinker_releases") > base) {
			p.released = 1;
			break;
		}
		free_kb = proc_val("/proc/meminfo", "MemFree");
		if (free_kb < p.min_free_kb)
			p.min_free_kb = free_kb;
		if (free_kb - (long long)(CHUNK_BYTES >> 10) < floor_kb) {
			if (polls++ == HOLD_POLLS)
				break;
			nanosleep(&poll, NULL);
			continue;
		}
		if (!alloc_small_pages(CHUNK_BYTES / PG))
			break;
		p.allocated_kb += CHUNK_BYTES >> 10;
	}
	return p;
}

/* Run the pressure child to its end; 0 if it saw a release. */
static int apply_pressure(struct pressure *p)
{
	long long base = vmc_stat(VMC_STATS_TOTAL, "shrinker_releases");
	long long floor_kb = vmc_read_ll(MIN_FREE_SYSCTL) +
			     proc_val("/proc/meminfo", "MemTotal") / 20;
	int status, fds[2];
	pid_t pid;

	if (base < 0 || floor_kb <= 0 || floor_kb >= proc_val("/proc/meminfo", "MemFree") ||
	    pipe(fds))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		struct pressure r = pressure_child(base, floor_kb);

		_exit(write(fds[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(fds[1]);
	if (read(fds[0], p, sizeof(*p)) != sizeof(*p))
		p->released = -1;
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	return p->released == 1 ? 0 : -1;
}

/*
 * The other VM, in a child on the second edu device: builds its cache,
 * reports its VmLck base and where its candidates are, waits, then checks
 * that its live mappings still reach the right bytes and its memory is
 * untouched.  Exit status 0 if so.
 */
static void other_vm(const char *bdf, int to_parent, int from_parent)
{
	struct cache_vm vm;
	long long msg[3];
	char c;

	setenv("VMC_EDU_BDF", bdf, 1);
	msg[0] = vm_build(&vm, "strict", NR_CAND_OTHER);
	msg[1] = vm.base_lck_kb;
	msg[2] = (uintptr_t)vm.cand;
	if (write(to_parent, msg, sizeof(msg)) != sizeof(msg) || msg[0])
		_exit(1);
	if (read(from_parent, &c, 1) != 1)
		_exit(1);
	if (!live_dma_ok(&vm) || !cands_intact(&vm))
		_exit(2);
	vmc_env_close(&vm.env);
	_exit(0);
}

FIXTURE(pressure) {
	struct cache_vm vm;
	struct cache_vm other;	/* counters only: its process builds it */
	long long base_pinned;
	long long wsf;		/* watermark_scale_factor to restore, or -1 */
	int to_other;
	int from_other;
};

FIXTURE_SETUP(pressure)
{
	const char *bdf2 = getenv("VMC_EDU_BDF2");
	int up[2], down[2];
	long long msg[3];

	self->wsf = -1;
	self->other.pid = 0;
	vm_init_closed(&self->vm);
	if (!vmc_mapcache_loaded())
		SKIP(return, "vfio_iommu_mapcache not available");
	shrink_start(_metadata, &self->vm, "lazy", &self->base_pinned);
	if (!bdf2) {
		ksft_print_msg("no second edu device: one VM only\n");
		return;
	}
	ASSERT_EQ(0, pipe(up));
	ASSERT_EQ(0, pipe(down));
	self->other.pid = fork();
	ASSERT_LE(0, self->other.pid);
	if (!self->other.pid)
		other_vm(bdf2, up[1], down[0]);
	close(up[1]);
	close(down[0]);
	self->from_other = up[0];
	self->to_other = down[1];
	ASSERT_EQ(sizeof(msg), read(self->from_other, msg, sizeof(msg)));
	ASSERT_EQ(0, msg[0]);
	self->other.nr_cand = NR_CAND_OTHER;
	self->other.base_lck_kb = msg[1];
	/* Its address, in its own address space: for the pins dump only. */
	self->other.cand = (uint8_t *)(uintptr_t)msg[2];
	snprintf(self->other.sysfs, sizeof(self->other.sysfs), "/sys/kernel/vfio_mapcache/%d",
		 self->other.pid);
	snprintf(self->other.stats, sizeof(self->other.stats), VMC_DEBUGFS_DIR "/vm-%d/stats",
		 self->other.pid);
	snprintf(self->other.pins, sizeof(self->other.pins), VMC_DEBUGFS_DIR "/vm-%d/pins",
		 self->other.pid);
	check_built(_metadata, &self->other);
}

FIXTURE_TEARDOWN(pressure)
{
	char val[32];

	if (self->other.pid > 0) {
		kill(self->other.pid, SIGKILL);
		waitpid(self->other.pid, NULL, 0);
	}
	vmc_env_close(&self->vm.env);
	if (self->wsf >= 0) {
		snprintf(val, sizeof(val), "%lld", self->wsf);
		vmc_write_str(WSF_SYSCTL, val);
	}
}

/* The other VM checks its DMA and memory, and exits: 0 if all is well. */
static int finish_other(struct _test_data_pressure *self)
{
	int status;
	pid_t pid = self->other.pid;

	self->other.pid = 0;
	if (write(self->to_other, "x", 1) != 1 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F_TIMEOUT(pressure, two_vms, 600)
{
	long long scans, slabs, runs, total, released, released_other = 0;
	struct pressure p = { 0 };

	/* Lazy: before the pressure the cached translation still reads. */
	ASSERT_TRUE(dma_reads(&self->vm, IOVA_CAND, self->vm.cand));
	scans = proc_val("/proc/vmstat", "pgscan_kswapd");
	slabs = proc_val("/proc/vmstat", "slabs_scanned");
	runs = proc_val("/proc/vmstat", "pageoutrun");
	total = vmc_stat(VMC_STATS_TOTAL, "shrinker_releases");
	self->wsf = vmc_read_ll(WSF_SYSCTL);
	ASSERT_LE(0, self->wsf);
	ASSERT_EQ(0, vmc_write_str(WSF_SYSCTL, PRESSURE_WSF));
	ASSERT_EQ(0, apply_pressure(&p))
		TH_LOG("no release: allocated %lld kB, MemFree down to %lld kB, kswapd runs +%lld",
		       p.allocated_kb, p.min_free_kb,
		       proc_val("/proc/vmstat", "pageoutrun") - runs);

	released = vm_stat(&self->vm, "shrinker_releases");
	if (self->other.pid)
		released_other = vm_stat(&self->other, "shrinker_releases");
	ksft_print_msg("allocated %lld MiB, MemFree down to %lld MiB; kswapd runs +%lld, pgscan_kswapd +%lld, slabs_scanned +%lld\n",
		       p.allocated_kb >> 10, p.min_free_kb >> 10,
		       proc_val("/proc/vmstat", "pageoutrun") - runs,
		       proc_val("/proc/vmstat", "pgscan_kswapd") - scans,
		       proc_val("/proc/vmstat", "slabs_scanned") - slabs);
	ksft_print_msg("released: lazy VM %lld of %d candidates, strict VM %lld of %d\n",
		       released, NR_CAND, released_other,
		       self->other.pid ? NR_CAND_OTHER : 0);
	ASSERT_EQ(total + released + released_other,
		  vmc_stat(VMC_STATS_TOTAL, "shrinker_releases"));
	/* Both VMs give back, each from its own candidates. */
	ASSERT_LT(0, released);
	check_released(_metadata, &self->vm, released);
	if (self->other.pid) {
		ASSERT_LT(0, released_other);
		check_released(_metadata, &self->other, released_other);
		ASSERT_EQ(0, finish_other(self));
		/* A partial release takes the same share of each VM's candidates. */
		if (released < NR_CAND && released_other < NR_CAND_OTHER)
			ASSERT_GT(NR_CAND * NR_CAND_OTHER / 4,
				  llabs(released * NR_CAND_OTHER - released_other * NR_CAND));
	}
	check_dma_and_close(_metadata, &self->vm, self->base_pinned);
}

TEST_HARNESS_MAIN
