#include "program.h"

#include <elf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dwarf/dwarf_index.h"
#include "dwarf/layouts.h"
#include "analyzer/core/core_exe.h"
#include "analyzer/goruntime/locate.h"

/* Longest runtime.buildVersion accepted (it is "go1.N.M" plus experiments). */
#define MAX_GO_VERSION_LEN 256
static const char deleted_suffix[] = " (deleted)";

/* The NT_FILE path of the mapping holding the entry point: the executable. */
static struct gm_error *exe_path_from_core(const struct gm_core *core, char **ret)
{
	uint64_t entry;
	if (core->nfiles == 0)
		return gm_error_create(GM_ERR_BAD_EXE,
				       "%s: the core has no NT_FILE note (qemu-user writes none), so it does not name "
				       "its executable; pass it with --exe", core->path);
	if (!gm_core_auxv(core, AT_ENTRY, &entry))
		return gm_error_create(GM_ERR_BAD_EXE,
				       "%s: no AT_ENTRY in the core's auxv; pass the executable with --exe",
				       core->path);
	const struct gm_core_file *f = gm_core_exe_file(core);
	if (f) {
		char *path = strdup(f->path);
		if (!path)
			return &gm_error_nomem;
		size_t n = strlen(path), k = strlen(deleted_suffix);
		if (n > k && strcmp(path + n - k, deleted_suffix) == 0)
			path[n - k] = '\0';
		*ret = path;
		return NULL;
	}
	return gm_error_create(GM_ERR_BAD_EXE,
			       "%s: the core's NT_FILE note names no file at the entry point 0x%" PRIx64
			       "; pass the executable with --exe", core->path, entry);
}

/* The executable when --exe does not name it: the NT_FILE path at the
 * entry point or, when that cannot be read, the one systemd-coredump
 * recorded in the core file's user.coredump.exe attribute. */
static struct gm_error *find_exe(struct gm_program *prog, char **ret)
{
	char *found = NULL;
	struct gm_error *err = exe_path_from_core(prog->core, &found);
	if (!err && access(found, R_OK) != 0)
		err = gm_error_create(GM_ERR_BAD_EXE,
				      "%s: executable %s (named by the core's NT_FILE note) cannot be read; "
				      "pass it with --exe", prog->core->path, found);
	const char *recorded = gm_acquired_attr(prog->acquired, "exe");
	if (err && recorded && access(recorded, R_OK) == 0) {
		gm_error_destroy(err);
		free(found);
		if (!(found = strdup(recorded)))
			return &gm_error_nomem;
		prog->exe_from_coredump = true;
		err = NULL;
	}
	if (err) {
		free(found);
		return err;
	}
	prog->exe_from_core = !prog->exe_from_coredump;
	*ret = found;
	return NULL;
}

static struct gm_error *open_exe(struct gm_program *prog, const char *exe_path)
{
	char *found = NULL;
	if (!exe_path) {
		struct gm_error *err = find_exe(prog, &found);
		if (err)
			return err;
		exe_path = found;
	}
	struct gm_error *err = gm_exe_open(exe_path, &prog->exe);
	free(found);
	if (err)
		return err;
	if (prog->exe->e_machine != prog->core->e_machine) {
		char exe_buf[24], core_buf[24];
		return gm_error_create(GM_ERR_BAD_EXE, "%s: executable is for %s but the core %s is for %s",
				       prog->exe->path, gm_machine_name(prog->exe->e_machine, exe_buf),
				       prog->core->path, gm_machine_name(prog->core->e_machine, core_buf));
	}
	if (!prog->exe->go_version)
		return gm_error_create(GM_ERR_BAD_EXE,
				       "%s: not a Go program (no Go build info); gomortem analyzes Go programs only",
				       prog->exe->path);
	return NULL;
}

/* The loader's view of the dead process (auxv: entry point, program headers)
 * against the executable's ELF header, before anything reads Go structures
 * at addresses that would mean nothing in another program's core (a C
 * program's, a shell's).  The PIE bias cancels out of AT_PHDR - AT_ENTRY. */
