/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svm/ private header, laid out by the file that defines each part.
 *
 * The live guest state while KVM_RUN runs is split three ways:
 *   - umbra_vcpu.gpr[] holds the general purpose registers except RAX and
 *     RSP (vmenter.S moves them in and out);
 *   - the VMCB holds RAX, RSP, RIP, RFLAGS, segments, EFER, CR2, the
 *     syscall MSRs and the hardware CR0/CR3/CR4 (which are NOT the
 *     guest's: see below);
 *   - struct umbra_svm_vcpu holds the guest's own CR0/CR3/CR4/EFER, the
 *     event to inject and the I/O or MMIO access userspace is completing.
 * umbra_svm_sync_from_vcpu() and umbra_svm_sync_to_vcpu() move state between the VMCB
 * and umbra_vcpu's KVM-shaped copy at the edges of KVM_RUN.
 *
 * Shadow paging: the hardware runs on umbra's shadow tables, so the VMCB's
 * CR3 is the shadow root, its CR0 always has PG and WP set (WP so that
 * read-only sptes also stop supervisor writes), and its EFER has SVME.
 * Guest reads and writes of CR0/CR3 are intercepted and served from the
 * guest values kept here.
 */
#ifndef _UMBRA_SVM_H
#define _UMBRA_SVM_H

#include <linux/types.h>
#include <asm/fpu/api.h>
#include <asm/svm.h>
#include <umbra/mmu.h>
#include <umbra/vm.h>

/* An exception to deliver on the next entry. */
struct svm_event {
	bool pending;
	bool has_error;
	u8 vector;
	u32 error;
	u64 cr2;		/* for #PF */
	bool triple_fault;	/* a fault while delivering #DF */
};

/* Port I/O handed to userspace, finished on the next KVM_RUN. */
struct svm_pio {
	bool pending;
	bool in;
	bool string;
	bool rep;
	u8 size;		/* bytes per element */
	u16 port;
	u32 count;		/* elements in this round trip */
	u64 next_rip;
};

/* An MMIO access handed to userspace, finished on the next KVM_RUN. */
struct svm_mmio {
	bool pending;
	bool read;
	u8 size;
	u8 reg;			/* destination GPR of a read */
	bool zero_extend;	/* MOVZX form */
	u64 next_rip;
};

/**
 * struct umbra_svm_vcpu - AMD-V state of one vCPU
 * @vcpu:	back pointer
 * @vmcb:	the VMCB (one page)
 * @vmcb_pa:	its physical address
 * @asid:	address space id on @asid_cpu; a new one means a clean TLB
 * @asid_cpu:	host CPU @asid belongs to, or -1
 * @asid_gen:	generation of @asid on @asid_cpu
 * @cr0, @cr3, @cr4, @efer: the guest's own control registers
 * @event:	exception to inject
 * @pio:	port I/O in flight to userspace
 * @mmio:	MMIO in flight to userspace
 * @tsc_aux:	guest MSR_TSC_AUX (swapped around VMRUN when it differs)
 * @apic_base:	guest MSR_IA32_APICBASE
 * @fpu:	guest FPU/SSE/XSAVE state, swapped in for the length of KVM_RUN
 * @unprotect_rip, @unprotect_gfn, @unprotect_exits, @unprotect_repeats:
 *		the last store that made umbra stop shadowing a frame, at which
 *		exit, and how often in a row, to catch a loop (exit.c)
 */
struct umbra_svm_vcpu {
	struct umbra_vcpu *vcpu;
	struct vmcb *vmcb;
	u64 vmcb_pa;
	u32 asid;
	int asid_cpu;
	u64 asid_gen;
	u64 cr0, cr3, cr4, efer;
	struct svm_event event;
	struct svm_pio pio;
	struct svm_mmio mmio;
	u64 tsc_aux;
	struct fpu_guest fpu;
	u64 unprotect_rip;
	u64 unprotect_gfn;
	u64 unprotect_exits;
	unsigned int unprotect_repeats;
};

static inline struct umbra_svm_vcpu *to_svm(struct umbra_vcpu *vcpu)
{
	return vcpu->arch;
}

/* RAX and RSP live in the VMCB while KVM_RUN runs; the rest in gpr[]. */
static inline u64 svm_gpr(struct umbra_svm_vcpu *svm, unsigned int n)
{
	if (n == UMBRA_RAX)
		return svm->vmcb->save.rax;
	if (n == UMBRA_RSP)
		return svm->vmcb->save.rsp;
	return svm->vcpu->gpr[n];
}

static inline void svm_set_gpr(struct umbra_svm_vcpu *svm, unsigned int n,
			       u64 val)
{
	if (n == UMBRA_RAX)
		svm->vmcb->save.rax = val;
	else if (n == UMBRA_RSP)
		svm->vmcb->save.rsp = val;
	else
		svm->vcpu->gpr[n] = val;
}

/* PFERR_USER for accesses the guest makes at CPL 3. */
static inline u32 svm_user_access(struct umbra_svm_vcpu *svm)
{
	return svm->vmcb->save.cpl == 3 ? PFERR_USER : 0;
}

/* Exit handlers return this: go back into the guest, or out to userspace. */
enum svm_exit_action {
	SVM_RESUME,		/* handled in the kernel: enter the guest again */
	SVM_USER,		/* kvm_run->exit_reason is set: return to userspace */
};

/* hw.c: per-CPU AMD-V state */
struct svm_cpu {
	struct page *hsave;	/* MSR_VM_HSAVE_PA: VMRUN's host save area */
	struct page *host_save;	/* VMSAVE/VMLOAD area for host FS/GS/TR/... */
	u32 next_asid;
	u64 asid_gen;
	bool on;		/* umbra set EFER.SVME here */
};
DECLARE_PER_CPU(struct svm_cpu, umbra_svm_cpu);
extern u32 umbra_svm_max_asid;
extern u64 umbra_svm_iopm_pa, umbra_svm_msrpm_pa;

/* vmenter.S */
int __umbra_svm_vcpu_run(u64 vmcb_pa, u64 *gprs, u64 host_save_pa);

/* vmcb.c: the VMCB's layout and the state it carries */
int umbra_svm_vcpu_create(struct umbra_vcpu *vcpu);
void umbra_svm_vcpu_free(struct umbra_vcpu *vcpu);
void umbra_svm_sync_from_vcpu(struct umbra_svm_vcpu *svm);
void umbra_svm_sync_to_vcpu(struct umbra_svm_vcpu *svm);
void umbra_svm_set_cr0(struct umbra_svm_vcpu *svm, u64 cr0);
void umbra_svm_set_cr4(struct umbra_svm_vcpu *svm, u64 cr4);
void umbra_svm_set_efer(struct umbra_svm_vcpu *svm, u64 efer);

/* run.c: the KVM_RUN loop */
int umbra_svm_vcpu_run(struct umbra_vcpu *vcpu);

/* exit.c: #VMEXIT dispatch */
int umbra_svm_handle_exit(struct umbra_svm_vcpu *svm);
void umbra_svm_queue_exception(struct umbra_svm_vcpu *svm, u8 vector, bool has_error,
			 u32 error);
void umbra_svm_queue_pf(struct umbra_svm_vcpu *svm, u64 cr2, u32 error);
int umbra_svm_internal_error(struct umbra_svm_vcpu *svm, const char *why);

/* io.c: port I/O and MMIO exits to userspace */
int umbra_svm_handle_ioio(struct umbra_svm_vcpu *svm);
int umbra_svm_complete_user_exit(struct umbra_svm_vcpu *svm);
int umbra_svm_handle_mmio(struct umbra_svm_vcpu *svm, u64 gpa);

/* msr.c: intercepted RDMSR/WRMSR and KVM_GET/SET_MSRS */
int umbra_svm_handle_msr(struct umbra_svm_vcpu *svm, bool write);
int umbra_svm_get_msr(struct umbra_svm_vcpu *svm, u32 index, u64 *data);
int umbra_svm_set_msr(struct umbra_svm_vcpu *svm, u32 index, u64 data, bool host);
int umbra_svm_vcpu_get_msr(struct umbra_vcpu *vcpu, u32 index, u64 *data);
int umbra_svm_vcpu_set_msr(struct umbra_vcpu *vcpu, u32 index, u64 data);
void umbra_svm_get_fpu(struct umbra_vcpu *vcpu, struct kvm_fpu *fpu);
void umbra_svm_set_fpu(struct umbra_vcpu *vcpu, const struct kvm_fpu *fpu);

#endif /* _UMBRA_SVM_H */
