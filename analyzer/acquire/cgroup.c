#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* v1 reports "no limit" as the largest page-aligned signed 64-bit value. */
#define V1_UNLIMITED_FROM (1ull << 62)

static bool file_exists(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, R_OK) == 0;
}

struct gm_error *gm_cgroup_open(const char *path, struct gm_cgroup *ret)
{
	int version = file_exists(path, "memory.current") ? 2 : file_exists(path, "memory.usage_in_bytes") ? 1 : 0;
	if (!version)
		return gm_error_create(GM_ERR_IO, "%s: not a memory cgroup (neither memory.current nor "
				       "memory.usage_in_bytes is there)", path);
	ret->path = strdup(path);
	ret->version = version;
	return ret->path ? NULL : &gm_error_nomem;
}

void gm_cgroup_free(struct gm_cgroup *cg)
{
	free(cg->path);
	cg->path = NULL;
}

/* A cgroup file system mount, from /proc/self/mountinfo: where it is, and
 * which group of its hierarchy it shows at its top (its "root": "/" for a
 * whole hierarchy, else a group, as seen from our cgroup namespace). */
struct cgroup_mount {
	char dir[1024];
	char root[1024];
};

/* The mount of the v1 memory controller (V1) or of the v2 hierarchy. */
static bool find_cgroup_mount(bool v1, struct cgroup_mount *ret)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f)) {
		char root[1024], mount[1024], fstype[64], opts[1024];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %1023s %1023s", root, mount) != 2 ||
		    sscanf(dash + 3, "%63s %*s %1023s", fstype, opts) != 2)
			continue;
		if (v1 ? strcmp(fstype, "cgroup") == 0 && (strstr(opts, ",memory") || strncmp(opts, "memory", 6) == 0)
		       : strcmp(fstype, "cgroup2") == 0) {
			snprintf(ret->dir, sizeof(ret->dir), "%s", mount);
			snprintf(ret->root, sizeof(ret->root), "%s", root);
			found = true;
		}
	}
	if (f)
		fclose(f);
	return found;
}

/* The directory of GROUP (a path of /proc/PID/cgroup, relative to our
 * cgroup namespace like the mount's root) under mount M; false when M does
 * not show it (a group of another namespace, or outside a mount of a subtree). */
static bool group_dir(const char *group, const struct cgroup_mount *m, char *buf, size_t len)
{
	size_t n = strcmp(m->root, "/") == 0 ? 0 : strlen(m->root);
	if (strncmp(group, m->root, n) != 0 || (group[n] != '/' && group[n] != '\0'))
		return false;
	const char *rest = group + n;
	if (strstr(rest, "/..") != NULL)
		return false;
	snprintf(buf, len, "%s%s", m->dir, rest);
	return true;
}

struct gm_error *gm_cgroup_of_pid(pid_t pid, struct gm_cgroup *ret)
{
	char path[64], line[4096], dir[4096] = "", seen[4096] = "";
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return gm_error_create(GM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
	struct cgroup_mount m;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *controllers = strchr(line, ':');
		char *group = controllers ? strchr(controllers + 1, ':') : NULL;
		if (!group)
			continue;
		*group++ = '\0';
		controllers++;
		bool v1 = strstr(controllers, "memory") != NULL;
		bool v2 = !*dir && strcmp(line, "0") == 0 && *controllers == '\0';
		if (!v1 && !v2)
			continue;
		if (!*seen)
			snprintf(seen, sizeof(seen), "%s", group);
		if (find_cgroup_mount(v1, &m) && group_dir(group, &m, dir, sizeof(dir)) && v2 &&
		    !file_exists(dir, "memory.current"))
			*dir = '\0';   /* v2 without the memory controller (bound to v1) */
	}
	fclose(f);
	if (!*dir && *seen)
		return gm_error_create(GM_ERR_IO, "%s: its memory cgroup %s is not under a cgroup mount here (another "
				       "cgroup namespace, as in a container: use --cgroup PATH, or --at BYTES for its "
				       "resident set)", path, seen);
	if (!*dir)
		return gm_error_create(GM_ERR_IO, "%s: the process is in no memory cgroup", path);
	return gm_cgroup_open(dir, ret);
}

