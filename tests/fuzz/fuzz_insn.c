/* libFuzzer target: the x86-64 instruction decoder (amd64_insn.c) that
 * code_types.c runs over every function of an executable.
 *
 * The input is machine code, read from its start as the scan reads a
 * function: each instruction that decodes must be 1 to 15 bytes and lie
 * within the input, with a register number the scan can index; an
 * undecodable byte is skipped.  Any input: never a crash, a read past the
 * bytes given (libFuzzer's buffer is exactly the input, so ASan sees one),
 * or undefined behaviour. */
#include <stdint.h>
#include <stdlib.h>

#include "analyzer/goruntime/amd64_insn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (size_t at = 0; at < size;) {
		struct gm_amd64_insn insn;
		if (!gm_amd64_decode(data + at, size - at, 0x401000 + at, &insn)) {
			at++;
			continue;
		}
		if (insn.len == 0 || insn.len > 15 || insn.len > size - at || insn.reg > 15 || insn.src > 15)
			abort();
		at += insn.len;
	}
	return 0;
}
