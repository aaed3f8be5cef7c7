/* gomortem sql: run SQL over an analysis database and print the rows as an
 * aligned table, CSV or JSON.  The database is opened read-only. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "analyzer/util/files.h"
#include "analyzer/util/strbuf.h"
#include "analyzer/util/error.h"
#include "json_writer.h"
#include "analyzer/sqlfuncs/heapfuncs.h"
#include "analyzer/store/store.h"
#include "analyzer/util/terminal.h"

static const char sql_usage[] =
	"usage: gomortem sql DB SQL [--csv | --json] [--header | --no-header]\n"
	"\n"
	"Run SQL over the SQLite database DB (opened read-only) and print the rows of\n"
	"every statement that returns columns, in order.  SQL may hold several\n"
	"statements separated by ';'.\n"
	"\n"
	"The default output is a table: a header, a line of dashes, then the rows,\n"
	"columns padded to their widest value (a cell shows at most 80 characters,\n"
	"longer ones end in \"...\"), numbers right-aligned, NULL shown as NULL, BLOBs\n"
	"as x'hex' (first 32 bytes), control characters escaped (\\n, \\t, \\xHH; C1\n"
	"controls and bytes that are not UTF-8 too).\n"
	"Integers in a column named addr, *_addr, base, limit, pc, sp, fp, stack_lo,\n"
	"stack_hi, start, end, first_object or dst print as 0x hex.\n"
	"\"(N rows)\" follows each table when stdout is a terminal.  A table stops at\n"
	"1000000 rows (a note on stderr says so); --csv and --json stream any number.\n"
	"\n"
	"  --csv        RFC 4180 CSV (CRLF line ends); NULL is an empty field, BLOBs\n"
	"               are hex, integers decimal; one header line per statement;\n"
	"               control characters escaped when stdout is a terminal\n"
	"  --json       a JSON array of objects (column name -> value) holding the rows\n"
	"               of every statement; NULL is null, BLOBs are hex strings; what\n"
	"               SQLite marks as JSON (json_object() and the other JSON functions'\n"
	"               results) nests as JSON; a sort not in an index's order or a\n"
	"               flattened subquery drops the mark, which json(col) in the\n"
	"               outermost SELECT sets again\n"
	"  --header     print the column names (default; table and CSV)\n"
	"  --no-header  do not print the column names\n"
	"  --core CORE  the core the database was made from (default: meta.core_path)\n"
	"  --exe EXE    its executable (default: meta.exe_path)\n"
	"  -h, --help   show this help\n"
	"\n"
	"Heap contents are read from the core on demand (the database stores none):\n"
	"  go_string(addr, len), field(object_id, 'Path.To[2].Field'), go_value(object_id),\n"
	"  and go_type('main.T') as a table: one row per object of that type, with\n"
	"  object_id, object_addr and one column per struct member, e.g.\n"
	"    SELECT ID, Name FROM go_type('main.Leaf') WHERE Name LIKE 'key-%'\n"
	"\n"
	"When SQL starts with '-', end the options with --: gomortem sql --csv -- DB SQL\n"
	"\n"
	"Exit status: 0 ok; 3 DB cannot be opened or read; 11 DB is not an SQLite\n"
	"database, or an SQL error; others in docs/exit-codes.md.\n";

/* Rows a table buffers to compute column widths; past it the output stops. */
#define TABLE_MAX_ROWS 1000000
/* Display width at which a table cell is cut, "..." included. */
#define CELL_MAX_WIDTH 80
/* BLOB bytes a table cell shows. */
#define BLOB_SHOWN_BYTES 32
#define BUSY_TIMEOUT_MS 5000

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

static const char hex_digits[] = "0123456789abcdef";

/* ---- errors ---- */

/* Wrap SQLite's error RC: out of memory, an unreadable DB (exit 3), a file
 * that is not a database (exit 11), else an SQL error (exit 11). */
static struct gm_error *sqlite_error(sqlite3 *db, int rc, const char *db_path)
{
	const char *message = sqlite3_errmsg(db);
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return &gm_error_nomem;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		return gm_error_create(GM_ERR_IO, "%s: %s", db_path, message);
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return gm_error_create(GM_ERR_SQL, "%s: %s", db_path, message);
	default:
		return gm_error_create(GM_ERR_SQL, "SQL error: %s", message);
	}
}

