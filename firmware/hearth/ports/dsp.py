"""numpy versions of the core's per-sample DSP, for CPython ports.

They return exactly what the pure-Python reference in hearth.core returns
(tests compare them), at a small fraction of the cost: Python then touches a
block once, never a sample.
"""
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
