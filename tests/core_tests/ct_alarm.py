"""Alarm DSP on short synthetic patterns (pure Python, so kept brief for MicroPython)."""
import math

from hearth.core.alarm import AlarmListener, PyToneAnalyzer, TONE_RATIO

RATE = 16000


class Noise:
    """Small deterministic noise (LCG): the input is never digital silence."""

    def __init__(self, seed=1):
        self.x = seed

    def next(self):
        self.x = (1103515245 * self.x + 12345) & 0x7FFFFFFF
        return (self.x >> 16) % 41 - 20


def tone(freq, secs, amp=8000.0, square=False):
    n = int(secs * RATE)
    w = 2.0 * math.pi * freq / RATE
    out = []
    for i in range(n):
        s = math.sin(w * i)
        if square:
            s = 1.0 if s >= 0 else -1.0
        out.append(int(amp * s))
    return out


def quiet(secs, seed=1):
    nz = Noise(seed)
    return [nz.next() for _ in range(int(secs * RATE))]


def pattern(on, gap, pause, pulses, freq=3100.0, square=False, lead=1.0):
    """Segments (freq or None, seconds); samples are made block by block in listen()
    so a few seconds of audio never sit in memory at once (MicroPython's heap is small)."""
    segs = [(None, lead)]
    for i in range(pulses):
        segs.append((freq, on))
        segs.append((None, gap if i < pulses - 1 else pause))
    return (segs, square)


def blocks(spec, block=1600):
    segs, square = spec
    nz = Noise(7)
    buf = []
    for freq, secs in segs:
        n = int(secs * RATE)
        w = 2.0 * math.pi * (freq or 0.0) / RATE
        for i in range(n):
            if freq is None:
                buf.append(nz.next())
            else:
                s = math.sin(w * i)
                if square:
                    s = 1.0 if s >= 0 else -1.0
                buf.append(int(8000.0 * s))
            if len(buf) == block:
                yield buf
                buf = []
    if buf:
        yield buf


def listen(spec, block=1600):
    al = AlarmListener()
    events = []
    t = 0.0
    for b in blocks(spec, block):
        events += al.feed(b, t)
        t += len(b) / float(RATE)
    return events


def test_pure_tone_scores_one():
    a = PyToneAnalyzer()
    r = a.analyze(tone(3000.0, 0.01))[0]
    assert abs(r[0] - 1.0) < 0.01 and r[1] < 0.05
    r = a.analyze(tone(520.0, 0.01, square=True))[0]
    assert r[1] > 0.7 and r[0] < TONE_RATIO
    r = a.analyze(quiet(0.01))[0]
    assert r == (0.0, 0.0)


def test_temporal3_smoke():
    ev = listen(pattern(0.5, 0.5, 1.5, 3, lead=0.2))
    assert len(ev) == 1
    name, t, p, band = ev[0]
    assert name == "smoke_alarm" and band == "3k" and p > 0.9
    # fires one second into the long pause after the third pulse
    assert abs(t - (0.2 + 2.5 + 1.0)) < 0.06


def test_temporal4_co():
    ev = listen(pattern(0.1, 0.1, 1.2, 4, freq=3300.0, lead=0.2))
    assert [e[0] for e in ev] == ["co_alarm"]


def test_520hz_square_smoke():
    ev = listen(pattern(0.5, 0.5, 1.2, 3, freq=520.0, square=True, lead=0.2))
    assert len(ev) == 1 and ev[0][0] == "smoke_alarm" and ev[0][3] == "520"


def test_wrong_rhythm_is_not_an_alarm():
    # two pulses only, and pulses far too long: neither is temporal-3/4
    assert listen(pattern(0.5, 0.5, 1.5, 2, lead=0.2)) == []
    assert listen(pattern(1.2, 0.5, 1.5, 3, lead=0.2)) == []
    # continuous tone
    assert listen(([(None, 0.2), (3100.0, 3.0), (None, 1.5)], False)) == []
