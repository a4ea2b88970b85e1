/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Replay of a guest's DMA map/unmap stream as host VFIO requests, shared by
 * vmc_demo and vmc_bench (see vmc_replay.c for how a stream becomes host
 * requests and how batches are formed).
 */
#ifndef VMC_REPLAY_H
#define VMC_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "vmc_lib.h"

/*
 * One mapping or unmapping of the replay.  An UNMAP_DMA request undoes one
 * or more mappings: its first op, then the ops marked @join.
 */
struct vmc_op {
	uint64_t iova, size;
	uint32_t page;		/* map: first buffer page */
	int32_t map;		/* unmap: index of the map op it undoes; map: -1 */
	bool join;		/* unmap: part of the previous op's request */
};

/* A stream made ready for the host: its requests and the buffer they map. */
struct vmc_pattern {
	char name[64];
	char what[160];
	struct vmc_op *ops;
	unsigned int nr_ops;
	unsigned int nr_requests, nr_maps, nr_unmaps;	/* host requests */
	uint64_t page_maps;		/* pages mapped, in total */
	uint32_t nr_pages;		/* distinct pages: the working set */
	uint64_t peak_live_bytes;	/* most bytes mapped at once */
	unsigned int records, dropped_unmaps, overmaps, moved, skipped;
	uint8_t *buf;
};

/*
 * Read the usable IOVA ranges once (GET_INFO of a type1 container) so that
 * patterns built afterwards avoid what the IOMMU cannot map.  Without them
 * only the MSI window is avoided.
 */
void vmc_replay_init(void);
/* Up to @max paths of the *.txt files in @dir, sorted; how many. */
#define VMC_PATH_MAX	300
unsigned int vmc_replay_list(const char *dir, char (*paths)[VMC_PATH_MAX], unsigned int max);
/* Load a text trace of tools/traces/README: 0 or -errno. */
int vmc_pattern_load(struct vmc_pattern *p, const char *path);
/* The synthetic stream with Linux's IOVA reuse ("synth"). */
int vmc_pattern_synth(struct vmc_pattern *p);
void vmc_pattern_free(struct vmc_pattern *p);

enum vmc_run_mode { VMC_RUN_TYPE1, VMC_RUN_OFF, VMC_RUN_STRICT, VMC_RUN_LAZY };
extern const char *const vmc_run_mode_names[];

/* How the replay hands its requests to the host. */
enum vmc_submit {
	VMC_SUBMIT_PLAIN,	/* one MAP_DMA or UNMAP_DMA ioctl per request */
	VMC_SUBMIT_PIGGYBACK,	/* unmaps wait for the next map: one batch */
	VMC_SUBMIT_WINDOW,	/* batches of @window consecutive requests */
};

struct vmc_run_cfg {
	enum vmc_run_mode mode;
	const char *policy;	/* NULL: the VM's default */
	unsigned int quota_pct;	/* of the working set; 0: no quota */
	bool prefetch;		/* sysfs prefetch=1 (n/a without that file) */
	enum vmc_submit submit;
	unsigned int window;	/* VMC_SUBMIT_WINDOW: requests per batch */
};

/* Counters of the module read before and after a run (debugfs totals). */
enum vmc_count {
	VMC_CNT_FULL_HITS,
	VMC_CNT_PIN_HITS,
	VMC_CNT_MISSES,
	VMC_CNT_PINS,
	VMC_CNT_FLUSHES,
	VMC_CNT_EVICTIONS,
	VMC_CNT_QUOTA_FAILURES,
	VMC_CNT_MAP_REQUESTS,
	VMC_CNT_UNMAP_REQUESTS,
	VMC_CNT_IOMMU_MAPS,
	VMC_CNT_IOMMU_UNMAPS,
	VMC_CNT_EVICTION_BATCHES,
	VMC_CNT_UNPINS,
	VMC_CNT_BATCH_REQUESTS,
	VMC_CNT_BATCH_ENTRIES,
	VMC_NR_COUNTS
};

extern const char *const vmc_count_names[];

/* What one run did. */
struct vmc_run {
	bool na;			/* the backend refused this configuration */
	char na_why[64];
	double us;			/* wall time per request */
	long long cnt[VMC_NR_COUNTS];	/* deltas; -1: no such counter */
	long long failed;		/* requests the host refused */
	long long peak_pinned;		/* bytes; type1, off: most bytes mapped */
	uint64_t quota_pages;		/* 0: none */
	uint64_t unmapped_pages;	/* pages the unmaps took away */
	unsigned int nr_batches;	/* VFIO_MAPCACHE_BATCH calls */
	long long prefetch_depth;	/* sysfs prefetch_depth; -1: none */
};

/* The quota of @pct % of @nr_pages, rounded as mapcache-sim rounds it. */
uint64_t vmc_quota_pages(uint32_t nr_pages, unsigned int pct);

/*
 * Replay @p once on a fresh container configured as @c.  @mapped is
 * scratch of p->nr_ops flags.  The result's counters are those of this run
 * alone: nothing else may use the module meanwhile.
 */
void vmc_replay_run(const struct vmc_pattern *p, const struct vmc_run_cfg *c,
		    struct vmc_run *r, bool *mapped);

#endif /* VMC_REPLAY_H */
