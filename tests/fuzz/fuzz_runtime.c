/* libFuzzer target: the runtime walk (binding, heap, spans, goroutines,
 * memstats) over a core whose runtime structures are damaged.
 *
 * A real program (GOMORTEM_FUZZ_CORE, GOMORTEM_FUZZ_EXE) is opened once and
 * its core's private mapping made writable.  Each input is a list of 12-byte
 * records [structure, which, offset (2), value (8)] writing a word into
 * runtime.mheap_, the mheap_.allspans array, one of the mspans, the allgs
 * array or one of the g's; the walk runs on the damaged memory and the
 * words are put back.  Any input must give results or errors: never a
 * crash, a leak, undefined behaviour or a walk that does not end. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "analyzer/core/address_space.h"
#include "analyzer/goruntime/binding.h"
#include "analyzer/goruntime/goroutines.h"
#include "analyzer/goruntime/heap.h"
#include "analyzer/goruntime/memstats.h"
#include "analyzer/program/program.h"
#include "dwarf/dwarf_index.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RECORDS 16

/* A structure the records can damage: an address range of the process. */
struct target {
	uint64_t addr, size;
};

static struct gm_program *prog;
static uint8_t *core_bytes;           /* the core's mapping, made writable */
static struct target mheap, allspans, allgs;
static uint64_t *mspans, *gs;         /* addresses of the spans and goroutines */
static size_t nmspans, ngs;
static uint64_t mspan_size, g_size;

__attribute__((noreturn)) static void fail(const char *what)
{
	fprintf(stderr, "fuzz_runtime: %s\n", what);
	exit(1);
}

/* The offset in the core file of the saved byte at ADDR, or 0 if not saved. */
static uint64_t file_offset(uint64_t addr)
{
	for (size_t i = 0; i < prog->core->nsegments; i++) {
		const struct gm_core_segment *s = &prog->core->segments[i];
		if (addr - s->vaddr < s->filesz && s->offset + (addr - s->vaddr) + 8 <= prog->core->size)
			return s->offset + (addr - s->vaddr);
	}
	return 0;
}

static uint64_t type_size(const char *name)
{
	Dwarf_Die die;
	uint64_t size;
	if (!gm_dwarf_type(prog->dwarf, name, &die) || !gm_dwarf_type_size(&die, &size))
		fail(name);
	return size;
}

/* The N pointers of the array at ADDR, malloc'd. */
static uint64_t *read_pointers(uint64_t addr, size_t n)
{
	uint64_t *out = calloc(n ? n : 1, sizeof(*out));
	if (!out || (n && !gm_try_read(prog->mem, addr, out, n * sizeof(*out))))
		fail("cannot read a pointer array");
	return out;
}

static void find_targets(void)
{
	struct gm_runtime *rt;
	struct gm_error *err = gm_runtime_bind(prog, &rt);
	if (err)
		fail(err->message);
	uint64_t header[3];
	mheap = (struct target){ rt->mheap_addr, type_size("runtime.mheap") };
	if (!gm_try_read(prog->mem, rt->mheap_addr + rt->mheap_allspans.offset, header, sizeof(header)))
		fail("no mheap_.allspans");
	allspans = (struct target){ header[0], header[1] * 8 };
	mspans = read_pointers(header[0], nmspans = header[1]);
	if (!gm_try_read(prog->mem, rt->allgs_addr, header, sizeof(header)))
		fail("no allgs");
	allgs = (struct target){ header[0], header[1] * 8 };
	gs = read_pointers(header[0], ngs = header[1]);
	mspan_size = type_size("runtime.mspan");
	g_size = type_size("runtime.g");
	gm_runtime_destroy(rt);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	struct gm_program_options o = { .core_path = getenv("GOMORTEM_FUZZ_CORE"),
					.exe_path = getenv("GOMORTEM_FUZZ_EXE"), .need_dwarf = true };
	if (!o.core_path || !o.exe_path)
		fail("set GOMORTEM_FUZZ_CORE and GOMORTEM_FUZZ_EXE to a corpus core and its executable");
	struct gm_error *err = gm_program_open(&o, &prog);
	if (err)
		fail(err->message);
	/* A private mapping: writes stay in this process. */
	core_bytes = (uint8_t *)prog->core->data;
	if (mprotect(core_bytes, prog->core->size, PROT_READ | PROT_WRITE) != 0)
		fail("cannot make the core's mapping writable");
	find_targets();
	return 0;
}

/* The address record R damages, or 0. */
static uint64_t record_addr(const uint8_t *r)
{
	uint16_t off;
	memcpy(&off, r + 2, 2);
	struct target t;
	switch (r[0] % 5) {
	case 0: t = mheap; break;
	case 1: t = allspans; break;
	case 2: t = (struct target){ nmspans ? mspans[r[1] % nmspans] : 0, mspan_size }; break;
	case 3: t = allgs; break;
	default: t = (struct target){ ngs ? gs[r[1] % ngs] : 0, g_size }; break;
	}
	return t.addr && t.size >= 8 ? t.addr + (off % (t.size - 7) & ~7u) : 0;
}

static void walk(void)
{
	struct gm_runtime *rt;
	struct gm_error *err = gm_runtime_bind(prog, &rt);
	if (!err) {
		struct gm_heap *heap = NULL;
		struct gm_goroutine_set *set = NULL;
		struct gm_memstats ms;
		err = gm_heap_walk(rt, &heap);
		gm_error_destroy(err);
		err = gm_goroutines_read(rt, &set);
		gm_error_destroy(err);
		err = gm_memstats_read(rt, &ms);
		gm_goroutines_destroy(set);
		gm_heap_destroy(heap);
		gm_runtime_destroy(rt);
	}
	gm_error_destroy(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t at[MAX_RECORDS], saved[MAX_RECORDS];
	size_t n = 0;
	for (size_t i = 0; i + 12 <= size && n < MAX_RECORDS; i += 12) {
		uint64_t off = file_offset(record_addr(data + i));
		if (!off)
			continue;
		at[n] = off;
		memcpy(&saved[n], core_bytes + off, 8);
		memcpy(core_bytes + off, data + i + 4, 8);
		n++;
	}
	walk();
	while (n--)  /* in reverse: a word written twice gets its first value back */
		memcpy(core_bytes + at[n], &saved[n], 8);
	return 0;
}
