-- gomortem analysis database: indexes and views, created after the load
-- (building indexes once is faster than maintaining them during inserts).

-- Indexes are few on purpose: building one over millions of rows costs more
-- than the whole heap walk.  Objects of a span have consecutive ids
-- (spans.first_object and up); an object's outgoing edges are together
-- (edges is clustered on src); a shortest path back to a root is in the
-- objects' path_* columns.  For many queries by type or by edge target,
-- create what they need once, on the tables behind the views (SQLite uses
-- an index on an expression where a query names that expression; the edges
-- view's dst is src + dst_delta):
--   CREATE INDEX objects_by_type ON objects_packed(type_id);
--   CREATE INDEX edges_by_dst ON edges_packed(src + dst_delta);
CREATE INDEX spans_by_class ON spans(size_class);
CREATE INDEX roots_by_dst ON roots(dst);

-- Per size class of in-use spans: how full the spans are.
--   spans           number of spans of the class
--   slots           object slots they have (sum of nelems)
--   allocated       slots holding an object
--   live            of those, objects reachable from a root
--   bytes_live      live * elem_size
--   bytes_in_use    allocated * elem_size
--   bytes_wasted    span bytes not holding an allocated object: free slots, the
--                   tail no slot fits in, and the heap bits / mark bits reserved
--                   at the end of small spans; for large objects (class 0), the
--                   tail of the span past the requested size (mspan.limit)
CREATE VIEW size_class_usage AS
SELECT size_class,
       CASE WHEN size_class = 0 THEN NULL ELSE elem_size END AS elem_size,
       COUNT(*) AS spans,
       SUM(nelems) AS slots,
       SUM(alloc_count) AS allocated,
       SUM(live_count) AS live,
       SUM(alloc_count * elem_size) AS bytes_in_use,
       SUM(live_count * elem_size) AS bytes_live,
       SUM(CASE WHEN size_class = 0 THEN end - "limit"
                ELSE (end - base) - alloc_count * elem_size END) AS bytes_wasted
FROM spans
WHERE state = 'in_use'
GROUP BY size_class
ORDER BY size_class;

-- Objects per type (NULL: type unknown): all, and the reachable ones
-- (from type_stats, which the analyzer sums per type).
CREATE VIEW type_histogram AS
SELECT t.name AS type, s.count, s.bytes, s.reachable_count, s.reachable_bytes
FROM type_stats s LEFT JOIN types t ON t.id = s.type_id
ORDER BY s.bytes DESC;

-- type_histogram by collection (types.collection): a map's parts, the
-- backing arrays of one element type of any length, as one row each;
-- exact_types says how many exact types the row sums.
CREATE VIEW collection_histogram AS
SELECT COALESCE(t.collection, t.name) AS collection, COUNT(*) AS exact_types,
       SUM(s.count) AS count, SUM(s.bytes) AS bytes,
       SUM(s.reachable_count) AS reachable_count, SUM(s.reachable_bytes) AS reachable_bytes
FROM type_stats s LEFT JOIN types t ON t.id = s.type_id
GROUP BY 1
ORDER BY bytes DESC;

-- Bytes kept alive per type: the retained sizes of its objects that have no
-- dominator of the same type, so that each object's bytes count once per
-- type (a linked list of T counts once, at its head; a B-tree whose nodes
-- and child arrays alternate, once, at its root): no row exceeds the
-- reachable bytes.
CREATE VIEW retained_by_type AS
SELECT t.name AS type, s.retained_objects AS objects, s.retained_bytes
FROM type_stats s LEFT JOIN types t ON t.id = s.type_id
WHERE s.retained_objects > 0
ORDER BY s.retained_bytes DESC;

-- Objects that keep the most memory alive, with the root of a shortest path to them.
CREATE VIEW top_retainers AS
SELECT o.id, o.addr, t.name AS type, o.size, o.retained,
       r.kind AS root_kind, r.name AS root
FROM objects o
LEFT JOIN types t ON t.id = o.type_id
LEFT JOIN roots r ON r.id = o.path_root
WHERE o.reachable = 1
ORDER BY o.retained DESC;

-- Allocated but unreachable objects (garbage the next GC frees) per type.
CREATE VIEW garbage_by_type AS
SELECT t.name AS type, s.garbage_count AS count, s.garbage_bytes AS bytes
FROM type_stats s LEFT JOIN types t ON t.id = s.type_id
WHERE s.garbage_count > 0
ORDER BY s.garbage_bytes DESC;

-- Where every mapped byte of the process went: rows whose bytes add up to
-- exactly SUM(mappings.end - mappings.start), the process's mapped address
-- space (PROT_NONE reservations included), in the order a report shows them.
--   category  what the bytes are; Go runtime rows start with "Go "
--   bytes     how many, address space: mapped, reserved or counted by the runtime
--   touched   how many of them the core shows touched (mappings.touched: saved
--             pages not all zeros), a lower bound of resident memory: exact
--             for the mapping rows and the arena index; the heap object rows
--             share the in-use spans' touched bytes (spans.touched), the
--             goroutine stacks row is the stack spans', the runtime's other
--             rows share the anonymous touched bytes outside spans and arena
--             index, each pool in row order, each row at most its bytes;
--             not-saved and released rows 0.  The touched column adds up to
--             SUM(mappings.touched)
--   source    how the figure is computed
-- The Go rows split the runtime's own Sys (HeapSys + StackSys + MSpanSys +
-- MCacheSys + BuckHashSys + GCSys + OtherSys) from the memstats table, the
-- in-use heap spans further split from the heap walk (objects, spans).  The
-- rest of the address space is split by what the core says of it:
--   not saved       end - start - in_core - from_exe per mapping: reservations
--                   with no access ('---', e.g. Go's arena reservations and
--                   thread stack guards), file pages the kernel did not dump,
--                   anonymous memory a truncated core lost;
--   file-backed     saved bytes (in_core + from_exe) of mappings with a path:
--                   the executable's text, rodata and data, shared libraries;
--   arena index     the runtime's heap arena index (mheap_.arenas' L2 arrays,
--                   32 MiB on linux/amd64, mapped with sysAllocOS outside Sys
--                   and mostly never touched): its bytes saved in the core,
--                   meta.arena_index_saved (0 in databases written before);
--   anonymous       saved bytes of anonymous mappings minus the runtime's Sys
--                   and the arena index: the executable's bss, C heap and
--                   thread stacks, the kernel's vdso.
-- The last assumes the runtime's memory is anonymous and saved, as the kernel
-- dumps every anonymous mapping it can read.  When it is not (a truncated
-- core, a counter the analysis could not read) that row is clamped at 0 and
-- "other mapped memory" holds what is left, so the rows still add up.
CREATE VIEW memory_breakdown AS
WITH
  ms AS (
    SELECT COALESCE(MAX(CASE WHEN name = 'HeapInuse' THEN value END), 0) AS heap_inuse,
           COALESCE(MAX(CASE WHEN name = 'HeapIdle' THEN value END), 0) AS heap_idle,
           COALESCE(MAX(CASE WHEN name = 'HeapReleased' THEN value END), 0) AS heap_released,
           COALESCE(MAX(CASE WHEN name = 'StackInuse' THEN value END), 0) AS stack_inuse,
           COALESCE(MAX(CASE WHEN name = 'StackSys' THEN value END), 0) AS stack_sys,
           COALESCE(MAX(CASE WHEN name = 'MSpanSys' THEN value END), 0) AS mspan_sys,
           COALESCE(MAX(CASE WHEN name = 'MCacheSys' THEN value END), 0) AS mcache_sys,
           COALESCE(MAX(CASE WHEN name = 'GCSys' THEN value END), 0) AS gc_sys,
           COALESCE(MAX(CASE WHEN name = 'BuckHashSys' THEN value END), 0) AS buckhash_sys,
           COALESCE(MAX(CASE WHEN name = 'OtherSys' THEN value END), 0) AS other_sys
    FROM memstats),
  obj AS (
    SELECT COALESCE(SUM(reachable_bytes), 0) AS live,
           COALESCE(SUM(garbage_bytes), 0) AS garbage,
           COALESCE(SUM(CASE WHEN reachable_bytes IS NULL THEN bytes END), 0) AS unmarked,
           COALESCE(SUM(bytes), 0) AS allocated
    FROM type_stats),
  sp AS (
    SELECT COALESCE(SUM(CASE WHEN state = 'in_use' THEN end - base END), 0) AS in_use,
           COALESCE(SUM(CASE WHEN state = 'in_use' THEN touched END), 0) AS touched_in_use,
           COALESCE(SUM(CASE WHEN state = 'manual' THEN touched END), 0) AS touched_manual
    FROM spans),
  mp AS (
    SELECT COALESCE(SUM(end - start), 0) AS total,
           COALESCE(SUM(touched), 0) AS touched,
           COALESCE(SUM(CASE WHEN perm = '---' THEN end - start - in_core - from_exe END), 0)
             AS unsaved_reserved,
           COALESCE(SUM(CASE WHEN perm <> '---' AND path IS NOT NULL
                             THEN end - start - in_core - from_exe END), 0) AS unsaved_file,
           COALESCE(SUM(CASE WHEN perm <> '---' AND path IS NULL
                             THEN end - start - in_core - from_exe END), 0) AS unsaved_anon,
           COALESCE(SUM(CASE WHEN path IS NOT NULL THEN in_core + from_exe END), 0) AS saved_file,
           COALESCE(SUM(CASE WHEN path IS NULL THEN in_core + from_exe END), 0) AS saved_anon,
           COALESCE(SUM(CASE WHEN path IS NOT NULL THEN touched END), 0) AS touched_file,
           COALESCE(SUM(CASE WHEN path IS NULL THEN touched END), 0) AS touched_anon
    FROM mappings),
  go AS (
    SELECT heap_inuse + heap_idle + stack_sys + mspan_sys + mcache_sys + gc_sys + buckhash_sys
           + other_sys AS sys
    FROM ms),
  ix AS (
    SELECT COALESCE(MAX(CASE WHEN key = 'arena_index_saved' THEN CAST(value AS INTEGER) END), 0) AS saved,
           COALESCE(MAX(CASE WHEN key = 'arena_index_touched' THEN CAST(value AS INTEGER) END), 0)
             AS touched
    FROM meta),
  -- pool: where a row's touched bytes come from when the row has no address
  -- range of its own: 'in_use' the in-use spans' touched pages, 'stacks' the
  -- manual (stack) spans', 'runtime' the anonymous touched bytes outside the
  -- spans and the arena index (span descriptors, bitmaps, free spans: the
  -- runtime maps only anonymous memory); NULL: touched is the row's own.
  parts(ord, category, bytes, source, pool, touched) AS (
    SELECT 1, 'Go heap: live objects', live, 'objects.size where reachable = 1', 'in_use', NULL
    FROM obj WHERE unmarked = 0
    UNION ALL SELECT 2, 'Go heap: garbage (allocated, unreachable)', garbage,
                     'objects.size where reachable = 0', 'in_use', NULL FROM obj WHERE unmarked = 0
    UNION ALL SELECT 2.5, 'Go heap: objects, live or garbage not known (analyze --heap-only)', unmarked,
                     'objects.size where reachable IS NULL', 'in_use', NULL FROM obj WHERE unmarked > 0
    UNION ALL SELECT 3, 'Go heap: free slots in in-use spans', in_use - allocated,
                     'in-use spans (end - base) - objects.size', 'in_use', NULL FROM sp, obj
    UNION ALL SELECT 4, 'Go heap: in-use spans the walk did not read', heap_inuse - in_use,
                     'memstats HeapInuse - in-use spans (end - base)', 'runtime', NULL FROM ms, sp
    UNION ALL SELECT 5, 'Go heap: free spans, not released', heap_idle - heap_released,
                     'memstats HeapIdle - HeapReleased', 'runtime', NULL FROM ms
    UNION ALL SELECT 6, 'Go heap: free spans, released to the OS', heap_released,
                     'memstats HeapReleased', NULL, 0 FROM ms
    UNION ALL SELECT 7, 'Go stacks: goroutine stacks', stack_inuse, 'memstats StackInuse', 'stacks', NULL FROM ms
    UNION ALL SELECT 8, 'Go stacks: other', stack_sys - stack_inuse,
                     'memstats StackSys - StackInuse', 'runtime', NULL FROM ms
    UNION ALL SELECT 9, 'Go metadata: span descriptors', mspan_sys, 'memstats MSpanSys', 'runtime', NULL FROM ms
    UNION ALL SELECT 10, 'Go metadata: per-P caches', mcache_sys, 'memstats MCacheSys', 'runtime', NULL FROM ms
    UNION ALL SELECT 11, 'Go metadata: GC (bitmaps, work buffers)', gc_sys, 'memstats GCSys', 'runtime', NULL
                     FROM ms
    UNION ALL SELECT 12, 'Go metadata: profiling buckets', buckhash_sys,
                     'memstats BuckHashSys', 'runtime', NULL FROM ms
    UNION ALL SELECT 13, 'Go metadata: other', other_sys, 'memstats OtherSys', 'runtime', NULL FROM ms
    UNION ALL SELECT 13.5, 'runtime metadata outside Sys: heap arena index', ix.saved,
                     'meta arena_index_saved: mheap_.arenas'' L2 arrays saved in the core', NULL, ix.touched
                     FROM ix
    UNION ALL SELECT 14, 'file-backed mappings (executable, shared libraries)', saved_file,
                     'mappings with a path: in_core + from_exe', NULL, touched_file FROM mp
    UNION ALL SELECT 15, 'anonymous memory outside the Go runtime', MAX(saved_anon - sys - ix.saved, 0),
                     'anonymous mappings: in_core + from_exe - memstats Sys - the arena index', NULL,
                     MAX(touched_anon - ix.touched - touched_in_use - touched_manual
                         - (sys - heap_released - heap_inuse - stack_inuse), 0)
                     FROM mp, go, ix, ms, sp
    UNION ALL SELECT 16, 'not saved: reserved address space (no access)', unsaved_reserved,
                     'mappings with perm ''---'': end - start - in_core - from_exe', NULL, 0 FROM mp
    UNION ALL SELECT 17, 'not saved: file-backed', unsaved_file,
                     'mappings with a path: end - start - in_core - from_exe', NULL, 0 FROM mp
    UNION ALL SELECT 18, 'not saved: anonymous', unsaved_anon,
                     'anonymous mappings: end - start - in_core - from_exe', NULL, 0 FROM mp),
  pools(pool, touched) AS (
    SELECT 'in_use', touched_in_use FROM sp
    UNION ALL SELECT 'stacks', touched_manual FROM sp
    UNION ALL SELECT 'runtime', MAX(touched_anon - ix.touched - touched_in_use - touched_manual, 0)
              FROM mp, ix, sp),
  -- The rows of a pool take its touched bytes in row order, each at most its
  -- own bytes: their sum never passes what the core shows touched, and a
  -- runtime that counts more than was touched (GC bitmaps reserved for a
  -- bigger heap, a bucket table of zeros) sees its last rows cut.
  drawn AS (
    SELECT p.*, SUM(bytes) OVER (PARTITION BY pool ORDER BY ord
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
    FROM parts p),
  shared AS (
    SELECT ord, category, bytes, source,
           CASE WHEN d.pool IS NULL THEN d.touched
                ELSE MAX(MIN(bytes, pools.touched - COALESCE(before, 0)), 0) END AS touched
    FROM drawn d LEFT JOIN pools ON pools.pool = d.pool),
  rest AS (
    SELECT 19 AS ord, 'other mapped memory' AS category,
           (SELECT total FROM mp) - (SELECT SUM(bytes) FROM parts) AS bytes,
           'SUM(mappings.end - start) - the rows above' AS source,
           MAX((SELECT touched FROM mp) - (SELECT SUM(touched) FROM shared), 0) AS touched)
SELECT category, bytes, touched, source
FROM (SELECT * FROM shared UNION ALL SELECT * FROM rest)
ORDER BY ord;

-- Goroutines grouped by identical stacks, most numerous first: the first
-- place to look for a goroutine leak.
--   signature      the frames' functions, innermost first, joined by ' <- '
--                  ('(no frames)' when the stack could not be unwound)
--   count          goroutines with that stack, status and wait reason
--   status         as Go's traceback prints it
--   wait_reason    the wait reason when waiting, else NULL
--   sample_goid    the lowest goid of the group
--   frames         frames in the signature
--   function       the sample's innermost frame outside the runtime (not runtime.*,
--                  internal/runtime/*, or a runtime function linked into another
--                  package as pkg.runtime_*: the code that blocked, not runtime.gopark);
--                  for the runtime's own goroutines, which have none, the function it
--                  started in
--   function_at    its FILE:LINE
--   created_by     the function whose go statement created the sample (NULL for main)
--   created_at     FILE:LINE of that go statement
--   waiting_since  wall time (UTC) of the earliest g.waitsince in the group: the start
--                  of the first GC that saw it blocked, so it has waited at least since
--                  then (how long before the crash is unknown: a core records no clock);
--                  NULL when no GC saw any of them blocked
-- A recursive join builds the signature frame by frame, so the order of the
-- functions never depends on how SQLite happens to run an aggregate.
CREATE VIEW goroutine_groups AS
WITH RECURSIVE
  sig(goid, idx, signature) AS (
    SELECT goid, idx, func FROM frames WHERE idx = 0
    UNION ALL
    SELECT f.goid, f.idx, sig.signature || ' <- ' || f.func
    FROM sig JOIN frames f ON f.goid = sig.goid AND f.idx = sig.idx + 1),
  full_sig(goid, signature, frames) AS (
    SELECT goid, signature, idx + 1 FROM sig s
    WHERE idx = (SELECT MAX(idx) FROM frames f WHERE f.goid = s.goid)),
  grouped AS (
    SELECT COALESCE(s.signature, '(no frames)') AS signature,
           COUNT(*) AS count,
           g.status AS status,
           g.wait_reason AS wait_reason,
           MIN(g.goid) AS sample_goid,
           COALESCE(s.frames, 0) AS frames,
           MIN(g.wait_since) AS wait_since
    FROM goroutines g LEFT JOIN full_sig s ON s.goid = g.goid
    GROUP BY s.signature, g.status, g.wait_reason),
  user_frame(goid, func, at) AS (
    SELECT f.goid, f.func, f.file || ':' || f.line FROM frames f
    WHERE f.idx = (SELECT MIN(u.idx) FROM frames u WHERE u.goid = f.goid
                   AND u.func NOT GLOB 'runtime.*' AND u.func NOT GLOB 'internal/runtime/*'
                   AND u.func NOT GLOB '*.runtime_*'))
SELECT gr.signature, gr.count, gr.status, gr.wait_reason, gr.sample_goid, gr.frames,
       COALESCE(u.func, sg.start_func) AS function, u.at AS function_at, sg.created_by, sg.created_at,
       CASE WHEN gr.wait_since IS NULL THEN NULL ELSE
         strftime('%Y-%m-%d %H:%M:%S', ((SELECT value FROM memstats WHERE name = 'LastGC') -
           ((SELECT value FROM memstats WHERE name = 'last_gc_nanotime') - gr.wait_since)) / 1000000000,
           'unixepoch') || ' UTC' END AS waiting_since
FROM grouped gr
JOIN goroutines sg ON sg.goid = gr.sample_goid
LEFT JOIN user_frame u ON u.goid = gr.sample_goid
ORDER BY gr.count DESC, gr.sample_goid;

-- String bodies ([N]uint8 objects) stored more than once, by content: the
-- string's length in bytes (N), how many copies and the bytes all but one
-- waste.  go_hash() reads the core, so this view works in gomortem sql and
-- with the sqlite3 extension loaded.
CREATE VIEW duplicate_strings AS
SELECT go_hash(o.id) AS hash,
       t.name AS type,
       CAST(substr(t.name, 2, instr(t.name, ']') - 2) AS INTEGER) AS length,
       COUNT(*) AS copies,
       SUM(o.size) - MAX(o.size) AS wasted_bytes,
       MIN(o.id) AS sample_object
FROM objects o JOIN types t ON t.id = o.type_id
WHERE o.reachable = 1 AND t.name GLOB '[[][0-9]*[]]uint8'
GROUP BY 1, 2
HAVING COUNT(*) > 1
ORDER BY wasted_bytes DESC;

-- Maps that hold much memory for their entries: retained bytes per entry,
-- largest first (a map that grew and shrank keeps its groups).  field()
-- reads the entry count from the core (gomortem sql, or the extension).
CREATE VIEW oversized_maps AS
SELECT o.id AS map_object,
       t.name AS type,
       field(o.id, 'len') AS entries,
       o.retained AS retained_bytes,
       o.retained / (field(o.id, 'len') + 1) AS bytes_per_entry
FROM objects o JOIN types t ON t.id = o.type_id
WHERE o.reachable = 1 AND (t.name GLOB 'map<*' OR t.name GLOB 'hash<*')
ORDER BY bytes_per_entry DESC;

-- Slices whose backing array is much bigger than what they use: unused
-- capacity in bytes, largest first.
CREATE VIEW oversized_slices AS
SELECT s.object_id, t.name AS type, s.len, s.cap, o.size,
       (s.cap - s.len) * (o.size / s.cap) AS unused_bytes
FROM slices s
JOIN objects o ON o.id = s.object_id
LEFT JOIN types t ON t.id = o.type_id
WHERE s.cap > 0
ORDER BY unused_bytes DESC;

-- Leak suspects with their names: the accumulation point, its share of the
-- reachable heap, the type it accumulates most, and the root that holds it
-- ("several roots" when no single root dominates it; suspect_roots lists them).
CREATE VIEW leak_suspects AS
SELECT s.id, s.kind, s.name, o.addr, s.retained, s.objects, s.group_size,
       round(100.0 * s.retained / (SELECT value FROM meta WHERE key = 'reachable_bytes'), 1) AS percent,
       tt.name AS top_type, st.count AS top_count, st.bytes AS top_bytes,
       CASE WHEN s.root_id IS NULL THEN 'several roots (' || s.shared_by || ')' ELSE r.name END AS held_by,
       s.path
FROM suspects s
JOIN objects o ON o.id = s.object_id
LEFT JOIN suspect_types st ON st.suspect_id = s.id AND st.rank = 1
LEFT JOIN types tt ON tt.id = st.type_id
LEFT JOIN roots r ON r.id = s.root_id
ORDER BY s.id;

-- Leaked goroutines (table leaked_goroutines) grouped by where they were
-- created and where they block, most numerous first.
CREATE VIEW goroutine_leaks AS
WITH grouped AS (
  SELECT COUNT(*) AS count, g.status, g.created_by, g.created_at,
         SUM(l.stack_bytes) AS stack_bytes, MIN(g.goid) AS sample_goid
  FROM leaked_goroutines l JOIN goroutines g ON g.goid = l.goid
  GROUP BY g.created_at, g.created_by, g.status, g.start_func)
SELECT gr.count, gr.status,
       (SELECT f.func FROM frames f WHERE f.goid = gr.sample_goid AND f.func NOT GLOB 'runtime.*'
        AND f.func NOT GLOB 'internal/runtime/*' AND f.func NOT GLOB '*.runtime_*' ORDER BY f.idx LIMIT 1)
         AS function,
       gr.created_by, gr.created_at, gr.stack_bytes, gr.sample_goid
FROM grouped gr
ORDER BY gr.count DESC, gr.sample_goid;

-- Where the live objects of each type were allocated, as far as the runtime's
-- memory profile tells: the sampled objects still reachable (one allocation
-- per meta.mem_profile_rate bytes on average; every one at rate 1), by type
-- and allocating frame (alloc_sites.func, file, line), most first.  After
-- analyze --heap-only (no reachability) every sampled object counts.
CREATE VIEW type_alloc_sites AS
SELECT t.name AS type, s.func, s.file, s.line, COUNT(*) AS sampled_objects, SUM(o.size) AS sampled_bytes,
       o.type_id
FROM object_alloc_sites a
JOIN objects o ON o.id = a.object_id
JOIN alloc_sites s ON s.id = a.site_id
LEFT JOIN types t ON t.id = o.type_id
WHERE COALESCE(o.reachable, 1) = 1
GROUP BY o.type_id, s.func, s.file, s.line
ORDER BY sampled_bytes DESC, sampled_objects DESC;

-- Where what each leak suspect keeps alive was allocated (table
-- suspect_alloc_sites: its sampled objects), by allocating frame, most first.
CREATE VIEW suspect_alloc_sites_by_frame AS
SELECT sa.suspect_id, s.func, s.file, s.line, SUM(sa.objects) AS sampled_objects, SUM(sa.bytes) AS sampled_bytes
FROM suspect_alloc_sites sa JOIN alloc_sites s ON s.id = sa.site_id
GROUP BY sa.suspect_id, s.func, s.file, s.line
ORDER BY sa.suspect_id, sampled_bytes DESC, sampled_objects DESC;
