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
 * lru), and in strict and lazy mode with each unmap piggybacked on the next
 * map in one VFIO_MAPCACHE_BATCH call.  In each run one lap of the ring warms the cache up and RING_LAPS
 * laps are timed; runs are short and interleaved (RING_ROUNDS_PER per
 * round).  Printed: per-request medians of the map, the unmap and the pair,
 * and the pair's ratio to type1 (median over rounds of the ratio of run
 * medians in the same round).
 *
 * Last, the recorded traces (issue 6): each *.txt trace in /data is
 * replayed (vmc_replay.c) on stock type1 with plain ioctls and on the
 * map-cache in modes off, strict and lazy, at 25, 50 and 100% of the
 * trace's working set (lru and duel; lirs in strict mode too), with plain ioctls and
 * with VFIO_MAPCACHE_BATCH, each request of the trace going either with the
 * next map (piggyback) or in windows of 16 or 32 requests; and strict lru
 * at 50% with prefetch if the module has it.  All configurations in turn
 * per round, the order reversed every other round.  Per configuration: the
 * time per request as a ratio to type1's in the same round (median over
 * the rounds), the hit rate ((pin hits + full hits) per page mapped), pins,
 * IOTLB flushes per unmapped page, peak pinned bytes and requests per
 * batch, the counters being the last round's.  A batch ioctl the module
 * does not have (ENOTTY) makes its rows "n/a".
 *
 * Then (issue 13) the large maps of a VM without a vIOMMU
 * (vmc_bench_large.c) and where the time of a strict pin hit goes
 * (vmc_bench_hit.c).
 *
 *   vmc_bench [-s SECTIONS] [-t TRACE_ROUNDS] [-L LARGE_ROUNDS] [ROUNDS]
 *
 * SECTIONS: any of s (sizes), r (ring), t (traces), l (large maps), h (pin
 * hit); default srtlh.  ROUNDS: default 2; TRACE_ROUNDS: default 5;
 * LARGE_ROUNDS: default 3.
 *
 * Prints the tables between "# BENCH-TABLE-BEGIN" and "# BENCH-TABLE-END",
 * "# RING-TABLE-BEGIN" and "# RING-TABLE-END", and one per trace between
 * "# TRACE-TABLE-BEGIN" and "# TRACE-TABLE-END", followed by "# simcmp"
 * lines for scripts/bench.sh's comparison with mapcache-sim.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vmc_bench.h"
#include "vmc_replay.h"

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

/* ---- the guest-style ring workload ---- */

#define RING_BUFS	256
#define RING_QD		16
#define RING_LAPS	4
#define RING_PAIRS	(RING_BUFS * RING_LAPS)
#define RING_ROUNDS_PER	3	/* ring rounds per benchmark round */
#define RING_MAX_ROUNDS	(MAX_ROUNDS * RING_ROUNDS_PER)
#define RING_FIXED_BASE	0x40000000UL
#define RING_REUSE_TOP	0x80000000UL

