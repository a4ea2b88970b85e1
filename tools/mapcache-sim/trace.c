// SPDX-License-Identifier: GPL-2.0
/*
 * Trace input: the text format of tools/traces/README, split into page-sized
 * events with every key interned, plus synthetic generators.
 *
 *   # comment
 *   m IOVA SIZE PHYS     guest map of SIZE bytes at IOVA to guest-physical PHYS
 *   u IOVA SIZE          guest unmap
 *
 * "M" and "U" too.  Numbers are hexadecimal, "0x" optional.  Any other line
 * is an error (sim_trace_load()).  A record covering several pages
 * maps consecutive IOVA pages to consecutive physical pages.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <sys/types.h>
#include "sim.h"

#define SIM_MAX_REC_PAGES	(1u << 18)	/* 1 GiB in one record */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static void sim_map_grow(struct sim_map *m)
{
	struct sim_map n = { .cap = m->cap ? m->cap * 2 : 1024 };

	n.keys = malloc(n.cap * sizeof(*n.keys));
	n.vals = malloc(n.cap * sizeof(*n.vals));
	if (!n.keys || !n.vals) {
		perror("malloc");
		exit(2);
	}
	memset(n.vals, 0xff, n.cap * sizeof(*n.vals));
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (m->vals[i] == SIM_NONE)
			continue;
		for (j = mix64(m->keys[i]) & (n.cap - 1); n.vals[j] != SIM_NONE;
		     j = (j + 1) & (n.cap - 1))
			;
		n.keys[j] = m->keys[i];
		n.vals[j] = m->vals[i];
	}
	n.nr = m->nr;
	sim_map_free(m);
	*m = n;
}

uint32_t sim_map_intern(struct sim_map *m, uint64_t key, bool *fresh)
{
	size_t j;

	if (2 * (m->nr + 1) > m->cap)
		sim_map_grow(m);
	for (j = mix64(key) & (m->cap - 1); m->vals[j] != SIM_NONE;
	     j = (j + 1) & (m->cap - 1)) {
		if (m->keys[j] == key) {
			*fresh = false;
			return m->vals[j];
		}
	}
	m->keys[j] = key;
	m->vals[j] = (uint32_t)m->nr++;
	*fresh = true;
	return m->vals[j];
}

