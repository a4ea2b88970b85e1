// SPDX-License-Identifier: GPL-2.0
/*
 * mapcache-sim: replay DMA map/unmap traces through the vfio-mapcache policy
 * core and Belady's OPT, at a list of quotas, and report hits per level.
 *
 * Model (see Documentation/mapcache/policies.rst):
 *  - pin cache, keyed by page, bounded by the quota: a guest map of a pinned
 *    page is a pin hit; otherwise candidates are evicted to make room and the
 *    page is pinned (a map with no candidate to evict is "over quota").
 *    A map record is one MAP_DMA, served as the module serves it: all its
 *    pages are looked up first, then room is made for its misses at once
 *    and they are pinned in order (in batches of SIM_PIN_BATCH pages).
 *    After a guest unmap the cache is brought back within the quota.
 *  - prefetch (+pf): every guest map of a page feeds the access graph, in
 *    page order; after a batch's misses are pinned, each miss's followers
 *    that are not pinned are pinned as candidates, evicting only cold
 *    candidates, never past the quota (sim_prefetch()).
 *  - translation cache, keyed by IOVA (lazy mode): the IOMMU entry outlives
 *    the guest unmap while its page stays pinned; a map of the same (IOVA,
 *    page) pair is a full hit, a map of the IOVA to another page rewrites
 *    the entry and flushes the IOTLB before returning.
 *  - dma_entry_limit (--entry-limit N, the module's default): live
 *    mappings and cached translations together; a map that needs an entry
 *    at the limit first drops every cached translation (one flush), as the
 *    module does.  Entries never overlap, so a trace with no more distinct
 *    IOVA pages than the limit never reaches it (sim_entry_room()).
 *  - IOTLB flushes: strict mode flushes after every guest unmap, batched by
 *    -b unmaps in a row; lazy mode flushes when a rewritten or evicted page
 *    still had translations (once per eviction round).
 *  - idle release (--idle N): the module's idle_ms, with time counted in
 *    requests (a map record, a page unmapped): a candidate that became one
 *    in window w is released from window w + 2 on, oldest first, while
 *    more than SIM_IDLE_KEEP candidates are left (sim_idle()).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../drivers/vfio/mapcache/policy.h"
#include "sim.h"

#define SIM_OPT		(-1)
#define SIM_MAX_PRED	64
/*
 * The module's batch sizes and limits, from policy.h (its "pin cache"
 * section): pages a MAP_DMA looks up and pins at once, prefetches planned
 * before they are pinned, candidates kept however idle.  The simulator
 * orders policy events as the module does, so that both count the same hits.
 */
#define SIM_PIN_BATCH	VMC_PIN_BATCH_PAGES
#define SIM_PF_CHUNK	VMC_PF_CHUNK
#define SIM_IDLE_KEEP	VMC_IDLE_KEEP_PAGES

struct sim_cfg {
	int kind;		/* enum vmc_policy_kind or SIM_OPT */
	bool prefetch;
	bool pf_evict;		/* prefetch may evict candidates */
	struct vmc_ag_cfg ag;
	double pf_nodes;	/* graph nodes per quota page */
	double ghosts;		/* LIRS ghosts per quota page */
	unsigned int batch;
	uint64_t quota;
	uint64_t idle;		/* idle window in requests, 0: off */
	uint64_t entry_limit;	/* dma_entry_limit */
};

struct sim_res {
	uint64_t maps, full_hits, pin_hits, misses, evictions, peak_pinned;
	uint64_t peak_live, over_quota, flush_strict, flush_lazy;
	uint64_t pf_issued, pf_useful, opt_pair_hits, idle_releases;
	uint64_t duel_switches, entry_drops;
	double secs;
};

struct spage {
	struct vmc_pnode pn;
	uint32_t maps;		/* live guest mappings */
	uint32_t gen;		/* bumped at every pin and eviction */
	uint32_t xl_refs;	/* cached translations to this page */
	uint8_t pinned, prefetched;
	uint32_t idle_stamp;	/* window in which it became a candidate */
	struct list_head idle;	/* on sim_run.idle while a candidate */
};

struct sim_run {
	const struct sim_trace *t;
	const struct sim_cfg *c;
	struct sim_res *r;
	struct vmc_policy pol;
	struct vmc_ag ag;
	struct spage *pg;
	/*
	 * Translation cache, per IOVA page: the page it leads to, that page's
	 * gen when it was made, and the map record it belongs to (its first
	 * IOVA page and its length): the module caches and reuses a mapping
	 * as a whole (xlate.c).  Valid while the page's gen is unchanged:
	 * evicting a page tears down the translations to it.
	 */
	uint32_t *xl_page, *xl_gen, *xl_first, *xl_len;
	uint64_t nr_pinned, nr_live;
	bool lazy_flush;
	struct list_head idle;	/* candidates, oldest first */
	uint64_t reqs;		/* requests so far: the clock of --idle */
	/*
	 * Entries against dma_entry_limit, tracked only if the trace can reach
	 * it: one record per mapping made (its map events), live or cached;
	 * xl_rec[IOVA page] is the record its translation belongs to; open
	 * lists the records not known to be gone.
	 */
	bool limit_on;
	struct sim_rec { const struct sim_ev *ev; uint32_t nr; bool live; } *recs;
	uint32_t nr_recs, cap_recs, *open, nr_open, *xl_rec;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint32_t pow2_at_least(uint64_t n)
{
	uint32_t p = 1;

	while (p < n && p < (1u << 30))
		p <<= 1;
	return p;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p) {
		perror("calloc");
		exit(2);
	}
	return p;
}

static void sim_evict(struct sim_run *s, struct spage *p)
{
	vmc_policy_del(&s->pol, &p->pn, VMC_DEL_EVICT);
	p->pinned = 0;
	p->prefetched = 0;
	list_del_init(&p->idle);
	if (p->xl_refs)
		s->lazy_flush = true;	/* unmap from the IOMMU first */
	p->xl_refs = 0;
	p->gen++;
	s->nr_pinned--;
	s->r->evictions++;
}

