// SPDX-License-Identifier: GPL-2.0
/*
 * Replay of a guest's DMA map/unmap stream as host VFIO requests (see
 * vmc_replay.h), for vmc_demo and vmc_bench.
 *
 * A stream is a text trace in the format of tools/traces/README ("m IOVA
 * SIZE PHYS" / "u IOVA SIZE") or the synthetic one.  It is replayed on the
 * IOVAs it was recorded with; each distinct guest-physical page becomes a
 * distinct page of one buffer of this process (in address order, so a
 * multi-page record stays contiguous).  A trace of two devices marks the
 * second device's IOVAs by adding 2^48 (tools/traces/README): they move to
 * 128 GiB + (IOVA - 2^48), apart from the first device's, as a second
 * device's own IOVA space would keep them.  IOVAs in the MSI window or
 * outside GET_INFO's IOVA ranges move up by 4 GiB, or are skipped if that
 * does not help.  An unmap is one UNMAP_DMA of the mappings it overlaps, widened to
 * whole mappings (QEMU passes a guest's unmap of a range on as one
 * request); a map over a still-mapped IOVA is replayed as unmap + map;
 * unmaps of IOVAs not mapped are dropped: the replayed stream is one the
 * host accepts, identical for every backend.  The pages of a run are thus the
 * pages of the trace, one to one, and the module's pin cache, keyed by the
 * page, sees the stream mapcache-sim sees.
 *
 * Batches (VFIO_MAPCACHE_BATCH) keep the stream's order, so the pin cache
 * sees the same stream whatever the submission:
 *  - piggyback: unmaps are queued and go in one batch with the next map,
 *    ahead of it.  What a VMM does for a guest that defers its unmaps to its
 *    next map request (one exit per map, none per unmap), like a
 *    paravirtual IOMMU whose driver posts UNMAP requests without a kick and
 *    kicks for the MAP that follows.  Batch sizes are the trace's runs of
 *    unmaps: 1-12 on the recorded traces.
 *  - window N: batches of N consecutive requests, maps and unmaps mixed: a
 *    guest that posts its requests to a queue and kicks every N (or a VMM
 *    draining N queued invalidation descriptors in one exit).
 * A batch stops at an entry the host refuses (ENOMEM past RLIMIT_MEMLOCK,
 * say; a quota no longer refuses maps): that map is
 * counted as failed, its later unmaps are dropped, and the rest of the batch
 * is sent again.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "vmc_replay.h"

#define RW		(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define PG		VMC_PAGE
#define MSI_START	0xfee00000ULL
#define MSI_END		0xfeefffffULL	/* inclusive */
#define IOVA_SHIFT	0x100000000ULL	/* where IOVAs that do not fit move */
#define DEV2_MARK	(1ULL << 48)	/* a trace's second device: IOVA + this */
#define DEV2_BASE	(1ULL << 37)	/* where the replay puts its IOVAs */
#define MAX_RANGES	16

/* The synthetic stream: a loop over SYN_PAGES pages, SYN_QD in flight. */
#define SYN_PAGES	1024
#define SYN_QD		16
#define SYN_MAPS	8192
#define SYN_IOVA_TOP	0x80000000ULL

const char *const vmc_run_mode_names[] = { "-", "off", "strict", "lazy" };

const char *const vmc_count_names[VMC_NR_COUNTS] = {
	"full_hits", "pin_hits", "misses", "pins", "iotlb_flushes", "evictions",
	"quota_overruns", "map_requests", "unmap_requests", "iommu_maps",
	"iommu_unmaps", "eviction_batches", "unpins", "batch_requests",
	"batch_entries",
};

/* Where the raw stream goes before it becomes ops. */
struct rec {
	char kind;
	uint64_t iova, size, phys;
};

static struct vfio_iova_range ranges[MAX_RANGES];
static unsigned int nr_ranges;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* ---- the usable IOVA space ---- */

