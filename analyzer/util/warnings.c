#include "warnings.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Stages that run on two threads (the edge build) may warn at once;
 * warnings are rare, so one lock for all collectors costs nothing. */
static pthread_mutex_t warn_lock = PTHREAD_MUTEX_INITIALIZER;

void gm_warn(struct gm_warnings *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = NULL;
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	pthread_mutex_lock(&warn_lock);
	w->count++;
	if (w->ntexts < GM_MAX_WARNING_TEXTS && !w->texts)
		w->texts = calloc(GM_MAX_WARNING_TEXTS, sizeof(*w->texts));
	if (text && w->texts && w->ntexts < GM_MAX_WARNING_TEXTS) {
		w->texts[w->ntexts++] = text;
		text = NULL;
	}
	pthread_mutex_unlock(&warn_lock);
	free(text);
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
