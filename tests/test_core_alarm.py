"""Alarm DSP on CPython: whole patterns through both analyzers, real-world-ish signals.

The numpy analyzer the app uses must give what the pure-Python reference
(the one that runs on MicroPython) gives; detection must hold across the
frequency range and levels real alarms use, in noise, and must not fire on
speech or on other beeping.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from hearth.core.alarm import AlarmListener, PyToneAnalyzer
from hearth.ports.dsp import NumpyToneAnalyzer, block_stats
from hearth.core.audiohealth import block_stats as py_block_stats
from hearth_tools.scenario import alarm_pattern

RATE = 16000


def noise(n, rms, seed=0):
    return np.random.default_rng(seed).normal(0, rms, n)


def mix(sig, rms=30.0, seed=0, lead=0.5):
    x = np.concatenate([np.zeros(int(lead * RATE)), np.asarray(sig, float), np.zeros(RATE)])
    x = x + noise(len(x), rms, seed)
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def listen(x, analyzer=None, block=1600):
    al = AlarmListener(analyzer=analyzer or NumpyToneAnalyzer())
    ev = []
    for i in range(0, len(x) - block + 1, block):  # (x may be a list for the reference)
        ev += al.feed(x[i:i + block], i / RATE)
    return ev


def test_numpy_analyzer_matches_reference():
    rng = np.random.default_rng(3)
    t = np.arange(3200) / RATE
    sigs = [
        rng.normal(0, 2000, 3200),
        3000 * np.sin(2 * np.pi * 3150 * t) + rng.normal(0, 300, 3200),
        8000 * np.sign(np.sin(2 * np.pi * 520 * t)),
        rng.normal(0, 20, 3200),                     # below the energy gate
    ]
    py, npa = PyToneAnalyzer(), NumpyToneAnalyzer()
    for s in sigs:
        x = np.clip(s, -32768, 32767).astype(np.int16)
        a = np.array(py.analyze(x.tolist()))
        b = np.array(npa.analyze(x))
        assert a.shape == b.shape == (20, 2)
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_same_events_from_both_analyzers():
    x = mix(alarm_pattern("t3", "3k", 1), rms=200.0)

    def key(evs):
        return [(n, round(t, 6), round(float(p), 9), b) for n, t, p, b in evs]
    a = key(listen(x.tolist(), PyToneAnalyzer()))
    assert a == key(listen(x)) and len(a) == 1


def test_block_stats_match_reference():
    rng = np.random.default_rng(5)
    for x in (rng.integers(-32768, 32768, 1600), np.full(1600, 7), np.zeros(1600),
              np.r_[np.full(50, 32767), np.full(50, -32768), rng.integers(-9, 9, 1500)]):
        x = x.astype(np.int16)
        assert block_stats(x) == py_block_stats(x.tolist())


@settings(max_examples=25, deadline=None)
@given(freq=st.floats(2900, 3500), amp=st.floats(800, 20000), snr_rms=st.floats(10, 400),
       seed=st.integers(0, 1000), kind=st.sampled_from(["t3", "t4"]))
def test_detects_alarms_across_frequency_level_and_noise(freq, amp, snr_rms, seed, kind):
    on, gap, pause, pulses = (0.5, 0.5, 1.5, 3) if kind == "t3" else (0.1, 0.1, 5.0, 4)
    t = np.arange(int(on * RATE)) / RATE
    tone = amp * np.sin(2 * np.pi * freq * t)
    parts = []
    for i in range(pulses):
        parts += [tone, np.zeros(int((gap if i < pulses - 1 else pause) * RATE))]
    ev = listen(mix(np.concatenate(parts), rms=min(snr_rms, amp / 8), seed=seed))
    want = "smoke_alarm" if kind == "t3" else "co_alarm"
    assert [e[0] for e in ev] == [want]


def test_520hz_square_wave_smoke():
    ev = listen(mix(alarm_pattern("t3", "520", 2), rms=100.0))
    assert [(e[0], e[3]) for e in ev] == [("smoke_alarm", "520")] * 2


@pytest.mark.parametrize("desc,on,gap,pause,pulses", [
    ("two pulses", 0.5, 0.5, 1.5, 2),
    ("slow beeping", 1.0, 1.0, 1.0, 6),
    ("fast chirps", 0.05, 0.05, 0.05, 30),
    ("microwave done beeps", 0.25, 0.25, 2.0, 5),
])
def test_other_beeping_is_not_an_alarm(desc, on, gap, pause, pulses):
    t = np.arange(int(on * RATE)) / RATE
    tone = 6000 * np.sin(2 * np.pi * 3100 * t)
    parts = []
    for i in range(pulses):
        parts += [tone, np.zeros(int((gap if i < pulses - 1 else pause) * RATE))]
    assert listen(mix(np.concatenate(parts))) == []


def test_speech_and_noise_are_not_alarms():
    from hearth_tools.scenario import synthesize
    speech = np.concatenate([synthesize(s) for s in ("okay nabu", "the oven is hot", "alexa, set a timer")])
    x = mix(speech, rms=100.0)
    assert listen(x) == []
    assert listen(mix(noise(10 * RATE, 3000.0, 9))) == []
