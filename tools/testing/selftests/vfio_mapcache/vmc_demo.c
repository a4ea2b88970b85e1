// SPDX-License-Identifier: GPL-2.0
/*
 * vmc_demo: replay a guest's DMA map/unmap stream as host MAP_DMA/UNMAP_DMA
 * requests through stock vfio_iommu_type1 and through vfio_iommu_mapcache in
 * each mode, quota and policy, and print what each did and what it cost.
 * This is what `make demo` (scripts/demo.sh) runs in the QEMU guest.
 *
 *   vmc_demo [-r ROUNDS] [TRACE...]
 *
 * TRACE is a text trace in the format of tools/traces/README ("m IOVA SIZE
 * PHYS" / "u IOVA SIZE"), or "synth" for a synthetic stream with Linux's
 * IOVA reuse (the most recently freed IOVA goes to the next map, which
 * carries another page).  Default: every *.txt in /data, then "synth".
 *
 * A trace is replayed on the IOVAs it was recorded with; each distinct
 * guest-physical page becomes a distinct page of one buffer of this process
 * (in address order, so a multi-page record stays contiguous).  IOVAs in the
 * MSI window or outside GET_INFO's IOVA ranges move up by 4 GiB, or are
 * skipped if that does not help.  A map over a still-mapped IOVA is replayed
 * as unmap + map; unmaps of IOVAs not mapped are dropped: the replayed
 * stream is one the host accepts, identical for every backend.
 *
 * Every configuration runs ROUNDS times (default 3), all configurations in
 * turn per round, so that emulator drift hits all alike; the time is the
 * median of the rounds, the counters are the last round's.  Figures only:
 * nothing here passes or fails on speed.  The output for scripts/demo.sh
 * is between "# DEMO-BEGIN" and "# DEMO-END"; "# vmc_demo: ok" ends a run
 * in which nothing went wrong.
 */
#include <dirent.h>
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
#define PG		VMC_PAGE
#define MSI_START	0xfee00000ULL
#define MSI_END		0xfeefffffULL	/* inclusive */
#define IOVA_SHIFT	(1ULL << 32)	/* where IOVAs that do not fit move */
#define MAX_RANGES	16
#define MAX_TRACES	4
#define MAX_ROUNDS	9
#define SYSFS_VM	"/sys/kernel/vfio_mapcache"
#define NR_EXTRA	9	/* counters shown in the log only */

/* The synthetic stream: a loop over SYN_PAGES pages, SYN_QD in flight. */
#define SYN_PAGES	1024
#define SYN_QD		16
#define SYN_MAPS	8192
#define SYN_IOVA_TOP	0x80000000ULL

/* One host request of the replay. */
struct op {
	uint64_t iova, size;
	uint32_t page;		/* map: first buffer page */
	int32_t map;		/* unmap: index of the map op it undoes; map: -1 */
};

struct pattern {
	char name[64];
	char what[160];
	struct op *ops;
	unsigned int nr_ops, nr_maps, nr_unmaps;
	uint64_t page_maps;		/* pages mapped, in total */
	uint32_t nr_pages;		/* distinct pages: the working set */
	uint64_t peak_live_bytes;	/* most bytes mapped at once */
	unsigned int records, dropped_unmaps, overmaps, moved, skipped;
	uint8_t *buf;
};

/* Where the raw stream goes before it becomes ops. */
struct rec {
	char kind;
	uint64_t iova, size, phys;
};

enum { MODE_TYPE1, MODE_OFF, MODE_STRICT, MODE_LAZY };
static const char *const mode_names[] = { "-", "off", "strict", "lazy" };

struct config {
	int mode;
	const char *policy;	/* NULL: default / not applicable */
	unsigned int quota_pct;	/* of the working set; 0 = unlimited */
	bool prefetch;		/* along the access graph, module defaults */
};

