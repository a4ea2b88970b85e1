# SPDX-License-Identifier: GPL-2.0
# Shared shell helpers for the scripts in this directory.  Source, don't run.

VMC_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VMC_CACHE=${VMC_CACHE:-$VMC_TOP/.cache}
VMC_KCACHE=$VMC_CACHE/kernels
VMC_OUT=${VMC_OUT:-$VMC_TOP/out}

vmc_log() { printf '%s\n' "$*" >&2; }
vmc_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Kernel names of the matrix, primary first.
vmc_kernel_names() {
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$VMC_TOP/scripts/kernels.list" |
		awk '{ print $1 }'
}

vmc_primary_kernel() { vmc_kernel_names | head -n 1; }

# vmc_source_pkg NAME: the linux-source package of a kernel of the matrix.
vmc_source_pkg() {
	sed -e 's/#.*//' "$VMC_TOP/scripts/kernels.list" |
		awk -v n="$1" '$1 == n { print $2 }'
}

# vmc_kernel_env NAME: load KREL (release string), KDEBVER (Debian version)
# and the cache paths of a fetched kernel.
vmc_kernel_env() {
	local env=$VMC_KCACHE/$1.env
	[ -f "$env" ] || vmc_die "kernel $1 is not fetched: run scripts/fetch-kernels.sh $1"
	# shellcheck disable=SC1090
	. "$env"
	KROOT=$VMC_KCACHE/$KREL
	KDIR=$KROOT/hdr/usr/src/linux-headers-$KREL
	KMODDIR=$KROOT/image/lib/modules/$KREL
	KIMAGE=$KROOT/image/boot/vmlinuz-$KREL
	# Since 7.x the image sits with the modules.
	[ -f "$KIMAGE" ] || KIMAGE=$KMODDIR/vmlinuz
	KSRC=$KROOT/src
}

# The Debian release this machine runs (bookworm on the project's machines).
vmc_host_release() { (. /etc/os-release && echo "$VERSION_CODENAME"); }

# vmc_kernel_release NAME: the Debian release whose packages and toolchain
# make kernel NAME: the third column of scripts/kernels.list, else the host's.
vmc_kernel_release() {
	local r
	r=$(sed -e 's/#.*//' "$VMC_TOP/scripts/kernels.list" | awk -v n="$1" '$1 == n { print $3 }')
	echo "${r:-$(vmc_host_release)}"
}

# vmc_apt_sources RELEASE: the sources.list of a release, with its updates,
# security and backports suites.
vmc_apt_sources() {
	printf 'deb http://deb.debian.org/debian %s main\n' "$1" "$1-updates" "$1-backports"
	printf 'deb http://deb.debian.org/debian-security %s-security main\n' "$1"
}

# vmc_apt RELEASE apt-get|apt-cache ARGS...: apt on the archive of RELEASE.
# The host's own apt for the host's release; for another, a private state in
# $VMC_CACHE/apt/RELEASE (sources, lists, downloaded indexes) that leaves the
# host's apt untouched: nothing of that release is ever installed on the host.
vmc_apt() {
	local rel=$1 cmd=$2 dir=$VMC_CACHE/apt/$1
	shift 2
	if [ "$rel" = "$(vmc_host_release)" ]; then
		"$cmd" "$@"
		return
	fi
	if [ ! -f "$dir/sources.list" ]; then
		mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
		vmc_apt_sources "$rel" > "$dir/sources.list"
	fi
	"$cmd" -o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent \
		-o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache" \
		-o Dir::State::status=/dev/null "$@"
}

# vmc_apt_update [RELEASE]: apt-get update at most once per hour of cache
# age, and only if needed (RELEASE: the host's by default).
vmc_apt_update() {
	local rel=${1:-$(vmc_host_release)} stamp
	stamp=$VMC_CACHE/apt-updated
	[ "$rel" = "$(vmc_host_release)" ] || stamp=$VMC_CACHE/apt/$rel/updated
	mkdir -p "$(dirname "$stamp")"
	if [ -z "$(find "$stamp" -mmin -60 2>/dev/null)" ]; then
		vmc_log "apt-get update ($rel)"
		(
			[ -n "${VMC_APT_LOCKED:-}" ] || flock 7
			vmc_apt "$rel" apt-get update -qq >&2
		) 7>> "$VMC_CACHE/apt.lock" || vmc_die "apt-get update ($rel) failed"
		touch "$stamp"
	fi
}

