#include "collection_name.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* P past a leading "[N]" (N decimal digits); P itself when none. */
static const char *skip_array_length(const char *p)
{
	if (*p != '[' || p[1] < '0' || p[1] > '9')
		return p;
	const char *q = p + 1;
	while (*q >= '0' && *q <= '9')
		q++;
	return *q == ']' ? q + 1 : p;
}

/* The ',' that separates K from V in "K,V>" (brackets of K nest), or NULL. */
static const char *top_level_comma(const char *s, size_t n)
{
	int depth = 0;
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '<': case '[': case '(': case '{': depth++; break;
		case '>': case ']': case ')': case '}': depth--; break;
		case ',':
			if (depth == 0)
				return s + i;
			break;
		}
	}
	return NULL;
}

/* Whether snprintf's answer W says the whole text fit in LEN bytes. */
static bool fits(int w, size_t len)
{
	return w > 0 && (size_t)w < len;
}

/* "PREFIX<K,V>" (a map part as DWARF names it) as "map[K]V" in BUF. */
static bool angle_map(const char *p, char *buf, size_t len)
{
	static const char *const prefixes[] = { "map<", "hash<", "table<", "bucket<" };
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t plen = strlen(prefixes[i]), n = strlen(p);
		if (strncmp(p, prefixes[i], plen) != 0 || n < plen + 3 || p[n - 1] != '>')
			continue;
		const char *inner = p + plen, *comma = top_level_comma(inner, n - plen - 1);
		if (!comma)
			return false;
		int w = snprintf(buf, len, "map[%.*s]%.*s", (int)(comma - inner), inner,
				 (int)(p + n - 1 - comma - 1), comma + 1);
		return fits(w, len);
	}
	return false;
}

const char *gm_collection_name(const char *type, char *buf, size_t len)
{
	const char *p = skip_array_length(type);
	bool array = p != type;
	const char *part = array && strncmp(p, "*table<", 7) == 0 ? p + 1 : p;
	if (angle_map(part, buf, len))
		return buf;
	static const char *const groups[] = { "noalg.map.group[", "map.group[" };
	for (size_t i = 0; i < 2; i++)
		if (strncmp(p, groups[i], strlen(groups[i])) == 0) {
			int w = snprintf(buf, len, "map%s", p + strlen(groups[i]) - 1);
			return fits(w, len) ? buf : type;
		}
	size_t n = strlen(p);
	if (!array && strncmp(p, "hchan<", 6) == 0 && n > 7 && p[n - 1] == '>') {
		int w = snprintf(buf, len, "chan %.*s", (int)(n - 7), p + 6);
		return fits(w, len) ? buf : type;
	}
	if (array) {
		int w = snprintf(buf, len, "[]%s", p);
		return fits(w, len) ? buf : type;
	}
	return type;
}
