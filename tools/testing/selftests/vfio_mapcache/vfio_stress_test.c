// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency stress of vfio_iommu_mapcache.  One VM (this process) has two
 * containers, each with its own edu device, and its threads map and unmap
 * the same pages in both at once while other actors change what lies under
 * them:
 *
 *  mappers   NR_MAPPERS threads: MAP_DMA, UNMAP_DMA (of one mapping or of
 *            a range of them) and VFIO_MAPCACHE_BATCH at their own IOVAs of
 *            both containers, of pages of one pool they all share;
 *  dma       a thread that maps pages of the pool and of its own and moves
 *            bytes through them with edu: what arrives must be the page's,
 *            and no byte around it may change;
 *  vmm       munmap + mmap, mmap over, MADV_DONTNEED and mprotect() of the
 *            pool's volatile part, as a VMM or a balloon does: a map there
 *            may fail with type1's EFAULT, nothing else;
 *  sysfs     good writes of the VM's settings (read back) and bad ones
 *            (EINVAL, nothing changed);
 *  pressure  a child (one for the program, which keeps its memory between
 *            phases) that allocates memory down to a floor above the min
 *            watermark and writes drop_caches, so that reclaim and the
 *            shrinker run (see vfio_shrink_test for the floor);
 *  vm2       a second VM, a child on a third edu device, churning its own
 *            container over the same virtual addresses with its own bytes:
 *            its DMA must read those, never ours;
 *  extents   a thread that maps 64 MiB of its own memory (an extent, as
 *            QEMU's RAM maps are) in one container and four pages inside
 *            it in the other (pins that share the extent's charge), half
 *            the time the 64 MiB in the other too (a second extent over
 *            the first, as QEMU maps guest RAM for each of two devices),
 *            unmaps them in any order, and now and then discards the four
 *            pages.
 *
 * Each phase adds actors and runs for PHASE_SECS.  After each, with every
 * actor stopped and the module's shrinker off (reclaim lagging behind the
 * pressure phase must not release candidates between two reads):
 *  - pinned_bytes <= quota_bytes + live_bytes (nothing cached in mode off);
 *  - once every mapping is gone, UNMAP_DMA of everything finds nothing,
 *    nothing is live, the VM's counters agree (pins - unpins, live, cached),
 *    locked_vm is what the cache pins and the module-wide pinned_pages is
 *    the VMs' own;
 *  - after the pressure phase, drop_caches releases every candidate;
 *  - the VMM maps new memory over the whole pool: no pin of the old pages
 *    is left, and edu reading from or writing to the IOVAs the mappers used
 *    last reaches no page (DMAR faults, expected) in every mode, lazy too;
 * and at the end, once the containers are closed, the module-wide pinned
 * pages and this process's VmLck are back to where they were.
 *
 * The phases are bounded in time; no timing is asserted.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vmc_lib.h"

#define PG		VMC_PAGE
#define R		VFIO_DMA_MAP_FLAG_READ
#define W		VFIO_DMA_MAP_FLAG_WRITE
#define RW		(R | W)
#define UNTOUCHED	0x5a
/* What the oracle puts in edu's buffer: neither a pattern byte nor UNTOUCHED. */
#define MARK		0x21

#define POOL_PAGES	256
#define STABLE_PAGES	64	/* the pool's first pages: the vmm actor leaves them */
#define NR_MAPPERS	4
#define NR_SLOTS	4	/* IOVA slots per mapper and container */
#define SLOT_PAGES	8
#define MAX_RUN		4	/* pages of a slot's mapping */
#define BIG_PAGES	64	/* one larger mapping per mapper and container */
#define BATCH_MAX	8
#define QUOTA_PAGES	128	/* above the live pages, below the pool */
#define DMA_LEN		512
#define SEG		64	/* edu buffer bytes per oracle sample */
#define NR_SAMPLES	2	/* IOVAs the oracle tries per container */
#define PHASE_SECS	3
#define RESULT_UNSET	0x7e7e7e7e

/* Per container, the same in both. */
#define IOVA_DIN	0x100000UL
#define IOVA_DOUT	0x200000UL
#define IOVA_DWR	0x300000UL
#define IOVA_MARK	0x400000UL
#define IOVA_OUT	0x500000UL
#define IOVA_SLOTS	0x1000000UL
#define IOVA_BIG	0x2000000UL
#define IOVA_EXT_SMALL	0x600000UL
#define IOVA_EXT	0x10000000UL
/* The extents actor's memory: the module's VMC_EXT_MIN_BYTES, 64 MiB. */
#define EXT_PAGES	16384UL
#define EXT_SMALL	4

/* The second VM: its slots, the pool pages it maps, its quota. */
#define VM2_SLOTS	8
#define VM2_POOL	STABLE_PAGES
#define VM2_QUOTA	32
#define VM2_SEED	0x2222

#define DROP_CACHES	"/proc/sys/vm/drop_caches"
#define WSF_SYSCTL	"/proc/sys/vm/watermark_scale_factor"
#define PRESSURE_WSF	"1000"
#define CHUNK_BYTES	(16UL << 20)
#define MAX_CHUNKS	256
#define REFILL_CHUNKS	4	/* given back and taken again at each round */
/* Pressure rounds a pressure phase lasts at least (the first may ramp up). */
#define PRESSURE_ROUNDS	2
/* Most a phase waits for them, in seconds. */
#define PRESSURE_SECS	90
/* Polls of 100 ms: locked_vm after a deferred uncharge, children going idle. */
#define SETTLE_POLLS	50
#define IDLE_POLLS	300

/* Actors of a phase. */
enum {
	ACT_VMM		= 1 << 0,
	ACT_SYSFS	= 1 << 1,
	ACT_PRESSURE	= 1 << 2,
	ACT_VM2		= 1 << 3,
	ACT_EXT		= 1 << 4,
};

/* Commands to the second VM, and its states. */
enum { VM2_WAIT, VM2_RUN, VM2_QUIT };
enum { VM2_BOOT, VM2_IDLE, VM2_BUSY };

/* Shared with the children (MAP_SHARED). */
struct ctl {
	int pressure;		/* the pressure child presses while set */
	int pressure_idle;	/* counts its idle rounds (holding nothing) */
	long pressure_rounds;	/* times it got down to its floor */
	long pressure_mb;	/* most it held, MiB */
	int vm2_cmd;
	int vm2_state;
	long vm2_ops;
	long vm2_dmas;
	char vm2_err[256];
};

#define LOAD(x)		__atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

struct slot {
	uint64_t size;		/* 0: free */
	int page;		/* first pool page of its mapping */
	uint32_t flags;
	int last;		/* first pool page of its last mapping, -1 for none */
	uint64_t last_size;
	uint32_t last_flags;
};

struct mapper {
	struct _test_data_stress *st;
	pthread_t thread;
	bool running;
	int id;
	unsigned int seed;
	struct slot slot[2][NR_SLOTS];
	struct slot big[2];
	long maps;
	long unmaps;
	long batches;
	long efaults;
};

FIXTURE(stress) {
	const struct _fixture_variant_stress *variant;
	struct vmc_env env[2];
	struct ctl *ctl;
	uint8_t *pool;		/* POOL_PAGES, mapped by every mapper in both containers */
	uint8_t *pool_ref;	/* what the pool holds (its stable part, while vmm runs) */
	uint32_t gen;		/* pattern seed of the pool */
	uint8_t *dout;		/* dma actor: one page edu writes a copy into */
	uint8_t *dwr;		/* dma actor: three pages, edu writes into the middle one */
	uint8_t *mark;		/* oracle: one page of MARK */
	uint8_t *out;		/* oracle: one page edu writes back into */
	uint8_t *ext;		/* extents actor: EXT_PAGES */
	unsigned int actors;
	int stop;
	pthread_mutex_t lock;
	char err[256];		/* the first failure of an actor */
	struct mapper m[NR_MAPPERS];
	pthread_t dma_thread, vmm_thread, sysfs_thread, ext_thread;
	bool dma_on, vmm_on, sysfs_on, ext_on;
	long dma_rounds;
	long vmm_ops;
	long sysfs_writes;
	long sysfs_enomem;
	long ext_rounds;
	pid_t vm2_pid;
	long long base_pinned;	/* module-wide pinned pages before */
	long long base_lck_kb;	/* VmLck before */
	long long wsf;		/* watermark_scale_factor to restore, or -1 */
	int faults;		/* DMAR faults declared so far */
	char stats[96];		/* debugfs vm-<pid>/stats */
	char pins[96];
	char xlates[96];
};

FIXTURE_VARIANT(stress) {
	const char *mode;
	const char *policy;
	unsigned long quota_pages;
	const char *prefetch;
};

/* type1's behaviour, the VM's settings unused but for what sysfs writes. */
FIXTURE_VARIANT_ADD(stress, off) {
	.mode = "off",
	.policy = "lirs",
	.quota_pages = 0,
	.prefetch = "0",
};

FIXTURE_VARIANT_ADD(stress, strict) {
	.mode = "strict",
	.policy = "lirs",
	.quota_pages = QUOTA_PAGES,
	.prefetch = "0",
};

/* Cached translations, and prefetched pages among the candidates. */
FIXTURE_VARIANT_ADD(stress, lazy) {
	.mode = "lazy",
	.policy = "lru",
	.quota_pages = QUOTA_PAGES,
	.prefetch = "1",
};

static unsigned int rnd(unsigned int *seed, unsigned int n)
{
	return rand_r(seed) % n;
}

static bool stopped(struct _test_data_stress *st)
{
	return LOAD(st->stop);
}

/* An actor failed: keep the first message, stop the phase. */
static void actor_fail(struct _test_data_stress *st, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&st->lock);
	if (!st->err[0]) {
		va_start(ap, fmt);
		vsnprintf(st->err, sizeof(st->err), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&st->lock);
	STORE(st->stop, 1);
}

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

/* New anonymous memory at @p, as a VMM maps over guest RAM. */
static int remap(void *p, size_t len, int flags)
{
	void *q = mmap(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);

	if (q == MAP_FAILED)
		return -errno;
	if (q != p)
		return -EADDRINUSE;
	return madvise(p, len, MADV_NOHUGEPAGE) ? -errno : 0;
}

/* A "key value" line of /proc/meminfo, in kB; -1 if none. */
static long long meminfo(const char *key)
{
	char line[128], name[64];
	long long v, found = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63[^:]: %lld", name, &v) == 2 && !strcmp(name, key)) {
			found = v;
			break;
		}
	fclose(f);
	return found;
}

