#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# integration.sh - umbra's integration suite, run INSIDE the test host
# (scripts/testhost puts it in /umbra with umbra.ko and the test programs).
#
#   1. load umbra; /dev/umbra is there with mode 0600
#   2. api_test against /dev/umbra (the KVM API, bad input, lifetime)
#   3. coexistence with kvm_amd: each refuses while the other owns AMD-V,
#      neither's unload breaks the other
#   4. api_test against /dev/kvm (kvm_amd npt=0): KVM gives the same
#      answers, which is what makes it the reference
#   5. rmmod refuses while an fd is open, works after; insmod/rmmod x100
#   6. umbra-run's own tests on both devices (vmm/tests/run.sh)
#   7. the guest's correctness suite on umbra (native and PV pv_mmu
#      backends, both with two vCPUs for the two-vCPU cases, and with a
#      64-page shadow pool so reclaim runs all the time) and on kvm_amd
#      npt=0 (native, two vCPUs); both devices also boot it with paging
#      off (umbra-run --unpaged) and run realmode_test (a guest that stays
#      in real mode)
#   8. what the PV MMU saves, counted: exits and COWs resolved per fork
#      and per mmap of the bench workloads (exact, unlike timings)
#
# Prints "ok - NAME" / "not ok - NAME: why" per check and ends with
# "integration: N passed, M failed".  Exit status 0 iff M is 0.