static bool sim_evict_one(struct sim_run *s)
{
	struct vmc_pnode *v = vmc_policy_victim(&s->pol);

	if (!v)
		return false;
	sim_evict(s, container_of(v, struct spage, pn));
	return true;
}

static void sim_flush_evictions(struct sim_run *s)
{
	if (s->lazy_flush)
		s->r->flush_lazy++;
	s->lazy_flush = false;
}

/* @p became a candidate: the newest on the idle list. */
static void sim_idle_add(struct sim_run *s, struct spage *p)
{
	if (!s->c->idle)
		return;
	p->idle_stamp = s->reqs / s->c->idle;
	list_add_tail(&p->idle, &s->idle);
}

/* Release candidates idle since two windows or more, as the module does. */
static void sim_idle(struct sim_run *s)
{
	uint64_t epoch;

	if (!s->c->idle)
		return;
	epoch = s->reqs / s->c->idle;
	while (s->pol.stats.nr_cand > SIM_IDLE_KEEP && !list_empty(&s->idle)) {
		struct spage *p = list_first_entry(&s->idle, struct spage, idle);

		if (!vmc_idle_expired(epoch, p->idle_stamp))
			break;
		sim_evict(s, p);
		s->r->evictions--;
		s->r->idle_releases++;
	}
}

/* A page is pinned: counted now, told to the policy by the caller. */
static void sim_reserve(struct sim_run *s, struct spage *p)
{
	p->pinned = 1;
	p->gen++;
	if (++s->nr_pinned > s->r->peak_pinned)
		s->r->peak_pinned = s->nr_pinned;
}

static void sim_pin(struct sim_run *s, uint32_t id, unsigned int flags)
{
	vmc_policy_insert(&s->pol, &s->pg[id].pn, id, flags);
	sim_reserve(s, &s->pg[id]);
}

/*
 * Prefetch as the module does it (drivers/vfio/mapcache/pcprefetch.c): the
 * followers of each missed page are planned in order, room made for each by
 * evicting a cold candidate, and the plan is pinned (inserted into the policy)
 * when it is full or the batch is done, after the module's GUP.
 */
struct sim_plan {
	uint32_t id[SIM_MAX_PRED];
	unsigned int nr, size;
};

static void sim_plan_pin(struct sim_run *s, struct sim_plan *pl)
{
	for (unsigned int k = 0; k < pl->nr; k++) {
		struct spage *q = &s->pg[pl->id[k]];

		vmc_policy_insert(&s->pol, &q->pn, pl->id[k], VMC_INS_PREFETCH);
		q->prefetched = 1;
		sim_idle_add(s, q);
		s->r->pf_issued++;
	}
	pl->nr = 0;
}

/* Plan the followers of missed page @id; false if the plan must go first. */
static bool sim_plan_followers(struct sim_run *s, uint32_t id,
			       struct sim_plan *pl)
{
	u64 out[SIM_MAX_PRED];
	u32 n = vmc_ag_predict(&s->ag, id, out, SIM_MAX_PRED), i;

	if (pl->nr && pl->nr + n > pl->size)
		return false;
	for (i = 0; i < n; i++) {
		struct spage *q = &s->pg[out[i]];

		/* Planned pages count as pinned already. */
		if (q->pinned)
			continue;
		if (s->nr_pinned >= s->c->quota) {
			struct vmc_pnode *v = NULL;

			if (s->c->pf_evict)
				v = vmc_policy_victim_cold(&s->pol);
			if (!v)
				break;
			sim_evict(s, container_of(v, struct spage, pn));
		}
		sim_reserve(s, q);
		pl->id[pl->nr++] = (uint32_t)out[i];
	}
	return true;
}

/* Record every page of the batch in order; prefetch after each miss. */
static void sim_prefetch(struct sim_run *s, const struct sim_ev *ev,
			 uint32_t nr, const bool *missed)
{
	struct sim_plan pl = { .size = SIM_PF_CHUNK };

	if (s->c->ag.max_pages > pl.size)
		pl.size = s->c->ag.max_pages < SIM_MAX_PRED ?
			  s->c->ag.max_pages : SIM_MAX_PRED;
	for (uint32_t i = 0; i < nr; i++) {
		if (missed[i] && !sim_plan_followers(s, ev[i].page, &pl)) {
			sim_plan_pin(s, &pl);
			sim_plan_followers(s, ev[i].page, &pl);
		}
		vmc_ag_record(&s->ag, ev[i].page);
	}
	sim_plan_pin(s, &pl);
}

/* Is map record @ev (@nr pages) cached in the IOMMU as it is? */
static bool sim_xlate_hit(const struct sim_run *s, const struct sim_ev *ev,
			  uint32_t nr)
{
	for (uint32_t i = 0; i < nr; i++) {
		uint32_t iv = ev[i].iova, old = s->xl_page[iv];

		if (old != ev[i].page || s->xl_gen[iv] != s->pg[old].gen ||
		    s->xl_first[iv] != ev[0].iova || s->xl_len[iv] != nr)
			return false;
	}
	return true;
}

/*
 * Map record @ev: its IOVAs now translate to its pages.  Translations a
 * map replaces that were still valid are rewritten, flushed before the
 * map returns (vmc_xc_drop_iova()).
 */
static void sim_xlate_set(struct sim_run *s, const struct sim_ev *ev,
			  uint32_t nr)
{
	bool flush = false;

	for (uint32_t i = 0; i < nr; i++) {
		uint32_t iv = ev[i].iova, old = s->xl_page[iv];

		if (old != SIM_NONE && s->xl_gen[iv] == s->pg[old].gen &&
		    s->pg[old].xl_refs) {
			s->pg[old].xl_refs--;
			flush = true;
		}
		s->xl_page[iv] = ev[i].page;
		s->xl_gen[iv] = s->pg[ev[i].page].gen;
		s->xl_first[iv] = ev[0].iova;
		s->xl_len[iv] = nr;
		s->pg[ev[i].page].xl_refs++;
	}
	s->r->flush_lazy += flush;
}

