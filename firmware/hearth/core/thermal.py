"""SoC thermal protection: the "soc hot" cause with its own hysteresis band.

Hot above limit_c; once hot, it stays hot until the SoC is below
limit_c - hysteresis_c (the mode's enter/exit hold times then apply on top).
An unreadable zone (None) is not hot: the port failure is its own cause.
"""
from .causes import SOC_HOT


class SocThermal:
    def __init__(self, modes, limit_c, hysteresis_c, poll_s=1.0):
        self.modes = modes
        self.limit_c = limit_c
        self.hysteresis_c = hysteresis_c
        self.poll_s = poll_s
        self.next = 0.0           # audio time of the next reading
        self._cause = modes.causes[SOC_HOT]

    def report(self, soc_c, now):
        """One reading (None: unreadable); the next is due poll_s later."""
        self.next = now + self.poll_s
        limit = self.limit_c
        hot = soc_c is not None and (soc_c > limit or (self._cause.raw and soc_c > limit - self.hysteresis_c))
        self.modes.report(SOC_HOT, hot, now, "%.1f C > %.1f C" % (soc_c, limit) if hot else "")
        return hot
