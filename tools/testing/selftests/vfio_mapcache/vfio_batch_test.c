// SPDX-License-Identifier: GPL-2.0
/*
 * VFIO_MAPCACHE_BATCH: a vector of MAP_DMA / UNMAP_DMA requests in one call.
 *
 *  - the call's own errors (header, vector size, unreadable vector) change
 *    nothing;
 *  - the batch stops at the first entry that fails: the prefix stays in
 *    effect, the failing entry and the rest change nothing, and the results
 *    say so;
 *  - a seeded random sequence gives the same result per request whether it
 *    is issued one ioctl at a time or in batches;
 *  - a batch flushes the IOTLB once, however many scattered mappings it
 *    unmaps or replaces, and DMA then reaches exactly what is mapped;
 *  - the quota holds inside a batch, and teardown returns every pin.
 *
 * Run in each mode of the VM (fixture variants).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vmc_lib.h"

#define PG		VMC_PAGE
#define R		VFIO_DMA_MAP_FLAG_READ
#define W		VFIO_DMA_MAP_FLAG_WRITE
#define RW		(R | W)
#define NR_PAGES	64
#define IOVA_BASE	0x400000UL
#define IOVA_OUT	0x100000UL
#define UNTOUCHED	0x5a
#define SENTINEL	0x7eadbeef
#define MAP		VFIO_MAPCACHE_OP_MAP
#define UNMAP		VFIO_MAPCACHE_OP_UNMAP

FIXTURE(batch) {
	struct vmc_env env;
	uint8_t *buf;	/* NR_PAGES pages the tests map */
	uint8_t *out;	/* one page edu writes back into */
};

FIXTURE_VARIANT(batch) {
	const char *mode;
};

FIXTURE_VARIANT_ADD(batch, strict) {
	.mode = "strict",
};

FIXTURE_VARIANT_ADD(batch, lazy) {
	.mode = "lazy",
};

FIXTURE_VARIANT_ADD(batch, off) {
	.mode = "off",
};

FIXTURE_SETUP(batch)
{
	int ret = vmc_env_open(&self->env, VMC_BACKEND_MAPCACHE);

	if (ret == 1)
		SKIP(return, "vfio_iommu_mapcache not available");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, vmc_vm_write("mode", variant->mode));
	ASSERT_EQ(0, vmc_vm_write("policy", "lru"));
	ASSERT_EQ(0, vmc_vm_write("quota_bytes", "0"));
	ASSERT_EQ(0, vmc_dma_bufs(&self->buf, NR_PAGES, 11, &self->out, UNTOUCHED));
}

FIXTURE_TEARDOWN(batch)
{
	vmc_env_close(&self->env);
}

static struct vfio_mapcache_batch_entry ent_map(uint64_t iova, void *vaddr, uint64_t size,
						 uint32_t flags)
{
	return (struct vfio_mapcache_batch_entry){
		.op = MAP, .flags = flags, .vaddr = (uintptr_t)vaddr, .iova = iova,
		.size = size, .result = SENTINEL,
	};
}

static struct vfio_mapcache_batch_entry ent_unmap(uint64_t iova, uint64_t size)
{
	return (struct vfio_mapcache_batch_entry){
		.op = UNMAP, .iova = iova, .size = size, .result = SENTINEL,
	};
}

/* Bytes an UNMAP_DMA of everything takes away (and takes them away). */
static long long unmap_all(struct _test_data_batch *self)
{
	uint64_t u = 0;

	if (_vmc_unmap(self->env.container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &u))
		return -1;
	return u;
}

/* Does edu read page @idx of buf through @iova?  (RAM -> dev -> out) */
static int dma_reads_page(struct _test_data_batch *self, uint64_t iova, int idx)
{
	memset(self->out, UNTOUCHED, PG);
	if (vmc_edu_dma_to_dev(&self->env, iova, 0, 512) ||
	    vmc_edu_dma_from_dev(&self->env, IOVA_OUT, 0, 512))
		return -1;
	return !memcmp(self->out, self->buf + idx * PG, 512);
}

