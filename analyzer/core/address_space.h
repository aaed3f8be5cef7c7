/* address_space: the memory of the dead process, as one sorted map.
 *
 * The core's saved bytes come first; where the core left file-backed memory
 * out (text, rodata: the kernel does not dump unwritten file mappings), the
 * executable's segments fill in, moved by the PIE load bias.  What neither
 * holds is unsaved: reading it is a GM_ERR_FAULT, counted, never a zero.
 */
#ifndef GOMORTEM_ADDRESS_SPACE_H
#define GOMORTEM_ADDRESS_SPACE_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "../util/error.h"
#include "elf_core.h"
#include "exe.h"

enum gm_region_source {
	GM_REGION_UNSAVED = 0, /* mapped in the process, bytes not available */
	GM_REGION_CORE,        /* bytes saved in the core */
	GM_REGION_EXE,         /* bytes taken from the executable */
};

struct gm_region {
	uint64_t start, end;       /* [start, end) */
	const uint8_t *bytes;      /* bytes of start; NULL when unsaved */
	enum gm_region_source source;
};

struct gm_address_space {
	struct gm_region *regions; /* sorted, disjoint */
	size_t nregions;
	/* Written by reads, which two threads may do at once (the edge
	 * build): atomic, relaxed (a stale hint only costs a search). */
	_Atomic size_t last_hit;   /* index of the region of the last read */
	_Atomic uint64_t nfaults;  /* reads that hit unsaved or unmapped memory */
	uint64_t bytes_from_core, bytes_from_exe, bytes_unsaved;
};

/* Build the address space of CORE with EXE (may be NULL) loaded at BIAS. */
struct gm_error *gm_address_space_create(const struct gm_core *core, const struct gm_exe *exe,
					 uint64_t bias, struct gm_address_space **ret);

void gm_address_space_destroy(struct gm_address_space *as);

/* Two ways to read, for two kinds of caller.
 *
 * A read the caller walks past when it fails (a pointer to follow, a
 * field of a span that may be corrupt) uses gm_try_read: false when a byte
 * is unavailable, the fault counted, nothing allocated.  A read whose
 * failure ends the caller's work uses gm_read, whose error (GM_ERR_FAULT
 * naming the address) the caller returns or frees.  Testing gm_read's
 * result as a boolean leaks the error: tests/lint/check_reads.py refuses it. */
bool gm_try_read(struct gm_address_space *as, uint64_t addr, void *buf, size_t len);
bool gm_try_read_u64(struct gm_address_space *as, uint64_t addr, uint64_t *ret);

/* Copy [addr, addr+len) to BUF; a GM_ERR_FAULT error if any byte is unavailable. */
struct gm_error *gm_read(struct gm_address_space *as, uint64_t addr, void *buf, size_t len)
	__attribute__((warn_unused_result));

/* Read a little-endian 64-bit word. */
struct gm_error *gm_read_u64(struct gm_address_space *as, uint64_t addr, uint64_t *ret)
	__attribute__((warn_unused_result));

/* A direct pointer to [addr, addr+len) if it lies in one region with bytes,
 * else NULL (and the fault is counted).  The fast path of the heap walk. */
const void *gm_memory_at(struct gm_address_space *as, uint64_t addr, size_t len);

/* The region containing ADDR, or NULL. */
const struct gm_region *gm_region_at(struct gm_address_space *as, uint64_t addr);

#endif
