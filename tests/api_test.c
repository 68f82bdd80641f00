// SPDX-License-Identifier: GPL-2.0
/*
 * api_test - the KVM API surface of umbra's foundation, checked against the
 * reference: the same ioctl must get the same answer from /dev/umbra as from
 * /dev/kvm (Linux 6.12, kvm_amd).
 *
 * What it checks, one "ok - NAME" / "not ok - NAME: ..." line each:
 *  - system fd: API version, vCPU mmap size, capabilities, KVM_CREATE_VM
 *    types, unknown and misdirected ioctls, closed fds, a foreign device;
 *  - VM fd: unknown and misdirected ioctls;
 *  - memslots (KVM_SET_USER_MEMORY_REGION and _REGION2): every validation
 *    of __kvm_set_memory_region() (alignment, wrap, size, user address,
 *    slot and address-space ids, flags), overlap, delete, move, resize,
 *    read-only slots, identical re-sets, bad pointers;
 *  - vCPUs: ids, the kvm_run mapping, the x86 reset state of KVM_GET_REGS and
 *    KVM_GET_SREGS, set/get round trips, KVM_SET_SREGS validation
 *    (kvm_is_valid_sregs()), KVM_SET_CPUID2/KVM_GET_CPUID2, bad pointers;
 *  - processes: a forked child gets EIO on the parent's VM and vCPU fds;
 *  - lifetime: fds closed in every order, 64 VMs at once, a child killed by
 *    SIGKILL in the middle of VM ioctls.  On umbra each case ends with
 *    UMBRA_GET_GLOBAL_STATS reporting nothing alive.
 *
 * Checks for umbra's own additions, or for the few places where umbra answers
 * differently on purpose (each one says why), are skipped on KVM, and the
 * other way round.  The device is umbra when it answers
 * KVM_CHECK_EXTENSION(UMBRA_CAP_GLOBAL_STATS) > 0.
 *
 * Usage: api_test [--dev PATH] [-v]	(default /dev/umbra)
 * Exit: 0 if no check failed, 1 otherwise, 4 (skip) if PATH does not exist.
 * The last line is "api_test: N passed, M failed[, K skipped]".
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "umbra.h"
#include "test_util.h"

/*
 * The build host's <linux/kvm.h> may predate Linux 6.8; these are 6.12's
 * values.  struct kvm_userspace_memory_region2 gets a name of our own so
 * that it does not clash with a header that has it.
 */
#ifndef KVM_CAP_USER_MEMORY2
#define KVM_CAP_USER_MEMORY2	231
#endif
#ifndef KVM_CAP_VM_TYPES
#define KVM_CAP_VM_TYPES	235
#endif
#ifndef KVM_MEM_GUEST_MEMFD
#define KVM_MEM_GUEST_MEMFD	(1UL << 2)
#endif

struct test_mem_region2 {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
	__u64 guest_memfd_offset;
	__u32 guest_memfd;
	__u32 pad1;
	__u64 pad2[14];
};
_Static_assert(sizeof(struct test_mem_region2) == 160, "kvm_userspace_memory_region2 layout");
#define TEST_SET_USER_MEMORY_REGION2 _IOW(KVMIO, 0x49, struct test_mem_region2)

/* No KVM version uses this number; type KVMIO, so it reaches the handlers. */
#define TEST_UNKNOWN_IOCTL	_IO(KVMIO, 0xff)

/* KVM_MEM_MAX_NR_PAGES in include/linux/kvm_host.h */
#define KVM_MEM_MAX_NR_PAGES	((1ULL << 31) - 1)

#define X86_CR0_PE	(1ULL << 0)
#define X86_CR0_MP	(1ULL << 1)
#define X86_CR0_ET	(1ULL << 4)
#define X86_CR0_NE	(1ULL << 5)
#define X86_CR0_WP	(1ULL << 16)
#define X86_CR0_NW	(1ULL << 29)
#define X86_CR0_CD	(1ULL << 30)
#define X86_CR0_PG	(1ULL << 31)
#define X86_CR4_PAE	(1ULL << 5)
#define EFER_SCE	(1ULL << 0)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)
#define EFER_NX		(1ULL << 11)
#define EFER_SVME	(1ULL << 12)
#define APIC_BASE_ENABLE (1ULL << 11)

/* Guest physical address bits the test's CPUID declares (leaf 0x80000008). */
#define TEST_PHYS_BITS	48

static const char *dev_path = "/dev/umbra";
static bool is_umbra;		/* the device answers UMBRA_CAP_GLOBAL_STATS */
static long page_size;
static int sys_fd = -1;		/* open for the whole run */
static long mmap_size;		/* KVM_GET_VCPU_MMAP_SIZE */
static long cap_nr_memslots;
static long cap_max_vcpu_id;
static long cap_address_spaces;	/* KVM_CAP_MULTI_ADDRESS_SPACE, 0 read as 1 */
static void *bad_ptr;		/* a PROT_NONE page: any access faults */
static char *mem;		/* anonymous memory backing the memslots */
#define MEM_PAGES	32

/* ---- applicability -------------------------------------------------- */

static bool umbra_only(const char *name)
{
	if (is_umbra)
		return true;
	check_skip(name, "umbra only");
	return false;
}

static bool kvm_only(const char *name)
{
	if (!is_umbra)
		return true;
	check_skip(name, "KVM only");
	return false;
}

/* ---- raw/asserting helpers -------------------------------------------- */

static int open_dev(void)
{
	int fd = open(dev_path, O_RDWR | O_CLOEXEC);

	TEST_ASSERT(fd >= 0, "open %s: %s", dev_path, errno_name(errno));
	return fd;
}

static long check_cap(int fd, long cap)
{
	return __ioctl(fd, KVM_CHECK_EXTENSION, cap);
}

static int create_vm(int sys)
{
	return test_ioctl(sys, KVM_CREATE_VM, 0);
}

static int create_vcpu(int vm, unsigned long id)
{
	return test_ioctl(vm, KVM_CREATE_VCPU, id);
}

static long __set_mem(int vm, __u32 slot, __u32 flags, __u64 gpa, __u64 size, __u64 hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = hva,
	};

	return __ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r);
}

static void set_mem(int vm, __u32 slot, __u32 flags, __u64 gpa, __u64 size, __u64 hva)
{
	long r = __set_mem(vm, slot, flags, gpa, size, hva);

	TEST_ASSERT(r == 0, "slot %u gpa 0x%llx size 0x%llx: %s", slot,
		    (unsigned long long)gpa, (unsigned long long)size, errno_name((int)-r));
}

static long __set_mem2(int vm, __u32 slot, __u32 flags, __u64 gpa, __u64 size, __u64 hva)
{
	struct test_mem_region2 r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = hva,
	};

	return __ioctl(vm, TEST_SET_USER_MEMORY_REGION2, &r);
}

/* hva of page @n of the test memory */
static __u64 mem_at(unsigned int n)
{
	return (__u64)(uintptr_t)(mem + n * page_size);
}

/* pages -> bytes */
static __u64 pg(__u64 n)
{
	return n * page_size;
}

static void get_regs(int vcpu, struct kvm_regs *regs)
{
	test_ioctl(vcpu, KVM_GET_REGS, regs);
}

static void get_sregs(int vcpu, struct kvm_sregs *sregs)
{
	test_ioctl(vcpu, KVM_GET_SREGS, sregs);
}

static long __set_sregs(int vcpu, struct kvm_sregs *sregs)
{
	return __ioctl(vcpu, KVM_SET_SREGS, sregs);
}

static struct kvm_run *map_run(int vcpu)
{
	void *p = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap vcpu fd: %s", errno_name(errno));
	return p;
}

static void close_fd(int fd)
{
	TEST_ASSERT(close(fd) == 0, "close %d: %s", fd, errno_name(errno));
}

/* ---- umbra's global stats --------------------------------------------- */

/* Read the stats through a fresh system fd; false (and a message) if it fails. */
static bool get_stats(struct umbra_global_stats *st)
{
	int fd = open_dev();
	long r;

	memset(st, 0xff, sizeof(*st));
	r = __ioctl(fd, UMBRA_GET_GLOBAL_STATS, st);
	close_fd(fd);
	if (r < 0) {
		printf("# UMBRA_GET_GLOBAL_STATS: %s\n", errno_name((int)-r));
		return false;
	}
	return true;
}

static void print_stats(const char *when, const struct umbra_global_stats *st)
{
	test_info("stats %s: vms %llu vcpus %llu memslots %llu svm_users %llu", when,
		  (unsigned long long)st->vms, (unsigned long long)st->vcpus,
		  (unsigned long long)st->memslots, (unsigned long long)st->svm_users);
}

/*
 * check_stats_zero - on umbra, nothing may be left alive once every fd of a
 * case is closed.  Our own closes release synchronously, and a killed child's
 * files are released before waitpid() returns; the short poll only forgives
 * an implementation that frees the VM from a worker or an RCU callback.
 */
static void check_stats_zero(const char *name)
{
	struct umbra_global_stats st;
	int waited_ms = 0;
	bool ok;

	if (!umbra_only(name))
		return;
	for (;;) {
		ok = get_stats(&st);
		if (!ok || (!st.vms && !st.vcpus && !st.memslots && !st.svm_users) ||
		    waited_ms >= 2000)
			break;
		usleep(10 * 1000);
		waited_ms += 10;
	}
	if (ok && waited_ms)
		test_info("%s: counts reached zero only after %d ms", name, waited_ms);
	check(name, ok && !st.vms && !st.vcpus && !st.memslots && !st.svm_users,
	      "expected 0 vms/vcpus/memslots/svm_users, got %llu/%llu/%llu/%llu",
	      (unsigned long long)st.vms, (unsigned long long)st.vcpus,
	      (unsigned long long)st.memslots, (unsigned long long)st.svm_users);
}

/* ---- reading memory that may not be there ----------------------------- */

