#include "heapfuncs.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../dwarf/dwarf_index.h"
#include "../program/program.h"
#include "object_index.h"

#define MAX_STRING (1 << 20)     /* bytes a string value is cut at */
#define JSON_MAX_DEPTH 4
#define JSON_MAX_ELEMS 16
#define JSON_MAX_STRING 256

/* Go kinds (abi.Kind, DW_AT_go_kind). */
enum { K_BOOL = 1, K_INT = 2, K_INT64 = 6, K_UINT = 7, K_UINTPTR = 12, K_FLOAT32 = 13, K_FLOAT64 = 14,
       K_ARRAY = 17, K_CHAN = 18, K_FUNC = 19, K_INTERFACE = 20, K_MAP = 21, K_PTR = 22, K_SLICE = 23,
       K_STRING = 24, K_STRUCT = 25, K_UNSAFE_POINTER = 26 };

/* Per connection: the program, opened when a function first needs it. */
struct heap_ctx {
	sqlite3 *db;
	char *core_path, *exe_path;
	struct gm_program *prog;
	char *open_error;
	struct gm_object_index *objects; /* address and id lookups */
};

/* A heap object as the database describes it. */
struct object {
	int64_t id;
	uint64_t addr, size, data;   /* data: where the value starts (after a malloc header) */
	char type[512];
};

static char *meta_text(sqlite3 *db, const char *key)
{
	sqlite3_stmt *st;
	char *value = NULL;
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		value = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return value;
}

static struct gm_program *ctx_program(sqlite3_context *c, struct heap_ctx *h)
{
	if (h->prog)
		return h->prog;
	if (!h->open_error) {
		char *core = h->core_path ? strdup(h->core_path) : meta_text(h->db, "core_path");
		char *exe = h->exe_path ? strdup(h->exe_path) : meta_text(h->db, "exe_path");
		/* The database exists: whatever analyze accepted is accepted here. */
		struct gm_program_options o = { .core_path = core, .exe_path = exe, .need_dwarf = true,
						.core_flags = GM_CORE_ALLOW_TRUNCATED, .force_version = true };
		struct gm_error *err = !core ? gm_error_create(GM_ERR_IO, "the database names no core (meta.core_path)")
				       : strcmp(core, "-") == 0
				       ? gm_error_create(GM_ERR_IO, "the core was analyzed from standard input; "
							 "its contents are not at hand (meta.core_path is '-')")
				       : gm_program_open(&o, &h->prog);
		if (err) {
			h->open_error = sqlite3_mprintf("cannot read heap contents: %s", err->message);
			gm_error_destroy(err);
		}
		free(core);
		free(exe);
	}
	if (!h->prog && c)
		sqlite3_result_error(c, h->open_error, -1);
	return h->prog;
}

/* The object with id ID, through the connection's object index. */
static bool find_object(struct heap_ctx *h, int64_t id, struct object *ret)
{
	struct gm_object_ref o;
	if (!gm_object_index_by_id(h->objects, id, &o))
		return false;
	*ret = (struct object){ .id = o.id, .addr = o.addr, .size = o.size, .data = o.data };
	snprintf(ret->type, sizeof(ret->type), "%s", o.type ? o.type : "");
	return true;
}

/* The object id holding ADDR, or 0. */
static int64_t object_at(struct heap_ctx *h, uint64_t addr)
{
	struct gm_object_ref o;
	return gm_object_index_at(h->objects, addr, &o) ? o.id : 0;
}

/* The DWARF type named NAME; "[N]T" is looked up as T with *RET_COUNT = N. */
static bool type_by_name(struct gm_program *prog, const char *name, Dwarf_Die *ret, uint64_t *ret_count)
{
	*ret_count = 1;
	char *end;
	if (name[0] == '[' && name[1] != ']') {
		unsigned long long n = strtoull(name + 1, &end, 10);
		if (*end == ']' && gm_dwarf_type(prog->dwarf, end + 1, ret)) {
			*ret_count = n;
			return true;
		}
	}
	return gm_dwarf_type(prog->dwarf, name, ret);
}

static bool read_bytes(struct gm_program *prog, uint64_t addr, void *buf, size_t len)
{
	return gm_try_read(prog->mem, addr, buf, len);
}

/* "len" of a map or channel header, the way len() reads it: the runtime
 * headers DWARF describes (map<K,V>.used for Swiss maps, hash<K,V>.count
 * before 1.24, hchan<T>.qcount) keep it under other names. */
