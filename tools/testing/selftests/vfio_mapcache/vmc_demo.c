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
 * How a trace becomes host requests: vmc_replay.c.
 *
 * Every configuration runs ROUNDS times (default 3), all configurations in
 * turn per round, so that emulator drift hits all alike; the time is the
 * median of the rounds, the counters are the last round's.  Figures only:
 * nothing here passes or fails on speed.  The output for scripts/demo.sh
 * is between "# DEMO-BEGIN" and "# DEMO-END"; "# vmc_demo: ok" ends a run
 * in which nothing went wrong.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmc_replay.h"

#define MAX_TRACES	4
#define MAX_ROUNDS	9
#define NR_EXTRA	6	/* counters shown in the log only */

struct result {
	struct vmc_run run;	/* the last round's: counters, or why not */
	double us[MAX_ROUNDS];
	unsigned int n;
};

/* Plain MAP_DMA / UNMAP_DMA ioctls, as QEMU issues them. */
#define CFG(m, pol, pct)	{ .mode = (m), .policy = (pol), .quota_pct = (pct) }
/* The same with prefetching along the access graph (sysfs prefetch=1). */
#define CFG_PF(m, pol, pct)	{ .mode = (m), .policy = (pol), .quota_pct = (pct), .prefetch = true }

static const struct vmc_run_cfg configs[] = {
	CFG(VMC_RUN_TYPE1, NULL, 0),
	CFG(VMC_RUN_OFF, NULL, 0),
	CFG(VMC_RUN_STRICT, "lru", 50), CFG(VMC_RUN_STRICT, "fifo", 50),
	CFG(VMC_RUN_STRICT, "lirs", 50),
	CFG_PF(VMC_RUN_STRICT, "lru", 50), CFG_PF(VMC_RUN_STRICT, "lirs", 50),
	CFG(VMC_RUN_STRICT, "lru", 100), CFG(VMC_RUN_STRICT, "fifo", 100),
	CFG(VMC_RUN_STRICT, "lirs", 100),
	CFG(VMC_RUN_LAZY, "lru", 50), CFG(VMC_RUN_LAZY, "fifo", 50),
	CFG(VMC_RUN_LAZY, "lirs", 50),
	CFG(VMC_RUN_LAZY, "lru", 100), CFG(VMC_RUN_LAZY, "fifo", 100),
	CFG(VMC_RUN_LAZY, "lirs", 100),
};
#define NR_CONFIGS	(sizeof(configs) / sizeof(configs[0]))

static int errors;

/* "lru", "lirs+pf", ... */
static const char *policy_label(const struct vmc_run_cfg *c)
{
	static char label[16];

	if (!c->policy)
		return "-";
	snprintf(label, sizeof(label), "%s%s", c->policy, c->prefetch ? "+pf" : "");
	return label;
}

static void run_one(struct vmc_pattern *p, const struct vmc_run_cfg *c, struct result *res,
		    bool *mapped)
{
	memset(&res->run, 0, sizeof(res->run));
	vmc_replay_run(p, c, &res->run, mapped);
	if (!res->run.na)
		res->us[res->n++] = res->run.us;
}

/* ---- the table ---- */

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
	return vmc_median_ratio(r->us, t1->us, r->n < t1->n ? r->n : t1->n);
}

static void summary(const struct vmc_pattern *p, const struct result *res);

