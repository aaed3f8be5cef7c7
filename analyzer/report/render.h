/* The renderers of a report's document, one per format.  Each appends the
 * whole document to SB (sb->failed on out-of-memory). */
#ifndef GOMORTEM_REPORT_RENDER_H
#define GOMORTEM_REPORT_RENDER_H

#include "analyzer/util/strbuf.h"
#include "document.h"

/* Markdown (GitHub's dialect), nothing in it a live link. */
void render_md(const struct doc *d, struct strbuf *sb);
/* Plain text, tables aligned in columns. */
void render_text(const struct doc *d, struct strbuf *sb);
/* One self-contained HTML file: inline CSS and SVG charts, no scripts. */
void render_html(const struct doc *d, struct strbuf *sb);

#endif
