"""gomortem's reachable objects against viewcore's live objects
(golang.org/x/debug/cmd/viewcore, built by the peers' build.sh; skipped when
it is not there), object by object (docs/benchmarks.md, "viewcore").
viewcore finds fewer live objects, for two reasons only, both its own:
  1. in a small object with a malloc header, it applies the header type's
     pointer mask to the first element only, where the runtime tiles it over
     the whole slot (typePointers; a []*T backing array of n > 1 elements
     keeps only its first pointer alive for viewcore);
  2. it ignores runtime.AddCleanup's roots (gomortem's roots.kind 'cleanup').
The test rebuilds gomortem's reachable set from its own database with those
two differences applied (no edge from a header object's slot past its
header type's first element, no cleanup root) and requires it to equal
viewcore's live set exactly, on the zoo core of every Go version viewcore
reads: 1.23-1.26 (it crashes on 1.20-1.22's cores).  On 1.27 viewcore does
not know the runtime: it skips the pointers of runtime.mPadded and
runtime.p, and on the etcd kernel core lists 11 objects gomortem finds
unreachable, reached only from runtime.p's uintptr words (pcache.base and
the write barrier buffer wbBuf.buf, which the GC does not trace;
docs/benchmarks.md): only printed.  With GOMORTEM_LONG=1 the
etcd cores are compared too."""
import collections
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import gmtest  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
EXACT = ("go1.23", "go1.24", "go1.25", "go1.26")


def viewcore_binary():
    """viewcore: $GOMORTEM_VIEWCORE, or built by the peers' build.sh into build/peers."""
    given = os.environ.get("GOMORTEM_VIEWCORE")
    if given:
        return given
    out = os.path.join(REPO, "build", "peers")
    if os.access(os.path.join(out, "viewcore"), os.X_OK):
        return os.path.join(out, "viewcore")
    for peers in (os.environ.get("GOMORTEM_PEERS"), os.path.join(REPO, "..", "shared", "peers"),
                  os.path.join(REPO, "..", "..", "shared", "peers")):
        if peers and os.path.isfile(os.path.join(peers, "build.sh")):
            res = subprocess.run(["bash", os.path.join(peers, "build.sh"), out], capture_output=True, text=True)
            if res.returncode == 0:
                return os.path.join(out, "viewcore")
            gmtest.skip(f"the peers' build.sh failed: {res.stderr.strip()[-300:]}")
    gmtest.skip("no viewcore (set GOMORTEM_VIEWCORE, or GOMORTEM_PEERS to the folder of the peers' build.sh)")


def viewcore_live(vc, sdir):
    res = subprocess.run([vc, os.path.join(sdir, "core"), "--exe", os.path.join(sdir, "exe"), "objects"],
                         capture_output=True, text=True, timeout=1800)
    if res.returncode != 0:
        return None
    return {int(line.split()[0], 16) for line in res.stdout.splitlines() if line.strip()}


def viewcore_model(db):
    """gomortem's reachable set with viewcore's two differences applied."""
    types = {tid: (name, size, raddr) for tid, name, size, raddr in
             db.execute("SELECT id, name, size, runtime_addr FROM types")}
    addr, first_elem_end = {}, {}
    for oid, a, tid, header in db.execute(
            "SELECT o.id, o.addr, o.type_id, s.header_size FROM objects o JOIN spans s ON s.id = o.span_id"):
        addr[oid] = a
        if header and tid is not None:
            name, size, raddr = types[tid]
            m = re.match(r"\[(\d+)\]", name) if raddr is None else None
            first_elem_end[oid] = header + (size // int(m.group(1)) if m and size else size or 0)
    edges = collections.defaultdict(list)
    for src, off, dst in db.execute("SELECT src, src_off, dst FROM edges"):
        if src not in first_elem_end or off < first_elem_end[src]:
            edges[src].append(dst)
    seen = {dst for kind, dst in db.execute("SELECT kind, dst FROM roots WHERE dst IS NOT NULL") if kind != "cleanup"}
    stack = list(seen)
    while stack:
        for d in edges[stack.pop()]:
            if d not in seen:
                seen.add(d)
                stack.append(d)
    return {addr[o] for o in seen}


def compare(c, gm, vc, where, sdir, tmp, exact):
    live = viewcore_live(vc, sdir)
    if live is None:
        print(f"{where}: viewcore cannot read this core (not compared)")
        return
    db = gmtest.analyze(c, gm, where, sdir, os.path.join(tmp, "v.db"))
    if db is None:
        return
    reachable = {a for a, in db.execute("SELECT addr FROM objects WHERE reachable = 1")}
    model = viewcore_model(db)
    print(f"{where}: gomortem {len(reachable)} reachable, viewcore {len(live)} live, "
          f"gomortem with viewcore's two differences {len(model)}")
    if not exact:  # 1.27: viewcore does not know its runtime (see the docstring)
        print(f"{where}: not compared; {len(live - reachable)} objects live for viewcore only, "
              f"{len(model - live)} reachable for gomortem only after the two differences")
        db.close()
        return
    c.check(live <= reachable, f"{where}: {len(live - reachable)} objects live for viewcore only, e.g. "
            + ", ".join(hex(a) for a in sorted(live - reachable)[:5]))
    if exact:
        c.check(model == live, f"{where}: the model misses {len(live - model)} of viewcore's objects and adds "
                f"{len(model - live)}, e.g. " + ", ".join(hex(a) for a in sorted(model ^ live)[:5]))
    db.close()


def main():
    gm = gmtest.gomortem()
    vc = viewcore_binary()
    c = gmtest.Checker("test_viewcore")
    cores = [(v, n, d) for v, n, d in gmtest.scenarios(gmtest.corpus_dir()) if n == "zoo" and "-" not in v]
    if os.environ.get("GOMORTEM_LONG") == "1":
        etcd = os.environ.get("GOMORTEM_ETCD_CORPUS", os.path.join(REPO, "build", "corpus-etcd"))
        if os.path.isdir(etcd):
            cores += list(gmtest.scenarios(etcd))
    if not cores:
        gmtest.skip("no zoo cores in the corpus")
    with tempfile.TemporaryDirectory(prefix="gomortem-viewcore-") as tmp:
        for version, name, sdir in cores:
            compare(c, gm, vc, f"{version}/{name}", sdir, tmp, version.startswith(EXACT))
    c.finish()


if __name__ == "__main__":
    main()