static long long flushes(void)
{
	return vmc_stat(VMC_STATS_TOTAL, "iotlb_flushes");
}

/* Errors of the call itself: nothing is done, nothing is written. */
TEST_F(batch, call_errors)
{
	struct vfio_mapcache_batch_entry e = ent_map(IOVA_BASE, self->buf, PG, R);
	struct vfio_mapcache_batch b;
	uint8_t big[2 * sizeof(e)];
	void *none;

	b = (struct vfio_mapcache_batch){ .argsz = sizeof(b), .nr_entries = 1,
		.entry_size = sizeof(e), .entries = (uintptr_t)&e, .nr_done = SENTINEL };
	ASSERT_EQ(-EINVAL, _vmc_ioctl_argsz(self->env.container, VFIO_MAPCACHE_BATCH, &b,
					    offsetofend(struct vfio_mapcache_batch, reserved) - 1));
	b.argsz = sizeof(b);
	b.flags = 1;
	ASSERT_EQ(-1, ioctl(self->env.container, VFIO_MAPCACHE_BATCH, &b));
	ASSERT_EQ(EINVAL, errno);
	b.flags = 0;
	b.reserved = 1;
	ASSERT_EQ(-1, ioctl(self->env.container, VFIO_MAPCACHE_BATCH, &b));
	ASSERT_EQ(EINVAL, errno);
	b.reserved = 0;
	b.nr_entries = 0;
	ASSERT_EQ(-1, ioctl(self->env.container, VFIO_MAPCACHE_BATCH, &b));
	ASSERT_EQ(EINVAL, errno);
	b.nr_entries = VFIO_MAPCACHE_BATCH_MAX + 1;
	ASSERT_EQ(-1, ioctl(self->env.container, VFIO_MAPCACHE_BATCH, &b));
	ASSERT_EQ(E2BIG, errno);
	b.nr_entries = 1;
	b.entry_size = sizeof(e) - 8;
	ASSERT_EQ(-1, ioctl(self->env.container, VFIO_MAPCACHE_BATCH, &b));
	ASSERT_EQ(EINVAL, errno);
	b.entry_size = 8192;
	ASSERT_EQ(-1, ioctl(self->env.container, VFIO_MAPCACHE_BATCH, &b));
	ASSERT_EQ(E2BIG, errno);
	b.entry_size = sizeof(e);
	b.entries = 0;
	ASSERT_EQ(-1, ioctl(self->env.container, VFIO_MAPCACHE_BATCH, &b));
	ASSERT_EQ(EFAULT, errno);
	none = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, none);
	b.entries = (uintptr_t)none;
	ASSERT_EQ(-1, ioctl(self->env.container, VFIO_MAPCACHE_BATCH, &b));
	ASSERT_EQ(EFAULT, errno);
	munmap(none, PG);
	/* A later version's entry: accepted only when its extra bytes are 0. */
	memset(big, 0, sizeof(big));
	memcpy(big, &e, sizeof(e));
	big[sizeof(big) - 1] = 1;
	b.entries = (uintptr_t)big;
	b.entry_size = sizeof(big);
	ASSERT_EQ(-1, ioctl(self->env.container, VFIO_MAPCACHE_BATCH, &b));
	ASSERT_EQ(E2BIG, errno);
	ASSERT_EQ(SENTINEL, b.nr_done);
	ASSERT_EQ(SENTINEL, e.result);
	ASSERT_EQ(0, unmap_all(self));

	big[sizeof(big) - 1] = 0;
	ASSERT_EQ(0, ioctl(self->env.container, VFIO_MAPCACHE_BATCH, &b));
	ASSERT_EQ(1, b.nr_done);
	memcpy(&e, big, sizeof(e));
	ASSERT_EQ(0, e.result);
	ASSERT_EQ(PG, unmap_all(self));
}

