// SPDX-License-Identifier: GPL-2.0-only
/*
 * VMs: one per VMM process (its mm), shared by every container that process
 * sets up (with a vIOMMU QEMU opens one per device address space).  A VM
 * holds the pin cache, its quota, policy and mode, and shows them in
 * /sys/kernel/vfio_mapcache/<pid>/.  It appears with the first container of
 * its mm and goes with the last one.
 *
 * One shrinker serves every VM: under host memory pressure it releases
 * candidates, each VM's in its policy's order, the VMs in proportion to
 * their candidates.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/kobject.h>
#include <linux/mm.h>
#include <linux/math.h>
#include <linux/sched/mm.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/workqueue.h>

#include "vmc.h"

const char * const vmc_mode_names[VMC_MODE_NR] = {
	[VMC_MODE_OFF] = "off",
	[VMC_MODE_STRICT] = "strict",
	[VMC_MODE_LAZY] = "lazy",
};

/* Protects vmc_vms and vmc_vm.nr_containers. */
static DEFINE_MUTEX(vmc_vms_lock);
static LIST_HEAD(vmc_vms);
static struct kset *vmc_kset;
static struct shrinker *vmc_shrinker;

/* See vmc_vm_unaccount_flush(). */
void vmc_vm_unaccount_pending(struct vmc_vm *vm)
{
	long n = atomic_long_xchg(&vm->unaccount, 0);

	if (n && mmget_not_zero(vm->mm)) {
		account_locked_vm(vm->mm, n, false);
		mmput(vm->mm);
	}
}

static void vmc_vm_unaccount_work(struct work_struct *work)
{
	vmc_vm_unaccount_flush(container_of(work, struct vmc_vm, unaccount_work));
}

static struct vmc_vm *to_vm(struct kobject *kobj)
{
	return container_of(kobj, struct vmc_vm, kobj);
}

/* A page count of the VM, at @offset, shown in bytes. */
static ssize_t vmc_vm_show_bytes(struct kobject *kobj, char *buf, size_t offset)
{
	struct vmc_vm *vm = to_vm(kobj);
	u64 v;

	mutex_lock(&vm->lock);
	v = *(u64 *)((char *)vm + offset);
	mutex_unlock(&vm->lock);
	return sysfs_emit(buf, "%llu\n", v << PAGE_SHIFT);
}

#define VMC_VM_BYTES_SHOW(_name, _field)					\
static ssize_t _name##_show(struct kobject *kobj, struct kobj_attribute *a,	\
			    char *buf)						\
{										\
	return vmc_vm_show_bytes(kobj, buf, offsetof(struct vmc_vm, _field));	\
}

VMC_VM_BYTES_SHOW(pinned_bytes, pinned_pages)
VMC_VM_BYTES_SHOW(live_bytes, live_pages)
VMC_VM_BYTES_SHOW(peak_pinned_bytes, peak_pinned_pages)
VMC_VM_BYTES_SHOW(peak_live_bytes, peak_live_pages)
VMC_VM_BYTES_SHOW(quota_bytes, quota_pages)

static struct kobj_attribute pinned_bytes_attr = __ATTR_RO_MODE(pinned_bytes, 0400);
static struct kobj_attribute live_bytes_attr = __ATTR_RO_MODE(live_bytes, 0400);
static struct kobj_attribute peak_pinned_bytes_attr = __ATTR_RO_MODE(peak_pinned_bytes, 0400);
static struct kobj_attribute peak_live_bytes_attr = __ATTR_RO_MODE(peak_live_bytes, 0400);

static ssize_t quota_bytes_store(struct kobject *kobj, struct kobj_attribute *a,
				 const char *buf, size_t count)
{
	u64 bytes;
	int ret;

	/* Decimal, 0x hexadecimal or 0 octal, as the ABI entry says. */
	ret = kstrtou64(buf, 0, &bytes);
	if (ret)
		return ret;
	if (!PAGE_ALIGNED(bytes))
		return -EINVAL;
	ret = vmc_pc_set_quota(to_vm(kobj), bytes >> PAGE_SHIFT);
	/* The prefetcher's graph follows the quota; it keeps the old if short. */
	if (!ret)
		vmc_pf_resize(to_vm(kobj));
	return ret ?: count;
}

