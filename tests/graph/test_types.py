"""Type inference: every labelled object of the scenarios carries exactly the
type its program recorded with %T (maps and channels: the runtime header a
map or channel value points to, which DWARF names map<K,V> (Swiss maps,
1.24+) or hash<K,V>, and hchan<T>; values packed in a tiny-allocator block
are not checked: the block is one object with one type); at least 99% of
reachable bytes have a known type; every object typed as a closure of
function F starts with F's entry address (the heap dump's copy of the
object against `go tool nm`); no typed object is smaller than its type;
reachable Swiss-map group arrays hold a power-of-two count of groups."""
import os
import re
import struct
import subprocess
import sys

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))
import gmtest  # noqa: E402
import heapdump  # noqa: E402


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
    for obj in gmtest.load_truth(sdir).get("objects") or []:
        if obj.get("tiny"):
            continue  # a tiny-allocator block packs several values; the block has one type
        addr = int(obj["addr"], 16)
        row = db.execute("SELECT o.addr, t.name FROM objects o LEFT JOIN types t ON t.id = o.type_id "
                         "WHERE o.addr <= ? AND ? < o.addr + o.size", (addr, addr)).fetchone()
        want = header_names(obj["type"], version) if obj.get("kind") in ("map", "chan") else {obj["type"]}
        c.check(row is not None and row[1] in want,
                f"{where}: {obj['label']} at 0x{addr:x} is typed {row and row[1]!r}, want {sorted(want)}")
    (share,) = db.execute("SELECT value FROM meta WHERE key = 'typed_reachable_bytes_share'").fetchone()
    print(f"{where}: {float(share) * 100:.2f}% of reachable bytes typed")
    c.check(float(share) >= 0.99, f"{where}: only {float(share) * 100:.2f}% of reachable bytes typed")
    (oversized,) = db.execute("SELECT COUNT(*) FROM objects o JOIN types t ON t.id = o.type_id "
                              "WHERE t.size > o.size").fetchone()
    c.check(oversized == 0, f"{where}: {oversized} objects smaller than their type")
    if gmtest.has_heapdump(sdir):  # the closures' first words come from the dump
        check_closures(c, db, where, sdir)
    # A Swiss map's groups come in powers of two (table.groups.lengthMask + 1),
    # whatever size class the allocation was rounded up to.
    for name, count in db.execute("SELECT t.name, COUNT(*) FROM objects o JOIN types t ON t.id = o.type_id "
                                  "WHERE o.reachable = 1 AND t.name GLOB '[[][0-9]*]*map.group[[]*' GROUP BY 1"):
        n = int(name[1:name.index("]")])
        c.check(n & (n - 1) == 0, f"{where}: {count} objects typed {name}: not a power-of-two group count")
    db.close()
    os.unlink(db_path)


def check_closures(c, db, where, sdir):
    """A closure object's first word is its function's entry pc."""
    closures = db.execute("SELECT o.addr, substr(t.name, 9) FROM objects o JOIN types t ON t.id = o.type_id "
                          "WHERE t.name LIKE 'closure %' AND o.reachable = 1").fetchall()
    if not closures:
        return
    (bias,) = db.execute("SELECT value FROM meta WHERE key = 'load_bias'").fetchone()
    nm = subprocess.run(["go", "tool", "nm", os.path.join(sdir, "exe")], capture_output=True, text=True,
                        check=True).stdout
    entry = {}
    for line in nm.splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[1] in ("T", "t"):
            entry[parts[2]] = int(parts[0], 16) + bias
    dump = heapdump.parse(os.path.join(sdir, "heapdump"), keep_contents=True)
    contents = {o[0]: data for o, data in zip(dump.objects, dump.object_contents)}
    checked = 0
    for addr, func in closures:
        data = contents.get(addr)
        if data is None:
            continue  # allocated after the dump
        (pc,) = struct.unpack_from("<Q", data, 0)
        c.check(entry.get(func) == pc, f"{where}: closure {func} at 0x{addr:x} starts with 0x{pc:x}, "
                f"the function's entry is {entry.get(func) and hex(entry[func])}")
        checked += 1
    c.check(checked > 0, f"{where}: none of {len(closures)} closures is in the heap dump")


def main():
    # Builds without DWARF type objects from the runtime's descriptors: their
    # per-type figures are compared with the DWARF build's in test_nodwarf_types.
    gmtest.each_scenario(lambda c, gm, where, sdir, tmp:
                         check_scenario(c, gm, where, sdir, tmp, where.split("/")[0]),
                         want=lambda version, name: not name.endswith("-nodwarf"))

if __name__ == "__main__":
    main()
