"""Analysis without DWARF against analysis with DWARF, on the same core.

`analyze --ignore-dwarf` takes every path a -ldflags=-w build takes (runtime
layouts from the built-in table, names from the symbol table, types from the
runtime's type descriptors); run on the DWARF builds' cores it can be
compared object by object with the DWARF analysis of the very same heap:

- everything but types and names is identical: objects, reachability,
  retained sizes, edges, goroutines and frames, roots by address;
- every object typed without DWARF has the type the DWARF analysis gives
  it, except (listed) map buckets, which DWARF spells bucket<K,V> and the
  runtime map.bucket[K]V, and tiny-allocator blocks, which hold several
  small values and take the type of whichever typed them first, string
  bytes two strings of other lengths share, a runtime padded node DWARF
  does not describe (`&new(gcBgMarkWorkerNodePadded).gcBgMarkWorkerNode`
  on Go 1.27: the DWARF analysis types it by the first field, the type the
  local holding it declares; the code names what new made), a generic
  instantiation DWARF names by the shape its code was compiled for
  (unique.uniqueMap[go.shape.struct {...}]; the descriptors name
  unique.uniqueMap[net/netip.addrDetail]), listed, and objects DWARF leaves
  untyped (an interface holds a type DWARF has no entry for: []main.site
  in a map[string]any), which are printed; names
  are compared with each package path cut to the package's name, as the
  runtime's own names (and %T) spell them: DWARF's
  internal/runtime/atomic.Pointer[runtime.m] is the runtime's
  atomic.Pointer[runtime.m], encoding/json/v2.arshaler json.arshaler;
  and channels as runtime.hchan (DWARF names one hchan<T> or runtime.hchan
  by the word that reached it first);
- every global word the code types without DWARF (roots.type_name, from
  code_types.c: a map operation's type argument, new(T), make(map) or
  make(chan) stored there) has the type DWARF declares for it, and so has
  every stack slot of a frame waiting in a call that the code types (what
  new, makemap or makechan put there), where DWARF names a variable there;
- two shares of the DWARF analysis' typed reachable bytes are printed and
  must not fall below their floors: the bytes typed without DWARF, and the
  bytes of the types whose count and bytes without DWARF equal those with
  it (counting without DWARF only what DWARF types too: the code lays out
  closures' captures, which DWARF does not before Go 1.23; those objects
  are listed).  What stays untyped is what only a DWARF-typed root (a global's or a
  local's declared type the code does not show) leads to; Go 1.20 and 1.21
  record no object's type in the heap, so without DWARF only the roots the
  code types seed the inference, under the same floors.

The -w builds' cores are analyzed a second time with their executable
stripped of .symtab (objcopy --strip-all: the -s -w case on the very same
heap, the globals found by the locators): everything, types included, must
equal the -w analysis; only the names of global roots (bss+0x...) differ.
"""
import atexit
import os
import re
import sqlite3
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import gmtest  # noqa: E402

# Typed bytes without DWARF, as a share of those with DWARF, on every core,
# Go 1.20-1.27 (measured 99.5-100% on the corpus of stop 26; 95.0-100% at
# stop 25; 63.6-99.9% on 1.22+ and 29-87% on 1.20/1.21 at stop 24, before
# stack objects, closures, sync.Map and the runtime's ms and ps were typed
# from the code).
MIN_TYPED_SHARE = 0.95
# Bytes of the types whose count and bytes equal the DWARF analysis', as a share
# of its typed bytes (measured 99.3% (cgo 1.23) to 100%, all 192 cores at 99%
# or more, at stop 26; 87.1-100%, 143 at 99%, at stop 25; the summary line
# counts them).  One object of a big type missing
# takes that type's bytes out, and every generated corpus has other heaps (a
# growmap-big core once measured 32.6% for two main.Records reached only
# through a map's overflow bucket): the floor keeps a margin.
MIN_EQUAL_TYPES_SHARE = 0.97

# sizeof(sync.Pool) on 64-bit targets, 1.20-1.27 (`gomortem dwarf EXE sync.Pool`);
# a HashTrieMap's root (16 in 1.24-1.27) and a sync.Map's read and dirty words
# (8 and 16 before 1.24) lie within as many bytes of their starts.
SYNC_POOL_SIZE = 40
# A string's bytes, as long as the first string that reached them says: two
# strings sharing bytes (a substring) may reach them in another order.
BYTES = re.compile(r"^\[\d+\]uint8$")
BUCKET = re.compile(r"^(\[\d+\])?map\.bucket\[")
QUALIFIED = re.compile(r"[\w.-]+(?:/[\w.-]+)+")
# A field of a struct type literal, its name qualified by its package as DWARF
# spells some (struct { sync.f func(); ... }); the runtime's name has it bare.
QUALIFIED_FIELD = re.compile(r"(?<=[{;] )[\w/.-]+\.(\w+)(?= )")
MAJOR_VERSION = re.compile(r"v\d+")


