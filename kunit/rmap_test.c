// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite umbra_rmap: the reverse-map list of mmu/rmap.c
 * (umbra_rmap_add(), umbra_rmap_remove(), umbra_rmap_first(),
 * umbra_rmap_next()) on a plain unsigned long head.
 *
 * What is checked: an empty list, one entry (stored in the head, no
 * allocation), growth past one descriptor, that iteration sees every entry
 * exactly once after every change, removal in several orders down to an
 * empty head, and that descriptors come from the vCPU's descriptor cache
 * (umbra_mmu_topup()) -- one per RMAP_DESC_N entries, counted by what the
 * cache lost -- aligned as the iterator needs.
 *
 * Not checked: removing an entry that is not on the list.  That WARNs by
 * design (a caller bug), and a WARN fails the test host's run.
 *
 * The lists hold pointers into an array of fake sptes; nothing walks them.
 * rmap.c takes mmu_lock from its callers; these lists are private to the
 * test, so no lock is needed.
 */
#include <kunit/test.h>
#include <linux/slab.h>
#include "../mmu/mmu.h"

#define RMAP_DESC_N	14	/* entries per descriptor, as in mmu/rmap.c */
#define NR_SPTES	40	/* three descriptors' worth */

struct rmap_env {
	struct umbra_vcpu *vcpu;
	u64 *sptes;		/* NR_SPTES fake sptes: their addresses go on the list */
	unsigned long head;
	bool on[NR_SPTES];	/* what the list should hold */
};

/* Empty the list (so no descriptor leaks if a case stopped early). */
static void rmap_env_drain(void *data)
{
	struct rmap_env *env = data;
	unsigned long iter;
	u64 *sptep;

	while ((sptep = umbra_rmap_first(&env->head, &iter)))
		umbra_rmap_remove(&env->head, sptep);
}

static void rmap_vcpu_destroy(void *data)
{
	umbra_mmu_vcpu_destroy(data);
}

/*
 * A vCPU of a VM whose MMU is a bare struct (no notifier, no shadow
 * pages, no spares for the topup to take), its caches full.
 */
static struct rmap_env *rmap_env_init(struct kunit *test)
{
	struct rmap_env *env;
	struct umbra_vcpu *vcpu;

	env = kunit_kzalloc(test, sizeof(*env), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, env);
	env->sptes = kunit_kcalloc(test, NR_SPTES, sizeof(u64), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, env->sptes);

	vcpu = kunit_kzalloc(test, sizeof(*vcpu), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vcpu);
	vcpu->vm = kunit_kzalloc(test, sizeof(*vcpu->vm), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vcpu->vm);
	vcpu->vm->mmu = kunit_kzalloc(test, sizeof(*vcpu->vm->mmu), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vcpu->vm->mmu);
	spin_lock_init(&vcpu->vm->mmu->lock);
	spin_lock_init(&vcpu->vm->mmu->spare_lock);
	INIT_LIST_HEAD(&vcpu->vm->mmu->spare);
	KUNIT_ASSERT_EQ(test, 0, umbra_mmu_vcpu_init(vcpu));
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, rmap_vcpu_destroy,
							   vcpu));
	KUNIT_ASSERT_EQ(test, 0, umbra_mmu_topup(vcpu));
	KUNIT_ASSERT_EQ(test, vcpu->mmu->nr_desc_cache, (unsigned int)MMU_CACHE_DESCS);
	env->vcpu = vcpu;

	/* Runs before the vCPU's destruction: actions run in reverse. */
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, rmap_env_drain, env));
	return env;
}

/* Descriptors a list of @n entries needs: none for 0 or 1. */
static unsigned int descs_for(unsigned int n)
{
	return n <= 1 ? 0 : DIV_ROUND_UP(n, RMAP_DESC_N);
}

static unsigned int cache_used(struct rmap_env *env)
{
	return MMU_CACHE_DESCS - env->vcpu->mmu->nr_desc_cache;
}

static void add_sptep(struct kunit *test, struct rmap_env *env, unsigned int i)
{
	KUNIT_ASSERT_EQ(test, 0, umbra_rmap_add(env->vcpu, &env->head,
						&env->sptes[i]));
	env->on[i] = true;
}

static void remove_sptep(struct rmap_env *env, unsigned int i)
{
	umbra_rmap_remove(&env->head, &env->sptes[i]);
	env->on[i] = false;
}