static bool len_alias(Dwarf_Die *st, const char *name, uint64_t *off, Dwarf_Die *type)
{
	static const char *const counts[] = { "used", "count", "qcount" };
	const char *type_name = dwarf_diename(st);
	if (strcmp(name, "len") != 0 || !type_name ||
	    (strncmp(type_name, "map<", 4) && strncmp(type_name, "hash<", 5) && strncmp(type_name, "hchan<", 6)))
		return false;
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		if (gm_dwarf_member(st, counts[i], off, type))
			return true;
	return false;
}

/* Follow PATH ("A.B[2].C") from a value of TYPE at ADDR. */
static bool resolve_path(struct gm_program *prog, const char *path, Dwarf_Die *type, uint64_t *addr)
{
	const char *p = path;
	while (*p) {
		if (*p == '.') {
			p++;
			continue;
		}
		Dwarf_Die real, next;
		if (!gm_dwarf_strip_typedefs(type, &real))
			return false;
		int kind = gm_dwarf_go_kind(&real);
		if (*p == '[') {
			char *end;
			unsigned long long i = strtoull(p + 1, &end, 10);
			uint64_t elem_size, base = *addr, len = UINT64_MAX;
			if (*end != ']')
				return false;
			p = end + 1;
			if (kind == K_SLICE) { /* through the backing array, bounds-checked by len */
				uint64_t header[2], off;
				Dwarf_Die array_type;
				if (!read_bytes(prog, *addr, header, sizeof(header)) ||
				    !gm_dwarf_member(&real, "array", &off, &array_type) || !gm_dwarf_pointee(&array_type, &next))
					return false;
				base = header[0];
				len = header[1];
			} else if (!gm_dwarf_array_elem(&real, &next)) {
				return false;
			}
			if (i >= len || !gm_dwarf_type_size(&next, &elem_size))
				return false;
			*addr = base + i * elem_size;
			*type = next;
			continue;
		}
		size_t n = strcspn(p, ".[");
		char name[256];
		if (n >= sizeof(name))
			return false;
		memcpy(name, p, n);
		name[n] = '\0';
		p += n;
		if (kind == K_PTR) { /* a member of a pointed-to struct: dereference */
			uint64_t target;
			if (!gm_dwarf_pointee(&real, &next) || !read_bytes(prog, *addr, &target, 8) || !target)
				return false;
			*addr = target;
			real = next;
		}
		uint64_t off;
		if (!gm_dwarf_member(&real, name, &off, &next) && !len_alias(&real, name, &off, &next))
			return false;
		*addr += off;
		*type = next;
	}
	return true;
}

/* Set C's result to the value of TYPE at ADDR. */
static void result_value(sqlite3_context *c, struct heap_ctx *h, Dwarf_Die *type, uint64_t addr);

static void result_integer(sqlite3_context *c, struct gm_program *prog, int kind, uint64_t size, uint64_t addr)
{
	uint64_t raw = 0;
	if (size > 8 || !read_bytes(prog, addr, &raw, size)) {
		sqlite3_result_null(c);
		return;
	}
	if (kind >= K_INT && kind <= K_INT64 && size < 8 && (raw >> (size * 8 - 1)) & 1)
		raw |= ~0ull << (size * 8); /* sign-extend */
	if (kind == K_BOOL)
		raw = raw != 0;
	sqlite3_result_int64(c, (int64_t)raw);
}

static void result_string(sqlite3_context *c, struct gm_program *prog, uint64_t addr)
{
	uint64_t header[2];
	if (!read_bytes(prog, addr, header, sizeof(header)) || header[1] > MAX_STRING) {
		sqlite3_result_null(c);
		return;
	}
	char *text = malloc(header[1] + 1);
	if (!text || (header[1] && !read_bytes(prog, header[0], text, header[1]))) {
		free(text);
		sqlite3_result_null(c);
		return;
	}
	sqlite3_result_text(c, text, (int)header[1], free);
}

static void json_value(sqlite3_str *out, struct heap_ctx *h, Dwarf_Die *type, uint64_t addr, int depth);

