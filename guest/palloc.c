// SPDX-License-Identifier: GPL-2.0
/*
 * palloc.c - guest-physical page frames from boot_info.free_start to
 * mem_size, with a reference count per 4 KiB frame.
 *
 * Parts: a bump pointer over never-used memory; a LIFO stack of free 4 KiB
 * frames, so a frame freed as a page table is the next one handed out, as
 * data or as another table, which is what a shadow MMU must get right; a
 * free list of 2 MiB blocks cut from the bump region; runs of physically
 * contiguous frames cut from the bump region, for areas shared with the
 * hypervisor (the PV mmu_op queue).
 *
 * The free stack lives beside the counts, not in the free frames, as
 * Linux keeps its free lists in struct page: freeing and raw allocation
 * never touch the frame.  Under a shadow MMU a store into a frame just
 * freed as a page table would trap while the frame is still shadowed,
 * and a frame another party filled (umbra's COW copies) would be pulled
 * into the caches only to be freed.
 *
 * Invariants: a frame on the free stack has count 0; an allocated frame
 * has count >= 1; 2 MiB blocks are not counted per frame (they are
 * mapped _PAGE_SPECIAL, their owner frees them).  Single-threaded.
 */
#include "guest.h"

static u64 pool_start, pool_end;	/* frames counted in refs[] */
static u64 bump;			/* first never-used frame */
static u64 huge_free_list;
static u32 *refs;			/* indexed by pfn */
static u32 *free_stack;			/* pfns of free frames */
static u64 nr_free;
static u64 used;

void palloc_init(u64 start, u64 end)
{
	u64 nr = end >> PAGE_SHIFT;

	if (!IS_ALIGNED(start, PAGE_SIZE) || start >= end)
		panic("bad free memory range %llx-%llx", start, end);
	if (nr >> 32)
		panic("%llx frames are too many to count", nr);
	refs = phys_to_virt(start);
	memset(refs, 0, nr * sizeof(*refs));
	free_stack = refs + nr;
	nr_free = 0;
	pool_start = ALIGN_UP(start + 2 * nr * sizeof(*refs), PAGE_SIZE);
	pool_end = ALIGN_DOWN(end, PAGE_SIZE);
	bump = pool_start;
	if (bump >= pool_end)
		panic("no memory left after the frame counts");
}

static void check_frame(u64 pa, const char *what)
{
	if (!IS_ALIGNED(pa, PAGE_SIZE) || pa < pool_start || pa >= pool_end)
		panic("%s: %llx is not an allocatable frame", what, pa);
}

/*
 * A frame with count 1 and whatever its last user left in it: for a frame
 * that is overwritten whole before anyone reads it (a copy-on-write copy,
 * made here or by umbra), where zeroing would be wasted.  0 when out of
 * memory.
 */
u64 palloc_alloc_raw(void)
{
	u64 pa;

	if (nr_free) {
		pa = (u64)free_stack[--nr_free] << PAGE_SHIFT;
	} else if (bump < pool_end) {
		pa = bump;
		bump += PAGE_SIZE;
	} else {
		return 0;
	}
	refs[pa >> PAGE_SHIFT] = 1;
	used++;
	return pa;
}

u64 palloc_alloc(void)
{
	u64 pa = palloc_alloc_raw();

	if (pa)
		memset(phys_to_virt(pa), 0, PAGE_SIZE);
	return pa;
}

static void push_free(u64 pa)
{
	free_stack[nr_free++] = pa >> PAGE_SHIFT;
}

void palloc_free(u64 pa)
{
	check_frame(pa, __func__);
	if (refs[pa >> PAGE_SHIFT] != 1)
		panic("%s: frame %llx has count %u", __func__, pa,
		      refs[pa >> PAGE_SHIFT]);
	refs[pa >> PAGE_SHIFT] = 0;
	push_free(pa);
	used--;
}

/*
 * @n physically contiguous frames, zeroed, each with count 1; or 0.  Cut
 * from the bump region only, so the free list is never searched: meant
 * for a few areas set up at boot.
 */
u64 palloc_alloc_contig(unsigned int n)
{
	u64 pa = bump, i;

	if (!n || n > (pool_end - bump) >> PAGE_SHIFT)
		return 0;
	bump += (u64)n << PAGE_SHIFT;
	memset(phys_to_virt(pa), 0, (u64)n << PAGE_SHIFT);
	for (i = 0; i < n; i++)
		refs[(pa >> PAGE_SHIFT) + i] = 1;
	used += n;
	return pa;
}

u64 palloc_alloc_huge(void)
{
	u64 pa, skip;

	if (huge_free_list) {
		pa = huge_free_list;
		huge_free_list = *(u64 *)phys_to_virt(pa);
	} else {
		pa = ALIGN_UP(bump, PMD_SIZE);
		if (pa + PMD_SIZE > pool_end)
			return 0;
		for (skip = bump; skip < pa; skip += PAGE_SIZE)
			push_free(skip);
		bump = pa + PMD_SIZE;
	}
	memset(phys_to_virt(pa), 0, PMD_SIZE);
	used += PMD_SIZE / PAGE_SIZE;
	return pa;
}

void palloc_free_huge(u64 pa)
{
	if (!IS_ALIGNED(pa, PMD_SIZE) || pa < pool_start || pa >= pool_end)
		panic("%s: bad block %llx", __func__, pa);
	*(u64 *)phys_to_virt(pa) = huge_free_list;
	huge_free_list = pa;
	used -= PMD_SIZE / PAGE_SIZE;
}

void page_get(u64 pa)
{
	check_frame(pa, __func__);
	if (!refs[pa >> PAGE_SHIFT])
		panic("%s: frame %llx is free", __func__, pa);
	refs[pa >> PAGE_SHIFT]++;
}

bool page_put(u64 pa)
{
	check_frame(pa, __func__);
	if (!refs[pa >> PAGE_SHIFT])
		panic("%s: frame %llx is already free", __func__, pa);
	if (--refs[pa >> PAGE_SHIFT])
		return false;
	push_free(pa);
	used--;
	return true;
}

u32 page_count(u64 pa)
{
	check_frame(pa, __func__);
	return refs[pa >> PAGE_SHIFT];
}

u64 palloc_used(void)
{
	return used;
}