static const struct ring_cfg {
	int mode;
	unsigned int quota_bufs;	/* 0: unlimited */
	bool piggyback;			/* each unmap rides on the next map */
} ring_cfgs[] = {
	{ VMC_RUN_TYPE1, 0, false },
	{ VMC_RUN_OFF, 0, false },
	{ VMC_RUN_STRICT, RING_BUFS, false }, { VMC_RUN_STRICT, RING_BUFS / 2, false },
	{ VMC_RUN_LAZY, RING_BUFS, false }, { VMC_RUN_LAZY, RING_BUFS / 2, false },
	{ VMC_RUN_STRICT, RING_BUFS, true }, { VMC_RUN_LAZY, RING_BUFS, true },
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
	double run_bulk[RING_MAX_ROUNDS];	/* mean pair of each run's bulk lap */
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

/* "fits", "half+pb", ...: the quota, and how requests are sent. */
static const char *ring_quota_label(const struct ring_cfg *cfg)
{
	static char label[16];

	snprintf(label, sizeof(label), "%s%s", cfg->mode == VMC_RUN_TYPE1 ? "-" :
		 !cfg->quota_bufs ? "none" : cfg->quota_bufs == RING_BUFS ? "fits" : "half",
		 cfg->piggyback ? "+pb" : "");
	return label;
}

/* One completion and the next map in one VFIO_MAPCACHE_BATCH call. */
static int ring_piggyback(int container, uint64_t unmap_iova, uint64_t iova, void *buf)
{
	struct vfio_mapcache_batch_entry v[2] = {
		{ .op = VFIO_MAPCACHE_OP_UNMAP, .iova = unmap_iova, .size = VMC_PAGE },
		{ .op = VFIO_MAPCACHE_OP_MAP, .flags = RW, .vaddr = (uintptr_t)buf,
		  .iova = iova, .size = VMC_PAGE },
	};

	return _vmc_batch(container, v, 2, NULL);
}

static uint64_t ring_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The clock of a timed lap; none in the bulk lap. */
static double ring_clock(bool on)
{
	return on ? vmc_now_us() : 0;
}

static int ring_run(unsigned int pat, unsigned int ci, uint8_t *bufs)
{
	const struct ring_cfg *cfg = &ring_cfgs[ci];
	struct ring_res *rr = &ring_res[pat][ci];
	enum vmc_backend b = cfg->mode == VMC_RUN_TYPE1 ? VMC_BACKEND_TYPE1 : VMC_BACKEND_MAPCACHE;
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
		ret = vmc_vm_write("quota_bytes", val);
		if (!ret)
			ret = vmc_vm_write("mode", vmc_run_mode_names[cfg->mode]);
		if (!ret)
			ret = vmc_vm_write("policy", "lru");
		if (ret) {
			rr->na = true;
			snprintf(rr->why, sizeof(rr->why), "mode %s: %s",
				 vmc_run_mode_names[cfg->mode],
				 strerror(-ret));
			vmc_env_close(&env);
			return 0;
		}
	}
	ring_null_ioctls(&env, b);
	/* After the timed laps, a bulk lap: timed as a whole, no clock per request. */
	for (lap = 0; lap <= RING_LAPS + 1; lap++) {
		bool bulk = lap == RING_LAPS + 1, timed = lap > 0 && !bulk;
		double lap_t0 = vmc_now_us();

		if (lap == 1)
			for (k = 0; k < NR_RING_KEYS; k++)
				c0[k] = vmc_stat(VMC_STATS_TOTAL, ring_keys[k]);
		for (i = 0; i < RING_BUFS; i++) {
			unsigned int j = RING_QD;
			double t0, t1, done_us = 0;
			uint64_t iova;

			if (nr_in == RING_QD)
				j = ring_rand(&rng) % nr_in;
			if (j < RING_QD && !cfg->piggyback) {
				t0 = ring_clock(!bulk);
				ret = _vmc_unmap(env.container, in[j].iova, VMC_PAGE, 0, NULL);
				done_us = ring_clock(!bulk) - t0;
				if (ret)
					goto fail;
			}
			if (j < RING_QD)
				free_iova[nr_free++] = in[j].iova;
			if (pat == 0)
				iova = RING_FIXED_BASE + (uint64_t)i * VMC_PAGE;
			else
				iova = nr_free ? free_iova[--nr_free] : (next_iova -= VMC_PAGE);
			if (pat == 0)
				nr_free = 0;
			t0 = ring_clock(!bulk);
			if (j < RING_QD && cfg->piggyback)
				ret = ring_piggyback(env.container, in[j].iova, iova,
						     bufs + (uint64_t)i * VMC_PAGE);
			else
				ret = _vmc_map(env.container, iova, bufs + (uint64_t)i * VMC_PAGE,
					       VMC_PAGE, RW);
			t1 = ring_clock(!bulk);
			if (ret)
				goto fail;
			if (j < RING_QD) {
				/* Piggyback: one call is a whole pair, shown as its unmap. */
				if (cfg->piggyback)
					done_us = t1 - t0;
				if (in[j].timed && !bulk) {
					struct samples *sm = &rr->s;

					sm->map[sm->n] = cfg->piggyback ? 0 : in[j].map_us;
					sm->unmap[sm->n] = done_us;
					sm->pair[sm->n] = sm->map[sm->n] + done_us;
					sm->n++;
				}
				in[j] = in[--nr_in];
			}
			in[nr_in].iova = iova;
			in[nr_in].buf = i;
			in[nr_in].map_us = t1 - t0;
			in[nr_in].timed = timed;
			nr_in++;
		}
		if (bulk)
			rr->run_bulk[rr->nr_runs] = (vmc_now_us() - lap_t0) / RING_BUFS;
	}
	/* The requests still in flight are not timed: they are few. */
	rr->run_med[rr->nr_runs++] = vmc_median_copy(rr->s.pair + run_first,
						     rr->s.n - run_first);
	for (k = 0; k < NR_RING_KEYS; k++)
		c1[k] = vmc_stat(VMC_STATS_TOTAL, ring_keys[k]);
	if (b == VMC_BACKEND_MAPCACHE && c0[0] >= 0) {
		for (k = 0; k < NR_RING_KEYS; k++)
			rr->cnt[k] += c1[k] - c0[k];
		rr->cnt_maps += RING_BUFS * (RING_LAPS + 1);
		rr->have_cnt = true;
	}
	vmc_env_close(&env);
	return 0;
fail:
	printf("# vmc_bench: ring %s %s/%s: request failed: %d\n", ring_pat_names[pat],
	       vmc_backend_name(b), vmc_run_mode_names[cfg->mode], ret);
	vmc_env_close(&env);
	return ret;
}

