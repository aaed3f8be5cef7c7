/* test_btree_writer: tables written by btree_writer, read back by SQLite.
 *
 * For both tree kinds (a rowid table with an INTEGER PRIMARY KEY and a
 * WITHOUT ROWID table), page sizes from 512 bytes (deep trees after a few
 * thousand rows) to 64 KiB, and row counts from 0 to 200,000 (empty root,
 * a single leaf, one level, several levels): SQLite's integrity_check must
 * say ok, every row must read back with its exact values (NULLs, 0 and 1,
 * negative numbers, every integer width), lookups by key must find each
 * probed row through the interior pages, and SQLite must go on writing the
 * file afterwards.  Usage: test_btree_writer DIR (a scratch directory). */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyzer/store/btree_writer.h"

static int failures;

#define CHECK(cond, ...)                                           \
	do {                                                       \
		if (!(cond)) {                                     \
			failures++;                                \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);              \
			fputc('\n', stderr);                       \
		}                                                  \
	} while (0)

/* Row I's value in column C, and whether it is NULL: a spread of widths
 * and signs that exercises every serial type. */
static int64_t value_of(uint64_t i, int c, int *is_null)
{
	static const int64_t specials[] = { 0, 1, -1, 127, 128, -129, 32767, 32768, 8388607, 8388608,
					    INT32_MAX, (int64_t)INT32_MAX + 1, (1ll << 47) - 1, 1ll << 47,
					    INT64_MAX, INT64_MIN };
	*is_null = (i + (uint64_t)c) % 7 == 3;
	uint64_t h = (i + 1) * 0x9e3779b97f4a7c15ull ^ (uint64_t)c * 0xbf58476d1ce4e5b9ull;
	if (h % 3 == 0)
		return specials[(h >> 8) % (sizeof(specials) / sizeof(specials[0]))];
	return (int64_t)(h >> (h % 64));
}

static sqlite3 *open_db(const char *path)
{
	sqlite3 *db = NULL;
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		fprintf(stderr, "cannot open %s\n", path);
		exit(1);
	}
	return db;
}

static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "SQL failed: %s: %s\n", sql, msg);
		exit(1);
	}
}

static uint32_t root_of(sqlite3 *db, const char *table)
{
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "SELECT rootpage FROM sqlite_schema WHERE name = ?", -1, &st, NULL);
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	uint32_t root = sqlite3_step(st) == SQLITE_ROW ? (uint32_t)sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return root;
}

enum { NCOLS = 5 };

/* t: rowid table (id INTEGER PRIMARY KEY stored as NULL) + 4 value
 * columns; u: t's rows with the INTEGER PRIMARY KEY last (as objects_packed
 * has it: every record ends before it); w: WITHOUT ROWID, key (k, i) then 3
 * values.  Rows whose last columns are NULL have shorter records.  Row i of w has key
 * (i / 3, i % 3) so that keys are ordered and unique. */
static void make_schema(const char *path, int page_size)
{
	unlink(path);
	sqlite3 *db = open_db(path);
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "PRAGMA page_size=%d; PRAGMA journal_mode=OFF;"
		 "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER, c INTEGER, d INTEGER);"
		 "CREATE TABLE u (a INTEGER, b INTEGER, c INTEGER, d INTEGER, id INTEGER PRIMARY KEY);"
		 "CREATE TABLE w (k INTEGER NOT NULL, i INTEGER NOT NULL, a INTEGER, b INTEGER, c INTEGER,"
		 " PRIMARY KEY (k, i)) WITHOUT ROWID;",
		 page_size);
	exec(db, sql);
	sqlite3_close(db);
}

static void table_row(uint64_t i, int64_t v[NCOLS], uint64_t *nulls)
{
	*nulls = 1;  /* the INTEGER PRIMARY KEY */
	for (int c = 1; c < NCOLS; c++) {
		int is_null;
		v[c] = value_of(i, c, &is_null);
		*nulls |= (uint64_t)is_null << c;
	}
}

static void index_row(uint64_t i, int64_t v[NCOLS], uint64_t *nulls)
{
	*nulls = 0;
	v[0] = (int64_t)(i / 3) - 1000;
	v[1] = (int64_t)(i % 3);
	for (int c = 2; c < NCOLS; c++) {
		int is_null;
		v[c] = value_of(i, c, &is_null);
		*nulls |= (uint64_t)is_null << c;
	}
}

static void write_trees(const char *path, uint64_t nrows)
{
	sqlite3 *db = open_db(path);
	uint32_t t_root = root_of(db, "t"), u_root = root_of(db, "u"), w_root = root_of(db, "w");
	sqlite3_close(db);
	struct gm_btree_file *f;
	struct gm_btree *t, *u, *w;
	struct gm_error *err = gm_btree_file_open(path, &f);
	if (!err)
		err = gm_btree_create(f, t_root, GM_BTREE_TABLE, NCOLS, &t);
	if (!err)
		err = gm_btree_create(f, u_root, GM_BTREE_TABLE, NCOLS, &u);
	if (!err)
		err = gm_btree_create(f, w_root, GM_BTREE_INDEX, NCOLS, &w);
	if (err) {
		fprintf(stderr, "btree_writer: %s\n", err->message);
		exit(1);
	}
	for (uint64_t i = 0; i < nrows && !err; i++) {
		int64_t v[NCOLS];
		uint64_t nulls;
		table_row(i, v, &nulls);
		/* Rowids with gaps, as a table may have. */
		err = gm_btree_append(t, (int64_t)(i * 2 + 1), v, nulls);
		int64_t last_key[NCOLS] = { 0 };  /* u: the key column moved to the end */
		memcpy(last_key, v + 1, (NCOLS - 1) * sizeof(*v));
		if (!err)
			err = gm_btree_append(u, (int64_t)(i * 2 + 1), last_key, nulls >> 1 | 1ull << (NCOLS - 1));
		index_row(i, v, &nulls);
		if (!err)
			err = gm_btree_append(w, 0, v, nulls);
	}
	err = gm_btree_finish(t, err);
	err = gm_btree_finish(u, err);
	err = gm_btree_finish(w, err);
	if (!err)
		err = gm_btree_file_close(f);
	if (err) {
		fprintf(stderr, "btree_writer: %s\n", err->message);
		exit(1);
	}
}

