#include "terminal.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at S (2-4 bytes), or 0. */
static size_t utf8_length(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	if (s[0] < 0xc2 || s[0] > 0xf4 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* Overlong three- and four-byte forms, surrogates, past U+10FFFF. */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) || (s[0] == 0xf0 && s[1] < 0x90) ||
	    (s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return len;
}

static size_t hex_escape(const unsigned char *s, size_t n, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		buf[4 * i] = '\\';
		buf[4 * i + 1] = 'x';
		buf[4 * i + 2] = hex[s[i] >> 4];
		buf[4 * i + 3] = hex[s[i] & 0xf];
	}
	buf[4 * n] = '\0';
	return 4 * n;
}

size_t gm_escape_char(const unsigned char *s, size_t n, char *buf, size_t *ret_bytes)
{
	*ret_bytes = 1;
	if (s[0] >= 0x20 && s[0] < 0x7f)
		return 0;
	if (s[0] < 0x80) {
		const char *named = s[0] == '\n' ? "\\n" : s[0] == '\t' ? "\\t" : s[0] == '\r' ? "\\r" : NULL;
		if (!named)
			return hex_escape(s, 1, buf);
		strcpy(buf, named);
		return 2;
	}
	size_t len = utf8_length(s, n);
	if (!len)
		return hex_escape(s, 1, buf);
	*ret_bytes = len;
	bool c1 = s[0] == 0xc2 && s[1] < 0xa0; /* U+0080-U+009F */
	return c1 ? hex_escape(s, 2, buf) : 0;
}

void gm_write_escaped(FILE *f, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t bytes;
	for (size_t i = 0; i < n; i += bytes) {
		char escape[16];
		size_t len = gm_escape_char(u + i, n - i, escape, &bytes);
		if (len)
			fwrite(escape, 1, len, f);
		else
			fwrite(u + i, 1, bytes, f);
	}
}

void gm_printf_escaped(FILE *f, const char *fmt, ...)
{
	char *text;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	bool newline = n > 0 && text[n - 1] == '\n';
	gm_write_escaped(f, text, (size_t)n - newline);
	if (newline)
		fputc('\n', f);
	free(text);
}
