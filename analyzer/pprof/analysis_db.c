/* analysis_db: see analysis_db.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyzer/pprof/analysis_db.h"
#include "analyzer/store/store.h"
#include "analyzer/util/files.h"

#define BUSY_TIMEOUT_MS 2000

struct gm_error *analysis_db_error(sqlite3 *db, const char *path)
{
	switch (sqlite3_errcode(db) & 0xff) {
	case SQLITE_NOMEM:
		return &gm_error_nomem;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		return gm_error_create(GM_ERR_IO, "%s: %s", path, sqlite3_errmsg(db));
	default:
		return gm_error_create(GM_ERR_SQL, "%s: %s", path, sqlite3_errmsg(db));
	}
}


struct gm_error *analysis_db_meta(sqlite3 *db, const char *path, const char *key, char **ret)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK)
		return analysis_db_error(db, path);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	char *value = NULL;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		value = strdup((const char *)sqlite3_column_text(st, 0));
		if (!value) {
			sqlite3_finalize(st);
			return &gm_error_nomem;
		}
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		struct gm_error *err = analysis_db_error(db, path);
		sqlite3_finalize(st);
		return err;
	}
	sqlite3_finalize(st);
	*ret = value;
	return NULL;
}

/* The file is an SQLite database; is it ours, of the version we read? */
static struct gm_error *check_schema(sqlite3 *db, const char *path)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'", -1, &st,
			       NULL) != SQLITE_OK)
		return analysis_db_error(db, path);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return gm_error_create(GM_ERR_SQL, "%s: not a gomortem database (no meta table)", path);
	if (rc != SQLITE_ROW)
		return analysis_db_error(db, path);
	char *version = NULL;
	struct gm_error *err = analysis_db_meta(db, path, "schema_version", &version);
	if (err)
		return err;
	if (!version)
		err = gm_error_create(GM_ERR_SQL, "%s: not a gomortem database (no meta.schema_version)", path);
	else if (strtol(version, NULL, 10) != GM_SCHEMA_VERSION)
		err = gm_error_create(GM_ERR_SQL, "%s: schema version %s, this gomortem reads version %d", path,
				      version, GM_SCHEMA_VERSION);
	free(version);
	return err;
}

struct table_check {
	sqlite3 *db;
	const char *path;
	struct gm_error *err;
};

/* Table NAME of the schema must be a table in the database, not a view. */
static int check_table(const char *name, const char *def, void *arg)
{
	struct table_check *t = arg;
	(void)def;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(t->db, "SELECT type FROM main.sqlite_schema WHERE name = ? COLLATE NOCASE "
			       "AND type != 'table'", -1, &st, NULL) != SQLITE_OK) {
		t->err = analysis_db_error(t->db, t->path);
		return 1;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		t->err = gm_error_create(GM_ERR_SQL, "%s: %s is a %s, not a table: not a database gomortem wrote",
					 t->path, name, (const char *)sqlite3_column_text(st, 0));
	else if (rc != SQLITE_DONE)
		t->err = analysis_db_error(t->db, t->path);
	sqlite3_finalize(st);
	return t->err != NULL;
}

/* A database is input someone may have crafted: its schema must not run
 * anything.  Functions are not called from the schema (trusted_schema off),
 * gomortem's tables must be tables, and its views are the embedded ones
 * (a database written before a view existed gets it too). */
static struct gm_error *distrust_schema(sqlite3 *db, const char *path)
{
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	struct table_check t = { .db = db, .path = path };
	gm_schema_each("TABLE", check_table, &t);
	if (t.err)
		return t.err;
	return gm_schema_shadow_views(db) == SQLITE_OK ? NULL : analysis_db_error(db, path);
}

struct gm_error *analysis_db_open(const char *path, sqlite3 **ret)
{
	struct gm_error *err = gm_check_readable_file(path);
	if (err)
		return err;
	sqlite3 *db;
	/* One thread uses the connection: no mutex on every call (pprof reads
	 * each object's columns, 8% of its time went to SQLite's mutexes). */
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		if (!db)
			return &gm_error_nomem;
		err = gm_error_create(GM_ERR_IO, "%s: cannot open: %s", path, sqlite3_errmsg(db));
	} else {
		sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
		err = check_schema(db, path);
		if (!err)
			err = distrust_schema(db, path);
	}
	if (err) {
		sqlite3_close(db);
		return err;
	}
	*ret = db;
	return NULL;
}

struct gm_error *analysis_db_require_graph(sqlite3 *db, const char *path, const char *command)
{
	char *analysis = NULL;
	struct gm_error *err = analysis_db_meta(db, path, "analysis", &analysis);
	if (!err && analysis && strcmp(analysis, "heap") == 0)
		err = gm_error_create(GM_ERR_USAGE, "%s: made by 'analyze --heap-only', which builds no object graph; "
				      "'%s' needs the full analysis (run analyze without --heap-only)", path, command);
	free(analysis);
	return err;
}
