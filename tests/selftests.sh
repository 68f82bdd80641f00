#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# selftests.sh - KVM's own selftests, run INSIDE the test host (see
# scripts/selftests.sh, which builds them and puts them in /umbra/kvm/
# with umbra.ko and vmctl).  Each test runs first on kvm_amd npt=0 (KVM's
# shadow MMU, the reference), then on umbra, in this one boot.
#
#   selftests.sh SECS TEST...
#
# SECS is the time limit of one test run.  The selftests open /dev/kvm by
# a fixed path (KVM_DEV_PATH) and every one of them reads
# /sys/module/kvm/parameters/force_emulation_prefix at start-up (skipping
# when it is missing), so for umbra, with kvm and kvm_amd unloaded:
#
#   - /dev/umbra is bind-mounted over an empty file /dev/kvm;
#   - a directory in /tmp, bind-mounted over /sys/module, holds that one
#     parameter, 0 (umbra has no forced-emulation prefix).  Any other KVM
#     module parameter a test reads is absent, and the selftests skip on
#     that.
#
# The sources stay unmodified.  Prints, per test and device:
#
#   start|DEVICE|TEST                    before it runs
#   out|DEVICE|TEST|LINE                 its last 40 output lines, if it
#                                        did not pass
#   result|DEVICE|TEST|STATUS|SECONDS    STATUS: its exit status (0 pass,
#                                        4 skip), "timeout" or "signal N"
#   dmesg|DEVICE|TEST|LINE               a kernel problem it left in dmesg
#
# where DEVICE is "kvm" or "umbra".  Each test's start is also written to
# the kernel log, so that a problem in the console log names its test.
# Exit status 0 iff both devices could be set up.

cd "$(dirname "$0")" || exit 1
limit=$1
shift
# Enough of scripts/testhost's problem patterns to name the test that
# caused one; the verdict on the whole console stays testhost's.
problems='Oops|BUG:|WARNING:|general protection|Call Trace:|KASAN|UBSAN|Kernel panic|refcount_t:'

# run DEVICE TEST: one test, with the time limit.
run() {
	dev=$1 t=$2
	echo "start|$dev|$t"
	echo "selftests: $dev $t" > /dev/kmsg
	before=$(dmesg | wc -l)
	t0=$(cut -d' ' -f1 /proc/uptime)
	# In a session of its own, so that the time limit and the cleanup
	# after it reach the processes it forks too (hardware_disable_test's
	# children spin until killed).  Not a group leader (no job control
	# here), setsid execs in place: $! is the process group.
	rm -f /tmp/st.timeout
	setsid "./kvm/$t" > /tmp/st.out 2>&1 &
	pid=$!
	(
		sleep "$limit"
		kill -0 "$pid" 2> /dev/null || exit 0
		: > /tmp/st.timeout
		kill -TERM -"$pid"
		sleep 5
		kill -KILL -"$pid"
	) 2> /dev/null &
	dog=$!
	wait "$pid" 2> /dev/null
	rc=$?
	t1=$(cut -d' ' -f1 /proc/uptime)
	kill -KILL -"$pid" "$dog" 2> /dev/null
	wait "$dog" 2> /dev/null
	case $rc in
	0|4) status=$rc ;;
	129|1[3-8][0-9]|19[0-2]) status="signal $((rc - 128))" ;;
	*) status=$rc ;;		# 254: a failed TEST_ASSERT
	esac
	[ -e /tmp/st.timeout ] && status=timeout
	[ "$rc" = 0 ] || tail -n 40 /tmp/st.out | sed "s#^#out|$dev|$t|#"
	echo "result|$dev|$t|$status|$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
	dmesg | tail -n +"$((before + 1))" | grep -E "$problems" | sed "s#^#dmesg|$dev|$t|#"
}

fail=0

# KVM, the reference.  Keep one of its VMs open meanwhile: KVM flips static
# keys as its count of VMs goes 0 -> 1 -> 0, and that text patching has
# oopsed under the test host's emulation (see tests/integration.sh).
if kvm-load npt=0; then
	./vmctl hold /dev/kvm 3600 > /tmp/kvmhold.out &
	hold=$!
	for _ in 1 2 3 4 5 6 7 8 9 10; do grep -q held /tmp/kvmhold.out && break; sleep 0.2; done
	for t in "$@"; do run kvm "$t"; done
	kill "$hold"
	wait "$hold" 2> /dev/null
	kvm-unload || fail=1
else
	echo "selftests: kvm-load npt=0 failed"
	fail=1
fi

# umbra, as /dev/kvm.
if ! [ -d /sys/module/kvm ] && insmod ./umbra.ko; then
	mkdir -p /tmp/sysmod/kvm/parameters
	echo 0 > /tmp/sysmod/kvm/parameters/force_emulation_prefix
	mount -o bind /tmp/sysmod /sys/module
	: > /dev/kvm
	mount -o bind /dev/umbra /dev/kvm
	for t in "$@"; do run umbra "$t"; done
	umount /dev/kvm
	rm -f /dev/kvm
	umount /sys/module
	rmmod umbra || fail=1
else
	echo "selftests: cannot load umbra (or kvm is still loaded)"
	fail=1
fi
exit "$fail"
