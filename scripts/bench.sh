#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: boot the guest of one kernel (default: the primary one) once
# and run vmc_bench in it:
#  - MAP_DMA + UNMAP_DMA of 4 KiB, 2 MiB and 64 MiB on stock
#    vfio_iommu_type1 and on vfio_iommu_mapcache, as medians and a ratio
#    (mapcache / type1);
#  - a guest-style workload over a ring of 256 buffers in two IOVA patterns
#    (each buffer keeps its IOVA / IOVAs reused as Linux's allocator reuses
#    them) on type1 and on each mode of the map-cache, at a quota that fits
#    the ring and at half of it;
#  - a replay of every recorded trace of tools/traces on type1 and on the
#    map-cache in each mode at 25/50/100% of the trace's working set, with
#    plain ioctls and with the batch ioctl (VFIO_MAPCACHE_BATCH);
#  - where the time of a strict-mode pin hit goes: a one-page pair against
#    two no-op ioctls, and its profile under the function_graph tracer;
#  - large maps as QEMU makes them for a VM without a vIOMMU: cold MAP_DMA
#    of 256 MiB, 1 GiB and 4 GiB from 4 KiB pages, THP and hugetlbfs (2 MiB
#    and 1 GiB pages), warm re-map, UNMAP_DMA and container close, in modes
#    strict and off against type1, and the kernel memory each map took
#    (/proc/meminfo for both backends, debugfs vm-<pid>/memory for ours).
#    The guest gets LARGE_MEM of RAM (6G) and 1 GiB pages (-cpu
#    qemu64,+pdpe1gb) when this section runs.
# Then, on the host, tools/mapcache-sim replays the same traces with the
# same policies and quotas, and the kernel's hit rates are compared with it.
# Figures only: nothing here passes or fails on speed.
#
# Usage: scripts/bench.sh [--rounds N] [--trace-rounds N] [--records N]
#                         [--large-rounds N] [--sections srtlh] [NAME]
#   --records N   replay only the first N records of each trace (default: all)
#   --large-rounds N  rounds of the large maps (default 3)
#   --sections    any of s (sizes), r (ring), t (traces), l (large maps),
#                 h (pin hit); default srtlh.  "--sections lh" runs only
#                 the rows of issue 13.
# The summary ends with one "bench: <name> <ratio>" line per target of
# issue 13 (e.g. "bench: map-1g-4k-strict 3.21": time or memory over
# type1's in the same boot; the target is at most 1.00).
# The full console is in $VMC_OUT/NAME/bench.log.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

rounds=2 trace_rounds=5 records=0 sections=srtlh large_rounds=3
LARGE_MEM=${LARGE_MEM:-6G}
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) rounds=$2; shift ;;
	--trace-rounds) trace_rounds=$2; shift ;;
	--records) records=$2; shift ;;
	--sections) sections=$2; shift ;;
	--large-rounds) large_rounds=$2; shift ;;
	-*) vmc_die "usage: bench.sh [--rounds N] [--trace-rounds N] [--records N] [--large-rounds N] [--sections srtlh] [NAME]" ;;
	*) break ;;
	esac
	shift
done
name=${1:-$(vmc_primary_kernel)}
vmc_need_pkgs xz-utils
[ -f "$VMC_KCACHE/$name.env" ] || "$VMC_TOP/scripts/fetch-kernels.sh" "$name" >&2
vmc_kernel_env "$name"
log=$VMC_OUT/$name/bench.log
mkdir -p "$(dirname "$log")"

