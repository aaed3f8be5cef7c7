/* analysis_db: see analysis_db.h. */
#include <errno.h>
#include <stdio.h>
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

extern const char gm_schema_tables_sql[];
extern const char gm_schema_post_sql[];

/* The identifier after each "CREATE KIND " of SCHEMA, in turn: CALLBACK
 * gets the name and the statement's text, until it returns an error. */
static struct gm_error *each_definition(const char *schema, const char *kind,
					struct gm_error *(*callback)(sqlite3 *db, const char *path,
								     const char *name, const char *def),
					sqlite3 *db, const char *path)
{
	char head[32];
	snprintf(head, sizeof(head), "CREATE %s ", kind);
	struct gm_error *err = NULL;
	for (const char *def = strstr(schema, head); def && !err; def = strstr(def + 1, head)) {
		const char *name = def + strlen(head);
		char ident[64];
		size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyz_0123456789");
		if (n == 0 || n >= sizeof(ident))
			continue;
		memcpy(ident, name, n);
		ident[n] = '\0';
		err = callback(db, path, ident, def);
	}
	return err;
}

/* Table NAME of the schema must be a table in the database, not a view. */
static struct gm_error *check_table(sqlite3 *db, const char *path, const char *name, const char *def)
{
	(void)def;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT type FROM main.sqlite_schema WHERE name = ? COLLATE NOCASE "
			       "AND type != 'table'", -1, &st, NULL) != SQLITE_OK)
		return analysis_db_error(db, path);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	struct gm_error *err = NULL;
	if (rc == SQLITE_ROW)
		err = gm_error_create(GM_ERR_SQL, "%s: %s is a %s, not a table: not a database gomortem wrote", path,
				      name, (const char *)sqlite3_column_text(st, 0));
	else if (rc != SQLITE_DONE)
		err = analysis_db_error(db, path);
	sqlite3_finalize(st);
	return err;
}

/* View NAME as the embedded schema defines it (DEF), as a TEMP view: it
 * shadows whatever the database holds under that name. */
static struct gm_error *shadow_view(sqlite3 *db, const char *path, const char *name, const char *def)
{
	(void)name;
	char *sql;
	if (asprintf(&sql, "CREATE TEMP VIEW %s", def + strlen("CREATE VIEW ")) < 0)
		return &gm_error_nomem;
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL); /* the first statement only */
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	free(sql);
	return rc == SQLITE_DONE ? NULL : analysis_db_error(db, path);
}

/* A database is input someone may have crafted: its schema must not run
 * anything.  Functions are not called from the schema (trusted_schema off),
 * gomortem's tables must be tables, and its views are the embedded ones
 * (a database written before a view existed gets it too). */
static struct gm_error *distrust_schema(sqlite3 *db, const char *path)
{
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	struct gm_error *err = each_definition(gm_schema_tables_sql, "TABLE", check_table, db, path);
	return err ? err : each_definition(gm_schema_post_sql, "VIEW", shadow_view, db, path);
}

struct gm_error *analysis_db_open(const char *path, sqlite3 **ret)
{
	struct gm_error *err = gm_check_readable_file(path);
	if (err)
		return err;
	sqlite3 *db;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
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