static struct gm_error *check_same_program(struct gm_program *prog)
{
	const struct gm_core *core = prog->core;
	const struct gm_exe *exe = prog->exe;
	uint64_t entry, phdr, phnum;
	if (!gm_core_auxv(core, AT_ENTRY, &entry) || !gm_core_auxv(core, AT_PHDR, &phdr) ||
	    !gm_core_auxv(core, AT_PHNUM, &phnum) || !exe->have_phdr_vaddr)
		return NULL; /* nothing to compare: the build ID and version checks still run */
	bool same = phnum == exe->e_phnum && phdr - entry == exe->phdr_vaddr - exe->e_entry &&
		    (exe->e_type == ET_DYN || entry == exe->e_entry);
	if (same)
		return NULL;
	char *ran = NULL;
	struct gm_error *err = exe_path_from_core(core, &ran);
	gm_error_destroy(err);
	err = gm_error_create(GM_ERR_BAD_EXE,
		"%s: wrong executable: the core %s does not belong to it: the process ran %s "
		"(entry point 0x%" PRIx64 ", %" PRIu64 " program headers at 0x%" PRIx64 "), this executable "
		"has entry point 0x%" PRIx64 " and %" PRIu64 " program headers at 0x%" PRIx64 "%s",
		exe->path, core->path, ran ? ran : core->fname, entry, phnum, phdr, exe->e_entry, exe->e_phnum,
		exe->phdr_vaddr, exe->e_type == ET_DYN ? " (PIE: before relocation)" : "");
	free(ran);
	return err;
}

int gm_go_minor(const char *version)
{
	int major, minor;
	return version && sscanf(version, "go%d.%d", &major, &minor) == 2 && major == 1 ? minor : 0;
}

/* Layouts are read from DWARF, but what each release keeps where (bitmaps,
 * maps, masks) is only known for the releases gomortem was tested on. */
static struct gm_error *check_known_version(struct gm_program *prog, bool force)
{
	int minor = gm_go_minor(prog->exe->go_version);
	if (minor >= GM_GO_MIN_MINOR && minor <= GM_GO_MAX_MINOR)
		return NULL;
	if (force) {
		prog->version_forced = true;
		return NULL;
	}
	return gm_error_create(GM_ERR_BAD_RUNTIME,
			       "%s: Go version %s is not one gomortem knows (" GM_GO_KNOWN_RANGE "); "
			       "--force-version tries anyway and marks the result partial",
			       prog->exe->path, prog->exe->go_version);
}

static struct gm_error *compute_bias(struct gm_program *prog)
{
	if (prog->exe->e_type != ET_DYN)
		return NULL;
	uint64_t entry;
	if (!gm_core_auxv(prog->core, AT_ENTRY, &entry))
		return gm_error_create(GM_ERR_BAD_CORE,
				       "%s: no AT_ENTRY in auxv: cannot relocate the PIE executable %s",
				       prog->core->path, prog->exe->path);
	prog->bias = entry - prog->exe->e_entry;
	return NULL;
}

