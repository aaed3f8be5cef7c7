/* code_scan_amd64: x86-64 code into code_scan's operations, through the
 * decoder of amd64_insn.c. */
#include "amd64_insn.h"
#include "code_scan.h"

#include <stdlib.h>

/* An instruction of the function being read, at byte AT of it. */
struct decoded {
	uint64_t at;
	struct gm_amd64_insn insn;
};

/* Decode the function's LEN bytes once for this reading of it (every
 * reading from a branch decodes the same instructions again otherwise: 40%
 * of the scan's time on a big executable); false if out of memory. */
static bool decode_function(struct scan *s, const uint8_t *code, uint64_t len)
{
	s->ndecoded = 0;
	s->decoded_whole = true;
	s->decoded_generation = s->generation;
	for (uint64_t at = 0; at < len;) {
		if (s->ndecoded == s->decoded_cap) {
			size_t cap = s->decoded_cap ? 2 * s->decoded_cap : 256;
			void *grown = realloc(s->decoded, cap * sizeof(struct decoded));
			if (!grown) {
				s->nomem = true;
				s->decoded_generation = 0;
				return false;
			}
			s->decoded = grown;
			s->decoded_cap = cap;
		}
		struct decoded *d = (struct decoded *)s->decoded + s->ndecoded;
		if (!gm_amd64_decode(code + at, len - at, s->lo + at, &d->insn)) {
			s->decoded_whole = false;
			break;
		}
		d->at = at;
		at += d->insn.len;
		s->ndecoded++;
	}
	return true;
}

/* The index of the decoded instruction at byte AT, s->ndecoded if none starts there. */
static size_t decoded_at(const struct scan *s, uint64_t at)
{
	const struct decoded *d = s->decoded;
	size_t lo = 0, hi = s->ndecoded;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d[mid].at < at)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->ndecoded && d[lo].at == at ? lo : s->ndecoded;
}

static bool step_amd64(struct scan *s, const struct gm_amd64_insn *insn, uint64_t next);

/* Read x86-64 code from byte AT of the function's LEN bytes, at most STEPS
 * instructions; false if it does not decode. */
bool scan_run_amd64(struct scan *s, const uint8_t *code, uint64_t len, uint64_t at, size_t steps)
{
	if (s->decoded_generation != s->generation && !decode_function(s, code, len))
		return false;
	size_t i = decoded_at(s, at), n = 0;
	if (i == s->ndecoded && at < len)
		return false;   /* no instruction starts there, or it does not decode */
	for (; i < s->ndecoded && n < steps; n++, i++) {
		const struct decoded *d = (const struct decoded *)s->decoded + i;
		scan_mark_start(s, d->at);
		if (!step_amd64(s, &d->insn, d->at + d->insn.len))
			return true;
	}
	/* stopped by STEPS, or at the function's end, or at an instruction that does not decode */
	return n == steps || s->decoded_whole;
}

/* One instruction, the next at byte NEXT of the function; false where the
 * flow ends and reading from a branch stops. */
static bool step_amd64(struct scan *s, const struct gm_amd64_insn *in, uint64_t next)
{
	const struct gm_amd64_insn insn = *in;
	switch (insn.kind) {
	case GM_AMD64_LEA_RIP:
		s->regs[insn.reg] = (struct val){ .kind = VAL_ADDR, .addr = insn.target };
		break;
	case GM_AMD64_LOAD_RIP:
		s->regs[insn.reg] = (struct val){ .kind = VAL_LOADED, .addr = insn.target };
		break;
	case GM_AMD64_STORE_RIP:
		scan_store(s, insn.target, insn.reg);
		break;
	case GM_AMD64_STORE_IMM_RIP:
		scan_store_const(s, insn.target, (uint64_t)insn.imm);
		break;
	case GM_AMD64_STORE_BASE:
		scan_store_through(s, insn.src, insn.frame_off, insn.reg);
		scan_written_through(s, (int)insn.src);
		break;
	case GM_AMD64_MOVE:
		s->regs[insn.reg] = s->regs[insn.src];
		break;
	case GM_AMD64_LOAD_BASE:
	case GM_AMD64_LEA_BASE:
		scan_derived(s, insn.reg, insn.src, insn.frame_off, insn.kind == GM_AMD64_LOAD_BASE);
		break;
	case GM_AMD64_LOAD_SP:
		s->regs[insn.reg] = scan_load_slot(s, insn.slot);
		break;
	case GM_AMD64_STORE_SP:
		scan_store_slot(s, insn.slot, insn.reg);
		break;
	case GM_AMD64_CALL:
		scan_call(s, insn.target, s->lo + next);
		break;
	case GM_AMD64_JUMP:
		scan_note_branch(s, insn.target);
		if (!insn.conditional && scan_flow_ends(s))
			return false;
		break;
	case GM_AMD64_END:
		if (insn.ret)
			scan_returns(s);
		if (scan_flow_ends(s))
			return false;
		break;
	default:
		scan_forget(s, insn.writes);
		if (insn.writes & (1u << 4))   /* SP moved */
			scan_forget_slots(s);
		if (insn.memory_write && insn.frame_write)
			scan_memory_written(s, true, insn.frame_known, insn.frame_off, insn.frame_size);
		else if (insn.memory_write)
			scan_written_through(s, insn.base == GM_AMD64_RIP ? BASE_GLOBAL : insn.base);
	}
	return true;
}

bool scan_amd64_frame_addresses(const struct scan *s, const uint8_t *code, uint64_t len, int64_t *ret,
				size_t *ret_n)
{
	*ret_n = 0;
	for (uint64_t at = 0; at < len;) {
		struct gm_amd64_insn insn;
		if (!gm_amd64_decode(code + at, len - at, s->lo + at, &insn))
			return false;
		if (insn.frame_address &&
		    (!insn.frame_known || (insn.frame_off >= 0 && !scan_add_frame_address(ret, ret_n, insn.frame_off))))
			return false;
		at += insn.len;
	}
	return true;
}
