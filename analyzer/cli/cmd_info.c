/* gomortem info: quick facts about a core, without walking the heap. */
#include <elf.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dwarf/dwarf_index.h"
#include "cli.h"
#include "json_writer.h"
#include "analyzer/core/core_exe.h"
#include "analyzer/goruntime/binding.h"
#include "analyzer/goruntime/goroutines.h"
#include "analyzer/program/program.h"
#include "analyzer/util/terminal.h"

static const char info_usage[] =
	"usage: gomortem info CORE [--exe EXE] [--runtime-from EXE] [--json] [--allow-truncated]\n"
	"                      [--tmpdir DIR] [--force-version]\n"
	"\n"
	"Print quick facts about a Go core dump: Go version, architecture (x86_64 or\n"
	"aarch64, on any host) and page size, pid and command line, the signal that\n"
	"ended the process, every thread (tid, pc with its function, sp), the mappings\n"
	"(bytes mapped, saved in the core, taken from the executable), the executable's\n"
	"debug info (dwarf, symtab or none) and where the runtime's layouts come from\n"
	"(its DWARF, or for a build without DWARF the built-in table of its Go version).\n"
	"Without the executable (gone, or --exe names no file), it prints what the core\n"
	"alone tells (threads, notes, mappings and mapped files, the Go version and build\n"
	"IDs the core saved of the executable) and what needs the executable, then\n"
	"exits with the executable's error.\n"
	CLI_CORE_INPUT_HELP
	"\n"
	"  --exe EXE          the executable (default: found through the core's NT_FILE note;\n"
	"                     needed for a core without one, such as qemu-user's)\n"
	"  --runtime-from EXE  take the runtime's layouts from the DWARF of EXE, built by the\n"
	"                     same Go version (for an executable without DWARF whose Go\n"
	"                     version has no built-in table)\n"
	"  --json             print JSON instead of text\n"
	"  --allow-truncated  accept a core cut short; missing bytes count as unsaved\n"
	CLI_TMPDIR_OPTION_HELP(CLI_TMPDIR_DEFAULT)
	"  --force-version    read a Go version gomortem does not know (outside " GM_GO_KNOWN_RANGE ")\n"
	"  -h, --help         show this help\n"
	"\n"
	"Exit status: 0 ok; 3 or 5 the executable cannot be opened (the core's facts\n"
	"printed first); 6 facts printed but the executable has no DWARF and no\n"
	"runtime layouts were found for it;\n"
	"other codes in docs/exit-codes.md.\n";

/* "SIGABRT"; "signal 0" when the process was not stopped by a signal. */
static void signal_name(int sig, char *buf, size_t len)
{
	const char *abbrev = sig > 0 ? sigabbrev_np(sig) : NULL;
	if (abbrev)
		snprintf(buf, len, "SIG%s", abbrev);
	else
		snprintf(buf, len, "signal %d", sig);
}

/* Where the fatal signal came from, from NT_SIGINFO: the faulting address
 * for a synchronous fault, the sending pid for kill/tgkill (si_code <= 0). */
static void signal_origin(const struct gm_core *core, char *buf, size_t len)
{
	if (!core->have_siginfo)
		snprintf(buf, len, "no NT_SIGINFO");
	else if (core->sig_code <= 0)
		snprintf(buf, len, "sent by pid %u", (unsigned)(core->sig_addr & 0xffffffffu));
	else if (core->sig_number == SIGSEGV || core->sig_number == SIGBUS ||
		 core->sig_number == SIGILL || core->sig_number == SIGFPE)
		snprintf(buf, len, "fault at 0x%" PRIx64 " (code %d)", core->sig_addr, core->sig_code);
	else
		snprintf(buf, len, "code %d", core->sig_code);
}

static int process_signal(const struct gm_core *core)
{
	if (core->have_siginfo)
		return core->sig_number;
	return core->nthreads ? core->threads[0].cursig : 0;
}

/* "runtime.futex+0x23" for a pc in the executable, "/lib/libc.so.6+0x1234"
 * for a pc in another mapped file, "?" otherwise. */
