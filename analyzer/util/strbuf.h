/* strbuf: a growable NUL-terminated string for building output.  An
 * allocation failure is remembered (failed) instead of reported at each
 * append; the caller checks once at the end. */
#ifndef GOMORTEM_STRBUF_H
#define GOMORTEM_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *data;
	size_t len, cap;
	bool failed;  /* an allocation failed: the contents are incomplete */
};

void sb_add(struct strbuf *sb, const char *s, size_t n);
void sb_puts(struct strbuf *sb, const char *s);
void sb_addc(struct strbuf *sb, char c);
void sb_repeat(struct strbuf *sb, char c, size_t n);
void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
