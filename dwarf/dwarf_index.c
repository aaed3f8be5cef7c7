#include "dwarf_index.h"

#include <dwarf.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../analyzer/core/exe.h"
#include "../analyzer/util/u64_map.h"

/* One name -> DIE offset table with open addressing. */
struct name_table {
	const char **names;   /* strings owned by libdw */
	Dwarf_Off *offsets;
	size_t count, cap;    /* cap is a power of two */
};

/* A global variable by address, for naming memory. */
struct global_addr {
	uint64_t addr;
	Dwarf_Off die;
};

/* The members of one struct type, sorted by offset: built once per type
 * for naming many words of the same globals and frames. */
struct member_info {
	uint64_t offset, size;
	const char *name;
	Dwarf_Off type;          /* DIE of the member's type */
};

struct member_table {
	struct member_info *members;
	size_t count;
};

struct gm_dwarf {
	Dwarf *dwarf;
	struct gm_u64_map member_index;   /* struct DIE offset -> index into member_tables */
	struct gm_u64_map subprograms;    /* low_pc -> DW_TAG_subprogram DIE offset */
	struct member_table *member_tables;
	size_t nmember_tables, member_tables_cap;
	struct global_addr *by_addr;   /* sorted on first use */
	size_t nby_addr, by_addr_cap;
	bool by_addr_sorted;
	struct name_table types, globals, consts;
	/* runtime descriptor offset (DW_AT_go_runtime_type) -> DIE offset */
	struct gm_u64_map runtime_types;
	const char *producer;
};

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int table_grow(struct name_table *t)
{
	size_t cap = t->cap ? t->cap * 2 : 1024;
	const char **names = calloc(cap, sizeof(*names));
	Dwarf_Off *offsets = calloc(cap, sizeof(*offsets));
	if (!names || !offsets) {
		free(names);
		free(offsets);
		return -1;
	}
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->names[i])
			continue;
		size_t j = name_hash(t->names[i]) & (cap - 1);
		while (names[j])
			j = (j + 1) & (cap - 1);
		names[j] = t->names[i];
		offsets[j] = t->offsets[i];
	}
	free(t->names);
	free(t->offsets);
	t->names = names;
	t->offsets = offsets;
	t->cap = cap;
	return 0;
}

/* Insert NAME unless present (the first definition wins: Go emits each
 * named type once, but a declaration may repeat in several units). */
static int table_insert(struct name_table *t, const char *name, Dwarf_Off off)
{
	if (2 * (t->count + 1) > t->cap && table_grow(t))
		return -1;
	size_t j = name_hash(name) & (t->cap - 1);
	while (t->names[j]) {
		if (strcmp(t->names[j], name) == 0)
			return 0;
		j = (j + 1) & (t->cap - 1);
	}
	t->names[j] = name;
	t->offsets[j] = off;
	t->count++;
	return 0;
}

static bool table_find(const struct name_table *t, const char *name, Dwarf_Off *ret)
{
	if (t->cap == 0)
		return false;
	size_t j = name_hash(name) & (t->cap - 1);
	while (t->names[j]) {
		if (strcmp(t->names[j], name) == 0) {
			*ret = t->offsets[j];
			return true;
		}
		j = (j + 1) & (t->cap - 1);
	}
	return false;
}

static void table_free(struct name_table *t)
{
	free(t->names);
	free(t->offsets);
}

static bool is_type_tag(int tag)
{
	switch (tag) {
	case DW_TAG_base_type: case DW_TAG_structure_type: case DW_TAG_typedef:
	case DW_TAG_pointer_type: case DW_TAG_array_type: case DW_TAG_subroutine_type:
	case DW_TAG_union_type: case DW_TAG_unspecified_type:
		return true;
	default:
		return false;
	}
}

/* The address of a variable whose location is a single DW_OP_addr.  Go
 * writes it as DW_FORM_block1, which libdw's dwarf_getlocation() refuses in
 * DWARF 5 units (it wants exprloc), so the block is decoded here. */
