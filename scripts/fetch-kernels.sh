#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch the kernel matrix (scripts/kernels.list) from Debian's archive into the
# git-ignored cache: for each kernel, the linux-image (with the -binary,
# -modules and -base packages it is split into since 7.x), linux-headers (with
# its -common and linux-kbuild companions) and linux-source packages of one and
# the same Debian version, unpacked with dpkg -x.  From the source tarball only
# what the tests and the lint need is extracted.  A kernel of another Debian
# release than the host's comes from that release's archive (scripts/lib.sh:
# vmc_apt), without touching the host's apt.
#
# Usage: scripts/fetch-kernels.sh [--refresh] [NAME...]
#   NAME            kernel names from scripts/kernels.list (default: all)
#   --refresh       look again for a newer version even if one is cached
#
# Idempotent: a kernel already in the cache is reported and left alone.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Paths taken from linux-source, relative to its top directory.
SRC_PATHS=(
	drivers/vfio/vfio.h
	tools/testing/selftests/kselftest_harness.h
	tools/testing/selftests/kselftest.h
	tools/include
	tools/lib/rbtree.c
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
	scripts/kernel-doc
	scripts/kernel-doc.py
	scripts/checker-valid.sh
	scripts/lib/kdoc
	.clang-format
)

refresh=0
# The Debian release of the kernel being fetched (kernels.list, column 3).
krel=

usage() { sed -n '4,17p' "$0" | sed 's/^# \{0,1\}//'; exit "$1"; }

apt_cache() { vmc_apt "$krel" apt-cache "$@"; }

# source_pkgs PATTERN: the source packages PATTERN names, newest series first.
source_pkgs() {
	local p
	apt_cache pkgnames "${1%%\*}" 2>/dev/null | while read -r p; do
		# shellcheck disable=SC2053
		[[ $p == $1 ]] && [[ $p =~ ^linux-source-[0-9]+\.[0-9]+$ ]] && echo "$p"
	done | sort -r -V
}

# pkg_versions PKG: every version apt knows for PKG, newest first.
pkg_versions() {
	apt_cache madison "$1" 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' |
		sort -u | sort -r -V
}

# has_version PKG VER: does the archive carry PKG at exactly VER?
has_version() { pkg_versions "$1" | grep -qxF "$2"; }

# image_for VER SERIES: the amd64 image package of a Debian version.
image_for() {
	local p
	for p in $(apt_cache pkgnames "linux-image-$2" 2>/dev/null |
		   grep -E -- '^linux-image-[0-9]+\.[0-9]+\.[0-9]+[^ ]*-amd64$' |
		   grep -vE -- '-(rt|cloud)-amd64$'); do
		has_version "$p" "$1" && { echo "$p"; return 0; }
	done
	return 1
}

