#include "untyped.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../goruntime/heap.h"
#include "graph.h"
#include "typeinfer.h"

#define NO_ENTRY UINT32_MAX
#define FROM_TYPED 1u
#define FROM_UNTYPED 2u

const char *gm_untyped_cause_name(enum gm_untyped_cause cause)
{
	static const char *const names[] = { "contradicted", "untyped_word", "untyped_parents", "untyped_roots" };
	return cause < GM_UNTYPED_NCAUSES ? names[cause] : "?";
}

struct gm_error *gm_untyped_causes(const struct gm_heap *heap, const struct gm_graph *graph,
				   const struct gm_types *types, const uint8_t *contradicted, struct gm_untyped *ret)
{
	memset(ret, 0, sizeof(*ret));
	uint8_t *from = calloc(heap->nobjects ? heap->nobjects : 1, 1);
	if (!from)
		return &gm_error_nomem;
	for (size_t src = 0; src < heap->nobjects; src++) {
		if (!graph->reachable[src])
			continue;
		uint8_t flag = types->object_type[src] == NO_ENTRY ? FROM_UNTYPED : FROM_TYPED;
		for (uint64_t e = graph->edge_start[src]; e < graph->edge_start[src + 1]; e++)
			from[gm_graph_edge_dst(graph, e)] |= flag;
	}
	for (size_t i = 0; i < heap->nobjects; i++) {
		if (!graph->reachable[i] || types->object_type[i] != NO_ENTRY)
			continue;
		enum gm_untyped_cause cause = contradicted && contradicted[i] ? GM_UNTYPED_CONTRADICTED
			: from[i] & FROM_TYPED ? GM_UNTYPED_WORD
			: from[i] & FROM_UNTYPED ? GM_UNTYPED_PARENTS : GM_UNTYPED_ROOTS;
		ret->objects[cause]++;
		ret->bytes[cause] += gm_object_size(heap, &heap->objects[i]);
	}
	free(from);
	return NULL;
}

char *gm_untyped_summary(const struct gm_untyped *u)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	bool done[GM_UNTYPED_NCAUSES] = { 0 }, any = false;
	for (int rank = 0; rank < GM_UNTYPED_NCAUSES; rank++) {
		int best = -1;
		for (int c = 0; c < GM_UNTYPED_NCAUSES; c++)
			if (!done[c] && u->objects[c] && (best < 0 || u->bytes[c] > u->bytes[best]))
				best = c;
		if (best < 0)
			break;
		done[best] = true;
		fprintf(f, "%s%s: %" PRIu64 " objects, %" PRIu64 " bytes", any ? "; " : "",
			gm_untyped_cause_name((enum gm_untyped_cause)best), u->objects[best], u->bytes[best]);
		any = true;
	}
	if (!any)
		fputs("none", f);
	fclose(f);
	return out;
}