/* The batch stops at the first failing entry; the prefix stays. */
TEST_F(batch, partial_failure)
{
	struct vfio_mapcache_batch_entry v[6];
	uint32_t done;

	vmc_expect_dmar_faults(0);
	test_map(IOVA_OUT, self->out, PG, W);
	v[0] = ent_map(IOVA_BASE, self->buf, PG, R);
	v[1] = ent_map(IOVA_BASE + PG, self->buf + PG, PG, R);
	v[2] = ent_unmap(IOVA_BASE, PG);
	v[3] = ent_map(IOVA_BASE, self->buf + 2 * PG, PG, R);
	/* Over v[1]'s mapping: EEXIST, as MAP_DMA says. */
	v[4] = ent_map(IOVA_BASE + PG, self->buf + 3 * PG, PG, R);
	v[5] = ent_map(IOVA_BASE + 2 * PG, self->buf + 4 * PG, PG, R);
	ASSERT_EQ(-EEXIST, _vmc_batch(self->env.container, v, 6, &done));
	ASSERT_EQ(4, done);
	ASSERT_EQ(0, v[0].result);
	ASSERT_EQ(0, v[1].result);
	ASSERT_EQ(0, v[2].result);
	ASSERT_EQ(PG, v[2].size);
	ASSERT_EQ(0, v[3].result);
	ASSERT_EQ(-EEXIST, v[4].result);
	ASSERT_EQ(SENTINEL, v[5].result);
	/* State is what the prefix made: v[3] and v[1] mapped, v[5] not. */
	ASSERT_EQ(1, dma_reads_page(self, IOVA_BASE, 2));
	ASSERT_EQ(1, dma_reads_page(self, IOVA_BASE + PG, 1));
	test_unmap(IOVA_BASE + 2 * PG, PG, 0);
	ASSERT_EQ(3 * PG, unmap_all(self));
}

/* Each kind of invalid entry stops the batch after a valid first entry. */
TEST_F(batch, invalid_entries)
{
	struct vfio_mapcache_batch_entry v[3], bad[11];
	unsigned int i;
	uint32_t done;
	void *hole;

	hole = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, hole);
	munmap(hole, PG);
	bad[0] = ent_map(IOVA_BASE + PG, self->buf, PG, R);
	bad[0].op = 7;
	bad[1] = ent_map(IOVA_BASE + PG, self->buf, PG, 0);
	bad[2] = ent_map(IOVA_BASE + PG, self->buf, PG, R | (1U << 9));
	bad[3] = ent_map(IOVA_BASE + PG, self->buf, PG, R | VFIO_DMA_MAP_FLAG_VADDR);
	bad[4] = ent_map(IOVA_BASE + PG + 8, self->buf, PG, R);
	bad[5] = ent_map(IOVA_BASE + PG, self->buf, 0, R);
	bad[6] = ent_map(IOVA_BASE + PG, self->buf, PG, R);
	bad[6].reserved = 1;
	bad[7] = ent_unmap(IOVA_BASE, PG);
	bad[7].vaddr = (uintptr_t)self->buf;
	bad[8] = ent_unmap(IOVA_BASE, PG);
	bad[8].flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	bad[9] = ent_map(IOVA_BASE + PG, hole, PG, R);
	bad[10] = ent_unmap(IOVA_BASE + 8, PG);
	for (i = 0; i < 11; i++) {
		int expect = i == 9 ? -EFAULT : -EINVAL;

		v[0] = ent_map(IOVA_BASE, self->buf, PG, R);
		v[1] = bad[i];
		v[2] = ent_map(IOVA_BASE + 2 * PG, self->buf, PG, R);
		ASSERT_EQ(expect, _vmc_batch(self->env.container, v, 3, &done)) TH_LOG("bad %u", i);
		ASSERT_EQ(1, done) TH_LOG("bad %u", i);
		ASSERT_EQ(0, v[0].result);
		ASSERT_EQ(expect, v[1].result);
		ASSERT_EQ(SENTINEL, v[2].result);
		ASSERT_EQ(PG, unmap_all(self)) TH_LOG("bad %u", i);
	}
}

