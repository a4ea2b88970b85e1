#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`: boot one QEMU guest (default: the primary kernel), load
# vfio_iommu_mapcache, and replay DMA map/unmap streams as host MAP_DMA /
# UNMAP_DMA requests through stock vfio_iommu_type1 and through the
# map-cache in each mode, quota and policy (tools/testing/selftests/
# vfio_mapcache/vmc_demo.c).  Prints one table per stream: what each
# configuration pinned, hit and flushed, and its time per request as a
# ratio to type1 measured in the same boot.
#
# The streams: a small trace recorded from a real Linux driver
# (tools/traces/, default net-bulk-client: the e1000e of a TCP sender) and
# a synthetic one with Linux's IOVA reuse.
#
# Its last part is a reduced e2e tier (scripts/e2e.sh): Debian's QEMU in
# the guest assigns two emulated NVMe controllers to a nested guest with a
# vIOMMU, once on stock type1 and once on the map-cache, and the table of
# what each backend was asked, pinned and locked comes last.
#
# Usage: scripts/demo.sh [--trace NAME] [--rounds N] [--no-e2e] [KERNEL]
# Exits non-zero if the guest run fails or the e2e part produced no
# figures.  Full console: $VMC_OUT/KERNEL/demo.log.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

trace=net-bulk-client rounds=5 e2e=1
while [ $# -gt 0 ]; do
	case $1 in
	--trace) trace=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--no-e2e) e2e=0 ;;
	-*) vmc_die "usage: demo.sh [--trace NAME] [--rounds N] [--no-e2e] [KERNEL]" ;;
	*) break ;;
	esac
	shift
done
name=${1:-$(vmc_primary_kernel)}
src=$VMC_TOP/tools/traces/$trace.txt.xz
[ -f "$src" ] || vmc_die "no trace $src"
vmc_need_pkgs xz-utils
[ -f "$VMC_KCACHE/$name.env" ] || "$VMC_TOP/scripts/fetch-kernels.sh" "$name" >&2
vmc_kernel_env "$name"
log=$VMC_OUT/$name/demo.log
mkdir -p "$(dirname "$log")"

# The guest finds the trace in /data (scripts/mkinitramfs.sh copies
# $VMC_OUT/guest-data there).
data=$VMC_OUT/guest-data
rm -rf "$data"
mkdir -p "$data"
xz -dc "$src" > "$data/$trace.txt"

start=$(date +%s)
status=0
"$VMC_TOP/scripts/run-guest.sh" --cmd vmc_demo --cmd-args "-r,$rounds" \
	--timeout 600 --log "$log" "$name" >&2 || status=1
elapsed=$(($(date +%s) - start))
# Only this run's initramfs carries the trace.
rm -rf "$data"

clean=$(tr -d '\r' < "$log")
table=$(sed -n '/^# DEMO-BEGIN/,/^# DEMO-END/p' <<< "$clean" | sed -e '/^# DEMO-/d')
grep -q '^# vmc_demo: ok' <<< "$clean" || status=1
if [ -z "$table" ]; then
	grep '^# vmc_demo' <<< "$clean" >&2 || true
	vmc_log "demo: no table in $log"
	exit 1
fi

cat <<EOF
vfio-mapcache demo: kernel $KREL in a QEMU guest (TCG, emulated VT-d),
$(grep -m1 '^# vmc_demo: [0-9]* patterns' <<< "$clean" | sed 's/^# vmc_demo: //'); guest run ${elapsed}s.
Each row replays the same DMA map/unmap stream as host VFIO MAP_DMA/UNMAP_DMA
requests, as QEMU issues them for a guest with a vIOMMU (one per guest
dma_map / dma_unmap).
EOF
echo "$table"
grep '^# vmc_demo: ' <<< "$clean" | grep -v -E 'round [0-9]+ done|patterns x' |
	sed 's/^# /  /' || true
echo
echo "Full log: $log"
[ "$status" -eq 0 ] || vmc_log "demo: the guest run failed (log: $log)"

# The last part: real QEMU, one L1 boot with the vIOMMU two-device L2 on
# both backends (one host core; about five minutes).
if [ "$e2e" = 1 ]; then
	e2elog=$VMC_OUT/$name/demo-e2e.log
	echo
	echo "Real QEMU: Debian's qemu-system-x86_64 in the guest assigns two emulated"
	echo "NVMe controllers to a nested guest with a vIOMMU (caching-mode), once on"
	echo "stock vfio_iommu_type1 and once on vfio_iommu_mapcache, in one boot:"
	"$VMC_TOP/scripts/e2e.sh" --scenarios viommu-type1,viommu --jobs 1 "$name" > "$e2elog" 2>&1 || true
	table=$VMC_OUT/e2e/$name/table.txt
	if [ -s "$table" ] && [ "$table" -nt "$log" ]; then
		sed 1,3d "$table"
		echo "$(tail -n 1 "$e2elog") (checks and calls by size: $e2elog)"
		grep '^not ok ' "$e2elog" | sed 's/^/  /' || true
	else
		tail -n 20 "$e2elog" >&2
		vmc_log "demo: the e2e part produced no figures (log: $e2elog)"
		status=1
	fi
fi
exit $status
