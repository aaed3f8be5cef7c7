"""A reader of pprof profiles (profile.proto, github.com/google/pprof):
just enough of the protocol buffers wire format for the tests to check a
profile's every field without go tool pprof."""
import gzip


def varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def fields(buf):
    """Yield (field number, wire type, value) of a message: ints for varints, bytes otherwise."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(buf, i)
        elif wire == 2:
            n, i = varint(buf, i)
            value = bytes(buf[i:i + n])
            i += n
        elif wire == 1:
            value = int.from_bytes(buf[i:i + 8], "little")
            i += 8
        elif wire == 5:
            value = int.from_bytes(buf[i:i + 4], "little")
            i += 4
        else:
            raise ValueError(f"wire type {wire}")
        yield num, wire, value


def repeated_varints(wire, value):
    """A repeated integer field's values, packed (bytes) or not."""
    if wire == 0:
        return [value]
    out, i = [], 0
    while i < len(value):
        v, i = varint(value, i)
        out.append(v)
    return out


def decode_profile(data):
    p = {"sample_type": [], "samples": [], "locations": {}, "functions": {}, "strings": [],
         "default_sample_type": 0, "mappings": 0, "labels": [], "location_lines": {},
         "function_files": {}, "function_system_names": {}, "period": 0, "period_type": (0, 0)}
    for num, wire, value in fields(data):
        if num == 1:
            vt = dict((n, v) for n, _w, v in fields(value))
            p["sample_type"].append((vt.get(1, 0), vt.get(2, 0)))
        elif num == 2:
            locs, vals, labels = [], [], {}
            for n, w, v in fields(value):
                if n == 1:
                    locs += repeated_varints(w, v)
                elif n == 2:
                    vals += repeated_varints(w, v)
                elif n == 3:
                    lab = dict((ln, lv) for ln, _lw, lv in fields(v))
                    labels[lab.get(1, 0)] = lab.get(3, lab.get(2))
            p["samples"].append((locs, vals))
            p["labels"].append(labels)
        elif num == 3:
            p["mappings"] += 1
        elif num == 4:
            loc_id, funcs, lines = 0, [], []
            for n, _w, v in fields(value):
                if n == 1:
                    loc_id = v
                elif n == 4:
                    line = dict((fn, fv) for fn, _fw, fv in fields(v))
                    funcs.append(line.get(1, 0))
                    lines.append((line.get(1, 0), line.get(2, 0)))
            p["locations"][loc_id] = funcs
            p["location_lines"][loc_id] = lines
        elif num == 5:
            f = dict((n, v) for n, _w, v in fields(value))
            p["functions"][f.get(1, 0)] = f.get(2, 0)
            p["function_files"][f.get(1, 0)] = f.get(4, 0)
            p["function_system_names"][f.get(1, 0)] = f.get(3, 0)
        elif num == 6:
            p["strings"].append(value.decode())
        elif num == 11:
            vt = dict((n, v) for n, _w, v in fields(value))
            p["period_type"] = (vt.get(1, 0), vt.get(2, 0))
        elif num == 12:
            p["period"] = value
        elif num == 14:
            p["default_sample_type"] = value
    return p


def read_profile(path):
    """The decoded profile of a gzip-compressed (or plain) profile file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return decode_profile(data)


def sample_stacks(p):
    """Each sample as ((function name, line) innermost first, values, labels by key name)."""
    s = p["strings"]
    out = []
    for (locs, vals), labels in zip(p["samples"], p["labels"]):
        frames = []
        for loc in locs:
            for fid, line in p["location_lines"].get(loc, []):
                frames.append((s[p["functions"].get(fid, 0)], line))
        out.append((tuple(frames), tuple(vals), {s[k]: v for k, v in labels.items()}))
    return out
