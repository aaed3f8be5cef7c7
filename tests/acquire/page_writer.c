/* page_writer: a process that never stops writing, for acquire_capture's
 * consistency check of capture --precopy.
 *
 * One thread sweeps a 64 MB buffer forever: page by page it sets CURSOR to
 * the page's index, then writes GEN + 1 at the page's start; after the last
 * page GEN goes up by one.  At any instant the process can be stopped in,
 * with GEN = G and CURSOR = C: the pages before C hold G + 1, page C holds G
 * or G + 1, the pages after C hold G.  A core of one instant shows that; a
 * core copied while the sweep ran, without copying again what it wrote,
 * shows pages of several generations.
 *
 * Usage: page_writer FILE: writes "BUFFER GEN_ADDR CURSOR_ADDR PAGES" (hex
 * addresses) into FILE once the buffer is touched, then sweeps. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

#define PAGES 16384
#define PAGE 4096

volatile uint64_t gen, cursor;

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	uint8_t *buf = mmap(NULL, (size_t)PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < PAGES; i++)
		*(volatile uint64_t *)(buf + i * PAGE) = 0;
	FILE *f = fopen(argv[1], "w");
	if (!f)
		return 1;
	fprintf(f, "%lx %lx %lx %d\n", (unsigned long)(uintptr_t)buf, (unsigned long)(uintptr_t)&gen,
		(unsigned long)(uintptr_t)&cursor, PAGES);
	fclose(f);
	for (;;) {
		for (uint64_t i = 0; i < PAGES; i++) {
			cursor = i;
			*(volatile uint64_t *)(buf + i * PAGE) = gen + 1;
		}
		gen = gen + 1;
	}
}
