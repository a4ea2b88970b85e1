// SPDX-License-Identifier: GPL-2.0
/*
 * Adversarial ioctl input, differential: one seeded random sequence of
 * container ioctls runs on a stock vfio_iommu_type1 container, then on a
 * vfio_iommu_mapcache container, and every return value and every byte the
 * kernel leaves in the argument (and past it) must be the same.
 *
 * The calls: VFIO_GET_API_VERSION, VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU,
 * VFIO_IOMMU_GET_INFO, VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA,
 * VFIO_IOMMU_DIRTY_PAGES, VFIO_MAPCACHE_BATCH and unknown commands of the
 * VFIO ioctl type; argsz from 0 to past the struct and beyond; every flag
 * bit; IOVAs, sizes and addresses at 0, a page minus one, U64_MAX, sums
 * that overflow by a page or just fit, unaligned, in read-only, PROT_NONE
 * and unmapped memory, kernel addresses; arguments that end in a PROT_NONE
 * page or sit in read-only memory.  Some calls are made by a forked child
 * on the container it inherited, some by another process that got the
 * container through SCM_RIGHTS (through pidfd_getfd() on a kernel without
 * Unix sockets); some go to fds that are not set-up
 * containers (a container without groups, the group, /dev/null, an
 * eventfd).
 *
 * Where ours differs by design the documented answer is the reference:
 * VFIO_MAPCACHE_BATCH, which type1 refuses (ENOTTY, checked), is checked
 * against type1 doing each entry as its own MAP_DMA / UNMAP_DMA plus the
 * batch's documented header checks, stop-at-first-failure and write-back;
 * our extension VFIO_MAPCACHE_IOMMU answers 1; VFIO_UPDATE_VADDR is not
 * advertised and the VADDR flags fail with EINVAL; VFIO_IOMMU_DIRTY_PAGES
 * fails with ENOTTY (see the admin guide).  Those calls are not sent to
 * type1, whose state they would change.
 *
 * At the end of each run every pin is back (module pinned pages, the VM's
 * pinned_bytes and live_bytes, VmLck) and edu still moves the right bytes.
 *
 * VMC_FUZZ_SEED=<n> replays a sequence (the seed is printed first);
 * VMC_FUZZ_OPS=<n> calls per run (default 6000); VMC_FUZZ_VERBOSE=1
 * prints every call.  A failure prints the call in full, with the calls
 * before it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vmc_lib.h"

#define PG		VMC_PAGE
#define R		VFIO_DMA_MAP_FLAG_READ
#define W		VFIO_DMA_MAP_FLAG_WRITE
#define RW		(R | W)

/* The memory the calls point at: RW pages, RO pages, PROT_NONE, a hole. */
#define BUF_PAGES	64
#define RO_PAGES	4
#define NONE_PAGES	4
#define HOLE_PAGES	4
/* Arguments: ARG_PAGES RW then a PROT_NONE guard; one read-only page. */
#define ARG_PAGES	2
/* Batch vectors: VEC_PAGES RW then a PROT_NONE guard; one read-only page. */
#define VEC_PAGES	16

#define WIN_BASE	0x100000UL
#define WIN_PAGES	256
#define MSI_BASE	0xfee00000UL
#define KERNEL_ADDR	0xffff888000000000ULL

#define DEF_OPS		6000
#define MAX_OPS		50000
#define DMA_LIMIT	"48"
#define MAX_GEN		40	/* batch entries generated; the rest of a vector is 0 */
#define ARG_WIN		512	/* argument bytes compared, from its start */
#define VEC_WIN		3072	/* vector bytes compared */
#define TAIL		0xa5
#define SENTINEL	0x7eadbeef
#define HISTORY		8

#define BATCH_MINSZ	offsetofend(struct vfio_mapcache_batch, reserved)

enum kind {
	OP_API, OP_EXT, OP_SET_IOMMU, OP_INFO, OP_MAP, OP_UNMAP, OP_BATCH, OP_DIRTY,
	OP_UNKNOWN, OP_SET_CONTAINER, OP_QUIT,
};

static const char *const kind_names[] = {
	"GET_API_VERSION", "CHECK_EXTENSION", "SET_IOMMU", "GET_INFO", "MAP_DMA",
	"UNMAP_DMA", "BATCH", "DIRTY_PAGES", "unknown", "GROUP_SET_CONTAINER", "quit",
};

/* Who makes the call. */
enum who { BY_SELF, BY_CHILD, BY_PEER };
static const char *const who_names[] = { "", " [forked child]", " [peer process]" };

/* Which fd it goes to. */
enum fdsel { FD_CONTAINER, FD_SPARE, FD_GROUP, FD_NULL, FD_EVENTFD };
static const char *const fd_names[] = { "", " on a container without groups", " on the group",
					" on /dev/null", " on an eventfd" };

/* Where a struct argument (or a batch vector) lies. */
enum place { PL_OK, PL_STRADDLE, PL_RO, PL_NULL, PL_KERNEL, PL_TOP };
static const char *const place_names[] = { "ok", "ends in PROT_NONE", "read-only", "NULL",
					   "kernel address", "top of the address space" };

struct op {
	uint32_t kind, who, fd, place, straddle;
	uint64_t cmd, arg;		/* unknown cmd; scalar argument */
	uint32_t argsz, flags;
	uint64_t vaddr, iova, size;	/* also the junk of GET_INFO / DIRTY_PAGES */
	/* VFIO_MAPCACHE_BATCH */
	uint32_t nr, es, bflags, breserved, vplace, vstraddle, nr_gen;
	int32_t extra_nz;		/* entry whose extra bytes are not 0, or -1 */
	struct vfio_mapcache_batch_entry gen[MAX_GEN];
};

struct result {
	int64_t ret;
	int64_t aux;		/* type1's answer to the batch ioctl itself */
	uint32_t len;
	uint8_t out[ARG_WIN + VEC_WIN];
};

/* The memory layout, the same in every process (helpers are forked). */
static uint8_t *area;		/* BUF, RO, NONE, hole */
static uint8_t *args;		/* ARG_PAGES + guard */
static uint8_t *args_ro;
static uint8_t *vecs;		/* VEC_PAGES + guard */
static uint8_t *vecs_ro;
/* The usable IOVA space's last byte, from type1's GET_INFO. */
static uint64_t iova_top;

/* ---- random ---- */

static uint64_t rng;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static bool chance(unsigned int percent)
{
	return below(100) < percent;
}

/* ---- memory the kernel may read or write ---- */

struct region {
	uint64_t start, end;	/* [start, end) */
	bool rd, wr;
};

static struct region regions[8];
static unsigned int nr_regions;

static void add_region(void *p, size_t len, bool rd, bool wr)
{
	regions[nr_regions++] = (struct region){ (uintptr_t)p, (uintptr_t)p + len, rd, wr };
}

static bool accessible(uint64_t addr, uint64_t len, bool write)
{
	uint64_t a = addr, end = addr + len;
	unsigned int i;

	if (!len)
		return true;
	if (end < addr)
		return false;
	/* Region by region: adjacent ones (RW then RO) join. */
	while (a < end) {
		for (i = 0; i < nr_regions; i++)
			if (regions[i].start <= a && a < regions[i].end &&
			    (write ? regions[i].wr : regions[i].rd))
				break;
		if (i == nr_regions)
			return false;
		a = regions[i].end;
	}
	return true;
}

static bool readable(uint64_t addr, uint64_t len)
{
	return accessible(addr, len, false);
}

static bool writable(uint64_t addr, uint64_t len)
{
	return accessible(addr, len, true);
}

