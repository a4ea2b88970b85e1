#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the test guest of one kernel under QEMU TCG with an emulated Intel VT-d
# and three edu devices, collect the console and QEMU's DMAR-fault trace in one
# log, and judge the run.
#
# Usage: scripts/run-guest.sh [options] NAME
#   --tests a,b        test binaries to run (default: all)
#   --cmd NAME         run /tests/NAME (demo, bench) instead of the tests
#   --cmd-args a,b     arguments for --cmd
#   --caching-mode     intel-iommu,caching-mode=on (as with a vIOMMU for VFIO)
#   --no-mapcache      do not load vfio_iommu_mapcache.ko in the guest
#   --timeout SEC      kill QEMU after SEC seconds (default 900; 2400 for a
#                      debug kernel, one built with KASAN or lockdep, whose
#                      tests also get 10 times their harness timeouts)
#   --log FILE         where the log goes (default out/NAME/guest.log)
#   --no-build         reuse out/NAME/initramfs.cpio.gz
#   --env VAR=VALUE    set VAR in the tests' environment (repeatable; no
#                      spaces; e.g. VMC_FUZZ_SEED=123 to replay a fuzz seed)
#   --mem SIZE         guest RAM, as QEMU's -m (default 1G)
#   --cpu MODEL        QEMU's -cpu (default: QEMU's own, qemu64); e.g.
#                      qemu64,+pdpe1gb for 1 GiB pages in the guest
#   --append ARGS      more guest kernel command line (one word, or quoted)
#
# A test run without --mem and --cpu gets 2560M of RAM, a CPU with 1 GiB
# pages (qemu64,+pdpe1gb) and huge pages reserved on the command line for
# vfio_hugepage_test: one of 1 GiB and four of 2 MiB.  With that much, q35
# puts all RAM below 4 GiB and leaves [1 GiB, 2 GiB) free for the 1 GiB
# page (the initramfs sits at the top); with 2 GiB it does not fit, and
# more RAM makes the debug kernel's kmemleak scans (of every struct page)
# longer.
#
# VMC_QEMU_TRACE=PATTERN adds a QEMU trace event pattern to the log (e.g.
# 'vtd_inv_desc_iotlb*' to see the IOTLB invalidations the guest issues).
#
# The run fails when the sentinel is missing, the console shows a splat
# (also the reports of KASAN, lockdep, DEBUG_OBJECTS and kmemleak, which
# only a debug kernel prints), a test fails, a test binary leaked kernel
# memory (kmemleak, counted as one failure of that binary), a test that
# declared "VMC-EXPECT-DMAR-FAULTS n" (n > 0) saw no DMAR fault in QEMU's
# trace, or a test that declared none saw one.
# The last line is "guest NAME: N passed, N failed, N skipped".

set -euo pipefail
. "$(dirname "$0")/lib.sh"

SPLAT='BUG:|WARNING:|Oops|Call Trace|general protection|Kernel panic'
# What the debug kernel's checkers print besides BUG: and WARNING: lines.
SPLAT+='|KASAN|possible circular locking|inconsistent lock state|possible recursive locking'
SPLAT+='|suspicious RCU usage|sleeping function called from invalid context|non-static key'
SPLAT+='|unreferenced object|ODEBUG'
tests= cmd= cmd_args= cm= mapcache=1 timeout= log= build=1 envs= mem= cpu=() extra=

while [ $# -gt 1 ]; do
	case $1 in
	--tests) tests=$2; shift ;;
	--cmd) cmd=$2; shift ;;
	--cmd-args) cmd_args=$2; shift ;;
	--caching-mode) cm=,caching-mode=on ;;
	--no-mapcache) mapcache=0 ;;
	--timeout) timeout=$2; shift ;;
	--log) log=$2; shift ;;
	--no-build) build=0 ;;
	--mem) mem=$2; shift ;;
	--cpu) cpu=(-cpu "$2"); shift ;;
	--append) extra+=" $2"; shift ;;
	--env)
		[[ $2 =~ ^[A-Z_][A-Z0-9_]*=[^[:space:]]*$ ]] || vmc_die "--env wants VAR=VALUE, not '$2'"
		envs+=" $2"; shift ;;
	*) vmc_die "unknown option $1" ;;
	esac
	shift
done
name=${1:?usage: run-guest.sh [options] NAME}
vmc_need_pkgs qemu-system-x86
vmc_kernel_env "$name"
log=${log:-$VMC_OUT/$name/guest.log}
# KASAN and lockdep under TCG: the suite takes several times as long, and
# the tests' own hang guards (harness timeouts) are stretched as much.
DEBUG_SLOWDOWN=10
debug=0
! grep -qE '^CONFIG_(KASAN|PROVE_LOCKING)=y' "$KROOT/image/boot/config-$KREL" 2>/dev/null || debug=1
[ -n "$timeout" ] || timeout=$((debug ? 2400 : 900))
mkdir -p "$(dirname "$log")"

if [ "$build" -eq 1 ]; then
	initrd=$("$VMC_TOP/scripts/mkinitramfs.sh" "$name")
else
	initrd=$VMC_OUT/$name/initramfs.cpio.gz
fi

