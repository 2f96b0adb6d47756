"""numpy versions of the core's per-sample DSP, for CPython ports.

They return exactly what the pure-Python reference in hearth.core returns
(tests compare them), at a small fraction of the cost: Python then touches a
block once, never a sample.
"""
import math
import os

import numpy as np

from ..core import alarm, audiohealth


class NumpyToneAnalyzer:
    """Same contract as hearth.core.alarm.PyToneAnalyzer.analyze."""

    def __init__(self, rate=alarm.RATE, frame=alarm.FRAME, bands=alarm.BANDS):
        self.frame = frame
        w = np.asarray(alarm.hann(frame), dtype=np.float64)
        self.window = w
        self.norm = alarm.tone_ratio_norm(frame, alarm.hann(frame))
        n = np.arange(frame, dtype=np.float64)
        cols = []
        self.groups = []
        for _, freqs in bands:
            start = len(cols)
            for f in freqs:
                cols.append(2.0 * np.pi * f / rate)
            self.groups.append((start, len(cols)))
        ang = np.outer(n, np.asarray(cols))
        # Fold the window into the DFT basis: one matrix product per block.
        self.basis = np.concatenate([w[:, None] * np.cos(ang), w[:, None] * np.sin(ang)], axis=1)
        self.nb = len(cols)
        self.w2 = w * w
        self._fast = None               # (block length, squares, squares as frames x frame)

    def analyze(self, block):
        return self._analyze(block, False)

    def scan(self, block):
        """analyze(), or None when every frame is quiet (see AlarmListener).

        The common case, a quiet block of the usual length, is three numpy
        calls into a buffer kept for that length: a float64 copy (int16
        squares overflow), squared in place, and its window-weighted sums
        per frame. (Cheaper than one np.square(..., dtype=): that call's
        casting setup costs more than a plain copy.)"""
        fast = self._fast
        if fast is not None and type(block) is np.ndarray and len(block) == fast[0]:
            sq = fast[1]
            sq[:] = block
            sq *= sq
            energy = fast[2].dot(self.w2)
            if max(energy.tolist()) < alarm.MIN_ENERGY:
                return None
            return self._analyze(block, False, energy)
        return self._analyze(block, True)

    def _analyze(self, block, scan, energy=None):
        x = np.asarray(block)
        nf = len(x) // self.frame
        if nf == 0:
            return []
        fr = x[: nf * self.frame].reshape(nf, self.frame)
        if self._fast is None and nf * self.frame == len(x):
            sq = np.empty(len(x))
            self._fast = (len(x), sq, sq.reshape(nf, self.frame))
        if energy is None:
            energy = np.square(fr, dtype=np.float64).dot(self.w2)  # .dot: half the call cost of @
        if scan and max(energy.tolist()) < alarm.MIN_ENERGY:
            return None
        quiet = energy < alarm.MIN_ENERGY
        proj = fr.dot(self.basis)       # int16 . float64 computes in float64
        power = proj[:, : self.nb] ** 2 + proj[:, self.nb:] ** 2
        cols = [power[:, a:b].max(axis=1) for a, b in self.groups]
        ratios = np.stack(cols, axis=1) * (self.norm / np.maximum(energy, alarm.MIN_ENERGY))[:, None]
        ratios[quiet] = 0.0
        return ratios.tolist()


def block_stats(block):
    """numpy version of hearth.core.audiohealth.block_stats."""
    x = np.asarray(block)
    n = len(x)
    if n == 0:
        return (0, 0, 0, 0)
    # argmax/argmin take numpy's plain per-type loops: much less code to run
    # (and to fetch into a cache the detector just flushed) than max()/min()'s
    # ufunc reduction machinery
    hi = int(x[x.argmax()])
    lo = int(x[x.argmin()])
    peak = hi if hi >= -lo else -lo
    clipped = 0
    if peak >= audiohealth.CLIP_LEVEL:
        clipped = int(np.count_nonzero(x >= audiohealth.CLIP_LEVEL)) + \
            int(np.count_nonzero(x <= -audiohealth.CLIP_LEVEL))
    repeats = int(np.count_nonzero(x[1:] == x[:-1]))
    return (peak, clipped, repeats, n)


try:                                    # the C build of the per-block work, when built
    from .._native import ffi as _ffi, lib as _lib
    from ..frontend import PcmPointers
    from ..native_errors import check as _check
except ImportError:                     # pure numpy then (same results)
    _ffi = _lib = None

_I16 = np.dtype(np.int16)
if _lib is not None:
    _I16_ARRAY = _ffi.typeof("int16_t[]")
    _hbd_block = _lib.hbd_block
