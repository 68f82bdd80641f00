#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh - the benchmark runs, INSIDE the test host (make bench puts it
# in /umbra with the payload).  Each workload of the test guest runs on
# umbra with the native pv_mmu backend and with the PV (batched mmu_op)
# backend, on kvm_amd npt=0 (KVM's shadow MMU) and on kvm_amd npt=1
# (nested paging, the hardware-assisted reference), one after the other
# in this boot.  Each workload runs twice, at size N and 2N, so that
# scripts/bench.sh can take the difference: exits per operation without
# the boot, setup and first touch that both runs share.  Each run prints
# one line:
#
#   result|DEVICE|WORKLOAD|SCALE|<guest's "bench" line>|<stats JSON>
#
# where SCALE is 1 or 2.  The whole sequence, umbra to kvm-npt, is made
# ROUNDS times: the machine these test hosts run on is shared, runs come
# out either at full speed or about 1.5x slower in spells of many
# seconds, and a slow spell only ever adds time; so scripts/bench.sh keeps
# each run's fastest round, and rounds spread each device's tries over
# the whole bench.  Only CPU 0 is online, for umbra as for KVM (which
# needs it, scripts/testhost.d/kvm-load): the guests have one vCPU.  One
# line "tsc|MHZ" gives the TSC rate the guests' cycles tick at (the test
# host's; neither hypervisor scales it), and "round|N|ROUNDS" starts each
# round (scripts/bench.sh shows those).  Exit status 0 iff every run
# succeeded.  Arguments, if any, name the workloads to run (all of them
# by default).

cd "$(dirname "$0")" || exit 1
fail=0
only=" $* "
ROUNDS=3

run() {
	label=$1
	dev=$2
	scale=$3
	shift 3
	[ "$only" = "  " ] || case "$only" in *" $1 "*) ;; *) return 0 ;; esac
	pv=pvmmu=native
	[ "$label" = umbra-pv ] && pv=pvmmu=pv
	if ./umbra-run --dev "$dev" -m 1G --timeout 900 --stats-json /tmp/s.json \
		guest.elf -- $pv bench "$@" > /tmp/b.out 2>&1; then
		echo "result|$label|$1|$scale|$(grep '^bench ' /tmp/b.out)|$(cat /tmp/s.json)"
		grep '^phases ' /tmp/b.out | sed "s/^/phases|$label|$scale|/"
	else
		echo "failed|$label|$*|$(tail -3 /tmp/b.out | tr '\n' ' ')"
		fail=1
	fi
}

workloads() {
	run "$1" "$2" 1 demand 128
	run "$1" "$2" 2 demand 256
	run "$1" "$2" 1 churn 100
	run "$1" "$2" 2 churn 200
	run "$1" "$2" 1 fork 64 8
	run "$1" "$2" 2 fork 64 16
	run "$1" "$2" 1 spawn 64 8
	run "$1" "$2" 2 spawn 64 16
	run "$1" "$2" 1 mmap 16 5
	run "$1" "$2" 2 mmap 16 10
	run "$1" "$2" 1 mprotect 16 5
	run "$1" "$2" 2 mprotect 16 10
	run "$1" "$2" 1 cpuid 2000
	run "$1" "$2" 2 cpuid 4000
}

kvm_workloads() {
	kvm-load "npt=$2" || exit 1
	./vmctl hold /dev/kvm 3600 > /dev/null &
	hold=$!
	workloads "$1" /dev/kvm
	kill $hold; wait $hold 2> /dev/null
	kvm-unload
}

mhz='s/.*tsc: Refined TSC clocksource calibration: \([0-9.]*\) MHz.*/\1/p'
echo "tsc|$(dmesg | sed -n "$mhz" | tail -1)"
for f in /sys/devices/system/cpu/cpu[1-9]*/online; do
	[ -e "$f" ] && echo 0 > "$f"
done
round=1
while [ "$round" -le "$ROUNDS" ]; do
	echo "round|$round|$ROUNDS"
	insmod ./umbra.ko || exit 1
	workloads umbra /dev/umbra
	workloads umbra-pv /dev/umbra
	rmmod umbra
	kvm_workloads kvm-shadow 0
	kvm_workloads kvm-npt 1
	round=$((round + 1))
done
exit $fail
