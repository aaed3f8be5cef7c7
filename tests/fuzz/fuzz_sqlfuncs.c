/* libFuzzer target: the heap SQL functions (go_value, go_hash, field,
 * go_string, go_elems, go_type) over a database someone crafted.
 *
 * The database is a real analysis (GOMORTEM_FUZZ_DB, of a corpus core that
 * stays where its meta says), loaded once into memory; the input is a list
 * of changes to the rows the queries read (an object's address, size, type
 * or span, its type's name and size, its span's header size and bounds),
 * applied in a transaction that is rolled back after the queries.  Any
 * input must give values or NULLs or SQL errors: never a crash, a leak,
 * undefined behaviour or a query that does not end (libFuzzer -timeout). */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/sqlfuncs/heapfuncs.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The objects the queries read: the first typed ones. */
#define NOBJECTS 24
#define PICK "(SELECT id FROM objects WHERE type_id IS NOT NULL ORDER BY id LIMIT 1 OFFSET ?2)"

static sqlite3 *db;

/* What a change record can set: a column of a row related to object ?2. */
static const char *const changes[] = {
	"UPDATE objects SET addr = ?1 WHERE id = " PICK,
	"UPDATE objects SET size = ?1 WHERE id = " PICK,
	"UPDATE objects SET type_id = ?1 WHERE id = " PICK,
	"UPDATE objects SET span_id = ?1 WHERE id = " PICK,
	"UPDATE types SET name = ?1 WHERE id = (SELECT type_id FROM objects WHERE id = " PICK ")",
	"UPDATE types SET size = ?1 WHERE id = (SELECT type_id FROM objects WHERE id = " PICK ")",
	"UPDATE types SET kind = ?1 WHERE id = (SELECT type_id FROM objects WHERE id = " PICK ")",
	"UPDATE spans SET header_size = ?1 WHERE id = (SELECT span_id FROM objects WHERE id = " PICK ")",
	"UPDATE spans SET base = ?1 WHERE id = (SELECT span_id FROM objects WHERE id = " PICK ")",
	"UPDATE spans SET elem_size = ?1 WHERE id = (SELECT span_id FROM objects WHERE id = " PICK ")",
};
#define NCHANGES (sizeof(changes) / sizeof(changes[0]))

static const char *const queries[] = {
	"SELECT go_value(id), go_hash(id), field(id, 'len'), field(id, '[1]'), field(id, 'Name'), "
	"field(id, 'next.next.Name') FROM objects WHERE type_id IS NOT NULL ORDER BY id LIMIT 24",
	"SELECT go_string(addr, size) FROM objects WHERE type_id IS NOT NULL ORDER BY id LIMIT 24",
	"SELECT COUNT(*), SUM(length(value)) FROM objects o, go_elems(o.id) "
	"WHERE o.id IN (SELECT id FROM objects WHERE type_id IS NOT NULL ORDER BY id LIMIT 24)",
	"CREATE VIRTUAL TABLE temp.leaves USING go_type(main.Leaf)",
	"SELECT * FROM temp.leaves LIMIT 24",
	"DROP TABLE temp.leaves",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	const char *path = getenv("GOMORTEM_FUZZ_DB");
	FILE *f = path ? fopen(path, "rb") : NULL;
	if (!f) {
		fprintf(stderr, "fuzz_sqlfuncs: set GOMORTEM_FUZZ_DB to an analysis database\n");
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *image = sqlite3_malloc64((sqlite3_uint64)size);
	if (!image || fread(image, 1, (size_t)size, f) != (size_t)size || sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    sqlite3_deserialize(db, "main", image, size, size,
				SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE) != SQLITE_OK ||
	    gm_heapfuncs_register(db, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "fuzz_sqlfuncs: cannot load %s\n", path);
		exit(1);
	}
	fclose(f);
	return 0;
}

/* Apply the change records of DATA: [change, object, kind, len, value...]. */
static void apply_changes(const uint8_t *data, size_t size)
{
	sqlite3_stmt *st[NCHANGES] = { 0 };
	size_t i = 0;
	while (i + 4 <= size) {
		unsigned which = data[i] % NCHANGES, object = data[i + 1] % NOBJECTS, kind = data[i + 2] % 3;
		size_t len = data[i + 3] % 64;
		i += 4;
		if (len > size - i)
			len = size - i;
		if (!st[which] && sqlite3_prepare_v2(db, changes[which], -1, &st[which], NULL) != SQLITE_OK)
			break;
		if (kind == 0) {
			int64_t v = 0;
			memcpy(&v, data + i, len < 8 ? len : 8);
			sqlite3_bind_int64(st[which], 1, v);
		} else if (kind == 1) {
			sqlite3_bind_text(st[which], 1, (const char *)data + i, (int)len, SQLITE_TRANSIENT);
		} else {
			sqlite3_bind_null(st[which], 1);
		}
		sqlite3_bind_int(st[which], 2, (int)object);
		sqlite3_step(st[which]);
		sqlite3_reset(st[which]);
		i += len;
	}
	for (size_t k = 0; k < NCHANGES; k++)
		sqlite3_finalize(st[k]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sqlite3_exec(db, "SAVEPOINT fuzz", NULL, NULL, NULL);
	apply_changes(data, size);
	for (size_t q = 0; q < sizeof(queries) / sizeof(queries[0]); q++)
		sqlite3_exec(db, queries[q], NULL, NULL, NULL);
	sqlite3_exec(db, "ROLLBACK TO fuzz; RELEASE fuzz", NULL, NULL, NULL);
	return 0;
}