static struct kobj_attribute quota_bytes_attr =
	__ATTR(quota_bytes, 0600, quota_bytes_show, quota_bytes_store);

static ssize_t policy_show(struct kobject *kobj, struct kobj_attribute *a, char *buf)
{
	struct vmc_vm *vm = to_vm(kobj);
	const char *name;

	mutex_lock(&vm->lock);
	name = vmc_policy_kind_name(vm->policy_kind);
	mutex_unlock(&vm->lock);
	return sysfs_emit(buf, "%s\n", name);
}

static ssize_t policy_store(struct kobject *kobj, struct kobj_attribute *a,
			    const char *buf, size_t count)
{
	int kind;

	for (kind = 0; kind < VMC_POLICY_NR; kind++)
		if (sysfs_streq(buf, vmc_policy_kind_name(kind)))
			break;
	if (kind == VMC_POLICY_NR)
		return -EINVAL;
	kind = vmc_pc_set_policy(to_vm(kobj), kind);
	return kind ?: count;
}

static struct kobj_attribute policy_attr = __ATTR(policy, 0600, policy_show, policy_store);

static ssize_t mode_show(struct kobject *kobj, struct kobj_attribute *a, char *buf)
{
	struct vmc_vm *vm = to_vm(kobj);
	enum vmc_mode mode;

	mutex_lock(&vm->lock);
	mode = vm->mode;
	mutex_unlock(&vm->lock);
	return sysfs_emit(buf, "%s\n", vmc_mode_names[mode]);
}

static ssize_t mode_store(struct kobject *kobj, struct kobj_attribute *a,
			  const char *buf, size_t count)
{
	int mode = sysfs_match_string(vmc_mode_names, buf);

	if (mode < 0)
		return -EINVAL;
	vmc_pc_set_mode(to_vm(kobj), mode);
	return count;
}

static struct kobj_attribute mode_attr = __ATTR(mode, 0600, mode_show, mode_store);

static ssize_t prefetch_show(struct kobject *kobj, struct kobj_attribute *a, char *buf)
{
	struct vmc_vm *vm = to_vm(kobj);
	bool on;

	mutex_lock(&vm->lock);
	on = !!vm->ag;
	mutex_unlock(&vm->lock);
	return sysfs_emit(buf, "%d\n", on);
}

static ssize_t prefetch_store(struct kobject *kobj, struct kobj_attribute *a,
			      const char *buf, size_t count)
{
	unsigned int on;
	int ret;

	if (kstrtouint(buf, 10, &on) || on > 1)
		return -EINVAL;
	ret = vmc_pf_set(to_vm(kobj), on);
	return ret ?: count;
}

static struct kobj_attribute prefetch_attr =
	__ATTR(prefetch, 0600, prefetch_show, prefetch_store);

static ssize_t prefetch_depth_show(struct kobject *kobj, struct kobj_attribute *a,
				   char *buf)
{
	struct vmc_vm *vm = to_vm(kobj);
	unsigned int depth;

	mutex_lock(&vm->lock);
	depth = vm->prefetch_depth;
	mutex_unlock(&vm->lock);
	return sysfs_emit(buf, "%u\n", depth);
}

static ssize_t prefetch_depth_store(struct kobject *kobj, struct kobj_attribute *a,
				    const char *buf, size_t count)
{
	unsigned int depth;

	if (kstrtouint(buf, 10, &depth) || !depth || depth > VMC_AG_MAX_DEPTH)
		return -EINVAL;
	vmc_pf_set_depth(to_vm(kobj), depth);
	return count;
}

static struct kobj_attribute prefetch_depth_attr =
	__ATTR(prefetch_depth, 0600, prefetch_depth_show, prefetch_depth_store);

static ssize_t comm_show(struct kobject *kobj, struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%s\n", to_vm(kobj)->comm);
}

static struct kobj_attribute comm_attr = __ATTR_RO_MODE(comm, 0400);

static struct attribute *vmc_vm_attrs[] = {
	&quota_bytes_attr.attr,
	&policy_attr.attr,
	&mode_attr.attr,
	&prefetch_attr.attr,
	&prefetch_depth_attr.attr,
	&pinned_bytes_attr.attr,
	&live_bytes_attr.attr,
	&peak_pinned_bytes_attr.attr,
	&peak_live_bytes_attr.attr,
	&comm_attr.attr,
	NULL,
};
ATTRIBUTE_GROUPS(vmc_vm);