static sigjmp_buf probe_jmp;

static void probe_handler(int sig)
{
	siglongjmp(probe_jmp, sig);
}

/* probe_read - read the byte at @p: 0 if that worked, else the signal (SIGBUS, SIGSEGV). */
static int probe_read(const volatile char *p)
{
	struct sigaction sa = { .sa_handler = probe_handler }, old_bus, old_segv;
	int sig;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	sig = sigsetjmp(probe_jmp, 1);
	if (!sig)
		(void)*p;
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return sig;
}

/* ---- system fd -------------------------------------------------------- */

static void test_system_fd(void)
{
	long vm_types, r, type, nr_vcpus, max_vcpus;
	int fd;

	check_ret("api_version_12", __ioctl(sys_fd, KVM_GET_API_VERSION, 0), 12);
	check_errno("api_version_nonzero_arg_einval",
		    __ioctl(sys_fd, KVM_GET_API_VERSION, 1), EINVAL);

	r = __ioctl(sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	test_info("KVM_GET_VCPU_MMAP_SIZE = %ld (%ld pages)", r, r > 0 ? r / page_size : 0);
	check("vcpu_mmap_size_at_least_2_pages", r >= 2 * page_size,
	      "expected >= %ld, got %s", 2 * page_size, describe_ret(r));
	check("vcpu_mmap_size_page_multiple", r > 0 && r % page_size == 0,
	      "expected a multiple of %ld, got %s", page_size, describe_ret(r));
	mmap_size = r > 0 ? r : 2 * page_size;
	check_errno("vcpu_mmap_size_nonzero_arg_einval",
		    __ioctl(sys_fd, KVM_GET_VCPU_MMAP_SIZE, 1), EINVAL);

	r = check_cap(sys_fd, KVM_CAP_USER_MEMORY);
	check("cap_user_memory", r > 0, "expected > 0, got %s", describe_ret(r));
	r = check_cap(sys_fd, KVM_CAP_USER_MEMORY2);
	check("cap_user_memory2", r > 0, "expected > 0, got %s", describe_ret(r));

	r = check_cap(sys_fd, KVM_CAP_NR_VCPUS);
	test_info("KVM_CAP_NR_VCPUS = %ld", r);
	check("cap_nr_vcpus", r > 0, "expected > 0, got %s", describe_ret(r));
	nr_vcpus = r;

	r = check_cap(sys_fd, KVM_CAP_MAX_VCPUS);
	test_info("KVM_CAP_MAX_VCPUS = %ld", r);
	check("cap_max_vcpus", r > 0, "expected > 0, got %s", describe_ret(r));
	check("cap_max_vcpus_ge_nr_vcpus", r >= nr_vcpus,
	      "expected >= %ld (KVM_CAP_NR_VCPUS), got %s", nr_vcpus, describe_ret(r));
	max_vcpus = r;

	r = check_cap(sys_fd, KVM_CAP_MAX_VCPU_ID);
	test_info("KVM_CAP_MAX_VCPU_ID = %ld", r);
	check("cap_max_vcpu_id", r > 0, "expected > 0, got %s", describe_ret(r));
	check("cap_max_vcpu_id_ge_max_vcpus", r >= max_vcpus,
	      "expected >= %ld (KVM_CAP_MAX_VCPUS), got %s", max_vcpus, describe_ret(r));
	cap_max_vcpu_id = r > 0 ? r : 1;

	r = check_cap(sys_fd, KVM_CAP_NR_MEMSLOTS);
	test_info("KVM_CAP_NR_MEMSLOTS = %ld", r);
	check("cap_nr_memslots", r > 0, "expected > 0, got %s", describe_ret(r));
	cap_nr_memslots = r > 0 ? r : 1;

	r = check_cap(sys_fd, KVM_CAP_MULTI_ADDRESS_SPACE);
	test_info("KVM_CAP_MULTI_ADDRESS_SPACE = %ld", r);
	cap_address_spaces = r > 0 ? r : 1;

	check_ret("cap_unknown_zero", check_cap(sys_fd, 0x7fffffff), 0);

	/* Supported VM types: the KVM_CAP_VM_TYPES mask, or only type 0. */
	vm_types = check_cap(sys_fd, KVM_CAP_VM_TYPES);
	test_info("KVM_CAP_VM_TYPES = %ld", vm_types);
	if (vm_types <= 0)
		vm_types = 1;
	r = __ioctl(sys_fd, KVM_CREATE_VM, 0);
	if (check_success("create_vm_type0", r))
		close_fd((int)r);
	for (type = 1; type < 32 && (vm_types & (1L << type)); type++)
		;
	test_info("first unsupported VM type: %ld", type);
	r = __ioctl(sys_fd, KVM_CREATE_VM, type);
	if (!check_errno("create_vm_unsupported_type_einval", r, EINVAL) && r >= 0)
		close_fd((int)r);
	r = __ioctl(sys_fd, KVM_CREATE_VM, 0xffffUL);
	if (!check_errno("create_vm_type_0xffff_einval", r, EINVAL) && r >= 0)
		close_fd((int)r);

	/* KVM 6.12: kvm_dev_ioctl() -> kvm_arch_dev_ioctl() answers -EINVAL. */
	check_errno("sys_unknown_ioctl_einval", __ioctl(sys_fd, TEST_UNKNOWN_IOCTL, 0), EINVAL);
	check_errno("sys_foreign_ioctl_tcgets_einval", __ioctl(sys_fd, TCGETS, bad_ptr), EINVAL);
	r = __ioctl(sys_fd, KVM_CREATE_VCPU, 0);
	if (!check_errno("sys_vm_ioctl_create_vcpu_einval", r, EINVAL) && r >= 0)
		close_fd((int)r);
	check_errno("sys_set_user_memory_region_einval",
		    __ioctl(sys_fd, KVM_SET_USER_MEMORY_REGION, bad_ptr), EINVAL);

	fd = open_dev();
	close_fd(fd);
	check_errno("closed_fd_ebadf", __ioctl(fd, KVM_GET_API_VERSION, 0), EBADF);

	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	TEST_ASSERT(fd >= 0, "open /dev/null: %s", errno_name(errno));
	check_errno("devnull_kvm_ioctl_enotty", __ioctl(fd, KVM_GET_API_VERSION, 0), ENOTTY);
	close_fd(fd);
}

/* ---- VM fd -------------------------------------------------------------- */

static void test_vm_fd(void)
{
	int vm = create_vm(sys_fd);

	/* kvm_vm_ioctl() -> kvm_arch_vm_ioctl() answers -ENOTTY. */
	check_errno("vm_unknown_ioctl_enotty", __ioctl(vm, TEST_UNKNOWN_IOCTL, 0), ENOTTY);
	check_errno("vm_foreign_ioctl_tcgets_enotty", __ioctl(vm, TCGETS, bad_ptr), ENOTTY);
	check_errno("vm_sys_ioctl_mmap_size_enotty",
		    __ioctl(vm, KVM_GET_VCPU_MMAP_SIZE, 0), ENOTTY);
	check_errno("vm_sys_ioctl_create_vm_enotty", __ioctl(vm, KVM_CREATE_VM, 0), ENOTTY);
	close_fd(vm);
}

/* ---- memslots ----------------------------------------------------------- */

static void test_memslots(void)
{
	int vm = create_vm(sys_fd);
	char *hole;
	long r;

	/* Slot 0: gpa [0, 4 pages). */
	check_ret("memslot_create", __set_mem(vm, 0, 0, 0, pg(4), mem_at(0)), 0);
	check_ret("memslot_identical_reset_ok", __set_mem(vm, 0, 0, 0, pg(4), mem_at(0)), 0);

	check_errno("memslot_unaligned_gpa_einval",
		    __set_mem(vm, 1, 0, 0x100000 + page_size / 2, pg(4), mem_at(4)), EINVAL);
	check_errno("memslot_unaligned_size_einval",
		    __set_mem(vm, 1, 0, 0x100000, pg(4) + page_size / 2, mem_at(4)), EINVAL);
	check_errno("memslot_unaligned_uaddr_einval",
		    __set_mem(vm, 1, 0, 0x100000, pg(4), mem_at(4) + page_size / 2), EINVAL);
	check_errno("memslot_gpa_wrap_einval",
		    __set_mem(vm, 1, 0, -pg(2), pg(4), mem_at(4)), EINVAL);
	/* One page more than KVM_MEM_MAX_NR_PAGES; hva+size still a user range. */
	check_errno("memslot_too_many_pages_einval",
		    __set_mem(vm, 1, 0, 1ULL << 32, pg(KVM_MEM_MAX_NR_PAGES + 1), 1ULL << 32),
		    EINVAL);
	check_errno("memslot_kernel_uaddr_einval",
		    __set_mem(vm, 1, 0, 0x100000, pg(4), 0xffff800000000000ULL), EINVAL);

	/* KVM does not look at the VMAs when a slot is created. */
	hole = mmap(NULL, pg(4), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(hole != MAP_FAILED, "mmap: %s", errno_name(errno));
	munmap(hole, pg(4));
	r = __set_mem(vm, 1, 0, 0x100000, pg(4), (uintptr_t)hole);
	check_ret("memslot_unmapped_uaddr_ok", r, 0);
	if (!r)
		set_mem(vm, 1, 0, 0x100000, 0, (uintptr_t)hole);

	check_errno("memslot_id_nr_memslots_einval",
		    __set_mem(vm, cap_nr_memslots, 0, 0x200000, pg(4), mem_at(8)), EINVAL);
	r = __set_mem(vm, cap_nr_memslots - 1, 0, 0x200000, pg(4), mem_at(8));
	if (check_ret("memslot_id_last_ok", r, 0))
		set_mem(vm, cap_nr_memslots - 1, 0, 0x200000, 0, mem_at(8));
	check_errno("memslot_address_space_beyond_cap_einval",
		    __set_mem(vm, (__u32)cap_address_spaces << 16 | 1, 0, 0x200000, pg(4),
			      mem_at(8)), EINVAL);

	/* Overlaps with slot 0, from inside, over its tail, and around it. */
	check_errno("memslot_overlap_eexist",
		    __set_mem(vm, 1, 0, pg(1), pg(2), mem_at(4)), EEXIST);
	check_errno("memslot_overlap_tail_eexist",
		    __set_mem(vm, 1, 0, pg(3), pg(4), mem_at(4)), EEXIST);
	check_errno("memslot_overlap_superset_eexist",
		    __set_mem(vm, 1, 0, 0, pg(8), mem_at(4)), EEXIST);
	/* Slot 1: gpa [4, 8 pages), touching slot 0. */
	check_ret("memslot_adjacent_ok", __set_mem(vm, 1, 0, pg(4), pg(4), mem_at(4)), 0);

	/* Move slot 1 away, over part of its own old range, then onto slot 0. */
	check_ret("memslot_move", __set_mem(vm, 1, 0, 0x100000, pg(4), mem_at(4)), 0);
	check_ret("memslot_move_overlapping_itself_ok",
		  __set_mem(vm, 1, 0, 0x100000 + pg(2), pg(4), mem_at(4)), 0);
	check_errno("memslot_move_overlap_eexist",
		    __set_mem(vm, 1, 0, pg(2), pg(4), mem_at(4)), EEXIST);
	set_mem(vm, 1, 0, 0x100000, pg(4), mem_at(4));

	check_errno("memslot_grow_einval", __set_mem(vm, 1, 0, 0x100000, pg(8), mem_at(4)), EINVAL);
	check_errno("memslot_shrink_einval",
		    __set_mem(vm, 1, 0, 0x100000, pg(2), mem_at(4)), EINVAL);
	check_errno("memslot_change_uaddr_einval",
		    __set_mem(vm, 1, 0, 0x100000, pg(4), mem_at(12)), EINVAL);
	check_errno("memslot_set_readonly_on_existing_einval",
		    __set_mem(vm, 1, KVM_MEM_READONLY, 0x100000, pg(4), mem_at(4)), EINVAL);

	check_errno("memslot_unknown_flag_bit3_einval",
		    __set_mem(vm, 2, 1U << 3, 0x200000, pg(4), mem_at(8)), EINVAL);
	check_errno("memslot_unknown_flag_bit16_einval",
		    __set_mem(vm, 2, 1U << 16, 0x200000, pg(4), mem_at(8)), EINVAL);
	check_errno("memslot_guest_memfd_flag_v1_einval",
		    __set_mem(vm, 2, KVM_MEM_GUEST_MEMFD, 0x200000, pg(4), mem_at(8)), EINVAL);

	check_ret("memslot_delete", __set_mem(vm, 1, 0, 0x100000, 0, mem_at(4)), 0);
	check_errno("memslot_delete_again_einval", __set_mem(vm, 1, 0, 0x100000, 0, mem_at(4)),
		    EINVAL);
	check_errno("memslot_delete_nonexistent_einval", __set_mem(vm, 7, 0, 0, 0, 0), EINVAL);
	/* The way to resize: delete, then create again. */
	check_ret("memslot_recreate_resized", __set_mem(vm, 1, 0, 0x100000, pg(8), mem_at(4)), 0);

	if (check_cap(sys_fd, KVM_CAP_READONLY_MEM) > 0) {
		check_ret("memslot_readonly_create",
			  __set_mem(vm, 3, KVM_MEM_READONLY, 0x300000, pg(4), mem_at(16)), 0);
		check_errno("memslot_clear_readonly_on_existing_einval",
			    __set_mem(vm, 3, 0, 0x300000, pg(4), mem_at(16)), EINVAL);
		check_ret("memslot_readonly_move",
			  __set_mem(vm, 3, KVM_MEM_READONLY, 0x380000, pg(4), mem_at(16)), 0);
	} else {
		check_skip("memslot_readonly_create", "no KVM_CAP_READONLY_MEM");
		check_skip("memslot_clear_readonly_on_existing_einval", "no KVM_CAP_READONLY_MEM");
		check_skip("memslot_readonly_move", "no KVM_CAP_READONLY_MEM");
	}

	/*
	 * Dirty logging: KVM accepts KVM_MEM_LOG_DIRTY_PAGES.  umbra does not
	 * implement dirty logging yet and refuses the flag with EINVAL rather
	 * than pretend; drop this difference when it does.
	 */
	r = __set_mem(vm, 4, KVM_MEM_LOG_DIRTY_PAGES, 0x400000, pg(4), mem_at(20));
	check_ret("memslot_log_dirty_pages", r, is_umbra ? -EINVAL : 0);
	r = __set_mem(vm, 0, KVM_MEM_LOG_DIRTY_PAGES, 0, pg(4), mem_at(0));
	check_ret("memslot_log_dirty_pages_flags_only", r, is_umbra ? -EINVAL : 0);

	check_errno("memslot_efault", __ioctl(vm, KVM_SET_USER_MEMORY_REGION, bad_ptr), EFAULT);

	/* A slot above 4 GiB of guest physical space. */
	check_ret("memslot_high_gpa_ok", __set_mem(vm, 5, 0, 1ULL << 32, pg(4), mem_at(24)), 0);
	close_fd(vm);
}

static void test_memslots2(void)
{
	int vm = create_vm(sys_fd);

	check_ret("memslot2_create", __set_mem2(vm, 0, 0, 0, pg(4), mem_at(0)), 0);
	/* Both ioctls see the same slots. */
	check_ret("memslot2_identical_reset_v1_ok", __set_mem(vm, 0, 0, 0, pg(4), mem_at(0)), 0);
	check_errno("memslot2_overlap_eexist", __set_mem2(vm, 1, 0, pg(2), pg(4), mem_at(4)),
		    EEXIST);
	/* A type 0 VM has no private memory (kvm_arch_has_private_mem()). */
	check_errno("memslot2_guest_memfd_einval",
		    __set_mem2(vm, 1, KVM_MEM_GUEST_MEMFD, 0x100000, pg(4), mem_at(4)), EINVAL);
	check_errno("memslot2_unknown_flag_einval",
		    __set_mem2(vm, 1, 1U << 3, 0x100000, pg(4), mem_at(4)), EINVAL);
	check_errno("memslot2_unaligned_gpa_einval",
		    __set_mem2(vm, 1, 0, 0x100000 + 8, pg(4), mem_at(4)), EINVAL);
	check_errno("memslot2_efault", __ioctl(vm, TEST_SET_USER_MEMORY_REGION2, bad_ptr), EFAULT);
	check_ret("memslot2_delete", __set_mem2(vm, 0, 0, 0, 0, mem_at(0)), 0);
	check_errno("memslot2_delete_again_einval", __set_mem2(vm, 0, 0, 0, 0, mem_at(0)), EINVAL);
	close_fd(vm);
}

/* ---- vCPU creation and the kvm_run mapping ------------------------------- */

static void test_vcpu_create(void)
{
	int vm = create_vm(sys_fd);
	long r, vcpu0;

	vcpu0 = __ioctl(vm, KVM_CREATE_VCPU, 0);
	check_success("vcpu_create_id0", vcpu0);
	r = __ioctl(vm, KVM_CREATE_VCPU, 0);
	if (!check_errno("vcpu_create_duplicate_eexist", r, EEXIST) && r >= 0)
		close_fd((int)r);
	r = __ioctl(vm, KVM_CREATE_VCPU, cap_max_vcpu_id);
	if (!check_errno("vcpu_create_id_max_vcpu_id_einval", r, EINVAL) && r >= 0)
		close_fd((int)r);
	r = __ioctl(vm, KVM_CREATE_VCPU, 1UL << 32);
	if (!check_errno("vcpu_create_id_above_32bit_einval", r, EINVAL) && r >= 0)
		close_fd((int)r);
	r = __ioctl(vm, KVM_CREATE_VCPU, cap_max_vcpu_id - 1);
	if (check_success("vcpu_create_id_last_ok", r))
		close_fd((int)r);
	r = __ioctl(vm, KVM_CREATE_VCPU, 1);
	if (check_success("vcpu_create_second", r))
		close_fd((int)r);
	if (vcpu0 >= 0)
		close_fd((int)vcpu0);
	close_fd(vm);
}

static void test_vcpu_mmap(void)
{
	int vm = create_vm(sys_fd);
	int vcpu = create_vcpu(vm, 0);
	struct kvm_run *run;
	char *p;
	int sig;

	run = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (check("vcpu_mmap", run != MAP_FAILED, "expected a mapping, got %s",
		  errno_name(errno))) {
		/* Nothing has run: the page is as KVM allocated it, zeroed. */
		check_u64("vcpu_run_exit_reason_initial", run->exit_reason, KVM_EXIT_UNKNOWN);
		check_u64("vcpu_run_immediate_exit_initial", run->immediate_exit, 0);
		sig = 0;
		for (p = (char *)run; !sig && p < (char *)run + mmap_size; p += page_size)
			sig = probe_read(p);
		check("vcpu_mmap_all_pages_readable", !sig, "expected no signal, got %s",
		      strsignal(sig));
		run->immediate_exit = 0;	/* the page is writable */
		munmap(run, mmap_size);
	} else {
		check_skip("vcpu_run_exit_reason_initial", "no mapping");
		check_skip("vcpu_run_immediate_exit_initial", "no mapping");
		check_skip("vcpu_mmap_all_pages_readable", "no mapping");
	}

	/*
	 * A page past the size: KVM 6.12 lets the mmap() succeed (only dirty
	 * ring offsets are checked) and kvm_vcpu_fault() answers SIGBUS on
	 * access.  Refusing the mmap() is as good.
	 */
	p = mmap(NULL, page_size, PROT_READ, MAP_SHARED, vcpu, mmap_size);
	if (p == MAP_FAILED) {
		test_info("mmap at offset %ld: %s", mmap_size, errno_name(errno));
		check("vcpu_mmap_beyond_size_no_access", true, "mmap refused");
	} else {
		sig = probe_read(p);
		test_info("mmap at offset %ld succeeded; reading it: %s", mmap_size,
			  sig ? strsignal(sig) : "no signal");
		check("vcpu_mmap_beyond_size_no_access", sig == SIGBUS,
		      "expected mmap to fail or SIGBUS on access, got %s",
		      sig ? strsignal(sig) : "a readable page");
		munmap(p, page_size);
	}

	/* The mapping keeps the vCPU alive after its fd is closed. */
	run = map_run(vcpu);
	close_fd(vcpu);
	close_fd(vm);
	check("vcpu_mmap_outlives_fds", !probe_read((char *)&run->exit_reason),
	      "expected the kvm_run page readable after close, got a signal");
	munmap(run, mmap_size);
	check_stats_zero("vcpu_mmap_outlives_fds_stats_zero");
}

/* ---- registers ---------------------------------------------------------- */

static void dump_regs(const char *what, const struct kvm_regs *r)
{
	test_info("%s: rax %llx rbx %llx rcx %llx rdx %llx rsi %llx rdi %llx rsp %llx rbp %llx",
		  what, r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rsp, r->rbp);
	test_info("%s: r8 %llx r9 %llx r10 %llx r11 %llx r12 %llx r13 %llx r14 %llx r15 %llx",
		  what, r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15);
	test_info("%s: rip %llx rflags %llx", what, r->rip, r->rflags);
}

/* seg_str - a segment for a message; @buf holds at least SEG_STR_LEN bytes. */
#define SEG_STR_LEN 128
static const char *seg_str(char *buf, const struct kvm_segment *s)
{
	snprintf(buf, SEG_STR_LEN,
		 "sel %x base %llx limit %x type %x p %u dpl %u db %u s %u l %u g %u avl %u unusable %u",
		 s->selector, s->base, s->limit, s->type, s->present, s->dpl, s->db, s->s, s->l,
		 s->g, s->avl, s->unusable);
	return buf;
}

static void dump_seg(const char *what, const char *name, const struct kvm_segment *s)
{
	char buf[SEG_STR_LEN];

	test_info("%s: %-3s %s", what, name, seg_str(buf, s));
}

static void dump_sregs(const char *what, const struct kvm_sregs *s)
{
	unsigned int i;

	dump_seg(what, "cs", &s->cs);
	dump_seg(what, "ds", &s->ds);
	dump_seg(what, "es", &s->es);
	dump_seg(what, "fs", &s->fs);
	dump_seg(what, "gs", &s->gs);
	dump_seg(what, "ss", &s->ss);
	dump_seg(what, "tr", &s->tr);
	dump_seg(what, "ldt", &s->ldt);
	test_info("%s: gdt base %llx limit %x; idt base %llx limit %x", what, s->gdt.base,
		  s->gdt.limit, s->idt.base, s->idt.limit);
	test_info("%s: cr0 %llx cr2 %llx cr3 %llx cr4 %llx cr8 %llx efer %llx apic_base %llx",
		  what, s->cr0, s->cr2, s->cr3, s->cr4, s->cr8, s->efer, s->apic_base);
	for (i = 0; i < 4; i++)
		if (s->interrupt_bitmap[i])
			test_info("%s: interrupt_bitmap[%u] %llx", what, i, s->interrupt_bitmap[i]);
}

static void test_regs(void)
{
	int vm = create_vm(sys_fd);
	int vcpu = create_vcpu(vm, 0);
	struct kvm_regs regs, set, got;
	__u64 *w;
	unsigned int i;
	bool others_zero = true;

	get_regs(vcpu, &regs);
	dump_regs("reset regs", &regs);
	check_u64("regs_reset_rip", regs.rip, 0xfff0);
	check_u64("regs_reset_rflags", regs.rflags, 0x2);
	/* KVM's default family/model/stepping while no CPUID has been set. */
	check_u64("regs_reset_rdx", regs.rdx, 0x600);
	got = regs;
	got.rip = got.rflags = got.rdx = 0;
	for (w = (__u64 *)&got; w < (__u64 *)(&got + 1); w++)
		others_zero &= !*w;
	check("regs_reset_others_zero", others_zero,
	      "expected 0 in all GPRs but rdx, got rax %llx rbx %llx rcx %llx rsp %llx ...",
	      regs.rax, regs.rbx, regs.rcx, regs.rsp);

	/* Every field different, rflags without its fixed bit 1. */
	for (w = (__u64 *)&set, i = 1; w < (__u64 *)(&set + 1); w++, i++)
		*w = 0x1111111111111111ULL * (i & 0xf) + i;
	set.rip = 0x1234;
	set.rflags = 0x200;	/* IF */
	check_ret("regs_set", __ioctl(vcpu, KVM_SET_REGS, &set), 0);
	get_regs(vcpu, &got);
	dump_regs("after set", &got);
	check_u64("regs_rflags_fixed_bit_forced", got.rflags, 0x202);
	got.rflags = set.rflags;
	check("regs_set_get_roundtrip", !memcmp(&got, &set, sizeof(got)),
	      "expected what was set, got rax %llx rip %llx r15 %llx", got.rax, got.rip, got.r15);

	check_errno("regs_get_efault", __ioctl(vcpu, KVM_GET_REGS, bad_ptr), EFAULT);
	check_errno("regs_set_efault", __ioctl(vcpu, KVM_SET_REGS, bad_ptr), EFAULT);

	/* kvm_vcpu_ioctl() -> kvm_arch_vcpu_ioctl() answers -EINVAL. */
	check_errno("vcpu_unknown_ioctl_einval", __ioctl(vcpu, TEST_UNKNOWN_IOCTL, 0), EINVAL);
	check_errno("vcpu_foreign_ioctl_tcgets_einval", __ioctl(vcpu, TCGETS, bad_ptr), EINVAL);
	check_errno("vcpu_vm_ioctl_create_vcpu_einval", __ioctl(vcpu, KVM_CREATE_VCPU, 1), EINVAL);
	close_fd(vcpu);
	close_fd(vm);
}

/* ---- special registers: reset state ------------------------------------- */

/* check_seg - every field but the padding as expected. */
static void check_seg(const char *name, const struct kvm_segment *got,
		      const struct kvm_segment *want)
{
	char w[SEG_STR_LEN], g[SEG_STR_LEN];

	check(name, got->selector == want->selector && got->base == want->base &&
		    got->limit == want->limit && got->type == want->type &&
		    got->present == want->present && got->dpl == want->dpl &&
		    got->db == want->db && got->s == want->s && got->l == want->l &&
		    got->g == want->g && got->avl == want->avl && got->unusable == want->unusable,
	      "expected %s, got %s", seg_str(w, want), seg_str(g, got));
}

/*
 * The reset state is kvm_vcpu_reset() plus SVM's init_vmcb(), as read back
 * through svm_get_segment(): data segments report the accessed bit (type 3),
 * SS does not (type 2); CS is an execute/read code segment (type 0xa); TR is
 * a busy 16-bit TSS (type 3); G is synthesized from the limit.
 */
static void test_sregs_reset(void)
{
	static const struct kvm_segment cs = {
		.selector = 0xf000, .base = 0xffff0000, .limit = 0xffff,
		.type = 0xa, .present = 1, .s = 1,
	};
	static const struct kvm_segment data = { .limit = 0xffff, .type = 3, .present = 1, .s = 1 };
	static const struct kvm_segment ss = { .limit = 0xffff, .type = 2, .present = 1, .s = 1 };
	static const struct kvm_segment tr = { .limit = 0xffff, .type = 3, .present = 1 };
	static const struct kvm_segment ldt = { .limit = 0xffff, .type = 2, .present = 1 };
	int vm = create_vm(sys_fd);
	int vcpu = create_vcpu(vm, 0);
	struct kvm_sregs sregs, again;
	unsigned int i;
	int ap;
	bool empty = true;

	get_sregs(vcpu, &sregs);
	dump_sregs("reset sregs", &sregs);
	check_seg("sregs_reset_cs", &sregs.cs, &cs);
	check_seg("sregs_reset_ds", &sregs.ds, &data);
	check_seg("sregs_reset_es", &sregs.es, &data);
	check_seg("sregs_reset_fs", &sregs.fs, &data);
	check_seg("sregs_reset_gs", &sregs.gs, &data);
	check_seg("sregs_reset_ss", &sregs.ss, &ss);
	check_seg("sregs_reset_tr", &sregs.tr, &tr);
	check_seg("sregs_reset_ldt", &sregs.ldt, &ldt);
	check("sregs_reset_gdt_idt",
	      !sregs.gdt.base && sregs.gdt.limit == 0xffff && !sregs.idt.base &&
	      sregs.idt.limit == 0xffff,
	      "expected base 0 limit 0xffff for both, got gdt %llx/%x idt %llx/%x",
	      sregs.gdt.base, sregs.gdt.limit, sregs.idt.base, sregs.idt.limit);
	/* CD | NW | ET */
	check_u64("sregs_reset_cr0", sregs.cr0, 0x60000010);
	check("sregs_reset_cr2_cr3_cr4_cr8_zero",
	      !sregs.cr2 && !sregs.cr3 && !sregs.cr4 && !sregs.cr8,
	      "expected 0, got cr2 %llx cr3 %llx cr4 %llx cr8 %llx",
	      sregs.cr2, sregs.cr3, sregs.cr4, sregs.cr8);
	check_u64("sregs_reset_efer", sregs.efer, 0);
	/*
	 * kvm_lapic_reset() sets the MSR even without an in-kernel local APIC:
	 * default base, enabled, and BSP for vCPU 0 (kvm->arch.bsp_vcpu_id).
	 */
	check_u64("sregs_reset_apic_base_bsp", sregs.apic_base, 0xfee00900);
	for (i = 0; i < 4; i++)
		empty &= !sregs.interrupt_bitmap[i];
	check("sregs_reset_interrupt_bitmap_empty", empty, "expected no pending interrupt");
	ap = create_vcpu(vm, 1);
	get_sregs(ap, &again);
	check_u64("sregs_reset_apic_base_ap", again.apic_base, 0xfee00800);
	close_fd(ap);

	check_ret("sregs_set_reset_state", __set_sregs(vcpu, &sregs), 0);
	get_sregs(vcpu, &again);
	check("sregs_set_get_reset_roundtrip", !memcmp(&sregs, &again, sizeof(sregs)),
	      "expected the reset state back unchanged");

	check_errno("sregs_get_efault", __ioctl(vcpu, KVM_GET_SREGS, bad_ptr), EFAULT);
	check_errno("sregs_set_efault", __ioctl(vcpu, KVM_SET_SREGS, bad_ptr), EFAULT);
	close_fd(vcpu);
	close_fd(vm);
}

/* ---- special registers: validation --------------------------------------- */

static void flat_seg(struct kvm_segment *s, __u16 sel, __u8 type, bool l, bool db)
{
	*s = (struct kvm_segment) {
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = db, .s = 1, .l = l, .g = 1,
	};
}

/* Flat 32-bit protected mode, paging off, on top of @base (apic_base kept). */
static void sregs_pm32(struct kvm_sregs *s, const struct kvm_sregs *base)
{
	*s = *base;
	flat_seg(&s->cs, 0x8, 0xb, false, true);
	flat_seg(&s->ds, 0x10, 0x3, false, true);
	s->es = s->fs = s->gs = s->ss = s->ds;
	s->tr = (struct kvm_segment) {
		.base = 0x3000, .limit = 0x67, .selector = 0x18, .type = 0xb, .present = 1,
	};
	s->gdt.base = 0x1000;
	s->gdt.limit = 0x1f;
	s->idt.base = 0x2000;
	s->idt.limit = 0xfff;
	s->cr0 = X86_CR0_PE | X86_CR0_ET;
	s->cr2 = s->cr3 = s->cr4 = s->cr8 = 0;
	s->efer = 0;
	memset(s->interrupt_bitmap, 0, sizeof(s->interrupt_bitmap));
}

/* 64-bit long mode with 4-level paging, on top of @base. */
static void sregs_long(struct kvm_sregs *s, const struct kvm_sregs *base)
{
	sregs_pm32(s, base);
	flat_seg(&s->cs, 0x8, 0xb, true, false);
	s->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
	s->cr3 = 0x10000;
	s->cr4 = X86_CR4_PAE;
	s->efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NX;
}

/* The first field that differs between what was set and what came back. */
static const char *sregs_diff(const struct kvm_sregs *a, const struct kvm_sregs *b)
{
#define SEG_DIFF(f) \
	if (a->f.selector != b->f.selector || a->f.base != b->f.base ||		\
	    a->f.limit != b->f.limit || a->f.type != b->f.type ||		\
	    a->f.present != b->f.present || a->f.dpl != b->f.dpl ||		\
	    a->f.db != b->f.db || a->f.s != b->f.s || a->f.l != b->f.l ||	\
	    a->f.g != b->f.g)							\
		return #f;
	SEG_DIFF(cs) SEG_DIFF(ds) SEG_DIFF(es) SEG_DIFF(fs) SEG_DIFF(gs) SEG_DIFF(ss) SEG_DIFF(tr)
#undef SEG_DIFF
	if (a->gdt.base != b->gdt.base || a->gdt.limit != b->gdt.limit)
		return "gdt";
	if (a->idt.base != b->idt.base || a->idt.limit != b->idt.limit)
		return "idt";
	if (a->cr0 != b->cr0)
		return "cr0";
	if (a->cr3 != b->cr3)
		return "cr3";
	if (a->cr4 != b->cr4)
		return "cr4";
	if (a->efer != b->efer)
		return "efer";
	if (a->apic_base != b->apic_base)
		return "apic_base";
	return NULL;
}

static struct kvm_cpuid2 *cpuid_alloc(unsigned int nent)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

	TEST_ASSERT(c, "calloc");
	c->nent = nent;
	return c;
}

static void cpuid_set(struct kvm_cpuid_entry2 *e, __u32 fn, __u32 a, __u32 b, __u32 c, __u32 d)
{
	*e = (struct kvm_cpuid_entry2) {
		.function = fn, .eax = a, .ebx = b, .ecx = c, .edx = d,
	};
}

/*
 * test_cpuid - a minimal long-mode-capable CPUID: vendor, family, LM and NX,
 * TEST_PHYS_BITS physical and 48 virtual address bits.  Leaf 1 EDX.APIC
 * follows @apic_base, as KVM rewrites that bit at every KVM_SET_CPUID2.
 */
static struct kvm_cpuid2 *test_cpuid(__u64 apic_base)
{
	const __u32 auth = 0x68747541, enti = 0x69746e65, camd = 0x444d4163;
	/* FPU PSE TSC MSR PAE CX8 PGE CMOV PAT FXSR SSE SSE2 */
	__u32 edx1 = 1 << 0 | 1 << 3 | 1 << 4 | 1 << 5 | 1 << 6 | 1 << 8 | 1 << 13 |
		     1 << 15 | 1 << 16 | 1 << 24 | 1 << 25 | 1 << 26;
	struct kvm_cpuid2 *c = cpuid_alloc(5);

	if (apic_base & APIC_BASE_ENABLE)
		edx1 |= 1 << 9;
	cpuid_set(&c->entries[0], 0, 1, auth, camd, enti);
	cpuid_set(&c->entries[1], 1, 0x00a00f11, 0, 0, edx1);
	cpuid_set(&c->entries[2], 0x80000000, 0x80000008, auth, camd, enti);
	/* SYSCALL, NX, LM */
	cpuid_set(&c->entries[3], 0x80000001, 0x00a00f11, 0, 0, 1 << 11 | 1 << 20 | 1 << 29);
	cpuid_set(&c->entries[4], 0x80000008, 48 << 8 | TEST_PHYS_BITS, 0, 0, 0);
	return c;
}

static void test_cpuid2(void)
{
	int vm = create_vm(sys_fd);
	int vcpu = create_vcpu(vm, 0);
	struct kvm_cpuid2 *set, *got, *bad;
	struct kvm_sregs sregs;
	unsigned int i;
	long r;

	get_sregs(vcpu, &sregs);
	got = cpuid_alloc(8);
	got->nent = 0;
	r = __ioctl(vcpu, KVM_GET_CPUID2, got);
	check("cpuid2_get_fresh_vcpu_empty", r == 0 && got->nent == 0,
	      "expected success with nent 0, got %s, nent %u", describe_ret(r), got->nent);

	set = test_cpuid(sregs.apic_base);
	check_ret("cpuid2_set", __ioctl(vcpu, KVM_SET_CPUID2, set), 0);
	got->nent = 8;
	r = __ioctl(vcpu, KVM_GET_CPUID2, got);
	check("cpuid2_get_nent", r == 0 && got->nent == set->nent,
	      "expected success with nent %u, got %s, nent %u", set->nent, describe_ret(r),
	      got->nent);
	for (i = 0; i < set->nent && i < got->nent; i++)
		if (memcmp(&set->entries[i], &got->entries[i], sizeof(set->entries[i])))
			break;
	check("cpuid2_set_get_roundtrip", i == set->nent,
	      "expected entry %u fn %x eax %x ebx %x ecx %x edx %x, got fn %x eax %x ebx %x ecx %x edx %x",
	      i, set->entries[i % set->nent].function, set->entries[i % set->nent].eax,
	      set->entries[i % set->nent].ebx, set->entries[i % set->nent].ecx,
	      set->entries[i % set->nent].edx, got->entries[i].function, got->entries[i].eax,
	      got->entries[i].ebx, got->entries[i].ecx, got->entries[i].edx);

	/* kvm_vcpu_ioctl_get_cpuid2(): -E2BIG and nent left as userspace gave it. */
	got->nent = set->nent - 1;
	r = __ioctl(vcpu, KVM_GET_CPUID2, got);
	check_errno("cpuid2_get_too_small_e2big", r, E2BIG);
	check_u64("cpuid2_get_too_small_nent_untouched", got->nent, set->nent - 1);
	got->nent = 0;
	check_errno("cpuid2_get_nent0_e2big", __ioctl(vcpu, KVM_GET_CPUID2, got), E2BIG);
	free(got);

	bad = cpuid_alloc(257);
	check_errno("cpuid2_set_nent_257_e2big", __ioctl(vcpu, KVM_SET_CPUID2, bad), E2BIG);
	free(bad);
	check_errno("cpuid2_set_efault", __ioctl(vcpu, KVM_SET_CPUID2, bad_ptr), EFAULT);
	check_errno("cpuid2_get_efault", __ioctl(vcpu, KVM_GET_CPUID2, bad_ptr), EFAULT);

	/* kvm_check_cpuid(): virtual address width must be 48 or 57 (or 0). */
	set->entries[4].eax = 40 << 8 | TEST_PHYS_BITS;
	check_errno("cpuid2_set_vaddr_bits_40_einval", __ioctl(vcpu, KVM_SET_CPUID2, set), EINVAL);
	free(set);
	close_fd(vcpu);
	close_fd(vm);
}

/* KVM_GET_SUPPORTED_CPUID on the system fd, and using what it says. */
static void test_supported_cpuid(void)
{
	struct kvm_cpuid2 *c = cpuid_alloc(256);
	int vm = create_vm(sys_fd), vcpu = create_vcpu(vm, 0);
	bool leaf0 = false, lm = false;
	unsigned int i;
	long r;

	c->nent = 1;
	check_errno("supported_cpuid_nent1_e2big", __ioctl(sys_fd, KVM_GET_SUPPORTED_CPUID, c),
		    E2BIG);
	c->nent = 256;
	r = __ioctl(sys_fd, KVM_GET_SUPPORTED_CPUID, c);
	check("supported_cpuid_ok", r == 0 && c->nent > 1 && c->nent <= 256,
	      "expected success with 1 < nent <= 256, got %s, nent %u", describe_ret(r), c->nent);
	for (i = 0; r == 0 && i < c->nent; i++) {
		if (c->entries[i].function == 0)
			leaf0 = true;
		if (c->entries[i].function == 0x80000001 && (c->entries[i].edx & (1u << 29)))
			lm = true;
	}
	check("supported_cpuid_has_leaf0", leaf0, "no leaf 0 in %u entries", c->nent);
	check("supported_cpuid_long_mode", lm, "0x80000001 EDX.LM missing");
	check_success("supported_cpuid_accepted_by_set_cpuid2",
		      __ioctl(vcpu, KVM_SET_CPUID2, c));
	check_errno("supported_cpuid_efault", __ioctl(sys_fd, KVM_GET_SUPPORTED_CPUID, bad_ptr),
		    EFAULT);
	free(c);
	close_fd(vcpu);
	close_fd(vm);
}

/* KVM_GET_MSR_INDEX_LIST, KVM_GET_MSRS, KVM_SET_MSRS. */
static void test_msrs(void)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[4];
	} m;
	struct {
		struct kvm_msr_list hdr;
		uint32_t idx[512];
	} l;
	int vm = create_vm(sys_fd), vcpu = create_vcpu(vm, 0);
	bool star = false;
	uint32_t i;
	long r;

	l.hdr.nmsrs = 0;
	r = __ioctl(sys_fd, KVM_GET_MSR_INDEX_LIST, &l);
	check_errno("msr_index_list_nmsrs0_e2big", r, E2BIG);
	check("msr_index_list_reports_count", l.hdr.nmsrs > 0 && l.hdr.nmsrs <= 512,
	      "expected a count in nmsrs, got %u", l.hdr.nmsrs);
	l.hdr.nmsrs = 512;
	check_success("msr_index_list", __ioctl(sys_fd, KVM_GET_MSR_INDEX_LIST, &l));
	for (i = 0; i < l.hdr.nmsrs && i < 512; i++)
		star |= l.idx[i] == 0xc0000081;		/* MSR_STAR */
	check("msr_index_list_has_star", star, "MSR_STAR not listed");

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 2;
	m.e[0].index = 0xc0000081;			/* MSR_STAR */
	m.e[0].data = 0x0023001000000000ULL;
	m.e[1].index = 0xc0000082;			/* MSR_LSTAR */
	m.e[1].data = 0xffffffff81000000ULL;
	check_ret("msrs_set_two", __ioctl(vcpu, KVM_SET_MSRS, &m), 2);
	m.e[0].data = m.e[1].data = 0;
	check_ret("msrs_get_two", __ioctl(vcpu, KVM_GET_MSRS, &m), 2);
	check_u64("msrs_star_roundtrip", m.e[0].data, 0x0023001000000000ULL);
	check_u64("msrs_lstar_roundtrip", m.e[1].data, 0xffffffff81000000ULL);

	/* The first MSR refused ends the batch: the count says where. */
	m.hdr.nmsrs = 3;
	m.e[1].index = 0x12345678;			/* no such MSR */
	m.e[2].index = 0xc0000082;
	check_ret("msrs_get_stops_at_unknown", __ioctl(vcpu, KVM_GET_MSRS, &m), 1);
	check_ret("msrs_set_stops_at_unknown", __ioctl(vcpu, KVM_SET_MSRS, &m), 1);
	m.hdr.nmsrs = 1;
	m.e[0].index = 0xc0000082;
	m.e[0].data = 0x0000800000000000ULL;		/* not canonical */
	/*
	 * KVM 6.12 takes a non-canonical LSTAR from userspace; umbra refuses
	 * it, because VMLOAD would put it in the CPU as it stands.
	 */
	check_ret("msrs_set_lstar_noncanonical", __ioctl(vcpu, KVM_SET_MSRS, &m),
		  is_umbra ? 0 : 1);
	m.hdr.nmsrs = 256;
	check_errno("msrs_nmsrs_256_e2big", __ioctl(vcpu, KVM_GET_MSRS, &m), E2BIG);
	check_errno("msrs_efault", __ioctl(vcpu, KVM_GET_MSRS, bad_ptr), EFAULT);
	close_fd(vcpu);
	close_fd(vm);
}

