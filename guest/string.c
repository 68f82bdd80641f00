// SPDX-License-Identifier: GPL-2.0
/*
 * string.c - the memory and string primitives a freestanding C program
 * needs (GCC may emit calls to memset/memcpy/memcmp itself) and a number
 * parser for the command line.  memset/memcpy use REP STOS/MOVS so that
 * they stay general-register only.
 */
#include "guest.h"

/*
 * Whole quadwords where the sizes allow, as for the pages that are most
 * of what these move: the same on hardware, but an emulator that runs a
 * REP one iteration at a time (QEMU's TCG, which runs the benchmarks)
 * then takes an eighth of the steps.
 */
void *memset(void *s, int c, size_t n)
{
	void *d = s;

	if (!(n % 8) && !((unsigned long)s % 8)) {
		u64 q = 0x0101010101010101ULL * (u8)c;

		n /= 8;
		asm volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(q) : "memory");
	} else {
		asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	}
	return s;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;

	if (!(n % 8) && !(((unsigned long)dst | (unsigned long)src) % 8)) {
		n /= 8;
		asm volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
	} else {
		asm volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
	}
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	for (; *a && *a == *b; a++, b++)
		;
	return (u8)*a - (u8)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n && *a && *a == *b; n--, a++, b++)
		;
	return n ? (u8)*a - (u8)*b : 0;
}

/* Decimal, or hex with a 0x prefix; the whole string must be a number. */
bool parse_u64(const char *s, u64 *out)
{
	unsigned int base = 10;
	u64 v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}
