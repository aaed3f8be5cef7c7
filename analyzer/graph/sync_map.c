/* hash_trie: sync.Map's internal/sync.HashTrieMap (Go 1.24+) without DWARF,
 * and the descriptors found by name it takes.
 *
 * The code shows which globals are such maps: a method of HashTrieMap is
 * called on the global's address with the instantiation's dictionary
 * (code_types.h, GM_CODE_HASH_TRIE).  The dictionary, and those it holds,
 * hold the descriptors its generic code allocates with, indirect[K,V] and
 * entry[K,V] among them: their runtime names find them.  The map's root
 * word points to an indirect[K,V]; a node[K,V] (what an indirect's children
 * point to) is an entry[K,V] or an indirect[K,V] as its isEntry flag says.
 * The offsets of root and isEntry come from the layout tables.
 *
 * The descriptors the code passes to new are learned by name too: the
 * runtime's own types (runtime.m, runtime.p) are found so.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../goruntime/binding.h"
#include "../goruntime/code_types.h"
#include "../goruntime/heap.h"
#include "../program/program.h"
#include "descriptors.h"
#include "typeinfer_internal.h"

/* Words read of a dictionary, and of each it holds. */
#define DICT_WORDS 512
#define SUB_DICT_WORDS 64

/* What a trie's dictionaries name: its indirect[K,V] (0 if none, or
 * UINT64_MAX when they name two). */
struct trie_find {
	uint64_t indirect;
};

/* Learn the descriptor at DESC under its runtime name (two descriptors of
 * one name make it ambiguous), and whether it is the trie's indirect;
 * false if DESC is no named descriptor. */
static bool learn(struct infer *in, uint64_t desc, struct trie_find *find)
{
	struct gm_desc d;
	char *name = gm_desc_read(in->heap->rt, desc, &d) ? gm_heap_type_name(in->heap, desc) : NULL;
	uint64_t have;
	if (!name || !*name) {
		free(name);
		return false;
	}
	uint64_t key = name_hash(name);
	if (find && strncmp(name, "sync.indirect[", 14) == 0)
		find->indirect = !find->indirect || find->indirect == desc ? desc : UINT64_MAX;
	free(name);
	if (!gm_u64_map_find(&in->desc_by_name, key, &have))
		gm_u64_map_insert(&in->desc_by_name, key, desc);
	else if (have != desc)
		gm_u64_map_insert(&in->desc_by_name, key, UINT64_MAX);
	/* The generic code allocates with *T's descriptors: T is their Elem. */
	uint64_t elem;
	if (d.kind == KIND_POINTER && in->heap->rt->ptrtype_elem.present &&
	    gm_try_read_u64(in->heap->rt->prog->mem, desc + in->heap->rt->ptrtype_elem.offset, &elem) && elem &&
	    elem != desc)
		learn(in, elem, find);
	return true;
}

/* The words of the dictionary at DICT up to the first zero: descriptors
 * (named ones), and the dictionaries it holds (DEPTH 0 only; they lie
 * among the module's types too). */
static void read_dictionary(struct infer *in, uint64_t dict, size_t max_words, int depth, struct trie_find *find)
{
	for (size_t i = 0; i < max_words; i++) {
		uint64_t word;
		if (!gm_try_read_u64(in->heap->rt->prog->mem, dict + 8 * i, &word) || !word)
			return;
		if (word < in->heap->moduledata_types || word >= in->heap->moduledata_etypes)
			continue;
		if (!learn(in, word, find) && depth == 0)
			read_dictionary(in, word, SUB_DICT_WORDS, 1, find);
	}
}

void learn_code_descriptors(struct infer *in)
{
	uint64_t bias = in->heap->rt->prog->bias, indirect;
	struct gm_u64_map read = { 0 };   /* dictionary -> its indirect (0: none): every sync.Map shares one */
	for (size_t i = 0; in->code_types && i < in->code_types->n; i++) {
		const struct gm_code_type *fact = &in->code_types->items[i];
		if (fact->kind == GM_CODE_ALLOCATED)
			learn(in, fact->desc + bias, NULL);
		if (fact->kind != GM_CODE_HASH_TRIE)
			continue;
		if (!gm_u64_map_find(&read, fact->desc, &indirect)) {
			struct trie_find find = { 0 };
			read_dictionary(in, fact->desc + bias, DICT_WORDS, 0, &find);
			indirect = find.indirect != UINT64_MAX ? find.indirect : 0;
			gm_u64_map_insert(&read, fact->desc, indirect);
		}
		if (indirect)
			gm_u64_map_insert(&in->trie_indirect, fact->word + bias, indirect);
	}
	gm_u64_map_free(&read);
}

