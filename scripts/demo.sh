#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh - `make demo`: set up, build, boot the QEMU test host, load
# umbra, walk through the KVM API on /dev/umbra, then boot the test guest
# on umbra's shadow MMU with umbra-run and show its output and --stats;
# then the same guest on kvm_amd npt=0 for comparison.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/scripts/setup.sh"
make -C "$top" --no-print-directory payload > /dev/null
exec "$top/scripts/testhost" --payload "$top/build/payload" \
	--log "$top/build/logs/demo-console.log" -- '
	insmod ./umbra.ko && dmesg | grep "umbra:" | tail -1
	./vmctl demo /dev/umbra
	echo; echo "=== the test guest on umbra (umbra-run --stats guest.elf -- suite)"
	./umbra-run -m 512M --stats guest.elf -- suite 2>&1 | grep -v "^umbra-run: CPUID"
	rmmod umbra
	echo; echo "=== the same guest on kvm_amd npt=0 (KVM shadow paging)"
	kvm-load npt=0 && { ./vmctl hold /dev/kvm 600 > /dev/null & sleep 1; }
	./umbra-run --dev /dev/kvm -m 512M --stats guest.elf -- suite
	kill %1; wait; kvm-unload'
