/* The document rendered as one self-contained HTML file: inline CSS and SVG
 * bar charts, no scripts, no external resources. */
#include "render.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	"svg{display:block;margin:10px 0;width:100%;height:auto}\n"
	"div.scroll{overflow-x:auto}\n"
	"nav.toc{background:#f4f6f8;border:1px solid #d5dbe3;padding:4px 14px;margin:12px 0}\n"
	"nav.toc ul{margin:4px 0;padding-left:20px}\n"
	"@media (max-width:640px){body{padding:8px 10px 32px}}\n"
	"svg text{font:12px system-ui,sans-serif;fill:#1d232b}\n"
	"</style>\n</head>\n<body>\n";

/* TEXT as an anchor name: ASCII letters and digits in lower case, any run
 * of other characters one '-', none at either end. */
static void slug(const char *text, char *out, size_t len)
{
	size_t n = 0;
	bool dash = false;
	for (const char *p = text; *p && n + 2 < len; p++) {
		char c = *p;
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) {
			if (dash && n > 0)
				out[n++] = '-';
			out[n++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
			dash = false;
		} else {
			dash = true;
		}
	}
	if (n == 0)
		out[n++] = 's';
	out[n] = '\0';
}

static void html_table(struct strbuf *sb, const struct block *b)
{
	/* A wide table scrolls by itself on a narrow window, not the page. */
	sb_puts(sb, "<div class=\"scroll\"><table>\n<tr>");
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
	sb_puts(sb, "</table></div>\n");
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
	/* Drawn in a fixed coordinate system, scaled to the window's width (the
	 * CSS caps it at its natural size). */
	sb_printf(sb, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %zu\" "
		  "style=\"max-width:%dpx\" role=\"img\" aria-label=\"", LABEL_W + BAR_W + VALUE_W, height,
		  LABEL_W + BAR_W + VALUE_W);
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

/* The anchors of D's section headings (level 2 and below), computed once
 * for the table of contents and the headings: a heading's text in lower
 * case, runs of other characters as one '-' ("Leak suspects" ->
 * "leak-suspects"), "-2", "-3" ... after a repeat of an earlier heading's.
 * ids[i] is block i's; other blocks' are empty.  NULL when memory ran out. */
#define ANCHOR_LEN 144
typedef char anchor[ANCHOR_LEN];

struct heading_slug {
	const char *slug;
	size_t index;   /* the block's place in the document */
};

/* By slug, then by place: the repeats of one slug in document order. */
static int heading_slug_compare(const void *a, const void *b)
{
	const struct heading_slug *x = a, *y = b;
	int c = strcmp(x->slug, y->slug);
	return c ? c : (x->index > y->index) - (x->index < y->index);
}

static anchor *anchors_build(const struct doc *d)
{
	anchor *ids = calloc(d->n ? d->n : 1, sizeof(*ids));
	struct heading_slug *order = malloc((d->n ? d->n : 1) * sizeof(*order));
	size_t *repeat = calloc(d->n ? d->n : 1, sizeof(*repeat)), n = 0;
	if (!ids || !order || !repeat) {
		free(ids);
		free(order);
		free(repeat);
		return NULL;
	}
	for (size_t i = 0; i < d->n; i++)
		if (d->blocks[i]->kind == BLOCK_HEADING && d->blocks[i]->level > 1) {
			slug(d->blocks[i]->text, ids[i], ANCHOR_LEN - 24); /* room for "-N" */
			order[n++] = (struct heading_slug){ ids[i], i };
		}
	qsort(order, n, sizeof(*order), heading_slug_compare);
	for (size_t k = 0; k < n; k++)
		repeat[order[k].index] = k > 0 && strcmp(order[k - 1].slug, order[k].slug) == 0
						 ? repeat[order[k - 1].index] + 1 : 1;
	for (size_t i = 0; i < d->n; i++)
		if (repeat[i] > 1) {
			size_t len = strlen(ids[i]);
			snprintf(ids[i] + len, ANCHOR_LEN - len, "-%zu", repeat[i]);
		}
	free(order);
	free(repeat);
	return ids;
}

/* A table of contents of the sections (level 2) and their parts (level 3). */
static void html_toc(const struct doc *d, const anchor *ids, struct strbuf *sb)
{
	int open = 0;  /* nested lists open */
	sb_puts(sb, "<nav class=\"toc\"><ul>\n");
	for (size_t i = 0; i < d->n; i++) {
		const struct block *b = d->blocks[i];
		if (b->kind != BLOCK_HEADING || b->level < 2 || b->level > 3)
			continue;
		if (b->level == 3 && !open) {
			sb_puts(sb, "<ul>\n");
			open = 1;
		} else if (b->level == 2 && open) {
			sb_puts(sb, "</ul>\n");
			open = 0;
		}
		sb_printf(sb, "<li><a href=\"#%s\">", ids[i]);
		html_text(sb, b->text);
		sb_puts(sb, "</a></li>\n");
	}
	if (open)
		sb_puts(sb, "</ul>\n");
	sb_puts(sb, "</ul></nav>\n");
}

void render_html(const struct doc *d, struct strbuf *sb)
{
	bool toc_done = false;
	anchor *ids = anchors_build(d);
	if (!ids) {
		sb->failed = true;
		return;
	}
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
			if (b->level == 1) {
				sb_puts(sb, "<h1>");
			} else {
				if (!toc_done) {  /* after the title and what precedes the first section */
					html_toc(d, ids, sb);
					toc_done = true;
				}
				sb_printf(sb, "<h%d id=\"%s\">", b->level, ids[i]);
			}
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
	free(ids);
}
