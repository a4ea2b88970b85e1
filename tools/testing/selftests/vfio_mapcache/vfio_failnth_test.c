// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection: every failure point of each call chain, one at a time.
 *
 * A chain is a short sequence of calls (SET_IOMMU, a group attach, MAP_DMA
 * of pages never pinned or of cached pages, a large map (an extent) with a
 * small map and a second extent over it and its unmap, UNMAP_DMA,
 * VFIO_MAPCACHE_BATCH, a map that prefetches, writes to a VM's sysfs
 * files, the close of a container).  It runs once with fail-nth armed at a huge N, which counts
 * the failure points it passes (nothing fails); then, for n = 1, 2, ...,
 * with /proc/self/task/<tid>/fail-nth set to n just before it, so that its
 * n-th point fails, until a run passes fewer than n points.  The points are
 * those of failslab and fail_page_alloc (set up to apply to this task,
 * GFP_KERNEL allocations included) and of any other fault attribute the
 * kernel has, fail_usercopy among them.
 *
 * Each injected run must fail with the errno documented for that call, or
 * succeed (some points have fallbacks), and leave a consistent state: what
 * the calls that succeeded made is there, what failed left nothing behind.
 * After the run is undone the counters are back where they were (pinned
 * pages of the module, the VM's pinned_bytes and live_bytes, VmLck) and
 * the edu device still moves the right bytes through a fresh mapping.  A
 * hang ends in the harness's timeout; splats are the host runner's to find
 * on the console.  The number of points of each chain is printed.
 *
 * Needs CONFIG_FAULT_INJECTION_DEBUG_FS with FAILSLAB or FAIL_PAGE_ALLOC
 * (not in Debian's kernels: the test skips there).  The close chains also
 * need CONFIG_FAULT_INJECTION_STACKTRACE_FILTER, to leave out the IOMMU
 * core's re-attach of a released group's default domain, which WARNs when
 * its allocation fails (with stock type1 as well); they skip without it.  VMC_FAILNTH_DRY=<k>
 * runs the sweeps without fault injection, as if each chain had k points:
 * a check of the test's own bookkeeping on any kernel.  VMC_FAILNTH_VERBOSE=1
 * has the kernel print a stack for each failure it injects, to see where
 * the points are (the host runner then counts those stacks as splats).
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vmc_lib.h"

#define PG		VMC_PAGE
#define R		VFIO_DMA_MAP_FLAG_READ
#define W		VFIO_DMA_MAP_FLAG_WRITE
#define RW		(R | W)
#define IOVA_A		0x100000UL
#define IOVA_B		0x400000UL
#define IOVA_C		0x800000UL
#define IOVA_D		0xc00000UL
#define IOVA_CHECK	0x2000000UL
#define IOVA_OUT	0x2100000UL
#define BUF_PAGES	64
/* More than the 16 pages the pin cache takes without allocating an array. */
#define BIG_PAGES	20
#define UNTOUCHED	0x5a
#define SENTINEL	0x7eadbeef
#define CHECK_LEN	256

/* A map of 64 MiB: an extent (the module's VMC_EXT_MIN_BYTES). */
#define EXT_PAGES	16384UL
#define IOVA_EXT	0x4000000UL
#define IOVA_EXT2	0x8000000UL

/* No chain of ours has nearly as many points: more means a runaway sweep. */
#define MAX_NTH		400
#define HUGE_NTH	1000000
#define MAX_STEPS	12
#define MAX_KNOBS	64

#define FI_DIR		"/sys/kernel/debug"

enum chain {
	CH_SET_IOMMU,
	CH_ATTACH,
	CH_MAP_COLD,
	CH_MAP_WARM,
	CH_MAP_EXTENT,
	CH_REMAP_EXTENT,
	CH_UNMAP,
	CH_BATCH,
	CH_PREFETCH,
	CH_SYSFS,
	CH_CLOSE,
};

/* Chains that run in a container the fixture keeps open. */
static bool in_container(enum chain ch)
{
	return ch != CH_SET_IOMMU && ch != CH_CLOSE;
}

/* A fault-injection setting as it was, to put back. */
struct knob {
	char path[160];
	char old[32];
};

/* What each call of a chain returned. */
struct steps {
	unsigned int nr;
	int ret[MAX_STEPS];
	uint64_t val[MAX_STEPS];	/* UNMAP_DMA: bytes unmapped */
};

/* Outcomes over a sweep, printed at its end. */
struct tally {
	unsigned int points;		/* injected runs */
	unsigned int calibration;	/* points counted with nothing failing */
	unsigned int ok;		/* injected, yet every call succeeded */
	unsigned int enomem, efault, eio;
	unsigned int fallback;		/* SET_IOMMU handed to type1 */
};

FIXTURE(failnth) {
	struct vmc_env env;	/* in-container chains */
	struct vmc_env cenv;	/* the container a chain sets up or closes */
	int group2;
	int nth_fd;
	int dry;		/* VMC_FAILNTH_DRY: pretend points, arm nothing */
	bool make_it_fail;
	struct knob knobs[MAX_KNOBS];
	unsigned int nr_knobs;
	char claim[8];		/* claim_type1v2 to put back */
	uint8_t *buf;
	uint8_t *ext;		/* CH_*_EXTENT: EXT_PAGES, touched */
	uint8_t *chk;
	uint8_t *out;
	int sysfs_fd[4];
	struct steps st;
	struct vfio_mapcache_batch_entry v[12];
	uint32_t nr_done;
	struct tally t;
	long long base_module, base_vm_pinned, base_vm_live, base_lck;
	unsigned int run;
};

FIXTURE_VARIANT(failnth) {
	enum chain chain;
	const char *mode;	/* the VM's mode; NULL: leave it */
	enum vmc_backend backend;
	int iommu_type;		/* CH_SET_IOMMU: what is asked for */
	const char *name;	/* for the figures */
};

/* Ours explicitly: no fallback, the errno reaches the caller. */
FIXTURE_VARIANT_ADD(failnth, set_iommu_mapcache) {
	.chain = CH_SET_IOMMU, .backend = VMC_BACKEND_MAPCACHE,
	.iommu_type = VFIO_MAPCACHE_IOMMU,
	.name = "set_iommu_mapcache",
};

/* As QEMU asks: when ours fails, the VFIO core hands the container on. */
FIXTURE_VARIANT_ADD(failnth, set_iommu_type1v2) {
	.chain = CH_SET_IOMMU, .backend = VMC_BACKEND_MAPCACHE,
	.iommu_type = VFIO_TYPE1v2_IOMMU,
	.name = "set_iommu_type1v2",
};

/* Stock type1, the reference for what the IOMMU core does on failure. */
FIXTURE_VARIANT_ADD(failnth, set_iommu_type1) {
	.chain = CH_SET_IOMMU, .backend = VMC_BACKEND_TYPE1,
	.iommu_type = VFIO_TYPE1v2_IOMMU,
	.name = "set_iommu_type1",
};

FIXTURE_VARIANT_ADD(failnth, attach_group) {
	.chain = CH_ATTACH, .mode = "strict", .backend = VMC_BACKEND_MAPCACHE,
	.name = "attach_group",
};

FIXTURE_VARIANT_ADD(failnth, map_cold) {
	.chain = CH_MAP_COLD, .mode = "strict", .backend = VMC_BACKEND_MAPCACHE,
	.name = "map_cold",
};

FIXTURE_VARIANT_ADD(failnth, map_extent_strict) {
	.chain = CH_MAP_EXTENT, .mode = "strict", .backend = VMC_BACKEND_MAPCACHE,
	.name = "map_extent_strict",
};

FIXTURE_VARIANT_ADD(failnth, remap_extent_strict) {
	.chain = CH_REMAP_EXTENT, .mode = "strict", .backend = VMC_BACKEND_MAPCACHE,
	.name = "remap_extent_strict",
};

FIXTURE_VARIANT_ADD(failnth, map_warm_strict) {
	.chain = CH_MAP_WARM, .mode = "strict", .backend = VMC_BACKEND_MAPCACHE,
	.name = "map_warm_strict",
};

FIXTURE_VARIANT_ADD(failnth, map_warm_lazy) {
	.chain = CH_MAP_WARM, .mode = "lazy", .backend = VMC_BACKEND_MAPCACHE,
	.name = "map_warm_lazy",
};

FIXTURE_VARIANT_ADD(failnth, unmap_strict) {
	.chain = CH_UNMAP, .mode = "strict", .backend = VMC_BACKEND_MAPCACHE,
	.name = "unmap_strict",
};

FIXTURE_VARIANT_ADD(failnth, unmap_lazy) {
	.chain = CH_UNMAP, .mode = "lazy", .backend = VMC_BACKEND_MAPCACHE,
	.name = "unmap_lazy",
};

FIXTURE_VARIANT_ADD(failnth, batch_strict) {
	.chain = CH_BATCH, .mode = "strict", .backend = VMC_BACKEND_MAPCACHE,
	.name = "batch_strict",
};

FIXTURE_VARIANT_ADD(failnth, batch_lazy) {
	.chain = CH_BATCH, .mode = "lazy", .backend = VMC_BACKEND_MAPCACHE,
	.name = "batch_lazy",
};

FIXTURE_VARIANT_ADD(failnth, prefetch_map) {
	.chain = CH_PREFETCH, .mode = "strict", .backend = VMC_BACKEND_MAPCACHE,
	.name = "prefetch_map",
};

FIXTURE_VARIANT_ADD(failnth, sysfs) {
	.chain = CH_SYSFS, .mode = "strict", .backend = VMC_BACKEND_MAPCACHE,
	.name = "sysfs",
};

FIXTURE_VARIANT_ADD(failnth, close_strict) {
	.chain = CH_CLOSE, .mode = "strict", .backend = VMC_BACKEND_MAPCACHE,
	.name = "close_strict",
};

FIXTURE_VARIANT_ADD(failnth, close_lazy) {
	.chain = CH_CLOSE, .mode = "lazy", .backend = VMC_BACKEND_MAPCACHE,
	.name = "close_lazy",
};

FIXTURE_VARIANT_ADD(failnth, close_type1) {
	.chain = CH_CLOSE, .backend = VMC_BACKEND_TYPE1,
	.name = "close_type1",
};

/* ---- fail-nth ---- */

static int read_str(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Set a fault-injection file, remembering what it held. */
static int knob_set(struct _test_data_failnth *self, const char *path, const char *val)
{
	struct knob *k;
	int ret;

	if (access(path, F_OK))
		return -ENOENT;
	if (self->nr_knobs == MAX_KNOBS)
		return -E2BIG;
	k = &self->knobs[self->nr_knobs];
	snprintf(k->path, sizeof(k->path), "%s", path);
	ret = read_str(path, k->old, sizeof(k->old));
	if (ret)
		return ret;
	self->nr_knobs++;
	return vmc_write_str(path, val);
}

static void knobs_restore(struct _test_data_failnth *self)
{
	while (self->nr_knobs) {
		struct knob *k = &self->knobs[--self->nr_knobs];

		vmc_write_str(k->path, k->old);
	}
}

/* The text of kernel function @name, from /proc/kallsyms: [*start, *end). */
static int ksym_range(const char *name, unsigned long long *start, unsigned long long *end)
{
	char line[256], sym[128], type;
	unsigned long long addr;
	bool found = false;
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f)
		return -errno;
	*start = *end = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %127s", &addr, &type, sym) != 3)
			continue;
		if (found && addr > *start) {
			*end = addr;
			break;
		}
		if (!strcmp(sym, name)) {
			*start = addr;
			found = true;
		}
	}
	fclose(f);
	return *start && *end ? 0 : -ENOENT;
}

/*
 * A group's release gives its DMA ownership back to the IOMMU core, which
 * re-attaches the group's default domain and WARNs if that fails: with the
 * Intel driver it allocates, so an injected failure there is a splat of the
 * core's own (stock type1 goes the same way; 6.12), never ours.  The close
 * chains leave that function out with the stack filter of fault injection
 * (CONFIG_FAULT_INJECTION_STACKTRACE_FILTER).  0, or a reason to skip.
 */
static const char *fi_reject_release(struct _test_data_failnth *self)
{
	static const char *const attrs[] = { "failslab", "fail_page_alloc" };
	unsigned long long start, end;
	char path[128], val[32];
	int i;

	snprintf(path, sizeof(path), FI_DIR "/failslab/reject-start");
	if (access(path, F_OK))
		return "the IOMMU core WARNs when a group's release fails to allocate (iommu.c, __iommu_release_dma_ownership); without CONFIG_FAULT_INJECTION_STACKTRACE_FILTER a close sweep cannot leave it out";
	if (ksym_range("__iommu_release_dma_ownership", &start, &end))
		return "no __iommu_release_dma_ownership in /proc/kallsyms";
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), FI_DIR "/%s/reject-start", attrs[i]);
		snprintf(val, sizeof(val), "%llu", start);
		if (knob_set(self, path, val))
			return "cannot set reject-start";
		snprintf(path, sizeof(path), FI_DIR "/%s/reject-end", attrs[i]);
		snprintf(val, sizeof(val), "%llu", end);
		if (knob_set(self, path, val))
			return "cannot set reject-end";
	}
	return NULL;
}

