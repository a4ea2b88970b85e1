// SPDX-License-Identifier: GPL-2.0
/*
 * vmc_bench, large maps (issue 13): what a VM without a vIOMMU costs.
 * QEMU maps all guest RAM at start in a few large MAP_DMAs, from 4 KiB
 * pages, THP or hugetlbfs, and unmaps it (or closes the container) at
 * exit; the map-cache can bring nothing there, so it must cost nothing.
 *
 * For each kind of memory (4 KiB pages: anonymous with MADV_NOHUGEPAGE;
 * THP: MADV_HUGEPAGE; hugetlbfs 2 MiB and 1 GiB pages, the pool grown for
 * the run and given back after it) one buffer of the largest size that
 * fits the guest (4 GiB, 1 GiB or 256 MiB), touched first, then for each
 * size up to it (a prefix of the buffer) and each round, on type1, on the
 * map-cache in mode strict and in mode off (alternating order), its other
 * settings the module's defaults (no quota, duel, no prefetch):
 *
 *   open a container; cold MAP_DMA; UNMAP_DMA; a second MAP_DMA (a map of
 *   64 MiB or more is an extent in strict mode, unpinned at its unmap, so
 *   this one pins again, as with type1); container close (the mapping live)
 *
 * each op timed alone.  Around the cold map, the kernel memory it took:
 * the change of Slab + VmallocUsed + SecPageTables in /proc/meminfo (the
 * same method for both backends; IOMMU page tables are in SecPageTables
 * on kernels that account them), and for the map-cache the module's own
 * count (debugfs vm-<pid>/memory).  Printed: medians over the rounds, the
 * ratio to type1 (median over rounds of the ratio in the same round), and
 * one line per target, "bench: <op>-<size>-<kind>-<mode> <ratio>".
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmc_bench.h"
#include "vmc_lib.h"

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT	26
#endif
#define LM_HUGE_2M	(21 << MAP_HUGE_SHIFT)
#define LM_HUGE_1G	(30 << MAP_HUGE_SHIFT)

#define LM_RW		(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
/* 8 GiB: aligned for 1 GiB superpages, clear of the MSI window below 4 GiB. */
#define LM_IOVA		(8ULL << 30)
#define LM_MAX_ROUNDS	8
#define MIB		(1ULL << 20)
#define GIB		(1ULL << 30)

static const struct {
	const char *name;
	uint64_t size;
} lm_sizes[] = {
	{ "256m", 256 * MIB }, { "1g", GIB }, { "4g", 4 * GIB },
};
#define LM_NR_SIZES	(sizeof(lm_sizes) / sizeof(lm_sizes[0]))

enum lm_kind { LM_4K, LM_THP, LM_HUGE2M, LM_HUGE1G, LM_NR_KINDS };
static const char *const lm_kind_names[LM_NR_KINDS] = { "4k", "thp", "huge2m", "huge1g" };
static const char *const lm_pools[LM_NR_KINDS] = {
	[LM_HUGE2M] = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages",
	[LM_HUGE1G] = "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages",
};

enum lm_cfg { LM_TYPE1, LM_STRICT, LM_OFF, LM_NR_CFGS };
static const char *const lm_cfg_names[LM_NR_CFGS] = { "type1", "strict", "off" };

enum lm_op { LM_MAP, LM_REMAP, LM_UNMAP, LM_CLOSE, LM_NR_OPS };
static const char *const lm_op_names[LM_NR_OPS] = { "map", "remap", "unmap", "close" };

struct lm_res {
	double ms[LM_NR_OPS][LM_MAX_ROUNDS];
	double kmem_kb[LM_MAX_ROUNDS];	/* Slab + VmallocUsed + SecPageTables */
	double slab_kb[LM_MAX_ROUNDS];
	double secpt_kb[LM_MAX_ROUNDS];
	unsigned int n;
	/* debugfs vm-<pid>/memory after the cold map, last round */
	long long dbg_total, dbg_pins, dbg_xa_nodes, dbg_arrays, dbg_per_gib;
	bool na;
	char why[64];
	char what[32];		/* "<pages> <size>" */
};

static struct lm_res lm_res[LM_NR_KINDS][LM_NR_SIZES][LM_NR_CFGS];
/* The largest size run per kind (LM_NR_SIZES: none). */
static unsigned int lm_top[LM_NR_KINDS];

