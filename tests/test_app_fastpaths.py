"""The loop's fast paths give what the plain code gives.

Each shortcut taken to make a block cheaper (batched stage histograms, the
alarm's quiet-block scan, the noise source's views, the mixer's and the sim
outputs' no-change paths, the kept-open temperature file, sampled detector
posteriors, bisect in the histogram) is checked here against the straight
computation it replaces.
"""
import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from hearth import board as board_mod
from hearth.app import STAGES, TIMES_BATCH, build
from hearth.core import metrics as metrics_mod
from hearth.core.alarm import AlarmListener, PyToneAnalyzer, MIN_ENERGY
from hearth.core.metrics import Histogram, LATENCY_US
from hearth.ports import audio, sensors
from hearth.ports.detector import DetectorPort
from hearth.ports.dsp import NumpyToneAnalyzer
from hearth.ports.sim import SimOven, SimOutputs
from hearth_tools.scenario import alarm_pattern

RATE = 16000


# -- histograms ------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.floats(0, 2e5, allow_nan=False), st.sampled_from([float(e) for e in LATENCY_US])),
                max_size=60))
def test_histogram_bisect_matches_the_portable_search(values):
    a = Histogram(LATENCY_US)
    for v in values:
        a.add(v)
    saved = metrics_mod.bisect_left
    metrics_mod.bisect_left = None           # the MicroPython path
    try:
        b = Histogram(LATENCY_US)
        for v in values:
            b.add(v)
    finally:
        metrics_mod.bisect_left = saved
    assert a.counts == b.counts and a.n == b.n and a.total == b.total and a.max == b.max


def test_batched_stage_times_equal_per_block_histograms(tmp_path):
    """Scripted stage times, some on bucket edges and over budget, folded in
    batches; the reference adds every stage of every block one by one."""
    b = board_mod.load("sim", storage=str(tmp_path))
    app = build(b, detector=None, boot=None)
    rng = np.random.default_rng(7)
    edges = [e * 1e-6 for e in LATENCY_US]
    durs = []
    readings = []

    def timer():
        return readings.pop(0)

    nblocks = TIMES_BATCH + 37
    t = 0.0
    for i in range(nblocks):
        row = [t]
        d_row = []
        for s in STAGES:
            d = float(rng.choice(edges)) if rng.random() < 0.3 else float(rng.exponential(2e-3))
            t += d
            row.append(t)
            d_row.append(row[-1] - row[-2])
        durs.append(d_row)
        readings.extend(row)
        t += 1e-3
    app.timer = timer
    app.start()
    for _ in range(nblocks):
        app.step()
    app.flush_metrics()
    budgets = app.budgets
    ref = {s: Histogram(LATENCY_US) for s in STAGES}
    over = {s: 0 for s in STAGES}
    block_over = 0
    for d_row in durs:
        for s, d in zip(STAGES, d_row):
            ref[s].add(d * 1e6)
            over[s] += d > budgets[s]
        block_over += sum(d_row) > app.dt
    for s in STAGES:
        h = app.metrics.latency[s]
        assert h.counts == ref[s].counts, s
        assert (h.n, h.max) == (ref[s].n, ref[s].max)
        assert h.total == pytest.approx(ref[s].total, rel=1e-12)
        assert app.metrics.overruns[s] == over[s]
    assert app.metrics.overruns["block"] == block_over
    # readers see pending blocks: the console's metrics command folds first
    app.timer = lambda: 0.0
    app.step()
    assert app.metrics.to_dict()["latency_us"]["capture"]["n"] == nblocks + 1


# -- alarm: the quiet-block scan -------------------------------------------------------------
class NoScan:
    """The numpy analyzer without its scan(): every block analysed frame by frame."""

    def __init__(self):
        self.a = NumpyToneAnalyzer()

    def analyze(self, block):
        return self.a.analyze(block)


