/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The sections of vmc_bench that live in files of their own (issue 13):
 * large maps as a VM without a vIOMMU makes them (vmc_bench_large.c) and
 * where the time of a strict-mode pin hit goes (vmc_bench_hit.c).
 */
#ifndef VMC_BENCH_H
#define VMC_BENCH_H

/*
 * Cold MAP_DMA of 256 MiB, 1 GiB and 4 GiB (as much as the guest holds)
 * from 4 KiB pages, THP and hugetlbfs, warm re-map, UNMAP_DMA and container
 * close, on type1 and on the map-cache in modes strict and off, @rounds
 * times; with the kernel memory each map took.  Negative on failure.
 */
int large_section(unsigned int rounds);

/*
 * A MAP_DMA + UNMAP_DMA pair of one cached page in strict mode against
 * two no-op ioctls and the other backends and modes, then the pair under
 * the function_graph tracer, as a profile by call path.
 */
int hit_section(void);

#endif /* VMC_BENCH_H */