# vmc_need_pkgs PKG...: install the Debian packages that are missing.
vmc_need_pkgs() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || vmc_die "missing packages (run as root to install): ${missing[*]}"
	# Scripts of one run may install at once (check.sh builds the debug
	# kernel in the background): one apt at a time.
	mkdir -p "$VMC_CACHE"
	(
		flock 7
		VMC_APT_LOCKED=1
		vmc_apt_update
		vmc_log "installing: ${missing[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			"${missing[@]}" > "$VMC_CACHE/apt.log" 2>&1 ||
			{ cat "$VMC_CACHE/apt.log" >&2; vmc_die "apt-get install ${missing[*]} failed"; }
	) 7> "$VMC_CACHE/apt.lock" || exit 1
}

# vmc_module_deps MOD: MOD's module file (relative to $KMODDIR, of the kernel
# vmc_kernel_env loaded) and its dependencies, dependencies first, each once
# per script (VMC_MOD_SEEN).
declare -A VMC_MOD_SEEN=()
vmc_module_deps() {
	local path d
	# The image package has no modules.dep: depmod makes one in the cache.
	[ -f "$KMODDIR/modules.dep" ] || depmod -b "$KROOT/image" "$KREL" ||
		vmc_die "depmod for $KREL failed"
	path=$(grep -E "(^|/)$1\.ko(\.xz|\.zst|\.gz)?:" "$KMODDIR/modules.dep" | head -n 1 | cut -d: -f1)
	if [ -z "$path" ]; then
		# Built in (virtio_pci since 6.12): nothing to load.
		! grep -qE "(^|/)$1\.ko$" "$KMODDIR/modules.builtin" || return 0
		vmc_die "module $1 not found for $KREL"
	fi
	[ -z "${VMC_MOD_SEEN[$path]:-}" ] || return 0
	VMC_MOD_SEEN[$path]=1
	for d in $(grep -E "^$path:" "$KMODDIR/modules.dep" | cut -d: -f2); do
		vmc_module_deps "$(basename "$d" | sed -E 's/\.ko(\.xz|\.zst|\.gz)?$//')"
	done
	echo "$path"
}

# vmc_copy_modules ROOT MOD...: the modules and their dependencies,
# decompressed into ROOT/lib/modules/, and their names in load order
# appended to ROOT/etc/vmc/modules.load (for a busybox /init's insmod).
vmc_copy_modules() {
	local root=$1
	shift
	vmc_copy_modules_to "$root" lib/modules etc/vmc/modules.load "$@"
}

# vmc_module_present MOD: is MOD a module or built into the kernel
# vmc_kernel_env loaded?
vmc_module_present() {
	[ -f "$KMODDIR/modules.dep" ] || depmod -b "$KROOT/image" "$KREL" ||
		vmc_die "depmod for $KREL failed"
	grep -qE "(^|/)$1\.ko(\.xz|\.zst|\.gz)?(:|$)" "$KMODDIR/modules.dep" "$KMODDIR/modules.builtin"
}

# vmc_copy_modules_to ROOT DIR LIST MOD...: the modules and their
# dependencies, decompressed into ROOT/DIR/, and their names in load order
# appended to ROOT/LIST.  Built-in ones are left out.
vmc_copy_modules_to() {
	local root=$1 dir=$2 list=$3 mods m base
	shift 3
	mods=$(for m in "$@"; do vmc_module_deps "$m"; done) || exit 1
	mkdir -p "$root/$dir" "$(dirname "$root/$list")"
	touch "$root/$list"
	for m in $mods; do
		base=$(basename "$m")
		case $base in
		*.xz) xz -dc "$KMODDIR/$m" > "$root/$dir/${base%.xz}" ;;
		*.zst) zstd -qdc "$KMODDIR/$m" > "$root/$dir/${base%.zst}" ;;
		*) cp "$KMODDIR/$m" "$root/$dir/" ;;
		esac
		echo "$base" | sed -E 's/\.ko(\.xz|\.zst|\.gz)?$/.ko/' >> "$root/$list"
	done
}
