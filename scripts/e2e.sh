#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The e2e tier: real, unmodified Debian QEMU as the VMM.  Boots an L1 guest
# (QEMU TCG, emulated VT-d, two emulated NVMe controllers) that loads
# vfio_iommu_mapcache and runs Debian's own qemu-system-x86_64, which
# assigns both controllers to a nested L2 guest; scripts/e2e/l1-run drives
# the scenarios, scripts/e2e/l2-init does the I/O.  Scenarios:
#
#   noviommu      no vIOMMU in L2: QEMU maps all RAM at start
#   viommu        vIOMMU (caching-mode) in L2, default settings
#   viommu-type1  the same L2 on stock vfio_iommu_type1, same L1 boot
#   quota         vIOMMU and a default_quota_bytes far below RAM; L2
#                 reboots once and does its I/O on the second boot
#   reboot-type1  the quota scenario's reboot on stock type1 (not in the
#                 default list: the reference when a reboot goes wrong)
#
# Usage: scripts/e2e.sh [--scenarios LIST] [--jobs N] [--log FILE] [KERNEL]
#   --scenarios   which, in order: "a,b:c" runs a then b in one L1 boot and
#                 c in another (default: viommu-type1,viommu:quota,noviommu)
#   --jobs N      L1 boots at once, one host core each (default 2)
#   --log FILE    the judged output goes there too (default: stdout only)
#   --judge-only  build and boot nothing: judge the logs of the last run
# Prints one "ok N name" / "not ok N name" per check, a table of the
# figures (also in $VMC_OUT/e2e/KERNEL/table.txt), and as its last line
# "e2e KERNEL: N passed, N failed, N skipped".
#
# What is expensive to build (the L2 vmlinux, QEMU and its libraries) is
# cached under $VMC_OUT/e2e/KERNEL/; the module and the L1 initramfs are
# built in $VMC_OUT/e2e, apart from the guest tier's, so that both can run
# at once.  Documentation/mapcache/qemu.rst tells the checks and what QEMU
# sends at each phase.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

SPLAT='BUG:|WARNING:|Oops|Call Trace|general protection'
# Judged thresholds, stated here: after the guest enabled its IOMMU and
# the backend had time to give back what the guest no longer maps, the
# pin cache holds less than SETTLE_PCT% of the L2 RAM.
SETTLE_PCT=10
# How long l1-run waits for pinned_bytes to reach that (the working-set
# window is 10 s by default; two windows and a second are enough).
SETTLE_S=45
# A VM charges its RAM to locked_vm once, whatever its containers; type1
# charges each container.  The checks: "once" below 1.5 x RAM at boot,
# "per container" (type1, two of them) above 1.9 x RAM.
# L2's RAM, the quota scenario's default_quota_bytes (1/16 of it), and the
# 4 KiB blocks L2 reads (twice) and writes.
MEM_MIB=128
QUOTA=$((8 << 20))
IO_BLOCKS=128

scenarios=viommu-type1,viommu:quota,noviommu
jobs=2
outlog=
judge_only=0
while [ $# -gt 0 ]; do
	case $1 in
	--scenarios) scenarios=$2; shift ;;
	--jobs) jobs=$2; shift ;;
	--log) outlog=$2; shift ;;
	--judge-only) judge_only=1 ;;
	-*) vmc_die "usage: e2e.sh [--scenarios LIST] [--jobs N] [--log FILE] [--judge-only] [KERNEL]" ;;
	*) break ;;
	esac
	shift
done
name=${1:-$(vmc_primary_kernel)}
[ -z "$outlog" ] || exec > >(tee "$outlog")

vmc_need_pkgs qemu-system-x86 busybox-static cpio xz-utils zstd kmod gzip
[ -f "$VMC_KCACHE/$name.env" ] || "$VMC_TOP/scripts/fetch-kernels.sh" "$name" >&2
vmc_kernel_env "$name"
E=$VMC_OUT/e2e/$name
mkdir -p "$E"

if [ "$judge_only" = 0 ]; then
# --- build -----------------------------------------------------------------

