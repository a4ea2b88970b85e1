// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the vfio_mapcache kselftests (see vmc_lib.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "vmc_lib.h"

/* edu registers (BAR0). */
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_CNT		0x90
#define EDU_REG_DMA_CMD		0x98
#define EDU_CMD_RUN		0x1
#define EDU_CMD_TO_RAM		0x2
#define EDU_DMA_TIMEOUT_MS	5000

#define PCI_CMD_OFFSET		4
#define PCI_CMD_MEMORY		0x2
#define PCI_CMD_MASTER		0x4

/*
 * Test output must reach the console line by line, in step with the DMAR
 * faults QEMU traces, so that the runner can tell which test caused them.
 */
__attribute__((constructor)) static void vmc_line_buffered(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	setvbuf(stderr, NULL, _IOLBF, 0);
}

/*
 * The harness arms alarm() with each test's timeout, a guard against hangs
 * sized for a stock kernel.  A debug kernel (KASAN, lockdep) under TCG is
 * several times slower: the guest's /init sets VMC_TIMEOUT_SCALE there, and
 * the Makefile links with --wrap=alarm so that every timeout is scaled.
 */
unsigned int __real_alarm(unsigned int seconds);
unsigned int __wrap_alarm(unsigned int seconds);

/* VMC_TIMEOUT_SCALE: how much slower than a stock kernel this one runs. */
static unsigned long vmc_timeout_scale(void)
{
	const char *env = getenv("VMC_TIMEOUT_SCALE");

	return env ? strtoul(env, NULL, 10) : 1;
}

unsigned int __wrap_alarm(unsigned int seconds)
{
	unsigned long scale = vmc_timeout_scale();

	if (scale > 1 && seconds <= UINT_MAX / scale)
		seconds *= scale;
	return __real_alarm(seconds);
}

bool vmc_debug_kernel(void)
{
	return vmc_timeout_scale() > 1;
}

const char *vmc_backend_name(enum vmc_backend backend)
{
	return backend == VMC_BACKEND_TYPE1 ? "type1" : "mapcache";
}

static int vmc_find_edu(char *bdf, size_t len)
{
	const char *env = getenv("VMC_EDU_BDF");
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;
	int found = 0;

	if (env && *env) {
		snprintf(bdf, len, "%s", env);
		return 0;
	}
	dir = opendir("/sys/bus/pci/devices");
	if (!dir)
		return -errno;
	while (!found && (de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", de->d_name);
		if (vmc_read_ll(path) != 0x1234)
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", de->d_name);
		if (vmc_read_ll(path) != 0x11e8)
			continue;
		snprintf(bdf, len, "%.31s", de->d_name);
		found = 1;
	}
	closedir(dir);
	return found ? 0 : -ENODEV;
}

int vmc_group_open(const char *bdf)
{
	char path[PATH_MAX], link[PATH_MAX];
	struct vfio_group_status status = { .argsz = sizeof(status) };
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	snprintf(path, sizeof(path), "/dev/vfio/%s", strrchr(link, '/') + 1);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &status) ||
	    !(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		close(fd);
		return -EBUSY;
	}
	return fd;
}

/*
 * Make the VFIO core hand VFIO_TYPE1v2_IOMMU to the backend we want: our
 * module claims it only while its claim_type1v2 parameter is set.
 */
static int vmc_choose_backend(enum vmc_backend backend)
{
	const char *param = MODPARAM_DIR "/claim_type1v2";
	bool ours = backend == VMC_BACKEND_MAPCACHE;

	if (access(param, F_OK))
		return ours ? 1 : 0;
	return vmc_write_str(param, ours ? "1" : "0");
}

static int vmc_region_offset(int device, uint32_t index, uint64_t *offset)
{
	struct vfio_region_info info = {
		.argsz = sizeof(info),
		.index = index,
	};

	if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &info))
		return -errno;
	*offset = info.offset;
	return 0;
}

static int vmc_enable_master(struct vmc_env *env)
{
	uint16_t cmd;

	if (pread(env->device, &cmd, 2, env->config_offset + PCI_CMD_OFFSET) != 2)
		return -EIO;
	cmd |= PCI_CMD_MEMORY | PCI_CMD_MASTER;
	if (pwrite(env->device, &cmd, 2, env->config_offset + PCI_CMD_OFFSET) != 2)
		return -EIO;
	return 0;
}

