#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the test guest's initramfs for one kernel of the matrix:
# busybox-static, the kernel's vfio modules (decompressed, in load order),
# those of a RAM disk and file systems when it has them, our module, the
# kselftest binaries and scripts/guest/init.
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
# What vfio_dirty_test needs for a file on a disk: a RAM disk and a file
# system, vfat (by default) or ext2 (served by ext4).  Not loaded at boot:
# the test loads them from /lib/modules/fs in the order of
# /etc/vmc/modules.fs.  A kernel without them (the debug kernel has no
# block layer) gets none and the test skips.
if vmc_module_present brd; then
	fs_mods=(brd)
	# The crypto API's crc32c, which ext4 asks for at mount (6.1, 6.12).
	for m in crc32c_generic crc32c-cryptoapi; do
		! vmc_module_present "$m" || { fs_mods+=("$m"); break; }
	done
	for m in ext4 vfat nls_cp437 nls_ascii; do
		! vmc_module_present "$m" || fs_mods+=("$m")
	done
	vmc_copy_modules_to "$root" lib/modules/fs etc/vmc/modules.fs "${fs_mods[@]}"
else
	vmc_log "$KREL has no brd: vfio_dirty_test will skip"
fi

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
