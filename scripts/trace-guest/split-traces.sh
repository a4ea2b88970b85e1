#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# split-traces.sh SERIAL DEST: turn the guest's second serial port output
# (scripts/trace-guest/init) into one xz-compressed trace per workload and
# device, in the format of tools/traces/README.
set -euo pipefail
SERIAL=$1
DEST=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tr -d '\r' < "$SERIAL" > "$tmp/serial"

role() { sed -n "s/^=== role $1 //p" "$tmp/serial" | head -n 1; }
NVME=$(role nvme)
ETH0=$(role eth0)
ETH1=$(role eth1)

# emit NAME DEVICE ROLE-DESCRIPTION OUTNAME [DEVICE2]
# With DEVICE2, both devices' events in one trace, as one VM's pin cache
# sees them; DEVICE2's IOVAs (another address space) get 1 << 48 added.
emit() {
	local name=$1 dev=$2 what=$3 raw=$tmp/$1.raw out=$DEST/$4.txt.xz dev2=${5:-}
	[ -s "$raw" ] || return 0
	{
		echo "# vfio-mapcache trace v1: $4"
		echo "# $what; device $dev${dev2:+ and device $dev2 (IOVA + 1 << 48)}; $(grep -m1 "^=== run $name:" "$tmp/serial" | sed 's/^=== //')"
		echo "# recorded by scripts/record-traces.sh on $(date -u +%Y-%m-%d)"
		awk -v dev="$dev" -v dev2="$dev2" '
			$1 == "m" && $5 == dev { printf "m %s %x %s\n", strip($2), $3, strip($4) }
			$1 == "u" && $4 == dev { printf "u %s %x\n", strip($2), $3 }
			$1 == "m" && dev2 != "" && $5 == dev2 { printf "m %s %x %s\n", hi(strip($2)), $3, strip($4) }
			$1 == "u" && dev2 != "" && $4 == dev2 { printf "u %s %x\n", hi(strip($2)), $3 }
			function strip(h) { sub(/^0+/, "", h); return h == "" ? "0" : h }
			function hi(h,   p) { p = sprintf("%12s", h); gsub(/ /, "0", p); return "1" p }
		' "$raw"
	} | xz -9e > "$out"
	echo "$out: $(xz -dc "$out" | grep -c '^[mu]') records"
}

for name in $(sed -n 's/^=== begin //p' "$tmp/serial"); do
	sed -n "/^=== begin $name\$/,/^=== end $name\$/p" "$tmp/serial" |
		sed '1d;$d' | base64 -d | gzip -dc > "$tmp/$name.raw"
	echo "$name: $(wc -l < "$tmp/$name.raw") events, $(grep "^=== overruns $name:" "$tmp/serial")"
	case $name in
	net-*)
		emit "$name" "$ETH0" "e1000e, client side (root netns)" "$name-client"
		emit "$name" "$ETH1" "e1000e, server side (own netns)" "$name-server"
		;;
	mixed)
		emit "$name" "$NVME" "NVMe and e1000e (server side, own netns)" "$name" "$ETH1"
		;;
	*)
		emit "$name" "$NVME" "NVMe" "$name"
		;;
	esac
done