def _signal():
    rng = np.random.default_rng(11)
    parts = [rng.normal(0, 30, 3 * RATE),                           # quiet room
             alarm_pattern("t3", "3k", 2).astype(float) + rng.normal(0, 30, 2 * 4 * RATE)[:len(
                 alarm_pattern("t3", "3k", 2))],
             rng.normal(0, 30, 2 * RATE),
             alarm_pattern("t4", "3k", 1).astype(float),
             np.zeros(RATE),
             alarm_pattern("t3", "520", 1).astype(float),
             rng.normal(0, 3000, RATE),                             # loud noise, no tone
             np.r_[np.full(800, 32767.0), np.full(800, -32768.0)],  # full scale: squares near 2^30
             rng.normal(0, 30, 4 * RATE)]
    return np.clip(np.concatenate(parts), -32768, 32767).astype(np.int16)


@pytest.mark.parametrize("block", [1600, 3200, 1650])
def test_scan_path_gives_the_same_events_and_state(block):
    x = _signal()
    fast, slow = AlarmListener(analyzer=NumpyToneAnalyzer()), AlarmListener(analyzer=NoScan())
    ref = AlarmListener(analyzer=PyToneAnalyzer())
    ev_f, ev_s = [], []
    for i in range(0, len(x) - block + 1, block):
        ev_f += fast.feed(x[i:i + block], i / RATE)
        ev_s += slow.feed(x[i:i + block], i / RATE)
        for bf, bs in zip(fast.bands, slow.bands):
            assert (bf.on, bf.pending, bf.fired, bf.pulses) == (bs.on, bs.pending, bs.fired, bs.pulses)
            assert bf.run == pytest.approx(bs.run, abs=1e-9)
    assert ev_f == ev_s
    assert sorted(e[0] for e in ev_f) == ["co_alarm", "smoke_alarm", "smoke_alarm", "smoke_alarm"]
    if block == 1600:                       # and the pure-Python reference agrees on the events
        ev_r = []
        for i in range(0, len(x) - block + 1, block):
            ev_r += ref.feed(x[i:i + block].tolist(), i / RATE)
        assert [(n, round(t, 6), b) for n, t, p, b in ev_r] == [(n, round(t, 6), b) for n, t, p, b in ev_f]


def test_scan_is_none_exactly_for_quiet_blocks():
    npa, py = NumpyToneAnalyzer(), PyToneAnalyzer()
    rng = np.random.default_rng(2)
    for rms in (0, 5, 20, 30, 40, 60, 200, 20000):
        for n in (1600, 1600, 800, 1610):
            x = np.clip(rng.normal(0, rms, n), -32768, 32767).astype(np.int16)
            frames = py.analyze(x.tolist())
            quiet = all(r == 0.0 for f in frames for r in f)
            got = npa.scan(x)
            if quiet:
                assert got is None
            else:
                assert got is not None
                np.testing.assert_allclose(np.array(got), np.array(frames), rtol=1e-9, atol=1e-12)
    # a block whose loudest frame sits just either side of the energy gate
    seen = set()
    for c in (47, 48, 49, 50):
        x = np.zeros(1600, np.int16)
        x[800:960] = c                       # one frame at a constant level
        e = float((x[800:960].astype(float) ** 2) @ npa.w2)
        assert (npa.scan(x) is None) == (e < MIN_ENERGY)
        seen.add(e < MIN_ENERGY)
    assert seen == {True, False}


# -- audio sources ---------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1600, 3200, 160, 16000, 16001, 20000, 7])
def test_noise_source_views_follow_the_loop(n):
    a, b = audio.NoiseSource(), audio.NoiseSource()
    ref = audio.ArraySource(b.buf, loop=True)
    for _ in range(25):
        assert np.array_equal(a.read(n), ref.read(n))


def test_mixer_fast_path_and_end():
    m = audio.Mixer(audio.ArraySource(np.arange(3000, dtype=np.int16)))
    assert np.array_equal(m.read(1000), np.arange(1000))
    m.inject(np.full(500, 10, np.int16))
    assert np.array_equal(m.read(1000), np.arange(1000, 2000) + np.r_[np.full(500, 10), np.zeros(500)])
    assert np.array_equal(m.read(1000), np.arange(2000, 3000))
    assert m.read(1000) is None and m.ended
    m.inject(np.full(300, 5, np.int16))                     # a clip after the end still plays
    assert np.array_equal(m.read(1000), np.r_[np.full(300, 5), np.zeros(700)])
    assert m.read(1000) is None


