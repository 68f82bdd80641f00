/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tests.h - the correctness suite's shared header, laid out by defining
 * file: the virtual layout every case uses, the runner's checks, the
 * access helpers (ring 0 and ring 3) and the reference model.
 */
#ifndef _GUEST_TESTS_H
#define _GUEST_TESTS_H

#include "../guest.h"

/*
 * Virtual layout of a test address space (the per-address-space half).
 * PML4 slot 1 holds the ring 3 stubs and stack in its first 2 MiB and each
 * case's window 1 GiB up (own PDPTE, PD and PTs); slots 2 and 3 are for
 * cases that need whole PML4 entries of their own.
 */
#define USER_CODE_VA		0x0000008000000000ULL
#define USER_STACK_VA		0x0000008000010000ULL
#define USER_STACK_PAGES	2
#define USER_STACK_TOP		(USER_STACK_VA + USER_STACK_PAGES * PAGE_SIZE)
#define TEST_VA			0x0000008040000000ULL
#define TEST_VA2		0x0000010000000000ULL
#define TEST_VA3		0x0000018000000000ULL

/* Every test frame holds RET here, so any page can be an exec target. */
#define RET_INSN		0xc3
/* Data accesses use this offset (and others in the frame, never 0). */
#define DATA_OFF		8

/* suite.c: the runner */
extern u64 test_seed;
extern bool quirk_rsvd_no_p;
extern u64 quirk_rsvd_no_p_hits;
bool __test_check(bool ok, const char *file, int line, const char *fmt, ...)
	__printf(4, 5);
/* Records a failure of the running case (first detail kept); returns ok. */
#define CHECK(cond, fmt, ...) \
	__test_check(!!(cond), __FILE__, __LINE__, fmt, ##__VA_ARGS__)
bool test_failed(void);

/* A small seeded PRNG (xorshift64*). */
static inline u64 prng_next(u64 *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static inline u64 prng_below(u64 *s, u64 n)
{
	return prng_next(s) % n;
}

/* access.c: one access, in ring 0 or ring 3, and what came of it */
enum acc_kind { ACC_READ, ACC_WRITE, ACC_EXEC };

struct outcome {
	bool fault;	/* a #PF was taken */
	u32 err;	/* its error code */
	u64 cr2;	/* its CR2 */
	u64 value;	/* the value read (ACC_READ without a fault) */
};

void do_access(u64 va, enum acc_kind kind, int cpl, u64 wval,
	       struct outcome *got);
bool outcome_equal(const struct outcome *want, const struct outcome *got,
		   enum acc_kind kind);
bool check_access(u64 va, enum acc_kind kind, int cpl, u64 wval,
		  const struct outcome *want, const char *what);
void want_ok(struct outcome *want, u64 value);
void want_pf(struct outcome *want, u64 va, u32 err);
const char *acc_name(enum acc_kind kind);
void set_cr0_wp(bool on);
void set_efer_nx(bool on);
int cpu_maxphyaddr(void);
u64 test_frame(void);
struct as *test_as_create(void);
void test_as_destroy(struct as *as);

/*
 * model.c: the reference model of x86 4-level paging (no SMEP, SMAP, PKE;
 * CR4 as umbra-run sets it).  A translation is described by the flags of
 * each entry on the walk, root first; the model says whether an access
 * faults and with which error code, from the architecture's rules and
 * nothing else: it never looks at a real page table.
 */
#define MF_P	(1U << 0)
#define MF_W	(1U << 1)
#define MF_U	(1U << 2)
#define MF_NX	(1U << 3)
#define MF_RSVD	(1U << 4)	/* an always-reserved bit is set */
#define MF_TABLE (MF_P | MF_W | MF_U)	/* a non-leaf entry made by as.c */

struct model_walk {
	int n;		/* entries on the walk (4, or 3 for a 2 MiB page) */
	u8 flags[4];	/* root first */
};

void model_expect(const struct model_walk *w, enum acc_kind kind, int cpl,
		  bool wp, bool nxe, u64 va, struct outcome *want);
u64 model_pte_bits(u8 mf);
void model_walk_4k(struct model_walk *w, u8 pde, u8 pte);

/* The cases, in tests/<name>.c */
void test_demand(void);
void test_perm(void);
void test_rsvd(void);
void test_rw_ro(void);
void test_unmap(void);
void test_cr3(void);
void test_huge(void);
void test_pt_alias(void);
void test_cow(void);
void test_ad(void);
void test_stress(void);
void test_smp(void);
void test_smp_race(void);
void test_smp_native(void);
bool smp_applies(void);
bool smp_native_applies(void);
bool unpaged_booted(void);
void test_unpaged(void);

#endif /* _GUEST_TESTS_H */
