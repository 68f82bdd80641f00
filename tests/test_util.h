/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_util.h - what umbra's userspace tests share: check recording, fatal
 * assertions and errno names, in the shape of the KVM selftests.
 *
 * Parts:
 *  - errno_name(): "EINVAL" rather than 22, for messages;
 *  - TEST_ASSERT(): a precondition the remaining checks cannot do without
 *    (an mmap, a VM to test in); failing it records one failed check, prints
 *    the summary and exits 1;
 *  - check_*(): record one named check, print "ok - NAME" or
 *    "not ok - NAME: expected X, got Y";
 *  - test_summary(): the closing "PROG: N passed, M failed[, K skipped]".
 *
 * A raw helper returns what the kernel answered, -errno on failure, so that
 * negative tests can compare it (__test_ioctl()); its asserting twin fails
 * the program on any error (test_ioctl()).  Header only: every test is a
 * single file built statically.
 */
#ifndef UMBRA_TEST_UTIL_H
#define UMBRA_TEST_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

struct test_state {
	const char *prog;	/* prefix of the summary line */
	bool verbose;		/* -v: print the "# " detail lines */
	unsigned int passed;
	unsigned int failed;
	unsigned int skipped;
};

static struct test_state test;

static inline const char *errno_name(int e)
{
	static char buf[16];

	switch (e) {
	case 0:		return "0";
	case EPERM:	return "EPERM";
	case ENOENT:	return "ENOENT";
	case ESRCH:	return "ESRCH";
	case EINTR:	return "EINTR";
	case EIO:	return "EIO";
	case ENXIO:	return "ENXIO";
	case E2BIG:	return "E2BIG";
	case EBADF:	return "EBADF";
	case EAGAIN:	return "EAGAIN";
	case ENOMEM:	return "ENOMEM";
	case EACCES:	return "EACCES";
	case EFAULT:	return "EFAULT";
	case EBUSY:	return "EBUSY";
	case EEXIST:	return "EEXIST";
	case ENODEV:	return "ENODEV";
	case EINVAL:	return "EINVAL";
	case ENFILE:	return "ENFILE";
	case EMFILE:	return "EMFILE";
	case ENOTTY:	return "ENOTTY";
	case EFBIG:	return "EFBIG";
	case ENOSPC:	return "ENOSPC";
	case ERANGE:	return "ERANGE";
	case ENOSYS:	return "ENOSYS";
	case EOVERFLOW:	return "EOVERFLOW";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ETIMEDOUT:	return "ETIMEDOUT";
	default:
		snprintf(buf, sizeof(buf), "E%d", e);
		return buf;
	}
}

/*
 * describe_ret - a raw helper's answer for a message: "EINVAL" for -EINVAL,
 * "success (N)" otherwise.  Two static buffers, so that one printf can show
 * both the expected and the returned answer.
 */
static inline const char *describe_ret(long r)
{
	static char buf[2][32];
	static int i;

	if (r < 0)
		return errno_name((int)-r);
	i ^= 1;
	snprintf(buf[i], sizeof(buf[i]), "success (%ld)", r);
	return buf[i];
}

static inline void test_vinfo(const char *fmt, va_list ap)
{
	fputs("# ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
}

/* test_info - a "# " detail line, shown with -v only. */
static inline void __attribute__((format(printf, 1, 2)))
test_info(const char *fmt, ...)
{
	va_list ap;

	if (!test.verbose)
		return;
	va_start(ap, fmt);
	test_vinfo(fmt, ap);
	va_end(ap);
}

static inline void test_summary(void)
{
	printf("%s: %u passed, %u failed", test.prog, test.passed, test.failed);
	if (test.skipped)
		printf(", %u skipped", test.skipped);
	printf("\n");
	fflush(stdout);
}

/*
 * check - record one check named @name: passed when @pass, otherwise the
 * formatted reason follows the name.  Return: @pass.
 */
static inline bool __attribute__((format(printf, 3, 4)))
check(const char *name, bool pass, const char *fmt, ...)
{
	va_list ap;

	if (pass) {
		test.passed++;
		printf("ok - %s\n", name);
	} else {
		test.failed++;
		printf("not ok - %s: ", name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	fflush(stdout);
	return pass;
}

/* check_skip - record @name as skipped (TAP's "# SKIP"), with the reason. */
static inline void check_skip(const char *name, const char *why)
{
	test.skipped++;
	printf("ok - %s # SKIP %s\n", name, why);
	fflush(stdout);
}

/* check_ret - @got (a raw helper's answer) must equal @want (-errno or value). */
static inline bool check_ret(const char *name, long got, long want)
{
	const char *w = describe_ret(want);

	return check(name, got == want, "expected %s, got %s", w, describe_ret(got));
}

/* check_errno - @got must be the error -@err. */
static inline bool check_errno(const char *name, long got, int err)
{
	return check_ret(name, got, -(long)err);
}

/* check_success - @got must not be an error. */
static inline bool check_success(const char *name, long got)
{
	return check(name, got >= 0, "expected success, got %s", describe_ret(got));
}

/* check_u64 - a value read back must equal the expected one (shown in hex). */
static inline bool check_u64(const char *name, uint64_t got, uint64_t want)
{
	return check(name, got == want, "expected 0x%llx, got 0x%llx",
		     (unsigned long long)want, (unsigned long long)got);
}

/*
 * TEST_ASSERT - a precondition of the checks that follow.  On failure it is
 * recorded as a failed check named after the location, the summary is
 * printed and the program exits 1.
 */
#define TEST_ASSERT(cond, fmt, ...)						\
do {										\
	if (!(cond)) {								\
		test.failed++;							\
		printf("not ok - assert %s:%d: %s: " fmt "\n", __FILE__,	\
		       __LINE__, #cond, ##__VA_ARGS__);				\
		test_summary();							\
		exit(1);							\
	}									\
} while (0)

/* __test_ioctl - ioctl(2), answering -errno on failure instead of -1. */
static inline long __test_ioctl(int fd, unsigned long cmd, unsigned long arg)
{
	long r = ioctl(fd, cmd, arg);

	return r < 0 ? -(long)errno : r;
}

/* __ioctl - the raw helper: the answer, or -errno. */
#define __ioctl(fd, cmd, arg) __test_ioctl(fd, cmd, (unsigned long)(arg))

/* test_ioctl - the asserting helper: the (non-negative) answer. */
#define test_ioctl(fd, cmd, arg)						\
({										\
	long __r = __ioctl(fd, cmd, arg);					\
	TEST_ASSERT(__r >= 0, "%s failed: %s", #cmd, errno_name((int)-__r));	\
	__r;									\
})

#endif /* UMBRA_TEST_UTIL_H */
