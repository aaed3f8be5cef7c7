/* made_types: without DWARF, the types DWARF synthesizes for channels and
 * maps (hchan<T>, map<K,V>, table<K,V>, hash<K,V>), made from the runtime's
 * type descriptors and the runtime's own layouts (the binding), named as
 * DWARF names them.  A map or channel word's descriptor says only K, V or
 * T; the runtime structures it points to are laid out by the runtime
 * source, which the layout tables record per Go version:
 *
 * - Swiss maps (Go 1.24+, internal/runtime/maps): map<K,V> is maps.Map,
 *   whose dirPtr points at one group when dirLen is 0 and else at
 *   [dirLen]*table<K,V>; table<K,V> is maps.table, whose groups.data points
 *   at [lengthMask + 1] of the map type's Group;
 * - classic maps (runtime.hmap): hash<K,V>, whose buckets and oldbuckets
 *   point at arrays of the map type's Bucket;
 * - channels: hchan<T> is runtime.hchan; chan_buffer types its buf.
 *
 * Every other word of these structures stays unknown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../goruntime/heap.h"
#include "../program/program.h"
#include "typeinfer_internal.h"

/* What a made entry is: its kind in the top byte, the descriptor it is made from below. */
#define MADE_SHIFT 56
#define MADE_DESC_MASK ((1ull << MADE_SHIFT) - 1)

static uint64_t made_key(enum made_kind kind, uint64_t desc)
{
	return (uint64_t)kind << MADE_SHIFT | (desc & MADE_DESC_MASK);
}

/* The descriptor the map type at MAP_DESC names in field F (Key, Elem, Group, Bucket); 0 if unreadable. */
static uint64_t map_type_field(const struct infer *in, uint64_t map_desc, struct gm_field f)
{
	uint64_t value;
	return f.present && f.size == 8 && gm_try_read_u64(in->heap->rt->prog->mem, map_desc + f.offset, &value) ? value
														  : 0;
}

/* The entry of the descriptor at DESC's field F, NO_ENTRY if none. */
static uint32_t map_type_entry(struct infer *in, uint64_t map_desc, struct gm_field f)
{
	uint64_t desc = map_type_field(in, map_desc, f);
	return desc ? entry_for_runtime(in, desc) : NO_ENTRY;
}

/* The entry of KIND made from DESC if there is one yet; NO_ENTRY if not. */
static uint32_t made_find(const struct infer *in, enum made_kind kind, uint64_t desc)
{
	uint64_t index;
	return gm_u64_map_find(&in->made_by_desc, made_key(kind, desc), &index) ? (uint32_t)index : NO_ENTRY;
}

/* Make the entry of KIND from DESC, of SIZE bytes, named NAME (taken);
 * NO_ENTRY when the size is unknown or out of memory. */
static uint32_t made_entry(struct infer *in, enum made_kind kind, uint64_t desc, const char *type_kind, uint64_t size,
			   char *name)
{
	if (!size) {
		free(name);
		return NO_ENTRY;
	}
	struct gm_type_entry e = { .name = name, .kind = type_kind, .size = size, .elem = NO_ENTRY };
	uint32_t ret = add_made_entry(in, &e);
	if (ret == NO_ENTRY || gm_u64_map_insert(&in->made_by_desc, made_key(kind, desc), ret) ||
	    gm_u64_map_insert(&in->made_layouts, ret, made_key(kind, desc)))
		return NO_ENTRY;
	return ret;
}

uint32_t chan_entry(struct infer *in, uint64_t elem)
{
	uint32_t ret = made_find(in, MADE_CHAN, elem), el;
	char *name;
	if (ret != NO_ENTRY || (el = entry_for_runtime(in, elem)) == NO_ENTRY)
		return ret;
	if (asprintf(&name, "hchan<%s>", in->t->entries[el].name) < 0)
		return NO_ENTRY;
	return made_entry(in, MADE_CHAN, elem, "struct", in->heap->rt->desc.hchan_size, name);
}

/* KIND's entry for the map type MAP_DESC, named PREFIX<K,V>. */
static uint32_t map_part(struct infer *in, enum made_kind kind, uint64_t map_desc, const char *type_kind,
			 uint64_t size, const char *prefix)
{
	const struct gm_descriptor_layout *d = &in->heap->rt->desc;
	uint32_t ret = made_find(in, kind, map_desc);
	if (ret != NO_ENTRY)
		return ret;
	uint32_t key = map_type_entry(in, map_desc, d->map_key), elem = map_type_entry(in, map_desc, d->map_elem);
	char *name;
	if (key == NO_ENTRY || elem == NO_ENTRY ||
	    asprintf(&name, "%s<%s,%s>", prefix, in->t->entries[key].name, in->t->entries[elem].name) < 0)
		return NO_ENTRY;
	return made_entry(in, kind, map_desc, type_kind, size, name);
}

