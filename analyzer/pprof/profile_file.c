/* profile_file: see profile_file.h. */
#include <errno.h>
#include <pthread.h>
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

/* ---- the compressing thread ---- */

/* Compress each buffer handed over until told to stop. */
static void *compress_run(void *arg)
{
	struct gzip_file *f = arg;
	pthread_mutex_lock(&f->lock);
	for (;;) {
		while (!f->busy && !f->stop)
			pthread_cond_wait(&f->changed, &f->lock);
		if (!f->busy)
			break;
		bool skip = f->failed;  /* after an error the file is aborted: nothing more to write */
		pthread_mutex_unlock(&f->lock);
		struct gm_error *err = skip ? NULL : deflate_some(f, f->pending.data, f->pending.len, Z_NO_FLUSH);
		pthread_mutex_lock(&f->lock);
		if (err) {
			f->err = err;
			f->failed = true;
		}
		pb_buf_clear(&f->pending);
		f->busy = false;
		pthread_cond_broadcast(&f->changed);
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

/* Wait until the thread has compressed what it was given (holding the lock). */
static void wait_idle(struct gzip_file *f)
{
	while (f->busy)
		pthread_cond_wait(&f->changed, &f->lock);
}

static void start_thread(struct gzip_file *f)
{
	if (pthread_mutex_init(&f->lock, NULL) != 0)
		return;
	if (pthread_cond_init(&f->changed, NULL) != 0) {
		pthread_mutex_destroy(&f->lock);
		return;
	}
	f->threaded = pthread_create(&f->thread, NULL, compress_run, f) == 0;
	if (!f->threaded) {
		pthread_cond_destroy(&f->changed);
		pthread_mutex_destroy(&f->lock);
	}
}

/* End the thread once it has compressed what it was given; its error, if any. */
static struct gm_error *stop_thread(struct gzip_file *f)
{
	if (!f->threaded)
		return NULL;
	pthread_mutex_lock(&f->lock);
	wait_idle(f);
	f->stop = true;
	pthread_cond_broadcast(&f->changed);
	pthread_mutex_unlock(&f->lock);
	pthread_join(f->thread, NULL);
	pthread_cond_destroy(&f->changed);
	pthread_mutex_destroy(&f->lock);
	pb_buf_deinit(&f->pending);
	f->threaded = false;
	struct gm_error *err = f->err;
	f->err = NULL;
	/* Its error went to an earlier call: the file is incomplete all the same. */
	if (!err && f->failed)
		err = gm_error_create(GM_ERR_IO, "%s: an earlier write failed", f->out.path);
	return err;
}

/* ---- writing ---- */

struct gm_error *gzip_file_write(struct gzip_file *f, const void *data, size_t len)
{
	struct gm_error *err = stop_thread(f);
	if (err)
		return err;
	return len ? deflate_some(f, data, len, Z_NO_FLUSH) : NULL;
}

struct gm_error *gzip_file_write_buf(struct gzip_file *f, struct pb_buf *buf)
{
	if (buf->failed)
		return &gm_error_nomem;
	if (!f->threaded && !f->stop)
		start_thread(f);
	if (!f->threaded) {
		struct gm_error *err = deflate_some(f, buf->data, buf->len, Z_NO_FLUSH);
		pb_buf_clear(buf);
		return err;
	}
	/* Hand BUF over, and take back the buffer the thread is done with. */
	pthread_mutex_lock(&f->lock);
	wait_idle(f);
	struct gm_error *err = f->err;  /* the caller's now */
	f->err = NULL;
	if (!f->failed) {
		struct pb_buf done = f->pending;
		f->pending = *buf;
		*buf = done;
		f->busy = true;
		pthread_cond_broadcast(&f->changed);
	}
	pthread_mutex_unlock(&f->lock);
	return err;
}

struct gm_error *gzip_file_commit(struct gzip_file *f)
{
	struct gm_error *err = stop_thread(f);
	if (!err)
		err = deflate_some(f, "", 0, Z_FINISH);
	deflateEnd(&f->zs);
	if (err) {
		gm_output_abort(&f->out);
		return err;
	}
	return gm_output_commit(&f->out);
}

void gzip_file_abort(struct gzip_file *f)
{
	gm_error_destroy(stop_thread(f));
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
