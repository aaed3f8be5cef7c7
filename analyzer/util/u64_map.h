/* u64_map: an open-addressing hash map from 64-bit keys to 64-bit values
 * (addresses to indexes, descriptor offsets to DIE offsets).  Any key may be
 * stored, 0 included. */
#ifndef GOMORTEM_U64_MAP_H
#define GOMORTEM_U64_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gm_u64_map {
	uint64_t *keys;     /* key + 1; 0 marks an empty slot */
	uint64_t *values;
	size_t count, cap;  /* cap is 0 or a power of two, at most half full */
};

/* A well-mixed hash of a 64-bit value (MurmurHash3's finalizer). */
static inline uint64_t gm_hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

/* Insert KEY -> VALUE unless KEY is present; -1 on out-of-memory. */
int gm_u64_map_insert(struct gm_u64_map *map, uint64_t key, uint64_t value);

/* The value of KEY; false if absent. */
bool gm_u64_map_find(const struct gm_u64_map *map, uint64_t key, uint64_t *ret);

void gm_u64_map_free(struct gm_u64_map *map);

#endif
