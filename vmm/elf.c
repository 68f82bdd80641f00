// SPDX-License-Identifier: GPL-2.0
/*
 * elf.c - the guest image: an ELF64 x86-64 executable (include/umbra/boot.h).
 *
 * elf_read() maps the file and checks all of it before any hypervisor is
 * touched: the identification (magic, class, data, version), type,
 * machine, the program header table's place in the file, and for every
 * PT_LOAD segment its file range, that it lies at or above
 * UMBRA_BOOT_IMAGE_MIN and inside RAM, and that no two overlap; the entry
 * point must lie in an executable segment.  Every sum is checked for
 * overflow: the file is input like any other.  elf_load() then copies the
 * segments into guest RAM at p_paddr (the rest up to p_memsz is fresh RAM,
 * hence zero).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm.h"

/* Does [off, off + len) fit in [0, size)?  Without overflowing. */
static bool in_range(__u64 off, __u64 len, __u64 size)
{
	return off <= size && len <= size - off;
}

static const char *elf_type_name(unsigned int type)
{
	switch (type) {
	case ET_NONE:	return "no file type";
	case ET_REL:	return "a relocatable object (not linked)";
	case ET_DYN:	return "position independent (ET_DYN); link with -static -no-pie";
	case ET_CORE:	return "a core dump";
	default:	return "of an unknown type";
	}
}

static int check_header(const struct elf_image *img, const Elf64_Ehdr *eh)
{
	const char *path = img->path;

	if (img->file_size < SELFMAG || memcmp(eh->e_ident, ELFMAG, SELFMAG)) {
		err("%s: not an ELF file (no ELF magic); give an ELF64 x86-64 executable", path);
		return -1;
	}
	if (img->file_size < sizeof(*eh)) {
		err("%s: truncated ELF file (%zu bytes, the ELF header alone is %zu)", path,
		    img->file_size, sizeof(*eh));
		return -1;
	}
	if (eh->e_ident[EI_CLASS] != ELFCLASS64) {
		err("%s: ELF class %s, the guest must be ELF64 (build it for x86-64, not -m32)",
		    path, eh->e_ident[EI_CLASS] == ELFCLASS32 ? "32" : "unknown");
		return -1;
	}
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB) {
		err("%s: not a little-endian ELF file", path);
		return -1;
	}
	if (eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT) {
		err("%s: unknown ELF version %u", path, eh->e_ident[EI_VERSION]);
		return -1;
	}
	if (eh->e_machine != EM_X86_64) {
		err("%s: ELF machine %u, the guest must be x86-64 (EM_X86_64 = %u)", path,
		    eh->e_machine, EM_X86_64);
		return -1;
	}
	if (eh->e_type != ET_EXEC) {
		err("%s: ELF file is %s; the guest must be an executable", path,
		    elf_type_name(eh->e_type));
		return -1;
	}
	if (!eh->e_phnum || eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff % 8 ||
	    !in_range(eh->e_phoff, (__u64)eh->e_phnum * sizeof(Elf64_Phdr), img->file_size)) {
		err("%s: bad ELF program header table (%u entries of %u bytes at offset 0x%llx)",
		    path, eh->e_phnum, eh->e_phentsize, (unsigned long long)eh->e_phoff);
		return -1;
	}
	return 0;
}

