// SPDX-License-Identifier: GPL-2.0
/*
 * The VM of vfio_iommu_mapcache, as a VMM meets it:
 *  - it lives as long as the VMM's mm: settings outlast containers that
 *    close and open again, pins do not;
 *  - after exec the pid's directory belongs to the new image, never to the
 *    old one, even while a container of the old one is still open;
 *  - a page pinned through two containers of one VMM (QEMU with a vIOMMU
 *    opens one per device) is pinned and charged once, where type1
 *    charges each container;
 *  - without a fixed quota, idleness bounds what the cache keeps: memory
 *    the guest stopped using is given back;
 *  - what type1 answers, the map-cache answers: maps from another process,
 *    huge maps, write maps after mprotect(), CHECK_EXTENSION; and lazy
 *    mode's cached translations stay within dma_entry_limit;
 *  - two containers missing on the same page at once share one pin.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vmc_lib.h"

#define PG		VMC_PAGE
#define IOVA_A		0x100000UL
#define IOVA_BIG	0x1000000UL
#define IOVA_OUT	0x4000000UL
#define NR_BUF		16
#define NR_BIG		1024	/* 4 MiB: four times what idleness keeps */
#define IDLE_KEEP	256	/* candidates a VM keeps however long idle */
#define UNTOUCHED	0x5a

/* Set by the test that execs itself: the image after exec checks its VM. */
#define EXEC_ENV	"VMC_VM_TEST_EXEC_FD"

/* Exit codes of the image after exec. */
enum {
	EXEC_OK,
	EXEC_OLD_DIR = 11,	/* the old mm's directory is still there */
	EXEC_OLD_FD,		/* the container of the old image is gone */
	EXEC_NEW_VM,		/* no fresh VM for the new image */
};

/* The new image's checks: none of the old VM shows, a fresh one appears. */
static int exec_check(int old_fd)
{
	char path[96];
	struct vmc_env env;
	const char *bdf2 = getenv("VMC_EDU_BDF2");
	int ret = EXEC_OK;

	snprintf(path, sizeof(path), VMC_SYSFS_DIR "/%d", getpid());
	if (!access(path, F_OK))
		return EXEC_OLD_DIR;
	if (fcntl(old_fd, F_GETFD) < 0)
		return EXEC_OLD_FD;
	/* The old image holds the first device's group: use the second one. */
	if (bdf2) {
		setenv("VMC_EDU_BDF", bdf2, 1);
		if (vmc_env_open(&env, VMC_BACKEND_MAPCACHE) ||
		    vmc_vm_read_ll("quota_bytes") != vmc_read_ll(MODPARAM_DIR "/default_quota_bytes"))
			ret = EXEC_NEW_VM;
		vmc_env_close(&env);
	}
	close(old_fd);
	return ret;
}

__attribute__((constructor)) static void exec_hook(void)
{
	const char *fd = getenv(EXEC_ENV);

	if (fd)
		_exit(exec_check(atoi(fd)));
}

/* What both fixtures hold. */
struct vm_fx {
	struct vmc_env env;
	struct vmc_env env2;
	uint8_t *buf;
	uint8_t *out;
	uint8_t *big;
	long long base_pages;
	long long base_kb;
};

/* Set up @fx on @backend: 0, 1 if it is not available, or -errno. */
static int fx_setup(struct vm_fx *fx, enum vmc_backend backend)
{
	int ret;

	fx->env.container = fx->env2.container = -1;
	fx->env.group = fx->env2.group = -1;
	fx->env.device = fx->env2.device = -1;
	fx->base_pages = vmc_pinned_pages();
	fx->base_kb = vmc_locked_vm_kb();
	ret = vmc_env_open(&fx->env, backend);
	if (ret)
		return ret;
	ret = vmc_dma_bufs(&fx->buf, NR_BUF, 7, &fx->out, UNTOUCHED);
	if (ret)
		return ret;
	fx->big = vmc_alloc_pages(2 * NR_BIG);
	if (!fx->big)
		return -ENOMEM;
	memset(fx->big, 1, 2 * NR_BIG * PG);
	return 0;
}

static void fx_teardown(struct vm_fx *fx)
{
	vmc_env_close(&fx->env2);
	vmc_env_close(&fx->env);
}

