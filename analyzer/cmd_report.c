/* gomortem report: a report for a bug ticket, read from an analysis database
 * (opened read-only) in Markdown, self-contained HTML or plain text.
 *
 * The report is built once as a small document model (headings, paragraphs,
 * tables, preformatted blocks, bar charts) and rendered by one of three
 * renderers, so every format shows the same facts.  Markdown must stay under
 * MD_MAX_CHARS: the document is rebuilt with shorter lists until it fits.
 * Every figure comes from the database's tables and views (memory_breakdown,
 * type_histogram, retained_by_type, garbage_by_type, top_retainers,
 * goroutine_groups, size_class_usage); no memory contents are ever shown. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analyzer/pprof/analysis_db.h"
#include "cli.h"
#include "report/untyped.h"
#include "util/output.h"
#include "util/strbuf.h"
#include "util/terminal.h"
#include "util/units.h"
#include "error.h"

/* The embedded schema/gomortem_post.sql (schema_sql.c, generated). */

static const char report_usage[] =
	"usage: gomortem report DB [--format md|html|text] [-o FILE] [--top N]\n"
	"                          [--include-contents]\n"
	"\n"
	"Write a report of the analysis database DB (made by gomortem analyze), read\n"
	"only from the database: first the leak suspects (what keeps a large share of\n"
	"the live heap, what it accumulates, who holds it, a path from its root),\n"
	"then a summary (program, pid, Go version, signal, core),\n"
	"where every mapped byte went (the memory_breakdown view) beside the runtime's\n"
	"own counters, the top types by bytes, count, retained and garbage bytes, the\n"
	"top retainers with a path from a GC root, goroutines grouped by identical\n"
	"stack, span fragmentation per size class, unsaved memory and warnings.\n"
	"\n"
	"  -f, --format FMT      md (Markdown, default; under 65,536 characters: lists\n"
	"                        are shortened until it fits, with a note), html (one\n"
	"                        self-contained file: inline CSS and SVG charts, no\n"
	"                        scripts, no external resources) or text (aligned tables)\n"
	"  -o, --output FILE     write to FILE instead of stdout: an anonymous file given\n"
	"                        the name when complete; a device or FIFO is written to\n"
	"                        directly (-o /dev/null)\n"
	"  -n, --top N           entries per list (default 20)\n"
	"      --include-contents\n"
	"                        reserved: memory contents are not stored by analyze\n"
	"                        yet, so no report includes them\n"
	"  -h, --help            show this help\n"
	"\n"
	"Exit status: 0 ok; 2 usage error; 3 DB or FILE cannot be opened, read or\n"
	"written; 11 DB is not a gomortem database, or an SQL error; others in\n"
	"docs/exit-codes.md.\n";

#define DEFAULT_TOP 20
#define MAX_TOP 100000
/* Markdown reports stay under this many bytes (so characters too). */
#define MD_MAX_CHARS 65536
/* A table cell or chart label shows at most this many bytes, "..." included. */
#define CELL_MAX 160
/* Steps of a retainer's path shown: the first ones from the root, then the last. */
#define PATH_HEAD_STEPS 3
#define PATH_TAIL_STEPS 5
/* Steps followed back towards the root before giving up (paths can be long lists). */
#define PATH_MAX_WALK 100000
/* Frames shown per goroutine group. */
#define GROUP_MAX_FRAMES 24
#define BUSY_TIMEOUT_MS 5000

enum report_format { FORMAT_MD, FORMAT_HTML, FORMAT_TEXT };

struct report_options {
	const char *db_path;
	const char *out_path;  /* NULL: stdout */
	enum report_format format;
	long top;              /* entries per list */
	bool include_contents; /* reserved */
};

/* ---- the document model ---- */

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

static void doc_deinit(struct doc *d)
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

__attribute__((format(printf, 3, 4)))
static void doc_heading(struct doc *d, int level, const char *fmt, ...)
{
	struct block *b = doc_add(d, BLOCK_HEADING);
	if (!b)
		return;
	char *s;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	b->level = level;
	b->text = n < 0 ? NULL : clean_copy(s, 0, false);
	if (n >= 0)
		free(s);
	if (!b->text)
		d->failed = true;
}

__attribute__((format(printf, 2, 3)))
static void doc_para(struct doc *d, const char *fmt, ...)
{
	struct block *b = doc_add(d, BLOCK_PARA);
	if (!b)
		return;
	char *s;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	b->text = n < 0 ? NULL : clean_copy(s, 0, false);
	if (n >= 0)
		free(s);
	if (!b->text)
		d->failed = true;
}

static void doc_pre(struct doc *d, const char *text)
{
	struct block *b = doc_add(d, BLOCK_PRE);
	if (b && !(b->text = clean_copy(text, 0, true)))
		d->failed = true;
}

/* A table with the columns "NAME:STYLE" of the NULL-terminated list. */
static struct block *doc_table(struct doc *d, const char *const *columns)
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
static void table_row(struct doc *d, struct block *b, ...)
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

static struct block *doc_chart(struct doc *d, const char *title)
{
	struct block *b = doc_add(d, BLOCK_CHART);
	if (b && !(b->text = clean_copy(title, 0, false)))
		d->failed = true;
	return b;
}

static void chart_bar(struct doc *d, struct block *b, const char *label, int64_t value)
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

/* ---- number formatting (into caller buffers of NUM_BUF bytes) ---- */

#define NUM_BUF 48

/* 1234567 as "1,234,567". */
static const char *fmt_int(char *buf, int64_t v)
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
static const char *fmt_bytes(char *buf, int64_t v)
{
	return gm_format_bytes(buf, NUM_BUF, v, 0);
}

/* A wall time in Unix nanoseconds (memstats LastGC) as "2026-12-05
 * 06:40:12.345 UTC"; "never" for 0, as the runtime leaves it before a GC. */
static const char *fmt_unix_ns(char *buf, int64_t ns)
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

static const char *fmt_hex(char *buf, int64_t v)
{
	snprintf(buf, NUM_BUF, "0x%" PRIx64, (uint64_t)v);
	return buf;
}

static const char *fmt_pct(char *buf, int64_t part, int64_t whole)
{
	if (whole <= 0)
		snprintf(buf, NUM_BUF, "-");
	else
		snprintf(buf, NUM_BUF, "%.1f%%", 100.0 * (double)part / (double)whole);
	return buf;
}

/* ---- the database ---- */

struct report {
	sqlite3 *db;
	const struct report_options *options;
	long top;             /* entries per list for this build of the document */
	bool lists_cut;       /* some list showed fewer entries than it has */
	char **meta_keys, **meta_values;
	size_t nmeta;
};

static struct gm_error *db_error(struct report *r, const char *what)
{
	int rc = sqlite3_errcode(r->db) & 0xff;
	if (rc == SQLITE_NOMEM)
		return &gm_error_nomem;
	if (rc == SQLITE_IOERR || rc == SQLITE_CANTOPEN)
		return gm_error_create(GM_ERR_IO, "%s: %s: %s", r->options->db_path, what, sqlite3_errmsg(r->db));
	return gm_error_create(GM_ERR_SQL, "%s: %s: %s", r->options->db_path, what, sqlite3_errmsg(r->db));
}

static struct gm_error *prepare(struct report *r, const char *sql, sqlite3_stmt **ret)
{
	if (sqlite3_prepare_v2(r->db, sql, -1, ret, NULL) != SQLITE_OK)
		return db_error(r, "preparing a query");
	return NULL;
}

/* Step STMT: *ret_row tells whether a row came. */
static struct gm_error *step(struct report *r, sqlite3_stmt *stmt, bool *ret_row)
{
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		*ret_row = rc == SQLITE_ROW;
		return NULL;
	}
	return db_error(r, "reading");
}

/* A single integer from SQL (0 when no row or NULL). */
static struct gm_error *query_int(struct report *r, const char *sql, int64_t *ret)
{
	sqlite3_stmt *stmt;
	struct gm_error *err = prepare(r, sql, &stmt);
	bool row = false;
	if (!err && !(err = step(r, stmt, &row)))
		*ret = row ? sqlite3_column_int64(stmt, 0) : 0;
	sqlite3_finalize(stmt);
	return err;
}

static const char *col_text(sqlite3_stmt *stmt, int i)
{
	return (const char *)sqlite3_column_text(stmt, i);
}

static const char *meta(const struct report *r, const char *key)
{
	for (size_t i = 0; i < r->nmeta; i++)
		if (strcmp(r->meta_keys[i], key) == 0)
			return r->meta_values[i];
	return NULL;
}

static void meta_free(struct report *r)
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
static struct gm_error *meta_load(struct report *r)
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
		return db_error(r, "reading meta");
	}
	struct gm_error *err = NULL;
	bool row = false;
	while (!(err = step(r, stmt, &row)) && row) {
		char **keys = realloc(r->meta_keys, (r->nmeta + 1) * sizeof(*keys));
		if (keys)
			r->meta_keys = keys;
		char **values = keys ? realloc(r->meta_values, (r->nmeta + 1) * sizeof(*values)) : NULL;
		if (values)
			r->meta_values = values;
		const char *k = col_text(stmt, 0), *v = col_text(stmt, 1);
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
	if (!err && !meta(r, "schema_version"))
		err = gm_error_create(GM_ERR_SQL, "%s: not a gomortem database (meta has no schema_version)",
				      r->options->db_path);
	return err;
}

