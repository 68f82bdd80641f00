#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run.sh - umbra-run's tests.
#
# From the repository (scripts/testhost next to it): build umbra-run, the
# test guests and this script into a payload directory, add umbra.ko if it
# has been built, and run the tests in the test host:
#
#   vmm/tests/run.sh [--payload DIR] [--log FILE]
#       (defaults: /tmp/umbra-vmm-payload, /tmp/umbra-vmm-test/console.log)
#
# In the test host (what the above runs; or by hand after copying a payload):
#
#   scripts/testhost --payload DIR -- ./run.sh
#
#   1. bad options and bad ELF files: one clear line, exit 1
#   2. /dev/kvm (kvm_amd npt=0, KVM's shadow MMU), the reference: good
#      guests on 1-4 vCPUs and up to 3G, exit status, triple fault, MMIO,
#      unknown ports, all vCPUs halted, --timeout, SIGTERM, thread names,
#      --stats, --stats-json
#   3. /dev/umbra while kvm_amd owns AMD-V: EBUSY with a hint
#   4. /dev/umbra alone (if umbra.ko is in the payload): the same guest
#      suite as 2; or, while its KVM_RUN is not implemented, that this is
#      reported cleanly
#
# Prints "ok - NAME" / "not ok - NAME: why" per check, then
# "vmm: N passed, M failed"; exit status 0 iff M is 0.

here=$(cd "$(dirname "$0")" && pwd)

# --- on the development machine: build, then boot the test host

if [ -x "$here/../../scripts/testhost" ]; then
	top=$(cd "$here/../.." && pwd)
	payload=/tmp/umbra-vmm-payload
	log=/tmp/umbra-vmm-test/console.log
	while [ $# -gt 0 ]; do
		case $1 in
		--payload) payload=$2; shift 2 ;;
		--log) log=$2; shift 2 ;;
		*) echo "usage: $0 [--payload DIR] [--log FILE]" >&2; exit 2 ;;
		esac
	done
	mkdir -p "$payload" "$(dirname "$log")"
	make -s -C "$top/vmm" tests OUT="$payload" || exit 1
	if [ -f "$top/umbra.ko" ]; then
		cp "$top/umbra.ko" "$payload/"
	else
		rm -f "$payload/umbra.ko"
		echo "run.sh: no umbra.ko built: testing on /dev/kvm only" >&2
	fi
	exec "$top/scripts/testhost" --payload "$payload" --log "$log" --timeout 300 -- ./run.sh
fi

# --- in the test host

cd "$here" || exit 1
pass=0
fail=0
out=/tmp/vmm-test.out

ok() { pass=$((pass + 1)); echo "ok - $1"; }
notok() { fail=$((fail + 1)); echo "not ok - $1: $2"; }
last_lines() { tail -n "${1:-3}" "$out" | tr '\n' '|'; }

# t NAME WANT_STATUS PATTERN CMD...: run CMD (stdout and stderr to $out);
# it must exit WANT_STATUS and its output contain PATTERN ("" for any).
t() {
	name=$1 want=$2 pat=$3
	shift 3
	timeout 120 "$@" > "$out" 2>&1
	rc=$?
	if [ "$rc" != "$want" ]; then
		notok "$name" "exit $rc, want $want: $(last_lines 4)"
	elif [ -n "$pat" ] && ! grep -qF -- "$pat" "$out"; then
		notok "$name" "no '$pat' in: $(last_lines 4)"
	else
		ok "$name"
	fi
}

# has NAME PATTERN: the last command's output contains PATTERN.
has() {
	if grep -qF -- "$2" "$out"; then ok "$1"; else notok "$1" "no '$2' in: $(last_lines 4)"; fi
}

# hasline NAME LINE: the last command's output has LINE as a whole line.
hasline() {
	if grep -qxF -- "$2" "$out"; then ok "$1"; else notok "$1" "no line '$2' in: $(last_lines 4)"; fi
}

