#include "proc_maps.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE 4096u

static bool starts_with_elf(int mem_fd, uint64_t addr)
{
	unsigned char magic[4];
	return pread(mem_fd, magic, sizeof(magic), (off_t)addr) == sizeof(magic) &&
	       memcmp(magic, "\177ELF", 4) == 0;
}

static bool kernel_special(const char *path)
{
	return path && (strcmp(path, "[vvar]") == 0 || strcmp(path, "[vsyscall]") == 0 ||
			strcmp(path, "[vvar_vclock]") == 0);
}

static void decide_what_to_save(struct gm_proc_mapping *m, int mem_fd)
{
	uint64_t size = m->end - m->start;
	m->sparse = !m->shared && !m->file_backed;
	if ((!m->read && !m->write && !m->exec) || kernel_special(m->path))
		m->save_bytes = 0;
	else if (m->file_backed && m->shared)
		m->save_bytes = 0;       /* the file has it (coredump_filter bit 3 is off by default) */
	else if (m->file_backed && !m->write && m->anonymous == 0)
		m->save_bytes = m->file_offset == 0 && m->read && starts_with_elf(mem_fd, m->start) ? PAGE : 0;
	else
		m->save_bytes = size;
}

/* One header line of smaps: "start-end perms offset dev inode [path]". */
static bool parse_header(const char *line, struct gm_proc_mapping *m)
{
	char perms[5];
	int path_at = 0;
	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %*s %*s %n", &m->start, &m->end, perms,
		   &m->file_offset, &path_at) < 4)
		return false;
	m->read = perms[0] == 'r';
	m->write = perms[1] == 'w';
	m->exec = perms[2] == 'x';
	m->shared = perms[3] == 's';
	const char *path = line + path_at;
	size_t len = strcspn(path, "\n");
	if (path_at > 0 && len > 0) {
		m->path = strndup(path, len);
		m->file_backed = path[0] == '/';
	}
	return true;
}

static struct gm_error *append(struct gm_proc_maps *maps, size_t *cap)
{
	if (maps->count < *cap)
		return NULL;
	size_t n = *cap ? 2 * *cap : 64;
	struct gm_proc_mapping *grown = realloc(maps->maps, n * sizeof(*grown));
	if (!grown)
		return &gm_error_nomem;
	maps->maps = grown;
	*cap = n;
	return NULL;
}

struct gm_error *gm_proc_maps_read(pid_t pid, int mem_fd, struct gm_proc_maps *ret)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return gm_error_create(GM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
	struct gm_proc_maps maps = { 0 };
	size_t cap = 0;
	struct gm_error *err = NULL;
	char *line = NULL;
	size_t line_cap = 0;
	uint64_t kb;
	while (!err && getline(&line, &line_cap, f) > 0) {
		struct gm_proc_mapping m = { 0 };
		if (parse_header(line, &m)) {
			err = append(&maps, &cap);
			if (err)
				free(m.path);
			else
				maps.maps[maps.count++] = m;
		} else if (maps.count && sscanf(line, "Anonymous: %" SCNu64 " kB", &kb) == 1) {
			maps.maps[maps.count - 1].anonymous = kb * 1024;
		}
	}
	if (!err && ferror(f))
		err = gm_error_create(GM_ERR_IO, "%s: read error: %s", path, strerror(errno));
	free(line);
	fclose(f);
	if (!err && maps.count == 0)
		err = gm_error_create(GM_ERR_IO, "%s: no mappings (the process is gone or a zombie)", path);
	for (size_t i = 0; i < maps.count && !err; i++)
		decide_what_to_save(&maps.maps[i], mem_fd);
	if (err) {
		gm_proc_maps_free(&maps);
		return err;
	}
	*ret = maps;
	return NULL;
}

void gm_proc_maps_free(struct gm_proc_maps *maps)
{
	for (size_t i = 0; i < maps->count; i++)
		free(maps->maps[i].path);
	free(maps->maps);
	maps->maps = NULL;
	maps->count = 0;
}

static bool same_mapping(const struct gm_proc_mapping *a, const struct gm_proc_mapping *b)
{
	return a->start == b->start && a->end == b->end && a->file_offset == b->file_offset && a->read == b->read &&
	       a->write == b->write && a->exec == b->exec && a->shared == b->shared &&
	       (a->path == b->path || (a->path && b->path && strcmp(a->path, b->path) == 0));
}

bool gm_proc_maps_unchanged(pid_t pid, const struct gm_proc_maps *maps)
{
	char path[64], line[4096 + 256];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	size_t i = 0;
	bool same = f != NULL;
	while (same && fgets(line, sizeof(line), f)) {
		struct gm_proc_mapping m = { 0 };
		same = parse_header(line, &m) && i < maps->count && same_mapping(&m, &maps->maps[i]);
		free(m.path);
		i++;
	}
	if (f)
		fclose(f);
	return same && i == maps->count;
}
