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
        self._squares = {}              # frames per block -> float64 scratch (frames x frame)

    def analyze(self, block):
        r = self._analyze(block, False)
        return self._zeros(len(block) // self.frame) if r is None else r

    def scan(self, block):
        """analyze(), or None when every frame is quiet (see AlarmListener)."""
        return self._analyze(block, True)

    def _analyze(self, block, scan):
        x = np.asarray(block)
        nf = len(x) // self.frame
        if nf == 0:
            return []
        fr = x[: nf * self.frame].reshape(nf, self.frame)
        sq = self._squares.get(nf)
        if sq is None:
            sq = np.empty((nf, self.frame))
            if len(self._squares) < 4:  # block lengths are fixed; odd tails are not kept
                self._squares[nf] = sq
        # squares computed in float64 (dtype=: int16 squares would overflow),
        # into a buffer kept per block length; .dot costs half of @
        np.square(fr, out=sq, dtype=np.float64)
        energy = sq.dot(self.w2)
        if max(energy.tolist()) < alarm.MIN_ENERGY:
            return None                 # the common case: a quiet block
        quiet = energy < alarm.MIN_ENERGY
        proj = fr.dot(self.basis)       # int16 . float64 computes in float64
        power = proj[:, : self.nb] ** 2 + proj[:, self.nb:] ** 2
        cols = [power[:, a:b].max(axis=1) for a, b in self.groups]
        ratios = np.stack(cols, axis=1) * (self.norm / np.maximum(energy, alarm.MIN_ENERGY))[:, None]
        ratios[quiet] = 0.0
        return ratios.tolist()

    def _zeros(self, nf):
        z = [0.0] * len(self.groups)
        return [z] * nf


def block_stats(block):
    """numpy version of hearth.core.audiohealth.block_stats."""
    x = np.asarray(block)
    n = len(x)
    if n == 0:
        return (0, 0, 0, 0)
    hi = int(np.maximum.reduce(x))      # the ufuncs directly: half the call overhead of x.max()
    lo = int(np.minimum.reduce(x))
    peak = hi if hi >= -lo else -lo
    clipped = 0
    if peak >= audiohealth.CLIP_LEVEL:
        clipped = int(np.count_nonzero(x >= audiohealth.CLIP_LEVEL)) + \
            int(np.count_nonzero(x <= -audiohealth.CLIP_LEVEL))
    repeats = int(np.count_nonzero(x[1:] == x[:-1]))
    return (peak, clipped, repeats, n)