def package_name(match):
    """PATH/PKG.Name -> PKG.Name; PATH/PKG/vN.Name -> PKG.Name (a module's
    major version is no part of its package's name)."""
    path, _, rest = match.group(0).rpartition("/")
    element, dot, ident = rest.partition(".")
    if MAJOR_VERSION.fullmatch(element):
        element = path.rpartition("/")[2]
    return element + dot + ident


def runtime_spelling(name):
    """A DWARF name with each package path cut to the package's name, as the
    runtime's type names spell packages: internal/sync.entry -> sync.entry,
    encoding/json/v2.arshaler -> json.arshaler; and a struct literal's field
    names bare: struct { sync.f func() } -> struct { f func() }."""
    return QUALIFIED.sub(package_name, QUALIFIED_FIELD.sub(r"\1", name)) if name else name


def dwarf_spelling(name):
    """map.bucket[K]V (runtime) -> bucket<K,V> (DWARF), the key's brackets balanced."""
    m = BUCKET.match(name or "")
    if not m:
        return name
    depth, i = 1, m.end()
    while i < len(name) and depth:
        depth += {"[": 1, "]": -1}.get(name[i], 0)
        i += 1
    return f"{m.group(1) or ''}bucket<{name[m.end():i - 1]},{name[i:]}>"


def summary(db):
    q = lambda sql: list(db.execute(sql))  # noqa: E731
    return {
        "objects": q("SELECT count(*), sum(size), sum(reachable), sum(retained) FROM objects"),
        "edges": q("SELECT count(*), sum(src), sum(dst), sum(src_off) FROM edges"),
        "goroutines": q("SELECT count(*), sum(goid), group_concat(status) FROM goroutines"),
        "frames": q("SELECT count(*), group_concat(func), sum(line) FROM frames"),
        "roots": q("SELECT count(*), sum(addr), sum(coalesce(dst, 0)), sum(coalesce(retained, 0)) FROM roots"),
    }


def typed(db):
    return {addr: (name, size, tiny) for addr, name, size, tiny in db.execute(
        "SELECT o.addr, t.name, o.size, s.noscan AND o.size = 16 FROM objects o JOIN spans s ON s.id = o.span_id "
        "LEFT JOIN types t ON t.id = o.type_id WHERE o.reachable")}


def spelling(name):
    """NAME as both analyses must agree on it: buckets as bucket<K,V>,
    packages by name, Swiss map groups without DWARF's noalg. (DWARF names
    a group noalg.map.group[K]V when a table reached it, the runtime
    map.group[K]V), and a channel as runtime.hchan: DWARF names one
    hchan<T> when a chan word reached it, runtime.hchan when a *hchan
    (a sudog's c) did, and so may the analysis without DWARF."""
    name = runtime_spelling(dwarf_spelling(name))
    if name:
        name = name.replace("noalg.map.group[", "map.group[")
    return "runtime.hchan" if name and name.startswith("hchan<") else name


def per_type(objects, spell):
    """{type name: [count, bytes]} of the typed OBJECTS (typed()'s map), names spelled by SPELL."""
    counts = {}
    for name, size, _ in objects.values():
        if name:
            entry = counts.setdefault(spell(name), [0, 0])
            entry[0] += 1
            entry[1] += size
    return counts


def padded_first_field(want, name):
    """Whether NAME, the type new made, is a runtime padded type whose first
    field DWARF's analysis WANT names (DWARF describes no padded node)."""
    return name == want + "Padded" and want.startswith("runtime.")


def shape_spelled(want, name):
    """Whether DWARF's analysis names by a shape (go.shape.*, what the generic
    code was compiled for: unique.uniqueMap[go.shape.struct {...}], or the
    shape alone) a generic instantiation the runtime's descriptors name NAME
    (unique.uniqueMap[net/netip.addrDetail], from a HashTrieMap's dictionary)."""
    return "go.shape." in want and "go.shape." not in name and "[" in name


def accepted_difference(want, got):
    """Whether the type GOT = (name, size, tiny) without DWARF differs from
    WANT, DWARF's, only as the check accepts: a tiny block, string bytes, a
    padded node, a shape DWARF names."""
    name, _, is_tiny = got
    return bool(name and want and spelling(name) != spelling(want) and
                (is_tiny or (BYTES.match(want) and BYTES.match(name)) or padded_first_field(want, name) or
                 shape_spelled(want, name)))


