#!/usr/bin/env python3
"""Self-test of the heap dump oracle (heapdump.py).

Builds a tiny Go program with the installed `go`, makes it write a heap dump
(after runtime.GC()), and checks the parser on it.  Exit status: 0 pass,
1 fail, 77 skip (no `go` on PATH).  Environment: GO (go binary to use).
"""

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import heapdump  # noqa: E402

GO_PROGRAM = r"""
package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
)

type node struct {
	next *node
	val  int
}

var keep []any
var tiny []*int8

func main() {
	for sz := 8; sz <= 32768; sz = sz*3/2 + 8 {
		for i := 0; i < 40; i++ {
			keep = append(keep, make([]byte, sz), make([]*int, (sz+7)/8))
		}
	}
	for i := 0; i < 5000; i++ {
		x := int8(i)
		tiny = append(tiny, &x)
		keep = append(keep, &node{val: i}, strconv.Itoa(i), new(*int))
	}
	keep = append(keep, make([]byte, 200000), make([]*int, 30000))
	for i := 0; i < 20000; i++ {
		_ = make([]byte, 40+i%300) // garbage
	}
	runtime.SetFinalizer(&node{}, func(*node) {})
	runtime.GC()
	f, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	debug.WriteHeapDump(f.Fd())
	f.Close()
	runtime.KeepAlive(keep)
	runtime.KeepAlive(tiny)
}
"""

failures = []


def check(cond, what):
    print("%s: %s" % ("ok  " if cond else "FAIL", what))
    if not cond:
        failures.append(what)