/* KVM_GET_FPU / KVM_SET_FPU: reset values and a round trip. */
static void test_fpu(void)
{
	int vm = create_vm(sys_fd), vcpu = create_vcpu(vm, 0);
	struct kvm_fpu f, g;

	memset(&f, 0xaa, sizeof(f));
	check_success("fpu_get", __ioctl(vcpu, KVM_GET_FPU, &f));
	check_u64("fpu_reset_fcw", f.fcw, 0x37f);
	/*
	 * KVM 6.12's KVM_GET/SET_FPU never copy MXCSR (it reads back 0 and
	 * a write is dropped); umbra carries it like every other field.
	 */
	check_u64("fpu_reset_mxcsr", f.mxcsr, is_umbra ? 0x1f80 : 0);

	f.fcw = 0x27f;
	f.mxcsr = 0x1fa0;
	memset(f.xmm[0], 0x5a, sizeof(f.xmm[0]));
	memset(f.xmm[15], 0xc3, sizeof(f.xmm[15]));
	check_success("fpu_set", __ioctl(vcpu, KVM_SET_FPU, &f));
	memset(&g, 0, sizeof(g));
	check_success("fpu_get_again", __ioctl(vcpu, KVM_GET_FPU, &g));
	check("fpu_roundtrip", g.fcw == 0x27f &&
	      !memcmp(g.xmm[0], f.xmm[0], 16) && !memcmp(g.xmm[15], f.xmm[15], 16),
	      "fcw %#x xmm0[0] %#x xmm15[0] %#x", g.fcw, g.xmm[0][0], g.xmm[15][0]);
	check_u64("fpu_mxcsr_roundtrip", g.mxcsr, is_umbra ? 0x1fa0 : 0);
	check_errno("fpu_set_efault", __ioctl(vcpu, KVM_SET_FPU, bad_ptr), EFAULT);
	close_fd(vcpu);
	close_fd(vm);
}

