/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the policy core needs from its environment, in one place.  The policy
 * .c files include nothing else, so that tools/mapcache-sim/policy_internal.h
 * (same include guard, included first) can stand in for this file and build
 * the very same sources in userspace.
 */
#ifndef _VMC_POLICY_INTERNAL_H
#define _VMC_POLICY_INTERNAL_H

#include <linux/bug.h>
#include <linux/errno.h>
#include <linux/hash.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/rbtree.h>
#include <linux/string.h>
#include <linux/types.h>

#endif /* _VMC_POLICY_INTERNAL_H */
