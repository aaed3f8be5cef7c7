/* memstats: the runtime's own memory accounting, read from the core the way
 * runtime.ReadMemStats computes it (readmemstats_m in mstats.go): the
 * consistent heap statistics summed over their generations, plus what the
 * per-P caches have allocated but not yet flushed (mcache.releaseAll), then
 * the MemStats formulas. */
#ifndef GOMORTEM_MEMSTATS_H
#define GOMORTEM_MEMSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

struct gm_runtime;

struct gm_memstat {
	const char *name;     /* MemStats field name, or the runtime variable's */
	uint64_t value;
	bool known;           /* false: could not be read (stored as NULL) */
	const char *source;   /* where it comes from, for the reader of the database */
};

#define GM_MAX_MEMSTATS 40

struct gm_memstats {
	struct gm_memstat stats[GM_MAX_MEMSTATS];
	size_t count;
	uint64_t unflushed_objects;  /* slots allocated from per-P caches not yet in the stats */
};

/* Read the runtime's accounting.  Figures whose inputs were not saved in the
 * core are entries marked unknown; an error only for out-of-memory. */
struct gm_error *gm_memstats_read(struct gm_runtime *rt, struct gm_memstats *ret);

/* The entry named NAME, or NULL. */
const struct gm_memstat *gm_memstats_get(const struct gm_memstats *ms, const char *name);

#endif