static struct gm_error *open_database(struct report *r)
{
	const char *path = r->options->db_path;
	struct gm_error *err = analysis_db_open(path, &r->db);
	if (!err)
		err = meta_load(r);
	return err;
}

/* ---- sections ---- */

static const char *type_name(const char *name)
{
	return name ? name : "(unknown type)";
}

/* "Showing the top SHOWN of TOTAL ..." when a list was cut. */
static void note_cut(struct report *r, struct doc *d, int64_t shown, int64_t total, const char *query)
{
	if (shown >= total)
		return;
	r->lists_cut = true;
	char a[NUM_BUF], b[NUM_BUF];
	doc_para(d, "Showing %s of %s; all of them: gomortem sql DB \"%s\"", fmt_int(a, shown), fmt_int(b, total),
		 query);
}

static const char *signal_name(char *buf, const char *value)
{
	if (!value || !*value)
		return "unknown";
	int sig = atoi(value);
	const char *abbrev = sig > 0 ? sigabbrev_np(sig) : NULL;
	if (abbrev)
		snprintf(buf, NUM_BUF, "SIG%s (%d)", abbrev, sig);
	else
		snprintf(buf, NUM_BUF, "%d", sig);
	return buf;
}

/* A database made by analyze --heap-only: no graph, roots or goroutines. */
static bool heap_only(const struct report *r)
{
	const char *analysis = meta(r, "analysis");
	return analysis && strcmp(analysis, "heap") == 0;
}

static void not_computed(struct doc *d, const char *what)
{
	doc_para(d, "Not computed: this database was made by analyze --heap-only, which reads no %s. Run "
		 "analyze without --heap-only for them.", what);
}

static struct gm_error *section_summary(struct report *r, struct doc *d)
{
	int64_t goroutines = 0, warnings = 0, mapped = 0;
	struct gm_error *err = query_int(r, "SELECT COUNT(*) FROM goroutines", &goroutines);
	if (!err)
		err = query_int(r, "SELECT COUNT(*) FROM warnings", &warnings);
	if (!err)
		err = query_int(r, "SELECT SUM(end - start) FROM mappings", &mapped);
	if (err)
		return err;
	const char *command = meta(r, "command");
	doc_heading(d, 2, "Summary");
	static const char *const cols[] = { "fact:l", "value:l", NULL };
	struct block *t = doc_table(d, cols);
	char a[NUM_BUF], b[NUM_BUF], line[3 * NUM_BUF];
	table_row(d, t, "program", command);
	table_row(d, t, "executable", meta(r, "exe_path"));
	table_row(d, t, "pid", meta(r, "pid"));
	table_row(d, t, "Go version", meta(r, "go_version"));
	/* Databases older than meta.debug_info were all analyzed with DWARF. */
	const char *debug_info = meta(r, "debug_info") ? meta(r, "debug_info") : "dwarf";
	table_row(d, t, "debug info", debug_info);
	if (strcmp(debug_info, "dwarf") != 0) {
		table_row(d, t, "runtime layouts", meta(r, "runtime_layouts"));
		table_row(d, t, "unknown without DWARF", meta(r, "unknown_columns"));
	}
	table_row(d, t, "architecture", meta(r, "arch"));
	table_row(d, t, "signal", signal_name(a, meta(r, "signal")));
	table_row(d, t, "core", meta(r, "core_path"));
	table_row(d, t, "analyzed at", meta(r, "analyzed_at"));
	table_row(d, t, "analyzer version", meta(r, "analyzer_version"));
	const char *partial = meta(r, "partial"), *forced = meta(r, "version_forced");
	table_row(d, t, "partial", !partial || strcmp(partial, "0") == 0 ? "no"
				   : forced && strcmp(forced, "0") != 0 ? "yes: a Go version gomortem does not know, forced"
				   : "yes: the core was truncated");
	table_row(d, t, "warnings", fmt_int(a, warnings));
	table_row(d, t, "goroutines", heap_only(r) ? "not read (analyze --heap-only)" : fmt_int(a, goroutines));
	const char *objects = meta(r, "heap_objects"), *bytes = meta(r, "heap_bytes");
	snprintf(line, sizeof(line), "%s objects, %s", objects ? fmt_int(a, atoll(objects)) : "?",
		 bytes ? fmt_bytes(b, atoll(bytes)) : "?");
	table_row(d, t, "heap", line);
	objects = meta(r, "reachable_objects");
	bytes = meta(r, "reachable_bytes");
	snprintf(line, sizeof(line), "%s objects, %s", objects ? fmt_int(a, atoll(objects)) : "?",
		 bytes ? fmt_bytes(b, atoll(bytes)) : "?");
	table_row(d, t, "reachable", heap_only(r) ? "not computed (analyze --heap-only)" : line);
	const char *share = meta(r, "typed_reachable_bytes_share");
	if (share) {
		snprintf(line, sizeof(line), "%.1f%% of reachable bytes have a known type", 100 * atof(share));
		table_row(d, t, "type coverage", line);
		char causes[512];
		table_row(d, t, "untyped, by cause", gm_report_untyped_line(meta(r, "untyped_causes"), causes, sizeof(causes)));
	}
	table_row(d, t, "mapped", fmt_bytes(a, mapped));
	return NULL;
}

/* The memory_breakdown row of perm '---' mappings (schema/views). */
#define RESERVED_ROW "not saved: reserved address space"

static struct gm_error *section_memory(struct report *r, struct doc *d)
{
	int64_t mapped = 0, saved = 0, reserved = 0;
	struct gm_error *err = query_int(r, "SELECT SUM(end - start) FROM mappings", &mapped);
	if (!err)
		err = query_int(r, "SELECT SUM(in_core + from_exe) FROM mappings", &saved);
	if (!err)
		err = query_int(r, "SELECT SUM(end - start - in_core - from_exe) FROM mappings WHERE perm = '---'",
				&reserved);
	if (err)
		return err;
	char a[NUM_BUF], b[NUM_BUF], c[NUM_BUF], title[160];
	doc_heading(d, 2, "Memory breakdown");
	doc_para(d, "Every mapped byte of the process (%s, %s bytes, reservations with no access included), "
		 "from the memory_breakdown view. Rows starting with \"Go\" split the runtime's own Sys; the rest "
		 "is memory outside the Go runtime or not saved in the core. The rows add up to the total.",
		 fmt_bytes(a, mapped), fmt_int(b, mapped));
	sqlite3_stmt *stmt;
	if ((err = prepare(r, "SELECT category, bytes, source FROM memory_breakdown", &stmt)))
		return err;
	/* Reservations with no access hold no memory; charted, their bar
	 * (1.1 GiB on a small leak core) flattens every other to a pixel. */
	snprintf(title, sizeof(title), "Mapped memory by category (without %s of reservations with no access)",
		 fmt_bytes(c, reserved));
	struct block *all = doc_chart(d, reserved > 0 ? title : "Mapped memory by category");
	struct block *go = doc_chart(d, "Go runtime memory (Sys) by category");
	static const char *const cols[] = { "category:l", "bytes:r", "size:r", "share:r", "source:l", NULL };
	struct block *t = doc_table(d, cols);
	int64_t sum = 0;
	bool row = false;
	while (!(err = step(r, stmt, &row)) && row) {
		const char *category = col_text(stmt, 0);
		int64_t bytes = sqlite3_column_int64(stmt, 1);
		if (__builtin_add_overflow(sum, bytes, &sum)) {
			err = gm_error_create(GM_ERR_SQL, "%s: memory_breakdown rows add up past 64 bits: "
					      "not a database gomortem wrote", r->options->db_path);
			break;
		}
		table_row(d, t, category, fmt_int(a, bytes), fmt_bytes(b, bytes), fmt_pct(c, bytes, mapped),
			  col_text(stmt, 2));
		if (bytes > 0 && !(category && strncmp(category, RESERVED_ROW, strlen(RESERVED_ROW)) == 0))
			chart_bar(d, all, category, bytes);
		if (bytes > 0 && category && strncmp(category, "Go ", 3) == 0)
			chart_bar(d, go, category, bytes);
	}
	sqlite3_finalize(stmt);
	if (err)
		return err;
	table_row(d, t, "total", fmt_int(a, sum), fmt_bytes(b, sum), fmt_pct(c, sum, mapped),
		  "SUM(mappings.end - start)");

