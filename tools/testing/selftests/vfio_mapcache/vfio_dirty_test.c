// SPDX-License-Identifier: GPL-2.0
/*
 * What a device writes into file-backed guest RAM reaches the file: a page
 * the device could write is marked dirty when it is unpinned.
 *
 * Guest RAM may be a shared mapping of a file on a disk file system
 * (QEMU's memory-backend-file,share=on).  Writeback may clean such a page
 * while it is pinned; the device then writes it, and nothing but the unpin
 * can tell the page cache that the page changed.  A page unpinned clean is
 * dropped as clean, and the file gives back the bytes the CPU wrote before
 * the device's.  type1 unpins writable pages dirty.
 *
 * Each variant pins a 4-page file of a fresh file system on a RAM disk
 * (brd), has writeback clean it, has edu write into it, unmaps, unmaps the
 * file from the process (the map-cache's strict and lazy modes unpin
 * there, in their mmu notifier; type1 and mode off at UNMAP_DMA), writes
 * back, drops the page cache and reads the file.  The file system is ext2
 * (served by ext4, which WARNs when a page is dirtied without its lock), or
 * vfat with VMC_DIRTY_FS=vfat.  The guest's initramfs
 * carries their modules for this test (/lib/modules/fs, in the order of
 * /etc/vmc/modules.fs), which loads them itself.  Kernels since 6.5 refuse
 * long-term writable pins of files that need dirty tracking: there MAP_DMA
 * fails with EFAULT on both backends, and the test skips.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vmc_lib.h"

#define PG		VMC_PAGE
#define NR_PAGES	4
#define FILE_BYTES	(NR_PAGES * PG)
#define IOVA_FILE	0x100000UL
#define IOVA_SRC	0x200000UL
/* The device's bytes straddle pages 0 and 1; pages 2 and 3 keep the CPU's. */
#define DMA_OFF		(PG - 1000)
#define DMA_LEN		3000
#define CPU_SEED	31
#define DEV_SEED	47

#define FS_MODDIR	"/lib/modules/fs"
#define FS_MODLIST	"/etc/vmc/modules.fs"
#define RAMDISK		"/dev/ram0"
#define MNT		"/tmp/vmc-dirty"
#define FILE_PATH	MNT "/guest-ram"
#define DROP_CACHES	"/proc/sys/vm/drop_caches"
/* Polls of 100 ms for the pins to go after munmap(). */
#define SETTLE_POLLS	50

/* Load what /etc/vmc/modules.fs lists and is not loaded yet. */
static void fs_load_modules(void)
{
	char name[128], path[192], cmd[320];
	FILE *f = fopen(FS_MODLIST, "r");
	size_t len, i;

	if (!f)
		return;
	while (fscanf(f, "%127s", name) == 1) {
		len = strlen(name);
		if (len < 4 || strcmp(name + len - 3, ".ko"))
			continue;
		snprintf(path, sizeof(path), "/sys/module/%.*s", (int)len - 3, name);
		for (i = strlen("/sys/module/"); path[i]; i++)
			if (path[i] == '-')
				path[i] = '_';
		if (!access(path, F_OK))
			continue;
		/* One RAM disk of 16 MiB, pages allocated as they are written. */
		snprintf(cmd, sizeof(cmd), "insmod " FS_MODDIR "/%s%s", name,
			 strcmp(name, "brd.ko") ? "" : " rd_nr=1 rd_size=16384");
		if (system(cmd))
			ksft_print_msg("%s failed\n", cmd);
	}
	fclose(f);
}

static bool fs_known(const char *fs)
{
	char line[128], name[64];
	bool found = false;
	FILE *f = fopen("/proc/filesystems", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "nodev %63s", name) != 1 &&
			sscanf(line, "%63s", name) == 1 && !strcmp(name, fs);
	fclose(f);
	return found;
}

/* The file system of the test: ext2, or VMC_DIRTY_FS. */
static const char *fs_type(void)
{
	const char *fs = getenv("VMC_DIRTY_FS");

	return fs && *fs ? fs : "ext2";
}

/*
 * A fresh file system on the RAM disk, mounted on MNT: 0, -errno, or 1
 * when this kernel has no RAM disk or not that file system (*@why says
 * which).
 */