static void describe_pc(const struct gm_program *prog, uint64_t pc, char *buf, size_t len)
{
	const struct gm_symbol *sym = prog->exe ? gm_exe_symbol_at(prog->exe, pc - prog->bias) : NULL;
	if (sym && sym->is_func) {
		snprintf(buf, len, "%s+0x%" PRIx64, sym->name, pc - prog->bias - sym->addr);
		return;
	}
	for (size_t i = 0; i < prog->core->nfiles; i++) {
		const struct gm_core_file *f = &prog->core->files[i];
		if (f->start <= pc && pc < f->end) {
			snprintf(buf, len, "%s+0x%" PRIx64, f->path, pc - f->start + f->file_offset);
			return;
		}
	}
	snprintf(buf, len, "?");
}

static const char *build_id_text(enum gm_build_id_check check)
{
	switch (check) {
	case GM_BUILD_ID_MATCH: return "matches the core";
	case GM_BUILD_ID_NOT_IN_CORE: return "not saved in the core, not verified";
	default: return "executable has none";
	}
}

#define MAX_STATUSES 64

/* Goroutine counts by status, or why they are unknown. */
struct goroutine_summary {
	size_t total, nstatuses;
	const char *names[MAX_STATUSES];
	size_t counts[MAX_STATUSES];
	struct gm_goroutine_set *set;   /* owns the names */
	char *unknown_reason;           /* set when goroutines could not be read */
};

static void summarize_goroutines(struct gm_program *prog, struct goroutine_summary *sum)
{
	struct gm_runtime *rt = NULL;
	memset(sum, 0, sizeof(*sum));
	struct gm_error *err = gm_runtime_bind(prog, &rt);
	if (!err)
		err = gm_goroutines_read(rt, &sum->set);
	gm_runtime_destroy(rt);
	if (err) {
		sum->unknown_reason = strdup(err->message);
		gm_error_destroy(err);
		return;
	}
	sum->total = sum->set->count;
	sum->nstatuses = gm_goroutines_by_status(sum->set, sum->names, sum->counts, MAX_STATUSES);
}

static void print_goroutines_text(const struct goroutine_summary *sum)
{
	if (!sum->set) {
		gm_printf_escaped(stdout, "goroutines:   unknown (%s)\n", sum->unknown_reason ? sum->unknown_reason : "?");
		return;
	}
	gm_printf_escaped(stdout, "goroutines:   %zu", sum->total);
	for (size_t i = 0; i < sum->nstatuses; i++)
		gm_printf_escaped(stdout, "%s%zu %s", i ? ", " : " (", sum->counts[i], sum->names[i]);
	gm_printf_escaped(stdout, "%s\n", sum->nstatuses ? ")" : "");
}

static void print_goroutines_json(struct gm_json *j, const struct goroutine_summary *sum)
{
	gm_json_key(j, "goroutines");
	if (!sum->set) {
		gm_json_null(j);
		return;
	}
	gm_json_begin_object(j);
	gm_json_key(j, "total"); gm_json_uint(j, sum->total);
	gm_json_key(j, "by_status");
	gm_json_begin_object(j);
	for (size_t i = 0; i < sum->nstatuses; i++) {
		gm_json_key(j, sum->names[i]);
		gm_json_uint(j, sum->counts[i]);
	}
	gm_json_end_object(j);
	gm_json_end_object(j);
}

static const char *exe_origin(const struct gm_program *prog)
{
	if (prog->exe_from_core)
		return "found through the core's NT_FILE note";
	if (prog->exe_from_coredump)
		return "found through systemd-coredump's user.coredump.exe";
	return "given with --exe";
}