/* Median over rounds of (this row's run / type1's run in the same round). */
static double ring_ratio(unsigned int pat, unsigned int ci, bool bulk)
{
	struct ring_res *t1 = &ring_res[pat][0], *rr = &ring_res[pat][ci];

	return vmc_median_ratio(bulk ? rr->run_bulk : rr->run_med,
				bulk ? t1->run_bulk : t1->run_med,
				rr->nr_runs < t1->nr_runs ? rr->nr_runs : t1->nr_runs);
}

static void ring_print(unsigned int rounds)
{
	unsigned int pat, ci, k;

	printf("# RING-TABLE-BEGIN\n");
	printf("%-7s %-8s %-6s %-9s %7s %8s %8s %8s %8s %6s %6s %6s %6s %7s %7s\n", "pattern",
	       "backend", "mode", "quota", "pairs", "map_us", "unmap_us", "pair_us", "vs_type1",
	       "pins", "flush", "full", "pinhit", "bulk_us", "bulk_vs");
	for (pat = 0; pat < 2; pat++) {
		for (ci = 0; ci < NR_RING_CFGS; ci++) {
			const struct ring_cfg *cfg = &ring_cfgs[ci];
			struct ring_res *rr = &ring_res[pat][ci];
			double pair;

			printf("%-7s %-8s %-6s %-9s ", ring_pat_names[pat],
			       cfg->mode == VMC_RUN_TYPE1 ? "type1" : "mapcache",
			       vmc_run_mode_names[cfg->mode], ring_quota_label(cfg));
			if (rr->na || !rr->s.n) {
				printf("%7s n/a (%s)\n", "", rr->na ? rr->why : "no samples");
				continue;
			}
			/* vmc_median() sorts: the pair first, the ratio needs it. */
			pair = vmc_median(rr->s.pair, rr->s.n);
			printf("%7u %8.1f %8.1f %8.1f %8.2f", rr->s.n, vmc_median(rr->s.map, rr->s.n),
			       vmc_median(rr->s.unmap, rr->s.n), pair, ring_ratio(pat, ci, false));
			if (rr->have_cnt)
				for (k = 0; k < 4; k++)
					printf(" %6.2f", (double)rr->cnt[k] / rr->cnt_maps);
			else
				printf(" %6s %6s %6s %6s", "-", "-", "-", "-");
			printf(" %7.1f %7.2f\n", vmc_median_copy(rr->run_bulk, rr->nr_runs),
			       ring_ratio(pat, ci, true));
		}
	}
	printf("# RING-TABLE-END\n");
	for (pat = 0; pat < 2; pat++)
		for (ci = 1; ci < NR_RING_CFGS; ci++) {
			struct ring_res *rr = &ring_res[pat][ci];

			if (!rr->have_cnt || !rr->s.n)
				continue;
			printf("# ring %s %s/%s: per pair", ring_pat_names[pat],
			       vmc_run_mode_names[ring_cfgs[ci].mode],
			       ring_quota_label(&ring_cfgs[ci]));
			for (k = 0; k < NR_RING_KEYS; k++)
				printf(" %s %.2f", ring_keys[k], (double)rr->cnt[k] / rr->cnt_maps);
			printf("\n");
		}
	printf("# ring: %u buffers, %u in flight, 1 warm-up + %u timed laps + 1 bulk lap per run,"
	       " %u runs per row; vs_type1 is the median over runs of the run's median pair over"
	       " type1's in the same round; bulk_us is a pair's mean in the bulk lap, timed as a"
	       " whole (no clock read per request), bulk_vs its ratio likewise\n", RING_BUFS,
	       RING_QD, RING_LAPS, rounds * RING_ROUNDS_PER);
	printf("# ring: floor, a no-op request (VFIO_CHECK_EXTENSION on the container):"
	       " type1 %.1f us, mapcache %.1f us\n", vmc_median(null_us[0], nr_null[0]),
	       vmc_median(null_us[1], nr_null[1]));
}

