// SPDX-License-Identifier: GPL-2.0
/*
 * Pins and locked_vm come back: after SIGKILL of a process with live
 * mappings, after SIGKILL in the middle of a large MAP_DMA, after a map that
 * RLIMIT_MEMLOCK refuses, and at container close.  locked_vm (VmLck) is
 * checked on both backends; the module-wide pinned_pages counter of
 * vfio_iommu_mapcache (debugfs) only on ours.  Baselines are compared at
 * container-close / process-exit granularity: a guest UNMAP may leave pages
 * pinned as cache candidates.  The host runner fails the run on a splat.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vmc_lib.h"

#define PG		VMC_PAGE
#define RW		(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define IOVA_A		0x100000UL
#define IOVA_B		0x800000UL
#define IOVA_C		0x2000000UL
#define IOVA_BIG	0x40000000UL
#define BIG_SIZE	(256UL << 20)

FIXTURE(life) {
	bool ours;
	long long base_pinned;
	pid_t child;	/* killed by the teardown if an assert left it alive */
};

FIXTURE_VARIANT(life) {
	enum vmc_backend backend;
};

FIXTURE_VARIANT_ADD(life, type1) {
	.backend = VMC_BACKEND_TYPE1,
};

FIXTURE_VARIANT_ADD(life, mapcache) {
	.backend = VMC_BACKEND_MAPCACHE,
};

FIXTURE_SETUP(life)
{
	self->ours = variant->backend == VMC_BACKEND_MAPCACHE;
	if (self->ours && !vmc_mapcache_loaded())
		SKIP(return, "vfio_iommu_mapcache is not loaded");
	/* Nothing of ours may be pinned while no container is open. */
	self->base_pinned = vmc_pinned_pages();
	if (self->ours)
		ASSERT_LE(0, self->base_pinned);
}

FIXTURE_TEARDOWN(life)
{
	/* A live child would hold the group (EBUSY) and the runner's pipe. */
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
}

/* Is there a container-* debugfs dir whose stats say "pid @pid"? */
static bool container_of_pid_listed(int pid)
{
	char path[512];
	struct dirent *de;
	bool found = false;
	DIR *dir = opendir(VMC_DEBUGFS_DIR);

	if (!dir)
		return false;
	while (!found && (de = readdir(dir))) {
		if (strncmp(de->d_name, "container-", 10))
			continue;
		snprintf(path, sizeof(path), VMC_DEBUGFS_DIR "/%s/stats", de->d_name);
		found = vmc_stat(path, "pid") == pid;
	}
	closedir(dir);
	return found;
}

struct report {
	int err;		/* 0, or -errno of the step that failed */
	int step;
	long long vmlck_kb;
};

static void child_report(int fd, int err, int step)
{
	struct report rep = { err, step, vmc_locked_vm_kb() };

	if (write(fd, &rep, sizeof(rep)) != sizeof(rep))
		_exit(3);
}

/*
 * A process with three live mappings (one page, 64 pages, a 2 MiB region)
 * and one unmapped again is SIGKILLed: every pin of ours is released, the
 * container is gone, and the device serves a new container.
 */