	doc_heading(d, 3, "The runtime's own counters");
	doc_para(d, "runtime.MemStats as the runtime would have reported it at the crash (memstats table).");
	if ((err = prepare(r, "SELECT name, value, source FROM memstats", &stmt)))
		return err;
	static const char *const mcols[] = { "name:c", "value:r", "read as:r", "source:l", NULL };
	t = doc_table(d, mcols);
	while (!(err = step(r, stmt, &row)) && row) {
		const char *name = col_text(stmt, 0);
		bool null = sqlite3_column_type(stmt, 1) == SQLITE_NULL;
		int64_t v = sqlite3_column_int64(stmt, 1);
		bool is_bytes = name && (strstr(name, "Sys") || strstr(name, "Inuse") || strstr(name, "Alloc") ||
					 strstr(name, "Idle") || strstr(name, "Released"));
		bool is_time = name && strcmp(name, "LastGC") == 0;
		const char *shown = null ? "" : is_bytes ? fmt_bytes(b, v) : is_time ? fmt_unix_ns(b, v) : "";
		table_row(d, t, name, null ? "unread" : fmt_int(a, v), shown, col_text(stmt, 2));
	}
	sqlite3_finalize(stmt);
	return err;
}

static struct gm_error *section_unsaved(struct report *r, struct doc *d)
{
	int64_t mapped = 0, unsaved = 0, reserved = 0, faults = 0, count = 0;
	struct gm_error *err = query_int(r, "SELECT SUM(end - start) FROM mappings", &mapped);
	if (!err)
		err = query_int(r, "SELECT SUM(end - start - in_core - from_exe) FROM mappings", &unsaved);
	if (!err)
		err = query_int(r, "SELECT SUM(end - start - in_core - from_exe) FROM mappings WHERE perm = '---'",
				&reserved);
	if (!err)
		err = query_int(r, "SELECT COUNT(*) FROM mappings WHERE end - start - in_core - from_exe > 0", &count);
	if (err)
		return err;
	const char *f = meta(r, "memory_faults");
	faults = f ? atoll(f) : 0;
	char a[NUM_BUF], b[NUM_BUF], c[NUM_BUF], e[NUM_BUF], n[NUM_BUF];
	doc_heading(d, 2, "Unsaved memory");
	doc_para(d, "%s of %s mapped (%s) were not saved in the core, %s of them reservations with no access "
		 "(perm ---) that hold no data. The analysis met unsaved memory %s times (meta.memory_faults).",
		 fmt_bytes(a, unsaved), fmt_bytes(b, mapped), fmt_pct(c, unsaved, mapped), fmt_bytes(e, reserved),
		 fmt_int(n, faults));
	if (count == 0)
		return NULL;
	sqlite3_stmt *stmt;
	if ((err = prepare(r, "SELECT start, end, perm, path, end - start - in_core - from_exe AS unsaved "
			   "FROM mappings WHERE unsaved > 0 AND perm <> '---' ORDER BY unsaved DESC LIMIT ?", &stmt)))
		return err;
	sqlite3_bind_int64(stmt, 1, r->top);
	static const char *const cols[] = { "start:r", "end:r", "perm:l", "path:c", "unsaved:r", NULL };
	struct block *t = NULL;
	bool row = false;
	int64_t shown = 0;
	while (!(err = step(r, stmt, &row)) && row) {
		if (!t) {
			doc_para(d, "Accessible mappings the core did not save in full, largest first:");
			t = doc_table(d, cols);
		}
		const char *path = col_text(stmt, 3);
		table_row(d, t, fmt_hex(a, sqlite3_column_int64(stmt, 0)), fmt_hex(b, sqlite3_column_int64(stmt, 1)),
			  col_text(stmt, 2), path ? path : "(anonymous)", fmt_bytes(c, sqlite3_column_int64(stmt, 4)));
		shown++;
	}
	sqlite3_finalize(stmt);
	if (!err && t) {
		int64_t total = 0;
		err = query_int(r, "SELECT COUNT(*) FROM mappings WHERE end - start - in_core - from_exe > 0 "
			       "AND perm <> '---'", &total);
		note_cut(r, d, shown, total, "SELECT * FROM mappings WHERE end - start - in_core - from_exe > 0");
	}
	return err;
}

/* A table of the first r->top rows of SQL (type, count, bytes, ...), with a chart when CHART. */
static struct gm_error *type_table(struct report *r, struct doc *d, const char *title, const char *sql,
				   const char *count_sql, const char *full_sql, const char *const *cols,
				   const char *chart)
{
	doc_heading(d, 3, "%s", title);
	sqlite3_stmt *stmt;
	struct gm_error *err = prepare(r, sql, &stmt);
	if (err)
		return err;
	sqlite3_bind_int64(stmt, 1, r->top);
	struct block *c = chart ? doc_chart(d, chart) : NULL;
	struct block *t = doc_table(d, cols);
	bool row = false;
	int64_t shown = 0;
	while (!(err = step(r, stmt, &row)) && row) {
		char v[4][NUM_BUF];
		const char *cells[5] = { type_name(col_text(stmt, 0)) };
		int ncols = sqlite3_column_count(stmt);
		for (int i = 1; i < ncols && i < 5; i++) {
			int64_t x = sqlite3_column_int64(stmt, i);
			const char *name = sqlite3_column_name(stmt, i);
			cells[i] = name && strstr(name, "bytes") ? fmt_bytes(v[i - 1], x) : fmt_int(v[i - 1], x);
		}
		table_row(d, t, cells[0], cells[1], cells[2], cells[3], cells[4]);
		if (c)
			chart_bar(d, c, cells[0], sqlite3_column_int64(stmt, 2));
		shown++;
	}
	sqlite3_finalize(stmt);
	int64_t total = 0;
	if (!err)
		err = query_int(r, count_sql, &total);
	if (!err && total == 0)
		doc_para(d, "None.");
	note_cut(r, d, shown, total, full_sql);
	return err;
}

static struct gm_error *section_types(struct report *r, struct doc *d)
{
	doc_heading(d, 2, "Top types");
	static const char *const hist[] = { "type:c", "objects:r", "bytes:r", "reachable objects:r",
					    "reachable bytes:r", NULL };
	/* Without the graph (analyze --heap-only) nothing is known reachable. */
	static const char *const hist_heap[] = { "type:c", "objects:r", "bytes:r", NULL };
	bool graph = !heap_only(r);
	struct gm_error *err = type_table(
		r, d, "By bytes",
		graph ? "SELECT type, count, bytes, reachable_count, reachable_bytes FROM type_histogram "
			"ORDER BY bytes DESC, count DESC LIMIT ?"
		      : "SELECT type, count, bytes FROM type_histogram ORDER BY bytes DESC, count DESC LIMIT ?",
		"SELECT COUNT(*) FROM type_histogram", "SELECT * FROM type_histogram ORDER BY bytes DESC",
		graph ? hist : hist_heap, "Top types by bytes");
	if (!err)
		err = type_table(r, d, "By count",
				 graph ? "SELECT type, count, bytes, reachable_count, reachable_bytes FROM type_histogram "
					 "ORDER BY count DESC, bytes DESC LIMIT ?"
				       : "SELECT type, count, bytes FROM type_histogram ORDER BY count DESC, bytes DESC "
					 "LIMIT ?",
				 "SELECT COUNT(*) FROM type_histogram",
				 "SELECT * FROM type_histogram ORDER BY count DESC", graph ? hist : hist_heap, NULL);
	if (heap_only(r)) {
		if (!err)
			doc_para(d, "Types here are those the malloc headers and large spans name; the rest need "
				 "the object graph (analyze without --heap-only), as do retained sizes and garbage.");
		return err;
	}
	static const char *const ret[] = { "type:c", "objects:r", "retained bytes:r", NULL };
	if (!err)
		err = type_table(r, d, "By retained bytes (what they alone keep alive)",
				 "SELECT type, objects, retained_bytes FROM retained_by_type "
				 "ORDER BY retained_bytes DESC LIMIT ?",
				 "SELECT COUNT(*) FROM retained_by_type", "SELECT * FROM retained_by_type", ret, NULL);
	static const char *const garbage[] = { "type:c", "objects:r", "bytes:r", NULL };
	if (!err)
		err = type_table(r, d, "Garbage (allocated, unreachable: the next GC frees it)",
				 "SELECT type, count, bytes FROM garbage_by_type ORDER BY bytes DESC LIMIT ?",
				 "SELECT COUNT(*) FROM garbage_by_type", "SELECT * FROM garbage_by_type", garbage, NULL);
	return err;
}

/* One step of a path: an object and the offset of the pointer leading on. */
struct path_step {
	int64_t id, addr, size, type_id, off;
	char *type;
};

/* The member of TYPE_ID at OFF as ".name" or ".name+N"; "+OFF" when unknown. */
static void field_at(struct report *r, sqlite3_stmt *fields, int64_t type_id, int64_t off, struct strbuf *out)
{
	sqlite3_reset(fields);
	sqlite3_bind_int64(fields, 1, type_id);
	sqlite3_bind_int64(fields, 2, off);
	(void)r;
	if (type_id >= 0 && sqlite3_step(fields) == SQLITE_ROW && col_text(fields, 0)) {
		int64_t at = sqlite3_column_int64(fields, 1);
		if (at == off)
			sb_printf(out, " .%s", col_text(fields, 0));
		else
			sb_printf(out, " .%s+%" PRId64, col_text(fields, 0), off - at);
	} else {
		sb_printf(out, " +%" PRId64, off);
	}
}

