#include "store.h"

#include "btree_writer.h"
#include "../util/output.h"

#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const char gm_schema_tables_sql[];
extern const char gm_schema_post_sql[];

int gm_schema_each(const char *kind, int (*fn)(const char *name, const char *def, void *arg), void *arg)
{
	const char *const schemas[] = { gm_schema_tables_sql, gm_schema_post_sql };
	char head[32];
	snprintf(head, sizeof(head), "CREATE %s ", kind);
	int rc = 0;
	for (size_t i = 0; i < sizeof(schemas) / sizeof(schemas[0]) && !rc; i++) {
		for (const char *def = strstr(schemas[i], head); def && !rc; def = strstr(def + 1, head)) {
			const char *name = def + strlen(head);
			char ident[64];
			size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyz_0123456789");
			if (n == 0 || n >= sizeof(ident))
				continue;
			memcpy(ident, name, n);
			ident[n] = '\0';
			rc = fn(ident, def, arg);
		}
	}
	return rc;
}

/* Whether DB's file has a table NAME (a table runs nothing: it is data). */
static bool has_table(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM main.sqlite_schema WHERE type = 'table' AND name = ?", -1, &st,
			       NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	bool found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/* The integer meta value of KEY (LEN bytes) in DB's file, if it has one. */
static bool meta_integer(sqlite3 *db, const char *key, int len, sqlite3_int64 *ret)
{
	sqlite3_stmt *st;
	if (!has_table(db, "meta") ||
	    sqlite3_prepare_v2(db, "SELECT value FROM main.meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, key, len, SQLITE_STATIC);
	bool found = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER;
	if (found)
		*ret = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return found;
}

/* How a view of the schema reads meta value K: meta_lookup, then K'). */
static const char meta_lookup[] = "(SELECT value FROM meta WHERE key = '";

/* HEAD followed by DEF (a view's definition from its name on), each
 * (SELECT value FROM meta WHERE key = 'K') in it replaced by K's integer
 * from DB's meta where there is one: a literal costs nothing a row, the
 * subquery 7 ns (the objects view's address and path root, 20M rows: 0.3 s
 * each).  NULL when out of memory; sqlite3_free() it. */
static char *view_sql(sqlite3 *db, const char *head, const char *def)
{
	sqlite3_str *out = sqlite3_str_new(db);
	sqlite3_str_appendall(out, head);
	const char *at = def, *m;
	while ((m = strstr(at, meta_lookup)) != NULL) {
		const char *key = m + strlen(meta_lookup), *end = strstr(key, "')");
		if (!end)
			break;
		sqlite3_int64 v;
		sqlite3_str_append(out, at, (int)(m - at));
		if (meta_integer(db, key, (int)(end - key), &v))
			sqlite3_str_appendf(out, "%lld", (long long)v);
		else
			sqlite3_str_append(out, m, (int)(end + 2 - m));
		at = end + 2;
	}
	sqlite3_str_appendall(out, at);
	return sqlite3_str_finish(out);
}

/* Run the first statement of HEAD + DEF (view_sql). */
static int create_view(sqlite3 *db, const char *head, const char *def)
{
	char *sql = view_sql(db, head, def);
	if (!sql)
		return SQLITE_NOMEM;
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL); /* the first statement only */
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
	sqlite3_finalize(st);
	sqlite3_free(sql);
	return rc;
}

static int shadow_view(const char *name, const char *def, void *db)
{
	/* Before schema version 6 objects and edges were tables: a TEMP view
	 * over the packed tables would hide them from gomortem sql. */
	if (has_table(db, name))
		return SQLITE_OK;
	return create_view(db, "CREATE TEMP VIEW ", def + strlen("CREATE VIEW "));
}

int gm_schema_shadow_views(sqlite3 *db)
{
	return gm_schema_each("VIEW", shadow_view, db);
}

/* Rows per multi-row INSERT (SQLITE_MAX_VARIABLE_NUMBER is 32766 since 3.32). */
#define BULK_ROWS 100

struct gm_store {
	sqlite3 *db;
	char *path;       /* final name */
	char *tmp_path;   /* where it is written */
	sqlite3_stmt *meta;
};

struct gm_bulk {
	struct gm_store *store;
	sqlite3_stmt *many, *one;
	int ncols, nbuffered;
	struct gm_sql_value *rows;  /* BULK_ROWS * ncols */
	char **texts;               /* copies of buffered text values */
};

static struct gm_error *sqlite_error(struct gm_store *store, const char *what)
{
	return gm_error_create(GM_ERR_IO, "%s: %s: %s", store->tmp_path, what, sqlite3_errmsg(store->db));
}

sqlite3 *gm_store_db(struct gm_store *store)
{
	return store->db;
}

struct gm_error *gm_store_exec(struct gm_store *store, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(store->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return NULL;
	struct gm_error *err = gm_error_create(GM_ERR_IO, "%s: %s", store->tmp_path,
					       msg ? msg : sqlite3_errmsg(store->db));
	sqlite3_free(msg);
	return err;
}

/* Bulk-load settings: no journal, no syncs, one writer; the file is only
 * renamed into place once everything is in, so a crash loses nothing that
 * was promised.  Rows are appended in rowid order, so a 32 MiB page cache is
 * as fast as 256 MiB (measured on 5M objects: 2.05 s both) and 90 MB leaner. */
static const char load_pragmas[] =
	"PRAGMA page_size=65536;"
	"PRAGMA journal_mode=OFF;"
	"PRAGMA synchronous=OFF;"
	"PRAGMA locking_mode=EXCLUSIVE;"
	"PRAGMA cache_size=-32768;"
	"PRAGMA temp_store=MEMORY;";

/* Open the temporary file with SQLite: the load settings, a transaction,
 * the tables when CREATE_TABLES, the meta statement. */
static struct gm_error *store_open(struct gm_store *store, bool create_tables)
{
	struct gm_error *err = NULL;
	/* NOMUTEX: one thread at a time uses the connection (the edge writer is
	 * joined before anything else touches it), so SQLite's own locking is
	 * only overhead. */
	int open_flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(store->tmp_path, &store->db, open_flags, NULL) != SQLITE_OK)
		err = sqlite_error(store, "cannot open the database");
	if (!err)
		err = gm_store_exec(store, load_pragmas);
	if (!err)
		err = gm_store_exec(store, "BEGIN");
	if (!err && create_tables)
		err = gm_store_exec(store, gm_schema_tables_sql);
	if (!err && sqlite3_prepare_v2(store->db, "INSERT INTO meta(key, value) VALUES (?, ?)", -1,
				       &store->meta, NULL) != SQLITE_OK)
		err = sqlite_error(store, "preparing meta");
	return err;
}

/* An interrupted analysis (SIGINT, SIGTERM, SIGHUP) must not leave its
 * temporary file: the handler unlinks it, then dies of the signal as it
 * would have.  One store at a time is being written. */
static char interrupted_path[4096];
static volatile sig_atomic_t have_interrupted_path;

static void remove_on_signal(int sig)
{
	if (have_interrupted_path)
		unlink(interrupted_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void guard_temporary(const char *path)
{
	static const int signals[] = { SIGINT, SIGTERM, SIGHUP };
	if (strlen(path) >= sizeof(interrupted_path))
		return;
	have_interrupted_path = 0;
	strcpy(interrupted_path, path);
	have_interrupted_path = 1;
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		struct sigaction sa = { .sa_handler = remove_on_signal };
		sigemptyset(&sa.sa_mask);
		sigaction(signals[i], &sa, NULL);
	}
}

static void unguard_temporary(void)
{
	have_interrupted_path = 0;
	gm_reaper_release();
}

struct gm_error *gm_store_create(const char *path, struct gm_store **ret)
{
	struct gm_store *store = calloc(1, sizeof(*store));
	if (!store)
		return &gm_error_nomem;
	store->path = strdup(path);
	if (!store->path || asprintf(&store->tmp_path, "%s.tmp-%d", path, (int)getpid()) < 0) {
		free(store->path);
		free(store);
		return &gm_error_nomem;
	}
	struct gm_error *err = gm_output_check_replaceable(path, "the database");
	if (err) {
		free(store->path);
		free(store->tmp_path);
		free(store);
		return err;
	}
	gm_output_remove_stale(path);
	unlink(store->tmp_path);
	guard_temporary(store->tmp_path);
	err = gm_reaper_guard(store->tmp_path);
	if (!err)
		err = store_open(store, true);
	if (!err)
		err = gm_store_meta_int(store, "schema_version", GM_SCHEMA_VERSION);
	if (err) {
		gm_store_abort(store);
		return err;
	}
	*ret = store;
	return NULL;
}

/* A view of the file made again with its meta values as literals, if its
 * definition reads any: a scalar subquery costs each row, a literal does
 * not (see view_sql). */
static int respecialize_view(const char *name, const char *def, void *db)
{
	const char *lookup = strstr(def, meta_lookup);
	const char *next = strstr(def, "\nCREATE ");  /* comments start with "--" */
	if (!lookup || (next && lookup > next))
		return SQLITE_OK;
	char *drop = sqlite3_mprintf("DROP VIEW main.\"%w\"", name);
	int rc = drop ? sqlite3_exec(db, drop, NULL, NULL, NULL) : SQLITE_NOMEM;
	sqlite3_free(drop);
	return rc == SQLITE_OK ? create_view(db, "CREATE VIEW ", def + strlen("CREATE VIEW ")) : rc;
}

static struct gm_error *specialize_views(struct gm_store *store)
{
	return gm_schema_each("VIEW", respecialize_view, store->db) == SQLITE_OK
		       ? NULL
		       : sqlite_error(store, "making the views again with their meta values");
}

struct gm_error *gm_store_root_page(struct gm_store *store, const char *table, uint32_t *ret)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(store->db, "SELECT rootpage FROM sqlite_schema WHERE type = 'table' AND name = ?", -1,
			       &st, NULL) != SQLITE_OK)
		return sqlite_error(store, "reading the schema");
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	int64_t root = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	if (root < 2 || root > UINT32_MAX)
		return gm_error_create(GM_ERR_INTERNAL, "%s: no root page for table %s", store->tmp_path, table);
	*ret = (uint32_t)root;
	return NULL;
}

/* Commit and close the connection, keeping the file. */
static struct gm_error *store_close_db(struct gm_store *store)
{
	struct gm_error *err = gm_store_exec(store, "COMMIT");
	sqlite3_finalize(store->meta);
	store->meta = NULL;
	if (!err && sqlite3_close(store->db) != SQLITE_OK)
		err = sqlite_error(store, "closing");
	if (err)
		sqlite3_close(store->db);
	store->db = NULL;
	return err;
}

struct gm_error *gm_store_detach(struct gm_store *store, struct gm_btree_file **ret)
{
	struct gm_error *err = store_close_db(store);
	if (!err)
		err = gm_btree_file_open(store->tmp_path, ret);
	return err;
}

struct gm_error *gm_store_reattach(struct gm_store *store, struct gm_btree_file *f)
{
	struct gm_error *err = gm_btree_file_close(f);
	return err ? err : store_open(store, false);
}

static void store_free(struct gm_store *store)
{
	sqlite3_finalize(store->meta);
	sqlite3_close(store->db);
	free(store->path);
	free(store->tmp_path);
	free(store);
}

void gm_store_abort(struct gm_store *store)
{
	if (!store)
		return;
	char *tmp = store->tmp_path;
	store->tmp_path = NULL;
	store_free(store);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	unguard_temporary();
}

struct gm_error *gm_store_finish(struct gm_store *store)
{
	struct gm_error *err = gm_store_exec(store, gm_schema_post_sql);
	if (!err)
		err = specialize_views(store);
	if (!err)
		err = store_close_db(store);
	if (!err)
		err = gm_output_check_replaceable(store->path, "the database");
	if (!err && rename(store->tmp_path, store->path) != 0)
		err = gm_error_create(GM_ERR_IO, "%s: cannot rename to %s: %s", store->tmp_path,
				      store->path, strerror(errno));
	if (err) {
		gm_store_abort(store);
		return err;
	}
	unguard_temporary();
	free(store->tmp_path);
	store->tmp_path = NULL;
	store_free(store);
	return NULL;
}

static struct gm_error *meta_step(struct gm_store *store)
{
	int rc = sqlite3_step(store->meta);
	sqlite3_reset(store->meta);
	return rc == SQLITE_DONE ? NULL : sqlite_error(store, "writing meta");
}

struct gm_error *gm_store_meta_text(struct gm_store *store, const char *key, const char *value)
{
	sqlite3_bind_text(store->meta, 1, key, -1, SQLITE_TRANSIENT);
	if (value)
		sqlite3_bind_text(store->meta, 2, value, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(store->meta, 2);
	return meta_step(store);
}

struct gm_error *gm_store_meta_int(struct gm_store *store, const char *key, int64_t value)
{
	sqlite3_bind_text(store->meta, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(store->meta, 2, value);
	return meta_step(store);
}

/* "INSERT INTO t (cols) VALUES (?,?),(?,?)..." for NROWS rows. */
static char *insert_sql(const char *table, const char *columns, int ncols, int nrows)
{
	size_t row_len = 2 + 2 * (size_t)ncols, len = strlen(table) + strlen(columns) + 32 +
						       (size_t)nrows * row_len;
	char *sql = malloc(len);
	if (!sql)
		return NULL;
	char *p = sql + sprintf(sql, "INSERT INTO %s (%s) VALUES ", table, columns);
	for (int r = 0; r < nrows; r++) {
		*p++ = r ? ',' : ' ';
		*p++ = '(';
		for (int c = 0; c < ncols; c++) {
			if (c)
				*p++ = ',';
			*p++ = '?';
		}
		*p++ = ')';
	}
	*p = '\0';
	return sql;
}

static struct gm_error *prepare_insert(struct gm_bulk *bulk, const char *table, const char *columns,
				       int nrows, sqlite3_stmt **ret)
{
	char *sql = insert_sql(table, columns, bulk->ncols, nrows);
	if (!sql)
		return &gm_error_nomem;
	int rc = sqlite3_prepare_v3(bulk->store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, ret, NULL);
	free(sql);
	return rc == SQLITE_OK ? NULL : sqlite_error(bulk->store, "preparing an insert");
}

static void bulk_free(struct gm_bulk *bulk)
{
	for (int i = 0; i < BULK_ROWS * bulk->ncols; i++)
		free(bulk->texts[i]);
	sqlite3_finalize(bulk->many);
	sqlite3_finalize(bulk->one);
	free(bulk->rows);
	free(bulk->texts);
	free(bulk);
}

struct gm_error *gm_bulk_create(struct gm_store *store, const char *table, const char *columns, int ncols,
				struct gm_bulk **ret)
{
	struct gm_bulk *bulk = calloc(1, sizeof(*bulk));
	if (!bulk)
		return &gm_error_nomem;
	bulk->store = store;
	bulk->ncols = ncols;
	bulk->rows = calloc((size_t)BULK_ROWS * ncols, sizeof(*bulk->rows));
	bulk->texts = calloc((size_t)BULK_ROWS * ncols, sizeof(*bulk->texts));
	struct gm_error *err = bulk->rows && bulk->texts ? NULL : &gm_error_nomem;
	if (!err)
		err = prepare_insert(bulk, table, columns, BULK_ROWS, &bulk->many);
	if (!err)
		err = prepare_insert(bulk, table, columns, 1, &bulk->one);
	if (err) {
		bulk_free(bulk);
		return err;
	}
	*ret = bulk;
	return NULL;
}

static void bind_value(sqlite3_stmt *stmt, int index, const struct gm_sql_value *v)
{
	switch (v->kind) {
	case GM_SQL_INT: sqlite3_bind_int64(stmt, index, v->i); break;
	case GM_SQL_TEXT: sqlite3_bind_text(stmt, index, v->text, -1, SQLITE_STATIC); break;
	case GM_SQL_BLOB: sqlite3_bind_blob(stmt, index, v->text, (int)v->i, SQLITE_STATIC); break;
	default: sqlite3_bind_null(stmt, index); break;
	}
}

static struct gm_error *run_insert(struct gm_bulk *bulk, sqlite3_stmt *stmt, int first_row, int nrows)
{
	for (int r = 0; r < nrows; r++)
		for (int c = 0; c < bulk->ncols; c++)
			bind_value(stmt, r * bulk->ncols + c + 1, &bulk->rows[(first_row + r) * bulk->ncols + c]);
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? NULL : sqlite_error(bulk->store, "inserting rows");
}

static struct gm_error *bulk_flush(struct gm_bulk *bulk)
{
	struct gm_error *err = NULL;
	if (bulk->nbuffered == BULK_ROWS)
		err = run_insert(bulk, bulk->many, 0, BULK_ROWS);
	else
		for (int r = 0; r < bulk->nbuffered && !err; r++)
			err = run_insert(bulk, bulk->one, r, 1);
	for (int i = 0; i < bulk->nbuffered * bulk->ncols; i++) {
		free(bulk->texts[i]);
		bulk->texts[i] = NULL;
	}
	bulk->nbuffered = 0;
	return err;
}

struct gm_error *gm_bulk_row(struct gm_bulk *bulk, const struct gm_sql_value *values)
{
	struct gm_sql_value *row = &bulk->rows[bulk->nbuffered * bulk->ncols];
	for (int c = 0; c < bulk->ncols; c++) {
		row[c] = values[c];
		if (values[c].kind == GM_SQL_TEXT || values[c].kind == GM_SQL_BLOB) {
			char **copy = &bulk->texts[bulk->nbuffered * bulk->ncols + c];
			size_t len = values[c].kind == GM_SQL_TEXT ? strlen(values[c].text) + 1 : (size_t)values[c].i;
			*copy = malloc(len ? len : 1);
			if (!*copy)
				return &gm_error_nomem;
			memcpy(*copy, values[c].text, len);
			row[c].text = *copy;
		}
	}
	if (++bulk->nbuffered == BULK_ROWS)
		return bulk_flush(bulk);
	return NULL;
}

struct gm_error *gm_bulk_row_ints(struct gm_bulk *bulk, const int64_t *values, uint32_t null_mask)
{
	/* Bind straight into the batch statement: no copy of the row. */
	int base = bulk->nbuffered * bulk->ncols;
	for (int c = 0; c < bulk->ncols; c++) {
		if (null_mask & (1u << c))
			sqlite3_bind_null(bulk->many, base + c + 1);
		else
			sqlite3_bind_int64(bulk->many, base + c + 1, values[c]);
		bulk->rows[base + c] = null_mask & (1u << c) ? gm_sql_null() : gm_sql_int(values[c]);
	}
	if (++bulk->nbuffered < BULK_ROWS)
		return NULL;
	int rc = sqlite3_step(bulk->many);
	sqlite3_reset(bulk->many);
	bulk->nbuffered = 0;
	return rc == SQLITE_DONE ? NULL : sqlite_error(bulk->store, "inserting rows");
}

struct gm_error *gm_bulk_finish(struct gm_bulk *bulk, struct gm_error *err)
{
	if (!err)
		err = bulk_flush(bulk);
	bulk_free(bulk);
	return err;
}
