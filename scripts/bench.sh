#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh - `make bench`: run the test guest's workloads on umbra
# (native and PV pv_mmu backends), kvm_amd npt=0 and kvm_amd npt=1 in ONE
# test-host boot (tests/bench.sh) and print, per workload, VM exits and
# #PF exits per operation, guest cycles and wall time per operation of the
# timed loop, with umbra's ratios to KVM's shadow MMU.  Timings under
# QEMU's software emulation are noisy and slow in absolute terms: read the
# ratios, and the exit counts, which are exact.  The cpuid workload is the
# floor: one bare VM exit per operation.  The KVM runs have one host CPU online
# (kvm-load takes the others offline for the kvm_amd session, see
# scripts/testhost.d/kvm-load); the guests have one vCPU, so only wall time
# can notice.
#
# The table is also saved to build/logs/bench.txt.  Arguments name the
# workloads to run ("make bench" runs them all): scripts/bench.sh fork mmap
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
logs=$top/build/logs
mkdir -p "$logs"
bash "$top/scripts/setup.sh"
make -C "$top" --no-print-directory payload > "$logs/bench-build.log" 2>&1 ||
	{ cat "$logs/bench-build.log"; exit 1; }

# The raw lines go to bench-raw.txt; the rounds, as they start, to stderr.
set +e
"$top/scripts/testhost" --payload "$top/build/payload" --mem 3072 \
	--timeout 3000 --log "$logs/bench-console.log" -- ./bench.sh "$@" 2>&1 |
	tee "$logs/bench-raw.txt" |
	sed -un 's/^round|\([0-9]*\)|\([0-9]*\)$/bench: round \1 of \2/p' >&2
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 0 ] || echo "bench: the test host run failed (exit $rc): $logs/bench-raw.txt" >&2
grep -E '^failed\|' "$logs/bench-raw.txt" || true

python3 - "$logs/bench-raw.txt" <<'PY' | tee "$logs/bench.txt"
import json, re, sys
# (workload, device, scale) -> counts of one run: the fastest of its
# rounds (tests/bench.sh), as a slow spell of the shared host only ever
# adds time.
runs = {}
tsc_mhz = 0.0
last = None
for line in open(sys.argv[1], errors="replace"):
    line = line.rstrip("\n")
    if line.startswith("tsc|"):
        tsc_mhz = float(line[4:] or 0)
    if line.startswith("phases|") and last is not None:
        last["phases"] = dict(re.findall(r"(\w+)=(\d+)", line))
    if not line.startswith("result|"):
        continue
    _, dev, work, scale, bench, js = line.split("|", 5)
    m = re.search(r"ops=(\d+) cycles=(\d+)", bench)
    st = json.loads(js)
    run = dict(
        ops=int(m.group(1)) if m else 0, cycles=int(m.group(2)) if m else 0,
        exits=st.get("exits") or 0, pf=st.get("pf_taken") or 0,
        irq=st.get("irq_exits") or 0,
        hc=st.get("hypercalls") or 0, phases={})
    key = (work, dev, int(scale))
    last = run
    if key not in runs or run["cycles"] < runs[key]["cycles"]:
        runs[key] = run

def marginal(work, dev):
    """Exits per operation from the difference of the 2N and N runs."""
    a, b = runs.get((work, dev, 1)), runs.get((work, dev, 2))
    if not a or not b or b["ops"] <= a["ops"]:
        return None
    n = b["ops"] - a["ops"]
    return {k: (b[k] - a[k]) / n for k in ("exits", "pf", "irq", "hc")} | \
           {"cycles": b["cycles"] / b["ops"], "ops": n}

def ms(cycles):
    return f"{cycles / (tsc_mhz * 1000):11.3f}" if tsc_mhz else f"{'-':>11}"

order = ["demand", "churn", "fork", "spawn", "mmap", "mprotect", "cpuid"]
works = sorted({w for w, _, _ in runs}, key=lambda w: order.index(w))
print("Per operation.  Exits: marginal (runs at N and 2N, difference / N), so boot and")
print("setup cancel out.  irq/op: exits for host interrupts (timer ticks: they follow")
print("wall time, not the workload); the ratio rows compare exits without them.")
print("cycles/op: the guest's TSC over its timed loop in the 2N run (each run the")
print(f"fastest of its rounds); the TSC ticks in real time ({tsc_mhz:.0f} MHz), so ms/op")
print("is the loop's wall time per operation and its ratio is the cycles ratio.")
print(f"{'workload':10} {'device':11} {'exits/op':>10} {'irq/op':>7} {'#PF/op':>9} {'hcalls/op':>10} {'cycles/op':>12} {'ms/op':>11}")
for w in works:
    r = {d: marginal(w, d) for d in ("umbra", "umbra-pv", "kvm-shadow", "kvm-npt")}
    for d, x in r.items():
        if x is None:
            print(f"{w:10} {d:11} {'(missing)':>10}")
            continue
        print(f"{w:10} {d:11} {x['exits']:10.1f} {x['irq']:7.1f} {x['pf']:9.1f} {x['hc']:10.1f} {x['cycles']:12.0f} {ms(x['cycles'])}")
    k = r["kvm-shadow"]
    for d, label in (("umbra", "native/kvm"), ("umbra-pv", "pv/kvm")):
        u = r[d]
        if u and k and k["exits"] - k["irq"] > 0 and k["cycles"] > 0:
            ex = (u["exits"] - u["irq"]) / (k["exits"] - k["irq"])
            cy = u["cycles"] / k["cycles"]
            print(f"{'':10} {label:11} {ex:10.3f} {'':7} {'':9} {'':10} {cy:12.2f} {cy:11.2f}")

# Where the cycles of fork and mmap go, per operation, in the 2N run kept above.
phase_tables = (
    ("fork", ("fork", "child", "exit"),
     "fork, guest cycles per fork by phase (2N run): as_fork(), the child's writes, its exit"),
    ("spawn", ("fork", "child", "exit"),
     "spawn, guest cycles per fork by phase (2N run): as_fork(), the child's one write, its exit"),
    ("mmap", ("map", "touch", "unmap"),
     "mmap, guest cycles per op by phase (2N run): map populated, write each page, unmap"),
)
for work, cols, title in phase_tables:
    rows = [(d, runs[(work, d, 2)]["phases"])
            for d in ("umbra", "umbra-pv", "kvm-shadow", "kvm-npt")
            if (work, d, 2) in runs and runs[(work, d, 2)]["phases"]]
    if not rows:
        continue
    print()
    print(title)
    print(f"{'device':11}" + "".join(f" {c:>12}" for c in cols))
    for dev, f in rows:
        print(f"{dev:11}" + "".join(f" {int(f.get(c, 0)):12}" for c in cols))
PY
exit "${rc:-0}"
