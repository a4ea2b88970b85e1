#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# A Debian root of one release, for what the host cannot do itself: build
# for kernels whose headers need another release's toolchain (Debian 13's
# 7.x: gcc 14, and kbuild tools linked against its libc), and serve as the
# root file system of the install test's guest (scripts/install-test.sh).
#
# Made once with debootstrap (minbase, then the toolchain of the release,
# sparse, pahole, kmod and dkms from its archive), kept as a tarball in the
# cache ($VMC_CACHE/chroot/RELEASE.tar.zst) and unpacked next to it for use.
# Builds never write into it; install tests work on copies (--untar).
#
# Usage: scripts/chroot.sh RELEASE                print the chroot's path
#        scripts/chroot.sh --untar RELEASE DIR    a pristine copy in DIR
#        scripts/chroot.sh --run RELEASE CMD...   run CMD in the chroot
#        scripts/chroot.sh --run-in DIR CMD...    run CMD in another root
#
# CMD sees the source tree, $VMC_CACHE and $VMC_OUT at their own paths (bind
# mounts in a private mount namespace, gone when CMD ends), starts in the
# current directory and keeps the environment (PATH is the root's).

set -euo pipefail
. "$(dirname "$0")/lib.sh"

CHROOTS=$VMC_CACHE/chroot

# The packages of each release's root besides minbase.  gcc-NN is the
# compiler the release's kernel headers ask for.
pkgs_for() {
	local common="make libc6-dev sparse kmod xz-utils zstd bc dkms openssl"
	case $1 in
	bookworm) echo "$common gcc-12 dwarves libelf1 libssl3" ;;
	trixie) echo "$common gcc-14 pahole libelf1t64 libssl3t64" ;;
	*) vmc_die "no package list for Debian release $1 in scripts/chroot.sh" ;;
	esac
}

# run_in ROOT CMD...: CMD in ROOT with the project's directories bound in.
run_in() {
	local root=$1
	shift
	mkdir -p "$VMC_OUT"
	unshare -m --propagation private -- bash -c '
		set -e
		root=$1 cwd=$2
		shift 2
		mount -t proc proc "$root/proc"
		mount --rbind /dev "$root/dev"
		mount -t tmpfs tmp "$root/tmp"
		while [ "$1" != -- ]; do
			mkdir -p "$root$1"
			mount --bind "$1" "$root$1"
			shift
		done
		shift
		cp /etc/resolv.conf "$root/etc/resolv.conf"
		exec chroot "$root" /usr/bin/env PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			/bin/sh -c '\''cd "$0" 2>/dev/null || cd /; exec "$@"'\'' "$cwd" "$@"
	' run_in "$root" "$PWD" "$VMC_TOP" "$VMC_CACHE" "$VMC_OUT" -- "$@"
}

# current RELEASE: is the cached root made with today's package list?
current() { [ "$(cat "$CHROOTS/$1.packages" 2>/dev/null)" = "$(pkgs_for "$1")" ]; }

# make_root RELEASE: debootstrap, install, pack.  Called with the lock held.
make_root() {
	local rel=$1 tmp=$CHROOTS/$1.tmp t0=$SECONDS
	vmc_need_pkgs debootstrap zstd
	rm -rf "$tmp"
	mkdir -p "$tmp"
	vmc_log "chroot $rel: debootstrap (minbase)"
	debootstrap --variant=minbase "$rel" "$tmp" http://deb.debian.org/debian \
		> "$CHROOTS/$rel.log" 2>&1 ||
		{ tail -n 20 "$CHROOTS/$rel.log" >&2; vmc_die "debootstrap $rel failed (log: $CHROOTS/$rel.log)"; }
	vmc_apt_sources "$rel" > "$tmp/etc/apt/sources.list"
	# No daemons start in a chroot.
	printf '#!/bin/sh\nexit 101\n' > "$tmp/usr/sbin/policy-rc.d"
	chmod 0755 "$tmp/usr/sbin/policy-rc.d"
	vmc_log "chroot $rel: installing $(pkgs_for "$rel")"
	# shellcheck disable=SC2046
	run_in "$tmp" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "$@" && apt-get clean' \
		sh $(pkgs_for "$rel") >> "$CHROOTS/$rel.log" 2>&1 ||
		{ tail -n 20 "$CHROOTS/$rel.log" >&2; vmc_die "package install in the $rel chroot failed"; }
	# Package lists age: whoever needs apt in a copy updates them.
	rm -rf "$tmp"/var/lib/apt/lists/*
	vmc_log "chroot $rel: packing $CHROOTS/$rel.tar.zst"
	tar -C "$tmp" --numeric-owner -cf - . | zstd -q -T0 -3 > "$CHROOTS/$rel.tar.zst.tmp"
	mv "$CHROOTS/$rel.tar.zst.tmp" "$CHROOTS/$rel.tar.zst"
	pkgs_for "$rel" > "$CHROOTS/$rel.packages"
	touch "$tmp/.complete"
	rm -rf "${CHROOTS:?}/$rel"
	mv "$tmp" "$CHROOTS/$rel"
	vmc_log "chroot $rel: made in $((SECONDS - t0))s"
}

# untar RELEASE DIR: unpack the cached tarball into DIR.
untar() {
	rm -rf "$2"
	mkdir -p "$2"
	zstd -q -dc "$CHROOTS/$1.tar.zst" | tar -C "$2" --numeric-owner -xf -
}

# ready RELEASE: make sure the unpacked chroot is there; print its path.
ready() {
	local rel=$1
	mkdir -p "$CHROOTS"
	exec 9> "$CHROOTS/$rel.lock"
	flock 9
	# A root made with another package list is made again.
	current "$rel" || rm -rf "${CHROOTS:?}/$rel" "$CHROOTS/$rel.tar.zst"
	if [ ! -f "$CHROOTS/$rel/.complete" ]; then
		if [ -f "$CHROOTS/$rel.tar.zst" ]; then
			vmc_log "chroot $rel: unpacking $CHROOTS/$rel.tar.zst"
			untar "$rel" "$CHROOTS/$rel.tmp"
			touch "$CHROOTS/$rel.tmp/.complete"
			rm -rf "${CHROOTS:?}/$rel"
			mv "$CHROOTS/$rel.tmp" "$CHROOTS/$rel"
		else
			make_root "$rel"
		fi
	fi
	flock -u 9
	echo "$CHROOTS/$rel"
}

[ "$(id -u)" -eq 0 ] || vmc_die "chroots need root"
case ${1:-} in
--untar)
	rel=${2:?usage: chroot.sh --untar RELEASE DIR}
	ready "$rel" > /dev/null
	untar "$rel" "${3:?usage: chroot.sh --untar RELEASE DIR}"
	;;
--run)
	rel=${2:?usage: chroot.sh --run RELEASE CMD...}
	shift 2
	root=$(ready "$rel")
	run_in "$root" "$@"
	;;
--run-in)
	root=${2:?usage: chroot.sh --run-in DIR CMD...}
	shift 2
	run_in "$root" "$@"
	;;
-*|'')
	sed -n '14,21p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
*)
	ready "$1"
	;;
esac
