#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# kunit.sh - build umbra into a kernel together with its KUnit suites and
# run them under QEMU with the kernel's kunit.py.
#
# Usage: scripts/kunit.sh [extra kunit.py run args]
#   e.g. scripts/kunit.sh 'umbra_mmu*'   (kunit.py takes the suite glob as a positional argument)
#        scripts/kunit.sh --timeout=600
#
# Needs scripts/setup.sh to have been run (it unpacks the kernel source tree
# and records its path in .cache/ksrc).  Each run syncs this repository's
# sources (git ls-files: tracked plus untracked-but-not-ignored files) into
# <ksrc>/drivers/virt/umbra -- a copy, not a symlink: the O= build searches
# the source tree through VPATH, so objects left here by an out-of-tree
# "make -C KDIR M=..." could leak into the build, and .cache/ would loop
# back into the kernel tree.  Only changed files are rewritten, so rebuilds
# stay incremental.  It hooks umbra into drivers/virt/{Kconfig,Makefile}
# once and builds in .cache/kunit-build.
#
# The output of kunit.py is shown and saved in .cache/kunit.log.  The last
# line printed is always the summary
#     kunit: N passed, M failed[, K skipped]
# counting test cases (crashed ones count as failed).  If the configuration,
# build or boot fails it is "kunit: 0 passed, 1 failed", preceded by a
# "kunit: error: ..." line giving the reason.  The exit status is non-zero
# whenever M > 0.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${UMBRA_CACHE:-$top/.cache}
build=$cache/kunit-build
log=$cache/kunit.log
kunitconfig=$top/kunit/.kunitconfig

# Print the reason and the failing summary line, then exit.
die() {
	printf 'kunit: %s\n' "$*"
	printf 'kunit: 0 passed, 1 failed\n'
	exit 1
}

ksrc=""
[ -f "$cache/ksrc" ] && ksrc=$(cat "$cache/ksrc")
if [ -z "$ksrc" ] || [ ! -f "$ksrc/tools/testing/kunit/kunit.py" ]; then
	die "run scripts/setup.sh first"
fi
[ -f "$kunitconfig" ] || die "error: $kunitconfig is missing"
command -v python3 >/dev/null || die "error: python3 not found; run scripts/setup.sh first"

mkdir -p "$cache"
# One run at a time: the kernel tree and the build directory are shared.
exec 9>"$cache/kunit.lock"
if ! flock -n 9; then
	echo "kunit: waiting for another scripts/kunit.sh run to finish"
	flock 9
fi

# --- Link umbra into the kernel tree -------------------------------------

dest=$ksrc/drivers/virt/umbra

