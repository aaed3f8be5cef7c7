/* touched: how much of the saved memory the process had written.
 *
 * Address space is not memory.  A kernel core saves every page of a
 * writable mapping, the ones never touched as file holes; gdb's gcore
 * writes even the runtime's no-access reservations as readable segments
 * of zeros.  A page counts as touched when the core holds it and it is not
 * all zeros.  That is a lower bound of what was resident: a page the
 * process wrote only zeros to, or one swapped out and not dumped, does not
 * count; nothing untouched ever does.
 */
#ifndef GOMORTEM_TOUCHED_H
#define GOMORTEM_TOUCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address_space.h"
#include "elf_core.h"

/* Bytes of [start, end) in pages saved in CORE that are not all zeros (a
 * page cut by the range counts for its part in it). */
uint64_t gm_touched_bytes(const struct gm_core *core, const struct gm_address_space *mem, uint64_t start,
			  uint64_t end);

/* A range inside a larger one whose touched bytes are counted with it. */
struct gm_touched_part {
	uint64_t start, end;
	uint64_t touched;     /* set by gm_touched_bytes_parts */
};

/* Whether [start, end) is not empty and starts and ends on the process's
 * page boundaries: such a range can be a part. */
bool gm_touched_page_aligned(const struct gm_core *core, uint64_t start, uint64_t end);

/* gm_touched_bytes of [start, end), and of each of the NPARTS PARTS inside
 * it (sorted, disjoint, page-aligned) the very count gm_touched_bytes of
 * the part gives, while each page is read once: the part's pieces are the
 * range's pieces inside it (the whole heap is one mapping's part, each
 * span one part of it). */
uint64_t gm_touched_bytes_parts(const struct gm_core *core, const struct gm_address_space *mem, uint64_t start,
				uint64_t end, struct gm_touched_part *parts, size_t nparts);

#endif
