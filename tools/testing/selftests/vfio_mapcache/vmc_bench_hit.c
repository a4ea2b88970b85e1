// SPDX-License-Identifier: GPL-2.0
/*
 * vmc_bench, where the time of a strict-mode pin hit goes (issue 13 item 4).
 *
 * First, without any tracer: the median of HIT_PAIRS MAP_DMA + UNMAP_DMA
 * pairs of one page at one IOVA, on type1, on the map-cache in mode off
 * (pins and unpins each time), strict (a pin hit: the page stays pinned
 * between pairs; with the module's default settings, then with policy
 * lru) and lazy (a full hit: the translation stays too), against
 * the floor of two no-op ioctls (VFIO_CHECK_EXTENSION on the container,
 * which the VFIO core hands to the backend).
 *
 * Then the strict pair under the function_graph tracer, for this process
 * and the ioctl system call (set_graph_function), with only the functions
 * of hit_funcs[] and of the module hooked (set_ftrace_filter), so that
 * the tree stays readable; under TCG the tracer costs far more than the
 * pair itself (both times are printed).  Printed as a tree: per pair, microseconds and calls of each call
 * path that takes at least HIT_MIN_SHARE of the traced ioctls; a path's
 * time includes the tracer's cost of the hooked functions below it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmc_bench.h"
#include "vmc_lib.h"

#define HIT_RW		(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define HIT_IOVA	0x100000UL
#define HIT_PAIRS	2000
#define HIT_TRACED	200	/* pairs traced */
#define HIT_DEPTH	24
#define HIT_MIN_SHARE	0.015
#define HIT_MAX_PATHS	2048
#define HIT_PATH_LEN	512
#define TRACEFS		"/sys/kernel/tracing"

enum hit_cfg {
	HIT_NOOP, HIT_TYPE1, HIT_OFF, HIT_STRICT, HIT_STRICT_LRU, HIT_LAZY, HIT_NR_CFGS
};
static const char *const hit_names[HIT_NR_CFGS] = {
	"2 no-op ioctls", "type1", "mapcache off", "mapcache strict (pin hit)",
	"  same, policy lru", "mapcache lazy (full hit)",
};

static double hit_map[HIT_NR_CFGS][HIT_PAIRS], hit_unmap[HIT_NR_CFGS][HIT_PAIRS];
static double hit_pair[HIT_NR_CFGS][HIT_PAIRS];

/* Open a container for @cfg, its one page mapped and unmapped once (warm). */
static int hit_open(enum hit_cfg cfg, struct vmc_env *env, void *page)
{
	enum vmc_backend b = cfg == HIT_TYPE1 ? VMC_BACKEND_TYPE1 : VMC_BACKEND_MAPCACHE;
	static const char *const mode[HIT_NR_CFGS] = {
		[HIT_NOOP] = "strict", [HIT_OFF] = "off", [HIT_STRICT] = "strict",
		[HIT_STRICT_LRU] = "strict", [HIT_LAZY] = "lazy",
	};
	int ret;

	ret = vmc_env_open(env, b);
	/* The VM's settings outlive its containers: the module's defaults first. */
	if (!ret && b == VMC_BACKEND_MAPCACHE)
		ret = vmc_vm_reset();
	if (!ret && b == VMC_BACKEND_MAPCACHE)
		ret = vmc_vm_write("mode", mode[cfg]);
	if (!ret && cfg == HIT_STRICT_LRU)
		ret = vmc_vm_write("policy", "lru");
	if (!ret)
		ret = _vmc_map(env->container, HIT_IOVA, page, VMC_PAGE, HIT_RW);
	if (!ret)
		ret = _vmc_unmap(env->container, HIT_IOVA, VMC_PAGE, 0, NULL);
	return ret;
}