TEST_F_TIMEOUT(life, kill_with_live_mappings, 60)
{
	const long long live_pages = 1 + 64 + 512;
	struct report rep;
	struct vmc_env env;
	int pfd[2], status;
	pid_t pid;

	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	self->child = pid;
	if (!pid) {
		uint8_t *buf = vmc_alloc_pages(live_pages + 16);
		int ret = buf ? vmc_env_open(&env, variant->backend) : -ENOMEM;

		if (!ret)
			ret = _vmc_map(env.container, IOVA_A, buf, PG, RW);
		if (!ret)
			ret = _vmc_map(env.container, IOVA_B, buf + PG, 64 * PG, RW);
		if (!ret)
			ret = _vmc_map(env.container, IOVA_C, buf + 65 * PG, 512 * PG,
				       VFIO_DMA_MAP_FLAG_READ);
		/* A mapping gone again: its pages may stay cached. */
		if (!ret)
			ret = _vmc_map(env.container, IOVA_C + (4UL << 20), buf + 577 * PG,
				       16 * PG, RW);
		if (!ret)
			ret = _vmc_unmap(env.container, IOVA_C + (4UL << 20), 16 * PG, 0, NULL);
		child_report(pfd[1], ret, 0);
		for (;;)
			pause();
	}
	close(pfd[1]);
	ASSERT_EQ(sizeof(rep), read(pfd[0], &rep, sizeof(rep)));
	close(pfd[0]);
	if (rep.err)
		kill(pid, SIGKILL);
	ASSERT_EQ(0, rep.err);
	/*
	 * locked_vm: at least the live mappings; the unmapped one may still
	 * be charged while its pages are cached, but nothing more.
	 */
	ASSERT_LE(live_pages * PG / 1024, vmc_pid_locked_vm_kb(pid));
	ASSERT_GE((live_pages + 16) * PG / 1024, vmc_pid_locked_vm_kb(pid));
	if (self->ours) {
		ASSERT_LE(self->base_pinned + live_pages, vmc_pinned_pages());
		ASSERT_TRUE(container_of_pid_listed(pid));
	}

	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	self->child = 0;
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGKILL, WTERMSIG(status));
	if (self->ours) {
		ASSERT_EQ(self->base_pinned, vmc_pinned_settles_at(self->base_pinned));
		ASSERT_FALSE(container_of_pid_listed(pid));
	}
	/* The group was released: a new container gets it and maps the same IOVAs. */
	{
		uint8_t *buf = vmc_alloc_pages(64);

		ASSERT_NE(NULL, buf);
		ASSERT_EQ(0, vmc_env_open(&env, variant->backend));
		ASSERT_EQ(0, _vmc_map(env.container, IOVA_B, buf, 64 * PG, RW));
		vmc_env_close(&env);
		vmc_free_pages(buf, 64);
	}
	if (self->ours)
		ASSERT_EQ(self->base_pinned, vmc_pinned_settles_at(self->base_pinned));
}

/*
 * SIGKILL while a 256 MiB MAP_DMA of memory never touched is pinning: the
 * kill lands inside the ioctl (seen by VmLck growing) or just after it;
 * either way every pin is released.
 */