static bool die_static_address(Dwarf_Die *die, uint64_t *ret)
{
	Dwarf_Attribute attr;
	Dwarf_Block block;
	if (!dwarf_attr(die, DW_AT_location, &attr) || dwarf_formblock(&attr, &block) != 0)
		return false;
	uint8_t address_size;
	Dwarf_Die cu;
	if (!dwarf_diecu(die, &cu, &address_size, NULL) || address_size != 8 ||
	    block.length != 1 + 8u || block.data[0] != DW_OP_addr)
		return false;
	uint64_t addr;
	memcpy(&addr, block.data + 1, sizeof(addr));
	*ret = addr;
	return true;
}

static int add_global_addr(struct gm_dwarf *dw, uint64_t addr, Dwarf_Off die)
{
	if (dw->nby_addr == dw->by_addr_cap) {
		size_t cap = dw->by_addr_cap ? dw->by_addr_cap * 2 : 1024;
		void *grown = realloc(dw->by_addr, cap * sizeof(*dw->by_addr));
		if (!grown)
			return -1;
		dw->by_addr = grown;
		dw->by_addr_cap = cap;
	}
	dw->by_addr[dw->nby_addr++] = (struct global_addr){ addr, die };
	return 0;
}

static int index_die(struct gm_dwarf *dw, Dwarf_Die *die)
{
	int tag = dwarf_tag(die);
	const char *name = dwarf_diename(die);
	if (!name)
		return 0;
	if (is_type_tag(tag)) {
		/* Skip declarations: they carry no layout. */
		if (dwarf_hasattr(die, DW_AT_declaration))
			return 0;
		Dwarf_Attribute attr;
		Dwarf_Addr runtime_offset;
		if (dwarf_attr(die, GM_DW_AT_go_runtime_type, &attr) &&
		    dwarf_formaddr(&attr, &runtime_offset) == 0 &&
		    gm_u64_map_insert(&dw->runtime_types, runtime_offset, dwarf_dieoffset(die)))
			return -1;
		return table_insert(&dw->types, name, dwarf_dieoffset(die));
	}
	if (tag == DW_TAG_variable) {
		uint64_t addr;
		if (die_static_address(die, &addr) && add_global_addr(dw, addr, dwarf_dieoffset(die)))
			return -1;
		return table_insert(&dw->globals, name, dwarf_dieoffset(die));
	}
	if (tag == DW_TAG_constant)
		return table_insert(&dw->consts, name, dwarf_dieoffset(die));
	Dwarf_Addr low_pc;
	if (tag == DW_TAG_subprogram && dwarf_lowpc(die, &low_pc) == 0)
		return gm_u64_map_insert(&dw->subprograms, low_pc, dwarf_dieoffset(die));
	return 0;
}

static struct gm_error *index_units(struct gm_dwarf *dw, const char *path)
{
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie, subdie;
	uint8_t unit_type;
	Dwarf_Half version;
	Dwarf_Off last_unit = 0;  /* where the last unit read began, for the error */
	bool cu_seen = false;
	int rc;
	while ((rc = dwarf_get_units(dw->dwarf, cu, &cu, &version, &unit_type, &cudie, &subdie)) == 0) {
		last_unit = dwarf_dieoffset(&cudie);
		cu_seen = true;
		if (!dw->producer) {
			Dwarf_Attribute attr;
			if (dwarf_attr(&cudie, DW_AT_producer, &attr))
				dw->producer = dwarf_formstring(&attr);
		}
		Dwarf_Die child;
		if (dwarf_child(&cudie, &child) != 0)
			continue;
		do {
			if (index_die(dw, &child))
				return &gm_error_nomem;
		} while (dwarf_siblingof(&child, &child) == 0);
	}
	if (rc < 0) {
		/* libdw does not always set an error for a bad unit header
		 * ("no error"): say what failed and where. */
		int e = dwarf_errno();
		const char *why = e ? dwarf_errmsg(e) : "a malformed unit header, or a section that does not decompress";
		if (!cu_seen)
			return gm_error_create(GM_ERR_BAD_EXE, "%s: corrupt DWARF: the first unit of .debug_info "
					       "cannot be read: %s", path, why);
		return gm_error_create(GM_ERR_BAD_EXE, "%s: corrupt DWARF: the unit after the one at .debug_info "
				       "offset 0x%" PRIx64 " cannot be read: %s", path, (uint64_t)last_unit, why);
	}
	return NULL;
}

