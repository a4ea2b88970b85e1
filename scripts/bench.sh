#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: boot the guest of one kernel (default: the primary one) once
# and run vmc_bench in it: MAP_DMA + UNMAP_DMA of 4 KiB, 2 MiB and 64 MiB on
# stock vfio_iommu_type1 and on vfio_iommu_mapcache, as medians and a ratio
# (mapcache / type1).  Figures only: nothing here passes or fails on speed.
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
table=$(tr -d '\r' < "$log" | sed -n '/^# BENCH-TABLE-BEGIN/,/^# BENCH-TABLE-END/p' |
	sed -e '/^# BENCH-TABLE-/d')
[ -n "$table" ] || vmc_die "bench: no table in $log"
echo "vmc_bench on $name ($KREL), MAP_DMA + UNMAP_DMA pair, medians:"
echo "$table"
tr -d '\r' < "$log" | grep -E '^# (4KiB|2MiB|64MiB) ' | sed 's/^# /  /' || true
exit $status