struct result {
	bool na;		/* the backend refused this configuration */
	char na_why[48];
	double us[MAX_ROUNDS];
	unsigned int n;
	long long full_hits, pin_hits, misses, pins, flushes, evictions;
	long long quota_failures, failed, peak_pinned;
	long long extra[NR_EXTRA];
};

static const struct config configs[] = {
	{ MODE_TYPE1, NULL, 0, false },
	{ MODE_OFF, NULL, 0, false },
	{ MODE_STRICT, "lru", 50, false }, { MODE_STRICT, "fifo", 50, false },
	{ MODE_STRICT, "lirs", 50, false },
	{ MODE_STRICT, "lru", 50, true }, { MODE_STRICT, "lirs", 50, true },
	{ MODE_STRICT, "lru", 100, false }, { MODE_STRICT, "fifo", 100, false },
	{ MODE_STRICT, "lirs", 100, false },
	{ MODE_LAZY, "lru", 50, false }, { MODE_LAZY, "fifo", 50, false },
	{ MODE_LAZY, "lirs", 50, false },
	{ MODE_LAZY, "lru", 100, false }, { MODE_LAZY, "fifo", 100, false },
	{ MODE_LAZY, "lirs", 100, false },
};
#define NR_CONFIGS	(sizeof(configs) / sizeof(configs[0]))

static struct vfio_iova_range ranges[MAX_RANGES];
static unsigned int nr_ranges;
static int errors;

