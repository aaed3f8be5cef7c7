/* pcinfo: symbolize pcs of a Go core with the pclntab module (a test helper).
 *
 *   pcinfo CORE EXE PC...   for each hex PC, its logical frames, innermost first:
 *                             0xPC NAME FILE:LINE inlined      (an inlined call)
 *                             0xPC NAME FILE:LINE sp=N         (the physical function; N is
 *                                                               the pcsp frame size, or ?)
 *                           or "0xPC ?" when no function contains PC.
 *   pcinfo CORE EXE --all   every function of ftab: 0xENTRY NAME
 *   pcinfo CORE EXE --check the lookups agree with each other: find_func on each
 *                           function's first and last pc and func_by_name on its name
 *                           give it back, and the FuncIDs bound from DWARF are those of
 *                           runtime.goexit, runtime.mstart, ...; prints "ok N" or each
 *                           disagreement (exit 1)
 *
 * The pcs are used as given: to symbolize a return address pass pc-1.
 * Exit status: 0 done, 1 error, 2 usage, 77 not applicable (no runtime layouts
 * for an executable without DWARF, or a runtime the analyzer does not bind).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/goruntime/binding.h"
#include "analyzer/goruntime/pclntab.h"
#include "analyzer/program/program.h"

#define MAX_FRAMES 64

static int usage(void)
{
	fputs("usage: pcinfo CORE EXE PC... | pcinfo CORE EXE --all | pcinfo CORE EXE --check\n", stderr);
	return 2;
}

static void print_pc(struct gm_pclntab *tab, uint64_t pc)
{
	struct gm_func f;
	struct gm_inline_frame frames[MAX_FRAMES];
	if (!gm_pclntab_find_func(tab, pc, &f)) {
		printf("0x%" PRIx64 " ?\n", pc);
		return;
	}
	size_t n = gm_pclntab_frames(tab, &f, pc, frames, MAX_FRAMES);
	for (size_t i = 0; i < n; i++) {
		printf("0x%" PRIx64 " %s %s:%" PRId32, pc, frames[i].name, frames[i].file, frames[i].line);
		if (frames[i].inlined) {
			puts(" inlined");
			continue;
		}
		int32_t sp;
		if (gm_pclntab_pcsp(tab, &f, pc, &sp))
			printf(" sp=%" PRId32 "\n", sp);
		else
			puts(" sp=?");
	}
}

static void print_all(struct gm_pclntab *tab)
{
	struct gm_func f;
	for (uint32_t i = 0; i < gm_pclntab_func_count(tab); i++) {
		if (gm_pclntab_func_at(tab, i, &f))
			printf("0x%" PRIx64 " %s\n", f.entry, f.name);
		else
			printf("? ftab[%" PRIu32 "] corrupt\n", i);
	}
}

/* One function: found again by pc (first and last byte) and by name. */
static bool check_func(struct gm_pclntab *tab, const struct gm_func *f, uint64_t end)
{
	struct gm_func found;
	bool ok = true;
	if (!gm_pclntab_find_func(tab, f->entry, &found) || found.index != f->index ||
	    !gm_pclntab_find_func(tab, end - 1, &found) || found.index != f->index) {
		printf("find_func misses %s [0x%" PRIx64 ", 0x%" PRIx64 ")\n", f->name, f->entry, end);
		ok = false;
	}
	/* Names can repeat (e.g. assembly and Go twins); the entry must then agree on the name only. */
	if (!gm_pclntab_func_by_name(tab, f->name, &found) || strcmp(found.name, f->name) != 0) {
		printf("func_by_name misses %s\n", f->name);
		ok = false;
	}
	return ok;
}

static bool check_func_id(struct gm_pclntab *tab, const char *name, uint8_t want)
{
	struct gm_func f;
	if (gm_pclntab_func_by_name(tab, name, &f) && f.func_id == want)
		return true;
	printf("FuncID of %s is not %u\n", name, want);
	return false;
}

static int check_all(struct gm_pclntab *tab)
{
	const struct gm_func_ids *ids = gm_pclntab_func_ids(tab);
	struct gm_func f, next;
	bool ok = true;
	uint32_t n = gm_pclntab_func_count(tab);
	for (uint32_t i = 0; i < n; i++) {
		if (!gm_pclntab_func_at(tab, i, &f)) {
			printf("ftab[%" PRIu32 "] corrupt\n", i);
			ok = false;
		} else if (i + 1 < n && gm_pclntab_func_at(tab, i + 1, &next) && next.entry > f.entry) {
			ok &= check_func(tab, &f, next.entry);
		}
	}
	ok &= check_func_id(tab, "runtime.goexit", ids->goexit);
	ok &= check_func_id(tab, "runtime.mstart", ids->mstart);
	ok &= check_func_id(tab, "runtime.rt0_go", ids->rt0_go);
	ok &= check_func_id(tab, "runtime.systemstack", ids->systemstack);
	ok &= check_func_id(tab, "runtime.systemstack_switch", ids->systemstack_switch);
	ok &= check_func_id(tab, "runtime.sigpanic", ids->sigpanic);
	ok &= check_func_id(tab, "runtime.mcall", ids->mcall);
	ok &= check_func_id(tab, "runtime.morestack", ids->morestack);
	ok &= check_func_id(tab, "runtime.asmcgocall", ids->asmcgocall);
	ok &= check_func_id(tab, "runtime.gogo", ids->gogo);
	ok &= check_func_id(tab, "main.main", ids->normal);
	if (ok)
		printf("ok %" PRIu32 "\n", n);
	return ok ? 0 : 1;
}

static int run(struct gm_pclntab *tab, int npcs, char **pcs)
{
	if (npcs == 1 && strcmp(pcs[0], "--all") == 0) {
		print_all(tab);
		return 0;
	}
	if (npcs == 1 && strcmp(pcs[0], "--check") == 0)
		return check_all(tab);
	for (int i = 0; i < npcs; i++) {
		char *end;
		uint64_t pc = strtoull(pcs[i], &end, 16);
		if (*pcs[i] == '\0' || *end != '\0') {
			fprintf(stderr, "pcinfo: bad pc %s\n", pcs[i]);
			return 2;
		}
		print_pc(tab, pc);
	}
	return 0;
}

/* Missing DWARF or a runtime the binding refuses: nothing to test here. */
static int report(struct gm_error *err)
{
	bool skip = err->code == GM_ERR_NO_DWARF || err->code == GM_ERR_BAD_RUNTIME;
	fprintf(stderr, "pcinfo: %s\n", err->message);
	gm_error_destroy(err);
	return skip ? 77 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return usage();
	/* Without DWARF the runtime (and so the pclntab) is bound from the layout table. */
	struct gm_program_options options = { .core_path = argv[1], .exe_path = argv[2] };
	struct gm_program *prog = NULL;
	struct gm_runtime *rt = NULL;
	struct gm_pclntab *tab = NULL;
	struct gm_error *err = gm_program_open(&options, &prog);
	if (!err) {
		err = gm_runtime_bind(prog, &rt);
		if (!err && (err = gm_pclntab_open(rt, &tab)) && err->code == GM_ERR_BAD_RUNTIME)
			err->code = GM_ERR_INTERNAL; /* the runtime bound, so the pclntab must open */
	}
	int status = err ? report(err) : run(tab, argc - 3, argv + 3);
	gm_pclntab_destroy(tab);
	gm_runtime_destroy(rt);
	gm_program_destroy(prog);
	return status;
}
