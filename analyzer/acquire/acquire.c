#include "acquire.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "decompress.h"

#define IO_CHUNK (1u << 20)
#define SPARSE_BLOCK 4096u
#define PROGRESS_EVERY_S 2.0
static const char attr_prefix[] = "user.coredump.";

const char *gm_compression_name(enum gm_compression c)
{
	switch (c) {
	case GM_COMPRESSION_ZSTD: return "zstd";
	case GM_COMPRESSION_LZ4: return "lz4";
	case GM_COMPRESSION_XZ: return "xz";
	default: return "none";
	}
}

enum gm_compression gm_compression_detect(const uint8_t *buf, size_t len)
{
	static const struct { enum gm_compression c; uint8_t magic[6]; size_t len; } magics[] = {
		{ GM_COMPRESSION_ZSTD, { 0x28, 0xb5, 0x2f, 0xfd }, 4 },
		{ GM_COMPRESSION_LZ4, { 0x04, 0x22, 0x4d, 0x18 }, 4 },
		{ GM_COMPRESSION_XZ, { 0xfd, '7', 'z', 'X', 'Z', 0x00 }, 6 },
	};
	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if (len >= magics[i].len && memcmp(buf, magics[i].magic, magics[i].len) == 0)
			return magics[i].c;
	return GM_COMPRESSION_NONE;
}

/* Formats recognized only to say what to do with them. */
static const char *unsupported_format(const uint8_t *buf, size_t len)
{
	if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b)
		return "gzip";
	if (len >= 3 && memcmp(buf, "BZh", 3) == 0)
		return "bzip2";
	if (len >= 4 && memcmp(buf, "\x02\x21\x4c\x18", 4) == 0)
		return "legacy lz4 (lz4 -l)";
	return NULL;
}

static double seconds_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The input: a file or stream read sequentially; BUF starts with the bytes
 * already read to recognize its format. */
struct input {
	int fd;
	const char *name;
	uint8_t *buf;
	size_t len, pos;
	bool eof;
	uint64_t total;
};