static void check_sregs_einval(const char *name, int vcpu, struct kvm_sregs *s)
{
	check_errno(name, __set_sregs(vcpu, s), EINVAL);
}

static void test_sregs_valid(void)
{
	int vm = create_vm(sys_fd);
	int plain = create_vcpu(vm, 0);	/* no KVM_SET_CPUID2 */
	int lm = create_vcpu(vm, 1);	/* test_cpuid(): LM, NX */
	struct kvm_sregs base, s, got;
	struct kvm_cpuid2 *cpuid;
	const char *diff;
	long r;

	get_sregs(lm, &base);
	cpuid = test_cpuid(base.apic_base);
	test_ioctl(lm, KVM_SET_CPUID2, cpuid);
	free(cpuid);

	sregs_pm32(&s, &base);
	check_ret("sregs_pm32_accepted", __set_sregs(plain, &s), 0);
	get_sregs(plain, &got);
	diff = sregs_diff(&s, &got);
	check("sregs_pm32_roundtrip", !diff, "expected what was set, %s differs", diff);

	/* Without guest CPUID.LM, EFER.LME/LMA are reserved (__kvm_valid_efer()). */
	sregs_long(&s, &base);
	check_sregs_einval("sregs_efer_lme_without_cpuid_lm_einval", plain, &s);
	sregs_pm32(&s, &base);
	s.efer = EFER_NX;
	check_sregs_einval("sregs_efer_nx_without_cpuid_nx_einval", plain, &s);

	sregs_long(&s, &base);
	r = __set_sregs(lm, &s);
	check_ret("sregs_long_mode_accepted", r, 0);
	get_sregs(lm, &got);
	dump_sregs("long mode", &got);
	diff = sregs_diff(&s, &got);
	check("sregs_long_mode_roundtrip", !r && !diff, "expected what was set, %s differs",
	      r ? "all" : diff);

	/* Each case breaks one rule of kvm_is_valid_sregs() in a valid setup. */
	sregs_long(&s, &base);
	s.cr4 &= ~X86_CR4_PAE;
	check_sregs_einval("sregs_lme_pg_without_pae_einval", lm, &s);
	sregs_long(&s, &base);
	s.efer &= ~EFER_LMA;
	check_sregs_einval("sregs_lme_pg_without_lma_einval", lm, &s);
	sregs_long(&s, &base);
	s.efer &= ~EFER_LME;
	s.cs.l = 0;
	s.cs.db = 1;
	check_sregs_einval("sregs_lma_without_lme_einval", lm, &s);
	sregs_long(&s, &base);
	s.cr0 &= ~X86_CR0_PG;
	s.cs.l = 0;
	s.cs.db = 1;
	check_sregs_einval("sregs_lma_without_pg_einval", lm, &s);
	sregs_long(&s, &base);
	s.cr3 |= 1ULL << 51;	/* above TEST_PHYS_BITS */
	check_sregs_einval("sregs_cr3_above_maxphyaddr_einval", lm, &s);
	sregs_long(&s, &base);
	s.cr3 = 1ULL << (TEST_PHYS_BITS - 1);	/* the highest legal bit */
	check_ret("sregs_cr3_below_maxphyaddr_ok", __set_sregs(lm, &s), 0);

	sregs_pm32(&s, &base);
	s.cs.l = 1;
	s.cs.db = 0;
	check_sregs_einval("sregs_cs_l_outside_long_mode_einval", lm, &s);
	sregs_pm32(&s, &base);
	s.cr0 = X86_CR0_PG | X86_CR0_ET;
	check_sregs_einval("sregs_cr0_pg_without_pe_einval", lm, &s);
	sregs_pm32(&s, &base);
	s.cr0 |= X86_CR0_NW;
	check_sregs_einval("sregs_cr0_nw_without_cd_einval", lm, &s);
	sregs_pm32(&s, &base);
	s.cr0 |= X86_CR0_NW | X86_CR0_CD;
	check_ret("sregs_cr0_nw_with_cd_ok", __set_sregs(lm, &s), 0);
	sregs_pm32(&s, &base);
	s.cr0 |= 1ULL << 32;
	check_sregs_einval("sregs_cr0_high_bits_einval", lm, &s);
	sregs_pm32(&s, &base);
	s.cr4 |= 1ULL << 15;	/* reserved in every CPU */
	check_sregs_einval("sregs_cr4_reserved_bit15_einval", lm, &s);
	sregs_pm32(&s, &base);
	s.cr4 |= 1ULL << 63;
	check_sregs_einval("sregs_cr4_bit63_einval", lm, &s);
	sregs_pm32(&s, &base);
	s.efer = 1ULL << 1;	/* reserved */
	check_sregs_einval("sregs_efer_reserved_bit1_einval", lm, &s);
	sregs_pm32(&s, &base);
	s.efer = EFER_SVME;	/* test_cpuid() has no SVM */
	check_sregs_einval("sregs_efer_svme_without_cpuid_svm_einval", lm, &s);

	/*
	 * CS.L and CS.D both set in long mode: VMRUN's consistency checks
	 * refuse it, so umbra refuses it at KVM_SET_SREGS; KVM takes it and
	 * would fail the VM entry later.
	 */
	sregs_long(&s, &base);
	s.cs.db = 1;
	r = __set_sregs(lm, &s);
	if (umbra_only("sregs_cs_l_and_d_einval"))
		check_errno("sregs_cs_l_and_d_einval", r, EINVAL);
	if (kvm_only("sregs_cs_l_and_d_accepted"))
		check_ret("sregs_cs_l_and_d_accepted", r, 0);

	close_fd(plain);
	close_fd(lm);
	close_fd(vm);
}

