/* gomortem dwarf: what the executable's DWARF says about a name — the
 * layout the analyzer will use for a runtime struct, a global's address,
 * a constant's value.  For checking a binary before trusting an analysis. */
#include <dwarf.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dwarf/dwarf_index.h"
#include "dwarf/layouts.h"
#include "cli.h"
#include "analyzer/core/exe.h"
#include "analyzer/goruntime/binding.h"
#include "analyzer/goruntime/code_types.h"
#include "analyzer/goruntime/locate.h"
#include "analyzer/program/program.h"

static const char dwarf_usage[] =
	"usage: gomortem dwarf EXE NAME...\n"
	"       gomortem dwarf --layouts EXE\n"
	"       gomortem dwarf --layout-table GOVERSION [GOARCH]\n"
	"       gomortem dwarf --locate EXE\n"
	"       gomortem dwarf --code-types EXE\n"
	"\n"
	"Look NAME up in the DWARF of the Go executable EXE, as the analyzer does, and\n"
	"print what it finds: a type's size and members with offsets\n"
	"(gomortem dwarf ./server runtime.mspan), a global variable's address and\n"
	"type (runtime.mheap_), or an integer constant's value (runtime.mSpanInUse).\n"
	"\n"
	"--layouts runs the runtime binders over the DWARF of EXE and prints every\n"
	"answer they got, one 'QUERY<TAB>VALUE' a line ('-' for absent): the data\n"
	"dwarf/gen_layouts turns into the layout tables used for executables without\n"
	"DWARF.  --layout-table prints the built-in table of a Go version and GOARCH\n"
	"(default amd64) in the same form, after a '# GOVERSION GOARCH GOEXPERIMENT' line.  --locate prints where\n"
	"the runtime globals gomortem can find without a symbol table are in EXE\n"
	"('NAME<TAB>0xADDR', '-' if not found exactly once), found the way a stripped\n"
	"executable needs, whatever symbols EXE has (with the runtime layouts of EXE's\n"
	"DWARF, else of the built-in table).  --code-types prints the globals' types EXE's code\n"
	"shows, as the analysis of an executable without DWARF reads them: 'ADDR<TAB>SYMBOL<TAB>\n"
	"holds|points-to|slice-of|pool-of<TAB>DESCRIPTOR' a line (link-time addresses, '-' where no symbol covers\n"
	"the word), then '# N words, N conflicts, N functions (N not decoded), N passes'.\n"
	"\n"
	"  -h, --help   show this help\n"
	"\n"
	"Exit status: 0 every name found; 10 some name not found; others in docs/exit-codes.md.\n";

/* Exit status when a name is not in the DWARF. */
#define EXIT_NOT_FOUND 10

/* Members in declaration order, read from each member DIE (not looked up
 * by name: Go structs have several padding members all named "_"). */
static void print_members(Dwarf_Die *type)
{
	Dwarf_Die child;
	if (dwarf_tag(type) != DW_TAG_structure_type || dwarf_child(type, &child) != 0)
		return;
	do {
		if (dwarf_tag(&child) != DW_TAG_member)
			continue;
		const char *name = dwarf_diename(&child);
		Dwarf_Attribute attr;
		Dwarf_Word offset = 0;
		Dwarf_Die member_type;
		if (dwarf_attr(&child, DW_AT_data_member_location, &attr))
			dwarf_formudata(&attr, &offset);
		if (!dwarf_attr(&child, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &member_type))
			continue;
		uint64_t size;
		char size_text[24] = "?";
		if (gm_dwarf_type_size(&member_type, &size))
			snprintf(size_text, sizeof(size_text), "%" PRIu64, size);
		printf("  %6" PRIu64 " %6s %-24s %s\n", (uint64_t)offset, size_text, name ? name : "?",
		       gm_dwarf_type_name(&member_type));
	} while (dwarf_siblingof(&child, &child) == 0);
}

