/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guest.h - what the umbra-run test guests share: port I/O, serial output
 * through UMBRA_PORT_SERIAL, control registers, and guest_main()'s shape.
 * Freestanding: no libc; each guest is start.S + one .c file.
 */
#ifndef UMBRA_VMM_TEST_GUEST_H
#define UMBRA_VMM_TEST_GUEST_H

#include <umbra/boot.h>

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;

/* start.S calls it; its return value goes to the exit port. */
u32 guest_main(struct umbra_boot_info *bi, u64 entry_rflags, u64 entry_rsp);

extern char _end[];	/* guest.lds: end of the image */

static inline void outb(u16 port, u8 v) { asm volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { asm volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { asm volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u16 inw(u16 port) { u16 v; asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

/* String I/O: one exit carrying @n items. */
static inline void outsb(u16 port, const void *p, u64 n)
{
	asm volatile("rep outsb" : "+S"(p), "+c"(n) : "d"(port) : "memory");
}
static inline void outsw(u16 port, const void *p, u64 n)
{
	asm volatile("rep outsw" : "+S"(p), "+c"(n) : "d"(port) : "memory");
}
static inline void outsl(u16 port, const void *p, u64 n)
{
	asm volatile("rep outsl" : "+S"(p), "+c"(n) : "d"(port) : "memory");
}
static inline void insb(u16 port, void *p, u64 n)
{
	asm volatile("rep insb" : "+D"(p), "+c"(n) : "d"(port) : "memory");
}

#define READ_CR(n) ({ u64 __v; asm volatile("mov %%cr" #n ", %0" : "=r"(__v)); __v; })
static inline void write_cr3(u64 v) { asm volatile("mov %0, %%cr3" :: "r"(v) : "memory"); }
static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | (u64)hi << 32;
}
#define READ_SEG(s) ({ u16 __v; asm volatile("mov %%" #s ", %0" : "=r"(__v)); __v; })

static inline void halt_forever(void)
{
	for (;;)
		asm volatile("cli; hlt");
}

static inline void print_char(char c) { outb(UMBRA_PORT_SERIAL, c); }

static inline void print(const char *s)
{
	while (*s)
		print_char(*s++);
}

static inline void print_dec(u64 v)
{
	char buf[24];
	int i = 0;

	do
		buf[i++] = '0' + v % 10;
	while (v /= 10);
	while (i)
		print_char(buf[--i]);
}

static inline void print_hex(u64 v)
{
	int i;

	print("0x");
	for (i = 60; i > 0 && !(v >> i); i -= 4)
		;
	for (; i >= 0; i -= 4)
		print_char("0123456789abcdef"[(v >> i) & 15]);
}

static inline u64 str_len(const char *s)
{
	u64 n = 0;

	while (s[n])
		n++;
	return n;
}

#endif
