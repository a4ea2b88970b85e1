#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the test guest's initramfs for one kernel of the matrix:
# busybox-static, the kernel's vfio modules (decompressed, in load order),
# our module, the kselftest binaries and scripts/guest/init.
#
# Usage: scripts/mkinitramfs.sh NAME
# Prints the path of the initramfs on stdout.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

name=${1:?usage: mkinitramfs.sh NAME}
vmc_need_pkgs busybox-static cpio xz-utils gcc make libc6-dev kmod
vmc_kernel_env "$name"
out=$VMC_OUT/$name
root=$out/initramfs
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc/vmc,lib/modules,tests}

# Stock modules, in an order insmod accepts.
vmc_copy_modules "$root" vfio_iommu_type1 vfio-pci

ko=$("$VMC_TOP/scripts/build-module.sh" "$name")
cp "$ko" "$root/lib/modules/"

# Userspace, the same for every guest kernel: built once, with the harness
# of the primary kernel (older harnesses run a test body after SKIP in setup).
make -s -C "$VMC_TOP/tools/testing/selftests/vfio_mapcache" OUTPUT="$VMC_OUT/tests" all >&2
cp "$VMC_OUT"/tests/* "$root/tests/"
make -s -C "$VMC_TOP/tools/testing/selftests/vfio_mapcache" print-tests > "$root/etc/vmc/tests.list"

[ ! -d "$VMC_OUT/guest-data" ] || { mkdir -p "$root/data" && cp -r "$VMC_OUT/guest-data/." "$root/data/"; }
cp /bin/busybox "$root/bin/busybox"
install -m 0755 "$VMC_TOP/scripts/guest/init" "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initramfs.cpio.gz"
echo "$out/initramfs.cpio.gz"