/*
 * Let failslab and fail_page_alloc fail this task's GFP_KERNEL allocations
 * of any order, and keep every fault attribute quiet: a verbose one dumps
 * a stack per failure, which the host runner would take for a splat.
 * Returns the number of the two that exist.
 */
static int fi_setup(struct __test_metadata *_metadata, struct _test_data_failnth *self)
{
	/* Where each point is: a stack per injected failure (a splat to the runner). */
	const char *loud = getenv("VMC_FAILNTH_VERBOSE");
	static const char *const pats[] = { FI_DIR "/*/verbose", FI_DIR "/*/*/verbose" };
	char dir[160], path[192];
	unsigned int i;
	size_t j;
	int found = 0;
	glob_t g;

	for (i = 0; i < 2; i++) {
		static const char *const attrs[] = { "failslab", "fail_page_alloc" };

		snprintf(dir, sizeof(dir), FI_DIR "/%s", attrs[i]);
		if (access(dir, F_OK))
			continue;
		found++;
		snprintf(path, sizeof(path), "%s/task-filter", dir);
		ASSERT_EQ(0, knob_set(self, path, "Y"));
		snprintf(path, sizeof(path), "%s/ignore-gfp-wait", dir);
		ASSERT_EQ(0, knob_set(self, path, "N"));
		if (i == 1) {
			snprintf(path, sizeof(path), "%s/ignore-gfp-highmem", dir);
			ASSERT_EQ(0, knob_set(self, path, "N"));
			snprintf(path, sizeof(path), "%s/min-order", dir);
			ASSERT_EQ(0, knob_set(self, path, "0"));
		}
	}
	if (loud && *loud)
		for (i = 0; i < 2; i++) {
			static const char *const attrs[] = { "failslab", "fail_page_alloc" };

			snprintf(path, sizeof(path), FI_DIR "/%s/verbose_ratelimit_interval_ms",
				 attrs[i]);
			knob_set(self, path, "0");
		}
	for (i = 0; i < 2; i++) {
		if (glob(pats[i], 0, NULL, &g))
			continue;
		for (j = 0; j < g.gl_pathc; j++) {
			/* A fault attribute's directory also has "probability". */
			snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(g.gl_pathv[j], '/') -
							      g.gl_pathv[j]), g.gl_pathv[j]);
			snprintf(path, sizeof(path), "%s/probability", dir);
			if (!access(path, F_OK))
				knob_set(self, g.gl_pathv[j], loud && *loud ? "2" : "0");
		}
		globfree(&g);
	}
	return found;
}

