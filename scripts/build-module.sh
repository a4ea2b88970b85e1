#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the module for one kernel of the matrix in a private copy of the
# sources (out/<name>/build), so that several kernels can be built without
# cleaning the tree in between.  Extra arguments go to make (e.g. W=1 C=1).
#
# Usage: scripts/build-module.sh NAME [make args...]
# Prints the path of the built .ko on stdout.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

name=${1:?usage: build-module.sh NAME [make args]}
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
eval "$("$VMC_TOP/scripts/kenv.sh" "$name")"
make -s -C "$KDIR" M="$bdir" VMC_VFIO_INC="$VMC_VFIO_INC" "$@" modules >&2
echo "$bdir/drivers/vfio/mapcache/vfio_iommu_mapcache.ko"
