-- gomortem analysis database: the tables, created before the load (and the
-- objects and edges views over the two packed ones).
-- Schema version 6 (meta.schema_version; version 2 added type_stats, which the
-- per-type views read; version 3 added suspects, suspect_types and
-- suspect_roots, and counts type_stats.retained_* at the topmost object of
-- each type; version 4 added the runtime's memory profile: alloc_sites,
-- alloc_site_frames, alloc_site_cycles, object_alloc_sites and suspect_alloc_sites;
-- version 5 added mappings.touched, spans.touched and the touched column of
-- memory_breakdown; version 6 packed objects and edges into objects_packed and
-- edges_packed, read through the objects and edges views).  Addresses are the dead process's virtual addresses as
-- integers; sizes are bytes.  Ids are dense and 1-based: objects are numbered
-- in address order, spans in base order.

-- Facts about the analysis: schema_version, go_version, arch, exe_path,
-- exe_build_id, core_path, pid, signal, analyzer_version, analyzed_at,
-- warnings (count), partial (1 when the core was truncated), analysis ('full',
-- or 'heap' after analyze --heap-only: no graph, reachability or inferred types),
-- debug_info ('dwarf'; 'symtab' for -ldflags=-w; 'none' for -s -w), runtime_layouts
-- (where the runtime's struct layouts came from: DWARF, or a built-in table),
-- unknown_columns (what the missing debug info leaves unknown; 'none' with DWARF),
-- typed_reachable_bytes_share, type_conflicts, typing_bitmap_checked / _disagree /
-- _unchecked / _fitted / _untyped / _disagreeing_types (the typing against the runtime's
-- pointer bitmaps), untyped_causes and untyped_bytes_CAUSE (why untyped reachable
-- objects are untyped),
-- mem_profile ('read', or 'absent' when the runtime has no memory profiler),
-- mem_profile_rate (runtime.MemProfileRate: one sample per that many bytes
-- allocated on average; 1 = every allocation; 0 = profiling off, the
-- linker's choice for programs that never read the profile),
-- mem_profile_cycle (the heap profile cycle C, runtime.mProfCycle >> 1),
-- mem_profile_folded (1 when nothing was published yet, no GC having ended:
-- the published counts fold every cycle in, as runtime.MemProfile does),
-- objects_addr_base, objects_addr_unit and objects_path_root_base (what the
-- objects view adds to objects_packed's columns), ...
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,  -- name of the fact
  value ANY                -- its value: text or integer
);

-- Every PT_LOAD segment of the core: the process's mappings.
CREATE TABLE mappings (
  start       INTEGER NOT NULL,  -- first address
  end         INTEGER NOT NULL,  -- one past the last address
  perm        TEXT NOT NULL,     -- "rwx" with "-" for a missing permission
  path        TEXT,              -- backing file from the NT_FILE note; NULL if anonymous
  file_offset INTEGER,           -- offset of start in that file; NULL if anonymous
  in_core     INTEGER NOT NULL,  -- bytes of the mapping saved in the core
  from_exe    INTEGER NOT NULL,  -- bytes filled in from the executable (text, rodata)
  touched     INTEGER NOT NULL   -- bytes of saved pages that are not all zeros: what the
                                 -- process had written.  Untouched pages are file holes in
                                 -- a kernel core and zeros in a gcore (which saves even the
                                 -- runtime's no-access reservations); a lower bound of the
                                 -- resident memory (a page written with zeros only counts
                                 -- as untouched)
);

-- Every thread of the process, from its NT_PRSTATUS note.
CREATE TABLE threads (
  tid  INTEGER PRIMARY KEY,  -- kernel thread id
  pc   INTEGER NOT NULL,     -- program counter
  sp   INTEGER NOT NULL,     -- stack pointer
  func TEXT,                 -- function containing pc (symbol table); NULL if unknown
  goid INTEGER               -- goroutine running on it; NULL when none or not yet known
);

-- Types: runtime type descriptors named by objects, and the DWARF types of their fields.
CREATE TABLE types (
  id           INTEGER PRIMARY KEY,  -- type id
  name         TEXT NOT NULL,        -- Go spelling: main.Node, []*main.Leaf, map[string]int
  kind         TEXT NOT NULL,        -- struct, ptr, slice, string, map, array, int64, ...
  size         INTEGER,              -- size of one value in bytes
  ptr_bytes    INTEGER,              -- prefix of a value that can hold pointers (abi.Type.PtrBytes)
  runtime_addr INTEGER,             -- address of its abi.Type descriptor; NULL for DWARF-only types
  collection   TEXT                  -- the collection it is part of, as Go spells that type: a map's
                                     -- header, directory, tables and groups or buckets map[K]V, a
                                     -- backing array []T, hchan<T> chan T; else the name itself
                                     -- (NULL in databases written before it was added)
);

-- Per type, what the views type_histogram, retained_by_type and
-- garbage_by_type show: the analyzer sums them while it has every object in
-- memory, so that those views read a row per type instead of sorting every
-- object (10M objects: 8 s per view otherwise).  The graph's columns are NULL
-- after analyze --heap-only.
CREATE TABLE type_stats (
  type_id          INTEGER,  -- types.id; NULL for the objects of unknown type
  count            INTEGER NOT NULL,  -- objects of the type
  bytes            INTEGER NOT NULL,  -- their slot bytes
  reachable_count  INTEGER,  -- of them reachable
  reachable_bytes  INTEGER,
  retained_objects INTEGER,  -- reachable ones with no dominator of the same type (the topmost of their type)
  retained_bytes   INTEGER,  -- their retained sizes summed: each object's bytes count once per type, even
                             -- along chains of alternating types (node -> [64]*node -> node), so no row
                             -- exceeds the reachable bytes
  garbage_count    INTEGER,  -- unreachable ones
  garbage_bytes    INTEGER
);

-- Members of struct types, from DWARF.
CREATE TABLE fields (
  type_id       INTEGER NOT NULL,  -- the struct (types.id)
  idx           INTEGER NOT NULL,  -- position in declaration order, from 0
  name          TEXT NOT NULL,     -- member name ("_" for padding)
  offset        INTEGER NOT NULL,  -- byte offset in the struct
  field_type_id INTEGER,           -- the member's type (types.id); NULL if not recorded
  PRIMARY KEY (type_id, idx)
) WITHOUT ROWID;

-- Every span of the heap: in use (heap objects) and manual (goroutine stacks and
-- other memory the runtime manages itself).
CREATE TABLE spans (
  id                  INTEGER PRIMARY KEY,  -- span id, in base order
  base                INTEGER NOT NULL,     -- first address (mspan.startAddr)
  "limit"             INTEGER NOT NULL,     -- end of the object area (mspan.limit)
  end                 INTEGER NOT NULL,     -- base + npages * page size
  npages              INTEGER NOT NULL,     -- runtime pages (8 KiB)
  size_class          INTEGER NOT NULL,     -- size class; 0 for large-object and manual spans
  elem_size           INTEGER NOT NULL,     -- slot size (mspan.elemsize)
  nelems              INTEGER NOT NULL,     -- slots (mspan.nelems)
  alloc_count         INTEGER NOT NULL,     -- allocated slots found by the walk
  header_size         INTEGER NOT NULL,     -- bytes of malloc header at the start of each slot
                                            -- (Go 1.22+: scan spans of objects over
                                            -- runtime.minSizeForMallocHeader); a value starts
                                            -- this far into its object, and edges.src_off and
                                            -- fields.offset differ by it
  first_object        INTEGER,              -- objects.id of its first object: its objects are ids
                                            -- first_object .. first_object + alloc_count - 1
  live_count          INTEGER,              -- reachable objects (NULL after analyze --heap-only)
  state               TEXT NOT NULL,        -- 'in_use' or 'manual'
  noscan              INTEGER NOT NULL,     -- 1 if the span holds pointer-free objects
  freeindex           INTEGER NOT NULL,     -- mspan.freeindex
  runtime_alloc_count INTEGER NOT NULL,     -- mspan.allocCount, the runtime's own count
  mspan_addr          INTEGER NOT NULL,     -- address of the runtime.mspan descriptor
  touched             INTEGER NOT NULL      -- bytes of its pages saved in the core and not all
                                            -- zeros (as mappings.touched)
);

-- Every allocated heap slot, packed: query the objects view below, whose
-- columns are the contract.  This table stores each column as the
-- smallest integer that gives it back, because objects and edges are nearly
-- the whole database (a row per heap object and per pointer): ids as
-- differences from the row's own id, the address as units from a base in
-- meta, the rarely set columns last, where a NULL costs nothing (SQLite reads
-- a column past the record's end as NULL).  Indexes go on this table (see
-- gomortem_post.sql).  gomortem reads the views, as every view of its
-- schema, through TEMP copies made from its own text.
CREATE TABLE objects_packed (
  addr_units      INTEGER NOT NULL,  -- (addr - meta.objects_addr_base) / meta.objects_addr_unit
  size            INTEGER NOT NULL,  -- objects.size
  type_id         INTEGER,           -- objects.type_id
  span_id         INTEGER NOT NULL,  -- objects.span_id
  retained_extra  INTEGER,           -- retained - size when reachable; -1 for garbage; NULL
                                     -- without a graph (analyze --heap-only)
  idom_delta      INTEGER,           -- idom - id
  path_off        INTEGER,           -- objects.path_off (NULL: no path_parent)
  path_delta      INTEGER,           -- path_parent - (idom if not NULL, else id), NULL for 0:
                                     -- the shortest path comes through the immediate dominator
  path_root_delta INTEGER,           -- path_root - meta.objects_path_root_base (the most
                                     -- common root), NULL for 0
  idom_root       INTEGER,           -- objects.idom_root
  id              INTEGER PRIMARY KEY  -- last: the rowid, never in the record
);

-- Every allocated heap slot.
CREATE VIEW objects AS
SELECT
  id,               -- object id, in address order
  (SELECT value FROM meta WHERE key = 'objects_addr_base') +
  (SELECT value FROM meta WHERE key = 'objects_addr_unit') * addr_units AS addr,
                    -- start of the heap slot (a malloc header, if any, included)
  size,             -- slot size; the span's size for large objects
  type_id,          -- types.id: the malloc header's or mspan.largeType's, else inferred
                    -- through the graph (not after --heap-only); NULL if unknown
  span_id,          -- spans.id
  retained_extra >= 0 AS reachable,
                    -- 1 if reachable from a root; 0 garbage (allocated after the
                    -- last GC, or not yet swept): never mixed with live data.
                    -- This and every column below are NULL when meta.analysis is
                    -- 'heap' (analyze --heap-only: no graph was built)
  CASE WHEN retained_extra >= 0 THEN size + retained_extra WHEN retained_extra < 0 THEN 0 END AS retained,
                    -- bytes it alone keeps alive, itself included (0 for garbage)
  id + idom_delta AS idom,
                    -- immediate dominator (objects.id); NULL when a root or several
                    -- roots dominate it (see idom_root), or for garbage
  idom_root,        -- roots.id when that one root alone dominates it
  CASE WHEN path_off IS NOT NULL THEN coalesce(id + idom_delta, id) + ifnull(path_delta, 0) END AS path_parent,
                    -- shortest path to a root: the object it is first reached from
                    -- (objects.id), NULL when a root points at it directly
  path_off,         -- offset of the pointer word in path_parent
  CASE WHEN retained_extra >= 0 THEN
    (SELECT value FROM meta WHERE key = 'objects_path_root_base') + ifnull(path_root_delta, 0) END AS path_root
                    -- roots.id at the start of that shortest path
FROM objects_packed;

-- Every pointer word of every object that points into a heap object, packed
-- as objects_packed: query the edges view below.
CREATE TABLE edges_packed (
  src       INTEGER NOT NULL,  -- edges.src
  src_off   INTEGER NOT NULL,  -- edges.src_off
  dst_delta INTEGER NOT NULL,  -- dst - src
  dst_off   INTEGER,           -- edges.dst_off; NULL for 0 (left out of the record)
  PRIMARY KEY (src, src_off)
) WITHOUT ROWID;

-- Every pointer word of every object that points into a heap object.
CREATE VIEW edges AS
SELECT
  src,                           -- objects.id holding the pointer
  src_off,                       -- offset of the pointer word in src
  src + dst_delta AS dst,        -- objects.id it points into (interior pointers resolved)
  ifnull(dst_off, 0) AS dst_off  -- offset of the target inside dst
FROM edges_packed;

-- GC roots: the pointer words the garbage collector starts from.
CREATE TABLE roots (
  id        INTEGER PRIMARY KEY,
  kind      TEXT NOT NULL,     -- data, bss (globals), stack, ...
  name      TEXT NOT NULL,     -- global: DWARF name and member path ("main.cfg.cache.items[2]"),
                               -- or symbol+offset without DWARF, or data+off / bss+off where no
                               -- symbol covers the word; stack: func.var or "func sp+0x.."
  addr      INTEGER,           -- where the pointer word is
  value     INTEGER,           -- the pointer it holds
  type_id   INTEGER,           -- types.id of the word's type; NULL until types are unified
  type_name TEXT,              -- DWARF type of the word (without DWARF: a global's, or a stack
                               -- slot's of a frame waiting in a call, as the code shows it,
                               -- analyzer/goruntime/code_types.c), NULL if unknown
  goid      INTEGER,           -- stack roots: the goroutine
  frame_idx INTEGER,           -- stack roots: the frame (0 innermost)
  dst       INTEGER,           -- objects.id it points into; NULL if none (nil, static data, ...)
  dst_off   INTEGER,           -- offset of value inside dst
  retained  INTEGER            -- bytes this root alone keeps alive (dominator tree), NULL if none
);

-- Leak suspects, the answer a report gives first: owners (a root, or an
-- object that no single root dominates) keeping at least 10% of the
-- reachable bytes, each followed down the dominator tree while one child
-- keeps at least 80% of its parent's retained bytes (the accumulation
-- point), then lifted out of the parts of a collection (a map's directory,
-- tables or buckets, an array its owner points at) to the collection.
-- Many small objects of one type that no single root dominates (records that
-- four globals all reach) together form one owner, a group (kind 'objects').
-- View leak_suspects joins the names.
CREATE TABLE suspects (
  id             INTEGER PRIMARY KEY,  -- rank: 1 keeps the most bytes
  object_id      INTEGER NOT NULL,     -- objects.id of the accumulation point
  kind           TEXT NOT NULL,        -- what it is in Go: map, slice, channel, sync.Pool, struct, array, ...;
                                       -- 'objects' for a group of jointly held objects of one type
  name           TEXT NOT NULL,        -- its Go type: map[string]*main.Record, []*main.Record, chan T, main.Cache
  retained       INTEGER NOT NULL,     -- bytes it alone keeps alive, itself included
  objects        INTEGER NOT NULL,     -- objects it alone keeps alive, itself included
  group_size     INTEGER NOT NULL,     -- 1; for a group, its jointly held objects (object_id: the largest;
                                       -- retained and objects: summed over all of them)
  owner_retained INTEGER NOT NULL,     -- bytes its owner keeps alive (>= retained)
  root_id        INTEGER,              -- roots.id of the one root that dominates it; NULL when several roots hold it
  shared_by      INTEGER NOT NULL,     -- how many roots reach it (1 when one root dominates it)
  path           TEXT NOT NULL         -- a shortest path from a root: root name, then type.field per step
);

-- What each suspect accumulates: the objects it dominates, by type (at most
-- 8 types per suspect): first what it accumulates, then the storage that
-- holds it (a map's buckets may outweigh its records), each the largest
-- bytes first.
CREATE TABLE suspect_types (
  suspect_id INTEGER NOT NULL,  -- suspects.id
  rank       INTEGER NOT NULL,  -- 1 = what it accumulates most
  type_id    INTEGER,           -- types.id; NULL for objects of unknown type
  count      INTEGER NOT NULL,  -- objects of that type it dominates (itself included)
  bytes      INTEGER NOT NULL,  -- their own sizes summed
  storage    INTEGER NOT NULL   -- 1: the storage of a collection (arrays, string bytes, a map's
                                -- directory, tables, buckets and groups), not what it accumulates
);

-- The roots from which each suspect is reachable (the first 20; their
-- count is suspects.shared_by).  For memory held jointly, roots.retained is
-- what each root alone would free (its jointly held part excluded).
CREATE TABLE suspect_roots (
  suspect_id INTEGER NOT NULL,  -- suspects.id
  root_id    INTEGER NOT NULL   -- roots.id
);

-- Goroutines that can never wake up (graph/goleak.c): blocked on a channel, a
-- select, or a sync object (Mutex, RWMutex, WaitGroup, Cond) that only other
-- such goroutines reach, as the runtime's goroutine leak detector (Go 1.26's
-- goroutineleak profile) decides, for any Go version.  Sync waits need the
-- object: g.waiting records it from Go 1.26; before, semaphore waits (Mutex,
-- RWMutex, WaitGroup) are found in the runtime's semaphore table; a wait
-- found in neither (sync.Cond before 1.26) is counted in
-- meta.goroutines_undecided and never listed here.
-- meta.leaked_goroutine_objects / leaked_goroutine_bytes: the heap objects
-- only leaked goroutines keep alive.  View goroutine_leaks groups them.
CREATE TABLE leaked_goroutines (
  goid        INTEGER PRIMARY KEY,  -- goroutines.goid
  blocked_on  INTEGER,              -- objects.id of the (first) channel or sync object it waits on;
                                    -- NULL for a nil channel or a select with no cases
  stack_bytes INTEGER NOT NULL      -- its stack (stack_hi - stack_lo), which stays allocated
);

-- Every goroutine of runtime.allgs that is not dead.
CREATE TABLE goroutines (
  goid        INTEGER PRIMARY KEY,  -- goroutine id
  addr        INTEGER NOT NULL,     -- address of its runtime.g
  status      TEXT NOT NULL,        -- as Go's traceback prints it: running, runnable, syscall,
                                    -- or the wait reason (chan receive, select, sleep, IO wait, ...)
  wait_reason TEXT,                 -- the wait reason when waiting, else NULL
  raw_status  INTEGER NOT NULL,     -- g.atomicstatus without the scan bit (_Grunning = 2, ...)
  start_func  TEXT,                 -- function the goroutine started in (g.startpc)
  created_by  TEXT,                 -- function whose go statement created it (g.gopc); NULL for main
  created_at  TEXT,                 -- FILE:LINE of that go statement
  parent_goid INTEGER,              -- goroutine that created it (Go 1.21+), NULL if unknown
  stack_lo    INTEGER NOT NULL,     -- stack bounds [stack_lo, stack_hi)
  stack_hi    INTEGER NOT NULL,
  stack_bytes INTEGER NOT NULL,     -- bytes of stack in use: stack_hi - sp
  sp          INTEGER NOT NULL,     -- where unwinding starts (syscall, thread or saved sp)
  pc          INTEGER NOT NULL,     -- the pc there
  tid         INTEGER,              -- thread of the m it is on (m.procid); NULL when on none
  locked      INTEGER NOT NULL,     -- 1 when locked to its thread (LockOSThread)
  wait_since  INTEGER               -- g.waitsince: the runtime's monotonic time (ns) of the start of the
                                    -- first GC that saw it blocked (waiting or in a syscall), so it has
                                    -- waited at least since then; NULL when no GC has seen it blocked.
                                    -- memstats LastGC and last_gc_nanotime turn it into a wall time
);

-- Every goroutine's stack, unwound with the runtime's own tables; inlined calls
-- are frames of their own, as Go's traceback prints them.
CREATE TABLE frames (
  goid     INTEGER NOT NULL,  -- goroutines.goid
  idx      INTEGER NOT NULL,  -- 0 = innermost
  pc       INTEGER NOT NULL,  -- the frame's pc (a return address, except the innermost frame)
  func     TEXT NOT NULL,     -- function, with its package path ("main.(*Server).serve")
  file     TEXT,              -- source file
  line     INTEGER,           -- line
  inlined  INTEGER NOT NULL,  -- 1 when the call was inlined into the next frame's function
  sp       INTEGER NOT NULL,  -- stack pointer of the physical frame
  fp       INTEGER NOT NULL,  -- its frame pointer (the caller's sp)
  PRIMARY KEY (goid, idx)
) WITHOUT ROWID;

-- Native (C) frames of the threads whose pc is outside Go code (cgo calls,
-- C-created threads, libc), unwound with libunwind through the .eh_frame of
-- the mapped files; the walk stops at the first Go frame, kept as the last row.
CREATE TABLE thread_frames (
  tid    INTEGER NOT NULL,  -- threads.tid
  idx    INTEGER NOT NULL,  -- 0 = innermost
  pc     INTEGER NOT NULL,
  symbol TEXT,              -- "func+0xOFF", "libc.so.6+0xFILEOFF", or NULL when unknown
  go     INTEGER NOT NULL,  -- 1 for the Go frame that ends the native stack
  PRIMARY KEY (tid, idx)
) WITHOUT ROWID;

-- The runtime's own accounting read from the core, named as runtime.MemStats
-- names it where MemStats has the figure.
CREATE TABLE memstats (
  name   TEXT PRIMARY KEY,  -- MemStats field name, or the runtime variable's name
  value  INTEGER,           -- the figure; NULL when it could not be read
  source TEXT NOT NULL      -- where in the runtime it comes from
);

-- Slice backing arrays typed through a slice header: the header's len and cap
-- (the first header found; others may share the array).
CREATE TABLE slices (
  object_id INTEGER PRIMARY KEY,  -- objects.id of the backing array ([cap]T)
  len       INTEGER NOT NULL,     -- elements in use
  cap       INTEGER NOT NULL      -- elements the array holds
);

-- Memory contents, only with analyze --contents (cores carry secrets; without
-- that option the database holds none): the bytes of string bodies.
CREATE TABLE strings (
  object_id INTEGER PRIMARY KEY,  -- objects.id of a [N]uint8 string body
  value     BLOB NOT NULL         -- its N bytes, as they are (Go strings need not be UTF-8);
                                  -- CAST(value AS TEXT) to read them as text
);

-- Memory contents, only with analyze --contents-type T: every reachable object
-- of the chosen types rendered as JSON (as go_value() renders it).
CREATE TABLE field_values (
  object_id INTEGER PRIMARY KEY,  -- objects.id
  value     TEXT                  -- JSON: members by name, strings as text, pointers as
                                  -- {"ptr": "0x...", "object": id}
);

-- The runtime's memory profile (runtime.mbuckets, mprof.go): one row per
-- bucket, a sampled allocation site (a stack and an allocation size).  Counts
-- are samples (one per meta.mem_profile_rate bytes allocated on average), not
-- allocations: gomortem pprof --alloc scales them as runtime/pprof does.
-- published_* are what runtime.MemProfile returned at the crash, the
-- /debug/pprof/heap of that moment: the heap as of the last completed GC
-- cycle.  now_* add the cycles not yet published (allocations since the last
-- mark termination, frees of the sweep after it): the profile without its lag.
CREATE TABLE alloc_sites (
  id                    INTEGER PRIMARY KEY,  -- site id, in runtime.mbuckets order (newest first)
  bucket_addr           INTEGER NOT NULL,     -- address of the runtime.bucket
  size                  INTEGER NOT NULL,     -- bytes of each allocation it counts (bucket.size: the slot)
  func                  TEXT,                 -- the allocating function: the first frame outside the runtime
                                              -- (runtime.*, internal/runtime/*), pprof's top frame; NULL if none
  file                  TEXT,                 -- that frame's source file
  line                  INTEGER,              -- and line: where the allocation is
  depth                 INTEGER NOT NULL,     -- frames of its stack (alloc_site_frames)
  published_allocs      INTEGER NOT NULL,     -- sampled allocations, published
  published_frees       INTEGER NOT NULL,     -- of them freed, published
  published_alloc_bytes INTEGER NOT NULL,     -- their bytes (1.27+: counts x size, the runtime keeps none)
  published_free_bytes  INTEGER NOT NULL,
  now_allocs            INTEGER NOT NULL,     -- the same with every unpublished cycle folded in
  now_frees             INTEGER NOT NULL,
  now_alloc_bytes       INTEGER NOT NULL,
  now_free_bytes        INTEGER NOT NULL,
  sampled_objects       INTEGER NOT NULL,     -- heap objects whose profile special names this site
                                              -- (object_alloc_sites): sampled and not yet swept away
  sampled_bytes         INTEGER NOT NULL      -- their slot bytes
);

-- The stack of each allocation site, innermost first, one frame per pc the
-- runtime recorded (it records one per inlined call), symbolized through the
-- pclntab at pc - 1 as runtime.CallersFrames does.
CREATE TABLE alloc_site_frames (
  site_id INTEGER NOT NULL,  -- alloc_sites.id
  idx     INTEGER NOT NULL,  -- 0 = innermost (the runtime's allocator)
  pc      INTEGER NOT NULL,  -- return address as recorded
  func    TEXT,              -- function ("main.(*Server).load"); NULL if the pclntab has none there
  file    TEXT,              -- source file
  line    INTEGER,           -- line
  PRIMARY KEY (site_id, idx)
) WITHOUT ROWID;

-- The memRecord of each site cycle by cycle, as the runtime keeps it:
-- 'active' is the published profile (cumulative); 'C' the cycle whose mark
-- termination ended last (already added to active once flushed), 'C+1' the
-- frees of the sweep after it, 'C+2' the allocations since then (the ring
-- memRecord.future, indexed by meta.mem_profile_cycle).
CREATE TABLE alloc_site_cycles (
  site_id     INTEGER NOT NULL,  -- alloc_sites.id
  cycle       TEXT NOT NULL,     -- 'active', 'C', 'C+1', 'C+2'
  allocs      INTEGER NOT NULL,
  frees       INTEGER NOT NULL,
  alloc_bytes INTEGER NOT NULL,
  free_bytes  INTEGER NOT NULL,
  PRIMARY KEY (site_id, cycle)
) WITHOUT ROWID;

-- The allocation site of every sampled object still in the heap, from the
-- profile special (_KindSpecialProfile) the runtime put on its span.  Only
-- sampled objects have one: about one allocation per meta.mem_profile_rate
-- bytes (all of them at rate 1).
CREATE TABLE object_alloc_sites (
  object_id INTEGER PRIMARY KEY,  -- objects.id
  site_id   INTEGER NOT NULL      -- alloc_sites.id
);

-- For each leak suspect, the sampled objects it alone keeps alive (its
-- dominator subtree; a group's: every jointly held object of its type and
-- what each alone keeps alive) by allocation site.  Sampled objects only:
-- see object_alloc_sites.
CREATE TABLE suspect_alloc_sites (
  suspect_id INTEGER NOT NULL,  -- suspects.id
  site_id    INTEGER NOT NULL,  -- alloc_sites.id
  objects    INTEGER NOT NULL,  -- sampled objects of the subtree allocated there
  bytes      INTEGER NOT NULL,  -- their slot bytes
  PRIMARY KEY (suspect_id, site_id)
) WITHOUT ROWID;

-- Problems met and walked past: corrupt spans, unreadable bitmaps, unsaved memory.
CREATE TABLE warnings (
  id      INTEGER PRIMARY KEY,
  stage   TEXT NOT NULL,  -- pipeline stage that met it: core, heap, memstats, ...
  message TEXT NOT NULL
);
