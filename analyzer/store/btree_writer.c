#include "btree_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* File format constants (fileformat2.html, "The Database Header" and
 * "B-tree Pages"). */
#define DB_HEADER_SIZE 100
#define HDR_PAGE_SIZE 16       /* 2 bytes; 1 means 65536 */
#define HDR_RESERVED 20        /* unused bytes at the end of each page */
#define HDR_CHANGE_COUNTER 24
#define HDR_PAGE_COUNT 28
#define HDR_SCHEMA_FORMAT 44
#define HDR_VERSION_VALID_FOR 92
#define LOCK_BYTE_OFFSET 0x40000000u  /* SQLite's PENDING_BYTE: its page is never used */

#define PAGE_INDEX_INTERIOR 0x02
#define PAGE_TABLE_INTERIOR 0x05
#define PAGE_INDEX_LEAF 0x0a
#define PAGE_TABLE_LEAF 0x0d

#define MAX_COLUMNS 64
#define MAX_LEVELS 16      /* interior levels; each page holds thousands of cells */
#define MAX_VARINT 9
/* A record of MAX_COLUMNS integers: header size, one serial type byte per
 * column, 8 bytes per value. */
#define MAX_RECORD (2 + MAX_COLUMNS * 9)
#define MAX_CELL (4 + 2 * MAX_VARINT + MAX_RECORD)

struct gm_btree_file {
	int fd;
	char *path;
	uint32_t page_size;
	uint32_t lock_page;           /* the page holding LOCK_BYTE_OFFSET */
	bool small_ints;              /* schema format 4: serial types 8 and 9 for 0 and 1 */
	_Atomic uint32_t next_page;   /* the next page number to hand out */
};

/* One page being filled: cell pointers grow up from the header, cell
 * contents grow down from the end. */
struct page {
	uint8_t *buf;
	uint32_t header;     /* 8 for leaves, 12 for interior pages */
	uint32_t ncells;
	uint32_t content;    /* offset of the lowest cell */
};

/* An interior level.  Its most recent (child, key) is held back: when the
 * page fills, that child becomes the page's right-most pointer and its key
 * moves up to the next level. */
struct level {
	struct page page;
	bool has_pending;
	uint32_t pending_child;
	uint8_t pending_key[MAX_CELL];
	uint32_t pending_len;
};

struct gm_btree {
	struct gm_btree_file *f;
	uint32_t root;
	enum gm_btree_kind kind;
	int ncols;
	uint64_t nrows;
	struct page leaf;
	int64_t leaf_last_rowid;        /* tables: the largest rowid in the leaf */
	/* Index leaves hold back their latest entry like interior levels do:
	 * when the leaf fills, it becomes the divider in the parent. */
	bool has_pending;
	uint8_t pending[MAX_CELL];
	uint32_t pending_len;
	uint32_t leaf_slack, interior_slack; /* room kept for the held-back cell */
	struct level levels[MAX_LEVELS];
	int nlevels;
};

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* SQLite's variable-length integer: big-endian groups of 7 bits, the high
 * bit set on all but the last; a ninth byte carries 8 bits. */
