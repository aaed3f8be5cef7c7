/* gomortem capture: the core of a live process, with a short pause. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf/dwarf_index.h"
#include "analyzer/acquire/capture.h"
#include "analyzer/acquire/core_writer.h"
#include "cli.h"
#include "analyzer/goruntime/binding.h"
#include "analyzer/goruntime/heap.h"
#include "analyzer/program/program.h"

static const char capture_usage[] =
	"usage: gomortem capture PID -o CORE [--precopy | --stop-copy] [--slim] [--quiet]\n"
	"\n"
	"Write an ELF core of the live process PID, which goes on running.  Every\n"
	"thread is stopped with ptrace (no signal the process can see), its registers\n"
	"read, and a copy-on-write snapshot of its memory forked inside it; then the\n"
	"process is let go and the core is written from the snapshot.  The pause lasts\n"
	"as long as the kernel takes to copy the page tables (about 1 ms per GB of\n"
	"touched memory), not the memory.  The core has what 'gomortem analyze' and gdb\n"
	"read: NT_PRSTATUS and NT_FPREGSET per thread, NT_PRPSINFO, NT_SIGINFO (SIGSTOP\n"
	"sent by this process), NT_AUXV, NT_FILE; the memory of anonymous and writable\n"
	"mappings (never-touched pages as holes), the first page of ELF files; not\n"
	"the read-only file mappings, which the executable has, nor the reservations\n"
	"with no access.  The core gets its name only when complete.\n"
	"\n"
	"  -o, --output CORE  the core to write (replaced if it exists)\n"
	"  --slim             then leave out the pages of the Go heap that no span in use\n"
	"                     holds (free and released memory): holes in the file, and\n"
	"                     the core's GOMORTEM note says so; the analysis reads none\n"
	"                     of them (needs the executable's DWARF)\n"
	"  --precopy          a shorter pause for big heaps (Linux 6.7): stop a moment to\n"
	"                     open a userfaultfd in the process, write-protect its\n"
	"                     anonymous memory (asynchronous mode: the process never\n"
	"                     waits on us), copy it while the process runs, then stop it\n"
	"                     again and copy only the pages written meanwhile\n"
	"                     (PAGEMAP_SCAN); the core is of that second stop.  Falls\n"
	"                     back to the snapshot when the kernel cannot, or when the\n"
	"                     mappings changed between the stops (it says so)\n"
	"  --stop-copy        copy the memory with the process stopped, as gcore does\n"
	"                     (also what happens when the process cannot fork: seccomp,\n"
	"                     memory limits, the init process of a PID namespace)\n"
	"  --quiet            no summary line\n"
	"  -h, --help         show this help\n"
	"\n"
	"Needs the right to ptrace PID (root, or its user with kernel.yama.ptrace_scope\n"
	"= 0).  x86-64 processes only.\n"
	"\n"
	"Exit status: 0 ok; 3 no such process, no permission, or the core cannot be\n"
	"written; others in docs/exit-codes.md.\n";

/* Punch [ADDR, ADDR + LEN) of segment SEG out of the core FD, whole pages only. */
static uint64_t punch(int fd, const struct gm_core_segment *seg, uint64_t addr, uint64_t len, uint64_t page)
{
	uint64_t start = (addr + page - 1) / page * page, end = (addr + len) / page * page;
	if (end <= start)
		return 0;
	uint64_t off = seg->offset + (start - seg->vaddr);
	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)(end - start)) == 0
	       ? end - start : 0;
}

/* In every heap arena that holds a span, the pages outside the spans
 * (in use or manual) are free: the Go heap's arenas hold nothing else. */
static uint64_t punch_free_pages(int fd, struct gm_heap *heap, const struct gm_core *core, uint64_t arena_bytes)
{
	uint64_t freed = 0, page = heap->rt->page_size;
	size_t k = 0;
	for (size_t i = 0; i < core->nsegments; i++) {
		const struct gm_core_segment *seg = &core->segments[i];
		uint64_t saved_end = seg->vaddr + seg->filesz;
		while (k < heap->nspans && heap->spans[k].end <= seg->vaddr)
			k++;
		uint64_t cursor = seg->vaddr;
		for (size_t j = k; j < heap->nspans && heap->spans[j].base < saved_end; j++) {
			const struct gm_span *s = &heap->spans[j];
			uint64_t arena = s->base / arena_bytes * arena_bytes;
			uint64_t from = cursor > arena ? cursor : arena;
			if (s->base > from)
				freed += punch(fd, seg, from, s->base - from, page);
			cursor = s->end;
			/* The rest of the span's arena, up to the next span or the segment's end. */
			uint64_t arena_end = arena + arena_bytes < saved_end ? arena + arena_bytes : saved_end;
			bool last_in_arena = j + 1 == heap->nspans || heap->spans[j + 1].base >= arena_end;
			if (last_in_arena && arena_end > cursor)
				freed += punch(fd, seg, cursor, arena_end - cursor, page);
		}
	}
	return freed;
}