static void test_sregs_interrupt_bitmap(void)
{
	int vm = create_vm(sys_fd);
	int vcpu = create_vcpu(vm, 0);
	struct kvm_sregs s, got;
	long r;

	get_sregs(vcpu, &s);
	/* Vectors 0x30 and 0x41 pending: KVM queues only the first. */
	s.interrupt_bitmap[0] = 1ULL << 0x30;
	s.interrupt_bitmap[1] = 1ULL << 1;
	r = __set_sregs(vcpu, &s);
	check_ret("sregs_interrupt_bitmap_set", r, 0);
	get_sregs(vcpu, &got);
	test_info("interrupt_bitmap back: %llx %llx %llx %llx", got.interrupt_bitmap[0],
		  got.interrupt_bitmap[1], got.interrupt_bitmap[2], got.interrupt_bitmap[3]);
	check("sregs_interrupt_bitmap_first_bit_roundtrip",
	      got.interrupt_bitmap[0] & 1ULL << 0x30,
	      "expected vector 0x30 pending, got %llx %llx", got.interrupt_bitmap[0],
	      got.interrupt_bitmap[1]);
	check("sregs_interrupt_bitmap_only_first_kept",
	      got.interrupt_bitmap[0] == 1ULL << 0x30 && !got.interrupt_bitmap[1] &&
	      !got.interrupt_bitmap[2] && !got.interrupt_bitmap[3],
	      "expected only vector 0x30, got %llx %llx %llx %llx", got.interrupt_bitmap[0],
	      got.interrupt_bitmap[1], got.interrupt_bitmap[2], got.interrupt_bitmap[3]);
	close_fd(vcpu);
	close_fd(vm);
}