/* One pair; the no-op "pair" is two VFIO_CHECK_EXTENSION calls. */
static int hit_one(enum hit_cfg cfg, struct vmc_env *env, void *page, double *map_us,
		   double *unmap_us)
{
	double t0, t1, t2;
	int ret;

	t0 = vmc_now_us();
	if (cfg == HIT_NOOP)
		ret = ioctl(env->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) < 0 ?
		      -errno : 0;
	else
		ret = _vmc_map(env->container, HIT_IOVA, page, VMC_PAGE, HIT_RW);
	t1 = vmc_now_us();
	if (ret)
		return ret;
	if (cfg == HIT_NOOP)
		ret = ioctl(env->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) < 0 ?
		      -errno : 0;
	else
		ret = _vmc_unmap(env->container, HIT_IOVA, VMC_PAGE, 0, NULL);
	t2 = vmc_now_us();
	*map_us = t1 - t0;
	*unmap_us = t2 - t1;
	return ret;
}

static int hit_times(void *page)
{
	unsigned int c, i, k;
	struct vmc_env env;
	int ret;

	/* Interleaved in chunks, so that the emulator's drift hits all alike. */
	for (k = 0; k < HIT_PAIRS; k += HIT_PAIRS / 10)
		for (c = 0; c < HIT_NR_CFGS; c++) {
			ret = hit_open(c, &env, page);
			for (i = k; !ret && i < k + HIT_PAIRS / 10; i++) {
				ret = hit_one(c, &env, page, &hit_map[c][i], &hit_unmap[c][i]);
				hit_pair[c][i] = hit_map[c][i] + hit_unmap[c][i];
			}
			vmc_env_close(&env);
			if (ret) {
				printf("# hit: %s: %s\n", hit_names[c], strerror(-ret));
				return ret;
			}
		}
	printf("# HIT-TABLE-BEGIN\n");
	printf("%-28s %8s %8s %8s %8s\n", "pair of", "map_us", "unmap_us", "pair_us",
	       "vs_noop");
	for (c = 0; c < HIT_NR_CFGS; c++) {
		double pair = vmc_median_copy(hit_pair[c], HIT_PAIRS);

		printf("%-28s %8.2f %8.2f %8.2f %8.2f\n", hit_names[c],
		       vmc_median_copy(hit_map[c], HIT_PAIRS),
		       vmc_median_copy(hit_unmap[c], HIT_PAIRS), pair,
		       pair / vmc_median_copy(hit_pair[HIT_NOOP], HIT_PAIRS));
	}
	printf("# HIT-TABLE-END\n");
	printf("bench: hit-strict-vs-noop %.2f\n",
	       vmc_median_copy(hit_pair[HIT_STRICT], HIT_PAIRS) /
	       vmc_median_copy(hit_pair[HIT_NOOP], HIT_PAIRS));
	return 0;
}

/* ---- the profile ---- */

struct hit_path {
	char path[HIT_PATH_LEN];	/* "a/b/c" from the graph function down */
	unsigned int depth;
	double us;			/* total over the traced pairs */
	unsigned long calls;
};

static struct hit_path hit_paths[HIT_MAX_PATHS];
static unsigned int nr_hit_paths;

static struct hit_path *hit_find(const char *path)
{
	unsigned int i;

	for (i = 0; i < nr_hit_paths; i++)
		if (!strcmp(hit_paths[i].path, path))
			return &hit_paths[i];
	if (nr_hit_paths == HIT_MAX_PATHS)
		return NULL;
	snprintf(hit_paths[nr_hit_paths].path, HIT_PATH_LEN, "%s", path);
	return &hit_paths[nr_hit_paths++];
}

/* Write @val to a tracefs file, replacing (or with @append, adding to) it. */
static int hit_tracefs_op(const char *file, const char *val, bool append)
{
	ssize_t len = strlen(val), n;
	char path[128];
	int fd;

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	fd = open(path, O_WRONLY | (append ? O_APPEND : O_TRUNC));
	if (fd < 0)
		return -errno;
	n = len ? write(fd, val, len) : 0;
	if (n < 0)
		n = -errno;
	close(fd);
	return n == len ? 0 : (n < 0 ? (int)n : -EIO);
}

