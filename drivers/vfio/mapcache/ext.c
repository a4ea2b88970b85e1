// SPDX-License-Identifier: GPL-2.0-only
/*
 * Extents: the pages of one large map, pinned, charged and counted as one
 * object.
 *
 * A VM without a vIOMMU has QEMU map all guest RAM at start in a few maps
 * of hundreds of MiB or more, and a vIOMMU VM does the same until its guest
 * enables the IOMMU; per-page state (a vmc_pin, an xarray slot and a policy
 * node for each 4 KiB page) would make such maps several times slower than
 * type1's and cost tens of MiB of kernel memory per GiB.  So in modes
 * strict and lazy a map of at least VMC_EXT_MIN_BYTES whose pages the
 * cache does not hold yet is an extent: its pages are pinned and mapped as
 * mode off pins them (in physically contiguous runs, the largest IOMMU
 * superpages the alignment allows), its only record of them is its own
 * IOMMU mapping (as with type1), and what the VM keeps is one struct
 * vmc_ext in @vmc_vm.exts.  The extent is charged to locked_vm in full
 * before it pins and counted as live pages of the cache (pinned_bytes,
 * live_bytes, the quota's view); it lives exactly as long as its map, and
 * its pages are unpinned at the unmap, not cached.
 *
 * A small map may meanwhile pin a page of a live extent through the pin
 * cache: the page then holds two pins but is charged once, the pin being
 * "shared" (it is not charged, and takes no charge back when it goes).
 * A map decides that when it looks its pages up, before GUP; an extent
 * that begins or ends over a map in flight has it start over.  When the
 * extent goes, its shared pins become ordinary ones: the extent uncharges
 * its pages but those.  Maps whose range holds pins of the cache already,
 * or overlaps another extent, take the per-page path.
 *
 * Every extent operation takes vmc_vm.lock; nothing allocates under it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/rbtree.h>
#include <linux/slab.h>

#include "vmc.h"

/* The extent that holds a page of [@first, @last], or NULL (vm->lock held). */
static struct vmc_ext *vmc_ext_find(struct vmc_vm *vm, unsigned long first,
				    unsigned long last)
{
	struct rb_node *n = vm->exts.rb_node;

	lockdep_assert_held(&vm->lock);
	while (n) {
		struct vmc_ext *ext = rb_entry(n, struct vmc_ext, node);

		if (last < ext->vpn)
			n = n->rb_left;
		else if (first >= ext->vpn + ext->nr_pages)
			n = n->rb_right;
		else
			return ext;
	}
	return NULL;
}

/**
 * vmc_ext_covers() - is a page part of a live extent?
 * @vm: the VM (lock held)
 * @vpn: the VMM's virtual page number
 *
 * Return: true if an extent pins @vpn.
 */
bool vmc_ext_covers(struct vmc_vm *vm, unsigned long vpn)
{
	return !RB_EMPTY_ROOT(&vm->exts) && vmc_ext_find(vm, vpn, vpn);
}