/* The first line of a file of this VM's sysfs directory, without newline. */
static int vm_read_str(const char *file, char *buf, size_t len)
{
	char path[128];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), VMC_SYSFS_DIR "/%d/%s", getpid(), file);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	ok = fgets(buf, len, f);
	fclose(f);
	if (!ok)
		return -EIO;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* The VM's settings of @v (and the second VM's, with its own quota). */
static int apply_settings(const struct _fixture_variant_stress *v, unsigned long quota_pages,
			  const char *policy)
{
	char quota[32];

	snprintf(quota, sizeof(quota), "%lu", quota_pages * PG);
	return vmc_vm_write("mode", v->mode) ?: vmc_vm_write("policy", policy) ?:
	       vmc_vm_write("quota_bytes", quota) ?: vmc_vm_write("idle_ms", "0") ?:
	       vmc_vm_write("prefetch_depth", "8") ?: vmc_vm_write("prefetch", v->prefetch);
}

/* ---- mappers ---------------------------------------------------------- */

static uint64_t slot_iova(int id, int s)
{
	return IOVA_SLOTS + (uint64_t)(id * NR_SLOTS + s) * SLOT_PAGES * PG;
}

static uint64_t big_iova(int id)
{
	return IOVA_BIG + (uint64_t)id * BIG_PAGES * PG;
}

/*
 * May a map of pool pages [@page, @page + @nr) fail with @err?  Only with
 * type1's EFAULT, and only where the vmm actor may have taken the memory
 * away or made it read-only.
 */
static bool map_err_ok(struct _test_data_stress *st, int err, int page, int nr)
{
	return err == -EFAULT && (st->actors & ACT_VMM) && page + nr > STABLE_PAGES;
}

static const uint32_t map_flags[] = { R, W, RW };

/* What a slot held, for a map that repeats it and for the oracle. */
static void slot_unmapped(struct slot *sl)
{
	sl->last = sl->page;
	sl->last_size = sl->size;
	sl->last_flags = sl->flags;
	sl->size = 0;
}

/*
 * Map a slot: half of the time exactly as it was last (a full hit in lazy
 * mode, if its translation is still cached), else anywhere in the pool.
 */
static void mapper_map(struct mapper *m, int c, struct slot *sl, uint64_t iova, int nr)
{
	struct _test_data_stress *st = m->st;
	int page = rnd(&m->seed, POOL_PAGES - nr + 1), ret;
	uint32_t flags = map_flags[rnd(&m->seed, 3)];

	if (sl->last >= 0 && rnd(&m->seed, 2)) {
		page = sl->last;
		nr = sl->last_size / PG;
		flags = sl->last_flags;
	}
	ret = _vmc_map(st->env[c].container, iova, st->pool + page * PG, nr * PG, flags);
	if (!ret) {
		sl->size = nr * PG;
		sl->page = page;
		sl->flags = flags;
		m->maps++;
	} else if (map_err_ok(st, ret, page, nr)) {
		m->efaults++;
	} else {
		actor_fail(st,
			   "mapper %d: MAP_DMA container %d iova %#lx pool pages %d+%d flags %u: %d",
			   m->id, c, iova, page, nr, flags, ret);
	}
}

static void mapper_unmap(struct mapper *m, int c, struct slot *sl, uint64_t iova)
{
	uint64_t done = 0;
	int ret = _vmc_unmap(m->st->env[c].container, iova, sl->size, 0, &done);

	if (ret || done != sl->size) {
		actor_fail(m->st,
			   "mapper %d: UNMAP_DMA container %d iova %#lx size %#lx: %d, unmapped %#lx",
			   m->id, c, iova, sl->size, ret, done);
		return;
	}
	slot_unmapped(sl);
	m->unmaps++;
}

/* One UNMAP_DMA over all the mapper's slots of container @c. */
static void mapper_unmap_slots(struct mapper *m, int c)
{
	uint64_t want = 0, done = 0;
	int ret, s;

	for (s = 0; s < NR_SLOTS; s++)
		want += m->slot[c][s].size;
	ret = _vmc_unmap(m->st->env[c].container, slot_iova(m->id, 0), NR_SLOTS * SLOT_PAGES * PG,
			 0, &done);
	if (ret || done != want) {
		actor_fail(m->st,
			   "mapper %d: UNMAP_DMA of its slots, container %d: %d, unmapped %#lx of %#lx",
			   m->id, c, ret, done, want);
		return;
	}
	for (s = 0; s < NR_SLOTS; s++) {
		struct slot *sl = &m->slot[c][s];

		if (sl->size) {
			slot_unmapped(sl);
			m->unmaps++;
		}
	}
}

/*
 * A batch of 2 to BATCH_MAX entries on the mapper's slots of container @c:
 * unmaps of mapped slots, maps of free ones, in any order, a slot unmapped
 * and mapped again in one batch too.  Entries before a failing one stay in
 * effect, entries after it are not looked at.
 */
static void mapper_batch(struct mapper *m, int c)
{
	struct vfio_mapcache_batch_entry v[BATCH_MAX];
	struct _test_data_stress *st = m->st;
	struct slot sim[NR_SLOTS];
	uint64_t want[BATCH_MAX];
	uint32_t n = 2 + rnd(&m->seed, BATCH_MAX - 1), done = UINT32_MAX, i;
	int idx[BATCH_MAX], ret;

	memcpy(sim, m->slot[c], sizeof(sim));
	memset(v, 0, sizeof(v));
	for (i = 0; i < n; i++) {
		int s = rnd(&m->seed, NR_SLOTS), nr, page;

		idx[i] = s;
		v[i].iova = slot_iova(m->id, s);
		v[i].result = RESULT_UNSET;
		if (sim[s].size) {
			v[i].op = VFIO_MAPCACHE_OP_UNMAP;
			v[i].size = want[i] = sim[s].size;
			sim[s].size = 0;
			continue;
		}
		nr = 1 + rnd(&m->seed, MAX_RUN);
		page = rnd(&m->seed, POOL_PAGES - nr + 1);
		v[i].op = VFIO_MAPCACHE_OP_MAP;
		v[i].flags = map_flags[rnd(&m->seed, 3)];
		v[i].vaddr = (uintptr_t)(st->pool + page * PG);
		v[i].size = want[i] = nr * PG;
		sim[s].size = nr * PG;
	}
	ret = _vmc_batch(st->env[c].container, v, n, &done);
	m->batches++;
	if (ret ? done >= n : done != n) {
		actor_fail(st, "mapper %d: batch of %u, container %d: %d, nr_done %u",
			   m->id, n, c, ret, done);
		return;
	}
	if (ret) {
		struct vfio_mapcache_batch_entry *e = &v[done];
		int page = (e->vaddr - (uintptr_t)st->pool) / PG;

		if (e->result != ret || e->op != VFIO_MAPCACHE_OP_MAP ||
		    !map_err_ok(st, ret, page, e->size / PG)) {
			actor_fail(st,
				   "mapper %d: batch of %u, container %d: entry %u (op %u, pool page %d+%lu) failed: %d, result %d",
				   m->id, n, c, done, e->op, page, e->size / PG, ret, e->result);
			return;
		}
		m->efaults++;
	}
	for (i = done + !!ret; i < n; i++)
		if (v[i].result != RESULT_UNSET) {
			actor_fail(st, "mapper %d: batch stopped at %u, entry %u has result %d",
				   m->id, done, i, v[i].result);
			return;
		}
	for (i = 0; i < done; i++) {
		struct slot *sl = &m->slot[c][idx[i]];

		if (v[i].result || v[i].size != want[i]) {
			actor_fail(st,
				   "mapper %d: batch entry %u (op %u): result %d, size %#lx of %#lx",
				   m->id, i, v[i].op, v[i].result, v[i].size, want[i]);
			return;
		}
		if (v[i].op == VFIO_MAPCACHE_OP_UNMAP) {
			slot_unmapped(sl);
			m->unmaps++;
		} else {
			sl->size = v[i].size;
			sl->page = (v[i].vaddr - (uintptr_t)st->pool) / PG;
			sl->flags = v[i].flags;
			m->maps++;
		}
	}
}

