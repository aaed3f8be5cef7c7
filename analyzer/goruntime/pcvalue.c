#include "pcvalue.h"

/* A uvarint of at most 32 bits from [*p, end); false if truncated or too long. */
static bool read_uvarint(const uint8_t **p, const uint8_t *end, uint32_t *ret)
{
	uint32_t v = 0;
	for (unsigned shift = 0; shift < 35 && *p < end; shift += 7) {
		uint8_t byte = *(*p)++;
		v |= (uint32_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80)) {
			*ret = v;
			return true;
		}
	}
	return false;
}

/* A walk over one table: the value of the current range and where it ends. */
struct pc_walk {
	const uint8_t *p, *end;
	uint64_t pc;        /* the end of the current range (an offset from the entry) */
	uint32_t value;     /* int32 arithmetic that wraps like Go's */
	uint32_t quantum;
};

static bool walk_start(struct pc_walk *w, const uint8_t *pctab, size_t len, uint32_t off, uint32_t quantum)
{
	if (off == 0 || off >= len)
		return false;
	*w = (struct pc_walk){ .p = pctab + off, .end = pctab + len, .value = (uint32_t)-1, .quantum = quantum };
	return true;
}

/* The next range; false at the table's end or where it is truncated.  A
 * zero delta ends the table except while the pc is still the entry's (as
 * runtime.pcvalue passes first = pc == entry). */
static bool walk_step(struct pc_walk *w)
{
	uint32_t uvdelta, pcdelta;
	if (!read_uvarint(&w->p, w->end, &uvdelta) || (uvdelta == 0 && w->pc != 0))
		return false;
	w->value += -(uvdelta & 1) ^ (uvdelta >> 1);
	if (!read_uvarint(&w->p, w->end, &pcdelta))
		return false;
	w->pc += (uint64_t)pcdelta * w->quantum;
	return true;
}

bool gm_pcvalue_at(const uint8_t *pctab, size_t len, uint32_t off, uint64_t entry, uint32_t quantum,
		   uint64_t target, int32_t *ret)
{
	struct pc_walk w;
	if (target < entry || !walk_start(&w, pctab, len, off, quantum))
		return false;
	while (walk_step(&w))
		if (target - entry < w.pc) {
			*ret = (int32_t)w.value;
			return true;
		}
	return false;   /* the table ended before TARGET */
}

bool gm_pcvalue_max(const uint8_t *pctab, size_t len, uint32_t off, uint64_t code_len, uint32_t quantum,
		    int32_t *ret)
{
	struct pc_walk w;
	bool any = false;
	if (!walk_start(&w, pctab, len, off, quantum))
		return false;
	while (w.pc < code_len && walk_step(&w)) {
		if (!any || (int32_t)w.value > *ret)
			*ret = (int32_t)w.value;
		any = true;
	}
	return any;
}