static void result_value(sqlite3_context *c, struct heap_ctx *h, Dwarf_Die *type, uint64_t addr)
{
	Dwarf_Die real;
	uint64_t size = 0, word;
	if (!gm_dwarf_strip_typedefs(type, &real) || !gm_dwarf_type_size(&real, &size)) {
		sqlite3_result_null(c);
		return;
	}
	int kind = gm_dwarf_go_kind(type) >= 0 ? gm_dwarf_go_kind(type) : gm_dwarf_go_kind(&real);
	if (kind == K_BOOL || (kind >= K_INT && kind <= K_UINTPTR)) {
		result_integer(c, h->prog, kind, size, addr);
	} else if (kind == K_FLOAT32 || kind == K_FLOAT64) {
		float f;
		double d;
		bool ok = kind == K_FLOAT32 ? read_bytes(h->prog, addr, &f, 4) : read_bytes(h->prog, addr, &d, 8);
		if (ok)
			sqlite3_result_double(c, kind == K_FLOAT32 ? (double)f : d);
		else
			sqlite3_result_null(c);
	} else if (kind == K_STRING) {
		result_string(c, h->prog, addr);
	} else if (kind == K_INTERFACE || kind == K_PTR || kind == K_UNSAFE_POINTER || kind == K_MAP ||
		   kind == K_CHAN || kind == K_FUNC || kind == K_SLICE) {
		/* The pointer word: an interface's data word is its second. */
		uint64_t at = kind == K_INTERFACE ? addr + 8 : addr;
		int64_t id = read_bytes(h->prog, at, &word, 8) ? object_at(h, word) : 0;
		if (id)
			sqlite3_result_int64(c, id);
		else
			sqlite3_result_null(c);
	} else {
		sqlite3_str *out = sqlite3_str_new(h->db);
		json_value(out, h, type, addr, 0);
		int len = sqlite3_str_length(out);
		sqlite3_result_text(c, sqlite3_str_finish(out), len, sqlite3_free);
	}
}

/* ---- JSON rendering for go_value ---- */

static void json_string(sqlite3_str *out, const char *s, size_t len)
{
	sqlite3_str_appendchar(out, 1, '"');
	for (size_t i = 0; i < len && i < JSON_MAX_STRING; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\')
			sqlite3_str_appendf(out, "\\%c", ch);
		else if (ch < 0x20)
			sqlite3_str_appendf(out, "\\u%04x", ch);
		else
			sqlite3_str_appendchar(out, 1, (char)ch);
	}
	if (len > JSON_MAX_STRING)
		sqlite3_str_appendall(out, "...");
	sqlite3_str_appendchar(out, 1, '"');
}

static void json_members(sqlite3_str *out, struct heap_ctx *h, Dwarf_Die *st, uint64_t addr, int depth)
{
	Dwarf_Die child, mtype;
	Dwarf_Attribute attr;
	bool first = true;
	sqlite3_str_appendchar(out, 1, '{');
	if (dwarf_child(st, &child) == 0) {
		do {
			Dwarf_Word off = 0;
			const char *name = dwarf_diename(&child);
			if (dwarf_tag(&child) != DW_TAG_member || !name || !strcmp(name, "_") ||
			    !dwarf_attr(&child, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &mtype))
				continue;
			if (dwarf_attr(&child, DW_AT_data_member_location, &attr))
				dwarf_formudata(&attr, &off);
			sqlite3_str_appendf(out, "%s\"%s\":", first ? "" : ",", name);
			json_value(out, h, &mtype, addr + off, depth + 1);
			first = false;
		} while (dwarf_siblingof(&child, &child) == 0);
	}
	sqlite3_str_appendchar(out, 1, '}');
}

static void json_elements(sqlite3_str *out, struct heap_ctx *h, Dwarf_Die *elem, uint64_t base, uint64_t n,
			  int depth)
{
	uint64_t size;
	sqlite3_str_appendchar(out, 1, '[');
	if (gm_dwarf_type_size(elem, &size))
		for (uint64_t i = 0; i < n && i < JSON_MAX_ELEMS; i++) {
			if (i)
				sqlite3_str_appendchar(out, 1, ',');
			json_value(out, h, elem, base + i * size, depth + 1);
		}
	if (n > JSON_MAX_ELEMS)
		sqlite3_str_appendf(out, ",\"... %" PRIu64 " more\"", n - JSON_MAX_ELEMS);
	sqlite3_str_appendchar(out, 1, ']');
}