TEST_F_TIMEOUT(life, kill_during_large_map, 120)
{
	struct report rep = { .err = 1 };
	struct vmc_env env;
	int pfd[2], status, i, flags;
	long long lck = 0;
	bool done = false;
	pid_t pid;

	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	self->child = pid;
	if (!pid) {
		void *big = mmap(NULL, BIG_SIZE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int ret = big == MAP_FAILED ? -ENOMEM : vmc_env_open(&env, variant->backend);

		child_report(pfd[1], ret, 0);
		if (ret)
			_exit(1);
		ret = _vmc_map(env.container, IOVA_BIG, big, BIG_SIZE, RW);
		child_report(pfd[1], ret, 1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	ASSERT_EQ(sizeof(rep), read(pfd[0], &rep, sizeof(rep)));
	if (rep.err)
		kill(pid, SIGKILL);
	ASSERT_EQ(0, rep.err);
	flags = fcntl(pfd[0], F_GETFL);
	ASSERT_EQ(0, fcntl(pfd[0], F_SETFL, flags | O_NONBLOCK));
	/* Wait until the pinning has visibly started (or finished). */
	for (i = 0; i < 20000; i++) {
		lck = vmc_pid_locked_vm_kb(pid);
		if (read(pfd[0], &rep, sizeof(rep)) == sizeof(rep)) {
			done = true;
			break;
		}
		if (lck > 0)
			break;
		vmc_sleep_ms(1);
	}
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	self->child = 0;
	close(pfd[0]);
	ASSERT_TRUE(WIFSIGNALED(status));
	ksft_print_msg("SIGKILL %s (VmLck %lld kB of %lu when seen)\n",
		       done ? "after MAP_DMA returned" : lck > 0 ? "inside MAP_DMA" : "before any pin",
		       lck, BIG_SIZE >> 10);
	if (done)
		ASSERT_EQ(0, rep.err);
	if (self->ours) {
		ASSERT_EQ(self->base_pinned, vmc_pinned_settles_at(self->base_pinned));
		ASSERT_FALSE(container_of_pid_listed(pid));
	}
}

/*
 * Without CAP_IPC_LOCK, RLIMIT_MEMLOCK bounds what MAP_DMA pins: a map up to
 * the limit works, one page past it fails with type1's ENOMEM and leaves
 * locked_vm and pins as they were.
 */
TEST_F_TIMEOUT(life, rlimit_memlock, 60)
{
	const unsigned long limit_pages = 16;
	long long base_lck, lck, pinned;
	uint64_t unmapped = 1;
	struct vmc_env env;
	struct rlimit rl;
	uint8_t *buf = vmc_alloc_pages(64);
	void *probe;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, vmc_env_open(&env, variant->backend));
	base_lck = vmc_locked_vm_kb();
	ASSERT_LE(0, base_lck);
	rl.rlim_cur = rl.rlim_max = base_lck * 1024 + limit_pages * PG;
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	ASSERT_EQ(0, vmc_drop_cap_ipc_lock());
	/* Proof that the cap is gone: mlock past the limit is refused. */
	probe = vmc_alloc_pages(limit_pages + 1);
	ASSERT_NE(NULL, probe);
	ASSERT_NE(0, mlock(probe, (limit_pages + 1) * PG));
	vmc_free_pages(probe, limit_pages + 1);

	ASSERT_EQ(0, _vmc_map(env.container, IOVA_A, buf, 8 * PG, RW));
	ASSERT_EQ(base_lck + 32, vmc_locked_vm_kb());
	lck = vmc_locked_vm_kb();
	pinned = vmc_pinned_pages();

	/* 8 + 16 > 16 pages: refused, nothing left behind. */
	ASSERT_EQ(-ENOMEM, _vmc_map(env.container, IOVA_B, buf + 8 * PG, 16 * PG, RW));
	ASSERT_EQ(lck, vmc_locked_vm_kb());
	if (self->ours)
		ASSERT_EQ(pinned, vmc_pinned_pages());
	/* The IOVA range is free: nothing of the failed map stayed. */
	ASSERT_EQ(0, _vmc_unmap(env.container, IOVA_B, 16 * PG, 0, &unmapped));
	ASSERT_EQ(0, unmapped);

	/* Exactly up to the limit works; one more page does not. */
	ASSERT_EQ(0, _vmc_map(env.container, IOVA_B, buf + 8 * PG, 8 * PG, RW));
	ASSERT_EQ(base_lck + 64, vmc_locked_vm_kb());
	lck = vmc_locked_vm_kb();
	pinned = vmc_pinned_pages();
	ASSERT_EQ(-ENOMEM, _vmc_map(env.container, IOVA_C, buf + 16 * PG, PG, RW));
	ASSERT_EQ(lck, vmc_locked_vm_kb());
	if (self->ours)
		ASSERT_EQ(pinned, vmc_pinned_pages());

	vmc_env_close(&env);
	ASSERT_EQ(base_lck, vmc_locked_vm_kb());
	if (self->ours)
		ASSERT_EQ(self->base_pinned, vmc_pinned_settles_at(self->base_pinned));
}

/*
 * locked_vm grows by exactly the mapped size on MAP_DMA (distinct pages) and
 * is back at container close, also for a mapping unmapped before the close.
 */
TEST_F_TIMEOUT(life, locked_vm_accounting, 60)
{
	const unsigned long pages1 = 256, pages2 = 3;
	long long base_lck;
	struct vmc_env env;
	uint8_t *buf1 = vmc_alloc_pages(pages1), *buf2 = vmc_alloc_pages(pages2);
	uint64_t unmapped = 0;

	ASSERT_NE(NULL, buf1);
	ASSERT_NE(NULL, buf2);
	ASSERT_EQ(0, vmc_env_open(&env, variant->backend));
	base_lck = vmc_locked_vm_kb();
	ASSERT_LE(0, base_lck);

	ASSERT_EQ(0, _vmc_map(env.container, IOVA_A, buf1, pages1 * PG, RW));
	ASSERT_EQ(base_lck + pages1 * PG / 1024, vmc_locked_vm_kb());
	ASSERT_EQ(0, _vmc_map(env.container, IOVA_C, buf2, pages2 * PG, VFIO_DMA_MAP_FLAG_READ));
	ASSERT_EQ(base_lck + (pages1 + pages2) * PG / 1024, vmc_locked_vm_kb());
	if (self->ours)
		ASSERT_EQ(self->base_pinned + pages1 + pages2, vmc_pinned_pages());

	/* The small one goes; the big one stays until the close. */
	ASSERT_EQ(0, _vmc_unmap(env.container, IOVA_C, pages2 * PG, 0, &unmapped));
	ASSERT_EQ(pages2 * PG, unmapped);
	vmc_env_close(&env);
	ASSERT_EQ(base_lck, vmc_locked_vm_kb());
	if (self->ours)
		ASSERT_EQ(self->base_pinned, vmc_pinned_settles_at(self->base_pinned));
}

TEST_HARNESS_MAIN