/* Map-cache only. */
FIXTURE(vm) {
	struct vm_fx f;
};

FIXTURE_SETUP(vm)
{
	int ret = fx_setup(&self->f, VMC_BACKEND_MAPCACHE);

	if (ret == 1)
		SKIP(return, "vfio_iommu_mapcache not loaded");
	ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(vm)
{
	fx_teardown(&self->f);
}

/* Either backend, for figures side by side. */
FIXTURE(pair) {
	struct vm_fx f;
};

FIXTURE_VARIANT(pair) {
	enum vmc_backend backend;
};

FIXTURE_VARIANT_ADD(pair, type1) {
	.backend = VMC_BACKEND_TYPE1,
};

FIXTURE_VARIANT_ADD(pair, mapcache) {
	.backend = VMC_BACKEND_MAPCACHE,
};

FIXTURE_SETUP(pair)
{
	int ret = fx_setup(&self->f, variant->backend);

	if (ret == 1)
		SKIP(return, "backend %s not available", vmc_backend_name(variant->backend));
	ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(pair)
{
	fx_teardown(&self->f);
}

#define R	VFIO_DMA_MAP_FLAG_READ
#define W	VFIO_DMA_MAP_FLAG_WRITE
#define fx_map(fx, iova, vaddr, size, flags) \
	ASSERT_EQ(0, _vmc_map((fx)->env.container, iova, vaddr, size, flags))
#define fx_unmap(fx, iova, size) \
	({ uint64_t __u = 0; \
	   ASSERT_EQ(0, _vmc_unmap((fx)->env.container, iova, size, 0, &__u)); \
	   ASSERT_EQ((uint64_t)(size), __u); })

/* Does edu read page @idx of buf through @iova of @env?  (RAM -> dev -> out) */
static int dma_reads_page(struct vm_fx *self, struct vmc_env *env,
			  uint64_t iova, int idx)
{
	memset(self->out, UNTOUCHED, PG);
	if (vmc_edu_dma_to_dev(env, iova, 0, 512) ||
	    vmc_edu_dma_from_dev(env, IOVA_OUT, 0, 512))
		return -1;
	return !memcmp(self->out, self->buf + idx * PG, 512);
}

/* A counter of this process's VM (debugfs vm-<pid>/stats). */
static long long vm_stat(const char *key)
{
	char path[96];

	snprintf(path, sizeof(path), VMC_DEBUGFS_DIR "/vm-%d/stats", getpid());
	return vmc_stat(path, key);
}

/* Poll @file of our VM until it is at most @max, up to @secs; its last value. */
static long long wait_at_most(const char *file, long long max, int secs)
{
	long long v = vmc_vm_read_ll(file);
	int i;

	for (i = 0; i < secs * 10 && v > max; i++) {
		usleep(100 * 1000);
		v = vmc_vm_read_ll(file);
	}
	return v;
}

/* Settings stay with the mm; the pins go with the last container. */
TEST_F(vm, settings_outlive_containers)
{
	struct vm_fx *fx = &self->f;
	char path[96];
	long long pins;

	ASSERT_EQ(0, vmc_vm_write("quota_bytes", "65536"));
	ASSERT_EQ(0, vmc_vm_write("policy", "fifo"));
	ASSERT_EQ(0, vmc_vm_write("idle_ms", "5000"));
	fx_map(fx, IOVA_A, fx->buf, 2 * PG, R);
	fx_unmap(fx, IOVA_A, 2 * PG);
	ASSERT_EQ(2 * PG, vmc_vm_read_ll("pinned_bytes"));
	ASSERT_EQ(fx->base_pages + 2, vmc_pinned_pages());
	pins = vm_stat("pins");

	vmc_env_close(&fx->env);
	/* No container: nothing pinned, nothing charged, settings kept. */
	ASSERT_EQ(fx->base_pages, vmc_pinned_pages());
	ASSERT_EQ(fx->base_kb, vmc_locked_vm_kb());
	ASSERT_EQ(0, vmc_vm_read_ll("pinned_bytes"));
	ASSERT_EQ(65536, vmc_vm_read_ll("quota_bytes"));
	ASSERT_EQ(5000, vmc_vm_read_ll("idle_ms"));
	snprintf(path, sizeof(path), VMC_DEBUGFS_DIR "/vm-%d/stats", getpid());
	ASSERT_EQ(0, access(path, F_OK));

	/* A new container is the same VM: same settings, the pages pin again. */
	ASSERT_EQ(0, vmc_env_open(&fx->env, VMC_BACKEND_MAPCACHE));
	ASSERT_EQ(65536, vmc_vm_read_ll("quota_bytes"));
	ASSERT_EQ(0, vmc_vm_write("quota_bytes", "0"));
	fx_map(fx, IOVA_OUT, fx->out, PG, W);
	fx_map(fx, IOVA_A, fx->buf, 2 * PG, R);
	ASSERT_EQ(pins + 3, vm_stat("pins"));
	ASSERT_EQ(1, dma_reads_page(fx, &fx->env, IOVA_A + PG, 1));
}

/*
 * After exec the pid's directory is never the old image's, although a
 * container of the old image is still open (inherited); a container of
 * the new image gets a fresh VM with the module's defaults.  Once the old
 * container closes, everything it pinned is back.
 */
TEST_F(vm, exec_gets_a_fresh_vm)
{
	struct vm_fx *fx = &self->f;
	char path[96], fd[16];
	int status;
	pid_t pid;

	/* The child opens the device: we must not hold its group. */
	vmc_env_close(&fx->env);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct vmc_env env;

		if (vmc_env_open(&env, VMC_BACKEND_MAPCACHE) ||
		    _vmc_map(env.container, IOVA_A, fx->buf, 4 * PG, R) ||
		    vmc_vm_write("quota_bytes", "8192"))
			_exit(1);
		snprintf(fd, sizeof(fd), "%d", env.container);
		setenv(EXEC_ENV, fd, 1);
		execl("/proc/self/exe", "vfio_vm_test", (char *)NULL);
		_exit(2);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(EXEC_OK, WEXITSTATUS(status));
	snprintf(path, sizeof(path), VMC_SYSFS_DIR "/%d", pid);
	ASSERT_NE(0, access(path, F_OK));
	ASSERT_EQ(fx->base_pages, vmc_pinned_pages());
}

/*
 * Two devices, two containers, one VMM: the same buffer mapped in both is
 * pinned once by the map-cache and charged to locked_vm once; type1
 * charges it per container.  Both devices reach it.
 */
TEST_F(pair, one_pin_for_two_containers)
{
	struct vm_fx *fx = &self->f;
	const char *bdf2 = getenv("VMC_EDU_BDF2");
	long long kb;

	if (!bdf2)
		SKIP(return, "no second edu device");
	setenv("VMC_EDU_BDF", bdf2, 1);
	ASSERT_EQ(0, vmc_env_open(&fx->env2, variant->backend));
	unsetenv("VMC_EDU_BDF");
	fx_map(fx, IOVA_OUT, fx->out, PG, W);
	fx_map(fx, IOVA_A, fx->buf, 4 * PG, R);
	ASSERT_EQ(0, _vmc_map(fx->env2.container, IOVA_OUT, fx->out, PG,
			      W));
	ASSERT_EQ(0, _vmc_map(fx->env2.container, IOVA_A, fx->buf, 4 * PG,
			      R));
	kb = vmc_locked_vm_kb() - fx->base_kb;
	ksft_print_msg("%s: locked_vm +%lld KiB for 5 pages in two containers\n",
		       vmc_backend_name(variant->backend), kb);
	if (variant->backend == VMC_BACKEND_MAPCACHE) {
		ASSERT_EQ(5 * PG / 1024, kb);
		ASSERT_EQ(5 * PG, vmc_vm_read_ll("pinned_bytes"));
		ASSERT_EQ(fx->base_pages + 5, vmc_pinned_pages());
	} else {
		ASSERT_EQ(2 * 5 * PG / 1024, kb);
	}
	ASSERT_EQ(1, dma_reads_page(fx, &fx->env, IOVA_A + 2 * PG, 2));
	ASSERT_EQ(1, dma_reads_page(fx, &fx->env2, IOVA_A + 3 * PG, 3));
	vmc_env_close(&fx->env2);
	vmc_env_close(&fx->env);
	ASSERT_EQ(fx->base_kb, vmc_locked_vm_kb());
	ASSERT_EQ(fx->base_pages, vmc_pinned_pages());
}

/* Map and unmap pages 0..NR_BUF-1 of buf one by one at IOVA_A. */
static int cycle_small(struct vm_fx *fx)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < NR_BUF && !ret; i++) {
		ret = _vmc_map(fx->env.container, IOVA_A, fx->buf + i * PG, PG,
			       R);
		if (!ret)
			ret = _vmc_unmap(fx->env.container, IOVA_A, PG, 0, NULL);
	}
	return ret;
}

