// SPDX-License-Identifier: GPL-2.0
/*
 * Module unload: refused while a container uses vfio_iommu_mapcache, done
 * once it is closed (every pin released, no splat: the host runner checks
 * the console), then the module is loaded again from
 * /lib/modules/vfio_iommu_mapcache.ko (no parameters) so that whatever runs
 * later still has it.  Runs last: it takes the module away for a moment.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vmc_lib.h"

#define MODNAME		"vfio_iommu_mapcache"
#define MODPATH		"/lib/modules/" MODNAME ".ko"
#define PG		VMC_PAGE
#define RW		(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define IOVA		0x100000UL
#define NR_PAGES	32

static int delete_module(const char *name, unsigned int flags)
{
	return syscall(SYS_delete_module, name, flags) ? -errno : 0;
}

static int load_module(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

TEST(unload_busy_then_idle)
{
	struct vmc_env env;
	uint8_t *buf = vmc_alloc_pages(NR_PAGES);
	long long base;
	int ret;

	if (!vmc_mapcache_loaded())
		SKIP(return, "vfio_iommu_mapcache is not loaded");
	ASSERT_EQ(0, access(MODPATH, R_OK));
	ASSERT_NE(NULL, buf);
	base = vmc_pinned_pages();
	ASSERT_LE(0, base);

	/* A container of ours with live mappings pins the module. */
	ASSERT_EQ(0, vmc_env_open(&env, VMC_BACKEND_MAPCACHE));
	ASSERT_EQ(0, _vmc_map(env.container, IOVA, buf, NR_PAGES * PG, RW));
	ret = delete_module(MODNAME, O_NONBLOCK);
	/*
	 * A module whose reference count is held fails with EWOULDBLOCK
	 * (== EAGAIN; rmmod prints "in use"); EBUSY would mean it is still
	 * initialising or already going.
	 */
	ASSERT_EQ(-EWOULDBLOCK, ret) TH_LOG("delete_module: %d", ret);
	ksft_print_msg("delete_module with a container open: %s\n", strerror(-ret));
	ASSERT_TRUE(vmc_mapcache_loaded());
	/* And the container still works. */
	ASSERT_EQ(0, _vmc_map(env.container, IOVA + NR_PAGES * PG, buf, PG, RW));
	vmc_env_close(&env);
	ASSERT_EQ(base, vmc_pinned_pages());

	/* Nothing open: it goes, and its debugfs with it. */
	ASSERT_EQ(0, delete_module(MODNAME, O_NONBLOCK));
	ASSERT_FALSE(vmc_mapcache_loaded());
	ASSERT_NE(0, access(VMC_DEBUGFS_DIR, F_OK));
	/* Type1v2 containers go to stock type1 meanwhile. */
	ASSERT_EQ(0, vmc_env_open(&env, VMC_BACKEND_TYPE1));
	ASSERT_EQ(0, _vmc_map(env.container, IOVA, buf, NR_PAGES * PG, RW));
	vmc_env_close(&env);

	/* Back, with default parameters, and serving containers again. */
	ASSERT_EQ(0, load_module(MODPATH));
	ASSERT_TRUE(vmc_mapcache_loaded());
	ASSERT_EQ(0, vmc_pinned_pages());
	ASSERT_EQ(0, vmc_env_open(&env, VMC_BACKEND_MAPCACHE));
	ASSERT_EQ(0, _vmc_map(env.container, IOVA, buf, NR_PAGES * PG, RW));
	ASSERT_EQ(NR_PAGES, vmc_pinned_pages());
	vmc_env_close(&env);
	ASSERT_EQ(0, vmc_pinned_pages());
}

/*
 * Unloaded and loaded again at once, three times: the module's sysfs
 * directory must be gone when the unload returns, whenever the kobject core
 * releases it (a debug kernel delays that by seconds).
 */
TEST(unload_reload_at_once)
{
	int i;

	if (!vmc_mapcache_loaded())
		SKIP(return, "vfio_iommu_mapcache is not loaded");
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, delete_module(MODNAME, O_NONBLOCK));
		ASSERT_NE(0, access(VMC_SYSFS_DIR, F_OK));
		ASSERT_EQ(0, load_module(MODPATH)) TH_LOG("reload %d", i);
		ASSERT_TRUE(vmc_mapcache_loaded());
		ASSERT_EQ(0, access(VMC_SYSFS_DIR, F_OK));
	}
}

TEST_HARNESS_MAIN
