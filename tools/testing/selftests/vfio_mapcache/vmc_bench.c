// SPDX-License-Identifier: GPL-2.0
/*
 * vmc_bench: per-operation cost of MAP_DMA + UNMAP_DMA on stock
 * vfio_iommu_type1 and on vfio_iommu_mapcache, in one boot.
 *
 * For each size (4 KiB, 2 MiB, 64 MiB) the same buffer is mapped and
 * unmapped at the same IOVA N times; the median of the pair's time
 * (CLOCK_MONOTONIC) is reported.  The backends alternate in rounds (type1,
 * mapcache, type1, mapcache, ...) so that drift in the emulator hits both
 * alike; the medians are over all rounds.  A figure, never a verdict.
 *
 * Then a guest-style workload (issue 4): a ring of RING_BUFS one-page
 * buffers, mapped in ring order with RING_QD requests in flight that
 * complete in random order (map, [DMA: skipped, it would only add the
 * emulator's time], unmap), in two IOVA patterns:
 *   fixed   each buffer keeps its IOVA (a driver with persistent mappings)
 *   reuse   IOVAs as Linux's allocator hands them out: the most recently
 *           freed first, so the IOVA comes back with another page
 * on stock type1 and on our backend in each mode (off, strict, lazy), the
 * map-cache with a quota that fits the ring and with one at half (policy
 * lru).  In each run one lap of the ring warms the cache up and RING_LAPS
 * laps are timed; runs are short and interleaved (RING_ROUNDS_PER per
 * round).  Printed: per-request medians of the map, the unmap and the pair,
 * and the pair's ratio to type1 (median over rounds of the ratio of run
 * medians in the same round).
 *
 *   vmc_bench [rounds]        default 2
 *
 * Prints the tables between "# BENCH-TABLE-BEGIN" and "# BENCH-TABLE-END",
 * and between "# RING-TABLE-BEGIN" and "# RING-TABLE-END".
 */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vmc_lib.h"

#define RW		(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define IOVA		0x40000000UL
#define MAX_SIZE	(64UL << 20)
#define ALIGN_2M	(2UL << 20)
#define NR_SIZES	3
#define MAX_ROUNDS	8

static const struct {
	const char *name;
	uint64_t size;
	unsigned int reps;	/* per round */
} sizes[NR_SIZES] = {
	{ "4KiB", 4096, 500 },
	{ "2MiB", 2UL << 20, 60 },
	{ "64MiB", 64UL << 20, 6 },
};

struct samples {
	double *pair, *map, *unmap;
	unsigned int n;
};

/* Slots: 0 type1, 1 mapcache (its default mode, strict), 2 mapcache off. */
#define NR_SLOTS	3
static struct samples res[NR_SLOTS][NR_SIZES];	/* [slot][size] */
static long long pins[NR_SLOTS][NR_SIZES], flushes[NR_SLOTS][NR_SIZES];

/* The median of @n values, leaving them in place. */
static double median_copy(const double *v, unsigned int n)
{
	double *c = malloc(n * sizeof(*c)), m;

	if (!c)
		return 0;
	memcpy(c, v, n * sizeof(*c));
	m = vmc_median(c, n);
	free(c);
	return m;
}

/* ---- the guest-style ring workload ---- */

#define RING_BUFS	256
#define RING_QD		16
#define RING_LAPS	4
#define RING_PAIRS	(RING_BUFS * RING_LAPS)
#define RING_ROUNDS_PER	3	/* ring rounds per benchmark round */
#define RING_MAX_ROUNDS	(MAX_ROUNDS * RING_ROUNDS_PER)
#define RING_FIXED_BASE	0x40000000UL
#define RING_REUSE_TOP	0x80000000UL

enum { RMODE_TYPE1, RMODE_OFF, RMODE_STRICT, RMODE_LAZY };
static const char *const rmode_names[] = { "-", "off", "strict", "lazy" };

static const struct ring_cfg {
	int mode;
	unsigned int quota_bufs;	/* 0: unlimited */
} ring_cfgs[] = {
	{ RMODE_TYPE1, 0 },
	{ RMODE_OFF, 0 },
	{ RMODE_STRICT, RING_BUFS }, { RMODE_STRICT, RING_BUFS / 2 },
	{ RMODE_LAZY, RING_BUFS }, { RMODE_LAZY, RING_BUFS / 2 },
};
#define NR_RING_CFGS	(sizeof(ring_cfgs) / sizeof(ring_cfgs[0]))
static const char *const ring_pat_names[] = { "fixed", "reuse" };

