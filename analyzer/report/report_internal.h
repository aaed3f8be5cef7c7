/* The inside of a report: the state the sections share while they build the
 * document, the queries they run through (database.c) and the sections
 * themselves, one function each, in the files named beside them. */
#ifndef GOMORTEM_REPORT_INTERNAL_H
#define GOMORTEM_REPORT_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "document.h"
#include "report.h"

struct report {
	sqlite3 *db;
	const struct report_options *options;
	long top;             /* entries per list for this build of the document */
	bool lists_cut;       /* some list showed fewer entries than it has */
	char **meta_keys, **meta_values;
	size_t nmeta;
};

/* ---- the database (database.c) ---- */

/* Open options->db_path read-only and load its meta table; the caller
 * closes with report_close() whatever this returns. */
struct gm_error *report_open(struct report *r);
void report_close(struct report *r);

/* The error of the last SQLite call, naming the database and WHAT was done. */
struct gm_error *report_db_error(struct report *r, const char *what);
struct gm_error *report_prepare(struct report *r, const char *sql, sqlite3_stmt **ret);
/* Step STMT: *ret_row tells whether a row came. */
struct gm_error *report_step(struct report *r, sqlite3_stmt *stmt, bool *ret_row);
/* A single integer from SQL (0 when no row or NULL). */
struct gm_error *report_query_int(struct report *r, const char *sql, int64_t *ret);
const char *report_col_text(sqlite3_stmt *stmt, int i);
/* The meta table's value of KEY, NULL when absent. */
const char *report_meta(const struct report *r, const char *key);

/* ---- helpers the sections share (sections.c) ---- */

/* NAME, or "(unknown type)" for NULL. */
const char *type_name(const char *name);
/* "Showing SHOWN of TOTAL; all of them: gomortem sql DB QUERY" when a list was cut. */
void note_cut(struct report *r, struct doc *d, int64_t shown, int64_t total, const char *query);
/* A database made by analyze --heap-only: no graph, roots or goroutines. */
bool heap_only(const struct report *r);
/* Say that heap-only analysis did not compute WHAT. */
void not_computed(struct doc *d, const char *what);

/* ---- the sections, in the report's order (report.c) ---- */

struct gm_error *section_suspects(struct report *r, struct doc *d);        /* verdict.c */
struct gm_error *section_goroutine_leaks(struct report *r, struct doc *d); /* verdict.c */
struct gm_error *section_summary(struct report *r, struct doc *d);         /* sections.c */
struct gm_error *section_memory(struct report *r, struct doc *d);          /* sections.c */
struct gm_error *section_types(struct report *r, struct doc *d);           /* sections.c */
struct gm_error *section_alloc_sites(struct report *r, struct doc *d);     /* alloc_sites.c */
struct gm_error *section_retainers(struct report *r, struct doc *d);       /* retainers.c */
struct gm_error *section_goroutines(struct report *r, struct doc *d);      /* sections.c */
struct gm_error *section_size_classes(struct report *r, struct doc *d);    /* sections.c */
struct gm_error *section_unsaved(struct report *r, struct doc *d);         /* sections.c */
struct gm_error *section_warnings(struct report *r, struct doc *d);        /* sections.c */

#endif
