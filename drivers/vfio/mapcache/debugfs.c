// SPDX-License-Identifier: GPL-2.0-only
/*
 * Counters in debugfs, for tests and for curious admins (inspection only:
 * nothing here is an ABI to script against).
 *
 * /sys/kernel/debug/vfio_mapcache/stats                 module-wide
 * /sys/kernel/debug/vfio_mapcache/container-<id>/stats  one container
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "vmc.h"

#define VMC_NR_STATS	(sizeof(struct vmc_stats) / sizeof(u64))

static const char * const vmc_stat_names[VMC_NR_STATS] = {
	"pinned_pages", "pins", "unpins", "map_requests", "unmap_requests",
	"iommu_maps", "iommu_unmaps", "iotlb_flushes",
};

static atomic64_t vmc_totals[VMC_NR_STATS];
static struct dentry *vmc_debugfs_root;

void vmc_stat_add(struct vmc_container *c, size_t offset, u64 n)
{
	lockdep_assert_held(&c->lock);
	*(u64 *)((char *)&c->stats + offset) += n;
	atomic64_add(n, &vmc_totals[offset / sizeof(u64)]);
}

void vmc_stat_sub(struct vmc_container *c, size_t offset, u64 n)
{
	lockdep_assert_held(&c->lock);
	*(u64 *)((char *)&c->stats + offset) -= n;
	atomic64_sub(n, &vmc_totals[offset / sizeof(u64)]);
}

static int vmc_totals_show(struct seq_file *m, void *unused)
{
	unsigned int i;

	for (i = 0; i < VMC_NR_STATS; i++)
		seq_printf(m, "%s %lld\n", vmc_stat_names[i], atomic64_read(&vmc_totals[i]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vmc_totals);

static int vmc_container_show(struct seq_file *m, void *unused)
{
	struct vmc_container *c = m->private;
	u64 *v = (u64 *)&c->stats;
	unsigned int i;

	mutex_lock(&c->lock);
	seq_printf(m, "pid %d\n", c->pid);
	for (i = 0; i < VMC_NR_STATS; i++)
		seq_printf(m, "%s %llu\n", vmc_stat_names[i], v[i]);
	mutex_unlock(&c->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vmc_container);

void vmc_debugfs_add(struct vmc_container *c)
{
	char name[32];

	snprintf(name, sizeof(name), "container-%u", c->id);
	c->debugfs = debugfs_create_dir(name, vmc_debugfs_root);
	debugfs_create_file("stats", 0400, c->debugfs, c, &vmc_container_fops);
}

void vmc_debugfs_remove(struct vmc_container *c)
{
	debugfs_remove(c->debugfs);
}

void vmc_debugfs_init(void)
{
	vmc_debugfs_root = debugfs_create_dir("vfio_mapcache", NULL);
	debugfs_create_file("stats", 0400, vmc_debugfs_root, NULL, &vmc_totals_fops);
}

void vmc_debugfs_exit(void)
{
	debugfs_remove(vmc_debugfs_root);
}