static struct gm_error *stdout_error(void)
{
	return gm_error_create(GM_ERR_IO, "stdout: write error: %s", strerror(errno));
}

/* ---- values as text ---- */

/* The shortest of %.15g, %.16g, %.17g that reads back as V, with ".0" added
 * when it would otherwise look like an integer. */
static void format_real(double v, char *buf, size_t len)
{
	for (int precision = 15; precision <= 17; precision++) {
		snprintf(buf, len, "%.*g", precision, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (!strpbrk(buf, ".eEnN"))
		strncat(buf, ".0", len - strlen(buf) - 1);
}

/* An INTEGER or REAL column I: integers in decimal, or in hex when HEX. */
static void format_number(sqlite3_stmt *stmt, int i, bool hex, char *buf, size_t len)
{
	if (sqlite3_column_type(stmt, i) == SQLITE_FLOAT)
		format_real(sqlite3_column_double(stmt, i), buf, len);
	else if (hex)
		snprintf(buf, len, "0x%" PRIx64, (uint64_t)sqlite3_column_int64(stmt, i));
	else
		snprintf(buf, len, "%" PRId64, (int64_t)sqlite3_column_int64(stmt, i));
}

/* Addresses are what people look at: these columns print integers in hex
 * (the schema's address columns: objects, spans, goroutines, frames,
 * thread_frames, mappings, edges). */
static bool is_address_column(const char *name)
{
	static const char *const names[] = { "addr", "base", "limit", "pc", "sp", "fp", "stack_lo", "stack_hi",
					     "start", "end", "first_object", "dst" };
	size_t len = strlen(name);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i]) == 0)
			return true;
	return len >= 5 && strcasecmp(name + len - 5, "_addr") == 0;
}

/* Column I's text and its length in bytes. */
static struct gm_error *column_text(sqlite3_stmt *stmt, int i,
				    const unsigned char **ret, size_t *ret_len)
{
	const unsigned char *text = sqlite3_column_text(stmt, i);
	if (!text)  /* the column is TEXT: only out-of-memory gives NULL */
		return &gm_error_nomem;
	*ret_len = (size_t)sqlite3_column_bytes(stmt, i);
	*ret = text;
	return NULL;
}

/* ---- table cells: escaped, cut at CELL_MAX_WIDTH ---- */

/* Display width of one unit (a character or an escape) at S; *ret_bytes its
 * length in S.  Control characters are escaped (util/terminal.h). */
static size_t unit_width(const unsigned char *s, size_t n, size_t *ret_bytes)
{
	char escape[16];
	size_t escaped = gm_escape_char(s, n, escape, ret_bytes);
	return escaped ? escaped : 1;
}

static size_t text_width(const unsigned char *s, size_t n)
{
	size_t width = 0, bytes;
	for (size_t i = 0; i < n; i += bytes)
		width += unit_width(s + i, n - i, &bytes);
	return width;
}

/* Append text S escaped, cut to CELL_MAX_WIDTH; returns the display width. */
static size_t add_display_text(struct strbuf *sb, const unsigned char *s, size_t n)
{
	size_t limit = text_width(s, n) > CELL_MAX_WIDTH ? CELL_MAX_WIDTH - 3 : CELL_MAX_WIDTH;
	size_t width = 0, bytes;
	for (size_t i = 0; i < n; i += bytes) {
		size_t w = unit_width(s + i, n - i, &bytes);
		if (width + w > limit)
			break;
		char escape[16];
		if (gm_escape_char(s + i, n - i, escape, &bytes))
			sb_add(sb, escape, w);
		else
			sb_add(sb, (const char *)s + i, bytes);
		width += w;
	}
	if (limit < CELL_MAX_WIDTH) {
		sb_add(sb, "...", 3);
		width += 3;
	}
	return width;
}