static int hit_tracefs(const char *file, const char *val)
{
	return hit_tracefs_op(file, val, false);
}

/*
 * The kernel functions hooked besides the module's: the system call and
 * the VFIO core above the backend, and below it GUP, the IOMMU API and the
 * Intel driver (names of 6.1 and 6.12; those a kernel lacks are skipped).
 */
static const char *const hit_funcs[] = {
	"__x64_sys_ioctl", "security_file_ioctl", "vfio_fops_unl_ioctl",
	"mutex_lock", "mutex_unlock", "pin_user_pages_remote", "unpin_user_page",
	"unpin_user_page_range_dirty_lock", "account_locked_vm", "iommu_map",
	"iommu_unmap_fast", "iommu_iova_to_phys", "intel_iommu_map_pages",
	"intel_iommu_unmap_pages", "intel_iommu_iotlb_sync_map", "intel_iommu_tlb_sync",
	"cache_tag_flush_range", "cache_tag_flush_range_np", "qi_submit_sync",
	"iommu_flush_iotlb_psi", "__x86_indirect_thunk_array", "_copy_from_user",
	"_copy_to_user", "kmem_cache_alloc_noprof", "kmem_cache_free",
};

/* "name [module]() {" -> "name" */
static void hit_name(const char *text, char *name, size_t len)
{
	size_t n = strcspn(text, " ([;");

	if (n >= len)
		n = len - 1;
	memcpy(name, text, n);
	name[n] = 0;
}

static void hit_add(const char *path, unsigned int depth, double us)
{
	struct hit_path *p = hit_find(path);

	if (!p)
		return;
	p->depth = depth;
	p->us += us;
	p->calls++;
}

/* Add every call of the trace to the paths. */
static int hit_parse(void)
{
	char line[1024], stack[HIT_PATH_LEN] = "", name[128], path[HIT_PATH_LEN];
	size_t marks[HIT_DEPTH + 1];
	unsigned int level = 0;
	FILE *f = fopen(TRACEFS "/trace", "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *bar = strchr(line, '|'), *text, *us;
		double dur = -1;

		if (line[0] == '#' || !bar)
			continue;
		us = strstr(line, " us");
		if (us && us < bar) {
			while (us > line && strchr("0123456789.", us[-1]))
				us--;
			dur = strtod(us, NULL);
		}
		for (text = bar + 1; *text == ' '; text++)
			;
		text[strcspn(text, "\n")] = 0;
		if (text[0] == '}') {
			/* A return: the time of the call on top of the stack. */
			if (!level)
				continue;
			if (dur >= 0)
				hit_add(stack, level, dur);
			stack[marks[--level]] = 0;
			continue;
		}
		if (!text[0] || strstr(text, "=>") || !strchr(text, '('))
			continue;
		hit_name(text, name, sizeof(name));
		if (text[strlen(text) - 1] == '{') {
			if (level == HIT_DEPTH)
				break;
			marks[level++] = strlen(stack);
			snprintf(stack + strlen(stack), sizeof(stack) - strlen(stack), "%s%s",
				 level > 1 ? "/" : "", name);
			continue;
		}
		/* A leaf: "name();" with its duration. */
		snprintf(path, sizeof(path), "%s%s%s", stack, level ? "/" : "", name);
		if (dur >= 0)
			hit_add(path, level + 1, dur);
	}
	fclose(f);
	return 0;
}

static int hit_cmp(const void *a, const void *b)
{
	return strcmp(((const struct hit_path *)a)->path, ((const struct hit_path *)b)->path);
}

