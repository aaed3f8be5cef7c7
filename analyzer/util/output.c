#include "output.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct gm_error *io_error(const char *path, const char *what, int errnum)
{
	return gm_error_create(GM_ERR_IO, "%s: %s: %s", path, what, strerror(errnum));
}

/* The directory holding PATH ("." for a bare name), malloc'd. */
static char *directory_of(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return NULL;
	char *dir = strdup(dirname(copy));
	free(copy);
	return dir;
}

/* What a name that exists but cannot be written to is, for the message. */
static const char *refused_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "is a directory";
	if (S_ISBLK(mode))
		return "is a block device (not written to)";
	if (S_ISSOCK(mode))
		return "is a socket";
	return "is not a regular file";
}

struct gm_error *gm_output_check_replaceable(const char *path, const char *why)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return errno == ENOENT ? NULL : io_error(path, "cannot check", errno);
	if (S_ISREG(st.st_mode))
		return NULL;
	return gm_error_create(GM_ERR_IO, "%s: %s; %s is written only as a new regular file, never over a device, "
			       "FIFO or directory", path, S_ISDIR(st.st_mode) ? "is a directory" :
			       S_ISCHR(st.st_mode) ? "is a character device" : S_ISFIFO(st.st_mode) ? "is a FIFO" :
			       refused_kind(st.st_mode), why);
}

/* Open an existing device or FIFO for writing.  O_NONBLOCK: a FIFO nobody
 * reads is ENXIO instead of a wait forever. */
static struct gm_error *open_stream(struct gm_output *out)
{
	int fd = open(out->path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENXIO ? gm_error_create(GM_ERR_IO, "%s: a FIFO that nobody reads", out->path)
				      : io_error(out->path, "cannot open", errno);
	struct stat st;
	if (fstat(fd, &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0 || !(out->file = fdopen(fd, "wb"))) {
		close(fd);
		return gm_error_create(GM_ERR_IO, "%s: changed while being opened", out->path);
	}
	out->stream = true;
	return NULL;
}

/* A file for PATH's contents: anonymous where the filesystem can, else
 * PATH.tmp-PID (which gm_output_remove_stale finds if this run is killed). */
static struct gm_error *open_temporary(struct gm_output *out)
{
	char *dir = directory_of(out->path);
	if (!dir)
		return &gm_error_nomem;
	int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
	int saved = errno;
	free(dir);
	if (fd < 0 && saved != EOPNOTSUPP && saved != EISDIR && saved != EINVAL)
		return io_error(out->path, "cannot create", saved);
	if (fd < 0) {
		if (asprintf(&out->tmp_path, "%s.tmp-%ld", out->path, (long)getpid()) < 0) {
			out->tmp_path = NULL;
			return &gm_error_nomem;
		}
		unlink(out->tmp_path);
		fd = open(out->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd < 0) {
			struct gm_error *err = io_error(out->tmp_path, "cannot create", errno);
			free(out->tmp_path);
			out->tmp_path = NULL;
			return err;
		}
	}
	if (!(out->file = fdopen(fd, "wb"))) {
		close(fd);
		return &gm_error_nomem;
	}
	return NULL;
}

struct gm_error *gm_output_open(const char *path, struct gm_output *out)
{
	*out = (struct gm_output){ .path = path };
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))
			return open_stream(out);
		return gm_error_create(GM_ERR_IO, "%s: %s", path, refused_kind(st.st_mode));
	}
	gm_output_remove_stale(path);
	return open_temporary(out);
}

/* Give the anonymous file behind FD the name PATH, replacing a regular file:
 * link it under a temporary name (linkat cannot replace), then rename. */