/* ---- the differential test ---- */

#define NR_OPS		600
#define NR_SLOTS	24
#define SLOT_PAGES	4

struct op {
	struct vfio_mapcache_batch_entry e;
	int ret;
	uint64_t unmapped;
};

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static void gen_ops(struct op *ops, unsigned int n, uint8_t *buf, uint64_t seed)
{
	static const uint32_t prot[] = { R, W, RW, RW };
	uint64_t s = seed | 1;
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint64_t p = rng_next(&s) % 100;
		uint64_t slot = rng_next(&s) % NR_SLOTS;
		uint64_t iova = IOVA_BASE + slot * SLOT_PAGES * PG;
		uint64_t pages = 1 + rng_next(&s) % 3;

		if (p < 55) {
			uint8_t *va = buf + (rng_next(&s) % (NR_PAGES - 3)) * PG;

			/* Some straddle the next slot: overlaps, EEXIST. */
			if (rng_next(&s) % 4 == 0)
				iova += (SLOT_PAGES - 1) * PG;
			ops[i].e = ent_map(iova, va, pages * PG, prot[rng_next(&s) % 4]);
			if (p < 3)
				ops[i].e.flags = 0;
			else if (p < 5)
				ops[i].e.size += 8;
		} else if (p < 97) {
			/* Whole slots, sometimes splitting a mapping: EINVAL. */
			ops[i].e = ent_unmap(iova, (1 + rng_next(&s) % 3) * SLOT_PAGES * PG);
			if (p < 60)
				ops[i].e.size = PG;
		} else {
			ops[i].e = ent_unmap(0, 0);
			ops[i].e.flags = VFIO_DMA_UNMAP_FLAG_ALL;
		}
	}
}

static void run_single(int container, struct op *ops, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct vfio_mapcache_batch_entry *e = &ops[i].e;

		ops[i].unmapped = 0;
		if (e->op == MAP)
			ops[i].ret = _vmc_map(container, e->iova, (void *)(uintptr_t)e->vaddr,
					      e->size, e->flags);
		else
			ops[i].ret = _vmc_unmap(container, e->iova, e->size, e->flags,
						&ops[i].unmapped);
	}
}

/* The same requests in batches of 1 to 32; after a failure, go on after it. */
static int run_batched(int container, struct op *ops, unsigned int n, uint64_t seed)
{
	struct vfio_mapcache_batch_entry v[32];
	unsigned int i = 0, j, k;
	uint64_t s = seed ^ 0xabcdef;
	uint32_t done;
	int ret;

	while (i < n) {
		k = 1 + rng_next(&s) % 32;
		if (k > n - i)
			k = n - i;
		for (j = 0; j < k; j++)
			v[j] = ops[i + j].e;
		ret = _vmc_batch(container, v, k, &done);
		if ((ret && done >= k) || (!ret && done != k))
			return -1;
		for (j = 0; j < k && j <= done; j++) {
			if (j == done && !ret)
				break;
			ops[i + j].ret = v[j].result;
			ops[i + j].unmapped = v[j].op == UNMAP && !v[j].result ? v[j].size : 0;
		}
		/* Entries after the failing one were not looked at. */
		for (j = done + 1; ret && j < k; j++)
			if (v[j].result != SENTINEL)
				return -2;
		i += ret ? done + 1 : k;
	}
	return 0;
}