/* ---- the generator ---- */

static uint64_t gen_iova(void)
{
	uint64_t p = below(100);

	if (p < 85)
		return WIN_BASE + below(WIN_PAGES) * PG;
	switch (below(12)) {
	case 0: return 0;
	case 1: return PG - 1;
	case 2: return WIN_BASE + below(WIN_PAGES) * PG + 1 + below(PG - 1);
	case 3: return MSI_BASE + below(16) * PG;
	case 4: return -PG;
	case 5: return UINT64_MAX;
	case 6: return iova_top + 1 - PG * (below(2) ? 1 : 4);
	case 7: return iova_top + 1;
	case 8: return 1ULL << (39 + below(25));
	case 9: return 1ULL << 63;
	case 10: return rnd() & ~(PG - 1);
	default: return -PG * (1 + below(4));
	}
}

static uint64_t gen_size(uint64_t iova)
{
	uint64_t p = below(100);

	if (p < 85)
		return (1 + below(below(4) ? 4 : 16)) * PG;
	switch (below(14)) {
	case 0: return 0;
	case 1: return PG - 1;
	case 2: return PG + 1;
	case 3: return BUF_PAGES * PG;
	case 4: return (BUF_PAGES + RO_PAGES + 1) * PG;
	case 5: return 1ULL << 30;
	case 6: return 1ULL << 39;
	case 7: return UINT64_MAX;
	case 8: return UINT64_MAX & ~(PG - 1);
	case 9: return -iova;			/* last byte is U64_MAX */
	case 10: return -iova + PG;		/* wraps by a page */
	case 11: return 1ULL << 63;
	case 12: return rnd();
	default: return (1 + below(WIN_PAGES)) * PG;
	}
}

static uint64_t gen_vaddr(uint64_t size)
{
	uint64_t p = below(100), pages = size / PG;
	uint8_t *buf = area;

	if (p < 85) {
		if (pages && pages <= BUF_PAGES)
			return (uintptr_t)(buf + below(BUF_PAGES - pages + 1) * PG);
		return (uintptr_t)buf;
	}
	switch (below(13)) {
	case 0: return (uintptr_t)(buf + below(BUF_PAGES) * PG + 1 + below(PG - 1));
	case 1: return (uintptr_t)(buf + (BUF_PAGES + below(RO_PAGES)) * PG);
	case 2: return (uintptr_t)(buf + (BUF_PAGES + RO_PAGES + below(NONE_PAGES)) * PG);
	case 3: return (uintptr_t)(buf + (BUF_PAGES + RO_PAGES + NONE_PAGES + below(HOLE_PAGES)) * PG);
	/* Straddles the end of the RW pages. */
	case 4: return (uintptr_t)(buf + (BUF_PAGES - 1) * PG);
	case 5: return (uintptr_t)(buf + (BUF_PAGES + RO_PAGES - 1) * PG);
	case 6: return 0;
	case 7: return PG - 1;
	case 8: return KERNEL_ADDR;
	case 9: return -PG;
	case 10: return UINT64_MAX;
	case 11: return -size;
	default: return -size + PG;
	}
}

static uint32_t gen_argsz(uint32_t minsz, uint32_t full)
{
	uint64_t p = below(100);

	if (p < 85)
		return full;
	switch (below(8)) {
	case 0: return 0;
	case 1: return minsz - 1;
	case 2: return minsz;
	case 3: return full + 1 + below(32);
	case 4: return below(minsz);
	case 5: return UINT32_MAX;
	case 6: return 1U << (8 + below(20));
	default: return full + 8;
	}
}

/* A single bit, a random mask, or the usual. */
static uint32_t gen_flags(uint32_t usual)
{
	uint64_t p = below(100);

	if (p < 85)
		return usual;
	if (p < 94)
		return usual | (1U << below(32));
	if (p < 98)
		return 1U << below(32);
	return (uint32_t)rnd();
}

static void gen_place(struct op *op, size_t len)
{
	uint64_t p = below(100);

	op->place = PL_OK;
	if (p < 92)
		return;
	op->place = 1 + below(5);
	/* Bytes of the struct before the guard page. */
	op->straddle = below(len + 1);
}

static struct vfio_mapcache_batch_entry gen_entry(void)
{
	struct vfio_mapcache_batch_entry e = { .result = SENTINEL };
	uint64_t p = below(100);

	e.iova = gen_iova();
	e.size = gen_size(e.iova);
	if (p < 55) {
		e.op = VFIO_MAPCACHE_OP_MAP;
		e.flags = gen_flags(below(4) ? RW : (below(2) ? R : W));
		e.vaddr = gen_vaddr(e.size);
	} else if (p < 95) {
		e.op = VFIO_MAPCACHE_OP_UNMAP;
		e.flags = chance(8) ? VFIO_DMA_UNMAP_FLAG_ALL : gen_flags(0);
		if (e.flags == VFIO_DMA_UNMAP_FLAG_ALL && chance(80))
			e.iova = e.size = 0;
		if (chance(4))
			e.vaddr = gen_vaddr(e.size);
	} else {
		e.op = below(2) ? 0 : 3 + below(100);
		e.vaddr = gen_vaddr(e.size);
	}
	if (chance(3))
		e.reserved = 1 + below(10);
	return e;
}

static void gen_batch(struct op *op)
{
	uint32_t i;

	op->nr = 1 + below(below(4) ? 12 : MAX_GEN);
	if (chance(6))
		op->nr = below(3) ? 0 : (below(2) ? VFIO_MAPCACHE_BATCH_MAX + 1 + below(8) :
					 VFIO_MAPCACHE_BATCH_MAX - below(4));
	op->es = sizeof(struct vfio_mapcache_batch_entry);
	if (chance(12)) {
		static const uint32_t sizes[] = { 0, 8, 39, 41, 48, 64, 4096, 4097, 8192 };

		op->es = sizes[below(9)];
	}
	op->extra_nz = -1;
	if (op->es > sizeof(struct vfio_mapcache_batch_entry) && chance(30))
		op->extra_nz = below(op->nr < MAX_GEN ? op->nr : MAX_GEN);
	op->bflags = chance(5) ? 1U << below(32) : 0;
	op->breserved = chance(4) ? 1 + below(9) : 0;
	op->argsz = gen_argsz(BATCH_MINSZ, sizeof(struct vfio_mapcache_batch));
	gen_place(op, sizeof(struct vfio_mapcache_batch));
	/* The vector: mostly fine, else cut by the guard page, read-only, bogus. */
	op->vplace = chance(88) ? PL_OK : 1 + below(5);
	/* Never before the vector pages: what lies there is not ours. */
	op->vstraddle = below(min_u64((uint64_t)(op->nr ?: 1) * op->es, VEC_PAGES * PG) + 1);
	op->nr_gen = op->nr < MAX_GEN ? op->nr : MAX_GEN;
	for (i = 0; i < op->nr_gen; i++)
		op->gen[i] = gen_entry();
}