/* Every row of TABLE in key order equals what ROW_OF made. */
static void check_rows(sqlite3 *db, const char *sql, uint64_t nrows, bool table, const char *what)
{
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	uint64_t i = 0;
	int bad = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t v[NCOLS];
		uint64_t nulls;
		if (table)
			table_row(i, v, &nulls);
		else
			index_row(i, v, &nulls);
		if (table)
			v[0] = (int64_t)(i * 2 + 1), nulls &= ~1ull;
		for (int c = 0; c < NCOLS && bad < 5; c++) {
			bool null = sqlite3_column_type(st, c) == SQLITE_NULL;
			bool want_null = nulls & (1ull << c);
			if (null != want_null || (!null && sqlite3_column_int64(st, c) != v[c])) {
				bad++;
				CHECK(0, "%s: row %" PRIu64 " column %d: got %s%" PRId64 ", want %s%" PRId64, what, i, c,
				      null ? "NULL " : "", (int64_t)sqlite3_column_int64(st, c), want_null ? "NULL " : "", v[c]);
			}
		}
		i++;
	}
	sqlite3_finalize(st);
	CHECK(i == nrows, "%s: %" PRIu64 " rows read, %" PRIu64 " written", what, i, nrows);
}

/* Point lookups go through the interior pages' keys. */
static void check_lookups(sqlite3 *db, uint64_t nrows, const char *what)
{
	sqlite3_stmt *t, *w;
	sqlite3_prepare_v2(db, "SELECT count(*) FROM t WHERE id = ?", -1, &t, NULL);
	sqlite3_prepare_v2(db, "SELECT count(*) FROM w WHERE k = ? AND i = ?", -1, &w, NULL);
	uint64_t step = nrows / 97 + 1, missing = 0;
	for (uint64_t i = 0; i < nrows; i += step) {
		sqlite3_bind_int64(t, 1, (int64_t)(i * 2 + 1));
		missing += sqlite3_step(t) != SQLITE_ROW || sqlite3_column_int64(t, 0) != 1;
		sqlite3_reset(t);
		sqlite3_bind_int64(w, 1, (int64_t)(i / 3) - 1000);
		sqlite3_bind_int64(w, 2, (int64_t)(i % 3));
		missing += sqlite3_step(w) != SQLITE_ROW || sqlite3_column_int64(w, 0) != 1;
		sqlite3_reset(w);
	}
	sqlite3_finalize(t);
	sqlite3_finalize(w);
	CHECK(missing == 0, "%s: %" PRIu64 " lookups missed", what, missing);
}

static void check_integrity(sqlite3 *db, const char *what)
{
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *msg = (const char *)sqlite3_column_text(st, 0);
		CHECK(strcmp(msg, "ok") == 0, "%s: integrity_check: %s", what, msg);
	}
	sqlite3_finalize(st);
}

static void run_case(const char *dir, int page_size, uint64_t nrows)
{
	char path[4096], what[128];
	snprintf(path, sizeof(path), "%s/btree-%d-%" PRIu64 ".db", dir, page_size, nrows);
	snprintf(what, sizeof(what), "page size %d, %" PRIu64 " rows", page_size, nrows);
	make_schema(path, page_size);
	write_trees(path, nrows);
	sqlite3 *db = open_db(path);
	check_integrity(db, what);
	check_rows(db, "SELECT id, a, b, c, d FROM t ORDER BY id", nrows, true, what);
	check_rows(db, "SELECT id, a, b, c, d FROM u ORDER BY id", nrows, true, what);
	check_rows(db, "SELECT k, i, a, b, c FROM w ORDER BY k, i", nrows, false, what);
	check_lookups(db, nrows, what);
	/* SQLite allocates its next pages after the appended ones. */
	exec(db, "CREATE TABLE after (x); INSERT INTO after VALUES (1), (2);"
		 "INSERT INTO t (a) VALUES (42); INSERT INTO w VALUES (1000000, 0, 1, 2, 3);");
	check_integrity(db, what);
	sqlite3_close(db);
	unlink(path);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_btree_writer DIR\n");
		return 2;
	}
	static const int page_sizes[] = { 512, 1024, 4096, 65536 };
	static const uint64_t counts[] = { 0, 1, 2, 17, 1000, 20000, 200000 };
	for (size_t p = 0; p < sizeof(page_sizes) / sizeof(page_sizes[0]); p++)
		for (size_t n = 0; n < sizeof(counts) / sizeof(counts[0]); n++)
			run_case(argv[1], page_sizes[p], counts[n]);
	if (failures) {
		fprintf(stderr, "test_btree_writer: %d failures\n", failures);
		return 1;
	}
	printf("test_btree_writer: ok\n");
	return 0;
}
