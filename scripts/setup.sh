#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# setup.sh - install everything umbra's build and tests need on a fresh
# Debian bookworm machine, idempotently.
#
# It picks the newest 6.12 kernel version N for which the archive has all
# three of linux-image-6.12.N+deb12-amd64-unsigned, linux-headers-6.12.N+deb12-amd64
# and linux-source-6.12 at upstream version 6.12.N, installs them, and unpacks
# the source tree into the cache (.cache/, ignored by git).  A second run
# only checks and returns.
#
# The chosen version is written to .cache/kver (e.g. "6.12.117+deb12-amd64")
# and the source tree path to .cache/ksrc; every other script reads those.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${UMBRA_CACHE:-$top/.cache}
mkdir -p "$cache"

log() { printf 'setup: %s\n' "$*" >&2; }

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		log "must run as root to install packages (try: sudo $0)"
		exit 1
	fi
}

base_pkgs="qemu-system-x86 sparse busybox-static cpio kmod xz-utils bc flex
bison libelf-dev libssl-dev gcc make python3 libc6-dev"

apt_updated=0
apt_update_once() {
	if [ "$apt_updated" = 0 ]; then
		log "apt-get update"
		apt-get update -qq >/dev/null
		apt_updated=1
	fi
}

# Packages from the list that are not installed yet.
missing() {
	local p out=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || out="$out $p"
	done
	echo "$out"
}

install_pkgs() {
	local m
	# shellcheck disable=SC2086
	m=$(missing $*)
	[ -z "$m" ] && return 0
	need_root
	apt_update_once
	log "installing:$m"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $m >/dev/null
}

# Newest N such that image-unsigned, headers and source all exist for 6.12.N.
pick_kernel() {
	local v n
	for v in $(apt-cache madison linux-source-6.12 | awk -F'|' '{gsub(/ /,"",$2); print $2}' |
		   sort -V -r); do
		n=${v%%-*}		# 6.12.117-1~deb12u1 -> 6.12.117
		if apt-cache show "linux-image-$n+deb12-amd64-unsigned" >/dev/null 2>&1 &&
		   apt-cache show "linux-headers-$n+deb12-amd64" >/dev/null 2>&1; then
			echo "$n $v"
			return 0
		fi
	done
	return 1
}

install_pkgs $base_pkgs

kver=""
if [ -f "$cache/kver" ]; then
	kver=$(cat "$cache/kver")
	# Still installed?  (A new machine may have the cache but not the packages.)
	if [ -n "$(missing "linux-image-$kver-unsigned" "linux-headers-$kver" linux-source-6.12)" ]; then
		kver=""
	fi
fi

if [ -z "$kver" ]; then
	if [ -z "$(apt-cache madison linux-source-6.12 2>/dev/null)" ]; then
		need_root
		apt_update_once
	fi
	if ! sel=$(pick_kernel); then
		need_root
		apt_update_once
		sel=$(pick_kernel) || {
			log "no 6.12 version has image, headers and source in the archive"
			exit 1
		}
	fi
	n=${sel%% *}
	srcver=${sel#* }
	kver="$n+deb12-amd64"
	log "kernel $kver (linux-source-6.12 $srcver)"
	need_root
	apt_update_once
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"linux-image-$kver-unsigned" "linux-headers-$kver" \
		"linux-source-6.12=$srcver" >/dev/null
	echo "$kver" > "$cache/kver"
fi

# Unpack the source tree once per version.
upstream=${kver%%+*}
ksrc="$cache/linux-source-$upstream"
if [ ! -f "$ksrc/.umbra-unpacked" ]; then
	tarball=$(ls /usr/src/linux-source-6.12.tar.xz 2>/dev/null || true)
	[ -n "$tarball" ] || { log "linux-source-6.12 tarball missing in /usr/src"; exit 1; }
	log "unpacking $tarball (once)"
	rm -rf "$ksrc" "$ksrc.tmp"
	mkdir -p "$ksrc.tmp"
	tar -xJf "$tarball" -C "$ksrc.tmp" --strip-components=1
	touch "$ksrc.tmp/.umbra-unpacked"
	mv "$ksrc.tmp" "$ksrc"
fi
echo "$ksrc" > "$cache/ksrc"

log "ready: kernel $kver, source $ksrc"
