/* The report's document model: headings, paragraphs, tables, preformatted
 * blocks and bar charts, built by the sections (sections.c and the others)
 * and rendered by render_md.c, render_text.c and render_html.c, so that every
 * format shows the same facts.  Text is cleaned on the way in: it comes from
 * a core or a database, both untrusted. */
#include "document.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyzer/util/terminal.h"
#include "analyzer/util/units.h"

static void block_destroy(struct block *b)
{
	if (!b)
		return;
	free(b->text);
	for (size_t i = 0; b->headers && i < b->ncols; i++)
		free(b->headers[i]);
	free(b->headers);
	free(b->styles);
	size_t ncells = b->kind == BLOCK_TABLE ? b->nrows * b->ncols : b->nrows;
	for (size_t i = 0; b->cells && i < ncells; i++)
		free(b->cells[i]);
	free(b->cells);
	free(b->values);
	free(b);
}

void doc_deinit(struct doc *d)
{
	for (size_t i = 0; i < d->n; i++)
		block_destroy(d->blocks[i]);
	free(d->blocks);
	*d = (struct doc){ 0 };
}

/* A copy of S fit for any output: control characters become '?' (the text
 * comes from a core: untrusted), cut at MAX bytes with "..." (0: no cut),
 * newlines kept when KEEP_NEWLINES. */
static char *clean_copy(const char *s, size_t max, bool keep_newlines)
{
	if (!s)
		s = "";
	size_t len = strlen(s);
	bool cut = max && len > max;
	if (cut) {
		len = max - 3;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;  /* do not split a UTF-8 character */
	}
	char *out = malloc(len + 4);
	if (!out)
		return NULL;
	/* Control characters (C0, DEL, C1, bytes that are not UTF-8: util/terminal.h)
	 * become '?': the report may be read on a terminal. */
	const unsigned char *u = (const unsigned char *)s;
	size_t bytes;
	for (size_t i = 0; i < len; i += bytes) {
		char escape[16];
		bool control = gm_escape_char(u + i, len - i, escape, &bytes) && !(keep_newlines && u[i] == '\n');
		memset(out + i, '?', control ? bytes : 0);
		memcpy(out + i, s + i, control ? 0 : bytes);
	}
	strcpy(out + len, cut ? "..." : "");
	return out;
}

static struct block *doc_add(struct doc *d, enum block_kind kind)
{
	struct block *b = calloc(1, sizeof(*b));
	struct block **grown = b ? realloc(d->blocks, (d->n + 1) * sizeof(*grown)) : NULL;
	if (!grown) {
		free(b);
		d->failed = true;
		return NULL;
	}
	d->blocks = grown;
	d->blocks[d->n++] = b;
	b->kind = kind;
	return b;
}

/* A block of KIND whose text is FMT formatted with AP, cleaned. */
__attribute__((format(printf, 3, 0)))
static struct block *doc_add_text(struct doc *d, enum block_kind kind, const char *fmt, va_list ap)
{
	struct block *b = doc_add(d, kind);
	if (!b)
		return NULL;
	char *s;
	int n = vasprintf(&s, fmt, ap);
	b->text = n < 0 ? NULL : clean_copy(s, 0, false);
	if (n >= 0)
		free(s);
	if (!b->text)
		d->failed = true;
	return b;
}

void doc_heading(struct doc *d, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct block *b = doc_add_text(d, BLOCK_HEADING, fmt, ap);
	va_end(ap);
	if (b)
		b->level = level;
}

void doc_para(struct doc *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	doc_add_text(d, BLOCK_PARA, fmt, ap);
	va_end(ap);
}

void doc_pre(struct doc *d, const char *text)
{
	struct block *b = doc_add(d, BLOCK_PRE);
	if (b && !(b->text = clean_copy(text, 0, true)))
		d->failed = true;
}

