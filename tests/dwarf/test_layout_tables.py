"""The generated runtime layout tables (dwarf/layout_tables.c) against the
DWARF of every Go version in the corpus, and their use on the cores of
builds without DWARF (zoo-nodwarf, -ldflags=-w).

1. For each version, the table equals what the runtime binders read from a
   DWARF build (`gomortem dwarf --layouts` on the corpus's zoo exe: not the
   dwarf/layoutprobe program the table was made from).
2. On each -nodwarf core, the runtime bound from the table gives the
   goroutines by status that the traceback Go printed has (the oracle), as
   does --runtime-from with the DWARF build of the same version.
3. --runtime-from refuses an executable of another Go version, and a
   version without a table is refused with a message that says what to pass.
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import gmtest  # noqa: E402
import traceback as gotraceback  # noqa: E402

EXIT_BAD_EXE, EXIT_NO_DWARF = 5, 6


def check_table(c, gm, version, zoo_exe):
    dwarf = gmtest.run([gm, "dwarf", "--layouts", zoo_exe])
    c.no_sanitizer_report(dwarf)
    arch = gmtest.folder_arch(version)
    table = gmtest.run([gm, "dwarf", "--layout-table", gmtest.go_version(version), arch])
    if not c.check(dwarf.status == 0 and table.status == 0,
                   f"{version}: --layouts exited {dwarf.status} ({dwarf.stderr.strip()}), "
                   f"--layout-table exited {table.status} ({table.stderr.strip()}): "
                   "re-run dwarf/gen_layouts"):
        return
    header, _, body = table.stdout.partition("\n")
    c.check(header.split()[1:3] == [gmtest.go_version(version), arch], f"{version}: table header {header!r}")
    want, have = set(dwarf.stdout.splitlines()), set(body.splitlines())
    c.check(len(want) > 300, f"{version}: only {len(want)} answers recorded from DWARF")
    c.check(want == have, f"{version}: the table differs from the DWARF build (re-run dwarf/gen_layouts): "
            f"DWARF only {sorted(want - have)[:5]}, table only {sorted(have - want)[:5]}")


def goroutines_by_status(sdir):
    dumped = gotraceback.parse_file(os.path.join(sdir, "traceback.txt"))
    by_status = {}
    for g in dumped.values():
        by_status[g.status] = by_status.get(g.status, 0) + 1
    return by_status


def check_nodwarf_core(c, gm, version, sdir, dwarf_exe, other_exe):
    core, exe = os.path.join(sdir, "core"), os.path.join(sdir, "exe")
    want = goroutines_by_status(sdir)
    for extra, source in (([], f"the layout table of {gmtest.go_version(version)}/{gmtest.folder_arch(version)}"),
                          (["--runtime-from", dwarf_exe], "DWARF of --runtime-from")):
        res = gmtest.run([gm, "info", core, "--exe", exe, "--json", *extra])
        c.no_sanitizer_report(res)
        where = f"{version}/zoo-nodwarf {' '.join(extra)}"
        if not c.check(res.status == 0, f"{where}: info exited {res.status}: {res.stderr.strip()}"):
            continue
        info = res.json()
        c.check(info["dwarf"] is False and info["debug_info"] == "symtab",
                f"{where}: debug info {info['debug_info']!r}")
        c.check(info["runtime_layouts"] == source, f"{where}: layouts from {info['runtime_layouts']!r}")
        c.check(info["goroutines"] and info["goroutines"]["by_status"] == want,
                f"{where}: goroutines {info['goroutines']}, the traceback has {want}")
    if other_exe:
        res = gmtest.run([gm, "info", core, "--exe", exe, "--runtime-from", other_exe])
        c.check(res.status == EXIT_BAD_EXE and gmtest.go_version(version) in res.stderr and "--runtime-from" in res.stderr,
                f"{version}: --runtime-from another version: exit {res.status}: {res.stderr.strip()}")


def check_no_table(c, gm, version, sdir):
    """The same executable claiming a Go version with no table (every copy of
    the version string replaced, so the core's runtime.buildVersion, read
    from the executable's rodata, agrees)."""
    with tempfile.TemporaryDirectory() as tmp:
        exe, fake = gmtest.exe_claiming_version(sdir, gmtest.go_version(version), tmp)
        if not exe:
            return
        # --force-version: the claimed version is outside the known range too.
        res = gmtest.run([gm, "info", os.path.join(sdir, "core"), "--exe", exe, "--force-version"])
        c.no_sanitizer_report(res)
        c.check(res.status == EXIT_NO_DWARF and f"no runtime layout table for {fake}" in res.stderr and
                f"--runtime-from EXE, any executable with DWARF built by {fake}" in res.stderr and
                "goroutines:   unknown" in res.stdout,
                f"{fake}: no table: exit {res.status}: {res.stderr.strip()}")


def main():
    gm = gmtest.gomortem()
    root = gmtest.corpus_dir()
    c = gmtest.Checker("test_layout_tables")
    zoo = {v: os.path.join(d, "exe") for v, name, d in gmtest.scenarios(root) if name == "zoo"}
    nodwarf = {v: d for v, name, d in gmtest.scenarios(root) if name == "zoo-nodwarf"}
    if not zoo:
        gmtest.skip(f"no zoo cores under {root}")
    for version, exe in sorted(zoo.items()):
        check_table(c, gm, version, exe)
    for version, sdir in sorted(nodwarf.items()):
        other = next((e for v, e in sorted(zoo.items()) if gmtest.go_version(v) != gmtest.go_version(version)), None)
        check_nodwarf_core(c, gm, version, sdir, zoo.get(version), other)
        if gmtest.folder_arch(version) == "amd64":
            # qemu-user's arm64 cores hold their own copy of the version string
            # (runtime.buildVersion), so a renamed executable cannot agree with them;
            # the message does not depend on the architecture.
            check_no_table(c, gm, version, sdir)
    c.check(len(nodwarf) == len(zoo), f"zoo-nodwarf cores for {sorted(nodwarf)}, zoo for {sorted(zoo)}")
    print(f"Go versions covered: {' '.join(sorted(zoo))}")
    c.finish()


if __name__ == "__main__":
    main()