append="console=ttyS0 intel_iommu=on loglevel=3 oops=panic panic=-1 vmc.mapcache=$mapcache"
[ "$debug" -eq 0 ] || append+=" vmc.timeout_scale=$DEBUG_SLOWDOWN"
# The random generators run shorter there: every path, fewer draws (one
# seed of vfio_diff_test, not two; 2000 fuzz calls, not 6000).
if [ "$debug" -eq 1 ]; then
	[[ $envs == *VMC_DIFF_SEEDS=* ]] || append+=" VMC_DIFF_SEEDS=1"
	[[ $envs == *VMC_FUZZ_OPS=* ]] || append+=" VMC_FUZZ_OPS=2000"
fi
[ -z "$tests" ] || append+=" vmc.tests=$tests"
[ -z "$cmd" ] || append+=" vmc.cmd=$cmd"
[ -z "$cmd_args" ] || append+=" vmc.cmd_args=$cmd_args"
if [ -z "$cmd" ] && [ -z "$mem" ] && [ ${#cpu[@]} -eq 0 ]; then
	mem=2560M cpu=(-cpu qemu64,+pdpe1gb)
	append+=" hugepagesz=1G hugepages=1 hugepagesz=2M hugepages=4"
fi
mem=${mem:-1G}
# The kernel hands NAME=VALUE parameters it does not know to /init's environment.
append+=$envs$extra

vmc_log "guest $name: booting $KREL (timeout ${timeout}s, log $log)"
start=$(date +%s)
# One TCG thread for both vCPUs: multi-threaded TCG occasionally trips over
# the kernel patching its own text at boot (an int3 Oops before /init).
# Console on stdout and the QEMU trace on stderr share one open file, so a
# DMAR fault lands in the log next to the test that caused it.
# Three edu devices, each its own IOMMU group: two containers of one VM
# and a second VM at once (vfio_stress_test).
timeout -k 10 "$timeout" qemu-system-x86_64 -accel tcg,thread=single -machine q35 -m "$mem" -smp 2 \
	"${cpu[@]}" \
	-device "intel-iommu,intremap=on$cm" -device edu -device edu -device edu \
	-kernel "$KIMAGE" -initrd "$initrd" -append "$append" \
	-display none -monitor none -serial stdio -no-reboot \
	-trace vtd_dmar_fault ${VMC_QEMU_TRACE:+-trace "$VMC_QEMU_TRACE"} \
	> "$log" 2>&1 < /dev/null || true
vmc_log "guest $name: finished in $(($(date +%s) - start))s"

# Judge the log.  Subtest lines come from the nested kselftest output.
tr -d '\r' < "$log" | awk -v name="$name" -v splat="$SPLAT" -v cmd="$cmd" '
function result(ok, skip, what) {
	if (skip) { nskip++; return }
	if (ok) npass++; else { nfail++; print "FAIL: " what }
}
/VMC-GUEST-DONE/ { done = 1 }
# A binary writes its own KTAP straight to the console, between these two
# lines of /init: its results are the subtests of that binary.
/^# selftests: / { bin = $NF; inbin = 1 }
/^# VMC: .* ran for / { inbin = 0 }
/^VMC-DMESG-BEGIN/ { bin = ""; inbin = 0 }
# Leaks are the failure of the binary the guest names; the report follows.
/^# VMC-KMEMLEAK / {
	t = $3; sub(/:$/, "", t); m = $0; sub(/^# VMC-KMEMLEAK [^ ]+ /, "", m)
	result(0, 0, t ": kmemleak: " m)
	next
}
/^# kmemleak/ { next }
$0 ~ splat {
	if (!splats++) print "FAIL: console splat" (bin != "" ? " during " bin : "") ": " $0
}
/vtd_dmar_fault/ { if (cur != "") faults++; else stray++; next }
inbin && /^#  RUN / { cur = $3; faults = 0; expect = 0; next }
/VMC-EXPECT-DMAR-FAULTS/ { expect = $NF + 0; next }
inbin && /^(not )?ok [0-9]+ / {
	ok = ($1 == "ok"); skip = / # SKIP/
	t = ok ? $3 : $4
	if (ok && !skip && expect > 0 && faults == 0) {
		print "FAIL: " t ": expected a DMAR fault, QEMU traced none"; ok = 0
	}
	if (ok && !skip && expect == 0 && faults > 0) {
		print "FAIL: " t ": " faults " unexpected DMAR fault(s)"; ok = 0
	}
	result(ok, skip, t); subtests++; cur = ""
	next
}
/^(not )?ok [0-9]+ selftests: / {
	# A binary that died without reporting its tests counts once.
	if ($1 == "not" && subtests == 0) result(0, 0, $0)
	subtests = 0
}
END {
	if (!done) { print "FAIL: no sentinel (guest crashed or timed out)"; nfail++ }
	if (splats) nfail++
	if (stray) { print "FAIL: " stray " DMAR fault(s) outside any test"; nfail++ }
	if (cmd == "" && npass + nfail + nskip == 0) { print "FAIL: no test ran"; nfail++ }
	printf "guest %s: %d passed, %d failed, %d skipped\n", name, npass, nfail, nskip
	exit nfail ? 1 : 0
}'
