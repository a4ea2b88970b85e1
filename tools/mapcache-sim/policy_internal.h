/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace stand-in for drivers/vfio/mapcache/policy_internal.h.  It has the
 * same include guard and is force-included (-include) before the policy
 * sources, so their own #include "policy_internal.h" becomes a no-op and the
 * kernel's tools/include headers (list.h, rbtree.h, hash.h) serve instead of
 * the kernel's.  rbtree.c comes from tools/lib of the same kernel source.
 */
#ifndef _VMC_POLICY_INTERNAL_H
#define _VMC_POLICY_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/rbtree.h>
#include <linux/hash.h>
#include <linux/log2.h>
#include <asm/bug.h>

#ifndef U64_MAX
#define U64_MAX ((u64)~0ULL)
#endif

#ifndef clamp_t
#define clamp_t(type, val, lo, hi) \
	((type)(val) < (type)(lo) ? (type)(lo) : \
	 (type)(val) > (type)(hi) ? (type)(hi) : (type)(val))
#endif

#endif /* _VMC_POLICY_INTERNAL_H */
