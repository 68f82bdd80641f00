#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# selftests.sh - `make selftests`: KVM's own x86 selftests (from the
# kernel source tree in .cache/ksrc, unmodified) against kvm_amd npt=0 and
# against umbra, in ONE test-host boot (tests/selftests.sh says how umbra
# stands in for /dev/kvm there).
#
# Usage:
#   scripts/selftests.sh [--build-only] [--all] [--timeout SECS] [TEST...]
#
#   TEST...        selftests to run, named as in the selftests Makefile
#                  (set_memory_region_test, x86_64/cpuid_test, ...);
#                  default: the ones umbra passes (the list below)
#   --all          every x86_64 selftest instead
#   --timeout SECS time limit of one test on one device (default 60)
#   --build-only   build the selftests and stop
#
# The selftests are built out of tree, statically linked (the test host
# has no libc), into .cache/kvm-selftests/: the UAPI headers with
# `make headers` into hdr/ (its objtree's usr/include is what
# headers_install would copy, and the copy needs rsync), the tests into
# bin/.  Nothing is left in the source tree.
#
# Prints a table, per test: the result on KVM, on umbra, and umbra's
# first error when it did not pass; then "selftests: N passed, M failed",
# one count per test and device, where anything but exit status 0 (skip,
# failure, timeout, crash) is a failure, and a kernel problem in the test
# host's console (see scripts/testhost) is one more.  Exits non-zero iff
# M is not 0.  The table is saved to build/logs/selftests.txt, the raw
# output to build/logs/selftests.log.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
logs=$top/build/logs
payload=$top/build/selftests
out=$top/.cache/kvm-selftests

# The x86_64 selftests umbra passes.  Every selftest that creates its VM
# with the library's x86 setup (vm_create() and friends) stops at once on
# umbra, which has neither KVM_GET_TSC_KHZ nor an in-kernel irqchip; of the
# few that use a bare VM (vm_create_barebones()), this one passes.
default_tests=(kvm_create_max_vcpus)

usage() {
	sed -n '/^# Usage:/,/^# The selftests are built/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
	exit 2
}

build_only=0
all=0
limit=60
while [ $# -gt 0 ]; do
	case $1 in
	--build-only) build_only=1; shift ;;
	--all) all=1; shift ;;
	--timeout) [ $# -ge 2 ] || usage; limit=$2; shift 2 ;;
	-h|--help) usage ;;
	-*) echo "selftests: unknown option: $1" >&2; usage ;;
	*) break ;;
	esac
done
[[ $limit =~ ^[1-9][0-9]*$ ]] || usage

ksrc=$(cat "$top/.cache/ksrc" 2>/dev/null) || true
[ -f "$ksrc/tools/testing/selftests/kvm/Makefile" ] ||
	{ echo "selftests: no kernel source tree: run scripts/setup.sh first" >&2; exit 1; }
mkdir -p "$logs" "$out"

# --- build

t0=$(date +%s)
: > "$logs/selftests-build.log"
if [ "$(cat "$out/hdr.stamp" 2>/dev/null)" != "$ksrc" ]; then
	rm -rf "$out/hdr" "$out/hdr.stamp"
	make -s -C "$ksrc" O="$out/hdr" headers >> "$logs/selftests-build.log" 2>&1 ||
		{ cat "$logs/selftests-build.log"; exit 1; }
	echo "$ksrc" > "$out/hdr.stamp"
fi
hdr=$out/hdr/usr/include
make -C "$ksrc/tools/testing/selftests/kvm" -j"$(nproc)" ARCH=x86 \
	OUTPUT="$out/bin" LINUX_HDR_PATH="$hdr" KHDR_INCLUDES="-isystem $hdr" \
	EXTRA_CFLAGS=-static >> "$logs/selftests-build.log" 2>&1 ||
	{ tail -n 30 "$logs/selftests-build.log"; exit 1; }
echo "selftests: built in $(($(date +%s) - t0))s into $out/bin"
[ "$build_only" = 1 ] && exit 0

if [ "$all" = 1 ]; then
	# Every built test program; nx_huge_pages_test only runs through
	# its .sh wrapper, which needs hugepages.
	mapfile -t tests < <(cd "$out/bin" &&
		find . -maxdepth 2 -type f -perm -u+x ! -name '*.[od]' |
		sed 's|^\./||' | grep -vx 'x86_64/nx_huge_pages_test' | LC_ALL=C sort)
