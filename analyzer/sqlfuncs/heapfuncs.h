/* heapfuncs: SQL functions that read heap contents out of the core on
 * demand, so the database itself holds no memory contents (cores carry
 * secrets).  The core and executable are found through the database's meta
 * table (core_path, exe_path) unless given.
 *
 *   go_string(addr, len)          the bytes at addr as text
 *   field(object_id, 'A.B[2].C')  a typed value out of an object: integers,
 *                                 floats, bools, strings as text, pointers
 *                                 (slices, maps, channels, interfaces) as
 *                                 the id of the object they point into
 *   go_value(object_id)           the whole object as JSON (depth- and
 *                                 length-limited)
 *   CREATE VIRTUAL TABLE t USING go_type(main.Leaf)
 *                                 one row per object of that type: id, addr,
 *                                 and one column per struct member
 */
#ifndef GOMORTEM_HEAPFUNCS_H
#define GOMORTEM_HEAPFUNCS_H

#include <sqlite3.h>

/* Register the functions and the go_type module on DB.  They may be called
 * only from SQL the user typed and TEMP views (SQLITE_DIRECTONLY), never
 * from a view or trigger of the database file: someone may have crafted it
 * to read the memory of whatever core its meta names.  gomortem's own views
 * that call them are made TEMP views by gm_schema_shadow_views (store.h).  CORE_PATH and
 * EXE_PATH may be NULL: then meta's paths are used when first needed.
 * Returns an SQLite result code. */
int gm_heapfuncs_register(sqlite3 *db, const char *core_path, const char *exe_path);

#endif
