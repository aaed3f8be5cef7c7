/* native_frames: the native stacks of a Go core's threads (a test helper).
 *
 *   native_frames CORE EXE [MAX [SYSROOT]]
 *
 * Unwinds every thread whose pc is not Go code (gm_pclntab_find_func finds
 * no function for it) with gm_native_unwind_core, at most MAX frames each
 * (default GM_NATIVE_DEFAULT_MAX_FRAMES), and prints, per thread:
 *
 *   # TID stop REASON
 *   TID IDX 0xPC SYMBOL KIND      KIND: "c" (native) or "go" (the Go frame
 *                                 where the stack was cut); SYMBOL "?" if none
 *
 * SYSROOT: where the libraries of a core of another machine are.
 *
 * Exit status: 0 done, 1 error, 2 usage, 77 not applicable (no DWARF, or a
 * runtime the analyzer does not bind).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "analyzer/core/native_unwind.h"
#include "analyzer/goruntime/binding.h"
#include "analyzer/goruntime/pclntab.h"
#include "analyzer/program/program.h"

static bool not_go(uint64_t pc, void *arg)
{
	struct gm_func f;
	return !gm_pclntab_find_func(arg, pc, &f);
}

static int report(struct gm_error *err)
{
	bool skip = err->code == GM_ERR_NO_DWARF || err->code == GM_ERR_BAD_RUNTIME;
	fprintf(stderr, "native_frames: %s\n", err->message);
	gm_error_destroy(err);
	return skip ? 77 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 5) {
		fputs("usage: native_frames CORE EXE [MAX [SYSROOT]]\n", stderr);
		return 2;
	}
	size_t max = argc >= 4 ? strtoul(argv[3], NULL, 0) : 0;
	struct gm_native_where where = { .exe_path = argv[2], .sysroot = argc == 5 ? argv[4] : NULL };
	struct gm_program_options options = { .core_path = argv[1], .exe_path = argv[2], .need_dwarf = true };
	struct gm_program *prog = NULL;
	struct gm_runtime *rt = NULL;
	struct gm_pclntab *tab = NULL;
	struct gm_error *err = gm_program_open(&options, &prog);
	if (!err) {
		err = gm_runtime_bind(prog, &rt);
		if (!err && (err = gm_pclntab_open(rt, &tab)) && err->code == GM_ERR_BAD_RUNTIME)
			err->code = GM_ERR_INTERNAL;
	}
	struct gm_native_stack *stacks = NULL;
	size_t n = 0;
	if (!err)
		err = gm_native_unwind_core(prog->core, &where, not_go, tab, max, &stacks, &n);
	int status = 0;
	if (err) {
		status = report(err);
	} else {
		for (size_t i = 0; i < n; i++) {
			const struct gm_native_stack *s = &stacks[i];
			printf("# %" PRId32 " stop %s\n", s->tid, s->stop);
			for (size_t j = 0; j < s->count; j++)
				printf("%" PRId32 " %zu 0x%" PRIx64 " %s %s\n", s->tid, j, s->frames[j].pc,
				       s->frames[j].symbol ? s->frames[j].symbol : "?",
				       s->frames[j].native ? "c" : "go");
		}
	}
	gm_native_stacks_free(stacks, n);
	gm_pclntab_destroy(tab);
	gm_runtime_destroy(rt);
	gm_program_destroy(prog);
	return status;
}
