"""Clocks. Real boards pace the loop to the audio; the sim runs on audio time."""
import time


class MonotonicClock:
    """Wall time (monotonic). wait_until sleeps: capture is paced by real time."""

    realtime = True

    def __init__(self):
        self.t0 = time.monotonic()

    def now(self):
        return time.monotonic() - self.t0

    def wait_until(self, t):
        d = t - self.now()
        if d > 0:
            time.sleep(d)


class VirtualClock:
    """Audio time: advanced by the loop, one block at a time; never sleeps."""

    realtime = False

    def __init__(self, t=0.0):
        self.t = t

    def now(self):
        return self.t

    def wait_until(self, t):
        if t > self.t:
            self.t = t