int vmc_env_open_noiommu(struct vmc_env *env)
{
	int ret;

	memset(env, 0, sizeof(*env));
	env->container = env->group = env->device = -1;
	ret = vmc_find_edu(env->bdf, sizeof(env->bdf));
	if (ret)
		return ret;
	env->container = open("/dev/vfio/vfio", O_RDWR);
	if (env->container < 0)
		return -errno;
	if (ioctl(env->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return -EPROTO;
	env->group = vmc_group_open(env->bdf);
	if (env->group < 0)
		return env->group;
	if (ioctl(env->group, VFIO_GROUP_SET_CONTAINER, &env->container))
		return -errno;
	return 0;
}

static int vmc_env_set_iommu(struct vmc_env *env, enum vmc_backend backend)
{
	int ret, ours;

	ret = vmc_choose_backend(backend);
	if (ret)
		return ret;
	/* Both backends are asked for exactly as QEMU asks: Type1v2. */
	env->iommu_type = VFIO_TYPE1v2_IOMMU;
	if (ioctl(env->container, VFIO_SET_IOMMU, env->iommu_type))
		return -errno;
	/* Prove which backend the VFIO core picked. */
	ours = ioctl(env->container, VFIO_CHECK_EXTENSION, VFIO_MAPCACHE_IOMMU);
	if (ours < 0)
		return -errno;
	if ((ours > 0) != (backend == VMC_BACKEND_MAPCACHE))
		return -EXDEV;
	return 0;
}

int vmc_env_open(struct vmc_env *env, enum vmc_backend backend)
{
	int ret;

	ret = vmc_env_open_noiommu(env);
	if (ret)
		return ret;
	ret = vmc_env_set_iommu(env, backend);
	if (ret)
		return ret;
	env->device = ioctl(env->group, VFIO_GROUP_GET_DEVICE_FD, env->bdf);
	if (env->device < 0)
		return -errno;
	ret = vmc_region_offset(env->device, VFIO_PCI_BAR0_REGION_INDEX,
				&env->bar0_offset);
	if (!ret)
		ret = vmc_region_offset(env->device, VFIO_PCI_CONFIG_REGION_INDEX,
					&env->config_offset);
	if (!ret)
		ret = vmc_enable_master(env);
	return ret;
}

void vmc_env_close(struct vmc_env *env)
{
	if (env->device >= 0)
		close(env->device);
	if (env->group >= 0)
		close(env->group);
	if (env->container >= 0)
		close(env->container);
	env->container = env->group = env->device = -1;
}

int _vmc_map(int container, uint64_t iova, void *vaddr, uint64_t size,
	     uint32_t flags)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = flags,
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};

	return ioctl(container, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
}

int _vmc_unmap(int container, uint64_t iova, uint64_t size, uint32_t flags,
	       uint64_t *unmapped)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = flags,
		.iova = iova,
		.size = size,
	};

	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap))
		return -errno;
	if (unmapped)
		*unmapped = unmap.size;
	return 0;
}

int _vmc_batch(int container, struct vfio_mapcache_batch_entry *v, uint32_t nr,
	       uint32_t *nr_done)
{
	struct vfio_mapcache_batch b = {
		.argsz = sizeof(b),
		.nr_entries = nr,
		.entry_size = sizeof(*v),
		.entries = (uintptr_t)v,
		.nr_done = UINT32_MAX,
	};
	int ret = ioctl(container, VFIO_MAPCACHE_BATCH, &b) ? -errno : 0;

	if (nr_done)
		*nr_done = b.nr_done;
	return ret;
}

/* Issue @req with the struct at @arg claiming @argsz bytes. */
int _vmc_ioctl_argsz(int fd, unsigned long req, void *arg, uint32_t argsz)
{
	memcpy(arg, &argsz, sizeof(argsz));
	return ioctl(fd, req, arg) ? -errno : 0;
}

static int edu_write(struct vmc_env *env, uint32_t reg, uint32_t val)
{
	return pwrite(env->device, &val, 4, env->bar0_offset + reg) == 4 ? 0 : -EIO;
}

static int edu_read(struct vmc_env *env, uint32_t reg, uint32_t *val)
{
	return pread(env->device, val, 4, env->bar0_offset + reg) == 4 ? 0 : -EIO;
}

