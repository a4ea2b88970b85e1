// SPDX-License-Identifier: GPL-2.0-only
/*
 * VMs: one per VMM process (its mm), shared by every container that process
 * sets up (with a vIOMMU QEMU opens one per device address space).  A VM
 * holds the pin cache, its quota, policy and mode, and shows them in
 * /sys/kernel/vfio_mapcache/<pid>/.  It appears with the first container of
 * its mm and lives as long as the mm, so that a VMM cannot shed the
 * settings an admin gave it by closing its containers; its pins go with the
 * last container.  When the mm goes (exit, exec) the directory goes at once,
 * and the VM with its last container: a pid's directory is always the VM of
 * the process that has that pid now.
 *
 * The directories are kobjects of the kobject core, whose release is the
 * core's own: none can run module code after the module is gone.  Each
 * file is a per-VM copy of its attribute that points at its VM.
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

/*
 * Protects vmc_vms and, of every VM, nr_containers, mm_gone, dying, sysfs
 * and debugfs.  Sysfs and debugfs handlers never take it, so directories
 * may be removed (which waits for handlers in flight) under it.
 */
static DEFINE_MUTEX(vmc_vms_lock);
static LIST_HEAD(vmc_vms);
static struct kobject *vmc_kobj;
static struct shrinker *vmc_shrinker;
/* Destroys VMs whose mm went away without containers; drained at unload. */
static struct workqueue_struct *vmc_vm_wq;

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

/**
 * struct vmc_vm_attr - a sysfs file of one VM
 * @ka: the attribute, a copy of one of vmc_vm_attr_tmpl
 * @vm: the VM
 */
struct vmc_vm_attr {
	struct kobj_attribute ka;
	struct vmc_vm *vm;
};

static struct vmc_vm *to_vm(struct kobj_attribute *a)
{
	return container_of(a, struct vmc_vm_attr, ka)->vm;
}

/* A page count of the VM, at @offset, shown in bytes. */
static ssize_t vmc_vm_show_bytes(struct kobj_attribute *a, char *buf, size_t offset)
{
	struct vmc_vm *vm = to_vm(a);
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
	return vmc_vm_show_bytes(a, buf, offsetof(struct vmc_vm, cache._field));\
}

VMC_VM_BYTES_SHOW(pinned_bytes, pinned_pages)
VMC_VM_BYTES_SHOW(live_bytes, live_pages)
VMC_VM_BYTES_SHOW(peak_pinned_bytes, peak_pinned_pages)
VMC_VM_BYTES_SHOW(peak_live_bytes, peak_live_pages)
VMC_VM_BYTES_SHOW(quota_bytes, quota_pages)

/* Writing 0 to a peak starts it again from the current value. */
static ssize_t vmc_vm_peak_reset(struct kobj_attribute *a, const char *buf, size_t count,
				 bool live)
{
	struct vmc_vm *vm = to_vm(a);
	unsigned int v;

	if (kstrtouint(buf, 0, &v) || v)
		return -EINVAL;
	mutex_lock(&vm->lock);
	if (live)
		vm->cache.peak_live_pages = vm->cache.live_pages;
	else
		vm->cache.peak_pinned_pages = vm->cache.pinned_pages;
	mutex_unlock(&vm->lock);
	return count;
}

static ssize_t peak_pinned_bytes_store(struct kobject *kobj, struct kobj_attribute *a,
				       const char *buf, size_t count)
{
	return vmc_vm_peak_reset(a, buf, count, false);
}

static ssize_t peak_live_bytes_store(struct kobject *kobj, struct kobj_attribute *a,
				     const char *buf, size_t count)
{
	return vmc_vm_peak_reset(a, buf, count, true);
}