static int bench_backend(enum vmc_backend b, unsigned int slot, const char *mode,
			 uint8_t *buf)
{
	struct vmc_env env;
	unsigned int s, i;
	int ret;

	ret = vmc_env_open(&env, b);
	if (!ret && mode)
		ret = vmc_vm_write("mode", mode);
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

/* ---- replay of the recorded traces ---- */

#define TR_MAX_TRACES	16
#define TR_MAX_ROUNDS	9
#define TCFG(m, pol, sub, win) \
	{ .mode = (m), .policy = (pol), .submit = (sub), .window = (win) }

/* Without a quota: type1, and mode off with each submission. */
static const struct vmc_run_cfg tr_base_cfgs[] = {
	TCFG(VMC_RUN_TYPE1, NULL, VMC_SUBMIT_PLAIN, 0),
	TCFG(VMC_RUN_OFF, NULL, VMC_SUBMIT_PLAIN, 0),
	TCFG(VMC_RUN_OFF, NULL, VMC_SUBMIT_PIGGYBACK, 0),
	TCFG(VMC_RUN_OFF, NULL, VMC_SUBMIT_WINDOW, 16),
	TCFG(VMC_RUN_OFF, NULL, VMC_SUBMIT_WINDOW, 32),
};

/*
 * At each quota: strict lru with each submission, lirs plain, duel (the
 * default policy) plain, lazy lru and duel.
 */
static const struct vmc_run_cfg tr_quota_cfgs[] = {
	TCFG(VMC_RUN_STRICT, "lru", VMC_SUBMIT_PLAIN, 0),
	TCFG(VMC_RUN_STRICT, "lru", VMC_SUBMIT_PIGGYBACK, 0),
	TCFG(VMC_RUN_STRICT, "lru", VMC_SUBMIT_WINDOW, 16),
	TCFG(VMC_RUN_STRICT, "lru", VMC_SUBMIT_WINDOW, 32),
	TCFG(VMC_RUN_STRICT, "lirs", VMC_SUBMIT_PLAIN, 0),
	TCFG(VMC_RUN_STRICT, "lirs", VMC_SUBMIT_WINDOW, 32),
	TCFG(VMC_RUN_STRICT, "duel", VMC_SUBMIT_PLAIN, 0),
	TCFG(VMC_RUN_LAZY, "lru", VMC_SUBMIT_PLAIN, 0),
	TCFG(VMC_RUN_LAZY, "lru", VMC_SUBMIT_PIGGYBACK, 0),
	TCFG(VMC_RUN_LAZY, "lru", VMC_SUBMIT_WINDOW, 32),
	TCFG(VMC_RUN_LAZY, "duel", VMC_SUBMIT_PLAIN, 0),
};

static const unsigned int tr_quota_pcts[] = { 25, 50, 100 };

#define TR_NR_BASE	(sizeof(tr_base_cfgs) / sizeof(tr_base_cfgs[0]))
#define TR_NR_QUOTA	(sizeof(tr_quota_cfgs) / sizeof(tr_quota_cfgs[0]))
#define TR_NR_PCTS	(sizeof(tr_quota_pcts) / sizeof(tr_quota_pcts[0]))
/* The above, and strict lru at 50% with prefetch. */
#define NR_TR_CFGS	(TR_NR_BASE + TR_NR_PCTS * TR_NR_QUOTA + 1)

static struct vmc_run_cfg tr_cfgs[NR_TR_CFGS];

static void tr_make_cfgs(void)
{
	unsigned int i, k, n = 0;

	for (i = 0; i < TR_NR_BASE; i++)
		tr_cfgs[n++] = tr_base_cfgs[i];
	for (k = 0; k < TR_NR_PCTS; k++)
		for (i = 0; i < TR_NR_QUOTA; i++) {
			tr_cfgs[n] = tr_quota_cfgs[i];
			tr_cfgs[n++].quota_pct = tr_quota_pcts[k];
		}
	tr_cfgs[n] = tr_quota_cfgs[0];
	tr_cfgs[n].quota_pct = 50;
	tr_cfgs[n].prefetch = true;
}

struct tr_res {
	struct vmc_run run;		/* the last round's run */
	double us[TR_MAX_ROUNDS];	/* per request, each round */
	unsigned int n;
};

static const char *tr_submit_name(const struct vmc_run_cfg *c)
{
	static char name[16];

	if (c->prefetch)
		return "plain+pf";
	if (c->submit == VMC_SUBMIT_PLAIN)
		return "plain";
	if (c->submit == VMC_SUBMIT_PIGGYBACK)
		return "piggyback";
	snprintf(name, sizeof(name), "window%u", c->window);
	return name;
}

/* (full hits + pin hits) per page mapped, in %; -1 if not counted. */
static double tr_hit_pct(const struct vmc_pattern *p, const struct vmc_run *x)
{
	if (x->cnt[VMC_CNT_PIN_HITS] < 0 || x->cnt[VMC_CNT_FULL_HITS] < 0 || !p->page_maps)
		return -1;
	return 100.0 * (x->cnt[VMC_CNT_PIN_HITS] + x->cnt[VMC_CNT_FULL_HITS]) / p->page_maps;
}

static double tr_ratio(const struct tr_res *r, const struct tr_res *t1)
{
	return vmc_median_ratio(r->us, t1->us, r->n < t1->n ? r->n : t1->n);
}

static void tr_print_row(const struct vmc_pattern *p, const struct vmc_run_cfg *c,
			 const struct tr_res *r, const struct tr_res *t1)
{
	const struct vmc_run *x = &r->run;
	char quota[16], hits[16] = "-", pins[24] = "-", fl[16] = "-", batch[16] = "-";
	double hit = tr_hit_pct(p, x);

	snprintf(quota, sizeof(quota), c->quota_pct ? "%u%%" : "-", c->quota_pct);
	printf("%-6s %-6s %5s %-9s ", vmc_run_mode_names[c->mode], c->policy ?: "-", quota,
	       tr_submit_name(c));
	if (x->na || !r->n) {
		printf("n/a (%s)\n", x->na ? x->na_why : "did not run");
		return;
	}
	if (hit >= 0)
		snprintf(hits, sizeof(hits), "%.1f", hit);
	if (x->cnt[VMC_CNT_PINS] >= 0)
		snprintf(pins, sizeof(pins), "%lld", x->cnt[VMC_CNT_PINS]);
	if (x->cnt[VMC_CNT_FLUSHES] >= 0 && x->unmapped_pages)
		snprintf(fl, sizeof(fl), "%.3f",
			 (double)x->cnt[VMC_CNT_FLUSHES] / x->unmapped_pages);
	if (x->nr_batches)
		snprintf(batch, sizeof(batch), "%.1f", (double)p->nr_requests / x->nr_batches);
	printf("%8.2f %7.1f %6s %8s %8s %9.2f %6s", tr_ratio(r, t1),
	       vmc_median_copy(r->us, r->n), hits, pins, fl,
	       x->peak_pinned / (double)(1 << 20), batch);
	if (x->failed)
		printf("  %lld refused (over quota)", x->failed);
	printf("\n");
}

/*
 * For scripts/bench.sh, which replays the same trace in mapcache-sim:
 * "# simcmp TRACE MODE POLICY PREFETCH PREFETCH_DEPTH QUOTA_PAGES WS
 * PAGE_MAPS HITS REFUSED" per plain run of strict or lazy mode.
 */
static void tr_print_simcmp(const struct vmc_pattern *p, const struct vmc_run_cfg *c,
			    const struct tr_res *r)
{
	const struct vmc_run *x = &r->run;

	if (c->submit != VMC_SUBMIT_PLAIN || c->mode < VMC_RUN_STRICT || !c->quota_pct ||
	    x->na || !r->n || x->cnt[VMC_CNT_PIN_HITS] < 0)
		return;
	printf("# simcmp %s %s %s %d %lld %llu %u %llu %lld %lld\n", p->name,
	       vmc_run_mode_names[c->mode], c->policy, c->prefetch, x->prefetch_depth,
	       (unsigned long long)x->quota_pages, p->nr_pages,
	       (unsigned long long)p->page_maps,
	       x->cnt[VMC_CNT_PIN_HITS] + x->cnt[VMC_CNT_FULL_HITS], x->failed);
}

static void tr_print(const struct vmc_pattern *p, const struct tr_res *res, unsigned int rounds)
{
	unsigned int i;

	printf("# TRACE-TABLE-BEGIN\n");
	printf("\n%s: %u requests (%u MAP_DMA over %llu pages, %u UNMAP_DMA) from %u records;"
	       " working set %u pages; at most %.2f MiB mapped at once\n", p->name,
	       p->nr_requests, p->nr_maps, (unsigned long long)p->page_maps, p->nr_unmaps,
	       p->records, p->nr_pages, p->peak_live_bytes / (double)(1 << 20));
	printf("%-6s %-6s %5s %-9s %8s %7s %6s %8s %8s %9s %6s\n", "mode", "policy", "quota",
	       "submit", "vs_type1", "us/req", "hit%", "pins", "fl/unpg", "peak_MiB", "batch");
	for (i = 0; i < NR_TR_CFGS; i++)
		tr_print_row(p, &tr_cfgs[i], &res[i], &res[0]);
	printf("# TRACE-TABLE-END\n");
	for (i = 0; i < NR_TR_CFGS; i++)
		tr_print_simcmp(p, &tr_cfgs[i], &res[i]);
	for (i = 1; i < NR_TR_CFGS; i++) {
		const struct vmc_run *x = &res[i].run;
		unsigned int k;

		if (x->na || !res[i].n)
			continue;
		printf("# trace %s %s/%s/%u%%/%s: quota %llu pages, %u batches;", p->name,
		       vmc_run_mode_names[tr_cfgs[i].mode], tr_cfgs[i].policy ?: "-",
		       tr_cfgs[i].quota_pct, tr_submit_name(&tr_cfgs[i]),
		       (unsigned long long)x->quota_pages, x->nr_batches);
		for (k = 0; k < VMC_NR_COUNTS; k++)
			printf(" %s %lld", vmc_count_names[k], x->cnt[k]);
		printf(" unmapped_pages %llu\n", (unsigned long long)x->unmapped_pages);
	}
	printf("# trace %s: %u rounds; us/req per round, type1:", p->name, rounds);
	for (i = 0; i < res[0].n; i++)
		printf(" %.1f", res[0].us[i]);
	printf("\n");
}

/*
 * The figures of issue 6, per trace: strict mode at 50% of the working set,
 * lru with each submission (plain, piggyback, window16, window32), then lirs
 * (plain, window32) and duel (plain).
 */
#define TR_NR_SUM	7
/* The flush columns: lru's submissions (lirs flushes alike). */
#define TR_NR_FLUSH_SUM	4

struct tr_sum {
	char name[64];
	double ratio[TR_NR_SUM];	/* time per request over type1's */
	bool refused[TR_NR_SUM];	/* maps over quota: not comparable */
	double flush[TR_NR_SUM];	/* IOTLB flushes per unmapped page */
	double per_batch[TR_NR_SUM];	/* requests per call */
};

static struct tr_sum tr_sums[TR_MAX_TRACES];
static unsigned int nr_tr_sums;

static int tr_find_sum(unsigned int k)
{
	static const struct { const char *policy; enum vmc_submit submit; unsigned int window; }
	sum[TR_NR_SUM] = {
		{ "lru", VMC_SUBMIT_PLAIN, 0 }, { "lru", VMC_SUBMIT_PIGGYBACK, 0 },
		{ "lru", VMC_SUBMIT_WINDOW, 16 }, { "lru", VMC_SUBMIT_WINDOW, 32 },
		{ "lirs", VMC_SUBMIT_PLAIN, 0 }, { "lirs", VMC_SUBMIT_WINDOW, 32 },
		{ "duel", VMC_SUBMIT_PLAIN, 0 },
	};
	unsigned int i;

	for (i = 0; i < NR_TR_CFGS; i++) {
		const struct vmc_run_cfg *c = &tr_cfgs[i];

		if (c->mode == VMC_RUN_STRICT && c->quota_pct == 50 && !c->prefetch &&
		    c->submit == sum[k].submit && c->window == sum[k].window &&
		    !strcmp(c->policy, sum[k].policy))
			return i;
	}
	return -1;
}

static void tr_summarize(const struct vmc_pattern *p, const struct tr_res *res)
{
	struct tr_sum *s = &tr_sums[nr_tr_sums++];
	unsigned int k;

	snprintf(s->name, sizeof(s->name), "%s", p->name);
	for (k = 0; k < TR_NR_SUM; k++) {
		int i = tr_find_sum(k);
		const struct tr_res *r = i < 0 ? NULL : &res[i];
		const struct vmc_run *x = r ? &r->run : NULL;
		bool ok = r && !x->na && r->n && !res[0].run.na;

		s->ratio[k] = ok ? tr_ratio(r, &res[0]) : -1;
		s->refused[k] = ok && x->failed;
		s->flush[k] = ok && x->unmapped_pages && x->cnt[VMC_CNT_FLUSHES] >= 0 ?
			      (double)x->cnt[VMC_CNT_FLUSHES] / x->unmapped_pages : -1;
		s->per_batch[k] = ok && x->nr_batches ?
				  (double)p->nr_requests / x->nr_batches : -1;
	}
}

static void tr_print_summary(void)
{
	static const char *const head[TR_NR_SUM] = {
		"plain", "piggyback", "window16", "window32", "lirs", "lirs w32", "duel",
	};
	unsigned int i, k;

	printf("# TRACE-SUMMARY-BEGIN\n");
	printf("%-16s %-59s | %s\n", "", "time per request vs type1 (lru; lirs; duel)",
	       "IOTLB flushes per unmapped page (requests per call)");
	printf("%-16s", "trace");
	for (k = 0; k < TR_NR_SUM; k++)
		printf(" %9s", head[k]);
	printf(" |");
	for (k = 0; k < TR_NR_FLUSH_SUM; k++)
		printf(" %13s", head[k]);
	printf("\n");
	for (i = 0; i < nr_tr_sums; i++) {
		const struct tr_sum *s = &tr_sums[i];

		printf("%-16s", s->name);
		for (k = 0; k < TR_NR_SUM; k++) {
			if (s->ratio[k] < 0)
				printf(" %9s", "n/a");
			else
				printf(s->refused[k] ? " %8.2f*" : " %9.2f", s->ratio[k]);
		}
		printf(" |");
		for (k = 0; k < TR_NR_FLUSH_SUM; k++) {
			char cell[24] = "n/a";

			if (s->flush[k] >= 0 && s->per_batch[k] >= 0)
				snprintf(cell, sizeof(cell), "%.3f (%.1f)", s->flush[k],
					 s->per_batch[k]);
			else if (s->flush[k] >= 0)
				snprintf(cell, sizeof(cell), "%.3f", s->flush[k]);
			printf(" %13s", cell);
		}
		printf("\n");
	}
	printf("# TRACE-SUMMARY-END\n");
}

/* Every configuration in turn, @rounds times; the tables of the trace. */
static int tr_bench(const char *path, unsigned int rounds, double t0)
{
	struct tr_res *res = calloc(NR_TR_CFGS, sizeof(*res));
	struct vmc_pattern p = { 0 };
	unsigned int r, c;
	bool *mapped;
	int ret;

	if (!res)
		return -ENOMEM;
	ret = vmc_pattern_load(&p, path);
	mapped = ret ? NULL : calloc(p.nr_ops, sizeof(*mapped));
	if (ret || !mapped) {
		printf("# vmc_bench: %s: %s\n", path, strerror(ret ? -ret : ENOMEM));
		vmc_pattern_free(&p);
		free(res);
		return ret ?: -ENOMEM;
	}
	for (r = 0; r < rounds; r++) {
		/* Reversed every other round: drift hits all rows alike. */
		for (c = 0; c < NR_TR_CFGS; c++) {
			unsigned int ci = r % 2 ? NR_TR_CFGS - 1 - c : c;
			struct tr_res *x = &res[ci];

			if (x->run.na)
				continue;
			memset(&x->run, 0, sizeof(x->run));
			vmc_replay_run(&p, &tr_cfgs[ci], &x->run, mapped);
			if (!x->run.na)
				x->us[x->n++] = x->run.us;
		}
		printf("# vmc_bench: trace %s round %u done (%.1f s)\n", p.name, r + 1,
		       (vmc_now_us() - t0) / 1e6);
	}
	tr_print(&p, res, rounds);
	tr_summarize(&p, res);
	free(mapped);
	vmc_pattern_free(&p);
	free(res);
	return 0;
}

static int trace_section(unsigned int rounds)
{
	static char paths[TR_MAX_TRACES][VMC_PATH_MAX];
	unsigned int i, n;
	double t0 = vmc_now_us();
	int errors = 0;

	tr_make_cfgs();
	n = vmc_replay_list("/data", paths, TR_MAX_TRACES);
	printf("# vmc_bench: %u traces x %zu configurations x %u rounds\n", n, NR_TR_CFGS,
	       rounds);
	if (!n)
		return 0;
	vmc_replay_init();
	for (i = 0; i < n; i++)
		errors += !!tr_bench(paths[i], rounds, t0);
	tr_print_summary();
	printf("# vmc_bench: traces done in %.1f s\n", (vmc_now_us() - t0) / 1e6);
	return errors ? -EIO : 0;
}

/* MAP_DMA + UNMAP_DMA of each size; the number of pairs per backend. */
static int size_section(unsigned int rounds, uint8_t *buf, bool ours)
{
	unsigned int r, s, b, total = 0;
	double t[NR_SLOTS];

	for (b = 0; b < NR_SLOTS; b++)
		for (s = 0; s < NR_SIZES; s++) {
			unsigned int n = sizes[s].reps * rounds;

			res[b][s].pair = calloc(n, sizeof(double));
			res[b][s].map = calloc(n, sizeof(double));
			res[b][s].unmap = calloc(n, sizeof(double));
			if (!res[b][s].pair || !res[b][s].map || !res[b][s].unmap)
				return -ENOMEM;
		}

	printf("# vmc_bench: %u rounds; reps per round: 4KiB %u, 2MiB %u, 64MiB %u; mapcache %s\n",
	       rounds, sizes[0].reps, sizes[1].reps, sizes[2].reps,
	       ours ? "loaded" : "NOT loaded");
	for (r = 0; r < rounds; r++) {
		if (bench_backend(VMC_BACKEND_TYPE1, 0, NULL, buf))
			return -EIO;
		/* The VM's mode outlives its containers: strict, said each round. */
		if (ours && bench_backend(VMC_BACKEND_MAPCACHE, 1, "strict", buf))
			return -EIO;
		if (ours && bench_backend(VMC_BACKEND_MAPCACHE, 2, "off", buf))
			return -EIO;
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
	return total;
}

/* The guest-style ring workload. */
static int ring_section(unsigned int rounds, uint8_t *buf)
{
	unsigned int r, s, b;

	for (b = 0; b < 2; b++)
		for (s = 0; s < NR_RING_CFGS; s++) {
			struct samples *sm = &ring_res[b][s].s;

			sm->pair = calloc(RING_PAIRS * rounds * RING_ROUNDS_PER, sizeof(double));
			sm->map = calloc(RING_PAIRS * rounds * RING_ROUNDS_PER, sizeof(double));
			sm->unmap = calloc(RING_PAIRS * rounds * RING_ROUNDS_PER, sizeof(double));
			if (!sm->pair || !sm->map || !sm->unmap)
				return -ENOMEM;
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
					return -EIO;
			}
	ring_print(rounds);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int rounds = 2, trace_rounds = 5, large_rounds = 3;
	const char *sections = "srtlh";
	bool ours = vmc_mapcache_loaded();
	uint8_t *raw = NULL, *buf;
	int opt, total = 0;

	while ((opt = getopt(argc, argv, "s:t:L:")) != -1) {
		if (opt == 's')
			sections = optarg;
		else if (opt == 't')
			trace_rounds = atoi(optarg);
		else if (opt == 'L')
			large_rounds = atoi(optarg);
	}
	if (optind < argc)
		rounds = atoi(argv[optind]);
	if (!rounds || rounds > MAX_ROUNDS)
		rounds = 2;
	if (!trace_rounds || trace_rounds > TR_MAX_ROUNDS)
		trace_rounds = 5;
	vmc_one_cpu();
	if (strpbrk(sections, "sr")) {
		raw = mmap(NULL, MAX_SIZE + ALIGN_2M, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (raw == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		buf = (uint8_t *)(((uintptr_t)raw + ALIGN_2M - 1) & ~(ALIGN_2M - 1));
		madvise(buf, MAX_SIZE, MADV_HUGEPAGE);
		memset(buf, 0x5a, MAX_SIZE);
		if (strchr(sections, 's'))
			total = size_section(rounds, buf, ours);
		fflush(stdout);
		if (total < 0 || (strchr(sections, 'r') && ring_section(rounds, buf)))
			return 1;
		munmap(raw, MAX_SIZE + ALIGN_2M);
	}
	fflush(stdout);
	if (strchr(sections, 't') && trace_section(trace_rounds))
		return 1;
	fflush(stdout);
	if (strchr(sections, 'h') && ours && hit_section())
		return 1;
	fflush(stdout);
	if (strchr(sections, 'l') && ours && large_section(large_rounds))
		return 1;
	printf("# vmc_bench: done (%d pairs per backend)\n", total);
	return 0;
}
