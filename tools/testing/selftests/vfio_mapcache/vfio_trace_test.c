// SPDX-License-Identifier: GPL-2.0
/*
 * The vfio_mapcache tracepoints: each event fires where the map-cache does
 * what it names, with the VM's pid, the container, the addresses and the
 * page counts of that request.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vmc_lib.h"

#define PG		VMC_PAGE
#define R		VFIO_DMA_MAP_FLAG_READ
#define TRACING		"/sys/kernel/tracing"
#define EVENTS		TRACING "/events/vfio_mapcache"
#define IOVA_A		0x100000UL
#define IOVA_B		0x200000UL
#define IOVA_C		0x300000UL
#define TRACE_MAX	(1 << 20)

FIXTURE(trace) {
	struct vmc_env env;
	uint8_t *buf;
	char sysfs[128];
	char *text;
};

static int vm_set(struct _test_data_trace *self, const char *file, const char *val)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/%s", self->sysfs, file);
	return vmc_write_str(path, val);
}

FIXTURE_SETUP(trace)
{
	int ret;

	if (access(TRACING "/trace", F_OK))
		mount("tracefs", TRACING, "tracefs", 0, NULL);
	if (access(EVENTS "/enable", W_OK))
		SKIP(return, "no vfio_mapcache events in tracefs");
	ret = vmc_env_open(&self->env, VMC_BACKEND_MAPCACHE);
	if (ret == 1)
		SKIP(return, "vfio_iommu_mapcache not available");
	ASSERT_EQ(0, ret);
	snprintf(self->sysfs, sizeof(self->sysfs), "/sys/kernel/vfio_mapcache/%d", getpid());
	ASSERT_EQ(0, vm_set(self, "mode", "lazy"));
	ASSERT_EQ(0, vm_set(self, "quota_bytes", "0"));
	self->buf = vmc_alloc_pages(4);
	ASSERT_NE(NULL, self->buf);
	self->text = calloc(1, TRACE_MAX);
	ASSERT_NE(NULL, self->text);
	ASSERT_EQ(0, vmc_write_str(TRACING "/trace", ""));
	ASSERT_EQ(0, vmc_write_str(EVENTS "/enable", "1"));
	ASSERT_EQ(0, vmc_write_str(TRACING "/tracing_on", "1"));
}

FIXTURE_TEARDOWN(trace)
{
	vmc_write_str(EVENTS "/enable", "0");
	vmc_env_close(&self->env);
	free(self->text);
}

static int read_trace(char *buf, size_t len)
{
	FILE *f = fopen(TRACING "/trace", "r");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
	return 0;
}

/* Is there an @event line whose fields start with @fields? */
static bool has_event(const char *text, const char *event, const char *fields)
{
	char want[256];

	snprintf(want, sizeof(want), " %s: %s", event, fields);
	return strstr(text, want);
}

TEST_F(trace, events)
{
	struct vfio_mapcache_batch_entry v[2] = {
		{ .op = VFIO_MAPCACHE_OP_UNMAP, .iova = IOVA_B, .size = PG },
		{ .op = VFIO_MAPCACHE_OP_MAP, .flags = R, .iova = IOVA_C, .size = PG },
	};
	unsigned long va = (uintptr_t)self->buf;
	char f[256];
	uint32_t done;
	pid_t pid = getpid();

	v[1].vaddr = va + PG;
	test_map(IOVA_A, self->buf, PG, R);			/* miss */
	test_unmap(IOVA_A, PG, PG);				/* cached */
	test_map(IOVA_B, self->buf, PG, R);			/* pin hit */
	test_unmap(IOVA_B, PG, PG);
	test_map(IOVA_B, self->buf, PG, R);			/* full hit */
	ASSERT_EQ(0, _vmc_batch(self->env.container, v, 2, &done));	/* miss */
	test_err_map(EEXIST, IOVA_C, self->buf, PG, R);
	ASSERT_EQ(0, vm_set(self, "quota_bytes", "4096"));	/* evicts */
	ASSERT_EQ(0, vmc_write_str(TRACING "/tracing_on", "0"));
	ASSERT_EQ(0, read_trace(self->text, TRACE_MAX));

	snprintf(f, sizeof(f), "vm=%d vaddr=0x%lx pages=1", pid, va);
	ASSERT_TRUE(has_event(self->text, "vmc_miss", f)) TH_LOG("%s", self->text);
	ASSERT_TRUE(has_event(self->text, "vmc_pin_hit", f));
	snprintf(f, sizeof(f), "vm=%d vaddr=0x%lx pages=1", pid, va + PG);
	ASSERT_TRUE(has_event(self->text, "vmc_miss", f));
	snprintf(f, sizeof(f), "vm=%d iova=0x%lx vaddr=0x%lx size=0x%lx", pid, IOVA_B, va, PG);
	ASSERT_TRUE(has_event(self->text, "vmc_full_hit", f));
	snprintf(f, sizeof(f), "iova=0x%lx vaddr=0x%lx size=0x%lx prot=1 ret=0", IOVA_A, va, PG);
	ASSERT_TRUE(has_event(self->text, "vmc_map", "container=") &&
		    strstr(self->text, f));
	snprintf(f, sizeof(f), "iova=0x%lx vaddr=0x%lx size=0x%lx prot=1 ret=%d", IOVA_C, va,
		 PG, -EEXIST);
	ASSERT_NE(NULL, strstr(self->text, f));
	snprintf(f, sizeof(f), "iova=0x%lx last=0x%lx unmapped=0x%lx ret=0", IOVA_A,
		 IOVA_A + PG - 1, PG);
	ASSERT_NE(NULL, strstr(self->text, f));
	ASSERT_NE(NULL, strstr(self->text, "entries=2 done=2 ret=0"));
	snprintf(f, sizeof(f), "vm=%d pages=1 pinned=1 quota=1", pid);
	ASSERT_TRUE(has_event(self->text, "vmc_evict", f)) TH_LOG("%s", self->text);
}

TEST_HARNESS_MAIN
