/* store: the analysis database (SQLite), written in one transaction to a
 * temporary name beside the output and renamed into place on success, so a
 * failed run leaves nothing behind.  The DDL is schema/gomortem.sql (tables,
 * before the load) and schema/gomortem_post.sql (indexes and views, after). */
#ifndef GOMORTEM_STORE_H
#define GOMORTEM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

#define GM_SCHEMA_VERSION 6

struct gm_store;
struct sqlite3;

/* Call FN(NAME, DEFINITION, ARG) for each "CREATE KIND NAME" statement of the
 * embedded schema, gomortem.sql then gomortem_post.sql (KIND "TABLE" or
 * "VIEW"; DEFINITION is the statement's text from CREATE on), until FN
 * returns non-zero, which is returned. */
int gm_schema_each(const char *kind, int (*fn)(const char *name, const char *def, void *arg), void *arg);

/* Make every view of the embedded schema a TEMP view of DB, shadowing a view
 * of that name in the file: a database is untrusted input, and its own views
 * could be anything (one that never ends, one calling the heap functions,
 * which only top-level SQL and TEMP views may call).  A table of that name
 * (objects and edges before schema version 6) is left visible.  Returns an
 * SQLite result code (sqlite3_errmsg says which view failed). */
int gm_schema_shadow_views(struct sqlite3 *db);

/* Create the database that will become PATH; tables are made, a transaction open. */
struct gm_error *gm_store_create(const char *path, struct gm_store **ret);

/* Build the indexes and views (those reading meta values, as the objects
 * view's bases, made again with the values as literals), commit, close,
 * and rename into place. */
struct gm_error *gm_store_finish(struct gm_store *store);

/* Close and delete the temporary file; NULL is a no-op. */
void gm_store_abort(struct gm_store *store);

/* The SQLite connection (for registering functions on it). */
struct sqlite3 *gm_store_db(struct gm_store *store);

/* Run SQL statements with no result. */
struct gm_error *gm_store_exec(struct gm_store *store, const char *sql);

/* A meta row. */
struct gm_error *gm_store_meta_text(struct gm_store *store, const char *key, const char *value);
struct gm_error *gm_store_meta_int(struct gm_store *store, const char *key, int64_t value);

/* The root page of TABLE (for btree_writer), while SQLite has the file. */
struct gm_error *gm_store_root_page(struct gm_store *store, const char *table, uint32_t *ret);

/* Hand the file to btree_writer: commit, close SQLite's connection and open
 * the file for appending whole tables (*RET).  Until gm_store_reattach no
 * other store function may be called. */
struct gm_btree_file;
struct gm_error *gm_store_detach(struct gm_store *store, struct gm_btree_file **ret);

/* Close F (writing its header) and give the file back to SQLite, in a new
 * transaction.  On error the caller aborts the store. */
struct gm_error *gm_store_reattach(struct gm_store *store, struct gm_btree_file *f);

/* One value of a row for the bulk loader. */
struct gm_sql_value {
	enum { GM_SQL_NULL, GM_SQL_INT, GM_SQL_TEXT, GM_SQL_BLOB } kind;
	int64_t i;          /* the integer; for a blob, its length */
	const char *text;   /* text or blob bytes, copied by the loader */
};

static inline struct gm_sql_value gm_sql_int(int64_t v) { return (struct gm_sql_value){ GM_SQL_INT, v, 0 }; }
static inline struct gm_sql_value gm_sql_text(const char *s)
{
	return s ? (struct gm_sql_value){ GM_SQL_TEXT, 0, s } : (struct gm_sql_value){ GM_SQL_NULL, 0, 0 };
}
static inline struct gm_sql_value gm_sql_blob(const void *bytes, size_t len)
{
	return (struct gm_sql_value){ GM_SQL_BLOB, (int64_t)len, (const char *)bytes };
}
static inline struct gm_sql_value gm_sql_null(void) { return (struct gm_sql_value){ GM_SQL_NULL, 0, 0 }; }

/* A bulk loader for one table: rows are buffered and inserted in batches
 * with multi-row INSERT statements prepared once. */
struct gm_bulk;

/* COLUMNS is the column list ("addr, size, type_id, span_id"), NCOLS its length. */
struct gm_error *gm_bulk_create(struct gm_store *store, const char *table, const char *columns,
				int ncols, struct gm_bulk **ret);

/* Add a row of NCOLS values. */
struct gm_error *gm_bulk_row(struct gm_bulk *bulk, const struct gm_sql_value *values);

/* Add a row of NCOLS integers; bit i of NULL_MASK makes column i NULL.
 * The fast path for the big tables (objects, edges). */
struct gm_error *gm_bulk_row_ints(struct gm_bulk *bulk, const int64_t *values, uint32_t null_mask);

/* Insert what is buffered and free the loader.  With a pending error ERR
 * (from the caller's loop) nothing more is inserted and ERR is returned. */
struct gm_error *gm_bulk_finish(struct gm_bulk *bulk, struct gm_error *err);

#endif