/* ---- fork ------------------------------------------------------------- */

/*
 * KVM binds a VM to the mm that created it (kvm->mm != current->mm is
 * -EIO): a forked child holds the fds but may not use them.  The system fd
 * has no owner.
 */
static void test_fork(void)
{
	int vm = create_vm(sys_fd);
	int vcpu = create_vcpu(vm, 0);
	struct kvm_regs regs;
	long res[4];
	int pipefd[2], status;
	pid_t pid;

	set_mem(vm, 0, 0, 0, pg(4), mem_at(0));
	TEST_ASSERT(pipe(pipefd) == 0, "pipe: %s", errno_name(errno));
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork: %s", errno_name(errno));
	if (!pid) {
		int fd;

		res[0] = __ioctl(vm, KVM_CREATE_VCPU, 1);
		res[1] = __set_mem(vm, 1, 0, 0x100000, pg(4), mem_at(4));
		res[2] = __ioctl(vcpu, KVM_GET_REGS, &regs);
		res[3] = __ioctl(sys_fd, KVM_GET_API_VERSION, 0);
		if (write(pipefd[1], res, sizeof(res)) != sizeof(res))
			_exit(2);
		/* A VM of its own works. */
		fd = ioctl(sys_fd, KVM_CREATE_VM, 0);
		_exit(fd >= 0 && ioctl(fd, KVM_CREATE_VCPU, 0) >= 0 ? 0 : 1);
	}
	close_fd(pipefd[1]);
	if (read(pipefd[0], res, sizeof(res)) != sizeof(res))
		memset(res, 0, sizeof(res));
	close_fd(pipefd[0]);
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid: %s", errno_name(errno));

	check_errno("fork_child_vm_create_vcpu_eio", res[0], EIO);
	check_errno("fork_child_vm_set_memory_eio", res[1], EIO);
	check_errno("fork_child_vcpu_get_regs_eio", res[2], EIO);
	check_ret("fork_child_system_fd_ok", res[3], 12);
	check("fork_child_own_vm_ok", WIFEXITED(status) && !WEXITSTATUS(status),
	      "expected the child's own VM and vCPU to work, child status 0x%x", status);
	/* The parent is not affected. */
	check_success("fork_parent_still_works", __ioctl(vcpu, KVM_GET_REGS, &regs));
	close_fd(vcpu);
	close_fd(vm);
}