# The L1 guest is the guest tier's initramfs (vfio modules, our module, the
# test guest's /init), built here in a private output tree.
base=$(VMC_OUT=$VMC_OUT/e2e "$VMC_TOP/scripts/mkinitramfs.sh" "$name")

# cpio_gz DIR OUT: DIR as a gzipped newc archive (appended to another, the
# kernel unpacks both into one rootfs).
cpio_gz() {
	(cd "$1" && find . | sort | cpio -o -H newc --quiet | gzip -1) > "$2.tmp"
	mv "$2.tmp" "$2"
}

# L2 boots the uncompressed kernel through its PVH entry: much faster under
# nested TCG than the bzImage's decompressor.  The bzImage's setup header
# says where its payload (zstd for Debian's 6.x) starts and how long it is;
# the payload's last 4 bytes are the decompressed size, not zstd data.
vmlinux=$E/vmlinux
if [ ! -s "$vmlinux" ] || [ "$KIMAGE" -nt "$vmlinux" ]; then
	hdr() { od -An -tu"$2" -j "$1" -N"$2" "$KIMAGE" | tr -d ' '; }
	[ "$(od -An -c -j $((0x202)) -N4 "$KIMAGE" | tr -d ' ')" = HdrS ] ||
		vmc_die "$KIMAGE: not a bzImage"
	start=$((($(hdr $((0x1f1)) 1) + 1) * 512 + $(hdr $((0x248)) 4)))
	len=$(hdr $((0x24c)) 4)
	[ "$(od -An -tx1 -j "$start" -N4 "$KIMAGE" | tr -d ' ')" = 28b52ffd ] ||
		vmc_die "$KIMAGE: payload is not zstd"
	dd if="$KIMAGE" iflag=skip_bytes,count_bytes bs=1M skip="$start" count=$((len - 4)) 2>/dev/null |
		zstd -qdc > "$vmlinux.tmp"
	[ "$(head -c 4 "$vmlinux.tmp" | od -An -c | tr -d ' ')" = 177ELF ] ||
		vmc_die "$KIMAGE: payload is not an ELF kernel"
	mv "$vmlinux.tmp" "$vmlinux"
	rm -f "$E/part-vmlinux.cpio.gz"
fi
if [ ! -s "$E/part-vmlinux.cpio.gz" ]; then
	rm -rf "$E/root-vmlinux" && mkdir -p "$E/root-vmlinux/e2e"
	ln "$vmlinux" "$E/root-vmlinux/e2e/vmlinux"
	cpio_gz "$E/root-vmlinux" "$E/part-vmlinux.cpio.gz"
	rm -rf "$E/root-vmlinux"
fi

# QEMU as Debian installed it, with every library the loader needs at the
# same path, its TCG accelerator module and the firmware an L2 boot reads.
qemu_files() {
	echo /usr/bin/qemu-system-x86_64
	ldd /usr/bin/qemu-system-x86_64 | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
	echo /usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so
	echo /usr/share/seabios/bios-256k.bin
	echo /usr/share/qemu/qboot.rom
	echo /usr/share/qemu/pvh.bin
	echo /usr/share/qemu/linuxboot_dma.bin
	echo /usr/share/qemu/kvmvapic.bin
}
mapfile -t qf < <(qemu_files)
key=$(ls -lL "${qf[@]}" | md5sum)
if [ ! -s "$E/part-qemu.cpio.gz" ] || [ "$(cat "$E/part-qemu.key" 2>/dev/null)" != "$key" ]; then
	rm -rf "$E/root-qemu"
	for f in "${qf[@]}"; do
		mkdir -p "$E/root-qemu$(dirname "$f")"
		cp -L "$f" "$E/root-qemu$f"
	done
	cpio_gz "$E/root-qemu" "$E/part-qemu.cpio.gz"
	echo "$key" > "$E/part-qemu.key"
	rm -rf "$E/root-qemu"
fi

# The L2 initramfs: busybox, the NVMe driver (dependencies first) and
# scripts/e2e/l2-init; with l1-run it makes the small, always rebuilt part.
[ -f "$KMODDIR/modules.dep" ] || depmod -b "$KROOT/image" "$KREL" ||
	vmc_die "depmod for $KREL failed"
