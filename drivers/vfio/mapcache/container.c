// SPDX-License-Identifier: GPL-2.0-only
/*
 * Containers, groups and IOMMU domains.
 *
 * A container owns one or more IOMMU domains of its own (a group joins an
 * existing domain when the IOMMU driver allows it, else gets a new one, into
 * which every existing mapping is replayed).  The usable IOVA space is the
 * intersection of the domains' apertures minus every group's reserved
 * regions; it may only shrink while nothing mapped is in the way.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/iommu.h>
#include <linux/slab.h>

#include <uapi/linux/vfio_mapcache.h>

#include "compat.h"
#include "vmc.h"

static atomic_t vmc_container_ids = ATOMIC_INIT(0);

void *vmc_open(unsigned long arg)
{
	struct vmc_container *c;

	if (arg != VFIO_MAPCACHE_IOMMU &&
	    !(arg == VFIO_TYPE1v2_IOMMU && READ_ONCE(vmc_claim_type1v2)))
		return ERR_PTR(-EINVAL);
	c = kzalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);
	if (!c)
		return ERR_PTR(-ENOMEM);
	mutex_init(&c->lock);
	INIT_LIST_HEAD(&c->domains);
	c->dma_root = RB_ROOT;
	vmc_gather_init(&c->gather);
	INIT_LIST_HEAD(&c->release);
	INIT_LIST_HEAD(&c->xlate_release);
	INIT_LIST_HEAD(&c->ext_pending);
	INIT_LIST_HEAD(&c->dead);
	c->dma_avail = READ_ONCE(vmc_dma_entry_limit);
	c->vm = vmc_vm_get();
	if (IS_ERR(c->vm)) {
		long ret = PTR_ERR(c->vm);

		kfree(c);
		return ERR_PTR(ret);
	}
	if (c->vm)
		atomic_long_inc(&c->vm->mem.containers);
	c->id = atomic_inc_return(&vmc_container_ids);
	c->pid = task_tgid_nr(current);
	vmc_debugfs_add(c);
	return c;
}

/*
 * The VM's lock also guards the list of domains: cached translations are
 * torn down under it alone (evictions, the mmu notifier).
 */
static void vmc_domains_lock(struct vmc_container *c)
{
	if (c->vm)
		mutex_lock(&c->vm->lock);
}

static void vmc_domains_unlock(struct vmc_container *c)
{
	if (c->vm)
		mutex_unlock(&c->vm->lock);
}

/* Detach and free a domain already off its container's list. */
static void vmc_domain_free(struct vmc_domain *d)
{
	struct vmc_group *g, *tmp;

	list_for_each_entry_safe(g, tmp, &d->groups, node) {
		iommu_detach_group(d->domain, g->iommu_group);
		list_del(&g->node);
		kfree(g);
	}
	iommu_domain_free(d->domain);
	kfree(d);
}

void vmc_release(void *iommu_data)
{
	struct vmc_container *c = iommu_data;
	struct vmc_domain *d, *tmp;
	LIST_HEAD(gone);

	vmc_debugfs_remove(c);
	mutex_lock(&c->lock);
	vmc_dma_remove_all(c);
	vmc_xc_drop_container(c);
	/*
	 * Off the list under the VM's lock, detached and freed after it: the
	 * group's mutex, taken by the detach, is held across allocations
	 * that may reclaim into the VM's notifier, which takes that lock.
	 */
	vmc_domains_lock(c);
	list_splice_init(&c->domains, &gone);
	vmc_domains_unlock(c);
	list_for_each_entry_safe(d, tmp, &gone, node)
		vmc_domain_free(d);
	mutex_unlock(&c->lock);
	WARN_ON_ONCE(c->stats.pinned_pages);
	if (c->vm)
		atomic_long_dec(&c->vm->mem.containers);
	vmc_vm_put(c->vm);
	kfree(c->iova_ranges);
	mutex_destroy(&c->lock);
	kfree(c);
}

static struct vmc_group *vmc_group_find(struct vmc_container *c,
					struct iommu_group *group,
					struct vmc_domain **domain)
{
	struct vmc_domain *d;
	struct vmc_group *g;

	list_for_each_entry(d, &c->domains, node)
		list_for_each_entry(g, &d->groups, node)
			if (g->iommu_group == group) {
				*domain = d;
				return g;
			}
	return NULL;
}

