/* analysis_db: opening a database that `gomortem analyze` wrote, for the
 * commands that read one (pprof, diff), and reading its meta facts. */
#ifndef GOMORTEM_ANALYSIS_DB_H
#define GOMORTEM_ANALYSIS_DB_H

#include <sqlite3.h>

#include "analyzer/util/error.h"

/* Open PATH read-only and check that it is a gomortem analysis database of
 * the schema version this build reads (meta.schema_version).
 * Errors: GM_ERR_IO when the file cannot be opened or read (missing, a
 * directory, no permission); GM_ERR_SQL when it is not an SQLite database,
 * has no meta table or another schema version, or when one of gomortem's
 * table names is a view.  The database is untrusted: its schema runs no
 * function (trusted_schema off) and gomortem's views are TEMP views from the
 * embedded schema, shadowing whatever the file defines under their names.
 * On success *RET is the connection, closed by the caller with sqlite3_close(). */
struct gm_error *analysis_db_open(const char *path, sqlite3 **ret);

/* GM_ERR_USAGE naming COMMAND when the database was made by analyze
 * --heap-only (meta.analysis = 'heap'): it has no graph, reachability or
 * retained sizes for COMMAND to use. */
struct gm_error *analysis_db_require_graph(sqlite3 *db, const char *path, const char *command);

/* The meta value of KEY as a string the caller frees, or NULL in *RET when
 * the database has no such fact. */
struct gm_error *analysis_db_meta(sqlite3 *db, const char *path, const char *key, char **ret);

/* An SQL error of the database at PATH: GM_ERR_SQL with SQLite's message
 * (GM_ERR_NO_MEMORY's static error for SQLITE_NOMEM, GM_ERR_IO for I/O errors). */
struct gm_error *analysis_db_error(sqlite3 *db, const char *path);

#endif
