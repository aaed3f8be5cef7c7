/* profile_file: see profile_file.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "analyzer/pprof/profile_file.h"

struct gm_error *gzip_file_open(const char *path, struct gzip_file *f)
{
	*f = (struct gzip_file){ 0 };
	struct gm_error *err = gm_output_open(path, &f->out);
	if (err)
		return err;
	/* Go's runtime/pprof writes its profiles at gzip.BestSpeed too. */
	if (deflateInit2(&f->zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		gm_output_abort(&f->out);
		return &gm_error_nomem;
	}
	return NULL;
}

/* Feed LEN bytes of DATA to deflate with FLUSH and write what comes out. */
static struct gm_error *deflate_some(struct gzip_file *f, const void *data, size_t len, int flush)
{
	uint8_t chunk[1 << 16];
	const char *path = f->out.path;
	f->zs.next_in = (Bytef *)data;
	do {
		size_t take = len > UINT32_MAX ? UINT32_MAX : len;
		f->zs.avail_in = (uInt)take;
		len -= take;
		int rc;
		do {
			f->zs.next_out = chunk;
			f->zs.avail_out = sizeof(chunk);
			rc = deflate(&f->zs, len ? Z_NO_FLUSH : flush);
			size_t have = sizeof(chunk) - f->zs.avail_out;
			if (rc == Z_STREAM_ERROR)
				return gm_error_create(GM_ERR_INTERNAL, "%s: zlib deflate failed", path);
			if (have && fwrite(chunk, 1, have, f->out.file) != have)
				return gm_error_create(GM_ERR_IO, "%s: %s", path, strerror(errno));
		} while (f->zs.avail_out == 0);
	} while (len);
	return NULL;
}

struct gm_error *gzip_file_write(struct gzip_file *f, const void *data, size_t len)
{
	return len ? deflate_some(f, data, len, Z_NO_FLUSH) : NULL;
}

struct gm_error *gzip_file_write_buf(struct gzip_file *f, struct pb_buf *buf)
{
	if (buf->failed)
		return &gm_error_nomem;
	struct gm_error *err = gzip_file_write(f, buf->data, buf->len);
	pb_buf_clear(buf);
	return err;
}

struct gm_error *gzip_file_commit(struct gzip_file *f)
{
	struct gm_error *err = deflate_some(f, "", 0, Z_FINISH);
	deflateEnd(&f->zs);
	if (err) {
		gm_output_abort(&f->out);
		return err;
	}
	return gm_output_commit(&f->out);
}

void gzip_file_abort(struct gzip_file *f)
{
	deflateEnd(&f->zs);
	gm_output_abort(&f->out);
}

struct gm_error *pb_write_gzip_file(const char *path, const struct pb_buf *data)
{
	struct gzip_file f;
	struct gm_error *err = gzip_file_open(path, &f);
	if (err)
		return err;
	if ((err = gzip_file_write(&f, data->data, data->len))) {
		gzip_file_abort(&f);
		return err;
	}
	return gzip_file_commit(&f);
}
