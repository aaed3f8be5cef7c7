/* libFuzzer target: the pclntab reader over damaged tables.
 *
 * A real program (GOMORTEM_FUZZ_CORE and GOMORTEM_FUZZ_EXE, a corpus core
 * and its executable) is opened once.  Each input overwrites part of the
 * executable's .gopclntab (its first 4 bytes say where, the rest is what):
 * the address space is rebuilt on the changed image, the tables are opened
 * again and a fixed set of pcs is looked up (function, frame size, file and
 * line, inlined frames, PCDATA, lookup by name).  Any input must give
 * answers or failures: never a crash, a leak or undefined behaviour. */
#include <gelf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/core/address_space.h"
#include "analyzer/goruntime/binding.h"
#include "analyzer/goruntime/pclntab.h"
#include "analyzer/program/program.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PCS 256

static struct gm_program *prog;
static struct gm_runtime *rt;
static const uint8_t *exe_data;   /* the executable as mapped */
static uint8_t *image;            /* a copy whose .gopclntab the inputs change */
static size_t section_off, section_size;
static uint64_t pcs[MAX_PCS];
static size_t npcs;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_pclntab: %s\n", what);
	exit(1);
}

static void find_section(const char *name)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	if (elf_getshdrstrndx(prog->exe->elf, &shstrndx) != 0)
		die("no section names");
	while ((scn = elf_nextscn(prog->exe->elf, scn))) {
		GElf_Shdr shdr;
		const char *n = gelf_getshdr(scn, &shdr) ? elf_strptr(prog->exe->elf, shstrndx, shdr.sh_name) : NULL;
		if (n && strcmp(n, name) == 0 && shdr.sh_offset + shdr.sh_size <= prog->exe->size) {
			section_off = shdr.sh_offset;
			section_size = shdr.sh_size;
			return;
		}
	}
	die("no .gopclntab");
}

/* Pcs to look up: entries and middles of functions spread over the table. */
static void sample_pcs(void)
{
	struct gm_pclntab *tab;
	struct gm_error *err = gm_pclntab_open(rt, &tab);
	if (err)
		die(err->message);
	uint32_t n = gm_pclntab_func_count(tab), step = n / (MAX_PCS / 2) + 1;
	for (uint32_t i = 0; i < n && npcs + 2 <= MAX_PCS; i += step) {
		struct gm_func f;
		if (gm_pclntab_func_at(tab, i, &f)) {
			pcs[npcs++] = f.entry;
			pcs[npcs++] = f.entry + 7 * (i % 13) + 1;
		}
	}
	gm_pclntab_destroy(tab);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	struct gm_program_options o = { .core_path = getenv("GOMORTEM_FUZZ_CORE"),
					.exe_path = getenv("GOMORTEM_FUZZ_EXE"), .need_dwarf = true };
	if (!o.core_path || !o.exe_path)
		die("set GOMORTEM_FUZZ_CORE and GOMORTEM_FUZZ_EXE to a corpus core and its executable");
	struct gm_error *err = gm_program_open(&o, &prog);
	if (!err)
		err = gm_runtime_bind(prog, &rt);
	if (err)
		die(err->message);
	find_section(".gopclntab");
	exe_data = prog->exe->data;
	if (!(image = malloc(prog->exe->size)))
		die("out of memory");
	memcpy(image, exe_data, prog->exe->size);
	sample_pcs();
	return 0;
}

static void look_up(struct gm_pclntab *tab)
{
	struct gm_func f;
	struct gm_inline_frame frames[16];
	const char *file;
	int32_t line, value;
	uint64_t addr;
	for (size_t i = 0; i < npcs; i++) {
		if (!gm_pclntab_find_func(tab, pcs[i], &f))
			continue;
		(void)gm_pclntab_pcsp(tab, &f, pcs[i], &value);
		(void)gm_pclntab_file_line(tab, &f, pcs[i], &file, &line);
		(void)gm_pclntab_frames(tab, &f, pcs[i], frames, 16);
		for (uint32_t t = 0; t < 4; t++) {
			(void)gm_pclntab_pcdata(tab, &f, t, pcs[i], &value);
			(void)gm_pclntab_funcdata(tab, &f, t, &addr);
		}
	}
	(void)gm_pclntab_func_by_name(tab, "runtime.goexit", &f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	uint32_t at;
	memcpy(&at, data, 4);
	size_t off = at % section_size, len = size - 4 < section_size - off ? size - 4 : section_size - off;
	memcpy(image + section_off + off, data + 4, len);
	struct gm_address_space *mem = prog->mem, *changed;
	prog->exe->data = image;
	struct gm_error *err = gm_address_space_create(prog->core, prog->exe, prog->bias, &changed);
	if (!err) {
		struct gm_pclntab *tab;
		prog->mem = changed;
		err = gm_pclntab_open(rt, &tab);
		if (!err) {
			look_up(tab);
			gm_pclntab_destroy(tab);
		}
		prog->mem = mem;
		gm_address_space_destroy(changed);
	}
	gm_error_destroy(err);
	prog->exe->data = exe_data;
	memcpy(image + section_off + off, exe_data + section_off + off, len);
	return 0;
}
