/* The document rendered as Markdown (GitHub's dialect): what a bug ticket
 * shows. */
#include "render.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

void render_md(const struct doc *d, struct strbuf *sb)
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