/*
 * No fixed quota, a short idle window: a large range the guest stops using
 * is given back within a few windows, but for the most recently unmapped
 * pages, while pages still in use keep hitting; with the window off, the
 * cache keeps everything, as before.
 */
TEST_F(vm, idle_pages_are_given_back)
{
	struct vm_fx *fx = &self->f;
	long long misses, v, window_ms;
	struct timespec t0, t1;
	char val[32];
	int i;

	/*
	 * The window is long against one pass over the small pages, so that
	 * a page used at every pass is never idle for a whole window: 300
	 * ms, or ten passes where a pass is slower (a debug kernel).
	 */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, cycle_small(fx));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	window_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	window_ms = (window_ms * 10 > 300 ? window_ms * 10 : 300) / 20 * 20 + 20;
	snprintf(val, sizeof(val), "%lld", window_ms);
	ASSERT_EQ(0, vmc_vm_write("idle_ms", val));
	fx_map(fx, IOVA_BIG, fx->big, NR_BIG * PG, R);
	fx_unmap(fx, IOVA_BIG, NR_BIG * PG);
	/* Pages in use across windows stay pinned: hits, no new miss. */
	misses = vm_stat("misses");
	for (i = 0; i < 15; i++) {
		ASSERT_EQ(0, cycle_small(fx));
		usleep(window_ms * 1000 / 3);
	}
	ASSERT_EQ(misses, vm_stat("misses"));
	v = wait_at_most("pinned_bytes", IDLE_KEEP * PG, 10 + window_ms / 100);
	ASSERT_GE(IDLE_KEEP * PG, v);
	ASSERT_LE(NR_BIG + NR_BUF - IDLE_KEEP, vm_stat("idle_releases"));
	ASSERT_EQ(0, vm_stat("evictions"));
	/* The work item that released them also takes them off locked_vm. */
	for (i = 0; i < 20 && vmc_locked_vm_kb() > fx->base_kb + IDLE_KEEP * PG / 1024; i++)
		usleep(100 * 1000);
	ASSERT_GE(fx->base_kb + IDLE_KEEP * PG / 1024, vmc_locked_vm_kb());
	/* The most recently unmapped stay: the small set still hits. */
	ASSERT_EQ(0, cycle_small(fx));
	ASSERT_EQ(misses, vm_stat("misses"));

	/* Window off: nothing bounds the candidates but the quota. */
	ASSERT_EQ(0, vmc_vm_write("idle_ms", "0"));
	fx_map(fx, IOVA_BIG, fx->big, 2 * NR_BIG * PG, R);
	fx_unmap(fx, IOVA_BIG, 2 * NR_BIG * PG);
	usleep(1000 * 1000);
	ASSERT_LE(2 * NR_BIG * PG, vmc_vm_read_ll("pinned_bytes"));
	vmc_env_close(&fx->env);
	ASSERT_EQ(fx->base_pages, vmc_pinned_pages());
	ASSERT_EQ(fx->base_kb, vmc_locked_vm_kb());
}

