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
 *   vmc_bench [rounds]        default 2
 *
 * Prints the table between "# BENCH-TABLE-BEGIN" and "# BENCH-TABLE-END".
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

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

static struct samples res[2][NR_SIZES];	/* [backend][size] */
static long long pins[2][NR_SIZES], flushes[2][NR_SIZES];

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned int n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int bench_backend(enum vmc_backend b, uint8_t *buf)
{
	struct vmc_env env;
	unsigned int s, i;
	int ret;

	ret = vmc_env_open(&env, b);
	if (ret) {
		printf("# vmc_bench: cannot open %s: %d\n", vmc_backend_name(b), ret);
		vmc_env_close(&env);
		return ret;
	}
	for (s = 0; s < NR_SIZES; s++) {
		struct samples *sm = &res[b][s];
		long long p0 = vmc_stat(VMC_STATS_TOTAL, "pins");
		long long f0 = vmc_stat(VMC_STATS_TOTAL, "iotlb_flushes");

		for (i = 0; i < sizes[s].reps; i++) {
			uint64_t unmapped = 0;
			double t0, t1, t2;

			t0 = now_us();
			ret = _vmc_map(env.container, IOVA, buf, sizes[s].size, RW);
			t1 = now_us();
			if (!ret)
				ret = _vmc_unmap(env.container, IOVA, sizes[s].size, 0, &unmapped);
			t2 = now_us();
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
			pins[b][s] += vmc_stat(VMC_STATS_TOTAL, "pins") - p0;
			flushes[b][s] += vmc_stat(VMC_STATS_TOTAL, "iotlb_flushes") - f0;
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
	double t[2];

	if (!rounds || rounds > MAX_ROUNDS)
		rounds = 2;
	raw = mmap(NULL, MAX_SIZE + ALIGN_2M, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	buf = (uint8_t *)(((uintptr_t)raw + ALIGN_2M - 1) & ~(ALIGN_2M - 1));
	madvise(buf, MAX_SIZE, MADV_HUGEPAGE);
	memset(buf, 0x5a, MAX_SIZE);
	for (b = 0; b < 2; b++)
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
		if (bench_backend(VMC_BACKEND_TYPE1, buf))
			return 1;
		if (ours && bench_backend(VMC_BACKEND_MAPCACHE, buf))
			return 1;
	}

	printf("# BENCH-TABLE-BEGIN\n");
	printf("%-6s %8s %16s %16s %8s\n", "size", "samples", "type1_median_us",
	       "mapcache_median_us", "ratio");
	for (s = 0; s < NR_SIZES; s++) {
		for (b = 0; b < 2; b++)
			t[b] = median(res[b][s].pair, res[b][s].n);
		total += res[0][s].n;
		if (ours)
			printf("%-6s %8u %16.1f %16.1f %8.2f\n", sizes[s].name, res[0][s].n,
			       t[0], t[1], t[0] > 0 ? t[1] / t[0] : 0);
		else
			printf("%-6s %8u %16.1f %16s %8s\n", sizes[s].name, res[0][s].n,
			       t[0], "-", "-");
	}
	printf("# BENCH-TABLE-END\n");
	/* The split, and what our backend did per pair. */
	for (s = 0; s < NR_SIZES; s++)
		for (b = 0; b < (ours ? 2u : 1u); b++) {
			printf("# %-6s %-8s map %10.1f us  unmap %10.1f us",
			       sizes[s].name, vmc_backend_name(b),
			       median(res[b][s].map, res[b][s].n),
			       median(res[b][s].unmap, res[b][s].n));
			if (b && res[b][s].n)
				printf("  pins/pair %.1f  iotlb_flushes/pair %.2f",
				       (double)pins[b][s] / res[b][s].n,
				       (double)flushes[b][s] / res[b][s].n);
			printf("\n");
		}
	printf("# vmc_bench: done (%u pairs per backend)\n", total);
	return 0;
}
