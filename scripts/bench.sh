#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh - `make bench`: run the test guest's workloads on umbra
# (native and PV pv_mmu backends), kvm_amd npt=0 and kvm_amd npt=1 in ONE
# test-host boot (tests/bench.sh) and print, per workload, VM exits and
# #PF exits per operation, guest cycles per operation and wall time, with
# umbra's ratios to KVM's shadow MMU.  Timings under QEMU's software emulation are noisy and slow in
# absolute terms: read the ratios, and the exit counts, which are exact.
#
# The table is also saved to build/logs/bench.txt.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
logs=$top/build/logs
mkdir -p "$logs"
bash "$top/scripts/setup.sh"
make -C "$top" --no-print-directory payload > "$logs/bench-build.log" 2>&1 ||
	{ cat "$logs/bench-build.log"; exit 1; }

"$top/scripts/testhost" --payload "$top/build/payload" --mem 3072 \
	--timeout 3000 --log "$logs/bench-console.log" -- ./bench.sh \
	> "$logs/bench-raw.txt" 2>&1 || rc=$?
grep -E '^failed\|' "$logs/bench-raw.txt" || true

python3 - "$logs/bench-raw.txt" <<'PY' | tee "$logs/bench.txt"
import json, re, sys
rows = {}
for line in open(sys.argv[1], errors="replace"):
    if not line.startswith("result|"):
        continue
    _, dev, work, bench, js = line.rstrip("\n").split("|", 4)
    m = re.search(r"ops=(\d+) cycles=(\d+)", bench)
    st = json.loads(js)
    ops = int(m.group(1)) if m else 0
    rows[(work, dev)] = dict(ops=ops, cycles=int(m.group(2)) if m else 0,
                             exits=st.get("exits") or 0,
                             pf=st.get("pf_taken") or 0,
                             wall=st.get("wall_seconds") or 0.0)

def per(r, k):
    return r[k] / r["ops"] if r["ops"] else float("nan")

works = sorted({w for w, _ in rows}, key=lambda w: ["demand", "churn", "fork", "mmap", "mprotect"].index(w.split()[0]))
print(f"{'workload':18} {'device':11} {'ops':>8} {'exits/op':>10} {'#PF/op':>9} {'cycles/op':>12} {'wall s':>8}")
for w in works:
    for dev in ("umbra", "umbra-pv", "kvm-shadow", "kvm-npt"):
        r = rows.get((w, dev))
        if not r:
            print(f"{w:18} {dev:11} {'(missing)':>8}")
            continue
        print(f"{w:18} {dev:11} {r['ops']:8d} {per(r,'exits'):10.2f} {per(r,'pf'):9.2f} {per(r,'cycles'):12.0f} {r['wall']:8.3f}")
    k = rows.get((w, "kvm-shadow"))
    for dev, label in (("umbra", "native/kvm"), ("umbra-pv", "pv/kvm")):
        u = rows.get((w, dev))
        if u and k and k["exits"] and k["cycles"]:
            print(f"{'':18} {label:11} {'':8} {u['exits']/k['exits']:10.2f} {'':9} {u['cycles']/k['cycles']:12.2f} {u['wall']/k['wall'] if k['wall'] else float('nan'):8.2f}")
PY
exit "${rc:-0}"
