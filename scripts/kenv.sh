#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the build environment for one kernel as make variable assignments:
#   KDIR=<kernel build tree> VMC_VFIO_INC=<dir holding the private vfio.h>
#   KREL=<kernel release>
#
# Usage: scripts/kenv.sh [NAME]
#   NAME given: a kernel of scripts/kernels.list, fetched into the cache if
#   needed, or NAME-debug, its debug kernel (scripts/build-debug-kernel.sh
#   builds it if needed).  No NAME: the running kernel's
#   /lib/modules/$(uname -r)/build when it exists (vfio.h from $VFIO_H_DIR,
#   or from the linux-source package of the running Debian kernel), else the
#   primary kernel of the matrix.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

# host_vfio_inc: where the running kernel's private vfio.h can be found.
host_vfio_inc() {
	local ver
	if [ -n "${VFIO_H_DIR:-}" ]; then
		[ -f "$VFIO_H_DIR/vfio.h" ] || vmc_die "VFIO_H_DIR=$VFIO_H_DIR has no vfio.h"
		echo "$VFIO_H_DIR"
		return
	fi
	# Debian kernels carry their package version in /proc/version.
	ver=$(sed -nE 's/.*Debian ([0-9][^ ]*) .*/\1/p' /proc/version)
	[ -n "$ver" ] || vmc_die "cannot find vfio.h for $(uname -r): set VFIO_H_DIR to <kernel source>/drivers/vfio"
	echo "$("$VMC_TOP/scripts/fetch-kernels.sh" --source-only "$ver")/drivers/vfio"
}

vmc_need_pkgs gcc-12 make dwarves xz-utils

name=${1:-}
if [ -z "$name" ] && [ -d "/lib/modules/$(uname -r)/build" ]; then
	printf 'KDIR=%s VMC_VFIO_INC=%s KREL=%s\n' "/lib/modules/$(uname -r)/build" \
		"$(host_vfio_inc)" "$(uname -r)"
	exit 0
fi
[ -n "$name" ] || name=$(vmc_primary_kernel)
# NAME-debug: the debug kernel of NAME, built by build-debug-kernel.sh.
get=("$VMC_TOP/scripts/fetch-kernels.sh" "$name")
[[ $name != *-debug ]] || get=("$VMC_TOP/scripts/build-debug-kernel.sh" "${name%-debug}")
vmc_kernel_names | grep -qxF "${name%-debug}" ||
	vmc_die "KVER=$name is not in the matrix ($(vmc_kernel_names | tr '\n' ' '), or NAME-debug)"
[ -f "$VMC_KCACHE/$name.env" ] || "${get[@]}" >&2
vmc_kernel_env "$name"
[ -f "$KROOT/.complete" ] || { "${get[@]}" >&2; vmc_kernel_env "$name"; }
printf 'KDIR=%s VMC_VFIO_INC=%s KREL=%s\n' "$KDIR" "$KSRC/drivers/vfio" "$KREL"
