/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Brute-force reference models of the policy core: plain arrays, linear
 * scans and timestamps instead of lists, trees and hash tables.  Pages are
 * named by a small index; the tests map indices to arbitrary 64-bit keys.
 */
#ifndef _VMC_REFMODEL_H
#define _VMC_REFMODEL_H

#include <stdbool.h>
#include <stdint.h>

#define REF_MAX_PAGES	256
#define REF_MAX_SUCC	4

struct ref_page {
	bool pinned, live, cand, lir, in_stack, ghost, prefetch;
	uint64_t ins_seq;	/* FIFO order */
	uint64_t qtime;		/* when it joined its victim queue */
	uint64_t ghost_time;	/* when its ghost was made */
};

struct ref_policy {
	int kind;		/* enum vmc_policy_kind */
	uint64_t cap, lir_max, nr_lir, clock, seq;
	unsigned int max_ghosts, nr_ghosts;
	bool filling;		/* nothing evicted since init/resize */
	struct ref_page pg[REF_MAX_PAGES];
	int stack[2 * REF_MAX_PAGES];	/* page index, bottom first */
	int nstack;
};

void ref_init(struct ref_policy *r, int kind, uint64_t cap,
	      unsigned int max_ghosts);
void ref_set_capacity(struct ref_policy *r, uint64_t cap);
void ref_insert(struct ref_policy *r, int i, bool prefetch);
void ref_hit(struct ref_policy *r, int i);
void ref_unmap(struct ref_policy *r, int i);
int ref_victim(const struct ref_policy *r);	/* index or -1 */
int ref_victim_cold(const struct ref_policy *r);
void ref_del(struct ref_policy *r, int i, bool evicted);

struct ref_agnode {
	uint64_t key, t;
	uint64_t succ[REF_MAX_SUCC];
	unsigned int nr_succ;
};

struct ref_ag {
	unsigned int succ, depth, width, max_pages, nr_nodes, nr_used;
	struct ref_agnode node[REF_MAX_PAGES];
	uint64_t clock, prev;
	bool have_prev;
};

void ref_ag_init(struct ref_ag *g, unsigned int succ, unsigned int depth,
		 unsigned int width, unsigned int max_pages,
		 unsigned int nr_nodes);
void ref_ag_record(struct ref_ag *g, uint64_t key);
unsigned int ref_ag_predict(const struct ref_ag *g, uint64_t key,
			    uint64_t *out, unsigned int max);

#endif
