"""Type inference: every labelled object of the scenarios carries exactly the
type its program recorded with %T (maps and channels: the runtime header a
map or channel value points to, which DWARF names map<K,V> (Swiss maps,
1.24+) or hash<K,V>, and hchan<T>; values packed in a tiny-allocator block
are not checked: the block is one object with one type); the share of
reachable bytes with a known type is reported per core."""
import os
import re
import sys

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import gmtest  # noqa: E402


def header_names(go_type, version):
    """The DWARF names of the runtime header behind a map or chan value of GO_TYPE."""
    m = re.fullmatch(r"map\[(.+?)\](.+)", go_type)
    if m:
        return {f"map<{m.group(1)},{m.group(2)}>", f"hash<{m.group(1)},{m.group(2)}>"}
    m = re.fullmatch(r"chan (.+)", go_type)
    if m:
        return {f"hchan<{m.group(1)}>"}
    return {go_type}


def check_scenario(c, gm, where, sdir, tmp, version):
    db_path = os.path.join(tmp, "t.db")
    db = gmtest.analyze(c, gm, where, sdir, db_path)
    if db is None:
        return
    for obj in gmtest.load_truth(sdir).get("objects", []):
        if obj.get("tiny"):
            continue  # a tiny-allocator block packs several values; the block has one type
        addr = int(obj["addr"], 16)
        row = db.execute("SELECT o.addr, t.name FROM objects o LEFT JOIN types t ON t.id = o.type_id "
                         "WHERE o.addr <= ? AND ? < o.addr + o.size", (addr, addr)).fetchone()
        want = header_names(obj["type"], version) if obj.get("kind") in ("map", "chan") else {obj["type"]}
        c.check(row is not None and row[1] in want,
                f"{where}: {obj['label']} at 0x{addr:x} is typed {row and row[1]!r}, want {sorted(want)}")
    (share,) = db.execute("SELECT value FROM meta WHERE key = 'typed_reachable_bytes_share'").fetchone()
    print(f"{where}: {float(share) * 100:.1f}% of reachable bytes typed")
    db.close()
    os.unlink(db_path)


def main():
    gmtest.each_scenario(lambda c, gm, where, sdir, tmp:
                         check_scenario(c, gm, where, sdir, tmp, where.split("/")[0]))

if __name__ == "__main__":
    main()
