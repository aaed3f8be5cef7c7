#include "u64_map.h"

#include <stdlib.h>

static int map_grow(struct gm_u64_map *map)
{
	size_t cap = map->cap ? map->cap * 2 : 256;
	uint64_t *keys = calloc(cap, sizeof(*keys));
	uint64_t *values = calloc(cap, sizeof(*values));
	if (!keys || !values) {
		free(keys);
		free(values);
		return -1;
	}
	for (size_t i = 0; i < map->cap; i++) {
		if (!map->keys[i])
			continue;
		size_t j = gm_hash_u64(map->keys[i]) & (cap - 1);
		while (keys[j])
			j = (j + 1) & (cap - 1);
		keys[j] = map->keys[i];
		values[j] = map->values[i];
	}
	free(map->keys);
	free(map->values);
	map->keys = keys;
	map->values = values;
	map->cap = cap;
	return 0;
}

int gm_u64_map_insert(struct gm_u64_map *map, uint64_t key, uint64_t value)
{
	if (2 * (map->count + 1) > map->cap && map_grow(map))
		return -1;
	size_t j = gm_hash_u64(key + 1) & (map->cap - 1);
	for (; map->keys[j]; j = (j + 1) & (map->cap - 1))
		if (map->keys[j] == key + 1)
			return 0;
	map->keys[j] = key + 1;
	map->values[j] = value;
	map->count++;
	return 0;
}

bool gm_u64_map_find(const struct gm_u64_map *map, uint64_t key, uint64_t *ret)
{
	if (!map->cap)
		return false;
	for (size_t j = gm_hash_u64(key + 1) & (map->cap - 1); map->keys[j]; j = (j + 1) & (map->cap - 1)) {
		if (map->keys[j] == key + 1) {
			*ret = map->values[j];
			return true;
		}
	}
	return false;
}

void gm_u64_map_free(struct gm_u64_map *map)
{
	free(map->keys);
	free(map->values);
	map->keys = map->values = NULL;
	map->count = map->cap = 0;
}
