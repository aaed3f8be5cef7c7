/* gomortem path: a shortest path from a GC root to the object holding an
 * address, read from an analysis database (objects.path_parent/path_root,
 * which the breadth-first marking recorded), with the field names and
 * offsets along the way. */
#include <getopt.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/pprof/analysis_db.h"
#include "cli.h"
#include "analyzer/util/error.h"

static const char path_usage[] =
	"usage: gomortem path DB ADDR\n"
	"\n"
	"Print a shortest path from a GC root to the heap object containing ADDR\n"
	"(hex with 0x, or decimal), one step per line: the root, then each object\n"
	"with its type and the field (or offset) of the pointer that leads on.\n"
	"\n"
	"  -h, --help   show this help\n"
	"\n"
	"Exit status: 0 path printed; 12 ADDR is not in a reachable object (garbage\n"
	"or not in the heap); others in docs/exit-codes.md.\n";

#define EXIT_NO_PATH 12
#define MAX_STEPS 100000

struct step {
	int64_t id, addr, size, off;   /* off: offset of the pointer to the next step */
	char *type;
};

static struct gm_error *db_error(sqlite3 *db, const char *what)
{
	return gm_error_create(GM_ERR_SQL, "%s: %s", what, sqlite3_errmsg(db));
}

/* The name of the member at OFF of type TYPE_ID, from the fields table; NULL if unknown. */
static char *field_at(sqlite3 *db, int64_t type_id, int64_t off)
{
	sqlite3_stmt *st;
	char *name = NULL;
	if (sqlite3_prepare_v2(db, "SELECT name, offset FROM fields WHERE type_id = ? AND offset <= ? "
			       "ORDER BY offset DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_int64(st, 1, type_id);
	sqlite3_bind_int64(st, 2, off);
	if (sqlite3_step(st) == SQLITE_ROW) {
		int64_t at = sqlite3_column_int64(st, 1);
		const char *n = (const char *)sqlite3_column_text(st, 0);
		if (n && asprintf(&name, at == off ? ".%s" : ".%s+%" PRId64, n, off - at) < 0)
			name = NULL;
	}
	sqlite3_finalize(st);
	return name;
}

static void print_step(sqlite3 *db, const struct step *s, bool last)
{
	printf("  0x%" PRIx64 " %s (%" PRId64 " bytes)", (uint64_t)s->addr, s->type ? s->type : "?", s->size);
	if (!last) {
		sqlite3_stmt *st;
		int64_t type_id = -1;
		int64_t header = 0;
		if (sqlite3_prepare_v2(db, "SELECT o.type_id, s.header_size FROM objects o JOIN spans s "
				       "ON s.id = o.span_id WHERE o.id = ?", -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, s->id);
			if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
				type_id = sqlite3_column_int64(st, 0);
				header = sqlite3_column_int64(st, 1);
			}
			sqlite3_finalize(st);
		}
		/* Fields are offsets into the value, which starts after a malloc header. */
		char *field = type_id >= 0 && s->off >= header ? field_at(db, type_id, s->off - header) : NULL;
		if (field)
			printf(" %s", field);
		else
			printf(" +%" PRId64, s->off);
		free(field);
		printf(" ->");
	}
	putchar('\n');
}

/* Load the chain of objects from TARGET back to its root. */
static struct gm_error *load_chain(sqlite3 *db, int64_t target, struct step **ret, size_t *ret_n, int64_t *ret_root)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT o.id, o.addr, o.size, o.path_parent, o.path_off, o.path_root, t.name "
			       "FROM objects o LEFT JOIN types t ON t.id = o.type_id WHERE o.id = ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_error(db, "reading objects");
	struct step *steps = NULL;
	size_t n = 0;
	int64_t id = target, off = 0;
	*ret = NULL;
	*ret_n = 0;
	struct gm_error *err = NULL;
	while (id > 0 && n < MAX_STEPS && !err) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, id);
		if (sqlite3_step(st) != SQLITE_ROW) {
			err = db_error(db, "object missing from the database");
			break;
		}
		struct step *grown = realloc(steps, (n + 1) * sizeof(*steps));
		if (!grown) {
			err = &gm_error_nomem;
			break;
		}
		steps = grown;
		const unsigned char *type = sqlite3_column_text(st, 6);
		steps[n] = (struct step){ sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
					  sqlite3_column_int64(st, 2), off, type ? strdup((const char *)type) : NULL };
		n++;
		*ret_root = sqlite3_column_int64(st, 5);
		off = sqlite3_column_int64(st, 4);
		id = sqlite3_column_type(st, 3) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	*ret = steps;
	*ret_n = n;
	return err;
}

static void print_root(sqlite3 *db, int64_t root)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT kind, name, type_name, goid FROM roots WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, root);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *type = sqlite3_column_text(st, 2);
		printf("root (%s) %s", sqlite3_column_text(st, 0), sqlite3_column_text(st, 1));
		if (type)
			printf(" %s", type);
		if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			printf(" in goroutine %lld", (long long)sqlite3_column_int64(st, 3));
		printf(" ->\n");
	}
	sqlite3_finalize(st);
}

static int print_path(sqlite3 *db, uint64_t addr)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT id, reachable FROM objects WHERE addr <= ? AND ? < addr + size "
			       "ORDER BY addr DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return gm_error_report(db_error(db, "reading objects"));
	sqlite3_bind_int64(st, 1, (int64_t)addr);
	sqlite3_bind_int64(st, 2, (int64_t)addr);
	bool found = sqlite3_step(st) == SQLITE_ROW;
	int64_t target = found ? sqlite3_column_int64(st, 0) : 0;
	bool live = found && sqlite3_column_int64(st, 1) == 1;
	sqlite3_finalize(st);
	if (!live) {
		fprintf(stderr, "gomortem: 0x%" PRIx64 " is %s\n", addr,
			found ? "in an unreachable object (garbage)" : "not in a heap object");
		return EXIT_NO_PATH;
	}
	struct step *steps = NULL;
	size_t n = 0;
	int64_t root = 0;
	struct gm_error *err = load_chain(db, target, &steps, &n, &root);
	if (!err) {
		print_root(db, root);
		for (size_t i = n; i-- > 0;)
			print_step(db, &steps[i], i == 0);
	}
	for (size_t i = 0; i < n; i++)
		free(steps[i].type);
	free(steps);
	return err ? gm_error_report(err) : 0;
}

int cmd_path(int argc, char **argv)
{
	int status = cli_help_only(argc, argv, "path", path_usage);
	if (status >= 0)
		return status;
	if (argc - optind != 2)
		return cli_usage_error("path", "expected DB and ADDR");
	char *end;
	uint64_t addr = strtoull(argv[optind + 1], &end, 0);
	if (*end || end == argv[optind + 1])
		return cli_usage_error("path", "ADDR '%s' is not a number", argv[optind + 1]);
	sqlite3 *db = NULL;
	struct gm_error *err = analysis_db_open(argv[optind], &db);
	if (!err)
		err = analysis_db_require_graph(db, argv[optind], "path");
	if (err) {
		sqlite3_close(db);
		return gm_error_report(err);
	}
	status = print_path(db, addr);
	sqlite3_close(db);
	return status;
}
