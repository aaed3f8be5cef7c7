/* gomortem sql: run SQL over an analysis database and print the rows as an
 * aligned table, CSV or JSON.  The database is opened read-only. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "analyzer/util/files.h"
#include "analyzer/util/strbuf.h"
#include "analyzer/util/error.h"
#include "json_writer.h"
#include "sql_output.h"
#include "analyzer/sqlfuncs/heapfuncs.h"
#include "analyzer/store/store.h"
#include "analyzer/util/terminal.h"

static const char sql_usage[] =
	"usage: gomortem sql DB SQL [--csv | --json] [--header | --no-header]\n"
	"\n"
	"Run SQL over the SQLite database DB (opened read-only) and print the rows of\n"
	"every statement that returns columns, in order.  SQL may hold several\n"
	"statements separated by ';'.\n"
	"\n"
	"The default output is a table: a header, a line of dashes, then the rows,\n"
	"columns padded to their widest value (a cell shows at most 80 characters,\n"
	"longer ones end in \"...\"), numbers right-aligned, NULL shown as NULL, BLOBs\n"
	"as x'hex' (first 32 bytes), control characters escaped (\\n, \\t, \\xHH; C1\n"
	"controls and bytes that are not UTF-8 too).\n"
	"Integers in a column named addr, *_addr, base, limit, pc, sp, fp, stack_lo,\n"
	"stack_hi, start, end, first_object or dst print as 0x hex.\n"
	"\"(N rows)\" follows each table when stdout is a terminal.  A table stops at\n"
	"1000000 rows (a note on stderr says so); --csv and --json stream any number.\n"
	"\n"
	"  --csv        RFC 4180 CSV (CRLF line ends); NULL is an empty field, BLOBs\n"
	"               are hex, integers decimal; one header line per statement;\n"
	"               control characters escaped when stdout is a terminal\n"
	"  --json       a JSON array of objects (column name -> value) holding the rows\n"
	"               of every statement; NULL is null, BLOBs are hex strings; what\n"
	"               SQLite marks as JSON (json_object() and the other JSON functions'\n"
	"               results) nests as JSON; a sort not in an index's order or a\n"
	"               flattened subquery drops the mark, which json(col) in the\n"
	"               outermost SELECT sets again\n"
	"  --header     print the column names (default; table and CSV)\n"
	"  --no-header  do not print the column names\n"
	"  --core CORE  the core the database was made from (default: meta.core_path)\n"
	"  --exe EXE    its executable (default: meta.exe_path)\n"
	"  -h, --help   show this help\n"
	"\n"
	"Heap contents are read from the core on demand (the database stores none):\n"
	"  go_string(addr, len), field(object_id, 'Path.To[2].Field'), go_value(object_id),\n"
	"  and go_type('main.T') as a table: one row per object of that type, with\n"
	"  object_id, object_addr and one column per struct member, e.g.\n"
	"    SELECT ID, Name FROM go_type('main.Leaf') WHERE Name LIKE 'key-%'\n"
	"\n"
	"When SQL starts with '-', end the options with --: gomortem sql --csv -- DB SQL\n"
	"\n"
	"Exit status: 0 ok; 3 DB cannot be opened or read; 11 DB is not an SQLite\n"
	"database, or an SQL error; others in docs/exit-codes.md.\n";

#define BUSY_TIMEOUT_MS 5000

const char sql_hex_digits[] = "0123456789abcdef";

/* ---- errors ---- */

/* Wrap SQLite's error RC: out of memory, an unreadable DB (exit 3), a file
 * that is not a database (exit 11), else an SQL error (exit 11). */
struct gm_error *sqlite_error(sqlite3 *db, int rc, const char *db_path)
{
	const char *message = sqlite3_errmsg(db);
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return &gm_error_nomem;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		return gm_error_create(GM_ERR_IO, "%s: %s", db_path, message);
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return gm_error_create(GM_ERR_SQL, "%s: %s", db_path, message);
	default:
		return gm_error_create(GM_ERR_SQL, "SQL error: %s", message);
	}
}

struct gm_error *stdout_error(void)
{
	return gm_error_create(GM_ERR_IO, "stdout: write error: %s", strerror(errno));
}

/* ---- values as text ---- */

/* The shortest of %.15g, %.16g, %.17g that reads back as V, with ".0" added
 * when it would otherwise look like an integer. */
