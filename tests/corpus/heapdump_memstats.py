#!/usr/bin/env python3
"""Minimal Go heap dump ("go1.7 heap dump") walker used by check_corpus.sh.

Usage: heapdump_memstats.py HEAPDUMP
Prints one JSON object: the memstats record (24 named fields + NumGC), the
number of records of each kind and the params (ptrsize, goarch, version).
Exit 1 on a malformed dump.
"""
import json
import sys

MEMSTATS = ["Alloc", "TotalAlloc", "Sys", "Lookups", "Mallocs", "Frees", "HeapAlloc",
            "HeapSys", "HeapIdle", "HeapInuse", "HeapReleased", "HeapObjects",
            "StackInuse", "StackSys", "MSpanInuse", "MSpanSys", "MCacheInuse",
            "MCacheSys", "BuckHashSys", "GCSys", "OtherSys", "NextGC", "LastGC",
            "PauseTotalNs"]
NAMES = {0: "eof", 1: "object", 2: "otherroot", 3: "type", 4: "goroutine", 5: "frame",
         6: "params", 7: "finalizer", 8: "itab", 9: "osthread", 10: "memstats",
         11: "queuedfinalizer", 12: "data", 13: "bss", 14: "defer", 15: "panic",
         16: "memprof", 17: "allocsample"}


def main(path):
    b = open(path, "rb").read()
    hdr = b"go1.7 heap dump\n"
    if not b.startswith(hdr):
        raise ValueError("bad header")
    pos = len(hdr)

    def uv():
        nonlocal pos
        x = s = 0
        while True:
            c = b[pos]
            pos += 1
            x |= (c & 0x7F) << s
            if c < 0x80:
                return x
            s += 7

    def st():
        nonlocal pos
        n = uv()
        v = b[pos:pos + n]
        if len(v) != n:
            raise ValueError("truncated string")
        pos += n
        return v

    def fields():
        while uv() != 0:
            uv()

    counts = {}
    out = {}
    while True:
        tag = uv()
        counts[NAMES.get(tag, str(tag))] = counts.get(NAMES.get(tag, str(tag)), 0) + 1
        if tag == 0:
            break
        elif tag == 1:
            uv(); st(); fields()
        elif tag == 2:
            st(); uv()
        elif tag == 3:
            uv(); uv(); st(); uv()
        elif tag == 4:
            uv(); uv(); uv(); uv(); uv(); uv(); uv(); uv(); st()
            for _ in range(4):
                uv()
        elif tag == 5:
            uv(); uv(); uv(); st(); uv(); uv(); uv(); st(); fields()
        elif tag == 6:
            big = uv(); ptr = uv(); uv(); uv()
            arch = st().decode(); ver = st().decode(); ncpu = uv()
            out["params"] = {"bigendian": big, "ptrsize": ptr, "goarch": arch,
                             "version": ver, "ncpu": ncpu}
        elif tag in (7, 11):
            for _ in range(5):
                uv()
        elif tag == 8:
            uv(); uv()
        elif tag == 9:
            uv(); uv(); uv()
        elif tag == 10:
            ms = {k: uv() for k in MEMSTATS}
            for _ in range(256):
                uv()
            ms["NumGC"] = uv()
            out["memstats"] = ms
        elif tag in (12, 13):
            uv(); st(); fields()
        elif tag == 14:
            for _ in range(7):
                uv()
        elif tag == 15:
            for _ in range(6):
                uv()
        elif tag == 16:
            uv(); uv(); n = uv()
            for _ in range(n):
                st(); st(); uv()
            uv(); uv()
        elif tag == 17:
            uv(); uv()
        else:
            raise ValueError("unknown record tag %d at offset %d" % (tag, pos))
    out["records"] = counts
    out["trailing_bytes"] = len(b) - pos
    print(json.dumps(out))


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except (ValueError, IndexError) as e:
        print("heapdump_memstats: %s: %s" % (sys.argv[1], e), file=sys.stderr)
        sys.exit(1)