/* /proc/meminfo, in kB; -1 for a field the kernel does not have. */
struct lm_mem {
	long long memfree, avail, slab, vmalloc, secpt, anon_huge;
};

static void lm_meminfo(struct lm_mem *m)
{
	static const struct { const char *key; size_t off; } keys[] = {
		{ "MemFree:", offsetof(struct lm_mem, memfree) },
		{ "MemAvailable:", offsetof(struct lm_mem, avail) },
		{ "Slab:", offsetof(struct lm_mem, slab) },
		{ "VmallocUsed:", offsetof(struct lm_mem, vmalloc) },
		{ "SecPageTables:", offsetof(struct lm_mem, secpt) },
		{ "AnonHugePages:", offsetof(struct lm_mem, anon_huge) },
	};
	char line[128], key[64];
	long long val;
	unsigned int i;
	FILE *f;

	memset(m, 0xff, sizeof(*m));
	f = fopen("/proc/meminfo", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %lld", key, &val) != 2)
			continue;
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!strcmp(key, keys[i].key))
				*(long long *)((char *)m + keys[i].off) = val;
	}
	fclose(f);
}

/* Kernel memory as this bench counts it, in kB. */
static long long lm_kmem(const struct lm_mem *m)
{
	return m->slab + (m->vmalloc > 0 ? m->vmalloc : 0) + (m->secpt > 0 ? m->secpt : 0);
}

static long long lm_pool_set(enum lm_kind k, long long pages)
{
	char val[32];

	snprintf(val, sizeof(val), "%lld", pages);
	vmc_write_str(lm_pools[k], val);
	return vmc_read_ll(lm_pools[k]);
}

static uint64_t lm_page_size(enum lm_kind k)
{
	return k == LM_HUGE1G ? GIB : k == LM_HUGE2M ? 2 * MIB : VMC_PAGE;
}

struct lm_buf {
	void *raw;
	size_t raw_len;
	uint8_t *buf;
	uint64_t size;
};

/* A touched buffer of @size bytes of kind @k, or false. */
static bool lm_alloc(enum lm_kind k, uint64_t size, struct lm_buf *b)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	struct lm_mem m;

	memset(b, 0, sizeof(*b));
	b->raw_len = size;
	if (k == LM_4K || k == LM_THP) {
		/* Room for the pages and what either backend may allocate. */
		lm_meminfo(&m);
		if (m.avail < 0 || (uint64_t)m.avail * 1024 < size + size / 8 + 384 * MIB)
			return false;
		if (k == LM_THP)
			b->raw_len += 2 * MIB;
	} else {
		long long want = size / lm_page_size(k);

		if (lm_pool_set(k, want) < want)
			return false;
		flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
			(k == LM_HUGE2M ? LM_HUGE_2M : LM_HUGE_1G);
	}
	b->raw = mmap(NULL, b->raw_len, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (b->raw == MAP_FAILED) {
		b->raw = NULL;
		return false;
	}
	b->buf = b->raw;
	if (k == LM_THP)
		b->buf = (uint8_t *)(((uintptr_t)b->raw + 2 * MIB - 1) & ~(2 * MIB - 1));
	if (k == LM_4K)
		madvise(b->buf, size, MADV_NOHUGEPAGE);
	if (k == LM_THP)
		madvise(b->buf, size, MADV_HUGEPAGE);
	b->size = size;
	memset(b->buf, 0x5a, size);
	return true;
}

static void lm_free(enum lm_kind k, struct lm_buf *b)
{
	if (b->raw)
		munmap(b->raw, b->raw_len);
	if (lm_pools[k])
		lm_pool_set(k, 0);
	memset(b, 0, sizeof(*b));
}

/* The VM's debugfs memory file: key @key, or -1. */
static long long lm_dbg(const char *key)
{
	char path[128];

	snprintf(path, sizeof(path), VMC_DEBUGFS_DIR "/vm-%d/memory", getpid());
	return vmc_stat(path, key);
}

