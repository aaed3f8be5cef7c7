/* pcvalue: the pclntab's pc-value tables (pcsp, pcfile, pcln, pcdata),
 * as runtime.pcvalue reads them: from a function's entry, pairs of a
 * zigzag value delta and a pc delta (in units of the pc quantum), the
 * value starting at -1, until a zero value delta after the first pair.
 * The tables are bytes of the module's pctab; both the core's copy
 * (pclntab.c) and the executable's (code_refs.c) are read this way. */
#ifndef GOMORTEM_PCVALUE_H
#define GOMORTEM_PCVALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The value at TARGET of the table at OFF of PCTAB (LEN bytes), for the
 * function at ENTRY; false if OFF is no table (0 or out of range) or the
 * table ends before TARGET. */
bool gm_pcvalue_at(const uint8_t *pctab, size_t len, uint32_t off, uint64_t entry, uint32_t quantum,
		   uint64_t target, int32_t *ret);

/* The largest value of the table at OFF over the function's first CODE_LEN
 * bytes (pcsp: the frame size in the function's body); false if OFF is no
 * table or it is truncated. */
bool gm_pcvalue_max(const uint8_t *pctab, size_t len, uint32_t off, uint64_t code_len, uint32_t quantum,
		    int32_t *ret);

#endif
