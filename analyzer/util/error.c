#include "error.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "terminal.h"

struct gm_error gm_error_nomem = {
	.code = GM_ERR_NO_MEMORY,
	.message = "out of memory",
};

static struct gm_error *error_vcreate(enum gm_error_code code, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static struct gm_error *error_vcreate(enum gm_error_code code, const char *fmt, va_list ap)
{
	struct gm_error *err = malloc(sizeof(*err));
	if (!err)
		return &gm_error_nomem;
	err->code = code;
	err->address = 0;
	if (vasprintf(&err->message, fmt, ap) < 0) {
		free(err);
		return &gm_error_nomem;
	}
	return err;
}

struct gm_error *gm_error_create(enum gm_error_code code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct gm_error *err = error_vcreate(code, fmt, ap);
	va_end(ap);
	return err;
}

struct gm_error *gm_error_fault(uint64_t address, uint64_t size)
{
	struct gm_error *err = gm_error_create(GM_ERR_FAULT,
		"memory at 0x%" PRIx64 " (%" PRIu64 " bytes) not saved in core dump",
		address, size);
	if (err != &gm_error_nomem)
		err->address = address;
	return err;
}

struct gm_error *gm_error_prefix(struct gm_error *err, const char *fmt, ...)
{
	if (!err || err == &gm_error_nomem)
		return err;
	char *prefix;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&prefix, fmt, ap);
	va_end(ap);
	if (n < 0)
		return err;
	char *joined;
	if (asprintf(&joined, "%s: %s", prefix, err->message) >= 0) {
		free(err->message);
		err->message = joined;
	}
	free(prefix);
	return err;
}

void gm_error_destroy(struct gm_error *err)
{
	if (!err || err == &gm_error_nomem)
		return;
	free(err->message);
	free(err);
}

int gm_error_report(struct gm_error *err)
{
	/* Messages quote file names and core contents: escaped for the terminal. */
	fputs("gomortem: ", stderr);
	gm_write_escaped(stderr, err->message, strlen(err->message));
	fputc('\n', stderr);
	int status = (int)err->code;
	gm_error_destroy(err);
	return status;
}
