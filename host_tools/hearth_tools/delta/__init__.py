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

from . import image as _image
from . import match
from . import ops as O

ZDICT_MIN = 4096          # smaller changed entries stay in the shared stream


def _read(x):
    if isinstance(x, (str, os.PathLike)):
        with open(x, "rb") as f:
            return f.read()
    return bytes(x)


def _segments(ops, old, new, target=O.TARGET_SEGMENT):
    """Encoded segments for ops (ZDICT ops become their own segment). Returns
    [(bytes, method/codec, out_len)]."""
    out = []
    pos = 0
    run = []

    def flush():
        nonlocal pos
        for g in O.split(run, target):
            n = sum(O.out_len(op) for op in g)
            seg, codec = O.stream_segment(g, new[pos:pos + n], len(old))
            out.append((seg, "stream/" + codec, n))
            pos += n
        run.clear()

    for op in ops:
        if op[0] == "Z":
            flush()
            _t, off, size, data = op
            out.append((O.zdict_segment(off, old[off:off + size], data), "zdict", len(data)))
            pos += len(data)
        else:
            run.append(op)
    flush()
    return out


def _assemble(kind, old, new, segs, digest_at):
    head = F.pack_header(kind, len(old), hashlib.sha256(old).digest(), len(new), hashlib.sha256(new).digest(),
                         digest_at, len(segs))
    return head + b"".join(s for s, _c, _n in segs)


def plan_plain(old, new, segment_size=O.TARGET_SEGMENT, zero_run=O.ZERO_RUNS[0]):
    ops = match.diff_ops(old, new, zero_run=zero_run)
    return _assemble(F.KIND_PLAIN, old, new, _segments(ops, old, new, segment_size), 0)


def plan_image(old, new, segment_size=O.TARGET_SEGMENT, zero_run=O.ZERO_RUNS[0]):
    """Structure-aware patch, or None when old/new are not both Hearth images.

    Each changed entry above ZDICT_MIN is tried both ways (bsdiff ops in the
    shared stream, or a zstd segment with the old entry as dictionary) and
    the patch keeps whichever made it smaller."""
    got = _image.image_ops(old, new, zero_run=zero_run)
    if got is None:
        return None
    ops, digest_at, _ln = got
    ops = O.hexified(ops)
    best = _assemble(F.KIND_IMAGE, old, new, _segments(ops, old, new, segment_size), digest_at)
    candidates = _changed_entries(old, new)
    plan = {}
    for path in candidates:
        trial = dict(plan, **{path: "zdict"})
        t_ops, t_at, _ = _image.image_ops(old, new, trial, zero_run)
        t_ops = O.hexified(t_ops)
        try:
            patch = _assemble(F.KIND_IMAGE, old, new, _segments(t_ops, old, new, segment_size), t_at)
        except ValueError:
            continue
        if len(patch) < len(best):
            best, plan = patch, trial
    return best


def _changed_entries(old, new):
    lo, ln = _image.layout(old), _image.layout(new)
    out = []
    for e in ln.entries:
        o = lo.by_path.get(e.path)
        if (e.kind == "file" and e.size >= ZDICT_MIN and o is not None and o.kind == "file"
                and 0 < o.size <= F.MAX_ZDICT and lo.entry_data(o) != ln.entry_data(e)
                and e.size <= F.MAX_SEGMENT_OUT):
            out.append(e.path)
    return out


def create(old, new, structure=True, segment_size=O.TARGET_SEGMENT):
    """A patch that turns `old` into `new` (bytes). The smallest of the plain and,
    for two Hearth images, the structure-aware encoding. segment_size: output per
    segment (what a resume after a power cut may have to redo)."""
    if not 0 < segment_size <= F.MAX_SEGMENT_OUT:
        raise ValueError("segment_size must be 1..%d bytes" % F.MAX_SEGMENT_OUT)
    old, new = _read(old), _read(new)
    cands = []
    for z in O.ZERO_RUNS:
        cands.append(plan_plain(old, new, segment_size, z))
        if structure:
            p = plan_image(old, new, segment_size, z)
            if p is not None:
                cands.append(p)
    patch = min(cands, key=len)
    check(old, patch, new)
    return patch


class _Collect:
    def __init__(self):
        self.h = hashlib.sha256()
        self.n = 0

    def write(self, b):
        self.h.update(b)
        self.n += len(b)


def check(old, patch, new):
    """Apply `patch` with the device applier and compare with `new`."""
    c = _Collect()
    try:
        _apply.apply(old, io.BytesIO(patch), c)
    except DeltaError as e:
        raise RuntimeError("internal error: the patch does not apply (%s)" % e) from None
    if c.n != len(new) or c.h.digest() != hashlib.sha256(new).digest():
        raise RuntimeError("internal error: the patch does not reproduce NEW")


def create_file(old_path, new_path, out_path, structure=True):
    """Write the patch for old_path -> new_path to out_path (write-new, fsync, rename)."""
    with open(old_path, "rb") as f:
        old = f.read()
    with open(new_path, "rb") as f:
        new = f.read()
    patch = create(old, new, structure=structure)
    tmp = out_path + ".tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(patch)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out_path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return {"patch": out_path, "size": len(patch), "old_size": len(old), "new_size": len(new),
            "ratio": (len(patch) / len(new)) if new else 0.0,
            "kind": "image" if patch[5] == F.KIND_IMAGE else "plain"}
