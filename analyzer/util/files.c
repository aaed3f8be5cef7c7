#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

struct gm_error *gm_open_regular_file(const char *path, const char *what, int *ret_fd, struct stat *ret_st)
{
	return gm_open_regular_file_as(path, path, what, ret_fd, ret_st);
}

struct gm_error *gm_open_regular_file_as(const char *file, const char *path, const char *what, int *ret_fd,
					 struct stat *ret_st)
{
	const char *sep = what ? " " : "", *name = what ? what : "";
	int fd = open(file, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return gm_error_create(GM_ERR_IO, "%s: cannot open%s%s: %s", path, sep, name, strerror(errno));
	if (fstat(fd, ret_st) < 0) {
		int saved = errno;
		close(fd);
		return gm_error_create(GM_ERR_IO, "%s: %s", path, strerror(saved));
	}
	if (!S_ISREG(ret_st->st_mode)) {
		close(fd);
		return gm_error_create(GM_ERR_IO, "%s: not a regular file%s%s%s", path, what ? " (given as the " : "",
				       name, what ? ")" : "");
	}
	/* Reads of a regular file never block; plain blocking mode from here. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	*ret_fd = fd;
	return NULL;
}

struct gm_error *gm_check_readable_file(const char *path)
{
	int fd;
	struct stat st;
	struct gm_error *err = gm_open_regular_file(path, NULL, &fd, &st);
	if (!err)
		close(fd);
	return err;
}
