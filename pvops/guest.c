// SPDX-License-Identifier: GPL-2.0
/*
 * guest.c - checks of guest-supplied addresses and values for the PV ops
 *
 * Every address a PV call names is the guest's word only: this decides,
 * once, whether it is RAM the guest may have umbra write.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <linux/srcu.h>
#include "pvops.h"

/**
 * umbra_pv_ram_slot - the memslot holding @npages pages from @gfn
 * @vm: the VM
 * @gfn: first frame
 * @npages: how many
 *
 * Context: inside umbra_vm.srcu.
 * Return: the slot if all of them are writable RAM in it, else NULL.
 */
const struct umbra_memslot *umbra_pv_ram_slot(struct umbra_vm *vm, u64 gfn,
					      u64 npages)
{
	const struct umbra_memslots *set;
	unsigned int i;

	set = srcu_dereference(vm->memslots, &vm->srcu);
	for (i = 0; i < set->nr; i++) {
		const struct umbra_memslot *s = &set->slots[i];

		if (gfn < s->base_gfn || gfn - s->base_gfn >= s->npages)
			continue;
		if (npages > s->npages - (gfn - s->base_gfn) ||
		    (s->flags & (KVM_MEM_READONLY | UMBRA_MEMSLOT_INVALID)))
			return NULL;
		return s;
	}
	return NULL;
}