static double median(const double *v, unsigned int n)
{
	double s[MAX_ROUNDS];

	if (!n)
		return 0;
	memcpy(s, v, n * sizeof(*v));
	return vmc_median(s, n);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* ---- the usable IOVA space ---- */

static int read_iova_ranges(int container)
{
	struct vfio_iommu_type1_info *info = vmc_get_info(container);
	struct vfio_iommu_type1_info_cap_iova_range *cap;

	if (!info)
		return -errno;
	nr_ranges = 0;
	cap = (void *)vmc_find_cap(info, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	if (cap) {
		nr_ranges = cap->nr_iovas < MAX_RANGES ? cap->nr_iovas : MAX_RANGES;
		memcpy(ranges, cap->iova_ranges, nr_ranges * sizeof(*ranges));
	}
	free(info);
	return 0;
}

static bool iova_ok(uint64_t iova, uint64_t size)
{
	uint64_t last = iova + size - 1;
	unsigned int i;

	if (last < iova || (iova <= MSI_END && last >= MSI_START))
		return false;
	if (!nr_ranges)		/* no capability: trust the trace */
		return true;
	for (i = 0; i < nr_ranges; i++)
		if (iova >= ranges[i].start && last <= ranges[i].end)
			return true;
	return false;
}

/* Where the replay puts a recorded IOVA range; false to skip it. */
static bool place_iova(uint64_t *iova, uint64_t size)
{
	if (iova_ok(*iova, size))
		return true;
	if (iova_ok(*iova + IOVA_SHIFT, size)) {
		*iova += IOVA_SHIFT;
		return true;
	}
	return false;
}

/* ---- turning a raw stream into host requests ---- */

struct live {
	uint64_t iova, size;
	int32_t map;
};

static int add_op(struct pattern *p, unsigned int *cap, struct op op)
{
	if (p->nr_ops == *cap) {
		struct op *n = realloc(p->ops, (*cap ? *cap * 2 : 4096) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->ops = n;
		*cap = *cap ? *cap * 2 : 4096;
	}
	p->ops[p->nr_ops++] = op;
	if (op.map < 0) {
		p->nr_maps++;
		p->page_maps += op.size / PG;
	} else {
		p->nr_unmaps++;
	}
	return 0;
}

/*
 * @recs -> @p->ops: physical pages become buffer pages (rank among the
 * distinct pages, so a record's pages stay contiguous), IOVAs are placed,
 * and the live set decides which unmaps a map implies and which unmaps are
 * of nothing.
 */
static int build_ops(struct pattern *p, struct rec *recs, unsigned int nr)
{
	uint64_t *pages = NULL, live_bytes = 0;
	struct live *live = NULL;
	unsigned int i, j, k, nr_pages = 0, nr_live = 0, cap = 0, live_cap = 0;
	int ret = -ENOMEM;

	for (i = 0; i < nr; i++)
		if (recs[i].kind == 'm')
			nr_pages += recs[i].size / PG;
	pages = malloc((nr_pages + 1) * sizeof(*pages));
	if (!pages)
		return -ENOMEM;
	nr_pages = 0;
	for (i = 0; i < nr; i++)
		if (recs[i].kind == 'm')
			for (j = 0; j < recs[i].size / PG; j++)
				pages[nr_pages++] = recs[i].phys / PG + j;
	qsort(pages, nr_pages, sizeof(*pages), cmp_u64);
	for (i = j = 0; i < nr_pages; i++)
		if (!j || pages[i] != pages[j - 1])
			pages[j++] = pages[i];
	p->nr_pages = nr_pages = j;

	for (i = 0; i < nr; i++) {
		struct rec *r = &recs[i];
		uint64_t iova = r->iova;
		bool overlapped = false;

		if (!place_iova(&iova, r->size)) {
			p->skipped++;
			continue;
		}
		if (iova != r->iova)
			p->moved++;
		/* Whatever is mapped over [iova, iova + size) goes first. */
		for (k = 0; k < nr_live; ) {
			struct live *l = &live[k];

			if (l->iova < iova + r->size && iova < l->iova + l->size) {
				struct op u = { .iova = l->iova, .size = l->size, .map = l->map };

				if (add_op(p, &cap, u))
					goto out;
				live_bytes -= l->size;
				live[k] = live[--nr_live];
				overlapped = true;
			} else {
				k++;
			}
		}
		if (r->kind == 'u') {
			if (!overlapped)
				p->dropped_unmaps++;
			continue;
		}
		if (overlapped)
			p->overmaps++;
		{
			uint64_t key = r->phys / PG, *hit;
			struct op m = { .iova = iova, .size = r->size, .map = -1 };

			hit = bsearch(&key, pages, nr_pages, sizeof(*pages), cmp_u64);
			m.page = hit - pages;
			if (nr_live == live_cap) {
				struct live *n = realloc(live, (live_cap ? live_cap * 2 : 256) *
							 sizeof(*n));

				if (!n)
					goto out;
				live = n;
				live_cap = live_cap ? live_cap * 2 : 256;
			}
			live[nr_live++] = (struct live){ iova, r->size, p->nr_ops };
			if (add_op(p, &cap, m))
				goto out;
			live_bytes += r->size;
			if (live_bytes > p->peak_live_bytes)
				p->peak_live_bytes = live_bytes;
		}
	}
	p->records = nr;
	/* What is still mapped at the end is unmapped by closing the container. */
	p->buf = mmap(NULL, nr_pages * PG, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p->buf == MAP_FAILED) {
		p->buf = NULL;
		goto out;
	}
	for (i = 0; i < nr_pages; i++)
		p->buf[i * PG] = i;
	ret = 0;
out:
	free(pages);
	free(live);
	return ret;
}

static int load_trace(struct pattern *p, const char *path)
{
	struct rec *recs = NULL;
	unsigned int nr = 0, cap = 0;
	unsigned long long a, b, c;
	const char *base = strrchr(path, '/');
	char line[256];
	int ret, comments = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -errno;
	snprintf(p->name, sizeof(p->name), "%s", base ? base + 1 : path);
	if (strchr(p->name, '.'))
		*strchr(p->name, '.') = '\0';
	while (fgets(line, sizeof(line), f)) {
		struct rec r;

		/* The second comment line says what was recorded. */
		if (line[0] == '#' && ++comments == 2) {
			char *end = strstr(line, "; device");

			if (!end)
				end = strchr(line, '\n');
			if (end)
				*end = '\0';
			snprintf(p->what, sizeof(p->what), "recorded trace, %.140s", line + 2);
		}
		if (sscanf(line, "m %llx %llx %llx", &a, &b, &c) == 3)
			r = (struct rec){ 'm', a, b, c };
		else if (sscanf(line, "u %llx %llx", &a, &b) == 2)
			r = (struct rec){ 'u', a, b, 0 };
		else
			continue;
		if (!r.size || r.size % PG || r.iova % PG || r.phys % PG)
			continue;
		if (nr == cap) {
			struct rec *n = realloc(recs, (cap ? cap * 2 : 4096) * sizeof(*n));

			if (!n) {
				fclose(f);
				free(recs);
				return -ENOMEM;
			}
			recs = n;
			cap = cap ? cap * 2 : 4096;
		}
		recs[nr++] = r;
	}
	fclose(f);
	ret = nr ? build_ops(p, recs, nr) : -ENODATA;
	free(recs);
	return ret;
}

/*
 * A NIC-like stream: pages taken in a loop over SYN_PAGES, SYN_QD requests
 * in flight completing in random order, and IOVAs handed out as Linux's
 * allocator does (the most recently freed first; new ones grow down).
 */
static int make_synth(struct pattern *p)
{
	struct rec *recs = calloc(2 * SYN_MAPS, sizeof(*recs));
	uint64_t inflight[SYN_QD], free_iova[SYN_MAPS], next = SYN_IOVA_TOP, rng = 0x9e3779b97f4a7c15ULL;
	unsigned int nr = 0, nr_in = 0, nr_free = 0, i;
	int ret;

	if (!recs)
		return -ENOMEM;
	snprintf(p->name, sizeof(p->name), "synth");
	snprintf(p->what, sizeof(p->what),
		 "synthetic: loop over %u pages, %u maps in flight, Linux-style IOVA reuse",
		 SYN_PAGES, SYN_QD);
	for (i = 0; i < SYN_MAPS; i++) {
		uint64_t iova;

		if (nr_in == SYN_QD) {
			unsigned int k;

			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			k = rng % nr_in;
			recs[nr++] = (struct rec){ 'u', inflight[k], PG, 0 };
			free_iova[nr_free++] = inflight[k];
			inflight[k] = inflight[--nr_in];
		}
		iova = nr_free ? free_iova[--nr_free] : (next -= PG);
		recs[nr++] = (struct rec){ 'm', iova, PG, (0x40000ULL + i % SYN_PAGES) * PG };
		inflight[nr_in++] = iova;
	}
	while (nr_in)
		recs[nr++] = (struct rec){ 'u', inflight[--nr_in], PG, 0 };
	ret = build_ops(p, recs, nr);
	free(recs);
	return ret;
}

/* ---- one run ---- */

static const char *const stat_keys[] = {
	"full_hits", "pin_hits", "misses", "pins", "iotlb_flushes", "evictions",
	"quota_failures",
	/* only in the log, for whoever wonders where the time goes */
	"map_requests", "unmap_requests", "iommu_maps", "iommu_unmaps",
	"eviction_batches", "unpins",
	"prefetch_issued", "prefetch_useful", "prefetch_wasted",
};
#define NR_TABLE_KEYS	7
#define NR_KEYS	(sizeof(stat_keys) / sizeof(stat_keys[0]))

static void read_totals(long long *v)
{
	unsigned int i;

	for (i = 0; i < NR_KEYS; i++)
		v[i] = vmc_stat(VMC_STATS_TOTAL, stat_keys[i]);
}

static int vm_set(const char *file, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), SYSFS_VM "/%d/%s", getpid(), file);
	return vmc_write_str(path, val);
}

static void run_one(struct pattern *p, const struct config *c, struct result *res,
		    bool *mapped)
{
	enum vmc_backend b = c->mode == MODE_TYPE1 ? VMC_BACKEND_TYPE1 : VMC_BACKEND_MAPCACHE;
	long long before[NR_KEYS], after[NR_KEYS];
	struct vmc_env env;
	unsigned int i;
	long long failed = 0;
	double t0, t1;
	char val[32], path[128];
	int ret;

	ret = vmc_env_open(&env, b);
	if (ret) {
		res->na = true;
		snprintf(res->na_why, sizeof(res->na_why), "cannot open %s: %s",
			 vmc_backend_name(b), ret == 1 ? "not loaded" : strerror(-ret));
		vmc_env_close(&env);
		return;
	}
	if (!nr_ranges)
		read_iova_ranges(env.container);
	if (b == VMC_BACKEND_MAPCACHE) {
		const char *file = "quota_bytes";

		snprintf(val, sizeof(val), "%llu", c->quota_pct ?
			 ((unsigned long long)p->nr_pages * c->quota_pct + 99) / 100 * PG : 0ULL);
		ret = vm_set(file, val);
		if (!ret && c->policy)
			ret = vm_set(file = "policy", c->policy);
		if (!ret && c->mode != MODE_OFF)
			ret = vm_set(file = "prefetch", c->prefetch ? "1" : "0");
		if (!ret)
			ret = vm_set(file = "mode", mode_names[c->mode]);
		if (ret) {
			res->na = true;
			snprintf(res->na_why, sizeof(res->na_why), "%s refused: %s", file,
				 strerror(-ret));
			vmc_env_close(&env);
			return;
		}
	}
	read_totals(before);
	t0 = vmc_now_us();
	for (i = 0; i < p->nr_ops; i++) {
		const struct op *o = &p->ops[i];

		if (o->map < 0) {
			mapped[i] = !_vmc_map(env.container, o->iova, p->buf + (uint64_t)o->page * PG,
					      o->size, RW);
			failed += !mapped[i];
		} else if (mapped[o->map]) {
			failed += !!_vmc_unmap(env.container, o->iova, o->size, 0, NULL);
		}
	}
	t1 = vmc_now_us();
	read_totals(after);
	res->us[res->n++] = (t1 - t0) / p->nr_ops;
	res->failed = failed;
	if (b == VMC_BACKEND_MAPCACHE) {
		res->full_hits = after[0] - before[0];
		res->pin_hits = after[1] - before[1];
		res->misses = after[2] - before[2];
		res->pins = after[3] - before[3];
		res->flushes = after[4] - before[4];
		res->evictions = after[5] - before[5];
		res->quota_failures = after[6] - before[6];
		for (i = 0; i < NR_EXTRA; i++)
			res->extra[i] = after[NR_TABLE_KEYS + i] - before[NR_TABLE_KEYS + i];
		snprintf(path, sizeof(path), SYSFS_VM "/%d/peak_pinned_bytes", getpid());
		res->peak_pinned = vmc_read_ll(path);
		/* Mode off pins per mapping, as type1, outside the pin cache. */
		if (c->mode == MODE_OFF && res->peak_pinned <= 0)
			res->peak_pinned = p->peak_live_bytes;
	} else {
		res->peak_pinned = p->peak_live_bytes;
	}
	vmc_env_close(&env);
}

/* ---- the table ---- */

/* "lru", "lirs+pf", ... */
static const char *policy_label(const struct config *c)
{
	static char label[16];

	if (!c->policy)
		return "-";
	snprintf(label, sizeof(label), "%s%s", c->policy, c->prefetch ? "+pf" : "");
	return label;
}

static void fmt_count(char *s, size_t n, long long v)
{
	if (v < 0)
		snprintf(s, n, "-");
	else
		snprintf(s, n, "%lld", v);
}

/* Median over rounds of (this row's time / type1's in the same round). */
static double ratio(const struct result *r, const struct result *t1)
{
	double q[MAX_ROUNDS];
	unsigned int i, n = 0;

	for (i = 0; i < r->n && i < t1->n; i++)
		if (t1->us[i] > 0)
			q[n++] = r->us[i] / t1->us[i];
	return median(q, n);
}

static void summary(const struct pattern *p, const struct result *res);

static void print_table(struct pattern *p, struct result *res)
{
	unsigned int i;

	printf("\n");
	printf("Pattern %s: %s\n", p->name, p->what);
	printf("  %u requests per run (%u MAP_DMA over %llu pages, %u UNMAP_DMA); working set %u pages"
	       " (%.2f MiB); at most %.2f MiB mapped at once\n",
	       p->nr_ops, p->nr_maps, (unsigned long long)p->page_maps, p->nr_unmaps,
	       p->nr_pages, p->nr_pages * (double)PG / (1 << 20),
	       p->peak_live_bytes / (double)(1 << 20));
	if (p->moved || p->skipped || p->dropped_unmaps || p->overmaps)
		printf("  replay: %u records; %u IOVA ranges moved up 4 GiB (MSI window/aperture),"
		       " %u skipped; %u unmaps of unmapped IOVAs dropped; %u maps over mapped"
		       " IOVAs replayed as unmap+map\n",
		       p->records, p->moved, p->skipped, p->dropped_unmaps, p->overmaps);
	printf("\n");
	printf("%-8s %-6s %-7s %6s %8s %8s %15s %8s %8s %8s %9s %8s %7s\n",
	       "backend", "mode", "policy", "quota", "requests", "full", "pin hits",
	       "pins", "IOTLB", "evicted", "peak pin", "us/req", "vs");
	printf("%-8s %-6s %-7s %6s %8s %8s %15s %8s %8s %8s %9s %8s %7s\n",
	       "", "", "", "", "", "hits", "", "", "flushes", "", "MiB", "", "type1");
	for (i = 0; i < NR_CONFIGS; i++) {
		const struct config *c = &configs[i];
		struct result *r = &res[i];
		char quota[16], full[24], hits[48], pins[24], fl[24], ev[24];
		double us;

		if (c->quota_pct)
			snprintf(quota, sizeof(quota), "%u%%", c->quota_pct);
		else
			snprintf(quota, sizeof(quota), c->mode == MODE_TYPE1 ? "-" : "none");
		printf("%-8s %-6s %-7s %6s ", c->mode == MODE_TYPE1 ? "type1" : "mapcache",
		       mode_names[c->mode], policy_label(c), quota);
		if (r->na) {
			printf("%8s   n/a (%s)\n", "", r->na_why);
			continue;
		}
		us = median(r->us, r->n);
		if (c->mode == MODE_TYPE1) {
			printf("%8u %8s %15s %8s %8s %8s %9.2f %8.1f %7s\n", p->nr_ops, "-", "-",
			       "-", "-", "-", r->peak_pinned / (double)(1 << 20), us, "1.00");
			continue;
		}
		fmt_count(full, sizeof(full), r->full_hits);
		if (r->pin_hits >= 0 && p->page_maps)
			snprintf(hits, sizeof(hits), "%lld (%4.1f%%)", r->pin_hits,
				 100.0 * r->pin_hits / p->page_maps);
		else
			fmt_count(hits, sizeof(hits), r->pin_hits);
		fmt_count(pins, sizeof(pins), r->pins);
		fmt_count(fl, sizeof(fl), r->flushes);
		fmt_count(ev, sizeof(ev), r->evictions);
		printf("%8u %8s %15s %8s %8s %8s %9.2f %8.1f %7.2f", p->nr_ops, full, hits, pins,
		       fl, ev, r->peak_pinned / (double)(1 << 20), us,
		       res[0].na ? 0 : ratio(r, &res[0]));
		if (r->failed)
			printf("  %lld failed (%lld over quota)", r->failed, r->quota_failures);
		printf("\n");
	}
	summary(p, res);
}

/* The row of @mode, @policy, @pct; NULL if it did not run. */
static const struct result *find(const struct result *res, int mode, const char *policy,
				 unsigned int pct)
{
	unsigned int i;

	for (i = 0; i < NR_CONFIGS; i++)
		if (configs[i].mode == mode && configs[i].quota_pct == pct &&
		    (!policy || (configs[i].policy && !strcmp(policy, configs[i].policy))))
			return res[i].na || !res[i].n ? NULL : &res[i];
	return NULL;
}

/* Three lines that say what the table shows. */
static void summary(const struct pattern *p, const struct result *res)
{
	const struct result *off = find(res, MODE_OFF, NULL, 0);
	const struct result *s100 = find(res, MODE_STRICT, "lru", 100);
	const struct result *l100 = find(res, MODE_LAZY, "lru", 100);
	const struct result *best = NULL;
	const char *best_pol = NULL;
	unsigned int i;

	if (!off || !s100 || res[0].na)
		return;
	printf("\n  In short: with a quota of the whole working set, strict mode pinned %lld pages\n"
	       "  where type1 pins %lld (%.0f%% fewer) at %.2fx type1's time per request;",
	       s100->pins, off->pins, off->pins ? 100.0 * (off->pins - s100->pins) / off->pins : 0,
	       ratio(s100, &res[0]));
	if (l100)
		printf(" lazy mode\n  served %lld pages as full hits (%.1f%%) with %lld IOTLB flushes instead of"
		       " %lld, at %.2fx.\n", l100->full_hits, 100.0 * l100->full_hits / p->page_maps,
		       l100->flushes, off->flushes, ratio(l100, &res[0]));
	else
		printf(" lazy mode did not run.\n");
	for (i = 0; i < NR_CONFIGS; i++) {
		const struct result *r = &res[i];

		if (configs[i].mode == MODE_STRICT && configs[i].quota_pct == 50 && !r->na &&
		    r->n && (!best || r->pin_hits > best->pin_hits)) {
			best = r;
			best_pol = policy_label(&configs[i]);
		}
	}
	if (best)
		printf("  At half that quota the best policy here is %s: %.1f%% of pages were pin hits.\n",
		       best_pol, 100.0 * best->pin_hits / p->page_maps);
}

static void legend(unsigned int rounds)
{
	printf("\n");
	printf("Legend\n");
	printf("  backend   type1 = stock vfio_iommu_type1; mapcache = vfio_iommu_mapcache\n");
	printf("  mode      off = type1 behaviour (pin at map, unpin at unmap); strict = pages stay\n");
	printf("            pinned after UNMAP_DMA, IOMMU entries go (same guest-visible behaviour as\n");
	printf("            type1); lazy = IOMMU entries stay too (iommu.strict=0 trade, trusted devices)\n");
	printf("  policy    which cached page is unpinned first when the quota is full (lru, fifo, lirs)\n");
	printf("            +pf: the VM prefetches along its access graph (sysfs prefetch=1)\n");
	printf("  quota     per-VM pinned-memory limit, as a share of the pattern's working set\n");
	printf("  requests  MAP_DMA + UNMAP_DMA ioctls per run\n");
	printf("  full hits pages mapped with no pin, no IOMMU write, no flush (lazy: same IOVA+page)\n");
	printf("  pin hits  pages mapped without pinning them (already pinned; full hits not\n");
	printf("            included), %% of pages mapped\n");
	printf("  pins      pages pinned (GUP); type1 keeps no counters: 'off' does what type1 does\n");
	printf("  IOTLB flushes, evicted: counted by the module; peak pin = most memory pinned at once\n");
	printf("            (type1/off: most bytes mapped at once)\n");
	printf("  us/req    wall time per request, median of %u rounds; vs type1 = this row's time\n",
	       rounds);
	printf("            over type1's in the same round and boot, median of the rounds (below\n");
	printf("            1.00 = cheaper than type1).  The guest is emulated (TCG): compare\n");
	printf("            ratios, not microseconds, with a real host.\n");
}

int main(int argc, char **argv)
{
	struct pattern pats[MAX_TRACES + 1];
	struct result *res[MAX_TRACES + 1];
	unsigned int rounds = 3, nr_pats = 0, r, i, c;
	const char *names[MAX_TRACES + 1];
	unsigned int nr_names = 0;
	bool *mapped;
	double t0 = vmc_now_us();
	int opt;

	while ((opt = getopt(argc, argv, "r:")) != -1) {
		if (opt == 'r')
			rounds = atoi(optarg);
	}
	if (!rounds || rounds > MAX_ROUNDS)
		rounds = 3;
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
	for (i = optind; i < (unsigned int)argc && nr_names < MAX_TRACES; i++)
		names[nr_names++] = argv[i];
	if (!nr_names) {
		static char found[MAX_TRACES][300];
		struct dirent *de;
		DIR *d = opendir("/data");

		while (d && (de = readdir(d)) && nr_names < MAX_TRACES) {
			size_t len = strlen(de->d_name);

			if (len > 4 && !strcmp(de->d_name + len - 4, ".txt")) {
				snprintf(found[nr_names], sizeof(found[0]), "/data/%s", de->d_name);
				names[nr_names] = found[nr_names];
				nr_names++;
			}
		}
		if (d)
			closedir(d);
		names[nr_names++] = "synth";
	}

	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (!vmc_mapcache_loaded())
		printf("# vmc_demo: vfio_iommu_mapcache is NOT loaded: only type1 rows\n");
	for (i = 0; i < nr_names; i++) {
		struct pattern *p = &pats[nr_pats];
		int ret;

		memset(p, 0, sizeof(*p));
		ret = strcmp(names[i], "synth") ? load_trace(p, names[i]) : make_synth(p);
		if (ret) {
			printf("# vmc_demo: %s: %s\n", names[i], strerror(-ret));
			errors++;
			continue;
		}
		res[nr_pats] = calloc(NR_CONFIGS, sizeof(struct result));
		if (!res[nr_pats])
			return 1;
		nr_pats++;
	}
	printf("# vmc_demo: %u patterns x %zu configurations x %u rounds\n", nr_pats,
	       NR_CONFIGS, rounds);
	fflush(stdout);

	for (i = 0; i < nr_pats; i++) {
		mapped = calloc(pats[i].nr_ops, sizeof(*mapped));
		if (!mapped)
			return 1;
		for (r = 0; r < rounds; r++) {
			/* Reversed every other round: drift hits all rows alike. */
			for (c = 0; c < NR_CONFIGS; c++) {
				unsigned int ci = r % 2 ? NR_CONFIGS - 1 - c : c;

				if (res[i][ci].na)
					continue;
				run_one(&pats[i], &configs[ci], &res[i][ci], mapped);
			}
			printf("# vmc_demo: %s round %u done (%.1f s)\n", pats[i].name, r + 1,
			       (vmc_now_us() - t0) / 1e6);
			fflush(stdout);
		}
		free(mapped);
		for (c = 1; c < NR_CONFIGS; c++) {
			struct result *x = &res[i][c];
			unsigned int k;

			if (x->na)
				continue;
			printf("# counters %s %s/%s/%u%%:", pats[i].name, mode_names[configs[c].mode],
			       configs[c].policy ? configs[c].policy : "-", configs[c].quota_pct);
			for (k = 0; k < NR_EXTRA; k++)
				printf(" %s %lld", stat_keys[NR_TABLE_KEYS + k], x->extra[k]);
			printf(" misses %lld us/round", x->misses);
			for (k = 0; k < x->n; k++)
				printf(" %.1f", x->us[k]);
			printf("\n");
		}
		printf("# counters %s type1: us/round", pats[i].name);
		for (c = 0; c < res[i][0].n; c++)
			printf(" %.1f", res[i][0].us[c]);
		printf("\n");
		if (res[i][0].na) {
			printf("# vmc_demo: type1 unavailable: %s\n", res[i][0].na_why);
			errors++;
		}
	}

	printf("# DEMO-BEGIN\n");
	for (i = 0; i < nr_pats; i++)
		print_table(&pats[i], res[i]);
	legend(rounds);
	printf("# DEMO-END\n");
	printf("# vmc_demo: %s in %.1f s\n", errors ? "FAILED" : "ok", (vmc_now_us() - t0) / 1e6);
	fflush(stdout);
	return errors ? 1 : 0;
}
