// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - umbra-run's front door: options, the order in which the VM is
 * set up, torn down and reported, and the exit status.
 *
 * Setup order matters: the ELF is checked before the device is opened (its
 * problems are the user's to fix, device or not); CPUID is set on each vCPU
 * before its special registers, because KVM refuses EFER.LME unless the
 * guest's CPUID has LM.  Everything after vm_create() is undone by
 * vm_destroy(), on every path.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "vmm.h"

#define DEFAULT_DEV	"/dev/umbra"
#define DEFAULT_MEM	(128 * SZ_1M)
#define MAX_MEM		(512 * SZ_1G)	/* what one PDPT of 1 GiB PDs maps */

void err(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* -v: say what was set up, to stderr (stdout is the guest's). */
void info(const struct vmm_opts *opts, const char *fmt, ...)
{
	va_list ap;

	if (!opts->verbose)
		return;
	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* "128M", "1G", "1536M", "4096K" or bytes: the largest exact unit. */
const char *size_str(__u64 bytes, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int i = -1;

	while (i < 3 && bytes && !(bytes & 1023)) {
		bytes >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)bytes, units[i]);
	return buf;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: " PROG " [options] <guest.elf> [-- guest args...]\n"
"\n"
"Run a guest kernel (an ELF64 x86-64 executable linked at or above 1 MiB)\n"
"under umbra or KVM, following the boot protocol of include/umbra/boot.h.\n"
"Guest args are joined with spaces into boot_info.cmdline.\n"
"\n"
"Options:\n"
"      --dev PATH        hypervisor device (default " DEFAULT_DEV "; /dev/kvm works too)\n"
"  -m, --mem SIZE        guest RAM, a multiple of 2M: 256M, 1G, ... (default 128M;\n"
"                        a bare number is MiB)\n"
"  -c, --cpus N          number of vCPUs (default 1; also --vcpus)\n"
"      --timeout SECS    stop the guest after SECS seconds and exit 124\n"
"      --stats           at exit, print exits to userspace, in-kernel counters\n"
"                        and wall time, per vCPU and in total, to stderr\n"
"      --stats-json FILE write the totals and wall time as one JSON object\n"
"      --unpaged         start in 32-bit protected mode with paging off, at the\n"
"                        image's struct umbra_boot32_header entry (boot.h)\n"
"  -v, --verbose         say what is set up where\n"
"  -h, --help            this text\n"
"\n"
"Guest output on the serial port goes to stdout; " PROG "'s messages to stderr.\n"
"\n"
"Exit status: the guest's own (0..125, an outl to port 0xf4);\n"
"  1 the guest could not be started (options, device, ELF image)\n"
"  2 every vCPU halted without writing an exit status\n"
"  3 guest error (triple fault, unhandled port or MMIO, failed entry) or\n"
"    hypervisor error (KVM_RUN failed)\n"
"  124 --timeout hit; 128+N stopped by signal N (SIGINT, SIGTERM)\n");
}

/*
 * Parse a RAM size: a number with an optional K, M, G or T suffix (a "B"
 * or "iB" after it is accepted); a bare number is MiB, as with QEMU and
 * kvmtool.
 */
static int parse_size(const char *s, __u64 *out)
{
	static const char units[] = "kKmMgGtT";
	unsigned long long n;
	unsigned int shift = 20;
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	n = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end) {
		const char *p = strchr(units, *end);

		if (!p || !*p)
			return -1;
		shift = 10 * (1 + (p - units) / 2);
		end++;
		if (!strcasecmp(end, "iB") || !strcasecmp(end, "B"))
			end += strlen(end);
	}
	if (*end)
		return -1;
	if (n > (~0ULL >> shift))
		return -1;
	*out = (__u64)n << shift;
	return 0;
}

static int parse_uint(const char *s, unsigned int max, unsigned int *out)
{
	unsigned long n;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || *end || n > max)
		return -1;
	*out = n;
	return 0;
}

static int join_cmdline(struct vmm_opts *opts, int argc, char **argv)
{
	size_t len = 0, n;
	int i;

	opts->cmdline[0] = '\0';
	for (i = 0; i < argc; i++) {
		n = strlen(argv[i]);
		if (len + !!i + n >= sizeof(opts->cmdline)) {
			size_t total = 0;

			for (i = 0; i < argc; i++)
				total += strlen(argv[i]) + !!i;
			err("guest arguments are %zu bytes long; boot_info.cmdline holds at most %zu",
			    total, sizeof(opts->cmdline) - 1);
			return -1;
		}
		if (i)
			opts->cmdline[len++] = ' ';
		memcpy(opts->cmdline + len, argv[i], n + 1);
		len += n;
	}
	return 0;
}

enum { OPT_DEV = 256, OPT_STATS, OPT_STATS_JSON, OPT_TIMEOUT, OPT_UNPAGED };