static void json_value(sqlite3_str *out, struct heap_ctx *h, Dwarf_Die *type, uint64_t addr, int depth)
{
	Dwarf_Die real, elem;
	uint64_t size = 0, word[3], n;
	if (depth > JSON_MAX_DEPTH || !gm_dwarf_strip_typedefs(type, &real) || !gm_dwarf_type_size(&real, &size)) {
		sqlite3_str_appendall(out, "null");
		return;
	}
	int kind = gm_dwarf_go_kind(type) >= 0 ? gm_dwarf_go_kind(type) : gm_dwarf_go_kind(&real);
	if (kind == K_BOOL || (kind >= K_INT && kind <= K_UINTPTR) || kind == K_FLOAT32 || kind == K_FLOAT64) {
		uint64_t raw = 0;
		double d;
		float f;
		if (size > 8 || !read_bytes(h->prog, addr, &raw, size))
			sqlite3_str_appendall(out, "null");
		else if (kind == K_FLOAT64)
			memcpy(&d, &raw, sizeof(d)), sqlite3_str_appendf(out, "%!.17g", d);
		else if (kind == K_FLOAT32)
			memcpy(&f, &raw, sizeof(f)), sqlite3_str_appendf(out, "%!.9g", (double)f);
		else if (kind == K_BOOL)
			sqlite3_str_appendall(out, raw ? "true" : "false");
		else if (kind >= K_INT && kind <= K_INT64)
			sqlite3_str_appendf(out, "%lld", (long long)(size < 8 && (raw >> (size * 8 - 1)) & 1
								   ? raw | ~0ull << (size * 8) : raw));
		else
			sqlite3_str_appendf(out, "%llu", (unsigned long long)raw);
	} else if (kind == K_STRING && read_bytes(h->prog, addr, word, 16) && word[1] <= MAX_STRING) {
		char *text = malloc(word[1] < JSON_MAX_STRING ? word[1] + 1 : JSON_MAX_STRING + 1);
		size_t len = word[1] < JSON_MAX_STRING ? word[1] : JSON_MAX_STRING;
		if (text && (!len || read_bytes(h->prog, word[0], text, len)))
			json_string(out, text, word[1]);
		else
			sqlite3_str_appendall(out, "null");
		free(text);
	} else if (kind == K_STRUCT && dwarf_tag(&real) == DW_TAG_structure_type) {
		json_members(out, h, &real, addr, depth);
	} else if (kind == K_ARRAY && gm_dwarf_array_elem(&real, &elem) && gm_dwarf_array_length(&real, &n)) {
		json_elements(out, h, &elem, addr, n, depth);
	} else if (kind == K_SLICE && read_bytes(h->prog, addr, word, 24) &&
		   gm_dwarf_member(&real, "array", &n, &elem) && gm_dwarf_pointee(&elem, &elem)) {
		json_elements(out, h, &elem, word[0], word[1], depth);
	} else if (read_bytes(h->prog, kind == K_INTERFACE ? addr + 8 : addr, word, 8)) {
		int64_t id = object_at(h, word[0]);
		sqlite3_str_appendf(out, "{\"ptr\":\"0x%" PRIx64 "\",\"object\":", word[0]);
		sqlite3_str_appendf(out, id ? "%lld}" : "null}", (long long)id);
	} else {
		sqlite3_str_appendall(out, "null");
	}
}

/* ---- SQL functions ---- */

static void fn_go_string(sqlite3_context *c, int argc, sqlite3_value **argv)
{
	struct heap_ctx *h = sqlite3_user_data(c);
	(void)argc;
	sqlite3_int64 addr = sqlite3_value_int64(argv[0]), len = sqlite3_value_int64(argv[1]);
	if (!ctx_program(c, h))
		return;
	if (len < 0 || len > MAX_STRING) {
		sqlite3_result_error(c, "go_string: length out of range", -1);
		return;
	}
	char *text = malloc((size_t)len + 1);
	if (!text || (len && !read_bytes(h->prog, (uint64_t)addr, text, (size_t)len))) {
		free(text);
		sqlite3_result_null(c);
		return;
	}
	sqlite3_result_text(c, text, (int)len, free);
}

/* Whether COUNT values of TYPE fit in object O after its header: a crafted
 * database's type "[2305843009213693952]main.Leaf" must neither wrap
 * size * count to 0 nor give a walk that never ends. */
static bool fits_object(const struct object *o, Dwarf_Die *type, uint64_t count)
{
	uint64_t size;
	if (count <= 1)
		return true;
	if (o->data < o->addr || o->data - o->addr > o->size || !gm_dwarf_type_size(type, &size))
		return false;
	uint64_t room = o->size - (o->data - o->addr);
	return count <= (size ? room / size : room);
}