void vmc_replay_init(void)
{
	struct vfio_iommu_type1_info_cap_iova_range *cap;
	struct vfio_iommu_type1_info *info;
	struct vmc_env env;

	if (vmc_env_open(&env, VMC_BACKEND_TYPE1))
		goto out;
	info = vmc_get_info(env.container);
	if (!info)
		goto out;
	cap = (void *)vmc_find_cap(info, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	if (cap) {
		nr_ranges = cap->nr_iovas < MAX_RANGES ? cap->nr_iovas : MAX_RANGES;
		memcpy(ranges, cap->iova_ranges, nr_ranges * sizeof(*ranges));
	}
	free(info);
out:
	vmc_env_close(&env);
}

static bool iova_ok(uint64_t iova, uint64_t size)
{
	uint64_t last = iova + size - 1;
	unsigned int i;

	if (last < iova || (iova <= MSI_END && last >= MSI_START))
		return false;
	if (!nr_ranges)		/* no capability: trust the trace */
		return true;
	for (i = 0; i < nr_ranges; i++)
		if (iova >= ranges[i].start && last <= ranges[i].end)
			return true;
	return false;
}

/* Where the replay puts a recorded IOVA range; false to skip it. */
static bool place_iova(uint64_t *iova, uint64_t size)
{
	if (*iova >= DEV2_MARK && *iova - DEV2_MARK < DEV2_BASE)
		*iova = *iova - DEV2_MARK + DEV2_BASE;
	if (iova_ok(*iova, size))
		return true;
	if (iova_ok(*iova + IOVA_SHIFT, size)) {
		*iova += IOVA_SHIFT;
		return true;
	}
	return false;
}

/* ---- turning a raw stream into host requests ---- */

static int cmp_path(const void *a, const void *b)
{
	return strcmp(a, b);
}

unsigned int vmc_replay_list(const char *dir, char (*paths)[VMC_PATH_MAX], unsigned int max)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned int n = 0;

	while (d && (de = readdir(d)) && n < max) {
		size_t len = strlen(de->d_name);

		if (len > 4 && !strcmp(de->d_name + len - 4, ".txt"))
			snprintf(paths[n++], VMC_PATH_MAX, "%s/%s", dir, de->d_name);
	}
	if (d)
		closedir(d);
	qsort(paths, n, VMC_PATH_MAX, cmp_path);
	return n;
}

struct live {
	uint64_t iova, size;
	int32_t map;
};

