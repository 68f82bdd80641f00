// SPDX-License-Identifier: GPL-2.0
/*
 * stats.c - what --stats prints and --stats-json writes.
 *
 * Three kinds of numbers:
 *   - exits to umbra-run by KVM exit reason, counted by each vCPU thread
 *     (vcpu.c); KVM_RUN failing with EINTR counts as INTR;
 *   - in-kernel counters of each vCPU, read after the run from whichever
 *     source the device offers (asked with KVM_CHECK_EXTENSION, never by
 *     device name): umbra's UMBRA_GET_VCPU_STATS, or KVM's binary stats
 *     (KVM_GET_STATS_FD), picked by the names of struct umbra_vcpu_stats'
 *     fields, which are KVM's names for the same events.  A counter the
 *     source lacks prints as "-" (JSON null);
 *   - the wall time of the run (run.c).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm.h"

#define STATS_MAX_COLUMNS	8	/* more vCPUs: the total column only */

static const struct {
	const char *name;
	size_t offset;			/* in struct umbra_vcpu_stats */
} kstat_defs[] = {
#define KSTAT(f) { #f, offsetof(struct umbra_vcpu_stats, f) }
	KSTAT(exits), KSTAT(pf_taken), KSTAT(pf_fixed), KSTAT(pf_guest),
	KSTAT(pf_spurious), KSTAT(io_exits), KSTAT(mmio_exits), KSTAT(halt_exits),
	KSTAT(signal_exits), KSTAT(irq_exits), KSTAT(invlpg), KSTAT(tlb_flush),
	KSTAT(hypercalls),
	/* umbra's own: KVM has none of these */
	KSTAT(cr3_loads), KSTAT(shadow_pages_created), KSTAT(shadow_pages_zapped),
	KSTAT(hypercalls_mmu_flush), KSTAT(mmu_ops), KSTAT(ad_synced),
	KSTAT(pv_cow),
#undef KSTAT
};
_Static_assert(ARRAY_SIZE(kstat_defs) <= KSTATS_MAX, "raise KSTATS_MAX");

