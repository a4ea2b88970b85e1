// SPDX-License-Identifier: GPL-2.0
/*
 * Reference models for policy_test.c: the rules of each policy written as
 * directly as possible, so that the list/tree/hash implementation in
 * drivers/vfio/mapcache/ can be checked against them step by step.
 */
#include <string.h>
#include "refmodel.h"

enum { REF_LRU, REF_FIFO, REF_LIRS };

static void ref_size(struct ref_policy *r)
{
	uint64_t hir = r->cap / 100 + (r->cap % 100) / 100;

	if (r->cap && !hir)
		hir = 1;
	r->lir_max = r->cap > hir ? r->cap - hir : 0;
}

void ref_init(struct ref_policy *r, int kind, uint64_t cap,
	      unsigned int max_ghosts)
{
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->cap = cap;
	r->max_ghosts = max_ghosts;
	r->filling = true;
	ref_size(r);
}

static int st_find(const struct ref_policy *r, int i)
{
	for (int p = 0; p < r->nstack; p++)
		if (r->stack[p] == i)
			return p;
	return -1;
}

static void st_remove(struct ref_policy *r, int p)
{
	memmove(&r->stack[p], &r->stack[p + 1],
		(r->nstack - p - 1) * sizeof(r->stack[0]));
	r->nstack--;
}

static void st_to_top(struct ref_policy *r, int i)
{
	int p = st_find(r, i);

	if (p >= 0)
		st_remove(r, p);
	r->stack[r->nstack++] = i;
	r->pg[i].in_stack = true;
}

static void prune(struct ref_policy *r)
{
	while (r->nstack) {
		struct ref_page *b = &r->pg[r->stack[0]];

		if (!b->ghost && b->lir)
			break;
		if (b->ghost) {
			b->ghost = false;
			r->nr_ghosts--;
		}
		b->in_stack = false;
		st_remove(r, 0);
	}
}

static void demote_bottom(struct ref_policy *r)
{
	struct ref_page *b = &r->pg[r->stack[0]];

	b->lir = false;
	b->in_stack = false;
	r->nr_lir--;
	st_remove(r, 0);
	if (b->cand)
		b->qtime = ++r->clock;
	prune(r);
}

static uint64_t limit(const struct ref_policy *r)
{
	uint64_t live = 0;

	for (int i = 0; i < REF_MAX_PAGES; i++)
		live += r->pg[i].pinned && r->pg[i].live && !r->pg[i].lir;
	return r->lir_max > live ? r->lir_max - live : 0;
}

static void access(struct ref_policy *r, int i, bool recent)
{
	uint64_t lim = limit(r);

	if ((r->filling && r->nr_lir < lim) || (recent && lim)) {
		r->pg[i].lir = true;
		r->nr_lir++;
		if (r->nr_lir == 1)
			prune(r);
	}
	if (r->nr_lir > lim)
		demote_bottom(r);
}

void ref_set_capacity(struct ref_policy *r, uint64_t cap)
{
	r->cap = cap;
	r->filling = true;
	ref_size(r);
	if (r->kind == REF_LIRS)
		while (r->nr_lir > limit(r))
			demote_bottom(r);
}

void ref_insert(struct ref_policy *r, int i, bool prefetch)
{
	struct ref_page *p = &r->pg[i];
	bool ghost = p->ghost;

	p->pinned = true;
	p->prefetch = prefetch;
	p->live = !prefetch;
	p->cand = prefetch;
	p->lir = false;
	p->ins_seq = r->seq++;
	p->qtime = ++r->clock;
	if (r->kind != REF_LIRS)
		return;
	if (ghost) {
		p->ghost = false;
		r->nr_ghosts--;
	}
	if (prefetch)
		return;
	st_to_top(r, i);
	access(r, i, ghost);
}

void ref_hit(struct ref_policy *r, int i)
{
	struct ref_page *p = &r->pg[i];
	bool was_lir = p->lir, was_stack = p->in_stack;
	bool bottom = r->nstack && r->stack[0] == i;

	p->live = true;
	p->cand = false;
	p->prefetch = false;
	if (r->kind != REF_LIRS)
		return;
	st_to_top(r, i);
	if (!was_lir)
		access(r, i, was_stack);
	else if (bottom)
		prune(r);
}

void ref_unmap(struct ref_policy *r, int i)
{
	r->pg[i].live = false;
	r->pg[i].cand = true;
	r->pg[i].qtime = ++r->clock;
}

static int ref_oldest(const struct ref_policy *r, bool lir, bool by_seq)
{
	int best = -1;

	for (int i = 0; i < REF_MAX_PAGES; i++) {
		const struct ref_page *p = &r->pg[i];

		if (!p->pinned || !p->cand || p->lir != lir)
			continue;
		if (best < 0 ||
		    (by_seq ? p->ins_seq < r->pg[best].ins_seq :
			      p->qtime < r->pg[best].qtime))
			best = i;
	}
	return best;
}

int ref_victim_cold(const struct ref_policy *r)
{
	int v = ref_victim(r);

	if (v >= 0 && (r->pg[v].lir || r->pg[v].prefetch))
		return -1;
	return v;
}