static struct gm_error *input_fill(struct input *in)
{
	if (in->pos < in->len || in->eof)
		return NULL;
	ssize_t n;
	do
		n = read(in->fd, in->buf, IO_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return gm_error_create(GM_ERR_IO, "%s: read error: %s", in->name, strerror(errno));
	in->len = (size_t)n;
	in->pos = 0;
	in->eof = n == 0;
	in->total += (uint64_t)n;
	return NULL;
}

/* The output: the temporary file, written at increasing offsets, where
 * blocks of zeros are skipped to leave holes (a core is mostly zeros:
 * reservations, fresh heap pages). */
struct sparse_out {
	int fd;
	const char *dir;
	const char *name;       /* the input, for progress lines */
	const char *format;
	uint64_t offset;
	bool progress;
	double start, last_report;
};

static struct gm_error *write_all(struct sparse_out *out, const uint8_t *p, size_t n, uint64_t at)
{
	while (n > 0) {
		ssize_t w = pwrite(out->fd, p, n, (off_t)at);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return gm_error_create(GM_ERR_IO, "%s: cannot write the core's temporary copy: %s "
					       "(choose another directory with --tmpdir)",
					       out->dir, w < 0 ? strerror(errno) : "short write");
		p += w;
		n -= (size_t)w;
		at += (uint64_t)w;
	}
	return NULL;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

static void report_progress(struct sparse_out *out, bool final)
{
	double now = seconds_now();
	if (!out->progress || (!final && now - out->last_report < PROGRESS_EVERY_S))
		return;
	if (final && out->last_report == out->start)
		return;    /* quick work: no lines at all */
	out->last_report = now;
	fprintf(stderr, "gomortem: %s: %s %" PRIu64 " MB of core%s, %.1f s\n", out->name,
		final ? "wrote" : "writing", out->offset >> 20, final ? "" : " so far", now - out->start);
}

static struct gm_error *sparse_write(struct sparse_out *out, const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		/* A run of non-zero blocks, written at once. */
		size_t run = i;
		while (run < n && !all_zero(p + run, n - run < SPARSE_BLOCK ? n - run : SPARSE_BLOCK))
			run += SPARSE_BLOCK;
		if (run > n)
			run = n;
		if (run > i) {
			struct gm_error *err = write_all(out, p + i, run - i, out->offset + i);
			if (err)
				return err;
		}
		i = run;
		while (i < n && all_zero(p + i, n - i < SPARSE_BLOCK ? n - i : SPARSE_BLOCK))
			i += SPARSE_BLOCK;
		if (i > n)
			i = n;
	}
	out->offset += n;
	report_progress(out, false);
	return NULL;
}

/* Decode IN to OUT until the input ends.  A compressed input must end on a
 * complete frame. */
static struct gm_error *transfer(struct input *in, struct sparse_out *out, enum gm_compression format)
{
	struct gm_decoder *d = gm_decoder_create(format);
	uint8_t *buf = malloc(IO_CHUNK);
	struct gm_error *err = d && buf ? NULL : &gm_error_nomem;
	bool at_end = true;
	while (!err) {
		err = input_fill(in);
		if (err)
			break;
		size_t consumed, produced;
		const char *why = NULL;
		if (!gm_decoder_step(d, in->buf + in->pos, in->len - in->pos, &consumed, buf, IO_CHUNK,
				     &produced, in->eof, &at_end, &why)) {
			err = gm_error_create(GM_ERR_BAD_CORE, "%s: corrupt %s data at input byte %" PRIu64 ": %s",
					      in->name, out->format, in->total - (in->len - in->pos), why);
			break;
		}
		in->pos += consumed;
		err = sparse_write(out, buf, produced);
		if (in->eof && consumed == 0 && produced == 0)
			break;
	}
	if (!err && !at_end)
		err = gm_error_create(GM_ERR_BAD_CORE, "%s: truncated %s stream: it ends inside a frame after %" PRIu64
				      " bytes (%" PRIu64 " bytes of core decoded)", in->name, out->format,
				      in->total, out->offset);
	if (!err && in->total == 0)
		err = gm_error_create(GM_ERR_BAD_CORE, "%s: empty input", in->name);
	if (!err && ftruncate(out->fd, (off_t)out->offset) != 0)
		err = gm_error_create(GM_ERR_IO, "%s: cannot size the core's temporary copy: %s", out->dir,
				      strerror(errno));
	if (!err)
		report_progress(out, true);
	free(buf);
	gm_decoder_destroy(d);
	return err;
}

static const char *temp_dir(const struct gm_acquire_options *o, char *buf, size_t len)
{
	if (o && o->tmpdir)
		return o->tmpdir;
	if (o && o->output) {
		snprintf(buf, len, "%s", o->output);
		return dirname(buf);
	}
	const char *env = getenv("TMPDIR");
	return env && *env ? env : "/var/tmp";
}

/* A file in DIR with no name: O_TMPFILE, or a name removed at once (with
 * signals blocked in between, so that no handler runs while it has one). */
static struct gm_error *open_nameless(const char *dir, int *ret)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/.gomortem-core-XXXXXX", dir);
		sigset_t all, old;
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, &old);
		fd = mkostemp(path, O_CLOEXEC);
		int saved = errno;
		if (fd >= 0)
			unlink(path);
		sigprocmask(SIG_SETMASK, &old, NULL);
		errno = saved;
	}
	if (fd < 0)
		return gm_error_create(GM_ERR_IO, "%s: cannot create the core's temporary copy there: %s "
				       "(choose another directory with --tmpdir)", dir, strerror(errno));
	*ret = fd;
	return NULL;
}

