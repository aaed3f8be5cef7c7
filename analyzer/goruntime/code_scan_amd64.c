/* code_scan_amd64: x86-64 code into code_scan's operations, through the
 * decoder of amd64_insn.c. */
#include "amd64_insn.h"
#include "code_scan.h"

/* Read x86-64 code from byte AT of the function's LEN bytes, at most STEPS
 * instructions; false if it does not decode. */
bool scan_run_amd64(struct scan *s, const uint8_t *code, uint64_t len, uint64_t at, size_t steps)
{
	for (size_t n = 0; at < len && n < steps; n++) {
		struct gm_amd64_insn insn;
		if (!gm_amd64_decode(code + at, len - at, s->lo + at, &insn))
			return false;
		scan_mark_start(s, at);
		at += insn.len;
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
			scan_call(s, insn.target, s->lo + at);
			break;
		case GM_AMD64_JUMP:
			scan_note_branch(s, insn.target);
			if (!insn.conditional && scan_flow_ends(s))
				return true;
			break;
		case GM_AMD64_END:
			if (insn.ret)
				scan_returns(s);
			if (scan_flow_ends(s))
				return true;
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