# -- sim outputs ------------------------------------------------------------------------------
def test_sim_outputs_no_change_path():
    oven = SimOven()
    out = SimOutputs(oven)
    gov = {"heater": False, "fan": False, "lamp": False, "buzzer": False}
    out.write(gov, "idle", 0.0)
    seq = [("heater", True), ("fan", 1), ("heater", False), ("lamp", True), ("heater", True)]
    t = 0.0
    for k, v in seq:
        for _ in range(3):                 # unchanged blocks in between
            t += 0.1
            out.write(gov, "green", t)
        gov[k] = v
        t += 0.1
        out.write(gov, "orange-fill", t)
        assert out.state == {kk: bool(vv) for kk, vv in gov.items()} and oven.heater == bool(gov["heater"])
    assert out.switches == 3 and out.ring == "orange-fill"
    assert oven.heater_on_s == pytest.approx(0.8, abs=1e-9)       # two stretches of 4 blocks


def test_sim_oven_decay_cache_follows_door_and_dt():
    import math
    oven = SimOven()
    oven.heater = True
    p = oven.p
    cav = food = p["ambient_c"]
    for i in range(60):
        oven.door_open = (i // 3) % 2 == 1
        dt = 0.1 if i % 7 else 0.3
        oven.step(dt)
        tau = p["tau_door_s"] if oven.door_open else p["tau_s"]
        target = p["ambient_c"] + p["heater_rise_c"]
        cav = target + (cav - target) * math.exp(-dt / tau)
        food = cav + (food - cav) * math.exp(-dt / p["food_tau_s"])
        assert (oven.cavity, oven.food) == (cav, food)


# -- temperature files ----------------------------------------------------------------------------
def test_sysfs_temperature_kept_open_follows_replacements(tmp_path):
    p = str(tmp_path / "zone" / "temp")
    t = sensors.SysfsTemperature(p)
    assert t.read() is None and t.errors == 1                    # not there yet
    sensors.write_millidegrees(p, 45.0)                          # atomic replace
    assert t.read() == 45.0
    fd = t.fd
    assert t.read() == 45.0 and t.fd == fd                       # kept open while unchanged
    sensors.write_millidegrees(p, 88.5)
    assert t.read() == 88.5
    with open(p, "w") as f:                                      # rewritten in place (sysfs-like)
        f.write("71250\n")
    assert t.read() == 71.25
    with open(p, "w") as f:
        f.write("garbage")
    assert t.read() is None
    os.remove(p)
    assert t.read() is None
    sensors.write_millidegrees(p, -5.0)
    assert t.read() == -5.0 and t.errors == 3
    t.close()
    assert t.fd is None and t.read() == -5.0


# -- detector posteriors ----------------------------------------------------------------------------
class StepDetector:
    def __init__(self):
        self.calls = []

    def feed(self, block, steps=False):
        self.calls.append(steps)
        if not steps:
            return []
        arr = np.zeros(2, dtype=[("model", "<i4"), ("mean", "<f4")])
        arr["model"] = [0, 1]
        arr["mean"] = [0.25 * len(self.calls), 0.5]
        return [], arr


def test_detector_port_samples_posteriors_only_when_asked():
    det = StepDetector()
    port = DetectorPort(det, ["a", "b"])
    blk = np.zeros(1600, np.int16)
    assert port.feed(blk, 0.0) == () and port.probs == [0.25, 0.5]
    assert port.feed(blk, 0.1, False) == () and port.probs == [0.25, 0.5]    # kept, not recomputed
    port.feed(blk, 0.2, True)
    assert det.calls == [True, False, True] and port.probs == [0.75, 0.5]


def test_per_model_max_posterior_matches_numpy():
    from hearth.ports.detector import _max_mean_per_model
    rng = np.random.default_rng(1)
    for m in list(range(0, 40)) * 3:
        arr = np.zeros(m, dtype=[("model", "<i4"), ("mean", "<f4")])
        arr["model"] = rng.integers(0, 4, m)
        arr["mean"] = rng.random(m)
        ref = np.zeros(4)
        np.maximum.at(ref, arr["model"], arr["mean"])
        assert _max_mean_per_model(arr, 4) == (None if m == 0 else ref.tolist())
    assert _max_mean_per_model(np.zeros(3), 4) is None            # not a step array
