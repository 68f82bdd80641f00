/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmm.h - umbra-run's private header, laid out by the file that defines
 * each part, so it reads as a table of contents:
 *
 *   main.c    options, the order of setup, exit status
 *   vm.c      the device, the VM, guest RAM and its memslot
 *   elf.c     reading, checking and loading the guest ELF image
 *   boot.c    what umbra-run owns below 1 MiB (GDT, page tables, boot
 *             info, stacks) and the entry register state: include/umbra/boot.h
 *   cpuid.c   the CPUID table the vCPUs get
 *   vcpu.c    one vCPU: creation, its thread and its KVM_RUN loop
 *   ioport.c  port I/O: the serial port and the exit port
 *   run.c     the VM as a whole while it runs: start, stop, end status
 *   regs.c    register dumps for error reports
 *   stats.c   --stats and --stats-json
 *
 * Error convention: a function that can fail prints one line saying what
 * failed and how to fix it, and returns -1; its caller only cleans up.
 */
#ifndef UMBRA_VMM_H
#define UMBRA_VMM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/kvm.h>
#include <umbra/boot.h>
#include "umbra.h"

#define PROG			"umbra-run"
#define PAGE_SIZE		0x1000ULL
#define SZ_1M			0x100000ULL
#define SZ_2M			0x200000ULL
#define SZ_1G			0x40000000ULL
#define ALIGN_UP(x, a)		(((x) + (a) - 1) & ~((__u64)(a) - 1))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

/*
 * Exit status of umbra-run.  0..125 is the guest's own, written to
 * UMBRA_PORT_EXIT; the rest say why the guest did not report one.
 */
#define VMM_EXIT_SETUP		1	/* could not start the guest */
#define VMM_EXIT_HALTED		2	/* all vCPUs halted, no exit status */
#define VMM_EXIT_ERROR		3	/* guest or hypervisor error */
#define VMM_EXIT_GUEST_MAX	125	/* highest status a guest may report */
#define VMM_EXIT_TIMEOUT	124	/* --timeout hit */

/* main.c */
struct vmm_opts {
	const char *dev;		/* --dev */
	const char *elf_path;
	const char *stats_json;		/* --stats-json FILE, or NULL */
	__u64 mem_size;			/* -m */
	unsigned int nr_cpus;		/* -c */
	unsigned int timeout;		/* --timeout seconds, 0: none */
	bool stats;			/* --stats */
	bool unpaged;			/* --unpaged: the boot.h unpaged entry */
	bool verbose;			/* -v */
	char cmdline[UMBRA_BOOT_CMDLINE_MAX];
};

