/* profile_file: see profile_file.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "analyzer/pprof/profile_file.h"
#include "analyzer/util/output.h"

/* Compress DATA with gzip into the open FILE. */
static struct gm_error *write_gzip(FILE *file, const char *path, const uint8_t *data, size_t len)
{
	z_stream zs = { 0 };
	/* Go's runtime/pprof writes its profiles at gzip.BestSpeed too. */
	if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return &gm_error_nomem;
	uint8_t chunk[1 << 16];
	struct gm_error *err = NULL;
	int rc;
	zs.next_in = (Bytef *)data;
	do {
		size_t take = len > UINT32_MAX ? UINT32_MAX : len;
		zs.avail_in = (uInt)take;
		len -= take;
		do {
			zs.next_out = chunk;
			zs.avail_out = sizeof(chunk);
			rc = deflate(&zs, len ? Z_NO_FLUSH : Z_FINISH);
			size_t have = sizeof(chunk) - zs.avail_out;
			if (rc == Z_STREAM_ERROR) {
				err = gm_error_create(GM_ERR_INTERNAL, "%s: zlib deflate failed", path);
			} else if (have && fwrite(chunk, 1, have, file) != have) {
				err = gm_error_create(GM_ERR_IO, "%s: %s", path, strerror(errno));
			}
		} while (!err && zs.avail_out == 0);
	} while (!err && len);
	deflateEnd(&zs);
	return err;
}

/* Write DATA gzip-compressed to PATH whole or not at all (a device or FIFO: streamed). */
struct gm_error *pb_write_gzip_file(const char *path, const struct pb_buf *data)
{
	struct gm_output out;
	struct gm_error *err = gm_output_open(path, &out);
	if (!err && (err = write_gzip(out.file, path, data->data, data->len)))
		gm_output_abort(&out);
	else if (!err)
		err = gm_output_commit(&out);
	return err;
}
