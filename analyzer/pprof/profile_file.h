/* profile_file: an encoded profile written gzip-compressed, as pprof files are. */
#ifndef GOMORTEM_PROFILE_FILE_H
#define GOMORTEM_PROFILE_FILE_H

#include "analyzer/util/error.h"
#include "analyzer/pprof/protobuf.h"

/* Write DATA gzip-compressed to PATH whole or not at all (written beside it
 * and renamed; a device or FIFO is written to directly). */
struct gm_error *pb_write_gzip_file(const char *path, const struct pb_buf *data);

#endif
