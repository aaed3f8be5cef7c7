/* libFuzzer target: the core file parser (ELF header, program headers,
 * notes) and the address space built on it.  Any input must give either a
 * parsed core or an error; never a crash, a leak or undefined behaviour. */
#include <stddef.h>
#include <stdint.h>

#include "analyzer/core/address_space.h"
#include "analyzer/core/elf_core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const struct gm_core *core)
{
	struct gm_address_space *as;
	struct gm_error *err = gm_address_space_create(core, NULL, 0, &as);
	if (err) {
		gm_error_destroy(err);
		return;
	}
	for (size_t i = 0; i < core->nsegments; i++) {
		uint64_t word;
		const struct gm_core_segment *seg = &core->segments[i];
		gm_error_destroy(gm_read_u64(as, seg->vaddr, &word));
		gm_error_destroy(gm_read_u64(as, seg->vaddr + seg->memsz - 4, &word));
		(void)gm_memory_at(as, seg->vaddr + seg->filesz / 2, 16);
	}
	for (size_t i = 0; i < core->nthreads; i++) {
		(void)gm_core_thread_pc(core, &core->threads[i]);
		(void)gm_core_thread_sp(core, &core->threads[i]);
	}
	uint64_t value;
	(void)gm_core_auxv(core, 9 /* AT_ENTRY */, &value);
	gm_address_space_destroy(as);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned flag_sets[] = { 0, GM_CORE_ALLOW_TRUNCATED };
	for (size_t i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++) {
		struct gm_core *core;
		struct gm_error *err = gm_core_parse(data, size, "fuzz-input", flag_sets[i], &core);
		if (err) {
			gm_error_destroy(err);
			continue;
		}
		exercise(core);
		gm_core_destroy(core);
	}
	return 0;
}
