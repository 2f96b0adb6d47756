"""The matcher: bsdiff's suffix-array matches (bsdiff4.core.diff), turned into ops.

bsdiff4 gives the best matches of the registry matchers on native code
(FACTS_UPDATES_DEVICES.md 3.1: 2.21 % on libpython where hdiffpatch gave 2.6 %),
and its control tuples (diff length, extra length, seek) map directly onto
ADD/LITERAL ops; the entropy coding is ours (one LZMA2 or zstd stream).
Files past BSDIFF_MAX are matched window by window so host memory stays
reasonable (bsdiff needs ~16 bytes per base byte).
"""
import contextlib
import hashlib
import struct

import bsdiff4.core

from . import ops as O

BSDIFF_MAX = 16 << 20
WINDOW = 4 << 20
SLACK = 1 << 20


def diff_ops(old, new, base_off=0, zero_run=O.ZERO_RUNS[0]):
    """ops that make `new` from `old`, with base offsets shifted by base_off."""
    if not new:
        return []
    if not old:
        return [("L", bytes(new))]
    if len(old) > BSDIFF_MAX or len(new) > BSDIFF_MAX:
        return _windowed(old, new, base_off, zero_run)
    bctrl, bdiff, bextra = _bsdiff(old, new)
    out = []
    op, dp, ep = 0, 0, 0
    for x, y, z in _controls(bctrl):
        if x:
            O.add_op(op, bdiff[dp:dp + x], O.Shifted(out, base_off), old, zero_run)
            dp += x
        if y:
            out.append(("L", bextra[ep:ep + y]))
            ep += y
        op += x + z
    return O.merged(out)


_CACHE = None


@contextlib.contextmanager
def cached():
    """Within: each (old, new) pair is diffed once, whatever else varies (create()
    encodes the same matches with several zero-run thresholds)."""
    global _CACHE
    _CACHE = {}
    try:
        yield
    finally:
        _CACHE = None


def _bsdiff(old, new):
    old, new = bytes(old), bytes(new)
    if _CACHE is None:
        return bsdiff4.core.diff(old, new)
    key = (hashlib.sha256(old).digest(), hashlib.sha256(new).digest())
    if key not in _CACHE:
        _CACHE[key] = bsdiff4.core.diff(old, new)
    return _CACHE[key]


def _controls(bctrl):
    """bsdiff's control block: 24-byte (diff, extra, seek) records, each an
    8-byte sign-magnitude little-endian integer."""
    vals = []
    for (u,) in struct.iter_unpack("<Q", bctrl):
        v = u & ((1 << 63) - 1)
        vals.append(-v if u >> 63 else v)
    return zip(vals[0::3], vals[1::3], vals[2::3])


def _windowed(old, new, base_off, zero_run):
    out = []
    ratio = len(old) / len(new)
    for i in range(0, len(new), WINDOW):
        w = new[i:i + WINDOW]
        lo = max(0, int(i * ratio) - SLACK)
        hi = min(len(old), int((i + len(w)) * ratio) + SLACK)
        out += diff_ops(old[lo:hi], w, base_off + lo, zero_run)
    return O.merged(out)