/* Compare the build ID note as the core saved it with the executable's. */
static struct gm_error *check_build_id(struct gm_program *prog)
{
	const struct gm_exe *exe = prog->exe;
	if (!exe->go_build_id) {
		prog->build_id_check = GM_BUILD_ID_NONE;
		return NULL;
	}
	uint64_t addr = exe->go_build_id_note_vaddr + prog->bias;
	uint64_t size = exe->go_build_id_note_size;
	const struct gm_region *r = gm_region_at(prog->mem, addr);
	if (!r || r->source != GM_REGION_CORE || size > r->end - addr) {
		prog->build_id_check = GM_BUILD_ID_NOT_IN_CORE;
		return NULL;
	}
	const uint8_t *note = r->bytes + (addr - r->start);
	size_t id_len = strlen(exe->go_build_id);
	const char *core_id = (const char *)note + size - id_len;
	if (memcmp(core_id, exe->go_build_id, id_len) == 0) {
		prog->build_id_check = GM_BUILD_ID_MATCH;
		return NULL;
	}
	char *printable = strndup(core_id, id_len);
	if (!printable)
		return &gm_error_nomem;
	for (char *c = printable; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
	struct gm_error *err = gm_error_create(GM_ERR_BAD_EXE,
		"%s: wrong executable for core %s: its Go build ID is %s, the core's is %s",
		exe->path, prog->core->path, exe->go_build_id, printable);
	free(printable);
	return err;
}

const char *gm_program_debug_info(const struct gm_program *prog)
{
	if (prog->dwarf)
		return "dwarf";
	return prog->exe->nsymbols ? "symtab" : "none";
}

const char *gm_program_layouts_source(const struct gm_program *prog)
{
	if (!prog->layouts)
		return NULL;
	if (prog->runtime_dwarf)
		return "DWARF of --runtime-from";
	return gm_layouts_source(prog->layouts);
}

const char *gm_program_unknown_columns(const struct gm_program *prog)
{
	if (prog->dwarf)
		return "none";
	return "fields; roots.type_name of stack slots and of globals the code does not type; "
	       "member paths in roots.name (symbol+offset); "
	       "objects.type_id where only a variable's declared type the code does not show leads";
}

bool gm_program_global_addr(struct gm_program *prog, const char *name, uint64_t *ret)
{
	if (prog->dwarf && gm_dwarf_global(prog->dwarf, name, ret, NULL))
		return true;
	const struct gm_symbol *sym = gm_exe_symbol_named(prog->exe, name);
	if (sym) {
		*ret = sym->addr;
		return true;
	}
	/* Stripped (-s): what the executable's bytes give exactly. */
	return !prog->exe->nsymbols && gm_locate_global(prog->exe, prog->layouts, name, ret);
}

struct gm_error *gm_program_read_go_string(struct gm_program *prog, uint64_t addr, uint64_t max_len,
					   char **ret)
{
	uint64_t header[2];
	struct gm_error *err = gm_read(prog->mem, addr, header, sizeof(header));
	if (err)
		return err;
	if (header[1] > max_len)
		return gm_error_create(GM_ERR_BAD_RUNTIME,
				       "string at 0x%" PRIx64 " has implausible length %" PRIu64, addr, header[1]);
	char *s = malloc(header[1] + 1);
	if (!s)
		return &gm_error_nomem;
	err = gm_read(prog->mem, header[0], s, header[1]);
	if (err) {
		free(s);
		return err;
	}
	s[header[1]] = '\0';
	*ret = s;
	return NULL;
}

/* runtime.buildVersion as the dead process had it, against .go.buildinfo. */
static struct gm_error *check_go_version(struct gm_program *prog)
{
	uint64_t addr;
	if (!gm_program_global_addr(prog, "runtime.buildVersion", &addr))
		return NULL;
	struct gm_error *err = gm_program_read_go_string(prog, addr + prog->bias, MAX_GO_VERSION_LEN,
							 &prog->core_go_version);
	if (err) {
		/* Unreadable: reported as unknown by the callers, not fatal. */
		gm_error_destroy(err);
		return NULL;
	}
	if (strcmp(prog->core_go_version, prog->exe->go_version) != 0)
		return gm_error_create(GM_ERR_BAD_EXE,
				       "%s: wrong executable for core %s: it is %s, the core's runtime is %s",
				       prog->exe->path, prog->core->path, prog->exe->go_version,
				       prog->core_go_version);
	return NULL;
}

/* The runtime's layouts from the DWARF of PATH, which must be built by the same Go version. */
static struct gm_error *layouts_from_other_exe(struct gm_program *prog, const char *path)
{
	struct gm_error *err = gm_exe_open(path, &prog->runtime_exe);
	if (err)
		return err;
	const char *want = prog->exe->go_version, *have = prog->runtime_exe->go_version;
	if (!have || strcmp(have, want) != 0)
		return gm_error_create(GM_ERR_BAD_EXE,
				       "%s: --runtime-from needs an executable built by %s; this one is %s",
				       path, want, have ? have : "not a Go program");
	err = gm_dwarf_open(prog->runtime_exe, &prog->runtime_dwarf);
	if (!err)
		err = gm_layouts_from_dwarf(prog->runtime_dwarf, &prog->layouts);
	return err;
}

/* Without DWARF: the generated table of this Go version, GOARCH and experiments. */
static struct gm_error *layouts_from_table(struct gm_program *prog)
{
	const struct gm_exe *exe = prog->exe;
	const char *experiments = exe->go_experiments ? exe->go_experiments : "";
	const char *goarch = exe->goarch ? exe->goarch : "amd64";
	const struct gm_layout_table *table = gm_layout_table_find(exe->go_version, goarch, experiments);
	if (!table)
		return gm_error_create(GM_ERR_NO_DWARF,
				       "%s: no DWARF, and gomortem has no runtime layout table for %s%s%s "
				       "(%s); pass --runtime-from EXE, any executable with DWARF built by %s "
				       "(a hello world will do)%s",
				       exe->path, exe->go_version, *experiments ? " GOEXPERIMENT=" : "",
				       experiments, goarch, exe->go_version,
				       *experiments ? " with the same GOEXPERIMENT" : "");
	return gm_layouts_from_table(table, &prog->layouts);
}

static struct gm_error *open_layouts(struct gm_program *prog, const char *runtime_from)
{
	if (prog->dwarf)
		return gm_layouts_from_dwarf(prog->dwarf, &prog->layouts);
	if (runtime_from)
		return layouts_from_other_exe(prog, runtime_from);
	return layouts_from_table(prog);
}

/* Without the executable (ERR says why): what the core alone tells. */
static struct gm_error *core_only(struct gm_program *prog, struct gm_error *err)
{
	gm_exe_destroy(prog->exe);
	prog->exe = NULL;
	prog->exe_error = err;
	err = gm_address_space_create(prog->core, NULL, 0, &prog->mem);
	if (!err)
		err = gm_core_exe_read(prog->core, prog->mem, &prog->core_exe);
	return err;
}

static struct gm_error *program_load(struct gm_program *prog, const struct gm_program_options *options)
{
	struct gm_error *err = gm_acquire_core(options->core_path, &options->acquire, &prog->acquired);
	if (!err)
		err = gm_core_open_as(prog->acquired->elf_path, options->core_path, options->core_flags,
				      &prog->core);
	if (!err)
		err = open_exe(prog, options->exe_path);
	if (err && prog->core && options->allow_missing_exe)
		return core_only(prog, err);
	if (!err)
		err = check_same_program(prog);
	if (!err)
		err = check_known_version(prog, options->force_version);
	if (!err)
		err = compute_bias(prog);
	if (!err)
		err = gm_address_space_create(prog->core, prog->exe, prog->bias, &prog->mem);
	if (!err)
		err = check_build_id(prog);
	if (err)
		return err;
	prog->dwarf_error = options->ignore_dwarf
				    ? gm_error_create(GM_ERR_NO_DWARF, "%s: DWARF ignored (--ignore-dwarf)", prog->exe->path)
				    : gm_dwarf_open(prog->exe, &prog->dwarf);
	/* Missing DWARF is normal (-w builds: the layout tables serve); DWARF
	 * that is there but corrupt is not: a damaged or wrong file is refused
	 * rather than silently analyzed another way. */
	if (prog->dwarf_error && prog->dwarf_error->code != GM_ERR_NO_DWARF && prog->dwarf_error != &gm_error_nomem) {
		err = gm_error_create(prog->dwarf_error->code, "%s (--ignore-dwarf analyzes without it, from the "
				      "runtime's layout table)", prog->dwarf_error->message);
		gm_error_destroy(prog->dwarf_error);
		prog->dwarf_error = NULL;
		return err;
	}
	if (prog->dwarf_error && (options->need_dwarf || prog->dwarf_error == &gm_error_nomem)) {
		err = prog->dwarf_error;
		prog->dwarf_error = NULL;
		return err;
	}
	prog->layouts_error = open_layouts(prog, options->runtime_from);
	if (prog->layouts_error && (prog->layouts_error == &gm_error_nomem || options->runtime_from)) {
		err = prog->layouts_error;
		prog->layouts_error = NULL;
		return err;
	}
	return check_go_version(prog);
}

static bool names(const char *message, const char *path)
{
	return path && strncmp(message, path, strlen(path)) == 0;
}

struct gm_error *gm_program_name_core(const struct gm_program_options *options, struct gm_error *err)
{
	if (!err || (err->code != GM_ERR_FAULT && err->code != GM_ERR_BAD_RUNTIME) ||
	    names(err->message, options->core_path) || names(err->message, options->exe_path))
		return err;
	return gm_error_prefix(err, "%s", options->core_path);
}

struct gm_error *gm_program_open(const struct gm_program_options *options, struct gm_program **ret)
{
	struct gm_program *prog = calloc(1, sizeof(*prog));
	if (!prog)
		return &gm_error_nomem;
	struct gm_error *err = program_load(prog, options);
	if (err) {
		gm_program_destroy(prog);
		return err;
	}
	*ret = prog;
	return NULL;
}

void gm_program_destroy(struct gm_program *prog)
{
	if (!prog)
		return;
	gm_layouts_destroy(prog->layouts);
	gm_error_destroy(prog->layouts_error);
	gm_dwarf_destroy(prog->runtime_dwarf);
	gm_exe_destroy(prog->runtime_exe);
	gm_dwarf_destroy(prog->dwarf);
	gm_error_destroy(prog->dwarf_error);
	gm_address_space_destroy(prog->mem);
	gm_exe_destroy(prog->exe);
	gm_error_destroy(prog->exe_error);
	gm_core_exe_destroy(prog->core_exe);
	gm_core_destroy(prog->core);
	gm_acquired_destroy(prog->acquired);
	free(prog->core_go_version);
	free(prog);
}
