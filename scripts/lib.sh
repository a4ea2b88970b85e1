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
	KIMAGE=$KROOT/image/boot/vmlinuz-$KREL
	KMODDIR=$KROOT/image/lib/modules/$KREL
	KSRC=$KROOT/src
}

# Run apt-get update at most once per hour of cache age, and only if needed.
vmc_apt_update() {
	local stamp=$VMC_CACHE/apt-updated
	mkdir -p "$VMC_CACHE"
	if [ -z "$(find "$stamp" -mmin -60 2>/dev/null)" ]; then
		vmc_log "apt-get update"
		apt-get update -qq >&2 || vmc_die "apt-get update failed"
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
	vmc_apt_update
	vmc_log "installing: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${missing[@]}" > "$VMC_CACHE/apt.log" 2>&1 ||
		{ cat "$VMC_CACHE/apt.log" >&2; vmc_die "apt-get install ${missing[*]} failed"; }
}