/* ---- stats (umbra) ------------------------------------------------------ */

static void test_stats(void)
{
	struct umbra_global_stats st;
	int vm, vcpu;
	bool ok;
	int i;

	if (!is_umbra) {
		check_skip("stats_zero_at_start", "umbra only");
		check_skip("stats_vm_counted", "umbra only");
		check_skip("stats_vcpu_counted", "umbra only");
		check_skip("stats_memslot_counted", "umbra only");
		check_skip("stats_svm_users_eq_vms", "umbra only");
		check_skip("stats_reserved_zero", "umbra only");
		check_skip("stats_zero_after_close", "umbra only");
		return;
	}
	check_stats_zero("stats_zero_at_start");
	vm = create_vm(sys_fd);
	set_mem(vm, 0, 0, 0, pg(4), mem_at(0));
	vcpu = create_vcpu(vm, 0);
	ok = get_stats(&st);
	print_stats("one VM", &st);
	check("stats_vm_counted", ok && st.vms >= 1, "expected vms >= 1, got %llu",
	      (unsigned long long)st.vms);
	check("stats_vcpu_counted", ok && st.vcpus >= 1, "expected vcpus >= 1, got %llu",
	      (unsigned long long)st.vcpus);
	check("stats_memslot_counted", ok && st.memslots >= 1,
	      "expected memslots >= 1, got %llu", (unsigned long long)st.memslots);
	check("stats_svm_users_eq_vms", ok && st.svm_users == st.vms,
	      "expected svm_users == vms (%llu), got %llu", (unsigned long long)st.vms,
	      (unsigned long long)st.svm_users);
	for (i = 0; i < 12 && !st.reserved[i]; i++)
		;
	check("stats_reserved_zero", ok && i == 12, "expected 0, reserved[%d] is 0x%llx", i,
	      (unsigned long long)(i < 12 ? st.reserved[i] : 0));
	close_fd(vcpu);
	close_fd(vm);
	check_stats_zero("stats_zero_after_close");
}

/* ---- lifetime --------------------------------------------------------- */

static void test_close_orders(void)
{
	struct umbra_global_stats st;
	struct kvm_regs regs;
	int sys, vm, vcpu;
	long r;

	/* VM fd first: the vCPU keeps the VM alive and usable. */
	sys = open_dev();
	vm = create_vm(sys);
	set_mem(vm, 0, 0, 0, pg(4), mem_at(0));
	vcpu = create_vcpu(vm, 0);
	close_fd(vm);
	check_success("lifetime_vcpu_usable_after_vm_close", __ioctl(vcpu, KVM_GET_REGS, &regs));
	if (umbra_only("lifetime_vm_alive_while_vcpu_open")) {
		bool ok = get_stats(&st);

		print_stats("VM fd closed, vCPU open", &st);
		check("lifetime_vm_alive_while_vcpu_open", ok && st.vms >= 1 && st.vcpus >= 1,
		      "expected vms >= 1 and vcpus >= 1, got %llu/%llu",
		      (unsigned long long)st.vms, (unsigned long long)st.vcpus);
	}
	close_fd(vcpu);
	close_fd(sys);
	check_stats_zero("lifetime_close_vm_then_vcpu_stats_zero");

	/* vCPU fd first. */
	sys = open_dev();
	vm = create_vm(sys);
	set_mem(vm, 0, 0, 0, pg(4), mem_at(0));
	vcpu = create_vcpu(vm, 0);
	close_fd(vcpu);
	r = __ioctl(vm, KVM_CREATE_VCPU, 1);
	if (check_success("lifetime_vm_usable_after_vcpu_close", r))
		close_fd((int)r);
	close_fd(vm);
	close_fd(sys);
	check_stats_zero("lifetime_close_vcpu_then_vm_stats_zero");

	/* System fd first: the VM does not need it. */
	sys = open_dev();
	vm = create_vm(sys);
	close_fd(sys);
	r = __ioctl(vm, KVM_CREATE_VCPU, 0);
	check_success("lifetime_vm_usable_after_sys_close", r);
	check_ret("lifetime_memslot_after_sys_close", __set_mem(vm, 0, 0, 0, pg(4), mem_at(0)), 0);
	close_fd(vm);
	if (r >= 0)
		close_fd((int)r);
	check_stats_zero("lifetime_close_sys_first_stats_zero");
}

