"""Make Hearth delta patches (docs/DELTA.md); the device applies them with hearth.delta.

    create(old, new) -> patch bytes        old/new: bytes-like or a path
    create_file(old_path, new_path, out_path) -> {"size": ..., ...}

Every patch is checked by applying it with the device's applier before it is
returned: a patch this module hands out reproduces NEW byte for byte.
"""
import hashlib
import io
import os

from hearth.delta import applier as _apply
from hearth.delta import format as F
from hearth.delta.errors import DeltaError
from hearth.delta.io import HashSink, atomic_file

from . import image as _image
from . import match
from . import ops as O


def _read(x):
    if isinstance(x, (str, os.PathLike)):
        with open(x, "rb") as f:
            return f.read()
    return bytes(x)


def _segments(ops, old, new, target=O.TARGET_SEGMENT):
    """Encoded stream segments of at most `target` output bytes each:
    [(bytes, method/codec, out_len)]."""
    out, pos = [], 0
    for g in O.split(ops, target):
        n = sum(O.out_len(op) for op in g)
        seg, codec = O.stream_segment(g, new[pos:pos + n], len(old))
        out.append((seg, "stream/" + codec, n))
        pos += n
    return out


def _assemble(kind, old, new, segs, digest_at):
    head = F.pack_header(kind, len(old), hashlib.sha256(old).digest(), len(new), hashlib.sha256(new).digest(),
                         digest_at, len(segs))
    return head + b"".join(s for s, _c, _n in segs)


def plan_plain(old, new, segment_size=O.TARGET_SEGMENT, zero_run=O.ZERO_RUNS[0], _cache=None):
    """The generic patch: bsdiff ops cut every 256 KiB or 1 MiB (the smaller patch
    is kept), each segment the smallest of its op stream and, for inputs up to
    ZDICT_PLAIN_MAX, a zstd frame with an aligned old window as dictionary."""
    ops = match.diff_ops(old, new, zero_run=zero_run)
    cache = {} if _cache is None else _cache
    zdict = len(new) <= ZDICT_PLAIN_MAX
    best = None
    for size in sorted({min(segment_size, s) for s in SEGMENT_SIZES}):
        cuts = list(range(0, len(new), size)) + [len(new)]
        segs = [_best_segment(g, old, new, a, b, cache, zdict) for (a, b), g in O.slice_ops(ops, cuts)]
        patch = _assemble(F.KIND_PLAIN, old, new, segs, 0)
        if best is None or len(patch) < len(best):
            best = patch
    return best


ZDICT_PLAIN_MAX = 16 << 20     # past this, zstd trials would cost minutes; ops only


def plan_image(old, new, segment_size=O.TARGET_SEGMENT, zero_run=O.ZERO_RUNS[0], _cache=None):
    """Structure-aware patch, or None when old/new are not both Hearth images.

    The ops (image.image_ops) are cut into segments at archive-entry
    boundaries; each segment is sent as the smallest of its instruction
    stream (stored / LZMA2 / zstd) and a zstd frame with an old window of at
    most MAX_ZDICT bytes as dictionary (the window the segment's matches point
    into, or the aligned one). Both segment sizes of SEGMENT_SIZES are tried."""
    got = _image.image_ops(old, new, zero_run=zero_run)
    if got is None:
        return None
    ops, digest_at, ln = got
    ops = O.hexified(ops)
    cache = {} if _cache is None else _cache
    best = None
    lo = _image.layout(old)
    plans = [_entry_cuts(ln, len(new), min(segment_size, s)) for s in SEGMENT_SIZES]
    cuts = _change_cuts(lo, ln, new, min(segment_size, SEGMENT_SIZES[-1]))
    plans += [cuts, _packed(cuts, min(segment_size, SEGMENT_SIZES[-1]))]
    for cuts in plans:
        segs = [_best_segment(g, old, new, a, b, cache) for (a, b), g in O.slice_ops(ops, cuts)]
        patch = _assemble(F.KIND_IMAGE, old, new, segs, digest_at)
        if best is None or len(patch) < len(best):
            best = patch
    return best


SEGMENT_SIZES = (256 << 10, O.TARGET_SEGMENT)
ZDICT_WORTH = 0.001       # a stream segment under 0.1 % of its output (copies) is not worth a zstd trial


def _entry_cuts(ln, total, size):
    """Segment boundaries: archive-entry starts, at most `size` apart (a hard cut
    inside an entry only when one entry alone is larger)."""
    marks = sorted({ln.payload_off + e.offset - 512 for e in ln.entries} | {ln.img.hdr_size + ln.img.img_size})
    cuts, prev = [0], 0
    for c in [m for m in marks if 0 < m < total] + [total]:
        while c - cuts[-1] > size:
            cuts.append(prev if prev > cuts[-1] else cuts[-1] + size)
        prev = c
    if cuts[-1] != total:
        cuts.append(total)
    return cuts


GAP = 256 << 10          # unchanged entries shorter than this stay inside a changed run