void err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void info(const struct vmm_opts *opts, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *size_str(__u64 bytes, char *buf, size_t len);

/* elf.c */
struct elf_image {
	const char *path;
	const void *file;		/* the file, mapped read-only */
	size_t file_size;
	__u64 entry;
	__u64 start, end;		/* lowest and highest gpa loaded */
};

int elf_read(struct elf_image *img, const char *path, __u64 mem_size);
void elf_load(const struct elf_image *img, __u8 *ram);
void elf_close(struct elf_image *img);

/* boot.c */
struct boot_layout {
	__u64 gdt;			/* gpa of the GDT */
	__u64 pml4;			/* = CR3 */
	__u64 pdpt;
	__u64 pd;			/* first of nr_pd page directories */
	unsigned int nr_pd;
	__u64 info;			/* boot info page of vCPU 0; i's at + i pages */
	__u64 stacks;			/* stack of vCPU 0; i's at + i stacks */
	__u64 end;			/* first byte after the boot area */
};

#define BOOT_STACK_SIZE		0x4000ULL	/* 16 KiB, boot.h */

struct vm;
struct vcpu;
int boot_setup(struct vm *vm);
int boot_set_entry_state(struct vcpu *vcpu);
int boot_entry32(struct vm *vm, __u64 *entry32);

/* cpuid.c */
int cpuid_init(struct vm *vm);
int cpuid_set(struct vcpu *vcpu);

/* ioport.c */
struct serial_line {
	char buf[256];
	unsigned int len;
};

int ioport_exit(struct vcpu *vcpu);
void serial_flush(struct serial_line *line);

/* regs.c */
void regs_dump(struct vcpu *vcpu);
int regs_rip(struct vcpu *vcpu, __u64 *rip);

/* stats.c */
#define VMM_NR_EXIT_REASONS	64	/* KVM_EXIT_* counted one by one */

/* Exits to umbra-run, counted by the vCPU thread. */
struct exit_counts {
	__u64 reason[VMM_NR_EXIT_REASONS];
	__u64 reason_other;		/* exit_reason >= VMM_NR_EXIT_REASONS */
	__u64 intr;			/* KVM_RUN returned EINTR */
};

enum kstats_source {
	KSTATS_NONE,
	KSTATS_UMBRA,			/* UMBRA_GET_VCPU_STATS */
	KSTATS_KVM,			/* KVM_GET_STATS_FD */
};

#define KSTATS_MAX		24	/* counters umbra-run shows */

/* In-kernel counters of one vCPU; have[i] is false when not offered. */
struct kstats {
	__u64 val[KSTATS_MAX];
	bool have[KSTATS_MAX];
};

const char *stats_exit_name(__u32 reason);
int stats_init(struct vm *vm);
int stats_read_vcpu(struct vcpu *vcpu);
void stats_print(const struct vm *vm);
int stats_write_json(const struct vm *vm, FILE *f);

/* vcpu.c */
struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	struct serial_line line;	/* ioport.c: output not yet printed */
	struct exit_counts exits;	/* stats.c */
	struct kstats kstats;		/* stats.c, read after the run */
};

int vcpu_create(struct vm *vm, unsigned int id);
int vcpu_start(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);
bool vcpu_fatal(struct vcpu *vcpu, bool dump, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* run.c */
enum run_end {
	RUN_RUNNING,
	RUN_GUEST_EXIT,			/* the guest wrote UMBRA_PORT_EXIT */
	RUN_HALTED,			/* every vCPU executed HLT */
	RUN_ERROR,			/* a guest or hypervisor error */
	RUN_TIMEOUT,			/* --timeout */
	RUN_SIGNAL,			/* SIGINT / SIGTERM */
};

struct run_state {
	pthread_mutex_t lock;
	enum run_end end;		/* the first reason, kept */
	int status;			/* umbra-run's exit status */
	unsigned int halted;		/* vCPUs that executed HLT */
	int done_fd;			/* eventfd: the run has ended */
	double wall;			/* seconds from start to last join */
};

int run_vm(struct vm *vm);
bool run_end(struct vm *vm, enum run_end end, int status);
bool run_stopping(struct vm *vm);
void run_vcpu_halted(struct vm *vm);

/* vm.c */
struct vm {
	const struct vmm_opts *opts;
	int sys_fd;			/* the device */
	int vm_fd;
	size_t run_size;		/* KVM_GET_VCPU_MMAP_SIZE */
	__u8 *ram;			/* gpa 0 .. mem_size - 1 */
	__u64 mem_size;
	unsigned int nr_cpus;
	struct vcpu *vcpus;		/* nr_cpus of them */

	struct elf_image image;		/* elf.c */
	struct boot_layout layout;	/* boot.c */
	__u64 entry32;			/* boot.c: --unpaged entry point */
	struct kvm_cpuid2 *cpuid;	/* cpuid.c: the table before per-vCPU fixups */
	enum kstats_source kstats;	/* stats.c */
	struct run_state run;		/* run.c */
	bool serial_dlab;		/* ioport.c: LCR.DLAB of the one UART */
};

int vm_create(struct vm *vm, const struct vmm_opts *opts);
void vm_destroy(struct vm *vm);
int vm_check_extension(struct vm *vm, long cap);

#endif /* UMBRA_VMM_H */