/* x'hex' of the first BLOB_SHOWN_BYTES bytes, "..." after it when there are more. */
static size_t add_display_blob(struct strbuf *sb, const unsigned char *blob, size_t n)
{
	size_t shown = n < BLOB_SHOWN_BYTES ? n : BLOB_SHOWN_BYTES;
	sb_add(sb, "x'", 2);
	for (size_t i = 0; i < shown; i++) {
		sb_addc(sb, hex_digits[blob[i] >> 4]);
		sb_addc(sb, hex_digits[blob[i] & 0xf]);
	}
	sb_addc(sb, '\'');
	if (shown < n)
		sb_add(sb, "...", 3);
	return 3 + 2 * shown + (shown < n ? 3 : 0);
}

/* ---- table ---- */

/* The kind byte that starts each cell of a buffered row. */
enum { CELL_NULL = 'N', CELL_NUMBER = 'R', CELL_TEXT = 'L' };

struct table_column {
	char *header;      /* display form of the column name */
	bool hex;          /* integers print as 0x... */
	bool has_number;
	bool has_text;     /* TEXT or BLOB */
	size_t width;      /* widest display width in the column */
};

struct table {
	int ncols;
	struct table_column *columns;
	char **rows;       /* per cell: a kind byte, then the NUL-terminated display text */
	size_t nrows, cap;
	struct strbuf scratch;  /* the row being built */
};

static void table_deinit(struct table *t)
{
	for (int i = 0; t->columns && i < t->ncols; i++)
		free(t->columns[i].header);
	free(t->columns);
	for (size_t i = 0; i < t->nrows; i++)
		free(t->rows[i]);
	free(t->rows);
	free(t->scratch.data);
}

/* Right-aligned: numbers, and the NULLs and header of a column of numbers. */
static bool column_right_aligned(const struct table_column *col)
{
	return col->has_number && !col->has_text;
}

static struct gm_error *table_init(struct table *t, sqlite3_stmt *stmt, bool header)
{
	*t = (struct table){ .ncols = sqlite3_column_count(stmt) };
	t->columns = calloc((size_t)t->ncols, sizeof(*t->columns));
	if (!t->columns)
		return &gm_error_nomem;
	for (int i = 0; i < t->ncols; i++) {
		struct table_column *col = &t->columns[i];
		const char *name = sqlite3_column_name(stmt, i);
		if (!name)
			return &gm_error_nomem;
		struct strbuf sb = { 0 };
		size_t width = add_display_text(&sb, (const unsigned char *)name, strlen(name));
		sb_add(&sb, "", 0);
		col->header = sb.data;
		if (sb.failed)
			return &gm_error_nomem;
		col->hex = is_address_column(name);
		col->width = header ? width : 0;
	}
	return NULL;
}

/* Append the display form of column I of the current row; returns its width. */
static struct gm_error *table_add_cell(struct table *t, sqlite3_stmt *stmt, int i,
				       size_t *ret_width)
{
	struct table_column *col = &t->columns[i];
	struct strbuf *sb = &t->scratch;
	char number[48];
	const unsigned char *text;
	size_t len;
	struct gm_error *err;
	switch (sqlite3_column_type(stmt, i)) {
	case SQLITE_INTEGER:
	case SQLITE_FLOAT:
		format_number(stmt, i, col->hex, number, sizeof(number));
		col->has_number = true;
		sb_addc(sb, CELL_NUMBER);
		sb_add(sb, number, strlen(number));
		*ret_width = strlen(number);
		return NULL;
	case SQLITE_TEXT:
		if ((err = column_text(stmt, i, &text, &len)))
			return err;
		col->has_text = true;
		sb_addc(sb, CELL_TEXT);
		*ret_width = add_display_text(sb, text, len);
		return NULL;
	case SQLITE_BLOB:
		len = (size_t)sqlite3_column_bytes(stmt, i);
		text = sqlite3_column_blob(stmt, i);
		if (!text && len)
			return &gm_error_nomem;
		col->has_text = true;
		sb_addc(sb, CELL_TEXT);
		*ret_width = add_display_blob(sb, text, len);
		return NULL;
	default:
		sb_addc(sb, CELL_NULL);
		sb_add(sb, "NULL", 4);
		*ret_width = 4;
		return NULL;
	}
}