static void *mapper_main(void *arg)
{
	struct mapper *m = arg;

	while (!stopped(m->st)) {
		unsigned int r = rnd(&m->seed, 100), c = rnd(&m->seed, 2);
		unsigned int s = rnd(&m->seed, NR_SLOTS);
		struct slot *sl = &m->slot[c][s];

		if (r < 70 && sl->size)
			mapper_unmap(m, c, sl, slot_iova(m->id, s));
		else if (r < 70)
			mapper_map(m, c, sl, slot_iova(m->id, s), 1 + rnd(&m->seed, MAX_RUN));
		else if (r < 90)
			mapper_batch(m, c);
		else if (r < 96 && m->big[c].size)
			mapper_unmap(m, c, &m->big[c], big_iova(m->id));
		else if (r < 96)
			mapper_map(m, c, &m->big[c], big_iova(m->id), BIG_PAGES);
		else
			mapper_unmap_slots(m, c);
	}
	return NULL;
}

/* ---- dma actor -------------------------------------------------------- */

/* Map (plainly or in one batch) or unmap the dma actor's three pages. */
static int dma_maps(struct _test_data_stress *st, int c, int k, bool batch, bool unmap)
{
	struct vfio_mapcache_batch_entry v[3] = {
		{ .op = VFIO_MAPCACHE_OP_MAP, .flags = R, .iova = IOVA_DIN,
		  .vaddr = (uintptr_t)(st->pool + k * PG) },
		{ .op = VFIO_MAPCACHE_OP_MAP, .flags = W, .iova = IOVA_DOUT,
		  .vaddr = (uintptr_t)st->dout },
		{ .op = VFIO_MAPCACHE_OP_MAP, .flags = RW, .iova = IOVA_DWR,
		  .vaddr = (uintptr_t)(st->dwr + PG) },
	};
	int container = st->env[c].container, ret = 0, i;
	uint64_t done;
	uint32_t nr_done;

	for (i = 0; i < 3; i++) {
		v[i].size = PG;
		if (unmap) {
			v[i].op = VFIO_MAPCACHE_OP_UNMAP;
			v[i].flags = 0;
			v[i].vaddr = 0;
		}
	}
	if (batch) {
		ret = _vmc_batch(container, v, 3, &nr_done);
		if (!ret && nr_done != 3)
			ret = -EPROTO;
		for (i = 0; i < 3 && !ret; i++)
			if (v[i].size != PG)
				ret = -EPROTO;
		return ret;
	}
	for (i = 0; i < 3 && !ret; i++) {
		if (!unmap) {
			ret = _vmc_map(container, v[i].iova, (void *)(uintptr_t)v[i].vaddr, PG,
				       v[i].flags);
			continue;
		}
		ret = _vmc_unmap(container, v[i].iova, PG, 0, &done);
		if (!ret && done != PG)
			ret = -EPROTO;
	}
	return ret;
}

/*
 * One round: a stable pool page (which the mappers map too) goes to edu and
 * back into dout, then into the middle page of dwr.  The bytes arrive where
 * they were sent and nowhere else.
 */
static void dma_round(struct _test_data_stress *st, unsigned int *seed, long round)
{
	int c = round & 1, k = rnd(seed, STABLE_PAGES), ret;
	unsigned int off = rnd(seed, PG - DMA_LEN), off2 = rnd(seed, PG - DMA_LEN);
	unsigned int off3 = rnd(seed, PG - DMA_LEN);
	const uint8_t *src = st->pool_ref + k * PG + off;
	struct vmc_env *env = &st->env[c];
	bool batch = round & 2;

	memset(st->dout, UNTOUCHED, PG);
	memset(st->dwr, UNTOUCHED, 3 * PG);
	ret = dma_maps(st, c, k, batch, false);
	if (ret) {
		actor_fail(st, "dma: %s of its pages, container %d: %d",
			   batch ? "batch" : "MAP_DMA", c, ret);
		return;
	}
	ret = vmc_edu_dma_to_dev(env, IOVA_DIN + off, 0, DMA_LEN) ?:
	      vmc_edu_dma_from_dev(env, IOVA_DOUT + off2, 0, DMA_LEN) ?:
	      vmc_edu_dma_from_dev(env, IOVA_DWR + off3, 0, DMA_LEN);
	if (ret)
		actor_fail(st, "dma: edu transfer, container %d: %d", c, ret);
	else if (memcmp(st->dout + off2, src, DMA_LEN) ||
		 !vmc_all_bytes(st->dout, off2, UNTOUCHED) ||
		 !vmc_all_bytes(st->dout + off2 + DMA_LEN, PG - off2 - DMA_LEN, UNTOUCHED))
		actor_fail(st,
			   "dma: pool page %d +%u read through container %d: wrong bytes in dout",
			   k, off, c);
	else if (memcmp(st->dwr + PG + off3, src, DMA_LEN) ||
		 !vmc_all_bytes(st->dwr, PG + off3, UNTOUCHED) ||
		 !vmc_all_bytes(st->dwr + PG + off3 + DMA_LEN, 2 * PG - off3 - DMA_LEN, UNTOUCHED))
		actor_fail(st,
			   "dma: write through container %d at +%u: wrong bytes in or around the page",
			   c, off3);
	ret = dma_maps(st, c, k, !batch, true);
	if (ret)
		actor_fail(st, "dma: unmap of its pages, container %d: %d", c, ret);
}

static void *dma_main(void *arg)
{
	struct _test_data_stress *st = arg;
	unsigned int seed = 77 + st->gen;

	/* A round always ends with its pages unmapped. */
	while (!stopped(st))
		dma_round(st, &seed, st->dma_rounds++);
	return NULL;
}

/* ---- vmm actor -------------------------------------------------------- */

/* Change the VMM's memory under the pool's volatile part, a range at a time. */
static void *vmm_main(void *arg)
{
	struct _test_data_stress *st = arg;
	unsigned int seed = 99 + st->gen;
	const char *what = "";
	int ret = 0;

	while (!stopped(st) && !ret) {
		int nr = 1 + rnd(&seed, 16);
		int page = STABLE_PAGES + rnd(&seed, POOL_PAGES - STABLE_PAGES - nr + 1);
		uint8_t *p = st->pool + page * PG;
		size_t len = nr * PG;

		switch (rnd(&seed, 4)) {
		case 0:
			what = "munmap + mmap";
			ret = munmap(p, len) ? -errno : 0;
			sched_yield();
			/* Not MAP_FIXED: nothing else may have taken the hole. */
			ret = ret ?: remap(p, len, MAP_FIXED_NOREPLACE);
			if (!ret)
				memset(p, 0xc3, len);
			break;
		case 1:
			what = "MADV_DONTNEED";
			ret = madvise(p, len, MADV_DONTNEED) ? -errno : 0;
			break;
		case 2:
			what = "mmap over";
			ret = remap(p, len, MAP_FIXED | MAP_POPULATE);
			break;
		default:
			what = "mprotect";
			ret = mprotect(p, len, PROT_READ) ? -errno : 0;
			sched_yield();
			ret = ret ?: (mprotect(p, len, PROT_READ | PROT_WRITE) ? -errno : 0);
			break;
		}
		st->vmm_ops++;
		usleep(200);
	}
	if (ret)
		actor_fail(st, "vmm: %s: %d", what, ret);
	return NULL;
}

