/* gomortem sql's CSV (RFC 4180) and JSON output, streamed row by row. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sql_output.h"
#include "analyzer/util/strbuf.h"
#include "analyzer/util/terminal.h"

/* ---- CSV ---- */

/* Write N bytes of a CSV field, control characters escaped on a terminal
 * (a core's strings may hold escape sequences); raw into a pipe or file. */
static void csv_bytes(const unsigned char *s, size_t n)
{
	static int terminal = -1;
	if (terminal < 0)
		terminal = isatty(STDOUT_FILENO);
	if (terminal)
		gm_write_escaped(stdout, (const char *)s, n);
	else
		fwrite(s, 1, n, stdout);
}

/* One RFC 4180 field: quoted when it holds a comma, quote, CR or LF. */
static void csv_text(const unsigned char *s, size_t n)
{
	bool quote = false;
	for (size_t i = 0; i < n && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
	if (!quote) {
		csv_bytes(s, n);
		return;
	}
	putchar('"');
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"') {
			csv_bytes(s + start, i + 1 - start);  /* a quote doubled */
			start = i;
		}
	}
	csv_bytes(s + start, n - start);
	putchar('"');
}

static void csv_hex(const unsigned char *blob, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		putchar(sql_hex_digits[blob[i] >> 4]);
		putchar(sql_hex_digits[blob[i] & 0xf]);
	}
}

static struct gm_error *csv_value(sqlite3_stmt *stmt, int i)
{
	char number[48];
	const unsigned char *text;
	size_t len;
	struct gm_error *err;
	switch (sqlite3_column_type(stmt, i)) {
	case SQLITE_INTEGER:
	case SQLITE_FLOAT:
		format_number(stmt, i, false, number, sizeof(number));
		fputs(number, stdout);
		return NULL;
	case SQLITE_TEXT:
		if ((err = column_text(stmt, i, &text, &len)))
			return err;
		csv_text(text, len);
		return NULL;
	case SQLITE_BLOB:
		if ((err = column_blob(stmt, i, &text, &len)))
			return err;
		csv_hex(text, len);
		return NULL;
	default:
		return NULL;
	}
}

static struct gm_error *csv_header(sqlite3_stmt *stmt)
{
	int ncols = sqlite3_column_count(stmt);
	for (int i = 0; i < ncols; i++) {
		const char *name = sqlite3_column_name(stmt, i);
		if (!name)
			return &gm_error_nomem;
		if (i > 0)
			putchar(',');
		csv_text((const unsigned char *)name, strlen(name));
	}
	fputs("\r\n", stdout);
	return NULL;
}

struct gm_error *csv_statement(struct sql_output *out, sqlite3 *db, sqlite3_stmt *stmt)
{
	int ncols = sqlite3_column_count(stmt);
	struct gm_error *err = out->options->header ? csv_header(stmt) : NULL;
	bool row = false;
	while (!err && !(err = step(db, stmt, out->options->db_path, &row)) && row) {
		for (int i = 0; i < ncols && !err; i++) {
			if (i > 0)
				putchar(',');
			err = csv_value(stmt, i);
		}
		fputs("\r\n", stdout);
		if (!err && ferror(stdout))
			err = stdout_error();
	}
	return err;
}

/* ---- JSON ---- */

static struct gm_error *json_blob(struct gm_json *j, const unsigned char *blob, size_t n)
{
	char *hex = malloc(2 * n + 1);
	if (!hex)
		return &gm_error_nomem;
	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = sql_hex_digits[blob[i] >> 4];
		hex[2 * i + 1] = sql_hex_digits[blob[i] & 0xf];
	}
	hex[2 * n] = '\0';
	gm_json_string(j, hex);
	free(hex);
	return NULL;
}

/* The subtype SQLite's JSON functions give their text results (json.c). */
#define JSON_SUBTYPE 'J'

static struct gm_error *json_value(struct gm_json *j, sqlite3_stmt *stmt, int i)
{
	const unsigned char *text;
	size_t len;
	struct gm_error *err;
	switch (sqlite3_column_type(stmt, i)) {
	case SQLITE_INTEGER:
		gm_json_int(j, sqlite3_column_int64(stmt, i));
		return NULL;
	case SQLITE_FLOAT:
		gm_json_double(j, sqlite3_column_double(stmt, i));
		return NULL;
	case SQLITE_TEXT:
		if ((err = column_text(stmt, i, &text, &len)))
			return err;
		/* What SQLite's JSON functions return (json_object(), json_group_array(), ...)
		 * carries the subtype 'J' to the result column: nested as JSON, not quoted. */
		if (sqlite3_value_subtype(sqlite3_column_value(stmt, i)) == JSON_SUBTYPE)
			gm_json_raw(j, (const char *)text);
		else
			gm_json_string(j, (const char *)text);
		return NULL;
	case SQLITE_BLOB:
		if ((err = column_blob(stmt, i, &text, &len)))
			return err;
		return json_blob(j, text, len);
	default:
		gm_json_null(j);
		return NULL;
	}
}

static struct gm_error *json_row(struct gm_json *j, sqlite3_stmt *stmt)
{
	int ncols = sqlite3_column_count(stmt);
	gm_json_begin_object(j);
	for (int i = 0; i < ncols; i++) {
		const char *name = sqlite3_column_name(stmt, i);
		if (!name)
			return &gm_error_nomem;
		gm_json_key(j, name);
		struct gm_error *err = json_value(j, stmt, i);
		if (err)
			return err;
	}
	gm_json_end_object(j);
	return NULL;
}

/* The array is begun at the first statement with columns, so that an error
 * before any output leaves stdout empty, and is left open after an error so
 * that no reader takes a partial result for a whole one. */
void json_begin(struct sql_output *out)
{
	if (out->json_open)
		return;
	gm_json_init(&out->json, stdout);
	gm_json_begin_array(&out->json);
	out->json_open = true;
}

struct gm_error *json_statement(struct sql_output *out, sqlite3 *db, sqlite3_stmt *stmt)
{
	json_begin(out);
	struct gm_error *err;
	bool row = false;
	while (!(err = step(db, stmt, out->options->db_path, &row)) && row) {
		if ((err = json_row(&out->json, stmt)))
			break;
		if (ferror(stdout))
			return stdout_error();
	}
	return err;
}