static void gen_op(struct op *op)
{
	static const uint64_t exts[] = {
		VFIO_TYPE1_IOMMU, VFIO_SPAPR_TCE_IOMMU, VFIO_TYPE1v2_IOMMU,
		VFIO_DMA_CC_IOMMU, VFIO_EEH, 6 /* TYPE1_NESTING until 6.13 */,
		VFIO_SPAPR_TCE_v2_IOMMU, VFIO_NOIOMMU_IOMMU, VFIO_UNMAP_ALL,
		VFIO_UPDATE_VADDR, VFIO_MAPCACHE_IOMMU, 0,
	};
	uint64_t p = below(1000);

	memset(op, 0, sizeof(*op));
	op->extra_nz = -1;
	if (p < 300) {
		op->kind = OP_MAP;
		op->argsz = gen_argsz(offsetofend(struct vfio_iommu_type1_dma_map, size),
				      sizeof(struct vfio_iommu_type1_dma_map));
		op->flags = gen_flags(below(4) ? RW : (below(2) ? R : W));
		if (chance(3))
			op->flags = (op->flags & RW) | VFIO_DMA_MAP_FLAG_VADDR;
		op->iova = gen_iova();
		op->size = gen_size(op->iova);
		op->vaddr = gen_vaddr(op->size);
		gen_place(op, sizeof(struct vfio_iommu_type1_dma_map));
	} else if (p < 500) {
		op->kind = OP_UNMAP;
		op->argsz = gen_argsz(offsetofend(struct vfio_iommu_type1_dma_unmap, size),
				      sizeof(struct vfio_iommu_type1_dma_unmap));
		op->iova = gen_iova();
		op->size = gen_size(op->iova);
		op->flags = gen_flags(0);
		if (chance(10)) {
			op->flags = VFIO_DMA_UNMAP_FLAG_ALL;
			if (chance(80))
				op->iova = op->size = 0;
		} else if (chance(4)) {
			op->flags = VFIO_DMA_UNMAP_FLAG_VADDR | (below(2) ? VFIO_DMA_UNMAP_FLAG_ALL : 0);
		} else if (chance(4)) {
			op->flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
		}
		gen_place(op, sizeof(struct vfio_iommu_type1_dma_unmap));
	} else if (p < 620) {
		op->kind = OP_BATCH;
		gen_batch(op);
	} else if (p < 700) {
		op->kind = OP_INFO;
		op->argsz = gen_argsz(offsetofend(struct vfio_iommu_type1_info, iova_pgsizes),
				      below(2) ? sizeof(struct vfio_iommu_type1_info) : 256);
		op->flags = (uint32_t)rnd();
		op->iova = rnd();
		op->size = rnd();
		gen_place(op, sizeof(struct vfio_iommu_type1_info));
	} else if (p < 780) {
		op->kind = OP_EXT;
		op->arg = below(4) ? exts[below(ARRAY_SIZE(exts))] : (below(2) ? below(64) : rnd());
	} else if (p < 800) {
		op->kind = OP_API;
		op->arg = rnd();
	} else if (p < 820) {
		op->kind = OP_SET_IOMMU;
		op->arg = below(2) ? exts[below(ARRAY_SIZE(exts))] : rnd();
	} else if (p < 840) {
		op->kind = OP_DIRTY;
		op->argsz = gen_argsz(8, 8 + below(64));
		op->flags = gen_flags(1U << below(3));
		gen_place(op, 8);
	} else if (p < 930) {
		op->kind = OP_UNKNOWN;
		do {
			op->cmd = _IOC(below(4), VFIO_TYPE, below(256), below(1U << 14));
			if (chance(50))
				op->cmd = _IO(VFIO_TYPE, VFIO_BASE + below(128));
		} while (op->cmd == VFIO_GET_API_VERSION || op->cmd == VFIO_CHECK_EXTENSION ||
			 op->cmd == VFIO_SET_IOMMU || op->cmd == VFIO_IOMMU_GET_INFO ||
			 op->cmd == VFIO_IOMMU_MAP_DMA || op->cmd == VFIO_IOMMU_UNMAP_DMA ||
			 op->cmd == VFIO_IOMMU_DIRTY_PAGES || op->cmd == VFIO_MAPCACHE_BATCH);
		op->arg = below(2) ? rnd() : 0;
		op->argsz = (uint32_t)rnd();
		gen_place(op, 64);
	} else {
		op->kind = OP_SET_CONTAINER;
		op->arg = below(6);	/* which fd it names: see fd_for() */
		gen_place(op, sizeof(int));
		return;
	}
	/* Most calls by this process, on the container. */
	p = below(100);
	if (op->kind == OP_UNKNOWN || p < 70)
		return;
	if (p < 82) {
		op->who = BY_CHILD;
	} else if (p < 94) {
		op->who = BY_PEER;
	} else {
		op->fd = 1 + below(4);
		if (op->kind == OP_BATCH && op->fd == FD_SPARE)
			op->fd = FD_NULL;
	}
}

/* ---- printing ---- */

static int fmt_entry(char *s, size_t len, const struct vfio_mapcache_batch_entry *e)
{
	return snprintf(s, len, " {op %u flags 0x%x vaddr 0x%llx iova 0x%llx size 0x%llx rsv %u}",
			e->op, e->flags, (unsigned long long)e->vaddr,
			(unsigned long long)e->iova, (unsigned long long)e->size, e->reserved);
}

/* The call in full (@full) or compactly. */
static void fmt_op(char *s, size_t len, const struct op *op, bool full)
{
	size_t n = 0;
	uint32_t i;

	n += snprintf(s + n, len - n, "%s%s%s", kind_names[op->kind], who_names[op->who],
		      fd_names[op->fd]);
	switch (op->kind) {
	case OP_API:
	case OP_EXT:
	case OP_SET_IOMMU:
		n += snprintf(s + n, len - n, " arg 0x%llx", (unsigned long long)op->arg);
		return;
	case OP_UNKNOWN:
		n += snprintf(s + n, len - n, " cmd 0x%llx arg 0x%llx",
			      (unsigned long long)op->cmd, (unsigned long long)op->arg);
		break;
	case OP_SET_CONTAINER:
		n += snprintf(s + n, len - n, " fd #%llu", (unsigned long long)op->arg);
		break;
	case OP_BATCH:
		n += snprintf(s + n, len - n,
			      " argsz %u flags 0x%x nr %u entry_size %u reserved %u vector %s",
			      op->argsz, op->bflags, op->nr, op->es, op->breserved,
			      place_names[op->vplace]);
		if (op->vplace == PL_STRADDLE)
			n += snprintf(s + n, len - n, " (%u bytes before it)", op->vstraddle);
		if (op->extra_nz >= 0)
			n += snprintf(s + n, len - n, " extra bytes of entry %d not 0", op->extra_nz);
		for (i = 0; i < op->nr_gen && (full || i < 2) && n < len; i++)
			n += fmt_entry(s + n, len - n, &op->gen[i]);
		if (!full && op->nr_gen > 2 && n < len)
			n += snprintf(s + n, len - n, " ...");
		break;
	default:
		n += snprintf(s + n, len - n,
			      " argsz %u flags 0x%x vaddr 0x%llx iova 0x%llx size 0x%llx",
			      op->argsz, op->flags, (unsigned long long)op->vaddr,
			      (unsigned long long)op->iova, (unsigned long long)op->size);
		break;
	}
	if (n < len && op->place != PL_OK)
		n += snprintf(s + n, len - n, ", argument %s", place_names[op->place]);
	if (n < len && op->place == PL_STRADDLE)
		snprintf(s + n, len - n, " (%u bytes before it)", op->straddle);
}

/* ---- making a call ---- */

/* The fds a process makes calls on. */
struct fds {
	int fd[5];	/* by enum fdsel */
};

