#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the debug kernel of one kernel of the matrix (KASAN, lockdep,
# kmemleak, DEBUG_OBJECTS, fault injection, ...) from Debian's linux-source
# package of that kernel's very Debian version, configured as `make
# tinyconfig` + scripts/debug-kernel.config, and install it in the cache as
# the kernel NAME-debug with the layout scripts/fetch-kernels.sh gives the
# fetched kernels:
#
#   $VMC_KCACHE/NAME-debug.env          KNAME, KREL (<version>-vmcdebug), KDEBVER
#   $VMC_KCACHE/<KREL>/tree/            the extracted source, built in place
#   $VMC_KCACHE/<KREL>/image/boot/      vmlinuz-<KREL>, config-<KREL>, System.map-<KREL>
#   $VMC_KCACHE/<KREL>/image/lib/modules/<KREL>/   modules_install + depmod
#   $VMC_KCACHE/<KREL>/hdr/usr/src/linux-headers-<KREL> -> tree (KDIR for M=)
#   $VMC_KCACHE/<KREL>/src -> tree      (vfio.h, kselftest harness, ...)
#
# so that run-guest.sh, build-module.sh and mkinitramfs.sh take NAME-debug.
#
# Usage: scripts/build-debug-kernel.sh [--config-only] [NAME]
#   NAME           a kernel of scripts/kernels.list (default: the primary)
#   --config-only  configure the tree and check the fragment, build nothing
#
# VMC_JOBS=N sets make -jN (default: the number of CPUs).  Rebuilds only
# when the fragment, this script, the compiler or the Debian version
# changed (a key in $VMC_KCACHE/<KREL>/.key), incrementally in the same
# tree; otherwise it says so and exits at once.  The build log is
# $VMC_KCACHE/<KREL>/build.log.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

FRAGMENT=$VMC_TOP/scripts/debug-kernel.config
config_only=0 name=

while [ $# -gt 0 ]; do
	case $1 in
	--config-only) config_only=1 ;;
	-h|--help) sed -n '4,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) vmc_die "usage: build-debug-kernel.sh [--config-only] [NAME]" ;;
	*) name=$1 ;;
	esac
	shift
done
name=${name:-$(vmc_primary_kernel)}
vmc_kernel_names | grep -qxF "$name" ||
	vmc_die "$name is not in the matrix ($(vmc_kernel_names | tr '\n' ' '))"
dname=$name-debug
jobs=${VMC_JOBS:-$(nproc)}

# The suffix of the release, from the fragment, so that the fragment says
# all there is to say about the configuration.
localversion=$(sed -n 's/^CONFIG_LOCALVERSION="\(.*\)"$/\1/p' "$FRAGMENT")
[ -n "$localversion" ] || vmc_die "$FRAGMENT sets no CONFIG_LOCALVERSION"

vmc_need_pkgs gcc-12 make bc bison flex libelf-dev libssl-dev dwarves cpio kmod xz-utils \
	util-linux

# The stock kernel of the same name gives the Debian version to build.
[ -f "$VMC_KCACHE/$name.env" ] || "$VMC_TOP/scripts/fetch-kernels.sh" "$name" >&2
vmc_kernel_env "$name"
debver=$KDEBVER
srcpkg=$(vmc_source_pkg "$name")

# Two runs on one cache (two worktrees) must not build the same tree.
mkdir -p "$VMC_KCACHE"
exec 9> "$VMC_KCACHE/$dname.lock"
flock 9

key=$( { echo "$debver"; cat "$FRAGMENT" "$0"; gcc --version | head -n 1; } |
	sha256sum | cut -d' ' -f1)

# The debug kernel of the last build, if any.
old_rel=
if [ -f "$VMC_KCACHE/$dname.env" ]; then
	old_rel=$(sed -n 's/^KREL=//p' "$VMC_KCACHE/$dname.env")
	if [ -f "$VMC_KCACHE/$old_rel/.complete" ] &&
	   [ "$(cat "$VMC_KCACHE/$old_rel/.key" 2>/dev/null)" = "$key" ] && [ "$config_only" -eq 0 ]; then
		vmc_log "kernel $dname: $old_rel ($debver) up to date, nothing to do"
		exit 0
	fi
fi