static void fi_arm(struct __test_metadata *_metadata, struct _test_data_failnth *self,
		   unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (self->dry)
		return;
	ASSERT_EQ(len, pwrite(self->nth_fd, buf, len, 0));
}

/*
 * Disarm; returns how many points the chain left of what was armed (0:
 * the armed point was reached and failed).  Reading and disarming cross
 * fail_usercopy points themselves: a read that fails with EFAULT, or a
 * disarm that must be repeated, means the chain did not reach the point.
 */
static unsigned int fi_disarm(struct __test_metadata *_metadata,
			      struct _test_data_failnth *self, unsigned int armed)
{
	char buf[32] = "";
	unsigned int left;
	ssize_t n;

	if (self->dry)
		return armed > (unsigned int)self->dry ? armed - self->dry : 0;
	n = pread(self->nth_fd, buf, sizeof(buf) - 1, 0);
	if (n < 0 && errno == EFAULT) {
		left = 1;
	} else {
		ASSERT_LT(0, n);
		buf[n] = '\0';
		left = strtoul(buf, NULL, 10);
	}
	if (pwrite(self->nth_fd, "0", 1, 0) != 1) {
		ASSERT_EQ(EFAULT, errno);
		left = left ?: 1;
		ASSERT_EQ(1, pwrite(self->nth_fd, "0", 1, 0));
	}
	return left;
}

/* ---- state checks ---- */

static void take_baseline(struct _test_data_failnth *self)
{
	self->base_module = vmc_pinned_pages();
	self->base_lck = vmc_locked_vm_kb();
	self->base_vm_pinned = vmc_vm_has("pinned_bytes") ? vmc_vm_read_ll("pinned_bytes") : 0;
	self->base_vm_live = vmc_vm_has("live_bytes") ? vmc_vm_read_ll("live_bytes") : 0;
}

