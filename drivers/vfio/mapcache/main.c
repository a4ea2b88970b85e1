// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio_iommu_mapcache: a VFIO IOMMU backend with an on-demand map-cache.
 *
 * It registers with the VFIO core like vfio_iommu_type1 and speaks the same
 * Type1v2 ABI.  The VFIO core offers VFIO_SET_IOMMU to the most recently
 * registered backend first, so loaded after vfio_iommu_type1 this backend
 * serves new Type1v2 containers (unless claim_type1v2 is off) and hands
 * everything else (Type1 v1, nesting, groups it cannot serve) on to type1.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>

#include <uapi/linux/vfio_mapcache.h>

#include "vmc.h"

bool vmc_claim_type1v2 = true;
module_param_named(claim_type1v2, vmc_claim_type1v2, bool, 0644);
MODULE_PARM_DESC(claim_type1v2,
		 "Serve plain VFIO_TYPE1v2_IOMMU requests (default: Y). When N, only VMMs that ask for VFIO_MAPCACHE_IOMMU get this backend; applies to containers set up afterwards.");

bool vmc_allow_unsafe_interrupts;
module_param_named(allow_unsafe_interrupts, vmc_allow_unsafe_interrupts, bool, 0644);
MODULE_PARM_DESC(allow_unsafe_interrupts,
		 "Accept groups whose IOMMU cannot isolate MSIs (interrupt remapping missing). Unsafe: a device could inject interrupts. (default: N)");

/* param_set_uint_minmax() takes its bounds from the caller: wrap it. */
static int vmc_dma_limit_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, INT_MAX);
}

static const struct kernel_param_ops vmc_dma_limit_ops = {
	.set = vmc_dma_limit_set,
	.get = param_get_uint,
};

unsigned int vmc_dma_entry_limit = VMC_DMA_ENTRY_LIMIT;
module_param_cb(dma_entry_limit, &vmc_dma_limit_ops, &vmc_dma_entry_limit, 0644);
__MODULE_PARM_TYPE(dma_entry_limit, "uint");
MODULE_PARM_DESC(dma_entry_limit,
		 "Maximum number of MAP_DMA mappings per container, 1..2147483647 (default: 65535), as type1's parameter of that name.");

unsigned long vmc_default_quota_bytes;
module_param_named(default_quota_bytes, vmc_default_quota_bytes, ulong, 0644);
MODULE_PARM_DESC(default_quota_bytes,
		 "Most bytes the cache of VMs created afterwards keeps pinned, rounded down to pages; 0: no fixed quota (default: 0). Live mappings may go above it: a quota never fails a map. Per VM: /sys/kernel/vfio_mapcache/<pid>/quota_bytes.");

static int vmc_idle_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, VMC_IDLE_MAX_MS);
}

static const struct kernel_param_ops vmc_idle_ops = {
	.set = vmc_idle_set,
	.get = param_get_uint,
};

unsigned int vmc_default_idle_ms = 30000;
module_param_cb(default_idle_ms, &vmc_idle_ops, &vmc_default_idle_ms, 0644);
__MODULE_PARM_TYPE(default_idle_ms, "uint");
MODULE_PARM_DESC(default_idle_ms,
		 "Idle window of VMs created afterwards, in ms, 0..86400000: a cached page unmapped for one to two windows is unpinned (1 MiB of the most recently unmapped stays); 0: kept up to the quota (default: 30000). Per VM: /sys/kernel/vfio_mapcache/<pid>/idle_ms.");

int vmc_default_policy = VMC_POLICY_DEFAULT;
int vmc_default_mode = VMC_MODE_STRICT;

/* Keyword parameters: @kp->arg points at the int, the table is picked by it. */
static int vmc_keyword(const struct kernel_param *kp, const char *val)
{
	int i;

	if (kp->arg == &vmc_default_mode)
		return sysfs_match_string(vmc_mode_names, val);
	for (i = 0; i < VMC_POLICY_NR; i++)
		if (sysfs_streq(val, vmc_policy_kind_name(i)))
			return i;
	return -EINVAL;
}

static int vmc_keyword_set(const char *val, const struct kernel_param *kp)
{
	int v = vmc_keyword(kp, val);

	if (v < 0)
		return -EINVAL;
	WRITE_ONCE(*(int *)kp->arg, v);
	return 0;
}