static void path_step_line(struct report *r, sqlite3_stmt *fields, const struct path_step *s, bool last,
			   struct strbuf *out)
{
	sb_printf(out, "  0x%" PRIx64 " %s (%" PRId64 " bytes)", (uint64_t)s->addr, type_name(s->type), s->size);
	if (!last) {
		field_at(r, fields, s->type_id, s->off, out);
		sb_puts(out, " ->");
	}
	sb_addc(out, '\n');
}

/* The path from a root to object ID, as `gomortem path` prints it, the middle
 * of a long path left out. */
static struct gm_error *retainer_path(struct report *r, struct doc *d, int64_t id, int64_t root,
				      sqlite3_stmt *objects, sqlite3_stmt *roots, sqlite3_stmt *fields)
{
	struct path_step *steps = NULL;
	size_t n = 0;
	int64_t off = 0;
	struct gm_error *err = NULL;
	bool reached_root = false;
	while (id > 0 && n < PATH_MAX_WALK) {
		sqlite3_reset(objects);
		sqlite3_bind_int64(objects, 1, id);
		bool row = false;
		if ((err = step(r, objects, &row)) || !row)
			break;
		struct path_step *grown = realloc(steps, (n + 1) * sizeof(*steps));
		if (!grown) {
			err = &gm_error_nomem;
			break;
		}
		steps = grown;
		const char *type = col_text(objects, 5);
		steps[n] = (struct path_step){ id, sqlite3_column_int64(objects, 0), sqlite3_column_int64(objects, 1),
					       sqlite3_column_type(objects, 4) == SQLITE_NULL ? -1 :
					       sqlite3_column_int64(objects, 4),
					       off, type ? strdup(type) : NULL };
		n++;
		off = sqlite3_column_int64(objects, 3);
		if (sqlite3_column_type(objects, 2) == SQLITE_NULL) {
			reached_root = true;
			break;
		}
		id = sqlite3_column_int64(objects, 2);
	}
	struct strbuf out = { 0 };
	if (!err) {
		sqlite3_reset(roots);
		sqlite3_bind_int64(roots, 1, root);
		if (sqlite3_step(roots) == SQLITE_ROW) {
			sb_printf(&out, "root (%s) %s", col_text(roots, 0) ? col_text(roots, 0) : "?",
				  col_text(roots, 1) ? col_text(roots, 1) : "?");
			if (col_text(roots, 2))
				sb_printf(&out, " %s", col_text(roots, 2));
			if (sqlite3_column_type(roots, 3) != SQLITE_NULL)
				sb_printf(&out, " in goroutine %" PRId64, (int64_t)sqlite3_column_int64(roots, 3));
			sb_puts(&out, " ->\n");
		} else {
			sb_puts(&out, "root (unknown) ->\n");
		}
		/* steps[n-1] is nearest the root, steps[0] the retainer itself. */
		size_t head = reached_root ? PATH_HEAD_STEPS : 0;
		for (size_t k = 0; k < n; k++) {
			size_t i = n - 1 - k;
			bool shown = k < head || i < PATH_TAIL_STEPS || n <= head + PATH_TAIL_STEPS + 1;
			if (shown)
				path_step_line(r, fields, &steps[i], i == 0, &out);
			else if (k == head)
				sb_printf(&out, "  ... %zu%s more steps ...\n", n - head - PATH_TAIL_STEPS,
					  reached_root ? "" : "+");
		}
		if (out.len && out.data[out.len - 1] == '\n')
			out.data[--out.len] = '\0';
		if (out.failed)
			err = &gm_error_nomem;
		else
			doc_pre(d, out.data ? out.data : "");
	}
	free(out.data);
	for (size_t i = 0; i < n; i++)
		free(steps[i].type);
	free(steps);
	return err;
}

static struct gm_error *section_retainers(struct report *r, struct doc *d)
{
	doc_heading(d, 2, "Top retainers");
	if (heap_only(r)) {
		not_computed(d, "roots and builds no object graph: no retained sizes or paths");
		return NULL;
	}
	doc_para(d, "Objects that alone keep the most memory alive (top_retainers view), each with a shortest "
		 "path from a GC root, as gomortem path prints it.");
	sqlite3_stmt *stmt, *objects = NULL, *roots = NULL, *fields = NULL;
	struct gm_error *err = prepare(r, "SELECT t.id, t.addr, t.type, t.size, t.retained, t.root_kind, t.root, "
				       "o.path_root FROM top_retainers t JOIN objects o ON o.id = t.id "
				       "ORDER BY t.retained DESC, t.id LIMIT ?",
				       &stmt);
	if (err)
		return err;
	sqlite3_bind_int64(stmt, 1, r->top);
	if (!(err = prepare(r, "SELECT o.addr, o.size, o.path_parent, o.path_off, o.type_id, t.name "
			    "FROM objects o LEFT JOIN types t ON t.id = o.type_id WHERE o.id = ?", &objects)) &&
	    !(err = prepare(r, "SELECT kind, name, type_name, goid FROM roots WHERE id = ?", &roots)))
		err = prepare(r, "SELECT name, offset FROM fields WHERE type_id = ? AND offset <= ? "
			      "ORDER BY offset DESC LIMIT 1", &fields);
	static const char *const cols[] = { "#:r", "address:r", "type:c", "size:r", "retained:r", "root:c", NULL };
	struct block *t = err ? NULL : doc_table(d, cols);
	int64_t *ids = NULL, *root_ids = NULL, shown = 0;
	bool row = false;
	while (!err && !(err = step(r, stmt, &row)) && row) {
		int64_t *grown_ids = realloc(ids, (size_t)(shown + 1) * sizeof(*ids));
		if (grown_ids)
			ids = grown_ids;
		int64_t *grown_roots = grown_ids ? realloc(root_ids, (size_t)(shown + 1) * sizeof(*root_ids)) : NULL;
		if (!grown_roots) {
			err = &gm_error_nomem;
			break;
		}
		root_ids = grown_roots;
		ids[shown] = sqlite3_column_int64(stmt, 0);
		root_ids[shown] = sqlite3_column_int64(stmt, 7);
		char n[NUM_BUF], a[NUM_BUF], s[NUM_BUF], ret[NUM_BUF], root[CELL_MAX + 32];
		snprintf(root, sizeof(root), "%s %s", col_text(stmt, 5) ? col_text(stmt, 5) : "?",
			 col_text(stmt, 6) ? col_text(stmt, 6) : "?");
		table_row(d, t, fmt_int(n, shown + 1), fmt_hex(a, sqlite3_column_int64(stmt, 1)),
			  type_name(col_text(stmt, 2)), fmt_bytes(s, sqlite3_column_int64(stmt, 3)),
			  fmt_bytes(ret, sqlite3_column_int64(stmt, 4)), root);
		shown++;
	}
	sqlite3_finalize(stmt);
	int64_t total = 0;
	if (!err)  /* the view's row count, from type_stats: no scan of the objects */
		err = query_int(r, "SELECT COALESCE(SUM(reachable_count), 0) FROM type_stats", &total);
	if (!err && total == 0)
		doc_para(d, "No reachable objects.");
	if (!err)
		note_cut(r, d, shown, total, "SELECT * FROM top_retainers");
	if (!err && shown > 0)
		doc_heading(d, 3, "Paths from a root");
	for (int64_t i = 0; !err && i < shown; i++) {
		doc_para(d, "#%" PRId64 ":", i + 1);
		err = retainer_path(r, d, ids[i], root_ids[i], objects, roots, fields);
	}
	free(ids);
	free(root_ids);
	sqlite3_finalize(objects);
	sqlite3_finalize(roots);
	sqlite3_finalize(fields);
	return err;
}

/* The sample goroutine's frames (func and file:line), innermost first. */
static struct gm_error *group_stack(struct report *r, sqlite3_stmt *frames, int64_t goid, int64_t nframes,
				    struct strbuf *out)
{
	sqlite3_reset(frames);
	sqlite3_bind_int64(frames, 1, goid);
	sqlite3_bind_int64(frames, 2, GROUP_MAX_FRAMES);
	bool row = false;
	struct gm_error *err;
	while (!(err = step(r, frames, &row)) && row) {
		const char *file = col_text(frames, 1);
		sb_printf(out, "  %s%s\n", col_text(frames, 0) ? col_text(frames, 0) : "?",
			  sqlite3_column_int(frames, 3) ? " (inlined)" : "");
		if (file)
			sb_printf(out, "      %s:%" PRId64 "\n", file, (int64_t)sqlite3_column_int64(frames, 2));
	}
	if (!err && nframes > GROUP_MAX_FRAMES)
		sb_printf(out, "  ... %" PRId64 " more frames\n", nframes - GROUP_MAX_FRAMES);
	return err;
}

