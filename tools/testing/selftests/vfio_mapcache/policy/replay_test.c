// SPDX-License-Identifier: GPL-2.0
/*
 * A recorded trace replayed through the simulator (tools/mapcache-sim) and
 * through the module's pin-cache rules, and every counter must agree.
 *
 * The second replay runs drivers/vfio/mapcache/pcrules.c itself, the file
 * the module is built from: what happens to a page when a map finds it or
 * pins it (vmc_cache_use(), vmc_cache_insert()), when an unmap releases it
 * (vmc_cache_unuse()), how room is made for a map's misses or after an
 * unmap (vmc_cache_make_room(): idle candidates, then the policy's order,
 * or admission above the quota), batch after batch of
 * VMC_PIN_BATCH_PAGES.  What is restated here is only what pincache.c
 * does around those calls: one call per page of a MAP_DMA or UNMAP_DMA,
 * in its order (vmc_pc_lookup_all(), vmc_pc_insert_all(), vmc_pc_put()),
 * and the pin cache's side of struct vmc_cache_ops, which here only
 * counts; the idle clock is the simulator's (requests, not jiffies).  It
 * is the simulator's own model (sim.c) that is under test: how it groups
 * a trace's records into the module's calls, and where over-quota maps,
 * quota rounding and idle release happen.
 */
#include "pcrules.h"
#include "sim.h"
#include "kselftest_harness.h"

#include <unistd.h>

#ifndef TRACE_DIR
#define TRACE_DIR "../../../../traces"
#endif

struct mpin {
	struct vmc_centry ce;
	bool pinned;
};

struct mvm {
	struct vmc_cache cache;
	struct vmc_policy_mem pmem;
	struct vmc_duel duel;
	struct mpin *pins;		/* per page id */
	u64 idle_window, reqs;		/* idle clock: requests, as sim.c's */
	struct sim_counts c;
};

static struct mvm *mvm_of(struct vmc_cache *c)
{
	return container_of(c, struct mvm, cache);
}

/* The pin cache's side: nothing to erase, tear down or flush here. */
static void mvm_detach(struct vmc_cache *c, struct vmc_centry *e, bool evict)
{
}

static void mvm_sync(struct vmc_cache *c)
{
}

static void mvm_unpin(struct vmc_cache *c, struct vmc_centry *e)
{
	container_of(e, struct mpin, ce)->pinned = false;
}

static void mvm_tick(struct vmc_cache *c)
{
	struct mvm *vm = mvm_of(c);

	if (vm->idle_window)
		c->idle_epoch = vm->reqs / vm->idle_window;
}

static void mvm_released(struct vmc_cache *c, u64 nr, enum vmc_release why)
{
	struct mvm *vm = mvm_of(c);

	if (why == VMC_REL_IDLE)
		vm->c.idle_releases += nr;
	else
		vm->c.evictions += nr;
}

static const struct vmc_cache_ops mvm_ops = {
	.detach = mvm_detach,
	.sync = mvm_sync,
	.unpin = mvm_unpin,
	.tick = mvm_tick,
	.released = mvm_released,
};

/* vmc_pc_get_batch(): lookup_all (hits, room, reservation), insert_all. */
static void mvm_get_batch(struct mvm *vm, const struct sim_ev *ev, u32 nr)
{
	u64 misses = 0;
	u32 i;

	for (i = 0; i < nr; i++) {
		struct mpin *pin = &vm->pins[ev[i].page];

		vm->c.maps++;
		if (pin->pinned) {
			vmc_cache_use(&vm->cache, &pin->ce);
			vm->c.pin_hits++;
		} else {
			misses++;
		}
	}
	if (!vmc_cache_make_room(&vm->cache, misses)) {
		u64 over = vmc_quota_excess(vm->cache.quota_pages, vm->cache.pinned_pages,
					    misses);

		vm->c.over_quota += min(over, misses);
	}
	vmc_cache_reserve(&vm->cache, misses);
	vm->c.misses += misses;
	for (i = 0; i < nr; i++) {
		struct mpin *pin = &vm->pins[ev[i].page];

		if (pin->pinned)
			continue;
		pin->pinned = true;
		pin->ce.stale = false;
		INIT_LIST_HEAD(&pin->ce.idle);
		vmc_cache_insert(&vm->cache, &pin->ce, ev[i].page);
	}
}

