#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh - `make demo`: set up, build, boot the QEMU test host, load
# umbra and walk through the KVM API on /dev/umbra, saying what each call
# did; then the same on /dev/kvm (kvm_amd npt=0) for comparison.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/scripts/setup.sh"
make -C "$top" --no-print-directory payload > /dev/null
exec "$top/scripts/testhost" --payload "$top/build/payload" \
	--log "$top/build/logs/demo-console.log" -- '
	insmod ./umbra.ko && dmesg | grep "umbra:" | tail -2
	./vmctl demo /dev/umbra
	./vmctl stats
	rmmod umbra
	kvm-load npt=0 && ./vmctl demo /dev/kvm; kvm-unload'
