// SPDX-License-Identifier: GPL-2.0
/*
 * A recorded trace replayed through the simulator (tools/mapcache-sim) and
 * through the module's pin-cache rules, and every counter must agree.
 *
 * The second replay restates, call for call, what pincache.c does with the
 * policy core for a MAP_DMA and an UNMAP_DMA: vmc_pc_lookup_all() takes the
 * hits (vmc_pin_use()), vmc_pc_make_room() releases idle candidates then
 * evicts down to the quota for the misses or admits them above it,
 * vmc_pc_reserve() counts them, vmc_pc_insert_all() pins them live, batch
 * after batch of VMC_PIN_BATCH_PAGES; vmc_pc_put() releases a mapping's
 * pages (vmc_pin_unuse(), vmc_pin_idle()) then makes room for none.  The
 * quota, idle and batch rules come from policy.h, as in the module; only
 * the idle clock is the simulator's (requests, not jiffies).  It is the
 * simulator's own event order (sim.c) that is under test: how it groups a
 * trace's records into the module's calls, and where over-quota maps,
 * quota rounding and idle release happen.
 */
#include "policy.h"
#include "sim.h"
#include "kselftest_harness.h"

#include <unistd.h>

#ifndef TRACE_DIR
#define TRACE_DIR "../../../../traces"
#endif

struct mpin {
	struct vmc_pnode pn;
	u32 live;
	u32 idle_stamp;
	struct list_head idle;
	bool pinned;
};

struct mvm {
	struct vmc_policy policy;
	struct vmc_policy_mem pmem;
	struct vmc_duel duel;
	struct mpin *pins;		/* per page id */
	struct list_head idle;
	u64 quota_pages, pinned_pages, live_pages;
	u64 idle_window, reqs;		/* idle clock: requests, as sim.c's */
	struct sim_counts c;
};

static u32 mvm_epoch(const struct mvm *vm)
{
	return vm->reqs / vm->idle_window;
}

static void mvm_take(struct mvm *vm, struct mpin *pin)
{
	vmc_policy_del(&vm->policy, &pin->pn, VMC_DEL_EVICT);
	list_del_init(&pin->idle);
	pin->pinned = false;
	vm->pinned_pages--;
}

/* vmc_pc_release_idle() */
static void mvm_release_idle(struct mvm *vm)
{
	while (vm->idle_window && vm->policy.stats.nr_cand > VMC_IDLE_KEEP_PAGES) {
		struct mpin *pin = list_first_entry_or_null(&vm->idle, struct mpin, idle);

		if (!pin || !vmc_idle_expired(mvm_epoch(vm), pin->idle_stamp))
			break;
		mvm_take(vm, pin);
		vm->c.idle_releases++;
	}
}

/* vmc_pc_make_room() */
static bool mvm_make_room(struct mvm *vm, u64 nr_pages)
{
	u64 over;

	if (vm->idle_window && !list_empty(&vm->idle))
		mvm_release_idle(vm);
	over = vmc_quota_excess(vm->quota_pages, vm->pinned_pages, nr_pages);
	while (over--) {
		struct vmc_pnode *pn = vmc_policy_victim(&vm->policy);

		if (!pn)
			break;
		mvm_take(vm, container_of(pn, struct mpin, pn));
		vm->c.evictions++;
	}
	return !vmc_quota_excess(vm->quota_pages, vm->pinned_pages, nr_pages);
}

/* vmc_pin_use() */
static void mvm_use(struct mvm *vm, struct mpin *pin)
{
	if (!pin->live++) {
		list_del_init(&pin->idle);
		if (++vm->live_pages > vm->c.peak_live)
			vm->c.peak_live = vm->live_pages;
	}
	vmc_policy_hit(&vm->policy, &pin->pn);
}

/* vmc_pin_unuse() and vmc_pin_idle() */
static void mvm_unuse(struct mvm *vm, struct mpin *pin)
{
	if (--pin->live)
		return;
	vm->live_pages--;
	vmc_policy_unmap(&vm->policy, &pin->pn);
	if (vm->idle_window) {
		pin->idle_stamp = mvm_epoch(vm);
		list_add_tail(&pin->idle, &vm->idle);
	}
	vm->reqs++;	/* the page's release is a tick of the clock */
}

/* vmc_pc_get_batch(): lookup_all, reserve, insert_all. */
static void mvm_get_batch(struct mvm *vm, const struct sim_ev *ev, u32 nr)
{
	u64 misses = 0;
	u32 i;

	for (i = 0; i < nr; i++) {
		struct mpin *pin = &vm->pins[ev[i].page];

		vm->c.maps++;
		if (pin->pinned) {
			mvm_use(vm, pin);
			vm->c.pin_hits++;
		} else {
			misses++;
		}
	}
	if (!mvm_make_room(vm, misses)) {
		u64 over = vmc_quota_excess(vm->quota_pages, vm->pinned_pages, misses);

		vm->c.over_quota += min(over, misses);
	}
	vm->pinned_pages += misses;
	if (vm->pinned_pages > vm->c.peak_pinned)
		vm->c.peak_pinned = vm->pinned_pages;
	vm->c.misses += misses;
	for (i = 0; i < nr; i++) {
		struct mpin *pin = &vm->pins[ev[i].page];

		if (pin->pinned)
			continue;
		pin->pinned = true;
		pin->live = 1;
		INIT_LIST_HEAD(&pin->idle);
		if (++vm->live_pages > vm->c.peak_live)
			vm->c.peak_live = vm->live_pages;
		vmc_policy_insert(&vm->policy, &pin->pn, ev[i].page, VMC_INS_LIVE);
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

		if (pin->live)
			mvm_unuse(vm, pin);
	}
	mvm_make_room(vm, 0);
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
	vm->quota_pages = quota;
	vm->idle_window = idle;
	INIT_LIST_HEAD(&vm->idle);
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
	ASSERT_EQ(0, vmc_policy_init(&vm->policy, kind, quota, mem));
	for (size_t i = 0; i < t->nr_ev; i++) {
		const struct sim_ev *e = &t->ev[i];
		u32 nr = e->run ? e->run : 1;

		if (e->op == EV_MAP)
			mvm_map(vm, e, nr);
		else
			mvm_put(vm, e, nr);
		i += nr - 1;
	}
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

TEST_HARNESS_MAIN