def _change_cuts(lo, ln, new, size):
    """Segment boundaries around what changed: runs of changed entries (with
    the short unchanged gaps between them) in one segment each, so related
    changes share one compression context; unchanged runs in their own."""
    total = len(new)
    units = []                      # (start, end, changed)
    tlv_at = ln.img.hdr_size + ln.img.img_size
    starts = [ln.payload_off + e.offset - 512 for e in ln.entries]
    for i, e in enumerate(ln.entries):
        end = starts[i + 1] if i + 1 < len(starts) else tlv_at
        o = lo.by_path.get(e.path)
        changed = o is None or o.size != e.size or lo.entry_data(o) != ln.entry_data(e)
        units.append((starts[i], end, changed))
    units = [(0, starts[0] if starts else tlv_at, True)] + units + [(tlv_at, total, True)]
    runs = []
    for a, b, c in units:
        if b <= a:
            continue
        if runs and runs[-1][2] == c:
            runs[-1] = (runs[-1][0], b, c)
        else:
            runs.append((a, b, c))
    merged = []
    for i, r in enumerate(runs):
        inner = 0 < i < len(runs) - 1
        if not r[2] and inner and r[1] - r[0] < GAP:
            r = (r[0], r[1], True)
        if merged and merged[-1][2] == r[2]:
            merged[-1] = (merged[-1][0], r[1], r[2])
        else:
            merged.append(r)
    cuts = [0]
    marks = sorted(set(starts) | {tlv_at})
    for a, b, _c in merged:
        while b - cuts[-1] > size:
            inside = [m for m in marks if cuts[-1] < m <= cuts[-1] + size]
            cuts.append(inside[-1] if inside else cuts[-1] + size)
        if b != cuts[-1]:
            cuts.append(b)
    return cuts


def _packed(cuts, size):
    """The same boundaries with neighbours joined while a segment stays within
    `size` (an unchanged run costs one COPY inside its neighbour's segment,
    less than a segment header of its own)."""
    out = [cuts[0]]
    for i in range(1, len(cuts)):
        if i + 1 < len(cuts) and cuts[i + 1] - out[-1] <= size:
            continue
        out.append(cuts[i])
    return out


def _best_segment(group, old, new, a, b, cache, zdict=True):
    out = new[a:b]
    seg, codec = O.stream_segment(group, out, len(old))
    best = (seg, "stream/" + codec, b - a)
    if not zdict or any(op[0] == "D" for op in group) or len(seg) <= ZDICT_WORTH * (b - a) or not old:
        return best
    for lo, n in _windows(group, old, new, a):
        key = (a, b, lo, n)
        if key not in cache:
            cache[key] = O.zdict_segment(lo, old[lo:lo + n], out)
        if len(cache[key]) < len(best[0]):
            best = (cache[key], "zdict", b - a)
    return best


def _windows(group, old, new, a):
    """Old windows (offset, length) to try as the zstd dictionary of a segment."""
    n = min(F.MAX_ZDICT, len(old))
    refs = [(op[1], op[1] + (op[2] if op[0] == "C" else len(op[2]))) for op in group if op[0] in "CA"]
    wins = set()
    if refs:
        lo, hi = min(r[0] for r in refs), max(r[1] for r in refs)
        wins.add(max(0, min(lo, len(old) - n)))
        wins.add(max(0, min(hi - n, len(old) - n)))
    centre = int(a * len(old) / max(1, len(new)))
    for back in (0, n // 4, n // 2, 3 * n // 4):
        wins.add(max(0, min(centre - back, len(old) - n)))
    return sorted((w, n) for w in wins)


def create(old, new, structure=True, segment_size=O.TARGET_SEGMENT):
    """A patch that turns `old` into `new` (bytes). The smallest of the plain and,
    for two Hearth images, the structure-aware encoding. segment_size: output per
    segment (what a resume after a power cut may have to redo)."""
    if not 0 < segment_size <= F.MAX_SEGMENT_OUT:
        raise ValueError("segment_size must be 1..%d bytes" % F.MAX_SEGMENT_OUT)
    old, new = _read(old), _read(new)
    cands = []
    cache = {}
    with match.cached():
        for z in O.ZERO_RUNS:
            cands.append(plan_plain(old, new, segment_size, z, cache))
            if structure:
                p = plan_image(old, new, segment_size, z, cache)
                if p is not None:
                    cands.append(p)
    patch = min(cands, key=len)
    check(old, patch, new)
    return patch


def check(old, patch, new):
    """Apply `patch` with the device applier and compare with `new`."""
    c = HashSink()
    try:
        _apply.apply(old, io.BytesIO(patch), c)
    except DeltaError as e:
        raise RuntimeError("internal error: the patch does not apply (%s)" % e) from None
    if c.size != len(new) or c.sha.digest() != hashlib.sha256(new).digest():
        raise RuntimeError("internal error: the patch does not reproduce NEW")


def create_file(old_path, new_path, out_path, structure=True):
    """Write the patch for old_path -> new_path to out_path (write-new, fsync, rename)."""
    with open(old_path, "rb") as f:
        old = f.read()
    with open(new_path, "rb") as f:
        new = f.read()
    patch = create(old, new, structure=structure)
    with atomic_file(out_path) as f:
        f.write(patch)
    return {"patch": out_path, "size": len(patch), "old_size": len(old), "new_size": len(new),
            "ratio": (len(patch) / len(new)) if new else 0.0,
            "kind": "image" if patch[5] == F.KIND_IMAGE else "plain"}