def equal_types_share(with_dwarf, without):
    """The share of WITH_DWARF's typed bytes whose type has the same count and
    bytes in WITHOUT (per-type statistics as type_stats gives them), counting
    in WITHOUT only the objects WITH_DWARF types too: the others (listed)
    are what DWARF does not describe, a closure's captures before Go 1.23.
    An object typed otherwise in a way the check accepts (a tiny block, string
    bytes two strings of other lengths share) counts under DWARF's type."""
    a = per_type(with_dwarf, spelling)
    b = per_type({addr: (with_dwarf[addr][0] if accepted_difference(with_dwarf[addr][0], v) else v[0], v[1], v[2])
                  for addr, v in without.items() if with_dwarf[addr][0]}, spelling)
    total = sum(v[1] for v in a.values())
    return sum(v[1] for name, v in a.items() if b.get(name) == v) / total if total else 1


def check_root_types(c, where, with_dwarf, without):
    """Every global word, and every stack slot of a frame waiting in a call,
    typed from the code without DWARF (roots.type_name) has the type DWARF
    declares for it (a slot DWARF names no variable for, a spill, cannot be
    compared: counted); their counts."""
    query = "SELECT kind, addr, name, type_name FROM roots WHERE kind IN ('data', 'bss', 'stack')"
    declared = {(kind, addr): t for kind, addr, _, t in with_dwarf.execute(query)}
    typed, wrong, spills = 0, [], 0
    for kind, addr, name, t in without.execute(query + " AND type_name IS NOT NULL"):
        typed += 1
        want = declared.get((kind, addr))
        if kind == "stack" and want is None:
            spills += 1
        elif runtime_spelling(want) != runtime_spelling(t):
            wrong.append(f"{name} {t} (DWARF: {want})")
    c.check(not wrong, f"{where}: {len(wrong)} root words typed from the code otherwise than DWARF declares them: "
            f"{wrong[:5]}")
    return typed, spills


# (where, equal-types share) of every core, for the summary at exit.
EQUAL_SHARES = []


def print_summary():
    if EQUAL_SHARES:
        low = min(EQUAL_SHARES, key=lambda x: x[1])
        high = sum(1 for _, share in EQUAL_SHARES if share >= 0.99)
        print(f"types of equal count and bytes: 99% or more on {high} of {len(EQUAL_SHARES)} cores, "
              f"lowest {100 * low[1]:.1f}% ({low[0]})")


def check_scenario(c, gm, where, sdir, tmp):
    with_dwarf = gmtest.analyze(c, gm, where, sdir, os.path.join(tmp, "a.db"))
    without = gmtest.analyze(c, gm, where + " --ignore-dwarf", sdir, os.path.join(tmp, "b.db"), ["--ignore-dwarf"])
    if with_dwarf is None or without is None:
        return
    meta = dict(without.execute("SELECT key, value FROM meta"))
    c.check(meta.get("debug_info") == "symtab" and meta.get("runtime_layouts", "").startswith("the layout table"),
            f"{where}: --ignore-dwarf meta {meta.get('debug_info')!r}, {meta.get('runtime_layouts')!r}")
    a, b = summary(with_dwarf), summary(without)
    for table in a:
        c.check(a[table] == b[table], f"{where}: {table} differ without DWARF: {b[table]} vs {a[table]}")
    ta, tb = typed(with_dwarf), typed(without)
    with_bytes = sum(size for name, size, _ in ta.values() if name)
    without_bytes, wrong, tiny, shared_bytes, padded, shapes, only_without = 0, [], 0, 0, 0, [], []
    for addr, (name, size, is_tiny) in tb.items():
        if not name:
            continue
        without_bytes += size
        want = ta[addr][0]
        # With DWARF a bucket is spelled bucket<K,V>, or as the runtime spells it when
        # main's type inference took its name from the descriptor (leaks, 1.22/1.23).
        if spelling(want) == spelling(name):
            continue
        if is_tiny:
            tiny += 1
        elif want is None:
            only_without.append(f"0x{addr:x} {name}")
        elif BYTES.match(want) and BYTES.match(name):
            shared_bytes += 1
        elif padded_first_field(want, name):
            padded += 1
        elif shape_spelled(want, name):
            shapes.append(f"0x{addr:x} {name}")
        else:
            wrong.append(f"0x{addr:x} {name} (DWARF: {want})")
    c.check(not wrong, f"{where}: {len(wrong)} objects typed otherwise than with DWARF: {wrong[:5]}")
    share = without_bytes / with_bytes if with_bytes else 1
    equal = equal_types_share(ta, tb)
    EQUAL_SHARES.append((where, equal))
    print(f"{where}: typed without DWARF {without_bytes} of {with_bytes} bytes ({100 * share:.1f}%), "
          f"types of equal count and bytes {100 * equal:.1f}%, {tiny} tiny blocks typed by another of their values, "
          f"{shared_bytes} byte arrays of another length, {padded} padded nodes, "
          f"instantiations DWARF names by their shape: {shapes[:3]}, "
          f"typed only without DWARF: {only_without[:3]}")
    typed_roots, spills = check_root_types(c, where, with_dwarf, without)
    print(f"{where}: {typed_roots} root words typed from the code, as DWARF declares them but for "
          f"{spills} stack slots DWARF names no variable for")
    # Go 1.20/1.21 record no object's type (no malloc headers, no largeType):
    # there the roots the code types seed all the inference, and the floors hold too.
    c.check(share >= MIN_TYPED_SHARE, f"{where}: only {100 * share:.1f}% of the typed bytes typed without DWARF")
    c.check(equal >= MIN_EQUAL_TYPES_SHARE,
            f"{where}: only {100 * equal:.1f}% of the typed bytes in types of equal count and bytes")
    with_dwarf.close()
    without.close()


