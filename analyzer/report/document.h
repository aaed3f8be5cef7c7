/* document: the report's document model, a list of blocks (headings,
 * paragraphs, tables, preformatted text, bar charts) that the sections build
 * and the renderers (render.h) print.  Text is copied in with control
 * characters replaced (it comes from a core or a database: untrusted).  An
 * allocation failure sets doc.failed and later additions do nothing. */
#ifndef GOMORTEM_REPORT_DOCUMENT_H
#define GOMORTEM_REPORT_DOCUMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum block_kind { BLOCK_HEADING, BLOCK_PARA, BLOCK_TABLE, BLOCK_PRE, BLOCK_CHART };

/* Column styles of a table: left text, right-aligned number, code (a type,
 * function or root name: a code span in Markdown). */
enum column_style { COL_TEXT = 'l', COL_NUMBER = 'r', COL_CODE = 'c' };

struct block {
	enum block_kind kind;
	int level;           /* heading: 1..3 */
	char *text;          /* heading, paragraph, preformatted text; chart title */
	size_t ncols;        /* table */
	char **headers;      /* table: ncols names */
	char *styles;        /* table: ncols enum column_style */
	char **cells;        /* table: nrows * ncols; chart: nrows labels */
	int64_t *values;     /* chart: nrows values */
	size_t nrows, cap;
};

struct doc {
	struct block **blocks;
	size_t n;
	bool failed;  /* out of memory: the document is incomplete */
};

/* A table cell shows at most this many bytes, "..." included. */
#define CELL_MAX 160

/* Free the blocks of D, leaving it empty. */
void doc_deinit(struct doc *d);
/* A heading of LEVEL (1..3). */
void doc_heading(struct doc *d, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void doc_para(struct doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Preformatted text, newlines kept. */
void doc_pre(struct doc *d, const char *text);
/* A table with the columns "NAME:STYLE" of the NULL-terminated list; NULL on
 * out-of-memory (table_row accepts it and does nothing). */
struct block *doc_table(struct doc *d, const char *const *columns);
/* Add a row of the table's ncols cells (const char *; NULL shows as empty),
 * each cut at CELL_MAX bytes. */
void table_row(struct doc *d, struct block *b, ...);
/* A bar chart titled TITLE, and one bar of it. */
struct block *doc_chart(struct doc *d, const char *title);
void chart_bar(struct doc *d, struct block *b, const char *label, int64_t value);

/* Number formatting, into caller buffers of NUM_BUF bytes; each returns BUF. */
#define NUM_BUF 48
/* 1234567 as "1,234,567". */
const char *fmt_int(char *buf, int64_t v);
/* Bytes for people: "512 B", "1.5 KiB", "23.0 MiB". */
const char *fmt_bytes(char *buf, int64_t v);
/* A wall time in Unix nanoseconds as "2026-12-05 06:40:12.345 UTC"; "never" for 0. */
const char *fmt_unix_ns(char *buf, int64_t ns);
/* "0x..." */
const char *fmt_hex(char *buf, int64_t v);
/* PART of WHOLE as "12.3%"; "-" when WHOLE is not positive. */
const char *fmt_pct(char *buf, int64_t part, int64_t whole);

#endif
