/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvops/ private header, laid out by the file that defines each part.
 */
#ifndef _UMBRA_PVOPS_PRIV_H
#define _UMBRA_PVOPS_PRIV_H

#include <umbra/vm.h>

/* guest.c: what the guest's registers and memory allow */
const struct umbra_memslot *umbra_pv_ram_slot(struct umbra_vm *vm, u64 gfn,
					      u64 npages);
u64 umbra_pv_cr3_reserved(const struct umbra_vcpu *vcpu);

#endif /* _UMBRA_PVOPS_PRIV_H */