/* Does record @id still translate all its IOVA pages? */
static bool sim_rec_valid(const struct sim_run *s, uint32_t id)
{
	const struct sim_rec *rc = &s->recs[id];

	for (uint32_t k = 0; k < rc->nr; k++) {
		uint32_t iv = rc->ev[k].iova;

		if (s->xl_rec[iv] != id ||
		    s->xl_gen[iv] != s->pg[s->xl_page[iv]].gen)
			return false;
	}
	return true;
}

/* Tear down cached record @id's translations (still valid). */
static void sim_rec_drop(struct sim_run *s, uint32_t id)
{
	const struct sim_rec *rc = &s->recs[id];

	for (uint32_t k = 0; k < rc->nr; k++) {
		uint32_t iv = rc->ev[k].iova;

		s->pg[s->xl_page[iv]].xl_refs--;
		s->xl_page[iv] = SIM_NONE;
		s->xl_rec[iv] = SIM_NONE;
	}
}

/*
 * Map record @ev (@nr pages), not a full hit: at dma_entry_limit (live and
 * cached entries), unless it overlaps a cached translation (whose entry it
 * takes over), every cached translation goes first, with one IOTLB flush
 * (the module's vmc_map_check() and vmc_xc_drop_container()).
 */
static void sim_entry_room(struct sim_run *s, const struct sim_ev *ev, uint32_t nr)
{
	uint32_t k, n = 0, cached = 0;

	for (k = 0; k < nr; k++) {
		uint32_t id = s->xl_rec[ev[k].iova];

		if (id != SIM_NONE && !s->recs[id].live && sim_rec_valid(s, id))
			return;
	}
	for (k = 0; k < s->nr_open; k++) {
		uint32_t id = s->open[k];

		if (s->recs[id].live || sim_rec_valid(s, id)) {
			s->open[n++] = id;
			cached += !s->recs[id].live;
		}
	}
	s->nr_open = n;
	if (n < s->c->entry_limit || !cached)
		return;
	for (k = n = 0; k < s->nr_open; k++) {
		uint32_t id = s->open[k];

		if (s->recs[id].live) {
			s->open[n++] = id;
			continue;
		}
		sim_rec_drop(s, id);
		s->r->entry_drops++;
	}
	s->nr_open = n;
	s->r->flush_lazy++;
}

/* Map record @ev (@nr pages) made a new entry, live. */
static void sim_rec_add(struct sim_run *s, const struct sim_ev *ev, uint32_t nr)
{
	uint32_t id = s->nr_recs++;

	if (id >= s->cap_recs) {
		s->cap_recs = s->cap_recs ? 2 * s->cap_recs : 1024;
		s->recs = realloc(s->recs, s->cap_recs * sizeof(*s->recs));
		s->open = realloc(s->open, s->cap_recs * sizeof(*s->open));
		if (!s->recs || !s->open) {
			perror("realloc");
			exit(2);
		}
	}
	s->recs[id] = (struct sim_rec){ .ev = ev, .nr = nr, .live = true };
	s->open[s->nr_open++] = id;
	for (uint32_t k = 0; k < nr; k++)
		s->xl_rec[ev[k].iova] = id;
}

/*
 * One batch of a MAP_DMA, as the module serves it: every page looked up
 * first (hits), room made for all the misses at once, the misses pinned in
 * order, then the access graph fed and followers prefetched.
 */
static void sim_map_batch(struct sim_run *s, const struct sim_ev *ev,
			  uint32_t nr)
{
	bool missed[SIM_PIN_BATCH];
	uint64_t misses = 0;
	uint32_t i;

	for (i = 0; i < nr; i++) {
		struct spage *p = &s->pg[ev[i].page];

		s->r->maps++;
		missed[i] = !p->pinned;
		if (missed[i]) {
			s->r->misses++;
			misses++;
			continue;
		}
		s->r->pin_hits++;
		if (!p->maps)
			list_del_init(&p->idle);	/* a candidate no more */
		if (p->prefetched)
			s->r->pf_useful++;
		p->prefetched = 0;
		vmc_policy_hit(&s->pol, &p->pn);
	}
	/*
	 * vmc_cache_make_room(): idle candidates go, then others until the
	 * misses fit; if live pages keep them from fitting, the map is
	 * admitted above the quota all the same (a quota never fails a map),
	 * and the next unmap brings the cache back down to the quota.
	 */
	sim_idle(s);
	while (vmc_quota_excess(s->c->quota, s->nr_pinned, misses)) {
		if (!sim_evict_one(s)) {
			uint64_t over = vmc_quota_excess(s->c->quota,
							 s->nr_pinned, misses);

			s->r->over_quota += over < misses ? over : misses;
			break;
		}
	}
	for (i = 0; i < nr; i++)
		if (missed[i])
			sim_pin(s, ev[i].page, VMC_INS_LIVE);
	if (s->c->prefetch)
		sim_prefetch(s, ev, nr, missed);
	sim_flush_evictions(s);
	for (i = 0; i < nr; i++) {
		struct spage *p = &s->pg[ev[i].page];

		if (!p->maps++ && ++s->nr_live > s->r->peak_live)
			s->r->peak_live = s->nr_live;
	}
}

/*
 * A map record: a full hit if the IOMMU still has it as it is (lazy mode;
 * counted here, the pin level is the same stream in every mode), then
 * MAP_DMA pins in batches of SIM_PIN_BATCH pages.
 */
static void sim_map(struct sim_run *s, const struct sim_ev *ev, uint32_t nr)
{
	bool full = sim_xlate_hit(s, ev, nr);

	if (full)
		s->r->full_hits += nr;
	else if (s->limit_on)
		sim_entry_room(s, ev, nr);
	s->reqs++;
	for (uint32_t done = 0; done < nr; done += SIM_PIN_BATCH)
		sim_map_batch(s, ev + done, nr - done < SIM_PIN_BATCH ?
			      nr - done : SIM_PIN_BATCH);
	sim_xlate_set(s, ev, nr);
	if (!s->limit_on)
		return;
	if (full)
		s->recs[s->xl_rec[ev[0].iova]].live = true;
	else
		sim_rec_add(s, ev, nr);
}

/*
 * The pages of one mapping that one unmap record releases: all stop being
 * live, then the cache goes back within its quota (vmc_pc_put()); a page
 * unmapped while live pages keep the VM above its quota goes at once.
 */