static int check_segment(const struct elf_image *img, const Elf64_Phdr *ph,
			 unsigned int i, __u64 mem_size)
{
	const char *path = img->path;
	__u64 start = ph->p_paddr;
	char buf[32];

	if (ph->p_filesz > ph->p_memsz) {
		err("%s: segment %u: file size 0x%llx is larger than its memory size 0x%llx",
		    path, i, (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_memsz);
		return -1;
	}
	if (!in_range(ph->p_offset, ph->p_filesz, img->file_size)) {
		err("%s: segment %u: file range 0x%llx+0x%llx is beyond the end of the file (truncated?)",
		    path, i, (unsigned long long)ph->p_offset, (unsigned long long)ph->p_filesz);
		return -1;
	}
	if (start < UMBRA_BOOT_IMAGE_MIN) {
		err("%s: segment %u at 0x%llx (0x%llx bytes) is below 1 MiB (0x%llx), which " PROG
		    " keeps for boot data; link the guest at 0x100000 or above (e.g. -Wl,-Ttext=0x100000)",
		    path, i, (unsigned long long)start, (unsigned long long)ph->p_memsz,
		    UMBRA_BOOT_IMAGE_MIN);
		return -1;
	}
	if (!in_range(start, ph->p_memsz, mem_size)) {
		err("%s: segment %u at 0x%llx (0x%llx bytes) does not fit in %s of RAM; give more --mem",
		    path, i, (unsigned long long)start, (unsigned long long)ph->p_memsz,
		    size_str(mem_size, buf, sizeof(buf)));
		return -1;
	}
	return 0;
}

/* Segments, entry point, overlaps: everything after the header. */
static int check_segments(struct elf_image *img, const Elf64_Ehdr *eh, __u64 mem_size)
{
	const Elf64_Phdr *ph = (const void *)((const char *)img->file + eh->e_phoff);
	bool entry_ok = false;
	unsigned int i, j, nr_load = 0;

	img->start = ~0ULL;
	img->end = 0;
	for (i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || !ph[i].p_memsz)
			continue;
		if (check_segment(img, &ph[i], i, mem_size))
			return -1;
		for (j = 0; j < i; j++) {
			if (ph[j].p_type != PT_LOAD || !ph[j].p_memsz)
				continue;
			if (ph[i].p_paddr < ph[j].p_paddr + ph[j].p_memsz &&
			    ph[j].p_paddr < ph[i].p_paddr + ph[i].p_memsz) {
				err("%s: segments %u and %u overlap in memory", img->path, j, i);
				return -1;
			}
		}
		if ((ph[i].p_flags & PF_X) && eh->e_entry >= ph[i].p_paddr &&
		    eh->e_entry < ph[i].p_paddr + ph[i].p_memsz)
			entry_ok = true;
		if (ph[i].p_paddr < img->start)
			img->start = ph[i].p_paddr;
		if (ph[i].p_paddr + ph[i].p_memsz > img->end)
			img->end = ph[i].p_paddr + ph[i].p_memsz;
		nr_load++;
	}
	if (!nr_load) {
		err("%s: no loadable (PT_LOAD) segment", img->path);
		return -1;
	}
	if (!entry_ok) {
		err("%s: entry point 0x%llx is not in an executable segment (wrong ENTRY() in the linker script?)",
		    img->path, (unsigned long long)eh->e_entry);
		return -1;
	}
	img->entry = eh->e_entry;
	return 0;
}

/**
 * elf_read() - map and check a guest image
 * @img:	filled in; elf_close() releases it (also after a failure)
 * @path:	the file
 * @mem_size:	guest RAM, which every segment must fit in
 *
 * Return: 0, or -1 after saying what is wrong with the file.
 */
int elf_read(struct elf_image *img, const char *path, __u64 mem_size)
{
	struct stat st;
	void *p;
	int fd;

	memset(img, 0, sizeof(*img));
	img->path = path;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st)) {
		err("%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		err("%s: not a regular file; give the guest's ELF file", path);
		close(fd);
		return -1;
	}
	if (!st.st_size) {
		err("%s: empty file; give the guest's ELF file", path);
		close(fd);
		return -1;
	}
	p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		err("%s: cannot map: %s", path, strerror(errno));
		return -1;
	}
	img->file = p;
	img->file_size = st.st_size;

	if (check_header(img, p) || check_segments(img, p, mem_size))
		return -1;
	return 0;
}

void elf_load(const struct elf_image *img, __u8 *ram)
{
	const Elf64_Ehdr *eh = img->file;
	const Elf64_Phdr *ph = (const void *)((const char *)img->file + eh->e_phoff);
	unsigned int i;

	for (i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || !ph[i].p_memsz)
			continue;
		/*
		 * The rest up to p_memsz is already zero: RAM is a fresh
		 * anonymous mapping, and not touching a large .bss keeps it
		 * unallocated until the guest uses it.
		 */
		memcpy(ram + ph[i].p_paddr, (const char *)img->file + ph[i].p_offset,
		       ph[i].p_filesz);
	}
}

void elf_close(struct elf_image *img)
{
	if (img->file)
		munmap((void *)img->file, img->file_size);
	img->file = NULL;
}