static struct gm_error *section_goroutines(struct report *r, struct doc *d)
{
	if (heap_only(r)) {
		doc_heading(d, 2, "Goroutines");
		not_computed(d, "goroutines");
		return NULL;
	}
	int64_t goroutines = 0, groups = 0;
	struct gm_error *err = query_int(r, "SELECT COUNT(*) FROM goroutines", &goroutines);
	if (!err)
		err = query_int(r, "SELECT COUNT(*) FROM goroutine_groups", &groups);
	if (err)
		return err;
	char a[NUM_BUF], b[NUM_BUF];
	doc_heading(d, 2, "Goroutines");
	doc_para(d, "%s goroutines in %s groups of identical stacks, most numerous first (goroutine_groups "
		 "view): a large group is where a goroutine leak shows. Function is the innermost frame outside "
		 "the runtime; waiting since is when the first GC that saw the group blocked started (g.waitsince: "
		 "it has waited at least since then; how long before the crash is unknown, a core records no clock).",
		 fmt_int(a, goroutines), fmt_int(b, groups));
	sqlite3_stmt *stmt, *frames = NULL;
	if ((err = prepare(r, "SELECT count, status, wait_reason, sample_goid, frames, signature, function, "
			   "function_at, created_by, created_at, waiting_since FROM goroutine_groups LIMIT ?", &stmt)))
		return err;
	sqlite3_bind_int64(stmt, 1, r->top);
	err = prepare(r, "SELECT func, file, line, inlined FROM frames WHERE goid = ? ORDER BY idx LIMIT ?", &frames);
	static const char *const cols[] = { "goroutines:r", "status:l", "waiting since:l", "sample goid:r",
					    "function:c", "created by:c", NULL };
	struct block *t = err ? NULL : doc_table(d, cols);
	struct strbuf stacks = { 0 };
	int64_t shown = 0;
	bool row = false;
	while (!err && !(err = step(r, stmt, &row)) && row) {
		int64_t count = sqlite3_column_int64(stmt, 0), goid = sqlite3_column_int64(stmt, 3);
		int64_t nframes = sqlite3_column_int64(stmt, 4);
		const char *status = col_text(stmt, 1), *function = col_text(stmt, 6), *created = col_text(stmt, 8);
		const char *created_at = col_text(stmt, 9), *since = col_text(stmt, 10);
		char g[NUM_BUF], creator[2 * CELL_MAX];
		const char *base = created_at ? strrchr(created_at, '/') : NULL;
		snprintf(creator, sizeof(creator), "%s%s%s%s", created ? created : "-", created_at ? " (" : "",
			 created_at ? (base ? base + 1 : created_at) : "", created_at ? ")" : "");
		table_row(d, t, fmt_int(a, count), status, since ? since : "unknown", fmt_int(g, goid),
			  function ? function : "?", creator);
		sb_printf(&stacks, "%" PRId64 " goroutine%s, %s: goroutine %" PRId64 "%s%s%s%s\n", count,
			  count == 1 ? "" : "s", status ? status : "?", goid, created ? ", created by " : "",
			  created ? created : "", created_at ? " at " : "", created_at ? created_at : "");
		err = group_stack(r, frames, goid, nframes, &stacks);
		sb_addc(&stacks, '\n');
		shown++;
	}
	sqlite3_finalize(stmt);
	sqlite3_finalize(frames);
	if (!err && stacks.failed)
		err = &gm_error_nomem;
	if (!err) {
		note_cut(r, d, shown, groups, "SELECT * FROM goroutine_groups");
		if (shown > 0) {
			doc_heading(d, 3, "Stacks");
			while (stacks.len && stacks.data[stacks.len - 1] == '\n')
				stacks.data[--stacks.len] = '\0';
			doc_pre(d, stacks.data);
		}
	}
	free(stacks.data);
	return err;
}

static struct gm_error *section_size_classes(struct report *r, struct doc *d)
{
	doc_heading(d, 2, "Span fragmentation per size class");
	doc_para(d, "In-use spans per size class (size_class_usage view), most wasted bytes first: wasted is span "
		 "bytes holding no allocated object (free slots, tails); class 0 holds large objects.");
	sqlite3_stmt *stmt;
	struct gm_error *err = prepare(
		r, "SELECT size_class, elem_size, spans, slots, allocated, live, bytes_in_use, bytes_wasted "
		   "FROM size_class_usage ORDER BY bytes_wasted DESC, size_class LIMIT ?", &stmt);
	if (err)
		return err;
	sqlite3_bind_int64(stmt, 1, r->top);
	static const char *const cols[] = { "class:r", "slot size:r", "spans:r", "slots:r", "allocated:r",
					    "live:r", "in use:r", "wasted:r", "wasted share:r", NULL };
	struct block *t = doc_table(d, cols);
	int64_t shown = 0;
	bool row = false;
	while (!(err = step(r, stmt, &row)) && row) {
		char v[9][NUM_BUF];
		int64_t in_use = sqlite3_column_int64(stmt, 6), wasted = sqlite3_column_int64(stmt, 7);
		int64_t class = sqlite3_column_int64(stmt, 0);
		table_row(d, t, fmt_int(v[0], class),
			  sqlite3_column_type(stmt, 1) == SQLITE_NULL ? "large" : fmt_int(v[1], sqlite3_column_int64(stmt, 1)),
			  fmt_int(v[2], sqlite3_column_int64(stmt, 2)), fmt_int(v[3], sqlite3_column_int64(stmt, 3)),
			  fmt_int(v[4], sqlite3_column_int64(stmt, 4)), fmt_int(v[5], sqlite3_column_int64(stmt, 5)),
			  fmt_bytes(v[6], in_use), fmt_bytes(v[7], wasted),
			  fmt_pct(v[8], wasted, class == 0 ? in_use : in_use + wasted));
		shown++;
	}
	sqlite3_finalize(stmt);
	int64_t total = 0;
	if (!err)
		err = query_int(r, "SELECT COUNT(*) FROM size_class_usage", &total);
	note_cut(r, d, shown, total, "SELECT * FROM size_class_usage");
	return err;
}

static struct gm_error *section_warnings(struct report *r, struct doc *d)
{
	int64_t total = 0;
	struct gm_error *err = query_int(r, "SELECT COUNT(*) FROM warnings", &total);
	if (err)
		return err;
	doc_heading(d, 2, "Warnings");
	if (total == 0) {
		doc_para(d, "None: the analysis met no problem it had to walk past.");
		return NULL;
	}
	sqlite3_stmt *stmt;
	if ((err = prepare(r, "SELECT stage, message FROM warnings ORDER BY id LIMIT ?", &stmt)))
		return err;
	sqlite3_bind_int64(stmt, 1, r->top);
	static const char *const cols[] = { "stage:l", "message:l", NULL };
	struct block *t = doc_table(d, cols);
	int64_t shown = 0;
	bool row = false;
	while (!(err = step(r, stmt, &row)) && row) {
		table_row(d, t, col_text(stmt, 0), col_text(stmt, 1));
		shown++;
	}
	sqlite3_finalize(stmt);
	note_cut(r, d, shown, total, "SELECT * FROM warnings");
	return err;
}

/* ---- leak suspects: the verdict, first ---- */

/* How a report names a root: "global main.records", "goroutine 7 stack
 * main.worker.jobs", or its kind and name. */
static void root_label(char *buf, size_t len, const char *kind, const char *name, sqlite3_int64 goid, bool has_goid)
{
	kind = kind ? kind : "?";
	name = name ? name : "?";
	if (strcmp(kind, "data") == 0 || strcmp(kind, "bss") == 0)
		snprintf(buf, len, "global %s", name);
	else if (strcmp(kind, "stack") == 0 && has_goid)
		snprintf(buf, len, "goroutine %lld stack %s", (long long)goid, name);
	else
		snprintf(buf, len, "%s %s", kind, name);
}

/* What suspect ID accumulates: a sentence on the first type, a table of all. */
static struct gm_error *suspect_types(struct report *r, struct doc *d, sqlite3_stmt *types, int64_t id)
{
	sqlite3_reset(types);
	sqlite3_bind_int64(types, 1, id);
	static const char *const cols[] = { "type:c", "objects:r", "bytes:r", "size:r", NULL };
	struct block *t = NULL;
	bool row = false;
	struct gm_error *err;
	while (!(err = step(r, types, &row)) && row) {
		char n[NUM_BUF], b[NUM_BUF], h[NUM_BUF];
		const char *name = type_name(col_text(types, 0));
		int64_t count = sqlite3_column_int64(types, 1), bytes = sqlite3_column_int64(types, 2);
		if (!t) {
			doc_para(d, "It accumulates %s %s, %s bytes (%s). Everything it alone keeps alive, by type:",
				 fmt_int(n, count), name, fmt_int(b, bytes), fmt_bytes(h, bytes));
			t = doc_table(d, cols);
		}
		table_row(d, t, name, fmt_int(n, count), fmt_int(b, bytes), fmt_bytes(h, bytes));
	}
	return err;
}

/* The roots that share a suspect no single root dominates. */
static struct gm_error *suspect_sharing(struct report *r, struct doc *d, sqlite3_stmt *roots, int64_t id,
					int64_t shared_by)
{
	sqlite3_reset(roots);
	sqlite3_bind_int64(roots, 1, id);
	char n[NUM_BUF];
	doc_para(d, "No single root holds it: %s roots reach it, and it stays alive until none of them does. "
		 "Each root alone would free only what it alone holds:", fmt_int(n, shared_by));
	static const char *const cols[] = { "root:c", "alone frees:r", NULL };
	struct block *t = doc_table(d, cols);
	bool row = false;
	struct gm_error *err;
	while (!(err = step(r, roots, &row)) && row) {
		char label[CELL_MAX + 64], b[NUM_BUF];
		root_label(label, sizeof(label), col_text(roots, 0), col_text(roots, 1), sqlite3_column_int64(roots, 2),
			   sqlite3_column_type(roots, 2) != SQLITE_NULL);
		table_row(d, t, label, fmt_bytes(b, sqlite3_column_int64(roots, 3)));
	}
	return err;
}