/* Type1's answers to CHECK_EXTENSION on a container it serves. */
TEST_F(pair, check_extension)
{
	struct vm_fx *fx = &self->f;
	int c = fx->env.container;

	ASSERT_EQ(1, ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU));
	ASSERT_EQ(1, ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(1, ioctl(c, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL));
}

/*
 * A map from another process (a forked child using the container fd):
 * pinned and charged to that process, as type1 does, not to the VM's
 * cache; the child exits first, this process unmaps the child's mapping
 * (type1 lets any holder of the container unmap anything), the container
 * closes last, and every counter comes back.
 */
TEST_F(pair, map_from_another_process)
{
	struct vm_fx *fx = &self->f;
	int status, toparent[2];
	long long kb;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(toparent));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		long long before = vmc_locked_vm_kb();

		if (_vmc_map(fx->env.container, IOVA_A, fx->buf, 4 * PG, R))
			_exit(1);
		/* The child's locked_vm carries the map. */
		if (vmc_locked_vm_kb() != before + 4 * PG / 1024)
			_exit(2);
		c = 'x';
		if (write(toparent[1], &c, 1) != 1)
			_exit(3);
		_exit(0);
	}
	ASSERT_EQ(1, read(toparent[0], &c, 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	kb = vmc_locked_vm_kb();
	ASSERT_EQ(fx->base_kb, kb);
	if (variant->backend == VMC_BACKEND_MAPCACHE)
		ASSERT_EQ(0, vmc_vm_read_ll("pinned_bytes"));
	/* The child's mapping is still there, and still reaches its pages. */
	fx_map(fx, IOVA_OUT, fx->out, PG, W);
	ASSERT_EQ(1, dma_reads_page(fx, &fx->env, IOVA_A + PG, 1));
	/* Its mm is gone; this process may unmap it all the same, as in type1. */
	fx_unmap(fx, IOVA_A, 4 * PG);
	/* IOVA_OUT is all that is left pinned. */
	if (variant->backend == VMC_BACKEND_MAPCACHE)
		ASSERT_EQ(fx->base_pages + 1, vmc_pinned_pages());
	vmc_env_close(&fx->env);
	ASSERT_EQ(fx->base_pages, vmc_pinned_pages());
	ASSERT_EQ(fx->base_kb, vmc_locked_vm_kb());
}

/* A map far larger than the memory behind it: EFAULT at once, nothing left. */
TEST_F(pair, huge_map_fails_early)
{
	struct vm_fx *fx = &self->f;
	const size_t len = 128UL << 20;
	uint8_t *p;

	/* 16 pages of memory, then nothing for 128 MiB. */
	p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, munmap(p + NR_BUF * PG, len - NR_BUF * PG));
	ASSERT_EQ(p, mmap(p, NR_BUF * PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0));
	/* 256 GiB, within a 39-bit IOMMU aperture, and 64 MiB. */
	ASSERT_EQ(-EFAULT, _vmc_map(fx->env.container, 1UL << 36, p, 1UL << 38, R));
	ASSERT_EQ(-EFAULT, _vmc_map(fx->env.container, 1UL << 36, p, 64UL << 20, R));
	ASSERT_EQ(fx->base_pages, vmc_pinned_pages());
	ASSERT_EQ(fx->base_kb, vmc_locked_vm_kb());
	/* Nothing of them is left at those IOVAs. */
	fx_map(fx, 1UL << 36, p, NR_BUF * PG, R);
	fx_unmap(fx, 1UL << 36, NR_BUF * PG);
	munmap(p, NR_BUF * PG);
}