static void hit_profile(void *page)
{
	double m, u, sum = 0, root = 0;
	struct vmc_env env;
	unsigned int i, j, hooked = 0;
	char pid[16];

	if (access(TRACEFS "/current_tracer", F_OK))
		mount("tracefs", TRACEFS, "tracefs", 0, NULL);
	snprintf(pid, sizeof(pid), "%d", getpid());
	hit_tracefs("current_tracer", "nop");
	hit_tracefs("set_ftrace_filter", "");
	if (!hit_tracefs("set_ftrace_filter", ":mod:vfio_iommu_mapcache"))
		hooked++;
	for (i = 0; i < sizeof(hit_funcs) / sizeof(hit_funcs[0]); i++)
		if (!hit_tracefs_op("set_ftrace_filter", hit_funcs[i], true))
			hooked++;
	if (hit_tracefs("set_graph_function", "__x64_sys_ioctl") ||
	    hit_tracefs("set_ftrace_pid", pid) || hit_tracefs("max_graph_depth", "0") ||
	    hit_tracefs("buffer_size_kb", "8192") ||
	    hit_tracefs("options/funcgraph-irqs", "0") || hit_tracefs("trace", "") ||
	    hit_tracefs("current_tracer", "function_graph")) {
		printf("# hit: no function_graph tracer here: no profile\n");
		hit_tracefs("current_tracer", "nop");
		return;
	}
	if (hit_open(HIT_STRICT, &env, page)) {
		printf("# hit: cannot open the map-cache\n");
		vmc_env_close(&env);
		return;
	}
	hit_tracefs("trace", "");
	hit_tracefs("tracing_on", "1");
	for (i = 0; i < HIT_TRACED; i++) {
		if (hit_one(HIT_STRICT, &env, page, &m, &u))
			break;
		sum += m + u;
	}
	hit_tracefs("tracing_on", "0");
	vmc_env_close(&env);
	hit_parse();
	hit_tracefs("current_tracer", "nop");
	hit_tracefs("set_graph_function", "");
	hit_tracefs("set_ftrace_filter", "");
	hit_tracefs("set_ftrace_pid", "");
	hit_tracefs("trace", "");

	qsort(hit_paths, nr_hit_paths, sizeof(hit_paths[0]), hit_cmp);
	for (i = 0; i < nr_hit_paths; i++)
		if (hit_paths[i].depth == 1)
			root += hit_paths[i].us;
	printf("# HIT-PROFILE-BEGIN\n");
	printf("strict pin hit, MAP_DMA + UNMAP_DMA of one cached page under function_graph,\n"
	       "%u pairs, %u filters hooked (the module and %zu kernel functions);\n"
	       "us and calls per pair, share of the traced ioctls; paths under %.1f%% hidden:\n",
	       HIT_TRACED, hooked, sizeof(hit_funcs) / sizeof(hit_funcs[0]),
	       100 * HIT_MIN_SHARE);
	printf("%9s %7s %6s  %s\n", "us/pair", "share", "calls", "call path");
	for (i = 0; i < nr_hit_paths; i++) {
		const struct hit_path *p = &hit_paths[i];
		const char *leaf = strrchr(p->path, '/');

		if (!root || p->us < HIT_MIN_SHARE * root)
			continue;
		printf("%9.2f %6.1f%% %6.2f  ", p->us / HIT_TRACED, 100 * p->us / root,
		       (double)p->calls / HIT_TRACED);
		for (j = 1; j < p->depth; j++)
			printf("  ");
		printf("%s\n", leaf ? leaf + 1 : p->path);
	}
	printf("# HIT-PROFILE-END\n");
	printf("# hit: traced pair %.2f us as timed by the caller (untraced median %.2f us)\n",
	       sum / HIT_TRACED, vmc_median_copy(hit_pair[HIT_STRICT], HIT_PAIRS));
}

int hit_section(void)
{
	void *page = vmc_alloc_pages(1);
	int ret;

	if (!page)
		return -ENOMEM;
	ret = hit_times(page);
	if (!ret)
		hit_profile(page);
	vmc_free_pages(page, 1);
	return ret;
}