cd "$(dirname "$0")" || exit 1
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "ok - $1"; }
notok() { fail=$((fail + 1)); echo "not ok - $1: $2"; }
# check NAME CMD...: the command must succeed
check() {
	name=$1
	shift
	if out=$("$@" 2>&1); then ok "$name"; else notok "$name" "$(echo "$out" | tail -1)"; fi
}
# expect NAME WANT CMD...: the command's last output line must be WANT
expect() {
	name=$1 want=$2
	shift 2
	got=$("$@" 2>&1 | tail -1)
	if [ "$got" = "$want" ]; then ok "$name"; else notok "$name" "want '$want', got '$got'"; fi
}
# Add a sub-suite's "NAME: N passed, M failed" line to the totals.
count_suite() {
	line=$(grep -E '^[a-z_]+: [0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
	if [ -z "$line" ]; then
		notok "$2" "no summary line (crashed?)"
		return
	fi
	p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	pass=$((pass + p))
	fail=$((fail + f))
}
stats_zero() { expect "$1" "vms=0 vcpus=0 memslots=0 svm_users=0" ./vmctl stats; }

# While kvm_amd is loaded, keep one KVM VM with a vCPU open: KVM flips
# static keys when its count of VMs (and of vCPUs without an in-kernel
# APIC) goes 0 -> 1 -> 0, and that text patching has oopsed under the test
# host's emulation (int3 in finish_task_switch).  Held, the counts stay up.
kvm_hold_start() {
	./vmctl hold /dev/kvm 3600 > /tmp/kvmhold.out &
	kvmhold=$!
	for _ in 1 2 3 4 5 6 7 8 9 10; do grep -q held /tmp/kvmhold.out && break; sleep 0.2; done
}
kvm_hold_stop() {
	kill "$kvmhold"
	wait "$kvmhold" 2> /dev/null
}

# 1. load
check insmod_umbra insmod ./umbra.ko
expect dev_umbra_mode_0600 "crw-------" sh -c 'ls -l /dev/umbra | cut -c1-10'
check dmesg_ready_line sh -c 'dmesg | grep -q "umbra: ready: /dev/umbra"'
stats_zero stats_zero_after_load

# 2. the API against umbra
./api_test --dev /dev/umbra > /tmp/api-umbra.log 2>&1
cat /tmp/api-umbra.log
count_suite /tmp/api-umbra.log api_test_umbra
stats_zero stats_zero_after_api_test

# 3. coexistence with kvm_amd
./vmctl hold /dev/umbra 600 > /tmp/hold.out &
holder=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do grep -q held /tmp/hold.out && break; sleep 0.2; done
expect umbra_holds_svm "vms=1 vcpus=1 memslots=1 svm_users=1" ./vmctl stats
if kvm-load npt=0 > /tmp/kvm-load.out 2>&1; then
	notok kvm_amd_refused_while_umbra_owns_svm "kvm-load succeeded"
	kvm-unload > /dev/null 2>&1
else
	ok kvm_amd_refused_while_umbra_owns_svm
fi
kill "$holder"
wait "$holder" 2> /dev/null
stats_zero stats_zero_after_holder_killed
check kvm_amd_loads_after_umbra_lets_go kvm-load npt=0
kvm_hold_start
expect umbra_vm_ebusy_while_kvm_owns_svm EBUSY ./vmctl create /dev/umbra
expect kvm_vm_ok_beside_umbra ok ./vmctl create /dev/kvm

# 4. the same API test against KVM, the reference (the VM held above
# stays open meanwhile).
./api_test --dev /dev/kvm > /tmp/api-kvm.log 2>&1
cat /tmp/api-kvm.log
count_suite /tmp/api-kvm.log api_test_kvm
kvm_hold_stop

check kvm_amd_unloads kvm-unload
expect umbra_vm_ok_after_kvm_unload ok ./vmctl create /dev/umbra
stats_zero stats_zero_after_coexistence

# 5. unload rules
./vmctl hold /dev/umbra 600 > /tmp/hold.out &
holder=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do grep -q held /tmp/hold.out && break; sleep 0.2; done
if rmmod umbra 2> /dev/null; then
	notok rmmod_refused_while_fd_open "rmmod succeeded"
	insmod ./umbra.ko
else
	ok rmmod_refused_while_fd_open
fi
kill "$holder"
wait "$holder" 2> /dev/null
check rmmod_after_last_fd rmmod umbra

i=0
while [ $i -lt 100 ]; do
	insmod ./umbra.ko || break
	./vmctl create /dev/umbra > /dev/null || break
	rmmod umbra || break
	i=$((i + 1))
done
if [ $i -eq 100 ]; then ok insmod_create_rmmod_x100; else notok insmod_create_rmmod_x100 "stopped at round $i"; fi
check dev_umbra_gone_after_rmmod sh -c '! [ -e /dev/umbra ]'

# 6. umbra-run on both devices: good guests, hostile ones, bad input
./run.sh > /tmp/vmm.log 2>&1
grep -v '^#' /tmp/vmm.log
count_suite /tmp/vmm.log vmm_run_sh

# 7. the guest's correctness suite, on umbra and on KVM's shadow MMU
# guest_suite DEV PVMMU [umbra-run options...]
guest_suite() {
	dev=$1 pvmmu=$2
	shift 2
	./umbra-run --dev "$dev" -m 512M --timeout 300 --stats "$@" guest.elf -- \
		"pvmmu=$pvmmu" suite > /tmp/guest.log 2>&1
	cat /tmp/guest.log
	count_suite /tmp/guest.log "guest_suite_$dev"
}
# After --unpaged the suite must have run its unpaged_boot case.
unpaged_ran() {
	check "unpaged_boot_ran_$1" grep -q "^ok - unpaged_boot" /tmp/guest.log
}
check insmod_umbra_for_guest insmod ./umbra.ko
# The two-vCPU cases ran: they need two vCPUs and the pv backend, and
# are skipped quietly otherwise.
smp_ran() {
	check "smp_remote_flush_ran_$1" grep -q "^ok - smp_remote_flush" /tmp/guest.log
	check "smp_pte_race_ran_$1" grep -q "^ok - smp_pte_race" /tmp/guest.log
}
# Native with two vCPUs: the second checks the first's plain-store
# changes after flushing its own TLB (smp_own_flush), on KVM too below.
smp_native_ran() {
	check "smp_own_flush_ran_$1" grep -q "^ok - smp_own_flush" /tmp/guest.log
}
guest_suite /dev/umbra native -c 2
smp_native_ran umbra
# Under pv with two vCPUs: the second checks what the first's batches
# take away (smp_remote_flush) and races its writes (smp_pte_race), then
# parks for the other cases.
guest_suite /dev/umbra pv -c 2
smp_ran pv
check guest_pv_backend_used grep -q "pv_mmu pv: hypercalls=" /tmp/guest.log
# The pv backend lets umbra resolve COW faults: the cow case's writes
# must have gone that way (and its checks passed above).
check guest_pv_cow_registered grep -q "pv_cow: umbra resolves COW faults" /tmp/guest.log
cow=$(sed -n 's/^ *pv_cow *\([0-9]*\).*/\1/p' /tmp/guest.log)
if [ "${cow:-0}" -gt 0 ]; then ok guest_pv_cow_resolved; else notok guest_pv_cow_resolved "pv_cow ${cow:-none}"; fi
guest_suite /dev/umbra native --unpaged -c 2
unpaged_ran umbra
./realmode_test --dev /dev/umbra > /tmp/realmode.log 2>&1
cat /tmp/realmode.log
count_suite /tmp/realmode.log realmode_test_umbra

# 8. The PV MMU's savings, as counts (make bench has the timings).
# stat FILE KEY: a number from umbra-run's --stats-json.
stat() { grep -o "\"$2\":[0-9]*" "$1" | cut -d: -f2; }
# bench_run TAG WORKLOAD ARGS...: under pvmmu=pv; stats in /tmp/TAG.json.
bench_run() {
	tag=$1
	shift
	./umbra-run --dev /dev/umbra -m 1G --timeout 300 --stats-json "/tmp/$tag.json" \
		guest.elf -- pvmmu=pv bench "$@" > "/tmp/$tag.log" 2>&1 ||
		notok "bench_$tag" "$(tail -1 "/tmp/$tag.log")"
}
# exits_per_op A B N: exits without host-interrupt ones, run B minus run A, per op.
exits_per_op() {
	echo $(( ($(stat "/tmp/$2.json" exits) - $(stat "/tmp/$2.json" irq_exits) -
		  $(stat "/tmp/$1.json" exits) + $(stat "/tmp/$1.json" irq_exits)) / $3 ))
}
# fork of 64 MiB, 2 then 4 times: of the child's 256 COW writes per fork
# umbra resolves each in its one #PF exit (pv_cow), except one per
# POOL + 1, which finds the pool of free frames (POOL, full when a fork
# starts) empty and goes to the guest, which refills it; a fork costs at
# most 16 exits more than its writes (KVM's shadow MMU: ~816 per fork).
bench_run fork2 fork 64 2
bench_run fork4 fork 64 4
pool=$(sed -n 's/.*pv_cow: umbra resolves COW faults, pool of \([0-9]*\) frames.*/\1/p' /tmp/fork2.log)
want=$(( 2 * (256 - 256 / (${pool:-0} + 1)) ))
cow=$(( $(stat /tmp/fork4.json pv_cow) - $(stat /tmp/fork2.json pv_cow) ))
if [ "${pool:-0}" -gt 0 ] && [ "$cow" -eq "$want" ]; then ok pv_fork_cow_by_umbra
else notok pv_fork_cow_by_umbra "pv_cow $cow for 2 forks, want $want (pool ${pool:-none})"; fi
e=$(exits_per_op fork2 fork4 2)
if [ "$e" -le 272 ]; then ok pv_fork_exits; else notok pv_fork_exits "$e exits per fork, want <= 272"; fi
# spawn (fork of 64 MiB, the child writes one page), 4 then 12 times: the
# fork's batches, two CR3 loads, the exit's batch and one COW, at most
# 10 exits per fork+exit (KVM's shadow MMU: ~15).
bench_run spawn4 spawn 64 4
bench_run spawn12 spawn 64 12
e=$(exits_per_op spawn4 spawn12 8)
if [ "$e" -le 10 ]; then ok pv_spawn_exits; else notok pv_spawn_exits "$e exits per spawn, want <= 10"; fi
# mmap/touch/munmap of 16 MiB, 2 then 4 times: one hypercall per leaf
# table's batch, at most 32 exits per op (KVM: ~4140).
bench_run mmap2 mmap 16 2
bench_run mmap4 mmap 16 4
e=$(exits_per_op mmap2 mmap4 2)
if [ "$e" -le 32 ]; then ok pv_mmap_exits; else notok pv_mmap_exits "$e exits per op, want <= 32"; fi
check rmmod_umbra_after_guest rmmod umbra

# The same suite with a tiny shadow-page pool: reclaim runs all the time.
check insmod_umbra_tiny_pool insmod ./umbra.ko max_shadow_pages=64
guest_suite /dev/umbra native -c 2
smp_native_ran tiny_pool
zapped=$(sed -n 's/^ *shadow_pages_zapped *\([0-9]*\).*/\1/p' /tmp/guest.log)
if [ "${zapped:-0}" -gt 500 ]; then ok tiny_pool_reclaims; else notok tiny_pool_reclaims "zapped ${zapped:-none}"; fi
# And under pv with deferred A/D: reclaim drops deferred sptes all the
# time, and the A/D bits they owe must reach the guest's entries (the
# accessed_dirty case checks them); with vCPU 1 racing reclaim too.
guest_suite /dev/umbra pv -c 2
smp_ran tiny_pool_pv
check tiny_pool_pv_deferred_ad grep -q "pv_mmu: queue of [0-9]* ops, deferred A/D" /tmp/guest.log
synced=$(sed -n 's/^ *ad_synced *\([0-9]*\).*/\1/p' /tmp/guest.log)
if [ "${synced:-0}" -gt 0 ]; then ok tiny_pool_pv_ad_synced; else notok tiny_pool_pv_ad_synced "ad_synced ${synced:-none}"; fi
check rmmod_umbra_after_tiny_pool rmmod umbra
check kvm_amd_npt0_for_guest kvm-load npt=0
kvm_hold_start
guest_suite /dev/kvm native -c 2
smp_native_ran kvm
guest_suite /dev/kvm native --unpaged
unpaged_ran kvm
./realmode_test --dev /dev/kvm > /tmp/realmode.log 2>&1
cat /tmp/realmode.log
count_suite /tmp/realmode.log realmode_test_kvm
kvm_hold_stop
check kvm_amd_unloads_after_guest kvm-unload

echo "integration: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