static struct gm_error *table_add_row(struct table *t, sqlite3_stmt *stmt)
{
	t->scratch.len = 0;
	for (int i = 0; i < t->ncols; i++) {
		size_t width;
		struct gm_error *err = table_add_cell(t, stmt, i, &width);
		if (err)
			return err;
		sb_addc(&t->scratch, '\0');
		if (width > t->columns[i].width)
			t->columns[i].width = width;
	}
	if (t->scratch.failed)
		return &gm_error_nomem;
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 1024;
		char **rows = realloc(t->rows, cap * sizeof(*rows));
		if (!rows)
			return &gm_error_nomem;
		t->rows = rows;
		t->cap = cap;
	}
	char *row = malloc(t->scratch.len ? t->scratch.len : 1);
	if (!row)
		return &gm_error_nomem;
	memcpy(row, t->scratch.data, t->scratch.len);
	t->rows[t->nrows++] = row;
	return NULL;
}

/* Display width of a cell already escaped: one column per UTF-8 character,
 * counted as text_width() counts it. */
static size_t utf8_width(const char *s)
{
	return text_width((const unsigned char *)s, strlen(s));
}

static void print_cell(const char *text, const struct table_column *col, bool right, bool last)
{
	int pad = (int)(col->width - utf8_width(text));
	if (right)
		printf("%*s%s", pad, "", text);
	else if (last)
		fputs(text, stdout);
	else
		printf("%s%*s", text, pad, "");
	fputs(last ? "\n" : "  ", stdout);
}

static void table_print_header(const struct table *t)
{
	for (int i = 0; i < t->ncols; i++) {
		const struct table_column *col = &t->columns[i];
		print_cell(col->header, col, column_right_aligned(col), i + 1 == t->ncols);
	}
	for (int i = 0; i < t->ncols; i++) {
		for (size_t k = 0; k < t->columns[i].width; k++)
			putchar('-');
		fputs(i + 1 == t->ncols ? "\n" : "  ", stdout);
	}
}

static void table_print(const struct table *t, bool header)
{
	if (header)
		table_print_header(t);
	for (size_t r = 0; r < t->nrows; r++) {
		const char *cell = t->rows[r];
		for (int i = 0; i < t->ncols; i++) {
			const struct table_column *col = &t->columns[i];
			char kind = *cell++;
			bool right = kind == CELL_NUMBER || (kind == CELL_NULL && column_right_aligned(col));
			print_cell(cell, col, right, i + 1 == t->ncols);
			cell += strlen(cell) + 1;
		}
	}
	if (isatty(STDOUT_FILENO))
		printf("(%zu row%s)\n", t->nrows, t->nrows == 1 ? "" : "s");
}

/* Step STMT once: *ret_row tells whether a row is ready. */
static struct gm_error *step(sqlite3 *db, sqlite3_stmt *stmt, const char *db_path, bool *ret_row)
{
	int rc = sqlite3_step(stmt);
	*ret_row = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return NULL;
	return sqlite_error(db, rc, db_path);
}

/* Buffer the rows (up to TABLE_MAX_ROWS) to size the columns, then print them. */
static struct gm_error *table_statement(struct sql_output *out, sqlite3 *db, sqlite3_stmt *stmt)
{
	struct table t;
	struct gm_error *err = table_init(&t, stmt, out->options->header);
	bool row = false;
	while (!err && !(err = step(db, stmt, out->options->db_path, &row)) && row && t.nrows < TABLE_MAX_ROWS)
		err = table_add_row(&t, stmt);
	if (!err) {
		if (out->result_sets > 0)
			putchar('\n');
		table_print(&t, out->options->header);
		if (row) {
			fflush(stdout);
			fprintf(stderr, "gomortem: output truncated at %d rows; use --csv for all\n",
				TABLE_MAX_ROWS);
		}
	}
	table_deinit(&t);
	return err;
}

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
		putchar(hex_digits[blob[i] >> 4]);
		putchar(hex_digits[blob[i] & 0xf]);
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
		len = (size_t)sqlite3_column_bytes(stmt, i);
		text = sqlite3_column_blob(stmt, i);
		if (!text && len)
			return &gm_error_nomem;
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

