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
 * strict and lazy a map of at least VMC_EXT_MIN_BYTES is an extent: its
 * pages are pinned and mapped as
 * mode off pins them (in physically contiguous runs, the largest IOMMU
 * superpages the alignment allows), its only record of them is its own
 * IOMMU mapping (as with type1), and what the VM keeps is one struct
 * vmc_ext in @vmc_vm.exts.  The extent is charged to locked_vm before it
 * pins and counted as live pages of the cache (pinned_bytes,
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
 * over by the extent.  A pin is shared exactly while an extent covers its
 * page.
 *
 * Extents may overlap: with a vIOMMU QEMU opens a container per assigned
 * device and maps all guest RAM in each until the guest enables its IOMMU.
 * Each such map is an extent that pins and maps its pages for its own
 * container, but the charge and the live count are per page of the
 * extents' union: an extent takes them for the pages no other extent or
 * pin holds, and when it goes gives back those of its pages that no other
 * extent covers, but the pages pins hold (they become ordinary pins).
 *
 * Every extent operation takes vmc_vm.lock; nothing allocates under it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/interval_tree_generic.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "vmc.h"

#define VMC_EXT_FIRST(ext)	((ext)->vpn)
#define VMC_EXT_LAST(ext)	((ext)->last)

INTERVAL_TREE_DEFINE(struct vmc_ext, node, unsigned long, subtree_last, VMC_EXT_FIRST,
		     VMC_EXT_LAST, static, vmc_ext_it)

/**
 * vmc_ext_covers() - is a page part of a live extent?
 * @vm: the VM (lock held)
 * @vpn: the VMM's virtual page number
 *
 * Return: true if an extent pins @vpn.
 */
bool vmc_ext_covers(struct vmc_vm *vm, unsigned long vpn)
{
	lockdep_assert_held(&vm->lock);
	return vmc_ext_it_iter_first(&vm->exts, vpn, vpn);
}

/* Pages of [@first, @last] that live extents cover (vm->lock held). */
static unsigned long vmc_ext_covered(struct vmc_vm *vm, unsigned long first, unsigned long last)
{
	unsigned long nr = 0, from = first, to;
	struct vmc_ext *ext;

	lockdep_assert_held(&vm->lock);
	/* In order of first page: what is not counted yet starts at @from. */
	for (ext = vmc_ext_it_iter_first(&vm->exts, first, last); ext;
	     ext = vmc_ext_it_iter_next(ext, first, last)) {
		to = min(ext->last, last);
		if (to < max(ext->vpn, from))
			continue;
		nr += to - max(ext->vpn, from) + 1;
		from = to + 1;
	}
	return nr;
}

/*
 * The cache's pins of [@first, @last] (reservations are not pins) that no
 * extent covers; with @update, each pin is first made shared if an extent
 * covers its page and ordinary if none does.  Under vm->lock no pin comes
 * or goes, but maps in flight reserve slots (zero entries) under the
 * array's own lock: an RCU walk.
 */
static unsigned long vmc_ext_pins(struct vmc_vm *vm, unsigned long first, unsigned long last,
				  bool update)
{
	XA_STATE(xas, &vm->pins, first);
	unsigned long nr = 0;
	struct vmc_pin *pin;

	lockdep_assert_held(&vm->lock);
	rcu_read_lock();
	xas_for_each(&xas, pin, last) {
		if (xas_retry(&xas, pin) || xa_is_zero(pin))
			continue;
		if (update)
			pin->shared = vmc_ext_covers(vm, xas.xa_index);
		nr += !pin->shared;
	}
	rcu_read_unlock();
	return nr;
}

/*
 * Under vm->lock: link @ext once @charged pages cover what it must charge:
 * its pages that neither another extent nor a pin of the cache holds the
 * charge of (those pins become shared).  Returns the pages still to
 * charge (0: linked).
 */
static long vmc_ext_try_link(struct vmc_vm *vm, struct vmc_ext *ext, unsigned long charged)
{
	unsigned long fresh, need;

	lockdep_assert_held(&vm->lock);
	/* Pages no other extent pins: the cache counts them live now. */
	fresh = ext->nr_pages - vmc_ext_covered(vm, ext->vpn, ext->last);
	/* Live pages: candidates make room for them, a quota never refuses them. */
	if (!vmc_cache_make_room(&vm->cache, fresh))
		vmc_vm_stat(vm, quota_overruns, 1);
	need = fresh - vmc_ext_pins(vm, ext->vpn, ext->last, false);
	if (charged < need)
		return need - charged;
	atomic_long_add(charged - need, &vm->unaccount);
	vmc_ext_it_insert(ext, &vm->exts);
	vmc_ext_pins(vm, ext->vpn, ext->last, true);
	/* Maps in flight there looked up without it: they start over. */
	vmc_pc_gups_raced(vm, ext->vpn << PAGE_SHIFT, (ext->last + 1) << PAGE_SHIFT);
	vmc_cache_add_live(&vm->cache, fresh);
	atomic_long_add(fresh, &vm->mem.ext_pages);
	return 0;
}

/**
 * vmc_ext_begin() - make a large map an extent, before it pins
 * @vm: the VM; the map is made by its own mm
 * @vaddr: first byte, page aligned
 * @size: bytes, at least VMC_EXT_MIN_BYTES
 * @out: the extent
 *
 * Charges to locked_vm (candidates go first if that would pass
 * RLIMIT_MEMLOCK) the map's pages but those that other extents or the
 * cache's pins are charged for already (such pins become shared), then
 * links the extent and counts the pages no other extent covers as live.
 *
 * Return: 0, or -ENOMEM with nothing taken.
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
	ext->last = ext->vpn + ext->nr_pages - 1;
	/* Charged outside the lock; pins may go meanwhile: until it holds. */
	for (;;) {
		mutex_lock(&vm->lock);
		more = vmc_ext_try_link(vm, ext, charged);
		mutex_unlock(&vm->lock);
		if (!more)
			break;
		ret = vmc_pc_charge_misses(vm, more);
		if (ret) {
			pr_warn_ratelimited("VM %d (%s): RLIMIT_MEMLOCK (%lu) exceeded\n",
					    vm->pid, vm->comm, rlimit(RLIMIT_MEMLOCK));
			atomic_long_add(charged, &vm->unaccount);
			vmc_vm_unaccount_flush(vm);
			kfree(ext);
			return ret;
		}
		charged += more;
	}
	vmc_vm_unaccount_flush(vm);
	atomic_long_inc(&vm->mem.exts);
	*out = ext;
	return 0;
}

