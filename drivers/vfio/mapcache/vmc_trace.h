/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tracepoints of vfio_iommu_mapcache: a VM's DMA map/unmap stream as the
 * map-cache sees it, for perf and trace-cmd:
 *
 *   perf trace -e 'vfio_mapcache:*'
 *   trace-cmd record -e vfio_mapcache
 *
 * Requests carry the container's debugfs id; cache events carry the VM (the
 * VMM's pid), and pages are the VMM's virtual pages.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM vfio_mapcache

#if !defined(VMC_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define VMC_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(vmc_map,
	    TP_PROTO(unsigned int container, u64 iova, unsigned long vaddr, u64 size,
		     int prot, int ret),
	    TP_ARGS(container, iova, vaddr, size, prot, ret),
	    TP_STRUCT__entry(__field(unsigned int, container)
			     __field(u64, iova)
			     __field(unsigned long, vaddr)
			     __field(u64, size)
			     __field(int, prot)
			     __field(int, ret)),
	    TP_fast_assign(__entry->container = container;
			   __entry->iova = iova;
			   __entry->vaddr = vaddr;
			   __entry->size = size;
			   __entry->prot = prot;
			   __entry->ret = ret;),
	    TP_printk("container=%u iova=0x%llx vaddr=0x%lx size=0x%llx prot=%d ret=%d",
		      __entry->container, __entry->iova, __entry->vaddr, __entry->size,
		      __entry->prot, __entry->ret)
);

TRACE_EVENT(vmc_unmap,
	    TP_PROTO(unsigned int container, u64 iova, u64 last, u64 unmapped, int ret),
	    TP_ARGS(container, iova, last, unmapped, ret),
	    TP_STRUCT__entry(__field(unsigned int, container)
			     __field(u64, iova)
			     __field(u64, last)
			     __field(u64, unmapped)
			     __field(int, ret)),
	    TP_fast_assign(__entry->container = container;
			   __entry->iova = iova;
			   __entry->last = last;
			   __entry->unmapped = unmapped;
			   __entry->ret = ret;),
	    TP_printk("container=%u iova=0x%llx last=0x%llx unmapped=0x%llx ret=%d",
		      __entry->container, __entry->iova, __entry->last, __entry->unmapped,
		      __entry->ret)
);

TRACE_EVENT(vmc_full_hit,
	    TP_PROTO(pid_t vm, u64 iova, unsigned long vaddr, u64 size),
	    TP_ARGS(vm, iova, vaddr, size),
	    TP_STRUCT__entry(__field(pid_t, vm)
			     __field(u64, iova)
			     __field(unsigned long, vaddr)
			     __field(u64, size)),
	    TP_fast_assign(__entry->vm = vm;
			   __entry->iova = iova;
			   __entry->vaddr = vaddr;
			   __entry->size = size;),
	    TP_printk("vm=%d iova=0x%llx vaddr=0x%lx size=0x%llx",
		      __entry->vm, __entry->iova, __entry->vaddr, __entry->size)
);

/* Pages of a guest map: found pinned (pin hits) or pinned now (misses). */
DECLARE_EVENT_CLASS(vmc_pages,
		    TP_PROTO(pid_t vm, unsigned long vaddr, unsigned long nr_pages),
		    TP_ARGS(vm, vaddr, nr_pages),
		    TP_STRUCT__entry(__field(pid_t, vm)
				     __field(unsigned long, vaddr)
				     __field(unsigned long, nr_pages)),
		    TP_fast_assign(__entry->vm = vm;
				   __entry->vaddr = vaddr;
				   __entry->nr_pages = nr_pages;),
		    TP_printk("vm=%d vaddr=0x%lx pages=%lu",
			      __entry->vm, __entry->vaddr, __entry->nr_pages)
);

DEFINE_EVENT(vmc_pages, vmc_pin_hit,
	     TP_PROTO(pid_t vm, unsigned long vaddr, unsigned long nr_pages),
	     TP_ARGS(vm, vaddr, nr_pages)
);

DEFINE_EVENT(vmc_pages, vmc_miss,
	     TP_PROTO(pid_t vm, unsigned long vaddr, unsigned long nr_pages),
	     TP_ARGS(vm, vaddr, nr_pages)
);

DEFINE_EVENT(vmc_pages, vmc_prefetch,
	     TP_PROTO(pid_t vm, unsigned long vaddr, unsigned long nr_pages),
	     TP_ARGS(vm, vaddr, nr_pages)
);

TRACE_EVENT(vmc_evict,
	    TP_PROTO(pid_t vm, u64 nr_pages, u64 pinned_pages, u64 quota_pages),
	    TP_ARGS(vm, nr_pages, pinned_pages, quota_pages),
	    TP_STRUCT__entry(__field(pid_t, vm)
			     __field(u64, nr_pages)
			     __field(u64, pinned_pages)
			     __field(u64, quota_pages)),
	    TP_fast_assign(__entry->vm = vm;
			   __entry->nr_pages = nr_pages;
			   __entry->pinned_pages = pinned_pages;
			   __entry->quota_pages = quota_pages;),
	    TP_printk("vm=%d pages=%llu pinned=%llu quota=%llu",
		      __entry->vm, __entry->nr_pages, __entry->pinned_pages,
		      __entry->quota_pages)
);

TRACE_EVENT(vmc_batch,
	    TP_PROTO(unsigned int container, u32 nr_entries, u32 nr_done, int ret),
	    TP_ARGS(container, nr_entries, nr_done, ret),
	    TP_STRUCT__entry(__field(unsigned int, container)
			     __field(u32, nr_entries)
			     __field(u32, nr_done)
			     __field(int, ret)),
	    TP_fast_assign(__entry->container = container;
			   __entry->nr_entries = nr_entries;
			   __entry->nr_done = nr_done;
			   __entry->ret = ret;),
	    TP_printk("container=%u entries=%u done=%u ret=%d",
		      __entry->container, __entry->nr_entries, __entry->nr_done,
		      __entry->ret)
);

#endif /* VMC_TRACE_H */

/* This part must be outside the include guard. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE vmc_trace
#include <trace/define_trace.h>