static int edu_dma(struct vmc_env *env, uint64_t src, uint64_t dst,
		   uint32_t len, uint32_t cmd)
{
	struct timespec ts = { .tv_nsec = 2 * 1000 * 1000 };
	uint32_t val;
	int ret, waited_ms;

	if (!len || len > EDU_DMA_MAX || src >= EDU_IOVA_LIMIT || dst >= EDU_IOVA_LIMIT)
		return -EINVAL;
	ret = edu_write(env, EDU_REG_DMA_SRC, src);
	ret = ret ?: edu_write(env, EDU_REG_DMA_DST, dst);
	ret = ret ?: edu_write(env, EDU_REG_DMA_CNT, len);
	ret = ret ?: edu_write(env, EDU_REG_DMA_CMD, cmd | EDU_CMD_RUN);
	if (ret)
		return ret;
	for (waited_ms = 0; waited_ms < EDU_DMA_TIMEOUT_MS; waited_ms += 2) {
		ret = edu_read(env, EDU_REG_DMA_CMD, &val);
		if (ret)
			return ret;
		if (!(val & EDU_CMD_RUN))
			return 0;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

int vmc_edu_dma_to_dev(struct vmc_env *env, uint64_t iova, uint64_t dev_off,
		       uint32_t len)
{
	if (dev_off + len > EDU_DMA_MAX)
		return -EINVAL;
	return edu_dma(env, iova, EDU_BUF + dev_off, len, 0);
}

int vmc_edu_dma_from_dev(struct vmc_env *env, uint64_t iova, uint64_t dev_off,
			 uint32_t len)
{
	if (dev_off + len > EDU_DMA_MAX)
		return -EINVAL;
	return edu_dma(env, EDU_BUF + dev_off, iova, len, EDU_CMD_TO_RAM);
}

void vmc_expect_dmar_faults(int n)
{
	printf("# VMC-EXPECT-DMAR-FAULTS %d\n", n);
	fflush(stdout);
}

void *vmc_alloc_pages(size_t nr_pages)
{
	void *p = mmap(NULL, nr_pages * VMC_PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int vmc_dma_bufs(uint8_t **buf, size_t nr_pages, uint32_t seed, uint8_t **out,
		 uint8_t untouched)
{
	*buf = vmc_alloc_pages(nr_pages);
	*out = vmc_alloc_pages(1);
	if (!*buf || !*out)
		return -ENOMEM;
	vmc_fill_pattern(*buf, nr_pages * VMC_PAGE, seed);
	memset(*out, untouched, VMC_PAGE);
	return 0;
}

void vmc_free_pages(void *p, size_t nr_pages)
{
	munmap(p, nr_pages * VMC_PAGE);
}

bool vmc_all_bytes(const void *p, size_t len, uint8_t byte)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != byte)
			return false;
	return true;
}

void vmc_fill_pattern(void *p, size_t len, uint32_t seed)
{
	uint8_t *b = p;
	size_t i;

	/* Never 0x00 or 0x5a, the bytes tests use for "untouched". */
	for (i = 0; i < len; i++) {
		seed = seed * 1103515245 + 12345;
		b[i] = 0x80 | ((seed >> 16) & 0x7f);
		if (b[i] == 0xda)
			b[i] = 0xdb;
	}
}

long long vmc_read_ll(const char *path)
{
	char buf[64];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtoll(buf, NULL, 0);
}

int vmc_write_str(const char *path, const char *val)
{
	ssize_t n, len = strlen(val);
	int fd;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	if (n < 0)
		n = -errno;
	close(fd);
	return n == len ? 0 : (n < 0 ? (int)n : -EIO);
}

long long vmc_locked_vm_kb(void)
{
	return vmc_pid_locked_vm_kb(0);
}

long long vmc_stat(const char *path, const char *key)
{
	char line[256], name[128];
	long long val, found = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %lld", name, &val) == 2 && !strcmp(name, key)) {
			found = val;
			break;
		}
	fclose(f);
	return found;
}

long long vmc_pinned_pages(void)
{
	return vmc_stat(VMC_STATS_TOTAL, "pinned_pages");
}

void vmc_sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/*
 * The module-wide pinned pages once they are @want, or their value after
 * ~3 s: a release may go through a work item.  A poll, never a timing.
 */
long long vmc_pinned_settles_at(long long want)
{
	long long v = vmc_pinned_pages();
	int i;

	for (i = 0; i < 300 && v != want; i++) {
		vmc_sleep_ms(10);
		v = vmc_pinned_pages();
	}
	return v;
}

long long vmc_pid_locked_vm_kb(int pid)
{
	char path[64], line[256];
	long long kb = -1;
	FILE *f;

	if (!pid)
		snprintf(path, sizeof(path), "/proc/self/status");
	else
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

bool vmc_mapcache_loaded(void)
{
	return !access("/sys/module/vfio_iommu_mapcache", F_OK);
}

int vmc_wrap_errno(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return EINVAL;
	return major > 6 || (major == 6 && minor >= 18) ? EOVERFLOW : EINVAL;
}

static void vmc_vm_path(char *path, size_t len, const char *file)
{
	snprintf(path, len, VMC_SYSFS_DIR "/%d/%s", getpid(), file);
}

int vmc_vm_write(const char *file, const char *val)
{
	char path[128];

	vmc_vm_path(path, sizeof(path), file);
	return vmc_write_str(path, val);
}

long long vmc_vm_read_ll(const char *file)
{
	char path[128];

	vmc_vm_path(path, sizeof(path), file);
	return vmc_read_ll(path);
}

bool vmc_vm_has(const char *file)
{
	char path[128];

	vmc_vm_path(path, sizeof(path), file);
	return !access(path, F_OK);
}

int vmc_vm_reset(void)
{
	static const char *const files[] = {
		"quota_bytes", "idle_ms", "policy", "prefetch_depth", "prefetch", "mode",
	};
	char path[128], val[64];
	unsigned int i;
	ssize_t n;
	int fd, ret;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), MODPARAM_DIR "/default_%s", files[i]);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;	/* a module without that setting */
		n = read(fd, val, sizeof(val) - 1);
		close(fd);
		if (n <= 0)
			continue;
		val[n] = '\0';
		val[strcspn(val, "\n")] = '\0';
		/* A bool parameter reads Y or N. */
		if (!strcmp(val, "Y") || !strcmp(val, "N"))
			snprintf(val, sizeof(val), "%d", val[0] == 'Y');
		ret = vmc_vm_write(files[i], val);
		if (ret)
			return ret;
	}
	return 0;
}