uint32_t map_entry(struct infer *in, uint64_t map_desc)
{
	const struct gm_descriptor_layout *d = &in->heap->rt->desc;
	if (d->hmap_buckets.present)
		return map_part(in, MADE_HASH, map_desc, "struct", d->hmap_size, "hash");
	if (d->swiss_dir_ptr.present && d->swiss_dir_len.present)
		return map_part(in, MADE_MAP, map_desc, "struct", d->swiss_map_size, "map");
	return NO_ENTRY;
}

/* What ENTRY was made as (MADE_NONE for any other) and from which descriptor. */
static enum made_kind made_kind_of(const struct infer *in, uint32_t entry, uint64_t *desc)
{
	uint64_t key;
	if (!gm_u64_map_find(&in->made_layouts, entry, &key))
		return MADE_NONE;
	*desc = key & MADE_DESC_MASK;
	return (enum made_kind)(key >> MADE_SHIFT);
}

bool made_layout(const struct infer *in, uint32_t entry)
{
	uint64_t desc;
	return made_kind_of(in, entry, &desc) != MADE_NONE;
}

uint32_t made_map_group(struct infer *in, uint32_t table_ptr)
{
	uint64_t map_desc;
	if (made_kind_of(in, table_ptr, &map_desc) != MADE_TABLE_PTR)
		return NO_ENTRY;
	return map_type_entry(in, map_desc, in->heap->rt->desc.map_group);
}

/* The code of a word that points at ENTRY, with FLAG and the distance from
 * the word at FROM to the count word at TO in bits 32..43; 0 if ENTRY is
 * unknown or the count does not follow the word. */
static uint64_t counted_code(uint32_t entry, uint64_t flag, struct gm_field from, struct gm_field to)
{
	if (entry == NO_ENTRY || !to.present || to.offset <= from.offset || to.offset - from.offset > DELTA_MASK)
		return 0;
	return ((uint64_t)entry + 1) | flag | (uint64_t)(to.offset - from.offset) << 32;
}

uint64_t made_word_code(struct infer *in, uint32_t entry, uint64_t off)
{
	const struct gm_descriptor_layout *d = &in->heap->rt->desc;
	uint64_t desc;
	uint32_t target;
	switch (made_kind_of(in, entry, &desc)) {
	case MADE_MAP:
		if (!d->swiss_dir_ptr.present || off != d->swiss_dir_ptr.offset)
			return 0;
		target = map_part(in, MADE_TABLE_PTR, desc, "ptr", in->heap->rt->ptr_size, "*table");
		return counted_code(target, TARGET_MAPDIR, d->swiss_dir_ptr, d->swiss_dir_len);
	case MADE_TABLE_PTR:
		target = off == 0 ? map_part(in, MADE_TABLE, desc, "struct", d->table_size, "table") : NO_ENTRY;
		return target == NO_ENTRY ? 0 : (uint64_t)target + 1;
	case MADE_TABLE:
		if (!d->table_groups.present || off != d->table_groups.offset)
			return 0;
		return counted_code(map_type_entry(in, desc, d->map_group), TARGET_MASKED, d->table_groups,
				    d->table_length_mask);
	case MADE_HASH:
		if ((!d->hmap_buckets.present || off != d->hmap_buckets.offset) &&
		    (!d->hmap_oldbuckets.present || off != d->hmap_oldbuckets.offset))
			return 0;
		target = map_type_entry(in, desc, d->map_bucket);
		return target == NO_ENTRY ? 0 : (uint64_t)target + 1;
	default:   /* hchan<T>: chan_buffer types buf */
		return 0;
	}
}

uint32_t refine_chan(struct infer *in, uint32_t entry, uint32_t obj)
{
	const struct gm_descriptor_layout *d = &in->heap->rt->desc;
	uint64_t elem;
	if (in->dw || entry == NO_ENTRY || strcmp(in->t->entries[entry].name, "runtime.hchan") != 0 ||
	    !d->hchan_elemtype.present ||
	    !gm_try_read_u64(in->heap->rt->prog->mem, in->heap->objects[obj].addr + d->hchan_elemtype.offset, &elem) ||
	    !elem)
		return entry;
	uint32_t chan = chan_entry(in, elem);
	return chan != NO_ENTRY ? chan : entry;
}