bool vmc_enforce_cc(struct vmc_container *c)
{
	struct vmc_domain *d;

	lockdep_assert_held(&c->lock);
	if (list_empty(&c->domains))
		return false;
	list_for_each_entry(d, &c->domains, node)
		if (!d->enforce_cc)
			return false;
	return true;
}

/*
 * Remove [iova, last] from the sorted ranges in @r (room for *@nr + 1
 * entries): a range that contains it splits in two.
 */
static void vmc_ranges_exclude(struct vmc_iova_range *r, unsigned int *nr,
			       u64 iova, u64 last)
{
	unsigned int i, j;

	for (i = 0; i < *nr; i++) {
		struct vmc_iova_range cur = r[i];

		if (last < cur.iova || iova > cur.last)
			continue;
		if (iova > cur.iova && last < cur.last) {
			memmove(&r[i + 2], &r[i + 1], (*nr - i - 1) * sizeof(*r));
			r[i].last = iova - 1;
			r[i + 1].iova = last + 1;
			r[i + 1].last = cur.last;
			(*nr)++;
			return;
		}
		if (iova > cur.iova) {
			r[i].last = iova - 1;
		} else if (last < cur.last) {
			r[i].iova = last + 1;
		} else {
			for (j = i; j + 1 < *nr; j++)
				r[j] = r[j + 1];
			(*nr)--;
			i--;
		}
	}
}

static int vmc_count_resv(struct list_head *resv)
{
	struct iommu_resv_region *region;
	int n = 0;

	list_for_each_entry(region, resv, list)
		n++;
	return n;
}

/*
 * Build the usable IOVA space of @domains plus (@extra_domain, @extra_group)
 * into a new array.  Reserved regions of every group are excluded, except
 * the relaxable direct ones (as type1 does).
 */
static int vmc_ranges_build(struct vmc_container *c, struct iommu_domain *extra_domain,
			    struct iommu_group *extra_group, struct vmc_iova_range **out,
			    unsigned int *nr_out)
{
	struct iommu_resv_region *region, *tmp;
	struct vmc_iova_range *r;
	struct vmc_domain *d;
	struct vmc_group *g;
	u64 start = 0, last = U64_MAX;
	unsigned int nr = 1;
	LIST_HEAD(resv);
	int ret = 0;

	if (extra_domain) {
		start = extra_domain->geometry.aperture_start;
		last = extra_domain->geometry.aperture_end;
	}
	list_for_each_entry(d, &c->domains, node) {
		start = max_t(u64, start, d->domain->geometry.aperture_start);
		last = min_t(u64, last, d->domain->geometry.aperture_end);
		list_for_each_entry(g, &d->groups, node) {
			ret = iommu_get_group_resv_regions(g->iommu_group, &resv);
			if (ret)
				goto out_put;
		}
	}
	if (extra_group) {
		ret = iommu_get_group_resv_regions(extra_group, &resv);
		if (ret)
			goto out_put;
	}
	r = kcalloc(vmc_count_resv(&resv) + 2, sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r) {
		ret = -ENOMEM;
		goto out_put;
	}
	r[0].iova = start;
	r[0].last = last;
	if (start > last)
		nr = 0;
	list_for_each_entry(region, &resv, list) {
		if (region->type == IOMMU_RESV_DIRECT_RELAXABLE || !region->length)
			continue;
		vmc_ranges_exclude(r, &nr, region->start, region->start + region->length - 1);
	}
	*out = r;
	*nr_out = nr;
out_put:
	list_for_each_entry_safe(region, tmp, &resv, list)
		kfree(region);
	return ret;
}

/* Would the new usable space leave an existing mapping outside? */
static bool vmc_ranges_cover_dmas(struct vmc_container *c, struct vmc_iova_range *r,
				  unsigned int nr)
{
	struct vmc_iova_range *saved = c->iova_ranges;
	unsigned int saved_nr = c->nr_iova_ranges;
	struct rb_node *n;
	bool ok = true;

	c->iova_ranges = r;
	c->nr_iova_ranges = nr;
	for (n = rb_first(&c->dma_root); n && ok; n = rb_next(n)) {
		struct vmc_dma *dma = rb_entry(n, struct vmc_dma, node);

		ok = !vmc_dma_live(dma) ||
		     vmc_iova_valid(c, dma->iova, dma->iova + dma->size - 1);
	}
	c->iova_ranges = saved;
	c->nr_iova_ranges = saved_nr;
	return ok;
}

static int vmc_first_dev(struct device *dev, void *data)
{
	*(struct device **)data = dev;
	return 1;
}

