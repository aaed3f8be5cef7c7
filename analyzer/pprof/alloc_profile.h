/* alloc_profile: the runtime's own heap profile, rebuilt from the memory
 * profile an analysis database holds (alloc_sites, alloc_site_frames), as
 * runtime/pprof writes it for /debug/pprof/heap (writeHeapProto): sample
 * types alloc_objects/count, alloc_space/bytes, inuse_objects/count,
 * inuse_space/bytes; period type space/bytes, period runtime.MemProfileRate;
 * one sample per allocation site (every bucket, as MemProfile(inuseZero
 * true) returns them), its counts scaled by 1 / (1 - exp(-size / rate))
 * unless the rate is 1 or less; a numeric label "bytes" = the allocation
 * size when the site has allocations; stacks without runtime.goexit and
 * without the runtime's own frames above the first frame outside it.  One
 * location per recorded pc, with the function and line at pc - 1.
 */
#ifndef GOMORTEM_ALLOC_PROFILE_H
#define GOMORTEM_ALLOC_PROFILE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyzer/util/error.h"

/* What a written profile holds. */
struct alloc_profile_stats {
	size_t samples, locations;
	int64_t rate;
	int64_t inuse_objects, inuse_bytes;  /* scaled sums */
};

/* Write the heap profile of the database DB (from DB_PATH, for messages) to
 * OUT_PATH: the published profile (what the process would have served), or
 * with NOW the counts of every cycle, published or not.  GM_ERR_USAGE when
 * the database holds no memory profile. */
struct gm_error *alloc_profile_write(sqlite3 *db, const char *db_path, const char *out_path, bool now,
				     struct alloc_profile_stats *ret);

/* runtime/pprof's scaleHeapSample: COUNT sampled allocations of BYTES in
 * all, at MemProfileRate RATE, stand for COUNT / (1 - exp(-BYTES / COUNT /
 * RATE)) allocations (unscaled at rate 1 or less; 0 for no allocation). */
void alloc_profile_scale(int64_t count, int64_t bytes, int64_t rate, uint64_t *ret_count, uint64_t *ret_bytes);

#endif
