#include "write_tracking.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "linux_uapi.h"

#define SCAN_VEC 512

struct gm_error *gm_tracker_open(pid_t pid, int fd_in_target, struct gm_write_tracker *t)
{
	memset(t, 0, sizeof(*t));
	t->uffd = t->pagemap = -1;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd >= 0) {
		t->uffd = (int)syscall(SYS_pidfd_getfd, pidfd, fd_in_target, 0);
		close(pidfd);
	}
	if (t->uffd < 0)
		return gm_error_create(GM_ERR_IO, "/proc/%d: cannot take over its userfaultfd: %s", (int)pid,
				       strerror(errno));
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED };
	if (ioctl(t->uffd, UFFDIO_API, &api) != 0) {
		int e = errno;
		gm_tracker_close(t);
		return gm_error_create(GM_ERR_IO, "userfaultfd: no asynchronous write protection (Linux 6.7): %s",
				       strerror(e));
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	t->pagemap = open(path, O_RDONLY | O_CLOEXEC);
	if (t->pagemap < 0) {
		int e = errno;
		gm_tracker_close(t);
		return gm_error_create(GM_ERR_IO, "%s: cannot open: %s", path, strerror(e));
	}
	return NULL;
}

static bool trackable(const struct gm_proc_mapping *m)
{
	return m->sparse && m->write && !m->shared && m->save_bytes == m->end - m->start;
}

struct gm_error *gm_tracker_protect(struct gm_write_tracker *t, const struct gm_proc_maps *maps)
{
	free(t->tracked);
	t->tracked = calloc(maps->count ? maps->count : 1, sizeof(*t->tracked));
	t->count = maps->count;
	if (!t->tracked)
		return &gm_error_nomem;
	for (size_t i = 0; i < maps->count; i++) {
		const struct gm_proc_mapping *m = &maps->maps[i];
		if (!trackable(m))
			continue;
		struct uffdio_register reg = { .range = { m->start, m->end - m->start }, .mode = UFFDIO_REGISTER_MODE_WP };
		struct uffdio_writeprotect wp = { .range = { m->start, m->end - m->start },
						  .mode = UFFDIO_WRITEPROTECT_MODE_WP };
		t->tracked[i] = ioctl(t->uffd, UFFDIO_REGISTER, &reg) == 0 &&
				ioctl(t->uffd, UFFDIO_WRITEPROTECT, &wp) == 0;
		/* Copying an untracked heap again while stopped would be no shorter
		 * than the snapshot: let the caller take that instead. */
		if (!t->tracked[i])
			return gm_error_create(GM_ERR_IO, "userfaultfd: cannot write-protect %#llx-%#llx: %s",
					       (unsigned long long)m->start, (unsigned long long)m->end, strerror(errno));
	}
	return NULL;
}

static bool add_run(struct gm_page_runs *r, uint64_t start, uint64_t end, bool gone)
{
	if (r->count && r->runs[r->count - 1].end == start && r->runs[r->count - 1].gone == gone) {
		r->runs[r->count - 1].end = end;
		return true;
	}
	if (r->count == r->cap) {
		size_t n = r->cap ? 2 * r->cap : 256;
		struct gm_page_run *grown = realloc(r->runs, n * sizeof(*grown));
		if (!grown)
			return false;
		r->runs = grown;
		r->cap = n;
	}
	r->runs[r->count++] = (struct gm_page_run){ .start = start, .end = end, .gone = gone };
	return true;
}

/* Written pages, and pages neither present nor swapped (gone, or never
 * touched: the caller's core has holes there already), of [START, END). */
static struct gm_error *scan_range(struct gm_write_tracker *t, uint64_t start, uint64_t end, struct gm_page_runs *r)
{
	struct page_region vec[SCAN_VEC];
	for (uint64_t at = start; at < end;) {
		struct pm_scan_arg arg = {
			.size = sizeof(arg), .flags = PM_SCAN_CHECK_WPASYNC, .start = at, .end = end,
			.vec = (uint64_t)(uintptr_t)vec, .vec_len = SCAN_VEC,
			/* written, or (inverted) not present and not swapped */
			.category_inverted = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
			.category_anyof_mask = PAGE_IS_WRITTEN | PAGE_IS_PRESENT,
			.return_mask = PAGE_IS_WRITTEN | PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		};
		int n = ioctl(t->pagemap, PAGEMAP_SCAN, &arg);
		if (n < 0)
			return gm_error_create(GM_ERR_IO, "PAGEMAP_SCAN of %#llx-%#llx: %s", (unsigned long long)at,
					       (unsigned long long)end, strerror(errno));
		for (int i = 0; i < n; i++) {
			/* (Categories come back as they are, not inverted.) */
			bool written = vec[i].categories & PAGE_IS_WRITTEN;
			bool absent = !(vec[i].categories & (PAGE_IS_PRESENT | PAGE_IS_SWAPPED));
			if (!add_run(r, vec[i].start, vec[i].end, absent && !written))
				return &gm_error_nomem;
		}
		if (arg.walk_end <= at)
			break;
		at = arg.walk_end;
	}
	return NULL;
}

struct gm_error *gm_tracker_changes(struct gm_write_tracker *t, const struct gm_proc_maps *maps,
				    struct gm_page_runs *r)
{
	memset(r, 0, sizeof(*r));
	struct gm_error *err = NULL;
	for (size_t i = 0; i < maps->count && i < t->count && !err; i++) {
		const struct gm_proc_mapping *m = &maps->maps[i];
		if (t->tracked[i])
			err = scan_range(t, m->start, m->end, r);
		else if (m->write && m->save_bytes && !add_run(r, m->start, m->start + m->save_bytes, false))
			err = &gm_error_nomem;
	}
	if (err)
		gm_page_runs_free(r);
	return err;
}

void gm_page_runs_free(struct gm_page_runs *r)
{
	for (size_t i = 0; i < r->count; i++)
		free(r->runs[i].data);
	free(r->runs);
	memset(r, 0, sizeof(*r));
}

void gm_tracker_close(struct gm_write_tracker *t)
{
	if (t->uffd >= 0)
		close(t->uffd);   /* the last reference: the kernel unregisters everything */
	if (t->pagemap >= 0)
		close(t->pagemap);
	free(t->tracked);
	memset(t, 0, sizeof(*t));
	t->uffd = t->pagemap = -1;
}