static void sim_unmap(struct sim_run *s, const struct sim_ev *ev, uint32_t nr)
{
	/* Its entry stays, a cached translation, until something drops it. */
	if (s->limit_on && s->xl_rec[ev[0].iova] != SIM_NONE)
		s->recs[s->xl_rec[ev[0].iova]].live = false;
	for (uint32_t i = 0; i < nr; i++) {
		struct spage *p = &s->pg[ev[i].page];

		if (!p->maps || --p->maps)
			continue;
		s->nr_live--;
		vmc_policy_unmap(&s->pol, &p->pn);
		sim_idle_add(s, p);
		s->reqs++;
	}
	sim_idle(s);
	while (vmc_quota_excess(s->c->quota, s->nr_pinned, 0) &&
	       sim_evict_one(s))
		;
	sim_flush_evictions(s);
}

/* History as the module sizes it (pincache.c: vmc_pmem_alloc()). */
static void sim_ghosts(struct vmc_policy_mem *mem, uint64_t nr)
{
	if (nr > VMC_GHOSTS_MAX)
		nr = VMC_GHOSTS_MAX;
	mem->nr_ghosts = nr;
	mem->ghosts = xcalloc(nr, sizeof(*mem->ghosts));
	mem->nr_buckets = pow2_at_least(nr / 2 ? nr / 2 : 1);
	mem->buckets = xcalloc(mem->nr_buckets, sizeof(*mem->buckets));
}

static void sim_setup(struct sim_run *s, struct vmc_policy_mem *mem)
{
	const struct sim_cfg *c = s->c;
	uint64_t nr_nodes = (uint64_t)(c->pf_nodes * c->quota) + 16;
	bool history = c->kind == VMC_POLICY_LIRS || c->kind == VMC_POLICY_DUEL;

	memset(mem, 0, sizeof(*mem));
	sim_ghosts(mem, history ? (uint64_t)(c->ghosts * c->quota) : 0);
	if (c->kind == VMC_POLICY_DUEL) {
		struct vmc_duel *d = xcalloc(1, sizeof(*d));
		uint64_t shadow = vmc_duel_shadow_pages(c->quota);

		d->nr_ents = vmc_duel_nr_ents(c->quota);
		d->ents = xcalloc(d->nr_ents, sizeof(*d->ents));
		d->nr_buckets = pow2_at_least(d->nr_ents);
		d->buckets = xcalloc(d->nr_buckets, sizeof(*d->buckets));
		sim_ghosts(&d->mem, (uint64_t)(c->ghosts * shadow));
		mem->duel = d;
	}
	if (vmc_policy_init(&s->pol, c->kind, c->quota, mem)) {
		fprintf(stderr, "vmc_policy_init failed\n");
		exit(2);
	}
	if (!c->prefetch)
		return;
	if (nr_nodes > s->t->nr_pages + 16)
		nr_nodes = s->t->nr_pages + 16;
	s->ag.nodes = xcalloc(nr_nodes, sizeof(struct vmc_agnode));
	s->ag.buckets = xcalloc(pow2_at_least(nr_nodes),
				sizeof(struct hlist_head));
	vmc_ag_init(&s->ag, &c->ag, s->ag.nodes, nr_nodes, s->ag.buckets,
		    pow2_at_least(nr_nodes));
}

static void sim_replay(const struct sim_trace *t, const struct sim_cfg *c,
		       struct sim_res *r)
{
	struct sim_run s = { .t = t, .c = c, .r = r };
	struct vmc_policy_mem mem;
	unsigned int pending = 0;
	double t0;

	memset(r, 0, sizeof(*r));
	sim_setup(&s, &mem);
	s.pg = xcalloc(t->nr_pages, sizeof(*s.pg));
	INIT_LIST_HEAD(&s.idle);
	for (uint32_t k = 0; k < t->nr_pages; k++)
		INIT_LIST_HEAD(&s.pg[k].idle);
	s.xl_page = xcalloc(t->nr_iovas, sizeof(*s.xl_page));
	s.xl_gen = xcalloc(t->nr_iovas, sizeof(*s.xl_gen));
	s.xl_first = xcalloc(t->nr_iovas, sizeof(*s.xl_first));
	s.xl_len = xcalloc(t->nr_iovas, sizeof(*s.xl_len));
	memset(s.xl_page, 0xff, t->nr_iovas * sizeof(*s.xl_page));
	s.limit_on = t->nr_iovas > c->entry_limit;
	if (s.limit_on) {
		s.xl_rec = xcalloc(t->nr_iovas, sizeof(*s.xl_rec));
		memset(s.xl_rec, 0xff, t->nr_iovas * sizeof(*s.xl_rec));
	}
	t0 = now();
	for (size_t i = 0; i < t->nr_ev; i++) {
		const struct sim_ev *e = &t->ev[i];

		if (e->op == EV_MAP) {
			uint32_t nr = e->run ? e->run : 1;

			if (pending)
				r->flush_strict++;
			pending = 0;
			sim_map(&s, e, nr);
			i += nr - 1;
		} else {
			uint32_t nr = e->run ? e->run : 1;

			for (uint32_t k = 0; k < nr; k++) {
				if (++pending == c->batch) {
					r->flush_strict++;
					pending = 0;
				}
			}
			sim_unmap(&s, e, nr);
			i += nr - 1;
		}
	}
	r->flush_strict += !!pending;
	r->secs = now() - t0;
	free(s.pg);
	free(s.xl_page);
	free(s.xl_gen);
	free(s.xl_first);
	free(s.xl_len);
	free(s.xl_rec);
	free(s.recs);
	free(s.open);
	if (mem.duel) {
		r->duel_switches = mem.duel->switches;
		free(mem.duel->ents);
		free(mem.duel->buckets);
		free(mem.duel->mem.ghosts);
		free(mem.duel->mem.buckets);
		free(mem.duel);
	}
	free(mem.ghosts);
	free(mem.buckets);
	free(s.ag.nodes);
	free(s.ag.buckets);
}

