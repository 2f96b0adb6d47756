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

    def analyze(self, block):
        x = np.asarray(block)
        nf = len(x) // self.frame
        if nf == 0:
            return []
        fr = x[: nf * self.frame].reshape(nf, self.frame).astype(np.float64)
        energy = (fr * fr) @ self.w2
        quiet = energy < alarm.MIN_ENERGY
        if quiet.all():
            return self._zeros(nf)
        proj = fr @ self.basis
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
    hi = int(x.max())
    lo = int(x.min())
    peak = hi if hi >= -lo else -lo
    clipped = 0
    if peak >= audiohealth.CLIP_LEVEL:
        clipped = int(np.count_nonzero(x >= audiohealth.CLIP_LEVEL)) + \
            int(np.count_nonzero(x <= -audiohealth.CLIP_LEVEL))
    repeats = int(np.count_nonzero(x[1:] == x[:-1]))
    return (peak, clipped, repeats, n)