# 1. Bad input: no device needed, exit 1, one line saying what to fix.
usage_suite() {
	t usage_help 0 "Usage: umbra-run" ./umbra-run --help
	t usage_no_guest 1 "no guest given" ./umbra-run
	t usage_unknown_option 1 "unknown option --frobnicate" ./umbra-run --frobnicate hello.elf
	t usage_missing_argument 1 "--dev needs an argument" ./umbra-run hello.elf --dev
	t usage_extra_argument 1 'guest arguments go after "--"' ./umbra-run hello.elf extra
	t mem_zero 1 "--mem 0: guest RAM must be a non-zero multiple of 2M" ./umbra-run --mem 0 hello.elf
	t mem_not_2m 1 "multiple of 2M" ./umbra-run -m 3M hello.elf
	t mem_garbage 1 "--mem lots: not a size" ./umbra-run -m lots hello.elf
	t cpus_zero 1 "--cpus 0" ./umbra-run -c 0 hello.elf
	t timeout_zero 1 "--timeout 0" ./umbra-run --timeout 0 hello.elf
	long=$(head -c 300 /dev/zero | tr '\0' x)
	t cmdline_too_long 1 "boot_info.cmdline holds at most 255" ./umbra-run hello.elf -- "$long"
	t elf_missing 1 "nothere.elf: No such file or directory" ./umbra-run nothere.elf
	t elf_not_elf 1 "not an ELF file" ./umbra-run run.sh
	t elf_directory 1 "not a regular file" ./umbra-run /tmp
	t elf_class32 1 "the guest must be ELF64" ./umbra-run elf32.elf
	t elf_machine 1 "the guest must be x86-64" ./umbra-run arm.elf
	t elf_dyn 1 "position independent (ET_DYN)" ./umbra-run dyn.elf
	t elf_truncated 1 "beyond the end of the file" ./umbra-run trunc.elf
	t elf_entry_outside 1 "entry point 0x200000 is not in an executable segment" ./umbra-run noentry.elf
	t elf_below_1m 1 "is below 1 MiB" ./umbra-run low.elf
	t elf_beyond_ram 1 "does not fit in 128M of RAM; give more --mem" ./umbra-run high.elf
	t dev_missing 1 "/dev/nothere: No such file or directory" ./umbra-run --dev /dev/nothere hello.elf
	t stats_json_bad_path 1 "--stats-json /nonexistent/s.json" \
		./umbra-run --stats-json /nonexistent/s.json hello.elf
}