/* How the core was read, and what systemd-coredump recorded about it. */
static void print_acquired_text(const struct gm_acquired *acq)
{
	if (acq->compression != GM_COMPRESSION_NONE)
		gm_printf_escaped(stdout, "compression:  %s (%" PRIu64 " bytes, %" PRIu64 " decompressed)\n",
		       gm_compression_name(acq->compression), acq->input_bytes, acq->core_bytes);
	for (size_t i = 0; i < acq->nattrs; i++)
		gm_printf_escaped(stdout, "coredump:     %-10s %s\n", acq->attrs[i].name, acq->attrs[i].value);
}

static void print_acquired_json(struct gm_json *j, const struct gm_acquired *acq)
{
	gm_json_key(j, "compression"); gm_json_string(j, gm_compression_name(acq->compression));
	gm_json_key(j, "coredump");
	gm_json_begin_object(j);
	for (size_t i = 0; i < acq->nattrs; i++) {
		gm_json_key(j, acq->attrs[i].name);
		gm_json_string(j, acq->attrs[i].value);
	}
	gm_json_end_object(j);
}

static void print_threads_text(const struct gm_program *prog)
{
	const struct gm_core *core = prog->core;
	gm_printf_escaped(stdout, "threads:      %zu\n", core->nthreads);
	gm_printf_escaped(stdout, "  %-8s %-18s %-18s %s\n", "tid", "pc", "sp", "function");
	for (size_t i = 0; i < core->nthreads; i++) {
		const struct gm_core_thread *t = &core->threads[i];
		uint64_t pc = gm_core_thread_pc(core, t);
		char where[512];
		describe_pc(prog, pc, where, sizeof(where));
		gm_printf_escaped(stdout, "  %-8d 0x%016" PRIx64 " 0x%016" PRIx64 " %s\n", t->tid, pc,
				  gm_core_thread_sp(core, t), where);
	}
}

static void print_process_text(const struct gm_core *core)
{
	int sig = process_signal(core);
	gm_printf_escaped(stdout, "pid:          %d\n", core->pid);
	gm_printf_escaped(stdout, "command:      %s\n", core->psargs);
	char name[32], origin[64];
	signal_name(sig, name, sizeof(name));
	signal_origin(core, origin, sizeof(origin));
	gm_printf_escaped(stdout, "signal:       %s (%d), %s\n", name, sig, origin);
}

static void print_core_header_text(const struct gm_program *prog)
{
	const struct gm_core *core = prog->core;
	gm_printf_escaped(stdout, "core:         %s (%s)\n", core->path, gm_arch_name(core->arch));
	uint64_t page_size = gm_core_page_size(core);
	if (page_size)
		printf("page size:    %" PRIu64 " bytes (AT_PAGESZ)\n", page_size);
	else
		printf("page size:    unknown (no AT_PAGESZ in the core)\n");
	print_acquired_text(prog->acquired);
}

/* Text for a terminal: the command line, wait reasons, paths, symbols and
 * systemd-coredump's fields come from the core and the executable, so control
 * characters are escaped (util/terminal.h).  JSON escapes them itself. */
