/* The heap-content SQL functions as a loadable SQLite extension:
 *   sqlite3 heap.db
 *   sqlite> .load /path/to/libgomortem_sqlite
 *   sqlite> SELECT field(id, 'Name') FROM objects WHERE ...;
 * The core and executable are the ones the database's meta table names. */
#include <stddef.h>
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include "heapfuncs.h"
#include "../store/store.h"

int sqlite3_gomortemsqlite_init(sqlite3 *db, char **err, const sqlite3_api_routines *api);

int sqlite3_gomortemsqlite_init(sqlite3 *db, char **err, const sqlite3_api_routines *api)
{
	SQLITE_EXTENSION_INIT2(api);
	(void)err;
	int rc = gm_heapfuncs_register(db, NULL, NULL);
	/* gomortem's views, which call the functions, as TEMP views (heapfuncs.h);
	 * in a database that is not gomortem's they fail, and nothing is lost. */
	if (rc == SQLITE_OK)
		gm_schema_shadow_views(db);
	return rc;
}
