// SPDX-License-Identifier: GPL-2.0
/*
 * console.c - output on the 8250 at UMBRA_PORT_SERIAL: byte output with
 * the transmitter-empty handshake, a small vsnprintf (%d %i %u %x %X %p %s
 * %c %%, flags '0' and '-', a width, length modifiers l, ll, z), kprintf(),
 * and the guest's death: panic() and die_fatal().  Single-threaded: only
 * vCPU 0 prints (vCPU 1 records what it finds for vCPU 0, see smp.c).
 */
#include "guest.h"

#define UART_THR	0
#define UART_LSR	5
#define UART_LSR_THRE	0x20

void console_putc(char c)
{
	unsigned int spins = 0;

	while (!(inb(UMBRA_PORT_SERIAL + UART_LSR) & UART_LSR_THRE) &&
	       ++spins < 1000)
		;
	outb(UMBRA_PORT_SERIAL + UART_THR, c);
}

struct outbuf {
	char *buf;
	size_t size;
	size_t len;	/* characters produced, even past size */
};

static void emit(struct outbuf *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void emit_number(struct outbuf *o, u64 v, unsigned int base, bool neg,
			bool upper, int width, bool zero, bool left)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, pad;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	pad = width - n - (neg ? 1 : 0);
	if (!left && !zero)
		for (; pad > 0; pad--)
			emit(o, ' ');
	if (neg)
		emit(o, '-');
	if (!left && zero)
		for (; pad > 0; pad--)
			emit(o, '0');
	while (n)
		emit(o, tmp[--n]);
	for (; left && pad > 0; pad--)
		emit(o, ' ');
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct outbuf o = { .buf = buf, .size = size };

	for (; *fmt; fmt++) {
		bool zero = false, left = false;
		int width = 0, lng = 0;
		const char *s;
		u64 v;

		if (*fmt != '%') {
			emit(&o, *fmt);
			continue;
		}
		fmt++;
		for (; *fmt == '0' || *fmt == '-'; fmt++) {
			if (*fmt == '0')
				zero = true;
			else
				left = true;
		}
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (*fmt - '0');
		for (; *fmt == 'l' || *fmt == 'z'; fmt++)
			lng++;
		switch (*fmt) {
		case 'd':
		case 'i': {
			s64 sv = lng ? va_arg(ap, s64) : va_arg(ap, int);

			emit_number(&o, sv < 0 ? -(u64)sv : (u64)sv, 10, sv < 0,
				    false, width, zero, left);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
			v = lng ? va_arg(ap, u64) : va_arg(ap, unsigned int);
			emit_number(&o, v, *fmt == 'u' ? 10 : 16, false,
				    *fmt == 'X', width, zero, left);
			break;
		case 'p':
			emit(&o, '0');
			emit(&o, 'x');
			emit_number(&o, (u64)va_arg(ap, void *), 16, false,
				    false, width, zero, left);
			break;
		case 'c':
			emit(&o, (char)va_arg(ap, int));
			break;
		case 's':
			s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			width -= strlen(s);
			for (; !left && width > 0; width--)
				emit(&o, ' ');
			while (*s)
				emit(&o, *s++);
			for (; left && width > 0; width--)
				emit(&o, ' ');
			break;
		case '%':
			emit(&o, '%');
			break;
		default:
			emit(&o, '%');
			if (!*fmt)
				goto out;
			emit(&o, *fmt);
		}
	}
out:
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

static void vkprintf(const char *fmt, va_list ap)
{
	char buf[256];
	const char *p;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	for (p = buf; *p; p++)
		console_putc(*p);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vkprintf(fmt, ap);
	va_end(ap);
}

void (*fatal_hook)(void);

/*
 * The end of a guest that broke: give the fatal hook (the suite's summary)
 * one chance, then exit with status 3.
 */
void die_fatal(void)
{
	void (*hook)(void) = fatal_hook;

	fatal_hook = NULL;
	if (hook)
		hook();
	guest_exit(3);
}

void panic(const char *fmt, ...)
{
	va_list ap;

	kprintf("guest: PANIC: ");
	va_start(ap, fmt);
	vkprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
	die_fatal();
}
