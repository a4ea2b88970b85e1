// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the vfio-mapcache policy core, in userspace.
 *
 * Every policy is driven through long random sequences of the events a pin
 * cache produces (map, unmap, prefetch, evict down to a quota, invalidate,
 * quota change) next to a brute-force reference model (refmodel.c), and
 * every victim and counter must agree at every step.  Edge cases follow:
 * quota 0 and 1, all pages live, huge quotas and keys at the top of the
 * address space, bad arguments, and the behaviour each policy exists for.
 */
#include "policy.h"
#include "refmodel.h"
#include "kselftest_harness.h"

#define NR_PAGES	96
#define NR_GHOSTS	64

static u64 rng_next(u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Keys spread over the whole 64-bit space, both ends included. */
static u64 page_key(int i)
{
	if (i == 0)
		return 0;
	if (i == 1)
		return U64_MAX;
	if (i == 2)
		return U64_MAX - 1;
	return (u64)i * 0x9e3779b97f4a7c15ULL;
}

struct sim {
	struct vmc_policy pol;
	struct ref_policy ref;
	struct vmc_pnode pn[NR_PAGES];
	struct vmc_ghost ghosts[NR_GHOSTS];
	struct hlist_head buckets[16];
	int maps[NR_PAGES];	/* live mappings per page */
	bool pinned[NR_PAGES];
	u64 nr_pinned;
	u64 quota;
	/*
	 * DUEL: the reference is LIRS (@ref) and, fed the same events, LRU
	 * (@lru_ref): the victim is LRU's while the LRU shadow leads.
	 */
	bool duel;
	struct ref_policy lru_ref;
	struct vmc_duel shadows;
	struct vmc_shadow ents[2 * NR_PAGES + VMC_DUEL_SLACK];
	struct hlist_head ent_buckets[64];
	struct vmc_ghost shadow_ghosts[2 * NR_PAGES];
	struct hlist_head shadow_buckets[64];
};

static int sim_index(struct sim *s, struct vmc_pnode *pn)
{
	return pn ? (int)(pn - s->pn) : -1;
}

/* Ghost hash buckets sim_init() hands in (a power of two, 1 to 16). */
static u32 sim_buckets = 16;
/* DUEL: hand in storage for the shadows (else it keeps LIRS's order). */
static bool sim_shadows;

static void sim_init(struct __test_metadata *_metadata, struct sim *s,
		     int kind, u64 quota, u32 nr_ghosts)
{
	struct vmc_policy_mem mem = {
		.ghosts = s->ghosts, .nr_ghosts = nr_ghosts,
		.buckets = s->buckets, .nr_buckets = sim_buckets,
	};

	memset(s, 0, sizeof(*s));
	s->quota = quota;
	if (kind == VMC_POLICY_DUEL && sim_shadows) {
		s->shadows = (struct vmc_duel){
			.ents = s->ents, .nr_ents = ARRAY_SIZE(s->ents),
			.buckets = s->ent_buckets, .nr_buckets = 64,
			.mem = {
				.ghosts = s->shadow_ghosts,
				.nr_ghosts = ARRAY_SIZE(s->shadow_ghosts),
				.buckets = s->shadow_buckets, .nr_buckets = 64,
			},
		};
		mem.duel = &s->shadows;
	}
	ASSERT_EQ(0, vmc_policy_init(&s->pol, kind, quota, &mem));
	s->duel = kind == VMC_POLICY_DUEL;
	ref_init(&s->ref, s->duel ? VMC_POLICY_LIRS : kind, quota, nr_ghosts);
	ref_init(&s->lru_ref, VMC_POLICY_LRU, quota, 0);
}

/* The victim the references expect. */
static int sim_expected(struct sim *s)
{
	if (s->duel && s->pol.mem.duel && s->pol.mem.duel->lru_leads)
		return ref_victim(&s->lru_ref);
	return ref_victim(&s->ref);
}

static u64 hir_live(struct sim *s)
{
	u64 n = 0;

	for (int i = 0; i < NR_PAGES; i++)
		n += s->pinned[i] && s->maps[i] && !s->ref.pg[i].lir;
	return n;
}

static void sim_check(struct __test_metadata *_metadata, struct sim *s)
{
	int v = sim_index(s, vmc_policy_victim(&s->pol));

	ASSERT_EQ(sim_expected(s), v);
	if (!s->duel || !s->pol.mem.duel || !s->pol.mem.duel->lru_leads)
		ASSERT_EQ(ref_victim_cold(&s->ref),
			  sim_index(s, vmc_policy_victim_cold(&s->pol)));
	if (s->pol.mem.duel) {
		const struct vmc_duel *d = s->pol.mem.duel;

		/* Shadows within their quota but for live pages. */
		for (int k = 0; k < 2; k++)
			ASSERT_LE(d->pinned[k], max(d->shadow_pages,
						    d->shadow[k].stats.nr_live));
	}
	if (v >= 0) {
		ASSERT_TRUE(s->pinned[v]);
		ASSERT_EQ(0, s->maps[v]);	/* never a live page */
		ASSERT_FALSE(vmc_pnode_live(&s->pn[v]));
	}
	ASSERT_EQ(s->ref.nr_lir, s->pol.stats.nr_lir);
	if (s->ref.kind == VMC_POLICY_LIRS && !s->pol.mem.duel)
		ASSERT_EQ(hir_live(s), s->pol.stats.nr_hir_live);
	ASSERT_EQ(s->ref.nr_ghosts, s->pol.stats.nr_ghosts);
	ASSERT_LE(s->pol.stats.nr_ghosts, NR_GHOSTS);
	ASSERT_EQ(s->nr_pinned, s->pol.stats.nr_live + s->pol.stats.nr_cand);
}

static void sim_del(struct sim *s, int i, bool evicted)
{
	vmc_policy_del(&s->pol, &s->pn[i], evicted);
	ref_del(&s->ref, i, evicted);
	ref_del(&s->lru_ref, i, evicted);
	s->pinned[i] = false;
	s->maps[i] = 0;
	s->nr_pinned--;
}

/* Evict until there is room for one more page; false if all are live. */
static bool sim_make_room(struct __test_metadata *_metadata, struct sim *s)
{
	while (s->nr_pinned >= s->quota) {
		int v = sim_index(s, vmc_policy_victim(&s->pol));

		if (v != sim_expected(s))
			return false;	/* caught by sim_check() */
		if (v < 0)
			return false;
		sim_del(s, v, VMC_DEL_EVICT);
	}
	return true;
}

static void sim_map(struct __test_metadata *_metadata, struct sim *s, int i)
{
	if (s->pinned[i]) {
		vmc_policy_hit(&s->pol, &s->pn[i]);
		ref_hit(&s->ref, i);
		ref_hit(&s->lru_ref, i);
	} else {
		sim_make_room(_metadata, s);	/* over quota if all live */
		vmc_policy_insert(&s->pol, &s->pn[i], page_key(i),
				  VMC_INS_LIVE);
		ref_insert(&s->ref, i, false);
		ref_insert(&s->lru_ref, i, false);
		s->pinned[i] = true;
		s->nr_pinned++;
	}
	s->maps[i]++;
	ASSERT_TRUE(vmc_pnode_live(&s->pn[i]));
}

static void sim_unmap(struct sim *s, int i)
{
	if (!s->maps[i] || --s->maps[i])
		return;
	vmc_policy_unmap(&s->pol, &s->pn[i]);
	ref_unmap(&s->ref, i);
	ref_unmap(&s->lru_ref, i);
}

static void sim_prefetch(struct __test_metadata *_metadata, struct sim *s,
			 int i)
{
	if (s->pinned[i] || !sim_make_room(_metadata, s))
		return;
	vmc_policy_insert(&s->pol, &s->pn[i], page_key(i), VMC_INS_PREFETCH);
	ref_insert(&s->ref, i, true);
	ref_insert(&s->lru_ref, i, true);
	s->pinned[i] = true;
	s->nr_pinned++;
	ASSERT_FALSE(vmc_pnode_live(&s->pn[i]));
}

static void sim_step(struct __test_metadata *_metadata, struct sim *s,
		     u64 *rng, int span)
{
	u64 r = rng_next(rng);
	int i = (int)((r >> 8) % span);

	switch (r % 16) {
	case 0 ... 6:
		sim_map(_metadata, s, i);
		break;
	case 7 ... 12:
		sim_unmap(s, i);
		break;
	case 13:
		sim_prefetch(_metadata, s, i);
		break;
	case 14:
		if (s->pinned[i])
			sim_del(s, i, VMC_DEL_DROP);
		break;
	default:
		if ((r >> 40) % 64 == 0) {
			s->quota = (r >> 20) % (NR_PAGES + 8);
			vmc_policy_set_capacity(&s->pol, s->quota);
			ref_set_capacity(&s->ref, s->quota);
			ref_set_capacity(&s->lru_ref, s->quota);
		} else {
			sim_map(_metadata, s, i);
			sim_unmap(s, i);
		}
	}
}

/* Random sequences against the reference model. */
static void random_run(struct __test_metadata *_metadata, int kind,
		       u64 seed, u32 nr_ghosts)
{
	static struct sim s;
	u64 rng = seed;
	int step, span = 8 + seed % (NR_PAGES - 8);

	sim_init(_metadata, &s, kind, rng_next(&rng) % (span + 4), nr_ghosts);
	for (step = 0; step < 20000; step++) {
		sim_step(_metadata, &s, &rng, span);
		sim_check(_metadata, &s);
		if (_metadata->exit_code)
			return;
	}
	while (s.nr_pinned) {
		int v = sim_index(&s, vmc_policy_victim(&s.pol));

		if (v < 0) {
			for (v = 0; !s.pinned[v]; v++)
				;
		}
		sim_del(&s, v, v & 1);
		sim_check(_metadata, &s);
	}
	ASSERT_EQ(0, s.pol.stats.nr_live + s.pol.stats.nr_cand);
	ASSERT_EQ(0, s.pol.stats.nr_lir);
}

FIXTURE(policy) {
	struct sim s;
};

FIXTURE_VARIANT(policy) {
	int kind;
};

FIXTURE_VARIANT_ADD(policy, lru) { .kind = VMC_POLICY_LRU };
FIXTURE_VARIANT_ADD(policy, fifo) { .kind = VMC_POLICY_FIFO };
FIXTURE_VARIANT_ADD(policy, lirs) { .kind = VMC_POLICY_LIRS };
/* Without shadow storage DUEL is LIRS to the letter. */
FIXTURE_VARIANT_ADD(policy, duel) { .kind = VMC_POLICY_DUEL };

FIXTURE_SETUP(policy)
{
}

FIXTURE_TEARDOWN(policy)
{
}

TEST_F(policy, random_vs_reference)
{
	u64 seed;

	for (seed = 1; seed <= 40; seed++) {
		random_run(_metadata, variant->kind, seed * 0x2545f4914f6cdd1dULL,
			   NR_GHOSTS);
		if (_metadata->exit_code) {
			TH_LOG("seed %llu", (unsigned long long)seed);
			return;
		}
	}
}

TEST_F(policy, random_no_history)
{
	u64 seed;

	for (seed = 1; seed <= 10; seed++)
		random_run(_metadata, variant->kind, seed * 7919, 0);
}

TEST_F(policy, random_tiny_history)
{
	u64 seed;

	for (seed = 1; seed <= 10; seed++)
		random_run(_metadata, variant->kind, seed * 104729, 2);
}

/* One hash bucket (a one-page quota's history): no bucket out of range. */
TEST_F(policy, one_bucket)
{
	u64 seed;

	sim_buckets = 1;
	for (seed = 1; seed <= 5; seed++)
		random_run(_metadata, variant->kind, seed * 6151, 2);
	sim_buckets = 16;
}

TEST_F(policy, quota_zero)
{
	struct sim *s = &self->s;

	sim_init(_metadata, s, variant->kind, 0, NR_GHOSTS);
	sim_map(_metadata, s, 3);
	ASSERT_EQ(NULL, vmc_policy_victim(&s->pol));	/* live: keep */
	sim_unmap(s, 3);
	ASSERT_EQ(&s->pn[3], vmc_policy_victim(&s->pol));
	sim_map(_metadata, s, 4);	/* evicts 3 first */
	ASSERT_FALSE(s->pinned[3]);
	ASSERT_EQ(1, s->nr_pinned);
	sim_check(_metadata, s);
}

TEST_F(policy, quota_one)
{
	struct sim *s = &self->s;
	int i;

	sim_init(_metadata, s, variant->kind, 1, NR_GHOSTS);
	for (i = 0; i < 50; i++) {
		sim_map(_metadata, s, i % 3);
		sim_unmap(s, i % 3);
		ASSERT_EQ(1, s->nr_pinned);
		ASSERT_EQ(&s->pn[i % 3], vmc_policy_victim(&s->pol));
		sim_check(_metadata, s);
	}
}

TEST_F(policy, all_live_never_victims)
{
	struct sim *s = &self->s;
	int i;

	sim_init(_metadata, s, variant->kind, 8, NR_GHOSTS);
	for (i = 0; i < 32; i++) {
		sim_map(_metadata, s, i);
		ASSERT_EQ(NULL, vmc_policy_victim(&s->pol));
	}
	ASSERT_EQ(32, s->nr_pinned);	/* over quota: the caller's call */
	for (i = 31; i >= 0; i--)
		sim_unmap(s, i);
	ASSERT_NE(NULL, vmc_policy_victim(&s->pol));
	sim_check(_metadata, s);
}

TEST_F(policy, huge_quota_top_keys)
{
	struct sim *s = &self->s;
	struct vmc_pnode *v;
	int i;

	sim_init(_metadata, s, variant->kind, U64_MAX, NR_GHOSTS);
	ASSERT_LT(0, s->pol.lir_max + (variant->kind != VMC_POLICY_LIRS));
	for (i = 0; i < 3; i++) {	/* keys 0, U64_MAX, U64_MAX - 1 */
		sim_map(_metadata, s, i);
		sim_unmap(s, i);
	}
	v = vmc_policy_victim(&s->pol);
	ASSERT_NE(NULL, v);
	ASSERT_EQ(0, v->key);
	vmc_policy_set_capacity(&s->pol, U64_MAX - 1);
	ref_set_capacity(&s->ref, U64_MAX - 1);
	sim_check(_metadata, s);
	sim_del(s, 1, VMC_DEL_EVICT);
	sim_check(_metadata, s);
}

TEST_F(policy, prefetched_is_candidate)
{
	struct sim *s = &self->s;

	sim_init(_metadata, s, variant->kind, 4, NR_GHOSTS);
	sim_map(_metadata, s, 1);
	sim_prefetch(_metadata, s, 2);
	ASSERT_EQ(&s->pn[2], vmc_policy_victim(&s->pol));
	sim_map(_metadata, s, 2);	/* the guest wants it: a hit */
	ASSERT_EQ(NULL, vmc_policy_victim(&s->pol));
	sim_check(_metadata, s);
}

/* A loop over twice the quota: LRU always evicts the next page. */
static u64 loop_hits(struct __test_metadata *_metadata, int kind)
{
	static struct sim s;
	u64 hits = 0;
	int pass, i;

	sim_init(_metadata, &s, kind, 40, NR_GHOSTS);
	for (pass = 0; pass < 10; pass++) {
		for (i = 0; i < 80; i++) {
			hits += pass > 0 && s.pinned[i];
			sim_map(_metadata, &s, i);
			sim_unmap(&s, i);
		}
	}
	return hits;
}

TEST(lirs_resists_loops)
{
	u64 lru = loop_hits(_metadata, VMC_POLICY_LRU);
	u64 lirs = loop_hits(_metadata, VMC_POLICY_LIRS);

	ASSERT_EQ(0, lru);
	ASSERT_GE(lirs, 9 * 38);	/* 39 LIR pages, each pass */
}

TEST(duel_resists_loops)
{
	u64 hits;

	sim_shadows = true;
	hits = loop_hits(_metadata, VMC_POLICY_DUEL);
	sim_shadows = false;
	ASSERT_GE(hits, 9 * 38);	/* LIRS's hits: LRU gets none */
}

/*
 * With its shadows, DUEL's victim is LIRS's or LRU's (as the references
 * fed the same events say) whichever leads, through random sequences; the
 * lead is also handed over by force, so that both orders are followed
 * from states the other one made.
 */
TEST(duel_random_follows_the_leader)
{
	u64 seed, switches = 0;

	sim_shadows = true;
	for (seed = 1; seed <= 40 && !_metadata->exit_code; seed++) {
		static struct sim s;
		u64 rng = seed * 0x9e3779b97f4a7c15ULL;
		int step, span = 8 + seed % (NR_PAGES - 8);

		sim_init(_metadata, &s, VMC_POLICY_DUEL, span / 2 + seed % 8,
			 NR_GHOSTS);
		for (step = 0; step < 20000 && !_metadata->exit_code; step++) {
			/* Phases: a hot set that moves, then loops. */
			int i = (int)(rng_next(&rng) % (span / 3 + 1)) +
				(step / 2000 % 3) * (span / 3);

			/* Hand the lead over now and then, whatever the score. */
			if (step % 3000 == 1500) {
				s.shadows.lru_leads = !s.shadows.lru_leads;
				s.shadows.score = s.shadows.lru_leads ?
						  VMC_DUEL_SCORE_MAX : -VMC_DUEL_SCORE_MAX;
				s.shadows.switches++;
			}
			if (step / 2000 % 2) {
				sim_step(_metadata, &s, &rng, span);
			} else {
				sim_map(_metadata, &s, i % span);
				sim_unmap(&s, i % span);
			}
			sim_check(_metadata, &s);
		}
		switches += s.shadows.switches;
	}
	sim_shadows = false;
	TH_LOG("%llu switches of order", (unsigned long long)switches);
}

TEST(fifo_ignores_reuse)
{
	static struct sim s;

	sim_init(_metadata, &s, VMC_POLICY_FIFO, 3, 0);
	sim_map(_metadata, &s, 5);
	sim_map(_metadata, &s, 6);
	sim_unmap(&s, 6);
	sim_unmap(&s, 5);
	sim_map(_metadata, &s, 5);	/* reuse does not refresh 5 */
	sim_unmap(&s, 5);
	ASSERT_EQ(&s.pn[5], vmc_policy_victim(&s.pol));
}

TEST(lru_orders_by_unmap)
{
	static struct sim s;

	sim_init(_metadata, &s, VMC_POLICY_LRU, 3, 0);
	sim_map(_metadata, &s, 5);
	sim_map(_metadata, &s, 6);
	sim_unmap(&s, 6);
	sim_unmap(&s, 5);
	ASSERT_EQ(&s.pn[6], vmc_policy_victim(&s.pol));
}

TEST(bad_arguments)
{
	struct vmc_policy pol;
	struct vmc_ghost g[4];
	struct hlist_head b[3];
	struct vmc_policy_mem mem = {
		.ghosts = g, .nr_ghosts = 4, .buckets = b, .nr_buckets = 3,
	};
	struct vmc_ag ag;
	struct vmc_ag_cfg cfg = { .succ = 2, .depth = 2, .width = 1 };

	ASSERT_EQ(-EINVAL, vmc_policy_init(&pol, VMC_POLICY_NR, 1, NULL));
	ASSERT_EQ(-EINVAL, vmc_policy_init(&pol, -1, 1, NULL));
	ASSERT_EQ(-EINVAL, vmc_policy_init(&pol, VMC_POLICY_LIRS, 1, &mem));
	mem.nr_buckets = 0;
	ASSERT_EQ(-EINVAL, vmc_policy_init(&pol, VMC_POLICY_LIRS, 1, &mem));
	mem.nr_ghosts = 0;
	ASSERT_EQ(0, vmc_policy_init(&pol, VMC_POLICY_LIRS, 1, &mem));
	ASSERT_EQ(-EINVAL, vmc_ag_init(&ag, &cfg, NULL, 0, b, 3));
	ASSERT_EQ(-EINVAL, vmc_ag_init(&ag, &cfg, NULL, 0, NULL, 0));
	ASSERT_EQ(0, vmc_ag_init(&ag, &cfg, NULL, 0, b, 2));
	vmc_ag_record(&ag, 1);
	vmc_ag_record(&ag, 2);
	ASSERT_EQ(0, vmc_ag_predict(&ag, 1, (u64[4]){}, 4));
}

TEST(kind_names)
{
	int k;

	for (k = 0; k < VMC_POLICY_NR; k++)
		ASSERT_EQ(k, vmc_policy_kind_parse(vmc_policy_kind_name(k)));
	ASSERT_EQ(-EINVAL, vmc_policy_kind_parse("LRU"));
	ASSERT_EQ(-EINVAL, vmc_policy_kind_parse(""));
	ASSERT_EQ(NULL, vmc_policy_kind_name(VMC_POLICY_NR));
}

/* Access graph. */

#define AG_NODES	24

static void ag_random_run(struct __test_metadata *_metadata, u64 seed)
{
	static struct vmc_agnode nodes[AG_NODES];
	static struct hlist_head buckets[8];
	static struct ref_ag ref;
	struct vmc_ag ag;
	u64 rng = seed, out[40], rout[40];
	struct vmc_ag_cfg cfg = {
		.succ = rng_next(&rng) % 6, .depth = rng_next(&rng) % 10,
		.width = rng_next(&rng) % 5, .max_pages = rng_next(&rng) % 40,
	};
	u32 nr_nodes = rng_next(&rng) % (AG_NODES + 1);
	int span = 4 + rng_next(&rng) % 40, step;
	u64 key = 0;

	ASSERT_EQ(0, vmc_ag_init(&ag, &cfg, nodes, nr_nodes, buckets, 8));
	ref_ag_init(&ref, cfg.succ, cfg.depth, cfg.width, cfg.max_pages,
		    nr_nodes);
	for (step = 0; step < 5000; step++) {
		u64 r = rng_next(&rng);
		u32 n, rn, max = r % 41;

		/* Mostly a loop with detours, keys at both ends of u64. */
		key = (r >> 8) % 4 ? key + 1 : (r >> 16) % span;
		key %= span;
		vmc_ag_record(&ag, page_key(key));
		ref_ag_record(&ref, page_key(key));
		n = vmc_ag_predict(&ag, page_key((r >> 24) % span), out, max);
		rn = ref_ag_predict(&ref, page_key((r >> 24) % span), rout,
				    max);
		ASSERT_EQ(rn, n);
		ASSERT_EQ(0, memcmp(out, rout, n * sizeof(out[0])));
		ASSERT_LE(ag.nr_used, nr_nodes);
	}
}

TEST(ag_random_vs_reference)
{
	u64 seed;

	for (seed = 1; seed <= 200 && !_metadata->exit_code; seed++)
		ag_random_run(_metadata, seed * 0x9e3779b97f4a7c15ULL);
}

/* Moved into a larger graph, history is whole; into a smaller, the newest. */
TEST(ag_move_keeps_the_newest)
{
	struct vmc_agnode nodes[8], grown_nodes[16], shrunk_nodes[4];
	struct hlist_head b[8], grown_b[16], shrunk_b[4];
	struct vmc_ag_cfg cfg = {
		.succ = 2, .depth = 3, .width = 2, .max_pages = 16,
	};
	struct vmc_ag ag, grown, shrunk;
	u64 out[16], out2[16], key;
	u32 n, round;

	ASSERT_EQ(0, vmc_ag_init(&ag, &cfg, nodes, 8, b, 8));
	for (round = 0; round < 3; round++)
		for (key = 100; key < 108; key++)
			vmc_ag_record(&ag, key);
	ASSERT_EQ(8, ag.nr_used);

	ASSERT_EQ(0, vmc_ag_init(&grown, &cfg, grown_nodes, 16, grown_b, 16));
	vmc_ag_move(&grown, &ag);
	ASSERT_EQ(8, grown.nr_used);
	ASSERT_EQ(ag.prev, grown.prev);
	for (key = 100; key < 108; key++) {
		n = vmc_ag_predict(&ag, key, out, 16);
		ASSERT_EQ(n, vmc_ag_predict(&grown, key, out2, 16));
		ASSERT_EQ(0, memcmp(out, out2, n * sizeof(out[0])));
	}

	/* Extended last: 107 (by 100), then 100 .. 106. */
	ASSERT_EQ(0, vmc_ag_init(&shrunk, &cfg, shrunk_nodes, 4, shrunk_b, 4));
	vmc_ag_move(&shrunk, &ag);
	ASSERT_EQ(4, shrunk.nr_used);
	ASSERT_EQ(0, vmc_ag_predict(&shrunk, 102, out, 16));
	ASSERT_EQ(3, vmc_ag_predict(&shrunk, 103, out, 16));
	ASSERT_EQ(104, out[0]);
	ASSERT_EQ(106, out[2]);
	/* It keeps learning from where the old graph stopped. */
	vmc_ag_record(&shrunk, 42);
	ASSERT_EQ(1, vmc_ag_predict(&shrunk, 107, out, 16));
	ASSERT_EQ(42, out[0]);
}

FIXTURE(ag) {
	struct vmc_agnode nodes[8];
	struct hlist_head buckets[4];
	struct vmc_ag ag;
	u64 out[16];
};

FIXTURE_SETUP(ag)
{
	struct vmc_ag_cfg cfg = {
		.succ = 2, .depth = 3, .width = 2, .max_pages = 16,
	};

	ASSERT_EQ(0, vmc_ag_init(&self->ag, &cfg, self->nodes, 8,
				 self->buckets, 4));
}

FIXTURE_TEARDOWN(ag)
{
}

/* One hash bucket: every node in bucket 0, still found. */
TEST(ag_one_bucket)
{
	struct vmc_ag_cfg cfg = { .succ = 2, .depth = 2, .width = 2, .max_pages = 8 };
	struct vmc_agnode nodes[4];
	struct hlist_head bucket;
	struct vmc_ag ag;
	u64 out[8];

	ASSERT_EQ(0, vmc_ag_init(&ag, &cfg, nodes, 4, &bucket, 1));
	vmc_ag_record(&ag, 1ULL << 40);
	vmc_ag_record(&ag, 7);
	vmc_ag_record(&ag, 9);
	ASSERT_EQ(2, vmc_ag_predict(&ag, 1ULL << 40, out, 8));
	ASSERT_EQ(7, out[0]);
	ASSERT_EQ(9, out[1]);
}

TEST_F(ag, follows_the_last_path)
{
	u64 seq[] = { 10, 11, 12, 13, 10, 11, 20, 21 };
	u32 i, n;

	for (i = 0; i < ARRAY_SIZE(seq); i++)
		vmc_ag_record(&self->ag, seq[i]);
	n = vmc_ag_predict(&self->ag, 10, self->out, 16);
	/* 11; then 20 (newest) and 12; then 21 and 13. */
	ASSERT_EQ(5, n);
	ASSERT_EQ(11, self->out[0]);
	ASSERT_EQ(20, self->out[1]);
	ASSERT_EQ(12, self->out[2]);
	ASSERT_EQ(21, self->out[3]);
	ASSERT_EQ(13, self->out[4]);
	ASSERT_EQ(2, vmc_ag_predict(&self->ag, 10, self->out, 2));
}

TEST_F(ag, no_self_edges_nor_origin)
{
	u64 seq[] = { 5, 5, 5, 6, 5, 6 };
	u32 i, n;

	for (i = 0; i < ARRAY_SIZE(seq); i++)
		vmc_ag_record(&self->ag, seq[i]);
	n = vmc_ag_predict(&self->ag, 5, self->out, 16);
	ASSERT_EQ(1, n);
	ASSERT_EQ(6, self->out[0]);
}

TEST_F(ag, bounded_nodes_recycle_oldest)
{
	u64 k;
	u32 n;

	for (k = U64_MAX - 40; k != 0; k++)	/* wraps at the top */
		vmc_ag_record(&self->ag, k);
	ASSERT_EQ(8, self->ag.nr_used);
	ASSERT_LT(0, self->ag.nr_recycled);
	ASSERT_EQ(0, vmc_ag_predict(&self->ag, U64_MAX - 40, self->out, 16));
	n = vmc_ag_predict(&self->ag, U64_MAX - 3, self->out, 16);
	ASSERT_EQ(3, n);	/* U64_MAX - 2, U64_MAX - 1, U64_MAX */
	ASSERT_EQ(U64_MAX - 2, self->out[0]);
}

TEST_HARNESS_MAIN
