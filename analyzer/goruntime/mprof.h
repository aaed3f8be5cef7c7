/* mprof: the runtime's memory profile as the core holds it (mprof.go).
 *
 * runtime.mbuckets lists (through bucket.allnext) one bucket per sampled
 * allocation site: the allocation's size, its stack (return pcs), and a
 * memRecord: `active`, the published profile, and `future`, a ring of
 * nfuture cycles indexed by the profile cycle C (runtime.mProfCycle >> 1):
 * future[C % n] is the cycle mark termination just ended (flushed into
 * active by the GC, or by MemProfile, whichever comes first), future[(C+1)
 * % n] the sweep frees of the current cycle, future[(C+2) % n] the
 * allocations since the last mark termination.  MemProfile returns active
 * plus future[C % n]; when that is zero for every bucket (no GC yet) it
 * folds every cycle in.  Every sampled object still in the heap has a
 * profile special on its span (_KindSpecialProfile) naming its bucket.
 * runtime.MemProfileRate is the sampling rate (0: profiling off; the linker
 * turns it off in programs that cannot read the profile).
 */
#ifndef GOMORTEM_MPROF_H
#define GOMORTEM_MPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"
#include "../util/warnings.h"

struct gm_runtime;
struct gm_heap;

#define GM_MPROF_MAX_FUTURE 8

/* Counts of one cycle, or of several added up.  Bytes are counts times the
 * bucket's size where the runtime keeps no bytes (1.27+). */
struct gm_mprof_counts {
	uint64_t allocs, frees, alloc_bytes, free_bytes;
};

struct gm_mprof_bucket {
	uint64_t addr;                /* the runtime.bucket */
	uint64_t size;                /* bucket.size: the size of each allocation it counts */
	uint32_t first_pc, npcs;      /* its stack: pcs[first_pc .. first_pc + npcs), innermost first */
	struct gm_mprof_counts active;                         /* memRecord.active */
	struct gm_mprof_counts future[GM_MPROF_MAX_FUTURE];    /* memRecord.future, as stored */
	struct gm_mprof_counts published; /* what runtime.MemProfile would return */
	struct gm_mprof_counts now;       /* active and every future cycle: no publication lag */
	uint64_t sampled_objects, sampled_bytes; /* heap objects whose profile special names it */
};

struct gm_mprof {
	bool present;                 /* the runtime's memory profiler was found */
	int64_t rate;                 /* runtime.MemProfileRate */
	uint32_t cycle;               /* mProfCycle >> 1 */
	bool flushed;                 /* mProfCycle & 1: cycle C already flushed into active */
	bool folded;                  /* nothing published yet: published folds every cycle in */
	uint32_t nfuture;
	struct gm_mprof_bucket *buckets;  /* in mbuckets order (newest first) */
	size_t nbuckets;
	uint64_t *pcs;
	size_t npcs;
	uint32_t *object_bucket;      /* per heap object: bucket index + 1, 0 none (NULL: no sampled object) */
	size_t sampled_objects;       /* heap objects with a profile special */
	struct gm_warnings warnings;
};

/* Read the memory profile of RT's process, and the profile specials of
 * HEAP's spans.  A runtime without the profiler gives present false, no
 * error; damaged buckets end the list with a warning.  GM_ERR_NO_MEMORY only. */
struct gm_error *gm_mprof_read(struct gm_runtime *rt, const struct gm_heap *heap, struct gm_mprof **ret);

void gm_mprof_destroy(struct gm_mprof *mp);

#endif
