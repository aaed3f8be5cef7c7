/* profile_file: an encoded profile written gzip-compressed, as pprof files are. */
#ifndef GOMORTEM_PROFILE_FILE_H
#define GOMORTEM_PROFILE_FILE_H

#include <stddef.h>
#include <zlib.h>

#include "analyzer/util/error.h"
#include "analyzer/pprof/protobuf.h"
#include "analyzer/util/output.h"

/* A gzip file written as its bytes come (a profile of millions of samples
 * need not be held whole), put in place whole or not at all (written beside
 * it and renamed; a device or FIFO is written to directly). */
struct gzip_file {
	struct gm_output out;
	z_stream zs;
};

/* Open PATH for writing into F (nothing appears there before
 * gzip_file_commit).  F stays where it is: zlib's state points back at it. */
struct gm_error *gzip_file_open(const char *path, struct gzip_file *f);

/* Compress and write LEN bytes of DATA.  On error the file is still open:
 * the caller aborts it. */
struct gm_error *gzip_file_write(struct gzip_file *f, const void *data, size_t len);

/* Write BUF's bytes and empty it (its allocation kept); an error if BUF
 * failed to grow (its contents are incomplete). */
struct gm_error *gzip_file_write_buf(struct gzip_file *f, struct pb_buf *buf);

/* Finish the stream and put the file in place; closed either way. */
struct gm_error *gzip_file_commit(struct gzip_file *f);

/* Close and discard it. */
void gzip_file_abort(struct gzip_file *f);

/* Write DATA gzip-compressed to PATH whole or not at all. */
struct gm_error *pb_write_gzip_file(const char *path, const struct pb_buf *data);

#endif