/*
 * After mprotect(PROT_READ) the VMM may no longer give the device write
 * access: a writable map of a page cached writable fails as type1's GUP
 * does; a readable one works.
 */
TEST_F(pair, write_map_after_mprotect)
{
	struct vm_fx *fx = &self->f;

	fx_map(fx, IOVA_A, fx->buf, 2 * PG, R | W);
	fx_unmap(fx, IOVA_A, 2 * PG);
	ASSERT_EQ(0, mprotect(fx->buf, 2 * PG, PROT_READ));
	ASSERT_EQ(-EFAULT, _vmc_map(fx->env.container, IOVA_A, fx->buf, 2 * PG, R | W));
	fx_map(fx, IOVA_A, fx->buf, 2 * PG, R);
	fx_map(fx, IOVA_OUT, fx->out, PG, W);
	ASSERT_EQ(1, dma_reads_page(fx, &fx->env, IOVA_A, 0));
	fx_unmap(fx, IOVA_A, 2 * PG);
	ASSERT_EQ(0, mprotect(fx->buf, 2 * PG, PROT_READ | PROT_WRITE));
	fx_map(fx, IOVA_A, fx->buf, 2 * PG, R | W);
}

/* Write @val to module parameter @name, keeping its old value in @old. */
static int swap_param(const char *name, const char *val, char *old, size_t len)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), MODPARAM_DIR "/%s", name);
	f = fopen(path, "r");
	if (!f || !fgets(old, len, f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	old[strcspn(old, "\n")] = '\0';
	return vmc_write_str(path, val);
}

/* Cached translations of the VM, from debugfs. */
static long long nr_xlates(void)
{
	char path[96], line[128];
	long long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), VMC_DEBUGFS_DIR "/vm-%d/xlates", getpid());
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += line[0] != '#';
	fclose(f);
	return n;
}