static void print_text(const struct gm_program *prog, const struct goroutine_summary *sum)
{
	const struct gm_core *core = prog->core;
	const struct gm_address_space *mem = prog->mem;
	print_core_header_text(prog);
	gm_printf_escaped(stdout, "executable:   %s (%s)\n", prog->exe->path, exe_origin(prog));
	gm_printf_escaped(stdout, "go version:   %s%s\n", prog->exe->go_version,
	       prog->version_forced ? " (not a version gomortem knows: forced with --force-version)" : "");
	gm_printf_escaped(stdout, "experiments:  %s\n", prog->exe->go_experiments ? prog->exe->go_experiments
								: "none (the release's defaults)");
	gm_printf_escaped(stdout, "runtime:      %s\n", prog->core_go_version ? prog->core_go_version : "unknown (runtime.buildVersion not readable)");
	gm_printf_escaped(stdout, "go build id:  %s (%s)\n", prog->exe->go_build_id ? prog->exe->go_build_id : "-",
	       build_id_text(prog->build_id_check));
	gm_printf_escaped(stdout, "pie:          %s (load bias 0x%" PRIx64 ")\n", prog->exe->e_type == ET_DYN ? "yes" : "no",
	       prog->bias);
	print_process_text(core);
	if (prog->dwarf)
		gm_printf_escaped(stdout, "dwarf:        present (%zu types, %zu globals, %zu constants)\n",
		       gm_dwarf_type_count(prog->dwarf), gm_dwarf_global_count(prog->dwarf),
		       gm_dwarf_const_count(prog->dwarf));
	else
		gm_printf_escaped(stdout, "dwarf:        absent\n");
	gm_printf_escaped(stdout, "debug info:   %s\n", gm_program_debug_info(prog));
	const char *layouts = gm_program_layouts_source(prog);
	gm_printf_escaped(stdout, "layouts:      %s\n", layouts ? layouts : "unknown (no DWARF and no layout table)");
	gm_printf_escaped(stdout, "mappings:     %zu segments, %" PRIu64 " bytes mapped, %" PRIu64 " saved in the core, %"
	       PRIu64 " from the executable, %" PRIu64 " unsaved\n", core->nsegments,
	       gm_core_bytes_mapped(core), mem->bytes_from_core, mem->bytes_from_exe, mem->bytes_unsaved);
	if (core->ntruncated)
		gm_printf_escaped(stdout, "truncated:    %zu segments cut short by the end of the file\n", core->ntruncated);
	print_goroutines_text(sum);
	print_threads_text(prog);
}

static void print_platform_json(struct gm_json *j, const struct gm_core *core)
{
	gm_json_key(j, "arch"); gm_json_string(j, gm_arch_name(core->arch));
	gm_json_key(j, "page_size");
	if (gm_core_page_size(core))
		gm_json_uint(j, gm_core_page_size(core));
	else
		gm_json_null(j);
}

static void print_process_json(struct gm_json *j, const struct gm_core *core)
{
	gm_json_key(j, "pid"); gm_json_int(j, core->pid);
	gm_json_key(j, "command"); gm_json_string(j, core->psargs);
	int sig = process_signal(core);
	gm_json_key(j, "signal"); gm_json_int(j, sig);
	char name[32], origin[64];
	signal_name(sig, name, sizeof(name));
	signal_origin(core, origin, sizeof(origin));
	gm_json_key(j, "signal_name"); gm_json_string(j, name);
	gm_json_key(j, "signal_origin"); gm_json_string(j, origin);
}

static void print_mappings_json(struct gm_json *j, const struct gm_program *prog)
{
	const struct gm_core *core = prog->core;
	gm_json_key(j, "mappings");
	gm_json_begin_object(j);
	gm_json_key(j, "count"); gm_json_uint(j, core->nsegments);
	gm_json_key(j, "bytes_mapped"); gm_json_uint(j, gm_core_bytes_mapped(core));
	gm_json_key(j, "bytes_in_core"); gm_json_uint(j, prog->mem->bytes_from_core);
	gm_json_key(j, "bytes_from_exe"); gm_json_uint(j, prog->mem->bytes_from_exe);
	gm_json_key(j, "bytes_unsaved"); gm_json_uint(j, prog->mem->bytes_unsaved);
	gm_json_key(j, "truncated_segments"); gm_json_uint(j, core->ntruncated);
	gm_json_end_object(j);
}

static void print_threads_json(struct gm_json *j, const struct gm_program *prog)
{
	const struct gm_core *core = prog->core;
	gm_json_key(j, "threads");
	gm_json_begin_array(j);
	for (size_t i = 0; i < core->nthreads; i++) {
		const struct gm_core_thread *t = &core->threads[i];
		uint64_t pc = gm_core_thread_pc(core, t);
		char where[512];
		describe_pc(prog, pc, where, sizeof(where));
		gm_json_begin_object(j);
		gm_json_key(j, "tid"); gm_json_int(j, t->tid);
		gm_json_key(j, "pc"); gm_json_hex(j, pc);
		gm_json_key(j, "sp"); gm_json_hex(j, gm_core_thread_sp(core, t));
		gm_json_key(j, "function"); gm_json_string(j, where);
		gm_json_end_object(j);
	}
	gm_json_end_array(j);
}