_NDARRAY = np.ndarray


class NativeToneAnalyzer:
    """NumpyToneAnalyzer's contract in one C call per block (native/src/blockdsp).

    last_stats() gives the audio-health statistics of the block last scanned
    (computed by C on demand: the loop's health check looks at one block in
    a second, so the other blocks never pay for them). Integers are exact;
    energies and ratios are float64 and agree with the numpy analyzer to
    float64 rounding (a Goertzel recurrence instead of a DFT product, sums
    in another order). Blocks the C code does not take (other dtypes,
    non-contiguous, more than HBD_MAX_FRAMES frames) go to the numpy path."""

    def __init__(self, rate=alarm.RATE, frame=alarm.FRAME, bands=alarm.BANDS):
        if _lib is None:
            raise ImportError("hearth._native is not built")
        window = alarm.hann(frame)
        coeffs, ends = [], []
        for _, freqs in bands:
            coeffs += [2.0 * math.cos(2.0 * math.pi * f / rate) for f in freqs]
            ends.append(len(coeffs))
        self.frame = frame
        self.nb = len(bands)
        self._rate, self._bands = rate, bands
        self._keep = (_ffi.new("double[]", window), _ffi.new("double[]", coeffs), _ffi.new("int[]", ends))
        cfg = _ffi.new("hbd_config *", {
            "frame": frame, "window": self._keep[0], "nfreq": len(coeffs), "coeff": self._keep[1],
            "nbands": len(ends), "band_end": self._keep[2], "norm": alarm.tone_ratio_norm(frame, window),
            "min_energy": alarm.MIN_ENERGY, "clip_level": audiohealth.CLIP_LEVEL})
        self._st = _ffi.new("hbd_state *")
        _check(_lib.hbd_init(self._st, cfg))      # DspError (a ValueError)
        self._res = _ffi.new("hbd_result *")
        self._fallback = None
        self._buf = None                # the block C analysed last (a cffi view that keeps it alive)
        self._ptrs = PcmPointers()
        self._ptr_entries = self._ptrs.entries
        self._from = None               # a block numpy analysed (not the C code)

    def _run(self, block):
        """hbd_block on block: loud frame count, or None when the C code
        cannot take it (another dtype, a failing size: numpy then). The
        loop's capture buffers come back block after block: their kept C
        views (PcmPointers) go straight to C; a strided view is copied."""
        e = self._ptr_entries.get(id(block))
        if e is not None and e[0] is block:
            buf = e[1]
        elif type(block) is _NDARRAY and block.dtype is _I16:
            buf = self._ptrs.get(block)[1]
        else:
            return None
        loud = _hbd_block(self._st, buf, len(buf), self._res)
        if loud < 0:
            return None
        self._from = None
        self._buf = buf
        return loud

    def _frames(self, loud):
        res, nb = self._res, self.nb
        nf = res.frames
        if not loud:
            return [[0.0] * nb for _ in range(nf)]
        r = _ffi.unpack(res.ratio, nf * nb)
        return [r[i:i + nb] for i in range(0, nf * nb, nb)]

    def scan(self, block):
        loud = self._run(block)
        if loud is None:
            return self._slow(block, True)
        if loud:
            return self._frames(loud)
        return None if len(self._buf) >= self.frame else []

    def analyze(self, block):
        loud = self._run(block)
        if loud is None:
            return self._slow(block, False)
        return self._frames(loud)

    def last_stats(self):
        """block_stats() of the block last given to scan()/analyze()."""
        if self._from is not None:
            return block_stats(self._from)
        buf, res = self._buf, self._res
        if buf is None:
            return (0, 0, 0, 0)
        _lib.hbd_stats(self._st, buf, len(buf), res)
        return (res.peak, res.clipped, res.repeats, res.n)

    def _slow(self, block, scan):
        self._from = block
        self._buf = None
        a = self._fallback
        if a is None:
            a = self._fallback = NumpyToneAnalyzer(self._rate, self.frame, self._bands)
        return a.scan(block) if scan else a.analyze(block)


def tone_analyzer(rate=alarm.RATE, frame=alarm.FRAME, bands=alarm.BANDS):
    """The fastest analyzer this build has: native when hearth._native is built, else numpy.

    HEARTH_NATIVE_DSP=0 in the environment picks numpy (to compare the two)."""
    if _lib is not None and os.environ.get("HEARTH_NATIVE_DSP", "1") != "0":
        return NativeToneAnalyzer(rate, frame, bands)
    return NumpyToneAnalyzer(rate, frame, bands)
