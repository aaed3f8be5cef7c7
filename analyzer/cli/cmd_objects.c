/* gomortem objects: list every heap object of a core as text, one line
 * each, without writing a database: for scripts, diffs and checking the
 * heap walk against other tools. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "analyzer/goruntime/binding.h"
#include "analyzer/goruntime/heap.h"
#include "analyzer/goruntime/pointers.h"
#include "analyzer/program/program.h"

static const char objects_usage[] =
	"usage: gomortem objects CORE [--exe EXE] [--runtime-from EXE] [--pointers] [--allow-truncated]\n"
	"                      [--tmpdir DIR] [--force-version]\n"
	"\n"
	"List every heap object of a Go core, in address order, one per line:\n"
	"  0xADDR SIZE TYPE\n"
	"TYPE is what the malloc header or the large span names, or '-'.  With\n"
	"--pointers a fourth field lists the byte offsets of the words that can hold\n"
	"pointers (comma-separated, '-' for none, '?' when unknown).\n"
	CLI_CORE_INPUT_HELP
	"\n"
	"  --exe EXE          the executable (default: found through the core's NT_FILE note)\n"
	"  --runtime-from EXE runtime layouts from the DWARF of EXE (same Go version), for an\n"
	"                     executable without DWARF whose version has no built-in table\n"
	"  --pointers         also print the pointer-word offsets\n"
	"  --allow-truncated  accept a core cut short\n"
	CLI_TMPDIR_OPTION_HELP(CLI_TMPDIR_DEFAULT)
	"  --force-version    read a Go version gomortem does not know (outside " GM_GO_KNOWN_RANGE ")\n"
	"  -h, --help         show this help\n";

static void print_pointers(struct gm_heap *heap, const struct gm_span_pointers *sp,
			   const struct gm_object *obj, uint32_t *offsets)
{
	size_t n;
	enum gm_pointer_source src = gm_object_pointers(heap, sp, obj, offsets, &n);
	if (src == GM_POINTERS_UNKNOWN) {
		fputs(" ?", stdout);
		return;
	}
	if (n == 0) {
		fputs(" -", stdout);
		return;
	}
	for (size_t i = 0; i < n; i++)
		printf("%c%" PRIu32, i ? ',' : ' ', offsets[i]);
}

static int list_objects(struct gm_heap *heap, bool pointers)
{
	uint64_t max_size = 0;
	for (size_t i = 0; i < heap->nspans; i++)
		if (heap->spans[i].elemsize > max_size)
			max_size = heap->spans[i].elemsize;
	uint32_t *offsets = malloc((max_size / 8 + 1) * sizeof(*offsets));
	if (!offsets)
		return gm_error_report(&gm_error_nomem);
	struct gm_span_pointers sp = { 0 };
	uint32_t current_span = UINT32_MAX;
	for (size_t i = 0; i < heap->nobjects; i++) {
		const struct gm_object *obj = &heap->objects[i];
		const char *type = obj->type == GM_NO_TYPE ? "-" : heap->types[obj->type].name;
		printf("0x%" PRIx64 " %" PRIu64 " %s", obj->addr, gm_object_size(heap, obj), type ? type : "?");
		if (pointers) {
			if (obj->span != current_span) {
				current_span = obj->span;
				gm_span_pointers_init(heap, &heap->spans[obj->span], &sp);
			}
			print_pointers(heap, &sp, obj, offsets);
		}
		putchar('\n');
	}
	free(offsets);
	return 0;
}

int cmd_objects(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_CORE_LONGOPTS,
		{ "pointers", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct gm_program_options options = { 0 };
	bool pointers = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, CLI_CORE_SHORTOPTS, longopts, NULL)) != -1) {
		if (cli_core_option(c, optarg, &options))
			continue;
		switch (c) {
		case 'p': pointers = true; break;
		case 'h': fputs(objects_usage, stdout); return 0;
		default: return cli_usage_error("objects", "bad option");
		}
	}
	int status = cli_core_argument(argc, argv, "objects", &options);
	if (status >= 0)
		return status;
	struct gm_program *prog = NULL;
	struct gm_runtime *rt = NULL;
	struct gm_heap *heap = NULL;
	struct gm_error *err = gm_program_open(&options, &prog);
	if (!err)
		err = gm_runtime_bind(prog, &rt);
	if (!err)
		err = gm_heap_walk(rt, &heap);
	status = err ? gm_error_report(gm_program_name_core(&options, err)) : list_objects(heap, pointers);
	gm_heap_destroy(heap);
	gm_runtime_destroy(rt);
	gm_program_destroy(prog);
	return status;
}