static ssize_t quota_bytes_store(struct kobject *kobj, struct kobj_attribute *a,
				 const char *buf, size_t count)
{
	struct vmc_vm *vm = to_vm(a);
	u64 bytes;
	int ret;

	/* Decimal, 0x hexadecimal or 0 octal, as the ABI entry says. */
	ret = kstrtou64(buf, 0, &bytes);
	if (ret)
		return ret;
	if (!PAGE_ALIGNED(bytes))
		return -EINVAL;
	ret = vmc_pc_set_quota(vm, bytes >> PAGE_SHIFT);
	/* The prefetcher's graph follows the quota; it keeps the old if short. */
	if (!ret)
		vmc_pf_resize(vm);
	return ret ?: count;
}

static ssize_t policy_show(struct kobject *kobj, struct kobj_attribute *a, char *buf)
{
	struct vmc_vm *vm = to_vm(a);
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
	kind = vmc_pc_set_policy(to_vm(a), kind);
	return kind ?: count;
}

static ssize_t mode_show(struct kobject *kobj, struct kobj_attribute *a, char *buf)
{
	struct vmc_vm *vm = to_vm(a);
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
	vmc_pc_set_mode(to_vm(a), mode);
	return count;
}

static ssize_t prefetch_show(struct kobject *kobj, struct kobj_attribute *a, char *buf)
{
	struct vmc_vm *vm = to_vm(a);
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
	ret = vmc_pf_set(to_vm(a), on);
	return ret ?: count;
}

static ssize_t prefetch_depth_show(struct kobject *kobj, struct kobj_attribute *a,
				   char *buf)
{
	struct vmc_vm *vm = to_vm(a);
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
	vmc_pf_set_depth(to_vm(a), depth);
	return count;
}

static ssize_t idle_ms_show(struct kobject *kobj, struct kobj_attribute *a, char *buf)
{
	struct vmc_vm *vm = to_vm(a);
	unsigned int ms;

	mutex_lock(&vm->lock);
	ms = jiffies_to_msecs(vm->idle_window);
	mutex_unlock(&vm->lock);
	return sysfs_emit(buf, "%u\n", ms);
}

/* A window of @ms, in jiffies: at least one, 0 for none. */
static unsigned long vmc_idle_jiffies(unsigned int ms)
{
	return ms ? max(msecs_to_jiffies(ms), 1UL) : 0;
}

static ssize_t idle_ms_store(struct kobject *kobj, struct kobj_attribute *a,
			     const char *buf, size_t count)
{
	unsigned int ms;

	if (kstrtouint(buf, 10, &ms) || ms > VMC_IDLE_MAX_MS)
		return -EINVAL;
	vmc_pc_set_idle(to_vm(a), vmc_idle_jiffies(ms));
	return count;
}

static ssize_t comm_show(struct kobject *kobj, struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%s\n", to_vm(a)->comm);
}

/* Every file of a VM's directory, copied per VM by vmc_vm_add_sysfs(). */
static const struct kobj_attribute vmc_vm_attr_tmpl[] = {
	__ATTR(quota_bytes, 0600, quota_bytes_show, quota_bytes_store),
	__ATTR(policy, 0600, policy_show, policy_store),
	__ATTR(mode, 0600, mode_show, mode_store),
	__ATTR(prefetch, 0600, prefetch_show, prefetch_store),
	__ATTR(prefetch_depth, 0600, prefetch_depth_show, prefetch_depth_store),
	__ATTR(idle_ms, 0600, idle_ms_show, idle_ms_store),
	__ATTR_RO_MODE(pinned_bytes, 0400),
	__ATTR_RO_MODE(live_bytes, 0400),
	__ATTR(peak_pinned_bytes, 0600, peak_pinned_bytes_show, peak_pinned_bytes_store),
	__ATTR(peak_live_bytes, 0600, peak_live_bytes_show, peak_live_bytes_store),
	__ATTR_RO_MODE(comm, 0400),
};

#define VMC_VM_NR_ATTRS	ARRAY_SIZE(vmc_vm_attr_tmpl)

/**
 * struct vmc_vm_sysfs - the sysfs directory of one VM
 * @kobj: the directory, a kobject of the core's own type
 * @group: its files
 * @ptrs: the files, for @group, NULL-terminated
 * @attrs: the files, each pointing at the VM
 */
