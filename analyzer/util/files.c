#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct gm_error *gm_check_readable_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gm_error_create(GM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	int rc = fstat(fd, &st);
	int saved = errno;
	close(fd);
	if (rc < 0)
		return gm_error_create(GM_ERR_IO, "%s: %s", path, strerror(saved));
	if (!S_ISREG(st.st_mode))
		return gm_error_create(GM_ERR_IO, "%s: not a regular file", path);
	return NULL;
}
