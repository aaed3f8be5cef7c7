/* heap_profile: the live heap of an analysis database as a pprof heap
 * profile (github.com/google/pprof/proto/profile.proto, gzip-compressed).
 *
 * Every reachable object is one count of its size, under the chain of its
 * dominators up to its root, leaf first: the object's type; then each
 * dominator's type with the field of the pointer that leads to the object
 * below it ("main.Node.next"; the type alone when the dominator does not
 * point at it directly); then the root ("bss root main.cache") when one
 * root alone dominates the chain, else "(several roots)".  Identical chains
 * are one sample; chains deeper than HEAP_PROFILE_MAX_DEPTH frames keep
 * the frames nearest the root and the leaf, with one "…" between them.
 * Sample types: inuse_objects/count and inuse_space/bytes.
 */
#ifndef GOMORTEM_HEAP_PROFILE_H
#define GOMORTEM_HEAP_PROFILE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "analyzer/util/error.h"
#include "analyzer/util/progress.h"

#define HEAP_PROFILE_MAX_DEPTH 64

enum heap_profile_sample {
	HEAP_PROFILE_INUSE_SPACE,    /* default: bytes */
	HEAP_PROFILE_INUSE_OBJECTS,  /* objects */
};

/* What a written profile holds. */
struct heap_profile_stats {
	int64_t objects;   /* live objects counted: sum of inuse_objects */
	int64_t bytes;     /* their bytes: sum of inuse_space */
	size_t samples;    /* distinct chains */
	size_t functions;  /* distinct frames */
	size_t truncated;  /* samples whose chain was cut at the depth cap */
};

/* Write the heap profile of the database DB (opened from DB_PATH, named in
 * errors) to OUT_PATH, with DEFAULT_SAMPLE as the profile's default sample
 * type.  The file appears only when complete (written beside it and renamed).
 * PROGRESS gets a line per stage and, on the long ones, how far along they
 * are.  *RET, if not NULL, receives what the profile holds. */
struct gm_error *heap_profile_write(sqlite3 *db, const char *db_path, const char *out_path,
				    enum heap_profile_sample default_sample, struct gm_progress *progress,
				    struct heap_profile_stats *ret);

#endif
