"""The detector's latency budget as a mode cause ("detector over budget").

The loop compares each block's detect time with budget_s itself (a float
compare per block); it calls check() only when the block was over, or while
the cause is raised (to clear it): reporting "not over" again changes
nothing.
"""
from .causes import DETECTOR_OVER_BUDGET


class DetectorBudget:
    def __init__(self, modes, budget_s):
        self.modes = modes
        self.budget_s = budget_s
        self.cause = modes.causes[DETECTOR_OVER_BUDGET]    # .raw: reported over

    def check(self, detect_s, now):
        over = detect_s > self.budget_s
        if over or self.cause.raw:
            self.modes.report(DETECTOR_OVER_BUDGET, over, now,
                              "%.1f ms > %.1f ms" % (detect_s * 1e3, self.budget_s * 1e3) if over else "")
        return over