static void print_json(const struct gm_program *prog, const struct goroutine_summary *sum)
{
	const struct gm_core *core = prog->core;
	struct gm_json j;
	gm_json_init(&j, stdout);
	gm_json_begin_object(&j);
	gm_json_key(&j, "core"); gm_json_string(&j, core->path);
	gm_json_key(&j, "executable"); gm_json_string(&j, prog->exe->path);
	gm_json_key(&j, "executable_from_core"); gm_json_bool(&j, prog->exe_from_core);
	gm_json_key(&j, "executable_from_coredump"); gm_json_bool(&j, prog->exe_from_coredump);
	print_acquired_json(&j, prog->acquired);
	print_platform_json(&j, core);
	gm_json_key(&j, "go_version"); gm_json_string(&j, prog->exe->go_version);
	gm_json_key(&j, "go_experiments"); gm_json_string(&j, prog->exe->go_experiments);
	gm_json_key(&j, "version_forced"); gm_json_bool(&j, prog->version_forced);
	gm_json_key(&j, "runtime_build_version"); gm_json_string(&j, prog->core_go_version);
	gm_json_key(&j, "go_build_id"); gm_json_string(&j, prog->exe->go_build_id);
	gm_json_key(&j, "build_id_check"); gm_json_string(&j, build_id_text(prog->build_id_check));
	gm_json_key(&j, "pie"); gm_json_bool(&j, prog->exe->e_type == ET_DYN);
	gm_json_key(&j, "load_bias"); gm_json_hex(&j, prog->bias);
	print_process_json(&j, core);
	gm_json_key(&j, "dwarf"); gm_json_bool(&j, prog->dwarf != NULL);
	gm_json_key(&j, "debug_info"); gm_json_string(&j, gm_program_debug_info(prog));
	gm_json_key(&j, "runtime_layouts"); gm_json_string(&j, gm_program_layouts_source(prog));
	print_mappings_json(&j, prog);
	print_goroutines_json(&j, sum);
	print_threads_json(&j, prog);
	gm_json_end_object(&j);
}

/* ---- without the executable: what the core alone tells ---- */

/* What info cannot tell without the executable. */
static const char *const needs_exe[] = {
	"goroutines (the runtime's structures are read through the executable's symbols and layouts)",
	"function names of pcs in the executable",
	"debug info (DWARF, symbol table) and the runtime's layouts",
	"runtime.buildVersion and the check that the executable matches the core",
	"the executable's read-only segments the core did not save",
	NULL,
};

static const char *pie_text(const struct gm_core_exe *ce)
{
	if (!ce->have_ehdr)
		return NULL;
	return ce->e_type == ET_DYN ? "yes" : "no";
}

/* Where the Go build ID comes from, or why it is unknown. */
static const char *core_build_id_origin(const struct gm_core_exe *ce)
{
	if (!ce->have_ehdr)
		return "the executable's ELF header is not saved in the core";
	if (!ce->notes_saved)
		return "its notes are not saved in the core";
	return ce->ids.go ? "from the note in the core's memory" : "the executable has none";
}

static const char *core_version_origin(const struct gm_core_exe *ce)
{
	if (ce->buildinfo_corrupt)
		return ".go.buildinfo in the core's memory is corrupt";
	if (!ce->buildinfo.go_version)
		return ".go.buildinfo not found in the memory the core saved";
	return ce->have_ehdr ? "from .go.buildinfo in the core's memory"
			     : "from .go.buildinfo in the core's memory, found without the ELF header";
}

static void print_notes_text(const struct gm_core *core)
{
	gm_printf_escaped(stdout, "notes:        NT_PRSTATUS (%zu threads)%s, NT_AUXV (%zu entries)", core->nthreads,
			  core->have_prpsinfo ? ", NT_PRPSINFO" : "", core->nauxv);
	if (core->nfiles)
		gm_printf_escaped(stdout, ", NT_FILE (%zu mappings)", core->nfiles);
	gm_printf_escaped(stdout, "%s\n", core->have_siginfo ? ", NT_SIGINFO" : "");
}

