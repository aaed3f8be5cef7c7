/* files: small checks on input files. */
#ifndef GOMORTEM_FILES_H
#define GOMORTEM_FILES_H

#include "../error.h"

/* NULL if PATH is a regular file that can be opened for reading; else a
 * GM_ERR_IO error naming the file and errno's words.  (SQLite opens a
 * missing or unreadable database lazily, with vaguer messages.) */
struct gm_error *gm_check_readable_file(const char *path);

#endif