/* Iterate the list: every entry of env->on exactly once, nothing else. */
static void expect_contents(struct kunit *test, struct rmap_env *env)
{
	unsigned int seen[NR_SPTES] = {}, i, n = 0, want = 0;
	unsigned long iter;
	u64 *sptep;

	for (sptep = umbra_rmap_first(&env->head, &iter); sptep;
	     sptep = umbra_rmap_next(&env->head, &iter)) {
		KUNIT_ASSERT_TRUE_MSG(test, sptep >= env->sptes &&
				      sptep < env->sptes + NR_SPTES,
				      "foreign entry %p", sptep);
		seen[sptep - env->sptes]++;
		KUNIT_ASSERT_LE_MSG(test, ++n, (unsigned int)NR_SPTES,
				    "iteration does not end");
	}
	for (i = 0; i < NR_SPTES; i++) {
		want += env->on[i];
		KUNIT_EXPECT_EQ_MSG(test, seen[i], env->on[i] ? 1U : 0U,
				    "entry %u seen %u times", i, seen[i]);
	}
	KUNIT_EXPECT_EQ(test, n, want);
	if (!want)
		KUNIT_EXPECT_EQ(test, env->head, 0UL);
}

static void add_all(struct kunit *test, struct rmap_env *env)
{
	unsigned int i;

	for (i = 0; i < NR_SPTES; i++)
		add_sptep(test, env, i);
	expect_contents(test, env);
}

static void umbra_rmap_first_empty(struct kunit *test)
{
	struct rmap_env *env = rmap_env_init(test);
	unsigned long iter = 0;

	KUNIT_EXPECT_NULL(test, umbra_rmap_first(&env->head, &iter));
	expect_contents(test, env);
}

/* One entry lives in the head itself: no descriptor, no allocation. */
static void umbra_rmap_add_one_no_alloc(struct kunit *test)
{
	struct rmap_env *env = rmap_env_init(test);
	unsigned long iter;

	add_sptep(test, env, 7);
	KUNIT_EXPECT_EQ(test, env->head, (unsigned long)&env->sptes[7]);
	KUNIT_EXPECT_EQ(test, cache_used(env), 0U);
	KUNIT_EXPECT_PTR_EQ(test, umbra_rmap_first(&env->head, &iter),
			    &env->sptes[7]);
	KUNIT_EXPECT_NULL(test, umbra_rmap_next(&env->head, &iter));

	remove_sptep(env, 7);
	KUNIT_EXPECT_EQ(test, env->head, 0UL);
	expect_contents(test, env);
}

/* Each new descriptor is one from the vCPU's cache, and only then. */
static void umbra_rmap_add_grows_from_cache(struct kunit *test)
{
	struct rmap_env *env = rmap_env_init(test);
	unsigned int i;

	for (i = 0; i < NR_SPTES; i++) {
		add_sptep(test, env, i);
		KUNIT_EXPECT_EQ_MSG(test, cache_used(env), descs_for(i + 1),
				    "after %u entries", i + 1);
		KUNIT_EXPECT_EQ(test, !!(env->head & 1), i >= 1);
		if (env->head & 1)	/* the iterator's index bits are free */
			KUNIT_EXPECT_EQ(test, env->head & (RMAP_DESC_BYTES - 2), 0UL);
		expect_contents(test, env);
	}
	KUNIT_EXPECT_EQ(test, cache_used(env), 3U);
}

/* An empty cache (topup skipped) is -ENOMEM only when a descriptor is due. */
static void umbra_rmap_add_needs_cache_only_for_descriptors(struct kunit *test)
{
	struct rmap_env *env = rmap_env_init(test);
	struct umbra_mmu_vcpu *m = env->vcpu->mmu;
	unsigned int i;

	/* Use every descriptor but one: the first one the list needs. */
	while (m->nr_desc_cache > 1)
		kfree(m->desc_cache[--m->nr_desc_cache]);
	for (i = 0; i < RMAP_DESC_N; i++)
		add_sptep(test, env, i);
	KUNIT_EXPECT_EQ(test, m->nr_desc_cache, 0U);
	expect_contents(test, env);

	/* Room for all of them again, and the list grows on. */
	KUNIT_ASSERT_EQ(test, 0, umbra_mmu_topup(env->vcpu));
	add_sptep(test, env, RMAP_DESC_N);
	KUNIT_EXPECT_EQ(test, m->nr_desc_cache, MMU_CACHE_DESCS - 1U);
	expect_contents(test, env);
}

