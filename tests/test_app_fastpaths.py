"""The loop's fast paths give what the plain code gives.

Each shortcut taken to make a block cheaper (batched stage histograms, the
alarm's quiet-block scan, the noise source's views, the mixer's and the sim
outputs' no-change paths, the kept-open temperature file, detector quality
summaries, bisect in the histogram) is checked here against the straight
computation it replaces.
"""
import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from hearth import board as board_mod
from hearth.looptimes import STAGES, TIMES_BATCH
from hearth.wiring import build
from hearth.core import metrics as metrics_mod
from hearth.core.alarm import AlarmListener, PyToneAnalyzer, MIN_ENERGY
from hearth.core.metrics import Histogram, LATENCY_US
from hearth.ports import audio, sensors
from hearth.ports.detector import DetectorPort
from hearth.ports.dsp import NumpyToneAnalyzer
from hearth.ports.sim import SimInputs, SimOven, SimOutputs
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
    assert oven.heater_on_s == pytest.approx(0.8, abs=1e-9)       # on from 0.4 to 1.2 s
    oven.advance(t + 0.5)
    assert oven.heater_on_s == pytest.approx(1.3, abs=1e-9)       # and again from 2.0 s


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["heater", "door", "read", "none"]), st.integers(1, 40)),
                min_size=1, max_size=40))
def test_lazy_oven_equals_stepping_every_block(script):
    """The sim oven advanced only when read, switched or when the door moves
    is the oven stepped every block (heater and door changes take effect at
    the block where the loop sees them)."""
    import math
    lazy = SimOven()
    ins, outs = SimInputs(lazy), SimOutputs(lazy)
    ref = SimOven()
    gov = {"heater": False, "fan": False, "lamp": False, "buzzer": False}
    outs.write(gov, "idle", 0.0)
    ins.poll(0.0)
    t, dt = 0.0, 0.1
    for what, blocks in script:
        for _ in range(blocks):
            t = round(t + dt, 10)
            ref.step(dt)                   # the reference: the model stepped every block
            if what != "none":
                ins.poll(t)            # ("none": nothing reads the oven for a while)
        if what == "heater":
            gov["heater"] = not gov["heater"]
            outs.write(gov, "idle", t)
            ref.heater = gov["heater"]
        elif what == "door":
            lazy.door_open = ref.door_open = not lazy.door_open
            ins.poll(t)
        elif what == "read":
            cav, food = ins.poll(t)[2], ins.food(t)
            assert math.isclose(cav, ref.cavity, rel_tol=1e-9) and math.isclose(food, ref.food, rel_tol=1e-9)
    cav, food = ins.poll(t)[2], ins.food(t)
    assert math.isclose(cav, ref.cavity, rel_tol=1e-9) and math.isclose(food, ref.food, rel_tol=1e-9)
    assert math.isclose(lazy.heater_on_s, ref.heater_on_s, rel_tol=1e-9, abs_tol=1e-9)


def test_loop_outputs_follow_the_appliance_every_block(tmp_path):
    """Outputs are written only after a decision, yet at the end of every
    block the relays are what the appliance decided (buttons, the door, the
    thermostat, the auto-off timer all switch them)."""
    b = board_mod.load("sim", storage=str(tmp_path))
    b.data["oven"]["max_on_s"] = 200.0          # so the auto-off timer fires inside the run
    app = build(b, detector=None, boot=None)
    records = []
    app.log.sinks.append(lambda t, level, module, msg: records.append((t, module, msg)))
    app.start()
    oven = app.ports["oven"]
    out = app.ports["outputs"]
    writes = []
    real_write = out.write
    out.write = lambda o, r, now: writes.append(now) or real_write(o, r, now)
    app.appliance.press("up", app.t)
    for i in range(3000):
        if i == 5:
            app.inputs.press("start")
        if i in (400, 1700):
            oven.door_open = True
        if i in (430, 1720):
            oven.door_open = False
        if i == 2500:
            app.inputs.press("stop")
        app.step()
        want = {k: bool(v) for k, v in app.appliance.outputs.items()}
        assert out.state == want and oven.heater == want["heater"], i
        assert out.ring == app.appliance.ring, i
    assert out.switches >= 4                        # it heated, cut off with the door, cycled
    assert len(writes) <= 3000 // app.control_every + 60   # control turns plus the events, not every block
    assert any(r[1] == "oven" and "auto-off" in r[2] for r in records), records[-5:]