/* A MAP_DMA of a record's pages (vmc_pc_get()). */
static void mvm_map(struct mvm *vm, const struct sim_ev *ev, u32 nr)
{
	vm->reqs++;
	for (u32 done = 0; done < nr; done += VMC_PIN_BATCH_PAGES)
		mvm_get_batch(vm, ev + done, min_t(u32, VMC_PIN_BATCH_PAGES, nr - done));
}

/* An UNMAP_DMA releasing a mapping's pages (vmc_pc_put()). */
static void mvm_put(struct mvm *vm, const struct sim_ev *ev, u32 nr)
{
	for (u32 i = 0; i < nr; i++) {
		struct mpin *pin = &vm->pins[ev[i].page];

		if (!pin->ce.live)
			continue;
		vmc_cache_unuse(&vm->cache, &pin->ce);
		/* A page's release is a tick of the clock. */
		vm->reqs += !pin->ce.live;
	}
	vmc_cache_make_room(&vm->cache, 0);
}

static void mvm_replay(struct __test_metadata *_metadata, const struct sim_trace *t,
		       int kind, u64 quota, u64 idle, struct sim_counts *out)
{
	struct mvm *vm = calloc(1, sizeof(*vm));
	struct vmc_policy_mem *mem;
	u32 *live;	/* live mappings per IOVA page, as the trace has them */

	ASSERT_NE(NULL, vm);
	vm->pins = calloc(t->nr_pages, sizeof(*vm->pins));
	live = calloc(t->nr_iovas, sizeof(*live));
	ASSERT_NE(NULL, vm->pins);
	ASSERT_NE(NULL, live);
	vmc_cache_init(&vm->cache, &mvm_ops);
	vm->cache.quota_pages = quota;
	vm->cache.idle_on = idle;
	vm->idle_window = idle;
	mem = &vm->pmem;
	if (kind == VMC_POLICY_LIRS || kind == VMC_POLICY_DUEL) {
		/* Sized as pincache.c's vmc_pmem_alloc() sizes them. */
		u64 g = min_t(u64, quota * VMC_GHOSTS_PER_PAGE, VMC_GHOSTS_MAX);
		u64 sg = vmc_duel_shadow_pages(quota) * VMC_GHOSTS_PER_PAGE;

		mem->nr_ghosts = g;
		mem->ghosts = calloc(g, sizeof(*mem->ghosts));
		mem->nr_buckets = roundup_pow_of_two(max_t(u64, g / 2, 1));
		mem->buckets = calloc(mem->nr_buckets, sizeof(*mem->buckets));
		if (kind == VMC_POLICY_DUEL) {
			vm->duel.nr_ents = vmc_duel_nr_ents(quota);
			vm->duel.ents = calloc(vm->duel.nr_ents, sizeof(*vm->duel.ents));
			vm->duel.nr_buckets = roundup_pow_of_two(vm->duel.nr_ents);
			vm->duel.buckets = calloc(vm->duel.nr_buckets, sizeof(struct hlist_head));
			vm->duel.mem.nr_ghosts = sg;
			vm->duel.mem.ghosts = calloc(sg, sizeof(struct vmc_ghost));
			vm->duel.mem.nr_buckets = roundup_pow_of_two(max_t(u64, sg / 2, 1));
			vm->duel.mem.buckets = calloc(vm->duel.mem.nr_buckets,
						      sizeof(struct hlist_head));
			mem->duel = &vm->duel;
		}
	}
	ASSERT_EQ(0, vmc_policy_init(&vm->cache.policy, kind, quota, mem));
	for (size_t i = 0; i < t->nr_ev; i++) {
		const struct sim_ev *e = &t->ev[i];
		u32 nr = e->run ? e->run : 1;

		if (e->op == EV_MAP)
			mvm_map(vm, e, nr);
		else
			mvm_put(vm, e, nr);
		i += nr - 1;
	}
	vm->c.peak_pinned = vm->cache.peak_pinned_pages;
	vm->c.peak_live = vm->cache.peak_live_pages;
	*out = vm->c;
	free(vm->duel.ents);
	free(vm->duel.buckets);
	free(vm->duel.mem.ghosts);
	free(vm->duel.mem.buckets);
	free(mem->ghosts);
	free(mem->buckets);
	free(vm->pins);
	free(live);
	free(vm);
}