int ref_victim(const struct ref_policy *r)
{
	int v;

	switch (r->kind) {
	case REF_LRU:
		return ref_oldest(r, false, false);
	case REF_FIFO:
		return ref_oldest(r, false, true);
	default:
		v = ref_oldest(r, false, false);
		return v >= 0 ? v : ref_oldest(r, true, false);
	}
}

static void recycle_oldest_ghost(struct ref_policy *r)
{
	int best = -1;

	for (int i = 0; i < REF_MAX_PAGES; i++)
		if (r->pg[i].ghost &&
		    (best < 0 || r->pg[i].ghost_time < r->pg[best].ghost_time))
			best = i;
	r->pg[best].ghost = false;
	r->pg[best].in_stack = false;
	st_remove(r, st_find(r, best));
	r->nr_ghosts--;
}

void ref_del(struct ref_policy *r, int i, bool evicted)
{
	struct ref_page *p = &r->pg[i];
	bool bottom = r->nstack && r->stack[0] == i;
	bool was_lir = p->lir;

	p->pinned = p->live = p->cand = p->lir = false;
	if (evicted)
		r->filling = false;
	if (r->kind != REF_LIRS)
		return;
	if (p->in_stack && evicted && r->max_ghosts) {
		if (r->nr_ghosts == r->max_ghosts)
			recycle_oldest_ghost(r);
		p->ghost = true;
		p->ghost_time = ++r->clock;
		r->nr_ghosts++;
	} else if (p->in_stack) {
		st_remove(r, st_find(r, i));
		p->in_stack = false;
	}
	if (was_lir) {
		r->nr_lir--;
		if (bottom)
			prune(r);
	}
}

void ref_ag_init(struct ref_ag *g, unsigned int succ, unsigned int depth,
		 unsigned int width, unsigned int max_pages,
		 unsigned int nr_nodes)
{
	memset(g, 0, sizeof(*g));
	g->succ = succ < 1 ? 1 : succ > REF_MAX_SUCC ? REF_MAX_SUCC : succ;
	g->depth = depth < 1 ? 1 : depth > 8 ? 8 : depth;
	g->width = width < 1 ? 1 : width > g->succ ? g->succ : width;
	g->max_pages = max_pages;
	g->nr_nodes = nr_nodes;
}

static struct ref_agnode *ag_find(const struct ref_ag *g, uint64_t key)
{
	for (unsigned int i = 0; i < g->nr_used; i++)
		if (g->node[i].key == key)
			return (struct ref_agnode *)&g->node[i];
	return NULL;
}

static struct ref_agnode *ag_get(struct ref_ag *g, uint64_t key)
{
	struct ref_agnode *n = ag_find(g, key);

	if (n)
		return n;
	if (!g->nr_nodes)
		return NULL;
	if (g->nr_used < g->nr_nodes) {
		n = &g->node[g->nr_used++];
	} else {
		n = &g->node[0];
		for (unsigned int i = 1; i < g->nr_used; i++)
			if (g->node[i].t < n->t)
				n = &g->node[i];
	}
	n->key = key;
	n->nr_succ = 0;
	return n;
}

void ref_ag_record(struct ref_ag *g, uint64_t key)
{
	struct ref_agnode *n;
	unsigned int i, j;

	if (g->have_prev && g->prev != key) {
		n = ag_get(g, g->prev);
		if (n) {
			uint64_t s[REF_MAX_SUCC + 1];

			s[0] = key;
			for (i = 0, j = 1; i < n->nr_succ; i++)
				if (n->succ[i] != key)
					s[j++] = n->succ[i];
			n->nr_succ = j < g->succ ? j : g->succ;
			memcpy(n->succ, s, n->nr_succ * sizeof(s[0]));
			n->t = ++g->clock;
		}
	}
	g->prev = key;
	g->have_prev = true;
}

static bool seen(const uint64_t *out, unsigned int nr, uint64_t key)
{
	for (unsigned int i = 0; i < nr; i++)
		if (out[i] == key)
			return true;
	return false;
}

unsigned int ref_ag_predict(const struct ref_ag *g, uint64_t key,
			    uint64_t *out, unsigned int max)
{
	uint64_t level[2 * REF_MAX_PAGES], next[2 * REF_MAX_PAGES];
	unsigned int nl = 1, nn, nr = 0;

	if (max > g->max_pages)
		max = g->max_pages;
	if (!g->nr_nodes)
		return 0;
	level[0] = key;
	for (unsigned int d = 0; d < g->depth; d++) {
		nn = 0;
		for (unsigned int l = 0; l < nl; l++) {
			const struct ref_agnode *n = ag_find(g, level[l]);

			for (unsigned int i = 0; n && i < n->nr_succ &&
			     i < g->width; i++) {
				uint64_t s = n->succ[i];

				if (nr == max)
					return nr;
				if (s == key || seen(out, nr, s))
					continue;
				out[nr++] = s;
				next[nn++] = s;
			}
		}
		memcpy(level, next, nn * sizeof(next[0]));
		nl = nn;
	}
	return nr;
}