/*
 * The fixture's container again, with dma_entry_limit @limit (taken when a
 * container opens) and the VM in lazy mode: 0 or -errno.
 */
static int fx_reopen_lazy_limit(struct vm_fx *fx, const char *limit)
{
	char old[32];
	int ret;

	vmc_env_close(&fx->env);
	ret = swap_param("dma_entry_limit", limit, old, sizeof(old));
	if (ret)
		return ret;
	ret = vmc_env_open(&fx->env, VMC_BACKEND_MAPCACHE);
	vmc_write_str(MODPARAM_DIR "/dma_entry_limit", old);
	return ret ?: vmc_vm_write("mode", "lazy");
}

/*
 * Lazy mode: one page mapped and unmapped at 64 IOVAs leaves cached
 * translations, each with IOMMU page tables: they count against
 * dma_entry_limit (8 here), and a map at the limit reclaims them rather
 * than fail, since type1 would accept it.  GET_INFO says what type1 says.
 */
TEST_F(vm, lazy_translations_within_entry_limit)
{
	struct vm_fx *fx = &self->f;
	struct vfio_iommu_type1_info_dma_avail *avail;
	struct vfio_iommu_type1_info *info;
	int i;

	ASSERT_EQ(0, fx_reopen_lazy_limit(fx, "8"));
	for (i = 0; i < 64; i++) {
		fx_map(fx, IOVA_A + i * PG, fx->buf, PG, R);
		fx_unmap(fx, IOVA_A + i * PG, PG);
		ASSERT_GE(8, nr_xlates()) TH_LOG("after %d", i);
	}
	ASSERT_LE(1, nr_xlates());
	info = vmc_get_info(fx->env.container);
	ASSERT_NE(NULL, info);
	avail = (void *)vmc_find_cap(info, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	ASSERT_NE(NULL, avail);
	ASSERT_EQ(8, avail->avail);
	free(info);
	/* Eight live mappings fit; the ninth is refused, as in type1. */
	for (i = 0; i < 8; i++)
		fx_map(fx, IOVA_A + i * PG, fx->buf + i * PG, PG, R);
	ASSERT_EQ(-ENOSPC, _vmc_map(fx->env.container, IOVA_A + 8 * PG, fx->buf, PG, R));
	ASSERT_EQ(0, nr_xlates());
}

/*
 * At dma_entry_limit (2 here), a map over a cached translation takes that
 * entry over: the other cached translation stays, and a map of it again
 * is served from the IOMMU as it is.  A map that overlaps none takes
 * every cached entry back first.
 */
TEST_F(vm, lazy_limit_map_over_cached_keeps_others)
{
	struct vm_fx *fx = &self->f;
	long long full;

	ASSERT_EQ(0, fx_reopen_lazy_limit(fx, "2"));
	fx_map(fx, IOVA_A, fx->buf, PG, R);
	fx_unmap(fx, IOVA_A, PG);
	fx_map(fx, IOVA_A + PG, fx->buf + PG, PG, R);
	fx_unmap(fx, IOVA_A + PG, PG);
	ASSERT_EQ(2, nr_xlates());
	/* IOVA_A again, to another page: its cached entry goes, B's stays. */
	fx_map(fx, IOVA_A, fx->buf + 2 * PG, PG, R);
	ASSERT_EQ(1, nr_xlates());
	full = vmc_stat(VMC_STATS_TOTAL, "full_hits");
	fx_map(fx, IOVA_A + PG, fx->buf + PG, PG, R);
	ASSERT_EQ(full + 1, vmc_stat(VMC_STATS_TOTAL, "full_hits"));
	ASSERT_EQ(0, nr_xlates());
	fx_unmap(fx, IOVA_A, PG);
	fx_unmap(fx, IOVA_A + PG, PG);
	ASSERT_EQ(2, nr_xlates());
	/* Neither overlapped: both entries come back first. */
	fx_map(fx, IOVA_A + 2 * PG, fx->buf, PG, R);
	ASSERT_EQ(0, nr_xlates());
	fx_unmap(fx, IOVA_A + 2 * PG, PG);
}

/*
 * One thread maps a run of pages; another maps a page in its middle again
 * and again meanwhile, through a second container of the VM (maps of one
 * container are serialised by its lock); a third keeps the mmap_lock taken for writing
 * (mprotect() of a large populated region), so that the first often waits
 * for it in GUP with its slots reserved while the second looks them up.
 */
#define RACE_PAGES	512	/* one batch of the pin cache */
#define RACE_ROUNDS	12
#define RACE_HOLD	(16UL << 20)
#define IOVA_RACE	0x2000000UL
#define IOVA_RACE1	0x3000000UL

struct racer {
	int container;
	uint8_t *mem;
	uint8_t *hold;
	volatile int done;
	int ret;
	long maps;
};

static void *race_one_page(void *arg)
{
	struct racer *r = arg;

	while (!r->done && !r->ret) {
		r->ret = _vmc_map(r->container, IOVA_RACE1, r->mem + RACE_PAGES / 2 * PG, PG, R);
		if (!r->ret)
			r->ret = _vmc_unmap(r->container, IOVA_RACE1, PG, 0, NULL);
		r->maps++;
	}
	return NULL;
}

static void *race_mmap_lock(void *arg)
{
	struct racer *r = arg;

	while (!r->done) {
		mprotect(r->hold, RACE_HOLD, PROT_READ);
		mprotect(r->hold, RACE_HOLD, PROT_READ | PROT_WRITE);
	}
	return NULL;
}

/*
 * While a map of a page is in GUP, the page's slot holds a reservation: a
 * second map of that page must see a miss there (and pin the page too, or
 * find the first one's pin), not spin on the reserved slot under the VM's
 * lock.  Every round starts from pages the VMM discarded (not present).
 */
TEST_F(vm, racing_misses_on_one_page)
{
	struct vm_fx *fx = &self->f;
	const char *bdf2 = getenv("VMC_EDU_BDF2");
	struct racer r = { 0 };
	pthread_t t[2];
	int i;

	if (!bdf2)
		SKIP(return, "no second edu device");
	setenv("VMC_EDU_BDF", bdf2, 1);
	ASSERT_EQ(0, vmc_env_open(&fx->env2, VMC_BACKEND_MAPCACHE));
	unsetenv("VMC_EDU_BDF");
	r.container = fx->env2.container;

	r.mem = mmap(NULL, RACE_PAGES * PG, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	r.hold = mmap(NULL, RACE_HOLD, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, r.mem);
	ASSERT_NE(MAP_FAILED, r.hold);
	ASSERT_EQ(0, pthread_create(&t[0], NULL, race_one_page, &r));
	ASSERT_EQ(0, pthread_create(&t[1], NULL, race_mmap_lock, &r));
	for (i = 0; i < RACE_ROUNDS; i++) {
		fx_map(fx, IOVA_RACE, r.mem, RACE_PAGES * PG, R);
		fx_unmap(fx, IOVA_RACE, RACE_PAGES * PG);
		ASSERT_EQ(0, madvise(r.mem, RACE_PAGES * PG, MADV_DONTNEED));
	}
	r.done = 1;
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	ASSERT_EQ(0, r.ret);
	ksft_print_msg("%d rounds of %d pages, %ld one-page maps meanwhile: %lld pin hits, %lld misses\n",
		       RACE_ROUNDS, RACE_PAGES, r.maps, vm_stat("pin_hits"), vm_stat("misses"));
	ASSERT_EQ(0, vmc_vm_read_ll("live_bytes"));
	vmc_env_close(&fx->env2);
	vmc_env_close(&fx->env);
	ASSERT_EQ(fx->base_pages, vmc_pinned_pages());
	ASSERT_EQ(fx->base_kb, vmc_locked_vm_kb());
	munmap(r.mem, RACE_PAGES * PG);
	munmap(r.hold, RACE_HOLD);
}

TEST_HARNESS_MAIN
