/* profile_strings: see profile_strings.h. */
#include <stdlib.h>
#include <string.h>

#include "analyzer/pprof/profile_strings.h"
#include "analyzer/pprof/frame_names.h"

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

struct gm_error *string_intern(struct strings *t, const char *s, uint32_t *ret)
{
	uint64_t h = fnv1a(s), at;
	for (;; h++) {
		if (!gm_u64_map_find(&t->by_hash, h, &at))
			break;
		if (strcmp(t->items[at], s) == 0) {
			*ret = (uint32_t)at;
			return NULL;
		}
	}
	if (t->count == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		char **items = realloc(t->items, cap * sizeof(*items));
		if (!items)
			return &gm_error_nomem;
		t->items = items;
		uint32_t *func = realloc(t->func, cap * sizeof(*func));
		if (!func)
			return &gm_error_nomem;
		t->func = func;
		t->cap = cap;
	}
	char *copy = strdup(s);
	if (!copy || gm_u64_map_insert(&t->by_hash, h, t->count)) {
		free(copy);
		return &gm_error_nomem;
	}
	t->items[t->count] = copy;
	t->func[t->count] = 0;
	*ret = (uint32_t)t->count++;
	return NULL;
}

struct gm_error *function_of(struct strings *t, const char *name, uint32_t *ret)
{
	char *spelled = strdup(name);
	if (!spelled)
		return &gm_error_nomem;
	pprof_frame_spelling(spelled);
	uint32_t s;
	struct gm_error *err = string_intern(t, spelled, &s);
	free(spelled);
	if (err)
		return err;
	if (!t->func[s]) {
		uint32_t *grown = realloc(t->func_string, (t->func_count + 1) * sizeof(*grown));
		if (!grown)
			return &gm_error_nomem;
		t->func_string = grown;
		t->func_string[t->func_count++] = s;
		t->func[s] = (uint32_t)t->func_count;
	}
	*ret = t->func[s];
	return NULL;
}

void strings_deinit(struct strings *t)
{
	for (size_t i = 0; i < t->count; i++)
		free(t->items[i]);
	free(t->items);
	free(t->func);
	free(t->func_string);
	gm_u64_map_free(&t->by_hash);
}