@pytest.mark.parametrize("fault", ["over the cutoff", "probe unplugged"])
def test_cavity_faults_cut_the_heater_on_the_next_block(tmp_path, fault):
    """The cavity probe is read every block: a reading at the cutoff or an
    unreadable probe switches the heater off at the end of the block that
    sees it, not at the next control turn."""
    b = board_mod.load("sim", storage=str(tmp_path))
    app = build(b, detector=None, boot=None)
    app.start()
    oven = app.ports["oven"]
    app.inputs.press("start")
    app.run(seconds=3.0)
    assert oven.heater
    while app.turns % app.control_every != 3:     # in the middle of a control period
        app.step()
    if fault == "over the cutoff":
        oven.cavity = app.cutoff + 5.0
    else:
        oven.cavity_fault = True
    app.step()
    assert app.turns % app.control_every != 0    # not a control turn
    assert not oven.heater and not app.appliance.outputs["heater"]


def test_sim_oven_decay_cache_follows_door_and_dt():
    """The cached decay factors are recomputed when dt or the door changes:
    the same steps on ovens whose cache is always cold give the same values."""
    oven = SimOven()
    oven.heater = True
    for i in range(60):
        oven.door_open = (i // 3) % 2 == 1
        dt = 0.1 if i % 7 else 0.3
        cold = SimOven()
        cold.heater, cold.door_open = True, oven.door_open
        cold.cavity, cold.food, cold.heater_on_s = oven.cavity, oven.food, oven.heater_on_s
        oven.step(dt)
        cold.step(dt)
        assert (oven.cavity, oven.food) == (cold.cavity, cold.food)


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


# -- detector quality summaries ----------------------------------------------------------------------
class SummaryDetector:
    """Reports what hearth.detect.Detector.quality() reports, from a script."""

    def __init__(self):
        self.reads = 0

    def feed(self, block):
        return []

    def reset(self):
        pass

    def quality(self, clear=True):
        self.reads += 1
        return [0.25 * self.reads, 0.5], 40.0 + self.reads, 50


def test_detector_port_quality_after_the_frontend_warm_up():
    from hearth.ports.detector import FEATURE_WARMUP_S
    det = SummaryDetector()
    port = DetectorPort(det, ["a", "b"], rate=RATE)
    blk = np.zeros(8000, np.int16)
    warm = int(FEATURE_WARMUP_S * RATE) // len(blk)
    # the summary of read k covers the audio since read k-1: its feature mean
    # counts only once that earlier read was past the warm-up
    for i in range(warm):
        port.feed(blk, 0.5 * i)
        assert port.quality() == ([0.25 * (i + 1), 0.5], None)     # peaks at once, features later
    port.feed(blk, 0.0)
    assert port.quality() == ([0.25 * (warm + 1), 0.5], 40.0 + warm + 1)
    port.pause()
    port.feed(blk, 0.0)                                            # restarted: warming up again
    assert port.quality()[1] is None
    for _ in range(warm + 1):                                      # a long gap between reads:
        port.feed(blk, 0.0)                                        # it still reaches back
    assert port.quality()[1] is None
    assert DetectorPort(object(), ["a"]).quality() == (None, None)  # a detector without summaries




# -- capture buffers' C views ------------------------------------------------------------------------
def test_pcm_pointers_keep_views_of_live_arrays_only():
    from hearth._native import ffi
    from hearth.frontend import PcmPointers
    p = PcmPointers(size=4)
    a = np.arange(1600, dtype=np.int16)
    arr, buf = p.get(a)
    assert arr is a and p.get(a)[1] is buf                    # made once, then kept
    assert ffi.cast("intptr_t", buf) == a.ctypes.data and len(buf) == 1600
    a[:] = 7                                                  # refilled in place: the view sees it
    assert buf[0] == 7
    strided = np.arange(3200, dtype=np.int16)[::2]
    x, xb = p.get(strided)                                    # converted, not cached
    assert x is not strided and np.array_equal(x, strided) and id(strided) not in p.entries
    y, yb = p.get(strided.tobytes())
    assert np.array_equal(y, strided) and len(yb) == 1600
    with pytest.raises(TypeError):
        p.get(np.zeros(10, np.float32))
    keep = [np.zeros(8, np.int16) for _ in range(10)]         # a source making new arrays
    for k in keep:
        p.get(k)
    assert len(p.entries) <= 4
    for e in p.entries.values():                              # every entry holds its own array
        assert p.entries[id(e[0])] is e