/* The object with id ID and its type's DIE (as [count]T when an array). */
static bool object_and_type(sqlite3_context *c, struct heap_ctx *h, sqlite3_value *id, struct object *o,
			    Dwarf_Die *type, uint64_t *count)
{
	if (!ctx_program(c, h))
		return false;
	if (!find_object(h, sqlite3_value_int64(id), o) || !o->type[0] ||
	    !type_by_name(h->prog, o->type, type, count) || !fits_object(o, type, *count)) {
		sqlite3_result_null(c);
		return false;
	}
	return true;
}

static void fn_field(sqlite3_context *c, int argc, sqlite3_value **argv)
{
	struct heap_ctx *h = sqlite3_user_data(c);
	struct object o;
	Dwarf_Die type;
	uint64_t count;
	(void)argc;
	const char *path = (const char *)sqlite3_value_text(argv[1]);
	if (!path || !object_and_type(c, h, argv[0], &o, &type, &count))
		return;
	uint64_t addr = o.data;
	/* An array object ([n]T): the path starts with the index. */
	if (count > 1 && path[0] == '[') {
		char *end;
		unsigned long long i = strtoull(path + 1, &end, 10);
		uint64_t size;
		if (*end != ']' || i >= count || !gm_dwarf_type_size(&type, &size)) {
			sqlite3_result_null(c);
			return;
		}
		addr += i * size;
		path = end + 1;
	}
	if (!resolve_path(h->prog, path, &type, &addr))
		sqlite3_result_null(c);
	else
		result_value(c, h, &type, addr);
}

static void fn_go_value(sqlite3_context *c, int argc, sqlite3_value **argv)
{
	struct heap_ctx *h = sqlite3_user_data(c);
	struct object o;
	Dwarf_Die type;
	uint64_t count;
	(void)argc;
	if (!object_and_type(c, h, argv[0], &o, &type, &count))
		return;
	sqlite3_str *out = sqlite3_str_new(h->db);
	if (count > 1)
		json_elements(out, h, &type, o.data, count, 0);
	else
		json_value(out, h, &type, o.data, 0);
	int len = sqlite3_str_length(out);
	sqlite3_result_text(c, sqlite3_str_finish(out), len, sqlite3_free);
}

/* go_hash(object_id): FNV-1a of the object's value bytes (the typed length:
 * N for a [N]uint8 string body, else the type's size), for finding copies. */
static void fn_go_hash(sqlite3_context *c, int argc, sqlite3_value **argv)
{
	struct heap_ctx *h = sqlite3_user_data(c);
	struct object o;
	Dwarf_Die type;
	uint64_t count, size;
	(void)argc;
	if (!object_and_type(c, h, argv[0], &o, &type, &count))
		return;
	if (!gm_dwarf_type_size(&type, &size) || size * count > o.size || size * count > MAX_STRING) {
		sqlite3_result_null(c);
		return;
	}
	size *= count;
	uint8_t *bytes = malloc(size ? size : 1);
	if (!bytes || !read_bytes(h->prog, o.data, bytes, size)) {
		free(bytes);
		sqlite3_result_null(c);
		return;
	}
	uint64_t hash = 1469598103934665603ull;
	for (uint64_t i = 0; i < size; i++)
		hash = (hash ^ bytes[i]) * 1099511628211ull;
	free(bytes);
	sqlite3_result_int64(c, (int64_t)hash);
}

/* ---- go_type: one row per object of a type, a column per member ---- */

struct go_type_vtab {
	sqlite3_vtab base;
	struct heap_ctx *h;
	char *type_name;
	uint64_t member_off[256];
	Dwarf_Off member_type[256];
	int nmembers;
};

struct go_type_cursor {
	sqlite3_vtab_cursor base;
	sqlite3_stmt *rows;
	bool eof;
};

/* "main.Leaf" from the module argument, quotes removed. */
static char *unquote(const char *arg)
{
	size_t n = strlen(arg);
	if (n >= 2 && (arg[0] == '\'' || arg[0] == '"') && arg[n - 1] == arg[0])
		return sqlite3_mprintf("%.*s", (int)(n - 2), arg + 1);
	return sqlite3_mprintf("%s", arg);
}