/* --slim: walk the heap of the core just written and leave out its free pages. */
static struct gm_error *slim_core(const char *path)
{
	struct gm_program_options po = { .core_path = path, .need_dwarf = true };
	struct gm_program *prog = NULL;
	struct gm_runtime *rt = NULL;
	struct gm_heap *heap = NULL;
	int64_t arena_bytes = 0;
	struct gm_error *err = gm_program_open(&po, &prog);
	if (!err)
		err = gm_runtime_bind(prog, &rt);
	if (!err)
		err = gm_heap_walk(rt, &heap);
	if (!err && (arena_bytes = (int64_t)rt->heap_arena_bytes) <= 0)
		err = gm_error_create(GM_ERR_BAD_RUNTIME, "%s: no runtime.heapArenaBytes in the runtime's layouts",
				      prog->exe->path);
	int fd = err ? -1 : open(path, O_RDWR | O_CLOEXEC);
	if (!err && fd < 0)
		err = gm_error_create(GM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
	if (!err) {
		uint64_t freed = punch_free_pages(fd, heap, prog->core, (uint64_t)arena_bytes);
		char text[GM_CAPTURE_NOTE_SIZE];
		snprintf(text, sizeof(text), "gomortem capture --slim: %" PRIu64 " bytes of free Go heap pages left "
			 "out (zeros)", freed);
		err = gm_core_set_capture_note(fd, path, text);
		fprintf(stderr, "gomortem: %s: --slim: %" PRIu64 " MB of free heap pages are holes\n", path, freed >> 20);
	}
	if (fd >= 0)
		close(fd);
	gm_heap_destroy(heap);
	gm_runtime_destroy(rt);
	gm_program_destroy(prog);
	return err;
}

void cli_print_capture(const char *output, const struct gm_capture_result *r)
{
	if (r->precopy_error)
		fprintf(stderr, "gomortem: %s: no precopy (%s)\n", output, r->precopy_error->message);
	if (r->precopy_moved)
		fprintf(stderr, "gomortem: %s: no precopy: the mappings changed between the stops\n", output);
	if (r->precopy)
		fprintf(stderr, "gomortem: %s: %zu threads, paused %.2f ms (stopping %.2f ms; scanning and copying "
			"again %.2f ms: %" PRIu64 " KB written meanwhile copied again) after a first pause of %.2f ms, %"
			PRIu64 " MB saved, %" PRIu64 " MB on disk, %.2f s in all\n", output, r->threads,
			r->pause_seconds * 1e3, r->stop_seconds * 1e3, r->recopy_seconds * 1e3, r->recopied_bytes >> 10, r->first_pause_seconds * 1e3, r->saved_bytes >> 20, r->disk_bytes >> 20,
			r->total_seconds);
	else
	fprintf(stderr, "gomortem: %s: %zu threads, paused %.2f ms (stopping %.2f ms, snapshot %.2f ms)%s%s, %"
		PRIu64 " MB saved, %" PRIu64 " MB on disk, %.2f s in all\n",
		output, r->threads, r->pause_seconds * 1e3, r->stop_seconds * 1e3, r->snapshot_seconds * 1e3,
		r->snapshot ? ", copied from a snapshot" : ", copied while stopped",
		!r->snapshot && r->snapshot_errno ? " (no snapshot: the process could not fork)" : "",
		r->saved_bytes >> 20, r->disk_bytes >> 20, r->total_seconds);
	if (r->unreadable_bytes)
		fprintf(stderr, "gomortem: %s: %" PRIu64 " bytes could not be read and are zeros\n", output,
			r->unreadable_bytes);
}

int cli_parse_pid(const char *command, const char *text, int *ret)
{
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno || *end || v <= 0 || v > INT32_MAX)
		return cli_usage_error(command, "'%s' is not a process id", text);
	*ret = (pid_t)v;
	return -1;
}

int cmd_capture(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "stop-copy", no_argument, NULL, 's' },
		{ "precopy", no_argument, NULL, 'P' },
		{ "slim", no_argument, NULL, 'S' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct gm_capture_options o = { 0 };
	bool quiet = false, slim = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o.output = optarg; break;
		case 's': o.stop_copy = true; break;
		case 'P': o.precopy = true; break;
		case 'S': slim = true; break;
		case 'q': quiet = true; break;
		case 'h': fputs(capture_usage, stdout); return 0;
		default: return cli_usage_error("capture", "bad option");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("capture", "expected one PID argument, got %d", argc - optind);
	if (!o.output)
		return cli_usage_error("capture", "missing -o CORE");
	pid_t pid = 0;
	int status = cli_parse_pid("capture", argv[optind], &pid);
	if (status >= 0)
		return status;
	if (o.precopy && o.stop_copy)
		return cli_usage_error("capture", "--precopy and --stop-copy exclude each other");
	struct gm_capture_result r;
	struct gm_error *err = gm_capture(pid, &o, &r);
	if (!err && !quiet)
		cli_print_capture(o.output, &r);
	gm_error_destroy(r.precopy_error);
	if (err)
		return gm_error_report(err);
	err = slim ? slim_core(o.output) : NULL;
	return err ? gm_error_report(err) : 0;
}