/* The last readable mapping the requests left in place, from their results. */
static unsigned int last_live_readable(const struct op *ops, unsigned int n)
{
	unsigned int i, j;

	for (i = n; i-- > 0;) {
		const struct vfio_mapcache_batch_entry *m = &ops[i].e;
		bool live = true;

		if (m->op != MAP || ops[i].ret || !(m->flags & R))
			continue;
		for (j = i + 1; j < n && live; j++) {
			const struct vfio_mapcache_batch_entry *u = &ops[j].e;

			if (u->op != UNMAP || ops[j].ret)
				continue;
			if (u->flags & VFIO_DMA_UNMAP_FLAG_ALL ||
			    (u->iova <= m->iova && m->iova < u->iova + u->size))
				live = false;
		}
		if (live)
			return i;
	}
	return n;
}

TEST_F(batch, differential)
{
	static struct op one[NR_OPS], bat[NR_OPS];
	uint64_t seed = 0x5eed0000 + getpid();
	long long bytes_one, bytes_bat;
	unsigned int i, fails = 0;

	ksft_print_msg("seed %" PRIu64 "\n", seed);
	gen_ops(one, NR_OPS, self->buf, seed);
	memcpy(bat, one, sizeof(one));
	run_single(self->env.container, one, NR_OPS);
	bytes_one = unmap_all(self);
	ASSERT_EQ(0, run_batched(self->env.container, bat, NR_OPS, seed));
	/* Before the final unmap: DMA through what the batches left mapped. */
	test_map(IOVA_OUT, self->out, PG, W);
	i = last_live_readable(bat, NR_OPS);
	if (i < NR_OPS)
		ASSERT_EQ(1, dma_reads_page(self, bat[i].e.iova,
					    (bat[i].e.vaddr - (uintptr_t)self->buf) / PG));
	test_unmap(IOVA_OUT, PG, PG);
	bytes_bat = unmap_all(self);
	for (i = 0; i < NR_OPS; i++) {
		if (one[i].ret == bat[i].ret && one[i].unmapped == bat[i].unmapped)
			continue;
		if (!fails++)
			TH_LOG("op %u (op %u iova 0x%llx size 0x%llx flags %u): one by one %d/%llu, batched %d/%llu",
			       i, one[i].e.op, (unsigned long long)one[i].e.iova,
			       (unsigned long long)one[i].e.size, one[i].e.flags, one[i].ret,
			       (unsigned long long)one[i].unmapped, bat[i].ret,
			       (unsigned long long)bat[i].unmapped);
	}
	ASSERT_EQ(0, fails);
	ASSERT_LE(0, bytes_one);
	ASSERT_EQ(bytes_one, bytes_bat);
}

/* ---- one IOTLB flush per batch ---- */

#define NR_SCATTER	32

/* IOVA of the @i-th scattered mapping: descending, never adjacent. */
static uint64_t scatter_iova(unsigned int i)
{
	return IOVA_BASE + (NR_SCATTER - 1 - i) * 3 * PG;
}

TEST_F(batch, one_flush_for_unmaps)
{
	struct vfio_mapcache_batch_entry v[2 * NR_SCATTER];
	long long before;
	unsigned int i;
	uint32_t done;

	test_map(IOVA_OUT, self->out, PG, W);
	for (i = 0; i < NR_SCATTER; i++)
		test_map(scatter_iova(i), self->buf + i * PG, PG, R);
	for (i = 0; i < NR_SCATTER; i++)
		v[i] = ent_unmap(scatter_iova(i), PG);
	before = flushes();
	ASSERT_EQ(0, _vmc_batch(self->env.container, v, NR_SCATTER, &done));
	ASSERT_EQ(NR_SCATTER, done);
	for (i = 0; i < NR_SCATTER; i++)
		ASSERT_EQ(PG, v[i].size);
	/* Lazy keeps the translations: nothing to flush at all. */
	ASSERT_EQ(strcmp(variant->mode, "lazy") ? 1 : 0, flushes() - before);

	/* Unmaps piggybacked on maps: still one flush (lazy: none). */
	for (i = 0; i < NR_SCATTER / 2; i++)
		test_map(scatter_iova(i), self->buf + i * PG, PG, R);
	for (i = 0; i < NR_SCATTER / 2; i++) {
		v[2 * i] = ent_unmap(scatter_iova(i), PG);
		v[2 * i + 1] = ent_map(scatter_iova(i) + PG, self->buf + (i + 32) * PG, PG, R);
	}
	before = flushes();
	ASSERT_EQ(0, _vmc_batch(self->env.container, v, NR_SCATTER, &done));
	ASSERT_EQ(strcmp(variant->mode, "lazy") ? 1 : 0, flushes() - before);
	for (i = 0; i < NR_SCATTER / 2; i += 5)
		ASSERT_EQ(1, dma_reads_page(self, scatter_iova(i) + PG, i + 32));
	ASSERT_EQ(NR_SCATTER / 2 * PG + PG, unmap_all(self));
}