uint64_t descriptor_named(struct infer *in, const char *name)
{
	uint64_t desc;
	return gm_u64_map_find(&in->desc_by_name, name_hash(name), &desc) && desc != UINT64_MAX ? desc : 0;
}

uint64_t trie_word_code(struct infer *in, uint64_t word_addr, char **ret_type_name)
{
	const struct gm_descriptor_layout *d = &in->heap->rt->desc;
	uint64_t indirect;
	if (!d->trie_root.present || word_addr < d->trie_root.offset ||
	    !gm_u64_map_find(&in->trie_indirect, word_addr - d->trie_root.offset, &indirect))
		return 0;
	uint32_t entry = entry_for_runtime(in, indirect);
	if (entry == NO_ENTRY)
		return 0;
	/* The root is an atomic.Pointer[indirect[K,V]], as DWARF declares it. */
	if (!*ret_type_name && asprintf(ret_type_name, "atomic.Pointer[%s]", in->t->entries[entry].name) < 0)
		*ret_type_name = NULL;
	return (uint64_t)entry + 1;
}

/* The word at WORD_ADDR as the read or dirty word of a sync.Map before Go
 * 1.24 (a global a method of sync.Map is called on): the readOnly it
 * points to and the map it holds, by the descriptors the code allocates
 * them with (sync.Map's own code: newobject(readOnly), make(map[any]*entry)). */
uint64_t sync_map_word_code(struct infer *in, uint64_t word_addr, char **ret_type_name)
{
	const struct gm_descriptor_layout *d = &in->heap->rt->desc;
	uint64_t bias = in->heap->rt->prog->bias, desc;
	const struct gm_field fields[2] = { d->sync_map_read, d->sync_map_dirty };
	for (int i = 0; i < 2 && in->code_types; i++) {
		const struct gm_code_type *fact =
			fields[i].present && word_addr - bias >= fields[i].offset
				? gm_code_type_of(in->code_types, word_addr - bias - fields[i].offset)
				: NULL;
		if (!fact || fact->kind != GM_CODE_SYNC_MAP)
			continue;
		bool read = i == 0;
		if (!(desc = descriptor_named(in, read ? "sync.readOnly" : "map[interface {}]*sync.entry")))
			return 0;
		uint32_t entry = entry_for_runtime(in, desc);
		if (entry == NO_ENTRY)
			return 0;
		/* As DWARF declares them: atomic.Pointer[readOnly], map[any]*entry. */
		if (!*ret_type_name &&
		    asprintf(ret_type_name, read ? "atomic.Pointer[%s]" : "%s", in->t->entries[entry].name) < 0)
			*ret_type_name = NULL;
		return read ? (uint64_t)entry + 1 : descriptor_word_code(in, desc, 0);
	}
	return 0;
}

uint32_t refine_trie_node(struct infer *in, uint32_t entry, uint32_t obj)
{
	const struct gm_descriptor_layout *d = &in->heap->rt->desc;
	const char *name = in->t->entries[entry].name;
	char real[512];
	uint8_t is_entry;
	if (strncmp(name, "sync.node[", 10) != 0 || !d->node_is_entry.present ||
	    !gm_try_read(in->heap->rt->prog->mem, in->heap->objects[obj].addr +
			    gm_span_header_size(in->heap, &in->heap->spans[in->heap->objects[obj].span]) +
			    d->node_is_entry.offset, &is_entry, 1))
		return NO_ENTRY;
	snprintf(real, sizeof(real), "sync.%s%s", is_entry ? "entry" : "indirect", name + 9);
	uint64_t desc = descriptor_named(in, real);
	return desc ? entry_for_runtime(in, desc) : NO_ENTRY;
}
