#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch the kernel matrix (scripts/kernels.list) from Debian's archive into the
# git-ignored cache: for each kernel, the linux-image, linux-headers (with its
# -common and linux-kbuild companions) and linux-source packages of one and the
# same Debian version, unpacked with dpkg -x.  From the source tarball only what
# the build and the lint need is extracted.
#
# Usage: scripts/fetch-kernels.sh [--refresh] [--source-only VERSION] [NAME...]
#   NAME            kernel names from scripts/kernels.list (default: all)
#   --refresh       look again for a newer version even if one is cached
#   --source-only   fetch only the source extract for a Debian version
#                   (used to build for a running Debian kernel)
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
	scripts/lib/kdoc
	.clang-format
)

refresh=0
source_only=

usage() { sed -n '4,16p' "$0" | sed 's/^# \{0,1\}//'; exit "$1"; }

# pkg_versions PKG: every version apt knows for PKG, newest first.
pkg_versions() {
	apt-cache madison "$1" 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' |
		sort -u | sort -r -V
}

# has_version PKG VER: does the archive carry PKG at exactly VER?
has_version() { pkg_versions "$1" | grep -qxF "$2"; }

# image_for VER SERIES: the amd64 image package of a Debian version.
image_for() {
	local p
	for p in $(apt-cache pkgnames "linux-image-$2" 2>/dev/null |
		   grep -E -- '^linux-image-[0-9]+\.[0-9]+\.[0-9]+[^ ]*-amd64$' |
		   grep -vE -- '-(rt|cloud)-amd64$'); do
		has_version "$p" "$1" && { echo "$p"; return 0; }
	done
	return 1
}

# resolve NAME: print "REL DEBVER" for the newest complete version.
resolve() {
	local src series ver img rel
	src=$(vmc_source_pkg "$1")
	[ -n "$src" ] || vmc_die "kernel $1 is not in scripts/kernels.list"
	series=${src#linux-source-}
	for ver in $(pkg_versions "$src"); do
		img=$(image_for "$ver" "$series") || continue
		rel=${img#linux-image-}
		has_version "linux-headers-$rel" "$ver" || continue
		echo "$rel $ver"
		return 0
	done
	return 1
}

# headers_deps REL VER: the -common and linux-kbuild packages headers need.
headers_deps() {
	apt-cache show "linux-headers-$1=$2" | sed -n 's/^Depends: //p' | head -n 1 |
		tr ',' '\n' | sed -E 's/^ *//; s/ .*//' |
		grep -E '^linux-(headers-.*-common|kbuild-)'
}

# download DIR PKG=VER...: fetch .debs into DIR (apt-get download is not
# sandboxed here because the cache may be root-only; that is fine).
download() {
	local dir=$1; shift
	mkdir -p "$dir"
	(cd "$dir" && apt-get download -q "$@" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) ||
		return 1
}

# unpack_headers ROOT REL: dpkg -x the headers and make them relocatable.
unpack_headers() {
	local root=$1 rel=$2 deb mk
	for deb in "$root"/debs/linux-headers-*.deb "$root"/debs/linux-kbuild-*.deb; do
		dpkg -x "$deb" "$root/hdr"
	done
	# Debian's per-flavour Makefile includes the -common one by absolute path.
	mk=$root/hdr/usr/src/linux-headers-$rel/Makefile
	sed -i "s|^include /usr/src/|include $root/hdr/usr/src/|" "$mk"
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

# fetch_one NAME: bring one kernel of the matrix into the cache.
fetch_one() {
	local name=$1 env=$VMC_KCACHE/$1.env rel ver root pkgs=()
	if [ -f "$env" ] && [ "$refresh" -eq 0 ]; then
		. "$env"
		if [ -f "$VMC_KCACHE/$KREL/.complete" ]; then
			vmc_log "kernel $name: $KREL ($KDEBVER) already in cache, nothing to do"
			return 0
		fi
	fi
	read -r rel ver < <(resolve "$name") || {
		vmc_apt_update
		read -r rel ver < <(resolve "$name") || vmc_die "no complete image/headers/source set for $name"
	}
	root=$VMC_KCACHE/$rel
	if [ -f "$root/.complete" ]; then
		vmc_log "kernel $name: $rel ($ver) already in cache, nothing to do"
	else
		vmc_log "kernel $name: fetching $rel ($ver)"
		rm -rf "$root"
		pkgs=("linux-image-$rel=$ver" "linux-headers-$rel=$ver" "$(vmc_source_pkg "$name")=$ver")
		for p in $(headers_deps "$rel" "$ver"); do
			pkgs+=("$p=$ver")
		done
		download "$root/debs" "${pkgs[@]}" ||
			{ vmc_apt_update; download "$root/debs" "${pkgs[@]}"; } ||
			vmc_die "download of ${pkgs[*]} failed"
		dpkg -x "$root"/debs/linux-image-*.deb "$root/image"
		unpack_headers "$root" "$rel"
		unpack_source "$root"
		# The .debs are not needed once unpacked; the stamp says we are done.
		rm -rf "$root/debs"
		touch "$root/.complete"
	fi
	printf 'KNAME=%s\nKREL=%s\nKDEBVER=%s\n' "$name" "$rel" "$ver" > "$env"
}

# fetch_source_only VER: the source extract of any Debian kernel version,
# for building against a running kernel's own /lib/modules/.../build.
fetch_source_only() {
	local ver=$1 series root
	series=$(echo "$ver" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/')
	root=$VMC_KCACHE/source-$ver
	if [ -f "$root/.complete" ]; then
		vmc_log "source $ver already in cache, nothing to do"
	else
		rm -rf "$root"
		download "$root/debs" "linux-source-$series=$ver" ||
			{ vmc_apt_update; download "$root/debs" "linux-source-$series=$ver"; } ||
			vmc_die "linux-source-$series=$ver is not in the archive"
		unpack_source "$root"
		rm -rf "$root/debs"
		touch "$root/.complete"
	fi
	echo "$root/src"
}

main() {
	local names=() n
	while [ $# -gt 0 ]; do
		case $1 in
		--refresh) refresh=1 ;;
		--source-only) source_only=${2:?--source-only needs a version}; shift ;;
		-h|--help) usage 0 ;;
		-*) usage 2 ;;
		*) names+=("$1") ;;
		esac
		shift
	done
	command -v apt-get >/dev/null || vmc_die "this needs a Debian system (apt-get)"
	vmc_need_pkgs xz-utils
	mkdir -p "$VMC_KCACHE"
	if [ -n "$source_only" ]; then
		fetch_source_only "$source_only"
		return
	fi
	[ ${#names[@]} -gt 0 ] || mapfile -t names < <(vmc_kernel_names)
	for n in "${names[@]}"; do
		fetch_one "$n"
	done
}

main "$@"