static struct gm_error *read_attrs(int fd, struct gm_acquired *acq)
{
	ssize_t n = flistxattr(fd, NULL, 0);
	if (n <= 0)
		return NULL;    /* none, or a file system without them */
	char *names = malloc((size_t)n);
	if (!names)
		return &gm_error_nomem;
	n = flistxattr(fd, names, (size_t)n);
	struct gm_error *err = NULL;
	for (ssize_t i = 0; i < n && !err; i += (ssize_t)strlen(names + i) + 1) {
		const char *name = names + i;
		if (strncmp(name, attr_prefix, sizeof(attr_prefix) - 1) != 0)
			continue;
		ssize_t vlen = fgetxattr(fd, name, NULL, 0);
		if (vlen < 0)
			continue;
		struct gm_coredump_attr *a = realloc(acq->attrs, (acq->nattrs + 1) * sizeof(*a));
		char *value = a ? malloc((size_t)vlen + 1) : NULL;
		char *short_name = value ? strdup(name + sizeof(attr_prefix) - 1) : NULL;
		if (a)
			acq->attrs = a;
		if (!short_name) {
			free(value);
			err = &gm_error_nomem;
			break;
		}
		vlen = fgetxattr(fd, name, value, (size_t)vlen);
		value[vlen > 0 ? vlen : 0] = '\0';
		a[acq->nattrs].name = short_name;
		a[acq->nattrs++].value = value;
	}
	free(names);
	return err;
}

/* Decompress or copy the stream on IN into a temporary file. */
static struct gm_error *stream_to_temp(struct input *in, enum gm_compression format,
				       const struct gm_acquire_options *o, struct gm_acquired *acq)
{
	char dirbuf[4096];
	const char *dir = temp_dir(o, dirbuf, sizeof(dirbuf));
	int fd = -1;
	struct gm_error *err = open_nameless(dir, &fd);
	if (err)
		return err;
	double now = seconds_now();
	struct sparse_out out = { .fd = fd, .dir = dir, .name = acq->name, .format = gm_compression_name(format),
				  .progress = o && o->progress, .start = now, .last_report = now };
	err = transfer(in, &out, format);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (!err && !(acq->elf_path = strdup(path)))
		err = &gm_error_nomem;
	if (err) {
		close(fd);
		return err;
	}
	acq->temp_fd = fd;
	acq->compression = format;
	acq->input_bytes = in->total;
	acq->core_bytes = out.offset;
	return NULL;
}

/* Read up to LEN bytes at the start of the stream, for its magic number. */
static struct gm_error *peek_stream(struct input *in, size_t len)
{
	while (in->len < len && !in->eof) {
		ssize_t n = read(in->fd, in->buf + in->len, len - in->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return gm_error_create(GM_ERR_IO, "%s: read error: %s", in->name, strerror(errno));
		in->eof = n == 0;
		in->len += (size_t)n;
	}
	in->total = in->len;
	return NULL;
}

#define MAGIC_LEN 6

static struct gm_error *acquire_fd(int fd, bool regular, const struct gm_acquire_options *o,
				   struct gm_acquired *acq)
{
	struct input in = { .fd = fd, .name = acq->name, .buf = malloc(IO_CHUNK) };
	if (!in.buf)
		return &gm_error_nomem;
	struct gm_error *err = peek_stream(&in, MAGIC_LEN);
	enum gm_compression format = gm_compression_detect(in.buf, in.len);
	const char *unsupported = unsupported_format(in.buf, in.len);
	if (!err && unsupported)
		err = gm_error_create(GM_ERR_BAD_CORE, "%s: a %s-compressed file: gomortem reads cores "
				      "compressed with zstd, lz4 or xz; decompress it first", acq->name, unsupported);
	if (!err && regular)
		err = read_attrs(fd, acq);
	if (!err && (format != GM_COMPRESSION_NONE || !regular))
		err = stream_to_temp(&in, format, o, acq);
	free(in.buf);
	return err;
}

/* How long a named FIFO may stay without a writer before it is an error. */
#define FIFO_WAIT_MS 3000

/* A named FIFO is read as a stream once someone writes to it; one that
 * nobody opens for writing would block forever (issue 19), so the wait is
 * bounded.  FD was opened O_NONBLOCK: the open itself did not wait. */
static struct gm_error *wait_for_writer(int fd, const char *name)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int rc;
	while ((rc = poll(&p, 1, FIFO_WAIT_MS)) < 0 && errno == EINTR) {
	}
	if (rc == 0)
		return gm_error_create(GM_ERR_IO, "%s: a FIFO that nobody writes to (waited %d s)", name,
				       FIFO_WAIT_MS / 1000);
	return NULL;
}

