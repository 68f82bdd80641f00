// SPDX-License-Identifier: GPL-2.0
/*
 * boot.c - umbra-run's side of include/umbra/boot.h: what lives below
 * UMBRA_BOOT_IMAGE_MIN and the register state every vCPU starts in.
 *
 * The boot area, from gpa 0x1000 up (page 0 stays unused so that a null
 * pointer never lands on boot data):
 *
 *	GDT		one page: null, 0x08 64-bit code, 0x10 data,
 *			0x18 32-bit code (--unpaged)
 *	PML4		one page, = CR3
 *	PDPT		one page
 *	PDs		one page per GiB of RAM: 2 MiB pages, P|RW|PS, so the
 *			map is supervisor, writable and executable
 *	boot info	one page per vCPU: struct umbra_boot_info
 *	stacks		16 KiB per vCPU, 16 KiB aligned (so that RSP & ~0x3fff
 *			is the base of the boot stack)
 *
 * It must end at or below 1 MiB, which bounds vCPUs x RAM; boot_setup()
 * says so when it does not fit.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm.h"

#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_PS		(1ULL << 7)

#define GDT_CODE64	0x00af9b000000ffffULL	/* P, DPL0, S, exec/read/acc, L, G */
#define GDT_DATA	0x00cf93000000ffffULL	/* P, DPL0, S, read/write/acc, D/B, G */
#define GDT_CODE32	0x00cf9b000000ffffULL	/* P, DPL0, S, exec/read/acc, D, G */
#define SEL_CODE	0x08
#define SEL_DATA	0x10
#define SEL_CODE32	0x18
#define GDT_ENTRIES	4

#define CR0_PE		(1ULL << 0)
#define CR0_MP		(1ULL << 1)
#define CR0_ET		(1ULL << 4)
#define CR0_NE		(1ULL << 5)
#define CR0_WP		(1ULL << 16)
#define CR0_PG		(1ULL << 31)
#define CR4_PAE		(1ULL << 5)
#define CR4_OSFXSR	(1ULL << 9)
#define CR4_OSXMMEXCPT	(1ULL << 10)
#define EFER_SCE	(1ULL << 0)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)
#define EFER_NXE	(1ULL << 11)

/* The end of the boot area with @nr_cpus boot info pages from @info on. */
static __u64 boot_area_end(__u64 info, unsigned int nr_cpus)
{
	return ALIGN_UP(info + nr_cpus * PAGE_SIZE, BOOT_STACK_SIZE) + nr_cpus * BOOT_STACK_SIZE;
}

/* Lay the boot area out; fails when it does not fit below 1 MiB. */
static int boot_plan(struct vm *vm)
{
	struct boot_layout *l = &vm->layout;
	char buf[32];

	l->gdt = PAGE_SIZE;
	l->pml4 = l->gdt + PAGE_SIZE;
	l->pdpt = l->pml4 + PAGE_SIZE;
	l->pd = l->pdpt + PAGE_SIZE;
	l->nr_pd = ALIGN_UP(vm->mem_size, SZ_1G) / SZ_1G;
	l->info = l->pd + l->nr_pd * PAGE_SIZE;
	l->stacks = ALIGN_UP(l->info + vm->nr_cpus * PAGE_SIZE, BOOT_STACK_SIZE);
	l->end = boot_area_end(l->info, vm->nr_cpus);

	if (l->end > UMBRA_BOOT_IMAGE_MIN) {
		unsigned int room = vm->nr_cpus;

		while (room && boot_area_end(l->info, room) > UMBRA_BOOT_IMAGE_MIN)
			room--;

		err("--cpus %u with %s of RAM: the boot area below 1 MiB (a page directory per GiB, a boot info page and 16 KiB stack per vCPU) has room for %u vCPUs; use fewer vCPUs or less --mem",
		    vm->nr_cpus, size_str(vm->mem_size, buf, sizeof(buf)), room);
		return -1;
	}
	return 0;
}

static void boot_write_tables(struct vm *vm)
{
	const struct boot_layout *l = &vm->layout;
	__u64 *gdt = (__u64 *)(vm->ram + l->gdt);
	__u64 *pml4 = (__u64 *)(vm->ram + l->pml4);
	__u64 *pdpt = (__u64 *)(vm->ram + l->pdpt);
	__u64 *pd = (__u64 *)(vm->ram + l->pd);
	__u64 gpa;
	unsigned int i;

	memset(vm->ram, 0, l->end);
	gdt[SEL_CODE / 8] = GDT_CODE64;
	gdt[SEL_DATA / 8] = GDT_DATA;
	gdt[SEL_CODE32 / 8] = GDT_CODE32;

	pml4[0] = l->pdpt | PTE_P | PTE_RW;
	for (i = 0; i < l->nr_pd; i++)
		pdpt[i] = (l->pd + i * PAGE_SIZE) | PTE_P | PTE_RW;
	/* The PDs are consecutive pages, so they index as one array. */
	for (gpa = 0; gpa < vm->mem_size; gpa += SZ_2M)
		pd[gpa / SZ_2M] = gpa | PTE_P | PTE_RW | PTE_PS;
}

