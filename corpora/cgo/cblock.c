/* cblock: C functions the cgo scenario blocks in (see cblock.h). */
#include "cblock.h"

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
/* An empty asm after a call keeps the compiler from turning it into a tail
 * call, so every function keeps its frame. */
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

static volatile int sink;

static void block_all_signals(void)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
}

/* ---- pause ---- */
NOINLINE static void cgo_inner_pause(void)
{
	block_all_signals();
	for (;;) {
		pause();
		KEEP_FRAME();
	}
}
NOINLINE static void cgo_middle_pause(void) { cgo_inner_pause(); sink++; KEEP_FRAME(); }
NOINLINE static void cgo_outer_pause(void) { cgo_middle_pause(); sink++; KEEP_FRAME(); }
void cgo_block_pause(void) { cgo_outer_pause(); sink++; KEEP_FRAME(); }

/* ---- read ---- */
NOINLINE static void cgo_inner_read(int fd)
{
	char buf[64];
	block_all_signals();
	for (;;) {
		if (read(fd, buf, sizeof buf) == 0)
			break;
		KEEP_FRAME();
	}
	for (;;)
		pause();
}
NOINLINE static void cgo_middle_read(int fd) { cgo_inner_read(fd); sink++; KEEP_FRAME(); }
NOINLINE static void cgo_outer_read(int fd) { cgo_middle_read(fd); sink++; KEEP_FRAME(); }
void cgo_block_read(int fd) { cgo_outer_read(fd); sink++; KEEP_FRAME(); }

/* ---- usleep ---- */
NOINLINE static void cgo_inner_sleep(void)
{
	block_all_signals();
	for (;;) {
		usleep(100 * 1000);
		KEEP_FRAME();
	}
}
NOINLINE static void cgo_middle_sleep(void) { cgo_inner_sleep(); sink++; KEEP_FRAME(); }
NOINLINE static void cgo_outer_sleep(void) { cgo_middle_sleep(); sink++; KEEP_FRAME(); }
void cgo_block_sleep(void) { cgo_outer_sleep(); sink++; KEEP_FRAME(); }

/* ---- a C pthread in pthread_cond_wait ---- */
static pthread_mutex_t cond_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t started_cond = PTHREAD_COND_INITIALIZER;
static int started, never;

NOINLINE static void cgo_inner_cond(void)
{
	pthread_mutex_lock(&cond_mu);
	started = 1;
	pthread_cond_signal(&started_cond);
	while (!never)
		pthread_cond_wait(&cond, &cond_mu);
	pthread_mutex_unlock(&cond_mu);
}
NOINLINE static void cgo_middle_cond(void) { cgo_inner_cond(); sink++; KEEP_FRAME(); }
NOINLINE static void cgo_outer_cond(void) { cgo_middle_cond(); sink++; KEEP_FRAME(); }

static void *cond_thread(void *arg)
{
	(void)arg;
	block_all_signals();
	cgo_outer_cond();
	return NULL;
}

int cgo_start_cond_thread(void)
{
	pthread_t th;
	sigset_t all, old;
	/* Created with every signal blocked, so no signal reaches it even
	 * before it blocks them itself. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&th, NULL, cond_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return rc;
	pthread_detach(th);
	pthread_mutex_lock(&cond_mu);
	while (!started)
		pthread_cond_wait(&started_cond, &cond_mu);
	pthread_mutex_unlock(&cond_mu);
	return 0;
}
