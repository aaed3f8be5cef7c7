/* pause_mechanisms: what each way of taking a consistent copy of a large
 * anonymous memory costs in the kernel, measured on this process's own
 * memory (no Go, no ptrace: the kernel work alone, which is what a
 * capture's stopped-world pause is made of).
 *
 * Usage: pause_mechanisms MB [RUNS]
 *
 * For a region of MB mebibytes, every page touched, it prints the median of
 * RUNS (default 3) of:
 *   fork-4k       fork() (the child exits at once): the kernel copying the
 *                 page tables, what `gomortem capture`'s snapshot costs today
 *   fork-thp      the same with the region advised MADV_HUGEPAGE before it is
 *                 touched (transparent huge pages, if the kernel gives them)
 *   uffd-wp       userfaultfd with UFFD_FEATURE_WP_ASYNC: UFFDIO_REGISTER
 *                 (mode WP) + UFFDIO_WRITEPROTECT of the whole region: the
 *                 start of write tracking (needs Linux 6.7)
 *   scan-1%       PAGEMAP_SCAN with PM_SCAN_WP_MATCHING after 1% of the pages
 *                 were written: finds the written pages and protects them
 *                 again; the second, short stop of a two-phase copy
 *   recopy-1%     reading those 1% pages (process_vm_readv on ourselves):
 *                 the rest of that second stop
 *   mprotect      mprotect(PROT_READ) + back, for scale
 *   remote        the same write tracking driven from another process, as
 *                 a capture would: a child opens the userfaultfd and touches
 *                 the region; the parent takes the descriptor (pidfd_getfd),
 *                 registers and protects the child's memory, the child writes
 *                 1% of its pages, the parent finds them in /proc/CHILD/pagemap
 * Built by tests/bench/capture_bench.sh --mechanisms; standalone:
 *   cc -O2 -o pause_mechanisms tests/bench/pause_mechanisms.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../analyzer/acquire/linux_uapi.h"

#define PAGE 4096UL
#define MAX_RUNS 15

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), by_value);
	return v[(n - 1) / 2];
}

static char *touched_region(size_t bytes, int advice)
{
	char *r = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	if (advice >= 0)
		madvise(r, bytes, advice);
	for (size_t off = 0; off < bytes; off += PAGE)
		r[off] = (char)(off >> 12 | 1);
	return r;
}

static double time_fork(void)
{
	double start = now_ms();
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	double ms = now_ms() - start;
	waitpid(child, NULL, 0);
	return ms;
}

static void report(const char *what, double *v, int runs, size_t bytes)
{
	double m = median(v, runs);
	printf("%-10s %8zu MB  median %9.3f ms  (%6.1f ns/page; runs:", what, bytes >> 20, m,
	       m * 1e6 / (double)(bytes / PAGE));
	for (int i = 0; i < runs; i++)
		printf(" %.3f", v[i]);
	printf(")\n");
}

static long anon_huge_kb(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "re");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static void measure_fork(size_t bytes, int runs, int advice, const char *name)
{
	char *r = touched_region(bytes, advice);
	double v[MAX_RUNS];
	for (int i = 0; i < runs; i++)
		v[i] = time_fork();
	report(name, v, runs, bytes);
	if (advice == MADV_HUGEPAGE)
		printf("           (AnonHugePages %ld kB of %zu kB)\n", anon_huge_kb(), bytes >> 10);
	for (int i = 0; i < runs; i++) {
		double start = now_ms();
		mprotect(r, bytes, PROT_READ);
		mprotect(r, bytes, PROT_READ | PROT_WRITE);
		v[i] = now_ms() - start;
	}
	if (advice < 0)
		report("mprotect", v, runs, bytes);
	munmap(r, bytes);
}

static int open_uffd_wp_async(void)
{
	int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0) {
		perror("userfaultfd");
		return -1;
	}
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED };
	if (ioctl(uffd, UFFDIO_API, &api) != 0) {
		perror("UFFDIO_API (WP_ASYNC needs Linux 6.7)");
		close(uffd);
		return -1;
	}
	return uffd;
}

static int scan_written(int pagemap, char *r, size_t bytes, struct page_region *vec, size_t vec_len,
			size_t *pages)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg), .flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		.start = (uint64_t)(uintptr_t)r, .end = (uint64_t)(uintptr_t)(r + bytes),
		.vec = (uint64_t)(uintptr_t)vec, .vec_len = vec_len,
		.category_mask = PAGE_IS_WRITTEN, .return_mask = PAGE_IS_WRITTEN,
	};
	int n = ioctl(pagemap, PAGEMAP_SCAN, &arg);
	*pages = 0;
	for (int i = 0; i < n; i++)
		*pages += (vec[i].end - vec[i].start) / PAGE;
	return n;
}

static void measure_uffd(size_t bytes, int runs)
{
	char *r = touched_region(bytes, -1);
	size_t npages = bytes / PAGE, dirty = npages / 100;
	size_t vec_len = dirty + 16;
	struct page_region *vec = calloc(vec_len, sizeof(*vec));
	char *copy = malloc(dirty * PAGE + PAGE);
	int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	double wp[MAX_RUNS], scan[MAX_RUNS], recopy[MAX_RUNS];
	for (int i = 0; i < runs; i++) {
		int uffd = open_uffd_wp_async();
		if (uffd < 0 || !vec || !copy || pagemap < 0)
			exit(1);
		double start = now_ms();
		struct uffdio_register reg = { .range = { (uint64_t)(uintptr_t)r, bytes },
					       .mode = UFFDIO_REGISTER_MODE_WP };
		struct uffdio_writeprotect prot = { .range = { (uint64_t)(uintptr_t)r, bytes },
						    .mode = UFFDIO_WRITEPROTECT_MODE_WP };
		if (ioctl(uffd, UFFDIO_REGISTER, &reg) != 0 || ioctl(uffd, UFFDIO_WRITEPROTECT, &prot) != 0) {
			perror("UFFDIO_REGISTER/WRITEPROTECT");
			exit(1);
		}
		wp[i] = now_ms() - start;
		/* 1% of the pages written, spread out (the worst case for ranges). */
		for (size_t p = 0; p < dirty; p++)
			r[p * 100 * PAGE] ^= 1;
		size_t found;
		start = now_ms();
		int n = scan_written(pagemap, r, bytes, vec, vec_len, &found);
		scan[i] = now_ms() - start;
		if (n < 0 || found != dirty) {
			fprintf(stderr, "PAGEMAP_SCAN found %zu written pages of %zu (%d: %s)\n", found, dirty, n,
				n < 0 ? strerror(errno) : "");
			exit(1);
		}
		start = now_ms();
		char *to = copy;
		for (int k = 0; k < n; k++) {
			size_t len = vec[k].end - vec[k].start;
			struct iovec local = { to, len }, remote = { (void *)(uintptr_t)vec[k].start, len };
			if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)len)
				exit(1);
			to += len;
		}
		recopy[i] = now_ms() - start;
		/* Unregistering drops the protection for the next run. */
		struct uffdio_range all = { (uint64_t)(uintptr_t)r, bytes };
		ioctl(uffd, UFFDIO_UNREGISTER, &all);
		close(uffd);
	}
	report("uffd-wp", wp, runs, bytes);
	report("scan-1%", scan, runs, bytes);
	report("recopy-1%", recopy, runs, bytes);
	close(pagemap);
	free(copy);
	free(vec);
	munmap(r, bytes);
}

