"""The native per-block DSP (native/src/blockdsp) against the Python paths.

hearth.ports.dsp.NativeToneAnalyzer must answer what NumpyToneAnalyzer and
the pure-Python references (hearth.core.alarm.PyToneAnalyzer,
hearth.core.audiohealth.block_stats) answer: the same quiet/loud decision
per block, tone ratios to float64 rounding, exactly the same health
statistics, the same alarm events and listener state, and the same
appliance behaviour when the loop uses it.
"""
import numpy as np
import pytest

import hearth._native  # noqa: F401  (a broken native build fails, never skips)

from hearth import board as board_mod                        # noqa: E402
from hearth.app import build                                 # noqa: E402
from hearth.core import audiohealth                          # noqa: E402
from hearth.core.alarm import MIN_ENERGY, AlarmListener, PyToneAnalyzer   # noqa: E402
from hearth.ports import dsp                                 # noqa: E402
from hearth.ports.audio import ArraySource, Mixer            # noqa: E402
from hearth_tools.scenario import alarm_pattern              # noqa: E402

RATE = 16000
RTOL, ATOL = 1e-9, 1e-12   # float64 rounding (Goertzel recurrence vs DFT product); ratios are ~0..1


def i16(x):
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def same_frames(got, want):
    """Both None, or the same frames: zeros exactly where the reference has them."""
    assert (got is None) == (want is None)
    if got is None:
        return
    assert len(got) == len(want)
    if not want:
        return
    a, b = np.array(got), np.array(want)
    assert a.shape == b.shape
    assert ((a == 0.0) == (b == 0.0)).all()
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