static void check_baseline(struct __test_metadata *_metadata, struct _test_data_failnth *self)
{
	ASSERT_EQ(self->base_module, vmc_pinned_settles_at(self->base_module))
		TH_LOG("run %u: module pinned_pages", self->run);
	if (vmc_vm_has("pinned_bytes")) {
		ASSERT_EQ(self->base_vm_pinned, vmc_vm_read_ll("pinned_bytes"))
			TH_LOG("run %u: pinned_bytes", self->run);
		ASSERT_EQ(self->base_vm_live, vmc_vm_read_ll("live_bytes"))
			TH_LOG("run %u: live_bytes", self->run);
	}
	ASSERT_EQ(self->base_lck, vmc_locked_vm_kb()) TH_LOG("run %u: VmLck", self->run);
}

/* Candidates (and lazy translations) go: mode off and back, uncharged. */
static int drop_cache(const char *mode)
{
	return vmc_vm_write("mode", "off") ?: vmc_vm_write("mode", mode);
}

/* RAM -> edu -> RAM through fresh mappings of @env: the right bytes arrive. */
static void check_dma_env(struct __test_metadata *_metadata, struct _test_data_failnth *self,
			  struct vmc_env *env)
{
	uint64_t u = 0;

	vmc_fill_pattern(self->chk, CHECK_LEN, 1000 + self->run);
	memset(self->out, UNTOUCHED, PG);
	ASSERT_EQ(0, _vmc_map(env->container, IOVA_CHECK, self->chk, PG, R));
	ASSERT_EQ(0, _vmc_map(env->container, IOVA_OUT, self->out, PG, W));
	ASSERT_EQ(0, vmc_edu_dma_to_dev(env, IOVA_CHECK, 0, CHECK_LEN));
	ASSERT_EQ(0, vmc_edu_dma_from_dev(env, IOVA_OUT, 0, CHECK_LEN));
	ASSERT_EQ(0, memcmp(self->chk, self->out, CHECK_LEN)) TH_LOG("run %u", self->run);
	ASSERT_TRUE(vmc_all_bytes(self->out + CHECK_LEN, PG - CHECK_LEN, UNTOUCHED));
	ASSERT_EQ(0, _vmc_unmap(env->container, IOVA_CHECK, PG, 0, &u));
	ASSERT_EQ(PG, u);
	ASSERT_EQ(0, _vmc_unmap(env->container, IOVA_OUT, PG, 0, &u));
	ASSERT_EQ(PG, u);
}

static void check_dma(struct __test_metadata *_metadata, struct _test_data_failnth *self,
		      const FIXTURE_VARIANT(failnth) *variant)
{
	struct vmc_env env;

	if (in_container(variant->chain)) {
		check_dma_env(_metadata, self, &self->env);
		ASSERT_EQ(0, drop_cache(variant->mode));
		return;
	}
	ASSERT_EQ(0, vmc_env_open(&env, VMC_BACKEND_MAPCACHE));
	check_dma_env(_metadata, self, &env);
	vmc_env_close(&env);
}

/* ---- the chains ---- */

/* Record a call's result; the chain stops at its first failure. */
#define STEP(call) do { \
		int __r = (call); \
		self->st.ret[self->st.nr++] = __r; \
		if (__r) \
			return __r; \
	} while (0)

static void *page(struct _test_data_failnth *self, int i)
{
	return self->buf + i * PG;
}

static int step_map(struct _test_data_failnth *self, uint64_t iova, int first, int n)
{
	return _vmc_map(self->env.container, iova, page(self, first), n * PG, RW);
}

static int step_unmap(struct _test_data_failnth *self, uint64_t iova, uint64_t size,
		      uint32_t flags)
{
	return _vmc_unmap(self->env.container, iova, size, flags,
			  &self->st.val[self->st.nr]);
}

static int pwrite_str(int fd, const char *val)
{
	ssize_t n = pwrite(fd, val, strlen(val), 0);

	return n < 0 ? -errno : n == (ssize_t)strlen(val) ? 0 : -EIO;
}

static const char *const sysfs_files[4] = { "policy", "quota_bytes", "mode", "prefetch" };
static const char *const sysfs_new[4] = { "lirs", "1048576", "lazy", "1" };
static const char *const sysfs_old[4] = { "lru", "0", "strict", "0" };

static struct vfio_mapcache_batch_entry ent_map(uint64_t iova, void *vaddr, uint64_t size)
{
	return (struct vfio_mapcache_batch_entry){
		.op = VFIO_MAPCACHE_OP_MAP, .flags = RW, .vaddr = (uintptr_t)vaddr,
		.iova = iova, .size = size, .result = SENTINEL,
	};
}

static struct vfio_mapcache_batch_entry ent_unmap(uint64_t iova, uint64_t size)
{
	return (struct vfio_mapcache_batch_entry){
		.op = VFIO_MAPCACHE_OP_UNMAP, .iova = iova, .size = size, .result = SENTINEL,
	};
}

/*
 * The armed part: calls only, on arguments built before (a printf or a
 * malloc here would cross failure points of its own).
 */