/* The child's side of measure_remote: map, touch, open the userfaultfd,
 * say where (fd and address) on TO_PARENT, write 1% of the pages when told. */
static void remote_child(size_t bytes, int to_parent, int from_parent)
{
	char *r = touched_region(bytes, -1);
	int uffd = open_uffd_wp_async();
	uint64_t said[2] = { (uint64_t)uffd, (uint64_t)(uintptr_t)r };
	char go;
	if (write(to_parent, said, sizeof(said)) != sizeof(said) || read(from_parent, &go, 1) != 1)
		_exit(1);
	for (size_t p = 0; p < bytes / PAGE / 100; p++)
		r[p * 100 * PAGE] ^= 1;
	if (write(to_parent, &go, 1) != 1 || read(from_parent, &go, 1) != 1)
		_exit(1);
	_exit(0);
}

static void measure_remote(size_t bytes)
{
	int up[2], down[2];
	if (pipe(up) != 0 || pipe(down) != 0)
		exit(1);
	pid_t child = fork();
	if (child == 0)
		remote_child(bytes, up[1], down[0]);
	uint64_t said[2];
	char go = 'g';
	if (read(up[0], said, sizeof(said)) != sizeof(said) || (int)said[0] < 0)
		exit(1);
	int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	int uffd = (int)syscall(SYS_pidfd_getfd, pidfd, (int)said[0], 0);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)child);
	int pagemap = open(path, O_RDONLY | O_CLOEXEC);
	if (pidfd < 0 || uffd < 0 || pagemap < 0) {
		perror("pidfd_open/pidfd_getfd/pagemap");
		exit(1);
	}
	double start = now_ms();
	struct uffdio_register reg = { .range = { said[1], bytes }, .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect prot = { .range = { said[1], bytes }, .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	if (ioctl(uffd, UFFDIO_REGISTER, &reg) != 0 || ioctl(uffd, UFFDIO_WRITEPROTECT, &prot) != 0) {
		perror("remote UFFDIO_REGISTER/WRITEPROTECT");
		exit(1);
	}
	double wp = now_ms() - start;
	if (write(down[1], &go, 1) != 1 || read(up[0], &go, 1) != 1)
		exit(1);
	size_t dirty = bytes / PAGE / 100, found;
	struct page_region *vec = calloc(dirty + 16, sizeof(*vec));
	start = now_ms();
	int n = scan_written(pagemap, (char *)(uintptr_t)said[1], bytes, vec, dirty + 16, &found);
	double scan = now_ms() - start;
	printf("remote     %8zu MB  register+protect %.3f ms, scan %.3f ms: %zu written pages found of %zu "
	       "(%d ranges)%s\n", bytes >> 20, wp, scan, found, dirty, n, found == dirty ? "" : "  MISMATCH");
	if (write(down[1], &go, 1) != 1)
		exit(1);
	waitpid(child, NULL, 0);
	free(vec);
	close(pagemap);
	close(uffd);
	close(pidfd);
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		printf("usage: pause_mechanisms MB [RUNS]\n(see the comment at the top of "
		       "tests/bench/pause_mechanisms.c)\n");
		return argc < 2;
	}
	size_t bytes = (size_t)strtoul(argv[1], NULL, 10) << 20;
	int runs = argc > 2 ? atoi(argv[2]) : 3;
	if (runs < 1 || runs > MAX_RUNS || bytes == 0) {
		fprintf(stderr, "pause_mechanisms: MB > 0 and 1 <= RUNS <= %d\n", MAX_RUNS);
		return 2;
	}
	measure_fork(bytes, runs, -1, "fork-4k");
	measure_fork(bytes, runs, MADV_HUGEPAGE, "fork-thp");
	measure_uffd(bytes, runs);
	measure_remote(bytes);
	return 0;
}
