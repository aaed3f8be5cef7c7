/* gcmask: the GC pointer mask of a type whose mask the runtime builds only
 * on demand (abi.TFlagGCMaskOnDemand, Go 1.24+: types with more than
 * abi.MaxPtrmaskBytes*8 pointer words).  Such a type's GCData points at a
 * slot that runtime.getGCMaskOnDemand fills the first time a GC scans an
 * object of the type; a process that dies before that leaves it 0.  The
 * mask is then built here from the type descriptors, as buildGCMask
 * (runtime/type.go) does: arrays element by element, structs field by
 * field, other types by copying their own GCData. */
#ifndef GOMORTEM_GCMASK_H
#define GOMORTEM_GCMASK_H

#include <stdint.h>

#include "../util/error.h"
#include "binding.h"

/* The mask of the type at TYPE_ADDR (PtrBytes/PtrSize bits, LSB first),
 * malloc'd into *RET; *RET is NULL when a descriptor on the way is
 * unreadable or inconsistent (the mask is then unknown, never guessed). */
struct gm_error *gm_gcmask_build(const struct gm_runtime *rt, uint64_t type_addr, uint8_t **ret);

#endif