static struct iommu_domain *vmc_domain_alloc(struct iommu_group *group)
{
	struct device *dev = NULL;

	iommu_group_for_each_dev(group, &dev, vmc_first_dev);
	if (!dev)
		return ERR_PTR(-ENODEV);
	return vmc_compat_domain_alloc(dev);
}

/*
 * A group with a software-managed MSI window needs an MSI cookie: not ours.
 * Returns 1 for such a group, 0 for others, or the errno of the lookup
 * (memory short): that is no reason to hand the container on.
 */
static int vmc_group_has_sw_msi(struct iommu_group *group)
{
	struct iommu_resv_region *region, *tmp;
	LIST_HEAD(resv);
	int ret;

	ret = iommu_get_group_resv_regions(group, &resv);
	list_for_each_entry_safe(region, tmp, &resv, list) {
		if (!ret && region->type == IOMMU_RESV_SW_MSI)
			ret = 1;
		kfree(region);
	}
	return ret;
}

static int vmc_group_check(struct vmc_container *c, struct iommu_group *group,
			   enum vfio_group_type type)
{
	struct vmc_domain *d;
	int ret;

	/* Emulated (mdev) and no-IOMMU groups stay with type1. */
	if (type != VFIO_IOMMU)
		return -EOPNOTSUPP;
	if (vmc_group_find(c, group, &d))
		return -EINVAL;
	ret = vmc_group_has_sw_msi(group);
	if (ret)
		return ret < 0 ? ret : -EOPNOTSUPP;
	if (!vmc_compat_group_msi_isolated(group)) {
		if (!READ_ONCE(vmc_allow_unsafe_interrupts)) {
			pr_warn("%s: no interrupt remapping support; use the module parameter \"allow_unsafe_interrupts\" to enable VFIO IOMMU support on this platform\n",
				__func__);
			return -EPERM;
		}
		pr_warn_once("allowing a group without interrupt isolation (allow_unsafe_interrupts)\n");
	}
	return 0;
}

/* Put @g into an existing domain of @c, if the IOMMU driver lets it in. */
/*
 * Attach @g to an existing domain of @c if the IOMMU driver lets it in
 * (*@joined says which), else to the fresh @dom.  A domain that enforces
 * coherency refuses a device that cannot snoop, which then gets its own.
 */
static int vmc_attach_dom(struct vmc_container *c, struct vmc_group *g,
			  struct iommu_domain *dom, struct vmc_domain **joined)
{
	struct vmc_domain *d;

	list_for_each_entry(d, &c->domains, node) {
		if (d->domain->ops != dom->ops)
			continue;
		if (!iommu_attach_group(d->domain, g->iommu_group)) {
			list_add(&g->node, &d->groups);
			*joined = d;
			return 0;
		}
	}
	*joined = NULL;
	return iommu_attach_group(dom, g->iommu_group);
}

static void vmc_detach_dom(struct vmc_group *g, struct iommu_domain *dom,
			   struct vmc_domain *joined)
{
	if (joined) {
		list_del(&g->node);
		dom = joined->domain;
	}
	iommu_detach_group(dom, g->iommu_group);
}

/* Make the attached @dom a domain of @c, with every mapping replayed. */
static int vmc_add_domain(struct vmc_container *c, struct vmc_group *g,
			  struct iommu_domain *dom)
{
	struct vmc_domain *d;
	int ret;

	d = kzalloc(sizeof(*d), GFP_KERNEL_ACCOUNT);
	if (!d)
		return -ENOMEM;
	INIT_LIST_HEAD(&d->groups);
	d->domain = dom;
	d->enforce_cc = dom->ops->enforce_cache_coherency &&
			dom->ops->enforce_cache_coherency(dom);
	ret = vmc_dma_replay(c, d);
	if (ret) {
		kfree(d);
		return ret;
	}
	list_add(&g->node, &d->groups);
	vmc_domains_lock(c);
	list_add_tail(&d->node, &c->domains);
	vmc_domains_unlock(c);
	return 0;
}

/* Restrict the container's page sizes to what @dom supports. */
static unsigned long vmc_pgsizes(struct vmc_container *c, struct iommu_domain *dom)
{
	unsigned long bitmap = dom->pgsize_bitmap;

	if (!list_empty(&c->domains))
		bitmap &= c->pgsize_bitmap;
	/* Pages smaller than the CPU's are mapped as whole CPU pages. */
	if (bitmap & ~PAGE_MASK) {
		bitmap &= PAGE_MASK;
		bitmap |= PAGE_SIZE;
	}
	return bitmap;
}