void sim_map_free(struct sim_map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

struct sim_builder {
	struct sim_trace *t;
	struct sim_map iovas, pages, pairs;
	uint32_t *live;		/* per IOVA id: event index of its map, or NONE */
	size_t live_cap;
	uint32_t *rec;		/* per map event: index of its record's first */
	size_t rec_cap;
	size_t run_first;	/* first event of the unmap run being built */
	uint32_t run_rec;	/* the map record that run releases */
};

struct sim_builder *sim_builder_new(struct sim_trace *t, const char *name)
{
	struct sim_builder *b = calloc(1, sizeof(*b));

	if (!b) {
		perror("calloc");
		exit(2);
	}
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	b->t = t;
	b->run_first = SIZE_MAX;
	return b;
}

static struct sim_ev *sim_push(struct sim_trace *t)
{
	if (t->nr_ev == t->cap_ev) {
		t->cap_ev = t->cap_ev ? t->cap_ev * 2 : 65536;
		t->ev = realloc(t->ev, t->cap_ev * sizeof(*t->ev));
		if (!t->ev) {
			perror("realloc");
			exit(2);
		}
	}
	return &t->ev[t->nr_ev++];
}

static uint32_t sim_iova_id(struct sim_builder *b, uint64_t iova_pfn)
{
	bool fresh;
	uint32_t id = sim_map_intern(&b->iovas, iova_pfn, &fresh);

	if (id >= b->live_cap) {
		size_t old = b->live_cap;

		b->live_cap = b->live_cap ? b->live_cap * 2 : 4096;
		b->live = realloc(b->live, b->live_cap * sizeof(*b->live));
		memset(b->live + old, 0xff,
		       (b->live_cap - old) * sizeof(*b->live));
	}
	return id;
}

/* Pages covered by [iova, iova + size), clamped at the top of the space. */
static uint64_t sim_nr_pages(uint64_t iova, uint64_t size)
{
	uint64_t first = iova >> SIM_PAGE_SHIFT, last;

	if (!size)
		return 0;
	if (size - 1 > UINT64_MAX - iova)
		last = UINT64_MAX >> SIM_PAGE_SHIFT;
	else
		last = (iova + size - 1) >> SIM_PAGE_SHIFT;
	if (last - first >= SIM_MAX_REC_PAGES)
		return SIM_MAX_REC_PAGES;
	return last - first + 1;
}

static void sim_note_pfn(struct sim_trace *t, uint32_t id, uint64_t pfn)
{
	if (id >= t->cap_pfn) {
		t->cap_pfn = t->cap_pfn ? 2 * t->cap_pfn : 4096;
		t->pfn = realloc(t->pfn, t->cap_pfn * sizeof(*t->pfn));
		if (!t->pfn) {
			perror("realloc");
			exit(2);
		}
	}
	t->pfn[id] = pfn;
}

/*
 * An unmap event joins the run being built if it releases a page of the
 * same map record: the module releases a mapping's pages together, then
 * brings the cache back within its quota (vmc_pc_put()).
 */
static void sim_unmap_page(struct sim_builder *b, uint32_t iova)
{
	struct sim_ev *e;
	uint32_t m = b->live[iova];

	if (m == SIM_NONE) {
		b->t->bad_unmaps++;
		return;
	}
	b->live[iova] = SIM_NONE;
	e = sim_push(b->t);
	*e = b->t->ev[m];
	e->op = EV_UNMAP;
	e->run = 0;
	if (b->run_first != SIZE_MAX && b->rec[m] == b->run_rec) {
		b->t->ev[b->run_first].run++;
		return;
	}
	b->run_first = (size_t)(e - b->t->ev);
	b->run_rec = b->rec[m];
	e->run = 1;
}

/* The unmap run being built ends: the next unmap starts another. */
static void sim_unmap_end(struct sim_builder *b)
{
	b->run_first = SIZE_MAX;
}

static void sim_note_rec(struct sim_builder *b, size_t ev, uint32_t first)
{
	if (ev >= b->rec_cap) {
		b->rec_cap = b->rec_cap ? 2 * b->rec_cap : 65536;
		while (b->rec_cap <= ev)
			b->rec_cap *= 2;
		b->rec = realloc(b->rec, b->rec_cap * sizeof(*b->rec));
		if (!b->rec) {
			perror("realloc");
			exit(2);
		}
	}
	b->rec[ev] = first;
}

void sim_builder_map(struct sim_builder *b, uint64_t iova, uint64_t size,
		     uint64_t phys)
{
	uint64_t n = sim_nr_pages(iova, size), i;
	uint64_t ipfn = iova >> SIM_PAGE_SHIFT, ppfn = phys >> SIM_PAGE_SHIFT;
	uint32_t first = (uint32_t)b->t->nr_ev;
	bool fresh;

	b->t->nr_lines++;
	sim_unmap_end(b);
	/*
	 * A map over mapped IOVAs is taken as unmap + map, the unmaps first:
	 * the record's map events stay together, one MAP_DMA as the host
	 * sees it.
	 */
	for (i = 0; i < n; i++) {
		uint32_t iv = sim_iova_id(b, ipfn + i);

		if (b->live[iv] != SIM_NONE) {
			b->t->remaps++;
			sim_unmap_page(b, iv);
		}
	}
	sim_unmap_end(b);
	first = (uint32_t)b->t->nr_ev;
	for (i = 0; i < n; i++) {
		uint32_t iv = sim_iova_id(b, ipfn + i);
		uint32_t pg = sim_map_intern(&b->pages, ppfn + i, &fresh);
		struct sim_ev *e;

		if (fresh)
			sim_note_pfn(b->t, pg, ppfn + i);
		e = sim_push(b->t);
		e->op = EV_MAP;
		e->iova = iv;
		e->page = pg;
		e->pair = sim_map_intern(&b->pairs,
					 ((uint64_t)iv << 32) | pg, &fresh);
		e->run = i ? 0 : (uint32_t)n;
		b->live[iv] = (uint32_t)(e - b->t->ev);
		sim_note_rec(b, e - b->t->ev, first);
		b->t->nr_maps++;
	}
}

void sim_builder_unmap(struct sim_builder *b, uint64_t iova, uint64_t size)
{
	uint64_t n = sim_nr_pages(iova, size), i;
	uint64_t ipfn = iova >> SIM_PAGE_SHIFT;

	b->t->nr_lines++;
	sim_unmap_end(b);
	for (i = 0; i < n; i++)
		sim_unmap_page(b, sim_iova_id(b, ipfn + i));
	sim_unmap_end(b);
}

void sim_builder_done(struct sim_builder *b)
{
	b->t->nr_pages = (uint32_t)b->pages.nr;
	b->t->nr_iovas = (uint32_t)b->iovas.nr;
	b->t->nr_pairs = (uint32_t)b->pairs.nr;
	sim_map_free(&b->iovas);
	sim_map_free(&b->pages);
	sim_map_free(&b->pairs);
	free(b->live);
	free(b->rec);
	free(b);
}

void sim_trace_free(struct sim_trace *t)
{
	free(t->ev);
	free(t->pfn);
	memset(t, 0, sizeof(*t));
}

/*
 * One hexadecimal number ("0x" optional) after at least one blank: false if
 * there is none, it has more than 16 digits, or it runs into other text.
 */
static bool parse_hex(char **p, uint64_t *v)
{
	char *s = *p;
	unsigned int nd = 0;

	if (*s != ' ' && *s != '\t')
		return false;
	while (*s == ' ' || *s == '\t')
		s++;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (*v = 0;; s++, nd++) {
		unsigned int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
			d = (*s | 0x20) - 'a' + 10;
		else
			break;
		if (*v >> 60)
			return false;
		*v = *v << 4 | d;
	}
	*p = s;
	return nd && (!*s || *s == ' ' || *s == '\t');
}

/* Only blanks left on the line. */
static bool at_end(const char *s)
{
	return !s[strspn(s, " \t")];
}

static FILE *open_maybe_compressed(const char *path, bool *piped)
{
	size_t n = strlen(path);
	const char *tool = NULL;
	char cmd[4096];

	if (n > 3 && !strcmp(path + n - 3, ".xz"))
		tool = "xz -dc";
	else if (n > 3 && !strcmp(path + n - 3, ".gz"))
		tool = "gzip -dc";
	else if (n > 4 && !strcmp(path + n - 4, ".zst"))
		tool = "zstd -dc";
	*piped = tool;
	if (!tool)
		return fopen(path, "r");
	snprintf(cmd, sizeof(cmd), "%s '%s'", tool, path);
	return popen(cmd, "r");
}

/*
 * Strict: every line is a comment ('#' first, any length), a map record
 * ("m" or "M", IOVA, SIZE, PHYS) or an unmap record ("u" or "U", IOVA,
 * SIZE), SIZE not 0; anything else stops the load with the file and line.
 */
int sim_trace_load(struct sim_trace *t, const char *path)
{
	const char *base = strrchr(path, '/');
	struct sim_builder *b;
	size_t cap = 0, lineno = 0;
	char *line = NULL, name[64];
	bool piped;
	ssize_t len;
	int ret = 0;
	FILE *f = open_maybe_compressed(path, &piped);

	if (!f) {
		perror(path);
		return -1;
	}
	snprintf(name, sizeof(name), "%s", base ? base + 1 : path);
	name[strcspn(name, ".")] = 0;
	b = sim_builder_new(t, name);
	while ((len = getline(&line, &cap, f)) >= 0) {
		uint64_t iova, size, phys;
		char *p = line + 1, op = line[0] | 0x20;
		bool ok;

		lineno++;
		if (len && line[len - 1] == '\n')
			line[--len] = 0;
		if (len && line[len - 1] == '\r')
			line[--len] = 0;
		if (line[0] == '#')
			continue;
		if ((size_t)len != strlen(line)) {
			ok = false;
		} else if (op == 'm') {
			ok = parse_hex(&p, &iova) && parse_hex(&p, &size) &&
			     parse_hex(&p, &phys) && at_end(p) && size;
			if (ok)
				sim_builder_map(b, iova, size, phys);
		} else if (op == 'u') {
			ok = parse_hex(&p, &iova) && parse_hex(&p, &size) &&
			     at_end(p) && size;
			if (ok)
				sim_builder_unmap(b, iova, size);
		} else {
			ok = false;
		}
		if (!ok) {
			fprintf(stderr, "%s:%zu: not a trace record (\"m IOVA SIZE "
				"PHYS\", \"u IOVA SIZE\" in hexadecimal, SIZE not "
				"0) nor a comment (\"#...\"): %.60s\n", path,
				lineno, line);
			ret = -1;
			break;
		}
	}
	free(line);
	sim_builder_done(b);
	if (piped) {
		/* A reader that stopped early leaves the decompressor a SIGPIPE. */
		if (pclose(f) && !ret) {
			fprintf(stderr, "%s: decompression failed\n", path);
			ret = -1;
		}
	} else if (ferror(f) || fclose(f)) {
		perror(path);
		ret = -1;
	}
	if (!ret && !t->nr_ev) {
		fprintf(stderr, "%s: no map or unmap record\n", path);
		ret = -1;
	}
	if (ret)
		sim_trace_free(t);
	return ret;
}

/* Synthetic traces. */

struct synth {
	struct sim_builder *b;
	FILE *text;
	uint64_t rng;
	uint64_t *free_iova;	/* LIFO, like Linux's IOVA caches */
	size_t nr_free;
	uint64_t next_iova;
	struct { uint64_t iova, size; } *inflight;
	size_t nr_inflight;
};

static uint64_t synth_rand(struct synth *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return s->rng;
}

static double synth_unit(struct synth *s)
{
	return (synth_rand(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* The most recently freed IOVA goes to the next map; else grow down. */
static uint64_t synth_iova(struct synth *s, uint64_t pages)
{
	if (pages == 1 && s->nr_free)
		return s->free_iova[--s->nr_free];
	s->next_iova -= pages * SIM_PAGE_SIZE;
	return s->next_iova;
}

static void synth_map(struct synth *s, uint64_t phys_pfn, uint64_t pages)
{
	uint64_t iova = synth_iova(s, pages), size = pages * SIM_PAGE_SIZE;

	if (s->text)
		fprintf(s->text, "m %llx %llx %llx\n", (unsigned long long)iova,
			(unsigned long long)size,
			(unsigned long long)(phys_pfn << SIM_PAGE_SHIFT));
	sim_builder_map(s->b, iova, size, phys_pfn << SIM_PAGE_SHIFT);
	s->inflight[s->nr_inflight].iova = iova;
	s->inflight[s->nr_inflight++].size = size;
}

/* Complete a random request in flight. */
static void synth_complete(struct synth *s)
{
	size_t i = synth_rand(s) % s->nr_inflight;
	uint64_t iova = s->inflight[i].iova, size = s->inflight[i].size;

	s->inflight[i] = s->inflight[--s->nr_inflight];
	if (s->text)
		fprintf(s->text, "u %llx %llx\n", (unsigned long long)iova,
			(unsigned long long)size);
	sim_builder_unmap(s->b, iova, size);
	if (size == SIM_PAGE_SIZE)
		s->free_iova[s->nr_free++] = iova;
}

/* Zipf(alpha) over n items by inverse CDF on a table. */
struct zipf {
	double *cdf;
	size_t n;
};

static void zipf_init(struct zipf *z, size_t n, double alpha)
{
	double sum = 0;

	z->n = n;
	z->cdf = malloc(n * sizeof(*z->cdf));
	for (size_t i = 0; i < n; i++)
		z->cdf[i] = (sum += 1.0 / pow((double)(i + 1), alpha));
	for (size_t i = 0; i < n; i++)
		z->cdf[i] /= sum;
}

static size_t zipf_pick(struct zipf *z, struct synth *s)
{
	double u = synth_unit(s);
	size_t lo = 0, hi = z->n - 1;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (z->cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const char *const sim_synth_names[] = {
	"synth-loop", "synth-zipf", "synth-scan", NULL,
};

#define SYNTH_REQS	400000
#define SYNTH_QD	16

/* Which page request @i maps. */
static uint64_t synth_page(int kind, struct synth *s, struct zipf *z,
			   uint64_t i)
{
	const uint64_t base = 0x40000;	/* guest pfn of the "page cache" */

	switch (kind) {
	case 0:		/* sequential loop through 6144 pages */
		return base + i % 6144;
	case 1:		/* skewed popularity over 16384 pages, scattered */
		return base + mix64(zipf_pick(z, s)) % (1 << 20);
	default:	/* a hot zipf set, interleaved with one-pass scans */
		if (synth_rand(s) % 4)
			return base + mix64(zipf_pick(z, s)) % (1 << 20);
		return (1 << 21) + i;
	}
}

int sim_trace_synth(struct sim_trace *t, const char *name, uint64_t seed,
		    FILE *text)
{
	struct synth s = { .rng = seed | 1, .text = text,
			   .next_iova = 0x100000000ULL };
	struct zipf z = { 0 };
	int kind;

	for (kind = 0; sim_synth_names[kind]; kind++)
		if (!strcmp(name, sim_synth_names[kind]))
			break;
	if (!sim_synth_names[kind])
		return -1;
	if (kind)
		zipf_init(&z, 16384, 0.9);
	s.b = sim_builder_new(t, name);
	s.free_iova = calloc(SYNTH_REQS + SYNTH_QD, sizeof(*s.free_iova));
	s.inflight = calloc(SYNTH_QD + 1, sizeof(*s.inflight));
	if (text)
		fprintf(text, "# vfio-mapcache trace v1: %s seed %llu\n", name,
			(unsigned long long)seed);
	for (uint64_t i = 0; i < SYNTH_REQS; i++) {
		if (s.nr_inflight == SYNTH_QD)
			synth_complete(&s);
		synth_map(&s, synth_page(kind, &s, &z, i), 1);
	}
	while (s.nr_inflight)
		synth_complete(&s);
	sim_builder_done(s.b);
	free(s.free_iova);
	free(s.inflight);
	free(z.cdf);
	return 0;
}