static int add_op(struct vmc_pattern *p, unsigned int *cap, struct vmc_op op)
{
	if (p->nr_ops == *cap) {
		struct vmc_op *n = realloc(p->ops, (*cap ? *cap * 2 : 4096) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->ops = n;
		*cap = *cap ? *cap * 2 : 4096;
	}
	p->ops[p->nr_ops++] = op;
	if (op.map < 0) {
		p->nr_maps++;
		p->page_maps += op.size / PG;
	} else if (!op.join) {
		p->nr_unmaps++;
	}
	p->nr_requests = p->nr_maps + p->nr_unmaps;
	return 0;
}

struct builder {
	struct vmc_pattern *p;
	unsigned int cap;
	struct live *live;
	unsigned int nr_live, live_cap;
	uint64_t live_bytes;
};

static bool overlaps(const struct live *l, uint64_t first, uint64_t last)
{
	return l->iova <= last && first <= l->iova + l->size - 1;
}

/*
 * Unmap, in one request, whatever is mapped over [iova, iova + size),
 * widened to whole mappings as UNMAP_DMA wants.  How many went, or -errno.
 */
static int unmap_overlaps(struct builder *b, uint64_t iova, uint64_t size)
{
	uint64_t first = iova, last = iova + size - 1;
	unsigned int k, n = 0;
	bool grew = true;

	while (grew) {
		grew = false;
		for (k = 0; k < b->nr_live; k++) {
			struct live *l = &b->live[k];

			if (!overlaps(l, first, last))
				continue;
			if (l->iova < first || l->iova + l->size - 1 > last)
				grew = true;
			if (l->iova < first)
				first = l->iova;
			if (l->iova + l->size - 1 > last)
				last = l->iova + l->size - 1;
		}
	}
	for (k = 0; k < b->nr_live; ) {
		struct live *l = &b->live[k];
		struct vmc_op u = { .iova = l->iova, .size = l->size, .map = l->map, .join = n };

		if (!overlaps(l, first, last)) {
			k++;
			continue;
		}
		if (add_op(b->p, &b->cap, u))
			return -ENOMEM;
		b->live_bytes -= l->size;
		b->live[k] = b->live[--b->nr_live];
		n++;
	}
	return n;
}

/* The distinct physical pages of @recs' maps, sorted, in @*pages. */
static int distinct_pages(struct rec *recs, unsigned int nr, uint64_t **pages)
{
	unsigned int i, j, n = 0;
	uint64_t *pg;

	for (i = 0; i < nr; i++)
		if (recs[i].kind == 'm')
			n += recs[i].size / PG;
	pg = malloc((n + 1) * sizeof(*pg));
	if (!pg)
		return -ENOMEM;
	n = 0;
	for (i = 0; i < nr; i++)
		if (recs[i].kind == 'm')
			for (j = 0; j < recs[i].size / PG; j++)
				pg[n++] = recs[i].phys / PG + j;
	qsort(pg, n, sizeof(*pg), cmp_u64);
	for (i = j = 0; i < n; i++)
		if (!j || pg[i] != pg[j - 1])
			pg[j++] = pg[i];
	*pages = pg;
	return j;
}

/*
 * @recs -> @p->ops: physical pages become buffer pages (rank among the
 * distinct pages, so a record's pages stay contiguous), IOVAs are placed,
 * and the live set decides which unmaps a map implies and which unmaps are
 * of nothing.
 */
static int build_ops(struct vmc_pattern *p, struct rec *recs, unsigned int nr)
{
	struct builder b = { .p = p };
	uint64_t *pages = NULL;
	unsigned int i, nr_pages;
	int ret;

	ret = distinct_pages(recs, nr, &pages);
	if (ret < 0)
		return ret;
	nr_pages = ret;
	p->nr_pages = nr_pages;

	for (i = 0; i < nr; i++) {
		struct rec *r = &recs[i];
		uint64_t iova = r->iova, key = r->phys / PG, *hit;
		struct vmc_op m = { .size = r->size, .map = -1 };

		if (!place_iova(&iova, r->size)) {
			p->skipped++;
			continue;
		}
		if (iova != r->iova)
			p->moved++;
		/* Whatever is mapped over [iova, iova + size) goes first. */
		ret = unmap_overlaps(&b, iova, r->size);
		if (ret < 0)
			goto out;
		if (r->kind == 'u') {
			if (!ret)
				p->dropped_unmaps++;
			continue;
		}
		if (ret)
			p->overmaps++;
		ret = -ENOMEM;
		hit = bsearch(&key, pages, nr_pages, sizeof(*pages), cmp_u64);
		m.iova = iova;
		m.page = hit - pages;
		if (b.nr_live == b.live_cap) {
			struct live *n = realloc(b.live, (b.live_cap ? b.live_cap * 2 : 256) *
						 sizeof(*n));

			if (!n)
				goto out;
			b.live = n;
			b.live_cap = b.live_cap ? b.live_cap * 2 : 256;
		}
		b.live[b.nr_live++] = (struct live){ iova, r->size, p->nr_ops };
		if (add_op(p, &b.cap, m))
			goto out;
		b.live_bytes += r->size;
		if (b.live_bytes > p->peak_live_bytes)
			p->peak_live_bytes = b.live_bytes;
	}
	p->records = nr;
	ret = -ENOMEM;
	/* What is still mapped at the end is unmapped by closing the container. */
	p->buf = mmap(NULL, nr_pages * PG, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p->buf == MAP_FAILED) {
		p->buf = NULL;
		goto out;
	}
	for (i = 0; i < nr_pages; i++)
		p->buf[i * PG] = i;
	ret = 0;
out:
	free(pages);
	free(b.live);
	return ret;
}

static int add_rec(struct rec **recs, unsigned int *nr, unsigned int *cap, struct rec r)
{
	if (*nr == *cap) {
		struct rec *n = realloc(*recs, (*cap ? *cap * 2 : 4096) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		*recs = n;
		*cap = *cap ? *cap * 2 : 4096;
	}
	(*recs)[(*nr)++] = r;
	return 0;
}

/* The second comment line of a trace says what was recorded. */
static void note_what(struct vmc_pattern *p, char *line)
{
	char *end = strstr(line, "; device");

	if (!end)
		end = strchr(line, '\n');
	if (end)
		*end = '\0';
	snprintf(p->what, sizeof(p->what), "recorded trace, %.140s", line + 2);
}

int vmc_pattern_load(struct vmc_pattern *p, const char *path)
{
	struct rec *recs = NULL;
	unsigned int nr = 0, cap = 0;
	unsigned long long a, b, c;
	const char *base = strrchr(path, '/');
	char line[256];
	int ret = 0, comments = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -errno;
	snprintf(p->name, sizeof(p->name), "%s", base ? base + 1 : path);
	if (strchr(p->name, '.'))
		*strchr(p->name, '.') = '\0';
	while (!ret && fgets(line, sizeof(line), f)) {
		struct rec r;

		if (line[0] == '#' && ++comments == 2)
			note_what(p, line);
		if (sscanf(line, "m %llx %llx %llx", &a, &b, &c) == 3)
			r = (struct rec){ 'm', a, b, c };
		else if (sscanf(line, "u %llx %llx", &a, &b) == 2)
			r = (struct rec){ 'u', a, b, 0 };
		else
			continue;
		if (!r.size || r.size % PG || r.iova % PG || r.phys % PG)
			continue;
		ret = add_rec(&recs, &nr, &cap, r);
	}
	fclose(f);
	if (!ret)
		ret = nr ? build_ops(p, recs, nr) : -ENODATA;
	free(recs);
	return ret;
}

/*
 * A NIC-like stream: pages taken in a loop over SYN_PAGES, SYN_QD requests
 * in flight completing in random order, and IOVAs handed out as Linux's
 * allocator does (the most recently freed first; new ones grow down).
 */
int vmc_pattern_synth(struct vmc_pattern *p)
{
	struct rec *recs = calloc(2 * SYN_MAPS, sizeof(*recs));
	uint64_t inflight[SYN_QD], free_iova[SYN_MAPS], next = SYN_IOVA_TOP;
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	unsigned int nr = 0, nr_in = 0, nr_free = 0, i;
	int ret;

	if (!recs)
		return -ENOMEM;
	snprintf(p->name, sizeof(p->name), "synth");
	snprintf(p->what, sizeof(p->what),
		 "synthetic: loop over %u pages, %u maps in flight, Linux-style IOVA reuse",
		 SYN_PAGES, SYN_QD);
	for (i = 0; i < SYN_MAPS; i++) {
		uint64_t iova;

		if (nr_in == SYN_QD) {
			unsigned int k;

			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			k = rng % nr_in;
			recs[nr++] = (struct rec){ 'u', inflight[k], PG, 0 };
			free_iova[nr_free++] = inflight[k];
			inflight[k] = inflight[--nr_in];
		}
		iova = nr_free ? free_iova[--nr_free] : (next -= PG);
		recs[nr++] = (struct rec){ 'm', iova, PG, (0x40000ULL + i % SYN_PAGES) * PG };
		inflight[nr_in++] = iova;
	}
	while (nr_in)
		recs[nr++] = (struct rec){ 'u', inflight[--nr_in], PG, 0 };
	ret = build_ops(p, recs, nr);
	free(recs);
	return ret;
}

void vmc_pattern_free(struct vmc_pattern *p)
{
	if (p->buf)
		munmap(p->buf, (size_t)p->nr_pages * PG);
	free(p->ops);
	memset(p, 0, sizeof(*p));
}

/* ---- submitting requests ---- */

/* Requests on their way to the host, plain or batched. */
struct submitter {
	const struct vmc_pattern *p;
	int container;
	bool *mapped;
	struct vfio_mapcache_batch_entry ent[VFIO_MAPCACHE_BATCH_MAX];
	unsigned int op[VFIO_MAPCACHE_BATCH_MAX];	/* the op of each entry */
	unsigned int nr;
	long long failed;
	uint64_t unmapped_bytes;
	unsigned int nr_batches;
};

/*
 * Send the queued entries; after an entry the host refused, the rest again.
 * Returns 0, or -errno of a call that failed as a whole (nothing done).
 */
static int submit_batch(struct submitter *s)
{
	unsigned int first = 0, i, end;

	while (first < s->nr) {
		struct vfio_mapcache_batch b = {
			.argsz = sizeof(b),
			.nr_entries = s->nr - first,
			.entry_size = sizeof(s->ent[0]),
			.entries = (uintptr_t)&s->ent[first],
		};
		int err = ioctl(s->container, VFIO_MAPCACHE_BATCH, &b) ? errno : 0;

		end = err ? first + b.nr_done : s->nr;
		/* A refused entry has its result set; a failed call has none. */
		if (err && (end >= s->nr || !s->ent[end].result))
			return -err;
		s->nr_batches++;
		for (i = first; i < end; i++)
			if (s->ent[i].op == VFIO_MAPCACHE_OP_UNMAP)
				s->unmapped_bytes += s->ent[i].size;
		if (!err)
			break;
		/* Entry @end did nothing: a map over quota, as plain MAP_DMA. */
		s->failed++;
		if (s->ent[end].op == VFIO_MAPCACHE_OP_MAP)
			s->mapped[s->op[end]] = false;
		first = end + 1;
	}
	s->nr = 0;
	return 0;
}

/*
 * The UNMAP_DMA request that starts at op @i: the span of its mappings that
 * are in place (@size 0 if none is).  Returns the index of the next request.
 */
static unsigned int unmap_request(const struct vmc_pattern *p, const bool *mapped,
				  unsigned int i, uint64_t *iova, uint64_t *size)
{
	uint64_t first = UINT64_MAX, end = 0;

	do {
		const struct vmc_op *o = &p->ops[i];

		if (mapped[o->map]) {
			if (o->iova < first)
				first = o->iova;
			if (o->iova + o->size > end)
				end = o->iova + o->size;
		}
	} while (++i < p->nr_ops && p->ops[i].join);
	*iova = first;
	*size = end > first ? end - first : 0;
	return i;
}

static struct vfio_mapcache_batch_entry *queue(struct submitter *s, unsigned int op)
{
	struct vfio_mapcache_batch_entry *e = &s->ent[s->nr];

	memset(e, 0, sizeof(*e));
	s->op[s->nr++] = op;
	return e;
}

static int replay_batched(struct submitter *s, const struct vmc_run_cfg *c)
{
	const struct vmc_pattern *p = s->p;
	unsigned int i = 0, window = c->submit == VMC_SUBMIT_WINDOW ? c->window : 0;
	int ret;

	if (!window || window > VFIO_MAPCACHE_BATCH_MAX)
		window = VFIO_MAPCACHE_BATCH_MAX;
	while (i < p->nr_ops) {
		const struct vmc_op *o = &p->ops[i];
		struct vfio_mapcache_batch_entry *e;
		uint64_t iova, size;

		if (o->map < 0) {
			e = queue(s, i);
			e->op = VFIO_MAPCACHE_OP_MAP;
			e->flags = RW;
			e->vaddr = (uintptr_t)(p->buf + (uint64_t)o->page * PG);
			e->iova = o->iova;
			e->size = o->size;
			s->mapped[i++] = true;
		} else {
			i = unmap_request(p, s->mapped, i, &iova, &size);
			if (!size)
				continue;
			e = queue(s, i);
			e->op = VFIO_MAPCACHE_OP_UNMAP;
			e->iova = iova;
			e->size = size;
		}
		if (s->nr == window || (c->submit == VMC_SUBMIT_PIGGYBACK &&
					e->op == VFIO_MAPCACHE_OP_MAP)) {
			ret = submit_batch(s);
			if (ret)
				return ret;
		}
	}
	return submit_batch(s);
}

static void replay_plain(struct submitter *s)
{
	const struct vmc_pattern *p = s->p;
	unsigned int i = 0;

	while (i < p->nr_ops) {
		const struct vmc_op *o = &p->ops[i];
		uint64_t iova, size, unmapped = 0;

		if (o->map < 0) {
			s->mapped[i] = !_vmc_map(s->container, o->iova,
						 p->buf + (uint64_t)o->page * PG, o->size, RW);
			s->failed += !s->mapped[i++];
			continue;
		}
		i = unmap_request(p, s->mapped, i, &iova, &size);
		if (!size)
			continue;
		s->failed += !!_vmc_unmap(s->container, iova, size, 0, &unmapped);
		s->unmapped_bytes += unmapped;
	}
}

/* ---- one run ---- */

uint64_t vmc_quota_pages(uint32_t nr_pages, unsigned int pct)
{
	uint64_t q = ((uint64_t)nr_pages * pct + 50) / 100;

	return pct && !q ? 1 : q;
}

static void read_counts(long long *v)
{
	unsigned int i;

	for (i = 0; i < VMC_NR_COUNTS; i++)
		v[i] = vmc_stat(VMC_STATS_TOTAL, vmc_count_names[i]);
}

static void set_na(struct vmc_run *r, const char *what, int err)
{
	r->na = true;
	snprintf(r->na_why, sizeof(r->na_why), "%s: %s", what, strerror(err));
}

/* Quota, policy, mode and prefetch of this process's VM, as @c says. */
static int configure_vm(const struct vmc_run_cfg *c, struct vmc_run *r)
{
	const char *file = "quota_bytes";
	char val[32];
	int ret;

	if (c->prefetch && !vmc_vm_has("prefetch")) {
		set_na(r, "no prefetch in this module", ENOENT);
		return -ENOENT;
	}
	snprintf(val, sizeof(val), "%llu", (unsigned long long)r->quota_pages * PG);
	ret = vmc_vm_write(file, val);
	if (!ret && c->policy)
		ret = vmc_vm_write(file = "policy", c->policy);
	if (!ret)
		ret = vmc_vm_write(file = "mode", vmc_run_mode_names[c->mode]);
	if (!ret && (c->prefetch || vmc_vm_has("prefetch")))
		ret = vmc_vm_write(file = "prefetch", c->prefetch ? "1" : "0");
	if (ret) {
		char what[48];

		snprintf(what, sizeof(what), "%s refused", file);
		set_na(r, what, -ret);
		return ret;
	}
	r->prefetch_depth = c->prefetch ? vmc_vm_read_ll("prefetch_depth") : -1;
	return 0;
}

static int replay(const struct vmc_pattern *p, const struct vmc_run_cfg *c,
		  struct vmc_run *r, int container, bool *mapped)
{
	struct submitter *s = calloc(1, sizeof(*s));
	struct vfio_mapcache_batch probe = { .argsz = 0 };
	double t0;
	int ret = 0;

	if (!s)
		return -ENOMEM;
	s->p = p;
	s->container = container;
	s->mapped = mapped;
	/* A call too small to be valid: EINVAL if the backend has the batch. */
	if (c->submit != VMC_SUBMIT_PLAIN &&
	    ioctl(container, VFIO_MAPCACHE_BATCH, &probe) && errno == ENOTTY) {
		set_na(r, "no VFIO_MAPCACHE_BATCH", ENOTTY);
		free(s);
		return -ENOTTY;
	}
	t0 = vmc_now_us();
	if (c->submit == VMC_SUBMIT_PLAIN)
		replay_plain(s);
	else
		ret = replay_batched(s, c);
	r->us = (vmc_now_us() - t0) / p->nr_requests;
	if (ret)
		set_na(r, "VFIO_MAPCACHE_BATCH", -ret);
	r->failed = s->failed;
	r->unmapped_pages = s->unmapped_bytes / PG;
	r->nr_batches = s->nr_batches;
	free(s);
	return ret;
}

void vmc_replay_run(const struct vmc_pattern *p, const struct vmc_run_cfg *c,
		    struct vmc_run *r, bool *mapped)
{
	enum vmc_backend b = c->mode == VMC_RUN_TYPE1 ? VMC_BACKEND_TYPE1 : VMC_BACKEND_MAPCACHE;
	long long before[VMC_NR_COUNTS], after[VMC_NR_COUNTS];
	struct vmc_env env;
	unsigned int i;
	int ret;

	r->quota_pages = vmc_quota_pages(p->nr_pages, c->quota_pct);
	r->prefetch_depth = -1;
	ret = vmc_env_open(&env, b);
	if (ret) {
		r->na = true;
		snprintf(r->na_why, sizeof(r->na_why), "cannot open %s: %s",
			 vmc_backend_name(b), ret == 1 ? "not loaded" : strerror(-ret));
		goto out;
	}
	if (b == VMC_BACKEND_MAPCACHE && configure_vm(c, r))
		goto out;
	read_counts(before);
	if (replay(p, c, r, env.container, mapped))
		goto out;
	read_counts(after);
	for (i = 0; i < VMC_NR_COUNTS; i++)
		r->cnt[i] = b == VMC_BACKEND_MAPCACHE && before[i] >= 0 && after[i] >= 0 ?
			    after[i] - before[i] : -1;
	r->peak_pinned = b == VMC_BACKEND_MAPCACHE ? vmc_vm_read_ll("peak_pinned_bytes") : -1;
	/* Mode off pins per mapping, as type1, outside the pin cache. */
	if (r->peak_pinned <= 0)
		r->peak_pinned = p->peak_live_bytes;
out:
	vmc_env_close(&env);
}
