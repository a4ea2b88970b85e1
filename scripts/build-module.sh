#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the module for one kernel of the matrix in a private copy of the
# sources (out/<name>/build), so that several kernels can be built without
# cleaning the tree in between.  Extra arguments go to make (e.g. W=1 C=1);
# a kernel of another Debian release builds in a chroot of it (sparse too).
#
# Usage: scripts/build-module.sh [--target T] NAME [make args...]
#   --target T   build the kbuild target T (e.g. an object) instead of the
#                module
# Prints the path of the built .ko on stdout.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

target=modules
if [ "${1:-}" = --target ]; then
	target=${2:?--target needs a target}
	shift 2
fi
name=${1:?usage: build-module.sh [--target T] NAME [make args]}
shift
bdir=$VMC_OUT/$name/build
mkdir -p "$bdir"
# Copy only what Kbuild reads; keep old objects so rebuilds are incremental.
for d in Kbuild Makefile drivers include scripts; do
	cp -a -u "$VMC_TOP/$d" "$bdir/"
done
# Files removed from the tree must not linger in the copy.
(cd "$bdir" && find drivers include -type f \( -name '*.c' -o -name '*.h' -o -name 'Kbuild' \) |
	while read -r f; do [ -e "$VMC_TOP/$f" ] || rm -f "$f"; done)
KCHROOT=
eval "$("$VMC_TOP/scripts/kenv.sh" "$name")"
# Kernels of another Debian release build with its toolchain, in a chroot.
run=()
[ -z "$KCHROOT" ] || run=("$VMC_TOP/scripts/chroot.sh" --run "$KCHROOT")
"${run[@]}" make -s -C "$KDIR" M="$bdir" "$@" "$target" >&2
[ "$target" != modules ] || echo "$bdir/drivers/vfio/mapcache/vfio_iommu_mapcache.ko"
