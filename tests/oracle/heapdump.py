#!/usr/bin/env python3
"""Parser for Go heap dumps written by runtime/debug.WriteHeapDump.

This is the ground-truth oracle of the gomortem test suite.  Standard library
only; importable (``import heapdump``) and usable from the command line::

    python3 heapdump.py DUMP [--summary|--objects|--json] [--no-phantoms]

Format ("go1.7 heap dump\\n", unchanged from Go 1.7 through 1.26; source of
truth: $GOROOT/src/runtime/heapdump.go).  After the 16-byte header the file is
a sequence of records, each starting with a uvarint tag:

  tag record            fields
  0   EOF               -
  1   object            uvarint addr; string contents (len = span elemsize);
                        fieldlist
  2   other root        string description; uvarint ptr   (never emitted)
  3   type              uvarint addr; uvarint size; string name; bool ptr-in-iface
  4   goroutine         uvarint g; sp; goid; gopc; status; bool is_system;
                        bool is_background; uvarint waitsince; string waitreason;
                        uvarint ctxt; m; defer; panic
  5   stack frame       uvarint sp; depth; child_sp; string contents;
                        uvarint entry; pc; continpc; string funcname; fieldlist
  6   params            bool big_endian; uvarint ptr_size; arena_start;
                        arena_end; string goarch; string build_version;
                        uvarint ncpu
  7   finalizer         uvarint obj; fn; fn.fn (pc); fint; ot
  8   itab              uvarint itab; uvarint type
  9   OS thread         uvarint m; id; procid
  10  memstats          24 uvarints, 256 uvarints PauseNs, uvarint NumGC
  11  queued finalizer  like 7
  12  data              uvarint addr; string contents; fieldlist
  13  bss               like 12
  14  defer             uvarint d; g; sp; pc; fn; fn.fn; link
  15  panic             uvarint p; g; eface type; eface data; 0; link
  16  memprof record    uvarint bucket; size; nstk; nstk x {string func;
                        string file; uvarint line}; uvarint allocs; frees
  17  alloc sample      uvarint obj; uvarint bucket

  uvarint  = encoding/binary Uvarint (LEB128, at most 10 bytes)
  string   = uvarint length + bytes;  bool = uvarint 0/1
  fieldlist= repeated (uvarint kind, uvarint offset), ended by kind 0 (no
             offset).  Only kind 1 (pointer) is emitted; kinds 2 (iface) and
             3 (eface) are defined but unused; they are accepted and recorded
             in Dump.iface_fields.

Phantom slots (Go 1.22+): see drop_phantoms() below.
"""

import gc
import itertools
import json
import mmap
import operator
import os
import re
import sys

__all__ = ["parse", "Dump", "HeapDumpError", "drop_phantoms", "phantom_info",
           "span_reserve", "HEADER", "MEMSTATS_NAMES"]

HEADER = b"go1.7 heap dump\n"

TAG_NAMES = {
    0: "eof", 1: "object", 2: "other_root", 3: "type", 4: "goroutine",
    5: "stack_frame", 6: "params", 7: "finalizer", 8: "itab",
    9: "os_thread", 10: "memstats", 11: "queued_finalizer", 12: "data",
    13: "bss", 14: "defer", 15: "panic", 16: "memprof", 17: "alloc_sample",
}

MEMSTATS_NAMES = (
    "Alloc", "TotalAlloc", "Sys", "Lookups", "Mallocs", "Frees",
    "HeapAlloc", "HeapSys", "HeapIdle", "HeapInuse", "HeapReleased",
    "HeapObjects", "StackInuse", "StackSys", "MSpanInuse", "MSpanSys",
    "MCacheInuse", "MCacheSys", "BuckHashSys", "GCSys", "OtherSys", "NextGC",
    "LastGC", "PauseTotalNs",
)

PAGE_SIZE = 8192  # runtime pageSize (_PageShift = 13) on every GOARCH


class HeapDumpError(Exception):
    """Raised for a truncated or corrupt dump; .offset is the byte offset."""

    def __init__(self, msg, offset):
        super().__init__("heap dump: %s at byte offset %d (0x%x)"
                         % (msg, offset, offset))
        self.offset = offset


