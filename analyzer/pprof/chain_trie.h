/* chain_trie: the heap profile's stacks as a trie.  Node 0 is the empty
 * chain; every other node is its parent's chain plus one frame (a function
 * id), and counts the live objects and bytes whose chain ends there.
 *
 * Memory per node: 22 bytes of node and 8-16 of hash table (4-byte slots
 * holding node numbers, at most half full, the key compared in the node):
 * at 20M objects there are millions of nodes, and a map of 64-bit keys and
 * values took 32-64 bytes a node there.
 */
#ifndef GOMORTEM_CHAIN_TRIE_H
#define GOMORTEM_CHAIN_TRIE_H

#include <stdbool.h>
#include <stdint.h>

#include "analyzer/util/error.h"

/* What a node extends: its parent node and the frame added below it. */
struct chain_key {
	uint32_t parent, func;
};

struct chain_trie {
	struct chain_key *key;  /* by node */
	uint8_t *depth;         /* frames on the chain */
	bool *truncated;        /* an ellipsis is on the chain */
	uint32_t *objects;      /* live objects whose chain ends at the node */
	int64_t *bytes;         /* and their bytes */
	uint32_t count, cap;
	uint32_t *slots;        /* hash of key -> node + 1; 0 empty */
	uint32_t mask;          /* slots - 1 */
	struct chain_key last;  /* the last lookup and its answer: runs of objects share a chain */
	uint32_t last_node;
};

/* Node 0 alone. */
struct gm_error *chain_trie_init(struct chain_trie *t);
void chain_trie_deinit(struct chain_trie *t);

/* The node of PARENT's chain with FUNC below it, added if new; *RET. */
struct gm_error *chain_trie_child(struct chain_trie *t, uint32_t parent, uint32_t func, uint32_t *ret);

#endif
