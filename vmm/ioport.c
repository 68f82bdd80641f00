// SPDX-License-Identifier: GPL-2.0
/*
 * ioport.c - port I/O exits (KVM_EXIT_IO) and the two devices behind them
 * (include/umbra/boot.h):
 *
 *   serial  UMBRA_PORT_SERIAL..+7, a minimal 8250: THR (+0) writes go to
 *           stdout, LSR (+5) reads 0x60 (transmitter empty), other reads
 *           0.  LCR.DLAB is honoured so that the divisor bytes of a guest
 *           that programs the baud rate are not printed.
 *   exit    UMBRA_PORT_EXIT, a 32-bit OUT: the VM ends with that status.
 *
 * One exit may carry a string instruction (count > 1) of 1, 2 or 4 byte
 * items at run + io.data_offset; a 2- or 4-byte access to the serial port
 * touches consecutive registers, as on the real chip.  Any other port is
 * an error that names the port and the guest RIP.
 *
 * Output is buffered per vCPU and written a line at a time, so that lines
 * of different vCPUs do not interleave; stdout_lock keeps whole lines whole.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "vmm.h"

#define SERIAL_THR	0
#define SERIAL_LCR	3
#define SERIAL_LSR	5
#define SERIAL_NR_REGS	8
#define LCR_DLAB	0x80
#define LSR_THRE_TEMT	0x60

static pthread_mutex_t stdout_lock = PTHREAD_MUTEX_INITIALIZER;

void serial_flush(struct serial_line *line)
{
	const char *p = line->buf;
	size_t left = line->len;
	ssize_t n;

	pthread_mutex_lock(&stdout_lock);
	while (left) {
		n = write(STDOUT_FILENO, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* stdout gone: the guest runs on, unheard */
		p += n;
		left -= n;
	}
	pthread_mutex_unlock(&stdout_lock);
	line->len = 0;
}

static void serial_out(struct vcpu *vcpu, unsigned int reg, __u8 val)
{
	struct serial_line *line = &vcpu->line;
	struct vm *vm = vcpu->vm;

	switch (reg) {
	case SERIAL_THR:
		if (__atomic_load_n(&vm->serial_dlab, __ATOMIC_RELAXED))
			break;	/* divisor latch, low byte */
		line->buf[line->len++] = val;
		if (val == '\n' || line->len == sizeof(line->buf))
			serial_flush(line);
		break;
	case SERIAL_LCR:
		__atomic_store_n(&vm->serial_dlab, !!(val & LCR_DLAB), __ATOMIC_RELAXED);
		break;
	}
}

static __u8 serial_in(unsigned int reg)
{
	return reg == SERIAL_LSR ? LSR_THRE_TEMT : 0;
}

static const char *dir_str(bool out)
{
	return out ? "write (out)" : "read (in)";
}

/* The exit port: a 32-bit OUT whose value becomes umbra-run's status. */
static int exit_port(struct vcpu *vcpu, bool out, const __u8 *data, unsigned int size)
{
	__u32 val;
	__u64 rip = 0;

	if (!out || size != 4) {
		regs_rip(vcpu, &rip);
		vcpu_fatal(vcpu, true, "%u-byte %s of exit port 0x%x at RIP 0x%llx; the exit port takes a 32-bit OUT (outl)",
			   size, dir_str(out), UMBRA_PORT_EXIT, (unsigned long long)rip);
		return -1;
	}
	memcpy(&val, data, sizeof(val));
	if (val > VMM_EXIT_GUEST_MAX) {
		regs_rip(vcpu, &rip);
		vcpu_fatal(vcpu, true, "guest exit status %u (0x%x) at RIP 0x%llx is outside 0..%d (include/umbra/boot.h)",
			   val, val, (unsigned long long)rip, VMM_EXIT_GUEST_MAX);
		return -1;
	}
	run_end(vcpu->vm, RUN_GUEST_EXIT, val);
	return -1;
}

/*
 * One item of a port access.  Returns 0 to go on, -1 when the vCPU must
 * stop (the VM ended or the access was an error, already reported).
 */
static int ioport_access(struct vcpu *vcpu, __u16 port, bool out, __u8 *data,
			 unsigned int size)
{
	unsigned int i;
	__u64 rip = 0;

	if (port >= UMBRA_PORT_SERIAL && port + size <= UMBRA_PORT_SERIAL + SERIAL_NR_REGS) {
		for (i = 0; i < size; i++) {
			if (out)
				serial_out(vcpu, port - UMBRA_PORT_SERIAL + i, data[i]);
			else
				data[i] = serial_in(port - UMBRA_PORT_SERIAL + i);
		}
		return 0;
	}
	if (port == UMBRA_PORT_EXIT)
		return exit_port(vcpu, out, data, size);

	regs_rip(vcpu, &rip);
	vcpu_fatal(vcpu, true, "unhandled I/O port 0x%x: %u-byte %s at RIP 0x%llx (" PROG " has only the serial port 0x%x-0x%x and the exit port 0x%x)",
		   port, size, dir_str(out), (unsigned long long)rip, UMBRA_PORT_SERIAL,
		   UMBRA_PORT_SERIAL + SERIAL_NR_REGS - 1, UMBRA_PORT_EXIT);
	return -1;
}

/**
 * ioport_exit() - handle a KVM_EXIT_IO
 * @vcpu:	the vCPU whose run page holds the exit
 *
 * Return: 0 to re-enter the guest, -1 when this vCPU must stop.
 */
int ioport_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	unsigned int size = run->io.size, count = run->io.count, i;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;
	__u8 *data = (__u8 *)run + run->io.data_offset;

	/* The data area is the hypervisor's word: check it all the same. */
	if ((size != 1 && size != 2 && size != 4) || !count ||
	    run->io.data_offset > vcpu->vm->run_size ||
	    (__u64)size * count > vcpu->vm->run_size - run->io.data_offset) {
		vcpu_fatal(vcpu, true, "KVM_EXIT_IO with bad data: port 0x%x, size %u, count %u, data_offset 0x%llx (the kvm_run mapping is 0x%zx bytes)",
			   run->io.port, size, count, (unsigned long long)run->io.data_offset,
			   vcpu->vm->run_size);
		return -1;
	}
	for (i = 0; i < count; i++, data += size)
		if (ioport_access(vcpu, run->io.port, out, data, size))
			return -1;
	return 0;
}