/* A plain UNMAP_DMA over many scattered mappings flushes once too. */
TEST_F(batch, one_flush_for_a_range)
{
	long long before;
	unsigned int i;

	for (i = 0; i < NR_SCATTER; i++)
		test_map(scatter_iova(i), self->buf + i * PG, PG, R);
	before = flushes();
	test_unmap(IOVA_BASE, NR_SCATTER * 3 * PG, NR_SCATTER * PG);
	ASSERT_EQ(strcmp(variant->mode, "lazy") ? 1 : 0, flushes() - before);
}

/* Lazy: replacing cached translations, a batch flushes once; DMA sees Q. */
TEST_F(batch, one_flush_for_replacements)
{
	struct vfio_mapcache_batch_entry v[16];
	long long before;
	unsigned int i;
	uint32_t done;

	if (strcmp(variant->mode, "lazy"))
		SKIP(return, "translations are cached in lazy mode only");
	vmc_expect_dmar_faults(0);
	test_map(IOVA_OUT, self->out, PG, W);
	for (i = 0; i < 16; i++) {
		test_map(scatter_iova(i), self->buf + i * PG, PG, R);
		test_unmap(scatter_iova(i), PG, PG);
	}
	for (i = 0; i < 16; i++)
		v[i] = ent_map(scatter_iova(i), self->buf + (i + 16) * PG, PG, R);
	before = flushes();
	ASSERT_EQ(0, _vmc_batch(self->env.container, v, 16, &done));
	ASSERT_EQ(16, done);
	ASSERT_EQ(1, flushes() - before);
	for (i = 0; i < 16; i++)
		ASSERT_EQ(1, dma_reads_page(self, scatter_iova(i), i + 16)) TH_LOG("iova %u", i);
}

/* A quota of 5 pages, full of live ones: IOVA_OUT and 4 pages of buf. */
static int fill_quota(struct _test_data_batch *self)
{
	unsigned int i;
	int ret;

	ret = vmc_vm_write("quota_bytes", "20480");
	if (!ret)
		ret = _vmc_map(self->env.container, IOVA_OUT, self->out, PG, W);
	for (i = 0; i < 4 && !ret; i++)
		ret = _vmc_map(self->env.container, scatter_iova(i), self->buf + i * PG, PG, R);
	return ret;
}