static uint32_t put_varint(uint8_t *p, uint64_t v)
{
	if (v <= 0x7f) {
		p[0] = (uint8_t)v;
		return 1;
	}
	if (v & (0xffull << 56)) {
		p[8] = (uint8_t)v;
		v >>= 8;
		for (int i = 7; i >= 0; i--) {
			p[i] = (uint8_t)((v & 0x7f) | 0x80);
			v >>= 7;
		}
		return 9;
	}
	uint8_t tmp[MAX_VARINT];
	uint32_t n = 0;
	do {
		tmp[n++] = (uint8_t)((v & 0x7f) | 0x80);
		v >>= 7;
	} while (v);
	tmp[0] &= 0x7f;
	for (uint32_t i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

static struct gm_error *file_error(const struct gm_btree_file *f, const char *what, int errnum)
{
	return gm_error_create(GM_ERR_IO, "%s: %s: %s", f->path, what, strerror(errnum));
}

static struct gm_error *pwrite_all(const struct gm_btree_file *f, const uint8_t *buf, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(f->fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return file_error(f, "cannot write a page", n < 0 ? errno : ENOSPC);
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return NULL;
}

static struct gm_error *read_header(struct gm_btree_file *f, uint8_t h[DB_HEADER_SIZE])
{
	ssize_t n = pread(f->fd, h, DB_HEADER_SIZE, 0);
	if (n != DB_HEADER_SIZE)
		return n < 0 ? file_error(f, "cannot read the header", errno)
			     : gm_error_create(GM_ERR_IO, "%s: shorter than an SQLite header", f->path);
	if (memcmp(h, "SQLite format 3", 16) != 0)
		return gm_error_create(GM_ERR_IO, "%s: not an SQLite database", f->path);
	return NULL;
}

struct gm_error *gm_btree_file_open(const char *path, struct gm_btree_file **ret)
{
	struct gm_btree_file *f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(path))) {
		free(f);
		return &gm_error_nomem;
	}
	f->fd = open(path, O_RDWR | O_CLOEXEC);
	uint8_t h[DB_HEADER_SIZE];
	struct gm_error *err = f->fd < 0 ? file_error(f, "cannot open", errno) : read_header(f, h);
	uint32_t page_count = 0;
	if (!err) {
		f->page_size = h[HDR_PAGE_SIZE] << 8 | h[HDR_PAGE_SIZE + 1];
		if (f->page_size == 1)
			f->page_size = 65536;
		f->small_ints = get_be32(h + HDR_SCHEMA_FORMAT) >= 4;
		page_count = get_be32(h + HDR_PAGE_COUNT);
		/* The header's page count holds only if written by the
		 * version that last changed the file (both counters equal). */
		struct stat st;
		if (get_be32(h + HDR_CHANGE_COUNTER) != get_be32(h + HDR_VERSION_VALID_FOR) || page_count == 0) {
			if (fstat(f->fd, &st) != 0)
				err = file_error(f, "cannot stat", errno);
			else
				page_count = (uint32_t)((uint64_t)st.st_size / f->page_size);
		}
		if (!err && (f->page_size < 512 || (f->page_size & (f->page_size - 1)) || h[HDR_RESERVED] != 0))
			err = gm_error_create(GM_ERR_IO, "%s: page size %u with %u reserved bytes is not supported",
					      path, f->page_size, h[HDR_RESERVED]);
	}
	if (err) {
		gm_btree_file_abort(f);
		return err;
	}
	f->lock_page = LOCK_BYTE_OFFSET / f->page_size + 1;
	atomic_init(&f->next_page, page_count + 1);
	*ret = f;
	return NULL;
}

void gm_btree_file_abort(struct gm_btree_file *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	free(f->path);
	free(f);
}

struct gm_error *gm_btree_file_close(struct gm_btree_file *f)
{
	uint8_t h[DB_HEADER_SIZE];
	struct gm_error *err = read_header(f, h);
	if (!err) {
		uint32_t change = get_be32(h + HDR_CHANGE_COUNTER) + 1;
		put_be32(h + HDR_CHANGE_COUNTER, change);
		put_be32(h + HDR_VERSION_VALID_FOR, change);
		put_be32(h + HDR_PAGE_COUNT, atomic_load(&f->next_page) - 1);
		err = pwrite_all(f, h, DB_HEADER_SIZE, 0);
	}
	if (!err && close(f->fd) != 0)
		err = file_error(f, "cannot close", errno);
	else if (err)
		close(f->fd);
	f->fd = -1;
	gm_btree_file_abort(f);
	return err;
}

static struct gm_error *alloc_page(struct gm_btree_file *f, uint32_t *ret)
{
	uint32_t page = atomic_fetch_add(&f->next_page, 1);
	if (page == f->lock_page)
		page = atomic_fetch_add(&f->next_page, 1);
	if (page == 0 || page >= UINT32_MAX - 1)
		return gm_error_create(GM_ERR_IO, "%s: more pages than an SQLite database can hold", f->path);
	*ret = page;
	return NULL;
}

/* ---- pages ---- */

static void page_reset(struct page *p, uint32_t page_size, bool interior)
{
	memset(p->buf, 0, page_size);
	p->header = interior ? 12 : 8;
	p->ncells = 0;
	p->content = page_size;
}

static bool page_fits(const struct page *p, uint32_t len, uint32_t slack)
{
	return p->content >= p->header + 2 * p->ncells + 2 + len + slack;
}

static void page_add(struct page *p, const uint8_t *cell, uint32_t len)
{
	p->content -= len;
	memcpy(p->buf + p->content, cell, len);
	put_be16(p->buf + p->header + 2 * p->ncells, p->content);
	p->ncells++;
}

/* Fill in the page header and write the page as PAGE. */
static struct gm_error *page_write(struct gm_btree_file *f, struct page *p, uint8_t type, uint32_t right_child,
				   uint32_t page)
{
	p->buf[0] = type;
	put_be16(p->buf + 1, 0);             /* no freeblocks */
	put_be16(p->buf + 3, p->ncells);
	put_be16(p->buf + 5, p->content == 65536 ? 0 : p->content);
	p->buf[7] = 0;                        /* no fragmented bytes */
	if (p->header == 12)
		put_be32(p->buf + 8, right_child);
	return pwrite_all(f, p->buf, f->page_size, (uint64_t)(page - 1) * f->page_size);
}

/* ---- records ---- */

static uint32_t serial_type(const struct gm_btree_file *f, int64_t v, uint32_t *len)
{
	static const uint32_t lens[] = { 0, 1, 2, 3, 4, 6, 8 };
	uint32_t t;
	if (f->small_ints && (v == 0 || v == 1)) {
		*len = 0;
		return 8 + (uint32_t)v;
	}
	if (v >= -128 && v <= 127)
		t = 1;
	else if (v >= -32768 && v <= 32767)
		t = 2;
	else if (v >= -8388608 && v <= 8388607)
		t = 3;
	else if (v >= INT32_MIN && v <= INT32_MAX)
		t = 4;
	else if (v >= -(1ll << 47) && v < (1ll << 47))
		t = 5;
	else
		t = 6;
	*len = lens[t];
	return t;
}

/* The record of a row into OUT; its length.  Trailing NULL columns are
 * left out: SQLite reads a column past a record's end as the column's
 * default, NULL in the tables written here (what ALTER TABLE ADD COLUMN
 * relies on), so a table's rarely set columns cost nothing when last. */
static uint32_t encode_record(const struct gm_btree *b, const int64_t *values, uint64_t null_mask, uint8_t *out)
{
	int ncols = b->ncols;
	while (ncols > 1 && (null_mask & (1ull << (ncols - 1))))
		ncols--;
	uint32_t header = 1 + (uint32_t)ncols;   /* < 128: every varint here is one byte */
	uint8_t *types = out + 1, *body = out + header;
	out[0] = (uint8_t)header;
	for (int c = 0; c < ncols; c++) {
		if (null_mask & (1ull << c)) {
			types[c] = 0;
			continue;
		}
		uint32_t len;
		types[c] = (uint8_t)serial_type(b->f, values[c], &len);
		uint64_t v = (uint64_t)values[c];
		for (uint32_t i = len; i > 0; i--) {
			body[i - 1] = (uint8_t)v;
			v >>= 8;
		}
		body += len;
	}
	return (uint32_t)(body - out);
}

/* ---- levels ---- */

static struct gm_error *level_push(struct gm_btree *b, int l, uint32_t child, const uint8_t *key, uint32_t key_len);

static uint8_t leaf_type(const struct gm_btree *b)
{
	return b->kind == GM_BTREE_TABLE ? PAGE_TABLE_LEAF : PAGE_INDEX_LEAF;
}

static uint8_t interior_type(const struct gm_btree *b)
{
	return b->kind == GM_BTREE_TABLE ? PAGE_TABLE_INTERIOR : PAGE_INDEX_INTERIOR;
}

/* The level's held-back (child, key) as an interior cell in CELL; its length. */
static uint32_t pending_cell(const struct level *lv, uint8_t cell[MAX_CELL])
{
	put_be32(cell, lv->pending_child);
	memcpy(cell + 4, lv->pending_key, lv->pending_len);
	return 4 + lv->pending_len;
}

/* The last cell of a page when the tree is finished: the slack kept in
 * every page guarantees it fits; if not, the writer has a bug. */
static struct gm_error *add_last_cell(const struct gm_btree *b, struct page *p, const uint8_t *cell, uint32_t len)
{
	if (!page_fits(p, len, 0))
		return gm_error_create(GM_ERR_INTERNAL, "%s: no room for a B-tree's last cell", b->f->path);
	page_add(p, cell, len);
	return NULL;
}

static struct gm_error *level_add_pending(struct gm_btree *b, struct level *lv, int l)
{
	uint8_t cell[MAX_CELL];
	uint32_t len = pending_cell(lv, cell);
	if (page_fits(&lv->page, len, b->interior_slack)) {
		page_add(&lv->page, cell, len);
		return NULL;
	}
	/* Full: the held-back child closes the page as its right-most
	 * pointer; its key separates this page from the next one above. */
	uint32_t page;
	struct gm_error *err = alloc_page(b->f, &page);
	if (!err)
		err = page_write(b->f, &lv->page, interior_type(b), lv->pending_child, page);
	if (!err)
		err = level_push(b, l + 1, page, lv->pending_key, lv->pending_len);
	page_reset(&lv->page, b->f->page_size, true);
	return err;
}

static struct gm_error *level_push(struct gm_btree *b, int l, uint32_t child, const uint8_t *key, uint32_t key_len)
{
	if (l == MAX_LEVELS)
		return gm_error_create(GM_ERR_INTERNAL, "%s: B-tree deeper than %d levels", b->f->path, MAX_LEVELS);
	struct level *lv = &b->levels[l];
	if (l == b->nlevels) {
		lv->page.buf = malloc(b->f->page_size);
		if (!lv->page.buf)
			return &gm_error_nomem;
		page_reset(&lv->page, b->f->page_size, true);
		b->nlevels++;
	}
	struct gm_error *err = lv->has_pending ? level_add_pending(b, lv, l) : NULL;
	lv->has_pending = true;
	lv->pending_child = child;
	memcpy(lv->pending_key, key, key_len);
	lv->pending_len = key_len;
	return err;
}

/* ---- building ---- */

struct gm_error *gm_btree_create(struct gm_btree_file *f, uint32_t root, enum gm_btree_kind kind, int ncols,
				 struct gm_btree **ret)
{
	if (ncols < 1 || ncols > MAX_COLUMNS || root < 2)
		return gm_error_create(GM_ERR_INTERNAL, "%s: bad B-tree (root page %u, %d columns)", f->path, root,
				       ncols);
	/* Rows must never spill to overflow pages: the largest index payload
	 * kept on a page is ((U-12)*64/255)-23 (table leaves allow more). */
	uint32_t max_record = 2 + 9 * (uint32_t)ncols;
	if (max_record > (f->page_size - 12) * 64 / 255 - 23)
		return gm_error_create(GM_ERR_INTERNAL, "%s: %d columns do not fit pages of %u bytes", f->path, ncols,
				       f->page_size);
	struct gm_btree *b = calloc(1, sizeof(*b));
	if (!b)
		return &gm_error_nomem;
	b->f = f;
	b->root = root;
	b->kind = kind;
	b->ncols = ncols;
	b->leaf.buf = malloc(f->page_size);
	if (!b->leaf.buf) {
		free(b);
		return &gm_error_nomem;
	}
	page_reset(&b->leaf, f->page_size, false);
	uint32_t max_leaf_cell = 2 * MAX_VARINT + max_record;
	b->leaf_slack = kind == GM_BTREE_INDEX ? max_leaf_cell + 2 : 0;
	b->interior_slack = 4 + max_leaf_cell + 2;
	*ret = b;
	return NULL;
}

static struct gm_error *close_leaf(struct gm_btree *b, const uint8_t *key, uint32_t key_len)
{
	uint32_t page;
	struct gm_error *err = alloc_page(b->f, &page);
	if (!err)
		err = page_write(b->f, &b->leaf, leaf_type(b), 0, page);
	if (!err)
		err = level_push(b, 0, page, key, key_len);
	page_reset(&b->leaf, b->f->page_size, false);
	return err;
}

static struct gm_error *append_table_row(struct gm_btree *b, int64_t rowid, const int64_t *values, uint64_t null_mask)
{
	uint8_t cell[MAX_CELL], record[MAX_RECORD];
	uint32_t rec_len = encode_record(b, values, null_mask, record);
	uint32_t len = put_varint(cell, rec_len);
	len += put_varint(cell + len, (uint64_t)rowid);
	memcpy(cell + len, record, rec_len);
	len += rec_len;
	struct gm_error *err = NULL;
	if (!page_fits(&b->leaf, len, 0)) {
		uint8_t key[MAX_VARINT];
		err = close_leaf(b, key, put_varint(key, (uint64_t)b->leaf_last_rowid));
	}
	page_add(&b->leaf, cell, len);
	b->leaf_last_rowid = rowid;
	return err;
}

static struct gm_error *append_index_entry(struct gm_btree *b, const int64_t *values, uint64_t null_mask)
{
	uint8_t record[MAX_RECORD];
	uint32_t rec_len = encode_record(b, values, null_mask, record);
	struct gm_error *err = NULL;
	if (b->has_pending) {
		if (page_fits(&b->leaf, b->pending_len, b->leaf_slack))
			page_add(&b->leaf, b->pending, b->pending_len);
		else
			err = close_leaf(b, b->pending, b->pending_len);  /* the held-back entry divides */
	}
	b->has_pending = true;
	b->pending_len = put_varint(b->pending, rec_len);
	memcpy(b->pending + b->pending_len, record, rec_len);
	b->pending_len += rec_len;
	return err;
}

struct gm_error *gm_btree_append(struct gm_btree *b, int64_t rowid, const int64_t *values, uint64_t null_mask)
{
	b->nrows++;
	if (b->kind == GM_BTREE_TABLE)
		return append_table_row(b, rowid, values, null_mask);
	return append_index_entry(b, values, null_mask);
}

/* The last page of each level becomes the right-most child of the level
 * above; the top level's page is written over the root. */
static struct gm_error *finish_levels(struct gm_btree *b)
{
	struct gm_error *err = b->has_pending ? add_last_cell(b, &b->leaf, b->pending, b->pending_len) : NULL;
	if (err)
		return err;
	if (b->nlevels == 0)
		return page_write(b->f, &b->leaf, leaf_type(b), 0, b->root);
	uint32_t child;
	err = alloc_page(b->f, &child);
	if (!err)
		err = page_write(b->f, &b->leaf, leaf_type(b), 0, child);
	for (int l = 0; l < b->nlevels && !err; l++) {
		struct level *lv = &b->levels[l];
		uint8_t cell[MAX_CELL];
		if (lv->has_pending)
			err = add_last_cell(b, &lv->page, cell, pending_cell(lv, cell));
		uint32_t page = b->root;
		if (!err && l + 1 < b->nlevels)
			err = alloc_page(b->f, &page);
		if (!err)
			err = page_write(b->f, &lv->page, interior_type(b), child, page);
		child = page;
	}
	return err;
}

struct gm_error *gm_btree_finish(struct gm_btree *b, struct gm_error *err)
{
	if (!err && b->nrows)
		err = finish_levels(b);
	for (int l = 0; l < b->nlevels; l++)
		free(b->levels[l].page.buf);
	free(b->leaf.buf);
	free(b);
	return err;
}