struct gm_error *gm_dwarf_open(const struct gm_exe *exe, struct gm_dwarf **ret)
{
	if (!exe->has_dwarf)
		return gm_error_create(GM_ERR_NO_DWARF,
				       "%s: no DWARF debug info (built with -ldflags=-w or stripped); "
				       "gomortem needs it to read the runtime's structures", exe->path);
	struct gm_dwarf *dw = calloc(1, sizeof(*dw));
	if (!dw)
		return &gm_error_nomem;
	dw->dwarf = dwarf_begin_elf(exe->elf, DWARF_C_READ, NULL);
	if (!dw->dwarf) {
		free(dw);
		return gm_error_create(GM_ERR_NO_DWARF, "%s: cannot read DWARF: %s", exe->path,
				       dwarf_errmsg(-1));
	}
	struct gm_error *err = index_units(dw, exe->path);
	if (!err && dw->types.count == 0)
		err = gm_error_create(GM_ERR_NO_DWARF, "%s: DWARF has no types", exe->path);
	if (err) {
		gm_dwarf_destroy(dw);
		return err;
	}
	*ret = dw;
	return NULL;
}

void gm_dwarf_destroy(struct gm_dwarf *dw)
{
	if (!dw)
		return;
	table_free(&dw->types);
	table_free(&dw->globals);
	table_free(&dw->consts);
	gm_u64_map_free(&dw->runtime_types);
	gm_u64_map_free(&dw->member_index);
	gm_u64_map_free(&dw->subprograms);
	for (size_t i = 0; i < dw->nmember_tables; i++)
		free(dw->member_tables[i].members);
	free(dw->member_tables);
	free(dw->by_addr);
	dwarf_end(dw->dwarf);
	free(dw);
}

size_t gm_dwarf_type_count(const struct gm_dwarf *dw) { return dw->types.count; }
size_t gm_dwarf_global_count(const struct gm_dwarf *dw) { return dw->globals.count; }
size_t gm_dwarf_const_count(const struct gm_dwarf *dw) { return dw->consts.count; }
const char *gm_dwarf_producer(const struct gm_dwarf *dw) { return dw->producer; }

bool gm_dwarf_type(struct gm_dwarf *dw, const char *name, Dwarf_Die *ret)
{
	if (!dw)
		return false;   /* no DWARF: nothing found */
	Dwarf_Off off;
	return table_find(&dw->types, name, &off) && dwarf_offdie(dw->dwarf, off, ret) != NULL;
}

static bool die_type(Dwarf_Die *die, Dwarf_Die *ret)
{
	Dwarf_Attribute attr;
	return dwarf_attr(die, DW_AT_type, &attr) && dwarf_formref_die(&attr, ret) != NULL;
}

bool gm_dwarf_global(struct gm_dwarf *dw, const char *name, uint64_t *ret_addr, Dwarf_Die *ret_type)
{
	if (!dw)
		return false;   /* no DWARF: nothing found */
	Dwarf_Off off;
	Dwarf_Die die;
	if (!table_find(&dw->globals, name, &off) || !dwarf_offdie(dw->dwarf, off, &die))
		return false;
	uint64_t addr;
	if (!die_static_address(&die, &addr))
		return false;
	if (ret_type && !die_type(&die, ret_type))
		return false;
	*ret_addr = addr;
	return true;
}