# The traces, as the guest replays them (in /data, see mkinitramfs.sh) and
# as the simulator reads them afterwards.
traces=$VMC_OUT/$name/bench-traces
data=$VMC_OUT/guest-data
rm -rf "$traces" "$data"
mkdir -p "$traces"
if [[ $sections == *t* ]]; then
	for src in "$VMC_TOP"/tools/traces/*.txt.xz; do
		t=$(basename "$src" .txt.xz)
		if [ "$records" -gt 0 ]; then
			xz -dc "$src" | awk -v n="$records" '/^#/ { print; next } ++k <= n' > "$traces/$t.txt"
		else
			xz -dc "$src" > "$traces/$t.txt"
		fi
	done
	cp -r "$traces" "$data"
fi

guest_args=()
[[ $sections != *l* ]] || guest_args=(--mem "$LARGE_MEM" --cpu qemu64,+pdpe1gb)
start=$(date +%s)
status=0
"$VMC_TOP/scripts/run-guest.sh" --cmd vmc_bench "${guest_args[@]}" \
	--cmd-args "-s,$sections,-t,$trace_rounds,-L,$large_rounds,$rounds" \
	--timeout 3600 --log "$log" "$name" >&2 || status=1
elapsed=$(($(date +%s) - start))
# Only this run's initramfs carries the traces.
rm -rf "$data"
clean=$(tr -d '\r' < "$log")
grep -q '^# vmc_bench: done' <<< "$clean" ||
	{ vmc_log "bench: vmc_bench did not finish (log: $log)"; status=1; }

# show NAME LINE...: LINE... then the lines between "# NAME-BEGIN" and
# "# NAME-END" of the log (every such block).
show() {
	local b
	b=$(sed -n "/^# $1-BEGIN/,/^# $1-END/p" <<< "$clean" | sed -e "/^# $1-/d")
	[ -n "$b" ] || vmc_die "bench: no $1 in $log"
	shift
	printf '\n'
	printf '%s\n' "$@" "$b"
}

echo "vmc_bench on $name ($KREL), one guest boot of ${elapsed}s"
if [[ $sections == *s* ]]; then
	show BENCH-TABLE "MAP_DMA + UNMAP_DMA pair, medians:"
	grep -E '^# (4KiB|2MiB|64MiB) ' <<< "$clean" | sed 's/^# /  /' || true
fi

if [[ $sections == *r* ]]; then
	show RING-TABLE \
		"Guest-style workload: map + unmap of one-page buffers from a ring of 256," \
		"16 in flight completing in random order; per-request medians in us:"
	cat <<'EOT'
  fixed = each buffer keeps its IOVA; reuse = the most recently freed IOVA
  goes to the next map (Linux's allocator), i.e. with another page.
  quota: fits = 256 pages (the ring), half = 128 pages; policy lru.
  +pb: each completion's unmap rides on the next map, both in one
  VFIO_MAPCACHE_BATCH call (a VMM piggybacking a guest's unmaps); its pair
  is that one call, shown as unmap_us.
  vs_type1: a run's median pair over type1's in the same round of this boot,
  median over the runs (below 1 = cheaper than type1).
  pins, flush, full, pinhit: pages pinned, IOTLB flushes, full hits and
  pin hits per map+unmap pair, counted by the module over the timed laps.
  bulk_us: a pair's mean over one more lap timed as a whole, without the
  two clock reads per request that the medians carry; bulk_vs: its ratio
  to type1's bulk lap, median over the runs.
EOT
	grep -E '^# ring' <<< "$clean" | sed 's/^# /  /' || true
fi

summary() {
	if [[ $sections == *h* ]]; then
		show HIT-TABLE "Where a strict-mode pin hit goes: MAP_DMA + UNMAP_DMA of one page," \
			"medians of 2000 pairs, against two no-op ioctls (VFIO_CHECK_EXTENSION):"
		! grep -q '^# HIT-PROFILE-BEGIN' <<< "$clean" || show HIT-PROFILE ""
		grep -E '^# hit: ' <<< "$clean" | sed 's/^# /  /' || true
	fi
	if [[ $sections == *l* ]] && grep -q '^# LARGE-TABLE-BEGIN' <<< "$clean"; then
		show LARGE-TABLE "Large maps (a VM without a vIOMMU), medians over $large_rounds rounds, ms;" \
			"ratio: median over rounds of the op's time over type1's in the same round:"
		show LARGE-MEM "Kernel memory per pinned GiB, KiB: change of Slab + VmallocUsed +" \
			"SecPageTables (/proc/meminfo) over the cold map, median; ratio to type1's" \
			"(at least 4 KiB); debugfs: the module's own count (vm-<pid>/memory," \
			"bytes_per_pinned_gib, strict), its vmc_pins, xarray nodes and pin arrays:"
		grep -E '^# large' <<< "$clean" | sed 's/^# /  /' || true
	fi
	if grep -q '^bench: ' <<< "$clean"; then
		echo
		echo "Targets of issue 13 (at most 1.00 each):"
		grep '^bench: ' <<< "$clean"
	fi
}

if [[ $sections != *t* ]]; then
	summary
	echo
	echo "Full log: $log"
	exit $status
fi
show TRACE-TABLE "Replay of the recorded traces (tools/traces)$([ "$records" -eq 0 ] ||
	echo ", first $records records of each"), $trace_rounds rounds:"
cat <<'EOT'

  mode/policy/quota: the map-cache's, quota as a share of the trace's working
  set (its distinct pages); "-" in mode = stock type1.
  submit: plain = one MAP_DMA or UNMAP_DMA ioctl per request (QEMU today);
  piggyback = one VFIO_MAPCACHE_BATCH per map, carrying the unmaps queued
  since the previous map; windowN = batches of N consecutive requests;
  plain+pf = plain with the module's prefetch on.
  vs_type1: time per request over type1's in the same round, median of the
  rounds (below 1 = cheaper).  hit%: (pin hits + full hits) per page mapped.
  pins: pages pinned.  fl/unpg: IOTLB flushes per page unmapped.  peak_MiB:
  most memory pinned at once (type1: most mapped at once).  batch: requests
  per VFIO_MAPCACHE_BATCH.  "refused": maps over quota (live pages fill it).
EOT
show TRACE-SUMMARY "Strict mode at 50% of the working set, per trace:"
echo "  * maps that failed: the module admits maps above the quota, so none should for it."

# Kernel vs simulator: the same trace file, policy and quota in pages.
vmc_log "bench: building tools/mapcache-sim"
sim=$VMC_OUT/mapcache-sim/mapcache-sim
make -s -C "$VMC_TOP/tools/mapcache-sim" OUT="$VMC_OUT/mapcache-sim" VMC_CACHE="$VMC_CACHE" \
	>&2 || vmc_die "bench: cannot build mapcache-sim"
echo
echo "Kernel vs mapcache-sim (same trace, policy and quota in pages; plain ioctls):"
printf '%-16s %-6s %-8s %7s %8s %8s %7s  %s\n' trace mode policy quota kernel% sim% delta note
worst=0 flagged=0 compared=0
while read -r _ _ trace mode policy pf depth quota ws maps hits refused; do
	pol=$policy args=()
	if [ "$pf" = 1 ]; then
		pol=$policy+pf
		# The module's fixed knobs (drivers/vfio/mapcache/pcprefetch.c).
		args=(--pf-succ 2 --pf-width 2 --pf-max 8 --pf-nodes 4)
		[ "$depth" -lt 0 ] || args+=(--pf-depth "$depth")
	fi
	csv=$VMC_OUT/$name/sim-row.csv
	"$sim" --quiet -p "$pol" -q "$(awk -v q="$quota" -v w="$ws" 'BEGIN { printf "%.12f", q / w }')" \
		-c "$csv" "${args[@]}" "$traces/$trace.txt" > /dev/null ||
		vmc_die "bench: mapcache-sim failed on $trace"
	# trace,policy,quota_frac,quota_pages,maps,full,pin,misses,evictions,
	# peak_pinned,peak_live,over_quota,...,pin_hit_pct
	IFS=, read -r _ _ _ squota smaps _ spin _ _ _ _ sover _ < <(sed -n 2p "$csv")
	read -r kpct spct delta < <(awk -v h="$hits" -v m="$maps" -v s="$spin" -v sm="$smaps" \
		'BEGIN { k = 100 * h / m; x = 100 * s / sm; printf "%.2f %.2f %+.2f\n", k, x, k - x }')
	note=
	if [ "$squota" != "$quota" ] || [ "$smaps" != "$maps" ]; then
		note="streams differ (sim quota $squota, page maps $smaps)"
	elif [ "$refused" -gt 0 ]; then
		note="$refused maps failed in the module (not for the quota): not compared"
	else
		# Live pages above the quota are compared too: both admit the
		# map and evict back at the unmap (policy.h, vmc_quota_excess()).
		[ "$sover" -gt 0 ] && note="over quota ($sover pages admitted above it)"
		compared=$((compared + 1))
		if awk -v d="$delta" 'BEGIN { exit !(d > 1 || d < -1) }'; then
			note="DELTA > 1 POINT${note:+; $note}"
			flagged=$((flagged + 1))
		fi
		worst=$(awk -v d="$delta" -v w="$worst" 'BEGIN { d += 0; d = d < 0 ? -d : d; print (d > w ? d : w) }')
	fi
	printf '%-16s %-6s %-8s %7s %8s %8s %7s  %s\n' "$trace" "$mode" "$pol" "$quota" \
		"$kpct" "$spct" "$delta" "$note"
done < <(grep '^# simcmp ' <<< "$clean")
rm -f "$VMC_OUT/$name/sim-row.csv"
echo "  $compared rows compared, $flagged off by more than 1 point; largest |delta| $worst points."
grep '^# simcmp ' <<< "$clean" | awk '$6 == 1' | grep -q . ||
	echo "  prefetch (strict lru at 50%): n/a (the module has no /sys/kernel/vfio_mapcache/<pid>/prefetch)"
summary
echo
echo "Full log: $log"
[ "$status" -eq 0 ] || vmc_log "bench: the guest run failed (log: $log)"
exit $status