# 2 and 4. Guests on DEV (PREFIX names the checks; SOURCE is the stats
# source --stats must name).
guest_suite() {
	dev=$1 p=$2
	t "${p}_hello" 0 "" ./umbra-run --dev "$dev" hello.elf
	hasline "${p}_hello_line" "hello from vcpu 0"
	hasline "${p}_hello_outsw" "outsw ok"
	hasline "${p}_hello_outsl" "outsl ok"
	hasline "${p}_hello_outw_outl" "wl"
	hasline "${p}_hello_done" "all 1 vcpus done; cmdline []"
	if grep -q "$(printf '\001')" "$out"; then
		notok "${p}_serial_dlab" "the divisor latch byte was printed"
	else
		ok "${p}_serial_dlab"
	fi

	t "${p}_hello_4cpus" 0 "" ./umbra-run --dev "$dev" -c 4 hello.elf -- a  b "c d"
	for i in 0 1 2 3; do
		hasline "${p}_hello_4cpus_vcpu$i" "hello from vcpu $i"
	done
	hasline "${p}_hello_4cpus_cmdline" "all 4 vcpus done; cmdline [a b c d]"
	t "${p}_hello_3g_2cpus" 0 "boot: mem_size 0xc0000000 nr_cpus 2" \
		./umbra-run --dev "$dev" --vcpus 2 --mem 3G hello.elf
	t "${p}_too_many_cpus_for_boot_area" 1 "has room for" ./umbra-run --dev "$dev" -c 60 hello.elf
	t "${p}_unpaged_needs_boot32_header" 1 \
		"--unpaged needs an image that starts with a struct umbra_boot32_header" \
		./umbra-run --dev "$dev" --unpaged hello.elf

	t "${p}_exit_status_7" 7 "" ./umbra-run --dev "$dev" exit.elf -- 7
	t "${p}_exit_status_125" 125 "" ./umbra-run --dev "$dev" exit.elf -- 125
	t "${p}_exit_status_126" 3 "guest exit status 126 (0x7e)" ./umbra-run --dev "$dev" exit.elf -- 126
	t "${p}_exit_port_outb" 3 "the exit port takes a 32-bit OUT" \
		./umbra-run --dev "$dev" badport.elf -- outb
	t "${p}_triple_fault" 3 "guest triple fault (KVM_EXIT_SHUTDOWN)" ./umbra-run --dev "$dev" triple.elf
	# KVM on AMD resets a vCPU that shuts down: then the dump must say so.
	if grep -qF "efer 0000000000000d01" "$out" ||
	   grep -qF "registers, as the hypervisor reset them" "$out"; then
		ok "${p}_triple_fault_dump"
	else
		notok "${p}_triple_fault_dump" "$(grep -A2 registers "$out" | tr '\n' '|')"
	fi
	t "${p}_mmio" 3 "MMIO read, 4 bytes at gpa 0xfee00030" ./umbra-run --dev "$dev" mmio.elf
	has "${p}_mmio_dump" "vcpu 0 registers:"
	# Hostile guests: a clear exit, never harm to the host.
	t "${p}_cr3_outside_ram" 3 "badcr3: loading CR3 outside RAM" \
		./umbra-run --dev "$dev" badcr3.elf
	if [ "$p" = umbra ]; then
		has umbra_cr3_outside_ram_internal_error "KVM_EXIT_INTERNAL_ERROR"
	fi
	t "${p}_garbage_page_tables" 3 "garbage: scribbling" \
		./umbra-run --dev "$dev" garbage.elf
	t "${p}_unhandled_port" 3 "unhandled I/O port 0x80: 1-byte write (out)" \
		./umbra-run --dev "$dev" badport.elf
	t "${p}_all_halted" 2 "all 2 vCPU(s) halted" ./umbra-run --dev "$dev" -c 2 halt.elf
	t "${p}_stats" 0 "exits to umbra-run" ./umbra-run --dev "$dev" -c 2 --stats hello.elf
	has "${p}_stats_kernel" "in-kernel counters ($3)"
	has "${p}_stats_wall" "wall "
	if grep -qE '^  IO +[1-9][0-9]* +[1-9][0-9]* +[1-9][0-9]*$' "$out"; then
		ok "${p}_stats_io_counted"
	else
		notok "${p}_stats_io_counted" "$(grep '^  IO' "$out")"
	fi
	if grep -qE '^  exits +[1-9][0-9]* +[1-9][0-9]* +[1-9][0-9]*$' "$out"; then
		ok "${p}_stats_kernel_exits"
	else
		notok "${p}_stats_kernel_exits" "$(grep '^  exits' "$out")"
	fi
	grep -E '^(umbra-run: stats|  |exits|in-kernel)' "$out" | sed 's/^/# /'

	rm -f /tmp/vmm-stats.json
	t "${p}_stats_json" 0 "" ./umbra-run --dev "$dev" --stats-json /tmp/vmm-stats.json exit.elf -- 0
	if grep -qE '^\{"dev":".*","nr_cpus":1,.*"wall_seconds":[0-9.]+,"end":"exit","status":0,.*"user_io":[1-9][0-9]*,.*"exits":[1-9][0-9]*,.*\}$' \
		/tmp/vmm-stats.json 2> /dev/null; then
		ok "${p}_stats_json_content"
	else
		notok "${p}_stats_json_content" "$(cat /tmp/vmm-stats.json 2>&1)"
	fi
	sed 's/^/# /' /tmp/vmm-stats.json

	# Last: guests that never exit on their own (a hypervisor that ignores
	# signals hangs here, after everything else has been reported).
	t "${p}_timeout" 124 "still running after 2 s" ./umbra-run --dev "$dev" -c 2 --timeout 2 spin.elf
	has "${p}_timeout_rips" "vcpu 1 was at RIP"

	# SIGTERM, and the vCPU threads' names while they run.
	./umbra-run --dev "$dev" -c 2 spin.elf > "$out" 2>&1 &
	pid=$!
	sleep 2
	names=$(cat /proc/$pid/task/*/comm 2> /dev/null | sort | tr '\n' ' ')
	kill -TERM $pid
	wait $pid
	rc=$?
	case $names in
	*umbra-vcpu-0*umbra-vcpu-1*) ok "${p}_thread_names" ;;
	*) notok "${p}_thread_names" "threads: $names" ;;
	esac
	if [ $rc = 143 ] && grep -qF "SIGTERM: stopping the guest" "$out"; then
		ok "${p}_sigterm"
	else
		notok "${p}_sigterm" "exit $rc: $(last_lines)"
	fi
}

# 4. umbra, loaded alone.
umbra_suite() {
	if ! [ -f umbra.ko ]; then
		echo "# skip umbra: no umbra.ko in the payload"
		return
	fi
	if ! insmod ./umbra.ko; then
		notok umbra_insmod "$(dmesg | tail -n 2 | tr '\n' '|')"
		return
	fi
	./umbra-run --dev /dev/umbra -v --stats hello.elf > "$out" 2>&1
	rc=$?
	sed 's/^/# /' "$out"
	if [ $rc = 3 ] && grep -qF "KVM_RUN: Operation not supported" "$out"; then
		# Before umbra runs guests: the report must be one clear line.
		has umbra_kvm_run_unsupported_hint "does not implement KVM_RUN; try --dev /dev/kvm"
		if grep -qF "registers:" "$out"; then
			notok umbra_kvm_run_unsupported_no_dump "a register dump for a missing ioctl"
		else
			ok umbra_kvm_run_unsupported_no_dump
		fi
		if grep -qF "in-kernel counters: UMBRA_GET_VCPU_STATS" "$out"; then
			has umbra_stats_source "in-kernel counters (UMBRA_GET_VCPU_STATS)"
		fi
		echo "# skip umbra guest suite: /dev/umbra's KVM_RUN is not implemented"
	else
		guest_suite /dev/umbra umbra UMBRA_GET_VCPU_STATS
	fi
	rmmod umbra || notok umbra_rmmod "rmmod failed"
}

usage_suite

# 2. KVM first: it is the reference, and its results should not depend on
# whether umbra survives its suite.
if kvm-load npt=0 > "$out" 2>&1; then
	ok kvm_load
	# One VM held throughout: see hold.c (TCG vs KVM's static keys).
	./hold /dev/kvm > /tmp/vmm-hold.out 2>&1 &
	holder=$!
	for _ in 1 2 3 4 5 6 7 8 9 10; do grep -q held /tmp/vmm-hold.out && break; sleep 0.2; done
	guest_suite /dev/kvm kvm KVM_GET_STATS_FD
	kill $holder
	wait $holder 2> /dev/null

	# 3. umbra beside KVM: KVM_CREATE_VM says EBUSY, and the hint says why.
	if [ -f umbra.ko ] && insmod ./umbra.ko; then
		t umbra_ebusy_while_kvm_owns_svm 1 "KVM_CREATE_VM: Device or resource busy (kvm_amd owns AMD-V" \
			./umbra-run --dev /dev/umbra hello.elf
		rmmod umbra
	fi
	kvm-unload > /dev/null 2>&1 || notok kvm_unload "$(kvm-unload 2>&1)"
else
	notok kvm_load "$(last_lines)"
fi

# 4. umbra alone.
umbra_suite

echo "vmm: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
