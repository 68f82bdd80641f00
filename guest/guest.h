/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guest.h - the test guest's private header, laid out by defining file so
 * that it reads as a table of contents.  The page-table update interface
 * has its own header, pv_mmu.h; architecture definitions are in x86.h; the
 * suite's helpers are in tests/tests.h.
 */
#ifndef _GUEST_H
#define _GUEST_H

#include <linux/types.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <umbra/boot.h>

#include "pv_mmu.h"
#include "x86.h"

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s8 s8;
typedef __s32 s32;
typedef __s64 s64;

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)		(((x) + (a) - 1) & ~((u64)(a) - 1))
#define ALIGN_DOWN(x, a)	((x) & ~((u64)(a) - 1))
#define IS_ALIGNED(x, a)	(((x) & ((u64)(a) - 1)) == 0)
#define READ_ONCE(x)		(*(const volatile typeof(x) *)&(x))
#define WRITE_ONCE(x, v)	((*(volatile typeof(x) *)&(x)) = (v))
#define barrier()		asm volatile("" : : : "memory")
#define __noreturn		__attribute__((noreturn))
#define __aligned(n)		__attribute__((aligned(n)))
#define __packed		__attribute__((packed))
#define __printf(a, b)		__attribute__((format(printf, a, b)))
#define min(a, b)		((a) < (b) ? (a) : (b))

#define ENOMEM	12
#define EFAULT	14
#define EINVAL	22

/* Guest-physical addresses are identity mapped: a frame is reached at pa. */
static inline void *phys_to_virt(u64 pa)
{
	return (void *)(unsigned long)pa;
}

/* main.c */
extern const struct umbra_boot_info *boot_info;
void __noreturn guest_exit(u32 status);

/* console.c */
void console_putc(char c);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);
void kprintf(const char *fmt, ...) __printf(1, 2);
void __noreturn panic(const char *fmt, ...) __printf(1, 2);
/* Called once, after the report, when the guest dies (panic, bad trap). */
extern void (*fatal_hook)(void);
void __noreturn die_fatal(void);

/* string.c */
void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
bool parse_u64(const char *s, u64 *out);

/* gdt.c: the guest's own GDT (kernel and user segments) and TSS */
#define KERNEL_CS	0x08
#define KERNEL_DS	0x10
#define USER_DS		(0x18 | 3)
#define USER_CS		(0x20 | 3)
#define TSS_SEL		0x28
void gdt_init(void);
void gdt_init_ap(void);

/* idt.c: the IDT, trap dispatch, #PF bookkeeping and exception fixups */
struct trap_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error;
	u64 rip, cs, rflags, rsp, ss;	/* pushed by the CPU */
};

/* One page fault as the handler saw it. */
struct pf_info {
	u64 cr2;
	u64 rip;
	u32 err;
	bool user;
};

/*
 * A test or workload may install a #PF hook.  It runs first and returns
 * true if it resolved the fault (the access is retried), false to let the
 * fault go on to the exception fixups, the ring-3 return or a panic.
 */
typedef bool (*pf_hook_t)(const struct pf_info *pf);
extern pf_hook_t pf_hook;
extern struct pf_info last_pf;
extern u64 pf_count;
void idt_init(void);
void idt_load(void);
void trap_dispatch(struct trap_frame *tf);

/* isr.S */
extern const u64 isr_stub_table[32];

/* probe.S: fault-tolerant accessors; return 0, or 1 if the access faulted */
struct extable_entry {
	u64 insn;	/* an instruction that may fault */
	u64 fixup;	/* where to resume if it does */
};
extern const struct extable_entry __ex_table_start[], __ex_table_end[];
int probe_read(u64 va, u64 *val);
int probe_write(u64 va, u64 val);
int probe_exec(u64 va);		/* calls va, which must hold "ret" */
extern u64 exec_probe_target;

/* user.S: running a few instructions in ring 3 */
struct user_result {
	bool returned;	/* the stub ran to its end (user_ret) */
	u64 vector;	/* else: the exception that stopped it */
	u64 err;
	u64 cr2;
	u64 rax;	/* the stub's result when it returned */
};
extern struct user_result user_result;
/* Enters ring 3 at @rip with @rsp, RDI = @a0, RSI = @a1; see user.S. */
void enter_user(u64 rip, u64 rsp, u64 a0, u64 a1);
void __noreturn user_return(void);
extern char __user_text_start[], __user_text_end[];
extern char user_read[], user_write[], user_exec[], user_ret[];

/* palloc.c: guest-physical page frames, refcounted */
void palloc_init(u64 start, u64 end);
u64 palloc_alloc(void);			/* zeroed; 0 when out of memory */
u64 palloc_alloc_raw(void);		/* not zeroed, to overwrite whole */
void palloc_free(u64 pa);
u64 palloc_alloc_huge(void);		/* 2 MiB aligned, zeroed; or 0 */
u64 palloc_alloc_contig(unsigned int n);	/* n contiguous frames; or 0 */
void palloc_free_huge(u64 pa);
void page_get(u64 pa);
bool page_put(u64 pa);			/* true if it freed the frame */
u32 page_count(u64 pa);
u64 palloc_used(void);			/* 4 KiB frames allocated now */

/*
 * as.c: address spaces built only through pv_mmu.  PML4 slot 0 (the
 * identity map of RAM, supervisor only) is the kernel half, shared by
 * every address space; slots 1..255 are each address space's own.
 */
#define AS_USER_START	PGD_SIZE
#define AS_USER_END	(256 * PGD_SIZE)
struct as {
	u64 root;	/* guest-physical address of the PML4 */
	int id;
	bool in_use;
};
extern struct as *kernel_as;
extern struct as *current_as;
void as_init(u64 mem_size);
struct as *as_create(void);
void as_destroy(struct as *as);
void as_switch(struct as *as);
pte_t *as_entry(struct as *as, u64 va, int level, bool alloc);
pte_t *as_leaf(struct as *as, u64 va, int *level);
u64 as_set_entry(struct as *as, u64 va, int level, u64 val);
int as_map(struct as *as, u64 va, u64 pa, u64 prot);
int as_map_2m(struct as *as, u64 va, u64 pa, u64 prot);
int as_unmap(struct as *as, u64 va);
int as_protect(struct as *as, u64 va, u64 set, u64 clear);
int as_split_2m(struct as *as, u64 va);
int as_share_table(struct as *dst, struct as *src, u64 va, int level);
int as_zap_table(struct as *as, u64 va, int level);
int as_map_range(struct as *as, u64 va, u64 npages, u64 prot);
void as_unmap_range(struct as *as, u64 va, u64 npages);
void as_protect_range(struct as *as, u64 va, u64 npages, u64 set, u64 clear);
struct as *as_fork(struct as *src);
int as_cow_fault(struct as *as, u64 va);
void as_cow_reap(void);

/* smp.c: vCPU 1, told what to run through a mailbox */
void __noreturn smp_ap_main(void);	/* from entry.S */
void smp_ap_park(void);
bool smp_ap_call(void (*fn)(void));
bool smp_ap_wait(void);
bool smp_wait_until(const u64 *word, u64 want);

/* bench.c */
void __noreturn bench_main(int argc, char **argv);

/* tests/suite.c */
void __noreturn suite_main(int argc, char **argv);

#endif /* _GUEST_H */
