/* live_objects: what the heap profile needs of each reachable object of an
 * analysis database, read into arrays indexed by objects.id: 16 bytes and
 * 4 bits an object (at 20M objects, 330 MB).
 *
 * Reading the objects' rows is most of pprof's time (SQLite decodes about
 * 2,000 instructions a row): the rows are read by one thread a CPU, each
 * over a range of ids, and only for the columns the spans do not give: an
 * object's size is its span's slot size (objects.size is elem_size, the
 * span's size for a large object) and its malloc header its span's, the
 * span's objects being ids first_object .. first_object + alloc_count - 1
 * (schema/gomortem.sql).
 */
#ifndef GOMORTEM_PPROF_LIVE_OBJECTS_H
#define GOMORTEM_PPROF_LIVE_OBJECTS_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "analyzer/pprof/type_table.h"
#include "analyzer/util/error.h"
#include "analyzer/util/progress.h"
#include "analyzer/util/u64_map.h"

/* Object ids are dense and 1-based (schema/gomortem.sql); this caps them so
 * that they and trie nodes fit 32 bits. */
#define LIVE_MAX_OBJECT_ID (UINT32_MAX / 2)
/* live_objects.link values that are not offsets. */
#define EDGE_NONE UINT32_MAX           /* no idom, or no direct edge from it */
#define EDGE_LOOKUP (UINT32_MAX - 1)  /* the idom is not path_parent: read its edges */
/* live_objects.idom: a roots.id (the one root that dominates the object), not an object. */
#define IDOM_ROOT (UINT32_C(1) << 31)
/* live_objects.size: the size is in big_sizes. */
#define SIZE_BIG UINT32_MAX

struct live_objects {
	uint32_t n;             /* max id + 1 (slot 0 unused) */
	uint64_t *live;         /* bitmaps: live, */
	uint64_t *has_header;   /* its data starts after a malloc header, */
	uint64_t *busy;         /* its dominator chain is being walked, */
	uint64_t *done;         /* link is its chain's node */
	int32_t header_size;    /* the size of that header (spans.header_size) */
	uint32_t *type;         /* type_table position + 1; 0 unknown */
	uint32_t *size;         /* bytes; SIZE_BIG: in big_sizes */
	struct gm_u64_map big_sizes;  /* id -> size of the objects of 4 GiB or more */
	uint32_t *idom;         /* immediate dominator; IDOM_ROOT | roots.id when one root
				 * alone dominates it; 0 several roots (or none) */
	uint32_t *link;         /* until done: the offset in idom of a pointer to this object,
				 * or EDGE_*; then the trie node of the chain above it */
};

static inline bool bit_get(const uint64_t *bits, uint32_t i)
{
	return bits[i / 64] >> (i % 64) & 1;
}

static inline void bit_set(uint64_t *bits, uint32_t i)
{
	bits[i / 64] |= UINT64_C(1) << (i % 64);
}

static inline void bit_clear(uint64_t *bits, uint32_t i)
{
	bits[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

/* Object ID's immediate dominator among the objects; 0 if a root or several. */
static inline uint32_t dominator_of(const struct live_objects *o, uint32_t id)
{
	return o->idom[id] & IDOM_ROOT ? 0 : o->idom[id];
}

/* Object ID's size in bytes. */
uint64_t live_object_size(const struct live_objects *o, uint32_t id);

/* Read the reachable objects of DB (named DB_PATH in errors) into O, zeroed
 * by the caller, which deinits it whatever this returns; TYPES gives their
 * type positions.  Links are offsets, or EDGE_NONE; nothing is busy or done.
 * PROGRESS gets a line as the rows are read. */
struct gm_error *live_objects_load(sqlite3 *db, const char *db_path, const struct type_table *types,
				   struct gm_progress *progress, struct live_objects *o);

void live_objects_deinit(struct live_objects *o);

#endif