static bool describe_name(struct gm_dwarf *dw, const char *name)
{
	Dwarf_Die die;
	uint64_t addr, size;
	int64_t value;
	bool found = false;
	if (gm_dwarf_type(dw, name, &die)) {
		found = true;
		printf("type %s", name);
		if (gm_dwarf_type_size(&die, &size))
			printf(" size %" PRIu64, size);
		printf("\n");
		print_members(&die);
	}
	if (gm_dwarf_global(dw, name, &addr, &die)) {
		found = true;
		printf("global %s at 0x%" PRIx64 " type %s\n", name, addr, gm_dwarf_type_name(&die));
	}
	if (gm_dwarf_const(dw, name, &value)) {
		found = true;
		printf("const %s = %" PRId64 "\n", name, value);
	}
	if (!found)
		fprintf(stderr, "gomortem: %s: not in the DWARF\n", name);
	return found;
}

/* Run the binders over EXE's DWARF and print what they asked and got. */
static int print_layouts(struct gm_exe *exe, struct gm_dwarf *dw)
{
	struct gm_program prog = { .exe = exe, .dwarf = dw };
	struct gm_error *err = gm_layouts_from_dwarf(dw, &prog.layouts);
	if (!err)
		err = gm_runtime_bind_layouts(&prog);
	if (!err)
		err = gm_layouts_print_record(prog.layouts, stdout);
	gm_layouts_destroy(prog.layouts);
	return err ? gm_error_report(err) : 0;
}

static int print_layout_table(const char *go_version, const char *goarch)
{
	for (size_t i = 0; i < gm_layout_ntables; i++) {
		const struct gm_layout_table *t = &gm_layout_tables[i];
		if (strcmp(t->go_version, go_version) != 0 || strcmp(t->goarch, goarch) != 0 || t->experiments[0])
			continue;
		printf("# %s %s %s\n", t->go_version, t->goarch, t->experiments);
		for (size_t k = 0; k < t->nentries; k++) {
			const struct gm_layout_entry *e = &t->entries[k];
			if (e->present)
				printf("%s\t%" PRId64 "\n", e->key, e->value);
			else
				printf("%s\t-\n", e->key);
		}
		return 0;
	}
	fprintf(stderr, "gomortem: no built-in layout table for %s %s\n", go_version, goarch);
	return EXIT_NOT_FOUND;
}

/* The layouts of EXE's own DWARF, else the built-in table (in *RET_DW and *RET_LAY). */
static struct gm_error *exe_layouts(struct gm_exe *exe, const char *path, struct gm_dwarf **ret_dw,
				    struct gm_layouts **ret_lay)
{
	const struct gm_layout_table *table =
		gm_layout_table_find(exe->go_version, exe->goarch ? exe->goarch : "amd64", exe->go_experiments);
	struct gm_error *err;
	*ret_dw = NULL;
	*ret_lay = NULL;
	if (exe->has_dwarf) {
		err = gm_dwarf_open(exe, ret_dw);
		return err ? err : gm_layouts_from_dwarf(*ret_dw, ret_lay);
	}
	if (!table)
		return gm_error_create(GM_ERR_NO_DWARF, "%s: no runtime layout table for %s", path,
				       exe->go_version ? exe->go_version : "a non-Go executable");
	return gm_layouts_from_table(table, ret_lay);
}

/* Locate the locatable globals of the executable at PATH without its symbols or DWARF. */
static int print_located(const char *path)
{
	struct gm_exe *exe;
	struct gm_error *err = gm_exe_open(path, &exe);
	if (err)
		return gm_error_report(err);
	struct gm_layouts *lay;
	struct gm_dwarf *dw;
	err = exe_layouts(exe, path, &dw, &lay);
	for (size_t i = 0; !err && gm_locatable_globals[i]; i++) {
		uint64_t addr;
		if (gm_locate_global(exe, lay, gm_locatable_globals[i], &addr))
			printf("%s\t0x%" PRIx64 "\n", gm_locatable_globals[i], addr);
		else
			printf("%s\t-\n", gm_locatable_globals[i]);
	}
	gm_layouts_destroy(lay);
	gm_dwarf_destroy(dw);
	gm_exe_destroy(exe);
	return err ? gm_error_report(err) : 0;
}

/* The link-time [types, etypes) of EXE's first module, from its symbols. */
static bool types_range(const struct gm_exe *exe, uint64_t *types, uint64_t *etypes)
{
	const struct gm_symbol *a = gm_exe_symbol_named(exe, "runtime.types");
	const struct gm_symbol *b = gm_exe_symbol_named(exe, "runtime.etypes");
	if (!a || !b)
		return false;
	*types = a->addr;
	*etypes = b->addr;
	return true;
}

