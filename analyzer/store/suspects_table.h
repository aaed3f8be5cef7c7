/* suspects_table: the leak suspects into tables suspects, suspect_types and
 * suspect_roots (schema/gomortem.sql). */
#ifndef GOMORTEM_SUSPECTS_TABLE_H
#define GOMORTEM_SUSPECTS_TABLE_H

#include "../error.h"

struct gm_store;
struct gm_suspects;

struct gm_error *gm_write_suspects(struct gm_store *store, const struct gm_suspects *suspects);

#endif
