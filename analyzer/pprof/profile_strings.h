/* profile_strings: a profile's string table and its functions (frames),
 * each interned once. */
#ifndef GOMORTEM_PROFILE_STRINGS_H
#define GOMORTEM_PROFILE_STRINGS_H

#include <stddef.h>
#include <stdint.h>

#include "analyzer/util/error.h"
#include "analyzer/util/u64_map.h"

/* Interned strings: the profile's string table; index 0 is "". */
struct strings {
	char **items;
	size_t count, cap;
	struct gm_u64_map by_hash;  /* FNV-1a hash (probed linearly on collision) -> index */
	uint32_t *func;             /* function id of a string used as a frame; 0 none */
	size_t func_count;
	uint32_t *func_string;      /* function id - 1 -> string index */
};

/* The index of S in the string table T, added if new; *RET. */
struct gm_error *string_intern(struct strings *t, const char *s, uint32_t *ret);

/* The function id (1-based, in order of first use) of a frame named NAME,
 * as frame_names.h spells it. */
struct gm_error *function_of(struct strings *t, const char *name, uint32_t *ret);

void strings_deinit(struct strings *t);

#endif
