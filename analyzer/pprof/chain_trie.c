/* chain_trie: see chain_trie.h. */
#include <stdlib.h>

#include "analyzer/pprof/chain_trie.h"
#include "analyzer/util/u64_map.h"

/* Nodes at most: the hash table (twice as many 4-byte slots) stays under 8 GiB. */
#define MAX_NODES (UINT32_C(1) << 30)

static uint32_t slot_of(const struct chain_trie *t, struct chain_key k)
{
	return (uint32_t)gm_hash_u64((uint64_t)k.parent << 32 | k.func) & t->mask;
}

static struct gm_error *grow_nodes(struct chain_trie *t)
{
	uint32_t cap = t->cap ? t->cap * 2 : 4096;
	struct chain_key *key = realloc(t->key, (size_t)cap * sizeof(*key));
	if (key)
		t->key = key;
	uint8_t *depth = realloc(t->depth, (size_t)cap * sizeof(*depth));
	if (depth)
		t->depth = depth;
	bool *truncated = realloc(t->truncated, (size_t)cap * sizeof(*truncated));
	if (truncated)
		t->truncated = truncated;
	uint32_t *objects = realloc(t->objects, (size_t)cap * sizeof(*objects));
	if (objects)
		t->objects = objects;
	int64_t *bytes = realloc(t->bytes, (size_t)cap * sizeof(*bytes));
	if (bytes)
		t->bytes = bytes;
	if (!key || !depth || !truncated || !objects || !bytes)
		return &gm_error_nomem;
	t->cap = cap;
	return NULL;
}

/* Double the hash table and put every node but 0 back in. */
static struct gm_error *grow_slots(struct chain_trie *t)
{
	uint32_t nslots = t->slots ? (t->mask + 1) * 2 : 8192;
	uint32_t *slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return &gm_error_nomem;
	free(t->slots);
	t->slots = slots;
	t->mask = nslots - 1;
	for (uint32_t node = 1; node < t->count; node++) {
		uint32_t j = slot_of(t, t->key[node]);
		while (t->slots[j])
			j = (j + 1) & t->mask;
		t->slots[j] = node + 1;
	}
	return NULL;
}

struct gm_error *chain_trie_init(struct chain_trie *t)
{
	*t = (struct chain_trie){ 0 };
	struct gm_error *err = grow_nodes(t);
	if (!err)
		err = grow_slots(t);
	if (err)
		return err;
	t->count = 1;  /* node 0: the empty chain */
	t->key[0] = (struct chain_key){ 0, 0 };
	t->depth[0] = 0;
	t->truncated[0] = false;
	t->objects[0] = 0;
	t->bytes[0] = 0;
	t->last = (struct chain_key){ 0, 0 };  /* function ids start at 1: never asked for */
	return NULL;
}

void chain_trie_deinit(struct chain_trie *t)
{
	free(t->key);
	free(t->depth);
	free(t->truncated);
	free(t->objects);
	free(t->bytes);
	free(t->slots);
	*t = (struct chain_trie){ 0 };
}

/* Append node PARENT + FUNC at hash slot J; *RET. */
static struct gm_error *add_node(struct chain_trie *t, struct chain_key k, uint32_t j, uint32_t *ret)
{
	if (t->count >= MAX_NODES)
		return gm_error_create(GM_ERR_INTERNAL, "too many distinct dominator chains");
	struct gm_error *err = t->count == t->cap ? grow_nodes(t) : NULL;
	if (err)
		return err;
	uint32_t node = t->count++;
	t->key[node] = k;
	t->depth[node] = (uint8_t)(t->depth[k.parent] + 1);
	t->truncated[node] = t->truncated[k.parent];
	t->objects[node] = 0;
	t->bytes[node] = 0;
	t->slots[j] = node + 1;
	if (2 * (uint64_t)t->count > (uint64_t)t->mask + 1)
		err = grow_slots(t);
	*ret = node;
	return err;
}

struct gm_error *chain_trie_child(struct chain_trie *t, uint32_t parent, uint32_t func, uint32_t *ret)
{
	struct chain_key k = { parent, func };
	if (t->last.parent == parent && t->last.func == func) {
		*ret = t->last_node;
		return NULL;
	}
	uint32_t j = slot_of(t, k);
	for (; t->slots[j]; j = (j + 1) & t->mask) {
		uint32_t node = t->slots[j] - 1;
		if (t->key[node].parent == parent && t->key[node].func == func) {
			t->last = k;
			t->last_node = node;
			*ret = node;
			return NULL;
		}
	}
	struct gm_error *err = add_node(t, k, j, ret);
	if (!err) {
		t->last = k;
		t->last_node = *ret;
	}
	return err;
}