def main():
    go = os.environ.get("GO") or shutil.which("go")
    if not go:
        print("SKIP: no `go` on PATH; cannot make a heap dump")
        return 77
    with tempfile.TemporaryDirectory(prefix="hdtest.") as tmp:
        with open(os.path.join(tmp, "go.mod"), "w") as f:
            f.write("module hdtest\n\ngo 1.20\n")
        with open(os.path.join(tmp, "main.go"), "w") as f:
            f.write(GO_PROGRAM)
        env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-mod=mod", CGO_ENABLED="0")
        exe = os.path.join(tmp, "hdtest")
        r = subprocess.run([go, "build", "-o", exe, "."], cwd=tmp, env=env,
                           capture_output=True, text=True)
        if r.returncode != 0:
            print("FAIL: go build:\n" + r.stdout + r.stderr)
            return 1
        dump = os.path.join(tmp, "heap.dump")
        r = subprocess.run([exe, dump], capture_output=True, text=True)
        if r.returncode != 0:
            print("FAIL: dump program:\n" + r.stdout + r.stderr)
            return 1

        with open(dump, "rb") as f:
            raw = f.read()
        check(raw.startswith(heapdump.HEADER), "header is %r" % heapdump.HEADER)

        d = heapdump.parse(dump)
        p = d.params
        print("     build_version=%r goarch=%s ptr_size=%d" % (
            p["build_version"], p["goarch"], p["ptr_size"]))
        check(p["ptr_size"] in (4, 8), "params.ptr_size")
        check(p["arena_start"] < p["arena_end"], "params arena range")
        check(d.memstats is not None and all(k in d.memstats for k in
              heapdump.MEMSTATS_NAMES + ("NumGC", "PauseNs")), "memstats present")
        check(d.memstats["NumGC"] >= 1, "NumGC >= 1")
        check(len(d.objects) > 0, "object count > 0 (%d)" % len(d.objects))
        check(all(o[1] > 0 for o in d.objects), "object sizes > 0")
        check(len(d.goroutines) > 0 and any(g["frames"] for g in d.goroutines),
              "goroutines with frames")
        check(any(fr["funcname"] == "main.main" for g in d.goroutines
                  for fr in g["frames"]), "main.main frame present")
        check(d.data is not None and d.bss is not None, "data and bss roots")
        check(len(d.threads) > 0, "OS threads")
        check(len(d.finalizers) >= 1, "registered finalizer present")
        check(d.record_counts.get("eof") == 1, "one EOF record")

        info = heapdump.phantom_info(d)
        keep = info["keep"]
        nobj, nbytes = len(keep), sum(o[1] for o in keep)
        ms = d.memstats
        print("     dump slots %d; without phantoms %d objects %d bytes; "
              "MemStats HeapObjects %d HeapAlloc %d" % (
                  len(d.objects), nobj, nbytes, ms["HeapObjects"], ms["HeapAlloc"]))
        check(not info["missing_phantoms"], "every expected phantom slot present")
        check(nobj == ms["HeapObjects"], "objects without phantoms == HeapObjects")
        check(nbytes == ms["HeapAlloc"], "bytes without phantoms == HeapAlloc")
        ver = d.go_version()
        if ver is not None and ver < (1, 22):
            check(not info["phantoms"], "no phantom slots before Go 1.22")

        # Fast (regex run) path and checked per-record path agree.
        saved = heapdump._RUN_MAX_SIZE
        heapdump._RUN_MAX_SIZE = 0
        try:
            slow = heapdump.parse(dump, keep_contents=True)
        finally:
            heapdump._RUN_MAX_SIZE = saved
        fast = heapdump.parse(dump, keep_contents=True)
        check(slow.objects == d.objects == fast.objects, "fast and slow object paths agree")
        check(fast.object_contents == slow.object_contents and
              all(len(c) == o[1] for c, o in zip(fast.object_contents, fast.objects)),
              "keep_contents lengths")

        # span_limits form of drop_phantoms gives the same result.
        limits = []
        by_page = {}
        for o in d.objects:
            if o[1] <= 8 * p["ptr_size"] ** 2:
                by_page.setdefault(o[0] & ~8191, []).append(o)
        for pg, objs in by_page.items():
            e = objs[0][1]
            scan = any(o[2] for o in objs)
            res = heapdump.span_reserve(e, scan, ver, heapdump._experiments(p["build_version"]),
                                        p["ptr_size"])
            limits.append((pg, pg + 8192, pg + (8192 - res) // e * e))
        check(heapdump.drop_phantoms(d.objects, span_limits=limits) == keep,
              "drop_phantoms(span_limits=...) agrees")

        # Truncated and corrupt dumps raise HeapDumpError with an offset.
        bad = os.path.join(tmp, "bad.dump")
        cuts = [0, 10, 17, len(raw) // 3, len(raw) // 2, len(raw) - 1]
        n_err = 0
        for cut in cuts:
            with open(bad, "wb") as f:
                f.write(raw[:cut])
            try:
                heapdump.parse(bad)
            except heapdump.HeapDumpError as e:
                n_err += e.offset is not None and 0 <= e.offset <= cut
        check(n_err == len(cuts), "truncated dumps raise HeapDumpError with offset")
        with open(bad, "wb") as f:
            f.write(raw[:16] + b"\x63" + raw[17:])
        try:
            heapdump.parse(bad)
            check(False, "unknown tag raises HeapDumpError")
        except heapdump.HeapDumpError as e:
            check(e.offset == 16, "unknown tag raises HeapDumpError at offset 16")

        # Command line.
        r = subprocess.run([sys.executable, os.path.join(HERE, "heapdump.py"), dump,
                            "--summary"], capture_output=True, text=True)
        check(r.returncode == 0 and "matches memstats: True" in r.stdout, "--summary")
        r = subprocess.run([sys.executable, os.path.join(HERE, "heapdump.py"), dump,
                            "--objects"], capture_output=True, text=True)
        lines = r.stdout.splitlines()
        check(r.returncode == 0 and len(lines) == len(d.objects) and
              lines == sorted(lines, key=lambda s: int(s.split()[0], 16)), "--objects")
        r = subprocess.run([sys.executable, os.path.join(HERE, "heapdump.py"), dump,
                            "--json"], capture_output=True, text=True)
        check(r.returncode == 0 and r.stdout.startswith("{"), "--json")

    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