/* The VM's whole debugfs memory file on one line, after "# large memory-file". */
static void lm_print_dbg(const char *what)
{
	char path[128], key[64];
	long long val;
	FILE *f;

	snprintf(path, sizeof(path), VMC_DEBUGFS_DIR "/vm-%d/memory", getpid());
	f = fopen(path, "r");
	if (!f)
		return;
	printf("# large memory-file %s:", what);
	while (fscanf(f, "%63s %lld", key, &val) == 2)
		printf(" %s %lld", key, val);
	printf("\n");
	fclose(f);
}

/* One run of @cfg on @size bytes of @buf: open, map, unmap, map, close. */
static int lm_run(enum lm_cfg cfg, uint8_t *buf, uint64_t size, struct lm_res *r)
{
	enum vmc_backend b = cfg == LM_TYPE1 ? VMC_BACKEND_TYPE1 : VMC_BACKEND_MAPCACHE;
	double ms[LM_NR_OPS], t0;
	struct lm_mem m0, m1;
	struct vmc_env env;
	uint64_t unmapped = 0;
	unsigned int op;
	int ret;

	ret = vmc_env_open(&env, b);
	/* The module's defaults, not what the sections before left. */
	if (!ret && b == VMC_BACKEND_MAPCACHE)
		ret = vmc_vm_reset();
	if (!ret && b == VMC_BACKEND_MAPCACHE)
		ret = vmc_vm_write("mode", lm_cfg_names[cfg]);
	if (ret) {
		snprintf(r->why, sizeof(r->why), "set-up: %s", strerror(ret < 0 ? -ret : ENODEV));
		goto fail;
	}
	lm_meminfo(&m0);
	t0 = vmc_now_us();
	ret = _vmc_map(env.container, LM_IOVA, buf, size, LM_RW);
	ms[LM_MAP] = (vmc_now_us() - t0) / 1e3;
	if (ret) {
		snprintf(r->why, sizeof(r->why), "cold map: %s", strerror(-ret));
		goto fail;
	}
	lm_meminfo(&m1);
	if (b == VMC_BACKEND_MAPCACHE) {
		r->dbg_total = lm_dbg("total_bytes");
		r->dbg_pins = lm_dbg("pin_objects");
		r->dbg_xa_nodes = lm_dbg("xarray_nodes");
		r->dbg_arrays = lm_dbg("dma_pin_array_bytes");
		r->dbg_per_gib = lm_dbg("bytes_per_pinned_gib");
		if (!r->n) {
			char what[64];

			snprintf(what, sizeof(what), "%s %s", lm_cfg_names[cfg], r->what);
			lm_print_dbg(what);
		}
	}
	t0 = vmc_now_us();
	ret = _vmc_unmap(env.container, LM_IOVA, size, 0, &unmapped);
	ms[LM_UNMAP] = (vmc_now_us() - t0) / 1e3;
	if (ret || unmapped != size) {
		snprintf(r->why, sizeof(r->why), "unmap: %s", ret ? strerror(-ret) : "short");
		goto fail;
	}
	t0 = vmc_now_us();
	ret = _vmc_map(env.container, LM_IOVA, buf, size, LM_RW);
	ms[LM_REMAP] = (vmc_now_us() - t0) / 1e3;
	if (ret) {
		snprintf(r->why, sizeof(r->why), "warm map: %s", strerror(-ret));
		goto fail;
	}
	/* The last group leaving the container releases it, mapping and all. */
	t0 = vmc_now_us();
	vmc_env_close(&env);
	ms[LM_CLOSE] = (vmc_now_us() - t0) / 1e3;
	for (op = 0; op < LM_NR_OPS; op++)
		r->ms[op][r->n] = ms[op];
	r->kmem_kb[r->n] = lm_kmem(&m1) - lm_kmem(&m0);
	r->slab_kb[r->n] = m1.slab - m0.slab;
	r->secpt_kb[r->n] = m1.secpt >= 0 ? m1.secpt - m0.secpt : 0;
	r->n++;
	return 0;
fail:
	r->na = true;
	vmc_env_close(&env);
	printf("# large: %s: %s\n", lm_cfg_names[cfg], r->why);
	return ret ?: -EIO;
}

/* Median over the rounds of @cfg's figure over type1's in the same round. */
static double lm_ratio(const double *a, const double *t1, unsigned int n)
{
	return vmc_median_ratio(a, t1, n);
}