static uint8_t *place_addr(uint32_t place, uint32_t straddle, bool vec)
{
	uint8_t *rw = vec ? vecs : args, *ro = vec ? vecs_ro : args_ro;
	size_t rw_len = (vec ? VEC_PAGES : ARG_PAGES) * PG;

	switch (place) {
	case PL_OK: return rw + (vec ? 0 : 256);
	case PL_STRADDLE: return rw + rw_len - straddle;
	case PL_RO: return ro + (vec ? 0 : 256);
	case PL_NULL: return NULL;
	case PL_KERNEL: return (uint8_t *)KERNEL_ADDR;
	default: return (uint8_t *)-PG;
	}
}

/* Write @len bytes of @src at @dst, where the memory is ours to write. */
static void put_bytes(uint8_t *dst, const void *src, size_t len)
{
	const uint8_t *s = src;
	size_t i;

	for (i = 0; i < len; i++)
		if (writable((uintptr_t)dst + i, 1))
			dst[i] = s[i];
}

static void unprotect(bool vec)
{
	mprotect(vec ? vecs_ro : args_ro, PG, PROT_READ | PROT_WRITE);
}

static void protect(bool vec)
{
	mprotect(vec ? vecs_ro : args_ro, PG, PROT_READ);
}

/* Lay the argument struct out: a tail pattern after it, as far as mapped. */
static uint8_t *build_arg(const struct op *op, const void *s, size_t len)
{
	uint8_t *p = place_addr(op->place, op->straddle, false);
	uint8_t tail[ARG_WIN];

	memset(tail, TAIL, sizeof(tail));
	if (op->place == PL_RO)
		unprotect(false);
	put_bytes(p, tail, ARG_WIN);
	put_bytes(p, s, len);
	if (op->place == PL_RO)
		protect(false);
	return p;
}

/* What the kernel left in the readable bytes from @p on. */
static void capture(struct result *res, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len && res->len < sizeof(res->out); i++)
		if (readable((uintptr_t)p + i, 1))
			res->out[res->len++] = p[i];
}

static long sys_ioctl(int fd, unsigned long cmd, unsigned long arg)
{
	long r = ioctl(fd, cmd, arg);

	return r < 0 ? -errno : r;
}

/* The vector of a batch: generated entries, zero after them. */
static uint8_t *build_vector(const struct op *op)
{
	uint8_t *v = place_addr(op->vplace, op->vstraddle, true);
	uint64_t total = (uint64_t)op->nr * op->es, i;
	size_t el = sizeof(struct vfio_mapcache_batch_entry), n;
	uint8_t one = 1, zero[256] = {};

	if (op->vplace == PL_RO)
		unprotect(true);
	if (total > (VEC_PAGES + 1) * PG)
		total = (VEC_PAGES + 1) * PG;
	for (i = 0; i < total; i += n) {
		n = total - i < sizeof(zero) ? total - i : sizeof(zero);
		put_bytes(v + i, zero, n);
	}
	for (i = 0; i < op->nr_gen && op->es; i++) {
		put_bytes(v + i * op->es, &op->gen[i], op->es < el ? op->es : el);
		if ((int32_t)i == op->extra_nz)
			put_bytes(v + i * op->es + op->es - 1, &one, 1);
	}
	if (op->vplace == PL_RO)
		protect(true);
	return v;
}

/* Write @len bytes at @dst in order, up to the first one we may not write. */
static bool write_upto(uint8_t *dst, const void *src, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!writable((uintptr_t)dst + i, 1))
			return false;
		dst[i] = ((const uint8_t *)src)[i];
	}
	return true;
}

/*
 * A range that ends at the very top (iova + size == 2^64): type1 computes
 * iova + size, which wraps to 0, so its UNMAP_DMA unmaps nothing there and
 * its MAP_DMA misses overlaps; ours takes the range as it is (documented).
 * Nothing is ever mapped in the top page, and no map reaching it can be
 * valid: type1 gives ours' answer for the range one page shorter.
 */
static bool unmap_to_top(uint64_t iova, uint64_t size, uint32_t flags)
{
	return !flags && size > PG && iova + size == 0;
}

static bool map_to_top(uint64_t iova, uint64_t size, uint64_t vaddr)
{
	return size > PG && iova + size == 0 && vaddr + size - 1 >= vaddr;
}

/* Ours' MAP_DMA of a range up to the top, from type1's of one page less. */
static long emulate_map_to_top(int fd, uint8_t *p)
{
	const size_t minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	struct vfio_iommu_type1_dma_map m;

	if (!readable((uintptr_t)p, minsz))
		return -EFAULT;
	memcpy(&m, p, minsz);
	if (m.argsz < minsz)
		return -EINVAL;
	m.argsz = minsz;
	m.size -= PG;
	return sys_ioctl(fd, VFIO_IOMMU_MAP_DMA, (uintptr_t)&m);
}

/* Ours' UNMAP_DMA of a range up to the top, from type1's of one page less. */
static long emulate_unmap_to_top(int fd, uint8_t *p)
{
	const size_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	struct vfio_iommu_type1_dma_unmap u;
	uint64_t unmapped = 0;
	long ret;

	if (!readable((uintptr_t)p, minsz))
		return -EFAULT;
	memcpy(&u, p, minsz);
	if (u.argsz < minsz)
		return -EINVAL;
	ret = _vmc_unmap(fd, u.iova, u.size - PG, 0, &unmapped);
	if (ret)
		return ret;
	return write_upto(p + offsetof(typeof(u), size), &unmapped, 8) ? 0 : -EFAULT;
}

/*
 * Type1's reading of a batch: the header and vector checks documented for
 * VFIO_MAPCACHE_BATCH, each entry as its own MAP_DMA or UNMAP_DMA, the
 * write-back of results.  Leaves memory as our backend would and returns
 * what it would.
 */
static long emulate_batch(int fd, uint8_t *hdr, uint8_t *vec, const struct op *op)
{
	const size_t el = sizeof(struct vfio_mapcache_batch_entry);
	struct vfio_mapcache_batch b;
	struct vfio_mapcache_batch_entry e;
	uint32_t i, processed = 0;
	uint64_t j, unmapped;
	long ret = 0;

	if (!readable((uintptr_t)hdr, BATCH_MINSZ))
		return -EFAULT;
	memcpy(&b, hdr, sizeof(b));
	if (b.argsz < BATCH_MINSZ || b.flags || b.reserved || !b.nr_entries || b.entry_size < el)
		return -EINVAL;
	if (b.nr_entries > VFIO_MAPCACHE_BATCH_MAX || b.entry_size > 4096)
		return -E2BIG;
	if (b.entry_size == el) {
		if (!readable((uintptr_t)vec, (uint64_t)b.nr_entries * el))
			return -EFAULT;
	} else {
		for (i = 0; i < b.nr_entries; i++) {
			uint8_t *x = vec + (uint64_t)i * b.entry_size;

			for (j = el; j < b.entry_size; j++) {
				if (!readable((uintptr_t)x + j, 1))
					return -EFAULT;
				if (x[j])
					return -E2BIG;
			}
			if (!readable((uintptr_t)x, el))
				return -EFAULT;
		}
	}
	for (i = 0; i < b.nr_entries && !ret; i++) {
		memcpy(&e, vec + (uint64_t)i * b.entry_size, el);
		unmapped = e.size;
		if (e.reserved) {
			ret = -EINVAL;
		} else if (e.op == VFIO_MAPCACHE_OP_MAP) {
			/* VFIO_DMA_MAP_FLAG_VADDR is not offered: an unknown flag. */
			if (e.flags & ~RW)
				ret = -EINVAL;
			else if (map_to_top(e.iova, e.size, e.vaddr))
				ret = _vmc_map(fd, e.iova, (void *)(uintptr_t)e.vaddr, e.size - PG,
					       e.flags);
			else
				ret = _vmc_map(fd, e.iova, (void *)(uintptr_t)e.vaddr, e.size, e.flags);
		} else if (e.op == VFIO_MAPCACHE_OP_UNMAP) {
			if (e.vaddr || e.flags & ~VFIO_DMA_UNMAP_FLAG_ALL)
				ret = -EINVAL;
			else if (unmap_to_top(e.iova, e.size, e.flags))
				ret = _vmc_unmap(fd, e.iova, e.size - PG, 0, &unmapped);
			else
				ret = _vmc_unmap(fd, e.iova, e.size, e.flags, &unmapped);
			if (ret)
				unmapped = e.size;
		} else {
			ret = -EINVAL;
		}
		processed = i + 1;
		/* Written back: size, then result, entry by entry. */
		{
			uint8_t *x = vec + (uint64_t)i * b.entry_size;
			int32_t r = ret;

			if (!writable((uintptr_t)x + offsetof(typeof(e), size), 8))
				return ret ?: -EFAULT;
			memcpy(x + offsetof(typeof(e), size), &unmapped, 8);
			if (!writable((uintptr_t)x + offsetof(typeof(e), result), 4))
				return ret ?: -EFAULT;
			memcpy(x + offsetof(typeof(e), result), &r, 4);
		}
	}
	b.nr_done = ret ? processed - 1 : processed;
	if (!writable((uintptr_t)hdr + offsetof(typeof(b), nr_done), 4))
		return ret ?: -EFAULT;
	memcpy(hdr + offsetof(typeof(b), nr_done), &b.nr_done, 4);
	return ret;
}