static int fs_setup(const char **why)
{
	const char *fs = fs_type();
	const char *mkfs;

	if (!strcmp(fs, "vfat"))
		mkfs = "mkdosfs " RAMDISK " >/dev/null 2>&1";
	else if (!strcmp(fs, "ext2"))
		mkfs = "mke2fs -F -b 4096 " RAMDISK " >/dev/null 2>&1";
	else
		return -EINVAL;
	fs_load_modules();
	if (access(RAMDISK, F_OK)) {
		*why = "no RAM disk: the kernel has no brd (the debug kernel has no block layer)";
		return 1;
	}
	if (!fs_known(fs)) {
		*why = "the kernel has no such file system";
		return 1;
	}
	if (mkdir(MNT, 0700) && errno != EEXIST)
		return -errno;
	if (system(mkfs))
		return -EIO;
	if (mount(RAMDISK, MNT, fs, 0, NULL))
		return -errno;
	return 0;
}

/* Does the running kernel refuse FOLL_LONGTERM writes to such files (6.5+)? */
static bool kernel_refuses_file_pins(void)
{
	int major = 0, minor = 0;
	struct utsname u;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 5);
}

/* Pages of the file in the page cache (mincore() of a mapping never touched). */
static int resident_pages(int fd)
{
	unsigned char vec[NR_PAGES];
	void *p = mmap(NULL, FILE_BYTES, PROT_READ, MAP_SHARED, fd, 0);
	int i, n = 0;

	if (p == MAP_FAILED)
		return -errno;
	if (mincore(p, FILE_BYTES, vec)) {
		n = -errno;
		munmap(p, FILE_BYTES);
		return n;
	}
	munmap(p, FILE_BYTES);
	for (i = 0; i < NR_PAGES; i++)
		n += vec[i] & 1;
	return n;
}

FIXTURE(dirty) {
	struct vmc_env env;
	bool mounted;
	int fd;
	uint8_t *ram;		/* the file, MAP_SHARED: the guest RAM */
	uint8_t *src;		/* one anonymous page: the device's bytes */
	uint8_t *expect;	/* what the file must hold in the end */
	long long base_pinned;	/* the module's pinned pages, -1 if not loaded */
	long long base_lck_kb;
};

FIXTURE_VARIANT(dirty) {
	enum vmc_backend backend;
	const char *mode;	/* the VM's mode on the map-cache */
};

FIXTURE_VARIANT_ADD(dirty, type1) {
	.backend = VMC_BACKEND_TYPE1,
};

/* Unpins at UNMAP_DMA, as type1. */
FIXTURE_VARIANT_ADD(dirty, off) {
	.backend = VMC_BACKEND_MAPCACHE,
	.mode = "off",
};

/* The pin stays cached after UNMAP_DMA; munmap() releases it. */
FIXTURE_VARIANT_ADD(dirty, strict) {
	.backend = VMC_BACKEND_MAPCACHE,
	.mode = "strict",
};

/* The translation stays cached too: the device may write until munmap(). */
FIXTURE_VARIANT_ADD(dirty, lazy) {
	.backend = VMC_BACKEND_MAPCACHE,
	.mode = "lazy",
};

FIXTURE_SETUP(dirty)
{
	const char *why = "";
	int ret;

	self->env.container = -1;
	self->env.group = -1;
	self->env.device = -1;
	self->fd = -1;
	ret = fs_setup(&why);
	if (ret == 1)
		SKIP(return, "%s: %s", fs_type(), why);
	ASSERT_EQ(0, ret) TH_LOG("no %s on " RAMDISK, fs_type());
	self->mounted = true;

	self->base_pinned = vmc_pinned_pages();
	self->base_lck_kb = vmc_locked_vm_kb();
	ret = vmc_env_open(&self->env, variant->backend);
	if (ret == 1)
		SKIP(return, "backend %s not available", vmc_backend_name(variant->backend));
	ASSERT_EQ(0, ret);
	if (variant->mode) {
		ASSERT_EQ(0, vmc_vm_write("mode", variant->mode));
		ASSERT_EQ(0, vmc_vm_write("quota_bytes", "0"));
	}

	self->fd = open(FILE_PATH, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ftruncate(self->fd, FILE_BYTES));
	self->ram = mmap(NULL, FILE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->ram);
	self->src = vmc_alloc_pages(1);
	self->expect = malloc(FILE_BYTES);
	ASSERT_NE(NULL, self->src);
	ASSERT_NE(NULL, self->expect);
	vmc_fill_pattern(self->src, PG, DEV_SEED);
	vmc_fill_pattern(self->expect, FILE_BYTES, CPU_SEED);
	memcpy(self->expect + DMA_OFF, self->src, DMA_LEN);
}