static void vmc_vm_release(struct kobject *kobj)
{
	struct vmc_vm *vm = to_vm(kobj);

	mmdrop(vm->mm);
	mutex_destroy(&vm->lock);
	kfree(vm);
}

static const struct kobj_type vmc_vm_ktype = {
	.release = vmc_vm_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = vmc_vm_groups,
};

static bool vmc_vm_invalidate(struct mmu_interval_notifier *mni,
			      const struct mmu_notifier_range *range,
			      unsigned long cur_seq)
{
	struct vmc_vm *vm = container_of(mni, struct vmc_vm, notifier);

	if (mmu_notifier_range_blockable(range))
		mutex_lock(&vm->lock);
	else if (!mutex_trylock(&vm->lock))
		return false;
	mmu_interval_set_seq(mni, cur_seq);
	/* Protection changes keep the page where it is. */
	if (range->event != MMU_NOTIFY_PROTECTION_VMA &&
	    range->event != MMU_NOTIFY_PROTECTION_PAGE &&
	    range->event != MMU_NOTIFY_SOFT_DIRTY)
		vmc_pc_invalidate(vm, range->start, range->end);
	mutex_unlock(&vm->lock);
	return true;
}

static const struct mmu_interval_notifier_ops vmc_vm_notifier_ops = {
	.invalidate = vmc_vm_invalidate,
};

static struct vmc_vm *vmc_vm_find(struct mm_struct *mm)
{
	struct vmc_vm *vm;

	list_for_each_entry(vm, &vmc_vms, node)
		if (vm->mm == mm)
			return vm;
	return NULL;
}

/* sysfs name: the pid, made unique if an exec'd VMM still has an old VM. */
static int vmc_vm_add_kobj(struct vmc_vm *vm)
{
	int ret, n;

	vm->kobj.kset = vmc_kset;
	kobject_init(&vm->kobj, &vmc_vm_ktype);
	ret = kobject_add(&vm->kobj, NULL, "%d", vm->pid);
	for (n = 1; ret == -EEXIST && n < 16; n++)
		ret = kobject_add(&vm->kobj, NULL, "%d-%d", vm->pid, n);
	return ret;
}

static struct vmc_vm *vmc_vm_new(struct mm_struct *mm)
{
	struct vmc_vm *vm;
	int ret;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return ERR_PTR(-ENOMEM);
	mutex_init(&vm->lock);
	INIT_WORK(&vm->unaccount_work, vmc_vm_unaccount_work);
	vm->mm = mm;
	mmgrab(mm);
	vm->pid = task_tgid_nr(current);
	get_task_comm(vm->comm, current);
	vm->mode = READ_ONCE(vmc_default_mode);
	vm->quota_pages = READ_ONCE(vmc_default_quota_bytes) >> PAGE_SHIFT;
	vm->policy_kind = READ_ONCE(vmc_default_policy);
	ret = vmc_pc_init(vm);
	if (ret)
		goto err_free;
	ret = vmc_pf_init(vm);
	if (ret)
		goto err_pc;
	ret = mmu_interval_notifier_insert(&vm->notifier, mm, 0, ULONG_MAX & PAGE_MASK,
					   &vmc_vm_notifier_ops);
	if (ret)
		goto err_pf;
	ret = vmc_vm_add_kobj(vm);
	if (ret) {
		mmu_interval_notifier_remove(&vm->notifier);
		vmc_pc_destroy(vm);
		vmc_pf_destroy(vm);
		kobject_put(&vm->kobj);
		return ERR_PTR(ret);
	}
	vmc_debugfs_add_vm(vm);
	return vm;

err_pf:
	vmc_pf_destroy(vm);
err_pc:
	vmc_pc_destroy(vm);
err_free:
	mmdrop(mm);
	kfree(vm);
	return ERR_PTR(ret);
}

/**
 * vmc_vm_get() - the VM of the calling process, created on first use
 *
 * Return: the VM, NULL for a caller without an mm, or an ERR_PTR.
 */
struct vmc_vm *vmc_vm_get(void)
{
	struct vmc_vm *vm;

