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


# -- wall time ---------------------------------------------------------------
# Beside the loop's monotonic (audio) clock: what update metadata expiry and
# telemetry timestamps need. Wall time may be wrong at boot, be set by NTP or
# by hand, and jump either way; nothing the loop decides reads it (budgets,
# timers, hysteresis and the audio time run on the loop clock), so a jump
# disturbs no turn.

class WallClock:
    """The system's wall clock: seconds since the Unix epoch (time.time)."""

    def now(self):
        return time.time()


class SimWallClock:
    """The sim's wall clock: it runs with the loop's audio time from `epoch`,
    and can be set (set(t)) or jumped (jump(dt)) like a real one under NTP.

    `audio_time` is a function returning the loop's audio time (App.t), so a
    scripted run reads the same wall times every time."""

    def __init__(self, audio_time, epoch=None):
        self.audio_time = audio_time
        self.offset = float(time.time() if epoch is None else epoch)

    def now(self):
        return self.offset + self.audio_time()

    def set(self, t):
        """Wall time is `t` (s since the epoch) from this instant on."""
        self.offset = float(t) - self.audio_time()

    def jump(self, dt):
        """Step the wall clock by dt seconds (negative: backwards)."""
        self.offset += float(dt)