static struct gm_error *csv_statement(struct sql_output *out, sqlite3 *db, sqlite3_stmt *stmt)
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
		hex[2 * i] = hex_digits[blob[i] >> 4];
		hex[2 * i + 1] = hex_digits[blob[i] & 0xf];
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
		len = (size_t)sqlite3_column_bytes(stmt, i);
		text = sqlite3_column_blob(stmt, i);
		if (!text && len)
			return &gm_error_nomem;
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
static void json_begin(struct sql_output *out)
{
	if (out->json_open)
		return;
	gm_json_init(&out->json, stdout);
	gm_json_begin_array(&out->json);
	out->json_open = true;
}

static struct gm_error *json_statement(struct sql_output *out, sqlite3 *db, sqlite3_stmt *stmt)
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

/* ---- statements ---- */

static struct gm_error *run_statement(struct sql_output *out, sqlite3 *db, sqlite3_stmt *stmt)
{
	struct gm_error *err;
	bool row;
	if (sqlite3_column_count(stmt) == 0) {
		while (!(err = step(db, stmt, out->options->db_path, &row)) && row)
			;
		return err;
	}
	switch (out->options->format) {
	case FORMAT_CSV: err = csv_statement(out, db, stmt); break;
	case FORMAT_JSON: err = json_statement(out, db, stmt); break;
	default: err = table_statement(out, db, stmt); break;
	}
	out->result_sets++;
	return err;
}

/* Prepare and run each statement of the SQL text in turn. */
static struct gm_error *run_all(sqlite3 *db, const struct sql_options *options)
{
	struct sql_output out = { .options = options };
	const char *sql = options->sql;
	while (*sql) {
		sqlite3_stmt *stmt;
		const char *tail;
		int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, &tail);
		if (rc != SQLITE_OK)
			return sqlite_error(db, rc, options->db_path);
		if (!stmt) {  /* whitespace, a comment or a lone ';' */
			if (tail == sql)
				break;
			sql = tail;
			continue;
		}
		sql = tail;
		struct gm_error *err = run_statement(&out, db, stmt);
		rc = sqlite3_finalize(stmt);
		if (!err && rc != SQLITE_OK)
			err = sqlite_error(db, rc, options->db_path);
		if (err)
			return err;
	}
	if (options->format == FORMAT_JSON) {
		json_begin(&out);
		gm_json_end_array(&out.json);
	}
	return NULL;
}

/* ---- the database ---- */

/* Fail early, with errno's words, on a path SQLite could not read. */