static int vmc_keyword_get(char *buf, const struct kernel_param *kp)
{
	int v = READ_ONCE(*(int *)kp->arg);

	if (kp->arg == &vmc_default_mode)
		return sysfs_emit(buf, "%s\n", vmc_mode_names[v]);
	return sysfs_emit(buf, "%s\n", vmc_policy_kind_name(v));
}

static const struct kernel_param_ops vmc_keyword_ops = {
	.set = vmc_keyword_set,
	.get = vmc_keyword_get,
};

module_param_cb(default_policy, &vmc_keyword_ops, &vmc_default_policy, 0644);
__MODULE_PARM_TYPE(default_policy, "string");
MODULE_PARM_DESC(default_policy,
		 "Eviction policy of VMs created afterwards: lru, fifo, lirs or duel (default: duel).");

module_param_cb(default_mode, &vmc_keyword_ops, &vmc_default_mode, 0644);
__MODULE_PARM_TYPE(default_mode, "string");
MODULE_PARM_DESC(default_mode,
		 "Map-cache mode of VMs created afterwards: off, strict or lazy (default: strict).");

bool vmc_shrinker_enabled = true;
module_param_named(shrinker, vmc_shrinker_enabled, bool, 0644);
MODULE_PARM_DESC(shrinker,
		 "Release cached (not live) pins of every VM under host memory pressure, oldest first in each VM's policy order (default: Y). N keeps caches up to their quotas whatever the pressure.");

bool vmc_default_prefetch = VMC_PF_DEFAULT_ON;
module_param_named(default_prefetch, vmc_default_prefetch, bool, 0644);
MODULE_PARM_DESC(default_prefetch,
		 "Prefetch along the access graph in VMs created afterwards (default: N). Per VM: /sys/kernel/vfio_mapcache/<pid>/prefetch.");

static int vmc_prefetch_depth_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, VMC_AG_MAX_DEPTH);
}

static const struct kernel_param_ops vmc_prefetch_depth_ops = {
	.set = vmc_prefetch_depth_set,
	.get = param_get_uint,
};

unsigned int vmc_default_prefetch_depth = VMC_PF_DEFAULT_DEPTH;
module_param_cb(default_prefetch_depth, &vmc_prefetch_depth_ops,
		&vmc_default_prefetch_depth, 0644);
__MODULE_PARM_TYPE(default_prefetch_depth, "uint");
MODULE_PARM_DESC(default_prefetch_depth,
		 "Edges the prefetcher follows from a missed page in VMs created afterwards, 1..8 (default: 8). Per VM: /sys/kernel/vfio_mapcache/<pid>/prefetch_depth.");

static const struct vfio_iommu_driver_ops vmc_ops = {
	.name		= "vfio-iommu-mapcache",
	.owner		= THIS_MODULE,
	.open		= vmc_open,
	.release	= vmc_release,
	.ioctl		= vmc_ioctl,
	.attach_group	= vmc_attach_group,
	.detach_group	= vmc_detach_group,
};

static int __init vmc_init(void)
{
	int ret;

	ret = vmc_dma_module_init();
	if (ret)
		return ret;
	ret = vmc_pc_module_init();
	if (ret)
		goto err_dma;
	vmc_debugfs_init();
	ret = vmc_vm_init();
	if (ret)
		goto err_debugfs;
	ret = vmc_vm_shrinker_init();
	if (ret)
		goto err_vm;
	ret = vfio_register_iommu_driver(&vmc_ops);
	if (ret)
		goto err_shrinker;
	return 0;

err_shrinker:
	vmc_vm_shrinker_exit();
err_vm:
	vmc_vm_exit();
err_debugfs:
	vmc_debugfs_exit();
	vmc_pc_module_exit();
err_dma:
	vmc_dma_module_exit();
	return ret;
}

static void __exit vmc_exit(void)
{
	vfio_unregister_iommu_driver(&vmc_ops);
	vmc_vm_shrinker_exit();
	/* VMs outlive their containers: the ones of living VMMs go here. */
	vmc_vm_exit();
	vmc_debugfs_exit();
	vmc_pc_module_exit();
	vmc_dma_module_exit();
}

module_init(vmc_init);
module_exit(vmc_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("VFIO IOMMU backend with an on-demand map-cache");
MODULE_SOFTDEP("pre: vfio_iommu_type1");