class Dump:
    """Parsed heap dump.  See module docstring for the record layouts."""

    def __init__(self):
        self.path = None
        self.file_size = 0
        self.params = None
        self.objects = []          # (addr, size, ptr_offsets tuple)
        self.object_contents = None  # parallel list of bytes if keep_contents
        self.memstats = None       # dict, MEMSTATS_NAMES + PauseNs + NumGC
        self.goroutines = []       # dicts, each with "frames", "defers", "panics"
        self.threads = []          # dicts: addr, id, procid
        self.data = None           # dict: addr, size, ptr_offsets
        self.bss = None
        self.finalizers = []       # dicts: obj, fn, fn_pc, fint, ot
        self.queued_finalizers = []
        self.itabs = []            # dicts: addr, type
        self.types = []            # dicts: addr, size, name, ptr_in_iface
        self.defers = []           # dicts: addr, g, sp, pc, fn, fn_pc, link
        self.panics = []           # dicts: addr, g, arg_type, arg_data, defer, link
        self.memprof = []          # dicts: bucket, size, stack, allocs, frees
        self.alloc_samples = []    # dicts: obj, bucket
        self.other_roots = []      # dicts: description, ptr
        self.iface_fields = []     # (record offset, kind, offset) for kinds 2/3
        self.record_counts = {}    # tag name -> count
        self.eof_offset = None

    # --- convenience -----------------------------------------------------
    def go_version(self):
        """(major, minor) parsed from params.build_version, or None."""
        return _parse_go_version(self.params["build_version"] if self.params else "")

    def object_bytes(self):
        return sum(o[1] for o in self.objects)

    def to_json_dict(self):
        d = {
            "params": self.params,
            "record_counts": self.record_counts,
            "memstats": self.memstats,
            "objects": [{"addr": a, "size": s, "ptr_offsets": list(p)}
                        for a, s, p in self.objects],
            "goroutines": self.goroutines,
            "threads": self.threads,
            "data": self.data,
            "bss": self.bss,
            "finalizers": self.finalizers,
            "queued_finalizers": self.queued_finalizers,
            "itabs": self.itabs,
            "types": self.types,
            "defers": self.defers,
            "panics": self.panics,
            "memprof": self.memprof,
            "alloc_samples": self.alloc_samples,
            "other_roots": self.other_roots,
            "iface_fields": self.iface_fields,
        }
        return _strip_contents(d)


def _strip_contents(x):
    if isinstance(x, dict):
        return {k: _strip_contents(v) for k, v in x.items() if k != "contents"}
    if isinstance(x, (list, tuple)):
        return [_strip_contents(v) for v in x]
    return x


_VERSION_RE = re.compile(r"go(\d+)\.(\d+)")


def _parse_go_version(s):
    m = _VERSION_RE.search(s or "")
    if not m:
        return None
    return (int(m.group(1)), int(m.group(2)))


def _experiments(build_version):
    """Set of GOEXPERIMENT tokens in a buildVersion like 'go1.26.8 X:a,b'."""
    m = re.search(r"X:([A-Za-z0-9_,]+)", build_version or "")
    return set(m.group(1).split(",")) if m else set()


# Fieldlist of kind-1 entries ending in kind 0.  Matched by the C regex
# engine; the entries are decoded only once per distinct byte string.
_FIELDLIST_RE = re.compile(rb"(?:\x01[\x80-\xff]{0,9}[\x00-\x7f])*\x00")
_HIGHBYTE_RE = re.compile(rb"[\x80-\xff]")


