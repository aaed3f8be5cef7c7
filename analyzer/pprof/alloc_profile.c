/* alloc_profile: see alloc_profile.h.  The functions and locations come
 * from two SELECT DISTINCTs over alloc_site_frames (a profile has thousands
 * of sites at most), the samples from one pass over alloc_sites. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/pprof/alloc_profile.h"
#include "analyzer/pprof/analysis_db.h"
#include "analyzer/pprof/profile_file.h"
#include "analyzer/pprof/protobuf.h"
#include "analyzer/util/u64_map.h"

/* profile.proto field numbers. */
enum {
	PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_LOCATION = 4, PROFILE_FUNCTION = 5,
	PROFILE_STRING_TABLE = 6, PROFILE_PERIOD_TYPE = 11, PROFILE_PERIOD = 12, PROFILE_COMMENT = 13,
	VALUE_TYPE_TYPE = 1, VALUE_TYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2, SAMPLE_LABEL = 3,
	LABEL_KEY = 1, LABEL_NUM = 3,
	LOCATION_ID = 1, LOCATION_ADDRESS = 3, LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1, LINE_LINE = 2,
	FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3, FUNCTION_FILENAME = 4,
};

/* Stacks deeper than this are cut (the runtime records at most 1024 pcs). */
#define MAX_FRAMES 4096

struct builder {
	sqlite3 *db;
	const char *db_path;
	bool now;
	int64_t rate;
	struct pb_buf out, msg, sub;
	char **strings;              /* the string table, not deduplicated but for the few constants */
	size_t nstrings, strings_cap;
	struct gm_u64_map location_of_pc;
	struct alloc_profile_stats stats;
};

/* Append S to the string table: its index in *RET. */
static struct gm_error *add_string(struct builder *b, const char *s, int64_t *ret)
{
	if (b->nstrings == b->strings_cap) {
		size_t cap = b->strings_cap ? b->strings_cap * 2 : 256;
		char **grown = realloc(b->strings, cap * sizeof(*grown));
		if (!grown)
			return &gm_error_nomem;
		b->strings = grown;
		b->strings_cap = cap;
	}
	if (!(b->strings[b->nstrings] = strdup(s)))
		return &gm_error_nomem;
	*ret = (int64_t)b->nstrings++;
	return NULL;
}

static struct gm_error *put_value_type(struct builder *b, uint32_t field, const char *type, const char *unit)
{
	int64_t t, u;
	struct gm_error *err = add_string(b, type, &t);
	if (!err)
		err = add_string(b, unit, &u);
	if (err)
		return err;
	pb_buf_clear(&b->msg);
	pb_put_int64(&b->msg, VALUE_TYPE_TYPE, t);
	pb_put_int64(&b->msg, VALUE_TYPE_UNIT, u);
	pb_put_message(&b->out, field, &b->msg);
	return NULL;
}

static struct gm_error *prepare(struct builder *b, const char *sql, sqlite3_stmt **ret)
{
	return sqlite3_prepare_v2(b->db, sql, -1, ret, NULL) == SQLITE_OK ? NULL : analysis_db_error(b->db, b->db_path);
}

static const char *column_text(sqlite3_stmt *st, int col, const char *fallback)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	return s ? s : fallback;
}

/* Function (func, file) numbered in name order, and one location per pc. */
static const char FUNCTIONS_SQL[] =
	"WITH fn AS (SELECT name, file, ROW_NUMBER() OVER (ORDER BY name, file) AS id FROM "
	"  (SELECT DISTINCT COALESCE(func, '?') AS name, COALESCE(file, '') AS file FROM alloc_site_frames)) ";

/* Run SQL (after FUNCTIONS_SQL) and call ROW for each row. */
static struct gm_error *each_row(struct builder *b, const char *sql, struct gm_error *(*row)(struct builder *,
											    sqlite3_stmt *))
{
	char text[1024];
	snprintf(text, sizeof(text), "%s%s", FUNCTIONS_SQL, sql);
	sqlite3_stmt *st;
	struct gm_error *err = prepare(b, text, &st);
	if (err)
		return err;
	int rc = SQLITE_DONE;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW)
		err = row(b, st);
	if (!err && rc != SQLITE_DONE)
		err = analysis_db_error(b->db, b->db_path);
	sqlite3_finalize(st);
	return err;
}

