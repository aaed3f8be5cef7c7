-- gomortem analysis database: indexes and views, created after the load
-- (building indexes once is faster than maintaining them during inserts).

-- Indexes are few on purpose: building one over millions of rows costs more
-- than the whole heap walk.  Objects of a span have consecutive ids
-- (spans.first_object and up); an object's outgoing edges are together
-- (edges is clustered on src); a shortest path back to a root is in the
-- objects' path_* columns.  For many queries by type or by edge target,
-- create what they need once:
--   CREATE INDEX objects_by_type ON objects(type_id);
--   CREATE INDEX edges_by_dst ON edges(dst);
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

-- Objects per type (NULL: type unknown): all, and the reachable ones.
CREATE VIEW type_histogram AS
SELECT t.name AS type,
       COUNT(*) AS count,
       SUM(o.size) AS bytes,
       SUM(o.reachable) AS reachable_count,
       SUM(o.size * o.reachable) AS reachable_bytes
FROM objects o LEFT JOIN types t ON t.id = o.type_id
GROUP BY o.type_id
ORDER BY bytes DESC;

-- Bytes kept alive per type: the retained sizes of its objects, each counted
-- only where its immediate dominator is of another type (so a linked list
-- of T counts once, at its head).
CREATE VIEW retained_by_type AS
SELECT t.name AS type,
       COUNT(*) AS objects,
       SUM(o.retained) AS retained_bytes
FROM objects o
LEFT JOIN types t ON t.id = o.type_id
LEFT JOIN objects d ON d.id = o.idom
WHERE o.reachable = 1 AND (d.id IS NULL OR d.type_id IS NOT o.type_id)
GROUP BY o.type_id
ORDER BY retained_bytes DESC;

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
SELECT t.name AS type, COUNT(*) AS count, SUM(o.size) AS bytes
FROM objects o LEFT JOIN types t ON t.id = o.type_id
WHERE o.reachable = 0
GROUP BY o.type_id
ORDER BY bytes DESC;
