/* suspect_sites: for each leak suspect, the sampled objects it alone keeps
 * alive (its dominator subtree; a group's: every jointly held object of its
 * type and theirs), by allocation site: the profile specials of
 * goruntime/mprof.h tie a sampled object to the stack that allocated it. */
#ifndef GOMORTEM_SUSPECT_SITES_H
#define GOMORTEM_SUSPECT_SITES_H

#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

struct gm_suspects;
struct gm_domtree;
struct gm_heap;
struct gm_mprof;

struct gm_suspect_site {
	uint32_t suspect;          /* index into gm_suspects.items */
	uint32_t bucket;           /* index into gm_mprof.buckets */
	uint64_t objects, bytes;   /* sampled objects of the subtree from that site, their slot bytes */
};

struct gm_suspect_sites {
	struct gm_suspect_site *items;
	size_t count;
};

/* Count them (OBJECT_TYPE: the type of each object, as the suspects were
 * found with).  No sampled object, no entry.  GM_ERR_NO_MEMORY only. */
struct gm_error *gm_suspect_sites_count(const struct gm_suspects *suspects, const struct gm_domtree *tree,
					const struct gm_heap *heap, const uint32_t *object_type,
					const struct gm_mprof *mp, struct gm_suspect_sites *ret);

void gm_suspect_sites_free(struct gm_suspect_sites *s);

#endif