/*
 * Our GET_INFO, from type1's: the same page sizes and capabilities, less
 * the migration capability (not offered), with DMA_AVAIL first and the
 * IOVA ranges after it, as our backend adds them; then written back by the
 * rules of both (too small for the chain: the size it needs; else the chain
 * after the struct, then the struct).  Leaves memory as ours would.
 */
static long emulate_info(int fd, uint8_t *p, const struct op *op)
{
	const size_t minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	struct vfio_iommu_type1_info hdr, *full;
	struct vfio_info_cap_header *h;
	uint8_t caps[1024];
	uint32_t off, at[8], len[8], nr = 0, i, j, end, size = 0;
	uint16_t want[2] = { VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE };
	uint32_t arg_argsz;

	if (!readable((uintptr_t)p, minsz))
		return -EFAULT;
	memcpy(&arg_argsz, p, 4);
	if (arg_argsz < minsz)
		return -EINVAL;
	full = vmc_get_info(fd);
	if (!full)
		return -errno;
	/* Where each capability lies and how long it is (up to the next one). */
	for (off = full->cap_offset; off && nr < 8; off = h->next) {
		h = (void *)((uint8_t *)full + off);
		at[nr++] = off;
	}
	for (i = 0; i < nr; i++) {
		end = full->argsz;
		for (j = 0; j < nr; j++)
			if (at[j] > at[i] && at[j] < end)
				end = at[j];
		len[i] = end - at[i];
	}
	memset(caps, 0, sizeof(caps));
	for (j = 0; j < 2; j++)
		for (i = 0; i < nr; i++) {
			h = (void *)((uint8_t *)full + at[i]);
			if (h->id != want[j] || size + len[i] > sizeof(caps))
				continue;
			memcpy(caps + size, h, len[i]);
			h = (void *)(caps + size);
			size += len[i];
			h->next = j ? 0 : sizeof(hdr) + size;
		}
	memset(&hdr, 0, sizeof(hdr));
	memcpy(&hdr, p, minsz);
	hdr.flags = full->flags;
	hdr.iova_pgsizes = full->iova_pgsizes;
	free(full);
	if (hdr.argsz < sizeof(hdr) + size) {
		hdr.argsz = sizeof(hdr) + size;
	} else {
		if (!write_upto(p + sizeof(hdr), caps, size))
			return -EFAULT;
		hdr.cap_offset = sizeof(hdr);
	}
	return write_upto(p, &hdr, arg_argsz < sizeof(hdr) ? arg_argsz : sizeof(hdr)) ?
	       0 : -EFAULT;
}

/*
 * Calls where our backend differs by design: not sent to type1; the
 * documented answer.  Returns true (with *@ret) for those.
 */
static bool documented(const struct op *op, long *ret)
{
	const uint8_t *p = place_addr(op->place, op->straddle, false);

	if (op->fd != FD_CONTAINER)
		return false;
	switch (op->kind) {
	case OP_EXT:
		if (op->arg == VFIO_MAPCACHE_IOMMU) {
			*ret = 1;
			return true;
		}
		if (op->arg == VFIO_UPDATE_VADDR) {
			*ret = 0;
			return true;
		}
		return false;
	case OP_MAP:
		if (!(op->flags & VFIO_DMA_MAP_FLAG_VADDR) ||
		    op->flags & ~(RW | VFIO_DMA_MAP_FLAG_VADDR))
			return false;
		*ret = readable((uintptr_t)p, offsetofend(struct vfio_iommu_type1_dma_map, size)) ?
		       -EINVAL : -EFAULT;
		return true;
	case OP_UNMAP:
		/* Type1 would read and check a dirty bitmap; we refuse the flag first. */
		if (!(op->flags & (VFIO_DMA_UNMAP_FLAG_VADDR | VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP)) ||
		    op->flags & ~(VFIO_DMA_UNMAP_FLAG_VADDR | VFIO_DMA_UNMAP_FLAG_ALL |
				  VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP))
			return false;
		*ret = readable((uintptr_t)p, offsetofend(struct vfio_iommu_type1_dma_unmap, size)) ?
		       -EINVAL : -EFAULT;
		return true;
	case OP_DIRTY:
		*ret = -ENOTTY;
		return true;
	default:
		return false;
	}
}

/* Make the call @op on @f (the process's own fds), as @backend would answer. */
static void exec_op(const struct fds *f, const struct op *op, enum vmc_backend backend,
		    struct result *res)
{
	bool type1 = backend == VMC_BACKEND_TYPE1;
	int fd = f->fd[op->fd];
	long doc = 0;
	uint8_t *p = NULL, *v;
	bool skip = type1 && documented(op, &doc);

