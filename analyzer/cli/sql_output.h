/* sql_output: what gomortem sql's output formats share (cmd_sql.c runs
 * the statements; sql_table.c prints an aligned table, sql_formats.c CSV
 * and JSON). */
#ifndef GOMORTEM_CLI_SQL_OUTPUT_H
#define GOMORTEM_CLI_SQL_OUTPUT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "analyzer/util/error.h"
#include "json_writer.h"

/* Rows a table buffers to compute column widths; past it the output stops. */
#define TABLE_MAX_ROWS 1000000
/* Display width at which a table cell is cut, "..." included. */
#define CELL_MAX_WIDTH 80
/* BLOB bytes a table cell shows. */
#define BLOB_SHOWN_BYTES 32

enum sql_format { FORMAT_TABLE, FORMAT_CSV, FORMAT_JSON };

struct sql_options {
	const char *db_path;
	const char *sql;
	const char *core_path, *exe_path;
	enum sql_format format;
	bool header;  /* print column names (table and CSV) */
};

/* State of the output across the statements of one run. */
struct sql_output {
	const struct sql_options *options;
	size_t result_sets;  /* statements with columns printed so far */
	struct gm_json json;
	bool json_open;      /* the JSON array has been begun */
};

extern const char sql_hex_digits[];

/* cmd_sql.c */
/* SQLite's error RC as gomortem's: out of memory, an unreadable DB (exit 3),
 * not a database or an SQL error (exit 11). */
struct gm_error *sqlite_error(sqlite3 *db, int rc, const char *db_path);
struct gm_error *stdout_error(void);
/* An INTEGER or REAL column I: integers in decimal, or in hex when HEX. */
void format_number(sqlite3_stmt *stmt, int i, bool hex, char *buf, size_t len);
/* Whether column NAME holds addresses (printed in hex). */
bool is_address_column(const char *name);
/* Column I's text and its length in bytes. */
struct gm_error *column_text(sqlite3_stmt *stmt, int i, const unsigned char **ret, size_t *ret_len);
/* Column I's BLOB and its length in bytes. */
struct gm_error *column_blob(sqlite3_stmt *stmt, int i, const unsigned char **ret, size_t *ret_len);
/* Step STMT once: *ret_row tells whether a row is ready. */
struct gm_error *step(sqlite3 *db, sqlite3_stmt *stmt, const char *db_path, bool *ret_row);

/* sql_table.c, sql_formats.c: one statement's rows in each format. */
struct gm_error *table_statement(struct sql_output *out, sqlite3 *db, sqlite3_stmt *stmt);
struct gm_error *csv_statement(struct sql_output *out, sqlite3 *db, sqlite3_stmt *stmt);
void json_begin(struct sql_output *out);
struct gm_error *json_statement(struct sql_output *out, sqlite3 *db, sqlite3_stmt *stmt);

#endif