void vmc_one_cpu(void)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	sched_setaffinity(0, sizeof(one), &one);
}

double vmc_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int vmc_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double vmc_median(double *v, unsigned int n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), vmc_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double vmc_median_copy(const double *v, unsigned int n)
{
	double *c, m;

	if (!n)
		return 0;
	c = malloc(n * sizeof(*c));
	if (!c)
		return 0;
	memcpy(c, v, n * sizeof(*c));
	m = vmc_median(c, n);
	free(c);
	return m;
}

double vmc_median_ratio(const double *a, const double *b, unsigned int n)
{
	double *q, m;
	unsigned int i, k = 0;

	q = malloc((n ?: 1) * sizeof(*q));
	if (!q)
		return 0;
	for (i = 0; i < n; i++)
		if (b[i] > 0)
			q[k++] = a[i] / b[i];
	m = vmc_median(q, k);
	free(q);
	return m;
}

struct vfio_iommu_type1_info *vmc_get_info(int container)
{
	struct vfio_iommu_type1_info probe = { .argsz = sizeof(probe) };
	struct vfio_iommu_type1_info *info;
	int err;

	if (ioctl(container, VFIO_IOMMU_GET_INFO, &probe))
		return NULL;
	info = calloc(1, probe.argsz);
	if (!info)
		return NULL;
	info->argsz = probe.argsz;
	if (ioctl(container, VFIO_IOMMU_GET_INFO, info)) {
		err = errno;
		free(info);
		errno = err;
		return NULL;
	}
	return info;
}

struct vfio_info_cap_header *vmc_find_cap(struct vfio_iommu_type1_info *info, uint16_t id)
{
	uint32_t off = info->cap_offset;
	struct vfio_info_cap_header *hdr;
	int hops = 0;

	if (!(info->flags & VFIO_IOMMU_INFO_CAPS))
		return NULL;
	/* Bounded: a malformed chain must not loop. */
	while (off && off + sizeof(*hdr) <= info->argsz && hops++ < 16) {
		hdr = (void *)((char *)info + off);
		if (hdr->id == id)
			return hdr;
		off = hdr->next;
	}
	return NULL;
}

long long vmc_container_stat(const char *key)
{
	long long v = -1;
	char path[256];
	glob_t g;
	size_t i;

	if (glob(VMC_DEBUGFS_DIR "/container-*/stats", 0, NULL, &g))
		return -1;
	for (i = 0; i < g.gl_pathc; i++) {
		snprintf(path, sizeof(path), "%s", g.gl_pathv[i]);
		if (vmc_stat(path, "pid") == getpid())
			v = vmc_stat(path, key);
	}
	globfree(&g);
	return v;
}

/* This process loses CAP_IPC_LOCK: RLIMIT_MEMLOCK then bounds its maps. */
int vmc_drop_cap_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[CAP_IPC_LOCK / 32].effective &= ~(1U << (CAP_IPC_LOCK % 32));
	data[CAP_IPC_LOCK / 32].permitted &= ~(1U << (CAP_IPC_LOCK % 32));
	data[CAP_IPC_LOCK / 32].inheritable &= ~(1U << (CAP_IPC_LOCK % 32));
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}