static int vmc_attach_locked(struct vmc_container *c, struct vmc_group *g)
{
	struct vmc_iova_range *ranges;
	struct vmc_domain *joined;
	struct iommu_domain *dom;
	unsigned long pgsizes;
	unsigned int nr;
	int ret;

	dom = vmc_domain_alloc(g->iommu_group);
	if (IS_ERR(dom))
		return PTR_ERR(dom);
	ret = vmc_attach_dom(c, g, dom, &joined);
	if (ret)
		goto out_free_domain;
	/* Apertures are final only once a device is attached. */
	ret = vmc_ranges_build(c, joined ? NULL : dom, joined ? NULL : g->iommu_group,
			       &ranges, &nr);
	if (ret)
		goto out_detach;
	ret = -EINVAL;
	pgsizes = joined ? c->pgsize_bitmap : vmc_pgsizes(c, dom);
	if (!nr || !pgsizes || !vmc_ranges_cover_dmas(c, ranges, nr))
		goto out_free_ranges;
	if (joined) {
		iommu_domain_free(dom);
	} else {
		ret = vmc_add_domain(c, g, dom);
		if (ret)
			goto out_free_ranges;
	}
	kfree(c->iova_ranges);
	c->iova_ranges = ranges;
	c->nr_iova_ranges = nr;
	c->pgsize_bitmap = pgsizes;
	return 0;

out_free_ranges:
	kfree(ranges);
out_detach:
	vmc_detach_dom(g, dom, joined);
out_free_domain:
	iommu_domain_free(dom);
	return ret;
}

int vmc_attach_group(void *iommu_data, struct iommu_group *group,
		     enum vfio_group_type type)
{
	struct vmc_container *c = iommu_data;
	struct vmc_group *g;
	int ret;

	g = kzalloc(sizeof(*g), GFP_KERNEL_ACCOUNT);
	if (!g)
		return -ENOMEM;
	g->iommu_group = group;
	mutex_lock(&c->lock);
	ret = vmc_group_check(c, group, type);
	/*
	 * A new domain gets the live mappings only, and a new group's reserved
	 * regions may cover cached IOVAs: cached translations go first.
	 */
	if (!ret) {
		vmc_xc_drop_container(c);
		ret = vmc_attach_locked(c, g);
	}
	mutex_unlock(&c->lock);
	if (ret)
		kfree(g);
	return ret;
}

/* After a detach, the IOVA space and page sizes of what remains. */
static void vmc_recompute(struct vmc_container *c)
{
	struct vmc_iova_range *ranges;
	struct vmc_domain *first;
	struct vmc_domain *d;
	unsigned int nr;

	if (list_empty(&c->domains))
		return;
	first = list_first_entry(&c->domains, struct vmc_domain, node);
	c->pgsize_bitmap = first->domain->pgsize_bitmap;
	list_for_each_entry(d, &c->domains, node)
		c->pgsize_bitmap = vmc_pgsizes(c, d->domain);
	/* Keep the old, smaller space if memory is short: never wrong. */
	if (vmc_ranges_build(c, first->domain, NULL, &ranges, &nr))
		return;
	kfree(c->iova_ranges);
	c->iova_ranges = ranges;
	c->nr_iova_ranges = nr;
}

void vmc_detach_group(void *iommu_data, struct iommu_group *group)
{
	struct vmc_container *c = iommu_data;
	struct vmc_domain *d;
	struct vmc_group *g;
	bool last;

	mutex_lock(&c->lock);
	g = vmc_group_find(c, group, &d);
	if (WARN_ON(!g))
		goto out_unlock;
	/* The last group takes every mapping with it, as in type1. */
	if (list_is_singular(&c->domains) && list_is_singular(&d->groups)) {
		vmc_dma_remove_all(c);
		vmc_xc_drop_container(c);
	}
	/* As in vmc_release(): unlinked under the VM's lock, freed after it. */
	vmc_domains_lock(c);
	list_del(&g->node);
	last = list_empty(&d->groups);
	if (last)
		list_del(&d->node);
	vmc_domains_unlock(c);
	iommu_detach_group(d->domain, group);
	kfree(g);
	if (last) {
		iommu_domain_free(d->domain);
		kfree(d);
	}
	vmc_recompute(c);
out_unlock:
	mutex_unlock(&c->lock);
}