def blocks(seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(3200) / RATE
    for rms in (0, 3, 20, 30, 35, 45, 200, 3000, 20000):
        for n in (1600, 1610, 800, 160, 159, 7, 1, 0, 3200):
            yield i16(rng.normal(0, rms, n))
    for f in (480, 520, 560, 2750, 3000, 3150, 3500, 3600, 1000):
        for amp in (40, 300, 8000, 40000):
            yield i16(amp * np.sin(2 * np.pi * f * t[:1600] + rng.uniform(0, 6)) + rng.normal(0, 30, 1600))
    yield i16(8000 * np.sign(np.sin(2 * np.pi * 520 * t)))
    yield np.tile(np.array([32767, -32768, 30000, -30000], np.int16), 400)
    yield np.full(1600, 1234, np.int16)
    yield np.full(1600, -32768, np.int16)
    yield np.r_[np.full(800, 32767), np.full(800, -32768)].astype(np.int16)
    yield rng.integers(-32768, 32768, 1600).astype(np.int16)
    yield np.repeat(rng.integers(-50, 50, 400), 4).astype(np.int16)


def test_scan_analyze_and_stats_match_numpy_and_python():
    na, npa, py = dsp.NativeToneAnalyzer(), dsp.NumpyToneAnalyzer(), PyToneAnalyzer()
    n = 0
    for x in blocks():
        same_frames(na.scan(x), npa.scan(x))
        stats = na.last_stats()
        assert stats == dsp.block_stats(x) == audiohealth.block_stats(x.tolist())
        assert all(type(v) is int for v in stats)
        got = na.analyze(x)
        same_frames(got, npa.analyze(x))
        want = py.analyze(x.tolist())
        if want:   # the pure-Python reference: ratios to float64 rounding, same gate
            a, b = np.array(got), np.array(want)
            assert ((a == 0.0) == (b == 0.0)).all()
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
        n += 1
    assert n > 100


def test_energy_gate_either_side():
    na, npa = dsp.NativeToneAnalyzer(), dsp.NumpyToneAnalyzer()
    seen = set()
    for c in range(44, 54):
        x = np.zeros(1600, np.int16)
        x[800:960] = c                       # one frame at a constant level
        e = float((x[800:960].astype(float) ** 2) @ npa.w2)
        assert (na.scan(x) is None) == (npa.scan(x) is None) == (e < MIN_ENERGY)
        seen.add(e < MIN_ENERGY)
    assert seen == {True, False}


def test_blocks_the_c_code_does_not_take_fall_back_to_numpy():
    na, npa = dsp.NativeToneAnalyzer(), dsp.NumpyToneAnalyzer()
    rng = np.random.default_rng(4)
    base = i16(rng.normal(0, 500, 2 * 160 * 140))
    cases = [base,                                    # more than HBD_MAX_FRAMES frames
             base[::2][:1600],                        # not contiguous
             base[:1600].astype(np.int32),            # another dtype
             base[:1600].tolist()]                    # a list (the MicroPython shape)
    for x in cases:
        same_frames(na.scan(x), npa.scan(x))
        assert na.last_stats() == dsp.block_stats(x) == audiohealth.block_stats(list(x))
        same_frames(na.analyze(x), npa.analyze(x))
    # and back on the C path afterwards
    x = base[:1600]
    same_frames(na.scan(x), npa.scan(x))
    assert na.last_stats() == dsp.block_stats(x)


def mix(sig, rms=30.0, seed=0):
    x = np.concatenate([np.zeros(RATE // 2), np.asarray(sig, float), np.zeros(2 * RATE)])
    return i16(x + np.random.default_rng(seed).normal(0, rms, len(x)))


@pytest.mark.parametrize("kind,band,rms,block", [
    ("t3", "3k", 30.0, 1600), ("t3", "3k", 200.0, 1600), ("t4", "3k", 30.0, 1600),
    ("t3", "520", 30.0, 1600), ("t4", "520", 100.0, 3200), ("t3", "3k", 30.0, 1650)])
def test_alarm_events_and_state_match(kind, band, rms, block):
    x = mix(alarm_pattern(kind, band, 2), rms)
    nat = AlarmListener(analyzer=dsp.NativeToneAnalyzer())
    ref = AlarmListener(analyzer=dsp.NumpyToneAnalyzer())
    ev_n, ev_r = [], []
    for i in range(0, len(x) - block + 1, block):
        ev_n += nat.feed(x[i:i + block], i / RATE)
        ev_r += ref.feed(x[i:i + block], i / RATE)
        for bn, br in zip(nat.bands, ref.bands):
            assert (bn.on, bn.pending, bn.fired, len(bn.pulses)) == (br.on, br.pending, br.fired, len(br.pulses))
            assert bn.run == pytest.approx(br.run, abs=1e-9)
    assert [(n, round(t, 6), b) for n, t, p, b in ev_n] == [(n, round(t, 6), b) for n, t, p, b in ev_r]
    assert [p for *_, p, _ in ev_n] == pytest.approx([p for *_, p, _ in ev_r], rel=1e-9)
    assert nat.tones == ref.tones
    assert ev_n, "the pattern must be detected"


def run_app(tmp_path, monkeypatch, native, pcm):
    monkeypatch.setenv("HEARTH_NATIVE_DSP", "1" if native else "0")
    b = board_mod.load("sim", storage=str(tmp_path / ("n" if native else "p")))
    app = build(b, detector=None, boot=None)
    assert isinstance(app.alarm.analyzer, dsp.NativeToneAnalyzer if native else dsp.NumpyToneAnalyzer)
    app.audio = Mixer(ArraySource(pcm))
    records = []
    app.log.sinks.append(lambda t, lvl, m, msg: records.append((round(t, 3), m, msg)))
    app.start()
    trace = []
    while app.step():
        trace.append((app.modes.mode, app.audio_cause, tuple(sorted(c[0] for c in app.modes.active()))))
    return trace, records


def test_appliance_behaves_the_same_on_both_paths(tmp_path, monkeypatch):
    rng = np.random.default_rng(9)
    parts = [rng.normal(0, 30, 3 * RATE), np.zeros(6 * RATE), rng.normal(0, 30, 4 * RATE),
             np.tile([32767.0, -32768.0, 30000.0, -30000.0], 6 * RATE // 4), rng.normal(0, 30, 4 * RATE),
             np.full(7 * RATE, 1234.0), rng.normal(0, 30, 4 * RATE),
             alarm_pattern("t3", "3k", 2).astype(float) + rng.normal(0, 30, len(alarm_pattern("t3", "3k", 2))),
             rng.normal(0, 30, 3 * RATE)]
    pcm = i16(np.concatenate(parts))
    native = run_app(tmp_path, monkeypatch, True, pcm)
    numpy_ = run_app(tmp_path, monkeypatch, False, pcm)
    assert native == numpy_
    causes = {c for _, _, cs in native[0] for c in cs}
    assert {"audio silent", "audio clipping", "audio stuck"} <= causes
    assert any("smoke_alarm" in msg for _, _, msg in native[1])