static int go_type_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **ret,
			   char **err)
{
	struct heap_ctx *h = aux;
	if (argc < 4) {
		*err = sqlite3_mprintf("go_type: usage CREATE VIRTUAL TABLE t USING go_type(main.T)");
		return SQLITE_ERROR;
	}
	struct go_type_vtab *vt = sqlite3_malloc(sizeof(*vt));
	if (!vt)
		return SQLITE_NOMEM;
	memset(vt, 0, sizeof(*vt));
	vt->h = h;
	vt->type_name = unquote(argv[3]);
	sqlite3_str *schema = sqlite3_str_new(db);
	sqlite3_str_appendall(schema, "CREATE TABLE x(object_id INTEGER, object_addr INTEGER");
	Dwarf_Die type, real, child, mtype;
	uint64_t count;
	Dwarf_Attribute attr;
	if (h->prog || ctx_program(NULL, h)) {
		if (type_by_name(h->prog, vt->type_name, &type, &count) && gm_dwarf_strip_typedefs(&type, &real) &&
		    dwarf_tag(&real) == DW_TAG_structure_type && dwarf_child(&real, &child) == 0) {
			do {
				Dwarf_Word off = 0;
				const char *name = dwarf_diename(&child);
				if (dwarf_tag(&child) != DW_TAG_member || !name || !strcmp(name, "_") ||
				    !strcasecmp(name, "object_id") || !strcasecmp(name, "object_addr") ||
				    vt->nmembers >= 256 || !dwarf_attr(&child, DW_AT_type, &attr) ||
				    !dwarf_formref_die(&attr, &mtype))
					continue;
				if (dwarf_attr(&child, DW_AT_data_member_location, &attr))
					dwarf_formudata(&attr, &off);
				vt->member_off[vt->nmembers] = off;
				vt->member_type[vt->nmembers++] = dwarf_dieoffset(&mtype);
				sqlite3_str_appendf(schema, ", \"%w\"", name);
			} while (dwarf_siblingof(&child, &child) == 0);
		}
	}
	sqlite3_str_appendall(schema, ")");
	char *sql = sqlite3_str_finish(schema);
	int rc = sql ? sqlite3_declare_vtab(db, sql) : SQLITE_NOMEM;
	sqlite3_free(sql);
	if (rc == SQLITE_OK) /* not from a view or trigger: see gm_heapfuncs_register */
		rc = sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
	if (rc != SQLITE_OK) {
		sqlite3_free(vt->type_name);
		sqlite3_free(vt);
		return rc;
	}
	*ret = &vt->base;
	return SQLITE_OK;
}

static int go_type_disconnect(sqlite3_vtab *vtab)
{
	struct go_type_vtab *vt = (struct go_type_vtab *)vtab;
	sqlite3_free(vt->type_name);
	sqlite3_free(vt);
	return SQLITE_OK;
}

static int go_type_best_index(sqlite3_vtab *vtab, sqlite3_index_info *info)
{
	(void)vtab;
	info->estimatedCost = 1e6;
	return SQLITE_OK;
}

static int go_type_open(sqlite3_vtab *vtab, sqlite3_vtab_cursor **ret)
{
	struct go_type_cursor *cur = sqlite3_malloc(sizeof(*cur));
	(void)vtab;
	if (!cur)
		return SQLITE_NOMEM;
	memset(cur, 0, sizeof(*cur));
	*ret = &cur->base;
	return SQLITE_OK;
}

static int go_type_close(sqlite3_vtab_cursor *base)
{
	struct go_type_cursor *cur = (struct go_type_cursor *)base;
	sqlite3_finalize(cur->rows);
	sqlite3_free(cur);
	return SQLITE_OK;
}

