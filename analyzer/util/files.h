/* files: small checks on input files. */
#ifndef GOMORTEM_FILES_H
#define GOMORTEM_FILES_H

#include <sys/stat.h>

#include "error.h"

/* Open PATH read-only when it is a regular file: *RET_FD (close it) and its
 * *RET_ST.  Anything else (a directory, a device, a FIFO) is a GM_ERR_IO
 * error naming the file, found without blocking: the open is O_NONBLOCK
 * (a FIFO nobody writes to would otherwise wait forever) and the type is
 * checked before anything reads.  WHAT, if not NULL, says what the file
 * was meant to be ("executable"). */
struct gm_error *gm_open_regular_file(const char *path, const char *what, int *ret_fd, struct stat *ret_st);

/* The same for FILE, named NAME in the messages (FILE may be another name of
 * it, such as /proc/self/fd/N of a decompressed copy). */
struct gm_error *gm_open_regular_file_as(const char *file, const char *name, const char *what, int *ret_fd,
					 struct stat *ret_st);

/* NULL if PATH is a regular file that can be opened for reading; else a
 * GM_ERR_IO error naming the file and errno's words.  (SQLite opens a
 * missing or unreadable database lazily, with vaguer messages.) */
struct gm_error *gm_check_readable_file(const char *path);

#endif