/* One suspect: the headline, who holds it, what it accumulates, the path. */
static struct gm_error *suspect(struct report *r, struct doc *d, sqlite3_stmt *s, sqlite3_stmt *types,
				sqlite3_stmt *roots, int64_t live)
{
	int64_t id = sqlite3_column_int64(s, 0), retained = sqlite3_column_int64(s, 4);
	const char *kind = col_text(s, 1), *name = col_text(s, 2);
	char a[NUM_BUF], b[NUM_BUF], c[NUM_BUF], p[NUM_BUF], l[NUM_BUF], h[NUM_BUF];
	int64_t group = sqlite3_column_int64(s, 13);
	if (group > 1)
		doc_heading(d, 3, "%" PRId64 ". %s %s objects, held jointly, hold %s of the live heap (%s)", id,
			    fmt_int(c, group), name ? name : "?", fmt_pct(p, retained, live), fmt_bytes(a, retained));
	else
		doc_heading(d, 3, "%" PRId64 ". %s %s holds %s of the live heap (%s)", id, kind ? kind : "?",
			    name ? name : "?", fmt_pct(p, retained, live), fmt_bytes(a, retained));
	bool jointly = sqlite3_column_type(s, 7) == SQLITE_NULL;
	if (group > 1) {
		doc_para(d, "%s objects of type %s, each held by several roots and none by one alone, keep %s alive "
			 "(%s objects): %s of the %s reachable. The largest is at %s.", fmt_int(c, group),
			 name ? name : "?", fmt_bytes(a, retained), fmt_int(b, sqlite3_column_int64(s, 5)),
			 fmt_pct(p, retained, live), fmt_bytes(l, live), fmt_hex(h, sqlite3_column_int64(s, 3)));
	} else if (!jointly) {
		char label[CELL_MAX + 64];
		root_label(label, sizeof(label), col_text(s, 10), col_text(s, 11), sqlite3_column_int64(s, 12),
			   sqlite3_column_type(s, 12) != SQLITE_NULL);
		doc_para(d, "The %s %s at %s, held by %s, alone keeps %s alive (%s objects): %s of the %s reachable.",
			 kind ? kind : "?", name ? name : "?", fmt_hex(b, sqlite3_column_int64(s, 3)), label,
			 fmt_bytes(a, retained), fmt_int(c, sqlite3_column_int64(s, 5)), fmt_pct(p, retained, live),
			 fmt_bytes(l, live));
	} else {
		doc_para(d, "The %s %s at %s keeps %s alive (%s objects): %s of the %s reachable, held jointly by "
			 "several roots.", kind ? kind : "?", name ? name : "?", fmt_hex(b, sqlite3_column_int64(s, 3)),
			 fmt_bytes(a, retained), fmt_int(c, sqlite3_column_int64(s, 5)), fmt_pct(p, retained, live),
			 fmt_bytes(l, live));
	}
	struct gm_error *err = suspect_types(r, d, types, id);
	if (!err && jointly)
		err = suspect_sharing(r, d, roots, id, sqlite3_column_int64(s, 8));
	if (!err) {
		doc_para(d, "A shortest path from a root:");
		doc_pre(d, col_text(s, 9) ? col_text(s, 9) : "?");
	}
	return err;
}

static struct gm_error *section_suspects(struct report *r, struct doc *d)
{
	doc_heading(d, 2, "Leak suspects");
	if (heap_only(r)) {
		not_computed(d, "roots and builds no object graph: no dominators, so no suspects");
		return NULL;
	}
	const char *reachable = meta(r, "reachable_bytes");
	int64_t live = reachable ? atoll(reachable) : 0;
	sqlite3_stmt *s = NULL, *types = NULL, *roots = NULL;
	struct gm_error *err = prepare(r, "SELECT s.id, s.kind, s.name, o.addr, s.retained, s.objects, "
				       "s.owner_retained, s.root_id, s.shared_by, s.path, r.kind, r.name, r.goid, "
				       "s.group_size "
				       "FROM suspects s JOIN objects o ON o.id = s.object_id "
				       "LEFT JOIN roots r ON r.id = s.root_id ORDER BY s.id", &s);
	if (!err)
		err = prepare(r, "SELECT t.name, st.count, st.bytes FROM suspect_types st "
			      "LEFT JOIN types t ON t.id = st.type_id WHERE st.suspect_id = ? ORDER BY st.rank", &types);
	if (!err)
		err = prepare(r, "SELECT r.kind, r.name, r.goid, COALESCE(r.retained, 0) FROM suspect_roots sr "
			      "JOIN roots r ON r.id = sr.root_id WHERE sr.suspect_id = ? ORDER BY sr.rowid", &roots);
	bool row = false;
	int64_t shown = 0;
	while (!err && !(err = step(r, s, &row)) && row) {
		err = suspect(r, d, s, types, roots, live);
		shown++;
	}
	if (!err && shown == 0)
		doc_para(d, "None: no root, and no object held jointly by several roots, keeps 10%% or more of the "
			 "reachable heap alone.");
	else if (!err)
		doc_para(d, "Suspects are owners (a root, or an object several roots hold) keeping 10%% or more of the "
			 "reachable heap, followed down the dominator tree while one child keeps 80%% of its parent "
			 "(leak_suspects view).");
	sqlite3_finalize(s);
	sqlite3_finalize(types);
	sqlite3_finalize(roots);
	return err;
}

/* Goroutines that can never wake up (leaked_goroutines, goroutine_leaks). */
static struct gm_error *section_goroutine_leaks(struct report *r, struct doc *d)
{
	doc_heading(d, 2, "Leaked goroutines");
	if (heap_only(r)) {
		not_computed(d, "goroutines");
		return NULL;
	}
	const char *leaked = meta(r, "leaked_goroutines"), *undecided = meta(r, "goroutines_undecided");
	const char *objects = meta(r, "leaked_goroutine_objects"), *bytes = meta(r, "leaked_goroutine_bytes");
	int64_t stacks = 0;
	struct gm_error *err = query_int(r, "SELECT COALESCE(SUM(stack_bytes), 0) FROM leaked_goroutines", &stacks);
	if (err)
		return err;
	char a[NUM_BUF], b[NUM_BUF], c[NUM_BUF], h[NUM_BUF];
	if (!leaked || atoll(leaked) == 0)
		doc_para(d, "None: every goroutine blocked on a channel, a select or a sync object waits on something "
			 "that a root or a goroutine able to run still reaches.");
	else
		doc_para(d, "%s goroutines can never wake up: each waits on a channel, a select or a sync object that "
			 "only other blocked goroutines reach (the rule of the runtime's goroutine leak detector, "
			 "applied to the core). Their stacks hold %s; heap objects only they keep alive: %s objects, "
			 "%s (goroutine_leaks view).", fmt_int(a, atoll(leaked)), fmt_bytes(b, stacks),
			 fmt_int(c, objects ? atoll(objects) : 0), fmt_bytes(h, bytes ? atoll(bytes) : 0));
	if (undecided && atoll(undecided) > 0)
		doc_para(d, "%s goroutines blocked on a sync object are not decided: the runtime recorded the object "
			 "they wait on neither in the goroutine (Go 1.26+) nor in its semaphore table (sync.Cond "
			 "before Go 1.26).", fmt_int(a, atoll(undecided)));
	sqlite3_stmt *stmt;
	if ((err = prepare(r, "SELECT count, status, function, created_by, created_at, stack_bytes "
			   "FROM goroutine_leaks LIMIT ?", &stmt)))
		return err;
	sqlite3_bind_int64(stmt, 1, r->top);
	static const char *const cols[] = { "goroutines:r", "status:l", "function:c", "created by:c", "stacks:r",
					    NULL };
	struct block *t = NULL;
	bool row = false;
	while (!(err = step(r, stmt, &row)) && row) {
		char n[NUM_BUF], st[NUM_BUF], creator[2 * CELL_MAX];
		const char *created = col_text(stmt, 3), *at = col_text(stmt, 4);
		snprintf(creator, sizeof(creator), "%s%s%s", created ? created : "-", at ? " at " : "", at ? at : "");
		if (!t)
			t = doc_table(d, cols);
		table_row(d, t, fmt_int(n, sqlite3_column_int64(stmt, 0)), col_text(stmt, 1),
			  col_text(stmt, 2) ? col_text(stmt, 2) : "?", creator, fmt_bytes(st, sqlite3_column_int64(stmt, 5)));
	}
	sqlite3_finalize(stmt);
	return err;
}

/* The report's title, before the verdict. */
#include "report_alloc_sites.inc" /* section_alloc_sites */

