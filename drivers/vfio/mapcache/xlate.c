// SPDX-License-Identifier: GPL-2.0-only
/*
 * The translation cache (lazy mode): UNMAP_DMA leaves a mapping's IOMMU
 * translation in place and files it here, keyed by IOVA in its container
 * and by virtual address in its VM.  A MAP_DMA of exactly the same IOVA,
 * size, address and permissions takes it back without pinning, writing page
 * tables or flushing: a full hit.  Anything else that overlaps it, the
 * eviction of one of its pages, the mmu notifier or a mode change tears it
 * down: unmap, one IOTLB sync, and only then may its pages be unpinned.
 * A translation a MAP_DMA replaces joins the IOTLB gather of its container,
 * synced once per request (a whole batch is one request); until then it
 * still holds its pins, and an eviction that picks one of them leaves the
 * page to vmc_pc_xlate_put().
 *
 * All of it runs under vmc_vm.lock; a cached translation's container
 * cannot lose a domain meanwhile, because domains change under that lock
 * too (see container.c).
 */
#include <linux/interval_tree_generic.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "vmc.h"
#include "vmc_trace.h"

static inline unsigned long vmc_xc_start(struct vmc_dma *dma)
{
	return dma->vaddr;
}

static inline unsigned long vmc_xc_last(struct vmc_dma *dma)
{
	return dma->vaddr + dma->size - 1;
}

INTERVAL_TREE_DEFINE(struct vmc_dma, vnode, unsigned long, vsub_last,
		     vmc_xc_start, vmc_xc_last, static inline, vmc_xc_vtree)

/* Unmap a cached translation from its container's domains, gathered. */
static void vmc_xc_unmap(struct vmc_vm *vm, struct vmc_dma *dma,
			 struct iommu_iotlb_gather *gather, struct iommu_domain **first)
{
	struct vmc_container *c = dma->c;
	struct vmc_domain *d;
	bool head = true;

	list_for_each_entry(d, &c->domains, node) {
		if (head) {
			/* A new container: sync what the last one gathered. */
			if (*first && *first != d->domain) {
				iommu_iotlb_sync(*first, gather);
				vmc_vm_stat(vm, iotlb_flushes, 1);
				vmc_gather_init(gather);
			}
			*first = d->domain;
			vmc_unmap_gathered(d->domain, dma->iova, dma->size, gather);
			head = false;
		} else {
			iommu_unmap(d->domain, dma->iova, dma->size);
			vmc_vm_stat(vm, iotlb_flushes, 1);
		}
		vmc_vm_stat(vm, iommu_unmaps, 1);
	}
}

/* After the sync: the pages of @dma are no longer reachable through it. */
static void vmc_xc_release(struct vmc_vm *vm, struct vmc_dma *dma)
{
	unsigned long i;

	for (i = 0; i < dma->nr_pins; i++)
		vmc_pc_xlate_put(vm, dma->pins[i]);
	mmdrop(dma->mm);
	vmc_dma_free(dma);
}

/**
 * vmc_xc_release_list() - release torn-down translations after their sync
 * @vm: their VM (lock not held)
 * @list: the vmc_dmas, linked by their @release
 */
void vmc_xc_release_list(struct vmc_vm *vm, struct list_head *list)
{
	struct vmc_dma *dma, *tmp;

	mutex_lock(&vm->lock);
	list_for_each_entry_safe(dma, tmp, list, release) {
		list_del(&dma->release);
		vmc_xc_release(vm, dma);
	}
	mutex_unlock(&vm->lock);
	vmc_vm_unaccount_flush(vm);
}

/* Tear down the cached translations on @list: unmap all, sync, release. */
static void vmc_xc_destroy_list(struct vmc_vm *vm, struct list_head *list)
{
	struct iommu_domain *first = NULL;
	struct iommu_iotlb_gather gather;
	struct vmc_dma *dma, *tmp;

	if (list_empty(list))
		return;
	vmc_gather_init(&gather);
	list_for_each_entry(dma, list, release)
		vmc_xc_unmap(vm, dma, &gather, &first);
	if (first) {
		iommu_iotlb_sync(first, &gather);
		vmc_vm_stat(vm, iotlb_flushes, 1);
	}
	list_for_each_entry_safe(dma, tmp, list, release) {
		list_del(&dma->release);
		vmc_xc_release(vm, dma);
	}
}

/* Take @dma out of both trees onto @list, for vmc_xc_destroy_list(). */
static void vmc_xc_unlink(struct vmc_vm *vm, struct vmc_dma *dma, struct list_head *list)
{
	rb_erase(&dma->node, &dma->c->xlate_root);
	vmc_xc_vtree_remove(dma, &vm->xlates);
	list_add_tail(&dma->release, list);
}

/**
 * vmc_xc_cache() - keep the translation of a mapping the guest unmapped
 * @c: its container (lock held)
 * @dma: the mapping, unlinked from the live tree, fully mapped
 *
 * Its pins stop being live but stay referenced by the translation.
 */