static void boot_write_info(struct vm *vm)
{
	const struct boot_layout *l = &vm->layout;
	unsigned int i;

	for (i = 0; i < vm->nr_cpus; i++) {
		struct umbra_boot_info *bi = (void *)(vm->ram + l->info + i * PAGE_SIZE);

		bi->magic = UMBRA_BOOT_MAGIC;
		bi->mem_size = vm->mem_size;
		bi->free_start = ALIGN_UP(vm->image.end, PAGE_SIZE);
		bi->nr_cpus = vm->nr_cpus;
		bi->cpu_id = i;
		memcpy(bi->cmdline, vm->opts->cmdline, sizeof(bi->cmdline));
	}
}

/**
 * boot_setup() - write the boot area into guest RAM
 * @vm:	with RAM mapped and the image loaded
 *
 * Return: 0, or -1 when the boot area does not fit below 1 MiB.
 */
int boot_setup(struct vm *vm)
{
	const struct boot_layout *l = &vm->layout;
	char buf[32];

	if (boot_plan(vm))
		return -1;
	boot_write_tables(vm);
	boot_write_info(vm);

	info(vm->opts, "boot area: GDT 0x%llx, CR3 0x%llx, %u PD(s) mapping %s, boot info 0x%llx, stacks 0x%llx, end 0x%llx",
	     (unsigned long long)l->gdt, (unsigned long long)l->pml4, l->nr_pd,
	     size_str(vm->mem_size, buf, sizeof(buf)), (unsigned long long)l->info,
	     (unsigned long long)l->stacks, (unsigned long long)l->end);
	info(vm->opts, "image: 0x%llx-0x%llx, entry 0x%llx, free_start 0x%llx, cmdline \"%s\"",
	     (unsigned long long)vm->image.start, (unsigned long long)vm->image.end,
	     (unsigned long long)vm->image.entry,
	     (unsigned long long)ALIGN_UP(vm->image.end, PAGE_SIZE), vm->opts->cmdline);
	return 0;
}

/* A flat segment: 64-bit code (@l), 32-bit code, or data. */
static void flat_segment(struct kvm_segment *s, __u16 sel, bool code, bool l)
{
	*s = (struct kvm_segment) {
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = code ? 11 : 3,	/* exec/read/accessed, read/write/accessed */
		.present = 1,
		.dpl = 0,
		.db = !l,		/* must be 0 with L in a code segment */
		.s = 1,
		.l = l,
		.g = 1,
	};
}

/*
 * The --unpaged entry point, from the struct umbra_boot32_header the image
 * starts with.  Return: 0, or -1 after saying what is wrong.
 */
int boot_entry32(struct vm *vm, __u64 *entry32)
{
	const struct umbra_boot32_header *h = (const void *)(vm->ram + vm->image.start);

	if (vm->image.end - vm->image.start < sizeof(*h) ||
	    h->magic != UMBRA_BOOT32_MAGIC) {
		err("%s: --unpaged needs an image that starts with a struct umbra_boot32_header (include/umbra/boot.h)",
		    vm->image.path);
		return -1;
	}
	if (h->entry32 < vm->image.start || h->entry32 >= vm->image.end ||
	    h->entry32 >> 32) {
		err("%s: 32-bit entry point 0x%llx is outside the image",
		    vm->image.path, (unsigned long long)h->entry32);
		return -1;
	}
	*entry32 = h->entry32;
	return 0;
}

/**
 * boot_set_entry_state() - give a vCPU the boot.h entry state
 * @vcpu:	created, with its CPUID set (KVM refuses EFER.LME before LM)
 *
 * Starts from the device's reset state (KVM_GET_SREGS) so that TR and LDTR
 * keep their reset values; the IDT is empty, so an exception before the
 * guest loads its own IDT is a clean triple fault.
 *
 * Return: 0, or -1 after naming the ioctl that failed.
 */
int boot_set_entry_state(struct vcpu *vcpu)
{
	const struct boot_layout *l = &vcpu->vm->layout;
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs)) {
		err("vcpu %u: KVM_GET_SREGS: %s", vcpu->id, strerror(errno));
		return -1;
	}
	flat_segment(&sregs.ds, SEL_DATA, false, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = l->gdt;
	sregs.gdt.limit = GDT_ENTRIES * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	if (vcpu->vm->opts->unpaged) {
		flat_segment(&sregs.cs, SEL_CODE32, true, false);
		sregs.cr0 = CR0_PE | CR0_ET | CR0_NE;
		sregs.cr3 = 0;
		sregs.cr4 = 0;
		sregs.efer = 0;
	} else {
		flat_segment(&sregs.cs, SEL_CODE, true, true);
		sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
		sregs.cr3 = l->pml4;
		sregs.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
		sregs.efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
	}
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs)) {
		err("vcpu %u: KVM_SET_SREGS (%s entry state, EFER 0x%llx, CR4 0x%llx): %s",
		    vcpu->id, vcpu->vm->opts->unpaged ? "unpaged 32-bit" : "64-bit",
		    (unsigned long long)sregs.efer, (unsigned long long)sregs.cr4,
		    strerror(errno));
		return -1;
	}

	memset(&regs, 0, sizeof(regs));
	regs.rip = vcpu->vm->opts->unpaged ? vcpu->vm->entry32 : vcpu->vm->image.entry;
	regs.rsp = l->stacks + (vcpu->id + 1) * BOOT_STACK_SIZE;
	regs.rdi = l->info + vcpu->id * PAGE_SIZE;
	regs.rflags = 0x2;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs)) {
		err("vcpu %u: KVM_SET_REGS: %s", vcpu->id, strerror(errno));
		return -1;
	}
	return 0;
}
