#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh - `make bench`: run the test guest's workloads on umbra
# (native and PV pv_mmu backends), kvm_amd npt=0 and kvm_amd npt=1 in ONE
# test-host boot (tests/bench.sh) and print, per workload, VM exits and
# #PF exits per operation, guest cycles per operation and wall time, with
# umbra's ratios to KVM's shadow MMU.  Timings under QEMU's software
# emulation are noisy and slow in absolute terms: read the ratios, and the
# exit counts, which are exact.  The KVM runs have one host CPU online
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

"$top/scripts/testhost" --payload "$top/build/payload" --mem 3072 \
	--timeout 3000 --log "$logs/bench-console.log" -- ./bench.sh "$@" \
	> "$logs/bench-raw.txt" 2>&1 || rc=$?
grep -E '^failed\|' "$logs/bench-raw.txt" || true

python3 - "$logs/bench-raw.txt" <<'PY' | tee "$logs/bench.txt"
import json, re, sys
# (workload, device, scale) -> counts of one run
runs = {}
for line in open(sys.argv[1], errors="replace"):
    if not line.startswith("result|"):
        continue
    _, dev, work, scale, bench, js = line.rstrip("\n").split("|", 5)
    m = re.search(r"ops=(\d+) cycles=(\d+)", bench)
    st = json.loads(js)
    runs[(work, dev, int(scale))] = dict(
        ops=int(m.group(1)) if m else 0, cycles=int(m.group(2)) if m else 0,
        exits=st.get("exits") or 0, pf=st.get("pf_taken") or 0,
        irq=st.get("irq_exits") or 0,
        hc=st.get("hypercalls") or 0, wall=st.get("wall_seconds") or 0.0)

def marginal(work, dev):
    """Per operation, from the difference of the 2N and N runs."""
    a, b = runs.get((work, dev, 1)), runs.get((work, dev, 2))
    if not a or not b or b["ops"] <= a["ops"]:
        return None
    n = b["ops"] - a["ops"]
    return {k: (b[k] - a[k]) / n for k in ("exits", "pf", "irq", "hc", "wall")} | \
           {"cycles": b["cycles"] / b["ops"], "ops": n}

order = ["demand", "churn", "fork", "mmap", "mprotect"]
works = sorted({w for w, _, _ in runs}, key=lambda w: order.index(w))
print("Per operation, marginal (runs at N and 2N, difference / N): boot and setup cancel out.")
print("irq/op: exits for host interrupts (timer ticks: they follow wall time, not the")
print("workload); the ratio rows compare exits without them.  cycles/op: the guest's")
print("own TSC over its timed loop, averaged over the 2N run.")
print(f"{'workload':10} {'device':11} {'exits/op':>10} {'irq/op':>7} {'#PF/op':>9} {'hcalls/op':>10} {'cycles/op':>12} {'wall ms/op':>11}")
for w in works:
    r = {d: marginal(w, d) for d in ("umbra", "umbra-pv", "kvm-shadow", "kvm-npt")}
    for d, x in r.items():
        if x is None:
            print(f"{w:10} {d:11} {'(missing)':>10}")
            continue
        print(f"{w:10} {d:11} {x['exits']:10.1f} {x['irq']:7.1f} {x['pf']:9.1f} {x['hc']:10.1f} {x['cycles']:12.0f} {x['wall']*1000:11.2f}")
    k = r["kvm-shadow"]
    for d, label in (("umbra", "native/kvm"), ("umbra-pv", "pv/kvm")):
        u = r[d]
        if u and k and k["exits"] - k["irq"] > 0:
            # A marginal wall time can come out negative: noise, no ratio.
            wall = f"{u['wall']/k['wall']:11.2f}" if u["wall"] > 0 and k["wall"] > 0 else f"{'-':>11}"
            print(f"{'':10} {label:11} {(u['exits'] - u['irq'])/(k['exits'] - k['irq']):10.3f} {'':7} {'':9} {'':10} {u['cycles']/k['cycles']:12.2f} {wall}")

# Where the fork workload's cycles go, per fork, in the 2N run.
phases = [l.rstrip("\n").split("|", 3) for l in open(sys.argv[1], errors="replace")
          if l.startswith("phases|")]
if phases:
    print()
    print("fork, guest cycles per fork by phase (2N run): as_fork(), the child's writes, its exit")
    print(f"{'device':11} {'fork':>12} {'child':>12} {'exit':>12}")
    for _, dev, scale, text in phases:
        if scale != "2":
            continue
        f = dict(re.findall(r"(\w+)=(\d+)", text))
        cols = "".join(f" {int(f.get(k, 0)):12}" for k in ("fork", "child", "exit"))
        print(f"{dev:11}{cols}")
PY
exit "${rc:-0}"