l2=$E/root-l2
rm -rf "$l2" "$E/root-e2e"
mkdir -p "$l2"/{bin,dev,proc,sys,tmp,lib/modules} "$E/root-e2e"/{e2e,tests}
declare -A seen=()
l2_module() {
	local path d
	path=$(grep -oE "^[^:]*/$1\.ko(\.xz|\.zst)?:" "$KMODDIR/modules.dep" | head -n 1 | tr -d :)
	[ -n "$path" ] || vmc_die "module $1 not found for $KREL"
	[ -z "${seen[$path]:-}" ] || return 0
	seen[$path]=1
	for d in $(grep -E "^$path:" "$KMODDIR/modules.dep" | cut -d: -f2); do
		l2_module "$(basename "$d" | sed -E 's/\.ko(\.xz|\.zst)?$//')"
	done
	case $path in
	*.xz) xz -dc "$KMODDIR/$path" ;;
	*.zst) zstd -qdc "$KMODDIR/$path" ;;
	*) cat "$KMODDIR/$path" ;;
	esac > "$l2/lib/modules/$(basename "$path" | sed -E 's/\.(xz|zst)$//')"
}
l2_module nvme
cp /bin/busybox "$l2/bin/busybox"
install -m 0755 "$VMC_TOP/scripts/e2e/l2-init" "$l2/init"
cpio_gz "$l2" "$E/root-e2e/e2e/l2.cpio.gz"
install -m 0755 "$VMC_TOP/scripts/e2e/l1-run" "$E/root-e2e/tests/e2e"
cpio_gz "$E/root-e2e" "$E/part-e2e.cpio.gz"
rm -rf "$l2" "$E/root-e2e"
cat "$base" "$E/part-qemu.cpio.gz" "$E/part-vmlinux.cpio.gz" "$E/part-e2e.cpio.gz" > "$E/l1.cpio.gz"

fi

# --- run -------------------------------------------------------------------

# Disks: a pattern L2 reads (each line numbered, so a misplaced block shows
# in the checksum) and a scratch disk it writes; fresh for each L1 boot.
if [ "$judge_only" = 0 ]; then
	seq -f 'vmc-e2e pattern line %07g' 0 $((IO_BLOCKS * 4096 / 29)) > "$E/pattern.img"
	truncate -s $((IO_BLOCKS * 4096)) "$E/pattern.img"
	truncate -s 16M "$E/pattern.img"
fi
want_read=$(dd if="$E/pattern.img" bs=4096 count=$IO_BLOCKS 2>/dev/null | md5sum | cut -d' ' -f1)

runid=$(date +%s)-$$
IFS=: read -r -a lanes <<< "$scenarios"
# The whole L1 run must end by DEADLINE seconds of L1 uptime (l1-run
# shortens the last QEMU's timeout to fit), so that the tier stays within
# its budget even when every L2 hangs: two scenarios of about 3 minutes
# each, and room for one L2 boot retried after a crash before /init.
L1_DEADLINE=780

# boot_l1 N SCENARIOS: boot L1 number N on its own disks; console in
# $E/lane-N.log, the ioctl records in $E/lane-N.data.
boot_l1() {
	local n=$1 append
	cp "$E/pattern.img" "$E/lane-$n.pattern.img"
	rm -f "$E/lane-$n.scratch.img" "$E/lane-$n.data"
	truncate -s 16M "$E/lane-$n.scratch.img"
	append="console=ttyS0 intel_iommu=on loglevel=3 oops=panic panic=-1 vmc.mapcache=1 vmc.cmd=e2e"
	append+=" e2e.scen=$2 e2e.run=$runid-$n e2e.mem=$MEM_MIB e2e.settle=$SETTLE_PCT"
	append+=" e2e.settle_s=$SETTLE_S e2e.quota=$QUOTA e2e.deadline=$L1_DEADLINE"
	append+=" e2e.blocks=$IO_BLOCKS ${VMC_E2E_L1ARGS:-}"
	# One TCG thread (multi-threaded TCG trips over the kernel patching
	# its text, and l1-run patches it for kprobes): one host core per L1.
	# One vCPU: with two, about one L2 boot in four, on type1 as on the
	# map-cache, crashed early with garbage in its EFLAGS; with one, none
	# did in 28 (Documentation/mapcache/qemu.rst, "Early L2 crashes").
	timeout -k 10 $((L1_DEADLINE + 60)) qemu-system-x86_64 -accel tcg,thread=single \
		-machine q35 -m 1G -smp 1 -device intel-iommu,intremap=on \
		-drive file="$E/lane-$n.pattern.img",if=none,id=pat,format=raw \
		-device nvme,serial=vmc-e2e-pat,drive=pat \
		-drive file="$E/lane-$n.scratch.img",if=none,id=scr,format=raw \
		-device nvme,serial=vmc-e2e-scr,drive=scr \
		-kernel "$KIMAGE" -initrd "$E/l1.cpio.gz" -append "$append" \
		-display none -monitor none -serial stdio -serial "file:$E/lane-$n.data" -no-reboot \
		> "$E/lane-$n.log" 2>&1 < /dev/null || true
}