/* A table with the columns "NAME:STYLE" of the NULL-terminated list. */
struct block *doc_table(struct doc *d, const char *const *columns)
{
	struct block *b = doc_add(d, BLOCK_TABLE);
	if (!b)
		return NULL;
	size_t n = 0;
	while (columns[n])
		n++;
	b->headers = calloc(n, sizeof(*b->headers));
	b->styles = calloc(n + 1, 1);
	if (!b->headers || !b->styles) {
		d->failed = true;
		return b;
	}
	b->ncols = n;
	for (size_t i = 0; i < n; i++) {
		const char *colon = strrchr(columns[i], ':');
		b->headers[i] = strndup(columns[i], colon ? (size_t)(colon - columns[i]) : strlen(columns[i]));
		b->styles[i] = colon ? colon[1] : COL_TEXT;
		if (!b->headers[i])
			d->failed = true;
	}
	return b;
}

/* Make room for one more row of NCELLS cells (and a value, for charts). */
static bool block_grow(struct doc *d, struct block *b, size_t ncells)
{
	if (b->nrows < b->cap)
		return true;
	size_t cap = b->cap ? 2 * b->cap : 16;
	char **cells = realloc(b->cells, cap * ncells * sizeof(*cells));
	if (!cells) {
		d->failed = true;
		return false;
	}
	b->cells = cells;
	if (b->kind == BLOCK_CHART) {
		int64_t *values = realloc(b->values, cap * sizeof(*values));
		if (!values) {
			d->failed = true;
			return false;
		}
		b->values = values;
	}
	b->cap = cap;
	return true;
}

/* Add a row of the table's ncols cells (NULL shows as empty). */
void table_row(struct doc *d, struct block *b, ...)
{
	if (!b || d->failed || !block_grow(d, b, b->ncols))
		return;
	va_list ap;
	va_start(ap, b);
	for (size_t i = 0; i < b->ncols; i++) {
		const char *cell = va_arg(ap, const char *);
		char *copy = clean_copy(cell, CELL_MAX, false);
		if (!copy)
			d->failed = true;
		b->cells[b->nrows * b->ncols + i] = copy;
	}
	va_end(ap);
	b->nrows++;
}

struct block *doc_chart(struct doc *d, const char *title)
{
	struct block *b = doc_add(d, BLOCK_CHART);
	if (b && !(b->text = clean_copy(title, 0, false)))
		d->failed = true;
	return b;
}

void chart_bar(struct doc *d, struct block *b, const char *label, int64_t value)
{
	if (!b || d->failed || !block_grow(d, b, 1))
		return;
	char *copy = clean_copy(label, 60, false);
	if (!copy) {
		d->failed = true;
		return;
	}
	b->cells[b->nrows] = copy;
	b->values[b->nrows] = value;
	b->nrows++;
}

/* 1234567 as "1,234,567". */
const char *fmt_int(char *buf, int64_t v)
{
	char digits[32];
	snprintf(digits, sizeof(digits), "%" PRIu64, v < 0 ? -(uint64_t)v : (uint64_t)v);
	size_t n = strlen(digits), o = 0;
	if (v < 0)
		buf[o++] = '-';
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

/* Bytes for people: "512 B", "1.5 KiB", "23.0 MiB". */
const char *fmt_bytes(char *buf, int64_t v)
{
	return gm_format_bytes(buf, NUM_BUF, v, 0);
}

/* A wall time in Unix nanoseconds (memstats LastGC) as "2026-12-05
 * 06:40:12.345 UTC"; "never" for 0, as the runtime leaves it before a GC. */
const char *fmt_unix_ns(char *buf, int64_t ns)
{
	struct tm tm;
	time_t secs = (time_t)(ns / 1000000000);
	if (ns <= 0 || !gmtime_r(&secs, &tm)) {
		snprintf(buf, NUM_BUF, ns == 0 ? "never" : "-");
		return buf;
	}
	size_t n = strftime(buf, NUM_BUF, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf + n, NUM_BUF - n, ".%03d UTC", (int)(ns / 1000000 % 1000));
	return buf;
}

const char *fmt_hex(char *buf, int64_t v)
{
	snprintf(buf, NUM_BUF, "0x%" PRIx64, (uint64_t)v);
	return buf;
}

const char *fmt_pct(char *buf, int64_t part, int64_t whole)
{
	if (whole <= 0)
		snprintf(buf, NUM_BUF, "-");
	else
		snprintf(buf, NUM_BUF, "%.1f%%", 100.0 * (double)part / (double)whole);
	return buf;
}