static const char *const exit_names[VMM_NR_EXIT_REASONS] = {
	[KVM_EXIT_UNKNOWN] = "UNKNOWN",
	[KVM_EXIT_EXCEPTION] = "EXCEPTION",
	[KVM_EXIT_IO] = "IO",
	[KVM_EXIT_HYPERCALL] = "HYPERCALL",
	[KVM_EXIT_DEBUG] = "DEBUG",
	[KVM_EXIT_HLT] = "HLT",
	[KVM_EXIT_MMIO] = "MMIO",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
	[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
	[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
	[KVM_EXIT_INTR] = "INTR",
	[KVM_EXIT_SET_TPR] = "SET_TPR",
	[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
	[KVM_EXIT_NMI] = "NMI",
	[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
	[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
	[KVM_EXIT_IOAPIC_EOI] = "IOAPIC_EOI",
	[KVM_EXIT_HYPERV] = "HYPERV",
	[KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
	[KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
	[KVM_EXIT_DIRTY_RING_FULL] = "DIRTY_RING_FULL",
	[KVM_EXIT_AP_RESET_HOLD] = "AP_RESET_HOLD",
	[KVM_EXIT_X86_BUS_LOCK] = "X86_BUS_LOCK",
	[KVM_EXIT_XEN] = "XEN",
	[KVM_EXIT_NOTIFY] = "NOTIFY",
};

/* "IO" for KVM_EXIT_IO; NULL for a reason this table does not know. */
const char *stats_exit_name(__u32 reason)
{
	return reason < VMM_NR_EXIT_REASONS ? exit_names[reason] : NULL;
}

/* Reasons printed even when zero: the ones this guest protocol meets. */
static const unsigned int exit_always[] = {
	KVM_EXIT_IO, KVM_EXIT_MMIO, KVM_EXIT_HLT, KVM_EXIT_SHUTDOWN, KVM_EXIT_INTR,
};

static const char *kstats_source_name(enum kstats_source s)
{
	switch (s) {
	case KSTATS_UMBRA:	return "UMBRA_GET_VCPU_STATS";
	case KSTATS_KVM:	return "KVM_GET_STATS_FD";
	default:		return "none";
	}
}

int stats_init(struct vm *vm)
{
	if (vm_check_extension(vm, UMBRA_CAP_VCPU_STATS) > 0)
		vm->kstats = KSTATS_UMBRA;
	else if (vm_check_extension(vm, KVM_CAP_BINARY_STATS_FD) > 0)
		vm->kstats = KSTATS_KVM;
	else
		vm->kstats = KSTATS_NONE;
	info(vm->opts, "in-kernel counters: %s", kstats_source_name(vm->kstats));
	return 0;
}

static int read_umbra(struct vcpu *vcpu)
{
	struct umbra_vcpu_stats s;
	unsigned int i;

	if (ioctl(vcpu->fd, UMBRA_GET_VCPU_STATS, &s)) {
		err("vcpu %u: UMBRA_GET_VCPU_STATS: %s", vcpu->id, strerror(errno));
		return -1;
	}
	for (i = 0; i < ARRAY_SIZE(kstat_defs); i++) {
		memcpy(&vcpu->kstats.val[i], (char *)&s + kstat_defs[i].offset, sizeof(__u64));
		vcpu->kstats.have[i] = true;
	}
	return 0;
}

static int pread_all(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	if (n < 0)
		return -1;
	if ((size_t)n != len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/* KVM's binary stats: header, descriptors, then the values we know by name. */
static int read_kvm_fd(struct vcpu *vcpu, int fd)
{
	struct kvm_stats_header h;
	size_t desc_size;
	char *descs;
	unsigned int i, k;

	if (pread_all(fd, &h, sizeof(h), 0))
		return -1;
	if (!h.name_size || h.name_size > 4096 || h.num_desc > 65536) {
		errno = EPROTO;
		return -1;
	}
	desc_size = sizeof(struct kvm_stats_desc) + h.name_size;
	descs = malloc(desc_size * h.num_desc);
	if (!descs)
		return -1;
	if (pread_all(fd, descs, desc_size * h.num_desc, h.desc_offset)) {
		free(descs);
		return -1;
	}
	for (i = 0; i < h.num_desc; i++) {
		struct kvm_stats_desc *d = (void *)(descs + i * desc_size);

		d->name[h.name_size - 1] = '\0';
		for (k = 0; k < ARRAY_SIZE(kstat_defs); k++) {
			if (strcmp(d->name, kstat_defs[k].name) || !d->size)
				continue;
			if (pread_all(fd, &vcpu->kstats.val[k], sizeof(__u64),
				      (off_t)h.data_offset + d->offset)) {
				free(descs);
				return -1;
			}
			vcpu->kstats.have[k] = true;
		}
	}
	free(descs);
	return 0;
}

static int read_kvm(struct vcpu *vcpu)
{
	int fd, r;

	fd = ioctl(vcpu->fd, KVM_GET_STATS_FD, NULL);
	if (fd < 0) {
		err("vcpu %u: KVM_GET_STATS_FD: %s", vcpu->id, strerror(errno));
		return -1;
	}
	r = read_kvm_fd(vcpu, fd);
	if (r)
		err("vcpu %u: reading KVM's binary stats: %s", vcpu->id, strerror(errno));
	close(fd);
	return r;
}

/**
 * stats_read_vcpu() - read a vCPU's in-kernel counters after the run
 * @vcpu:	with its thread joined and its fd still open
 *
 * Return: 0, or -1 after saying why (the counters then print as "-").
 */
int stats_read_vcpu(struct vcpu *vcpu)
{
	memset(&vcpu->kstats, 0, sizeof(vcpu->kstats));
	if (vcpu->fd < 0)
		return -1;
	switch (vcpu->vm->kstats) {
	case KSTATS_UMBRA:
		return read_umbra(vcpu);
	case KSTATS_KVM:
		return read_kvm(vcpu);
	default:
		return 0;
	}
}

/*
 * Returns from KVM_RUN of one vCPU for @reason, or all of them for -1.
 * KVM_RUN failing with EINTR counts as KVM_EXIT_INTR, which KVM puts in
 * exit_reason then too.
 */
static __u64 exits_of(const struct exit_counts *e, int reason)
{
	__u64 sum = e->intr;
	unsigned int i;

	if (reason == KVM_EXIT_INTR)
		return e->reason[reason] + e->intr;
	if (reason >= 0)
		return e->reason[reason];
	for (i = 0; i < VMM_NR_EXIT_REASONS; i++)
		sum += e->reason[i];
	return sum + e->reason_other;
}

static __u64 total_exits(const struct vm *vm, int reason)
{
	__u64 sum = 0;
	unsigned int i;

	for (i = 0; i < vm->nr_cpus; i++)
		sum += exits_of(&vm->vcpus[i].exits, reason);
	return sum;
}

/* Sum of counter k over the vCPUs; false if any vCPU lacks it. */
static bool total_kstat(const struct vm *vm, unsigned int k, __u64 *sum)
{
	unsigned int i;

	*sum = 0;
	for (i = 0; i < vm->nr_cpus; i++) {
		if (!vm->vcpus[i].kstats.have[k])
			return false;
		*sum += vm->vcpus[i].kstats.val[k];
	}
	return true;
}

static void print_cell(bool have, __u64 v)
{
	if (have)
		fprintf(stderr, " %10llu", (unsigned long long)v);
	else
		fprintf(stderr, " %10s", "-");
}

static void print_exit_row(const struct vm *vm, const char *name, int reason, bool cols)
{
	unsigned int i;

	fprintf(stderr, "  %-22s", name);
	if (cols)
		for (i = 0; i < vm->nr_cpus; i++)
			print_cell(true, exits_of(&vm->vcpus[i].exits, reason));
	print_cell(true, total_exits(vm, reason));
	fputc('\n', stderr);
}

static bool always_shown(unsigned int reason)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(exit_always); i++)
		if (exit_always[i] == reason)
			return true;
	return false;
}

static void print_exits(const struct vm *vm, bool cols)
{
	char name[32];
	unsigned int r;

	fprintf(stderr, "exits to " PROG "\n");
	for (r = 0; r < VMM_NR_EXIT_REASONS; r++) {
		if (!always_shown(r) && !total_exits(vm, r))
			continue;
		if (exit_names[r])
			snprintf(name, sizeof(name), "%s", exit_names[r]);
		else
			snprintf(name, sizeof(name), "reason %u", r);
		print_exit_row(vm, name, r, cols);
	}
	print_exit_row(vm, "all", -1, cols);
}

static void print_kstats(const struct vm *vm, bool cols)
{
	unsigned int i, k;
	__u64 sum = 0;
	bool have;

	fprintf(stderr, "in-kernel counters (%s)\n", kstats_source_name(vm->kstats));
	for (k = 0; k < ARRAY_SIZE(kstat_defs); k++) {
		fprintf(stderr, "  %-22s", kstat_defs[k].name);
		if (cols)
			for (i = 0; i < vm->nr_cpus; i++)
				print_cell(vm->vcpus[i].kstats.have[k], vm->vcpus[i].kstats.val[k]);
		have = total_kstat(vm, k, &sum);
		print_cell(have, sum);
		fputc('\n', stderr);
	}
}

static const char *end_name(enum run_end end)
{
	switch (end) {
	case RUN_GUEST_EXIT:	return "exit";
	case RUN_HALTED:	return "halted";
	case RUN_ERROR:		return "error";
	case RUN_TIMEOUT:	return "timeout";
	case RUN_SIGNAL:	return "signal";
	default:		return "running";
	}
}

/**
 * stats_print() - the --stats table, to stderr
 * @vm:	after the run, with the in-kernel counters read
 */
void stats_print(const struct vm *vm)
{
	bool cols = vm->nr_cpus > 1 && vm->nr_cpus <= STATS_MAX_COLUMNS;
	char buf[32], col[16];
	unsigned int i;

	fprintf(stderr, PROG ": stats: %s, %u vCPU%s, %s RAM, wall %.6f s, end: %s, status %d\n",
		vm->opts->dev, vm->nr_cpus, vm->nr_cpus == 1 ? "" : "s",
		size_str(vm->mem_size, buf, sizeof(buf)), vm->run.wall,
		end_name(vm->run.end), vm->run.status);
	fprintf(stderr, "  %-22s", "");
	if (cols) {
		for (i = 0; i < vm->nr_cpus; i++) {
			snprintf(col, sizeof(col), "vcpu%u", i);
			fprintf(stderr, " %10s", col);
		}
	}
	fprintf(stderr, " %10s\n", "total");
	print_exits(vm, cols);
	print_kstats(vm, cols);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/**
 * stats_write_json() - the totals and wall time as one JSON object
 * @vm:	after the run, with the in-kernel counters read
 * @f:	the --stats-json file
 *
 * Keys: dev, nr_cpus, mem_size, wall_seconds, end, status, kstats_source,
 * user_exits (all returns from KVM_RUN), user_<reason> for io, mmio, hlt,
 * shutdown, intr and any other reason seen, then every in-kernel
 * counter by its struct umbra_vcpu_stats name (null if not offered).
 *
 * Return: 0, or -1 with errno set if writing failed.
 */
int stats_write_json(const struct vm *vm, FILE *f)
{
	unsigned int r, k;
	char name[32];
	__u64 sum;

	fputs("{\"dev\":", f);
	json_str(f, vm->opts->dev);
	fprintf(f, ",\"nr_cpus\":%u,\"mem_size\":%llu,\"wall_seconds\":%.6f,\"end\":\"%s\",\"status\":%d,\"kstats_source\":\"%s\"",
		vm->nr_cpus, (unsigned long long)vm->mem_size, vm->run.wall,
		end_name(vm->run.end), vm->run.status, kstats_source_name(vm->kstats));
	fprintf(f, ",\"user_exits\":%llu", (unsigned long long)total_exits(vm, -1));
	for (r = 0; r < VMM_NR_EXIT_REASONS; r++) {
		if (!always_shown(r) && !total_exits(vm, r))
			continue;
		if (exit_names[r])
			snprintf(name, sizeof(name), "%s", exit_names[r]);
		else
			snprintf(name, sizeof(name), "reason_%u", r);
		for (k = 0; name[k]; k++)
			if (name[k] >= 'A' && name[k] <= 'Z')
				name[k] += 'a' - 'A';
		fprintf(f, ",\"user_%s\":%llu", name, (unsigned long long)total_exits(vm, r));
	}
	for (k = 0; k < ARRAY_SIZE(kstat_defs); k++) {
		if (total_kstat(vm, k, &sum))
			fprintf(f, ",\"%s\":%llu", kstat_defs[k].name, (unsigned long long)sum);
		else
			fprintf(f, ",\"%s\":null", kstat_defs[k].name);
	}
	fputs("}\n", f);
	return fflush(f) || ferror(f) ? -1 : 0;
}