	memset(res, 0, offsetof(struct result, out));
	switch (op->kind) {
	case OP_API:
		res->ret = sys_ioctl(fd, VFIO_GET_API_VERSION, op->arg);
		return;
	case OP_EXT:
		res->ret = skip ? doc : sys_ioctl(fd, VFIO_CHECK_EXTENSION, op->arg);
		return;
	case OP_SET_IOMMU:
		res->ret = sys_ioctl(fd, VFIO_SET_IOMMU, op->arg);
		return;
	case OP_MAP: {
		struct vfio_iommu_type1_dma_map m = {
			.argsz = op->argsz, .flags = op->flags, .vaddr = op->vaddr,
			.iova = op->iova, .size = op->size,
		};

		p = build_arg(op, &m, sizeof(m));
		if (skip)
			res->ret = doc;
		else if (type1 && op->fd == FD_CONTAINER && map_to_top(op->iova, op->size, op->vaddr))
			res->ret = emulate_map_to_top(fd, p);
		else
			res->ret = sys_ioctl(fd, VFIO_IOMMU_MAP_DMA, (uintptr_t)p);
		break;
	}
	case OP_UNMAP: {
		struct vfio_iommu_type1_dma_unmap u = {
			.argsz = op->argsz, .flags = op->flags, .iova = op->iova, .size = op->size,
		};

		p = build_arg(op, &u, sizeof(u));
		if (skip)
			res->ret = doc;
		else if (type1 && op->fd == FD_CONTAINER && unmap_to_top(op->iova, op->size, op->flags))
			res->ret = emulate_unmap_to_top(fd, p);
		else
			res->ret = sys_ioctl(fd, VFIO_IOMMU_UNMAP_DMA, (uintptr_t)p);
		break;
	}
	case OP_INFO: {
		struct vfio_iommu_type1_info i;
		uint32_t junk = op->size >> 32;

		/* Its tail padding too: junk of the op, never of the stack. */
		memset(&i, 0, sizeof(i));
		i.argsz = op->argsz;
		i.flags = op->flags;
		i.iova_pgsizes = op->iova;
		i.cap_offset = (uint32_t)op->size;
		memcpy((uint8_t *)&i + sizeof(i) - 4, &junk, 4);
		p = build_arg(op, &i, sizeof(i));
		if (type1 && op->fd == FD_CONTAINER)
			res->ret = emulate_info(fd, p, op);
		else
			res->ret = sys_ioctl(fd, VFIO_IOMMU_GET_INFO, (uintptr_t)p);
		break;
	}
	case OP_DIRTY: {
		struct vfio_iommu_type1_dirty_bitmap d = {
			.argsz = op->argsz, .flags = op->flags,
		};

		p = build_arg(op, &d, sizeof(d));
		res->ret = skip ? doc : sys_ioctl(fd, VFIO_IOMMU_DIRTY_PAGES, (uintptr_t)p);
		break;
	}
	case OP_UNKNOWN: {
		uint8_t junk[64];

		memset(junk, (uint8_t)op->argsz, sizeof(junk));
		memcpy(junk, &op->argsz, 4);
		p = build_arg(op, junk, sizeof(junk));
		res->ret = sys_ioctl(fd, op->cmd, op->arg ?: (uintptr_t)p);
		break;
	}
	case OP_SET_CONTAINER: {
		/* Our group is in a container already: any fd is refused. */
		static const int which[] = { FD_CONTAINER, FD_SPARE, FD_GROUP, FD_NULL, FD_EVENTFD };
		int other = op->arg < 5 ? f->fd[which[op->arg]] : -1;

		p = build_arg(op, &other, sizeof(other));
		res->ret = sys_ioctl(f->fd[FD_GROUP], VFIO_GROUP_SET_CONTAINER, (uintptr_t)p);
		break;
	}
	case OP_BATCH: {
		struct vfio_mapcache_batch b = {
			.argsz = op->argsz, .flags = op->bflags, .nr_entries = op->nr,
			.entry_size = op->es, .nr_done = SENTINEL, .reserved = op->breserved,
		};

		v = build_vector(op);
		b.entries = (uintptr_t)v;
		p = build_arg(op, &b, sizeof(b));
		if (type1 && op->fd == FD_CONTAINER) {
			res->aux = sys_ioctl(fd, VFIO_MAPCACHE_BATCH, (uintptr_t)p);
			res->ret = emulate_batch(fd, p, v, op);
		} else {
			res->ret = sys_ioctl(fd, VFIO_MAPCACHE_BATCH, (uintptr_t)p);
		}
		capture(res, p, 64);
		capture(res, v, (uint64_t)op->nr * op->es < VEC_WIN ? (uint64_t)op->nr * op->es :
				VEC_WIN);
		return;
	}
	default:
		return;
	}
	capture(res, p, ARG_WIN);
}

/* ---- the helper processes ---- */

/*
 * A helper is driven through two pipes (a kernel without CONFIG_NET has no
 * Unix sockets): calls in, results out.
 */
struct chan {
	int in, out;
};

static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len) {
		n = read(fd, p, len);
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static void helper_loop(struct chan ch, const struct fds *f, enum vmc_backend backend)
{
	static struct op op;
	static struct result res;

	for (;;) {
		if (read_full(ch.in, &op, sizeof(op)) || op.kind == OP_QUIT)
			_exit(0);
		exec_op(f, &op, backend, &res);
		if (write_full(ch.out, &res, sizeof(res)))
			_exit(1);
	}
}

/* Two pipes: @mine for this process's end, @theirs for the helper's. */
static int chan_open(struct chan *mine, struct chan *theirs)
{
	int down[2], up[2];

	if (pipe(down))
		return -errno;
	if (pipe(up)) {
		close(down[0]);
		close(down[1]);
		return -errno;
	}
	*mine = (struct chan){ .in = up[0], .out = down[1] };
	*theirs = (struct chan){ .in = down[0], .out = up[1] };
	return 0;
}

static void chan_close(struct chan *ch)
{
	if (ch->in >= 0)
		close(ch->in);
	if (ch->out >= 0)
		close(ch->out);
	ch->in = ch->out = -1;
}

static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {}, c = 'f';
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))], c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* How the peer got the container: SCM_RIGHTS, or pidfd_getfd() without sockets. */
static const char *fd_passing = "SCM_RIGHTS";

/*
 * The peer: a process forked before the container exists, which receives it
 * (over a Unix socket; on a kernel without them, it takes the parent's fd
 * with pidfd_getfd()).  Makes the calls it is sent on it.
 */
static void peer_main(struct chan ch, int sock, enum vmc_backend backend)
{
	struct fds f;
	int nr, pidfd;

	memset(f.fd, -1, sizeof(f.fd));
	if (sock >= 0) {
		f.fd[FD_CONTAINER] = recv_fd(sock);
	} else if (!read_full(ch.in, &nr, sizeof(nr))) {
		pidfd = syscall(SYS_pidfd_open, getppid(), 0);
		f.fd[FD_CONTAINER] = pidfd < 0 ? -1 : syscall(SYS_pidfd_getfd, pidfd, nr, 0);
	}
	if (f.fd[FD_CONTAINER] < 0)
		_exit(1);
	helper_loop(ch, &f, backend);
}

/* ---- one run of the sequence on one backend ---- */

struct run {
	struct vmc_env env;
	struct fds f;
	struct chan child_ch, peer_ch;
	pid_t child, peer;
};

