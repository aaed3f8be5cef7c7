#include "decompress.h"

#include <lz4frame.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

struct gm_decoder {
	enum gm_compression format;
	ZSTD_DStream *zstd;
	LZ4F_dctx *lz4;
	lzma_stream xz;
	bool xz_ready;
	/* The last call that moved data ended on a frame boundary (zstd and lz4
	 * return 0 there; a call without progress says nothing about it). */
	bool at_end;
};

struct gm_decoder *gm_decoder_create(enum gm_compression c)
{
	struct gm_decoder *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->format = c;
	d->at_end = true;     /* an empty input ends on a boundary: the caller rejects it */
	bool ok = true;
	switch (c) {
	case GM_COMPRESSION_ZSTD:
		ok = (d->zstd = ZSTD_createDStream()) != NULL && !ZSTD_isError(ZSTD_initDStream(d->zstd));
		break;
	case GM_COMPRESSION_LZ4:
		ok = !LZ4F_isError(LZ4F_createDecompressionContext(&d->lz4, LZ4F_VERSION));
		break;
	case GM_COMPRESSION_XZ: {
		lzma_stream init = LZMA_STREAM_INIT;
		d->xz = init;
		/* Concatenated streams, as xz(1) writes for several inputs. */
		ok = d->xz_ready = lzma_stream_decoder(&d->xz, UINT64_MAX, LZMA_CONCATENATED) == LZMA_OK;
		break;
	}
	case GM_COMPRESSION_NONE:
		break;
	}
	if (!ok) {
		gm_decoder_destroy(d);
		return NULL;
	}
	return d;
}

void gm_decoder_destroy(struct gm_decoder *d)
{
	if (!d)
		return;
	ZSTD_freeDStream(d->zstd);
	if (d->lz4)
		LZ4F_freeDecompressionContext(d->lz4);
	if (d->xz_ready)
		lzma_end(&d->xz);
	free(d);
}

static bool step_zstd(struct gm_decoder *d, const uint8_t *in, size_t in_len, size_t *consumed,
		      uint8_t *out, size_t out_cap, size_t *produced, const char **why)
{
	ZSTD_inBuffer ib = { in, in_len, 0 };
	ZSTD_outBuffer ob = { out, out_cap, 0 };
	size_t ret = ZSTD_decompressStream(d->zstd, &ob, &ib);
	if (ZSTD_isError(ret)) {
		*why = ZSTD_getErrorName(ret);
		return false;
	}
	*consumed = ib.pos;
	*produced = ob.pos;
	if (ib.pos || ob.pos)
		d->at_end = ret == 0;
	return true;
}

static bool step_lz4(struct gm_decoder *d, const uint8_t *in, size_t in_len, size_t *consumed,
		     uint8_t *out, size_t out_cap, size_t *produced, const char **why)
{
	size_t src = in_len, dst = out_cap;
	size_t ret = LZ4F_decompress(d->lz4, out, &dst, in, &src, NULL);
	if (LZ4F_isError(ret)) {
		*why = LZ4F_getErrorName(ret);
		return false;
	}
	*consumed = src;
	*produced = dst;
	if (src || dst)
		d->at_end = ret == 0;
	return true;
}

static bool step_xz(struct gm_decoder *d, const uint8_t *in, size_t in_len, size_t *consumed,
		    uint8_t *out, size_t out_cap, size_t *produced, bool finish, const char **why)
{
	d->xz.next_in = in;
	d->xz.avail_in = in_len;
	d->xz.next_out = out;
	d->xz.avail_out = out_cap;
	lzma_ret ret = lzma_code(&d->xz, finish ? LZMA_FINISH : LZMA_RUN);
	*consumed = in_len - d->xz.avail_in;
	*produced = out_cap - d->xz.avail_out;
	d->at_end = ret == LZMA_STREAM_END;
	switch (ret) {
	case LZMA_OK:
	case LZMA_STREAM_END:
	case LZMA_BUF_ERROR:    /* no progress possible: the input ended early */
		return true;
	case LZMA_MEM_ERROR:
		*why = "out of memory";
		return false;
	case LZMA_FORMAT_ERROR:
		*why = "not an xz stream";
		return false;
	case LZMA_OPTIONS_ERROR:
		*why = "unsupported xz options";
		return false;
	default:
		*why = ret == LZMA_DATA_ERROR ? "data error" : "check or header error";
		return false;
	}
}

bool gm_decoder_step(struct gm_decoder *d, const uint8_t *in, size_t in_len, size_t *consumed,
		     uint8_t *out, size_t out_cap, size_t *produced, bool finish, bool *at_end,
		     const char **why)
{
	bool ok = true;
	*consumed = *produced = 0;
	switch (d->format) {
	case GM_COMPRESSION_ZSTD:
		ok = step_zstd(d, in, in_len, consumed, out, out_cap, produced, why);
		break;
	case GM_COMPRESSION_LZ4:
		ok = step_lz4(d, in, in_len, consumed, out, out_cap, produced, why);
		break;
	case GM_COMPRESSION_XZ:
		ok = step_xz(d, in, in_len, consumed, out, out_cap, produced, finish, why);
		break;
	case GM_COMPRESSION_NONE:
		*consumed = *produced = in_len < out_cap ? in_len : out_cap;
		memcpy(out, in, *produced);
		break;
	}
	*at_end = d->at_end;
	return ok;
}