static struct gm_error *put_function(struct builder *b, sqlite3_stmt *st)
{
	int64_t name, file;
	struct gm_error *err = add_string(b, column_text(st, 1, "?"), &name);
	if (!err)
		err = add_string(b, column_text(st, 2, ""), &file);
	if (err)
		return err;
	pb_buf_clear(&b->msg);
	pb_put_int64(&b->msg, FUNCTION_ID, sqlite3_column_int64(st, 0));
	pb_put_int64(&b->msg, FUNCTION_NAME, name);
	pb_put_int64(&b->msg, FUNCTION_SYSTEM_NAME, name);
	pb_put_int64(&b->msg, FUNCTION_FILENAME, file);
	pb_put_message(&b->out, PROFILE_FUNCTION, &b->msg);
	return NULL;
}

static struct gm_error *put_location(struct builder *b, sqlite3_stmt *st)
{
	uint64_t pc = (uint64_t)sqlite3_column_int64(st, 0), seen;
	if (gm_u64_map_find(&b->location_of_pc, pc, &seen))
		return NULL;  /* one location per pc, whatever a crafted database says */
	uint64_t id = b->stats.locations + 1;
	if (gm_u64_map_insert(&b->location_of_pc, pc, id))
		return &gm_error_nomem;
	b->stats.locations++;
	pb_buf_clear(&b->sub);
	pb_put_int64(&b->sub, LINE_FUNCTION_ID, sqlite3_column_int64(st, 1));
	pb_put_int64(&b->sub, LINE_LINE, sqlite3_column_int64(st, 2));
	pb_buf_clear(&b->msg);
	pb_put_uint64(&b->msg, LOCATION_ID, id);
	pb_put_uint64(&b->msg, LOCATION_ADDRESS, pc);
	pb_put_message(&b->msg, LOCATION_LINE, &b->sub);
	pb_put_message(&b->out, PROFILE_LOCATION, &b->msg);
	return NULL;
}

static struct gm_error *put_functions(struct builder *b)
{
	return each_row(b, "SELECT id, name, file FROM fn ORDER BY id", put_function);
}

static struct gm_error *put_locations(struct builder *b)
{
	return each_row(b, "SELECT DISTINCT f.pc, fn.id, COALESCE(f.line, 0) FROM alloc_site_frames f "
			"JOIN fn ON fn.name = COALESCE(f.func, '?') AND fn.file = COALESCE(f.file, '') ORDER BY f.pc",
			put_location);
}

/* Go's int64(f) for the values a sane profile gives; a crafted database's
 * past int64 saturate instead of being undefined behavior in C. */
static uint64_t to_int64(double f)
{
	return f >= 9.2e18 ? (uint64_t)INT64_MAX : (uint64_t)(int64_t)f;
}

void alloc_profile_scale(int64_t count, int64_t bytes, int64_t rate, uint64_t *ret_count, uint64_t *ret_bytes)
{
	if (count <= 0 || bytes <= 0) {
		*ret_count = *ret_bytes = 0;
		return;
	}
	if (rate <= 1) {
		*ret_count = (uint64_t)count;
		*ret_bytes = (uint64_t)bytes;
		return;
	}
	double scale = 1 / (1 - exp(-((double)bytes / (double)count) / (double)rate));
	*ret_count = to_int64((double)count * scale);
	*ret_bytes = to_int64((double)bytes * scale);
}

static bool runtime_frame(const char *name)
{
	return name && (strncmp(name, "runtime.", 8) == 0 || strncmp(name, "internal/runtime/", 17) == 0);
}

/* The locations of a stack of N frames (PCS, NAMES), as writeHeapProto
 * picks them: the runtime's frames above the first other one hidden, unless
 * that leaves nothing; runtime.goexit left out. */
