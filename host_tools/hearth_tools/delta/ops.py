"""Instruction lists and their encoding into segments.

An op is one of
    ("C", base_off, n)        copy n base bytes
    ("A", base_off, diff)     add diff bytewise to base[base_off:]
    ("L", data)               literal bytes
    ("D",)                    the image's SHA-256 (32 bytes, computed by the applier)
    ("H", text)               lowercase hex text, sent as its bytes
"""
import lzma
import re
import zlib

from hearth.delta import format as F

TARGET_SEGMENT = 1 << 20          # output per segment: resume granularity and zstd/LZMA window
# A run of unchanged bytes at least this long becomes a COPY inside an ADD.
# Short runs suit text and headers, long ones native code (where a COPY per
# relocated pointer costs more than its zeros); create() measures both.
ZERO_RUNS = (32, 256)
_ZEROS = {}


def _zeros(n):
    if n not in _ZEROS:
        _ZEROS[n] = re.compile(b"\x00{%d,}" % n)
    return _ZEROS[n]

# LZMA2 keeps lc/lp/pb in its chunk headers, so the encoder may pick them per
# segment while the decoder only knows the dictionary size.
LZMA_VARIANTS = ({"lc": 3, "lp": 0, "pb": 2}, {"lc": 0, "lp": 2, "pb": 2}, {"lc": 1, "lp": 0, "pb": 0},
                 {"lc": 4, "lp": 0, "pb": 0})


class Shifted(list):
    """An op list view: ops appended with base offsets relative to a slice of the
    base go into `ops` with absolute offsets."""

    def __init__(self, ops, off):
        super().__init__()
        self._ops, self._off = ops, off

    def append(self, op):
        if op[0] in "CA":
            op = (op[0], op[1] + self._off) + op[2:]
        self._ops.append(op)


def out_len(op):
    k = op[0]
    return op[2] if k == "C" else len(op[2]) if k == "A" else len(op[1]) if k in "LH" else 32


DENSE = 0.9       # a piece of ADD with more changed bytes than this is sent as its new bytes


def add_op(base_off, diff, ops, base=None, zero_run=ZERO_RUNS[0]):
    """An ADD split around long zero runs (unchanged bytes) into COPYs. With
    `base` (the bytes base_off indexes), a dense piece (a new hash, a
    signature) becomes a literal: new bytes compress better than their
    differences when nothing about them is unchanged."""
    pos = 0
    for m in _zeros(zero_run).finditer(diff):
        if m.start() > pos:
            _piece(base_off, pos, diff[pos:m.start()], ops, base)
        ops.append(("C", base_off + m.start(), m.end() - m.start()))
        pos = m.end()
    if pos < len(diff):
        _piece(base_off, pos, diff[pos:], ops, base)


def _piece(base_off, pos, d, ops, base):
    if base is not None and len(d) >= 8 and d.count(0) < (1 - DENSE) * len(d):
        ops.append(("L", _add(base[base_off + pos:base_off + pos + len(d)], d)))
    else:
        ops.append(("A", base_off + pos, d))


HEX_RUN = re.compile(b"[0-9a-f]{32,}")


def hexified(ops):
    """Literal runs of lowercase hex (SHA-256s in the manifest) become HEX ops."""
    out = []
    for op in ops:
        if op[0] != "L":
            out.append(op)
            continue
        data, pos = op[1], 0
        for m in HEX_RUN.finditer(data):
            a, b = m.start(), m.end() - (m.end() - m.start()) % 2
            if a > pos:
                out.append(("L", data[pos:a]))
            out.append(("H", data[a:b]))
            pos = b
        if pos < len(data):
            out.append(("L", data[pos:]))
    return out


def merged(ops):
    """Adjacent literals and contiguous copies joined."""
    out = []
    for op in ops:
        if out and op[0] == "L" and out[-1][0] == "L":
            out[-1] = ("L", out[-1][1] + op[1])
        elif out and op[0] == "C" and out[-1][0] == "C" and out[-1][1] + out[-1][2] == op[1]:
            out[-1] = ("C", out[-1][1], out[-1][2] + op[2])
        elif out_len(op):
            out.append(op)
    return out


def split(ops, target=TARGET_SEGMENT):
    """Groups of ops, each producing at most `target` bytes (ops cut where needed)."""
    groups, cur, size = [], [], 0
    for op in ops:
        if op[0] == "H" and len(op[1]) > target:
            op = ("L", op[1])                    # a hex run never spans segments
        while size + out_len(op) > target:
            room = target - size
            if op[0] in "DH" or room == 0:
                if cur:
                    groups.append(cur)
                cur, size = [], 0
                continue
            if op[0] == "C":
                head, op = ("C", op[1], room), ("C", op[1] + room, op[2] - room)
            elif op[0] == "A":
                head, op = ("A", op[1], op[2][:room]), ("A", op[1] + room, op[2][room:])
            else:
                head, op = ("L", op[1][:room]), ("L", op[1][room:])
            cur.append(head)
            groups.append(cur)
            cur, size = [], 0
        cur.append(op)
        size += out_len(op)
    if cur:
        groups.append(cur)
    return groups


