// SPDX-License-Identifier: GPL-2.0-only
/*
 * Counters in debugfs, for tests and for curious admins (inspection only:
 * nothing here is an ABI to script against).
 *
 * /sys/kernel/debug/vfio_mapcache/stats                 module-wide
 * /sys/kernel/debug/vfio_mapcache/container-<id>/stats  one container
 * /sys/kernel/debug/vfio_mapcache/vm-<pid>/stats        one VM's pin cache
 * /sys/kernel/debug/vfio_mapcache/vm-<pid>/pins         its pinned pages
 * /sys/kernel/debug/vfio_mapcache/vm-<pid>/xlates       its cached translations
 * /sys/kernel/debug/vfio_mapcache/vm-<pid>/memory       its kernel memory
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/math64.h>
#include <linux/seq_file.h>
#include <linux/sizes.h>

#include "vmc.h"

static const char * const vmc_stat_names[VMC_NR_STATS] = {
	"pinned_pages", "pins", "unpins", "map_requests", "unmap_requests",
	"iommu_maps", "iommu_unmaps", "iotlb_flushes", "full_hits", "pin_hits",
	"misses", "evictions", "eviction_batches", "quota_overruns", "notifier_drops",
	"batch_requests", "batch_entries",
	"shrinker_releases", "idle_releases",
	"prefetch_issued", "prefetch_useful", "prefetch_wasted",
	"extent_hits",
};

atomic64_t vmc_totals[VMC_NR_STATS];
static struct dentry *vmc_debugfs_root;

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

static int vmc_vm_stats_show(struct seq_file *m, void *unused)
{
	struct vmc_vm *vm = m->private;
	struct vmc_stats st;
	u64 *v = (u64 *)&st;
	unsigned int i;

	mutex_lock(&vm->lock);
	st = vm->stats;
	st.map_requests = atomic64_read(&vm->requests[0]);
	st.unmap_requests = atomic64_read(&vm->requests[1]);
	seq_printf(m, "pid %d\n", vm->pid);
	for (i = 0; i < VMC_NR_STATS; i++)
		seq_printf(m, "%s %llu\n", vmc_stat_names[i], v[i]);
	seq_printf(m, "live_pages %llu\n", vm->cache.live_pages);
	seq_printf(m, "cand_pages %llu\n", vm->cache.policy.stats.nr_cand);
	seq_printf(m, "cache_pinned_pages %llu\n", vm->cache.pinned_pages);
	seq_printf(m, "extent_cached_pages %llu\n", vm->ext_cand_pages);
	mutex_unlock(&vm->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vmc_vm_stats);

/* One line per pinned page: virtual page, frame, live users, flags. */
static int vmc_vm_pins_show(struct seq_file *m, void *unused)
{
	struct vmc_vm *vm = m->private;
	struct vmc_pin *pin;
	unsigned long idx;

	seq_puts(m, "# vaddr pfn live flags\n");
	mutex_lock(&vm->lock);
	xa_for_each(&vm->pins, idx, pin)
		seq_printf(m, "%#lx %#lx %u %s%s%s\n", idx << PAGE_SHIFT, page_to_pfn(pin->page),
			   pin->ce.live, pin->writable ? "w" : "r", pin->ce.live ? "" : " cached",
			   pin->prefetched ? " prefetched" : "");
	mutex_unlock(&vm->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vmc_vm_pins);

/* One line per cached translation (lazy): IOVA, size, address, prot. */
static int vmc_vm_xlates_show(struct seq_file *m, void *unused)
{
	struct vmc_vm *vm = m->private;
	struct rb_node *n;

	seq_puts(m, "# iova size vaddr prot\n");
	mutex_lock(&vm->lock);
	for (n = rb_first_cached(&vm->xlates); n; n = rb_next(n)) {
		struct vmc_dma *dma = rb_entry(n, struct vmc_dma, vnode);

		if (dma->state != VMC_DMA_CACHED)
			continue;
		seq_printf(m, "%#llx %#llx %#lx %s%s\n", dma->iova, dma->size, dma->vaddr,
			   dma->prot & IOMMU_READ ? "r" : "-", dma->prot & IOMMU_WRITE ? "w" : "-");
	}
	mutex_unlock(&vm->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vmc_vm_xlates);

/*
 * Kernel memory of the VM's own objects: what each kind counts and its
 * bytes, each object at its slab or kmalloc size (slab page overhead and
 * the IOMMU driver's page tables not included); then per pinned GiB.
 */
static int vmc_vm_memory_show(struct seq_file *m, void *unused)
{
	struct vmc_vm *vm = m->private;
	struct vmc_vm_mem *mem = &vm->mem;
	u64 pins, xa_nodes, dmas, dma_arrays, policy, pf, containers, exts, chunks, total;
	u64 pinned;

	mutex_lock(&vm->lock);
	xa_nodes = vmc_pc_xa_nodes(vm);
	policy = vmc_pc_policy_bytes(vm);
	pf = vmc_pf_bytes(vm);
	pinned = vm->cache.pinned_pages;
	mutex_unlock(&vm->lock);
	pins = atomic_long_read(&mem->pins);
	dmas = atomic_long_read(&mem->dmas);
	dma_arrays = atomic_long_read(&mem->dma_pin_bytes);
	containers = atomic_long_read(&mem->containers);
	exts = atomic_long_read(&mem->exts);
	chunks = atomic_long_read(&mem->ext_chunks);
	/* The cache counts extents' pages too: once. */
	pinned += atomic_long_read(&mem->own_pinned) - atomic_long_read(&mem->ext_pages);
	total = pins * vmc_pin_obj_size() + xa_nodes * sizeof(struct xa_node) +
		dmas * vmc_dma_obj_size() + dma_arrays + policy + pf +
		exts * vmc_ext_obj_size() + chunks * PAGE_SIZE +
		containers * kmalloc_size_roundup(sizeof(struct vmc_container)) +
		kmalloc_size_roundup(sizeof(*vm));

	seq_printf(m, "pin_objects %llu\n", pins);
	seq_printf(m, "pin_bytes %llu\n", pins * vmc_pin_obj_size());
	seq_printf(m, "xarray_nodes %llu\n", xa_nodes);
	seq_printf(m, "xarray_bytes %llu\n", xa_nodes * sizeof(struct xa_node));
	seq_printf(m, "dma_objects %llu\n", dmas);
	seq_printf(m, "dma_bytes %llu\n", dmas * vmc_dma_obj_size());
	seq_printf(m, "dma_pin_array_bytes %llu\n", dma_arrays);
	seq_printf(m, "policy_bytes %llu\n", policy);
	seq_printf(m, "prefetch_bytes %llu\n", pf);
	seq_printf(m, "containers %llu\n", containers);
	seq_printf(m, "container_bytes %llu\n",
		   containers * kmalloc_size_roundup(sizeof(struct vmc_container)));
	seq_printf(m, "vm_bytes %zu\n", kmalloc_size_roundup(sizeof(*vm)));
	seq_printf(m, "extent_objects %llu\n", exts);
	seq_printf(m, "extent_bytes %llu\n", exts * vmc_ext_obj_size());
	seq_printf(m, "extent_cached %ld\n", atomic_long_read(&mem->ext_cached));
	seq_printf(m, "extent_run_bytes %llu\n", chunks * PAGE_SIZE);
	seq_printf(m, "total_bytes %llu\n", total);
	seq_printf(m, "pinned_pages %llu\n", pinned);
	seq_printf(m, "bytes_per_pinned_gib %llu\n",
		   pinned ? div64_u64(total * (SZ_1G >> PAGE_SHIFT), pinned) : 0);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vmc_vm_memory);

void vmc_debugfs_add_vm(struct vmc_vm *vm)
{
	char name[32];

	/* Named like the sysfs directory: one VM at a time has it. */
	snprintf(name, sizeof(name), "vm-%d", vm->pid);
	vm->debugfs = debugfs_create_dir(name, vmc_debugfs_root);
	debugfs_create_file("stats", 0400, vm->debugfs, vm, &vmc_vm_stats_fops);
	debugfs_create_file("pins", 0400, vm->debugfs, vm, &vmc_vm_pins_fops);
	debugfs_create_file("xlates", 0400, vm->debugfs, vm, &vmc_vm_xlates_fops);
	debugfs_create_file("memory", 0400, vm->debugfs, vm, &vmc_vm_memory_fops);
}

/* Waits for readers in flight; NULL and error pointers are no-ops. */
void vmc_debugfs_remove_vm(struct vmc_vm *vm)
{
	debugfs_remove(vm->debugfs);
	vm->debugfs = NULL;
}

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