static size_t stack_locations(struct builder *b, const uint64_t *pcs, char *const *names, size_t n, uint64_t *out)
{
	for (int hide = 1; hide >= 0; hide--) {
		size_t first = 0, count = 0;
		while (hide && first < n && runtime_frame(names[first]))
			first++;
		if (first == n)
			first = 0;
		for (size_t i = first; i < n; i++) {
			uint64_t id;
			if (names[i] && strcmp(names[i], "runtime.goexit") == 0)
				continue;
			if (gm_u64_map_find(&b->location_of_pc, pcs[i], &id))
				out[count++] = id;
		}
		if (count)
			return count;
	}
	return 0;
}

static void put_sample(struct builder *b, const uint64_t *locations, size_t n, sqlite3_stmt *site)
{
	int c = b->now ? 6 : 2;  /* allocs, frees, alloc_bytes, free_bytes */
	int64_t size = sqlite3_column_int64(site, 1);
	int64_t allocs = sqlite3_column_int64(site, c), frees = sqlite3_column_int64(site, c + 1);
	int64_t alloc_bytes = sqlite3_column_int64(site, c + 2), free_bytes = sqlite3_column_int64(site, c + 3);
	int64_t inuse = 0, inuse_bytes = 0;  /* 0 when a crafted database overflows them */
	if (__builtin_sub_overflow(allocs, frees, &inuse) || __builtin_sub_overflow(alloc_bytes, free_bytes, &inuse_bytes))
		inuse = inuse_bytes = 0;
	uint64_t values[4];
	alloc_profile_scale(allocs, alloc_bytes, b->rate, &values[0], &values[1]);
	alloc_profile_scale(inuse, inuse_bytes, b->rate, &values[2], &values[3]);
	pb_buf_clear(&b->msg);
	pb_put_packed(&b->msg, SAMPLE_LOCATION_ID, locations, n);
	pb_put_packed(&b->msg, SAMPLE_VALUE, values, 4);
	if (allocs > 0 && size > 0) {
		pb_buf_clear(&b->sub);
		pb_put_int64(&b->sub, LABEL_KEY, 1);  /* "bytes": string 1, added first */
		pb_put_int64(&b->sub, LABEL_NUM, size);
		pb_put_message(&b->msg, SAMPLE_LABEL, &b->sub);
	}
	pb_put_message(&b->out, PROFILE_SAMPLE, &b->msg);
	b->stats.samples++;
	b->stats.inuse_objects = (int64_t)((uint64_t)b->stats.inuse_objects + values[2]);  /* wraps, never UB */
	b->stats.inuse_bytes = (int64_t)((uint64_t)b->stats.inuse_bytes + values[3]);
}

/* The frames of site ID into PCS and NAMES (names strdup'd; *RET_N of them). */
static struct gm_error *site_frames(struct builder *b, sqlite3_stmt *st, int64_t id, uint64_t *pcs, char **names,
				    size_t *ret_n)
{
	size_t n = 0;
	int rc;
	struct gm_error *err = NULL;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < MAX_FRAMES) {
		const char *name = (const char *)sqlite3_column_text(st, 1);
		pcs[n] = (uint64_t)sqlite3_column_int64(st, 0);
		names[n] = name ? strdup(name) : NULL;
		if (name && !names[n]) {
			err = &gm_error_nomem;
			break;
		}
		n++;
	}
	if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = analysis_db_error(b->db, b->db_path);
	*ret_n = n;
	return err;
}