/**
 * vmc_ext_end() - the map of an extent is gone
 * @vm: the VM
 * @ext: the extent; its pages are unmapped and queued for unpinning
 *
 * Of its pages that no other extent covers, those the cache's pins hold
 * keep their charge (the pins become ordinary ones); the others' charge is
 * given back and they stop counting as live.
 */
void vmc_ext_end(struct vmc_vm *vm, struct vmc_ext *ext)
{
	unsigned long gone, kept;

	mutex_lock(&vm->lock);
	vmc_ext_it_remove(ext, &vm->exts);
	/* Maps in flight there took no charge for its pages: they start over. */
	vmc_pc_gups_raced(vm, ext->vpn << PAGE_SHIFT, (ext->last + 1) << PAGE_SHIFT);
	gone = ext->nr_pages - vmc_ext_covered(vm, ext->vpn, ext->last);
	kept = vmc_ext_pins(vm, ext->vpn, ext->last, true);
	vmc_cache_drop_live(&vm->cache, gone);
	atomic_long_sub(gone, &vm->mem.ext_pages);
	mutex_unlock(&vm->lock);
	atomic_long_add(gone - kept, &vm->unaccount);
	vmc_vm_unaccount_flush(vm);
	atomic_long_dec(&vm->mem.exts);
	kfree(ext);
}

/* Bytes of one extent object, for debugfs. */
size_t vmc_ext_obj_size(void)
{
	return kmalloc_size_roundup(sizeof(struct vmc_ext));
}
