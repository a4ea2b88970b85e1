// SPDX-License-Identifier: GPL-2.0
/*
 * Access-graph prefetching, after the FAR/FARL paging work the 2010 map-cache
 * design cites: the graph remembers which pages the guest mapped right after
 * each page, and a miss on a page proposes the pages that followed it last
 * time, and the pages that followed those, for pinning ahead of the guest's
 * request.  Nodes come from the caller's array; the least recently extended
 * one is recycled when it runs out, so the graph is bounded and follows the
 * workload as it changes.
 */
#include "policy.h"

int vmc_ag_init(struct vmc_ag *ag, const struct vmc_ag_cfg *cfg,
		struct vmc_agnode *nodes, u32 nr_nodes,
		struct hlist_head *buckets, u32 nr_buckets)
{
	u32 i;

	if (!buckets || !nr_buckets || !is_power_of_2(nr_buckets))
		return -EINVAL;
	memset(ag, 0, sizeof(*ag));
	ag->cfg = *cfg;
	ag->cfg.succ = clamp_t(u32, cfg->succ, 1, VMC_AG_MAX_SUCC);
	ag->cfg.depth = clamp_t(u32, cfg->depth, 1, VMC_AG_MAX_DEPTH);
	ag->cfg.width = clamp_t(u32, cfg->width, 1, ag->cfg.succ);
	ag->nodes = nodes;
	ag->nr_nodes = nodes ? nr_nodes : 0;
	ag->buckets = buckets;
	ag->bucket_bits = ilog2(nr_buckets);
	for (i = 0; i < nr_buckets; i++)
		INIT_HLIST_HEAD(&buckets[i]);
	INIT_LIST_HEAD(&ag->age);
	return 0;
}

static struct hlist_head *vmc_ag_bucket(const struct vmc_ag *ag, u64 key)
{
	/* hash_64() of 0 bits would shift by 64: one bucket is bucket 0. */
	return &ag->buckets[ag->bucket_bits ? hash_64(key, ag->bucket_bits) : 0];
}

static struct vmc_agnode *vmc_ag_find(const struct vmc_ag *ag, u64 key)
{
	struct vmc_agnode *n;

	hlist_for_each_entry(n, vmc_ag_bucket(ag, key), hash)
		if (n->key == key)
			return n;
	return NULL;
}

static struct vmc_agnode *vmc_ag_get(struct vmc_ag *ag, u64 key)
{
	struct vmc_agnode *n = vmc_ag_find(ag, key);

	if (n)
		return n;
	if (ag->nr_used < ag->nr_nodes) {
		n = &ag->nodes[ag->nr_used++];
	} else if (!list_empty(&ag->age)) {
		n = list_first_entry(&ag->age, struct vmc_agnode, age);
		hlist_del(&n->hash);
		list_del(&n->age);
		ag->nr_recycled++;
	} else {
		return NULL;
	}
	n->key = key;
	n->nr_succ = 0;
	hlist_add_head(&n->hash, vmc_ag_bucket(ag, key));
	list_add_tail(&n->age, &ag->age);
	return n;
}

/* Put @key first in @n's successors, shifting the others down. */
static void vmc_ag_add_succ(struct vmc_ag *ag, struct vmc_agnode *n, u64 key)
{
	u32 i;

	for (i = 0; i < n->nr_succ; i++)
		if (n->succ[i] == key)
			break;
	if (i == n->nr_succ) {
		if (n->nr_succ < ag->cfg.succ)
			n->nr_succ++;
		i = n->nr_succ - 1;
	}
	for (; i > 0; i--)
		n->succ[i] = n->succ[i - 1];
	n->succ[0] = key;
}

void vmc_ag_record(struct vmc_ag *ag, u64 key)
{
	struct vmc_agnode *n;

	if (ag->have_prev && ag->prev != key) {
		n = vmc_ag_get(ag, ag->prev);
		if (n) {
			vmc_ag_add_succ(ag, n, key);
			list_move_tail(&n->age, &ag->age);
		}
	}
	ag->prev = key;
	ag->have_prev = true;
}

static bool vmc_ag_seen(const u64 *out, u32 nr, u64 key)
{
	u32 i;

	for (i = 0; i < nr; i++)
		if (out[i] == key)
			return true;
	return false;
}

/* Append up to cfg.width successors of @src to @out[0..@nr). */
static u32 vmc_ag_expand(const struct vmc_ag *ag, u64 origin, u64 src,
			 u64 *out, u32 nr, u32 max)
{
	const struct vmc_agnode *n = vmc_ag_find(ag, src);
	u32 i, width;

	if (!n)
		return nr;
	width = min(n->nr_succ, ag->cfg.width);
	for (i = 0; i < width && nr < max; i++) {
		if (n->succ[i] != origin && !vmc_ag_seen(out, nr, n->succ[i]))
			out[nr++] = n->succ[i];
	}
	return nr;
}

u32 vmc_ag_predict(const struct vmc_ag *ag, u64 key, u64 *out, u32 max)
{
	u32 nr, head = 0, level_end, depth;

	max = min(max, ag->cfg.max_pages);
	if (!ag->nr_nodes || !max)
		return 0;
	nr = vmc_ag_expand(ag, key, key, out, 0, max);
	for (depth = 1; depth < ag->cfg.depth && head < nr && nr < max; depth++) {
		level_end = nr;
		for (; head < level_end && nr < max; head++)
			nr = vmc_ag_expand(ag, key, out[head], out, nr, max);
	}
	return nr;
}

void vmc_ag_move(struct vmc_ag *dst, const struct vmc_ag *src)
{
	const struct vmc_agnode *n;
	u32 skip = 0, i;

	/* Every node handed out is on the age list: nr_used of them. */
	if (src->nr_used > dst->nr_nodes)
		skip = src->nr_used - dst->nr_nodes;
	list_for_each_entry(n, &src->age, age) {
		struct vmc_agnode *m;

		if (skip) {
			skip--;
			continue;
		}
		m = &dst->nodes[dst->nr_used++];
		m->key = n->key;
		m->nr_succ = min(n->nr_succ, dst->cfg.succ);
		for (i = 0; i < m->nr_succ; i++)
			m->succ[i] = n->succ[i];
		hlist_add_head(&m->hash, vmc_ag_bucket(dst, m->key));
		list_add_tail(&m->age, &dst->age);
	}
	dst->prev = src->prev;
	dst->have_prev = src->have_prev;
	dst->nr_recycled = src->nr_recycled;
}