bool gm_dwarf_const(struct gm_dwarf *dw, const char *name, int64_t *ret)
{
	if (!dw)
		return false;   /* no DWARF: nothing found */
	Dwarf_Off off;
	Dwarf_Die die;
	Dwarf_Attribute attr;
	Dwarf_Sword value;
	if (!table_find(&dw->consts, name, &off) || !dwarf_offdie(dw->dwarf, off, &die) ||
	    !dwarf_attr(&die, DW_AT_const_value, &attr) || dwarf_formsdata(&attr, &value) != 0)
		return false;
	*ret = value;
	return true;
}

/* Follow typedefs to the underlying type. */
static bool strip_typedefs(Dwarf_Die *type, Dwarf_Die *ret)
{
	*ret = *type;
	for (int depth = 0; depth < 16; depth++) {
		if (dwarf_tag(ret) != DW_TAG_typedef)
			return true;
		if (!die_type(ret, ret))
			return false;
	}
	return false;
}

static bool direct_member(Dwarf_Die *type, const char *name, size_t name_len, uint64_t *ret_offset,
			  Dwarf_Die *ret_type)
{
	Dwarf_Die st, child;
	if (!strip_typedefs(type, &st) || dwarf_tag(&st) != DW_TAG_structure_type ||
	    dwarf_child(&st, &child) != 0)
		return false;
	do {
		if (dwarf_tag(&child) != DW_TAG_member)
			continue;
		const char *member = dwarf_diename(&child);
		if (!member || strlen(member) != name_len || memcmp(member, name, name_len) != 0)
			continue;
		Dwarf_Attribute attr;
		Dwarf_Word offset = 0;
		if (dwarf_attr(&child, DW_AT_data_member_location, &attr) &&
		    dwarf_formudata(&attr, &offset) != 0)
			return false;
		*ret_offset = offset;
		return die_type(&child, ret_type);
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

bool gm_dwarf_member(Dwarf_Die *type, const char *field, uint64_t *ret_offset, Dwarf_Die *ret_type)
{
	Dwarf_Die cur = *type;
	uint64_t total = 0;
	const char *p = field;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		uint64_t off;
		Dwarf_Die next;
		if (!direct_member(&cur, p, len, &off, &next))
			return false;
		total += off;
		cur = next;
		if (!dot)
			break;
		p = dot + 1;
	}
	*ret_offset = total;
	if (ret_type)
		*ret_type = cur;
	return true;
}

bool gm_dwarf_type_size(Dwarf_Die *type, uint64_t *ret)
{
	Dwarf_Die real;
	Dwarf_Word size;
	if (!strip_typedefs(type, &real))
		return false;
	if (dwarf_tag(&real) == DW_TAG_pointer_type) {
		/* A pointer without DW_AT_byte_size has the unit's address size. */
		int bytes = dwarf_bytesize(&real);
		uint8_t address_size;
		Dwarf_Die cu;
		if (bytes < 0 && dwarf_diecu(&real, &cu, &address_size, NULL))
			bytes = address_size;
		if (bytes < 0)
			return false;
		*ret = (uint64_t)bytes;
		return true;
	}
	if (dwarf_aggregate_size(&real, &size) != 0)
		return false;
	*ret = size;
	return true;
}

const char *gm_dwarf_type_name(Dwarf_Die *type)
{
	const char *name = dwarf_diename(type);
	return name ? name : "?";
}

bool gm_dwarf_array_length(Dwarf_Die *type, uint64_t *ret)
{
	Dwarf_Die array, child;
	if (!strip_typedefs(type, &array) || dwarf_tag(&array) != DW_TAG_array_type ||
	    dwarf_child(&array, &child) != 0)
		return false;
	do {
		if (dwarf_tag(&child) != DW_TAG_subrange_type)
			continue;
		Dwarf_Attribute attr;
		Dwarf_Word value;
		if (dwarf_attr(&child, DW_AT_count, &attr) && dwarf_formudata(&attr, &value) == 0) {
			*ret = value;
			return true;
		}
		if (dwarf_attr(&child, DW_AT_upper_bound, &attr) && dwarf_formudata(&attr, &value) == 0) {
			*ret = value + 1;
			return true;
		}
		return false;
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

bool gm_dwarf_type_by_runtime_offset(struct gm_dwarf *dw, uint64_t offset, Dwarf_Die *ret)
{
	if (!dw)
		return false;   /* no DWARF: nothing found */
	uint64_t off;
	return gm_u64_map_find(&dw->runtime_types, offset, &off) && dwarf_offdie(dw->dwarf, off, ret) != NULL;
}

int gm_dwarf_go_kind(Dwarf_Die *type)
{
	Dwarf_Attribute attr;
	Dwarf_Word kind;
	if (!dwarf_attr(type, GM_DW_AT_go_kind, &attr) || dwarf_formudata(&attr, &kind) != 0)
		return -1;
	return (int)kind;
}

int gm_dwarf_underlying_kind(Dwarf_Die *type)
{
	Dwarf_Die real;
	int kind = gm_dwarf_go_kind(type);
	return kind >= 0 || !strip_typedefs(type, &real) ? kind : gm_dwarf_go_kind(&real);
}

bool gm_dwarf_die_at(struct gm_dwarf *dw, Dwarf_Off off, Dwarf_Die *ret)
{
	if (!dw)
		return false;   /* no DWARF: nothing found */
	return dwarf_offdie(dw->dwarf, off, ret) != NULL;
}

static int global_addr_compare(const void *a, const void *b)
{
	const struct global_addr *x = a, *y = b;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

size_t gm_dwarf_located_global_count(const struct gm_dwarf *dw)
{
	return dw->nby_addr;
}

/* by_addr in address order, sorted on first use (by any reader: sorting
 * under a caller walking it by index would shuffle its walk). */
static void sort_by_addr(struct gm_dwarf *dw)
{
	if (!dw->by_addr_sorted) {
		qsort(dw->by_addr, dw->nby_addr, sizeof(*dw->by_addr), global_addr_compare);
		dw->by_addr_sorted = true;
	}
}

bool gm_dwarf_global_nth(struct gm_dwarf *dw, size_t i, Dwarf_Die *ret_var, uint64_t *ret_addr)
{
	sort_by_addr(dw);
	if (i >= dw->nby_addr || !dwarf_offdie(dw->dwarf, dw->by_addr[i].die, ret_var))
		return false;
	*ret_addr = dw->by_addr[i].addr;
	return true;
}

bool gm_dwarf_global_at(struct gm_dwarf *dw, uint64_t addr, Dwarf_Die *ret_var, uint64_t *ret_start)
{
	if (!dw)
		return false;   /* no DWARF: nothing found */
	sort_by_addr(dw);
	size_t lo = 0, hi = dw->nby_addr;
	while (lo < hi) { /* first variable starting after ADDR */
		size_t mid = lo + (hi - lo) / 2;
		if (dw->by_addr[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Zero-sized variables share addresses: look back past them. */
	for (size_t i = lo; i-- > 0;) {
		Dwarf_Die var, type;
		uint64_t size;
		if (!dwarf_offdie(dw->dwarf, dw->by_addr[i].die, &var) || !die_type(&var, &type) ||
		    !gm_dwarf_type_size(&type, &size))
			return false;
		if (size == 0 && dw->by_addr[i].addr == addr && i > 0)
			continue;
		if (addr >= dw->by_addr[i].addr + size)
			return false;
		*ret_var = var;
		*ret_start = dw->by_addr[i].addr;
		return true;
	}
	return false;
}

/* Append to BUF (of LEN, with *USED filled) without overflowing. */
static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	if (*used >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used += (size_t)n;
}

static struct member_table *build_member_table(struct gm_dwarf *dw, Dwarf_Die *st)
{
	if (dw->nmember_tables == dw->member_tables_cap) {
		size_t cap = dw->member_tables_cap ? dw->member_tables_cap * 2 : 64;
		void *grown = realloc(dw->member_tables, cap * sizeof(*dw->member_tables));
		if (!grown)
			return NULL;
		dw->member_tables = grown;
		dw->member_tables_cap = cap;
	}
	struct member_table *t = &dw->member_tables[dw->nmember_tables];
	memset(t, 0, sizeof(*t));
	Dwarf_Die child, member_type;
	size_t cap = 0;
	if (dwarf_child(st, &child) == 0) {
		do {
			Dwarf_Attribute attr;
			Dwarf_Word moff = 0;
			uint64_t msize;
			if (dwarf_tag(&child) != DW_TAG_member || !die_type(&child, &member_type) ||
			    !gm_dwarf_type_size(&member_type, &msize))
				continue;
			if (dwarf_attr(&child, DW_AT_data_member_location, &attr))
				dwarf_formudata(&attr, &moff);
			if (t->count == cap) {
				cap = cap ? cap * 2 : 16;
				void *grown = realloc(t->members, cap * sizeof(*t->members));
				if (!grown) {
					free(t->members);
					return NULL;
				}
				t->members = grown;
			}
			t->members[t->count++] = (struct member_info){ moff, msize, dwarf_diename(&child),
								      dwarf_dieoffset(&member_type) };
		} while (dwarf_siblingof(&child, &child) == 0);
	}
	if (gm_u64_map_insert(&dw->member_index, dwarf_dieoffset(st), dw->nmember_tables)) {
		free(t->members);
		return NULL;
	}
	dw->nmember_tables++;
	return t;
}

static struct member_table *member_table_of(struct gm_dwarf *dw, Dwarf_Die *st)
{
	uint64_t index;
	if (gm_u64_map_find(&dw->member_index, dwarf_dieoffset(st), &index))
		return &dw->member_tables[index];
	return build_member_table(dw, st);
}

/* One step down from TYPE towards OFF: the member or element holding it. */
static bool descend(struct gm_dwarf *dw, Dwarf_Die *type, uint64_t *off, char *buf, size_t len, size_t *used)
{
	Dwarf_Die real, member_type;
	if (!strip_typedefs(type, &real))
		return false;
	int tag = dwarf_tag(&real);
	if (tag == DW_TAG_array_type) {
		uint64_t elem_size;
		if (!die_type(&real, &member_type) || !gm_dwarf_type_size(&member_type, &elem_size) ||
		    elem_size == 0)
			return false;
		append(buf, len, used, "[%" PRIu64 "]", *off / elem_size);
		*off %= elem_size;
		*type = member_type;
		return true;
	}
	if (tag != DW_TAG_structure_type)
		return false;
	const struct member_table *t = member_table_of(dw, &real);
	const struct member_info *best = NULL;
	for (size_t i = 0; t && i < t->count; i++) /* the last non-empty member holding OFF */
		if (t->members[i].offset <= *off && *off < t->members[i].offset + t->members[i].size)
			best = &t->members[i];
	if (!best || !dwarf_offdie(dw->dwarf, best->type, type))
		return false;
	append(buf, len, used, ".%s", best->name ? best->name : "?");
	*off -= best->offset;
	return true;
}

size_t gm_dwarf_describe_offset(struct gm_dwarf *dw, Dwarf_Die *type, uint64_t off, char *buf, size_t len,
				Dwarf_Die *ret_leaf)
{
	size_t used = 0;
	Dwarf_Die cur = *type;
	for (int depth = 0; depth < 32; depth++) {
		uint64_t size;
		if (off == 0 && gm_dwarf_type_size(&cur, &size) && size <= 8)
			break;
		if (!descend(dw, &cur, &off, buf, len, &used))
			break;
	}
	if (off != 0)
		append(buf, len, &used, "+%" PRIu64, off);
	if (ret_leaf)
		*ret_leaf = cur;
	if (used < len)
		buf[used] = '\0';
	else if (len)
		buf[len - 1] = '\0';
	return used;
}

bool gm_dwarf_subprogram_at(struct gm_dwarf *dw, uint64_t low_pc, Dwarf_Die *ret)
{
	if (!dw)
		return false;   /* no DWARF: nothing found */
	uint64_t off;
	return gm_u64_map_find(&dw->subprograms, low_pc, &off) && dwarf_offdie(dw->dwarf, off, ret) != NULL;
}

/* Where VAR lives at PC, if in the frame: [CFA + offset, + size) for a
 * location DW_OP_fbreg N (frame base = DW_OP_call_frame_cfa, as Go writes). */
static bool frame_slot_of(Dwarf_Die *var, uint64_t pc, int64_t *ret_offset)
{
	Dwarf_Attribute attr;
	Dwarf_Op *expr;
	size_t len;
	if (!dwarf_attr(var, DW_AT_location, &attr) ||
	    dwarf_getlocation_addr(&attr, pc, &expr, &len, 1) != 1 || len < 1)
		return false;
	if (expr[0].atom == DW_OP_fbreg && (len == 1 || expr[1].atom == DW_OP_piece)) {
		*ret_offset = (int64_t)expr[0].number;
		return true;
	}
	if (len >= 3 && expr[0].atom == DW_OP_call_frame_cfa && expr[1].atom == DW_OP_consts &&
	    expr[2].atom == DW_OP_plus) {
		*ret_offset = (int64_t)expr[1].number;
		return true;
	}
	return false;
}

/* Search the variables under SCOPE (lexical blocks included) for one whose
 * frame slot holds CFA+OFFSET. */
static bool find_slot_var(struct gm_dwarf *dw, Dwarf_Die *scope, uint64_t pc, int64_t offset, char *buf,
			  size_t len, struct gm_dwarf_frame_slot *ret, int depth)
{
	Dwarf_Die child, type;
	if (depth > 16 || dwarf_child(scope, &child) != 0)
		return false;
	do {
		int tag = dwarf_tag(&child);
		if (tag == DW_TAG_lexical_block) {
			if (find_slot_var(dw, &child, pc, offset, buf, len, ret, depth + 1))
				return true;
			continue;
		}
		int64_t var_off;
		uint64_t size;
		if ((tag != DW_TAG_variable && tag != DW_TAG_formal_parameter) || !frame_slot_of(&child, pc, &var_off) ||
		    !die_type(&child, &type) || !gm_dwarf_type_size(&type, &size) || offset < var_off ||
		    (uint64_t)(offset - var_off) >= size)
			continue;
		const char *name = dwarf_diename(&child);
		int n = snprintf(buf, len, "%s", name ? name : "?");
		ret->var_type = type;
		ret->var_off = (uint64_t)(offset - var_off);
		ret->leaf = type;
		if (n > 0 && (size_t)n < len)
			gm_dwarf_describe_offset(dw, &type, ret->var_off, buf + n, len - (size_t)n, &ret->leaf);
		return true;
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

bool gm_dwarf_name_frame_slot(struct gm_dwarf *dw, Dwarf_Die *subprogram, uint64_t pc, int64_t cfa_offset,
			      char *buf, size_t len, struct gm_dwarf_frame_slot *ret)
{
	return find_slot_var(dw, subprogram, pc, cfa_offset, buf, len, ret, 0);
}

bool gm_dwarf_pointee(Dwarf_Die *type, Dwarf_Die *ret)
{
	Dwarf_Die real;
	return strip_typedefs(type, &real) && dwarf_tag(&real) == DW_TAG_pointer_type && die_type(&real, ret);
}

/* Go's kinds (abi.Kind) in DW_AT_go_kind that naming needs. */
#define GO_KIND_INTERFACE 20
#define GO_KIND_SLICE 23
#define GO_KIND_STRING 24

bool gm_dwarf_slot_at(struct gm_dwarf *dw, Dwarf_Die *type, uint64_t off, struct gm_dwarf_slot *ret)
{
	Dwarf_Die cur = *type;
	uint64_t base = 0;
	char ignored[8];
	size_t used = 0;
	memset(ret, 0, sizeof(*ret));
	for (int depth = 0; depth < 32; depth++) {
		uint64_t size;
		Dwarf_Die real;
		bool have_real = strip_typedefs(&cur, &real);
		const char *real_name = have_real ? dwarf_diename(&real) : NULL;
		int kind = gm_dwarf_go_kind(&cur);
		/* An interface: its kind says so, or (a generic type's member
		 * refers to it directly) its representation's name. */
		bool iface = real_name && strcmp(real_name, "runtime.iface") == 0;
		if (kind == GO_KIND_INTERFACE || iface || (real_name && strcmp(real_name, "runtime.eface") == 0)) {
			ret->in_interface = true;
			ret->iface = iface;
			ret->interface_off = base;
		}
		if ((kind == GO_KIND_SLICE || kind == GO_KIND_STRING) && off == 0) {
			/* The data pointer is member 0; the count is cap (slice) or len (string). */
			uint64_t count_off;
			Dwarf_Die ignored_type;
			uint64_t len_off;
			ret->counted = gm_dwarf_member(&cur, kind == GO_KIND_SLICE ? "cap" : "len", &count_off,
						       &ignored_type) &&
				       gm_dwarf_member(&cur, "len", &len_off, &ignored_type);
			ret->count_delta = (int64_t)count_off;
			ret->len_delta = ret->counted ? (int64_t)len_off : 0;
		}
		/* A word-sized struct or array (struct{ *file }, [1]*T) is
		 * not the leaf: its first member is. */
		int tag = have_real ? dwarf_tag(&real) : 0;
		bool aggregate = tag == DW_TAG_structure_type || tag == DW_TAG_array_type;
		if (off == 0 && gm_dwarf_type_size(&cur, &size) && size <= 8 && !(aggregate && size > 0)) {
			ret->leaf = cur;
			return true;
		}
		uint64_t before = off;
		used = 0;
		if (tag == DW_TAG_structure_type) {
			ret->parent = dwarf_dieoffset(&real);
			ret->parent_off = base;
		}
		if (!descend(dw, &cur, &off, ignored, 0, &used))
			return false;
		base += before - off;
	}
	return false;
}

bool gm_dwarf_phantom_pointee(struct gm_dwarf *dw, Dwarf_Off parent, Dwarf_Die *ret)
{
	Dwarf_Die st, child, array, elem;
	uint64_t n;
	if (!parent || !dwarf_offdie(dw->dwarf, parent, &st) || dwarf_child(&st, &child) != 0)
		return false;
	while (dwarf_tag(&child) != DW_TAG_member)
		if (dwarf_siblingof(&child, &child) != 0)
			return false;
	return die_type(&child, &array) && gm_dwarf_array_length(&array, &n) && n == 0 &&
	       die_type(&array, &elem) && gm_dwarf_pointee(&elem, ret);
}

bool gm_dwarf_array_elem(Dwarf_Die *type, Dwarf_Die *ret)
{
	Dwarf_Die real;
	return strip_typedefs(type, &real) && dwarf_tag(&real) == DW_TAG_array_type && die_type(&real, ret);
}

bool gm_dwarf_strip_typedefs(Dwarf_Die *type, Dwarf_Die *ret)
{
	return strip_typedefs(type, ret);
}
