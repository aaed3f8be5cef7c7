/* btree_writer: whole tables appended to an SQLite database file as
 * B-trees, bypassing SQLite's virtual machine.
 *
 * Why: the objects and edges tables hold millions of rows that arrive
 * already in key order.  Through INSERT, SQLite spends about 2,400
 * instructions a row in its bytecode engine (measured with callgrind on 1M
 * objects); encoding the records and filling the pages here costs a small
 * fraction of that, and two tables can be built by two threads at once.
 *
 * How: SQLite creates the database and its (empty) tables and closes it;
 * this module then appends leaf and interior pages after the last page,
 * bottom-up, as the file format describes (https://sqlite.org/fileformat2.html):
 * table B-trees (0x0d leaves, 0x05 interior) for rowid tables and index
 * B-trees (0x0a, 0x02) for WITHOUT ROWID tables.  The finished tree's top
 * page is written over the table's existing empty root page, so the schema
 * is untouched; closing the file updates the header's page count and change
 * counter.  Only integer and NULL values are written (what those tables
 * hold), rows always fit their page (no overflow pages), and the lock-byte
 * page at 1 GiB is skipped as SQLite skips it.  The tests check every
 * database with PRAGMA integrity_check.
 */
#ifndef GOMORTEM_BTREE_WRITER_H
#define GOMORTEM_BTREE_WRITER_H

#include <stdint.h>

#include "../util/error.h"

/* An SQLite database file, closed by SQLite, that B-trees are appended to.
 * Builders on different threads may share one file. */
struct gm_btree_file;

/* Open PATH (written and closed by SQLite, no journal, empty freelist). */
struct gm_error *gm_btree_file_open(const char *path, struct gm_btree_file **ret);

/* Write the header's page count and change counter and close.  On error
 * the file is left for the caller to delete. */
struct gm_error *gm_btree_file_close(struct gm_btree_file *f);

/* Close without updating the header (the caller deletes the file). */
void gm_btree_file_abort(struct gm_btree_file *f);

enum gm_btree_kind {
	GM_BTREE_TABLE,  /* rowid table: rows by increasing rowid */
	GM_BTREE_INDEX,  /* WITHOUT ROWID table: records in primary-key order */
};

/* A B-tree being built into the empty table whose root page is ROOT, with
 * rows of NCOLS columns (at most 64). */
struct gm_btree;
struct gm_error *gm_btree_create(struct gm_btree_file *f, uint32_t root, enum gm_btree_kind kind, int ncols,
				 struct gm_btree **ret);

/* Append a row: VALUES[c] for every column c whose bit in NULL_MASK is
 * clear, NULL for the others (an INTEGER PRIMARY KEY column is stored as
 * NULL: its value is the rowid).  Trailing NULLs are left out of the
 * record, so the table's columns must have no DEFAULT but NULL.  ROWID is
 * ignored for GM_BTREE_INDEX.
 * Rows must come in key order; that is the caller's promise. */
struct gm_error *gm_btree_append(struct gm_btree *b, int64_t rowid, const int64_t *values, uint64_t null_mask);

/* Write the remaining pages and the root, and free B.  With a pending
 * error ERR (from the caller's loop) nothing more is written, B is freed
 * and ERR returned: the file is to be deleted. */
struct gm_error *gm_btree_finish(struct gm_btree *b, struct gm_error *err);

#endif