static unsigned int lm_rounds(const struct lm_res *r)
{
	unsigned int n = r[LM_TYPE1].n, c;

	for (c = 1; c < LM_NR_CFGS; c++)
		if (r[c].n < n)
			n = r[c].n;
	return n;
}

/*
 * Kernel memory per pinned GiB, in KiB: the median change over the cold
 * map, scaled to a GiB.
 */
static double lm_kib_per_gib(const struct lm_res *r, uint64_t size)
{
	return vmc_median_copy(r->kmem_kb, r->n) * GIB / size;
}

/* type1's figure as a ratio's denominator: at least one page's worth. */
static double lm_floor(double kib)
{
	return kib < 4 ? 4 : kib;
}

static void lm_print(void)
{
	unsigned int k, s, c, op, n;

	printf("# LARGE-TABLE-BEGIN\n");
	printf("%-7s %-5s %-6s %10s %10s %7s %10s %7s\n", "pages", "size", "op", "type1_ms",
	       "strict_ms", "ratio", "off_ms", "ratio");
	for (k = 0; k < LM_NR_KINDS; k++)
		for (s = 0; s < LM_NR_SIZES; s++) {
			struct lm_res *r = lm_res[k][s];

			if (lm_top[k] == LM_NR_SIZES || s > lm_top[k])
				continue;
			n = lm_rounds(r);
			if (!n) {
				printf("%-7s %-5s n/a (%s)\n", lm_kind_names[k], lm_sizes[s].name,
				       r[0].na ? r[0].why : r[1].na ? r[1].why : r[2].why);
				continue;
			}
			for (op = 0; op < LM_NR_OPS; op++) {
				printf("%-7s %-5s %-6s %10.1f", lm_kind_names[k], lm_sizes[s].name,
				       lm_op_names[op], vmc_median_copy(r[LM_TYPE1].ms[op], n));
				for (c = LM_STRICT; c < LM_NR_CFGS; c++)
					printf(" %10.1f %7.2f", vmc_median_copy(r[c].ms[op], n),
					       lm_ratio(r[c].ms[op], r[LM_TYPE1].ms[op], n));
				printf("\n");
			}
		}
	printf("# LARGE-TABLE-END\n");

	printf("# LARGE-MEM-BEGIN\n");
	printf("%-7s %-5s %12s %12s %7s %12s %7s | %12s %10s %9s %10s\n", "pages", "size",
	       "type1", "strict", "ratio", "off", "ratio", "debugfs", "pins", "xa_nodes",
	       "arrays");
	for (k = 0; k < LM_NR_KINDS; k++)
		for (s = 0; s < LM_NR_SIZES; s++) {
			struct lm_res *r = lm_res[k][s];
			double t1;

			if (lm_top[k] == LM_NR_SIZES || s > lm_top[k] || !lm_rounds(r))
				continue;
			t1 = lm_kib_per_gib(&r[LM_TYPE1], lm_sizes[s].size);
			printf("%-7s %-5s %12.0f", lm_kind_names[k], lm_sizes[s].name, t1);
			for (c = LM_STRICT; c < LM_NR_CFGS; c++) {
				double v = lm_kib_per_gib(&r[c], lm_sizes[s].size);

				printf(" %12.0f %7.2f", v, v / lm_floor(t1));
			}
			printf(" | %12.0f %10lld %9lld %10lld\n", r[LM_STRICT].dbg_per_gib / 1024.0,
			       r[LM_STRICT].dbg_pins, r[LM_STRICT].dbg_xa_nodes,
			       r[LM_STRICT].dbg_arrays);
		}
	printf("# LARGE-MEM-END\n");
	/* The split of the meminfo figure, per configuration. */
	for (k = 0; k < LM_NR_KINDS; k++)
		for (s = 0; s < LM_NR_SIZES; s++)
			for (c = 0; c < LM_NR_CFGS; c++) {
				struct lm_res *r = &lm_res[k][s][c];

				if (lm_top[k] == LM_NR_SIZES || s > lm_top[k] || !r->n)
					continue;
				printf("# large mem %s %s %s: kmem %.0f kB, slab %.0f kB,"
				       " SecPageTables %.0f kB (medians of %u); debugfs total %lld B\n",
				       lm_kind_names[k], lm_sizes[s].name, lm_cfg_names[c],
				       vmc_median_copy(r->kmem_kb, r->n),
				       vmc_median_copy(r->slab_kb, r->n),
				       vmc_median_copy(r->secpt_kb, r->n), r->n,
				       c == LM_TYPE1 ? -1 : r->dbg_total);
			}

	/* One line per target: every ratio should be at or below 1.00. */
	for (k = 0; k < LM_NR_KINDS; k++)
		for (s = 0; s < LM_NR_SIZES; s++) {
			struct lm_res *r = lm_res[k][s];
			double t1;

			if (lm_top[k] == LM_NR_SIZES || s > lm_top[k])
				continue;
			n = lm_rounds(r);
			if (!n)
				continue;
			t1 = lm_kib_per_gib(&r[LM_TYPE1], lm_sizes[s].size);
			for (c = LM_STRICT; c < LM_NR_CFGS; c++) {
				for (op = 0; op < LM_NR_OPS; op++)
					printf("bench: %s-%s-%s-%s %.2f\n", lm_op_names[op],
					       lm_sizes[s].name, lm_kind_names[k], lm_cfg_names[c],
					       lm_ratio(r[c].ms[op], r[LM_TYPE1].ms[op], n));
				printf("bench: meta-%s-%s-%s %.2f\n", lm_sizes[s].name,
				       lm_kind_names[k], lm_cfg_names[c],
				       lm_kib_per_gib(&r[c], lm_sizes[s].size) / lm_floor(t1));
			}
		}
}

