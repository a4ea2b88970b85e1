#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: every test tier on every kernel of the matrix.
#
#   unit   host-side unit tests of the policy core (kselftest harness)
#   lint   checkpatch --strict and kernel-doc on our kernel sources, a
#          W=1 C=1 (sparse) build per kernel, the layout of vfio_core.h
#          against each kernel's own vfio.h, and the one-sentence refusal of
#          a kernel without the legacy VFIO container; any warning fails
#   guest  the kselftests in a QEMU guest with an emulated VT-d, per kernel
#          (guest and install: VMC_LANES kernels at a time, default 2)
#   install  per kernel, the admin guide's DKMS install in a Debian root of
#          the kernel's release, booted by that kernel: dkms install,
#          modprobe through the modprobe.d snippet, a container, modprobe -r
#          (scripts/install-test.sh; the roots are made in the background
#          from the start of the run, at a CPU priority below the guests')
#   debug  the guest suite on the primary kernel's debug kernel (KASAN,
#          lockdep, kmemleak, ...: scripts/build-debug-kernel.sh builds it
#          once, in the background from the start of the run, at the lowest
#          CPU priority), split over VMC_LANES guests; or on the debug
#          kernels of the kernels named with --kernel
#   e2e    Debian's QEMU as the VMM in a guest, assigning emulated NVMe to a
#          nested guest (scripts/e2e.sh); the primary kernel only, unless
#          kernels are named with --kernel
#
# Usage: scripts/check.sh [--tier unit|lint|guest|install|e2e|debug]... [--kernel NAME]...
# Installs the Debian packages it needs, fetches the kernels, prints a line
# per tier and ends with "N passed, N failed, N skipped".

set -uo pipefail
. "$(dirname "$0")/lib.sh"

tiers=() kernels=()
while [ $# -gt 0 ]; do
	case $1 in
	--tier) tiers+=("$2"); shift ;;
	--kernel) kernels+=("$2"); shift ;;
	*) vmc_die "usage: check.sh [--tier unit|lint|guest|install|e2e|debug]... [--kernel NAME]..." ;;
	esac
	shift