	if (!current->mm)
		return NULL;
	mutex_lock(&vmc_vms_lock);
	vm = vmc_vm_find(current->mm);
	if (!vm) {
		vm = vmc_vm_new(current->mm);
		if (!IS_ERR(vm))
			list_add(&vm->node, &vmc_vms);
	}
	if (!IS_ERR(vm))
		vm->nr_containers++;
	mutex_unlock(&vmc_vms_lock);
	return vm;
}

/**
 * vmc_vm_put() - a container of @vm is gone; the last one takes the VM along
 * @vm: the VM, or NULL
 */
void vmc_vm_put(struct vmc_vm *vm)
{
	bool last;

	if (!vm)
		return;
	mutex_lock(&vmc_vms_lock);
	last = !--vm->nr_containers;
	if (last)
		list_del(&vm->node);
	mutex_unlock(&vmc_vms_lock);
	if (!last)
		return;
	debugfs_remove(vm->debugfs);
	/* Drains sysfs writes in flight: none may find the cache destroyed. */
	kobject_del(&vm->kobj);
	/* Waits for invalidations in flight; none can start after it. */
	mmu_interval_notifier_remove(&vm->notifier);
	vmc_pc_destroy(vm);
	/* Off the list: the shrinker can no longer queue it. */
	cancel_work_sync(&vm->unaccount_work);
	vmc_pf_destroy(vm);
	vmc_vm_unaccount_flush(vm);
	kobject_put(&vm->kobj);
}

/* Candidates of every VM; 0 while the list is busy (a VM comes or goes). */
static unsigned long vmc_vm_shrink_count(struct shrinker *s, struct shrink_control *sc)
{
	unsigned long nr = 0;
	struct vmc_vm *vm;

	if (!READ_ONCE(vmc_shrinker_enabled) || !mutex_trylock(&vmc_vms_lock))
		return 0;
	list_for_each_entry(vm, &vmc_vms, node)
		nr += vmc_pc_candidates(vm);
	mutex_unlock(&vmc_vms_lock);
	return nr ?: SHRINK_EMPTY;
}

/* @vm's part of @nr: in proportion to its candidates, at least one. */
static unsigned long vmc_vm_shrink_share(struct vmc_vm *vm, unsigned long nr,
					 unsigned long total)
{
	unsigned long cand = vmc_pc_candidates(vm);

	if (!cand || !total)
		return 0;
	return max(mult_frac(nr, min(cand, total), total), 1UL);
}

/*
 * Release up to @sc->nr_to_scan candidates over all VMs.  A busy VM is
 * skipped; the list is rotated so that rounding favours no VM for long.
 * Uncharging locked_vm takes the VMM's mmap_lock, which reclaim may hold:
 * a work item does it.
 */
static unsigned long vmc_vm_shrink_scan(struct shrinker *s, struct shrink_control *sc)
{
	unsigned long total = 0, freed = 0, nr = sc->nr_to_scan;
	struct vmc_vm *vm;
	long released;

	if (!READ_ONCE(vmc_shrinker_enabled) || !mutex_trylock(&vmc_vms_lock))
		return SHRINK_STOP;
	list_for_each_entry(vm, &vmc_vms, node)
		total += vmc_pc_candidates(vm);
	list_for_each_entry(vm, &vmc_vms, node) {
		if (freed >= nr)
			break;
		released = vmc_pc_shrink(vm, min(vmc_vm_shrink_share(vm, nr, total), nr - freed));
		if (released <= 0)
			continue;
		freed += released;
		/* Under vmc_vms_lock: vmc_vm_put() cancels it after list_del(). */
		schedule_work(&vm->unaccount_work);
	}
	list_rotate_left(&vmc_vms);
	mutex_unlock(&vmc_vms_lock);
	return freed ?: SHRINK_STOP;
}

int vmc_vm_shrinker_init(void)
{
	vmc_shrinker = vmc_compat_shrinker_create("vfio_mapcache", vmc_vm_shrink_count,
						  vmc_vm_shrink_scan);
	return vmc_shrinker ? 0 : -ENOMEM;
}

void vmc_vm_shrinker_exit(void)
{
	vmc_compat_shrinker_destroy(vmc_shrinker);
}

int vmc_vm_init(void)
{
	vmc_kset = kset_create_and_add("vfio_mapcache", NULL, kernel_kobj);
	return vmc_kset ? 0 : -ENOMEM;
}

void vmc_vm_exit(void)
{
	kset_unregister(vmc_kset);
}