static void compare(struct __test_metadata *_metadata, const struct sim_trace *t,
		    int kind, u64 quota, u64 idle)
{
	struct sim_counts a, b;

	sim_replay_counts(t, kind, quota, idle, &a);
	mvm_replay(_metadata, t, kind, quota, idle, &b);
	TH_LOG("%s %s quota %llu idle %llu: %llu maps, %llu hits, %llu evictions, %llu over quota, %llu idle",
	       t->name, vmc_policy_kind_name(kind), (unsigned long long)quota,
	       (unsigned long long)idle, (unsigned long long)a.maps,
	       (unsigned long long)a.pin_hits, (unsigned long long)a.evictions,
	       (unsigned long long)a.over_quota, (unsigned long long)a.idle_releases);
	ASSERT_EQ(a.maps, b.maps);
	ASSERT_EQ(a.pin_hits, b.pin_hits);
	ASSERT_EQ(a.misses, b.misses);
	ASSERT_EQ(a.evictions, b.evictions);
	ASSERT_EQ(a.peak_pinned, b.peak_pinned);
	ASSERT_EQ(a.peak_live, b.peak_live);
	ASSERT_EQ(a.over_quota, b.over_quota);
	ASSERT_EQ(a.idle_releases, b.idle_releases);
}

FIXTURE(replay) {
	struct sim_trace t;
};

FIXTURE_VARIANT(replay) {
	const char *trace;
};

/* Over-quota rows (live pages above the quota), loops, several devices. */
FIXTURE_VARIANT_ADD(replay, net_rr_server) { .trace = "net-rr-server" };
FIXTURE_VARIANT_ADD(replay, nvme_seq) { .trace = "nvme-seq" };
FIXTURE_VARIANT_ADD(replay, net_bulk_client) { .trace = "net-bulk-client" };
FIXTURE_VARIANT_ADD(replay, db_pool) { .trace = "db-pool" };
FIXTURE_VARIANT_ADD(replay, net_streams_client) { .trace = "net-streams-client" };

FIXTURE_SETUP(replay)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s.txt.xz", TRACE_DIR, variant->trace);
	ASSERT_EQ(0, sim_trace_load(&self->t, path));
}

FIXTURE_TEARDOWN(replay)
{
	sim_trace_free(&self->t);
}

TEST_F(replay, same_counters)
{
	static const int kinds[] = {
		VMC_POLICY_LRU, VMC_POLICY_FIFO, VMC_POLICY_LIRS, VMC_POLICY_DUEL,
	};
	static const unsigned int pct[] = { 1, 25, 50, 75, 100 };

	for (unsigned int k = 0; k < ARRAY_SIZE(kinds); k++)
		for (unsigned int q = 0; q < ARRAY_SIZE(pct); q++) {
			u64 quota = ((u64)self->t.nr_pages * pct[q] + 50) / 100;

			compare(_metadata, &self->t, kinds[k], quota ?: 1, 0);
			compare(_metadata, &self->t, kinds[k], quota ?: 1, 500);
		}
}

/* The trace reader: strict, case-blind records, comments of any length. */
static int load_text(struct sim_trace *t, const char *text)
{
	char path[] = "/tmp/vmc-trace-XXXXXX";
	int fd = mkstemp(path), ret;
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");

	if (!f)
		return -2;
	fputs(text, f);
	fclose(f);
	ret = sim_trace_load(t, path);
	unlink(path);
	return ret;
}

TEST(reader_either_case)
{
	struct sim_trace a, b;

	ASSERT_EQ(0, load_text(&a, "m 1000 2000 5000\nu 1000 2000\nm 1000 1000 5000\n"));
	ASSERT_EQ(0, load_text(&b, "M 0x1000 0x2000 0x5000\nU 1000 2000\nM 1000 1000 5000\n"));
	ASSERT_EQ(a.nr_ev, b.nr_ev);
	ASSERT_EQ(5, a.nr_ev);
	ASSERT_EQ(2, a.nr_pages);
	ASSERT_EQ(2, a.ev[2].run);	/* one unmap run: one mapping released */
	sim_trace_free(&a);
	sim_trace_free(&b);
}

