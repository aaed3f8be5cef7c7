/* cblock: C functions the cgo scenario blocks in (see main.go). */
#ifndef GOMORTEM_CORPUS_CBLOCK_H
#define GOMORTEM_CORPUS_CBLOCK_H

/* Each blocks forever in libc with every signal blocked on its thread, so
 * that the Go runtime's crash relay (SIGQUIT to every M) leaves the thread
 * where it is: at core time its pc is in libc.  Each reaches libc through a
 * three-deep chain of non-inlined C functions (cgo_outer_* -> cgo_middle_*
 * -> cgo_inner_*) to give the unwinder named frames to check. */
void cgo_block_pause(void);     /* pause() */
void cgo_block_read(int fd);    /* read() on a pipe nobody writes */
void cgo_block_sleep(void);     /* usleep() in a loop */

/* Start a pthread of C's own (unknown to the Go runtime) that waits on a
 * condition variable nobody signals; returns 0 when it is waiting. */
int cgo_start_cond_thread(void);

#endif