void vmc_xc_cache(struct vmc_container *c, struct vmc_dma *dma)
{
	struct vmc_vm *vm = c->vm;
	unsigned long i;

	mutex_lock(&vm->lock);
	vmc_dma_link_in(&c->xlate_root, dma);
	vmc_xc_vtree_insert(dma, &vm->xlates);
	for (i = 0; i < dma->nr_pins; i++)
		vmc_pc_xlate_get(vm, dma->pins[i]);
	mutex_unlock(&vm->lock);
}

/**
 * vmc_xc_hit() - take back a cached translation for a MAP_DMA, if one fits
 * @c: the container (lock held)
 * @iova: first IOVA of the request
 * @vaddr: its virtual address
 * @size: its size
 * @prot: its permissions
 *
 * Return: true for a full hit: the mapping is live again, nothing else done.
 */
bool vmc_xc_hit(struct vmc_container *c, u64 iova, unsigned long vaddr, u64 size, int prot)
{
	struct vmc_vm *vm = c->vm;
	struct vmc_dma *dma;
	unsigned long i;

	/*
	 * Only this container's UNMAP_DMA (its lock is held) adds entries:
	 * an empty tree stays empty while we look.
	 */
	if (!vm || vm->mm != current->mm || !READ_ONCE(c->xlate_root.rb_node))
		return false;
	mutex_lock(&vm->lock);
	dma = vmc_dma_find_in(&c->xlate_root, iova, iova + size - 1);
	if (!dma || dma->iova != iova || dma->size != size || dma->vaddr != vaddr ||
	    dma->prot != prot) {
		mutex_unlock(&vm->lock);
		return false;
	}
	rb_erase(&dma->node, &c->xlate_root);
	vmc_xc_vtree_remove(dma, &vm->xlates);
	for (i = 0; i < dma->nr_pins; i++)
		vmc_pc_xlate_reuse(vm, dma->pins[i]);
	vmc_vm_stat(vm, full_hits, dma->nr_pins);
	mutex_unlock(&vm->lock);
	trace_vmc_full_hit(vm->pid, iova, vaddr, size);
	vmc_dma_link_in(&c->dma_root, dma);
	c->dma_avail--;
	return true;
}

/**
 * vmc_xc_drop_iova() - tear down cached translations of @c in [iova, last]
 * @c: the container (lock held)
 * @iova: first IOVA
 * @last: last IOVA
 *
 * Unmapped into the container's gather: a new mapping may take the IOVAs
 * at once, and the pins go after the request's vmc_dma_flush().
 */
void vmc_xc_drop_iova(struct vmc_container *c, u64 iova, u64 last)
{
	struct vmc_vm *vm = c->vm;
	struct vmc_dma *dma;

	if (!vm || !READ_ONCE(c->xlate_root.rb_node))
		return;
	mutex_lock(&vm->lock);
	while ((dma = vmc_dma_find_in(&c->xlate_root, iova, last))) {
		vmc_xc_unlink(vm, dma, &c->xlate_release);
		vmc_dma_unmap_iova(c, dma->iova, dma->size);
	}
	mutex_unlock(&vm->lock);
}

/**
 * vmc_xc_drop_container() - tear down every cached translation of @c
 * @c: the container, going away or losing its last domain (lock held)
 */
void vmc_xc_drop_container(struct vmc_container *c)
{
	vmc_xc_drop_iova(c, 0, U64_MAX);
	vmc_dma_flush(c);
}

/**
 * vmc_xc_unlink_vaddr() - queue the cached translations of [start, last]
 * @vm: the VM (lock held)
 * @start: first virtual address
 * @last: last virtual address
 *
 * For evictions: vmc_xc_destroy_pending() tears them all down at once.
 */
void vmc_xc_unlink_vaddr(struct vmc_vm *vm, unsigned long start, unsigned long last)
{
	struct vmc_dma *dma;

	lockdep_assert_held(&vm->lock);
	while ((dma = vmc_xc_vtree_iter_first(&vm->xlates, start, last)))
		vmc_xc_unlink(vm, dma, &vm->xlate_doomed);
}

/**
 * vmc_xc_destroy_pending() - tear down what vmc_xc_unlink_vaddr() queued
 * @vm: the VM (lock held)
 */
void vmc_xc_destroy_pending(struct vmc_vm *vm)
{
	lockdep_assert_held(&vm->lock);
	vmc_xc_destroy_list(vm, &vm->xlate_doomed);
}

/**
 * vmc_xc_drop_vaddr() - tear down cached translations of [start, last]
 * @vm: the VM (lock held)
 * @start: first virtual address
 * @last: last virtual address
 *
 * For the mmu notifier, evictions and mode changes.
 */
void vmc_xc_drop_vaddr(struct vmc_vm *vm, unsigned long start, unsigned long last)
{
	vmc_xc_unlink_vaddr(vm, start, last);
	vmc_xc_destroy_pending(vm);
}