static struct gm_error *section_title(struct report *r, struct doc *d)
{
	const char *command = meta(r, "command");
	doc_heading(d, 1, "gomortem report: %s", command && *command ? command : meta(r, "exe_path"));
	return NULL;
}

static struct gm_error *build_doc(struct report *r, struct doc *d)
{
	struct gm_error *(*const sections[])(struct report *, struct doc *) = {
		section_title, section_suspects, section_goroutine_leaks, section_summary, section_memory, section_types, section_alloc_sites, section_retainers,
		section_goroutines, section_size_classes, section_unsaved, section_warnings,
	};
	r->lists_cut = false;
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		struct gm_error *err = sections[i](r, d);
		if (err)
			return err;
	}
	doc_heading(d, 2, "About this report");
	doc_para(d, "Made by gomortem %s report from %s. It shows no memory contents%s. Every table comes from "
		 "the database's views; run gomortem sql on it for more (docs/queries.md).",
		 GOMORTEM_VERSION, r->options->db_path,
		 r->options->include_contents ? " (--include-contents is reserved: analyze stores no contents yet)" : "");
	if (r->top < r->options->top)
		doc_para(d, "Lists were shortened to %ld entries (from --top %ld) to keep this report under "
			 "65,536 characters.", r->top, r->options->top);
	return d->failed ? &gm_error_nomem : NULL;
}

/* ---- Markdown ---- */

/* Text with Markdown's special characters escaped, and nothing a GitHub
 * renderer would make a live link of: a core's strings may hold URLs.  The
 * ':' of "://" and the '.' of "www." are backslash-escaped, which stops URL
 * autolinks; e-mail autolinks ignore escapes, so '@' before a letter or
 * digit is followed by an invisible WORD JOINER (U+2060). */
static void md_text(struct strbuf *sb, const char *s)
{
	for (const char *p = s; *p; p++) {
		bool url_colon = *p == ':' && p[1] == '/' && p[2] == '/';
		bool www_dot = *p == '.' && p - s >= 3 && strncasecmp(p - 3, "www", 3) == 0;
		if (strchr("\\`*_[]<>|#~", *p) || url_colon || www_dot)
			sb_addc(sb, '\\');
		sb_addc(sb, *p);
		if (*p == '@' && isalnum((unsigned char)p[1]))
			sb_puts(sb, "\u2060");
	}
}

/* A code span: a fence longer than any run of backticks inside; '|' escaped for tables. */
static void md_code(struct strbuf *sb, const char *s)
{
	if (!*s)
		return;
	size_t run = 0, longest = 0;
	for (const char *p = s; *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	bool pad = s[0] == '`' || s[strlen(s) - 1] == '`';
	sb_repeat(sb, '`', longest + 1);
	if (pad)
		sb_addc(sb, ' ');
	for (; *s; s++) {
		if (*s == '|')
			sb_addc(sb, '\\');
		sb_addc(sb, *s);
	}
	if (pad)
		sb_addc(sb, ' ');
	sb_repeat(sb, '`', longest + 1);
}

static void md_table(struct strbuf *sb, const struct block *b)
{
	for (size_t i = 0; i < b->ncols; i++) {
		sb_puts(sb, "| ");
		md_text(sb, b->headers[i]);
		sb_addc(sb, ' ');
	}
	sb_puts(sb, "|\n");
	for (size_t i = 0; i < b->ncols; i++)
		sb_puts(sb, b->styles[i] == COL_NUMBER ? "|---:" : "|---");
	sb_puts(sb, "|\n");
	for (size_t row = 0; row < b->nrows; row++) {
		for (size_t i = 0; i < b->ncols; i++) {
			const char *cell = b->cells[row * b->ncols + i];
			sb_puts(sb, "| ");
			if (b->styles[i] == COL_CODE)
				md_code(sb, cell);
			else
				md_text(sb, cell);
			sb_addc(sb, ' ');
		}
		sb_puts(sb, "|\n");
	}
	sb_addc(sb, '\n');
}

static void render_md(const struct doc *d, struct strbuf *sb)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct block *b = d->blocks[i];
		switch (b->kind) {
		case BLOCK_HEADING:
			sb_repeat(sb, '#', (size_t)b->level);
			sb_addc(sb, ' ');
			md_text(sb, b->text);
			sb_puts(sb, "\n\n");
			break;
		case BLOCK_PARA:
			md_text(sb, b->text);
			sb_puts(sb, "\n\n");
			break;
		case BLOCK_TABLE:
			md_table(sb, b);
			break;
		case BLOCK_PRE: {
			size_t run = 0, longest = 0;
			for (const char *p = b->text; *p; p++) {
				run = *p == '`' ? run + 1 : 0;
				if (run > longest)
					longest = run;
			}
			size_t fence = longest >= 3 ? longest + 1 : 3;
			sb_repeat(sb, '`', fence);
			sb_puts(sb, "\n");
			sb_puts(sb, b->text);
			sb_puts(sb, "\n");
			sb_repeat(sb, '`', fence);
			sb_puts(sb, "\n\n");
			break;
		}
		case BLOCK_CHART:  /* the tables beside charts carry the same figures */
			break;
		}
	}
}

/* ---- plain text ---- */

/* Display width of UTF-8 text: one column per character. */
static size_t text_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void text_table(struct strbuf *sb, const struct block *b)
{
	size_t *width = calloc(b->ncols, sizeof(*width));
	if (!width) {
		sb->failed = true;
		return;
	}
	for (size_t i = 0; i < b->ncols; i++)
		width[i] = text_width(b->headers[i]);
	for (size_t row = 0; row < b->nrows; row++)
		for (size_t i = 0; i < b->ncols; i++) {
			size_t w = text_width(b->cells[row * b->ncols + i]);
			if (w > width[i])
				width[i] = w;
		}
	for (size_t row = 0; row < b->nrows + 2; row++) {
		sb_puts(sb, "  ");
		for (size_t i = 0; i < b->ncols; i++) {
			bool last = i + 1 == b->ncols;
			if (row == 1) {
				sb_repeat(sb, '-', width[i]);
				if (!last)
					sb_puts(sb, "  ");
				continue;
			}
			const char *cell = row == 0 ? b->headers[i] : b->cells[(row - 2) * b->ncols + i];
			size_t pad = width[i] - text_width(cell);
			if (b->styles[i] == COL_NUMBER)
				sb_repeat(sb, ' ', pad);
			sb_puts(sb, cell);
			if (b->styles[i] != COL_NUMBER && !last)
				sb_repeat(sb, ' ', pad);
			if (!last)
				sb_puts(sb, "  ");
		}
		sb_addc(sb, '\n');
	}
	sb_addc(sb, '\n');
	free(width);
}

static void render_text(const struct doc *d, struct strbuf *sb)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct block *b = d->blocks[i];
		switch (b->kind) {
		case BLOCK_HEADING:
			sb_puts(sb, b->text);
			sb_addc(sb, '\n');
			sb_repeat(sb, b->level == 1 ? '=' : '-', text_width(b->text));
			sb_puts(sb, "\n\n");
			break;
		case BLOCK_PARA:
			sb_puts(sb, b->text);
			sb_puts(sb, "\n\n");
			break;
		case BLOCK_TABLE:
			text_table(sb, b);
			break;
		case BLOCK_PRE:
			for (const char *line = b->text; *line;) {
				const char *end = strchr(line, '\n');
				size_t len = end ? (size_t)(end - line) : strlen(line);
				if (len)
					sb_puts(sb, "    ");
				sb_add(sb, line, len);
				sb_addc(sb, '\n');
				line += len + (end ? 1 : 0);
			}
			sb_addc(sb, '\n');
			break;
		case BLOCK_CHART:
			break;
		}
	}
}

/* ---- HTML ---- */

static void html_text(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': sb_puts(sb, "&amp;"); break;
		case '<': sb_puts(sb, "&lt;"); break;
		case '>': sb_puts(sb, "&gt;"); break;
		case '"': sb_puts(sb, "&quot;"); break;
		case '\'': sb_puts(sb, "&#39;"); break;
		default: sb_addc(sb, *s);
		}
	}
}

static const char html_head[] =
	"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>";
static const char html_style[] =
	"</title>\n<style>\n"
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d232b;"
	"background:#fff;margin:0 auto;max-width:1100px;padding:16px 28px 48px}\n"
	"h1{font-size:22px;border-bottom:3px solid #2f6fb3;padding-bottom:6px;word-break:break-all}\n"
	"h2{font-size:18px;margin-top:34px;border-bottom:1px solid #d5dbe3;padding-bottom:4px}\n"
	"h3{font-size:15px;margin-top:22px}\n"
	"table{border-collapse:collapse;margin:8px 0 14px;font-size:13px}\n"
	"th,td{border:1px solid #d5dbe3;padding:3px 8px;text-align:left;vertical-align:top}\n"
	"th{background:#eef3f9}\n"
	"tr:nth-child(even) td{background:#f8fafc}\n"
	"td.r,th.r{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\n"
	"td.c{font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all}\n"
	"pre{background:#f4f6f8;border:1px solid #d5dbe3;padding:8px 10px;overflow-x:auto;font-size:12px}\n"
	"svg{display:block;margin:10px 0}\n"
	"svg text{font:12px system-ui,sans-serif;fill:#1d232b}\n"
	"</style>\n</head>\n<body>\n";