static void vmc_ext_link(struct vmc_vm *vm, struct vmc_ext *new)
{
	struct rb_node **link = &vm->exts.rb_node, *parent = NULL;

	while (*link) {
		parent = *link;
		if (new->vpn < rb_entry(parent, struct vmc_ext, node)->vpn)
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	rb_link_node(&new->node, parent, link);
	rb_insert_color(&new->node, &vm->exts);
}

/* Does the cache hold a pin of a page of [@first, @last]?  Reservations do not count. */
static bool vmc_ext_range_cached(struct vmc_vm *vm, unsigned long first, unsigned long last)
{
	XA_STATE(xas, &vm->pins, first);
	void *entry;
	bool found = false;

	rcu_read_lock();
	xas_for_each(&xas, entry, last) {
		if (xas_retry(&xas, entry) || xa_is_zero(entry))
			continue;
		found = true;
		break;
	}
	rcu_read_unlock();
	return found;
}

/* Must a map of @nr pages at @vpn go page by page?  (vm->lock held) */
static bool vmc_ext_overlaps(struct vmc_vm *vm, unsigned long vpn, unsigned long nr)
{
	return vmc_ext_find(vm, vpn, vpn + nr - 1) || vmc_ext_range_cached(vm, vpn, vpn + nr - 1);
}

/**
 * vmc_ext_begin() - make a large map an extent, before it pins
 * @vm: the VM; the map is made by its own mm
 * @vaddr: first byte, page aligned
 * @size: bytes, at least VMC_EXT_MIN_BYTES
 * @out: the extent
 *
 * Unless the map must go page by page, charges it whole to locked_vm
 * (candidates go first if that would pass RLIMIT_MEMLOCK), then links the
 * extent and counts its pages as live.
 *
 * Return: 0; -EEXIST if the map must take the per-page path (the cache
 * holds some of its pages, or another extent does), nothing taken; or
 * -ENOMEM.
 */
int vmc_ext_begin(struct vmc_vm *vm, unsigned long vaddr, u64 size, struct vmc_ext **out)
{
	unsigned long nr = size >> PAGE_SHIFT, vpn = vaddr >> PAGE_SHIFT;
	struct vmc_ext *ext;
	int ret;

	/*
	 * A map that goes page by page may need no charge at all (its pages
	 * pinned by the cache or an extent already): look before charging.
	 */
	mutex_lock(&vm->lock);
	ret = vmc_ext_overlaps(vm, vpn, nr) ? -EEXIST : 0;
	mutex_unlock(&vm->lock);
	if (ret)
		return ret;
	ext = kzalloc(sizeof(*ext), GFP_KERNEL_ACCOUNT);
	if (!ext)
		return -ENOMEM;
	ext->vpn = vpn;
	ext->nr_pages = nr;
	ret = vmc_pc_charge_misses(vm, nr);
	if (ret) {
		pr_warn_ratelimited("VM %d (%s): RLIMIT_MEMLOCK (%lu) exceeded\n",
				    vm->pid, vm->comm, rlimit(RLIMIT_MEMLOCK));
		kfree(ext);
		return ret;
	}
	mutex_lock(&vm->lock);
	/* Another map of the VM may have come in between. */
	if (vmc_ext_overlaps(vm, vpn, nr)) {
		mutex_unlock(&vm->lock);
		atomic_long_add(nr, &vm->unaccount);
		vmc_vm_unaccount_flush(vm);
		kfree(ext);
		return -EEXIST;
	}
	vmc_ext_link(vm, ext);
	/* Maps in flight there looked up without it: they start over. */
	vmc_pc_gups_raced(vm, vaddr, vaddr + size);
	/* Live pages: candidates make room for them, a quota never refuses them. */
	if (!vmc_cache_make_room(&vm->cache, nr))
		vmc_vm_stat(vm, quota_overruns, 1);
	vmc_cache_add_live(&vm->cache, nr);
	mutex_unlock(&vm->lock);
	atomic_long_inc(&vm->mem.exts);
	atomic_long_add(nr, &vm->mem.ext_pages);
	*out = ext;
	return 0;
}

/**
 * vmc_ext_end() - the map of an extent is gone
 * @vm: the VM
 * @ext: the extent; its pages are unmapped and queued for unpinning
 *
 * Its shared pins become ordinary ones, which keep their page's charge;
 * the rest of the charge is given back.
 */
void vmc_ext_end(struct vmc_vm *vm, struct vmc_ext *ext)
{
	XA_STATE(xas, &vm->pins, ext->vpn);
	unsigned long kept = 0;
	struct vmc_pin *pin;

	mutex_lock(&vm->lock);
	rb_erase(&ext->node, &vm->exts);
	/* Maps in flight there took no charge for its pages: they start over. */
	vmc_pc_gups_raced(vm, ext->vpn << PAGE_SHIFT, (ext->vpn + ext->nr_pages) << PAGE_SHIFT);
	/*
	 * Under vm->lock no pin comes or goes, but maps in flight reserve
	 * slots (zero entries) under the array's own lock: an RCU walk.
	 */
	rcu_read_lock();
	xas_for_each(&xas, pin, ext->vpn + ext->nr_pages - 1) {
		if (xas_retry(&xas, pin) || xa_is_zero(pin) || !pin->shared)
			continue;
		pin->shared = false;
		kept++;
	}
	rcu_read_unlock();
	vmc_cache_drop_live(&vm->cache, ext->nr_pages);
	mutex_unlock(&vm->lock);
	atomic_long_add(ext->nr_pages - kept, &vm->unaccount);
	vmc_vm_unaccount_flush(vm);
	atomic_long_dec(&vm->mem.exts);
	atomic_long_sub(ext->nr_pages, &vm->mem.ext_pages);
	kfree(ext);
}

/* Bytes of one extent object, for debugfs. */
size_t vmc_ext_obj_size(void)
{
	return kmalloc_size_roundup(sizeof(struct vmc_ext));
}
