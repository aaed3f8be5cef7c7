#include "json_writer.h"

#include "analyzer/util/terminal.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

void gm_json_init(struct gm_json *j, FILE *out)
{
	j->out = out;
	j->depth = 0;
	j->first[0] = true;
	j->after_key = false;
}

static void indent(struct gm_json *j)
{
	fputc('\n', j->out);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->out);
}

/* Separator and indentation before a value or key. */
static void before_item(struct gm_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (!j->first[j->depth])
		fputc(',', j->out);
	j->first[j->depth] = false;
	if (j->depth > 0)
		indent(j);
}

static void open_level(struct gm_json *j, char c)
{
	before_item(j);
	fputc(c, j->out);
	if (j->depth + 1 < GM_JSON_MAX_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
}

static void close_level(struct gm_json *j, char c)
{
	bool empty = j->first[j->depth];
	if (j->depth > 0)
		j->depth--;
	if (!empty)
		indent(j);
	fputc(c, j->out);
	if (j->depth == 0)
		fputc('\n', j->out);
}

void gm_json_raw(struct gm_json *j, const char *text)
{
	before_item(j);
	fputs(text, j->out);
}

void gm_json_begin_object(struct gm_json *j) { open_level(j, '{'); }
void gm_json_end_object(struct gm_json *j) { close_level(j, '}'); }
void gm_json_begin_array(struct gm_json *j) { open_level(j, '['); }
void gm_json_end_array(struct gm_json *j) { close_level(j, ']'); }

void gm_json_write_escaped(FILE *out, const char *s)
{
	fputc('"', out);
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), bytes;
	for (size_t i = 0; i < n; i += bytes) {
		char escape[16];
		/* Controls a terminal would obey (util/terminal.h) as \uXXXX: C0,
		 * DEL, C1 (U+0080-U+009F); a byte that is not UTF-8 as U+00XX,
		 * which keeps the output valid JSON. */
		bool control = gm_escape_char(u + i, n - i, escape, &bytes);
		unsigned code = bytes == 2 ? u[i + 1] : u[i];
		if (u[i] == '"' || u[i] == '\\')
			fprintf(out, "\\%c", u[i]);
		else if (control && u[i] < 0x80 && escape[1] != 'x')
			fputs(escape, out);  /* \n \t \r */
		else if (control)
			fprintf(out, "\\u%04x", code);
		else
			fwrite(u + i, 1, bytes, out);
	}
	fputc('"', out);
}

void gm_json_key(struct gm_json *j, const char *key)
{
	before_item(j);
	gm_json_write_escaped(j->out, key);
	fputs(": ", j->out);
	j->after_key = true;
}

void gm_json_string(struct gm_json *j, const char *s)
{
	before_item(j);
	if (s)
		gm_json_write_escaped(j->out, s);
	else
		fputs("null", j->out);
}

void gm_json_uint(struct gm_json *j, uint64_t v)
{
	before_item(j);
	fprintf(j->out, "%" PRIu64, v);
}

void gm_json_int(struct gm_json *j, int64_t v)
{
	before_item(j);
	fprintf(j->out, "%" PRId64, v);
}

void gm_json_double(struct gm_json *j, double v)
{
	before_item(j);
	if (isfinite(v))
		fprintf(j->out, "%.17g", v);
	else
		fputs("null", j->out);
}

void gm_json_bool(struct gm_json *j, bool v)
{
	before_item(j);
	fputs(v ? "true" : "false", j->out);
}

void gm_json_null(struct gm_json *j)
{
	before_item(j);
	fputs("null", j->out);
}

void gm_json_hex(struct gm_json *j, uint64_t v)
{
	before_item(j);
	fprintf(j->out, "\"0x%" PRIx64 "\"", v);
}