/* For the unit tests (sim.h): one replay without prefetch, its counters. */
void sim_replay_counts_limit(const struct sim_trace *t, int kind, uint64_t quota,
			     uint64_t idle, uint64_t entry_limit,
			     struct sim_counts *out)
{
	struct sim_cfg c = { .kind = kind, .quota = quota, .idle = idle,
			     .ghosts = VMC_GHOSTS_PER_PAGE, .batch = 16,
			     .entry_limit = entry_limit };
	struct sim_res r;

	sim_replay(t, &c, &r);
	*out = (struct sim_counts){
		.maps = r.maps, .pin_hits = r.pin_hits, .misses = r.misses,
		.evictions = r.evictions, .peak_pinned = r.peak_pinned,
		.peak_live = r.peak_live, .over_quota = r.over_quota,
		.idle_releases = r.idle_releases, .full_hits = r.full_hits,
		.flush_lazy = r.flush_lazy, .entry_drops = r.entry_drops,
	};
}

void sim_replay_counts(const struct sim_trace *t, int kind, uint64_t quota,
		       uint64_t idle, struct sim_counts *out)
{
	sim_replay_counts_limit(t, kind, quota, idle, VMC_DMA_ENTRY_LIMIT, out);
}

#ifndef SIM_NO_MAIN	/* the unit tests take sim_replay_counts() only */
/*
 * Belady's OPT over one key (page or pair): on a miss with the cache full,
 * evict the candidate whose next map is farthest away.  Candidates sit in a
 * max-heap with lazy deletion: an entry is stale once its stamp changed.
 */
struct opt_ent {
	uint64_t next;
	uint32_t key, stamp;
};

struct opt {
	struct opt_ent *heap;
	size_t nr, cap;
	uint64_t *next;		/* per key: its next map event */
	uint32_t *maps, *stamp;
	uint8_t *pinned;
	uint64_t nr_pinned;
};

static void opt_push(struct opt *o, struct opt_ent e)
{
	size_t i = o->nr++;

	if (o->nr > o->cap) {
		o->cap = o->cap ? 2 * o->cap : 4096;
		o->heap = realloc(o->heap, o->cap * sizeof(*o->heap));
	}
	while (i && o->heap[(i - 1) / 2].next < e.next) {
		o->heap[i] = o->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	o->heap[i] = e;
}

static struct opt_ent opt_pop(struct opt *o)
{
	struct opt_ent top = o->heap[0], last = o->heap[--o->nr];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < o->nr) {
		if (c + 1 < o->nr && o->heap[c + 1].next > o->heap[c].next)
			c++;
		if (o->heap[c].next <= last.next)
			break;
		o->heap[i] = o->heap[c];
		i = c;
	}
	if (o->nr)
		o->heap[i] = last;
	return top;
}

static bool opt_evict(struct opt *o)
{
	while (o->nr) {
		struct opt_ent e = opt_pop(o);

		if (o->pinned[e.key] && !o->maps[e.key] &&
		    o->stamp[e.key] == e.stamp) {
			o->pinned[e.key] = 0;
			o->nr_pinned--;
			return true;
		}
	}
	return false;
}

/* Next map event of the same key, for every map event. */
static uint64_t *opt_next_uses(const struct sim_trace *t, bool pairs)
{
	uint32_t n = pairs ? t->nr_pairs : t->nr_pages;
	uint64_t *last = xcalloc(n, sizeof(*last));
	uint64_t *next = xcalloc(t->nr_ev, sizeof(*next));

	for (uint32_t k = 0; k < n; k++)
		last[k] = UINT64_MAX;
	for (size_t i = t->nr_ev; i-- > 0;) {
		const struct sim_ev *e = &t->ev[i];
		uint32_t k = pairs ? e->pair : e->page;

		if (e->op != EV_MAP)
			continue;
		next[i] = last[k];
		last[k] = i;
	}
	free(last);
	return next;
}

/*
 * Best case of any translation cache: a map is a full hit at most when the
 * IOVA's previous translation was to the same page (an IOVA holds one).
 */
static uint64_t sim_xlate_bound(const struct sim_trace *t)
{
	uint32_t *last = xcalloc(t->nr_iovas, sizeof(*last));
	uint64_t hits = 0;

	memset(last, 0xff, t->nr_iovas * sizeof(*last));
	for (size_t i = 0; i < t->nr_ev; i++) {
		const struct sim_ev *e = &t->ev[i];

		if (e->op != EV_MAP)
			continue;
		hits += last[e->iova] == e->page;
		last[e->iova] = e->page;
	}
	free(last);
	return hits;
}

/* Returns hits; fills r for the pin level when !pairs. */
static uint64_t sim_opt(const struct sim_trace *t, const uint64_t *next,
			bool pairs, uint64_t quota, struct sim_res *r)
{
	uint32_t n = pairs ? t->nr_pairs : t->nr_pages;
	struct opt o = { 0 };
	uint64_t hits = 0, live = 0;

	o.next = xcalloc(n, sizeof(*o.next));
	o.maps = xcalloc(n, sizeof(*o.maps));
	o.stamp = xcalloc(n, sizeof(*o.stamp));
	o.pinned = xcalloc(n, sizeof(*o.pinned));
	for (size_t i = 0; i < t->nr_ev; i++) {
		const struct sim_ev *e = &t->ev[i];
		uint32_t k = pairs ? e->pair : e->page;

		if (e->op == EV_MAP) {
			r->maps += !pairs;
			if (o.pinned[k]) {
				hits++;
			} else {
				r->misses += !pairs;
				while (o.nr_pinned >= quota && !pairs &&
				       opt_evict(&o))
					r->evictions++;
				if (pairs)
					while (o.nr_pinned >= quota &&
					       opt_evict(&o))
						;
				if (o.nr_pinned >= quota && !pairs)
					r->over_quota++;
				o.pinned[k] = 1;
				if (++o.nr_pinned > r->peak_pinned && !pairs)
					r->peak_pinned = o.nr_pinned;
			}
			o.next[k] = next[i];
			o.stamp[k]++;
			if (!o.maps[k]++ && ++live > r->peak_live && !pairs)
				r->peak_live = live;
			continue;
		}
		if (!o.maps[k] || --o.maps[k])
			continue;
		live--;
		opt_push(&o, (struct opt_ent){ o.next[k], k, ++o.stamp[k] });
		while (o.nr_pinned > quota && opt_evict(&o))
			r->evictions += !pairs;
	}
	free(o.heap);
	free(o.next);
	free(o.maps);
	free(o.stamp);
	free(o.pinned);
	return hits;
}

