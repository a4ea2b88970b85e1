// SPDX-License-Identifier: GPL-2.0-only
/*
 * The translation cache (lazy mode): UNMAP_DMA leaves a mapping's IOMMU
 * translation in place and marks it cached, in the container's tree of
 * mappings (keyed by IOVA) and in its VM's tree by virtual address.  A
 * MAP_DMA of exactly the same IOVA, size, address and permissions makes it
 * live again without pinning, writing page tables or flushing, or moving
 * it between trees: a full hit is a state change.  Anything else that
 * overlaps it, the eviction of one of its pages, the mmu notifier or a
 * mode change tears it down: unmap, one IOTLB sync, and only then may its
 * pages be unpinned.  A translation a MAP_DMA replaces joins the IOTLB
 * gather of its container, synced once per request (a whole batch is one
 * request); until then it still holds its pins, and an eviction that picks
 * one of them leaves the page to vmc_pc_xlate_put().
 *
 * Everything here runs under vmc_vm.lock; a cached translation's container
 * cannot lose a domain meanwhile, because domains change under that lock
 * too (see container.c).  Only a container links into or erases from its
 * own tree (its lock): what others tear down stays there, DEAD, until the
 * container reaps it at its next request (vmc_xc_reap()).
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

/* An entry that was not live is freed (@c's lock held): room for a map. */
static void vmc_xc_entry_gone(struct vmc_container *c)
{
	lockdep_assert_held(&c->lock);
	c->nr_idle_dmas--;
	c->dma_avail++;
}

/* After the sync: the pages of @dma are no longer reachable through it. */
static void vmc_xc_put_pins(struct vmc_vm *vm, struct vmc_dma *dma)
{
	unsigned long i;

	for (i = 0; i < dma->nr_pins; i++)
		vmc_pc_xlate_put(vm, dma->pins[i]);
	dma->nr_pins = 0;
}

static void vmc_xc_release(struct vmc_vm *vm, struct vmc_dma *dma)
{
	vmc_xc_put_pins(vm, dma);
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

/* Tear down the DEAD translations on @list: unmap all, sync, release. */
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
	/* Still in their containers' trees, which only the owner may change. */
	list_for_each_entry_safe(dma, tmp, list, release) {
		vmc_xc_put_pins(vm, dma);
		list_move_tail(&dma->release, &dma->c->dead);
	}
}

static void vmc_xc_vtree_del(struct vmc_vm *vm, struct vmc_dma *dma)
{
	vmc_xc_vtree_remove(dma, &vm->xlates);
	RB_CLEAR_NODE(&dma->vnode);
}

/* Mark a cached translation DEAD, onto @list for vmc_xc_destroy_list(). */
static void vmc_xc_doom(struct vmc_vm *vm, struct vmc_dma *dma, struct list_head *list)
{
	WRITE_ONCE(dma->state, VMC_DMA_DEAD);
	vmc_xc_vtree_del(vm, dma);
	list_add_tail(&dma->release, list);
}

/* Free a DEAD vmc_dma of @c (both locks held). */
static void vmc_xc_free_dead(struct vmc_container *c, struct vmc_dma *dma)
{
	vmc_xc_entry_gone(c);
	vmc_dma_erase(c, dma);
	list_del(&dma->release);
	mmdrop(dma->mm);
	vmc_dma_free(dma);
}

/**
 * vmc_xc_reap() - free the DEAD vmc_dmas of a container
 * @c: the container (lock held), at the start of a request
 *
 * Others tear down cached translations under the VM's lock alone and leave
 * the vmc_dma in the tree of its container, which frees it here.
 */
void vmc_xc_reap(struct vmc_container *c)
{
	struct vmc_dma *dma, *tmp;

	if (!c->vm)
		return;
	mutex_lock(&c->vm->lock);
	list_for_each_entry_safe(dma, tmp, &c->dead, release)
		vmc_xc_free_dead(c, dma);
	mutex_unlock(&c->vm->lock);
}

/**
 * vmc_xc_cache() - keep the translation of a mapping the guest unmapped
 * @c: its container (lock held)
 * @dma: the mapping, live, fully mapped through the pin cache
 *
 * Its pins stop being live but stay referenced by the translation (above
 * the quota, some go at once, and the translation with them).  Not
 * kept once the VM left lazy mode, nor if a page is stale (the VMM's
 * address no longer maps it, and a full hit must never reach it) or was
 * write-protected since a writable translation was made.
 *
 * Return: true if cached; false leaves @dma live for a plain removal.
 */