# Each L1 boot is one single-threaded QEMU, so JOBS of them keep JOBS host
# cores busy; the default scenario split runs the long pole (the quota
# scenario's two L2 boots) beside the two vIOMMU runs.
start=$(date +%s)
pids=()
[ "$judge_only" = 0 ] || lanes=()
for i in "${!lanes[@]}"; do
	if [ ${#pids[@]} -ge "$jobs" ]; then
		wait "${pids[0]}" || true
		pids=("${pids[@]:1}")
	fi
	vmc_log "e2e $name: L1 boot $i: ${lanes[$i]} (console $E/lane-$i.log)"
	boot_l1 "$i" "${lanes[$i]}" &
	pids+=($!)
done
wait || true
elapsed=$(($(date +%s) - start))
vmc_log "e2e $name: L1 boots finished in ${elapsed}s"
[ "$judge_only" = 0 ] || { IFS=: read -r -a lanes <<< "$scenarios"; elapsed=-; }

# --- judge -----------------------------------------------------------------

ntest=0 npass=0 nfail=0
results=()
# result OK NAME [DETAIL]: one check's line; OK is 1 or 0.
result() {
	ntest=$((ntest + 1))
	if [ "$1" = 1 ]; then
		results+=("ok $ntest $2${3:+ # $3}")
		npass=$((npass + 1))
	else
		results+=("not ok $ntest $2${3:+ # $3}")
		nfail=$((nfail + 1))
	fi
}

# fact SCEN KEY: what l1-run reported (the last value), or "-".
fact() {
	local v
	v=$(awk -v s="$1" -v k="$2" '$1 == "E2E-FACT" && $2 == s && $3 == k { v = $4 } END { print v }' <<< "$clean")
	echo "${v:--}"
}
num() { [[ $1 =~ ^[0-9]+$ ]]; }
mib() { num "$1" && awk -v v="$1" -v d="$2" 'BEGIN { printf "%.1f", v / d }' || echo -; }
pct() { num "$1" && awk -v v="$1" -v r="$((MEM_MIB << 20))" 'BEGIN { printf "%.1f%%", 100 * v / r }' || echo -; }

# calls SCEN: its MAP_DMA/UNMAP_DMA records from the data ports.
calls() { cat "$E"/lane-*.data 2>/dev/null | tr -d '\r' | sed -n "/^E2E-TRACE-BEGIN $1\$/,/^E2E-TRACE-END $1\$/p"; }

ram=$((MEM_MIB << 20))
all_clean=
for i in "${!lanes[@]}"; do
	clean=$(tr -d '\r' < "$E/lane-$i.log")
	all_clean+=$clean$'\n'
	l1=$(grep -v -E '^\[(l2|qemu) ' <<< "$clean" || true)
	ok=0
	grep -q '^E2E-L1-DONE' <<< "$l1" && grep -q VMC-GUEST-DONE <<< "$l1" && ok=1
	result $ok "L1 boot $i (${lanes[$i]}) ran to its end" "$(grep -m1 '^E2E-FACT - setup-error' <<< "$l1" | cut -d' ' -f4-)"
	splat=$(grep -m1 -E "$SPLAT" <<< "$l1" || true)
	ok=0 && [ -z "$splat" ] && ok=1
	result $ok "L1 boot $i: no kernel splat on the L1 console" "$splat"

	for s in ${lanes[$i]//,/ }; do
		# An L2 that crashed before /init was run once more: the
		# crash fails a check of its own, the others judge the retry.
		lines=$(sed -n "s/^\[l2 $s\] //p" <<< "$clean" |
			awk '/^E2E-RETRY/ { n = 0; next } { l[n++] = $0 } END { for (i = 0; i < n; i++) print l[i] }')
		retried=$(fact "$s" retried)
		ok=0 why="crashed before /init (RIP $retried); the checks below judge the retry"
		[ "$retried" = - ] && ok=1 why=
		result $ok "$s: the L2 kernel reached /init at its first boot" "$why"
		backend=$(fact "$s" backend)
		rc=$(fact "$s" qemu_rc)
		ok=0 && grep -q '^E2E-L2 end' <<< "$lines" && [ "$rc" = 0 ] && ok=1
		result $ok "$s: L2 ran to its end and QEMU exited 0" "qemu rc $rc"
		read -r _ _ r1 r2 < <(grep -m1 '^E2E-L2 read ' <<< "$lines" || echo - - - -)
		ok=0 && [ "$r1" = "$want_read" ] && [ "$r2" = "$want_read" ] && ok=1
		result $ok "$s: L2 read the pattern disk right, twice"
		wsum=$(grep -m1 '^E2E-L2 write-read ok ' <<< "$lines" | cut -d' ' -f4 || true)
		ok=0 && [ -n "$wsum" ] && ok=1
		result $ok "$s: L2 wrote the scratch disk and read it back"
		wr=$(fact "$s" wr_block)
		l0sum=-
		! num "$wr" || l0sum=$(dd if="$E/lane-$i.scratch.img" bs=4096 skip="$wr" count=$IO_BLOCKS 2>/dev/null |
			md5sum | cut -d' ' -f1)
		ok=0 && [ -n "$wsum" ] && [ "$l0sum" = "$wsum" ] && ok=1
		result $ok "$s: L0 finds L2's writes on the scratch image"
		s2=$(grep -m1 -E "$SPLAT" <<< "$lines" || true)
		ok=0 && [ -z "$s2" ] && ok=1
		result $ok "$s: no kernel splat on the L2 console" "$s2"
		qerr=$(sed -n "s/^\[qemu $s\] //p" <<< "$clean" | grep -i -m1 -E 'vfio|dma' || true)
		ok=0 && [ -z "$qerr" ] && ok=1
		result $ok "$s: QEMU's stderr mentions neither vfio nor DMA" "$qerr"

		if [ "$backend" = mapcache ] && [ "$s" != noviommu ]; then
			p=$(fact "$s" settled_pinned_bytes)
			ok=0 && num "$p" && ((p < SETTLE_PCT * ram / 100)) && ok=1
			result $ok "$s: pinned_bytes settles below $SETTLE_PCT% of RAM" \
				"$(pct "$p") after $(fact "$s" settle_wait_s)s"
		fi
		b=$(fact "$s" vmlck_boot_peak_kb)
		if [ "$s" = viommu ]; then
			# Two containers, one VM: its RAM is locked once.
			ok=0 && num "$b" && ((b * 1024 * 2 < ram * 3)) && ok=1
			result $ok "$s: VmLck at boot below 1.5 x RAM: two containers charge the VM once" \
				"boot peak $(mib "$b" 1024) MiB"
		elif [ "$s" = viommu-type1 ]; then
			# The reference the figures are compared with: type1 charges
			# each container for all of RAM.
			ok=0 && num "$b" && ((b * 1024 * 10 > ram * 19)) && ok=1
			result $ok "$s: VmLck at boot above 1.9 x RAM: type1 charges per container" \
				"boot peak $(mib "$b" 1024) MiB"
		fi
		if [ "$s" = quota ]; then
			boots=$(fact "$s" boots)
			ok=0 && [ "$boots" = 2 ] && grep -q '^E2E-L2 second-boot' <<< "$lines" && ok=1
			result $ok "$s: L2 booted, rebooted and booted again with a $((QUOTA >> 20)) MiB quota" "boots $boots"
			for n in 1 2; do
				pk=$(fact "$s" "boot${n}_peak_pinned_bytes")
				rs=$(fact "$s" "boot${n}_reset_peak_pinned_bytes")
				ok=0 && [ "$rs" = ok ] && num "$pk" && ((pk <= QUOTA)) && ok=1
				result $ok "$s: boot $n: peak_pinned_bytes within the quota once the guest's IOMMU is on" \
					"peak $pk, peak reset $rs"
			done
		fi
	done
	if grep -q '^E2E-FACT - total_pinned_pages ' <<< "$clean"; then
		tp=$(fact - total_pinned_pages)
		ok=0 && [ "$tp" = 0 ] && ok=1
		result $ok "L1 boot $i: every page the backend pinned is unpinned once QEMU exited" "pinned_pages $tp"
	fi
done
clean=$all_clean

echo "TAP version 13"
echo "1..$ntest"
printf '%s\n' "${results[@]}"

# --- figures ---------------------------------------------------------------

# phases SCEN: its calls as "PHASE OP DUR_US RET SIZE" lines, sizes in
# bytes.  PHASE is boot (QEMU start until QEMU unmaps more than the RAM at
# once: the guest turned its IOMMU on), on (from there to L2's /init: the
# rest of its kernel's boot), run (/init to L2's "settle"), reset (a guest
# reboot until QEMU maps most of the RAM again, then boot again) or exit
# (QEMU's teardown after "settle").
phases() {
	calls "$1" | awk -v ram=$((MEM_MIB << 20)) '
		function hex(s,   i, v) {
			v = 0; s = tolower(s); sub(/^0x/, "", s)
			for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
			return v
		}
		# First pass: the records, the markers, and for each boot the
		# last whole-RAM map (the switch comes after it).
		BEGIN { n = 0 }
		/^# / { mk[n] = (n in mk ? mk[n] "\n" : "") $0; next }
		NF < 7 { next }
		{
			op[n] = $1; dur[n] = $3; ret[n] = $4
			size[n] = hex($1 == "M" ? $7 : $6)
			if ($1 == "M" && size[n] > ram / 2) bigmap[n] = 1
			n++
		}
		END {
			ph = "boot"
			for (i = 0; i <= n; i++) {
				m = (i in mk) ? split(mk[i], ms, "\n") : 0
				for (k = 1; k <= m; k++) {
					if (ms[k] ~ / l2-init /) ph = "run"
					else if (ms[k] ~ / reboot$/) ph = "reset"
					else if (ms[k] ~ / settle$/) ph = "exit"
				}
				if (i == n) break
				if (ph == "reset" && (i in bigmap)) ph = "boot"
				if (ph == "boot" && op[i] == "U" && size[i] > ram && !later_bigmap(i)) ph = "on"
				printf "%s %s %d %d %.0f\n", ph, op[i], dur[i], ret[i], size[i]
			}
		}
		# later_bigmap I: a whole-RAM map follows I before the next marker.
		function later_bigmap(i,   j) {
			for (j = i + 1; j < n && !(j in mk); j++) if (j in bigmap) return 1
			return 0
		}'
}

# calls_sum SCEN PHASES: count, failed, total ms, us per call and MiB of
# the MAP_DMA calls, then the same of the UNMAP_DMA calls, in the phases
# that match the regular expression PHASES.
calls_sum() {
	phases "$1" | awk -v p="^($2)\$" '
		$1 !~ p { next }
		{ n[$2]++; t[$2] += $3; if ($4 != 0) f[$2]++; else b[$2] += $5 }
		END {
			for (k = 0; k < 2; k++) {
				c = k ? "U" : "M"
				printf "%d %d %.1f %.1f %.1f ", n[c], f[c], t[c] / 1000, n[c] ? t[c] / n[c] : 0, b[c] / 1048576
			}
			print ""
		}'
}

# calls_hist SCEN: how many calls of each size, per phase and kind.
calls_hist() {
	phases "$1" | awk '{ k = $1 " " ($2 == "M" ? "MAP_DMA" : "UNMAP_DMA") " " $5 " " ($4 ? "failed" : "ok"); n[k]++ }
		END { for (k in n) print k, n[k] }' | sort -k1,1 -k2,2 -k3,3n |
		awk -v s="$1" '{ printf "  %-13s %-5s %-9s %14.0f bytes %-6s x %d\n", s, $1, $2, $3, $4, $5 }'
}

fact_of() { fact "$2" "$1"; }
vm_mib() { mib "$(fact "$2" "$1")" 1024; }
pinned_pct() { pct "$(fact "$1" settled_pinned_bytes)"; }
# cs PHASE FIELD SCEN: one figure of calls_sum; cs2 shows "count (failed)".
cs() { local a; read -r -a a < <(calls_sum "$3" "$1"); echo "${a[$2]:--}"; }
cs2() { local a; read -r -a a < <(calls_sum "$3" "$1"); echo "${a[$2]:-0} (${a[$(($2 + 1))]:-0})"; }
ioctl_ms() { local a; read -r -a a < <(calls_sum "$1" 'boot|on|run'); awk -v a="${a[2]:-0}" -v b="${a[7]:-0}" 'BEGIN { printf "%.1f", a + b }'; }
retries() { [ "$(fact "$1" retried)" = - ] && echo 0 || echo 1; }
l2_init() { local v; v=$(sed -n "s/^\[l2 $1\] E2E-L2 init \([0-9.]*\) .*/\1/p" <<< "$clean" | head -n 1); echo "${v:--}"; }

table=$E/table.txt
{
	echo "e2e figures: kernel $KREL; L2 with ${MEM_MIB} MiB RAM and two assigned NVMe"
	echo "controllers, $IO_BLOCKS x 4 KiB read twice, written and read back; ioctl times"
	echo "from kprobes in L1 (printed, never judged); L1 boots took ${elapsed}s"
	printf '%-40s' ""
	for s in ${scenarios//[,:]/ }; do printf ' %13s' "$s"; done
	echo
	row() {
		local label=$1 s
		shift
		printf '%-40s' "$label"
		for s in ${scenarios//[,:]/ }; do printf ' %13s' "$("$@" "$s")"; done
		echo
	}
	row "backend" fact_of backend
	row "boot: MAP_DMA calls (failed)" cs2 boot 0
	row "boot: MiB mapped" cs boot 4
	row "boot: MAP_DMA ms total" cs boot 2
	row "boot: UNMAP_DMA calls" cs boot 5
	row "IOMMU switch: UNMAP_DMA calls" cs on 5
	row "guest reset: UNMAP_DMA calls" cs reset 5
	row "IOMMU switch: MAP_DMA calls (failed)" cs2 on 0
	row "I/O: MAP_DMA calls (failed)" cs2 run 0
	row "I/O: UNMAP_DMA calls" cs run 5
	row "I/O: MAP_DMA us per call" cs run 3
	row "I/O: UNMAP_DMA us per call" cs run 8
	row "MAP+UNMAP ioctl time to settle, ms" ioctl_ms
	row "VmLck boot peak MiB" vm_mib vmlck_boot_peak_kb
	row "VmLck settled MiB" vm_mib settled_vmlck_kb
	row "pinned_bytes settled (% of RAM)" pinned_pct
	row "pins (pages)" fact_of stat_pins
	row "pin hits (pages)" fact_of stat_pin_hits
	row "misses (pages)" fact_of stat_misses
	row "evictions (pages)" fact_of stat_evictions
	row "L2 kernel start to /init, s" l2_init
	row "L2 QEMU start to exit, s" fact_of wall_s
	row "L2 boots retried (crash before /init)" retries
} > "$table.tmp"
mv "$table.tmp" "$table"
echo
cat "$table"
echo
echo "MAP_DMA/UNMAP_DMA calls by phase and size:"
for s in ${scenarios//[,:]/ }; do calls_hist "$s"; done
echo "e2e $name: $npass passed, $nfail failed, 0 skipped"
[ "$nfail" -eq 0 ]
