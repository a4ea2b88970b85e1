// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio_iommu_mapcache: an on-demand IOMMU map-cache backend for VFIO.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "vfio.h"

static int __init vmc_init(void)
{
	pr_info("loaded\n");
	return 0;
}

static void __exit vmc_exit(void)
{
	pr_info("unloaded\n");
}

module_init(vmc_init);
module_exit(vmc_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("VFIO IOMMU backend with an on-demand map-cache");
MODULE_SOFTDEP("pre: vfio_iommu_type1");