static void html_table(struct strbuf *sb, const struct block *b)
{
	sb_puts(sb, "<table>\n<tr>");
	for (size_t i = 0; i < b->ncols; i++) {
		sb_puts(sb, b->styles[i] == COL_NUMBER ? "<th class=\"r\">" : "<th>");
		html_text(sb, b->headers[i]);
		sb_puts(sb, "</th>");
	}
	sb_puts(sb, "</tr>\n");
	for (size_t row = 0; row < b->nrows; row++) {
		sb_puts(sb, "<tr>");
		for (size_t i = 0; i < b->ncols; i++) {
			sb_puts(sb, b->styles[i] == COL_NUMBER ? "<td class=\"r\">" :
				b->styles[i] == COL_CODE ? "<td class=\"c\">" : "<td>");
			html_text(sb, b->cells[row * b->ncols + i]);
			sb_puts(sb, "</td>");
		}
		sb_puts(sb, "</tr>\n");
	}
	sb_puts(sb, "</table>\n");
}

/* A horizontal bar chart: labels left, bars scaled to the largest value. */
static void html_chart(struct strbuf *sb, const struct block *b)
{
	/* Colour by what the bytes are: Go heap, stacks, metadata, outside Go, not saved. */
	static const struct { const char *prefix, *color; } colors[] = {
		{ "Go heap", "#2f6fb3" }, { "Go stacks", "#3a9aa3" }, { "Go metadata", "#8a5bb0" },
		{ "not saved", "#b8c0cc" }, { "other mapped", "#c4514d" }, { "file-backed", "#d08a2c" },
		{ "anonymous", "#4f9a5b" }, { "", "#2f6fb3" },
	};
	enum { LABEL_W = 380, BAR_W = 420, VALUE_W = 110, ROW_H = 22, TITLE_H = 24 };
	if (b->nrows == 0)
		return;
	int64_t max = 1;
	for (size_t i = 0; i < b->nrows; i++)
		if (b->values[i] > max)
			max = b->values[i];
	size_t height = TITLE_H + b->nrows * ROW_H + 6;
	sb_printf(sb, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%zu\" role=\"img\" "
		  "aria-label=\"", LABEL_W + BAR_W + VALUE_W, height);
	html_text(sb, b->text);
	sb_puts(sb, "\">\n<text x=\"0\" y=\"16\" style=\"font-weight:600\">");
	html_text(sb, b->text);
	sb_puts(sb, "</text>\n");
	for (size_t i = 0; i < b->nrows; i++) {
		char size[NUM_BUF];
		size_t y = TITLE_H + i * ROW_H;
		double w = (double)BAR_W * (double)b->values[i] / (double)max;
		if (w < 1.5)
			w = 1.5;  /* a tiny value still shows */
		const char *color = colors[0].color;
		for (size_t k = 0; k < sizeof(colors) / sizeof(colors[0]); k++)
			if (strncmp(b->cells[i], colors[k].prefix, strlen(colors[k].prefix)) == 0) {
				color = colors[k].color;
				break;
			}
		sb_printf(sb, "<g><title>");
		html_text(sb, b->cells[i]);
		sb_printf(sb, ": %" PRId64 " bytes</title>", b->values[i]);
		sb_printf(sb, "<text x=\"%d\" y=\"%zu\" text-anchor=\"end\">", LABEL_W - 8, y + 15);
		html_text(sb, b->cells[i]);
		sb_printf(sb, "</text><rect x=\"%d\" y=\"%zu\" width=\"%.1f\" height=\"%d\" rx=\"2\" fill=\"%s\"/>",
			  LABEL_W, y + 3, w, ROW_H - 6, color);
		sb_printf(sb, "<text x=\"%.1f\" y=\"%zu\">%s</text></g>\n", LABEL_W + w + 6, y + 15,
			  fmt_bytes(size, b->values[i]));
	}
	sb_puts(sb, "</svg>\n");
}

static void render_html(const struct doc *d, struct strbuf *sb)
{
	sb_puts(sb, html_head);
	for (size_t i = 0; i < d->n; i++)
		if (d->blocks[i]->kind == BLOCK_HEADING) {
			html_text(sb, d->blocks[i]->text);
			break;
		}
	sb_puts(sb, html_style);
	for (size_t i = 0; i < d->n; i++) {
		const struct block *b = d->blocks[i];
		switch (b->kind) {
		case BLOCK_HEADING:
			sb_printf(sb, "<h%d>", b->level);
			html_text(sb, b->text);
			sb_printf(sb, "</h%d>\n", b->level);
			break;
		case BLOCK_PARA:
			sb_puts(sb, "<p>");
			html_text(sb, b->text);
			sb_puts(sb, "</p>\n");
			break;
		case BLOCK_TABLE:
			html_table(sb, b);
			break;
		case BLOCK_PRE:
			sb_puts(sb, "<pre>");
			html_text(sb, b->text);
			sb_puts(sb, "</pre>\n");
			break;
		case BLOCK_CHART:
			html_chart(sb, b);
			break;
		}
	}
	sb_puts(sb, "</body>\n</html>\n");
}

/* ---- output ---- */

static struct gm_error *render(struct report *r, struct strbuf *ret)
{
	struct gm_error *err = NULL;
	r->top = r->options->top;
	for (;;) {
		struct doc d = { 0 };
		struct strbuf out = { 0 };
		err = build_doc(r, &d);
		if (!err) {
			switch (r->options->format) {
			case FORMAT_MD: render_md(&d, &out); break;
			case FORMAT_HTML: render_html(&d, &out); break;
			case FORMAT_TEXT: render_text(&d, &out); break;
			}
			if (out.failed)
				err = &gm_error_nomem;
		}
		doc_deinit(&d);
		bool fits = r->options->format != FORMAT_MD || out.len < MD_MAX_CHARS || r->top <= 1;
		if (err || fits) {
			if (err)
				free(out.data);
			else
				*ret = out;
			return err;
		}
		free(out.data);
		/* Too long: shorten every list and build again. */
		r->top = r->top > 8 ? r->top * 2 / 3 : r->top - 1;
	}
}

static struct gm_error *write_all(FILE *f, const char *path, const struct strbuf *sb)
{
	if ((sb->len && fwrite(sb->data, 1, sb->len, f) != sb->len) || fflush(f) != 0)
		return gm_error_create(GM_ERR_IO, "%s: write error: %s", path, strerror(errno));
	return NULL;
}

/* Write to PATH whole or not at all (a device or FIFO: streamed; util/output.h). */
static struct gm_error *write_file(const char *path, const struct strbuf *sb)
{
	struct gm_output out;
	struct gm_error *err = gm_output_open(path, &out);
	if (!err && (err = write_all(out.file, path, sb)))
		gm_output_abort(&out);
	else if (!err)
		err = gm_output_commit(&out);
	return err;
}

/* ---- the command ---- */

static int parse_options(int argc, char **argv, struct report_options *ret)
{
	enum { OPT_INCLUDE_CONTENTS = 256 };
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "top", required_argument, NULL, 'n' },
		{ "include-contents", no_argument, NULL, OPT_INCLUDE_CONTENTS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct report_options o = { .format = FORMAT_MD, .top = DEFAULT_TOP };
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:o:n:h", longopts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'f':
			if (strcmp(optarg, "md") == 0 || strcmp(optarg, "markdown") == 0)
				o.format = FORMAT_MD;
			else if (strcmp(optarg, "html") == 0)
				o.format = FORMAT_HTML;
			else if (strcmp(optarg, "text") == 0 || strcmp(optarg, "txt") == 0)
				o.format = FORMAT_TEXT;
			else
				return cli_usage_error("report", "unknown format '%s' (md, html or text)", optarg);
			break;
		case 'o':
			o.out_path = optarg;
			break;
		case 'n':
			errno = 0;
			o.top = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || o.top < 1 || o.top > MAX_TOP)
				return cli_usage_error("report", "--top wants a number from 1 to %d, not '%s'", MAX_TOP,
						       optarg);
			break;
		case OPT_INCLUDE_CONTENTS:
			o.include_contents = true;
			break;
		case 'h':
			fputs(report_usage, stdout);
			return -1;
		default:
			return cli_usage_error("report", "bad option");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("report", argc - optind == 0 ? "expected DB" : "expected one DB, got more");
	o.db_path = argv[optind];
	*ret = o;
	return 0;
}

int cmd_report(int argc, char **argv)
{
	struct report_options options;
	int status = parse_options(argc, argv, &options);
	if (status)
		return status < 0 ? 0 : status;
	struct report r = { .options = &options };
	struct strbuf out = { 0 };
	struct gm_error *err = open_database(&r);
	if (!err)
		err = render(&r, &out);
	if (!err)
		err = options.out_path ? write_file(options.out_path, &out) : write_all(stdout, "stdout", &out);
	free(out.data);
	meta_free(&r);
	sqlite3_close(r.db);
	return err ? gm_error_report(err) : 0;
}
