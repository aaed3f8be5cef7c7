/* type_table: the types of an analysis database as the heap profile names
 * them: names, sizes, and where their members are named.
 *
 * The fields table names the members of DWARF struct types, which need not
 * be the types.id the objects carry (a runtime type descriptor of the same
 * name), and objects holding an array of a struct are typed "[N]T": a type's
 * members are those of the type of the same name that has fields, else of
 * its element's.
 */
#ifndef GOMORTEM_PPROF_TYPE_TABLE_H
#define GOMORTEM_PPROF_TYPE_TABLE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyzer/util/error.h"
#include "analyzer/util/u64_map.h"

struct type_table {
	struct gm_u64_map index;  /* types.id -> position */
	uint32_t *by_id;          /* the same as an array (position + 1, 0 none) when ids are dense; else NULL */
	size_t nby_id;
	int64_t *ids;
	char **names;
	char **collections;       /* types.collection when it differs from the name (one row for a
				     map's parts, a slice's arrays of any length); NULL otherwise */
	int64_t *sizes;
	int64_t *fields_id;       /* types.id whose fields name its members (of one element); -1 none */
	int64_t *elem_size;       /* size of the element fields_id describes */
	uint32_t *frame;          /* function id of the bare type name; 0 until interned (the profile's) */
	uint32_t *collection_frame; /* function id of collections[i], as frame */
	size_t count;
};

/* Load the types of DB (named DB_PATH in errors; more than MAX_COUNT is an
 * error) into T, zeroed by the caller, which deinits it whatever this returns. */
struct gm_error *type_table_load(sqlite3 *db, const char *db_path, int64_t max_count, struct type_table *t);

/* The position of types.id ID in *POS; false if no type has it. */
bool type_table_position(const struct type_table *t, int64_t id, uint64_t *pos);

void type_table_deinit(struct type_table *t);

#endif
