/* terminal: text from a core or a database shown on a terminal.
 *
 * A core holds whatever its process wrote (command line, wait reasons,
 * strings), and a terminal takes some bytes as commands: ESC ] 0 ; ... BEL
 * retitles the window, ESC [ 2 J clears the screen, and worse.  Text that
 * comes from a core or a database is shown with every control character
 * escaped: C0 controls and DEL, C1 controls (U+0080-U+009F, which terminals
 * obey in UTF-8 too), and bytes that are not UTF-8 (0x9b alone is CSI on an
 * 8-bit terminal).
 */
#ifndef GOMORTEM_TERMINAL_H
#define GOMORTEM_TERMINAL_H

#include <stddef.h>
#include <stdio.h>

/* The character at S (N bytes left, N > 0): its length in *RET_BYTES, and
 * the escape that shows it written to BUF (at least 16 bytes) with its
 * length returned, or 0 when it prints as itself.  Escapes: \n, \t, \r,
 * else \xHH per byte. */
size_t gm_escape_char(const unsigned char *s, size_t n, char *buf, size_t *ret_bytes);

/* Write S (N bytes) to F with control characters escaped. */
void gm_write_escaped(FILE *f, const char *s, size_t n);

/* printf to F with the result escaped, but for a final newline. */
void gm_printf_escaped(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
