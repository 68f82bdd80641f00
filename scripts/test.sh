#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test.sh - everything `make test` runs, from a fresh clone:
#
#   setup    scripts/setup.sh (idempotent; fast the second time)
#   check    W=1 + sparse build (scripts/check.sh): one check
#   kunit    KUnit suites under QEMU (scripts/kunit.sh): one per case
#   host     tests/integration.sh inside the QEMU test host
#            (scripts/testhost): one per check, plus one for a console
#            free of oops/WARNING/lockdep reports
#
# Ends with one line "N passed, M failed" summing all of them; exits
# non-zero if anything failed.  Logs are kept in build/logs/.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
logs=$top/build/logs
mkdir -p "$logs"
pass=0
fail=0
t0=$(date +%s)

stage() { printf '\n=== %s (%ds)\n' "$1" $(($(date +%s) - t0)); }
# add_counts LOG NAME: add the last "NAME: N passed, M failed" line of LOG.
add_counts() {
	local line p f
	line=$(grep -E "^$2: [0-9]+ passed, [0-9]+ failed" "$1" | tail -1)
	if [ -z "$line" ]; then
		echo "test: $2 printed no summary: counted as 1 failure"
		fail=$((fail + 1))
		return
	fi
	p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
	f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
	pass=$((pass + p))
	fail=$((fail + f))
}

stage setup
bash "$top/scripts/setup.sh" || { echo "0 passed, 1 failed"; exit 1; }

stage build
if ! make -C "$top" --no-print-directory payload > "$logs/build.log" 2>&1; then
	cat "$logs/build.log"
	echo "test: build failed"
	echo "0 passed, 1 failed"
	exit 1
fi

stage "check (W=1 + sparse)"
if bash "$top/scripts/check.sh" 2>&1 | tee "$logs/check.log"; then
	pass=$((pass + 1))
else
	fail=$((fail + 1))
fi

stage kunit
bash "$top/scripts/kunit.sh" > "$logs/kunit.log" 2>&1
tail -n 40 "$logs/kunit.log"
add_counts "$logs/kunit.log" kunit

stage "test host: integration"
"$top/scripts/testhost" --payload "$top/build/payload" \
	--log "$logs/integration-console.log" -- ./integration.sh \
	> "$logs/integration.log" 2>&1
rc=$?
cat "$logs/integration.log"
add_counts "$logs/integration.log" integration
# The console must be clean even when every check passed.
if [ "$rc" -ne 0 ] && grep -qE '^integration: [0-9]+ passed, 0 failed' "$logs/integration.log"; then
	echo "not ok - testhost_console_clean: testhost exited $rc (see $logs/integration-console.log)"
	fail=$((fail + 1))
else
	pass=$((pass + 1))
fi

stage done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