static int chain_run(struct _test_data_failnth *self, const FIXTURE_VARIANT(failnth) *variant)
{
	int i;

	switch (variant->chain) {
	case CH_SET_IOMMU:
		STEP(ioctl(self->cenv.container, VFIO_SET_IOMMU, variant->iommu_type) ? -errno : 0);
		return 0;
	case CH_ATTACH:
		STEP(ioctl(self->group2, VFIO_GROUP_SET_CONTAINER, &self->env.container) ?
		     -errno : 0);
		return 0;
	case CH_MAP_COLD:
	case CH_MAP_WARM:
		STEP(step_map(self, IOVA_A, 0, 1));
		STEP(step_map(self, IOVA_B, 1, BIG_PAGES));
		return 0;
	case CH_MAP_EXTENT:
		/*
		 * The extent, a small map of two of its pages, a second extent
		 * over the first, the first's unmap.
		 */
		STEP(_vmc_map(self->env.container, IOVA_EXT, self->ext, EXT_PAGES * PG, RW));
		STEP(_vmc_map(self->env.container, IOVA_A, self->ext + 10 * PG, 2 * PG, RW));
		STEP(_vmc_map(self->env.container, IOVA_EXT2, self->ext, EXT_PAGES * PG, RW));
		STEP(step_unmap(self, IOVA_EXT, EXT_PAGES * PG, 0));
		return 0;
	case CH_REMAP_EXTENT:
		/*
		 * The cached extent mapped again elsewhere, unmapped (cached
		 * again: its runs recorded), mapped again where it was.
		 */
		STEP(_vmc_map(self->env.container, IOVA_EXT2, self->ext, EXT_PAGES * PG, RW));
		STEP(step_unmap(self, IOVA_EXT2, EXT_PAGES * PG, 0));
		STEP(_vmc_map(self->env.container, IOVA_EXT, self->ext, EXT_PAGES * PG, RW));
		return 0;
	case CH_UNMAP:
		STEP(step_unmap(self, IOVA_A, PG, 0));
		STEP(step_unmap(self, IOVA_B, BIG_PAGES * PG, 0));
		STEP(step_unmap(self, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL));
		return 0;
	case CH_BATCH:
		STEP(_vmc_batch(self->env.container, self->v, 12, &self->nr_done));
		return 0;
	case CH_PREFETCH:
		STEP(step_map(self, IOVA_A, 0, 1));
		return 0;
	case CH_SYSFS:
		for (i = 0; i < 4; i++)
			STEP(pwrite_str(self->sysfs_fd[i], sysfs_new[i]));
		return 0;
	case CH_CLOSE:
		STEP(close(self->cenv.group) ? -errno : 0);
		self->cenv.group = -1;
		STEP(close(self->cenv.container) ? -errno : 0);
		self->cenv.container = -1;
		return 0;
	}
	return -EINVAL;
}

/* The guest walks pages 0..5 twice: the access graph learns 0 -> 1..5. */
static int train_prefetch(struct _test_data_failnth *self)
{
	int round, i, ret = 0;

	for (round = 0; round < 2; round++)
		for (i = 0; i < 6 && !ret; i++) {
			ret = _vmc_map(self->env.container, IOVA_A, page(self, i), PG, RW);
			ret = ret ?: _vmc_unmap(self->env.container, IOVA_A, PG, 0, NULL);
		}
	/* The candidates go; the graph stays. */
	return ret ?: drop_cache("strict");
}

/* Unarmed, before each run: the state the chain expects. */
static void chain_setup(struct __test_metadata *_metadata, struct _test_data_failnth *self,
			const FIXTURE_VARIANT(failnth) *variant)
{
	int i;

	memset(&self->st, 0, sizeof(self->st));
	switch (variant->chain) {
	case CH_SET_IOMMU:
		if (variant->iommu_type == VFIO_TYPE1v2_IOMMU)
			ASSERT_EQ(0, vmc_write_str(MODPARAM_DIR "/claim_type1v2",
						   variant->backend == VMC_BACKEND_MAPCACHE ?
						   "1" : "0"));
		ASSERT_EQ(0, vmc_env_open_noiommu(&self->cenv));
		break;
	case CH_ATTACH:
	case CH_MAP_COLD:
	case CH_MAP_EXTENT:
		break;
	case CH_REMAP_EXTENT:
		/* A cached extent. */
		ASSERT_EQ(0, _vmc_map(self->env.container, IOVA_EXT, self->ext, EXT_PAGES * PG,
				      RW));
		ASSERT_EQ(0, _vmc_unmap(self->env.container, IOVA_EXT, EXT_PAGES * PG, 0, NULL));
		break;
	case CH_MAP_WARM:
		/* Pages 0 and 1..20 cached (lazy: with their translations). */
		ASSERT_EQ(0, step_map(self, IOVA_A, 0, 1));
		ASSERT_EQ(0, _vmc_unmap(self->env.container, IOVA_A, PG, 0, NULL));
		ASSERT_EQ(0, step_map(self, IOVA_C, 1, BIG_PAGES));
		ASSERT_EQ(0, _vmc_unmap(self->env.container, IOVA_C, BIG_PAGES * PG, 0, NULL));
		break;
	case CH_UNMAP:
		ASSERT_EQ(0, step_map(self, IOVA_A, 0, 1));
		ASSERT_EQ(0, step_map(self, IOVA_B, 1, BIG_PAGES));
		ASSERT_EQ(0, step_map(self, IOVA_C, 30, 1));
		break;
	case CH_BATCH:
		ASSERT_EQ(0, step_map(self, IOVA_A, 0, 1));
		ASSERT_EQ(0, step_map(self, IOVA_C, 2, 1));
		/* More than 8 entries: the kernel copy is allocated. */
		self->v[0] = ent_unmap(IOVA_A, PG);
		self->v[1] = ent_map(IOVA_A, page(self, 1), PG);
		self->v[2] = ent_unmap(IOVA_C, PG);
		self->v[3] = ent_map(IOVA_B, page(self, 3), BIG_PAGES * PG);
		self->v[4] = ent_map(IOVA_C, page(self, 2), PG);
		for (i = 5; i < 12; i++)
			self->v[i] = ent_map(IOVA_D + (i - 5) * PG, page(self, 30 + i), PG);
		break;
	case CH_PREFETCH:
		ASSERT_EQ(0, train_prefetch(self));
		break;
	case CH_SYSFS:
		for (i = 0; i < 4; i++)
			ASSERT_EQ(0, vmc_vm_write(sysfs_files[i], sysfs_old[i]));
		/* Candidates for the mode and the policy to go through. */
		for (i = 0; i < 8; i++) {
			ASSERT_EQ(0, step_map(self, IOVA_A, i, 1));
			ASSERT_EQ(0, _vmc_unmap(self->env.container, IOVA_A, PG, 0, NULL));
		}
		break;
	case CH_CLOSE:
		ASSERT_EQ(0, vmc_env_open(&self->cenv, variant->backend));
		if (variant->backend == VMC_BACKEND_MAPCACHE)
			ASSERT_EQ(0, vmc_vm_write("mode", variant->mode));
		ASSERT_EQ(0, _vmc_map(self->cenv.container, IOVA_A, page(self, 0), PG, RW));
		ASSERT_EQ(0, _vmc_map(self->cenv.container, IOVA_B, page(self, 1),
				      BIG_PAGES * PG, RW));
		ASSERT_EQ(0, _vmc_map(self->cenv.container, IOVA_C, page(self, 30), PG, R));
		ASSERT_EQ(0, _vmc_unmap(self->cenv.container, IOVA_C, PG, 0, NULL));
		/* The device goes unarmed: vfio-pci's release is not ours. */
		close(self->cenv.device);
		self->cenv.device = -1;
		break;
	}
}

