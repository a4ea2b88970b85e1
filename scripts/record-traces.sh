#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Record the IOMMU map/unmap streams of real Linux drivers for the simulator.
#
#   scripts/record-traces.sh [nvme|net|extra|pool|seqbuf|streams|mixed|all] [OUTDIR]
#
# (a comma-separated list works too; "extra" is pool,seqbuf,streams,mixed)
#
# Boots the primary kernel of scripts/kernels.list under QEMU TCG with an
# emulated VT-d in caching mode (the vIOMMU setup used with assigned devices)
# and strict unmapping, an NVMe disk and two e1000e NICs joined by a QEMU hub
# (no user or tap netdev: no packet leaves QEMU, one NIC sits in its own
# network namespace in the guest).  The guest's /init (scripts/trace-guest/)
# runs each workload with tracefs recording iommu:map and iommu:unmap plus
# kprobes on the DMA API that name the device, and ships the events out on a
# second serial port.  Each device's stream becomes one trace in the format
# of tools/traces/README, compressed with xz into OUTDIR (tools/traces/).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

WL=${1:-all}
DEST=${2:-$VMC_TOP/tools/traces}
W=$VMC_OUT/trace-guest
KNAME=$(vmc_primary_kernel)
vmc_kernel_env "$KNAME"
vmc_need_pkgs qemu-system-x86 busybox-static cpio xz-utils gcc libc6-dev

rm -rf "$W/root" && mkdir -p "$W/root"/{bin,dev,proc,sys,lib/modules} "$DEST"
R=$W/root

# Initramfs: static busybox, the workload program, the needed modules.
cp /bin/busybox "$R/bin/busybox"
gcc -static -O2 -Wall -o "$R/bin/wl" "$VMC_TOP/scripts/trace-guest/workload.c" -lm
cp "$VMC_TOP/scripts/trace-guest/init" "$R/init"
: > "$R/modules.load"
load_module() {	# load_module kernel/path.ko.xz: its deps first
	local rel=$1 dep
	grep -qxF "$(basename "${rel%.xz}")" "$R/modules.load" && return 0
	for dep in $(sed -n "s|^$rel: *||p" "$KMODDIR/modules.dep"); do
		load_module "$dep"
	done
	xz -dc "$KMODDIR/$rel" > "$R/lib/modules/$(basename "${rel%.xz}")"
	basename "${rel%.xz}" >> "$R/modules.load"
}
for m in nvme e1000e; do
	load_module "$(grep -o "^kernel/[^:]*/$m\.ko\.xz" "$KMODDIR/modules.dep")"
done
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) > "$W/initrd.gz"

# 1 GiB sparse disk: more than the guest's RAM, so the file-server pattern
# does not fit in the page cache.
rm -f "$W/nvme.img" && truncate -s 1G "$W/nvme.img"

rm -f "$W/serial1.txt"
vmc_log "booting the trace guest ($WL); TCG takes minutes"
timeout 1800 nice -n 10 qemu-system-x86_64 -accel tcg -machine q35 -m 512M -smp 2 \
	-nodefaults -no-user-config -display none -monitor none \
	-device intel-iommu,intremap=on,caching-mode=on \
	-kernel "$KIMAGE" -initrd "$W/initrd.gz" \
	-append "console=ttyS0 intel_iommu=on iommu.strict=1 panic=-1 vmc_wl=$WL" \
	-serial stdio -serial "file:$W/serial1.txt" \
	-drive file="$W/nvme.img",if=none,id=nv0,format=raw,cache=unsafe \
	-device nvme,serial=vmc0,drive=nv0 \
	-netdev hubport,id=p0,hubid=0 -device e1000e,netdev=p0,mac=52:54:00:12:34:01 \
	-netdev hubport,id=p1,hubid=0 -device e1000e,netdev=p1,mac=52:54:00:12:34:02 \
	-no-reboot > "$W/console.txt" 2>&1 || vmc_log "qemu exited with $?"

"$VMC_TOP/scripts/trace-guest/split-traces.sh" "$W/serial1.txt" "$DEST"