static const char *const ring_keys[] = {
	"pins", "iotlb_flushes", "full_hits", "pin_hits", "evictions", "iommu_maps",
	"iommu_unmaps",
};
#define NR_RING_KEYS	(sizeof(ring_keys) / sizeof(ring_keys[0]))

struct ring_res {
	struct samples s;
	bool na;
	char why[48];
	long long cnt[NR_RING_KEYS];	/* timed laps, all rounds */
	long long cnt_maps;		/* maps issued while counting */
	double run_med[RING_MAX_ROUNDS];	/* median pair of each run */
	unsigned int nr_runs;
	bool have_cnt;
};

/*
 * The floor: a request that does nothing (VFIO_CHECK_EXTENSION on the
 * container, which the VFIO core hands to the backend), per backend.
 */
#define NULL_REPS	64
static double null_us[2][RING_MAX_ROUNDS * 2 * 8 * NULL_REPS];
static unsigned int nr_null[2];

static void ring_null_ioctls(struct vmc_env *env, enum vmc_backend b)
{
	unsigned int i;

	for (i = 0; i < NULL_REPS && nr_null[b] < sizeof(null_us[0]) / sizeof(double); i++) {
		double t0 = vmc_now_us();

		ioctl(env->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU);
		null_us[b][nr_null[b]++] = vmc_now_us() - t0;
	}
}

static struct ring_res ring_res[2][NR_RING_CFGS];	/* [pattern][cfg] */

static int ring_vm_set(const char *file, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/kernel/vfio_mapcache/%d/%s", getpid(), file);
	return vmc_write_str(path, val);
}

static uint64_t ring_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int ring_run(unsigned int pat, unsigned int ci, uint8_t *bufs)
{
	const struct ring_cfg *cfg = &ring_cfgs[ci];
	struct ring_res *rr = &ring_res[pat][ci];
	enum vmc_backend b = cfg->mode == RMODE_TYPE1 ? VMC_BACKEND_TYPE1 : VMC_BACKEND_MAPCACHE;
	struct { uint64_t iova; unsigned int buf; double map_us; bool timed; } in[RING_QD];
	uint64_t free_iova[RING_QD], next_iova = RING_REUSE_TOP, rng = 0x2545f4914f6cdd1dULL;
	long long c0[NR_RING_KEYS], c1[NR_RING_KEYS];
	unsigned int nr_in = 0, nr_free = 0, lap, i, k, run_first = rr->s.n;
	struct vmc_env env;
	char val[32];
	int ret;

	ret = vmc_env_open(&env, b);
	if (ret) {
		rr->na = true;
		snprintf(rr->why, sizeof(rr->why), "cannot open %s: %d", vmc_backend_name(b), ret);
		vmc_env_close(&env);
		return 0;
	}
	if (b == VMC_BACKEND_MAPCACHE) {
		snprintf(val, sizeof(val), "%lu", cfg->quota_bufs * VMC_PAGE);
		ret = ring_vm_set("quota_bytes", val);
		if (!ret)
			ret = ring_vm_set("mode", rmode_names[cfg->mode]);
		if (ret) {
			rr->na = true;
			snprintf(rr->why, sizeof(rr->why), "mode %s: %s", rmode_names[cfg->mode],
				 strerror(-ret));
			vmc_env_close(&env);
			return 0;
		}
	}
	ring_null_ioctls(&env, b);
	for (lap = 0; lap <= RING_LAPS; lap++) {
		bool timed = lap > 0;

		if (lap == 1)
			for (k = 0; k < NR_RING_KEYS; k++)
				c0[k] = vmc_stat(VMC_STATS_TOTAL, ring_keys[k]);
		for (i = 0; i < RING_BUFS; i++) {
			uint64_t iova;
			double t0, t1;

			if (nr_in == RING_QD) {
				unsigned int j = ring_rand(&rng) % nr_in;

				t0 = vmc_now_us();
				ret = _vmc_unmap(env.container, in[j].iova, VMC_PAGE, 0, NULL);
				t1 = vmc_now_us();
				if (ret)
					goto fail;
				if (in[j].timed) {
					struct samples *sm = &rr->s;

					sm->map[sm->n] = in[j].map_us;
					sm->unmap[sm->n] = t1 - t0;
					sm->pair[sm->n] = in[j].map_us + t1 - t0;
					sm->n++;
				}
				free_iova[nr_free++] = in[j].iova;
				in[j] = in[--nr_in];
			}
			if (pat == 0)
				iova = RING_FIXED_BASE + (uint64_t)i * VMC_PAGE;
			else
				iova = nr_free ? free_iova[--nr_free] : (next_iova -= VMC_PAGE);
			if (pat == 0)
				nr_free = 0;
			t0 = vmc_now_us();
			ret = _vmc_map(env.container, iova, bufs + (uint64_t)i * VMC_PAGE, VMC_PAGE, RW);
			t1 = vmc_now_us();
			if (ret)
				goto fail;
			in[nr_in].iova = iova;
			in[nr_in].buf = i;
			in[nr_in].map_us = t1 - t0;
			in[nr_in].timed = timed;
			nr_in++;
		}
	}
	/* The requests still in flight are not timed: they are few. */
	rr->run_med[rr->nr_runs++] = median_copy(rr->s.pair + run_first, rr->s.n - run_first);
	for (k = 0; k < NR_RING_KEYS; k++)
		c1[k] = vmc_stat(VMC_STATS_TOTAL, ring_keys[k]);
	if (b == VMC_BACKEND_MAPCACHE && c0[0] >= 0) {
		for (k = 0; k < NR_RING_KEYS; k++)
			rr->cnt[k] += c1[k] - c0[k];
		rr->cnt_maps += RING_BUFS * RING_LAPS;
		rr->have_cnt = true;
	}
	vmc_env_close(&env);
	return 0;
fail:
	printf("# vmc_bench: ring %s %s/%s: request failed: %d\n", ring_pat_names[pat],
	       vmc_backend_name(b), rmode_names[cfg->mode], ret);
	vmc_env_close(&env);
	return ret;
}

