/* The x86-64 decoder (analyzer/goruntime/amd64_insn.c) on instructions the
 * Go compiler emits, as `go tool objdump` prints them: which general
 * registers each may write, whether it writes memory, through which base,
 * and how many bytes of the frame a store to a known SP offset covers.
 * The code scan keeps a stack slot or register across an instruction only
 * where these say it is untouched; more than the truth costs types, less
 * would give wrong ones. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "analyzer/goruntime/amd64_insn.h"

#define AX (1u << 0)
#define DX (1u << 2)
#define SI (1u << 6)
#define UNKNOWN_OFF (-1)

struct expect {
	const char *text;        /* objdump's spelling */
	uint8_t bytes[12];
	unsigned len;
	uint32_t writes;         /* general registers written */
	bool memory;             /* writes memory */
	int base;                /* base register of that write, -1 none */
	int frame_off;           /* a frame store at a known offset, UNKNOWN_OFF if not one */
	unsigned frame_size;
};

static const struct expect cases[] = {
	{ "SETB 0x52(DX)", { 0x0f, 0x92, 0x42, 0x52 }, 4, 0, true, 2, UNKNOWN_OFF, 0 },
	{ "SETE DL", { 0x0f, 0x94, 0xc2 }, 3, DX, false, -1, UNKNOWN_OFF, 0 },
	{ "MOVUPS 0(CX), X14", { 0x44, 0x0f, 0x10, 0x31 }, 4, 0, false, -1, UNKNOWN_OFF, 0 },
	{ "MOVUPS X14, 0(AX)", { 0x44, 0x0f, 0x11, 0x30 }, 4, 0, true, 0, UNKNOWN_OFF, 0 },
	{ "MOVUPS X15, 0x10(SP)", { 0x44, 0x0f, 0x11, 0x7c, 0x24, 0x10 }, 6, 0, true, 4, 0x10, 16 },
	{ "MOVB DL, 0x27(SP)", { 0x88, 0x54, 0x24, 0x27 }, 4, 0, true, 4, 0x27, 1 },
	{ "MOVL $0x1, 0x8(SP)", { 0xc7, 0x44, 0x24, 0x08, 0x01, 0, 0, 0 }, 8, 0, true, 4, 8, 4 },
	{ "MOVQ $0x1, 0x8(SP)", { 0x48, 0xc7, 0x44, 0x24, 0x08, 0x01, 0, 0, 0 }, 9, 0, true, 4, 8, 8 },
	{ "MOVZX 0x27(SP), SI", { 0x0f, 0xb6, 0x74, 0x24, 0x27 }, 5, SI, false, -1, UNKNOWN_OFF, 0 },
	{ "CMOVNE DX, AX", { 0x48, 0x0f, 0x45, 0xc2 }, 4, AX, false, -1, UNKNOWN_OFF, 0 },
	{ "MOVQ X0, AX", { 0x66, 0x48, 0x0f, 0x7e, 0xc0 }, 5, AX, false, -1, UNKNOWN_OFF, 0 },
	{ "MOVB $0x1, 0x50(AX)", { 0xc6, 0x40, 0x50, 0x01 }, 4, 0, true, 0, UNKNOWN_OFF, 0 },
	{ "MOVW $0x101, 0x30(AX)", { 0x66, 0xc7, 0x40, 0x30, 0x01, 0x01 }, 6, 0, true, 0, UNKNOWN_OFF, 0 },
	{ "ORQ $0x1, SI", { 0x48, 0x83, 0xce, 0x01 }, 4, SI, false, -1, UNKNOWN_OFF, 0 },
	/* A register's bit index reaches past the operand; FXSAVE writes 512 bytes. */
	{ "BTSQ AX, 0(SP)", { 0x48, 0x0f, 0xab, 0x04, 0x24 }, 5, 0, true, 4, UNKNOWN_OFF, 0 },
	{ "FXSAVE 0(SP)", { 0x0f, 0xae, 0x04, 0x24 }, 4, 0, true, 4, UNKNOWN_OFF, 0 },
};

int main(void)
{
	int failed = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct expect *e = &cases[i];
		struct gm_amd64_insn insn;
		bool ok = gm_amd64_decode(e->bytes, e->len, 0x401000, &insn);
		bool known = insn.frame_write && insn.frame_known;
		if (!ok || insn.len != e->len || insn.writes != e->writes || insn.memory_write != e->memory ||
		    (e->memory && insn.base != e->base) || known != (e->frame_off != UNKNOWN_OFF) ||
		    (known && (insn.frame_off != e->frame_off || insn.frame_size != e->frame_size))) {
			fprintf(stderr,
				"FAIL: %s: decoded %d, len %u, writes %#x, memory %d, base %d, frame %d known %d at %d size %u\n",
				e->text, ok, insn.len, insn.writes, insn.memory_write, insn.base, insn.frame_write,
				insn.frame_known, insn.frame_off, insn.frame_size);
			failed++;
		}
	}
	printf("test_amd64_insn: %zu instructions, %d failed\n", sizeof(cases) / sizeof(cases[0]), failed);
	return failed != 0;
}
