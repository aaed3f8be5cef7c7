/* Errors: every fallible function returns struct gm_error * (NULL is success).
 *
 * An error carries a code, which decides the process exit status, and a
 * one-line message that names the file or address involved.  Out-of-memory
 * returns a static error and never allocates.
 */
#ifndef GOMORTEM_ERROR_H
#define GOMORTEM_ERROR_H

#include <stdint.h>

/* Error codes double as documented exit statuses (docs/exit-codes.md). */
enum gm_error_code {
	GM_ERR_INTERNAL = 1,     /* a bug or an unexpected library failure */
	GM_ERR_USAGE = 2,        /* bad command line */
	GM_ERR_IO = 3,           /* a file cannot be opened, read or written */
	GM_ERR_BAD_CORE = 4,     /* not ELF, not a core, truncated or corrupt */
	GM_ERR_BAD_EXE = 5,      /* executable missing, not Go, or not matching */
	GM_ERR_NO_DWARF = 6,     /* executable has no DWARF debug info */
	GM_ERR_NO_MEMORY = 7,    /* out of memory */
	GM_ERR_FAULT = 8,        /* memory not saved in the core (expected, counted) */
	GM_ERR_BAD_RUNTIME = 9,  /* Go runtime structures inconsistent or unsupported */
	GM_ERR_SQL = 11,         /* not an SQLite database, or an SQL error */
	GM_ERR_TARGET_GONE = 13, /* watch: the watched process or cgroup ended first */
};

struct gm_error {
	enum gm_error_code code;
	/* For GM_ERR_FAULT: the address that could not be read. */
	uint64_t address;
	char *message;
};

/* A static out-of-memory error; gm_error_destroy() ignores it. */
extern struct gm_error gm_error_nomem;

/* Create an error with a printf-style message. Never returns NULL. */
struct gm_error *gm_error_create(enum gm_error_code code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A fault: reading [address, address+size) hit memory the core did not save. */
struct gm_error *gm_error_fault(uint64_t address, uint64_t size);

/* Prefix the message with "PREFIX: " (e.g. a file name). Returns err. */
struct gm_error *gm_error_prefix(struct gm_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Free an error; NULL and gm_error_nomem are no-ops. */
void gm_error_destroy(struct gm_error *err);

/* Print "gomortem: MESSAGE" to stderr, free the error, and return its exit status. */
int gm_error_report(struct gm_error *err);

#endif