static void format_real(double v, char *buf, size_t len)
{
	for (int precision = 15; precision <= 17; precision++) {
		snprintf(buf, len, "%.*g", precision, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (!strpbrk(buf, ".eEnN"))
		strncat(buf, ".0", len - strlen(buf) - 1);
}

/* An INTEGER or REAL column I: integers in decimal, or in hex when HEX. */
void format_number(sqlite3_stmt *stmt, int i, bool hex, char *buf, size_t len)
{
	if (sqlite3_column_type(stmt, i) == SQLITE_FLOAT)
		format_real(sqlite3_column_double(stmt, i), buf, len);
	else if (hex)
		snprintf(buf, len, "0x%" PRIx64, (uint64_t)sqlite3_column_int64(stmt, i));
	else
		snprintf(buf, len, "%" PRId64, (int64_t)sqlite3_column_int64(stmt, i));
}

/* Addresses are what people look at: these columns print integers in hex
 * (the schema's address columns: objects, spans, goroutines, frames,
 * thread_frames, mappings, edges). */
bool is_address_column(const char *name)
{
	static const char *const names[] = { "addr", "base", "limit", "pc", "sp", "fp", "stack_lo", "stack_hi",
					     "start", "end", "first_object", "dst" };
	size_t len = strlen(name);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i]) == 0)
			return true;
	return len >= 5 && strcasecmp(name + len - 5, "_addr") == 0;
}

/* Column I's text and its length in bytes. */
struct gm_error *column_text(sqlite3_stmt *stmt, int i,
				    const unsigned char **ret, size_t *ret_len)
{
	const unsigned char *text = sqlite3_column_text(stmt, i);
	if (!text)  /* the column is TEXT: only out-of-memory gives NULL */
		return &gm_error_nomem;
	*ret_len = (size_t)sqlite3_column_bytes(stmt, i);
	*ret = text;
	return NULL;
}

/* Column I's BLOB and its length in bytes. */
struct gm_error *column_blob(sqlite3_stmt *stmt, int i, const unsigned char **ret, size_t *ret_len)
{
	const unsigned char *blob = sqlite3_column_blob(stmt, i);
	*ret_len = (size_t)sqlite3_column_bytes(stmt, i);
	if (!blob && *ret_len)  /* only out-of-memory gives NULL for a non-empty BLOB */
		return &gm_error_nomem;
	*ret = blob;
	return NULL;
}

/* Step STMT once: *ret_row tells whether a row is ready. */
struct gm_error *step(sqlite3 *db, sqlite3_stmt *stmt, const char *db_path, bool *ret_row)
{
	int rc = sqlite3_step(stmt);
	*ret_row = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return NULL;
	return sqlite_error(db, rc, db_path);
}

/* ---- statements ---- */

static struct gm_error *run_statement(struct sql_output *out, sqlite3 *db, sqlite3_stmt *stmt)
{
	struct gm_error *err;
	bool row;
	if (sqlite3_column_count(stmt) == 0) {
		while (!(err = step(db, stmt, out->options->db_path, &row)) && row)
			;
		return err;
	}
	switch (out->options->format) {
	case FORMAT_CSV: err = csv_statement(out, db, stmt); break;
	case FORMAT_JSON: err = json_statement(out, db, stmt); break;
	default: err = table_statement(out, db, stmt); break;
	}
	out->result_sets++;
	return err;
}

/* Prepare and run each statement of the SQL text in turn. */
static struct gm_error *run_all(sqlite3 *db, const struct sql_options *options)
{
	struct sql_output out = { .options = options };
	const char *sql = options->sql;
	while (*sql) {
		sqlite3_stmt *stmt;
		const char *tail;
		int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, &tail);
		if (rc != SQLITE_OK)
			return sqlite_error(db, rc, options->db_path);
		if (!stmt) {  /* whitespace, a comment or a lone ';' */
			if (tail == sql)
				break;
			sql = tail;
			continue;
		}
		sql = tail;
		struct gm_error *err = run_statement(&out, db, stmt);
		rc = sqlite3_finalize(stmt);
		if (!err && rc != SQLITE_OK)
			err = sqlite_error(db, rc, options->db_path);
		if (err)
			return err;
	}
	if (options->format == FORMAT_JSON) {
		json_begin(&out);
		gm_json_end_array(&out.json);
	}
	return NULL;
}

/* ---- the database ---- */

/* Fail early, with errno's words, on a path SQLite could not read. */