# extract: the whole linux-source tarball of $debver into $root/tree.  A
# tree of another Debian version (or none) is replaced; a tree of the same
# one is kept, so that a changed fragment rebuilds only what it touches.
extract() {
	local tmp=$VMC_KCACHE/$dname.tmp tarball rel
	if [ -n "$old_rel" ] && [ "$(cat "$VMC_KCACHE/$old_rel/.source" 2>/dev/null)" = "$debver" ] &&
	   [ -f "$VMC_KCACHE/$old_rel/tree/Makefile" ]; then
		root=$VMC_KCACHE/$old_rel
		return
	fi
	[ -z "$old_rel" ] || { vmc_log "kernel $dname: removing $old_rel"; rm -rf "${VMC_KCACHE:?}/$old_rel"; }
	rm -rf "$tmp"
	mkdir -p "$tmp/debs"
	vmc_log "kernel $dname: downloading $srcpkg=$debver"
	(cd "$tmp/debs" && apt-get download -q "$srcpkg=$debver" 2>&1 |
		grep -v '^W: Download is performed unsandboxed' >&2) ||
		{ vmc_apt_update; (cd "$tmp/debs" && apt-get download -q "$srcpkg=$debver" >&2); } ||
		vmc_die "download of $srcpkg=$debver failed"
	dpkg -x "$tmp"/debs/*.deb "$tmp/deb"
	tarball=$(ls "$tmp"/deb/usr/src/linux-source-*.tar.xz)
	vmc_log "kernel $dname: extracting $(basename "$tarball")"
	tar -xJf "$tarball" -C "$tmp"
	rel=$(make -s -C "$tmp/$(basename "$tarball" .tar.xz)" kernelversion)$localversion
	root=$VMC_KCACHE/$rel
	rm -rf "$root"
	mkdir -p "$root"
	mv "$tmp/$(basename "$tarball" .tar.xz)" "$root/tree"
	rm -rf "$tmp"
	echo "$debver" > "$root/.source"
}

# configure: tinyconfig, the fragment on top, olddefconfig; then every line
# of the fragment must be in .config as written.
configure() {
	local line sym bad=()
	make -s -C "$root/tree" tinyconfig > /dev/null
	(cd "$root/tree" && scripts/kconfig/merge_config.sh -m .config "$FRAGMENT") \
		> "$root/merge.log" 2>&1 ||
		{ cat "$root/merge.log" >&2; vmc_die "merge_config.sh failed"; }
	make -s -C "$root/tree" olddefconfig > /dev/null
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*)
			grep -qxF -- "$line" "$root/tree/.config" ||
				bad+=("$line (got: $(grep -E "^(# )?${line%%=*}[= ]" "$root/tree/.config" ||
					echo 'not visible'))")
			;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }
			sym=${sym%% *}
			! grep -qE "^$sym=" "$root/tree/.config" ||
				bad+=("$line (got: $(grep -E "^$sym=" "$root/tree/.config"))")
			;;
		esac
	done < "$FRAGMENT"
	if [ ${#bad[@]} -gt 0 ]; then
		printf 'error: not set as scripts/debug-kernel.config asks: %s\n' "${bad[@]}" >&2
		exit 1
	fi
}

# install: the image, the modules and the symlinks of the cache layout.
install_kernel() {
	local t=$root/tree rel
	rel=$(make -s -C "$t" kernelrelease)
	[ "$rel" = "$(basename "$root")" ] || vmc_die "built $rel, expected $(basename "$root")"
	rm -rf "$root/image" "$root/hdr" "$root/src"
	mkdir -p "$root/image/boot" "$root/hdr/usr/src"
	cp "$t/arch/x86/boot/bzImage" "$root/image/boot/vmlinuz-$rel"
	cp "$t/.config" "$root/image/boot/config-$rel"
	cp "$t/System.map" "$root/image/boot/System.map-$rel"
	make -s -C "$t" INSTALL_MOD_PATH="$root/image" modules_install >> "$root/build.log" 2>&1 ||
		{ tail -n 20 "$root/build.log" >&2; vmc_die "modules_install failed"; }
	[ -f "$root/image/lib/modules/$rel/modules.dep" ] ||
		depmod -b "$root/image" "$rel" || vmc_die "depmod for $rel failed"
	ln -s ../../../tree "$root/hdr/usr/src/linux-headers-$rel"
	ln -s tree "$root/src"
}

[ -z "$old_rel" ] || rm -f "$VMC_KCACHE/$old_rel/.complete"
extract
# Known from here on, built or not: the next run continues in this tree.
printf 'KNAME=%s\nKREL=%s\nKDEBVER=%s\n' "$dname" "$(basename "$root")" "$debver" \
	> "$VMC_KCACHE/$dname.env"
configure
if [ "$config_only" -eq 1 ]; then
	vmc_log "kernel $dname: $root/tree/.config has every line of the fragment"
	exit 0
fi
rm -f "$root/.complete"
vmc_log "kernel $dname: building $(basename "$root") with -j$jobs (log $root/build.log)"
start=$(date +%s)
make -C "$root/tree" -j"$jobs" bzImage modules > "$root/build.log" 2>&1 ||
	{ tail -n 30 "$root/build.log" >&2; vmc_die "build of $dname failed (log $root/build.log)"; }
install_kernel
echo "$key" > "$root/.key"
touch "$root/.complete"
vmc_log "kernel $dname: $(basename "$root") built in $(($(date +%s) - start))s"