static void run_close(struct run *r)
{
	struct op quit = { .kind = OP_QUIT };
	int i;

	for (i = 0; i < 2; i++) {
		struct chan *ch = i ? &r->peer_ch : &r->child_ch;
		pid_t pid = i ? r->peer : r->child;

		if (ch->out >= 0 && write_full(ch->out, &quit, sizeof(quit)) && pid > 0)
			kill(pid, SIGKILL);
		chan_close(ch);
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
	r->child = r->peer = 0;
	for (i = FD_SPARE; i <= FD_EVENTFD; i++)
		if (i != FD_GROUP && r->f.fd[i] >= 0)
			close(r->f.fd[i]);
	vmc_env_close(&r->env);
}

static int run_open(struct run *r, enum vmc_backend backend, const char *mode)
{
	struct chan theirs;
	int sv[2] = { -1, -1 }, ret;

	memset(r, 0, sizeof(*r));
	r->env.container = r->env.group = r->env.device = -1;
	r->child_ch = r->peer_ch = (struct chan){ -1, -1 };
	memset(r->f.fd, -1, sizeof(r->f.fd));
	/* The peer exists before the container: it is given it later. */
	ret = chan_open(&r->peer_ch, &theirs);
	if (ret)
		return ret;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		sv[0] = sv[1] = -1;
		fd_passing = "pidfd_getfd() (no Unix sockets in this kernel)";
	}
	r->peer = fork();
	if (r->peer < 0)
		return -errno;
	if (!r->peer) {
		chan_close(&r->peer_ch);
		if (sv[0] >= 0)
			close(sv[0]);
		peer_main(theirs, sv[1], backend);
	}
	chan_close(&theirs);
	if (sv[1] >= 0)
		close(sv[1]);

	ret = vmc_env_open(&r->env, backend);
	if (ret)
		goto out;
	if (backend == VMC_BACKEND_MAPCACHE) {
		ret = vmc_vm_write("mode", mode) ?: vmc_vm_write("idle_ms", "0");
		if (ret)
			goto out;
	}
	r->f.fd[FD_CONTAINER] = r->env.container;
	r->f.fd[FD_GROUP] = r->env.group;
	r->f.fd[FD_SPARE] = open("/dev/vfio/vfio", O_RDWR);
	r->f.fd[FD_NULL] = open("/dev/null", O_RDWR);
	r->f.fd[FD_EVENTFD] = eventfd(0, 0);
	if (r->f.fd[FD_SPARE] < 0 || r->f.fd[FD_NULL] < 0 || r->f.fd[FD_EVENTFD] < 0) {
		ret = -errno;
		goto out;
	}
	if (sv[0] >= 0)
		ret = send_fd(sv[0], r->env.container);
	else
		ret = write_full(r->peer_ch.out, &r->env.container, sizeof(int)) ? -EPIPE : 0;
	if (ret)
		goto out;

	/* The child inherits the container (and everything else). */
	ret = chan_open(&r->child_ch, &theirs);
	if (ret)
		goto out;
	r->child = fork();
	if (r->child < 0) {
		ret = -errno;
		goto out;
	}
	if (!r->child) {
		chan_close(&r->child_ch);
		chan_close(&r->peer_ch);
		helper_loop(theirs, &r->f, backend);
	}
	chan_close(&theirs);
out:
	if (sv[0] >= 0)
		close(sv[0]);
	return ret;
}

/* Make call @op as its op->who says. */
static int run_op(struct run *r, const struct op *op, enum vmc_backend backend,
		  struct result *res)
{
	struct chan *ch;

	if (op->who == BY_SELF) {
		exec_op(&r->f, op, backend, res);
		return 0;
	}
	ch = op->who == BY_CHILD ? &r->child_ch : &r->peer_ch;
	if (write_full(ch->out, op, sizeof(*op)) || read_full(ch->in, res, sizeof(*res)))
		return -EPIPE;
	return 0;
}

/* ---- the harness ---- */

#define TYPE1_LIMIT	"/sys/module/vfio_iommu_type1/parameters/dma_entry_limit"
#define OUR_LIMIT	MODPARAM_DIR "/dma_entry_limit"

FIXTURE(fuzz) {
	struct op *ops;
	struct result *ref;
	struct result res;
	unsigned int nr_ops;
	uint64_t seed;
	bool verbose;
	char saved_type1[16], saved_ours[16];
	long long base_module, base_lck;
	uint8_t *chk, *out;
};

FIXTURE_VARIANT(fuzz) {
	const char *mode;
};

FIXTURE_VARIANT_ADD(fuzz, strict) {
	.mode = "strict",
};

FIXTURE_VARIANT_ADD(fuzz, lazy) {
	.mode = "lazy",
};

FIXTURE_VARIANT_ADD(fuzz, off) {
	.mode = "off",
};

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (!fgets(buf, len, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

/*
 * The memory layout, before any helper is forked, at a fixed address far
 * below where mmap() places things: the hole must stay a hole.
 */
#define LAYOUT_ADDR	0x100000000000UL
#define AREA_PAGES	(BUF_PAGES + RO_PAGES + NONE_PAGES + HOLE_PAGES)
#define LAYOUT_PAGES	(AREA_PAGES + (ARG_PAGES + 1) + 2 + (VEC_PAGES + 1) + 2)

static int layout(void)
{
	uint8_t *base = mmap((void *)LAYOUT_ADDR, LAYOUT_PAGES * PG, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_FIXED_NOREPLACE,
			     -1, 0);

	if (base != (void *)LAYOUT_ADDR)
		return base == MAP_FAILED ? -errno : -EEXIST;
	area = base;
	args = area + AREA_PAGES * PG;
	args_ro = args + (ARG_PAGES + 1) * PG;
	vecs = args_ro + 2 * PG;
	vecs_ro = vecs + (VEC_PAGES + 1) * PG;
	vmc_fill_pattern(area, (BUF_PAGES + RO_PAGES) * PG, 77);
	/* Each RW or RO part ends in a PROT_NONE page. */
	if (mprotect(area + BUF_PAGES * PG, RO_PAGES * PG, PROT_READ) ||
	    mprotect(area + (BUF_PAGES + RO_PAGES) * PG, NONE_PAGES * PG, PROT_NONE) ||
	    munmap(area + (BUF_PAGES + RO_PAGES + NONE_PAGES) * PG, HOLE_PAGES * PG) ||
	    mprotect(args + ARG_PAGES * PG, PG, PROT_NONE) ||
	    mprotect(args_ro, PG, PROT_READ) || mprotect(args_ro + PG, PG, PROT_NONE) ||
	    mprotect(vecs + VEC_PAGES * PG, PG, PROT_NONE) ||
	    mprotect(vecs_ro, PG, PROT_READ) || mprotect(vecs_ro + PG, PG, PROT_NONE))
		return -errno;
	nr_regions = 0;
	add_region(area, BUF_PAGES * PG, true, true);
	add_region(area + BUF_PAGES * PG, RO_PAGES * PG, true, false);
	add_region(args, ARG_PAGES * PG, true, true);
	add_region(vecs, VEC_PAGES * PG, true, true);
	add_region(args_ro, PG, true, false);
	add_region(vecs_ro, PG, true, false);
	return 0;
}

/* The last usable IOVA as type1 reports it. */
static int find_iova_top(void)
{
	struct vfio_iommu_type1_info_cap_iova_range *cap;
	struct vfio_iommu_type1_info *info;
	struct vmc_env env;
	int ret = vmc_env_open(&env, VMC_BACKEND_TYPE1);

	if (ret)
		return ret;
	info = vmc_get_info(env.container);
	cap = info ? (void *)vmc_find_cap(info, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) : NULL;
	if (cap && cap->nr_iovas)
		iova_top = cap->iova_ranges[cap->nr_iovas - 1].end;
	else
		ret = -ENOENT;
	free(info);
	vmc_env_close(&env);
	return ret;
}

FIXTURE_SETUP(fuzz)
{
	struct timespec ts;
	unsigned int i;

	if (!vmc_mapcache_loaded())
		SKIP(return, "vfio_iommu_mapcache is not loaded");
	clock_gettime(CLOCK_REALTIME, &ts);
	self->seed = env_u64("VMC_FUZZ_SEED", (uint64_t)ts.tv_sec * 1000003 ^ ts.tv_nsec);
	self->nr_ops = env_u64("VMC_FUZZ_OPS", DEF_OPS);
	if (self->nr_ops > MAX_OPS)
		self->nr_ops = MAX_OPS;
	self->verbose = env_u64("VMC_FUZZ_VERBOSE", 0);
	ksft_print_msg("fuzz %s: seed %" PRIu64 " (VMC_FUZZ_SEED=%" PRIu64 "), %u calls\n",
		       variant->mode, self->seed, self->seed, self->nr_ops);

	ASSERT_EQ(0, read_line(TYPE1_LIMIT, self->saved_type1, sizeof(self->saved_type1)));
	ASSERT_EQ(0, read_line(OUR_LIMIT, self->saved_ours, sizeof(self->saved_ours)));
	ASSERT_EQ(0, vmc_write_str(TYPE1_LIMIT, DMA_LIMIT));
	ASSERT_EQ(0, vmc_write_str(OUR_LIMIT, DMA_LIMIT));
	ASSERT_EQ(0, layout());
	ASSERT_EQ(0, vmc_dma_bufs(&self->chk, 1, 5, &self->out, 0x5a));
	ASSERT_EQ(0, find_iova_top());
	self->base_module = vmc_pinned_pages();
	self->base_lck = vmc_locked_vm_kb();

	self->ops = calloc(self->nr_ops, sizeof(*self->ops));
	self->ref = calloc(self->nr_ops, sizeof(*self->ref));
	ASSERT_NE(NULL, self->ops);
	ASSERT_NE(NULL, self->ref);
	rng = self->seed;
	for (i = 0; i < self->nr_ops; i++)
		gen_op(&self->ops[i]);
}

FIXTURE_TEARDOWN(fuzz)
{
	if (self->saved_type1[0])
		vmc_write_str(TYPE1_LIMIT, self->saved_type1);
	if (self->saved_ours[0])
		vmc_write_str(OUR_LIMIT, self->saved_ours);
}

/* Every pin back where it was; the helpers' exits may take a moment. */
static void check_counters(struct __test_metadata *_metadata, FIXTURE_DATA(fuzz) *self,
			   const char *backend)
{
	long long v = vmc_pinned_settles_at(self->base_module);

	ASSERT_EQ(self->base_module, v) TH_LOG("after the %s run: module pinned_pages", backend);
	if (vmc_vm_has("pinned_bytes")) {
		ASSERT_EQ(0, vmc_vm_read_ll("pinned_bytes")) TH_LOG("after the %s run", backend);
		ASSERT_EQ(0, vmc_vm_read_ll("live_bytes")) TH_LOG("after the %s run", backend);
	}
	ASSERT_EQ(self->base_lck, vmc_locked_vm_kb()) TH_LOG("after the %s run: VmLck", backend);
}

/* A normal map, DMA and unmap on our backend after all that. */
static void check_dma(struct __test_metadata *_metadata, FIXTURE_DATA(fuzz) *self)
{
	struct vmc_env env;
	uint64_t u = 0;

	ASSERT_EQ(0, vmc_env_open(&env, VMC_BACKEND_MAPCACHE));
	vmc_fill_pattern(self->chk, 256, (uint32_t)self->seed);
	memset(self->out, 0x5a, PG);
	ASSERT_EQ(0, _vmc_map(env.container, WIN_BASE, self->chk, PG, R));
	ASSERT_EQ(0, _vmc_map(env.container, WIN_BASE + PG, self->out, PG, W));
	ASSERT_EQ(0, vmc_edu_dma_to_dev(&env, WIN_BASE, 0, 256));
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&env, WIN_BASE + PG, 0, 256));
	ASSERT_EQ(0, memcmp(self->chk, self->out, 256));
	ASSERT_TRUE(vmc_all_bytes(self->out + 256, PG - 256, 0x5a));
	ASSERT_EQ(0, _vmc_unmap(env.container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &u));
	ASSERT_EQ(2 * PG, u);
	vmc_env_close(&env);
}