/* The globals' types the code of the executable at PATH shows (code_types.h). */
static int print_code_types(const char *path)
{
	struct gm_exe *exe;
	struct gm_error *err = gm_exe_open(path, &exe);
	if (err)
		return gm_error_report(err);
	struct gm_layouts *lay;
	struct gm_dwarf *dw;
	struct gm_code_types *t = NULL;
	uint64_t types = 0, etypes = 0;
	err = exe_layouts(exe, path, &dw, &lay);
	if (!err && !types_range(exe, &types, &etypes))
		err = gm_error_create(GM_ERR_NO_DWARF, "%s: no runtime.types symbol (--code-types needs .symtab)", path);
	if (!err)
		err = gm_code_types_find(exe, lay, types, etypes, &t);
	size_t allocated = 0;
	for (size_t i = 0; !err && i < t->n; i++) {
		const struct gm_code_type *f = &t->items[i];
		if (f->kind == GM_CODE_ALLOCATED) {   /* no global's: counted */
			allocated++;
			continue;
		}
		const struct gm_symbol *sym = gm_exe_symbol_at(exe, f->word);
		printf("0x%" PRIx64 "\t", f->word);
		if (sym && f->word > sym->addr)
			printf("%s+0x%" PRIx64, sym->name, f->word - sym->addr);
		else
			printf("%s", sym ? sym->name : "-");
		static const char *const kinds[] = { "holds", "points-to", "slice-of", "pool-of", "slice-literal-of",
						     "sync-map", "hash-trie-of", "closure-of" };
		printf("\t%s\t0x%" PRIx64, f->kind < sizeof(kinds) / sizeof(kinds[0]) ? kinds[f->kind] : "?", f->desc);
		if (f->kind == GM_CODE_ARRAY_SLICE)
			printf("\t%" PRIu64, f->count);
		putchar('\n');
	}
	if (!err)
		printf("# %zu words, %zu descriptors new is given, %zu stack slots at calls, %" PRIu64
		       " conflicts, %" PRIu64 " functions (%" PRIu64 " not decoded), %d passes\n",
		       t->n - allocated, allocated, t->nframe_slots, t->conflicts, t->functions, t->skipped, t->passes);
	gm_code_types_destroy(t);
	gm_layouts_destroy(lay);
	gm_dwarf_destroy(dw);
	gm_exe_destroy(exe);
	return err ? gm_error_report(err) : 0;
}

static int dwarf_exe(const char *path, int nnames, char **names, bool layouts)
{
	struct gm_exe *exe;
	struct gm_error *err = gm_exe_open(path, &exe);
	if (err)
		return gm_error_report(err);
	struct gm_dwarf *dw;
	err = gm_dwarf_open(exe, &dw);
	if (err) {
		gm_exe_destroy(exe);
		return gm_error_report(err);
	}
	int status = 0;
	if (layouts)
		status = print_layouts(exe, dw);
	for (int i = 0; i < nnames; i++)
		if (!describe_name(dw, names[i]))
			status = EXIT_NOT_FOUND;
	gm_dwarf_destroy(dw);
	gm_exe_destroy(exe);
	return status;
}

int cmd_dwarf(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--layouts") == 0 || strcmp(argv[1], "--layout-table") == 0 ||
			  strcmp(argv[1], "--locate") == 0 || strcmp(argv[1], "--code-types") == 0)) {
		bool table = strcmp(argv[1], "--layout-table") == 0;
		if (argc != 3 && !(table && argc == 4))
			return cli_usage_error("dwarf", "%s takes exactly one argument%s", argv[1],
					       table ? " (and optionally GOARCH)" : "");
		if (strcmp(argv[1], "--locate") == 0)
			return print_located(argv[2]);
		if (strcmp(argv[1], "--code-types") == 0)
			return print_code_types(argv[2]);
		return table ? print_layout_table(argv[2], argc == 4 ? argv[3] : "amd64")
			     : dwarf_exe(argv[2], 0, NULL, true);
	}
	int status = cli_help_only(argc, argv, "dwarf", dwarf_usage);
	if (status >= 0)
		return status;
	if (argc - optind < 2)
		return cli_usage_error("dwarf", "expected EXE and at least one NAME");
	return dwarf_exe(argv[optind], argc - optind - 1, argv + optind + 1, false);
}