/* Read the schema once, so that a file that is not a database is named as such. */
static struct gm_error *probe_database(sqlite3 *db, const char *path)
{
	sqlite3_stmt *stmt;
	int rc = sqlite3_prepare_v2(db, "PRAGMA schema_version", -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return sqlite_error(db, rc, path);
	rc = sqlite3_step(stmt);
	int finalized = sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sqlite_error(db, rc, path);
	if (finalized != SQLITE_OK)
		return sqlite_error(db, finalized, path);
	return NULL;
}

static struct gm_error *open_database(const char *path, sqlite3 **ret)
{
	struct gm_error *err = gm_check_readable_file(path);
	if (err)
		return err;
	sqlite3 *db;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	if (rc == SQLITE_OK) /* no function runs from the file's schema */
		rc = sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	if (rc != SQLITE_OK) {
		if (!db)
			return &gm_error_nomem;
		err = gm_error_create(GM_ERR_IO, "%s: cannot open: %s", path, sqlite3_errmsg(db));
	} else {
		err = probe_database(db, path);
	}
	if (err) {
		sqlite3_close(db);
		return err;
	}
	*ret = db;
	return NULL;
}

/* go_type('main.T') in FROM clauses: SQLite's table-valued functions have
 * fixed columns, but go_type has one per member of T, so each use becomes a
 * temporary virtual table "go_type:main.T" made with the go_type module. */
static struct gm_error *expand_go_type(sqlite3 *db, const char *sql, char **ret)
{
	sqlite3_str *out = sqlite3_str_new(db);
	const char *p = sql;
	struct gm_error *err = NULL;
	for (const char *hit; !err && (hit = strstr(p, "go_type('")) != NULL;) {
		const char *name = hit + strlen("go_type('"), *end = strstr(name, "')");
		if (!end)
			break;
		char *table = sqlite3_mprintf("go_type:%.*s", (int)(end - name), name);
		char *ddl = sqlite3_mprintf("CREATE VIRTUAL TABLE IF NOT EXISTS temp.\"%w\" USING go_type(%Q)", table,
					    table + strlen("go_type:"));
		char *msg = NULL;
		if (!table || !ddl)
			err = &gm_error_nomem;
		else if (sqlite3_exec(db, ddl, NULL, NULL, &msg) != SQLITE_OK)
			err = gm_error_create(GM_ERR_SQL, "SQL error: go_type: %s", msg ? msg : sqlite3_errmsg(db));
		else
			sqlite3_str_appendf(out, "%.*s\"%w\"", (int)(hit - p), p, table);
		sqlite3_free(msg);
		sqlite3_free(ddl);
		sqlite3_free(table);
		p = end + 2;
	}
	sqlite3_str_appendall(out, p);
	char *text = sqlite3_str_finish(out);
	if (err || !text) {
		sqlite3_free(text);
		return err ? err : &gm_error_nomem;
	}
	*ret = text;
	return NULL;
}

/* ---- command line ---- */

/* Parse the command line into *RET; *RET_RUN is false when the command is done
 * (help or a usage error) and the returned status is final. */
static int parse_options(int argc, char **argv, struct sql_options *ret, bool *ret_run)
{
	static const struct option longopts[] = {
		{ "csv", no_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "header", no_argument, NULL, 'H' },
		{ "no-header", no_argument, NULL, 'n' },
		{ "core", required_argument, NULL, 'C' },
		{ "exe", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sql_options options = { .format = FORMAT_TABLE, .header = true };
	bool csv = false, json = false;
	int c;
	*ret_run = false;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': csv = true; break;
		case 'j': json = true; break;
		case 'H': options.header = true; break;
		case 'n': options.header = false; break;
		case 'C': options.core_path = optarg; break;
		case 'E': options.exe_path = optarg; break;
		case 'h': fputs(sql_usage, stdout); return 0;
		default: return cli_usage_error("sql", "bad option");
		}
	}
	if (csv && json)
		return cli_usage_error("sql", "--csv and --json exclude each other");
	if (argc - optind != 2)
		return cli_usage_error("sql", "expected DB and SQL arguments, got %d", argc - optind);
	options.format = csv ? FORMAT_CSV : json ? FORMAT_JSON : FORMAT_TABLE;
	options.db_path = argv[optind];
	options.sql = argv[optind + 1];
	*ret = options;
	*ret_run = true;
	return 0;
}

int cmd_sql(int argc, char **argv)
{
	struct sql_options options;
	bool run;
	int status = parse_options(argc, argv, &options, &run);
	if (!run)
		return status;
	sqlite3 *db;
	struct gm_error *err = open_database(options.db_path, &db);
	if (err)
		return gm_error_report(err);
	char *rewritten = NULL;
	if (gm_heapfuncs_register(db, options.core_path, options.exe_path) != SQLITE_OK)
		err = gm_error_create(GM_ERR_INTERNAL, "cannot register the heap functions: %s", sqlite3_errmsg(db));
	else
		gm_schema_shadow_views(db);  /* fails on a database that is not gomortem's: nothing lost */
	if (!err)
		err = expand_go_type(db, options.sql, &rewritten);
	if (!err) {
		options.sql = rewritten;
		err = run_all(db, &options);
	}
	sqlite3_free(rewritten);
	int rc = sqlite3_close(db);
	if (!err && rc != SQLITE_OK)
		err = gm_error_create(GM_ERR_INTERNAL, "%s: cannot close: %s", options.db_path,
				      sqlite3_errstr(rc));
	if (fflush(stdout) != 0 || ferror(stdout)) {
		gm_error_destroy(err);
		err = stdout_error();
	}
	return err ? gm_error_report(err) : 0;
}
