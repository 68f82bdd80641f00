// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - vCPU 0's life: check the boot info, bring up the guest's own
 * GDT/TSS, IDT, page allocator and kernel address space, then run what the
 * command line asks for and report through the exit port.
 *
 * Command line (umbra-run's arguments after "--"):
 *   [pvmmu=NAME] [suite [CASE...] [seed=N] [quirk=rsvd-no-p]]
 *                                      the correctness suite (the default;
 *                                      see tests/suite.c)
 *   [pvmmu=NAME] bench WORKLOAD ARGS...           one workload, see bench.c
 * pvmmu= picks the pv_mmu backend (pv_mmu.h): "native" (the default) or
 * "pv", umbra's mmu_op queue; without umbra's PV interface (on KVM, say)
 * "pv" says so in one line and runs native.  The boot line names the
 * backend in use.
 * Exit status: 0 success, 1 a test case failed, 2 bad command line,
 * 3 the guest itself broke (panic, unexpected exception).
 */
#include "guest.h"
#include "pv_mmu.h"

#define MAX_ARGS	16

const struct umbra_boot_info *boot_info;

_Static_assert(offsetof(struct umbra_boot_info, cpu_id) == 28,
	       "entry.S knows where cpu_id is");

void guest_exit(u32 status)
{
	outl(UMBRA_PORT_EXIT, status);
	halt_forever();
}

/* Splits @line in place into words; returns how many. */
static int split_words(char *line, char **argv, int max)
{
	int argc = 0;

	while (*line) {
		while (*line == ' ')
			*line++ = '\0';
		if (!*line)
			break;
		if (argc == max)
			panic("more than %d words on the command line", max);
		argv[argc++] = line;
		while (*line && *line != ' ')
			line++;
	}
	return argc;
}

static void __noreturn usage(const char *why)
{
	kprintf("guest: %s\n"
	       "usage: [pvmmu=native|pv] [suite [CASE...] [seed=N] [quirk=rsvd-no-p]]\n"
	       "       [pvmmu=native|pv] bench demand MiB | churn N | fork MiB [N] |\n"
	       "                               spawn MiB [N] | mmap MiB N |\n"
	       "                               mprotect MiB N | cpuid N\n", why);
	guest_exit(2);
}

void __noreturn guest_main(const struct umbra_boot_info *bi);
void guest_main(const struct umbra_boot_info *bi)
{
	static char line[UMBRA_BOOT_CMDLINE_MAX];
	char *argv[MAX_ARGS];
	int argc;

	boot_info = bi;
	if (bi->magic != UMBRA_BOOT_MAGIC)
		panic("bad boot info magic %llx at %p", bi->magic, bi);
	memcpy(line, bi->cmdline, sizeof(line));
	line[sizeof(line) - 1] = '\0';

	gdt_init();
	idt_init();
	palloc_init(bi->free_start, bi->mem_size);

	argc = split_words(line, argv, MAX_ARGS);
	if (argc && !strncmp(argv[0], "pvmmu=", 6)) {
		if (pv_mmu_select(argv[0] + 6))
			usage("unknown pv_mmu backend");
		argc--;
		for (int i = 0; i < argc; i++)
			argv[i] = argv[i + 1];
	}
	as_init(bi->mem_size);

	kprintf("guest: %llu MiB, %u vCPUs, pv_mmu %s, free from 0x%llx\n",
	       bi->mem_size >> 20, bi->nr_cpus, pv_mmu->name, bi->free_start);
	if (!argc || !strcmp(argv[0], "suite"))
		suite_main(argc ? argc - 1 : 0, argv + 1);
	if (!strcmp(argv[0], "bench"))
		bench_main(argc - 1, argv + 1);
	usage("unknown command");
}
