/* decompress: one streaming decoder per compression format, behind one
 * step function, so that a single loop (acquire.c) reads, decodes and
 * writes whatever the format. */
#ifndef GOMORTEM_DECOMPRESS_H
#define GOMORTEM_DECOMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acquire.h"

struct gm_decoder;

/* A decoder for C; GM_COMPRESSION_NONE copies its input unchanged.
 * NULL when out of memory. */
struct gm_decoder *gm_decoder_create(enum gm_compression c);

void gm_decoder_destroy(struct gm_decoder *d);

/* Decode from IN (IN_LEN bytes) into OUT (OUT_CAP bytes): *CONSUMED and
 * *PRODUCED say how much of each was used.  FINISH: IN holds the last bytes
 * of the input.  *AT_END is set when the input so far ends on a complete
 * frame or stream (a compressed input that stops elsewhere is truncated).
 * On a corrupt stream returns false with a static description in *WHY. */
bool gm_decoder_step(struct gm_decoder *d, const uint8_t *in, size_t in_len, size_t *consumed,
		     uint8_t *out, size_t out_cap, size_t *produced, bool finish, bool *at_end,
		     const char **why);

#endif
