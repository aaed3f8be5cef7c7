/* profile_file: an encoded profile written gzip-compressed, as pprof files are. */
#ifndef GOMORTEM_PROFILE_FILE_H
#define GOMORTEM_PROFILE_FILE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <zlib.h>

#include "analyzer/util/error.h"
#include "analyzer/pprof/protobuf.h"
#include "analyzer/util/output.h"

/* A gzip file written as its bytes come (a profile of millions of samples
 * need not be held whole), put in place whole or not at all (written beside
 * it and renamed; a device or FIFO is written to directly).  Buffers given
 * to gzip_file_write_buf are compressed by a thread of its own while the
 * caller encodes the next (deflate was a fifth of pprof's time at 20M
 * objects, on one CPU while the other idled). */
struct gzip_file {
	struct gm_output out;
	z_stream zs;
	bool threaded;            /* the compressing thread runs */
	pthread_t thread;
	pthread_mutex_t lock;     /* guards the five below */
	pthread_cond_t changed;
	struct pb_buf pending;    /* bytes handed to the thread */
	bool busy;                /* it is compressing them */
	bool stop;                /* it is to end */
	bool failed;              /* it met an error: it writes nothing more */
	struct gm_error *err;     /* that error, until handed to the caller */
};

/* Open PATH for writing into F (nothing appears there before
 * gzip_file_commit).  F stays where it is: zlib's state points back at it. */
struct gm_error *gzip_file_open(const char *path, struct gzip_file *f);

/* Compress and write LEN bytes of DATA.  On error the file is still open:
 * the caller aborts it. */
struct gm_error *gzip_file_write(struct gzip_file *f, const void *data, size_t len);

/* Write BUF's bytes and empty it (it gets an allocation back); an error if
 * BUF failed to grow (its contents are incomplete), or if an earlier
 * buffer's writing failed. */
struct gm_error *gzip_file_write_buf(struct gzip_file *f, struct pb_buf *buf);

/* Finish the stream and put the file in place; closed either way. */
struct gm_error *gzip_file_commit(struct gzip_file *f);

/* Close and discard it. */
void gzip_file_abort(struct gzip_file *f);

/* Write DATA gzip-compressed to PATH whole or not at all. */
struct gm_error *pb_write_gzip_file(const char *path, const struct pb_buf *data);

#endif
