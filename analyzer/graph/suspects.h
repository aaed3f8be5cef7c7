/* suspects: the leak suspects, the answer a report gives first.
 *
 * An owner is a node at the top of the dominator tree: a root, or an object
 * that no single root dominates (held jointly by several roots).  An owner
 * that alone keeps a large share of the live heap is a suspect.  From it the
 * search descends the dominator tree while one child keeps most of its
 * parent's retained bytes, to the accumulation point; a point that is only
 * a part of a collection (a map's directory, tables or buckets, an array
 * its owner points at) is lifted back to the collection that owns it, so
 * the sibling tables of one map count as that map.  What the point
 * accumulates is its dominated objects summed by type; the path is a
 * shortest path from a root with field names; memory held jointly lists
 * the roots that reach it.  Many small jointly held objects of one type
 * (records that four globals all reach) are one owner together: a group.
 */
#ifndef GOMORTEM_SUSPECTS_H
#define GOMORTEM_SUSPECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

struct gm_graph;
struct gm_heap;
struct gm_roots;
struct gm_types;
struct gm_domtree;
struct gm_dwarf;

/* An owner whose retained bytes are at least this percentage of the
 * reachable heap is a suspect. */
#define GM_SUSPECT_MIN_SHARE_PERCENT 10
/* The descent goes on while one child keeps at least this percentage of
 * its parent's retained bytes. */
#define GM_SUSPECT_DESCEND_PERCENT 80
#define GM_SUSPECTS_MAX 5
#define GM_SUSPECT_TYPES_MAX 8
#define GM_SUSPECT_ROOTS_MAX 20

struct gm_suspect_type {
	uint32_t type;                 /* types entry, UINT32_MAX if unknown */
	uint64_t count, bytes;         /* dominated objects of it and their own sizes */
	bool storage;                  /* the storage of a collection (arrays, a map's tables and buckets) */
};

struct gm_suspect {
	uint32_t object;               /* the accumulation point */
	const char *kind;              /* map, slice, channel, sync.Pool, struct, array, ... */
	char *name;                    /* its Go type: map[string]*main.Record, []*main.Record, ... */
	uint64_t retained, objects;    /* what it alone keeps alive, itself included */
	uint64_t owner_retained;       /* what its owner keeps alive */
	uint64_t group_size;           /* 1; for a group (kind "objects"), the jointly held objects of its
					  type it stands for, OBJECT the largest, RETAINED their sum */
	uint32_t root;                 /* the one root that dominates it, or UINT32_MAX if several */
	char *path;                    /* "main.records -> map[string]*main.Record" */
	struct gm_suspect_type types[GM_SUSPECT_TYPES_MAX]; /* what it accumulates, then its storage; each by
							      bytes, largest first */
	size_t ntypes;
	uint32_t sharing[GM_SUSPECT_ROOTS_MAX]; /* roots that reach it (the first ones) */
	size_t nsharing;
	uint64_t shared_by;            /* how many roots reach it */
};

struct gm_suspects {
	struct gm_suspect items[GM_SUSPECTS_MAX];
	size_t count;
	uint64_t reachable_bytes;
};

/* Find the suspects (after dominators and type inference).  DWARF (may be
 * NULL) names the fields of the paths; PROGRESS (may be NULL) counts the
 * owners examined and the reverse edges built. */
struct gm_error *gm_suspects_find(const struct gm_graph *graph, const struct gm_heap *heap,
				  const struct gm_roots *roots, const struct gm_types *types,
				  const struct gm_domtree *tree, struct gm_dwarf *dwarf, struct gm_stage_progress *progress,
				  struct gm_suspects **ret);

/* The top of suspect SUS's dominator subtree into OUT (room for every
 * object): its object, or for a group every jointly held object of its
 * type (OBJECT_TYPE per object); each marked in SEEN when not NULL.
 * Returns how many. */
size_t gm_suspect_members(const struct gm_suspect *sus, const struct gm_domtree *tree, const uint32_t *object_type,
			  uint32_t *out, uint8_t *seen);

void gm_suspects_destroy(struct gm_suspects *s);

#endif