struct vmc_vm_sysfs {
	struct kobject *kobj;
	struct attribute_group group;
	struct attribute *ptrs[VMC_VM_NR_ATTRS + 1];
	struct vmc_vm_attr attrs[VMC_VM_NR_ATTRS];
};

static int vmc_vm_add_sysfs(struct vmc_vm *vm)
{
	struct vmc_vm_sysfs *fs;
	char name[16];
	unsigned int i;
	int ret;

	fs = kzalloc(sizeof(*fs), GFP_KERNEL_ACCOUNT);
	if (!fs)
		return -ENOMEM;
	for (i = 0; i < VMC_VM_NR_ATTRS; i++) {
		fs->attrs[i].ka = vmc_vm_attr_tmpl[i];
		fs->attrs[i].vm = vm;
		sysfs_attr_init(&fs->attrs[i].ka.attr);
		fs->ptrs[i] = &fs->attrs[i].ka.attr;
	}
	fs->group.attrs = fs->ptrs;
	snprintf(name, sizeof(name), "%d", vm->pid);
	fs->kobj = kobject_create_and_add(name, vmc_kobj);
	if (!fs->kobj) {
		kfree(fs);
		return -ENOMEM;
	}
	ret = sysfs_create_group(fs->kobj, &fs->group);
	if (ret) {
		kobject_del(fs->kobj);
		kobject_put(fs->kobj);
		kfree(fs);
		return ret;
	}
	vm->sysfs = fs;
	return 0;
}

/*
 * Take the VM's directories away (vmc_vms_lock held): they go before the
 * VM, and only the VM of the process that has the pid now may have them.
 * Handlers in flight finish first.
 */
static void vmc_vm_hide(struct vmc_vm *vm)
{
	lockdep_assert_held(&vmc_vms_lock);
	vmc_debugfs_remove_vm(vm);
	if (!vm->sysfs)
		return;
	kobject_del(vm->sysfs->kobj);
	kobject_put(vm->sysfs->kobj);
	kfree(vm->sysfs);
	vm->sysfs = NULL;
}

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
	vmc_pc_gups_raced(vm, range->start, range->end);
	/*
	 * mprotect(), userfaultfd write-protection and soft-dirty tracking
	 * keep the page where it is, not its write access.  A fork's COW
	 * protection (PROTECTION_PAGE) leaves pinned pages writable in the
	 * VMM (the child gets copies of them): nothing to do.
	 */
	if (range->event == MMU_NOTIFY_PROTECTION_VMA || range->event == MMU_NOTIFY_SOFT_DIRTY)
		vmc_pc_write_protect(vm, range->start, range->end);
	else if (range->event != MMU_NOTIFY_PROTECTION_PAGE)
		vmc_pc_invalidate(vm, range->start, range->end);
	mutex_unlock(&vm->lock);
	/*
	 * What it unpinned comes off locked_vm soon, not at the VM's next
	 * request: the caller may hold mmap_lock.  vmc_vm_destroy() cancels
	 * the work after the last invalidation.
	 */
	if (atomic_long_read(&vm->unaccount))
		schedule_work(&vm->unaccount_work);
	return true;
}

static const struct mmu_interval_notifier_ops vmc_vm_notifier_ops = {
	.invalidate = vmc_vm_invalidate,
};

/* Tear down a VM that is off the list, dying, with no container left. */
static void vmc_vm_destroy(struct vmc_vm *vm)
{
	mutex_lock(&vmc_vms_lock);
	vmc_vm_hide(vm);
	mutex_unlock(&vmc_vms_lock);
	/* Waits for invalidations in flight; none can start after it. */
	mmu_interval_notifier_remove(&vm->notifier);
	/* Calls the release callback if the mm is still there: it sees dying. */
	mmu_notifier_unregister(&vm->mm_notifier, vm->mm);
	vmc_pc_destroy(vm);
	/* Off the list: the shrinker can no longer queue it. */
	cancel_work_sync(&vm->unaccount_work);
	vmc_pf_destroy(vm);
	vmc_vm_unaccount_flush(vm);
	mmdrop(vm->mm);
	mutex_destroy(&vm->lock);
	kfree(vm);
}