#define MANY_VMS 64

static void test_many_vms(void)
{
	int vm[MANY_VMS], vcpu[MANY_VMS][2];
	struct umbra_global_stats st;
	int i, bad = 0;
	long r;

	for (i = 0; i < MANY_VMS; i++) {
		vm[i] = vcpu[i][0] = vcpu[i][1] = -1;
		r = __ioctl(sys_fd, KVM_CREATE_VM, 0);
		if (r < 0) {
			printf("# VM %d: KVM_CREATE_VM: %s\n", i, errno_name((int)-r));
			bad++;
			continue;
		}
		vm[i] = (int)r;
		r = __set_mem(vm[i], 0, 0, 0, pg(4), mem_at(0));
		if (r < 0) {
			printf("# VM %d: memslot: %s\n", i, errno_name((int)-r));
			bad++;
		}
		for (int j = 0; j < 2; j++) {
			r = __ioctl(vm[i], KVM_CREATE_VCPU, j);
			if (r < 0) {
				printf("# VM %d: vCPU %d: %s\n", i, j, errno_name((int)-r));
				bad++;
			}
			vcpu[i][j] = (int)r;
		}
	}
	check("lifetime_many_vms_created", !bad,
	      "expected %d VMs with a memslot and 2 vCPUs each, %d steps failed", MANY_VMS, bad);
	if (umbra_only("lifetime_many_vms_counted")) {
		bool ok = get_stats(&st);

		print_stats("64 VMs", &st);
		check("lifetime_many_vms_counted",
		      ok && st.vms >= MANY_VMS && st.vcpus >= 2 * MANY_VMS &&
		      st.memslots >= MANY_VMS && st.svm_users == st.vms,
		      "expected >= %d/%d/%d vms/vcpus/memslots and svm_users == vms, got %llu/%llu/%llu/%llu",
		      MANY_VMS, 2 * MANY_VMS, MANY_VMS, (unsigned long long)st.vms,
		      (unsigned long long)st.vcpus, (unsigned long long)st.memslots,
		      (unsigned long long)st.svm_users);
	}
	/* Half the VMs go before their vCPUs, half after. */
	for (i = 0; i < MANY_VMS; i++) {
		if (i & 1 && vm[i] >= 0)
			close_fd(vm[i]);
		for (int j = 0; j < 2; j++)
			if (vcpu[i][j] >= 0)
				close_fd(vcpu[i][j]);
		if (!(i & 1) && vm[i] >= 0)
			close_fd(vm[i]);
	}
	check_stats_zero("lifetime_many_vms_stats_zero");
}

#define KILL_ROUNDS		5
#define CHURN_MAX_ITERATIONS	100000
#define CHURN_MAX_SECONDS	5

struct churn_progress {
	volatile unsigned long started;
	volatile unsigned long iterations;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * One round of VM, memslot and vCPU ioctls, closing in an order that depends
 * on @i; every third round keeps one vCPU (and so its VM) open in *@left
 * until the next, so that a kill can also find a VM held only by a vCPU fd.
 * Errors are ignored: the child only has to be busy inside the device.
 */
static void churn_once(unsigned long i, int *left)
{
	int sys = open(dev_path, O_RDWR | O_CLOEXEC);
	int vm = ioctl(sys, KVM_CREATE_VM, 0);
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int vcpu0, vcpu1;
	void *run;

	__set_mem(vm, 0, 0, 0, pg(4), mem_at(0));
	__set_mem(vm, 1, 0, 0x100000, pg(4), mem_at(4));
	vcpu0 = ioctl(vm, KVM_CREATE_VCPU, 0);
	vcpu1 = ioctl(vm, KVM_CREATE_VCPU, 1);
	run = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu0, 0);
	ioctl(vcpu0, KVM_GET_REGS, &regs);
	ioctl(vcpu0, KVM_SET_REGS, &regs);
	ioctl(vcpu1, KVM_GET_SREGS, &sregs);
	ioctl(vcpu1, KVM_SET_SREGS, &sregs);
	__set_mem(vm, 1, 0, 0x200000, pg(4), mem_at(4));
	__set_mem(vm, 0, 0, 0, 0, mem_at(0));
	if (*left >= 0)
		close(*left);
	*left = -1;
	switch (i % 3) {
	case 0:
		close(vm);
		close(vcpu0);
		close(vcpu1);
		break;
	case 1:
		close(vcpu1);
		close(vcpu0);
		close(vm);
		break;
	default:
		close(vcpu0);
		close(vm);
		*left = vcpu1;
		break;
	}
	if (run != MAP_FAILED)
		munmap(run, mmap_size);
	close(sys);
}

static void __attribute__((noreturn)) churn(struct churn_progress *prog)
{
	double end = now() + CHURN_MAX_SECONDS;
	unsigned long i;
	int left = -1;

	prog->started = 1;
	for (i = 0; i < CHURN_MAX_ITERATIONS && now() < end; i++) {
		churn_once(i, &left);
		prog->iterations = i + 1;
	}
	_exit(0);
}

/*
 * A child churning through VM ioctls is killed with SIGKILL at random points:
 * right after fork(), then at random delays of up to four iterations (timed
 * here first, as a test host without hardware virtualization is slow).
 */
static void test_sigkill(void)
{
	unsigned int seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	struct churn_progress *prog;
	int round, status, left = -1, bad = 0;
	double deadline, t;
	unsigned int window_us;
	char name[64];
	pid_t pid;
	long r;

	prog = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(prog != MAP_FAILED, "mmap: %s", errno_name(errno));
	t = now();
	churn_once(0, &left);
	t = now() - t;
	window_us = t < 0.00025 ? 1000 : t > 0.125 ? 500000 : (unsigned int)(t * 4e6);
	srand(seed);
	test_info("SIGKILL rounds: seed %u, one iteration %.1f ms, window %u us", seed,
		  t * 1e3, window_us);
	for (round = 0; round < KILL_ROUNDS; round++) {
		unsigned int delay_us = round ? (unsigned int)rand() % window_us : 0;

		prog->started = prog->iterations = 0;
		fflush(stdout);
		pid = fork();
		TEST_ASSERT(pid >= 0, "fork: %s", errno_name(errno));
		if (!pid)
			churn(prog);
		deadline = now() + 2;
		while (round && !prog->started && now() < deadline)
			usleep(100);
		usleep(delay_us);
		kill(pid, SIGKILL);
		TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid: %s", errno_name(errno));
		test_info("round %d: killed after %u us, %lu iterations done, status 0x%x", round,
			  delay_us, prog->iterations, status);
		if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) &&
		    !(WIFEXITED(status) && !WEXITSTATUS(status)))
			bad++;
		snprintf(name, sizeof(name), "lifetime_sigkill_round%d_stats_zero", round);
		check_stats_zero(name);
	}
	check("lifetime_sigkill_children_reaped", !bad,
	      "expected each child killed or done, %d ended otherwise", bad);
	r = __ioctl(sys_fd, KVM_CREATE_VM, 0);
	if (check_success("lifetime_sigkill_device_usable", r))
		close_fd((int)r);
	munmap(prog, page_size);
}

/* ---- main ----------------------------------------------------------------- */

static void usage(FILE *f, const char *prog)
{
	fprintf(f, "usage: %s [--dev PATH] [-v]\n"
		"  --dev PATH  device to test (default /dev/umbra; /dev/kvm for the reference)\n"
		"  -v          print the values read back (reset state, capabilities)\n", prog);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	int c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	test.prog = "api_test";
	while ((c = getopt_long(argc, argv, "d:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dev_path = optarg;
			break;
		case 'v':
			test.verbose = true;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr, argv[0]);
		return 2;
	}

	sys_fd = open(dev_path, O_RDWR | O_CLOEXEC);
	if (sys_fd < 0 && (errno == ENOENT || errno == ENODEV || errno == ENXIO)) {
		printf("api_test: %s: %s (module not loaded?), skipping\n", dev_path,
		       errno_name(errno));
		return 4;
	}
	TEST_ASSERT(sys_fd >= 0, "open %s: %s", dev_path, errno_name(errno));

	page_size = sysconf(_SC_PAGESIZE);
	bad_ptr = mmap(NULL, page_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(bad_ptr != MAP_FAILED, "mmap: %s", errno_name(errno));
	mem = mmap(NULL, pg(MEM_PAGES), PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(mem != MAP_FAILED, "mmap: %s", errno_name(errno));

	is_umbra = check_cap(sys_fd, UMBRA_CAP_GLOBAL_STATS) > 0;
	test_info("%s is %s", dev_path, is_umbra ? "umbra" : "KVM (no UMBRA_CAP_GLOBAL_STATS)");

	test_system_fd();
	test_vm_fd();
	test_memslots();
	test_memslots2();
	test_vcpu_create();
	test_vcpu_mmap();
	test_regs();
	test_sregs_reset();
	test_cpuid2();
	test_supported_cpuid();
	test_msrs();
	test_fpu();
	test_sregs_valid();
	test_sregs_interrupt_bitmap();
	test_fork();
	test_stats();
	test_close_orders();
	test_many_vms();
	test_sigkill();

	close_fd(sys_fd);
	test_summary();
	return test.failed ? 1 : 0;
}