/* Command line. */

struct sim_policy {
	const char *name;
	int kind;
	bool prefetch;
	bool module_knobs;	/* the module's prefetch and history sizes */
};

/*
 * "default" is what a VM gets from the module's default_policy and
 * default_prefetch parameters, with the module's knobs.
 */
#ifndef VMC_PF_DEFAULT_ON
#define VMC_PF_DEFAULT_ON	false
#endif
struct sim_opts {
	struct sim_policy pol[16];
	int nr_pol;
	double quota[64];
	int nr_quota;
	struct sim_cfg base;
	FILE *csv;
	const char *locality_dir;
	bool quiet;
};

static void usage(void)
{
	fprintf(stderr,
"usage: mapcache-sim [options] TRACE...\n"
"       mapcache-sim --gen NAME [--seed N] > trace.txt\n"
"TRACE is a trace file (text, .xz, .gz or .zst) or a synthetic trace:\n"
"  synth-loop, synth-zipf, synth-scan\n"
"  -p, --policies LIST   any of fifo,lru,lirs,POLICY+pf (with prefetch),\n"
"                        default (the module's default policy and prefetch\n"
"                        settings), opt (default:\n"
"                        fifo,lru,lirs,lru+pf,lirs+pf,opt)\n"
"  -q, --quotas LIST     quotas as shares of the trace's working set\n"
"                        (distinct pages): fractions (0.25) or percentages\n"
"                        (25%%), in (0, 1]; rounded to the nearest page, at\n"
"                        least one, as the module's; default .1,.25,.5,.75,1\n"
"  -b, --batch N         unmaps per IOTLB flush in strict mode (16)\n"
"  -c, --csv FILE        write one CSV row per run\n"
"  -l, --locality DIR    write reuse-distance and working-set CSVs\n"
"      --pf-succ N       successors kept per page (2)\n"
"      --pf-depth N      edges followed from a missed page (4)\n"
"      --pf-width N      successors followed per page (1)\n"
"      --pf-max N        pages prefetched per miss (8)\n"
"      --pf-nodes X      graph nodes per quota page (4)\n"
"      --pf-evict 0|1    prefetch may evict candidates (1)\n"
"      --ghosts X        LIRS ghost entries per quota page (2)\n"
"      --idle N          release candidates idle for one to two windows of\n"
"                        N requests (the module's idle_ms), 0: off (0)\n"
"      --entry-limit N   live mappings and cached translations at most\n"
"                        (the module's dma_entry_limit, 65535)\n"
"      --quiet           no table\n");
	exit(2);
}

/* NAME, NAME+pf (any policy of the core), default or opt. */
static void parse_policies(struct sim_opts *o, char *list)
{
	char *save = NULL;

	o->nr_pol = 0;
	for (char *tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		struct sim_policy p = { .name = tok };
		size_t n = strlen(tok);
		char base[32];

		if (n > 3 && !strcmp(tok + n - 3, "+pf")) {
			p.prefetch = true;
			n -= 3;
		}
		snprintf(base, sizeof(base), "%.*s", (int)n, tok);
		if (!strcmp(tok, "opt")) {
			p.kind = SIM_OPT;
		} else if (!strcmp(tok, "default")) {
			p.kind = VMC_POLICY_DEFAULT;
			p.prefetch = VMC_PF_DEFAULT_ON;
			p.module_knobs = true;
		} else {
			p.kind = n < sizeof(base) ? vmc_policy_kind_parse(base) :
				 -EINVAL;
		}
		if (p.kind == -EINVAL || o->nr_pol == 16) {
			fprintf(stderr, "unknown policy '%s' (or more than 16)\n",
				tok);
			usage();
		}
		o->pol[o->nr_pol++] = p;
	}
	if (!o->nr_pol) {
		fprintf(stderr, "no policy given\n");
		usage();
	}
}

/*
 * Quotas as shares of the working set: a fraction ("0.25") up to 1 or a
 * percentage ("25%") up to 100%, above 0 (the module's quota 0 means no
 * quota at all); anything else is refused.
 */
static void parse_quotas(struct sim_opts *o, char *list)
{
	char *save = NULL;

	o->nr_quota = 0;
	for (char *tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *end;
		double v = strtod(tok, &end);
		bool pc = *end == '%';

		if (pc)
			v /= 100, end++;
		if (end == tok || *end || !(v > 0 && v <= 1)) {
			fprintf(stderr, "bad quota '%s': a fraction of the working "
				"set in (0, 1] or a percentage in (0%%, 100%%]%s\n",
				tok, !pc && v > 1 && v <= 100 && !*end ?
				" (did you mean '%'?)" : "");
			exit(2);
		}
		if (o->nr_quota == 64) {
			fprintf(stderr, "more than 64 quotas\n");
			exit(2);
		}
		o->quota[o->nr_quota++] = v;
	}
	if (!o->nr_quota) {
		fprintf(stderr, "no quota given\n");
		exit(2);
	}
}

/* A whole number in [lo, hi], else exit with the option's name. */
static unsigned long long parse_uint(const char *opt, const char *arg,
				     unsigned long long lo,
				     unsigned long long hi)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 0);
	if (end == arg || *end || errno || arg[0] == '-' || v < lo || v > hi) {
		fprintf(stderr, "bad %s '%s': a whole number in [%llu, %llu]\n",
			opt, arg, lo, hi);
		exit(2);
	}
	return v;
}

/* A number in (0, hi], else exit with the option's name. */
static double parse_pos(const char *opt, const char *arg, double hi)
{
	char *end;
	double v = strtod(arg, &end);

	if (end == arg || *end || !(v > 0 && v <= hi)) {
		fprintf(stderr, "bad %s '%s': a number in (0, %g]\n", opt, arg,
			hi);
		exit(2);
	}
	return v;
}