static const struct option long_opts[] = {
	{ "dev",	required_argument,	NULL, OPT_DEV },
	{ "mem",	required_argument,	NULL, 'm' },
	{ "cpus",	required_argument,	NULL, 'c' },
	{ "vcpus",	required_argument,	NULL, 'c' },
	{ "timeout",	required_argument,	NULL, OPT_TIMEOUT },
	{ "stats",	no_argument,		NULL, OPT_STATS },
	{ "stats-json",	required_argument,	NULL, OPT_STATS_JSON },
	{ "unpaged",	no_argument,		NULL, OPT_UNPAGED },
	{ "verbose",	no_argument,		NULL, 'v' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* Returns 0 to run, 1 after --help, -1 on a usage error (reported). */
static int parse_args(struct vmm_opts *opts, int argc, char **argv)
{
	char buf[32];
	int nopts, c;

	*opts = (struct vmm_opts) {
		.dev = DEFAULT_DEV,
		.mem_size = DEFAULT_MEM,
		.nr_cpus = 1,
	};

	/* Options end at the first "--"; what follows is the guest's. */
	for (nopts = 1; nopts < argc; nopts++)
		if (!strcmp(argv[nopts], "--"))
			break;

	opterr = 0;
	while ((c = getopt_long(nopts, argv, ":m:c:vh", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_DEV:
			opts->dev = optarg;
			break;
		case 'm':
			if (parse_size(optarg, &opts->mem_size)) {
				err("--mem %s: not a size; use e.g. 256M or 1G", optarg);
				return -1;
			}
			if (opts->mem_size < SZ_2M || opts->mem_size % SZ_2M) {
				err("--mem %s: guest RAM must be a non-zero multiple of 2M (the boot map uses 2 MiB pages)",
				    optarg);
				return -1;
			}
			if (opts->mem_size > MAX_MEM) {
				err("--mem %s: at most %s", optarg,
				    size_str(MAX_MEM, buf, sizeof(buf)));
				return -1;
			}
			break;
		case 'c':
			if (parse_uint(optarg, 1024, &opts->nr_cpus) || !opts->nr_cpus) {
				err("--cpus %s: give a number of vCPUs from 1 up", optarg);
				return -1;
			}
			break;
		case OPT_TIMEOUT:
			if (parse_uint(optarg, INT_MAX / 1000, &opts->timeout) || !opts->timeout) {
				err("--timeout %s: give a whole number of seconds from 1 up", optarg);
				return -1;
			}
			break;
		case OPT_STATS:
			opts->stats = true;
			break;
		case OPT_STATS_JSON:
			opts->stats_json = optarg;
			break;
		case OPT_UNPAGED:
			opts->unpaged = true;
			break;
		case 'v':
			opts->verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case ':':
			err("%s needs an argument; see " PROG " --help", argv[optind - 1]);
			return -1;
		default:
			if (optopt)
				err("unknown option -%c; see " PROG " --help", optopt);
			else
				err("unknown option %s; see " PROG " --help", argv[optind - 1]);
			return -1;
		}
	}

	if (optind >= nopts) {
		err("no guest given; usage: " PROG " [options] <guest.elf> [-- guest args...]");
		return -1;
	}
	if (optind + 1 < nopts) {
		err("unexpected argument '%s'; guest arguments go after \"--\"", argv[optind + 1]);
		return -1;
	}
	opts->elf_path = argv[optind];

	if (nopts < argc && join_cmdline(opts, argc - nopts - 1, argv + nopts + 1))
		return -1;
	return 0;
}

/*
 * Start every vCPU, wait for the run to end, then collect the in-kernel
 * counters (before vm_destroy() closes the vCPU fds) and report.
 */
static int run_and_report(struct vm *vm, FILE *json)
{
	int status = run_vm(vm);
	unsigned int i;

	if (vm->opts->stats || json) {
		for (i = 0; i < vm->nr_cpus; i++)
			stats_read_vcpu(&vm->vcpus[i]);
		if (vm->opts->stats)
			stats_print(vm);
		if (json && stats_write_json(vm, json))
			err("--stats-json %s: write failed: %s", vm->opts->stats_json,
			    strerror(errno));
	}
	return status;
}

int main(int argc, char **argv)
{
	struct vmm_opts opts;
	struct vm vm;
	FILE *json = NULL;
	bool ran = false;
	unsigned int i;
	int status = VMM_EXIT_SETUP;
	int r;

	r = parse_args(&opts, argc, argv);
	if (r)
		return r > 0 ? 0 : VMM_EXIT_SETUP;

	/* Open it now, so that a bad path fails before the guest runs. */
	if (opts.stats_json) {
		json = fopen(opts.stats_json, "w");
		if (!json) {
			err("--stats-json %s: %s", opts.stats_json, strerror(errno));
			return VMM_EXIT_SETUP;
		}
	}

	memset(&vm, 0, sizeof(vm));
	vm.sys_fd = vm.vm_fd = -1;
	if (elf_read(&vm.image, opts.elf_path, opts.mem_size))
		goto out_json;

	if (vm_create(&vm, &opts))
		goto out;
	elf_load(&vm.image, vm.ram);
	if (opts.unpaged && boot_entry32(&vm, &vm.entry32))
		goto out;
	if (boot_setup(&vm) || cpuid_init(&vm) || stats_init(&vm))
		goto out;
	for (i = 0; i < vm.nr_cpus; i++)
		if (vcpu_create(&vm, i))
			goto out;

	status = run_and_report(&vm, json);
	ran = true;
out:
	vm_destroy(&vm);
	elf_close(&vm.image);
out_json:
	if (json && fclose(json)) {
		err("--stats-json %s: %s", opts.stats_json, strerror(errno));
		if (!status)
			status = VMM_EXIT_SETUP;
	}
	/* No run, no numbers: leave no empty file to be parsed. */
	if (json && !ran)
		unlink(opts.stats_json);
	return status;
}
