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
 * that begins or ends over a map in flight has it start over.  Pins the
 * cache holds in a new extent's range (candidates of earlier maps, QEMU's
 * maps of the pieces below 1 MiB) become shared too, their charge taken
 * over by the extent.  When the extent goes, its shared pins become
 * ordinary ones: the extent uncharges its pages but those.  A large map
 * that overlaps another extent takes the per-page path.
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

/*
 * The cache's pins of [@first, @last] (reservations are not pins); with
 * @share, they become shared, their charge now the extent's.  Under
 * vm->lock no pin comes or goes, but maps in flight reserve slots (zero
 * entries) under the array's own lock: an RCU walk.
 */
static unsigned long vmc_ext_pins(struct vmc_vm *vm, unsigned long first, unsigned long last,
				  bool share)
{
	XA_STATE(xas, &vm->pins, first);
	unsigned long nr = 0;
	struct vmc_pin *pin;

	lockdep_assert_held(&vm->lock);
	rcu_read_lock();
	xas_for_each(&xas, pin, last) {
		if (xas_retry(&xas, pin) || xa_is_zero(pin))
			continue;
		pin->shared = share;
		nr++;
	}
	rcu_read_unlock();
	return nr;
}

/*
 * Under vm->lock: link @ext if no other extent overlaps it and @charged
 * pages cover what it must charge: its pages but those the cache's pins
 * hold the charge of, which the extent takes over.  Returns the pages
 * still to charge (0: linked), or -EEXIST.
 */
static long vmc_ext_try_link(struct vmc_vm *vm, struct vmc_ext *ext, unsigned long charged)
{
	unsigned long last = ext->vpn + ext->nr_pages - 1, need;

	lockdep_assert_held(&vm->lock);
	if (vmc_ext_find(vm, ext->vpn, last))
		return -EEXIST;
	/* Live pages: candidates make room for them, a quota never refuses them. */
	if (!vmc_cache_make_room(&vm->cache, ext->nr_pages))
		vmc_vm_stat(vm, quota_overruns, 1);
	need = ext->nr_pages - vmc_ext_pins(vm, ext->vpn, last, false);
	if (charged < need)
		return need - charged;
	atomic_long_add(charged - need, &vm->unaccount);
	vmc_ext_pins(vm, ext->vpn, last, true);
	vmc_ext_link(vm, ext);
	/* Maps in flight there looked up without it: they start over. */
	vmc_pc_gups_raced(vm, ext->vpn << PAGE_SHIFT, (last + 1) << PAGE_SHIFT);
	vmc_cache_add_live(&vm->cache, ext->nr_pages);
	return 0;
}

/**
 * vmc_ext_begin() - make a large map an extent, before it pins
 * @vm: the VM; the map is made by its own mm
 * @vaddr: first byte, page aligned
 * @size: bytes, at least VMC_EXT_MIN_BYTES
 * @out: the extent
 *
 * Unless another extent overlaps the map, charges its pages to locked_vm
 * (candidates go first if that would pass RLIMIT_MEMLOCK) but those that
 * pins of the cache are charged for already (they become shared), then
 * links the extent and counts its pages as live.
 *
 * Return: 0; -EEXIST if the map must take the per-page path (it overlaps
 * another extent), nothing taken; or -ENOMEM.
 */
int vmc_ext_begin(struct vmc_vm *vm, unsigned long vaddr, u64 size, struct vmc_ext **out)
{
	struct vmc_ext *ext;
	unsigned long charged = 0;
	long more;
	int ret;

	ext = kzalloc(sizeof(*ext), GFP_KERNEL_ACCOUNT);
	if (!ext)
		return -ENOMEM;
	ext->vpn = vaddr >> PAGE_SHIFT;
	ext->nr_pages = size >> PAGE_SHIFT;
	/* Charged outside the lock; pins may go meanwhile: until it holds. */
	for (;;) {
		mutex_lock(&vm->lock);
		more = vmc_ext_try_link(vm, ext, charged);
		mutex_unlock(&vm->lock);
		if (more <= 0)
			break;
		ret = vmc_pc_charge_misses(vm, more);
		if (ret) {
			pr_warn_ratelimited("VM %d (%s): RLIMIT_MEMLOCK (%lu) exceeded\n",
					    vm->pid, vm->comm, rlimit(RLIMIT_MEMLOCK));
			more = ret;
			break;
		}
		charged += more;
	}
	if (more) {
		atomic_long_add(charged, &vm->unaccount);
		vmc_vm_unaccount_flush(vm);
		kfree(ext);
		return more;
	}
	vmc_vm_unaccount_flush(vm);
	atomic_long_inc(&vm->mem.exts);
	atomic_long_add(ext->nr_pages, &vm->mem.ext_pages);
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
	unsigned long last = ext->vpn + ext->nr_pages - 1, kept;

	mutex_lock(&vm->lock);
	rb_erase(&ext->node, &vm->exts);
	/* Maps in flight there took no charge for its pages: they start over. */
	vmc_pc_gups_raced(vm, ext->vpn << PAGE_SHIFT, (last + 1) << PAGE_SHIFT);
	/* Every pin of the range is shared: the extent covered it. */
	kept = vmc_ext_pins(vm, ext->vpn, last, false);
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
