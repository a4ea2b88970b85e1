#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the build environment for one kernel as make variable assignments:
#   KDIR=<kernel build tree> KREL=<kernel release>
#   [KCHROOT=<Debian release>]   build in a chroot of that release
#                                (scripts/chroot.sh), not with the host's tools
#
# Usage: scripts/kenv.sh [NAME]
#   NAME given: a kernel of scripts/kernels.list, fetched into the cache if
#   needed, or NAME-debug, its debug kernel (scripts/build-debug-kernel.sh
#   builds it if needed).  No NAME: the running kernel's
#   /lib/modules/$(uname -r)/build when it exists, else the primary kernel of
#   the matrix.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

vmc_need_pkgs gcc-12 make dwarves xz-utils

name=${1:-}
if [ -z "$name" ] && [ -d "/lib/modules/$(uname -r)/build" ]; then
	printf 'KDIR=%s KREL=%s\n' "/lib/modules/$(uname -r)/build" "$(uname -r)"
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
printf 'KDIR=%s KREL=%s' "$KDIR" "$KREL"
rel=$(vmc_kernel_release "${name%-debug}")
[ "$rel" = "$(vmc_host_release)" ] || printf ' KCHROOT=%s' "$rel"
echo