/* Every size up to the buffer's, @rounds times each. */
static void lm_kind(enum lm_kind k, const struct lm_buf *b, unsigned int rounds)
{
	unsigned int s, r, i, c;

	for (s = 0; s <= lm_top[k]; s++)
		for (r = 0; r < rounds; r++)
			for (i = 0; i < LM_NR_CFGS; i++) {
				struct lm_res *res;

				c = r % 2 ? LM_NR_CFGS - 1 - i : i;
				res = &lm_res[k][s][c];
				snprintf(res->what, sizeof(res->what), "%s %s", lm_kind_names[k],
					 lm_sizes[s].name);
				if (!res->na)
					lm_run(c, b->buf, lm_sizes[s].size, res);
			}
}

/* What the guest kernel does with THP, as its sysfs says. */
static void lm_print_thp(void)
{
	char line[128] = "", defrag[128] = "";
	FILE *f;

	f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		fclose(f);
	}
	f = fopen("/sys/kernel/mm/transparent_hugepage/defrag", "r");
	if (f) {
		if (!fgets(defrag, sizeof(defrag), f))
			defrag[0] = 0;
		fclose(f);
	}
	line[strcspn(line, "\n")] = 0;
	defrag[strcspn(defrag, "\n")] = 0;
	printf("# large: THP enabled: %s; defrag: %s\n", line[0] ? line : "n/a",
	       defrag[0] ? defrag : "n/a");
}

int large_section(unsigned int rounds)
{
	double t0 = vmc_now_us();
	struct lm_buf b;
	struct lm_mem m;
	unsigned int k;
	int s;

	if (!rounds || rounds > LM_MAX_ROUNDS)
		rounds = 2;
	lm_print_thp();
	/* The hugetlb pools first, while the guest's memory is least fragmented. */
	for (k = LM_NR_KINDS; k-- > 0;) {
		lm_top[k] = LM_NR_SIZES;
		for (s = LM_NR_SIZES - 1; s >= 0; s--)
			if (lm_alloc(k, lm_sizes[s].size, &b))
				break;
			else
				lm_free(k, &b);
		if (s < 0) {
			printf("# large: %s: no buffer of %s or less (pool or memory short)\n",
			       lm_kind_names[k], lm_sizes[0].name);
			continue;
		}
		lm_top[k] = s;
		lm_meminfo(&m);
		printf("# large: %s: %s buffer at %p, AnonHugePages %lld MiB; %u rounds\n",
		       lm_kind_names[k], lm_sizes[s].name, (void *)b.buf,
		       m.anon_huge / 1024, rounds);
		lm_kind(k, &b, rounds);
		lm_free(k, &b);
		printf("# large: %s done (%.1f s)\n", lm_kind_names[k], (vmc_now_us() - t0) / 1e6);
		fflush(stdout);
	}
	lm_print();
	return 0;
}