static void print_files_text(const struct gm_core *core)
{
	gm_printf_escaped(stdout, "files:        %zu mappings of files (NT_FILE)\n", core->nfiles);
	for (size_t i = 0; i < core->nfiles; i++) {
		const struct gm_core_file *f = &core->files[i];
		gm_printf_escaped(stdout, "  0x%016" PRIx64 "-0x%016" PRIx64 " offset 0x%-8" PRIx64 " %s\n", f->start,
				  f->end, f->file_offset, f->path);
	}
}

static void print_core_only_text(const struct gm_program *prog)
{
	const struct gm_core *core = prog->core;
	const struct gm_core_exe *ce = prog->core_exe;
	const struct gm_buildinfo *bi = &ce->buildinfo;
	print_core_header_text(prog);
	gm_printf_escaped(stdout, "executable:   not opened: %s\n", prog->exe_error->message);
	gm_printf_escaped(stdout, "              the core names %s\n",
			  ce->file ? ce->file->path : "none (no NT_FILE mapping at the entry point)");
	gm_printf_escaped(stdout, "go version:   %s (%s)\n", bi->go_version ? bi->go_version : "unknown",
			  core_version_origin(ce));
	if (bi->go_version)
		gm_printf_escaped(stdout, "experiments:  %s\n",
				  bi->go_experiments ? bi->go_experiments : "none (the release's defaults)");
	gm_printf_escaped(stdout, "go build id:  %s (%s)\n", ce->ids.go ? ce->ids.go : "unknown",
			  core_build_id_origin(ce));
	if (ce->ids.gnu)
		gm_printf_escaped(stdout, "gnu build id: %s\n", ce->ids.gnu);
	if (pie_text(ce))
		printf("pie:          %s (load bias 0x%" PRIx64 ")\n", pie_text(ce), ce->bias);
	else
		printf("pie:          unknown (the executable's ELF header is not saved in the core)\n");
	print_process_text(core);
	print_notes_text(core);
	gm_printf_escaped(stdout, "mappings:     %zu segments, %" PRIu64 " bytes mapped, %" PRIu64 " saved in the core, %"
			  PRIu64 " unsaved\n", core->nsegments, gm_core_bytes_mapped(core), prog->mem->bytes_from_core,
			  prog->mem->bytes_unsaved);
	if (core->ntruncated)
		gm_printf_escaped(stdout, "truncated:    %zu segments cut short by the end of the file\n", core->ntruncated);
	if (core->nfiles)
		print_files_text(core);
	print_threads_text(prog);
	printf("needs the executable (pass it with --exe):\n");
	for (size_t i = 0; needs_exe[i]; i++)
		printf("  %s\n", needs_exe[i]);
}

