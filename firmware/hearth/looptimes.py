"""Stage timing of the application loop: budgets, overruns, latency histograms.

Each turn takes six timer readings (before capture, after capture, detect,
alarm, decide, actuate). The loop appends them to `pending` as one tuple
(an append, where array('d').extend parses every float again); every
TIMES_BATCH blocks (a minute of audio; metrics readers fold what is pending
first) flush() folds them into the latency histograms and the per-stage
overrun counters: a dozen numpy calls, some 150 us, whatever the batch size.
A late turn (a block overrun) the loop counts at once: the trial health
check reads it.
"""
from itertools import chain

import numpy as np

STAGES = ("capture", "detect", "alarm", "decide", "actuate")
TIMES_BATCH = 600


class StageTimes:
    def __init__(self, metrics, budgets):
        self.metrics = metrics
        self.budgets = budgets
        # (c0..c5) timer readings of blocks not yet in the histograms; the
        # loop keeps a reference to this list: it is emptied, never replaced
        self.pending = []
        self._budget_vec = np.array([budgets[s] for s in STAGES])
        self._edges = np.array(metrics.latency[STAGES[0]].edges, dtype=np.float64)
        self._stage_offsets = np.arange(len(STAGES)) * (len(self._edges) + 1)

    def flush(self):
        """Fold the stage times of the pending blocks into the latency
        histograms and per-stage overrun counters."""
        times = self.pending
        if not times:
            return
        m = self.metrics
        n = len(times)
        # Few numpy calls on purpose: each costs some 10-20 us on arrays this
        # small, whatever their length (np.diff alone is a Python function).
        c = np.fromiter(chain.from_iterable(times), np.float64, 6 * n).reshape(n, 6)  # no shape discovery
        del times[:]
        us = c[:, 1:] - c[:, :-1]                                 # blocks x stages, s
        over = (us > self._budget_vec).sum(axis=0).tolist()
        us *= 1e6
        nb = len(self._edges) + 1
        # bucket = first edge >= v; one bincount over (stage, bucket) pairs
        idx = self._edges.searchsorted(us, side="left")
        idx += self._stage_offsets
        counts = np.bincount(idx.ravel(), minlength=nb * len(STAGES)).tolist()
        sums = us.sum(axis=0).tolist()
        maxes = us.max(axis=0).tolist()
        for j in range(len(STAGES)):
            name = STAGES[j]
            h = m.latency[name]
            base = j * nb
            h.counts = [a + b for a, b in zip(h.counts, counts[base:base + nb])]
            h.n += n
            h.total += sums[j]
            if maxes[j] > h.max:
                h.max = maxes[j]
            if over[j]:
                m.overruns[name] += over[j]
