"""Typing against the runtime's pointer bitmaps, on every corpus core: for
every typed object whose pointer words the runtime keeps (heap bits of small
objects, malloc headers, mspan.largeType, Go 1.20/1.21's arena bitmap; none
in a noscan span), the words its type says hold pointers must be the
runtime's, over the whole typed extent; an inferred type the bitmap
contradicts is dropped (meta.typing_bitmap_untyped), so none stays
(typing_bitmap_disagree - typing_bitmap_untyped = 0).
The bitmaps are the runtime's own (heap_pointers checks them word for word
against the runtime's heap dump); the type's words come from DWARF (from the
type descriptors without DWARF), never from the bitmap.  An object whose
type disagrees is typed as something it is not; the failure names the types
(meta.typing_bitmap_disagreeing_types) with an example address each."""
import os
import sys

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import gmtest  # noqa: E402


def meta(db):
    return dict(db.execute("SELECT key, value FROM meta WHERE key LIKE 'typing_bitmap_%'"))


def check(c, gm, where, sdir, tmp):
    db = gmtest.analyze(c, gm, where, sdir, os.path.join(tmp, "t.db"))
    if db is None:
        return
    m = meta(db)
    checked, disagree = m.get("typing_bitmap_checked"), m.get("typing_bitmap_disagree")
    unchecked = m.get("typing_bitmap_unchecked", 0)
    untyped = m.get("typing_bitmap_untyped", 0)
    if not c.check(checked is not None and disagree is not None, f"{where}: no typing_bitmap_* in meta"):
        return
    typed = db.execute("SELECT count(*) FROM objects WHERE type_id IS NOT NULL").fetchone()[0]
    print(f"{where}: {checked} typed objects checked, {disagree} disagree ({untyped} left untyped), "
          f"{unchecked} unchecked")
    # A contradicted inferred type is dropped (typing_bitmap_untyped): no longer typed.
    c.check(checked + unchecked - untyped == typed,
            f"{where}: {checked} checked + {unchecked} unchecked - {untyped} untyped != {typed} typed")
    # Left unchecked: closures (no layout to compare; 7% of 1.27's cgo scenario,
    # 10% of its typing scenario, whose encoding/json/v2 makes many).
    closures = db.execute("SELECT count(*) FROM objects o JOIN types t ON t.id = o.type_id "
                          "WHERE t.name LIKE 'closure %'").fetchone()[0]
    c.check(checked >= 0.9 * (typed - closures),
            f"{where}: only {checked} of {typed} typed objects ({closures} closures) checked")
    # A contradicted inferred type is dropped (the arm64 leaks scenario's 16-byte object that only
    # a *sync.Mutex reaches, typed [2]Mutex, holds a pointer): none may stay.
    c.check(disagree - untyped == 0, f"{where}: {disagree - untyped} typed objects contradict the runtime's "
            f"bitmap: {m.get('typing_bitmap_disagreeing_types')}")
    db.close()


if __name__ == "__main__":
    gmtest.each_scenario(check)
