/* warnings: problems a stage met and walked past, counted, with the first
 * messages kept for the database's warnings table. */
#ifndef GOMORTEM_WARNINGS_H
#define GOMORTEM_WARNINGS_H

#include <stddef.h>
#include <stdint.h>

#define GM_MAX_WARNING_TEXTS 1000

struct gm_warnings {
	uint64_t count;
	char **texts;        /* the first GM_MAX_WARNING_TEXTS messages */
	size_t ntexts;
};

/* Count a warning and keep its message while there is room. */
void gm_warn(struct gm_warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void gm_warnings_free(struct gm_warnings *w);

#endif
