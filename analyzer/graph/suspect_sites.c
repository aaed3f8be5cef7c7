#include "suspect_sites.h"

#include <stdlib.h>

#include "../goruntime/heap.h"
#include "../goruntime/mprof.h"
#include "domtree.h"
#include "suspects.h"

struct tally {
	uint64_t *objects, *bytes;  /* per bucket */
	uint32_t *touched;          /* buckets with a count, to list and reset */
	size_t ntouched;
};

static void count_subtree(const struct gm_domtree *tree, const struct gm_heap *heap, const struct gm_mprof *mp,
			  uint32_t *stack, size_t depth, struct tally *t)
{
	while (depth > 0) {
		uint32_t o = stack[--depth];
		uint32_t b = mp->object_bucket[o];
		if (b--) {
			if (!t->objects[b]++)
				t->touched[t->ntouched++] = b;
			t->bytes[b] += gm_object_size(heap, &heap->objects[o]);
		}
		for (uint64_t k = tree->first[o]; k < tree->first[o + 1]; k++)
			stack[depth++] = tree->child[k];
	}
}

/* Move suspect I's counts into RET and reset them. */
static struct gm_error *emit(struct tally *t, uint32_t i, struct gm_suspect_sites *ret)
{
	if (!t->ntouched)
		return NULL;  /* no realloc to size 0: it would free the items */
	struct gm_suspect_site *grown = realloc(ret->items, (ret->count + t->ntouched) * sizeof(*grown));
	if (!grown)
		return &gm_error_nomem;
	ret->items = grown;
	for (size_t k = 0; k < t->ntouched; k++) {
		uint32_t b = t->touched[k];
		ret->items[ret->count++] = (struct gm_suspect_site){ i, b, t->objects[b], t->bytes[b] };
		t->objects[b] = t->bytes[b] = 0;
	}
	t->ntouched = 0;
	return NULL;
}

struct gm_error *gm_suspect_sites_count(const struct gm_suspects *suspects, const struct gm_domtree *tree,
					const struct gm_heap *heap, const uint32_t *object_type,
					const struct gm_mprof *mp, struct gm_suspect_sites *ret)
{
	*ret = (struct gm_suspect_sites){ 0 };
	if (!mp || !mp->object_bucket || !suspects || !suspects->count)
		return NULL;
	struct tally t = { calloc(mp->nbuckets, sizeof(uint64_t)), calloc(mp->nbuckets, sizeof(uint64_t)),
			   calloc(mp->nbuckets, sizeof(uint32_t)), 0 };
	uint32_t *stack = malloc((heap->nobjects ? heap->nobjects : 1) * sizeof(*stack));
	struct gm_error *err = t.objects && t.bytes && t.touched && stack ? NULL : &gm_error_nomem;
	for (uint32_t i = 0; i < suspects->count && !err; i++) {
		size_t depth = gm_suspect_members(&suspects->items[i], tree, object_type, stack, NULL);
		count_subtree(tree, heap, mp, stack, depth, &t);
		err = emit(&t, i, ret);
	}
	free(stack);
	free(t.objects);
	free(t.bytes);
	free(t.touched);
	if (err)
		gm_suspect_sites_free(ret);
	return err;
}

void gm_suspect_sites_free(struct gm_suspect_sites *s)
{
	free(s->items);
	*s = (struct gm_suspect_sites){ 0 };
}