/* Median over rounds of (this row's run / type1's run in the same round). */
static double ring_ratio(unsigned int pat, unsigned int ci)
{
	struct ring_res *t1 = &ring_res[pat][0], *rr = &ring_res[pat][ci];
	double q[RING_MAX_ROUNDS];
	unsigned int i, n = 0;

	for (i = 0; i < rr->nr_runs && i < t1->nr_runs; i++)
		if (t1->run_med[i] > 0)
			q[n++] = rr->run_med[i] / t1->run_med[i];
	return vmc_median(q, n);
}

static void ring_print(unsigned int rounds)
{
	unsigned int pat, ci, k;

	printf("# RING-TABLE-BEGIN\n");
	printf("%-7s %-8s %-6s %-9s %7s %8s %8s %8s %8s %6s %6s %6s %6s\n", "pattern", "backend",
	       "mode", "quota", "pairs", "map_us", "unmap_us", "pair_us", "vs_type1",
	       "pins", "flush", "full", "pinhit");
	for (pat = 0; pat < 2; pat++) {
		for (ci = 0; ci < NR_RING_CFGS; ci++) {
			const struct ring_cfg *cfg = &ring_cfgs[ci];
			struct ring_res *rr = &ring_res[pat][ci];
			char quota[16];
			double pair;

			if (cfg->mode == RMODE_TYPE1)
				snprintf(quota, sizeof(quota), "-");
			else if (!cfg->quota_bufs)
				snprintf(quota, sizeof(quota), "none");
			else
				snprintf(quota, sizeof(quota), "%s", cfg->quota_bufs == RING_BUFS ?
					 "fits" : "half");
			printf("%-7s %-8s %-6s %-9s ", ring_pat_names[pat],
			       cfg->mode == RMODE_TYPE1 ? "type1" : "mapcache",
			       rmode_names[cfg->mode], quota);
			if (rr->na || !rr->s.n) {
				printf("%7s n/a (%s)\n", "", rr->na ? rr->why : "no samples");
				continue;
			}
			/* vmc_median() sorts: the pair first, the ratio needs it. */
			pair = vmc_median(rr->s.pair, rr->s.n);
			printf("%7u %8.1f %8.1f %8.1f %8.2f", rr->s.n, vmc_median(rr->s.map, rr->s.n),
			       vmc_median(rr->s.unmap, rr->s.n), pair, ring_ratio(pat, ci));
			if (rr->have_cnt)
				for (k = 0; k < 4; k++)
					printf(" %6.2f", (double)rr->cnt[k] / rr->cnt_maps);
			else
				printf(" %6s %6s %6s %6s", "-", "-", "-", "-");
			printf("\n");
		}
	}
	printf("# RING-TABLE-END\n");
	for (pat = 0; pat < 2; pat++)
		for (ci = 1; ci < NR_RING_CFGS; ci++) {
			struct ring_res *rr = &ring_res[pat][ci];

			if (!rr->have_cnt || !rr->s.n)
				continue;
			printf("# ring %s %s/%s: per pair", ring_pat_names[pat],
			       rmode_names[ring_cfgs[ci].mode], ring_cfgs[ci].quota_bufs ==
			       RING_BUFS ? "fits" : ring_cfgs[ci].quota_bufs ? "half" : "none");
			for (k = 0; k < NR_RING_KEYS; k++)
				printf(" %s %.2f", ring_keys[k], (double)rr->cnt[k] / rr->cnt_maps);
			printf("\n");
		}
	printf("# ring: %u buffers, %u in flight, 1 warm-up + %u timed laps per run, %u runs"
	       " per row; vs_type1 is the median over runs of the run's median pair over"
	       " type1's in the same round\n", RING_BUFS, RING_QD, RING_LAPS,
	       rounds * RING_ROUNDS_PER);
	printf("# ring: floor, a no-op request (VFIO_CHECK_EXTENSION on the container):"
	       " type1 %.1f us, mapcache %.1f us\n", vmc_median(null_us[0], nr_null[0]),
	       vmc_median(null_us[1], nr_null[1]));
}

