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
# where SCALE is 1 or 2.  Exit status 0 iff every run succeeded.
# Arguments, if any, name the workloads to run (all of them by default).

cd "$(dirname "$0")" || exit 1
fail=0
only=" $* "

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
	run "$1" "$2" 1 mmap 16 5
	run "$1" "$2" 2 mmap 16 10
	run "$1" "$2" 1 mprotect 16 5
	run "$1" "$2" 2 mprotect 16 10
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
