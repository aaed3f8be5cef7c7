/* The document rendered as one self-contained HTML file: inline CSS and SVG
 * bar charts, no scripts, no external resources. */
#include "render.h"

#include <inttypes.h>
#include <stdio.h>
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

void render_html(const struct doc *d, struct strbuf *sb)
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