static int bench_backend(enum vmc_backend b, unsigned int slot, const char *mode,
			 uint8_t *buf)
{
	struct vmc_env env;
	unsigned int s, i;
	char path[96];
	int ret;

	ret = vmc_env_open(&env, b);
	if (!ret && mode) {
		snprintf(path, sizeof(path), "/sys/kernel/vfio_mapcache/%d/mode", getpid());
		ret = vmc_write_str(path, mode);
	}
	if (ret) {
		printf("# vmc_bench: cannot open %s: %d\n", vmc_backend_name(b), ret);
		vmc_env_close(&env);
		return ret;
	}
	for (s = 0; s < NR_SIZES; s++) {
		struct samples *sm = &res[slot][s];
		long long p0 = vmc_stat(VMC_STATS_TOTAL, "pins");
		long long f0 = vmc_stat(VMC_STATS_TOTAL, "iotlb_flushes");

		for (i = 0; i < sizes[s].reps; i++) {
			uint64_t unmapped = 0;
			double t0, t1, t2;

			t0 = vmc_now_us();
			ret = _vmc_map(env.container, IOVA, buf, sizes[s].size, RW);
			t1 = vmc_now_us();
			if (!ret)
				ret = _vmc_unmap(env.container, IOVA, sizes[s].size, 0, &unmapped);
			t2 = vmc_now_us();
			if (ret || unmapped != sizes[s].size) {
				printf("# vmc_bench: %s %s: map/unmap failed: %d (unmapped %llu)\n",
				       vmc_backend_name(b), sizes[s].name, ret,
				       (unsigned long long)unmapped);
				vmc_env_close(&env);
				return ret ?: -EIO;
			}
			sm->pair[sm->n] = t2 - t0;
			sm->map[sm->n] = t1 - t0;
			sm->unmap[sm->n] = t2 - t1;
			sm->n++;
		}
		if (b == VMC_BACKEND_MAPCACHE && p0 >= 0) {
			pins[slot][s] += vmc_stat(VMC_STATS_TOTAL, "pins") - p0;
			flushes[slot][s] += vmc_stat(VMC_STATS_TOTAL, "iotlb_flushes") - f0;
		}
	}
	vmc_env_close(&env);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int rounds = argc > 1 ? atoi(argv[1]) : 2, r, s, b, total = 0;
	bool ours = vmc_mapcache_loaded();
	uint8_t *raw, *buf;
	double t[NR_SLOTS];

	if (!rounds || rounds > MAX_ROUNDS)
		rounds = 2;
	/*
	 * One CPU: under TCG a request's cost depends on the vCPU it runs
	 * on and on migrations between them, which splits the samples in two.
	 */
	{
		cpu_set_t one;

		CPU_ZERO(&one);
		CPU_SET(0, &one);
		sched_setaffinity(0, sizeof(one), &one);
	}
	raw = mmap(NULL, MAX_SIZE + ALIGN_2M, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	buf = (uint8_t *)(((uintptr_t)raw + ALIGN_2M - 1) & ~(ALIGN_2M - 1));
	madvise(buf, MAX_SIZE, MADV_HUGEPAGE);
	memset(buf, 0x5a, MAX_SIZE);
	for (b = 0; b < NR_SLOTS; b++)
		for (s = 0; s < NR_SIZES; s++) {
			unsigned int n = sizes[s].reps * rounds;

			res[b][s].pair = calloc(n, sizeof(double));
			res[b][s].map = calloc(n, sizeof(double));
			res[b][s].unmap = calloc(n, sizeof(double));
			if (!res[b][s].pair || !res[b][s].map || !res[b][s].unmap)
				return 1;
		}

	printf("# vmc_bench: %u rounds; reps per round: 4KiB %u, 2MiB %u, 64MiB %u; mapcache %s\n",
	       rounds, sizes[0].reps, sizes[1].reps, sizes[2].reps,
	       ours ? "loaded" : "NOT loaded");
	for (r = 0; r < rounds; r++) {
		if (bench_backend(VMC_BACKEND_TYPE1, 0, NULL, buf))
			return 1;
		if (ours && bench_backend(VMC_BACKEND_MAPCACHE, 1, NULL, buf))
			return 1;
		if (ours && bench_backend(VMC_BACKEND_MAPCACHE, 2, "off", buf))
			return 1;
	}

	printf("# BENCH-TABLE-BEGIN\n");
	printf("%-6s %8s %16s %16s %8s %16s %8s\n", "size", "samples", "type1_median_us",
	       "strict_median_us", "ratio", "off_median_us", "ratio");
	for (s = 0; s < NR_SIZES; s++) {
		for (b = 0; b < NR_SLOTS; b++)
			t[b] = vmc_median(res[b][s].pair, res[b][s].n);
		total += res[0][s].n;
		if (ours)
			printf("%-6s %8u %16.1f %16.1f %8.2f %16.1f %8.2f\n", sizes[s].name,
			       res[0][s].n, t[0], t[1], t[0] > 0 ? t[1] / t[0] : 0, t[2],
			       t[0] > 0 ? t[2] / t[0] : 0);
		else
			printf("%-6s %8u %16.1f %16s %8s\n", sizes[s].name, res[0][s].n,
			       t[0], "-", "-");
	}
	printf("# BENCH-TABLE-END\n");
	/* The split, and what our backend did per pair. */
	for (s = 0; s < NR_SIZES; s++)
		for (b = 0; b < (ours ? (unsigned int)NR_SLOTS : 1u); b++) {
			printf("# %-6s %-8s map %10.1f us  unmap %10.1f us",
			       sizes[s].name, b == 2 ? "off" : vmc_backend_name(b),
			       vmc_median(res[b][s].map, res[b][s].n),
			       vmc_median(res[b][s].unmap, res[b][s].n));
			if (b && res[b][s].n)
				printf("  pins/pair %.1f  iotlb_flushes/pair %.2f",
				       (double)pins[b][s] / res[b][s].n,
				       (double)flushes[b][s] / res[b][s].n);
			printf("\n");
		}
	fflush(stdout);

	/* The guest-style ring workload. */
	for (b = 0; b < 2; b++)
		for (s = 0; s < NR_RING_CFGS; s++) {
			struct samples *sm = &ring_res[b][s].s;

			sm->pair = calloc(RING_PAIRS * rounds * RING_ROUNDS_PER, sizeof(double));
			sm->map = calloc(RING_PAIRS * rounds * RING_ROUNDS_PER, sizeof(double));
			sm->unmap = calloc(RING_PAIRS * rounds * RING_ROUNDS_PER, sizeof(double));
			if (!sm->pair || !sm->map || !sm->unmap)
				return 1;
		}
	/*
	 * Short runs, the order reversed every other round and both patterns
	 * of a configuration back to back, so that the emulator's drift (2-3x
	 * between runs, the more so on a busy machine) hits all rows alike.
	 */
	for (r = 0; r < rounds * RING_ROUNDS_PER; r++)
		for (s = 0; s < NR_RING_CFGS; s++)
			for (b = 0; b < 2; b++) {
				unsigned int ci = r % 2 ? NR_RING_CFGS - 1 - s : s;

				if (ring_res[b][ci].na)
					continue;
				if (ring_run(b, ci, buf))
					return 1;
			}
	ring_print(rounds);
	printf("# vmc_bench: done (%u pairs per backend)\n", total);
	return 0;
}