bool vmc_xc_cache(struct vmc_container *c, struct vmc_dma *dma)
{
	struct vmc_vm *vm = c->vm;
	unsigned long i;

	mutex_lock(&vm->lock);
	if (vm->mode != VMC_MODE_LAZY)
		goto out_live;
	for (i = 0; i < dma->nr_pins; i++)
		if (dma->pins[i]->ce.stale ||
		    (dma->prot & IOMMU_WRITE && !dma->pins[i]->writable))
			goto out_live;
	WRITE_ONCE(dma->state, VMC_DMA_CACHED);
	if (!vmc_dma_in_vtree(dma))
		vmc_xc_vtree_insert(dma, &vm->xlates);
	vmc_pc_xlate_get(vm, dma->pins, dma->nr_pins);
	mutex_unlock(&vm->lock);
	vmc_vm_unaccount_flush(vm);
	return true;

out_live:
	mutex_unlock(&vm->lock);
	return false;
}

/**
 * vmc_xc_forget() - take a live mapping that goes out of the VM's tree
 * @c: its container (lock held)
 * @dma: the mapping, live
 */
void vmc_xc_forget(struct vmc_container *c, struct vmc_dma *dma)
{
	/* Only the container changes this while @dma is live. */
	if (!vmc_dma_in_vtree(dma))
		return;
	mutex_lock(&c->vm->lock);
	vmc_xc_vtree_del(c->vm, dma);
	mutex_unlock(&c->vm->lock);
}

/**
 * vmc_xc_hit() - take back a cached translation for a MAP_DMA, if it fits
 * @c: the container (lock held)
 * @dma: the lowest mapping the request overlaps, none of them live
 * @iova: first IOVA of the request
 * @vaddr: its virtual address
 * @size: its size
 * @prot: its permissions
 *
 * Return: true for a full hit: @dma is live again, nothing else done.
 */
bool vmc_xc_hit(struct vmc_container *c, struct vmc_dma *dma, u64 iova,
		unsigned long vaddr, u64 size, int prot)
{
	struct vmc_vm *vm = c->vm;

	/* A non-live mapping never changes these; its state may change. */
	if (dma->iova != iova || dma->size != size || dma->vaddr != vaddr ||
	    dma->prot != prot || vm->mm != current->mm)
		return false;
	mutex_lock(&vm->lock);
	if (dma->state != VMC_DMA_CACHED) {
		mutex_unlock(&vm->lock);
		return false;
	}
	WRITE_ONCE(dma->state, VMC_DMA_LIVE);
	vmc_pc_xlate_reuse(vm, dma->pins, dma->nr_pins);
	vmc_vm_stat(vm, full_hits, dma->nr_pins);
	mutex_unlock(&vm->lock);
	trace_vmc_full_hit(vm->pid, iova, vaddr, size);
	/* The same entry, live again: dma_entry_limit counted it all along. */
	c->nr_idle_dmas--;
	return true;
}

/**
 * vmc_xc_drop_iova() - tear down what is not live in [iova, last] of @c
 * @c: the container (lock held)
 * @iova: first IOVA
 * @last: last IOVA
 *
 * Cached translations are unmapped into the container's gather: a new
 * mapping may take the IOVAs at once, and the pins go after the request's
 * vmc_dma_flush().  Dead ones are freed.
 */
void vmc_xc_drop_iova(struct vmc_container *c, u64 iova, u64 last)
{
	struct vmc_dma *dma = c->vm ? vmc_dma_find(c, iova, last) : NULL, *next;
	struct vmc_vm *vm = c->vm;

	if (!dma)
		return;
	mutex_lock(&vm->lock);
	for (; dma; dma = next) {
		next = vmc_dma_next(dma, last);
		if (dma->state == VMC_DMA_DEAD) {
			vmc_xc_free_dead(c, dma);
		} else if (dma->state == VMC_DMA_CACHED) {
			/*
			 * Out of the tree, its entry is free now: the map
			 * that drops it may be at dma_entry_limit.
			 */
			vmc_xc_entry_gone(c);
			vmc_dma_erase(c, dma);
			vmc_xc_vtree_del(vm, dma);
			list_add_tail(&dma->release, &c->xlate_release);
			vmc_dma_unmap_iova(c, dma->iova, dma->size);
		}
	}
	mutex_unlock(&vm->lock);
}

/**
 * vmc_xc_drop_container() - tear down every cached translation of @c
 * @c: the container, going away or changing its domains (lock held)
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
	struct vmc_dma *dma, *next;

	lockdep_assert_held(&vm->lock);
	dma = vmc_xc_vtree_iter_first(&vm->xlates, start, last);
	for (; dma; dma = next) {
		next = vmc_xc_vtree_iter_next(dma, start, last);
		/* Live mappings keep their translation, as in type1. */
		if (dma->state == VMC_DMA_CACHED)
			vmc_xc_doom(vm, dma, &vm->xlate_doomed);
	}
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
