#include "units.h"

#include <inttypes.h>
#include <stdio.h>

const char *gm_format_bytes(char *buf, size_t len, int64_t v, int sign)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	const char *plus = sign && v > 0 ? "+" : "";
	if (v > -1024 && v < 1024) {
		snprintf(buf, len, "%s%" PRId64 " B", plus, v);
		return buf;
	}
	double x = (double)v / 1024;
	size_t u = 0;
	while ((x >= 1024 || x <= -1024) && u + 1 < sizeof(units) / sizeof(units[0])) {
		x /= 1024;
		u++;
	}
	snprintf(buf, len, "%s%.1f %s", plus, x, units[u]);
	return buf;
}
