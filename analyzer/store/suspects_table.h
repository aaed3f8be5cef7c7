/* suspects_table: the verdict's tables (schema/gomortem.sql): the leak
 * suspects into suspects, suspect_types and suspect_roots, the leaked
 * goroutines into leaked_goroutines and meta. */
#ifndef GOMORTEM_SUSPECTS_TABLE_H
#define GOMORTEM_SUSPECTS_TABLE_H

#include "../util/error.h"

struct gm_store;
struct gm_suspects;

struct gm_error *gm_write_suspects(struct gm_store *store, const struct gm_suspects *suspects);

struct gm_goleak;
struct gm_goroutine_set;
struct gm_error *gm_write_goroutine_leaks(struct gm_store *store, const struct gm_goleak *leak,
					  const struct gm_goroutine_set *set);

#endif