/* Did the failing call fail with an errno documented for it? */
static bool errno_allowed(enum chain ch, int ret)
{
	switch (ch) {
	case CH_SET_IOMMU:
	case CH_ATTACH:
		/* Allocation; EIO: a domain the IOMMU driver could not give (6.1). */
		return ret == -ENOMEM || ret == -EIO;
	case CH_UNMAP:
		/* Teardown needs no memory: only the argument can fail to copy. */
		return ret == -EFAULT;
	case CH_CLOSE:
		return false;
	default:
		return ret == -ENOMEM || ret == -EFAULT;
	}
}

/* UNMAP_DMA of [iova, iova + size) must find exactly @expect bytes. */
static void expect_unmap(struct __test_metadata *_metadata, struct _test_data_failnth *self,
			 uint64_t iova, uint64_t size, uint64_t expect)
{
	uint64_t u = ~0ULL;

	ASSERT_EQ(0, _vmc_unmap(self->env.container, iova, size, 0, &u));
	ASSERT_EQ(expect, u) TH_LOG("run %u: unmap 0x%" PRIx64 "+0x%" PRIx64, self->run,
				    iova, size);
}

/* Step @i succeeded? */
static bool did(struct _test_data_failnth *self, unsigned int i)
{
	return i < self->st.nr && !self->st.ret[i];
}

/*
 * Batch: the mappings after the first @done entries took effect.  At the
 * start A and C are mapped; entry 0 unmaps A, 1 maps it again (another
 * page), 2 unmaps C, 3 maps B, 4 maps C again, 5..11 map D, D+1, ...
 */
static void batch_undo(struct __test_metadata *_metadata, struct _test_data_failnth *self,
		       uint32_t done)
{
	uint64_t u = ~0ULL;
	int i;

	expect_unmap(_metadata, self, IOVA_A, PG, done == 1 ? 0 : PG);
	expect_unmap(_metadata, self, IOVA_C, PG, done == 3 || done == 4 ? 0 : PG);
	expect_unmap(_metadata, self, IOVA_B, BIG_PAGES * PG, done >= 4 ? BIG_PAGES * PG : 0);
	for (i = 5; i < 12; i++)
		expect_unmap(_metadata, self, IOVA_D + (i - 5) * PG, PG, done > (uint32_t)i ? PG : 0);
	ASSERT_EQ(0, _vmc_unmap(self->env.container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &u));
	ASSERT_EQ(0, u);
}

/* The batch's own report: a prefix done, the failing entry, the rest untouched. */
static void batch_check(struct __test_metadata *_metadata, struct _test_data_failnth *self,
			int ret, uint32_t *done)
{
	uint32_t i;

	if (!ret) {
		ASSERT_EQ(12, self->nr_done);
		for (i = 0; i < 12; i++)
			ASSERT_EQ(0, self->v[i].result);
		ASSERT_EQ(PG, self->v[0].size);
		ASSERT_EQ(PG, self->v[2].size);
		*done = 12;
		return;
	}
	if (self->nr_done == UINT32_MAX) {
		/* The call itself failed: nothing done, nothing written (as _vmc_batch() set it). */
		for (i = 0; i < 12; i++)
			ASSERT_EQ(SENTINEL, self->v[i].result) TH_LOG("run %u", self->run);
		*done = 0;
		return;
	}
	ASSERT_GT(12, self->nr_done) TH_LOG("run %u", self->run);
	ASSERT_EQ(ret, self->v[self->nr_done].result) TH_LOG("run %u", self->run);
	for (i = 0; i < self->nr_done; i++)
		ASSERT_EQ(0, self->v[i].result);
	for (i = self->nr_done + 1; i < 12; i++)
		ASSERT_EQ(SENTINEL, self->v[i].result);
	*done = self->nr_done;
}

static void sysfs_check(struct __test_metadata *_metadata, struct _test_data_failnth *self)
{
	char path[128], val[32];
	int i;

	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), VMC_SYSFS_DIR "/%d/%s", getpid(), sysfs_files[i]);
		ASSERT_EQ(0, read_str(path, val, sizeof(val)));
		/* A write that failed changed nothing. */
		ASSERT_STREQ(did(self, i) ? sysfs_new[i] : sysfs_old[i], val)
			TH_LOG("run %u: %s", self->run, sysfs_files[i]);
		ASSERT_EQ(0, vmc_vm_write(sysfs_files[i], sysfs_old[i]));
	}
}

/*
 * Unarmed, after each run: check what the calls left against what they
 * returned, and take it all away again.
 */
