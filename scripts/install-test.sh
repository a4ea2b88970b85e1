#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The install test of one kernel of the matrix: the admin guide's DKMS
# install, done in a Debian root of the kernel's own release, which then is
# the root file system of a QEMU guest that boots that kernel.
#
# On the host, in a copy of the release's chroot (scripts/chroot.sh), as an
# admin prepares a host:
#   - the kernel's modules where its linux-image package puts them (copied
#     from the cache, not downloaded again; indexed by the root's depmod as
#     the package's postinst does): by default only vfio-pci and
#     vfio_iommu_type1 with what they depend on, because the depmod that
#     `dkms install` runs in the guest takes over two minutes under TCG for
#     all 4000 (--all-modules: all of them); and its linux-headers package
#     installed with apt from the Debian archive, nothing else of the kernel
#     (no linux-source);
#   - the sources in /usr/src/vfio-mapcache-<version>, `dkms add`, and
#     `dkms build` in a network namespace without network: offline.
# In the guest, in that root over 9p with its own bash, dkms and kmod
# (scripts/guest/install-test): `dkms install`, the modprobe.d snippet,
# `modprobe vfio_iommu_mapcache`, a container served by the backend (the
# DMA tests of vfio_dma_test's mapcache variant), `modprobe -r`.
#
# Usage: scripts/install-test.sh [--timeout SEC] [--all-modules]
#                                [--prepare | --prepared] NAME
#   --prepare    make the root on the host and stop (make check does this
#                in the background while the guest tier runs)
#   --prepared   boot the root that --prepare made; fail if there is none
# The log of the guest is out/NAME/install.log; the last line is
# "install NAME: N passed, N failed, N skipped".

set -euo pipefail
. "$(dirname "$0")/lib.sh"

SPLAT='BUG:|WARNING:|Oops|Call Trace|general protection|Kernel panic'
timeout=600 all_modules=0 phase=all
while [ $# -gt 1 ]; do
	case $1 in
	--timeout) timeout=$2; shift ;;
	--all-modules) all_modules=1 ;;
	--prepare) phase=prepare ;;
	--prepared) phase=boot ;;
	*) vmc_die "unknown option $1" ;;
	esac
	shift
done
name=${1:?usage: install-test.sh [--timeout SEC] [--all-modules] [--prepare | --prepared] NAME}
vmc_need_pkgs qemu-system-x86 busybox-static cpio xz-utils zstd kmod gcc make libc6-dev
"$VMC_TOP/scripts/fetch-kernels.sh" "$name" >&2
vmc_kernel_env "$name"
rel=$(vmc_kernel_release "$name")
out=$VMC_OUT/$name
root=$out/install-root
log=$out/install.log
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$VMC_TOP/dkms.conf")
mkdir -p "$out"

# What --prepare leaves when the root is complete.
ready=$out/install-root.ready

# in_root CMD...: CMD in the guest's root on the host, network and all.
in_root() { "$VMC_TOP/scripts/chroot.sh" --run-in "$root" "$@"; }

