/* collection_name: the collection a heap object's type is part of, as Go
 * spells the collection's type, so that tools can count one logical type
 * in one row: a slice's backing arrays of any length ([17749]*main.Record
 * -> []*main.Record) and a map's runtime-internal parts, whichever spelling
 * DWARF or the runtime gives them (map<K,V>, hash<K,V>, table<K,V>,
 * [N]*table<K,V>, bucket<K,V>, [N]map.group[K]V, noalg.map.group[K]V ->
 * map[K]V), a channel's header (hchan<T> -> chan T). */
#ifndef GOMORTEM_UTIL_COLLECTION_NAME_H
#define GOMORTEM_UTIL_COLLECTION_NAME_H

#include <stddef.h>

/* TYPE's collection name in BUF (LEN bytes); TYPE itself when no rule
 * applies or BUF is too small.  Returns what to use. */
const char *gm_collection_name(const char *type, char *buf, size_t len);

#endif
