/* object_index: heap objects by address and by id for the heap SQL
 * functions, in time independent of the size of the objects table.
 *
 * A pointer field names an address; SQL has no index that maps an address
 * to the object holding it (objects has none on addr, and "addr <= A AND A <
 * addr + size" is a range query no single-column index serves), so asking
 * SQLite per pointer scans the table: quadratic over a go_type() query.
 * Instead the spans table (small: one row per span) is read once per
 * connection and kept sorted by base; a span's objects (ids first_object ..
 * first_object + alloc_count - 1, in address order) are read with one rowid
 * range query the first time a lookup lands in it and kept. A lookup is then
 * two binary searches in memory.
 *
 * No prepared statement outlives a call: the index can live in a
 * connection's function context, which SQLite frees only after it checked
 * that no statement is left open. */
#ifndef GOMORTEM_OBJECT_INDEX_H
#define GOMORTEM_OBJECT_INDEX_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

struct gm_object_index;

/* One object as the database describes it. */
struct gm_object_ref {
	int64_t id;
	uint64_t addr, size;
	uint64_t data;      /* where the value starts: addr + the span's malloc header size */
	const char *type;   /* types.name; NULL when the type is unknown. Owned by the index */
};

/* An empty index over DB's objects; NULL when out of memory. */
struct gm_object_index *gm_object_index_new(sqlite3 *db);
void gm_object_index_destroy(struct gm_object_index *idx);

/* The object holding ADDR (interior pointers included); false when none does. */
bool gm_object_index_at(struct gm_object_index *idx, uint64_t addr, struct gm_object_ref *ret);

/* The object with id ID; false when there is none. */
bool gm_object_index_by_id(struct gm_object_index *idx, int64_t id, struct gm_object_ref *ret);

#endif