/* Why a file that is neither regular, nor a directory, nor a FIFO is not read:
 * a device streams without end (/dev/zero) or is no core. */
static struct gm_error *refuse_special(const char *name, mode_t mode)
{
	return gm_error_create(GM_ERR_IO, "%s: not a regular file (%s)", name,
			       S_ISDIR(mode) ? "a directory" : S_ISCHR(mode) ? "a character device" :
			       S_ISBLK(mode) ? "a block device" : "a socket");
}

static struct gm_error *acquire(const char *name, const struct gm_acquire_options *o, struct gm_acquired *acq)
{
	bool is_stdin = strcmp(name, "-") == 0;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer (wait_for_writer). */
	int fd = is_stdin ? STDIN_FILENO : open(name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return gm_error_create(GM_ERR_IO, "%s: cannot open: %s", name, strerror(errno));
	struct stat st;
	struct gm_error *err = NULL;
	if (fstat(fd, &st) != 0)
		err = gm_error_create(GM_ERR_IO, "%s: %s", name, strerror(errno));
	else if (S_ISDIR(st.st_mode) || (!is_stdin && !S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)))
		err = refuse_special(name, st.st_mode);
	else if (!is_stdin && S_ISFIFO(st.st_mode))
		err = wait_for_writer(fd, name);
	if (!err && !is_stdin && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
		err = gm_error_create(GM_ERR_IO, "%s: %s", name, strerror(errno));
	bool regular = !err && S_ISREG(st.st_mode) && (!is_stdin || lseek(fd, 0, SEEK_CUR) == 0);
	if (!err)
		err = acquire_fd(fd, regular, o, acq);
	/* A plain regular file is read where it is (stdin through its fd). */
	if (!err && !acq->elf_path && !(acq->elf_path = strdup(is_stdin ? "/proc/self/fd/0" : name)))
		err = &gm_error_nomem;
	if (!is_stdin)
		close(fd);
	return err;
}

struct gm_error *gm_acquire_core(const char *name, const struct gm_acquire_options *options,
				 struct gm_acquired **ret)
{
	struct gm_acquired *acq = calloc(1, sizeof(*acq));
	if (!acq)
		return &gm_error_nomem;
	acq->temp_fd = -1;
	struct gm_error *err = (acq->name = strdup(name)) ? acquire(name, options, acq) : &gm_error_nomem;
	if (err) {
		gm_acquired_destroy(acq);
		return err;
	}
	*ret = acq;
	return NULL;
}

void gm_acquired_destroy(struct gm_acquired *acq)
{
	if (!acq)
		return;
	if (acq->temp_fd >= 0)
		close(acq->temp_fd);
	for (size_t i = 0; i < acq->nattrs; i++) {
		free(acq->attrs[i].name);
		free(acq->attrs[i].value);
	}
	free(acq->attrs);
	free(acq->elf_path);
	free(acq->name);
	free(acq);
}

const char *gm_acquired_attr(const struct gm_acquired *acq, const char *name)
{
	for (size_t i = 0; acq && i < acq->nattrs; i++)
		if (strcmp(acq->attrs[i].name, name) == 0)
			return acq->attrs[i].value;
	return NULL;
}
