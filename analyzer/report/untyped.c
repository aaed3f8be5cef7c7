#include "untyped.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* What each cause of meta.untyped_causes means, for a reader. */
static const char *cause_meaning(const char *cause, size_t len)
{
	static const struct {
		const char *name, *meaning;
	} causes[] = {
		{ "contradicted", "their inferred type disagreed with the runtime's pointer bitmap" },
		{ "untyped_word", "a typed object points at them through an untyped word (unsafe.Pointer, uintptr, "
				  "a closure's captures, into their middle)" },
		{ "untyped_parents", "only untyped objects point at them" },
		{ "untyped_roots", "only roots of unknown type point at them" },
	};
	for (size_t i = 0; i < sizeof(causes) / sizeof(causes[0]); i++)
		if (strlen(causes[i].name) == len && strncmp(causes[i].name, cause, len) == 0)
			return causes[i].meaning;
	return NULL;
}

const char *gm_report_untyped_line(const char *summary, char *buf, size_t len)
{
	if (!summary || strcmp(summary, "none") == 0) {
		snprintf(buf, len, "%s", summary ? "none" : "not recorded (a database from an older gomortem)");
		return buf;
	}
	size_t used = 0;
	buf[0] = '\0';
	for (const char *p = summary; *p && used < len;) {
		const char *colon = strchr(p, ':'), *end = strchr(p, ';');
		if (!colon)
			break;
		if (!end)
			end = p + strlen(p);
		const char *meaning = cause_meaning(p, (size_t)(colon - p));
		int n = snprintf(buf + used, len - used, "%s%.*s (%s)", used ? "; " : "", (int)(end - colon - 2),
				 colon + 2, meaning ? meaning : "?");
		if (n < 0)
			break;
		used += (size_t)n;
		p = *end ? end + 2 : end;
	}
	return buf;
}
