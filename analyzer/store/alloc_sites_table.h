/* alloc_sites_table: the runtime's memory profile (goruntime/mprof.h) into
 * alloc_sites, alloc_site_frames, alloc_site_cycles, object_alloc_sites,
 * suspect_alloc_sites and meta (schema/gomortem.sql). */
#ifndef GOMORTEM_ALLOC_SITES_TABLE_H
#define GOMORTEM_ALLOC_SITES_TABLE_H

#include <stddef.h>

#include "../util/error.h"

struct gm_store;
struct gm_mprof;
struct gm_pclntab;

/* Stacks are symbolized through TAB (NULL: func, file and line stay NULL);
 * NOBJECTS is the heap walk's object count (object ids 1..NOBJECTS). */
struct gm_error *gm_write_alloc_sites(struct gm_store *store, const struct gm_mprof *mp, struct gm_pclntab *tab,
				      size_t nobjects);

/* suspect_alloc_sites (suspects and sites numbered from 1 in their order). */
struct gm_suspect_sites;
struct gm_error *gm_write_suspect_alloc_sites(struct gm_store *store, const struct gm_suspect_sites *sites);

#endif