done
[ ${#tiers[@]} -gt 0 ] || tiers=(unit lint guest install e2e debug)
# The e2e tier's nested boots take minutes, and a debug kernel takes a
# build: the primary kernel by default.
e2e_kernels=("${kernels[@]}")
[ ${#e2e_kernels[@]} -gt 0 ] || e2e_kernels=("$(vmc_primary_kernel)")
[ ${#kernels[@]} -gt 0 ] || mapfile -t kernels < <(vmc_kernel_names)

total_pass=0 total_fail=0 total_skip=0
declare -a order=()
declare -A tp=() tf=() ts=()
mkdir -p "$VMC_OUT"

# count TIER PASS FAIL SKIP: add to the totals and the per-tier summary.
count() {
	[ -n "${tp[$1]+x}" ] || { order+=("$1"); tp[$1]=0 tf[$1]=0 ts[$1]=0; }
	tp[$1]=$((tp[$1] + $2)) tf[$1]=$((tf[$1] + $3)) ts[$1]=$((ts[$1] + $4))
	total_pass=$((total_pass + $2))
	total_fail=$((total_fail + $3))
	total_skip=$((total_skip + $4))
}

# one TIER NAME CMD...: a check that passes or fails as a whole (and
# returns its status).
one() {
	local tier=$1 what=$2 log
	shift 2
	log=$VMC_OUT/check-$(echo "$tier-$what" | tr -c 'A-Za-z0-9.\n-' _).log
	if "$@" > "$log" 2>&1; then
		echo "ok   $tier: $what"
		count "$tier" 1 0 0
	else
		echo "FAIL $tier: $what (log: $log)"
		sed 's/^/     | /' "$log" | tail -n 25
		count "$tier" 0 1 0
		return 1
	fi
}

# ktap_count TIER LOG: count the ok / not ok / SKIP lines a harness printed.
ktap_count() {
	local p f s
	p=$(grep -cE '^ok [0-9]+ ' "$2" | head -n 1)
	s=$(grep -cE '^ok [0-9]+ .*# SKIP' "$2" | head -n 1)
	f=$(grep -cE '^not ok [0-9]+ ' "$2" | head -n 1)
	count "$1" $((p - s)) "$f" "$s"
}

tier_unit() {
	local dir=$VMC_TOP/tools/testing/selftests/vfio_mapcache/policy log=$VMC_OUT/check-unit.log
	if [ ! -f "$dir/Makefile" ]; then
		echo "unit: no unit tests yet"
		return
	fi
	vmc_need_pkgs gcc make libc6-dev
	# The tests build against tools/include and rbtree.c of the primary kernel.
	"$VMC_TOP/scripts/fetch-kernels.sh" "$(vmc_primary_kernel)" > "$VMC_OUT/fetch.log" 2>&1 ||
		{ cat "$VMC_OUT/fetch.log"; count unit 0 1 0; return; }
	if make -s -C "$dir" run_tests > "$log" 2>&1; then
		echo "ok   unit: policy core (log: $log)"
	else
		echo "FAIL unit: policy core (log: $log)"
		grep -E '^not ok|error' "$log" | head -n 20
		grep -qE '^(not )?ok [0-9]+ ' "$log" || count unit 0 1 0
	fi
	ktap_count unit "$log"
}

# Our kernel sources: what checkpatch and kernel-doc look at.
kernel_sources() {
	(cd "$VMC_TOP" && git ls-files -co --exclude-standard -- 'drivers/*.[ch]' 'include/*.h' |
		grep -v '\.mod\.c$' | sort)
}

# compat.h and vfio_core.h are where version checks belong in a
# multi-kernel module.
checkpatch() {
	local out ignore=FILE_PATH_CHANGES,SPDX_LICENSE_TAG
	case $(basename "$1") in
	compat.h|vfio_core.h) ignore+=,LINUX_VERSION_CODE,CONSTANT_COMPARISON ;;
	# Its macros take member names, which cannot be parenthesized.
	vfio_core_check.c) ignore+=,MACRO_ARG_REUSE,MACRO_ARG_PRECEDENCE ;;
	esac
	out=$(perl "$KSRC/scripts/checkpatch.pl" --no-tree --strict --terse --show-types \
		--ignore "$ignore" -f "$1" 2>&1)
	echo "$out"
	! echo "$out" | grep -qE '(ERROR|WARNING|CHECK):'
}

kerneldoc() {
	local out
	out=$(perl "$KSRC/scripts/kernel-doc" -none -Wall "$1" 2>&1)
	[ -z "$out" ] || { echo "$out"; return 1; }
}

# A clean W=1 C=1 build; any compiler or sparse diagnostic fails it, and
# so does a kernel Makefile that turned sparse off (7.x: "C=1 specified,
# but sparse is not available or not up to date").
w1_build() {
	local out
	rm -rf "$VMC_OUT/$1/build"
	out=$("$VMC_TOP/scripts/build-module.sh" "$1" W=1 C=1 CHECK="$VMC_TOP/scripts/sparse.sh" \
		2>&1 >/dev/null) || { echo "$out"; return 1; }
	echo "$out"
	! echo "$out" | grep -v 'Skipping BTF generation' | grep -qE 'warning|error|:[0-9]+:[0-9]+: |C=1 specified'
}

# vfio_core.h against the kernel's own drivers/vfio/vfio.h (from its
# linux-source): vfio_core_check.c compiles only if the layouts are equal.
vfio_layout() {
	local out
	vmc_kernel_env "$1"
	out=$("$VMC_TOP/scripts/build-module.sh" --target drivers/vfio/mapcache/vfio_core_check.o \
		"$1" W=1 VMC_VFIO_H_DIR="$KSRC/drivers/vfio" 2>&1) || { echo "$out"; return 1; }
	echo "$out"
	[ -z "$out" ] && [ -f "$VMC_OUT/$1/build/drivers/vfio/mapcache/vfio_core_check.o" ]
}

# A kernel whose /dev/vfio/vfio is iommufd's (CONFIG_VFIO_CONTAINER=n,
# CONFIG_IOMMUFD_VFIO_CONTAINER=y): the primary kernel's headers with that
# configuration, as a tree of links.  The build must stop at once with one
# sentence that says why: no compiler run, no unresolved symbols.
no_container() {
	local shadow=$VMC_OUT/no-container out
	vmc_kernel_env "$(vmc_primary_kernel)"
	rm -rf "$shadow"
	mkdir -p "$shadow"
	cp -as "$KDIR" "$shadow/hdr"
	rm "$shadow/hdr/include/config/auto.conf"
	sed -E '/^CONFIG_(VFIO_CONTAINER|VFIO_IOMMU_TYPE1)=/d' "$KDIR/include/config/auto.conf" \
		> "$shadow/hdr/include/config/auto.conf"
	echo CONFIG_IOMMUFD_VFIO_CONTAINER=y >> "$shadow/hdr/include/config/auto.conf"
	(cd "$VMC_TOP" && git ls-files -co --exclude-standard Kbuild drivers include |
		cpio -pdm --quiet "$shadow/src")
	out=$(make -C "$shadow/hdr" M="$shadow/src" modules 2>&1) &&
		{ echo "$out"; echo "the build went through"; return 1; }
	echo "$out"
	[ "$(grep -c '\*\*\* .*  Stop\.$' <<< "$out")" -eq 1 ] &&
		grep -q "iommufd's compatibility container" <<< "$out" &&
		! grep -qE 'CC \[M\]|undefined' <<< "$out"
}

tier_lint() {
	local f k
	vmc_need_pkgs sparse gcc-12 make dwarves perl cpio
	"$VMC_TOP/scripts/fetch-kernels.sh" "${kernels[@]}" > "$VMC_OUT/fetch.log" 2>&1 ||
		{ cat "$VMC_OUT/fetch.log"; count lint 0 1 0; return; }
	# checkpatch and kernel-doc of the primary kernel judge the sources.
	vmc_kernel_env "$(vmc_primary_kernel)"
	for f in $(kernel_sources); do
		one lint "checkpatch $f" checkpatch "$VMC_TOP/$f"
		one lint "kernel-doc $f" kerneldoc "$VMC_TOP/$f"
	done
	for k in "${kernels[@]}"; do
		one lint "W=1 C=1 build for $k" w1_build "$k"
		one lint "vfio_core.h layout for $k" vfio_layout "$k"
	done
	one lint "refusal of a kernel without the legacy VFIO container" no_container
}

# summary LOG: set p, f, s from LOG's last line, "N passed, N failed, N
# skipped"; without it, print LOG's tail and count one failure.
summary() {
	if [[ $(tail -n 1 "$1") =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]]; then
		p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]} s=${BASH_REMATCH[3]}
	else
		tail -n 20 "$1"
		p=0 f=1 s=0
	fi
}

# why_failed CONSOLE: for each failed test in a guest CONSOLE, the last
# lines its harness printed before the verdict (the failed assertion, its
# TH_LOG, the figures before it), so that CI's output says why.
why_failed() {
	[ -f "$1" ] || return 0
	tr -d '\r' < "$1" | awk '
		/^#  RUN / { n = 0; next }
		/^# (klog |VMC-)/ { next }
		/^#  +FAIL / {
			for (i = (n > 12 ? n - 12 : 0); i < n; i++) print "     | " buf[i % 12]
			print "     | " $0
			n = 0; next
		}
		/^# / { buf[n % 12] = $0; n++ }' | head -n 60
}

# tally LABEL LOG CONSOLE: LOG's failure lines and last line, counted as
# LABEL.
tally() {
	local p f s
	grep -E '^FAIL' "$2" | head -n 40
	! grep -qE '^FAIL' "$2" || why_failed "$3"
	echo "     $(tail -n 1 "$2") (log: $2, console: $3)"
	summary "$2"
	count "$1" "$p" "$f" "$s"
}

# in_lanes CMD K...: CMD K for each kernel, VMC_LANES of them at a time
# (default 2: the CI machine's cores, each guest being one TCG thread).
# CMD writes its own log; callers read the logs in order afterwards.  Only
# its own jobs count and are waited for: the debug kernel's build runs in
# the background meanwhile.
in_lanes() {
	local cmd=$1 k p pids=() running
	shift
	for k in "$@"; do
		while :; do
			running=()
			for p in "${pids[@]}"; do
				! jobs -rp | grep -qx "$p" || running+=("$p")
			done
			[ ${#running[@]} -ge "${VMC_LANES:-2}" ] || break
			wait -n "${running[@]}" || sleep 1
		done
		"$cmd" "$k" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p"
	done
}

# The guests' test binaries, built once before guests are built in lanes.
build_tests() {
	make -s -C "$VMC_TOP/tools/testing/selftests/vfio_mapcache" OUTPUT="$VMC_OUT/tests" all \
		> "$VMC_OUT/tests-build.log" 2>&1 || cat "$VMC_OUT/tests-build.log"
}

guest_one() { "$VMC_TOP/scripts/run-guest.sh" "$1" > "$VMC_OUT/check-guest-$1.log" 2>&1; }

# The install tier: one line per step in the guest, counted like the
# guest tier's.  Its roots (a Debian chroot each, the headers package, a
# dkms build) are made in the background from the start of the run, below
# the guests' CPU priority and above the debug kernel's build.
install_prep_start() {
	local k
	for k in "${kernels[@]}"; do
		rm -f "$VMC_OUT/$k/install-root.ready"
	done
	(
		for k in "${kernels[@]}"; do
			nice -n 10 "$VMC_TOP/scripts/install-test.sh" --prepare "$k" \
				> "$VMC_OUT/install-prep-$k.log" 2>&1
		done
	) &
	install_prep_pid=$!
}

install_one() {
	local log=$VMC_OUT/check-install-$1.log

	cat "$VMC_OUT/install-prep-$1.log" > "$log" 2>&1
	"$VMC_TOP/scripts/install-test.sh" --prepared "$1" >> "$log" 2>&1
}

# per_kernel TIER: TIER_one on every kernel, in lanes, then each kernel's
# log counted as "TIER NAME" (guest, install).
per_kernel() {
	local tier=$1 k
	"$VMC_TOP/scripts/fetch-kernels.sh" "${kernels[@]}" > "$VMC_OUT/fetch.log" 2>&1 ||
		{ cat "$VMC_OUT/fetch.log"; count "$tier" 0 1 0; return; }
	build_tests
	rm -f "$VMC_OUT/check-$tier"-*.log
	in_lanes "${tier}_one" "${kernels[@]}"
	for k in "${kernels[@]}"; do
		tally "$tier $k" "$VMC_OUT/check-$tier-$k.log" "$VMC_OUT/$k/$tier.log"
	done
}

tier_guest() { per_kernel guest; }
tier_install() {
	[ -n "${install_prep_pid:-}" ] || install_prep_start
	wait "$install_prep_pid" || true
	per_kernel install
}

# The debug kernels are built in the background from the start of the run,
# at the lowest CPU priority, so that the build takes what the guests of
# the other tiers leave idle; tier_debug waits for it.
debug_build_start() {
	local k
	mkdir -p "$VMC_OUT/debug"
	(
		"$VMC_TOP/scripts/fetch-kernels.sh" "${e2e_kernels[@]}" > "$VMC_OUT/debug/fetch.log" 2>&1
		for k in "${e2e_kernels[@]}"; do
			t0=$(date +%s)
			nice -n 19 "$VMC_TOP/scripts/build-debug-kernel.sh" "$k" \
				> "$VMC_OUT/debug/build-$k.log" 2>&1
			echo "$? $(($(date +%s) - t0))" > "$VMC_OUT/debug/build-$k.status"
		done
	) &
	debug_build_pid=$!
}

# Seconds each test binary took on the debug kernel (a fresh clone's
# make check of 2026-12-04 on a 2-core machine): what the shards are
# balanced by.  A binary not listed counts as 30.
declare -A DEBUG_COST=(
	[vfio_failnth_test]=349 [vfio_stress_test]=182 [vfio_vm_test]=70
	[vfio_diff_test]=70 [vfio_shrink_test]=61 [vfio_batch_test]=52
	[vfio_abi_test]=39 [vfio_cache_test]=32 [vfio_pfnmap_test]=31
	[vfio_fuzz_test]=25 [vfio_prefetch_test]=19 [vfio_dma_test]=15
	[vfio_lifecycle_test]=10 [vfio_unload_test]=26 [vfio_trace_test]=2
	[vfio_dirty_test]=1 [vfio_hugepage_test]=52 [vfio_extent_test]=22
)

# debug_shard NAME:N: shard N of VMC_LANES of the suite on kernel
# NAME-debug.  Binaries go, costliest first, to the shard with the least
# cost so far; each shard runs its own in the suite's order, so that
# vfio_unload_test stays the last of its guest.
debug_shard() {
	local k=${1%:*} n=${1##*:} lanes=${VMC_LANES:-2} t i best all=() list=()
	local -a load=()
	local -A shard=()
	all=($(make -s -C "$VMC_TOP/tools/testing/selftests/vfio_mapcache" print-tests))
	for ((i = 0; i < lanes; i++)); do load[i]=0; done
	for t in $(for t in "${all[@]}"; do echo "${DEBUG_COST[$t]:-30} $t"; done |
		   sort -k1,1nr -k2 | cut -d' ' -f2); do
		best=0
		for ((i = 1; i < lanes; i++)); do
			[ "${load[i]}" -ge "${load[best]}" ] || best=$i
		done
		shard[$t]=$best
		load[best]=$((load[best] + ${DEBUG_COST[$t]:-30}))
	done
	for t in "${all[@]}"; do
		[ "${shard[$t]}" -ne "$n" ] || list+=("$t")
	done
	"$VMC_TOP/scripts/run-guest.sh" --no-build --tests "$(IFS=,; echo "${list[*]}")" \
		--log "$VMC_OUT/$k-debug/guest-$n.log" "$k-debug" > "$VMC_OUT/check-debug-$k-$n.log" 2>&1
}

# The debug tier: the build (one check: a failed build is one failure,
# with the tail of its log), then the whole guest suite on it, in
# VMC_LANES guests at once; the shards add up to one line.
tier_debug() {
	local k n st shards=() log p f s P F S
	[ -n "${debug_build_pid:-}" ] || debug_build_start
	wait "$debug_build_pid"
	for k in "${e2e_kernels[@]}"; do
		st=$(cat "$VMC_OUT/debug/build-$k.status" 2>/dev/null || echo "1 0")
		if [ "${st% *}" -ne 0 ]; then
			echo "FAIL debug: build of kernel $k-debug"
			tail -n 30 "$VMC_OUT/debug/build-$k.log"
			count debug 0 1 0
			continue
		fi
		count debug 1 0 0
		echo "     kernel $k-debug built or up to date in ${st#* }s (log: $VMC_OUT/debug/build-$k.log)"
		build_tests
		"$VMC_TOP/scripts/mkinitramfs.sh" "$k-debug" > "$VMC_OUT/debug/initramfs-$k.log" 2>&1 ||
			{ cat "$VMC_OUT/debug/initramfs-$k.log"; count "guest $k-debug" 0 1 0; continue; }
		shards=()
		rm -f "$VMC_OUT/check-debug-$k"-*.log
		for ((n = 0; n < ${VMC_LANES:-2}; n++)); do shards+=("$k:$n"); done
		in_lanes debug_shard "${shards[@]}"
		P=0 F=0 S=0
		for ((n = 0; n < ${VMC_LANES:-2}; n++)); do
			log=$VMC_OUT/check-debug-$k-$n.log
			grep -E '^FAIL' "$log" | head -n 20
			! grep -qE '^FAIL' "$log" || why_failed "$VMC_OUT/$k-debug/guest-$n.log"
			summary "$log"
			P=$((P + p)) F=$((F + f)) S=$((S + s))
		done
		log=$VMC_OUT/check-debug-$k.log
		echo "guest $k-debug: $P passed, $F failed, $S skipped" > "$log"
		echo "     $(cat "$log") (logs: $VMC_OUT/check-debug-$k-*.log, consoles: $VMC_OUT/$k-debug/guest-*.log)"
		count "guest $k-debug" "$P" "$F" "$S"
	done
}

# The e2e tier: its own ok / not ok lines, counted like the guest tier's;
# the figures table goes to the output too.
tier_e2e() {
	local k log line p f s t0
	"$VMC_TOP/scripts/fetch-kernels.sh" "${e2e_kernels[@]}" > "$VMC_OUT/fetch.log" 2>&1 ||
		{ cat "$VMC_OUT/fetch.log"; count e2e 0 1 0; return; }
	for k in "${e2e_kernels[@]}"; do
		log=$VMC_OUT/check-e2e-$k.log
		t0=$(date +%s)
		"$VMC_TOP/scripts/e2e.sh" "$k" > "$log" 2>&1
		grep -E '^not ok ' "$log" | sed 's/^/FAIL /' | head -n 40
		line=$(tail -n 1 "$log")
		echo "     $line in $(($(date +%s) - t0))s (log: $log, consoles: $VMC_OUT/e2e/$k/lane-*.log)"
		summary "$log"
		[ ! -f "$VMC_OUT/e2e/$k/table.txt" ] || sed 's/^/     | /' "$VMC_OUT/e2e/$k/table.txt"
		count "e2e $k" "$p" "$f" "$s"
	done
}

start=$(date +%s)
[[ " ${tiers[*]} " != *" debug "* ]] || debug_build_start
[[ " ${tiers[*]} " != *" install "* ]] || install_prep_start
for t in "${tiers[@]}"; do
	case $t in
	unit|lint|guest|install|e2e|debug) echo "== tier $t"; "tier_$t" ;;
	*) vmc_die "unknown tier $t" ;;
	esac
done
echo "== summary ($(($(date +%s) - start))s)"
for t in "${order[@]}"; do
	printf '%-12s %d passed, %d failed, %d skipped\n' "$t:" "${tp[$t]}" "${tf[$t]}" "${ts[$t]}"
done
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
