/* json_writer: a small streaming JSON writer (objects, arrays, scalars),
 * indenting two spaces per level.  Commas are placed automatically. */
#ifndef GOMORTEM_JSON_WRITER_H
#define GOMORTEM_JSON_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define GM_JSON_MAX_DEPTH 32

struct gm_json {
	FILE *out;
	int depth;
	bool first[GM_JSON_MAX_DEPTH]; /* no element written yet at this level */
	bool after_key;                /* the next value follows "key": */
};

void gm_json_init(struct gm_json *j, FILE *out);
void gm_json_begin_object(struct gm_json *j);
void gm_json_end_object(struct gm_json *j);
void gm_json_begin_array(struct gm_json *j);
void gm_json_end_array(struct gm_json *j);
void gm_json_key(struct gm_json *j, const char *key);
void gm_json_string(struct gm_json *j, const char *s);   /* NULL writes null */
void gm_json_uint(struct gm_json *j, uint64_t v);
void gm_json_int(struct gm_json *j, int64_t v);
void gm_json_double(struct gm_json *j, double v);
void gm_json_bool(struct gm_json *j, bool v);
void gm_json_null(struct gm_json *j);
/* TEXT, already JSON (an SQLite JSON function's result), as it is. */
void gm_json_raw(struct gm_json *j, const char *text);
/* Addresses are written as "0x..." strings: JSON numbers lose precision past 2^53. */
void gm_json_hex(struct gm_json *j, uint64_t v);

/* Write S as a JSON string literal (quotes and escapes) to OUT. */
void gm_json_write_escaped(FILE *out, const char *s);

#endif
