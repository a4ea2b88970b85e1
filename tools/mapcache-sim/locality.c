// SPDX-License-Identifier: GPL-2.0
/*
 * Locality of a trace: reuse distances of pages and of (IOVA, page) pairs
 * (distinct keys mapped between two maps of the same key, the LRU stack
 * distance: an LRU cache of N entries hits exactly the reuses at distance
 * < N), sequential runs of physical pages, and the live and recently used
 * working sets over time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sim.h"

#define RD_BUCKETS	40

struct fenwick {
	int32_t *t;
	size_t n;
};

static void fw_add(struct fenwick *f, size_t i, int32_t v)
{
	for (i++; i <= f->n; i += i & -i)
		f->t[i] += v;
}

static int64_t fw_sum(const struct fenwick *f, size_t i)	/* [0, i) */
{
	int64_t s = 0;

	for (; i > 0; i -= i & -i)
		s += f->t[i];
	return s;
}

static int rd_bucket(uint64_t d)
{
	int b = 0;

	while (d) {
		d >>= 1;
		b++;
	}
	return b;		/* 0 for d = 0, else floor(log2 d) + 1 */
}

/* Histogram of reuse distances over the map events, by page or pair. */
static void reuse(const struct sim_trace *t, bool pairs, uint64_t *hist,
		  uint64_t *cold)
{
	uint32_t n = pairs ? t->nr_pairs : t->nr_pages;
	size_t *last = malloc(n * sizeof(*last)), m = 0;
	struct fenwick f = { calloc(t->nr_maps + 1, sizeof(int32_t)),
			     t->nr_maps };

	memset(last, 0xff, n * sizeof(*last));
	*cold = 0;
	for (size_t i = 0; i < t->nr_ev; i++) {
		const struct sim_ev *e = &t->ev[i];
		uint32_t k = pairs ? e->pair : e->page;

		if (e->op != EV_MAP)
			continue;
		if (last[k] == SIZE_MAX) {
			(*cold)++;
		} else {
			hist[rd_bucket(fw_sum(&f, m) - fw_sum(&f, last[k] + 1))]++;
			fw_add(&f, last[k], -1);
		}
		fw_add(&f, m, 1);
		last[k] = m++;
	}
	free(last);
	free(f.t);
}

static void reuse_report(const struct sim_trace *t, FILE *csv, FILE *out,
			 bool pairs)
{
	uint64_t hist[RD_BUCKETS + 1] = { 0 }, cold, cum = 0, total;
	const char *kind = pairs ? "pair" : "page";
	double med = -1;

	reuse(t, pairs, hist, &cold);
	total = t->nr_maps;
	for (int b = 0; b <= RD_BUCKETS; b++) {
		uint64_t lo = b ? 1ULL << (b - 1) : 0;
		uint64_t hi = b ? (1ULL << b) - 1 : 0;

		cum += hist[b];
		if (med < 0 && 2 * cum >= total - cold && hist[b])
			med = lo;
		if (hist[b])
			fprintf(csv, "%s,%llu,%llu,%llu,%.6f\n", kind,
				(unsigned long long)lo,
				(unsigned long long)hi,
				(unsigned long long)hist[b],
				(double)cum / total);
	}
	fprintf(csv, "%s,cold,cold,%llu,%.6f\n", kind,
		(unsigned long long)cold, 1.0);
	fprintf(out, "  %s reuse: %.1f%% of maps reuse a %s; median reuse "
		"distance in [%g, %g] distinct %ss\n", kind,
		total ? 100.0 * (total - cold) / total : 0, kind, med,
		med > 0 ? 2 * med - 1 : 0, kind);
}

/* Sequential runs: maps of the physical page right after the previous map. */
static void spatial(const struct sim_trace *t, FILE *out)
{
	uint64_t seq = 0, prev = UINT64_MAX - 1;

	for (size_t i = 0; i < t->nr_ev; i++) {
		const struct sim_ev *e = &t->ev[i];

		if (e->op != EV_MAP)
			continue;
		seq += t->pfn[e->page] == prev + 1;
		prev = t->pfn[e->page];
	}
	fprintf(out, "  spatial: %.1f%% of maps are of the page following the "
		"previous map's page\n",
		t->nr_maps ? 100.0 * seq / t->nr_maps : 0);
}

/* Live pages and pages used in the last @window maps, sampled over time. */
static void wset(const struct sim_trace *t, FILE *csv, FILE *out)
{
	uint32_t *live = calloc(t->nr_pages, sizeof(*live));
	uint32_t *inwin = calloc(t->nr_pages, sizeof(*inwin));
	uint32_t *ring, head = 0;
	size_t window = t->nr_maps / 20 + 1, step = t->nr_maps / 400 + 1;
	size_t m = 0, nr_live = 0, nr_win = 0, peak_win = 0;

	ring = malloc(window * sizeof(*ring));
	fprintf(csv, "map,live_pages,window_pages,window_maps\n");
	for (size_t i = 0; i < t->nr_ev; i++) {
		const struct sim_ev *e = &t->ev[i];

		if (e->op == EV_UNMAP) {
			nr_live -= live[e->page] && !--live[e->page];
			continue;
		}
		nr_live += !live[e->page]++;
		if (m >= window && !--inwin[ring[head]])
			nr_win--;
		nr_win += !inwin[e->page]++;
		ring[head] = e->page;
		head = (head + 1) % window;
		if (nr_win > peak_win)
			peak_win = nr_win;
		if (++m % step == 0)
			fprintf(csv, "%zu,%zu,%zu,%zu\n", m, nr_live, nr_win,
				window);
	}
	fprintf(out, "  working set: %u pages in all; at most %zu pages in "
		"any %zu consecutive maps\n", t->nr_pages, peak_win, window);
	free(live);
	free(inwin);
	free(ring);
}

void sim_locality(const struct sim_trace *t, FILE *rd_csv, FILE *ws_csv,
		  FILE *out)
{
	fprintf(out, "locality of %s:\n", t->name);
	fprintf(rd_csv, "key,dist_lo,dist_hi,count,cum_frac\n");
	reuse_report(t, rd_csv, out, false);
	reuse_report(t, rd_csv, out, true);
	spatial(t, out);
	wset(t, ws_csv, out);
}
