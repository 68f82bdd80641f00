/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvops/ private header, laid out by the file that defines each part.
 */
#ifndef _UMBRA_PVOPS_PRIV_H
#define _UMBRA_PVOPS_PRIV_H

#include <umbra/vm.h>

/* guest.c: what guest memory allows */
const struct umbra_memslot *umbra_pv_ram_slot(struct umbra_vm *vm, u64 gfn,
					      u64 npages);

#endif /* _UMBRA_PVOPS_PRIV_H */
