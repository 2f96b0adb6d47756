"""Is the detector's view of the world plausible? Sustained low confidence and
feature statistics out of range, as slow exponential averages.

`probs` is the detector's highest smoothed posterior per model since the
last update (the loop updates once a second, with the audio time covered).
A healthy detector sits near 0 almost all the time and crosses its cutoff
briefly for a wake word; one that hovers in the middle band for a long time
is unsure (new noise, a broken microphone gain, a mismatched model).
`feature_mean` is the mean frontend feature value since the last update,
when the detector reports it: far outside the range seen in training means
the input chain changed.
"""
import math

from .causes import FEATURES_OUT_OF_RANGE, LOW_CONFIDENCE


class QualityMonitor:
    def __init__(self, band=(0.3, 0.8), max_unsure=0.5, tau_s=20.0, feature_range=None):
        self.band = band
        self.max_unsure = max_unsure
        self.tau_s = tau_s
        self.feature_range = feature_range
        self.unsure = 0.0          # EMA of "some model is in the unsure band"
        self.feature = None        # EMA of the feature mean
        self.low_confidence = False
        self.out_of_range = False
        self._dt = None
        self._a = 0.0

    def update(self, dt, probs=None, feature_mean=None):
        if dt != self._dt:              # blocks are all the same length: compute once
            self._dt = dt
            self._a = math.exp(-dt / self.tau_s)
        a = self._a
        if probs:
            lo, hi = self.band
            x = 0.0
            for p in probs:
                if lo <= p < hi:
                    x = 1.0
                    break
            self.unsure = self.unsure * a + x * (1.0 - a)
            self.low_confidence = self.unsure > self.max_unsure
        if feature_mean is not None and self.feature_range is not None:
            if self.feature is None:
                self.feature = float(feature_mean)
            else:
                self.feature = self.feature * a + feature_mean * (1.0 - a)
            lo, hi = self.feature_range
            self.out_of_range = self.feature < lo or self.feature > hi
        return self.low_confidence, self.out_of_range


class DetectorQuality:
    """The cause producer: feeds the detector's summaries to a QualityMonitor,
    weighted by the audio time each covers, and reports its verdicts."""

    def __init__(self, modes, monitor):
        self.modes = modes
        self.monitor = monitor
        self.t = None             # audio time of the last summary

    def sample(self, now, probs, feature_mean):
        last, self.t = self.t, now
        if last is None or now <= last:
            return                # the first summary: nothing to weigh it by
        if probs is not None or feature_mean is not None:
            low, out = self.monitor.update(now - last, probs, feature_mean)
            self.modes.report(LOW_CONFIDENCE, low, now)
            self.modes.report(FEATURES_OUT_OF_RANGE, out, now)
