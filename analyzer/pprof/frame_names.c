#include "frame_names.h"

#include <stddef.h>

/* Nesting deeper than this is left as it is (no type name comes close). */
#define MAX_NESTING 64

void pprof_frame_spelling(char *name)
{
	size_t open[MAX_NESTING];
	size_t depth = 0, too_deep = 0;
	for (size_t i = 0; name[i]; i++) {
		if (name[i] == '<' && name[i + 1] != '-') {
			if (depth < MAX_NESTING)
				open[depth++] = i;
			else
				too_deep++;
		} else if (name[i] == '>' && too_deep) {
			too_deep--;
		} else if (name[i] == '>' && depth) {
			name[open[--depth]] = '[';
			name[i] = ']';
		}
	}
}
