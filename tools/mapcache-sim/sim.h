/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mapcache-sim: replays DMA map/unmap traces through the policy core of
 * drivers/vfio/mapcache/ (the same source files as the module).
 */
#ifndef _VMC_SIM_H
#define _VMC_SIM_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define SIM_PAGE_SHIFT	12
#define SIM_PAGE_SIZE	(1ULL << SIM_PAGE_SHIFT)
#define SIM_NONE	UINT32_MAX

enum { EV_MAP, EV_UNMAP };

/* One page-sized event, with every key interned to a dense id. */
struct sim_ev {
	uint32_t op;
	uint32_t iova;		/* IOVA page id */
	uint32_t page;		/* physical page id (for unmap: the one unmapped) */
	uint32_t pair;		/* (IOVA, page) id */
	uint32_t run;		/* map: on the first page of a record, its pages
				 * (the map events that follow it); unmap: on
				 * the first of a run, the run's pages (those
				 * of one map record one unmap record
				 * releases); else 0 */
};

struct sim_trace {
	char name[64];
	struct sim_ev *ev;
	size_t nr_ev, cap_ev;
	size_t nr_lines;	/* trace records before splitting into pages */
	size_t nr_maps;
	uint32_t nr_pages, nr_iovas, nr_pairs;
	uint64_t *pfn;		/* per page id: guest-physical frame */
	size_t cap_pfn;
	size_t bad_unmaps;	/* unmaps of IOVAs not mapped */
	size_t remaps;		/* maps over an IOVA still mapped */
};

/* Interning of 64-bit keys to dense ids (open addressing). */
struct sim_map {
	uint64_t *keys;
	uint32_t *vals;
	size_t cap, nr;
};

uint32_t sim_map_intern(struct sim_map *m, uint64_t key, bool *fresh);
void sim_map_free(struct sim_map *m);

/* trace.c */
struct sim_builder;
struct sim_builder *sim_builder_new(struct sim_trace *t, const char *name);
void sim_builder_map(struct sim_builder *b, uint64_t iova, uint64_t size,
		     uint64_t phys);
void sim_builder_unmap(struct sim_builder *b, uint64_t iova, uint64_t size);
void sim_builder_done(struct sim_builder *b);
int sim_trace_load(struct sim_trace *t, const char *path);
int sim_trace_synth(struct sim_trace *t, const char *name, uint64_t seed,
		    FILE *text);
void sim_trace_free(struct sim_trace *t);
extern const char *const sim_synth_names[];

/* sim.c, for the unit tests: a replay without prefetch */
struct sim_counts {
	uint64_t maps, pin_hits, misses, evictions, peak_pinned, peak_live;
	uint64_t over_quota, idle_releases, full_hits, flush_lazy, entry_drops;
};
void sim_replay_counts(const struct sim_trace *t, int kind, uint64_t quota,
		       uint64_t idle, struct sim_counts *out);
/* The same with another dma_entry_limit than the module's default. */
void sim_replay_counts_limit(const struct sim_trace *t, int kind, uint64_t quota,
			     uint64_t idle, uint64_t entry_limit,
			     struct sim_counts *out);

/* locality.c */
void sim_locality(const struct sim_trace *t, FILE *rd_csv, FILE *ws_csv,
		  FILE *out);

#endif
