#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh - the benchmark runs, INSIDE the test host (make bench puts it
# in /umbra with the payload).  Each workload of the test guest runs on
# umbra with the native pv_mmu backend and with the PV (batched mmu_op)
# backend, on kvm_amd npt=0 (KVM's shadow MMU) and on kvm_amd npt=1
# (nested paging, the hardware-assisted reference), one after the other
# in this boot.  Each run prints one line:
#
#   result|DEVICE|WORKLOAD|<guest's "bench" line>|<umbra-run's stats JSON>
#
# which scripts/bench.sh turns into the table.  Exit status 0 iff every
# run succeeded.

cd "$(dirname "$0")" || exit 1
fail=0

run() {
	label=$1
	dev=$2
	shift 2
	pv=pvmmu=native
	[ "$label" = umbra-pv ] && pv=pvmmu=pv
	if ./umbra-run --dev "$dev" -m 1G --timeout 900 --stats-json /tmp/s.json \
		guest.elf -- $pv bench "$@" > /tmp/b.out 2>&1; then
		echo "result|$label|$*|$(grep '^bench ' /tmp/b.out)|$(cat /tmp/s.json)"
	else
		echo "failed|$label|$*|$(tail -3 /tmp/b.out | tr '\n' ' ')"
		fail=1
	fi
}

workloads() {
	run "$1" "$2" demand 256
	run "$1" "$2" churn 200
	run "$1" "$2" fork 64 2
	run "$1" "$2" mmap 16 10
	run "$1" "$2" mprotect 16 10
}

insmod ./umbra.ko || exit 1
workloads umbra /dev/umbra
workloads umbra-pv /dev/umbra
rmmod umbra
kvm-load npt=0 || exit 1
./vmctl hold /dev/kvm 3600 > /dev/null &
hold=$!
workloads kvm-shadow /dev/kvm
kill $hold; wait $hold 2> /dev/null
kvm-unload
kvm-load npt=1 || exit 1
./vmctl hold /dev/kvm 3600 > /dev/null &
hold=$!
workloads kvm-npt /dev/kvm
kill $hold; wait $hold 2> /dev/null
kvm-unload
exit $fail