/* ---- sysfs actor ------------------------------------------------------ */

struct knob {
	const char *file;
	const char *val;
	int err;		/* the errno a bad value gets */
	bool may_enomem;	/* documented: switching on may fail with ENOMEM */
};

#define GOOD(f, v)	{ .file = f, .val = v }
#define BAD(f, v)	{ .file = f, .val = v, .err = EINVAL }
#define MAY_ENOMEM(f, v)	{ .file = f, .val = v, .may_enomem = true }

/* idle_ms values are multiples of 20 ms: they read back the same at any HZ we run. */
static const struct knob knobs[] = {
	GOOD("mode", "off"), GOOD("mode", "strict"), GOOD("mode", "lazy"), BAD("mode", "sloppy"),
	GOOD("policy", "lru"), GOOD("policy", "fifo"), MAY_ENOMEM("policy", "lirs"),
	MAY_ENOMEM("policy", "duel"),
	BAD("policy", "mru"),
	GOOD("quota_bytes", "0"), GOOD("quota_bytes", "16384"), GOOD("quota_bytes", "262144"),
	GOOD("quota_bytes", "524288"), GOOD("quota_bytes", "4194304"),
	BAD("quota_bytes", "4097"), BAD("quota_bytes", "-4096"),
	GOOD("prefetch", "0"), MAY_ENOMEM("prefetch", "1"), BAD("prefetch", "2"),
	GOOD("prefetch_depth", "1"), GOOD("prefetch_depth", "8"), BAD("prefetch_depth", "9"),
	GOOD("idle_ms", "0"), GOOD("idle_ms", "20"), GOOD("idle_ms", "100"),
	GOOD("idle_ms", "30000"), BAD("idle_ms", "86400001"),
};

/* One write, and what reads back: the value, or the old one after a refusal. */
static int sysfs_write_one(struct _test_data_stress *st, const struct knob *k)
{
	char before[64], after[64];
	const char *expect;
	int ret;

	ret = vm_read_str(k->file, before, sizeof(before));
	if (ret)
		return ret;
	ret = vmc_vm_write(k->file, k->val);
	if (ret == -ENOMEM && k->may_enomem) {
		/* Documented: the setting stays as it was. */
		st->sysfs_enomem++;
		expect = before;
	} else if (ret == -k->err) {
		expect = k->err ? before : k->val;
	} else {
		actor_fail(st, "sysfs: %s <- %s: %d, expected %d", k->file, k->val, ret, -k->err);
		return 0;
	}
	ret = vm_read_str(k->file, after, sizeof(after));
	if (ret)
		return ret;
	if (strcmp(after, expect))
		actor_fail(st, "sysfs: %s <- %s: reads %s, was %s", k->file, k->val, after, before);
	return 0;
}

static void *sysfs_main(void *arg)
{
	struct _test_data_stress *st = arg;
	unsigned int seed = 55 + st->gen;
	int ret = 0;

	while (!stopped(st) && !ret) {
		ret = sysfs_write_one(st, &knobs[rnd(&seed, ARRAY_SIZE(knobs))]);
		st->sysfs_writes++;
		usleep(2000);
	}
	if (ret)
		actor_fail(st, "sysfs: reading a file: %d", ret);
	/* Back to the variant's settings for the checks and the next phase. */
	ret = apply_settings(st->variant, st->variant->quota_pages, st->variant->policy);
	if (ret)
		actor_fail(st, "sysfs: restoring the settings: %d", ret);
	return NULL;
}

/* Unmap @size at @iova of container @c, all of it; 0 or an errno. */
static int ext_unmap(struct _test_data_stress *st, int c, uint64_t iova, uint64_t size)
{
	uint64_t done = 0;
	int ret = _vmc_unmap(st->env[c].container, iova, size, 0, &done);

	return ret ?: done == size ? 0 : -EREMOTEIO;
}

static void *ext_main(void *arg)
{
	struct _test_data_stress *st = arg;
	unsigned int seed = 77 + st->gen, c = 0, off;
	int ret = 0, ret2, ret3;
	bool small_first, twice, second_first;

	while (!stopped(st) && !ret) {
		ret3 = 0;
		off = rnd(&seed, EXT_PAGES - EXT_SMALL);
		small_first = rnd(&seed, 2);
		/* Half the time the other container maps it too (QEMU, two devices). */
		twice = rnd(&seed, 2);
		second_first = rnd(&seed, 2);
		ret = _vmc_map(st->env[c].container, IOVA_EXT, st->ext, EXT_PAGES * PG, RW);
		if (ret) {
			actor_fail(st, "extents: map of the extent: %d", ret);
			break;
		}
		ret = _vmc_map(st->env[c ^ 1].container, IOVA_EXT_SMALL, st->ext + off * PG,
			       EXT_SMALL * PG, RW);
		if (!ret && twice)
			ret = _vmc_map(st->env[c ^ 1].container, IOVA_EXT, st->ext, EXT_PAGES * PG,
				       RW);
		if (ret) {
			actor_fail(st, "extents: map inside the extent: %d", ret);
			ext_unmap(st, c, IOVA_EXT, EXT_PAGES * PG);
			break;
		}
		if (twice && second_first)
			ret3 = ext_unmap(st, c ^ 1, IOVA_EXT, EXT_PAGES * PG);
		if (small_first)
			ret = ext_unmap(st, c ^ 1, IOVA_EXT_SMALL, EXT_SMALL * PG);
		ret2 = ext_unmap(st, c, IOVA_EXT, EXT_PAGES * PG);
		if (!small_first)
			ret = ext_unmap(st, c ^ 1, IOVA_EXT_SMALL, EXT_SMALL * PG);
		if (twice && !second_first)
			ret3 = ext_unmap(st, c ^ 1, IOVA_EXT, EXT_PAGES * PG);
		ret = ret ?: ret2 ?: ret3;
		if (ret)
			actor_fail(st, "extents: unmap: %d", ret);
		/* The small map's pins are candidates now: the notifier drops them. */
		if (!ret && !rnd(&seed, 4) &&
		    madvise(st->ext + off * PG, EXT_SMALL * PG, MADV_DONTNEED))
			actor_fail(st, "extents: MADV_DONTNEED: %d", -errno);
		st->ext_rounds++;
		c ^= 1;
	}
	return NULL;
}

/* ---- pressure child --------------------------------------------------- */

/*
 * CHUNK_BYTES of touched anonymous memory: in transparent huge pages while
 * there are free ones (4 KiB faults are slow under TCG), in small pages,
 * which wake kswapd, once there are none.
 */