/* The first differing byte of two outputs, or -1. */
static long first_diff(const struct result *a, const struct result *b)
{
	uint32_t i, n = a->len < b->len ? a->len : b->len;

	for (i = 0; i < n; i++)
		if (a->out[i] != b->out[i])
			return i;
	return a->len == b->len ? -1 : (long)n;
}

static void print_history(FIXTURE_DATA(fuzz) *self, unsigned int i)
{
	char s[400];
	unsigned int j = i > HISTORY ? i - HISTORY : 0;

	for (; j < i; j++) {
		fmt_op(s, sizeof(s), &self->ops[j], false);
		ksft_print_msg("  call %u: %s = %lld\n", j, s, (long long)self->ref[j].ret);
	}
}

TEST_F_TIMEOUT(fuzz, differential, 300)
{
	static char full[8192];
	unsigned int i, counts[OP_QUIT] = {}, nr_err = 0, nr_doc = 0;
	struct result *res = &self->res;
	struct run r;
	long diff;
	int b;

	for (b = 0; b < 2; b++) {
		enum vmc_backend backend = b ? VMC_BACKEND_MAPCACHE : VMC_BACKEND_TYPE1;
		const char *name = vmc_backend_name(backend);
		double t0 = vmc_now_us();

		ASSERT_EQ(0, run_open(&r, backend, variant->mode)) TH_LOG("%s", name);
		for (i = 0; i < self->nr_ops; i++) {
			const struct op *op = &self->ops[i];
			long doc;

			if (self->verbose) {
				fmt_op(full, sizeof(full), op, false);
				ksft_print_msg("%s %u: %s\n", name, i, full);
			}
			ASSERT_EQ(0, run_op(&r, op, backend, b ? res : &self->ref[i]))
				TH_LOG("call %u: a helper process is gone", i);
			if (!b) {
				counts[op->kind]++;
				nr_err += self->ref[i].ret < 0;
				nr_doc += documented(op, &doc);
				/* What type1 says to the batch ioctl: not its business. */
				if (op->kind == OP_BATCH && op->fd == FD_CONTAINER)
					ASSERT_EQ(-ENOTTY, self->ref[i].aux) TH_LOG("call %u", i);
				continue;
			}
			diff = first_diff(&self->ref[i], res);
			if (res->ret == self->ref[i].ret && diff < 0)
				continue;
			fmt_op(full, sizeof(full), op, true);
			ksft_print_msg("seed %" PRIu64 " mode %s call %u differs: %s\n", self->seed,
				       variant->mode, i, full);
			ksft_print_msg("  type1 (or documented): %lld, mapcache: %lld; output %s at byte %ld (%u and %u bytes)\n",
				       (long long)self->ref[i].ret, (long long)res->ret,
				       diff < 0 ? "the same" : "differs", diff, self->ref[i].len,
				       res->len);
			if (diff >= 0 && diff < self->ref[i].len && diff < res->len)
				ksft_print_msg("  byte %ld: 0x%02x, mapcache 0x%02x\n", diff,
					       self->ref[i].out[diff], res->out[diff]);
			print_history(self, i);
			ASSERT_EQ(self->ref[i].ret, res->ret);
			ASSERT_GT(0, diff);
		}
		run_close(&r);
		ksft_print_msg("%s: %u calls in %.1f s (the peer got the container by %s)\n",
			       name, self->nr_ops, (vmc_now_us() - t0) / 1e6, fd_passing);
		check_counters(_metadata, self, name);
	}
	check_dma(_metadata, self);
	check_counters(_metadata, self, "DMA check");
	ksft_print_msg("identical: %u calls (%u MAP, %u UNMAP, %u BATCH, %u GET_INFO, %u CHECK_EXTENSION, %u unknown, %u other), %u refused; %u not sent to type1 (documented answers), BATCH and GET_INFO against type1 as documented\n",
		       self->nr_ops, counts[OP_MAP], counts[OP_UNMAP], counts[OP_BATCH],
		       counts[OP_INFO], counts[OP_EXT], counts[OP_UNKNOWN],
		       self->nr_ops - counts[OP_MAP] - counts[OP_UNMAP] - counts[OP_BATCH] -
		       counts[OP_INFO] - counts[OP_EXT] - counts[OP_UNKNOWN],
		       nr_err, nr_doc);
}

TEST_HARNESS_MAIN
