#include "layouts.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf_index.h"

struct gm_layouts {
	struct gm_dwarf *dw;                    /* NULL: answers from table */
	const struct gm_layout_table *table;
	char source[64];
	/* DWARF source: every answer given, in order (repeats included). */
	struct gm_layout_entry *record;
	size_t nrecord, record_cap;
	bool record_nomem;
	/* Table source: the first query the table has no answer for. */
	char unrecorded[GM_LAYOUT_KEY_MAX];
};

struct gm_error *gm_layouts_from_dwarf(struct gm_dwarf *dw, struct gm_layouts **ret)
{
	struct gm_layouts *lay = calloc(1, sizeof(*lay));
	if (!lay)
		return &gm_error_nomem;
	lay->dw = dw;
	snprintf(lay->source, sizeof(lay->source), "DWARF");
	*ret = lay;
	return NULL;
}

struct gm_error *gm_layouts_from_table(const struct gm_layout_table *table, struct gm_layouts **ret)
{
	struct gm_layouts *lay = calloc(1, sizeof(*lay));
	if (!lay)
		return &gm_error_nomem;
	lay->table = table;
	snprintf(lay->source, sizeof(lay->source), "the layout table of %s/%s", table->go_version, table->goarch);
	*ret = lay;
	return NULL;
}

void gm_layouts_destroy(struct gm_layouts *lay)
{
	if (!lay)
		return;
	for (size_t i = 0; i < lay->nrecord; i++)
		free((char *)lay->record[i].key);
	free(lay->record);
	free(lay);
}

const char *gm_layouts_source(const struct gm_layouts *lay)
{
	return lay->source;
}

/* "go1.24.13" -> 24; -1 if not go1.N. */
static int go_minor(const char *version)
{
	int major, minor;
	return version && sscanf(version, "go%d.%d", &major, &minor) == 2 && major == 1 ? minor : -1;
}

static int go_patch(const char *version)
{
	int major, minor, patch;
	return sscanf(version, "go%d.%d.%d", &major, &minor, &patch) == 3 ? patch : 0;
}

const struct gm_layout_table *gm_layout_table_find(const char *go_version, const char *goarch,
						   const char *experiments)
{
	const struct gm_layout_table *best = NULL;
	int minor = go_minor(go_version);
	if (minor < 0)
		return NULL;
	for (size_t i = 0; i < gm_layout_ntables; i++) {
		const struct gm_layout_table *t = &gm_layout_tables[i];
		if (strcmp(t->goarch, goarch) != 0 || strcmp(t->experiments, experiments ? experiments : "") != 0 ||
		    go_minor(t->go_version) != minor)
			continue;
		if (strcmp(t->go_version, go_version) == 0)
			return t;
		if (!best || go_patch(t->go_version) > go_patch(best->go_version))
			best = t;
	}
	return best;
}

/* ---- Recording and table lookup --------------------------------------------------- */

static void record(struct gm_layouts *lay, const char *key, int64_t value, bool present)
{
	if (!lay->dw || lay->record_nomem)
		return;
	if (lay->nrecord == lay->record_cap) {
		size_t cap = lay->record_cap ? 2 * lay->record_cap : 256;
		struct gm_layout_entry *grown = realloc(lay->record, cap * sizeof(*grown));
		if (!grown) {
			lay->record_nomem = true;
			return;
		}
		lay->record = grown;
		lay->record_cap = cap;
	}
	char *copy = strdup(key);
	if (!copy) {
		lay->record_nomem = true;
		return;
	}
	lay->record[lay->nrecord++] = (struct gm_layout_entry){ .key = copy, .value = value, .present = present };
}

static int entry_compare(const void *a, const void *b)
{
	const struct gm_layout_entry *x = a, *y = b;
	return strcmp(x->key, y->key);
}

static const struct gm_layout_entry *table_lookup(const struct gm_layout_table *t, const char *key)
{
	struct gm_layout_entry want = { .key = key };
	return bsearch(&want, t->entries, t->nentries, sizeof(want), entry_compare);
}

/* The answer to KEY from the table; false when it says "absent" or never saw the query. */
static bool table_answer(struct gm_layouts *lay, const char *key, int64_t *ret)
{
	const struct gm_layout_entry *e = table_lookup(lay->table, key);
	if (!e && !lay->unrecorded[0])
		snprintf(lay->unrecorded, sizeof(lay->unrecorded), "%s", key);
	if (!e || !e->present)
		return false;
	if (ret)
		*ret = e->value;
	return true;
}

/* Format "OP ARG[ ARG2]" into KEY; false when too long (then the lookup fails). */
static bool make_key(char *key, const char *op, const char *arg, const char *arg2)
{
	int n = arg2 ? snprintf(key, GM_LAYOUT_KEY_MAX, "%s %s %s", op, arg, arg2)
		     : snprintf(key, GM_LAYOUT_KEY_MAX, "%s %s", op, arg);
	return n > 0 && n < GM_LAYOUT_KEY_MAX;
}