prepare_root() {
	t0=$SECONDS
	rm -f "$ready"
	vmc_log "install $name: a $rel root with $KREL's modules and headers package"
	"$VMC_TOP/scripts/chroot.sh" --untar "$rel" "$root"
	mkdir -p "$root/lib/modules/$KREL"
	if [ "$all_modules" -eq 1 ]; then
		cp -a "$KMODDIR" "$root/lib/modules/"
	else
		# What the guest loads, with what it depends on; the rest of the
		# package's files as they are.
		(cd "$KMODDIR" && find . -mindepth 1 -maxdepth 1 ! -name kernel \
			-exec cp -a {} "$root/lib/modules/$KREL/" \;)
		for m in $(vmc_module_deps vfio_iommu_type1; vmc_module_deps vfio-pci); do
			install -D -m 0644 "$KMODDIR/$m" "$root/lib/modules/$KREL/$m"
		done
	fi
	# The module index as the image package's postinst makes it, with the
	# root's own depmod (the cache's comes from the host's kmod).
	rm -f "$root/lib/modules/$KREL"/modules.*.bin
	in_root depmod -a "$KREL"
	in_root sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "linux-headers-$1=$2"' \
		sh "$KREL" "$KDEBVER" > "$out/install-apt.log" 2>&1 ||
		{ tail -n 20 "$out/install-apt.log" >&2; vmc_die "linux-headers-$KREL=$KDEBVER did not install"; }
	[ ! -e "$root/usr/src/linux-source-${KREL%%-*}.tar.xz" ] || vmc_die "linux-source got installed"

	vmc_log "install $name: dkms add, dkms build (offline) in that root"
	# What `git archive HEAD` gives, with the work tree's changes.
	(cd "$VMC_TOP" && git ls-files -co --exclude-standard | cpio -pdm --quiet "$root/usr/src/vfio-mapcache-$ver")
	unshare -n -- "$VMC_TOP/scripts/chroot.sh" --run-in "$root" sh -c \
		'dkms add "vfio-mapcache/$1" && dkms build "vfio-mapcache/$1" -k "$2"' \
		sh "$ver" "$KREL" > "$out/install-dkms.log" 2>&1 ||
		{ cat "$out/install-dkms.log" "$root/var/lib/dkms/vfio-mapcache/$ver/build/make.log" 2>/dev/null |
		  tail -n 30 >&2; vmc_die "dkms build failed (log: $out/install-dkms.log)"; }
	vmc_log "install $name: root ready in $((SECONDS - t0))s"
	touch "$ready"
}

case $phase in
prepare) prepare_root; exit 0 ;;
boot) [ -f "$ready" ] || vmc_die "install $name: no root prepared (scripts/install-test.sh --prepare $name)" ;;
*) prepare_root ;;
esac

# What the guest runs: the test binary of a container, the steps, its /init.
make -s -C "$VMC_TOP/tools/testing/selftests/vfio_mapcache" OUTPUT="$VMC_OUT/tests" all >&2
install -D -m 0755 "$VMC_OUT/tests/vfio_dma_test" "$root/usr/local/lib/vfio-mapcache/vfio_dma_test"
install -D -m 0755 "$VMC_TOP/scripts/guest/install-test" "$root/usr/local/sbin/vmc-install-test"
initrd=$out/install-initramfs
rm -rf "$initrd"
mkdir -p "$initrd"/{bin,dev,proc,sys,newroot}
vmc_copy_modules "$initrd" virtio_pci 9pnet_virtio 9p
cp /bin/busybox "$initrd/bin/busybox"
install -m 0755 "$VMC_TOP/scripts/guest/install-init" "$initrd/init"
(cd "$initrd" && find . | cpio -o -H newc --quiet | gzip -1) > "$initrd.cpio.gz"

vmc_log "install $name: booting $KREL on that root (timeout ${timeout}s, log $log)"
t1=$SECONDS
# As in run-guest.sh: one TCG thread, a VT-d for VFIO, one edu device.
timeout -k 10 "$timeout" qemu-system-x86_64 -accel tcg,thread=single -machine q35 -m 1G -smp 2 \
	-device intel-iommu,intremap=on -device edu \
	-virtfs "local,path=$root,mount_tag=vmcroot,security_model=passthrough,id=vmcroot" \
	-kernel "$KIMAGE" -initrd "$initrd.cpio.gz" \
	-append "console=ttyS0 intel_iommu=on loglevel=3 oops=panic panic=-1" \
	-display none -monitor none -serial stdio -no-reboot \
	> "$log" 2>&1 < /dev/null || true
vmc_log "install $name: guest finished in $((SECONDS - t1))s"

tr -d '\r' < "$log" | awk -v name="$name" -v splat="$SPLAT" '
/VMC-GUEST-DONE/ { done = 1 }
$0 ~ splat { if (!splats++) print "FAIL: console splat: " $0 }
/^ok [0-9]+ / { npass++ }
/^not ok [0-9]+ / { nfail++; print "FAIL: " $0 }
END {
	if (!done) { print "FAIL: no sentinel (guest crashed or timed out)"; nfail++ }
	if (splats) nfail++
	if (npass + nfail == 0) { print "FAIL: no step ran"; nfail++ }
	printf "install %s: %d passed, %d failed, %d skipped\n", name, npass, nfail, 0
	exit nfail ? 1 : 0
}'