static int go_type_next(sqlite3_vtab_cursor *base)
{
	struct go_type_cursor *cur = (struct go_type_cursor *)base;
	int rc = sqlite3_step(cur->rows);
	cur->eof = rc != SQLITE_ROW;
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int go_type_filter(sqlite3_vtab_cursor *base, int idx, const char *idx_str, int argc, sqlite3_value **argv)
{
	struct go_type_cursor *cur = (struct go_type_cursor *)base;
	struct go_type_vtab *vt = (struct go_type_vtab *)base->pVtab;
	(void)idx, (void)idx_str, (void)argc, (void)argv;
	sqlite3_finalize(cur->rows);
	cur->rows = NULL;
	/* The type's ids first: joining types per object costs a lookup per row of objects. */
	int rc = sqlite3_prepare_v2(vt->h->db, "SELECT id FROM objects WHERE type_id IN "
				    "(SELECT id FROM types WHERE name = ?) ORDER BY id", -1, &cur->rows, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(cur->rows, 1, vt->type_name, -1, SQLITE_STATIC);
	return go_type_next(base);
}

static int go_type_eof(sqlite3_vtab_cursor *base)
{
	return ((struct go_type_cursor *)base)->eof;
}

static int go_type_column(sqlite3_vtab_cursor *base, sqlite3_context *c, int col)
{
	struct go_type_cursor *cur = (struct go_type_cursor *)base;
	struct go_type_vtab *vt = (struct go_type_vtab *)base->pVtab;
	struct heap_ctx *h = vt->h;
	struct object o;
	int64_t id = sqlite3_column_int64(cur->rows, 0);
	if (col == 0) {
		sqlite3_result_int64(c, id);
		return SQLITE_OK;
	}
	if (!ctx_program(c, h) || !find_object(h, id, &o))
		return SQLITE_OK;
	Dwarf_Die mtype;
	if (col == 1)
		sqlite3_result_int64(c, (int64_t)o.addr);
	else if (col - 2 < vt->nmembers && gm_dwarf_die_at(h->prog->dwarf, vt->member_type[col - 2], &mtype))
		result_value(c, h, &mtype, o.data + vt->member_off[col - 2]);
	return SQLITE_OK;
}

static int go_type_rowid(sqlite3_vtab_cursor *base, sqlite3_int64 *ret)
{
	*ret = sqlite3_column_int64(((struct go_type_cursor *)base)->rows, 0);
	return SQLITE_OK;
}

static const sqlite3_module go_type_module = {
	.xCreate = go_type_connect,
	.xConnect = go_type_connect,
	.xBestIndex = go_type_best_index,
	.xDisconnect = go_type_disconnect,
	.xDestroy = go_type_disconnect,
	.xOpen = go_type_open,
	.xClose = go_type_close,
	.xFilter = go_type_filter,
	.xNext = go_type_next,
	.xEof = go_type_eof,
	.xColumn = go_type_column,
	.xRowid = go_type_rowid,
};

/* ---- go_elems(object_id): one row per element of an array object ---- */

struct go_elems_cursor {
	sqlite3_vtab_cursor base;
	struct heap_ctx *h;
	struct object obj;
	Dwarf_Die elem;
	uint64_t count, elem_size, i;
};

struct go_elems_vtab {
	sqlite3_vtab base;
	struct heap_ctx *h;
};

enum { ELEMS_IDX, ELEMS_VALUE, ELEMS_OBJECT };

static int go_elems_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **ret,
			    char **err)
{
	(void)argc, (void)argv, (void)err;
	int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(idx INTEGER, value, object_id HIDDEN)");
	if (rc == SQLITE_OK)
		rc = sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
	if (rc != SQLITE_OK)
		return rc;
	struct go_elems_vtab *vt = sqlite3_malloc(sizeof(*vt));
	if (!vt)
		return SQLITE_NOMEM;
	memset(vt, 0, sizeof(*vt));
	vt->h = aux;
	*ret = &vt->base;
	return SQLITE_OK;
}

static int go_elems_disconnect(sqlite3_vtab *vtab)
{
	sqlite3_free(vtab);
	return SQLITE_OK;
}

/* The object_id argument must be given: go_elems(id). */
static int go_elems_best_index(sqlite3_vtab *vtab, sqlite3_index_info *info)
{
	(void)vtab;
	for (int i = 0; i < info->nConstraint; i++) {
		if (info->aConstraint[i].iColumn == ELEMS_OBJECT && info->aConstraint[i].op == SQLITE_INDEX_CONSTRAINT_EQ) {
			if (!info->aConstraint[i].usable)
				return SQLITE_CONSTRAINT;
			info->aConstraintUsage[i].argvIndex = 1;
			info->aConstraintUsage[i].omit = 1;
			info->estimatedCost = 100;
			return SQLITE_OK;
		}
	}
	return SQLITE_CONSTRAINT;
}

static int go_elems_open(sqlite3_vtab *vtab, sqlite3_vtab_cursor **ret)
{
	struct go_elems_cursor *cur = sqlite3_malloc(sizeof(*cur));
	if (!cur)
		return SQLITE_NOMEM;
	memset(cur, 0, sizeof(*cur));
	cur->h = ((struct go_elems_vtab *)vtab)->h;
	*ret = &cur->base;
	return SQLITE_OK;
}

static int go_elems_close(sqlite3_vtab_cursor *cur)
{
	sqlite3_free(cur);
	return SQLITE_OK;
}

static int go_elems_filter(sqlite3_vtab_cursor *base, int idx, const char *idx_str, int argc, sqlite3_value **argv)
{
	struct go_elems_cursor *cur = (struct go_elems_cursor *)base;
	struct heap_ctx *h = cur->h;
	(void)idx, (void)idx_str;
	cur->i = cur->count = 0;
	if (argc < 1 || !ctx_program(NULL, h)) {
		if (!h->prog)
			base->pVtab->zErrMsg = sqlite3_mprintf("%s", h->open_error ? h->open_error : "no program");
		return h->prog ? SQLITE_OK : SQLITE_ERROR;
	}
	if (find_object(h, sqlite3_value_int64(argv[0]), &cur->obj) && cur->obj.type[0] &&
	    type_by_name(h->prog, cur->obj.type, &cur->elem, &cur->count) &&
	    gm_dwarf_type_size(&cur->elem, &cur->elem_size) && fits_object(&cur->obj, &cur->elem, cur->count))
		return SQLITE_OK;
	cur->count = 0;
	return SQLITE_OK;
}

static int go_elems_next(sqlite3_vtab_cursor *base)
{
	((struct go_elems_cursor *)base)->i++;
	return SQLITE_OK;
}

static int go_elems_eof(sqlite3_vtab_cursor *base)
{
	struct go_elems_cursor *cur = (struct go_elems_cursor *)base;
	return cur->i >= cur->count;
}

static int go_elems_column(sqlite3_vtab_cursor *base, sqlite3_context *c, int col)
{
	struct go_elems_cursor *cur = (struct go_elems_cursor *)base;
	if (col == ELEMS_IDX)
		sqlite3_result_int64(c, (int64_t)cur->i);
	else if (col == ELEMS_OBJECT)
		sqlite3_result_int64(c, cur->obj.id);
	else
		result_value(c, cur->h, &cur->elem, cur->obj.data + cur->i * cur->elem_size);
	return SQLITE_OK;
}

static int go_elems_rowid(sqlite3_vtab_cursor *base, sqlite3_int64 *ret)
{
	*ret = (sqlite3_int64)((struct go_elems_cursor *)base)->i;
	return SQLITE_OK;
}

static const sqlite3_module go_elems_module = {
	.xConnect = go_elems_connect,
	.xBestIndex = go_elems_best_index,
	.xDisconnect = go_elems_disconnect,
	.xOpen = go_elems_open,
	.xClose = go_elems_close,
	.xFilter = go_elems_filter,
	.xNext = go_elems_next,
	.xEof = go_elems_eof,
	.xColumn = go_elems_column,
	.xRowid = go_elems_rowid,
};

static void ctx_destroy(void *arg)
{
	struct heap_ctx *h = arg;
	gm_program_destroy(h->prog);
	gm_object_index_destroy(h->objects);
	sqlite3_free(h->open_error);
	free(h->core_path);
	free(h->exe_path);
	free(h);
}

/* The functions read the memory of whatever core the database names: only
 * SQL the user typed may call them (SQLITE_DIRECTONLY), never a view or
 * trigger of a database someone sent. */
int gm_heapfuncs_register(sqlite3 *db, const char *core_path, const char *exe_path)
{
	struct heap_ctx *h = calloc(1, sizeof(*h));
	if (!h)
		return SQLITE_NOMEM;
	h->db = db;
	h->objects = gm_object_index_new(db);
	if (!h->objects) {
		free(h);
		return SQLITE_NOMEM;
	}
	h->core_path = core_path ? strdup(core_path) : NULL;
	h->exe_path = exe_path ? strdup(exe_path) : NULL;
	/* The module owns the context: it is freed when the connection closes. */
	int rc = sqlite3_create_module_v2(db, "go_type", &go_type_module, h, ctx_destroy);
	if (rc == SQLITE_OK) /* eponymous only (no xCreate): used as go_elems(id) */
		rc = sqlite3_create_module(db, "go_elems", &go_elems_module, h);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(db, "go_string", 2, SQLITE_UTF8 | SQLITE_DIRECTONLY, h, fn_go_string, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(db, "field", 2, SQLITE_UTF8 | SQLITE_DIRECTONLY, h, fn_field, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(db, "go_value", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY, h, fn_go_value, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(db, "go_hash", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, h, fn_go_hash, NULL, NULL);
	return rc;
}