/* Pages unmapped earlier in a batch make room for its later maps. */
TEST_F(batch, quota_inside_a_batch)
{
	struct vfio_mapcache_batch_entry v[8];
	unsigned int i;
	uint32_t done;

	if (!strcmp(variant->mode, "off"))
		SKIP(return, "no quota in mode off");
	ASSERT_EQ(0, fill_quota(self));
	for (i = 0; i < 4; i++) {
		v[i] = ent_unmap(scatter_iova(i), PG);
		/* Lazy: the same IOVAs, other pages: replacements. */
		v[i + 4] = ent_map(scatter_iova(i), self->buf + (i + 8) * PG, PG, R);
	}
	ASSERT_EQ(0, _vmc_batch(self->env.container, v, 8, &done));
	ASSERT_EQ(8, done);
	ASSERT_GE(5 * PG, vmc_vm_read_ll("pinned_bytes"));
	ASSERT_GE(5 * PG, vmc_vm_read_ll("peak_pinned_bytes"));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(1, dma_reads_page(self, scatter_iova(i), i + 8));
	/*
	 * One unmap makes room for one map; then live pages fill the quota,
	 * and the next map goes above it (a quota never fails a map).
	 */
	v[0] = ent_unmap(scatter_iova(0), PG);
	v[1] = ent_map(IOVA_BASE + 0x100000, self->buf + 20 * PG, PG, R);
	v[2] = ent_map(IOVA_BASE + 0x101000, self->buf + 21 * PG, PG, R);
	ASSERT_EQ(0, _vmc_batch(self->env.container, v, 3, &done));
	ASSERT_EQ(3, done);
	ASSERT_EQ(0, v[2].result);
	ASSERT_EQ(6 * PG, vmc_vm_read_ll("pinned_bytes"));
	ASSERT_EQ(6 * PG, vmc_vm_read_ll("live_bytes"));
	ASSERT_EQ(1, dma_reads_page(self, IOVA_BASE + 0x100000, 20));
	ASSERT_EQ(1, dma_reads_page(self, IOVA_BASE + 0x101000, 21));
	ASSERT_EQ(6 * PG, unmap_all(self));
	/* Unmapped, they come back down to the quota. */
	ASSERT_EQ(5 * PG, vmc_vm_read_ll("pinned_bytes"));
}

/* A full quota makes a batch flush early only when a map needs room. */
TEST_F(batch, full_quota_pin_hits_flush_once)
{
	struct vfio_mapcache_batch_entry v[8];
	long long before;
	unsigned int i;
	uint32_t done;

	if (!strcmp(variant->mode, "off"))
		SKIP(return, "no quota in mode off");
	ASSERT_EQ(0, fill_quota(self));
	/* The same pages again at other IOVAs: pin hits, no room needed. */
	for (i = 0; i < 4; i++) {
		v[i] = ent_unmap(scatter_iova(i), PG);
		v[i + 4] = ent_map(scatter_iova(i) + PG, self->buf + i * PG, PG, R);
	}
	before = flushes();
	ASSERT_EQ(0, _vmc_batch(self->env.container, v, 8, &done));
	ASSERT_EQ(8, done);
	ASSERT_EQ(strcmp(variant->mode, "lazy") ? 1 : 0, flushes() - before);
	ASSERT_EQ(5 * PG, vmc_vm_read_ll("pinned_bytes"));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(1, dma_reads_page(self, scatter_iova(i) + PG, i));
	ASSERT_EQ(5 * PG, unmap_all(self));
}

/* Teardown after batches: every pin and the locked_vm charge go back. */
TEST_F(batch, teardown_counters)
{
	struct vfio_mapcache_batch_entry v[NR_SCATTER];
	long long base = vmc_pinned_pages(), locked = vmc_locked_vm_kb();
	unsigned int i;
	uint32_t done;

	for (i = 0; i < NR_SCATTER; i++)
		v[i] = ent_map(scatter_iova(i), self->buf + i * PG, PG, RW);
	ASSERT_EQ(0, _vmc_batch(self->env.container, v, NR_SCATTER, &done));
	for (i = 0; i < NR_SCATTER / 2; i++)
		v[i] = ent_unmap(scatter_iova(i), PG);
	ASSERT_EQ(0, _vmc_batch(self->env.container, v, NR_SCATTER / 2, &done));
	/* Mode off unpins at unmap; the cache keeps the pages pinned. */
	ASSERT_EQ(base + (strcmp(variant->mode, "off") ? NR_SCATTER : NR_SCATTER / 2),
		  vmc_pinned_pages());
	vmc_env_close(&self->env);
	self->env.container = self->env.group = self->env.device = -1;
	ASSERT_EQ(base, vmc_pinned_pages());
	ASSERT_EQ(locked, vmc_locked_vm_kb());
}

TEST_HARNESS_MAIN