class _Reader:
    __slots__ = ("m", "n", "fl_cache", "iface_fields")

    def __init__(self, m, n):
        self.m = m
        self.n = n
        self.fl_cache = {}
        self.iface_fields = []

    def uv(self, pos):
        """Decode a uvarint at pos -> (value, new_pos)."""
        m = self.m
        try:
            b = m[pos]
        except IndexError:
            raise HeapDumpError("truncated uvarint", pos) from None
        if b < 0x80:
            return b, pos + 1
        v = b & 0x7F
        shift = 7
        p = pos + 1
        while True:
            try:
                b = m[p]
            except IndexError:
                raise HeapDumpError("truncated uvarint", pos) from None
            p += 1
            v |= (b & 0x7F) << shift
            if b < 0x80:
                return v, p
            shift += 7
            if shift >= 70:
                raise HeapDumpError("uvarint longer than 10 bytes", pos)

    def uvs(self, pos, count):
        out = []
        uv = self.uv
        for _ in range(count):
            v, pos = uv(pos)
            out.append(v)
        return out, pos

    def boolean(self, pos):
        v, p = self.uv(pos)
        if v > 1:
            raise HeapDumpError("bool value %d is not 0/1" % v, pos)
        return bool(v), p

    def span(self, pos):
        """A string field -> (start, length, new_pos); contents are not copied."""
        ln, p = self.uv(pos)
        end = p + ln
        if end > self.n:
            raise HeapDumpError("string of length %d runs past end of file "
                                "(%d bytes)" % (ln, self.n), pos)
        return p, ln, end

    def bytes_(self, pos):
        p, ln, end = self.span(pos)
        return self.m[p:end], end

    def string(self, pos):
        p, ln, end = self.span(pos)
        return self.m[p:end].decode("utf-8", "replace"), end

    def fieldlist(self, pos, rec_off):
        """-> (ptr_offsets tuple, new_pos)."""
        m = self.m
        mt = _FIELDLIST_RE.match(m, pos)
        if mt is not None:
            end = mt.end()
            raw = m[pos:end - 1]
            offs = self.fl_cache.get(raw)
            if offs is None:
                offs = self._decode_fl(raw)
                self.fl_cache[raw] = offs
            return offs, end
        return self._fieldlist_slow(pos, rec_off)

    @staticmethod
    def _decode_fl(raw):
        if not raw:
            return ()
        if _HIGHBYTE_RE.search(raw) is None:
            return tuple(raw[1::2])
        out = []
        i = 1  # skip kind byte
        n = len(raw)
        while i < n:
            b = raw[i]
            i += 1
            v = b & 0x7F
            shift = 7
            while b & 0x80:
                b = raw[i]
                i += 1
                v |= (b & 0x7F) << shift
                shift += 7
            out.append(v)
            i += 1  # next kind byte
        return tuple(out)

    def _fieldlist_slow(self, pos, rec_off):
        offs = []
        uv = self.uv
        while True:
            kpos = pos
            kind, pos = uv(pos)
            if kind == 0:
                return tuple(offs), pos
            if kind > 3:
                raise HeapDumpError("bad fieldlist kind %d in record at %d"
                                    % (kind, rec_off), kpos)
            off, pos = uv(pos)
            if kind == 1:
                offs.append(off)
            else:
                self.iface_fields.append((rec_off, kind, off))


# --- object-record fast path helpers ---------------------------------------
_VARINT_RE = re.compile(rb"[\x80-\xff]{0,9}[\x00-\x7f]")
_RUN_MAX_SIZE = 32768          # small size classes; larger objects: slow path
_FL_GROUP = rb"((?:\x01[\x80-\xff]{0,9}[\x00-\x7f])*)\x00"
_run_patterns = {}
_GROUPS = operator.methodcaller("groups")
_or = operator.or_
_repeat = itertools.repeat
_iter = iter
# low two bytes of an address varint (both with the continuation bit) -> value
_LO = {bytes((a | 0x80, b | 0x80)): a | (b << 7) for a in range(128) for b in range(128)}
_LO_GET = _LO.__getitem__


def _uv_bytes(bs):
    v = 0
    sh = 0
    for b in bs:
        v |= (b & 0x7F) << sh
        sh += 7
    return v