def check_code_types_listing(c, gm, where, sdir, db):
    """`dwarf --code-types` on the -w executable lists every global word the
    analysis typed from the code (link-time addresses: these builds are not PIE)."""
    res = gmtest.run([gm, "dwarf", "--code-types", os.path.join(sdir, "exe")])
    c.no_sanitizer_report(res)
    if not c.check(res.status == 0, f"{where}: dwarf --code-types exit {res.status}: {res.stderr[-300:]}"):
        return
    lines = res.stdout.splitlines()
    facts = [line.split("\t") for line in lines if line and not line.startswith("#")]
    listed = {int(f[0], 16) for f in facts}
    pools = [int(f[0], 16) for f in facts if f[2] in ("pool-of", "hash-trie-of", "sync-map")]
    typed = {addr for (addr,) in db.execute(
        "SELECT addr FROM roots WHERE kind IN ('data', 'bss') AND type_name IS NOT NULL")}
    # A pool is listed by its start (its local array), its victim array is a word
    # further on; a sync.Map (or its trie) by its start, its typed words a few on.
    unlisted = {addr for addr in typed - listed if not any(p < addr < p + SYNC_POOL_SIZE for p in pools)}
    c.check(typed and not unlisted and lines and lines[-1].startswith("# "),
            f"{where}: dwarf --code-types lists {len(listed)} words, the analysis typed {len(typed)}, "
            f"{len(unlisted)} of them unlisted: {sorted(unlisted)[:3]}")


def check_stripped(c, gm, where, sdir, tmp):
    stripped = gmtest.stripped_copy(os.path.join(sdir, "exe"), os.path.join(tmp, "stripped"))
    if not c.check(stripped is not None, f"{where}: objcopy --strip-all failed"):
        return
    with_symtab = gmtest.analyze(c, gm, where, sdir, os.path.join(tmp, "a.db"))
    without = gmtest.analyze(c, gm, where + " stripped", sdir, os.path.join(tmp, "b.db"), exe=stripped)
    if with_symtab is None or without is None:
        return
    meta = dict(without.execute("SELECT key, value FROM meta"))
    c.check(meta.get("debug_info") == "none", f"{where} stripped: meta debug_info {meta.get('debug_info')!r}")
    a, b = summary(with_symtab), summary(without)
    for table in a:
        c.check(a[table] == b[table], f"{where}: {table} differ when stripped: {b[table]} vs {a[table]}")
    check_code_types_listing(c, gm, where, sdir, with_symtab)
    ta, tb = typed(with_symtab), typed(without)
    differ = [f"0x{addr:x} {tb.get(addr)} (-w: {t})" for addr, t in ta.items() if tb.get(addr) != t]
    c.check(not differ, f"{where}: {len(differ)} objects typed otherwise when stripped: {differ[:5]}")
    print(f"{where}: stripped = -w: {a['objects'][0][0]} objects, {a['edges'][0][0]} edges, "
          f"{a['roots'][0][0]} roots, {len(differ)} types differ")
    with_symtab.close()
    without.close()


def check(c, gm, where, sdir, tmp):
    if where.endswith("-nodwarf"):
        check_stripped(c, gm, where, sdir, tmp)
    else:
        check_scenario(c, gm, where, sdir, tmp)


def main():
    atexit.register(print_summary)
    # Live cores are left out: analyze them twice and nothing changes, but
    # they add time and nothing the crash cores do not cover.
    gmtest.each_scenario(check, want=lambda version, name: not name.endswith("-live"))


if __name__ == "__main__":
    main()
