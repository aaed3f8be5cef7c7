/* huge_pages: back an analysis' big arrays with transparent huge pages.
 *
 * An analysis allocates a few arrays of gigabytes (objects, edges, the
 * dominator search) and touches every page of them: with 4 KiB pages the
 * kernel spends a quarter of the CPU time on page faults.  glibc's malloc
 * asks for transparent huge pages (madvise) only when its tunable
 * glibc.malloc.hugetlb is 1, and it reads tunables once, before main: so
 * the process sets the tunable and executes itself again, once.  On the
 * 20M-object bigheap core: 8.7 s -> 7.7 s wall, 2.2 s -> 1.1 s system
 * time, the same peak RSS (docs/benchmarks.md).
 */
#ifndef GOMORTEM_HUGE_PAGES_H
#define GOMORTEM_HUGE_PAGES_H

/* Execute the running executable again with ARGV and glibc.malloc.hugetlb=1
 * added to GLIBC_TUNABLES, unless the tunable is set already (this is the
 * second run, or the user chose), the C library is not glibc, the kernel
 * has transparent huge pages off, or GOMORTEM_NO_HUGE_PAGES is set.  Returns
 * only when it does not (or the exec fails: the process goes on as it is).
 * Call it before anything is read from a file or standard input. */
void gm_reexec_with_huge_pages(char **argv);

#endif
