/* report: a report for a bug ticket, read from an analysis database (opened
 * read-only) in Markdown, self-contained HTML or plain text.
 *
 * The report is built once as a small document model (document.h) by the
 * sections and rendered by one of three renderers (render.h), so every format
 * shows the same facts.  Every figure comes from the database's tables and
 * views; no memory contents are ever shown.  The sections' shared state and
 * queries are in report_internal.h. */
#ifndef GOMORTEM_REPORT_H
#define GOMORTEM_REPORT_H

#include <stdbool.h>

#include "analyzer/util/error.h"
#include "analyzer/util/strbuf.h"

enum report_format { FORMAT_MD, FORMAT_HTML, FORMAT_TEXT };

struct report_options {
	const char *db_path;
	const char *out_path;  /* NULL: stdout */
	enum report_format format;
	long top;              /* entries per list */
	bool include_contents; /* reserved */
};

/* The report of the database OPTIONS->db_path in OPTIONS->format, into *RET
 * (the caller frees ret->data); Markdown stays under 65,536 characters, its
 * lists shortened until it fits.  Errors name the database. */
struct gm_error *report_make(const struct report_options *options, struct strbuf *ret);

#endif