def _enc_uv(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def _run_pattern(e, keep):
    key = (e, keep)
    p = _run_patterns.get(key)
    if p is None:
        body = (rb"(.{%d})" if keep else rb".{%d}") % e
        p = re.compile(rb"\x01([\x80-\xff][\x80-\xff])([\x80-\xff]{0,7}[\x00-\x7f])"
                       + re.escape(_enc_uv(e)) + body + _FL_GROUP, re.S)
        _run_patterns[key] = p
    return p


class _HiCache(dict):
    """address varint bytes after the first two -> value << 14"""
    def __missing__(self, k):
        v = self[k] = _uv_bytes(k) << 14
        return v


class _FlCache(dict):
    """raw kind-1 fieldlist bytes -> tuple of offsets"""
    def __missing__(self, k):
        v = self[k] = _Reader._decode_fl(k)
        return v


def _object_slow(r, m, size, rec, pos, objects, contents):
    """Parse one object record (tag already consumed, pos after it)."""
    addr, pos = r.uv(pos)
    ln, pos = r.uv(pos)
    cstart = pos
    pos += ln
    if pos > size:
        raise HeapDumpError("object contents (%d bytes) run past end of file"
                            % ln, rec)
    if contents is not None:
        contents.append(m[cstart:pos])
    offs, pos = r.fieldlist(pos, rec)
    objects.append((addr, ln, offs))
    return pos


def parse(path, keep_contents=False):
    """Parse the heap dump at path and return a Dump.

    keep_contents: also keep object contents (Dump.object_contents, parallel
    to Dump.objects) and the contents of frames, data and bss ("contents"
    keys).  Off by default to keep memory low.
    """
    d = Dump()
    d.path = path
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        d.file_size = size
        if size < len(HEADER):
            raise HeapDumpError("file too short for header (%d bytes)" % size, 0)
        m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of small tuples: the cyclic GC only costs time
    try:
        _parse_into(d, m, size, keep_contents)
    finally:
        m.close()
        if gc_was_enabled:
            gc.enable()
    return d


def _parse_into(d, m, size, keep):
    if m[:len(HEADER)] != HEADER:
        raise HeapDumpError("bad header %r (want %r)" % (bytes(m[:len(HEADER)]), HEADER), 0)
    r = _Reader(m, size)
    uv = r.uv
    counts = {}
    objects = d.objects
    contents = [] if keep else None
    d.object_contents = contents
    cur_g = None
    pos = len(HEADER)
    hi_get = _HiCache().__getitem__
    fc_get = _FlCache().__getitem__

    while True:
        if pos >= size:
            raise HeapDumpError("missing EOF record (file truncated?)", pos)
        rec = pos
        tag, pos = uv(pos)

        if tag == 1:
            # Hot path.  Object records come in long runs of equal size (one
            # span after another).  A run of records of size e is matched
            # by an anchored regex scanner entirely in C; the fields are
            # then assembled with map/zip, also in C.  Anything the run
            # pattern does not match (large objects, odd fieldlists, a
            # truncated record) goes through the checked per-record path.
            n0 = len(objects)
            while True:
                try:
                    pat = None
                    if size - pos > 20:
                        a_end = _VARINT_RE.match(m, pos).end()
                        l_end = _VARINT_RE.match(m, a_end).end()
                        e = _uv_bytes(m[a_end:l_end])
                        if e <= _RUN_MAX_SIZE and a_end - pos >= 3:
                            pat = _run_pattern(e, keep)
                    mos = list(_iter(pat.scanner(m, rec).match, None)) if pat else None
                except (AttributeError, IndexError):
                    mos = None
                if mos:
                    cols = list(zip(*map(_GROUPS, mos)))
                    # groups: addr low 2 bytes, addr rest, [contents,] fieldlist
                    objects.extend(zip(map(_or, map(_LO_GET, cols[0]), map(hi_get, cols[1])),
                                       _repeat(e), map(fc_get, cols[-1])))
                    if keep:
                        contents.extend(cols[2])
                    pos = mos[-1].end()
                else:
                    pos = _object_slow(r, m, size, rec, pos, objects, contents)
                if pos < size and m[pos] == 1:
                    rec = pos
                    pos += 1
                    continue
                break
            counts["object"] = counts.get("object", 0) + len(objects) - n0
            continue

        name = TAG_NAMES.get(tag)
        if name is None:
            raise HeapDumpError("unknown record tag %d" % tag, rec)
        counts[name] = counts.get(name, 0) + 1

        if tag == 0:
            d.eof_offset = rec
            if pos != size:
                raise HeapDumpError("%d bytes of trailing data after EOF record"
                                    % (size - pos), pos)
            break
        elif tag == 6:
            be, pos = r.boolean(pos)
            (ptr_size, astart, aend), pos = r.uvs(pos, 3)
            goarch, pos = r.string(pos)
            bv, pos = r.string(pos)
            ncpu, pos = uv(pos)
            if d.params is not None:
                raise HeapDumpError("second params record", rec)
            d.params = {"big_endian": be, "ptr_size": ptr_size,
                        "arena_start": astart, "arena_end": aend,
                        "goarch": goarch, "build_version": bv, "ncpu": ncpu}
        elif tag == 3:
            (addr, tsize), pos = r.uvs(pos, 2)
            tname, pos = r.string(pos)
            ind, pos = r.boolean(pos)
            d.types.append({"addr": addr, "size": tsize, "name": tname,
                            "ptr_in_iface": ind})
        elif tag == 8:
            (addr, typ), pos = r.uvs(pos, 2)
            d.itabs.append({"addr": addr, "type": typ})
        elif tag == 4:
            (gaddr, sp, goid, gopc, status), pos = r.uvs(pos, 5)
            is_sys, pos = r.boolean(pos)
            is_bg, pos = r.boolean(pos)
            waitsince, pos = uv(pos)
            waitreason, pos = r.string(pos)
            (ctxt, mm, dfr, pnc), pos = r.uvs(pos, 4)
            cur_g = {"addr": gaddr, "sp": sp, "goid": goid, "gopc": gopc,
                     "status": status, "is_system": is_sys,
                     "is_background": is_bg, "waitsince": waitsince,
                     "waitreason": waitreason, "ctxt": ctxt, "m": mm,
                     "defer": dfr, "panic": pnc, "frames": [],
                     "defers": [], "panics": []}
            d.goroutines.append(cur_g)
        elif tag == 5:
            (sp, depth, child_sp), pos = r.uvs(pos, 3)
            cst, cln, pos = r.span(pos)
            (entry, pc, continpc), pos = r.uvs(pos, 3)
            fname, pos = r.string(pos)
            offs, pos = r.fieldlist(pos, rec)
            fr = {"sp": sp, "depth": depth, "child_sp": child_sp,
                  "size": cln, "entry": entry, "pc": pc, "continpc": continpc,
                  "funcname": fname, "ptr_offsets": offs}
            if keep:
                fr["contents"] = m[cst:cst + cln]
            if cur_g is None:
                raise HeapDumpError("stack frame record before any goroutine", rec)
            cur_g["frames"].append(fr)
        elif tag == 14:
            vals, pos = r.uvs(pos, 7)
            rec_d = dict(zip(("addr", "g", "sp", "pc", "fn", "fn_pc", "link"), vals))
            d.defers.append(rec_d)
            if cur_g is not None and cur_g["addr"] == rec_d["g"]:
                cur_g["defers"].append(rec_d)
        elif tag == 15:
            vals, pos = r.uvs(pos, 6)
            rec_p = dict(zip(("addr", "g", "arg_type", "arg_data", "defer", "link"), vals))
            d.panics.append(rec_p)
            if cur_g is not None and cur_g["addr"] == rec_p["g"]:
                cur_g["panics"].append(rec_p)
        elif tag == 9:
            vals, pos = r.uvs(pos, 3)
            d.threads.append(dict(zip(("addr", "id", "procid"), vals)))
        elif tag == 12 or tag == 13:
            addr, pos = uv(pos)
            cst, cln, pos = r.span(pos)
            offs, pos = r.fieldlist(pos, rec)
            seg = {"addr": addr, "size": cln, "ptr_offsets": offs}
            if keep:
                seg["contents"] = m[cst:cst + cln]
            if tag == 12:
                d.data = seg
            else:
                d.bss = seg
        elif tag == 7 or tag == 11:
            vals, pos = r.uvs(pos, 5)
            fin = dict(zip(("obj", "fn", "fn_pc", "fint", "ot"), vals))
            (d.finalizers if tag == 7 else d.queued_finalizers).append(fin)
        elif tag == 10:
            vals, pos = r.uvs(pos, 24)
            ms = dict(zip(MEMSTATS_NAMES, vals))
            ms["PauseNs"], pos = r.uvs(pos, 256)
            ms["NumGC"], pos = uv(pos)
            d.memstats = ms
        elif tag == 16:
            (bucket, bsize, nstk), pos = r.uvs(pos, 3)
            if nstk > (size - pos) // 3:
                raise HeapDumpError("memprof record claims %d frames" % nstk, rec)
            stack = []
            for _ in range(nstk):
                fn, pos = r.string(pos)
                fl, pos = r.string(pos)
                line, pos = uv(pos)
                stack.append({"func": fn, "file": fl, "line": line})
            (allocs, frees), pos = r.uvs(pos, 2)
            d.memprof.append({"bucket": bucket, "size": bsize, "stack": stack,
                              "allocs": allocs, "frees": frees})
        elif tag == 17:
            (obj, bucket), pos = r.uvs(pos, 2)
            d.alloc_samples.append({"obj": obj, "bucket": bucket})
        elif tag == 2:
            desc, pos = r.string(pos)
            ptr, pos = uv(pos)
            d.other_roots.append({"description": desc, "ptr": ptr})
        else:  # pragma: no cover - every tag 0..17 is handled above
            raise HeapDumpError("unhandled tag %d" % tag, rec)

    if d.params is None:
        raise HeapDumpError("no params record", len(HEADER))
    if d.memstats is None:
        raise HeapDumpError("no memstats record", d.eof_offset or size)
    d.iface_fields = r.iface_fields
    d.record_counts = counts


# ---------------------------------------------------------------------------
# Phantom slots
# ---------------------------------------------------------------------------
#
# dumpobjs() walks every in-use span and writes slots j = 0 .. n-1 with
# n = npages*8192/elemsize, skipping only the free slots *below* s.nelems.
# Since Go 1.22 (allocheaders) mheap.initSpan reserves a tail of a
# small-object span, so nelems < n can hold; the slots [nelems, n) are then
# always written although they are not objects ("phantoms"); the span's
# true end is s.limit = base + nelems*elemsize.
#
# What the runtime does (mheap.go initSpan, mbitmap.go, mgcmark_greenteagc.go;
# 64-bit: MinSizeForMallocHeader = PtrSize*PtrBits = 512, 32-bit: 128):
#
#   heap bits reserve   = npages*8192/PtrSize/8 (128 B on 64-bit, 256 B on
#                         32-bit) if the span is "scan" (not noscan) and
#                         elemsize <= MinSizeForMallocHeader.         (>=1.22)
#   inline mark bits    = sizeof(spanInlineMarkBits) = 128 B if Green Tea GC
#                         and 16 <= elemsize <= MinSizeForMallocHeader,
#                         scan *or* noscan.      (1.25 GOEXPERIMENT, 1.26 default)
#   nelems = (npages*8192 - reserve) / elemsize
#
# What is derivable from the dump alone:
#   * elemsize = len(contents) of each object record.
#   * Every size class with elemsize <= 512 has class_to_npages == 1 and spans
#     are page aligned, so a span with a reserve is exactly the 8 KiB page
#     addr & ~8191 (heapBits(): "Nearly every span with heap bits is exactly
#     one page in size. Arenas are the only exception" - user arena chunks,
#     GOEXPERIMENT=arenas, not handled).  Larger (multi-page) spans never have
#     a reserve, so they never have phantoms.
#   * Green Tea on/off and allocheaders: from params.build_version, which is
#     "goX.Y.Z" plus " X:exp1,exp2" when experiments differ from the default.
#   * scan vs noscan: NOT recorded.  Rule used: a page is a scan span iff at
#     least one of its dumped slots has a non-empty pointer fieldlist.  Every
#     allocated slot of a scan span has a pointerful type (mallocgc puts
#     typ == nil or !typ.Pointers() in noscan spans) and its heap bits are
#     set at allocation, so a scan span with >= 1 live object is recognised;
#     noscan spans have no heap bits, typePointersOf returns nothing, so
#     their slots always have empty fieldlists.  (Phantom slots of 8-byte
#     scan spans even have bit 0 set in 1.26 - initHeapBits fills class-1
#     scan bitmaps with ones - while other phantoms have empty lists.)  The
#     only undecidable case is an in-use scan span with zero live objects,
#     which sweep frees and the mcache flush in readmemstats_m does not
#     create; such a page would be treated as noscan (under-dropping).
#   * Check: every slot in [nelems, n) of a page with a reserve must be
#     present in the dump (phantoms are never free-marked);
#     phantom_info() reports violations ("missing_phantoms").
#
# Result: drop slot j (index within its page) of elemsize e <= MinSizeFor
# MallocHeader iff j >= (8192 - reserve(e, scan)) // e.
#
# MemStats equality: WriteHeapDump reads MemStats in the same STW, and
# readmemstats_m first calls flushallmcaches, which returns every cached span
# (and drops the tiny block) and accounts exactly the slots used; tiny
# allocations are added to both Mallocs and Frees, so HeapObjects counts
# 16-byte tiny blocks like the dump does.  Hence, after dropping phantoms,
# count == HeapObjects and sum(size) == HeapAlloc exactly.  Verified on
# go1.22.12, go1.24.13, go1.26.8 and go1.26.8 X:nogreenteagc (amd64 and 386),
# right after runtime.GC() and with goroutines allocating and GCs (GOGC=20)
# running concurrently.  Remaining theoretical gap: spans still unswept at
# the STW are counted by MemStats but swept (dead slots freed) by mdump's
# ensureSwept before dumpobjs, which would make MemStats larger.


def span_reserve(elemsize, scan, go_version, experiments=(), ptr_size=8):
    """Bytes reserved at the end of a one-page small-object span."""
    if go_version is None:
        go_version = (1, 26)
    exps = set(experiments)
    max_hdr = ptr_size * ptr_size * 8
    if elemsize > max_hdr:
        return 0
    if go_version >= (1, 22):
        allocheaders = "noallocheaders" not in exps
    else:
        allocheaders = "allocheaders" in exps
    if go_version >= (1, 26):
        greentea = "nogreenteagc" not in exps
    elif go_version >= (1, 25):
        greentea = "greenteagc" in exps
    else:
        greentea = False
    reserve = 0
    if greentea:
        if elemsize >= 16:
            reserve += 128  # unsafe.Sizeof(spanInlineMarkBits{})
        if scan:
            reserve += PAGE_SIZE // ptr_size // 8
    elif allocheaders and scan:
        reserve += PAGE_SIZE // ptr_size // 8
    return reserve


def phantom_info(dump_or_objects, go_version=None, experiments=None, ptr_size=None):
    """Classify slots.  Returns a dict with keys:
    keep (list of objects), phantoms (list), pages (number of small pages
    examined), scan_pages, missing_phantoms (list of (page, elemsize, index)
    for expected phantom slots absent from the dump, which would mean the
    reserve rule is wrong), go_version, experiments.
    """
    if isinstance(dump_or_objects, Dump):
        dmp = dump_or_objects
        objects = dmp.objects
        bv = dmp.params["build_version"]
        if go_version is None:
            go_version = _parse_go_version(bv)
        if experiments is None:
            experiments = _experiments(bv)
        if ptr_size is None:
            ptr_size = dmp.params["ptr_size"]
    else:
        objects = dump_or_objects
    if experiments is None:
        experiments = set()
    if ptr_size is None:
        ptr_size = 8
    max_hdr = ptr_size * ptr_size * 8
    mask = ~(PAGE_SIZE - 1)

    pages = {}  # page -> [elemsize, scan, [objects]]
    keep = []
    for o in objects:
        e = o[1]
        if e > max_hdr:
            keep.append(o)
            continue
        pg = o[0] & mask
        ent = pages.get(pg)
        if ent is None:
            ent = pages[pg] = [e, False, []]
        elif ent[0] != e:
            raise ValueError("page 0x%x holds slots of sizes %d and %d"
                             % (pg, ent[0], e))
        if o[2]:
            ent[1] = True
        ent[2].append(o)

    phantoms = []
    missing = []
    scan_pages = 0
    for pg, (e, scan, objs) in pages.items():
        scan_pages += scan
        res = span_reserve(e, scan, go_version, experiments, ptr_size)
        nelems = (PAGE_SIZE - res) // e
        n = PAGE_SIZE // e
        limit = pg + nelems * e
        present = set()
        for o in objs:
            if o[0] >= limit:
                phantoms.append(o)
                present.add((o[0] - pg) // e)
            else:
                keep.append(o)
        for j in range(nelems, n):
            if j not in present:
                missing.append((pg, e, j))
    keep.sort()
    phantoms.sort()
    return {"keep": keep, "phantoms": phantoms, "pages": len(pages),
            "scan_pages": scan_pages, "missing_phantoms": missing,
            "go_version": go_version, "experiments": sorted(experiments)}


def drop_phantoms(objects, span_limits=None, go_version=None, experiments=None,
                  ptr_size=None):
    """Return the objects (sorted by address) minus the phantom slots.

    objects: a Dump or a list of (addr, size, ptr_offsets[, ...]) tuples.
    span_limits: optional exact span information, e.g. from a core file: an
      iterable of (span_base, span_end, limit) where limit = base +
      nelems*elemsize; a slot inside [base, end) at or past limit is dropped.
      Slots outside every listed span are kept.
    Without span_limits the rule documented above is used; go_version
    ((major, minor)), experiments and ptr_size default to what the Dump's
    params say (or 1.26 defaults for a bare list).
    """
    if span_limits is not None:
        objs = objects.objects if isinstance(objects, Dump) else objects
        import bisect
        spans = sorted(span_limits)
        bases = [s[0] for s in spans]
        out = []
        for o in objs:
            i = bisect.bisect_right(bases, o[0]) - 1
            if i >= 0:
                base, end, limit = spans[i]
                if o[0] < end and o[0] >= limit:
                    continue
            out.append(o)
        out.sort()
        return out
    return phantom_info(objects, go_version, experiments, ptr_size)["keep"]


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def _summary(d, out):
    p = d.params
    w = out.write
    w("file: %s (%d bytes)\n" % (d.path, d.file_size))
    w("params: big_endian=%s ptr_size=%d arena=[0x%x,0x%x) goarch=%s "
      "build_version=%r ncpu=%d\n" % (p["big_endian"], p["ptr_size"],
                                      p["arena_start"], p["arena_end"],
                                      p["goarch"], p["build_version"], p["ncpu"]))
    w("records:\n")
    for tag in sorted(TAG_NAMES):
        name = TAG_NAMES[tag]
        w("  %2d %-17s %d\n" % (tag, name, d.record_counts.get(name, 0)))
    ms = d.memstats
    w("memstats: HeapObjects=%d HeapAlloc=%d\n" % (ms["HeapObjects"], ms["HeapAlloc"]))
    w("objects: %d, bytes %d\n" % (len(d.objects), d.object_bytes()))
    info = phantom_info(d)
    keep = info["keep"]
    nb = sum(o[1] for o in keep)
    w("objects without phantoms: %d, bytes %d (phantoms %d, bytes %d); "
      "matches memstats: %s\n" % (
          len(keep), nb, len(info["phantoms"]),
          sum(o[1] for o in info["phantoms"]),
          len(keep) == ms["HeapObjects"] and nb == ms["HeapAlloc"]))
    if info["missing_phantoms"]:
        w("warning: %d expected phantom slots missing\n" % len(info["missing_phantoms"]))


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description="Parse a Go heap dump "
                                 "(runtime/debug.WriteHeapDump).")
    ap.add_argument("dump")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--summary", action="store_true", help="(default)")
    g.add_argument("--objects", action="store_true",
                   help="print '0xADDR SIZE' per object, sorted by address")
    g.add_argument("--json", action="store_true",
                   help="everything except contents, as JSON")
    ap.add_argument("--no-phantoms", action="store_true",
                    help="with --objects/--json: drop phantom slots")
    a = ap.parse_args(argv)
    try:
        d = parse(a.dump)
    except (HeapDumpError, OSError) as e:
        sys.stderr.write("%s\n" % e)
        return 1
    out = sys.stdout
    if a.no_phantoms:
        d.objects = drop_phantoms(d)
    if a.objects:
        objs = d.objects if a.no_phantoms else sorted(d.objects)
        out.write("".join("0x%x %d\n" % (o[0], o[1]) for o in objs))
    elif a.json:
        json.dump(d.to_json_dict(), out)
        out.write("\n")
    else:
        _summary(d, out)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(0)
