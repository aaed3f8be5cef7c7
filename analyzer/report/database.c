/* The report's queries: the analysis database opened read-only (with the
 * checks of pprof/analysis_db.c), its meta table read once, and the few
 * helpers every section uses to prepare and step statements, turning
 * SQLite's failures into gomortem errors that name the file. */
#include "report_internal.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/pprof/analysis_db.h"

struct gm_error *report_db_error(struct report *r, const char *what)
{
	int rc = sqlite3_errcode(r->db) & 0xff;
	if (rc == SQLITE_NOMEM)
		return &gm_error_nomem;
	if (rc == SQLITE_IOERR || rc == SQLITE_CANTOPEN)
		return gm_error_create(GM_ERR_IO, "%s: %s: %s", r->options->db_path, what, sqlite3_errmsg(r->db));
	return gm_error_create(GM_ERR_SQL, "%s: %s: %s", r->options->db_path, what, sqlite3_errmsg(r->db));
}

struct gm_error *report_prepare(struct report *r, const char *sql, sqlite3_stmt **ret)
{
	if (sqlite3_prepare_v2(r->db, sql, -1, ret, NULL) != SQLITE_OK)
		return report_db_error(r, "preparing a query");
	return NULL;
}

/* Step STMT: *ret_row tells whether a row came. */
struct gm_error *report_step(struct report *r, sqlite3_stmt *stmt, bool *ret_row)
{
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		*ret_row = rc == SQLITE_ROW;
		return NULL;
	}
	return report_db_error(r, "reading");
}

/* A single integer from SQL (0 when no row or NULL). */
struct gm_error *report_query_int(struct report *r, const char *sql, int64_t *ret)
{
	sqlite3_stmt *stmt;
	struct gm_error *err = report_prepare(r, sql, &stmt);
	bool row = false;
	if (!err && !(err = report_step(r, stmt, &row)))
		*ret = row ? sqlite3_column_int64(stmt, 0) : 0;
	sqlite3_finalize(stmt);
	return err;
}

const char *report_col_text(sqlite3_stmt *stmt, int i)
{
	return (const char *)sqlite3_column_text(stmt, i);
}

const char *report_meta(const struct report *r, const char *key)
{
	for (size_t i = 0; i < r->nmeta; i++)
		if (strcmp(r->meta_keys[i], key) == 0)
			return r->meta_values[i];
	return NULL;
}

static void report_meta_free(struct report *r)
{
	for (size_t i = 0; i < r->nmeta; i++) {
		free(r->meta_keys[i]);
		free(r->meta_values[i]);
	}
	free(r->meta_keys);
	free(r->meta_values);
	r->meta_keys = r->meta_values = NULL;
	r->nmeta = 0;
}

/* Read the meta table; its absence means the file is not a gomortem database. */
static struct gm_error *report_meta_load(struct report *r)
{
	sqlite3_stmt *stmt;
	if (sqlite3_prepare_v2(r->db, "SELECT key, value FROM meta", -1, &stmt, NULL) != SQLITE_OK) {
		int rc = sqlite3_errcode(r->db) & 0xff;
		if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT)
			return gm_error_create(GM_ERR_SQL, "%s: not an SQLite database (%s)", r->options->db_path,
					       sqlite3_errmsg(r->db));
		if (rc == SQLITE_ERROR)
			return gm_error_create(GM_ERR_SQL, "%s: not a gomortem database (no meta table; make one "
					       "with gomortem analyze)", r->options->db_path);
		return report_db_error(r, "reading meta");
	}
	struct gm_error *err = NULL;
	bool row = false;
	while (!(err = report_step(r, stmt, &row)) && row) {
		char **keys = realloc(r->meta_keys, (r->nmeta + 1) * sizeof(*keys));
		if (keys)
			r->meta_keys = keys;
		char **values = keys ? realloc(r->meta_values, (r->nmeta + 1) * sizeof(*values)) : NULL;
		if (values)
			r->meta_values = values;
		const char *k = report_col_text(stmt, 0), *v = report_col_text(stmt, 1);
		char *kc = values ? strdup(k ? k : "") : NULL, *vc = kc ? strdup(v ? v : "") : NULL;
		if (!vc) {
			free(kc);
			err = &gm_error_nomem;
			break;
		}
		r->meta_keys[r->nmeta] = kc;
		r->meta_values[r->nmeta++] = vc;
	}
	sqlite3_finalize(stmt);
	if (!err && !report_meta(r, "schema_version"))
		err = gm_error_create(GM_ERR_SQL, "%s: not a gomortem database (meta has no schema_version)",
				      r->options->db_path);
	return err;
}

struct gm_error *report_open(struct report *r)
{
	const char *path = r->options->db_path;
	struct gm_error *err = analysis_db_open(path, &r->db);
	if (!err)
		err = report_meta_load(r);
	return err;
}

void report_close(struct report *r)
{
	report_meta_free(r);
	sqlite3_close(r->db);
	r->db = NULL;
}