/* Read the schema once, so that a file that is not a database is named as such. */
static struct gm_error *probe_database(sqlite3 *db, const char *path)
{
	sqlite3_stmt *stmt;
	int rc = sqlite3_prepare_v2(db, "PRAGMA schema_version", -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return sqlite_error(db, rc, path);
	rc = sqlite3_step(stmt);
	int finalized = sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sqlite_error(db, rc, path);
	if (finalized != SQLITE_OK)
		return sqlite_error(db, finalized, path);
	return NULL;
}

static struct gm_error *open_database(const char *path, sqlite3 **ret)
{
	struct gm_error *err = gm_check_readable_file(path);
	if (err)
		return err;
	sqlite3 *db;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	if (rc == SQLITE_OK) /* no function runs from the file's schema */
		rc = sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	if (rc != SQLITE_OK) {
		if (!db)
			return &gm_error_nomem;
		err = gm_error_create(GM_ERR_IO, "%s: cannot open: %s", path, sqlite3_errmsg(db));
	} else {
		err = probe_database(db, path);
	}
	if (err) {
		sqlite3_close(db);
		return err;
	}
	*ret = db;
	return NULL;
}

/* go_type('main.T') in FROM clauses: SQLite's table-valued functions have
 * fixed columns, but go_type has one per member of T, so each use becomes a
 * temporary virtual table "go_type:main.T" made with the go_type module. */
static struct gm_error *expand_go_type(sqlite3 *db, const char *sql, char **ret)
{
	sqlite3_str *out = sqlite3_str_new(db);
	const char *p = sql;
	struct gm_error *err = NULL;
	for (const char *hit; !err && (hit = strstr(p, "go_type('")) != NULL;) {
		const char *name = hit + strlen("go_type('"), *end = strstr(name, "')");
		if (!end)
			break;
		char *table = sqlite3_mprintf("go_type:%.*s", (int)(end - name), name);
		char *ddl = sqlite3_mprintf("CREATE VIRTUAL TABLE IF NOT EXISTS temp.\"%w\" USING go_type(%Q)", table,
					    table + strlen("go_type:"));
		char *msg = NULL;
		if (!table || !ddl)
			err = &gm_error_nomem;
		else if (sqlite3_exec(db, ddl, NULL, NULL, &msg) != SQLITE_OK)
			err = gm_error_create(GM_ERR_SQL, "SQL error: go_type: %s", msg ? msg : sqlite3_errmsg(db));
		else
			sqlite3_str_appendf(out, "%.*s\"%w\"", (int)(hit - p), p, table);
		sqlite3_free(msg);
		sqlite3_free(ddl);
		sqlite3_free(table);
		p = end + 2;
	}
	sqlite3_str_appendall(out, p);
	char *text = sqlite3_str_finish(out);
	if (err || !text) {
		sqlite3_free(text);
		return err ? err : &gm_error_nomem;
	}
	*ret = text;
	return NULL;
}

/* ---- command line ---- */

/* Parse the command line into *RET; *RET_RUN is false when the command is done
 * (help or a usage error) and the returned status is final. */
static int parse_options(int argc, char **argv, struct sql_options *ret, bool *ret_run)
{
	static const struct option longopts[] = {
		{ "csv", no_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "header", no_argument, NULL, 'H' },
		{ "no-header", no_argument, NULL, 'n' },
		{ "core", required_argument, NULL, 'C' },
		{ "exe", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sql_options options = { .format = FORMAT_TABLE, .header = true };
	bool csv = false, json = false;
	int c;
	*ret_run = false;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': csv = true; break;
		case 'j': json = true; break;
		case 'H': options.header = true; break;
		case 'n': options.header = false; break;
		case 'C': options.core_path = optarg; break;
		case 'E': options.exe_path = optarg; break;
		case 'h': fputs(sql_usage, stdout); return 0;
		default: return cli_usage_error("sql", "bad option");
		}
	}
	if (csv && json)
		return cli_usage_error("sql", "--csv and --json exclude each other");
	if (argc - optind != 2)
		return cli_usage_error("sql", "expected DB and SQL arguments, got %d", argc - optind);
	options.format = csv ? FORMAT_CSV : json ? FORMAT_JSON : FORMAT_TABLE;
	options.db_path = argv[optind];
	options.sql = argv[optind + 1];
	*ret = options;
	*ret_run = true;
	return 0;
}

int cmd_sql(int argc, char **argv)
{
	struct sql_options options;
	bool run;
	int status = parse_options(argc, argv, &options, &run);
	if (!run)
		return status;
	sqlite3 *db;
	struct gm_error *err = open_database(options.db_path, &db);
	if (err)
		return gm_error_report(err);
	char *rewritten = NULL;
	if (gm_heapfuncs_register(db, options.core_path, options.exe_path) != SQLITE_OK)
		err = gm_error_create(GM_ERR_INTERNAL, "cannot register the heap functions: %s", sqlite3_errmsg(db));
	else
		gm_schema_shadow_views(db);  /* fails on a database that is not gomortem's: nothing lost */
	if (!err)
		err = expand_go_type(db, options.sql, &rewritten);
	if (!err) {
		options.sql = rewritten;
		err = run_all(db, &options);
	}
	sqlite3_free(rewritten);
	int rc = sqlite3_close(db);
	if (!err && rc != SQLITE_OK)
		err = gm_error_create(GM_ERR_INTERNAL, "%s: cannot close: %s", options.db_path,
				      sqlite3_errstr(rc));
	if (fflush(stdout) != 0 || ferror(stdout)) {
		gm_error_destroy(err);
		err = stdout_error();
	}
	return err ? gm_error_report(err) : 0;
}
