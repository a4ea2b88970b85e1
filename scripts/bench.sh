#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: boot the guest of one kernel (default: the primary one) once
# and run vmc_bench in it: MAP_DMA + UNMAP_DMA of 4 KiB, 2 MiB and 64 MiB on
# stock vfio_iommu_type1 and on vfio_iommu_mapcache, as medians and a ratio
# (mapcache / type1); then a guest-style workload over a ring of 256 buffers
# in two IOVA patterns (each buffer keeps its IOVA / IOVAs reused as Linux's
# allocator reuses them) on type1 and on each mode of the map-cache, at a
# quota that fits the ring and at half of it.  Figures only: nothing here
# passes or fails on speed.
#
# Usage: scripts/bench.sh [--rounds N] [NAME]
# The full console is in $VMC_OUT/NAME/bench.log.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

rounds=2
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) rounds=$2; shift ;;
	-*) vmc_die "usage: bench.sh [--rounds N] [NAME]" ;;
	*) break ;;
	esac
	shift
done
name=${1:-$(vmc_primary_kernel)}
vmc_kernel_env "$name"
log=$VMC_OUT/$name/bench.log
mkdir -p "$(dirname "$log")"

if ! "$VMC_TOP/scripts/run-guest.sh" --cmd vmc_bench --cmd-args "$rounds" \
	--log "$log" "$name" >&2; then
	vmc_log "bench: the guest run failed (log: $log)"
	status=1
else
	status=0
fi
tr -d '\r' < "$log" | grep -q '^# vmc_bench: done' ||
	{ vmc_log "bench: vmc_bench did not finish (log: $log)"; status=1; }
table=$(tr -d '\r' < "$log" | sed -n '/^# BENCH-TABLE-BEGIN/,/^# BENCH-TABLE-END/p' |
	sed -e '/^# BENCH-TABLE-/d')
[ -n "$table" ] || vmc_die "bench: no table in $log"
echo "vmc_bench on $name ($KREL), MAP_DMA + UNMAP_DMA pair, medians:"
echo "$table"
tr -d '\r' < "$log" | grep -E '^# (4KiB|2MiB|64MiB) ' | sed 's/^# /  /' || true

ring=$(tr -d '\r' < "$log" | sed -n '/^# RING-TABLE-BEGIN/,/^# RING-TABLE-END/p' |
	sed -e '/^# RING-TABLE-/d')
if [ -z "$ring" ]; then
	vmc_log "bench: no ring table in $log"
	exit 1
fi
echo
echo "Guest-style workload: map + unmap of one-page buffers from a ring of 256,"
echo "16 in flight completing in random order; per-request medians in us:"
echo "$ring"
cat <<'EOF'
  fixed = each buffer keeps its IOVA; reuse = the most recently freed IOVA
  goes to the next map (Linux's allocator), i.e. with another page.
  quota: fits = 256 pages (the ring), half = 128 pages; policy lru.
  vs_type1: a run's median pair over type1's in the same round of this boot,
  median over the runs (below 1 = cheaper than type1).
  pins, flush, full, pinhit: pages pinned, IOTLB flushes, full hits and
  pin hits per map+unmap pair, counted by the module over the timed laps.
EOF
tr -d '\r' < "$log" | grep -E '^# ring' | sed 's/^# /  /' || true
exit $status