static void print_table(struct vmc_pattern *p, struct result *res)
{
	unsigned int i;

	printf("\n");
	printf("Pattern %s: %s\n", p->name, p->what);
	printf("  %u requests per run (%u MAP_DMA over %llu pages, %u UNMAP_DMA); working set %u pages"
	       " (%.2f MiB); at most %.2f MiB mapped at once\n",
	       p->nr_requests, p->nr_maps, (unsigned long long)p->page_maps, p->nr_unmaps,
	       p->nr_pages, p->nr_pages * (double)VMC_PAGE / (1 << 20),
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
		const struct vmc_run_cfg *c = &configs[i];
		struct result *r = &res[i];
		const struct vmc_run *x = &r->run;
		char quota[16], full[24], hits[48], pins[24], fl[24], ev[24];
		double us;

		if (c->quota_pct)
			snprintf(quota, sizeof(quota), "%u%%", c->quota_pct);
		else
			snprintf(quota, sizeof(quota), c->mode == VMC_RUN_TYPE1 ? "-" : "none");
		printf("%-8s %-6s %-7s %6s ", c->mode == VMC_RUN_TYPE1 ? "type1" : "mapcache",
		       vmc_run_mode_names[c->mode], policy_label(c), quota);
		if (x->na) {
			printf("%8s   n/a (%s)\n", "", x->na_why);
			continue;
		}
		us = vmc_median_copy(r->us, r->n);
		if (c->mode == VMC_RUN_TYPE1) {
			printf("%8u %8s %15s %8s %8s %8s %9.2f %8.1f %7s\n", p->nr_requests, "-", "-",
			       "-", "-", "-", x->peak_pinned / (double)(1 << 20), us, "1.00");
			continue;
		}
		fmt_count(full, sizeof(full), x->cnt[VMC_CNT_FULL_HITS]);
		if (x->cnt[VMC_CNT_PIN_HITS] >= 0 && p->page_maps)
			snprintf(hits, sizeof(hits), "%lld (%4.1f%%)", x->cnt[VMC_CNT_PIN_HITS],
				 100.0 * x->cnt[VMC_CNT_PIN_HITS] / p->page_maps);
		else
			fmt_count(hits, sizeof(hits), x->cnt[VMC_CNT_PIN_HITS]);
		fmt_count(pins, sizeof(pins), x->cnt[VMC_CNT_PINS]);
		fmt_count(fl, sizeof(fl), x->cnt[VMC_CNT_FLUSHES]);
		fmt_count(ev, sizeof(ev), x->cnt[VMC_CNT_EVICTIONS]);
		printf("%8u %8s %15s %8s %8s %8s %9.2f %8.1f %7.2f", p->nr_requests, full, hits,
		       pins, fl, ev, x->peak_pinned / (double)(1 << 20), us,
		       res[0].run.na ? 0 : ratio(r, &res[0]));
		if (x->failed)
			printf("  %lld failed (%lld over quota)", x->failed,
			       x->cnt[VMC_CNT_QUOTA_FAILURES]);
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
			return res[i].run.na || !res[i].n ? NULL : &res[i];
	return NULL;
}

/* Three lines that say what the table shows. */
static void summary(const struct vmc_pattern *p, const struct result *res)
{
	const struct result *off = find(res, VMC_RUN_OFF, NULL, 0);
	const struct result *s100 = find(res, VMC_RUN_STRICT, "lru", 100);
	const struct result *l100 = find(res, VMC_RUN_LAZY, "lru", 100);
	const struct result *best = NULL;
	const char *best_pol = NULL;
	long long off_pins, s100_pins;
	unsigned int i;

	if (!off || !s100 || res[0].run.na)
		return;
	off_pins = off->run.cnt[VMC_CNT_PINS];
	s100_pins = s100->run.cnt[VMC_CNT_PINS];
	printf("\n  In short: with a quota of the whole working set, strict mode pinned %lld pages\n"
	       "  where type1 pins %lld (%.0f%% fewer) at %.2fx type1's time per request;",
	       s100_pins, off_pins, off_pins ? 100.0 * (off_pins - s100_pins) / off_pins : 0,
	       ratio(s100, &res[0]));
	if (l100)
		printf(" lazy mode\n  served %lld pages as full hits (%.1f%%) with %lld IOTLB flushes"
		       " instead of %lld, at %.2fx.\n", l100->run.cnt[VMC_CNT_FULL_HITS],
		       100.0 * l100->run.cnt[VMC_CNT_FULL_HITS] / p->page_maps,
		       l100->run.cnt[VMC_CNT_FLUSHES], off->run.cnt[VMC_CNT_FLUSHES],
		       ratio(l100, &res[0]));
	else
		printf(" lazy mode did not run.\n");
	for (i = 0; i < NR_CONFIGS; i++) {
		const struct result *r = &res[i];

		if (configs[i].mode == VMC_RUN_STRICT && configs[i].quota_pct == 50 &&
		    !r->run.na && r->n && (!best || r->run.cnt[VMC_CNT_PIN_HITS] >
					   best->run.cnt[VMC_CNT_PIN_HITS])) {
			best = r;
			best_pol = policy_label(&configs[i]);
		}
	}
	if (best)
		printf("  At half that quota the best policy here is %s: %.1f%% of pages were pin hits.\n",
		       best_pol, 100.0 * best->run.cnt[VMC_CNT_PIN_HITS] / p->page_maps);
}

static void legend(unsigned int rounds)
{
	printf("\n");
	printf("Legend\n");
	printf("  backend   type1 = stock vfio_iommu_type1; mapcache = vfio_iommu_mapcache\n");
	printf("  mode      off = type1 behaviour (pin at map, unpin at unmap); strict = pages stay\n");
	printf("            pinned after UNMAP_DMA, IOMMU entries go (same guest-visible behaviour as\n");
	printf("            type1); lazy = IOMMU entries stay too (iommu.strict=0 trade, trusted devices)\n");
	printf("  policy    which cached page is unpinned first when the quota is full (lru, fifo, lirs, duel)\n");
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
	struct vmc_pattern pats[MAX_TRACES + 1];
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
	vmc_one_cpu();
	for (i = optind; i < (unsigned int)argc && nr_names < MAX_TRACES; i++)
		names[nr_names++] = argv[i];
	if (!nr_names) {
		static char found[MAX_TRACES][VMC_PATH_MAX];

		nr_names = vmc_replay_list("/data", found, MAX_TRACES);
		for (i = 0; i < nr_names; i++)
			names[i] = found[i];
		names[nr_names++] = "synth";
	}

	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (!vmc_mapcache_loaded())
		printf("# vmc_demo: vfio_iommu_mapcache is NOT loaded: only type1 rows\n");
	vmc_replay_init();
	for (i = 0; i < nr_names; i++) {
		struct vmc_pattern *p = &pats[nr_pats];
		int ret;

		memset(p, 0, sizeof(*p));
		ret = strcmp(names[i], "synth") ? vmc_pattern_load(p, names[i]) :
						  vmc_pattern_synth(p);
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

				if (res[i][ci].run.na)
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

			if (x->run.na)
				continue;
			printf("# counters %s %s/%s/%u%%:", pats[i].name,
			       vmc_run_mode_names[configs[c].mode],
			       policy_label(&configs[c]), configs[c].quota_pct);
			for (k = 0; k < NR_EXTRA; k++)
				printf(" %s %lld", vmc_count_names[VMC_CNT_MAP_REQUESTS + k],
				       x->run.cnt[VMC_CNT_MAP_REQUESTS + k]);
			printf(" misses %lld us/round", x->run.cnt[VMC_CNT_MISSES]);
			for (k = 0; k < x->n; k++)
				printf(" %.1f", x->us[k]);
			printf("\n");
		}
		printf("# counters %s type1: us/round", pats[i].name);
		for (c = 0; c < res[i][0].n; c++)
			printf(" %.1f", res[i][0].us[c]);
		printf("\n");
		if (res[i][0].run.na) {
			printf("# vmc_demo: type1 unavailable: %s\n", res[i][0].run.na_why);
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