static void chain_undo(struct __test_metadata *_metadata, struct _test_data_failnth *self,
		       const FIXTURE_VARIANT(failnth) *variant, int ret)
{
	uint32_t done;
	int ours;

	switch (variant->chain) {
	case CH_SET_IOMMU:
		if (!ret) {
			ours = ioctl(self->cenv.container, VFIO_CHECK_EXTENSION, VFIO_MAPCACHE_IOMMU);
			if (variant->backend == VMC_BACKEND_TYPE1 ||
			    variant->iommu_type == VFIO_MAPCACHE_IOMMU) {
				ASSERT_EQ(variant->backend == VMC_BACKEND_MAPCACHE, ours > 0);
			} else if (!ours) {
				self->t.fallback++;
			}
		}
		vmc_env_close(&self->cenv);
		break;
	case CH_ATTACH:
		if (!ret)
			ASSERT_EQ(0, ioctl(self->group2, VFIO_GROUP_UNSET_CONTAINER));
		/* The container's own mapping is still there (and DMA reaches it). */
		break;
	case CH_MAP_COLD:
	case CH_MAP_WARM:
		/* A map that failed left nothing mapped. */
		expect_unmap(_metadata, self, IOVA_A, PG, did(self, 0) ? PG : 0);
		expect_unmap(_metadata, self, IOVA_B, BIG_PAGES * PG,
			     did(self, 1) ? BIG_PAGES * PG : 0);
		break;
	case CH_MAP_EXTENT:
		if (did(self, 3))
			ASSERT_EQ(EXT_PAGES * PG, self->st.val[3]);
		expect_unmap(_metadata, self, IOVA_A, 2 * PG, did(self, 1) ? 2 * PG : 0);
		expect_unmap(_metadata, self, IOVA_EXT2, EXT_PAGES * PG,
			     did(self, 2) ? EXT_PAGES * PG : 0);
		expect_unmap(_metadata, self, IOVA_EXT, EXT_PAGES * PG,
			     did(self, 0) && !did(self, 3) ? EXT_PAGES * PG : 0);
		break;
	case CH_REMAP_EXTENT:
		if (did(self, 1))
			ASSERT_EQ(EXT_PAGES * PG, self->st.val[1]);
		expect_unmap(_metadata, self, IOVA_EXT2, EXT_PAGES * PG,
			     did(self, 0) && !did(self, 1) ? EXT_PAGES * PG : 0);
		expect_unmap(_metadata, self, IOVA_EXT, EXT_PAGES * PG,
			     did(self, 2) ? EXT_PAGES * PG : 0);
		break;
	case CH_UNMAP:
		if (did(self, 0))
			ASSERT_EQ(PG, self->st.val[0]);
		if (did(self, 1))
			ASSERT_EQ(BIG_PAGES * PG, self->st.val[1]);
		if (did(self, 2))
			ASSERT_EQ(PG, self->st.val[2]);
		/* An unmap that failed left its mapping in place. */
		expect_unmap(_metadata, self, IOVA_A, PG, did(self, 0) ? 0 : PG);
		expect_unmap(_metadata, self, IOVA_B, BIG_PAGES * PG,
			     did(self, 1) ? 0 : BIG_PAGES * PG);
		expect_unmap(_metadata, self, IOVA_C, PG, did(self, 2) ? 0 : PG);
		break;
	case CH_BATCH:
		batch_check(_metadata, self, ret, &done);
		batch_undo(_metadata, self, done);
		break;
	case CH_PREFETCH:
		expect_unmap(_metadata, self, IOVA_A, PG, did(self, 0) ? PG : 0);
		break;
	case CH_SYSFS:
		sysfs_check(_metadata, self);
		break;
	case CH_CLOSE:
		/* close() always closes; whatever is left open goes now. */
		vmc_env_close(&self->cenv);
		break;
	}
	if (in_container(variant->chain))
		ASSERT_EQ(0, drop_cache(variant->mode));
}

/* One run of the chain with its @n-th point armed; true if it was reached. */
static bool run_once(struct __test_metadata *_metadata, struct _test_data_failnth *self,
		     const FIXTURE_VARIANT(failnth) *variant, unsigned int n,
		     unsigned int *left)
{
	unsigned int i;
	int ret;

	self->run = n;
	chain_setup(_metadata, self, variant);
	fi_arm(_metadata, self, n);
	ret = chain_run(self, variant);
	*left = fi_disarm(_metadata, self, n);

	if (n == HUGE_NTH || *left) {
		/* Nothing failed: every call succeeded. */
		for (i = 0; i < self->st.nr; i++)
			ASSERT_EQ(0, self->st.ret[i]) TH_LOG("run %u: step %u", n, i);
	} else if (ret) {
		ASSERT_TRUE(errno_allowed(variant->chain, ret))
			TH_LOG("point %u: step %u failed with %d (%s)", n, self->st.nr - 1, ret,
			       strerror(-ret));
		self->t.enomem += ret == -ENOMEM;
		self->t.efault += ret == -EFAULT;
		self->t.eio += ret == -EIO;
	} else {
		self->t.ok++;
	}
	chain_undo(_metadata, self, variant, ret);
	check_baseline(_metadata, self);
	check_dma(_metadata, self, variant);
	check_baseline(_metadata, self);
	return !*left && n != HUGE_NTH;
}

static const char *const chain_names[] = {
	[CH_SET_IOMMU] = "SET_IOMMU", [CH_ATTACH] = "group attach",
	[CH_MAP_COLD] = "MAP_DMA cold", [CH_MAP_WARM] = "MAP_DMA warm",
	[CH_MAP_EXTENT] = "MAP_DMA of an extent",
	[CH_REMAP_EXTENT] = "MAP_DMA of a cached extent",
	[CH_UNMAP] = "UNMAP_DMA", [CH_BATCH] = "VFIO_MAPCACHE_BATCH",
	[CH_PREFETCH] = "MAP_DMA with prefetch", [CH_SYSFS] = "sysfs writes",
	[CH_CLOSE] = "container close",
};

/* ---- the harness ---- */

