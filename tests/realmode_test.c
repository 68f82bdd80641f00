// SPDX-License-Identifier: GPL-2.0
/*
 * realmode_test - a guest that never leaves real mode, from the reset
 * vector, on /dev/umbra or /dev/kvm:  realmode_test [--dev PATH] [-v]
 *
 * A shadow MMU runs such a guest with the hardware's paging on over an
 * identity map of guest-physical memory (AMD's "paged real mode"), and
 * has to decode 16-bit code itself where it emulates.  The vCPU keeps
 * KVM's reset state: CS = 0xf000 with base 0xffff0000, IP = 0xfff0.
 *
 *   slot 0   0 .. 512 KiB        RAM: the code at 0x1000, data above
 *   slot 1   0xffff0000 + 64 KiB  "BIOS": a far jump to 0x0100:0000
 *   0x90000 and up               no memslot: MMIO
 *
 * The code (realmode_guest.S) then: writes 'R' to the serial port; stores a
 * word through DS and reads it back (OUT of the word); reads CR0 (OUT of
 * the dword); stores a word by MMIO through ES:[BX+SI] and loads one
 * through ES:[DI+disp8] into CX (OUT of CX); halts.  Each exit is checked:
 * reason, port, size, value, MMIO address, length and data.
 */
#include <fcntl.h>
#include <getopt.h>
#include <linux/kvm.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test_util.h"

#define RAM_SIZE	0x80000
#define BIOS_GPA	0xffff0000ULL
#define BIOS_SIZE	0x10000
#define CODE_GPA	0x1000
#define MMIO_BASE	0x90000		/* ES = 0x9000 */
#define PORT		0x3f8

/* The guest: 16-bit code from realmode_guest.S, copied to CODE_GPA. */
extern const unsigned char rm_code[], rm_code_end[];

/* At 0xfff0 of the BIOS: ljmp $0x0100, $0x0000. */
static const unsigned char reset_jump[] = { 0xea, 0x00, 0x00, 0x00, 0x01 };

static int vcpu_fd;
static struct kvm_run *run;

static void set_slot(int vm, __u32 slot, __u64 gpa, __u64 size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (unsigned long)hva,
	};

	test_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r);
}

/*
 * Run to the next exit; it must be @reason.  Only a wrong exit is recorded
 * (as check @name): the caller checks the exit's contents under @name.
 */
static bool run_to(const char *name, __u32 reason)
{
	long r = __ioctl(vcpu_fd, KVM_RUN, 0);

	if (r < 0)
		return check(name, false, "KVM_RUN: %s", errno_name((int)-r));
	if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
		return check(name, false, "internal error, suberror %u",
			     run->internal.suberror);
	if (run->exit_reason != reason)
		return check(name, false, "exit reason %u, want %u",
			     run->exit_reason, reason);
	return true;
}

static void expect_out(const char *name, unsigned int size, __u32 want)
{
	__u32 got = 0;

	if (!run_to(name, KVM_EXIT_IO))
		return;
	memcpy(&got, (char *)run + run->io.data_offset, run->io.size);
	check(name, run->io.direction == KVM_EXIT_IO_OUT && run->io.port == PORT &&
	      run->io.size == size && run->io.count == 1 && got == want,
	      "dir %u port %#x size %u count %u value %#x, want OUT %#x size %u value %#x",
	      run->io.direction, run->io.port, run->io.size, run->io.count, got,
	      PORT, size, want);
}

static bool expect_mmio(const char *name, __u64 gpa, bool write, __u16 data)
{
	__u16 got;

	if (!run_to(name, KVM_EXIT_MMIO))
		return false;
	memcpy(&got, run->mmio.data, sizeof(got));
	return check(name, run->mmio.phys_addr == gpa && run->mmio.len == 2 &&
		     run->mmio.is_write == write && (!write || got == data),
		     "gpa %#llx len %u write %u data %#x, want gpa %#llx len 2 write %u data %#x",
		     (unsigned long long)run->mmio.phys_addr, run->mmio.len,
		     run->mmio.is_write, got, (unsigned long long)gpa, write, data);
}

int main(int argc, char **argv)
{
	const char *dev = "/dev/umbra";
	struct kvm_sregs sregs;
	unsigned char *ram, *bios;
	int sys, vm, c;
	long size;

	static const struct option opts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 }
	};

	test.prog = "realmode_test";
	while ((c = getopt_long(argc, argv, "d:v", opts, NULL)) != -1) {
		if (c == 'd')
			dev = optarg;
		else if (c == 'v')
			test.verbose = true;
		else
			TEST_ASSERT(false, "usage: realmode_test [--dev PATH] [-v]");
	}
	sys = open(dev, O_RDWR);
	TEST_ASSERT(sys >= 0, "open %s: %s", dev, errno_name(errno));
	vm = (int)test_ioctl(sys, KVM_CREATE_VM, 0);
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bios = mmap(NULL, BIOS_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(ram != MAP_FAILED && bios != MAP_FAILED, "mmap");
	memcpy(ram + CODE_GPA, rm_code, rm_code_end - rm_code);
	memcpy(bios + 0xfff0, reset_jump, sizeof(reset_jump));
	set_slot(vm, 0, 0, RAM_SIZE, ram);
	set_slot(vm, 1, BIOS_GPA, BIOS_SIZE, bios);

	vcpu_fd = (int)test_ioctl(vm, KVM_CREATE_VCPU, 0);
	size = test_ioctl(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd, 0);
	TEST_ASSERT(run != MAP_FAILED, "mmap kvm_run");
	test_ioctl(vcpu_fd, KVM_GET_SREGS, &sregs);
	check("starts_in_real_mode", !(sregs.cr0 & 1) && sregs.cs.base == 0xffff0000,
	      "CR0 %#llx CS.base %#llx", (unsigned long long)sregs.cr0,
	      (unsigned long long)sregs.cs.base);

	expect_out("realmode_out_byte", 1, 'R');
	expect_out("realmode_ds_store_load", 2, 0xbeef);
	expect_out("realmode_cr0_read", 4, (__u32)sregs.cr0);
	expect_mmio("realmode_mmio_write_bx_si", MMIO_BASE + 0x14, true, 0x1234);
	if (expect_mmio("realmode_mmio_read_di_disp8", MMIO_BASE + 0x28, false, 0))
		memcpy(run->mmio.data, &(__u16){ 0x5678 }, 2);
	expect_out("realmode_mmio_read_lands_in_cx", 2, 0x5678);
	if (run_to("realmode_hlt", KVM_EXIT_HLT))
		check("realmode_hlt", true, "%s", "");
	check("realmode_ram_written", ram[0x2010] == 0xef && ram[0x2011] == 0xbe,
	      "RAM at 0x2010 holds %02x %02x", ram[0x2010], ram[0x2011]);

	test_summary();
	return test.failed ? 1 : 0;
}
