/* The document rendered as plain text, tables aligned in columns. */
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void render_text(const struct doc *d, struct strbuf *sb)
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