static void vmc_vm_destroy_work(struct work_struct *work)
{
	vmc_vm_destroy(container_of(work, struct vmc_vm, destroy_work));
}

/* Take @vm off the list of VMs, for vmc_vm_destroy() (vmc_vms_lock held). */
static void vmc_vm_unlist(struct vmc_vm *vm)
{
	lockdep_assert_held(&vmc_vms_lock);
	vm->dying = true;
	list_del(&vm->node);
}

/*
 * The mm goes (exit, exec): the directories go now; the VM goes now if it
 * has no container, else with the last one.  Called from exit_mmap() or
 * from the unregister of vmc_vm_destroy(), never under vmc_vms_lock (which
 * is why nothing unregisters under it); it may not unregister itself, so a
 * work item destroys the VM.
 */
static void vmc_vm_mm_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct vmc_vm *vm = container_of(mn, struct vmc_vm, mm_notifier);

	/* Dying is final: a VM being torn down needs nothing from here. */
	if (READ_ONCE(vm->dying))
		return;
	mutex_lock(&vmc_vms_lock);
	if (!vm->dying) {
		vm->mm_gone = true;
		vmc_vm_hide(vm);
		if (!vm->nr_containers) {
			vmc_vm_unlist(vm);
			queue_work(vmc_vm_wq, &vm->destroy_work);
		}
	}
	mutex_unlock(&vmc_vms_lock);
}

static const struct mmu_notifier_ops vmc_vm_mm_ops = {
	.release = vmc_vm_mm_release,
};

static struct vmc_vm *vmc_vm_find(struct mm_struct *mm)
{
	struct vmc_vm *vm;

	list_for_each_entry(vm, &vmc_vms, node)
		if (vm->mm == mm && !vm->mm_gone)
			return vm;
	return NULL;
}

/*
 * Show @vm as /sys/kernel/vfio_mapcache/<pid>.  A VM of another mm with
 * the same pid (the image before an exec, whose mm lingers) gives the name
 * up: it belongs to the process that has the pid now.
 */
static int vmc_vm_publish(struct vmc_vm *vm)
{
	struct vmc_vm *other;
	int ret;

	lockdep_assert_held(&vmc_vms_lock);
	list_for_each_entry(other, &vmc_vms, node)
		if (other->pid == vm->pid && other->sysfs)
			vmc_vm_hide(other);
	ret = vmc_vm_add_sysfs(vm);
	if (!ret)
		vmc_debugfs_add_vm(vm);
	return ret;
}

/* The settings of a new VM: the module's defaults of the moment. */
static void vmc_vm_defaults(struct vmc_vm *vm)
{
	vm->mode = READ_ONCE(vmc_default_mode);
	vm->cache.quota_pages = READ_ONCE(vmc_default_quota_bytes) >> PAGE_SHIFT;
	vm->policy_kind = READ_ONCE(vmc_default_policy);
	vm->idle_window = vmc_idle_jiffies(READ_ONCE(vmc_default_idle_ms));
}

/*
 * A new VM for @mm, not on the list nor in sysfs yet.  Registering with the
 * mm takes its mmap_lock: vmc_vms_lock is not held.
 */
static struct vmc_vm *vmc_vm_new(struct mm_struct *mm)
{
	struct vmc_vm *vm;
	int ret;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return ERR_PTR(-ENOMEM);
	mutex_init(&vm->lock);
	INIT_WORK(&vm->unaccount_work, vmc_vm_unaccount_work);
	INIT_WORK(&vm->destroy_work, vmc_vm_destroy_work);
	vm->mm = mm;
	mmgrab(mm);
	vm->pid = task_tgid_nr(current);
	get_task_comm(vm->comm, current);
	vmc_vm_defaults(vm);
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
	vm->mm_notifier.ops = &vmc_vm_mm_ops;
	ret = mmu_notifier_register(&vm->mm_notifier, mm);
	if (ret)
		goto err_itree;
	return vm;

err_itree:
	mmu_interval_notifier_remove(&vm->notifier);
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