/*
 * The module's quota in pages for a share of @nr_pages: rounded to the
 * nearest page, at least one (tools/testing/.../vmc_replay.c does the same,
 * and quota 0 would mean no quota to the module).
 */
static uint64_t sim_quota_pages(double frac, uint32_t nr_pages)
{
	uint64_t q = (uint64_t)(frac * nr_pages + 0.5);

	return q ? q : 1;
}

static void print_header(const struct sim_trace *t, double load_secs)
{
	printf("\n== %s: %zu records, %zu page events (%zu maps), "
	       "%u pages, %u IOVAs, %u (IOVA,page) pairs; loaded in %.2f s\n",
	       t->name, t->nr_lines, t->nr_ev, t->nr_maps, t->nr_pages,
	       t->nr_iovas, t->nr_pairs, load_secs);
	if (t->bad_unmaps || t->remaps)
		printf("   %zu unmaps of unmapped IOVAs, %zu maps over mapped "
		       "IOVAs (taken as unmap+map)\n", t->bad_unmaps,
		       t->remaps);
	printf("%-8s %5s %7s %6s %6s %6s %9s %9s %8s %8s %7s %9s %9s %8s %8s "
	       "%7s %8s\n", "policy", "quota", "pages", "pin%", "full%", "fmax%",
	       "misses", "evict", "pk_pin", "pk_live", "overq", "fl_strict",
	       "fl_lazy", "pf_iss", "pf_use", "Mev/s", "idle_rel");
}

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * a / b : 0;
}

static void report(const struct sim_opts *o, const struct sim_trace *t,
		   const struct sim_policy *p, double frac, uint64_t quota,
		   const struct sim_res *r)
{
	double mev = r->secs > 0 ? t->nr_ev / r->secs / 1e6 : 0;

	if (!o->quiet)
		printf("%-8s %4.0f%% %7llu %6.2f %6.2f %6.2f %9llu %9llu %8llu "
		       "%8llu %7llu %9llu %9llu %8llu %8llu %7.1f %8llu\n",
		       p->name, frac * 100, (unsigned long long)quota,
		       pct(r->pin_hits, r->maps), pct(r->full_hits, r->maps),
		       pct(r->opt_pair_hits, r->maps),
		       (unsigned long long)r->misses,
		       (unsigned long long)r->evictions,
		       (unsigned long long)r->peak_pinned,
		       (unsigned long long)r->peak_live,
		       (unsigned long long)r->over_quota,
		       (unsigned long long)r->flush_strict,
		       (unsigned long long)r->flush_lazy,
		       (unsigned long long)r->pf_issued,
		       (unsigned long long)r->pf_useful, mev,
		       (unsigned long long)r->idle_releases);
	if (!o->quiet && r->entry_drops)
		printf("%-8s %4.0f%%   dma_entry_limit: %llu cached translations dropped\n",
		       p->name, frac * 100, (unsigned long long)r->entry_drops);
	if (o->csv)
		fprintf(o->csv, "%s,%s,%.4f,%llu,%llu,%llu,%llu,%llu,%llu,%llu,"
			"%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%.4f,%.4f,%.4f,"
			"%.2f\n", t->name, p->name, frac,
			(unsigned long long)quota,
			(unsigned long long)r->maps,
			(unsigned long long)r->full_hits,
			(unsigned long long)r->pin_hits,
			(unsigned long long)r->misses,
			(unsigned long long)r->evictions,
			(unsigned long long)r->peak_pinned,
			(unsigned long long)r->peak_live,
			(unsigned long long)r->over_quota,
			(unsigned long long)r->flush_strict,
			(unsigned long long)r->flush_lazy,
			(unsigned long long)r->pf_issued,
			(unsigned long long)r->pf_useful,
			(unsigned long long)r->opt_pair_hits,
			(unsigned long long)t->nr_ev,
			pct(r->pin_hits, r->maps), pct(r->full_hits, r->maps),
			pct(r->opt_pair_hits, r->maps), mev);
}

static void run_trace(const struct sim_opts *o, const struct sim_trace *t)
{
	uint64_t *next_page = NULL;
	double speed_ev = 0, speed_secs = 0;

	for (int q = 0; q < o->nr_quota; q++) {
		uint64_t quota = sim_quota_pages(o->quota[q], t->nr_pages);

		for (int i = 0; i < o->nr_pol; i++) {
			const struct sim_policy *p = &o->pol[i];
			struct sim_cfg c = o->base;
			struct sim_res r = { 0 };

			c.kind = p->kind;
			c.prefetch = p->prefetch;
			c.quota = quota;
			if (p->module_knobs) {
				c.ag = (struct vmc_ag_cfg){
					.succ = VMC_PF_SUCC,
					.depth = VMC_PF_DEFAULT_DEPTH,
					.width = VMC_PF_WIDTH,
					.max_pages = VMC_PF_MAX_PAGES,
				};
				c.pf_nodes = 4;
				c.ghosts = 2;
			}
			if (p->kind != SIM_OPT) {
				sim_replay(t, &c, &r);
				speed_ev += t->nr_ev;
				speed_secs += r.secs;
			} else {
				double t0 = now();

				if (!next_page)
					next_page = opt_next_uses(t, false);
				r.pin_hits = sim_opt(t, next_page, false,
						     quota, &r);
				r.opt_pair_hits = sim_xlate_bound(t);
				r.secs = now() - t0;
			}
			report(o, t, p, o->quota[q], quota, &r);
		}
	}
	if (speed_secs > 0)
		printf("speed: %.1f M page events/s over the online runs "
		       "(%.0f events in %.2f s, one core)\n",
		       speed_ev / speed_secs / 1e6, speed_ev, speed_secs);
	free(next_page);
}