elif [ $# -gt 0 ]; then
	tests=("$@")
else
	tests=("${default_tests[@]}")
fi
for t in "${tests[@]}"; do
	[ -x "$out/bin/$t" ] || { echo "selftests: no such selftest: $t" >&2; exit 2; }
done

# --- payload: umbra.ko, vmctl, the runner, the tests (stripped)

make -C "$top" --no-print-directory module "$top/build/payload/vmctl" \
	> "$logs/selftests-umbra-build.log" 2>&1 ||
	{ cat "$logs/selftests-umbra-build.log"; exit 1; }
rm -rf "$payload"
mkdir -p "$payload/kvm/x86_64"
cp "$top/umbra.ko" "$top/build/payload/vmctl" "$top/tests/selftests.sh" "$payload/"
for t in "${tests[@]}"; do
	strip -o "$payload/kvm/$t" "$out/bin/$t"
done

# --- run: boot, then up to two runs of every test, with room to spare

rc=0
"$top/scripts/testhost" --payload "$payload" --mem 3072 \
	--timeout $((300 + 2 * ${#tests[@]} * (limit + 5))) \
	--log "$logs/selftests-console.log" -- ./selftests.sh "$limit" "${tests[@]}" \
	> "$logs/selftests.log" 2>&1 || rc=$?
grep -E '^testhost:' "$logs/selftests.log" || true

python3 - "$logs/selftests.log" "$rc" "$limit" "${tests[@]}" <<'PY' | tee "$logs/selftests.txt"
import sys
log, rc, limit, tests = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
started, status, output, dmesg = {}, {}, {}, {}
for line in open(log, errors="replace"):
    f = line.rstrip("\n").split("|", 3)
    if len(f) < 3 or f[0] not in ("start", "result", "out", "dmesg"):
        continue
    key = (f[1], f[2])
    if f[0] == "start":
        started[key] = True
    elif f[0] == "result":
        status[key] = f[3].split("|")[0]
    elif f[0] == "out":
        output.setdefault(key, []).append(f[3] if len(f) > 3 else "")
    else:
        dmesg.setdefault(key, []).append(f[3] if len(f) > 3 else "")

def result(key):
    s = status.get(key)
    if s is None:
        return "CRASH" if key in started else "not run"
    return {"0": "pass", "4": "skip"}.get(s, s if not s.isdigit() else f"FAIL({s})")

def first_error(key):
    """Where the test gave up and why, from its last lines of output."""
    lines = [l.strip() for l in output.get(key, []) if l.strip()]
    if status.get(key) == "timeout":
        return f"no result within {limit}s; last line: {lines[-1] if lines else '(none)'}"
    for i, l in enumerate(lines):
        if l.startswith("==== Test Assertion Failure"):
            where = lines[i + 1] if i + 1 < len(lines) else ""
            why = lines[-1] if lines[-1] != where and not lines[-1].startswith("pid=") else ""
            return f"{where}  {why}".strip()
        if "# SKIP" in l:
            return l.split("# SKIP", 1)[1].strip(" -")
    return lines[-1] if lines else ""

w = max(len(t) for t in tests)
print(f"{'test':{w}}  {'kvm npt=0':9}  {'umbra':9}  umbra's first error")
passed = failed = 0
for t in tests:
    k, u = result(("kvm", t)), result(("umbra", t))
    for r in (k, u):
        if r == "pass":
            passed += 1
        else:
            failed += 1
    print(f"{t:{w}}  {k:9}  {u:9}  {first_error(('umbra', t)) if u != 'pass' else ''}")
notes = [(t, first_error(("kvm", t))) for t in tests if result(("kvm", t)) != "pass"]
if notes:
    print("\nKVM npt=0, tests that did not pass:")
    for t, why in notes:
        print(f"  {t}: {why}")
for (dev, t), lines in sorted(dmesg.items()):
    for l in lines:
        print(f"kernel problem after {t} on {dev}: {l}")
if rc != 0:
    print(f"selftests: the test host run exited {rc} (kernel problem, crash, or a device could "
          "not be set up): counted as 1 failure; see build/logs/selftests-console.log")
    failed += 1
print(f"selftests: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