/* The number in FILE of the cgroup; "max" reads as GM_NO_LIMIT. */
static struct gm_error *read_number(const struct gm_cgroup *cg, const char *file, uint64_t *ret)
{
	char path[4096], text[64] = "";
	snprintf(path, sizeof(path), "%s/%s", cg->path, file);
	FILE *f = fopen(path, "re");
	if (!f)
		return gm_error_create(GM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
	bool ok = fgets(text, sizeof(text), f) != NULL;
	fclose(f);
	if (ok && strncmp(text, "max", 3) == 0) {
		*ret = GM_NO_LIMIT;
		return NULL;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (!ok || end == text || errno)
		return gm_error_create(GM_ERR_IO, "%s: not a number: '%.20s'", path, text);
	*ret = v;
	return NULL;
}

/* The value of KEY in a "key value" file (memory.events, memory.oom_control); 0 when absent. */
static uint64_t read_keyed(const struct gm_cgroup *cg, const char *file, const char *key)
{
	char path[4096], name[64];
	snprintf(path, sizeof(path), "%s/%s", cg->path, file);
	FILE *f = fopen(path, "re");
	unsigned long long v, found = 0;
	while (f && fscanf(f, "%63s %llu", name, &v) == 2)
		if (strcmp(name, key) == 0)
			found = v;
	if (f)
		fclose(f);
	return found;
}

struct gm_error *gm_cgroup_read(const struct gm_cgroup *cg, struct gm_memory_reading *r)
{
	memset(r, 0, sizeof(*r));
	if (cg->version == 1) {
		struct gm_error *err = read_number(cg, "memory.usage_in_bytes", &r->usage);
		if (!err)
			err = read_number(cg, "memory.limit_in_bytes", &r->limit);
		if (!err && r->limit >= V1_UNLIMITED_FROM)
			r->limit = GM_NO_LIMIT;
		r->limit_file = "memory.limit_in_bytes";
		r->oom_kills = read_keyed(cg, "memory.oom_control", "oom_kill");
		return err;
	}
	uint64_t max = GM_NO_LIMIT, high = GM_NO_LIMIT;
	struct gm_error *err = read_number(cg, "memory.current", &r->usage);
	if (!err)
		err = read_number(cg, "memory.max", &max);
	if (!err && file_exists(cg->path, "memory.high"))
		err = read_number(cg, "memory.high", &high);
	/* memory.high throttles and reclaims before memory.max kills: the lower one is the wall. */
	r->limit = high < max ? high : max;
	r->limit_file = high < max ? "memory.high" : "memory.max";
	r->oom_kills = read_keyed(cg, "memory.events", "oom_kill");
	return err;
}

bool gm_process_rss(pid_t pid, uint64_t *ret)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	bool found = false;
	unsigned long long kb;
	while (f && !found && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1) {
			*ret = kb * 1024;
			found = true;
		}
	if (f)
		fclose(f);
	return found;
}

pid_t gm_cgroup_largest_process(const struct gm_cgroup *cg)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg->path);
	FILE *f = fopen(path, "re");
	pid_t best = 0;
	uint64_t best_rss = 0, rss;
	int pid;
	while (f && fscanf(f, "%d", &pid) == 1)
		if (gm_process_rss(pid, &rss) && (best == 0 || rss > best_rss)) {
			best = pid;
			best_rss = rss;
		}
	if (f)
		fclose(f);
	return best;
}

int gm_cgroup_threshold_eventfd(const struct gm_cgroup *cg, uint64_t bytes)
{
	if (cg->version != 1)
		return -1;
	char path[4096], line[128];
	snprintf(path, sizeof(path), "%s/memory.usage_in_bytes", cg->path);
	int usage = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/cgroup.event_control", cg->path);
	int control = open(path, O_WRONLY | O_CLOEXEC);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	bool ok = usage >= 0 && control >= 0 && efd >= 0;
	if (ok) {
		int n = snprintf(line, sizeof(line), "%d %d %" PRIu64, efd, usage, bytes);
		ok = write(control, line, (size_t)n) == n;
	}
	if (usage >= 0)
		close(usage);
	if (control >= 0)
		close(control);
	if (!ok && efd >= 0) {
		close(efd);
		efd = -1;
	}
	return efd;
}