/* Answer query KEY: from DWARF (DWARF_ANSWER, VALUE) recorded, or from the table. */
static bool answer(struct gm_layouts *lay, const char *key, bool dwarf_answer, int64_t value, int64_t *ret)
{
	if (!lay->dw)
		return table_answer(lay, key, ret);
	record(lay, key, dwarf_answer ? value : 0, dwarf_answer);
	if (dwarf_answer && ret)
		*ret = value;
	return dwarf_answer;
}

/* The handle named PREFIX NAME [. MEMBER]. */
static bool set_handle(struct gm_layout_type *ret, struct gm_layouts *lay, const char *prefix, const char *name,
		       const char *member)
{
	ret->src = lay;
	int n = snprintf(ret->key, sizeof(ret->key), "%s%s%s%s", prefix, name, member ? "." : "",
			 member ? member : "");
	return n > 0 && n < (int)sizeof(ret->key);
}

/* ---- Lookups ---------------------------------------------------------------------- */

bool gm_layout_type(struct gm_layouts *lay, const char *name, struct gm_layout_type *ret)
{
	char key[GM_LAYOUT_KEY_MAX];
	if (!make_key(key, "type", name, NULL) || !set_handle(ret, lay, "", name, NULL))
		return false;
	bool found = lay->dw && gm_dwarf_type(lay->dw, name, &ret->die);
	return answer(lay, key, found, 0, NULL);
}

bool gm_layout_global(struct gm_layouts *lay, const char *name, struct gm_layout_type *ret_type)
{
	char key[GM_LAYOUT_KEY_MAX];
	uint64_t addr;
	if (!make_key(key, "global", name, NULL) || !set_handle(ret_type, lay, "global:", name, NULL))
		return false;
	bool found = lay->dw && gm_dwarf_global(lay->dw, name, &addr, &ret_type->die);
	return answer(lay, key, found, 0, NULL);
}

bool gm_layout_const(struct gm_layouts *lay, const char *name, int64_t *ret)
{
	char key[GM_LAYOUT_KEY_MAX];
	int64_t value = 0;
	if (!make_key(key, "const", name, NULL))
		return false;
	bool found = lay->dw && gm_dwarf_const(lay->dw, name, &value);
	return answer(lay, key, found, value, ret);
}

bool gm_layout_member(struct gm_layout_type *t, const char *path, uint64_t *ret_offset,
		      struct gm_layout_type *ret_type)
{
	char key[GM_LAYOUT_KEY_MAX];
	struct gm_layouts *lay = t->src;
	struct gm_layout_type unused;
	uint64_t offset = 0;
	int64_t value;
	if (!ret_type)
		ret_type = &unused;   /* the offset alone is wanted */
	if (!make_key(key, "member", t->key, path) || !set_handle(ret_type, lay, "", t->key, path))
		return false;
	bool found = lay->dw && gm_dwarf_member(&t->die, path, &offset, &ret_type->die);
	if (!answer(lay, key, found, (int64_t)offset, &value))
		return false;
	*ret_offset = (uint64_t)value;
	return true;
}

static bool type_query(struct gm_layout_type *t, const char *op,
		       bool (*dwarf_query)(Dwarf_Die *, uint64_t *), uint64_t *ret)
{
	char key[GM_LAYOUT_KEY_MAX];
	struct gm_layouts *lay = t->src;
	uint64_t v = 0;
	int64_t value;
	if (!make_key(key, op, t->key, NULL))
		return false;
	bool found = lay->dw && dwarf_query(&t->die, &v);
	if (!answer(lay, key, found, (int64_t)v, &value))
		return false;
	*ret = (uint64_t)value;
	return true;
}

bool gm_layout_size(struct gm_layout_type *t, uint64_t *ret)
{
	return type_query(t, "size", gm_dwarf_type_size, ret);
}

bool gm_layout_array_length(struct gm_layout_type *t, uint64_t *ret)
{
	return type_query(t, "len", gm_dwarf_array_length, ret);
}

bool gm_layout_array_elem(struct gm_layout_type *t, struct gm_layout_type *ret)
{
	char key[GM_LAYOUT_KEY_MAX];
	struct gm_layouts *lay = t->src;
	if (!make_key(key, "elem", t->key, NULL) || !set_handle(ret, lay, "", t->key, NULL) ||
	    strlen(ret->key) + 2 >= sizeof(ret->key))
		return false;
	strcat(ret->key, "[]");
	bool found = lay->dw && gm_dwarf_array_elem(&t->die, &ret->die);
	return answer(lay, key, found, 0, NULL);
}

const char *gm_layouts_unrecorded(const struct gm_layouts *lay)
{
	return lay->unrecorded[0] ? lay->unrecorded : NULL;
}

struct gm_error *gm_layouts_print_record(struct gm_layouts *lay, FILE *out)
{
	if (lay->record_nomem)
		return &gm_error_nomem;
	qsort(lay->record, lay->nrecord, sizeof(*lay->record), entry_compare);
	for (size_t i = 0; i < lay->nrecord; i++) {
		const struct gm_layout_entry *e = &lay->record[i];
		if (i > 0 && strcmp(e->key, lay->record[i - 1].key) == 0)
			continue;
		if (e->present)
			fprintf(out, "%s\t%" PRId64 "\n", e->key, e->value);
		else
			fprintf(out, "%s\t-\n", e->key);
	}
	return NULL;
}
