#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh - build umbra.ko with W=1 and sparse (C=2) and fail on any
# warning from umbra's own sources.  Run as `make check`.
#
# Warnings that sparse reports inside the kernel's own headers are not
# umbra's to fix and are not counted, but are shown with a count so that
# a header problem that *is* caused by umbra's code can still be seen.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kdir=${KDIR:-}
if [ -z "$kdir" ]; then
	[ -f "$top/.cache/kver" ] || bash "$top/scripts/setup.sh"
	kdir=/usr/src/linux-headers-$(cat "$top/.cache/kver")
fi
command -v sparse >/dev/null || { echo "check: sparse missing: run scripts/setup.sh" >&2; exit 1; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# C=2 checks every file, not only those being recompiled.
if ! make -C "$kdir" M="$top" CONFIG_UMBRA=m W=1 C=2 CHECK=sparse \
	CF="-D__CHECK_ENDIAN__" modules >"$log" 2>&1; then
	cat "$log"
	echo "check: build failed" >&2
	exit 1
fi

ours=$(grep -E "^$top/.*: (warning|error)" "$log" || true)
theirs=$(grep -E ": (warning|error)" "$log" | grep -vE "^$top/" || true)
if [ -n "$theirs" ]; then
	echo "check: $(printf '%s\n' "$theirs" | wc -l) warning(s) inside kernel headers (not counted):"
	printf '%s\n' "$theirs" | sort | uniq -c | sort -rn | head -5
fi
if [ -n "$ours" ]; then
	printf '%s\n' "$ours"
	echo "check: $(printf '%s\n' "$ours" | wc -l) warning(s) in umbra's sources" >&2
	exit 1
fi
echo "check: W=1 and sparse clean"
