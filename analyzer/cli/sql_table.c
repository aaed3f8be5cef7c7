/* gomortem sql's aligned table: cells escaped and cut, columns sized over
 * the buffered rows. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sql_output.h"
#include "analyzer/util/strbuf.h"
#include "analyzer/util/terminal.h"

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
		sb_addc(sb, sql_hex_digits[blob[i] >> 4]);
		sb_addc(sb, sql_hex_digits[blob[i] & 0xf]);
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
		if ((err = column_blob(stmt, i, &text, &len)))
			return err;
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

/* Buffer the rows (up to TABLE_MAX_ROWS) to size the columns, then print them. */
struct gm_error *table_statement(struct sql_output *out, sqlite3 *db, sqlite3_stmt *stmt)
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