FIXTURE_SETUP(failnth)
{
	const char *dry = getenv("VMC_FAILNTH_DRY");
	const char *bdf2 = getenv("VMC_EDU_BDF2");
	char path[96];
	int i, ret;

	self->env.container = self->env.group = self->env.device = -1;
	self->cenv.container = self->cenv.group = self->cenv.device = -1;
	self->group2 = self->nth_fd = -1;
	for (i = 0; i < 4; i++)
		self->sysfs_fd[i] = -1;
	self->dry = dry ? atoi(dry) : 0;
	if (!vmc_mapcache_loaded())
		SKIP(return, "vfio_iommu_mapcache is not loaded");
	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth", (long)syscall(SYS_gettid));
	if (!self->dry) {
		if (access(path, F_OK))
			SKIP(return, "no %s: a kernel without fault injection (CONFIG_FAULT_INJECTION_DEBUG_FS; Debian's kernels have none)",
			     path);
		if (!fi_setup(_metadata, self))
			SKIP(return, "no %s/failslab nor %s/fail_page_alloc: nothing to inject",
			     FI_DIR, FI_DIR);
		if (variant->chain == CH_CLOSE) {
			const char *why = fi_reject_release(self);

			if (why)
				SKIP(return, "%s", why);
		}
		self->nth_fd = open(path, O_RDWR);
		ASSERT_LE(0, self->nth_fd);
		ASSERT_EQ(0, vmc_write_str("/proc/self/make-it-fail", "1"));
		self->make_it_fail = true;
	}
	if (variant->chain == CH_ATTACH && !bdf2)
		SKIP(return, "no second edu device (VMC_EDU_BDF2)");
	read_str(MODPARAM_DIR "/claim_type1v2", self->claim, sizeof(self->claim));
	self->buf = vmc_alloc_pages(BUF_PAGES);
	ASSERT_NE(NULL, self->buf);
	if (variant->chain == CH_MAP_EXTENT || variant->chain == CH_REMAP_EXTENT) {
		/* Faulted in now: a fault in GUP would be a point per page. */
		self->ext = vmc_alloc_pages(EXT_PAGES);
		ASSERT_NE(NULL, self->ext);
		memset(self->ext, 3, EXT_PAGES * PG);
	}
	ASSERT_EQ(0, vmc_dma_bufs(&self->chk, 1, 3, &self->out, UNTOUCHED));

	if (in_container(variant->chain)) {
		ret = vmc_env_open(&self->env, VMC_BACKEND_MAPCACHE);
		ASSERT_EQ(0, ret);
		ASSERT_EQ(0, vmc_vm_write("mode", variant->mode));
		ASSERT_EQ(0, vmc_vm_write("policy", "lru"));
		ASSERT_EQ(0, vmc_vm_write("quota_bytes", "0"));
		ASSERT_EQ(0, vmc_vm_write("idle_ms", "0"));
		ASSERT_EQ(0, vmc_vm_write("prefetch", variant->chain == CH_PREFETCH ? "1" : "0"));
	}
	if (variant->chain == CH_ATTACH) {
		self->group2 = vmc_group_open(bdf2);
		ASSERT_LE(0, self->group2);
		/* A live mapping the new group's domain must not lose. */
		ASSERT_EQ(0, step_map(self, IOVA_C, 40, 1));
	}
	if (variant->chain == CH_SYSFS)
		for (i = 0; i < 4; i++) {
			snprintf(path, sizeof(path), VMC_SYSFS_DIR "/%d/%s", getpid(),
				 sysfs_files[i]);
			self->sysfs_fd[i] = open(path, O_WRONLY);
			ASSERT_LE(0, self->sysfs_fd[i]);
		}
	take_baseline(self);
}

FIXTURE_TEARDOWN(failnth)
{
	int i;

	if (self->nth_fd >= 0) {
		/* Never leave a point armed, whatever failed. */
		pwrite(self->nth_fd, "0", 1, 0);
		pwrite(self->nth_fd, "0", 1, 0);
		close(self->nth_fd);
	}
	if (self->make_it_fail)
		vmc_write_str("/proc/self/make-it-fail", "0");
	knobs_restore(self);
	for (i = 0; i < 4; i++)
		if (self->sysfs_fd[i] >= 0)
			close(self->sysfs_fd[i]);
	if (self->group2 >= 0)
		close(self->group2);
	vmc_env_close(&self->cenv);
	vmc_env_close(&self->env);
	if (self->claim[0])
		vmc_write_str(MODPARAM_DIR "/claim_type1v2", self->claim);
}

TEST_F_TIMEOUT(failnth, sweep, 900)
{
	unsigned int n, left = 0;
	long long issued = 0;
	char path[96];

	snprintf(path, sizeof(path), VMC_DEBUGFS_DIR "/vm-%d/stats", getpid());
	/* Nothing fails: count the points (and see a prefetch happen). */
	if (variant->chain == CH_PREFETCH)
		issued = vmc_stat(path, "prefetch_issued");
	run_once(_metadata, self, variant, HUGE_NTH, &left);
	self->t.calibration = self->dry ? self->dry : HUGE_NTH - left;
	if (variant->chain == CH_PREFETCH)
		ASSERT_EQ(issued + 5, vmc_stat(path, "prefetch_issued"));

	for (n = 1; n <= MAX_NTH; n++)
		if (!run_once(_metadata, self, variant, n, &left))
			break;
	ASSERT_GE(MAX_NTH, n) TH_LOG("%s: more than %u failure points: raise MAX_NTH",
				     chain_names[variant->chain], MAX_NTH);
	self->t.points = n - 1;
	ksft_print_msg("%s (%s): %u injection points (%u counted with none failing): %u failed with ENOMEM, %u with EFAULT, %u with EIO, %u succeeded%s\n",
		       variant->name, chain_names[variant->chain], self->t.points,
		       self->t.calibration, self->t.enomem, self->t.efault, self->t.eio,
		       self->t.ok, self->dry ? " (dry run: nothing injected)" : "");
	if (variant->chain == CH_SET_IOMMU && variant->iommu_type == VFIO_TYPE1v2_IOMMU &&
	    variant->backend == VMC_BACKEND_MAPCACHE)
		ksft_print_msg("%s: %u of the successful runs got type1\n", variant->name,
			       self->t.fallback);
}

TEST_HARNESS_MAIN