static void *alloc_chunk(void)
{
	uint8_t *p = mmap(NULL, CHUNK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	size_t i;

	if (p == MAP_FAILED)
		return NULL;
	for (i = 0; i < CHUNK_BYTES; i += PG)
		p[i] = 1;
	return p;
}

/*
 * While told to press: allocate CHUNK_BYTES at a time until MemFree would
 * fall below the floor (5% of RAM above the min watermark, as in
 * vfio_shrink_test: no OOM killer), then drop the slab caches (every
 * shrinker runs), hold a moment, give back the last REFILL_CHUNKS and take
 * them again: each round allocates close to the floor, where reclaim runs.
 * Told to stop, keep the memory for the next pressure phase (taking it is
 * what costs time under TCG), but give back enough that MemFree stays
 * REFILL_CHUNKS above the floor, far above the watermarks: no reclaim then.
 */
static void pressure_main(struct ctl *ctl)
{
	static void *chunk[MAX_CHUNKS];
	long long floor_kb = vmc_read_ll("/proc/sys/vm/min_free_kbytes") +
			     meminfo("MemTotal") / 20;
	const long long chunk_kb = CHUNK_BYTES >> 10;
	int n = 0, i;

	vmc_write_str("/proc/self/oom_score_adj", "1000");
	for (;;) {
		bool on = LOAD(ctl->pressure);

		if (on && n < MAX_CHUNKS &&
		    meminfo("MemFree") - chunk_kb >= floor_kb) {
			chunk[n] = alloc_chunk();
			if (!chunk[n]) {
				vmc_sleep_ms(10);
				continue;
			}
			/* Now and then on the way down too. */
			if (!(++n % 8))
				vmc_write_str(DROP_CACHES, "2");
			continue;
		}
		if (n * (long)(CHUNK_BYTES >> 20) > ctl->pressure_mb)
			ctl->pressure_mb = n * (CHUNK_BYTES >> 20);
		if (on) {
			/* At the floor: every shrinker, then hold a moment. */
			vmc_write_str(DROP_CACHES, "2");
			__atomic_add_fetch(&ctl->pressure_rounds, 1, __ATOMIC_RELEASE);
			vmc_sleep_ms(100);
			for (i = 0; i < REFILL_CHUNKS && n; i++)
				munmap(chunk[--n], CHUNK_BYTES);
			continue;
		}
		while (n && meminfo("MemFree") < floor_kb + REFILL_CHUNKS * chunk_kb)
			munmap(chunk[--n], CHUNK_BYTES);
		/* Told to stop, and no longer pressing: say so. */
		__atomic_add_fetch(&ctl->pressure_idle, 1, __ATOMIC_RELEASE);
		vmc_sleep_ms(20);
	}
}

/*
 * One pressure child for the whole program, started before the harness
 * forks the tests (which inherit its shared page), and killed when the
 * program ends.
 */
static struct ctl *the_ctl;

__attribute__((constructor)) static void pressure_start(void)
{
	pid_t pid;

	the_ctl = mmap(NULL, sizeof(*the_ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);
	if (the_ctl == MAP_FAILED) {
		the_ctl = NULL;
		return;
	}
	pid = fork();
	if (pid)
		return;
	/* Never outlive the program: the runner waits for its output pipe. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(0);
	pressure_main(the_ctl);
}

/* ---- the second VM ---------------------------------------------------- */

struct vm2 {
	struct ctl *ctl;
	struct vmc_env env;
	uint8_t *pool;		/* our pool's addresses, its own memory and bytes */
	uint8_t *ref;
	uint8_t *out;
	uint64_t slot[VM2_SLOTS];
	unsigned int seed;
	long long base_lck_kb;
};

static int vm2_fail(struct vm2 *v, const char *fmt, ...)
{
	va_list ap;

	if (!v->ctl->vm2_err[0]) {
		va_start(ap, fmt);
		vsnprintf(v->ctl->vm2_err, sizeof(v->ctl->vm2_err), fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int vm2_churn(struct vm2 *v)
{
	int s = rnd(&v->seed, VM2_SLOTS), nr, page, ret;
	uint64_t iova = IOVA_SLOTS + s * SLOT_PAGES * PG, done = 0;

	if (v->slot[s]) {
		ret = _vmc_unmap(v->env.container, iova, v->slot[s], 0, &done);
		if (ret || done != v->slot[s])
			return vm2_fail(v, "vm2: UNMAP_DMA %#lx: %d, unmapped %#lx of %#lx",
					iova, ret, done, v->slot[s]);
		v->slot[s] = 0;
		return 0;
	}
	nr = 1 + rnd(&v->seed, MAX_RUN);
	page = rnd(&v->seed, VM2_POOL - nr + 1);
	ret = _vmc_map(v->env.container, iova, v->pool + page * PG, nr * PG, R);
	if (ret)
		return vm2_fail(v, "vm2: MAP_DMA %#lx pool pages %d+%d: %d", iova, page, nr, ret);
	v->slot[s] = nr * PG;
	return 0;
}

/* edu reads a page of the pool: the second VM's bytes, never ours. */
static int vm2_dma(struct vm2 *v)
{
	int k = rnd(&v->seed, VM2_POOL / 2), off = rnd(&v->seed, PG - DMA_LEN), ret;

	memset(v->out, UNTOUCHED, PG);
	ret = _vmc_map(v->env.container, IOVA_DIN, v->pool + k * PG, PG, R) ?:
	      _vmc_map(v->env.container, IOVA_DOUT, v->out, PG, W) ?:
	      vmc_edu_dma_to_dev(&v->env, IOVA_DIN + off, 0, DMA_LEN) ?:
	      vmc_edu_dma_from_dev(&v->env, IOVA_DOUT, 0, DMA_LEN) ?:
	      _vmc_unmap(v->env.container, IOVA_DIN, PG, 0, NULL) ?:
	      _vmc_unmap(v->env.container, IOVA_DOUT, PG, 0, NULL);
	if (ret)
		return vm2_fail(v, "vm2: DMA round: %d", ret);
	if (memcmp(v->out, v->ref + k * PG + off, DMA_LEN) ||
	    !vmc_all_bytes(v->out + DMA_LEN, PG - DMA_LEN, UNTOUCHED))
		return vm2_fail(v, "vm2: pool page %d read wrong bytes (the other VM's?)", k);
	v->ctl->vm2_dmas++;
	return 0;
}

/* locked_vm follows pinned_bytes once a deferred uncharge has run. */
static bool lck_settles(long long base_kb)
{
	int i;

	for (i = 0; i < SETTLE_POLLS; i++) {
		long long pinned = vmc_vm_read_ll("pinned_bytes");

		if (pinned >= 0 && vmc_locked_vm_kb() == base_kb + pinned / 1024)
			return true;
		vmc_sleep_ms(100);
	}
	return false;
}

/* Stopped: everything unmapped, and the second VM's own invariants. */
static int vm2_quiesce(struct vm2 *v, const char *mode)
{
	long long pinned, live, quota;
	uint64_t done = 1;
	int s;

	for (s = 0; s < VM2_SLOTS; s++)
		if (v->slot[s]) {
			if (_vmc_unmap(v->env.container, IOVA_SLOTS + s * SLOT_PAGES * PG,
				       v->slot[s], 0, NULL))
				return vm2_fail(v, "vm2: unmapping slot %d", s);
			v->slot[s] = 0;
		}
	if (_vmc_unmap(v->env.container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &done) || done)
		return vm2_fail(v, "vm2: UNMAP_DMA of all found %#lx left", done);
	pinned = vmc_vm_read_ll("pinned_bytes");
	live = vmc_vm_read_ll("live_bytes");
	quota = vmc_vm_read_ll("quota_bytes");
	if (live || pinned > quota || (!strcmp(mode, "off") && pinned))
		return vm2_fail(v, "vm2: pinned %lld, live %lld, quota %lld", pinned, live, quota);
	if (!lck_settles(v->base_lck_kb))
		return vm2_fail(v, "vm2: VmLck %lld kB, base %lld kB + pinned %lld",
				vmc_locked_vm_kb(), v->base_lck_kb, pinned);
	return 0;
}

static void vm2_main(struct ctl *ctl, uint8_t *pool, const char *bdf,
		     const struct _fixture_variant_stress *var)
{
	struct vm2 v = { .ctl = ctl, .pool = pool, .seed = VM2_SEED };
	long ops = 0;
	int ret;

	setenv("VMC_EDU_BDF", bdf, 1);
	v.base_lck_kb = vmc_locked_vm_kb();
	v.ref = malloc(VM2_POOL * PG);
	v.out = alloc_small_pages(1);
	ret = !v.ref || !v.out ? -ENOMEM : vmc_env_open(&v.env, VMC_BACKEND_MAPCACHE);
	ret = ret ?: apply_settings(var, VM2_QUOTA, "fifo");
	if (ret) {
		vm2_fail(&v, "vm2: set-up: %d", ret);
		_exit(1);
	}
	/* The same addresses as the first VM's pool, other bytes. */
	vmc_fill_pattern(v.pool, VM2_POOL * PG, VM2_SEED);
	memcpy(v.ref, v.pool, VM2_POOL * PG);
	STORE(ctl->vm2_state, VM2_IDLE);
	for (;;) {
		int cmd = LOAD(ctl->vm2_cmd);

		if (cmd == VM2_QUIT)
			break;
		if (cmd == VM2_WAIT) {
			if (LOAD(ctl->vm2_state) == VM2_BUSY) {
				if (vm2_quiesce(&v, var->mode))
					_exit(1);
				STORE(ctl->vm2_state, VM2_IDLE);
			}
			vmc_sleep_ms(10);
			continue;
		}
		STORE(ctl->vm2_state, VM2_BUSY);
		ret = vm2_churn(&v);
		/* Its own balloon, in the half of its pool that DMA does not read. */
		if (!ret && !(++ops % 16) &&
		    madvise(v.pool + VM2_POOL / 2 * PG, VM2_POOL / 2 * PG, MADV_DONTNEED))
			ret = vm2_fail(&v, "vm2: madvise: %d", -errno);
		if (!ret && !(ops % 64))
			ret = vm2_dma(&v);
		if (ret)
			_exit(1);
		ctl->vm2_ops = ops;
	}
	vmc_env_close(&v.env);
	if (!lck_settles(v.base_lck_kb)) {
		vm2_fail(&v, "vm2: VmLck %lld kB after close, base %lld kB", vmc_locked_vm_kb(),
			 v.base_lck_kb);
		_exit(1);
	}
	_exit(0);
}

/* ---- set-up and teardown ---------------------------------------------- */

FIXTURE_SETUP(stress)
{
	const char *bdf2 = getenv("VMC_EDU_BDF2");
	int ret;

	self->variant = variant;
	self->wsf = -1;
	self->env[0].container = self->env[0].group = self->env[0].device = -1;
	self->env[1] = self->env[0];
	if (!vmc_mapcache_loaded())
		SKIP(return, "vfio_iommu_mapcache not available");
	if (!bdf2)
		SKIP(return, "two containers need a second edu device");
	pthread_mutex_init(&self->lock, NULL);
	self->base_pinned = vmc_pinned_pages();
	self->base_lck_kb = vmc_locked_vm_kb();
	ASSERT_LE(0, self->base_pinned);
	ASSERT_LE(0, self->base_lck_kb);
	snprintf(self->stats, sizeof(self->stats), VMC_DEBUGFS_DIR "/vm-%d/stats", getpid());
	snprintf(self->pins, sizeof(self->pins), VMC_DEBUGFS_DIR "/vm-%d/pins", getpid());
	snprintf(self->xlates, sizeof(self->xlates), VMC_DEBUGFS_DIR "/vm-%d/xlates", getpid());

	self->ctl = the_ctl;
	ASSERT_NE(NULL, self->ctl);
	/* The page outlives the tests: a fresh second VM, pressure counted anew. */
	memset(self->ctl->vm2_err, 0, sizeof(self->ctl->vm2_err));
	self->ctl->vm2_cmd = VM2_WAIT;
	self->ctl->vm2_state = VM2_BOOT;
	self->ctl->vm2_ops = self->ctl->vm2_dmas = 0;
	self->ctl->pressure_mb = 0;
	self->pool = alloc_small_pages(POOL_PAGES);
	self->pool_ref = malloc(POOL_PAGES * PG);
	self->dout = alloc_small_pages(1);
	self->dwr = alloc_small_pages(3);
	self->mark = alloc_small_pages(1);
	self->out = alloc_small_pages(1);
	self->ext = alloc_small_pages(EXT_PAGES);
	ASSERT_TRUE(self->pool && self->pool_ref && self->dout && self->dwr && self->mark &&
		    self->out && self->ext);

	ret = vmc_env_open(&self->env[0], VMC_BACKEND_MAPCACHE);
	ASSERT_EQ(0, ret);
	setenv("VMC_EDU_BDF", bdf2, 1);
	ret = vmc_env_open(&self->env[1], VMC_BACKEND_MAPCACHE);
	unsetenv("VMC_EDU_BDF");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, apply_settings(variant, variant->quota_pages, variant->policy));
	self->gen = 1;
	vmc_fill_pattern(self->pool, POOL_PAGES * PG, self->gen);
	memcpy(self->pool_ref, self->pool, POOL_PAGES * PG);
}

/* Stop whatever still runs: threads, children, the sysctl. */
static void stop_all(struct _test_data_stress *st)
{
	char val[32];
	int i;

	STORE(st->stop, 1);
	for (i = 0; i < NR_MAPPERS; i++)
		if (st->m[i].running) {
			pthread_join(st->m[i].thread, NULL);
			st->m[i].running = false;
		}
	if (st->dma_on)
		pthread_join(st->dma_thread, NULL);
	if (st->vmm_on)
		pthread_join(st->vmm_thread, NULL);
	if (st->sysfs_on)
		pthread_join(st->sysfs_thread, NULL);
	if (st->ext_on)
		pthread_join(st->ext_thread, NULL);
	st->dma_on = st->vmm_on = st->sysfs_on = st->ext_on = false;
	if (st->ctl)
		STORE(st->ctl->pressure, 0);
	if (st->wsf >= 0) {
		snprintf(val, sizeof(val), "%lld", st->wsf);
		vmc_write_str(WSF_SYSCTL, val);
		st->wsf = -1;
	}
}

#define SHRINKER_PARAM	MODPARAM_DIR "/shrinker"

/*
 * The checks read counters in several steps; reclaim that is still running
 * when the actors stop (kswapd lags behind a pressure phase on a busy
 * host) would release candidates between two reads.  So the module's
 * shrinker is off while they run, once a scan already in it has ended
 * (the VM's shrinker_releases stays the same for SHRINK_QUIET polls).
 */
#define SHRINK_QUIET	3

static int shrinker_hold(struct _test_data_stress *st, bool hold)
{
	long long seen = -1, now;
	int ret, i, quiet = 0;

	ret = vmc_write_str(SHRINKER_PARAM, hold ? "N" : "Y");
	for (i = 0; !ret && hold && quiet < SHRINK_QUIET && i < SETTLE_POLLS; i++) {
		now = vmc_stat(st->stats, "shrinker_releases");
		quiet = now == seen ? quiet + 1 : 0;
		seen = now;
		vmc_sleep_ms(100);
	}
	return ret;
}

FIXTURE_TEARDOWN(stress)
{
	stop_all(self);
	vmc_write_str(SHRINKER_PARAM, "Y");
	if (self->vm2_pid > 0) {
		kill(self->vm2_pid, SIGKILL);
		waitpid(self->vm2_pid, NULL, 0);
	}
	vmc_env_close(&self->env[1]);
	vmc_env_close(&self->env[0]);
}

/* ---- checks ----------------------------------------------------------- */

static long long vm_stat(struct _test_data_stress *st, const char *key)
{
	return vmc_stat(st->stats, key);
}

/*
 * The VM's debugfs stats in one read: the module prints them under the
 * VM's lock, so they agree with one another.
 */
struct snap {
	char text[2048];
};

static int snap_take(struct _test_data_stress *st, struct snap *sn)
{
	FILE *f = fopen(st->stats, "r");
	size_t n;

	if (!f)
		return -errno;
	n = fread(sn->text, 1, sizeof(sn->text) - 1, f);
	fclose(f);
	sn->text[n] = '\0';
	return n ? 0 : -EIO;
}

/* The value of "@key N" in @sn; -1 if missing. */
static long long snap(const struct snap *sn, const char *key)
{
	size_t len = strlen(key);
	const char *p = sn->text;

	while (p && *p) {
		if (!strncmp(p, key, len) && p[len] == ' ')
			return strtoll(p + len + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

/* Entries of a debugfs dump (pins, xlates) whose @col-th number is in the pool. */
static long long in_pool(struct _test_data_stress *st, const char *path, int col)
{
	unsigned long lo = (uintptr_t)st->pool, hi = lo + POOL_PAGES * PG, v[3];
	char line[160];
	long long n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (line[0] != '#' && sscanf(line, "%lx %lx %lx", &v[0], &v[1], &v[2]) > col &&
		    v[col] >= lo && v[col] < hi)
			n++;
	fclose(f);
	return n;
}

/*
 * With every actor stopped and the mappings still there: the quota bounds
 * the candidates.  Then everything goes: the counters must agree.
 */
static void check_counters(struct __test_metadata *_metadata, struct _test_data_stress *self)
{
	bool off = !strcmp(self->variant->mode, "off");
	long long pinned = vmc_vm_read_ll("pinned_bytes");
	long long live = vmc_vm_read_ll("live_bytes");
	long long quota = vmc_vm_read_ll("quota_bytes");
	long long ext;
	struct snap sn;
	uint64_t done;
	int i, c, s;

	ASSERT_LE(0, pinned);
	ASSERT_LE(0, live);
	ASSERT_EQ(self->variant->quota_pages * PG, quota);
	if (quota)
		ASSERT_GE(quota + live, pinned) TH_LOG("pinned %lld above quota %lld + live %lld",
						       pinned, quota, live);
	if (off)
		ASSERT_EQ(live, pinned);

	/* The mappers' slots go one by one; then nothing is left to unmap. */
	for (i = 0; i < NR_MAPPERS; i++)
		for (c = 0; c < 2; c++) {
			for (s = 0; s < NR_SLOTS; s++)
				if (self->m[i].slot[c][s].size)
					mapper_unmap(&self->m[i], c, &self->m[i].slot[c][s],
						     slot_iova(i, s));
			if (self->m[i].big[c].size)
				mapper_unmap(&self->m[i], c, &self->m[i].big[c], big_iova(i));
		}
	ASSERT_STREQ("", self->err);
	for (c = 0; c < 2; c++) {
		done = 1;
		ASSERT_EQ(0, _vmc_unmap(self->env[c].container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL,
					&done));
		ASSERT_EQ(0, done) TH_LOG("container %d still had mappings", c);
	}

	/* Nothing live; what is pinned is candidates, all counted alike. */
	ASSERT_EQ(0, vmc_vm_read_ll("live_bytes"));
	ASSERT_EQ(0, snap_take(self, &sn));
	pinned = snap(&sn, "cache_pinned_pages");
	ext = snap(&sn, "extent_cached_pages");
	ASSERT_LE(0, ext);
	ASSERT_EQ(0, snap(&sn, "live_pages"));
	/* Cached extents' pages are the VM's, apart from its cache's pins. */
	ASSERT_EQ(pinned, snap(&sn, "pinned_pages") + ext);
	ASSERT_EQ(pinned, snap(&sn, "cand_pages") + ext);
	ASSERT_EQ(snap(&sn, "pins") - snap(&sn, "unpins"), pinned - ext);
	if (quota)
		ASSERT_GE(quota, pinned * PG);
	if (off)
		ASSERT_EQ(0, pinned);
	ASSERT_TRUE(lck_settles(self->base_lck_kb))
		TH_LOG("VmLck %lld kB, base %lld kB + pinned %lld", vmc_locked_vm_kb(),
		       self->base_lck_kb, vmc_vm_read_ll("pinned_bytes"));
}

/* Everything pinned in the module is the VMs' candidates. */
static void check_module_pins(struct __test_metadata *_metadata, struct _test_data_stress *self)
{
	long long vm2 = 0;
	char path[96];

	if (self->vm2_pid > 0) {
		snprintf(path, sizeof(path), VMC_DEBUGFS_DIR "/vm-%d/stats", self->vm2_pid);
		vm2 = vmc_stat(path, "cache_pinned_pages");
		ASSERT_LE(0, vm2);
	}
	ASSERT_EQ(self->base_pinned + vm_stat(self, "cache_pinned_pages") + vm2,
		  vmc_pinned_pages());
}

/* drop_caches, nothing mapped: the shrinker releases every candidate. */
static void check_drop_caches(struct __test_metadata *_metadata, struct _test_data_stress *self)
{
	struct snap before, after;

	ASSERT_EQ(0, snap_take(self, &before));
	ASSERT_EQ(0, vmc_write_str(DROP_CACHES, "2"));
	ASSERT_EQ(0, snap_take(self, &after));
	ASSERT_EQ(0, snap(&after, "cand_pages"));
	ASSERT_EQ(0, snap(&after, "cache_pinned_pages"));
	ASSERT_EQ(snap(&before, "cand_pages"),
		  snap(&after, "shrinker_releases") - snap(&before, "shrinker_releases"));
	ASSERT_TRUE(lck_settles(self->base_lck_kb));
}

/*
 * The VMM maps new memory over the whole pool: the cache keeps nothing of
 * the old pages (the notifier dropped the candidates, and in lazy mode
 * their cached translations).
 */
static void check_remap(struct __test_metadata *_metadata, struct _test_data_stress *self)
{
	long long cand = in_pool(self, self->pins, 0);
	long long drops = vm_stat(self, "notifier_drops");
	long long pinned = vmc_vm_read_ll("pinned_bytes");

	ASSERT_LE(0, cand);
	self->gen++;
	ASSERT_EQ(0, remap(self->pool, POOL_PAGES * PG, MAP_FIXED));
	vmc_fill_pattern(self->pool, POOL_PAGES * PG, self->gen);
	memcpy(self->pool_ref, self->pool, POOL_PAGES * PG);
	ASSERT_EQ(0, in_pool(self, self->pins, 0));
	if (!access(self->xlates, F_OK))
		ASSERT_EQ(0, in_pool(self, self->xlates, 2));
	ASSERT_EQ(cand, vm_stat(self, "notifier_drops") - drops);
	ASSERT_EQ(pinned - cand * PG, vmc_vm_read_ll("pinned_bytes"));
}

/* Two IOVAs of @c the mappers mapped and unmapped last, of different mappers. */
static int samples(struct _test_data_stress *self, int c, uint64_t *iova)
{
	int i, s, n = 0;

	for (i = 0; i < NR_MAPPERS && n < NR_SAMPLES; i++)
		for (s = 0; s < NR_SLOTS; s++)
			if (self->m[i].slot[c][s].last >= 0) {
				iova[n++] = slot_iova(i, s);
				break;
			}
	return n;
}

/*
 * The DMA oracle: edu reads from and writes to IOVAs the mappers unmapped,
 * whose pages the VMM then replaced.  Each transfer must fault (declared to
 * the runner): a read brings edu no byte of the old or the new page (its
 * buffer keeps MARK, or zeroes for the faulted read), a write changes no
 * byte of the pool.
 */
static void check_oracle(struct __test_metadata *_metadata, struct _test_data_stress *self, int c)
{
	struct vmc_env *env = &self->env[c];
	uint64_t iova[NR_SAMPLES], done;
	int n = samples(self, c, iova), k;
	uint8_t *seg;

	ASSERT_LT(0, n);
	memset(self->mark, MARK, PG);
	memset(self->out, UNTOUCHED, PG);
	ASSERT_EQ(0, _vmc_map(env->container, IOVA_MARK, self->mark, PG, R));
	ASSERT_EQ(0, _vmc_map(env->container, IOVA_OUT, self->out, PG, W));
	ASSERT_EQ(0, vmc_edu_dma_to_dev(env, IOVA_MARK, 0, EDU_DMA_MAX));
	self->faults += 2 * n;
	vmc_expect_dmar_faults(self->faults);
	for (k = 0; k < n; k++)
		ASSERT_EQ(0, vmc_edu_dma_to_dev(env, iova[k], k * SEG, SEG));
	ASSERT_EQ(0, vmc_edu_dma_from_dev(env, IOVA_OUT, 0, EDU_DMA_MAX));
	for (k = 0; k < n; k++) {
		seg = self->out + k * SEG;
		ASSERT_TRUE(vmc_all_bytes(seg, SEG, MARK) || vmc_all_bytes(seg, SEG, 0))
			TH_LOG("container %d: edu read %#x.. through unmapped IOVA %#lx", c, seg[0],
			       iova[k]);
	}
	ASSERT_TRUE(vmc_all_bytes(self->out + n * SEG, EDU_DMA_MAX - n * SEG, MARK));
	ASSERT_EQ(UNTOUCHED, self->out[PG - 1]);
	for (k = 0; k < n; k++)
		ASSERT_EQ(0, vmc_edu_dma_from_dev(env, iova[k], 0, SEG));
	ASSERT_EQ(0, memcmp(self->pool, self->pool_ref, POOL_PAGES * PG))
		TH_LOG("container %d: an unmapped IOVA wrote into the pool", c);
	ASSERT_EQ(0, _vmc_unmap(env->container, IOVA_MARK, PG, 0, &done));
	ASSERT_EQ(0, _vmc_unmap(env->container, IOVA_OUT, PG, 0, &done));
}

/* ---- phases ----------------------------------------------------------- */

static void start_actors(struct __test_metadata *_metadata, struct _test_data_stress *self,
			 unsigned int actors)
{
	int i;

	self->actors = actors;
	self->stop = 0;
	self->err[0] = '\0';
	self->dma_rounds = self->vmm_ops = self->sysfs_writes = self->sysfs_enomem = 0;
	self->ext_rounds = 0;
	for (i = 0; i < NR_MAPPERS; i++) {
		struct mapper *m = &self->m[i];

		m->maps = m->unmaps = m->batches = m->efaults = 0;
		m->id = i;
		m->seed = 1000 * self->gen + i;
		m->st = self;
		ASSERT_EQ(0, pthread_create(&m->thread, NULL, mapper_main, m));
		m->running = true;
	}
	ASSERT_EQ(0, pthread_create(&self->dma_thread, NULL, dma_main, self));
	self->dma_on = true;
	if (actors & ACT_VMM) {
		ASSERT_EQ(0, pthread_create(&self->vmm_thread, NULL, vmm_main, self));
		self->vmm_on = true;
	}
	if (actors & ACT_SYSFS) {
		ASSERT_EQ(0, pthread_create(&self->sysfs_thread, NULL, sysfs_main, self));
		self->sysfs_on = true;
	}
	if (actors & ACT_EXT) {
		ASSERT_EQ(0, pthread_create(&self->ext_thread, NULL, ext_main, self));
		self->ext_on = true;
	}
	if (actors & ACT_PRESSURE) {
		self->wsf = vmc_read_ll(WSF_SYSCTL);
		ASSERT_LE(0, self->wsf);
		ASSERT_EQ(0, vmc_write_str(WSF_SYSCTL, PRESSURE_WSF));
		STORE(self->ctl->pressure, 1);
	}
	if (actors & ACT_VM2)
		STORE(self->ctl->vm2_cmd, VM2_RUN);
}

/* Wait up to IDLE_POLLS for the second VM to be in @state, or to fail. */
static bool vm2_wait(struct ctl *ctl, int state)
{
	int i;

	for (i = 0; i < IDLE_POLLS && LOAD(ctl->vm2_state) != state && !ctl->vm2_err[0]; i++)
		vmc_sleep_ms(100);
	return LOAD(ctl->vm2_state) == state;
}

/* Wait up to IDLE_POLLS for the pressure child to hold nothing (told to stop). */
static bool pressure_wait_idle(struct ctl *ctl)
{
	int seen = LOAD(ctl->pressure_idle), i;

	for (i = 0; i < IDLE_POLLS && LOAD(ctl->pressure_idle) == seen; i++)
		vmc_sleep_ms(100);
	return LOAD(ctl->pressure_idle) != seen;
}

/*
 * Run the actors for PHASE_SECS (less if one fails), stop them all, and
 * check.  Every mapper is started with all its slots free.
 */
static void run_phase(struct __test_metadata *_metadata, struct _test_data_stress *self,
		      const char *name, unsigned int actors)
{
	long maps = 0, unmaps = 0, batches = 0, efaults = 0;
	long long rel = vm_stat(self, "shrinker_releases");
	long long drops = vm_stat(self, "notifier_drops");
	double start = vmc_now_us(), t_run, t_stop, t_count, t_remap;
	long rounds;
	int i, c, s;

	for (i = 0; i < NR_MAPPERS; i++)
		for (c = 0; c < 2; c++) {
			for (s = 0; s < NR_SLOTS; s++)
				self->m[i].slot[c][s].last = -1;
			self->m[i].big[c].last = -1;
		}
	rounds = LOAD(self->ctl->pressure_rounds);
	start_actors(_metadata, self, actors);
	/*
	 * PHASE_SECS by the clock (sleeps overrun on a busy host), and with
	 * pressure also PRESSURE_ROUNDS rounds of it, the first of which takes
	 * the memory down to the floor: a bound, not a timing.
	 */
	while (!stopped(self)) {
		double secs = (vmc_now_us() - start) / 1e6;

		if (secs >= PHASE_SECS && (!(actors & ACT_PRESSURE) || secs >= PRESSURE_SECS ||
		    LOAD(self->ctl->pressure_rounds) - rounds >= PRESSURE_ROUNDS))
			break;
		vmc_sleep_ms(100);
	}
	t_run = vmc_now_us();
	stop_all(self);
	/* Nothing may run during the checks: no drop_caches, no second VM. */
	if (actors & ACT_PRESSURE)
		ASSERT_TRUE(pressure_wait_idle(self->ctl));
	if (actors & ACT_VM2) {
		STORE(self->ctl->vm2_cmd, VM2_WAIT);
		ASSERT_TRUE(vm2_wait(self->ctl, VM2_IDLE)) TH_LOG("vm2: %s", self->ctl->vm2_err);
		ASSERT_STREQ("", self->ctl->vm2_err);
	}
	t_stop = vmc_now_us();
	ASSERT_STREQ("", self->err);
	rounds = LOAD(self->ctl->pressure_rounds) - rounds;

	for (i = 0; i < NR_MAPPERS; i++) {
		maps += self->m[i].maps;
		unmaps += self->m[i].unmaps;
		batches += self->m[i].batches;
		efaults += self->m[i].efaults;
	}
	ksft_print_msg("%s: %ld maps, %ld unmaps, %ld batches, %ld EFAULT; %ld DMA rounds; vmm %ld; sysfs %ld (%ld ENOMEM); extents %ld rounds; pressure %ld rounds, %ld MiB; vm2 %ld ops, %ld DMA\n",
		       name, maps, unmaps, batches, efaults, self->dma_rounds, self->vmm_ops,
		       self->sysfs_writes, self->sysfs_enomem, self->ext_rounds, rounds,
		       self->ctl->pressure_mb, self->ctl->vm2_ops, self->ctl->vm2_dmas);
	ksft_print_msg("%s: pin hits %lld, misses %lld, full hits %lld, evictions %lld, notifier drops +%lld, shrinker releases +%lld, prefetched %lld\n",
		       name, vm_stat(self, "pin_hits"), vm_stat(self, "misses"),
		       vm_stat(self, "full_hits"), vm_stat(self, "evictions"),
		       vm_stat(self, "notifier_drops") - drops,
		       vm_stat(self, "shrinker_releases") - rel, vm_stat(self, "prefetch_issued"));
	/* Every actor got work done; none of that is a timing. */
	ASSERT_LT(0, maps);
	ASSERT_LT(0, unmaps);
	ASSERT_LT(0, batches);
	ASSERT_LT(0, self->dma_rounds);
	if (actors & ACT_VMM)
		ASSERT_LT(0, self->vmm_ops);
	if (actors & ACT_SYSFS)
		ASSERT_LT(0, self->sysfs_writes);
	if (actors & ACT_EXT)
		ASSERT_LT(0, self->ext_rounds);
	if (actors & ACT_VM2) {
		ASSERT_LT(0, self->ctl->vm2_ops);
		ASSERT_LT(0, self->ctl->vm2_dmas);
	}
	/* Memory went down to the floor, reclaim had to run. */
	if (actors & ACT_PRESSURE)
		ASSERT_LT(0, rounds);

	ASSERT_EQ(0, shrinker_hold(self, true));
	check_counters(_metadata, self);
	check_module_pins(_metadata, self);
	if (actors & ACT_PRESSURE) {
		ASSERT_EQ(0, shrinker_hold(self, false));
		check_drop_caches(_metadata, self);
		ASSERT_EQ(0, shrinker_hold(self, true));
	}
	t_count = vmc_now_us();
	check_remap(_metadata, self);
	t_remap = vmc_now_us();
	for (c = 0; c < 2; c++)
		check_oracle(_metadata, self, c);
	ASSERT_EQ(0, shrinker_hold(self, false));
	ksft_print_msg("%s: ran %.1f s, stopped in %.1f s, counters %.1f s, remap %.1f s, oracle %.1f s\n",
		       name, (t_run - start) / 1e6, (t_stop - t_run) / 1e6,
		       (t_count - t_stop) / 1e6, (t_remap - t_count) / 1e6,
		       (vmc_now_us() - t_remap) / 1e6);
}

/* The containers closed: every pin and every locked_vm charge is back. */
static void check_end(struct __test_metadata *_metadata, struct _test_data_stress *self)
{
	vmc_env_close(&self->env[1]);
	vmc_env_close(&self->env[0]);
	ASSERT_EQ(self->base_pinned, vmc_pinned_settles_at(self->base_pinned));
	ASSERT_TRUE(lck_settles(self->base_lck_kb))
		TH_LOG("VmLck %lld kB, was %lld kB", vmc_locked_vm_kb(), self->base_lck_kb);
	ASSERT_EQ(vm_stat(self, "pins"), vm_stat(self, "unpins"));
	ASSERT_EQ(0, vmc_vm_read_ll("pinned_bytes"));
}

/* One VM, two containers: the actors join one phase at a time. */
TEST_F_TIMEOUT(stress, one_vm, 300)
{
	run_phase(_metadata, self, "mappers", 0);
	run_phase(_metadata, self, "+vmm", ACT_VMM);
	run_phase(_metadata, self, "+sysfs", ACT_VMM | ACT_SYSFS);
	run_phase(_metadata, self, "+extents", ACT_VMM | ACT_SYSFS | ACT_EXT);
	run_phase(_metadata, self, "+pressure", ACT_VMM | ACT_SYSFS | ACT_EXT | ACT_PRESSURE);
	check_end(_metadata, self);
}

/* Everything at once, and a second VM on a third edu device alongside. */
TEST_F_TIMEOUT(stress, two_vms, 300)
{
	const char *bdf3 = getenv("VMC_EDU_BDF3");
	int status;

	if (!bdf3)
		SKIP(return, "a second VM needs a third edu device");
	self->vm2_pid = fork();
	ASSERT_LE(0, self->vm2_pid);
	if (!self->vm2_pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* The first VM's containers are not the second VM's. */
		vmc_env_close(&self->env[0]);
		vmc_env_close(&self->env[1]);
		vm2_main(self->ctl, self->pool, bdf3, variant);
	}
	ASSERT_TRUE(vm2_wait(self->ctl, VM2_IDLE)) TH_LOG("vm2: %s", self->ctl->vm2_err);
	run_phase(_metadata, self, "all + vm2",
		  ACT_VMM | ACT_SYSFS | ACT_EXT | ACT_PRESSURE | ACT_VM2);
	STORE(self->ctl->vm2_cmd, VM2_QUIT);
	ASSERT_EQ(self->vm2_pid, waitpid(self->vm2_pid, &status, 0));
	self->vm2_pid = 0;
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("vm2: %s", self->ctl->vm2_err);
	check_end(_metadata, self);
}

TEST_HARNESS_MAIN