# Source files of the repository, NUL-separated and relative to $top:
# tracked and untracked-but-not-ignored files, never build artifacts.
list_sources() {
	local f
	if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$top" ls-files -z --cached --others --exclude-standard
	else
		(cd "$top" && find . \( -name .git -o -name .cache -o -name build \) \
			-prune -o -type f -printf '%P\0')
	fi | while IFS= read -r -d '' f; do
		case "/$f" in
		/.cache/* | /build/* | /.git/*) continue ;;
		*.o | *.ko | *.mod | *.mod.c | *.cmd | *.a | *.dwo | */.*.d) continue ;;
		*/Module.symvers | */modules.order | */.tmp_versions/*) continue ;;
		esac
		if [ -f "$top/$f" ]; then
			printf '%s\0' "$f"
		fi
	done
}

# Make $dest an exact copy of the sources.  Only files whose content
# differs are (re)written, and they get the current time, so make rebuilds
# exactly what changed -- even if a file went back to an older version
# with an older mtime.
sync_sources() {
	local f
	local -A keep=()

	# Older layouts may have left a symlink here.
	[ -L "$dest" ] && rm -f "$dest"
	mkdir -p "$dest"
	while IFS= read -r -d '' f; do
		keep["$f"]=1
		if ! cmp -s "$top/$f" "$dest/$f"; then
			mkdir -p "$(dirname "$dest/$f")" &&
				rm -f "$dest/$f" &&
				cp "$top/$f" "$dest/$f" || return 1
		fi
	done < <(list_sources)
	[ "${#keep[@]}" -gt 0 ] || return 1
	# Drop files that are gone from the repository, then empty directories.
	while IFS= read -r -d '' f; do
		[ -n "${keep["$f"]:-}" ] || rm -f "$dest/$f"
	done < <(cd "$dest" && find . \( -type f -o -type l \) -printf '%P\0')
	find "$dest" -mindepth 1 -type d -empty -delete
}

link_umbra() {
	# Paths into the copy are mapped back to the repository in the output
	# below.
	sync_sources || return 1

	local kc=$ksrc/drivers/virt/Kconfig mk=$ksrc/drivers/virt/Makefile
	local src_line='source "drivers/virt/umbra/Kconfig"'
	# shellcheck disable=SC2016 # literal make syntax
	local obj_line='obj-$(CONFIG_UMBRA)		+= umbra/'

	if ! grep -qxF "$src_line" "$kc"; then
		# Inside the closing "endif" of "if VIRT_DRIVERS": drivers/Makefile
		# only enters drivers/virt/ with VIRT_DRIVERS, so UMBRA must depend
		# on it too or a config without it would silently build nothing.
		awk -v l="$src_line" '
			{ line[NR] = $0 }
			/^endif/ { e = NR }
			END {
				for (i = 1; i <= NR; i++) {
					if (i == e) print l "\n"
					print line[i]
				}
				if (!e) print "\n" l
			}' "$kc" >"$kc.umbra.tmp"
		mv "$kc.umbra.tmp" "$kc"
	fi
	if ! grep -qF 'umbra/' "$mk"; then
		printf '%s\n' "$obj_line" >>"$mk"
	fi
}

link_umbra || die "error: could not copy umbra into $dest"
[ -f "$dest/Kconfig" ] || die "error: $top/Kconfig is missing"
[ -f "$dest/Kbuild" ] || die "error: $top/Kbuild is missing"

# --- Build and run --------------------------------------------------------

: >"$log"
echo "kunit: umbra synced to $dest; building in $build" | tee -a "$log"

set +e
(
	cd "$ksrc" &&
	python3 tools/testing/kunit/kunit.py run \
		--arch=x86_64 \
		--kunitconfig="$kunitconfig" \
		--build_dir="$build" \
		--jobs="$(nproc)" \
		"$@"
) 9>&- 2>&1 | sed -u -E -e "s|$dest/|$top/|g" \
	-e 's#(^|[^[:alnum:]_./-])drivers/virt/umbra/#\1#g' | tee -a "$log"
rc=${PIPESTATUS[0]}
set -e

# --- Summary --------------------------------------------------------------

# "[hh:mm:ss] Testing complete. Ran 5 tests: passed: 3, failed: 1, skipped: 1"
# (statuses with a zero count are left out).  There is one such line per
# kernel boot, i.e. several with --run_isolated: add them up.
line=$(grep -a 'Testing complete\. Ran [0-9]* tests' "$log" || true)

count() {
	{ printf '%s\n' "$line" | grep -o "$1: [0-9]*" || true; } |
		awk '{ n += $2 } END { print n + 0 }'
}

if [ -z "$line" ]; then
	if grep -aq 'Starting KUnit Kernel' "$log"; then
		reason="kernel booted but no KUnit results were parsed (crash, timeout or --raw_output?)"
	elif grep -aq 'Building KUnit Kernel' "$log"; then
		reason="kernel build failed"
	else
		reason="kernel configuration failed"
	fi
	die "error: $reason (kunit.py exit $rc; see $log)" | tee -a "$log"
	exit 1
fi

passed=$(count passed)
failed=$(( $(count failed) + $(count crashed) ))
skipped=$(count skipped)
errors=$(count errors)

if [ "$failed" -eq 0 ]; then
	if [ "$((passed + skipped))" -eq 0 ]; then
		die "error: no tests ran (is CONFIG_UMBRA_KUNIT_TEST built? see $log)" | tee -a "$log"
		exit 1
	fi
	if [ "$rc" -ne 0 ] || [ "$errors" -ne 0 ]; then
		echo "kunit: error: kunit.py exit $rc with $errors parse error(s); see $log" | tee -a "$log"
		failed=1
	fi
fi

summary="kunit: $passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary" | tee -a "$log"
[ "$failed" -eq 0 ]