# resolve NAME: print "REL DEBVER SOURCE" for the newest complete version.
resolve() {
	local pat src series ver img rel
	pat=$(vmc_source_pkg "$1")
	[ -n "$pat" ] || vmc_die "kernel $1 is not in scripts/kernels.list"
	for src in $(source_pkgs "$pat"); do
		series=${src#linux-source-}
		for ver in $(pkg_versions "$src"); do
			img=$(image_for "$ver" "$series") || continue
			rel=${img#linux-image-}
			has_version "linux-headers-$rel" "$ver" || continue
			echo "$rel $ver $src"
			return 0
		done
	done
	return 1
}

# deps_of PKG=VER REGEX: the dependencies of PKG=VER whose names match REGEX.
deps_of() {
	apt_cache show "$1" | sed -n 's/^Depends: //p' | head -n 1 |
		tr ',' '\n' | sed -E 's/^ *//; s/ .*//' | grep -E "$2"
}

# image_parts REL VER: what linux-image-REL is split into since 7.x (its
# -binary, -modules and -base packages); nothing for older kernels.
image_parts() {
	local part
	for part in binary modules base; do
		deps_of "linux-image-$1=$2" '^linux-' | grep -xF "linux-$part-$1" || true
	done
}

# download DIR PKG=VER...: fetch .debs into DIR (apt-get download is not
# sandboxed here because the cache may be root-only; that is fine).
download() {
	local dir=$1; shift
	mkdir -p "$dir"
	(cd "$dir" && vmc_apt "$krel" apt-get download -q "$@" 2>&1 |
		grep -v '^W: Download is performed unsandboxed' >&2) ||
		return 1
}

# unpack_headers ROOT REL: dpkg -x the headers and make them relocatable.
unpack_headers() {
	local root=$1 rel=$2 deb mk
	for deb in "$root"/debs/linux-headers-*.deb "$root"/debs/linux-kbuild-*.deb; do
		dpkg -x "$deb" "$root/hdr"
	done
	# Debian's per-flavour Makefile includes the -common one by absolute path
	# (and, since 7.x, sets KBUILD_OUTPUT to its own).
	mk=$root/hdr/usr/src/linux-headers-$rel/Makefile
	sed -i -E "s#^(include |KBUILD_OUTPUT=)/usr/src/#\\1$root/hdr/usr/src/#" "$mk"
}

# unpack_source ROOT: extract SRC_PATHS from the linux-source tarball.
unpack_source() {
	local root=$1 tmp tarball top members=() p
	tmp=$root/src.tmp
	rm -rf "$tmp"
	dpkg -x "$root"/debs/linux-source-*.deb "$tmp"
	tarball=$(ls "$tmp"/usr/src/linux-source-*.tar.xz)
	top=$(basename "$tarball" .tar.xz)
	for p in "${SRC_PATHS[@]}"; do
		members+=("$top/$p")
	done
	mkdir -p "$root/src"
	# Paths a release lacks (kernel-doc.py is new in 6.13) are not an error.
	tar -xJf "$tarball" -C "$tmp" \
		"${members[@]}" 2>/dev/null || true
	cp -a "$tmp/$top/." "$root/src/"
	rm -rf "$tmp"
	[ -f "$root/src/drivers/vfio/vfio.h" ] || vmc_die "no drivers/vfio/vfio.h in $tarball"
}

# complete_kbuild ROOT: since 7.x the kernel's Makefile runs
# scripts/checker-valid.sh before sparse, and a C=1 build without it checks
# nothing; Debian's linux-kbuild package lacks it: take it from the source.
complete_kbuild() {
	local kb
	for kb in "$1"/hdr/usr/lib/linux-kbuild-*/scripts; do
		[ -e "$kb/checker-valid.sh" ] || [ ! -f "$1/src/scripts/checker-valid.sh" ] ||
			cp "$1/src/scripts/checker-valid.sh" "$kb/"
	done
}

# fetch_one NAME: bring one kernel of the matrix into the cache.
fetch_one() {
	local name=$1 env=$VMC_KCACHE/$1.env rel ver src root pkgs=() deb p
	krel=$(vmc_kernel_release "$name")
	if [ -f "$env" ] && [ "$refresh" -eq 0 ]; then
		. "$env"
		if [ -f "$VMC_KCACHE/$KREL/.complete" ]; then
			vmc_log "kernel $name: $KREL ($KDEBVER) already in cache, nothing to do"
			return 0
		fi
	fi
	[ "$krel" = "$(vmc_host_release)" ] || [ -f "$VMC_CACHE/apt/$krel/updated" ] ||
		vmc_apt_update "$krel"
	read -r rel ver src < <(resolve "$name") || {
		vmc_apt_update "$krel"
		read -r rel ver src < <(resolve "$name") ||
			vmc_die "no complete image/headers/source set for $name in $krel"
	}
	root=$VMC_KCACHE/$rel
	if [ -f "$root/.complete" ]; then
		vmc_log "kernel $name: $rel ($ver) already in cache, nothing to do"
	else
		vmc_log "kernel $name: fetching $rel ($ver, $krel)"
		rm -rf "$root"
		pkgs=("linux-image-$rel=$ver" "linux-headers-$rel=$ver" "$src=$ver")
		# Since 7.x linux-image is a metapackage over -binary, -modules, -base.
		for p in $(image_parts "$rel" "$ver") $(deps_of "linux-headers-$rel=$ver" '^linux-(headers-.*-common|kbuild-)'); do
			pkgs+=("$p=$ver")
		done
		download "$root/debs" "${pkgs[@]}" ||
			{ vmc_apt_update "$krel"; download "$root/debs" "${pkgs[@]}"; } ||
			vmc_die "download of ${pkgs[*]} failed"
		for deb in "$root"/debs/linux-{image,binary,modules,base}-*.deb; do
			[ ! -f "$deb" ] || dpkg -x "$deb" "$root/image"
		done
		# Packages of merged-/usr releases install under usr/lib only.
		[ -e "$root/image/lib" ] || ln -s usr/lib "$root/image/lib"
		unpack_headers "$root" "$rel"
		unpack_source "$root"
		complete_kbuild "$root"
		# The .debs are not needed once unpacked; the stamp says we are done.
		rm -rf "$root/debs"
		touch "$root/.complete"
	fi
	printf 'KNAME=%s\nKREL=%s\nKDEBVER=%s\n' "$name" "$rel" "$ver" > "$env"
}

main() {
	local names=() n
	while [ $# -gt 0 ]; do
		case $1 in
		--refresh) refresh=1 ;;
		-h|--help) usage 0 ;;
		-*) usage 2 ;;
		*) names+=("$1") ;;
		esac
		shift
	done
	command -v apt-get >/dev/null || vmc_die "this needs a Debian system (apt-get)"
	vmc_need_pkgs xz-utils
	mkdir -p "$VMC_KCACHE"
	# Two scripts of one run may fetch at once (check.sh's background build
	# of the debug kernel): one fetch at a time.
	exec 8> "$VMC_KCACHE/.fetch.lock"
	flock 8
	[ ${#names[@]} -gt 0 ] || mapfile -t names < <(vmc_kernel_names)
	for n in "${names[@]}"; do
		fetch_one "$n"
	done
}

main "$@"
