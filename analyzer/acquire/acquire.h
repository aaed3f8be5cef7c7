/* acquire: stage 0, getting the core into a file the ELF reader can map.
 *
 * The ELF reader needs random access to a plain core.  A core given as a
 * regular uncompressed file is used where it is.  A compressed core (zstd,
 * lz4 or xz, told apart by their magic numbers, not by the name), a core on
 * standard input ("-") or in a pipe is decompressed or copied once,
 * streaming, into a sparse temporary file.  That file has no name from the
 * start (O_TMPFILE, or a name removed at once), so it disappears with the
 * process whatever ends it, SIGKILL included; the reader reaches it through
 * /proc/self/fd/N.
 *
 * systemd-coredump leaves the facts it knew about the crash in extended
 * attributes of the core file (user.coredump.exe, .pid, .signal, ...); they
 * are read when present.
 *
 * Nothing here knows about Go or the analysis.
 */
#ifndef GOMORTEM_ACQUIRE_H
#define GOMORTEM_ACQUIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

enum gm_compression {
	GM_COMPRESSION_NONE = 0,
	GM_COMPRESSION_ZSTD,
	GM_COMPRESSION_LZ4,
	GM_COMPRESSION_XZ,
};

/* One extended attribute user.coredump.NAME = VALUE. */
struct gm_coredump_attr {
	char *name;    /* NAME: "exe", "pid", "signal", "timestamp", ... */
	char *value;   /* NUL-terminated */
};

struct gm_acquire_options {
	/* Directory for the temporary file; NULL: the output's directory if
	 * OUTPUT is set, else $TMPDIR, else /var/tmp. */
	const char *tmpdir;
	const char *output;
	bool progress;          /* report progress on stderr during long work */
};

struct gm_acquired {
	char *name;             /* as given: a path, or "-" for standard input */
	char *elf_path;         /* the file holding the plain ELF core: NAME itself,
				   or /proc/self/fd/N of the temporary file */
	int temp_fd;            /* the temporary file; -1 when NAME is used as is */
	enum gm_compression compression;
	uint64_t input_bytes;   /* bytes read from NAME when it was streamed */
	uint64_t core_bytes;    /* size of the plain core */
	struct gm_coredump_attr *attrs;
	size_t nattrs;
};

/* Make the core NAME readable as a plain ELF file.  Errors: GM_ERR_IO (NAME
 * or the temporary directory), GM_ERR_BAD_CORE (a truncated or corrupt
 * compressed stream; an unsupported compression), GM_ERR_NO_MEMORY.  No
 * temporary file survives an error. */
struct gm_error *gm_acquire_core(const char *name, const struct gm_acquire_options *options,
				 struct gm_acquired **ret);

/* Close and forget the temporary file; NULL is a no-op. */
void gm_acquired_destroy(struct gm_acquired *acq);

/* The value of user.coredump.NAME, or NULL. */
const char *gm_acquired_attr(const struct gm_acquired *acq, const char *name);

/* "zstd", "lz4", "xz", "none". */
const char *gm_compression_name(enum gm_compression c);

/* The compression whose magic number starts BUF (LEN bytes), or NONE. */
enum gm_compression gm_compression_detect(const uint8_t *buf, size_t len);

#endif