FIXTURE_TEARDOWN(dirty)
{
	if (self->ram && self->ram != MAP_FAILED)
		munmap(self->ram, FILE_BYTES);
	if (self->src)
		vmc_free_pages(self->src, 1);
	free(self->expect);
	vmc_env_close(&self->env);
	if (self->fd >= 0)
		close(self->fd);
	if (self->mounted)
		umount(MNT);
}

/* The module's pinned pages are back where they were (-1: not loaded). */
static bool pins_released(struct _test_data_dirty *self)
{
	struct timespec poll = { .tv_nsec = 100 * 1000 * 1000 };
	int i;

	for (i = 0; i < SETTLE_POLLS; i++) {
		if (self->base_pinned < 0 || vmc_pinned_pages() == self->base_pinned)
			return true;
		nanosleep(&poll, NULL);
	}
	return false;
}

TEST_F(dirty, device_write_survives_writeback)
{
	uint8_t *back;
	int ret;

	/* The CPU's bytes, written back: on the disk and clean in the cache. */
	vmc_fill_pattern(self->ram, FILE_BYTES, CPU_SEED);
	ASSERT_EQ(0, fsync(self->fd));

	test_map(IOVA_SRC, self->src, PG, VFIO_DMA_MAP_FLAG_READ);
	ret = _vmc_map(self->env.container, IOVA_FILE, self->ram, FILE_BYTES,
		       VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
	if (ret == -EFAULT && kernel_refuses_file_pins())
		SKIP(return, "the kernel refuses long-term writable pins of %s files (6.5+): %s",
		     fs_type(), "MAP_DMA fails with EFAULT");
	ASSERT_EQ(0, ret);
	/*
	 * The writable pin dirtied the pages (GUP faults them in for write):
	 * writeback cleans them again while they are pinned, and write-protects
	 * and cleans the process's page table entries.  From here on only the
	 * unpin can dirty them.
	 */
	ASSERT_EQ(0, fsync(self->fd));

	ASSERT_EQ(0, vmc_edu_dma_to_dev(&self->env, IOVA_SRC, 0, DMA_LEN));
	ASSERT_EQ(0, vmc_edu_dma_from_dev(&self->env, IOVA_FILE + DMA_OFF, 0, DMA_LEN));
	/* In memory: the device's bytes where it wrote, the CPU's elsewhere. */
	ASSERT_EQ(0, memcmp(self->expect, self->ram, FILE_BYTES));

	test_unmap(IOVA_FILE, FILE_BYTES, FILE_BYTES);
	test_unmap(IOVA_SRC, PG, PG);
	/* What the map-cache keeps cached goes with the memory. */
	ASSERT_EQ(0, munmap(self->ram, FILE_BYTES));
	self->ram = NULL;
	vmc_free_pages(self->src, 1);
	self->src = NULL;
	ASSERT_TRUE(pins_released(self))
		TH_LOG("pinned pages %lld, before %lld", vmc_pinned_pages(), self->base_pinned);
	/*
	 * Unpins in the mmu notifier leave the uncharge of locked_vm to the
	 * VM's next request or its release: close the container.
	 */
	vmc_env_close(&self->env);
	ASSERT_EQ(self->base_lck_kb, vmc_locked_vm_kb());

	/* Write back what is dirty, then drop the clean page cache. */
	ASSERT_EQ(0, fsync(self->fd));
	ASSERT_EQ(0, vmc_write_str(DROP_CACHES, "1"));
	/* Nothing left in memory: what read() returns comes from the disk. */
	ASSERT_EQ(0, resident_pages(self->fd));
	back = malloc(FILE_BYTES);
	ASSERT_NE(NULL, back);
	ASSERT_EQ(FILE_BYTES, pread(self->fd, back, FILE_BYTES, 0));
	ret = memcmp(self->expect, back, FILE_BYTES);
	/* What a page unpinned clean gives: the CPU's bytes where the device wrote. */
	vmc_fill_pattern(self->expect, FILE_BYTES, CPU_SEED);
	if (ret && !memcmp(self->expect, back, FILE_BYTES))
		TH_LOG("the device's bytes are lost: the file holds the CPU's (unpinned clean)");
	free(back);
	ASSERT_EQ(0, ret);
}

TEST_HARNESS_MAIN