static struct gm_error *link_into_place(int fd, const char *path)
{
	char proc[64], *tmp;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (asprintf(&tmp, "%s.tmp-%ld", path, (long)getpid()) < 0)
		return &gm_error_nomem;
	unlink(tmp);
	struct gm_error *err = NULL;
	if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) != 0)
		err = io_error(path, "cannot create", errno);
	else if (!(err = gm_output_check_replaceable(path, "the output")) && rename(tmp, path) != 0)
		err = io_error(path, "cannot rename into place", errno);
	if (err)
		unlink(tmp);
	free(tmp);
	return err;
}

struct gm_error *gm_output_commit(struct gm_output *out)
{
	struct gm_error *err = NULL;
	if (fflush(out->file) != 0 || ferror(out->file))
		err = io_error(out->path, "write error", errno);
	if (!err && !out->stream) {
		if (out->tmp_path) {
			if (!(err = gm_output_check_replaceable(out->path, "the output")) &&
			    rename(out->tmp_path, out->path) != 0)
				err = io_error(out->path, "cannot rename into place", errno);
		} else {
			err = link_into_place(fileno(out->file), out->path);
		}
	}
	if (fclose(out->file) != 0 && !err)
		err = io_error(out->path, "write error", errno);
	out->file = NULL;
	if (err && out->tmp_path)
		unlink(out->tmp_path);
	free(out->tmp_path);
	out->tmp_path = NULL;
	return err;
}

void gm_output_abort(struct gm_output *out)
{
	if (out->file)
		fclose(out->file);
	out->file = NULL;
	if (out->tmp_path)
		unlink(out->tmp_path);
	free(out->tmp_path);
	out->tmp_path = NULL;
}

/* PID when NAME is BASE.tmp-PID, else 0. */
static long temporary_pid(const char *name, const char *base)
{
	size_t n = strlen(base);
	if (strncmp(name, base, n) != 0 || strncmp(name + n, ".tmp-", 5) != 0)
		return 0;
	const char *digits = name + n + 5;
	char *end;
	errno = 0;
	long pid = strtol(digits, &end, 10);
	return *digits >= '1' && *digits <= '9' && !*end && !errno && pid > 0 && pid <= INT32_MAX ? pid : 0;
}

void gm_output_remove_stale(const char *path)
{
	char *dir = directory_of(path), *copy = strdup(path);
	DIR *d = dir && copy ? opendir(dir) : NULL;
	const char *base = copy ? basename(copy) : NULL;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		long pid = temporary_pid(e->d_name, base);
		struct stat st;
		if (pid && pid != getpid() && kill((pid_t)pid, 0) != 0 && errno == ESRCH &&
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			unlinkat(dirfd(d), e->d_name, 0);
	}
	if (d)
		closedir(d);
	free(dir);
	free(copy);
}

static int reaper_fd = -1;
static pid_t reaper_pid;

/* The child: wait for the parent's end of the pipe to close; a byte first
 * means the parent released the file. */
static void reap(int fd, const char *tmp_path)
{
	static const int ignored[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE };
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_IGN);
	/* Hold no terminal or pipe the caller waits on (e.g. for stderr's end). */
	for (int std = 0; std <= 2; std++)
		close(std);
	char c;
	ssize_t n;
	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		unlink(tmp_path);
	_exit(0);
}

struct gm_error *gm_reaper_guard(const char *tmp_path)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return io_error(tmp_path, "cannot guard the temporary file", errno);
	pid_t pid = fork();
	if (pid < 0) {
		int saved = errno;
		close(p[0]);
		close(p[1]);
		return io_error(tmp_path, "cannot guard the temporary file", saved);
	}
	if (pid == 0) {
		close(p[1]);
		reap(p[0], tmp_path);
	}
	close(p[0]);
	reaper_fd = p[1];
	reaper_pid = pid;
	return NULL;
}

void gm_reaper_release(void)
{
	if (reaper_fd < 0)
		return;
	if (write(reaper_fd, "r", 1) != 1) {
		/* The reaper is gone; it removes nothing then. */
	}
	close(reaper_fd);
	reaper_fd = -1;
	while (waitpid(reaper_pid, NULL, 0) < 0 && errno == EINTR) {
	}
}
