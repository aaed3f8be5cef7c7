#include "warnings.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void gm_warn(struct gm_warnings *w, const char *fmt, ...)
{
	w->count++;
	if (w->ntexts >= GM_MAX_WARNING_TEXTS)
		return;
	if (!w->texts) {
		w->texts = calloc(GM_MAX_WARNING_TEXTS, sizeof(*w->texts));
		if (!w->texts)
			return;
	}
	va_list ap;
	va_start(ap, fmt);
	char *text;
	if (vasprintf(&text, fmt, ap) >= 0)
		w->texts[w->ntexts++] = text;
	va_end(ap);
}

void gm_warnings_free(struct gm_warnings *w)
{
	for (size_t i = 0; i < w->ntexts; i++)
		free(w->texts[i]);
	free(w->texts);
	w->texts = NULL;
	w->ntexts = 0;
	w->count = 0;
}