static void print_memory(const struct sim_cfg *c)
{
	size_t pn = sizeof(struct vmc_pnode), gh = sizeof(struct vmc_ghost);
	size_t ag = sizeof(struct vmc_agnode), hb = sizeof(struct hlist_head);

	printf("memory per cached page: policy node %zu B; LIRS adds %.1f "
	       "ghosts x (%zu B + %zu B bucket) = %.0f B; prefetch adds %.1f "
	       "graph nodes x (%zu B + %zu B bucket) = %.0f B\n",
	       pn, c->ghosts, gh, hb, c->ghosts * (gh + hb), c->pf_nodes, ag,
	       hb, c->pf_nodes * (ag + hb));
}

static int gen_trace(const char *name, uint64_t seed)
{
	struct sim_trace t;

	if (sim_trace_synth(&t, name, seed, stdout)) {
		fprintf(stderr, "unknown synthetic trace %s\n", name);
		return 2;
	}
	sim_trace_free(&t);
	return 0;
}

static FILE *open_csv(const char *dir, const char *trace, const char *what)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.%s.csv", dir, trace, what);
	f = fopen(path, "w");
	if (!f)
		perror(path);
	return f;
}

static int load(struct sim_trace *t, const char *arg, uint64_t seed)
{
	if (!strncmp(arg, "synth-", 6))
		return sim_trace_synth(t, arg, seed, NULL);
	return sim_trace_load(t, arg);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "policies", 1, NULL, 'p' }, { "quotas", 1, NULL, 'q' },
		{ "batch", 1, NULL, 'b' }, { "csv", 1, NULL, 'c' },
		{ "locality", 1, NULL, 'l' }, { "gen", 1, NULL, 'g' },
		{ "seed", 1, NULL, 's' }, { "quiet", 0, NULL, 'Q' },
		{ "pf-succ", 1, NULL, 1 }, { "pf-depth", 1, NULL, 2 },
		{ "pf-width", 1, NULL, 3 }, { "pf-max", 1, NULL, 4 },
		{ "pf-nodes", 1, NULL, 5 }, { "pf-evict", 1, NULL, 6 },
		{ "ghosts", 1, NULL, 7 }, { "idle", 1, NULL, 8 },
		{ "entry-limit", 1, NULL, 9 },
		{ "help", 0, NULL, 'h' },
		{ NULL },
	};
	char defpol[] = "fifo,lru,lirs,lru+pf,lirs+pf,opt";
	char defq[] = ".1,.25,.5,.75,1";
	struct sim_opts o = {
		.base = {
			.ag = { .succ = 2, .depth = 4, .width = 1,
				.max_pages = 8 },
			.pf_nodes = 4, .ghosts = 2, .batch = 16,
			.pf_evict = true, .entry_limit = VMC_DMA_ENTRY_LIMIT,
		},
	};
	const char *gen = NULL;
	uint64_t seed = 1;
	int opt;

	parse_policies(&o, defpol);
	parse_quotas(&o, defq);
	while ((opt = getopt_long(argc, argv, "p:q:b:c:l:g:s:Qh", lopts,
				  NULL)) != -1) {
		switch (opt) {
		case 'p': parse_policies(&o, optarg); break;
		case 'q': parse_quotas(&o, optarg); break;
		case 'b':
			o.base.batch = parse_uint("--batch", optarg, 1, 1 << 20);
			break;
		case 'c':
			o.csv = fopen(optarg, "w");
			if (!o.csv) {
				perror(optarg);
				return 2;
			}
			fprintf(o.csv, "trace,policy,quota_frac,quota_pages,"
				"maps,full_hits,pin_hits,misses,evictions,"
				"peak_pinned,peak_live,over_quota,flush_strict,"
				"flush_lazy,pf_issued,pf_useful,opt_pair_hits,"
				"events,pin_hit_pct,full_hit_pct,"
				"xlate_bound_pct,mev_per_s\n");
			break;
		case 'l': o.locality_dir = optarg; break;
		case 'g': gen = optarg; break;
		case 's': seed = parse_uint("--seed", optarg, 0, ~0ULL); break;
		case 'Q': o.quiet = true; break;
		case 1:
			o.base.ag.succ = parse_uint("--pf-succ", optarg, 1,
						    VMC_AG_MAX_SUCC);
			break;
		case 2:
			o.base.ag.depth = parse_uint("--pf-depth", optarg, 1,
						     VMC_AG_MAX_DEPTH);
			break;
		case 3:
			o.base.ag.width = parse_uint("--pf-width", optarg, 1,
						     VMC_AG_MAX_SUCC);
			break;
		case 4:
			o.base.ag.max_pages = parse_uint("--pf-max", optarg, 1,
							 SIM_MAX_PRED);
			break;
		case 5: o.base.pf_nodes = parse_pos("--pf-nodes", optarg, 64); break;
		case 6: o.base.pf_evict = parse_uint("--pf-evict", optarg, 0, 1); break;
		case 7: o.base.ghosts = parse_pos("--ghosts", optarg, 64); break;
		case 8: o.base.idle = parse_uint("--idle", optarg, 0, ~0ULL); break;
		case 9:
			o.base.entry_limit = parse_uint("--entry-limit", optarg, 1, UINT32_MAX);
			break;
		default: usage();
		}
	}
	if (gen)
		return gen_trace(gen, seed);
	if (optind == argc)
		usage();
	if (o.base.ag.width > o.base.ag.succ) {
		fprintf(stderr, "--pf-width %u exceeds --pf-succ %u\n",
			o.base.ag.width, o.base.ag.succ);
		return 2;
	}
	print_memory(&o.base);
	for (int i = optind; i < argc; i++) {
		struct sim_trace t;
		double t0 = now();

		if (load(&t, argv[i], seed)) {
			fprintf(stderr, "cannot load %s\n", argv[i]);
			return 1;
		}
		if (!o.quiet)
			print_header(&t, now() - t0);
		run_trace(&o, &t);
		if (o.locality_dir) {
			FILE *rd = open_csv(o.locality_dir, t.name, "reuse");
			FILE *ws = open_csv(o.locality_dir, t.name, "wset");

			if (rd && ws)
				sim_locality(&t, rd, ws, stdout);
			if (rd)
				fclose(rd);
			if (ws)
				fclose(ws);
		}
		sim_trace_free(&t);
	}
	if (o.csv)
		fclose(o.csv);
	return 0;
}
#endif /* SIM_NO_MAIN */