def _cut(op, k):
    """(head, tail) of op at output byte k (0 < k < out_len(op))."""
    t = op[0]
    if t == "C":
        return ("C", op[1], k), ("C", op[1] + k, op[2] - k)
    if t == "A":
        return ("A", op[1], op[2][:k]), ("A", op[1] + k, op[2][k:])
    return ("L", op[1][:k]), ("L", op[1][k:])        # L, or H cut into literals


def slice_ops(ops, cuts):
    """[((start, end), ops)] for the output ranges between consecutive cuts. A
    cut inside a DIGEST moves to its end."""
    out, cur, pos, ci = [], [], 0, 1
    start = 0
    for op in ops:
        while ci < len(cuts) and pos + out_len(op) > cuts[ci] > pos and op[0] != "D":
            head, op = _cut(op, cuts[ci] - pos)
            cur.append(head)
            pos = cuts[ci]
            out.append(((start, pos), cur))
            cur, start = [], pos
            ci += 1
        cur.append(op)
        pos += out_len(op)
        while ci < len(cuts) and cuts[ci] <= pos:
            if cur:
                out.append(((start, pos), cur))
                cur, start = [], pos
            ci += 1
    if cur:
        out.append(((start, pos), cur))
    return out


def serialize(ops, cursor):
    out = bytearray()
    for op in ops:
        k = op[0]
        if k == "L":
            out.append(F.OP_LITERAL)
            out += F.varint(len(op[1]))
            out += op[1]
        elif k == "D":
            out.append(F.OP_DIGEST)
        elif k == "H":
            out.append(F.OP_HEX)
            out += F.varint(len(op[1]))
            out += bytes.fromhex(op[1].decode())
        else:
            n = op[2] if k == "C" else len(op[2])
            out.append(F.OP_COPY if k == "C" else F.OP_ADD)
            out += F.varint(F.zigzag(op[1] - cursor))
            out += F.varint(n)
            if k == "A":
                out += op[2]
            cursor = op[1] + n
    return bytes(out)


def lzma_body(raw):
    best = None
    for v in LZMA_VARIANTS:
        filt = [dict(v, id=lzma.FILTER_LZMA2, dict_size=F.LZMA_DICT, preset=9 | lzma.PRESET_EXTREME)]
        b = lzma.compress(raw, format=lzma.FORMAT_RAW, filters=filt)
        if best is None or len(b) < len(best):
            best = b
    return best


def zstd_body(raw, dictionary=None):
    import zstandard
    # level 22 with a deeper search than its defaults (measured: 8 % smaller
    # patches of Python sources against a 1 MiB dictionary); the decoder
    # needs nothing of this, only the window (= the segment's output)
    params = zstandard.ZstdCompressionParameters.from_level(
        22, window_log=20, source_size=len(raw), write_content_size=True, write_checksum=False,
        hash_log=22, chain_log=22, search_log=22, target_length=4096)
    kw = {"compression_params": params}
    if dictionary is not None:
        kw["dict_data"] = zstandard.ZstdCompressionDict(dictionary, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    return zstandard.ZstdCompressor(**kw).compress(raw)


def window(ops, base_size):
    lo, hi = base_size, 0
    for op in ops:
        if op[0] in "CA":
            n = op[2] if op[0] == "C" else len(op[2])
            lo, hi = min(lo, op[1]), max(hi, op[1] + n)
    return (0, 0) if hi == 0 else (lo, hi - lo)


def stream_segment(ops, result_bytes, base_size, codecs=("stored", "lzma", "zstd")):
    """(segment bytes, codec name): the instruction stream in its smallest encoding."""
    off, length = window(ops, base_size)
    raw = serialize(ops, off)
    crc = zlib.crc32(result_bytes)
    cands = []
    if "stored" in codecs:
        cands.append((raw, F.C_STORED))
    if "lzma" in codecs:
        cands.append((lzma_body(raw), F.C_LZMA))
    if "zstd" in codecs:
        cands.append((zstd_body(raw), F.C_ZSTD))
    body, codec = min(cands, key=lambda c: (len(c[0]), c[1]))
    seg = F.pack_segment(F.M_STREAM, codec, len(body), len(result_bytes), off, length, crc) + body
    return seg, F.CODECS[codec]


def zdict_segment(dict_off, dictionary, result_bytes):
    body = zstd_body(result_bytes, dictionary)
    return F.pack_segment(F.M_ZDICT, F.C_ZSTD, len(body), len(result_bytes), dict_off, len(dictionary),
                          zlib.crc32(result_bytes)) + body


def _add(b, d):
    from hearth.delta.applier import add_bytes
    return add_bytes(bytes(b), bytes(d))