	struct vmc_vm *new;
	int ret = 0;

	if (!current->mm)
		return NULL;
	mutex_lock(&vmc_vms_lock);
	vm = vmc_vm_find(current->mm);
	if (vm)
		vm->nr_containers++;
	mutex_unlock(&vmc_vms_lock);
	if (vm)
		return vm;

	new = vmc_vm_new(current->mm);
	if (IS_ERR(new))
		return new;
	mutex_lock(&vmc_vms_lock);
	/* Another thread of the VMM may have been quicker. */
	vm = vmc_vm_find(current->mm);
	if (!vm) {
		ret = vmc_vm_publish(new);
		if (!ret) {
			list_add(&new->node, &vmc_vms);
			vm = new;
			new = NULL;
		}
	}
	if (vm)
		vm->nr_containers++;
	mutex_unlock(&vmc_vms_lock);
	if (new) {
		/* Never seen by anyone: torn down as it is. */
		WRITE_ONCE(new->dying, true);
		vmc_vm_destroy(new);
	}
	return vm ?: ERR_PTR(ret);
}

/**
 * vmc_vm_put() - a container of @vm is gone
 * @vm: the VM, or NULL
 *
 * The last container takes the VM's pins along, and the VM itself if its
 * mm is gone; the settings stay as long as the mm.
 */
void vmc_vm_put(struct vmc_vm *vm)
{
	bool last, destroy;

	if (!vm)
		return;
	mutex_lock(&vmc_vms_lock);
	last = vm->nr_containers == 1;
	mutex_unlock(&vmc_vms_lock);
	/* Still counted: nothing destroys the VM meanwhile. */
	if (last)
		vmc_pc_release_all(vm);
	mutex_lock(&vmc_vms_lock);
	destroy = !--vm->nr_containers && vm->mm_gone;
	if (destroy)
		vmc_vm_unlist(vm);
	mutex_unlock(&vmc_vms_lock);
	if (destroy)
		vmc_vm_destroy(vm);
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
	/*
	 * Tearing a VM down (unpinning all it kept) may take long and has
	 * nothing to do with the CPU that queued it: unbound.  Since 7.x a
	 * workqueue that says neither unbound nor per-CPU gets a WARN.
	 */
	vmc_vm_wq = alloc_workqueue("vfio_mapcache", WQ_UNBOUND, 0);
	if (!vmc_vm_wq)
		return -ENOMEM;
	vmc_kobj = kobject_create_and_add("vfio_mapcache", kernel_kobj);
	if (!vmc_kobj) {
		destroy_workqueue(vmc_vm_wq);
		return -ENOMEM;
	}
	return 0;
}

/**
 * vmc_vm_exit() - destroy every VM, at module unload
 *
 * No container is left (each holds the module), but VMs of living VMMs
 * are: they go now.  VMs whose mm went meanwhile are in the work queue,
 * which is drained.
 */
void vmc_vm_exit(void)
{
	struct vmc_vm *vm, *tmp;
	LIST_HEAD(doomed);

	mutex_lock(&vmc_vms_lock);
	list_for_each_entry_safe(vm, tmp, &vmc_vms, node) {
		WARN_ON_ONCE(vm->nr_containers);
		vmc_vm_unlist(vm);
		list_add(&vm->node, &doomed);
	}
	mutex_unlock(&vmc_vms_lock);
	list_for_each_entry_safe(vm, tmp, &doomed, node)
		vmc_vm_destroy(vm);
	destroy_workqueue(vmc_vm_wq);
	/*
	 * Out of sysfs now: the last put may only queue the release (with
	 * CONFIG_DEBUG_KOBJECT_RELEASE, for seconds), and a module loaded
	 * again meanwhile must find the name free.
	 */
	kobject_del(vmc_kobj);
	kobject_put(vmc_kobj);
}