/* Removing what umbra_rmap_first() returns, as callers that zap do. */
static void umbra_rmap_remove_first_until_empty(struct kunit *test)
{
	struct rmap_env *env = rmap_env_init(test);
	unsigned long iter;
	unsigned int n;
	u64 *sptep;

	add_all(test, env);
	for (n = NR_SPTES; n; n--) {
		sptep = umbra_rmap_first(&env->head, &iter);
		KUNIT_ASSERT_NOT_NULL(test, sptep);
		remove_sptep(env, sptep - env->sptes);
		expect_contents(test, env);
	}
	KUNIT_EXPECT_EQ(test, env->head, 0UL);
	KUNIT_EXPECT_NULL(test, umbra_rmap_first(&env->head, &iter));
}

/* Newest first, then oldest first. */
static void umbra_rmap_remove_last_until_empty(struct kunit *test)
{
	struct rmap_env *env = rmap_env_init(test);
	int i;

	add_all(test, env);
	for (i = NR_SPTES - 1; i >= 0; i--) {
		remove_sptep(env, i);
		expect_contents(test, env);
	}
	KUNIT_EXPECT_EQ(test, env->head, 0UL);

	add_all(test, env);
	for (i = 0; i < NR_SPTES; i++) {
		remove_sptep(env, i);
		expect_contents(test, env);
	}
	KUNIT_EXPECT_EQ(test, env->head, 0UL);
}

/* From the middle outwards, then a scattered order. */
static void umbra_rmap_remove_middle_until_empty(struct kunit *test)
{
	struct rmap_env *env = rmap_env_init(test);
	unsigned int i;

	add_all(test, env);
	for (i = 0; i < NR_SPTES; i++) {
		/* 20, 19, 21, 18, 22, ... */
		int j = NR_SPTES / 2 + (i & 1 ? -(int)(i + 1) / 2 : (int)i / 2);

		remove_sptep(env, j);
		expect_contents(test, env);
	}
	KUNIT_EXPECT_EQ(test, env->head, 0UL);

	add_all(test, env);
	for (i = 0; i < NR_SPTES; i++) {
		remove_sptep(env, (i * 17 + 5) % NR_SPTES);	/* 17 is prime to 40 */
		expect_contents(test, env);
	}
	KUNIT_EXPECT_EQ(test, env->head, 0UL);
}

/*
 * Removal fills holes from the first (newest) descriptor, so that is where
 * room appears: adding reuses it.  Once the first descriptor empties it is
 * freed and the next, full one leads, so the next add takes a new one.
 */
static void umbra_rmap_add_after_remove_reuses_room(struct kunit *test)
{
	struct rmap_env *env = rmap_env_init(test);
	unsigned int used, i, left;

	for (i = 0; i < 20; i++)	/* a full descriptor and one of 6 */
		add_sptep(test, env, i);
	KUNIT_EXPECT_EQ(test, cache_used(env), 2U);

	remove_sptep(env, 3);
	remove_sptep(env, 9);
	add_sptep(test, env, 3);
	add_sptep(test, env, 9);
	KUNIT_EXPECT_EQ(test, cache_used(env), 2U);
	expect_contents(test, env);

	/* Six removals empty the first descriptor; the next add allocates. */
	for (i = 0; i < 6; i++)
		remove_sptep(env, i);
	expect_contents(test, env);
	KUNIT_EXPECT_EQ(test, cache_used(env), 2U);
	add_sptep(test, env, 0);
	KUNIT_EXPECT_EQ(test, cache_used(env), 3U);
	expect_contents(test, env);

	/* Down to one entry: the head stays a descriptor with room. */
	for (i = 0, left = 0; i < NR_SPTES; i++) {
		if (env->on[i] && left++)
			remove_sptep(env, i);
	}
	expect_contents(test, env);
	KUNIT_EXPECT_TRUE(test, env->head & 1);
	used = cache_used(env);
	add_sptep(test, env, NR_SPTES - 1);
	KUNIT_EXPECT_EQ(test, cache_used(env), used);
	expect_contents(test, env);
}

static struct kunit_case umbra_rmap_cases[] = {
	KUNIT_CASE(umbra_rmap_first_empty),
	KUNIT_CASE(umbra_rmap_add_one_no_alloc),
	KUNIT_CASE(umbra_rmap_add_grows_from_cache),
	KUNIT_CASE(umbra_rmap_add_needs_cache_only_for_descriptors),
	KUNIT_CASE(umbra_rmap_remove_first_until_empty),
	KUNIT_CASE(umbra_rmap_remove_last_until_empty),
	KUNIT_CASE(umbra_rmap_remove_middle_until_empty),
	KUNIT_CASE(umbra_rmap_add_after_remove_reuses_room),
	{}
};

static struct kunit_suite umbra_rmap_suite = {
	.name = "umbra_rmap",
	.test_cases = umbra_rmap_cases,
};
kunit_test_suite(umbra_rmap_suite);
