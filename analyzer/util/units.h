/* units: quantities for people ("1.5 KiB"), shared by the report and diff. */
#ifndef GOMORTEM_UNITS_H
#define GOMORTEM_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* V bytes in BUF (LEN bytes, at least 16): "512 B", "1.5 KiB", "-23.0 MiB";
 * with SIGN, a '+' before a positive value (a change).  Returns BUF. */
const char *gm_format_bytes(char *buf, size_t len, int64_t v, int sign);

#endif