static struct gm_error *put_samples(struct builder *b)
{
	sqlite3_stmt *sites = NULL, *frames = NULL;
	uint64_t *pcs = malloc(MAX_FRAMES * sizeof(*pcs)), *locations = malloc(MAX_FRAMES * sizeof(*locations));
	char **names = calloc(MAX_FRAMES, sizeof(*names));
	struct gm_error *err = pcs && locations && names ? NULL : &gm_error_nomem;
	if (!err)
		err = prepare(b, "SELECT id, size, published_allocs, published_frees, published_alloc_bytes, "
			      "published_free_bytes, now_allocs, now_frees, now_alloc_bytes, now_free_bytes "
			      "FROM alloc_sites ORDER BY id", &sites);
	if (!err)
		err = prepare(b, "SELECT pc, func FROM alloc_site_frames WHERE site_id = ? ORDER BY idx", &frames);
	int rc = SQLITE_DONE;
	while (!err && (rc = sqlite3_step(sites)) == SQLITE_ROW) {
		size_t n = 0;
		err = site_frames(b, frames, sqlite3_column_int64(sites, 0), pcs, names, &n);
		if (!err)
			put_sample(b, locations, stack_locations(b, pcs, names, n, locations), sites);
		for (size_t i = 0; i < n; i++) {
			free(names[i]);
			names[i] = NULL;
		}
	}
	if (!err && rc != SQLITE_DONE)
		err = analysis_db_error(b->db, b->db_path);
	sqlite3_finalize(frames);
	sqlite3_finalize(sites);
	free(names);
	free(locations);
	free(pcs);
	return err;
}

/* meta.mem_profile_rate; GM_ERR_USAGE when the analysis found no profile. */
static struct gm_error *read_rate(struct builder *b)
{
	char *state = NULL, *rate = NULL;
	struct gm_error *err = analysis_db_meta(b->db, b->db_path, "mem_profile", &state);
	if (!err && (!state || strcmp(state, "read") != 0))
		err = gm_error_create(GM_ERR_USAGE, "%s: holds no memory profile (the runtime's was not found)",
				      b->db_path);
	if (!err)
		err = analysis_db_meta(b->db, b->db_path, "mem_profile_rate", &rate);
	if (!err)
		b->rate = b->stats.rate = rate ? strtoll(rate, NULL, 10) : 0;
	free(state);
	free(rate);
	return err;
}

static struct gm_error *encode(struct builder *b)
{
	int64_t empty, bytes, comment;
	struct gm_error *err = add_string(b, "", &empty);
	if (!err)
		err = add_string(b, "bytes", &bytes);  /* index 1: the samples' label key */
	if (!err)
		err = put_value_type(b, PROFILE_PERIOD_TYPE, "space", "bytes");
	if (!err) {
		pb_put_int64(&b->out, PROFILE_PERIOD, b->rate);
		err = put_value_type(b, PROFILE_SAMPLE_TYPE, "alloc_objects", "count");
	}
	if (!err)
		err = put_value_type(b, PROFILE_SAMPLE_TYPE, "alloc_space", "bytes");
	if (!err)
		err = put_value_type(b, PROFILE_SAMPLE_TYPE, "inuse_objects", "count");
	if (!err)
		err = put_value_type(b, PROFILE_SAMPLE_TYPE, "inuse_space", "bytes");
	if (!err)
		err = put_functions(b);
	if (!err)
		err = put_locations(b);
	if (!err)
		err = put_samples(b);
	if (!err)
		err = add_string(b, b->now ? "gomortem: the runtime's heap profile at the crash, unpublished cycles included"
					   : "gomortem: the runtime's heap profile at the crash, as published", &comment);
	if (!err) {
		pb_put_int64(&b->out, PROFILE_COMMENT, comment);
		for (size_t i = 0; i < b->nstrings; i++)
			pb_put_bytes(&b->out, PROFILE_STRING_TABLE, b->strings[i], strlen(b->strings[i]));
	}
	if (!err && (b->out.failed || b->msg.failed || b->sub.failed))
		err = &gm_error_nomem;
	return err;
}

struct gm_error *alloc_profile_write(sqlite3 *db, const char *db_path, const char *out_path, bool now,
				     struct alloc_profile_stats *ret)
{
	struct builder b = { .db = db, .db_path = db_path, .now = now };
	struct gm_error *err = read_rate(&b);
	if (!err)
		err = encode(&b);
	if (!err)
		err = pb_write_gzip_file(out_path, &b.out);
	if (!err && ret)
		*ret = b.stats;
	for (size_t i = 0; i < b.nstrings; i++)
		free(b.strings[i]);
	free(b.strings);
	gm_u64_map_free(&b.location_of_pc);
	pb_buf_deinit(&b.out);
	pb_buf_deinit(&b.msg);
	pb_buf_deinit(&b.sub);
	return err;
}