static void print_core_only_json(const struct gm_program *prog)
{
	const struct gm_core *core = prog->core;
	const struct gm_core_exe *ce = prog->core_exe;
	struct gm_json j;
	gm_json_init(&j, stdout);
	gm_json_begin_object(&j);
	gm_json_key(&j, "core"); gm_json_string(&j, core->path);
	gm_json_key(&j, "executable"); gm_json_null(&j);
	gm_json_key(&j, "executable_error"); gm_json_string(&j, prog->exe_error->message);
	gm_json_key(&j, "executable_named_by_core"); gm_json_string(&j, ce->file ? ce->file->path : NULL);
	print_acquired_json(&j, prog->acquired);
	print_platform_json(&j, core);
	gm_json_key(&j, "go_version"); gm_json_string(&j, ce->buildinfo.go_version);
	gm_json_key(&j, "go_version_origin"); gm_json_string(&j, core_version_origin(ce));
	gm_json_key(&j, "go_experiments"); gm_json_string(&j, ce->buildinfo.go_experiments);
	gm_json_key(&j, "goarch"); gm_json_string(&j, ce->buildinfo.goarch);
	gm_json_key(&j, "go_build_id"); gm_json_string(&j, ce->ids.go);
	gm_json_key(&j, "go_build_id_origin"); gm_json_string(&j, core_build_id_origin(ce));
	gm_json_key(&j, "gnu_build_id"); gm_json_string(&j, ce->ids.gnu);
	gm_json_key(&j, "pie");
	if (pie_text(ce))
		gm_json_bool(&j, ce->e_type == ET_DYN);
	else
		gm_json_null(&j);
	gm_json_key(&j, "load_bias");
	if (pie_text(ce))
		gm_json_hex(&j, ce->bias);
	else
		gm_json_null(&j);
	print_process_json(&j, core);
	gm_json_key(&j, "notes");
	gm_json_begin_object(&j);
	gm_json_key(&j, "prstatus"); gm_json_uint(&j, core->nthreads);
	gm_json_key(&j, "prpsinfo"); gm_json_bool(&j, core->have_prpsinfo);
	gm_json_key(&j, "auxv_entries"); gm_json_uint(&j, core->nauxv);
	gm_json_key(&j, "file_mappings"); gm_json_uint(&j, core->nfiles);
	gm_json_key(&j, "siginfo"); gm_json_bool(&j, core->have_siginfo);
	gm_json_end_object(&j);
	print_mappings_json(&j, prog);
	gm_json_key(&j, "files");
	gm_json_begin_array(&j);
	for (size_t i = 0; i < core->nfiles; i++) {
		gm_json_begin_object(&j);
		gm_json_key(&j, "start"); gm_json_hex(&j, core->files[i].start);
		gm_json_key(&j, "end"); gm_json_hex(&j, core->files[i].end);
		gm_json_key(&j, "offset"); gm_json_hex(&j, core->files[i].file_offset);
		gm_json_key(&j, "path"); gm_json_string(&j, core->files[i].path);
		gm_json_end_object(&j);
	}
	gm_json_end_array(&j);
	gm_json_key(&j, "goroutines"); gm_json_null(&j);
	print_threads_json(&j, prog);
	gm_json_key(&j, "needs_executable");
	gm_json_begin_array(&j);
	for (size_t i = 0; needs_exe[i]; i++)
		gm_json_string(&j, needs_exe[i]);
	gm_json_end_array(&j);
	gm_json_end_object(&j);
}

/* Print what the core alone tells, then the executable's error: its status. */
static int info_core_only(struct gm_program *prog, bool json)
{
	if (json)
		print_core_only_json(prog);
	else
		print_core_only_text(prog);
	fflush(stdout);
	int status = gm_error_report(prog->exe_error);
	prog->exe_error = NULL;
	gm_program_destroy(prog);
	return status;
}

int cmd_info(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_CORE_LONGOPTS,
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct gm_program_options options = { 0 };
	bool json = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, CLI_CORE_SHORTOPTS, longopts, NULL)) != -1) {
		if (cli_core_option(c, optarg, &options))
			continue;
		switch (c) {
		case 'j': json = true; break;
		case 'h': fputs(info_usage, stdout); return 0;
		default: return cli_usage_error("info", "bad option");
		}
	}
	int status = cli_core_argument(argc, argv, "info", &options);
	if (status >= 0)
		return status;
	options.allow_missing_exe = true;
	struct gm_program *prog;
	struct gm_error *err = gm_program_open(&options, &prog);
	if (err)
		return gm_error_report(err);
	if (!prog->exe)
		return info_core_only(prog, json);
	struct goroutine_summary sum;
	summarize_goroutines(prog, &sum);
	if (json)
		print_json(prog, &sum);
	else
		print_text(prog, &sum);
	gm_goroutines_destroy(sum.set);
	free(sum.unknown_reason);
	fflush(stdout);
	status = 0;
	if (prog->layouts_error) {
		status = gm_error_report(prog->layouts_error);
		prog->layouts_error = NULL;
	}
	gm_program_destroy(prog);
	return status;
}