TEST(reader_long_comment)
{
	static char text[4096];
	struct sim_trace t;

	strcpy(text, "# ");
	memset(text + 2, 'x', 3000);
	strcpy(text + 3002, " m 1 1 1\nm 2000 1000 7000\n");
	ASSERT_EQ(0, load_text(&t, text));
	ASSERT_EQ(1, t.nr_lines);
	ASSERT_EQ(1, t.nr_maps);
	sim_trace_free(&t);
}

TEST(reader_refuses_other_lines)
{
	static const char *const bad[] = {
		"m 1000 1000 5000\nx 1 2\n",		/* unknown record */
		"m 1000 1000\n",			/* a field short */
		"u 1000 1000 5000\n",			/* a field too many */
		"m 1000 0 5000\n",			/* empty map */
		"m 1000 1000 5000 junk\n",
		"m 10000000000000000 1000 5000\n",	/* 17 digits */
		"m 1000 1000 50g0\n",
		"\n",					/* blank line */
		" m 1000 1000 5000\n",
		"# comments only\n",			/* no record */
	};
	struct sim_trace t;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *line = bad[i];

		EXPECT_EQ(-1, load_text(&t, line)) TH_LOG("accepted: %s", line);
	}
}

/*
 * dma_entry_limit in the simulator's translation cache (lazy mode), as
 * the module applies it: three one-page mappings made and unmapped twice.
 * Below the limit every mapping of the second round finds its cached
 * translation (a full hit).  With a limit of two, the third map of each
 * round finds two entries and drops them both (one flush) before it
 * makes its own, so no mapping of the second round is still cached.
 */
TEST(entry_limit)
{
	static const char text[] =
		"m 1000 1000 a000\nu 1000 1000\nm 2000 1000 b000\nu 2000 1000\n"
		"m 3000 1000 c000\nu 3000 1000\n"
		"m 1000 1000 a000\nu 1000 1000\nm 2000 1000 b000\nu 2000 1000\n"
		"m 3000 1000 c000\nu 3000 1000\n";
	struct sim_counts c;
	struct sim_trace t;

	ASSERT_EQ(0, load_text(&t, text));
	ASSERT_EQ(3, t.nr_iovas);
	/* Three entries fit in three IOVA pages: the limit is never reached. */
	sim_replay_counts_limit(&t, VMC_POLICY_LRU, 3, 0, 3, &c);
	EXPECT_EQ(3, c.full_hits);
	EXPECT_EQ(0, c.entry_drops);
	sim_replay_counts_limit(&t, VMC_POLICY_LRU, 3, 0, 2, &c);
	EXPECT_EQ(6, c.maps);
	EXPECT_EQ(3, c.pin_hits);	/* the pages stay pinned: quota 3 */
	EXPECT_EQ(0, c.full_hits);
	/* Map 3: entries 1 and 2; map 5: entries 3 and 4. */
	EXPECT_EQ(4, c.entry_drops);
	sim_trace_free(&t);
}

/*
 * At the limit, a map over a cached translation takes its entry over and
 * keeps the others: B's translation still serves B's map as it is; only
 * C, which overlaps nothing, drops both.
 */
TEST(entry_limit_map_over_cached)
{
	static const char text[] =
		"m 1000 1000 a000\nu 1000 1000\nm 2000 1000 b000\nu 2000 1000\n"
		"m 1000 1000 c000\nu 1000 1000\nm 2000 1000 b000\nu 2000 1000\n"
		"m 3000 1000 d000\nu 3000 1000\n";
	struct sim_counts c;
	struct sim_trace t;

	ASSERT_EQ(0, load_text(&t, text));
	sim_replay_counts_limit(&t, VMC_POLICY_LRU, 4, 0, 2, &c);
	EXPECT_EQ(1, c.full_hits);
	EXPECT_EQ(2, c.entry_drops);
	sim_trace_free(&t);
}

TEST_HARNESS_MAIN
