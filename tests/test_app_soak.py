"""`hearth bench soak` itself, on a few audio minutes: it runs the loop, replays
the same blocks and reports consistent figures."""
import io
import json
import sys

import pytest

from hearth_tools.bench import soak
from hearth_tools.cli import main as hearth_main


def test_soak_without_detector():
    r = soak.soak(minutes=2.0, detector=False)
    assert r["blocks"] == 1200 and r["audio_s"] == pytest.approx(120.0)
    assert r["detector"] == [] and r["detector_ms_per_s"] == 0.0
    assert r["overhead_ms_per_s"] == pytest.approx(r["cpu_ms_per_s"])
    assert r["overhead_ms_per_s"] == pytest.approx(r["alarm_ms_per_s"] + r["rest_ms_per_s"])
    assert r["alarm_ms_per_s"] > 0.0 and r["rss_start"] > 0
    assert sum(r["overruns"].values()) >= 0 and r["mode_changes"] == 1      # runtime missing
    assert "loop overhead, everything but the detector" in soak.report(r)


def test_soak_report_short_run_and_cli_json():
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        rc = hearth_main(["--json", "bench", "soak", "--minutes", "0.5", "--no-detector"])
    finally:
        sys.stdout, sys.stderr = old
    assert rc in (0, None), err.getvalue()
    r = json.loads(out.getvalue())
    assert r["blocks"] == 300 and r["rss_start"] is None
    assert "shorter than the 60 s warm-up" in soak.report(r)


def test_soak_with_detector_replays_the_same_blocks():
    import hearth.detect  # noqa: F401  (a broken native build fails, never skips)
    r = soak.soak(minutes=3.0, detector=True)
    assert r["detector"], "detector did not start: %s" % r["mode"]
    assert r["detector_ms_per_s"] > 0.0
    assert r["overhead_ms_per_s"] == pytest.approx(r["cpu_ms_per_s"] - r["detector_ms_per_s"])
    assert r["wake_expected"] == 0 or r["wake_detected"] >= 1     # one wake word at 150 s
    assert r["mode_changes"] == 0


def test_replay_regenerates_the_loops_blocks(tmp_path):
    """The lone detector gets exactly the blocks the loop got, clips included."""
    import numpy as np
    from hearth import board as board_mod
    from hearth.wiring import build
    from hearth_tools.scenario import alarm_pattern

    app = build(board_mod.load("sim", storage=str(tmp_path)), detector=None, boot=None)
    seen = []
    read = app.audio.read
    app.audio.read = lambda n: seen.append(read(n).copy()) or seen[-1]
    replay = soak.Replay(app.rate, app.n)
    clip = alarm_pattern("t3", "3k", 1)
    tone = (np.sin(np.arange(8000) * 0.3) * 9000).astype(np.int16)
    app.start()
    for turn in range(260):
        if turn in (3, 40, 41):
            pcm = clip if turn == 3 else tone
            app.audio.inject(pcm)
            replay.inject(app.turns, pcm)
        app.step()
    got = replay.blocks(100) + replay.blocks(260)
    assert len(got) == len(seen) == 260
    for a, b in zip(got, seen):
        assert np.array_equal(a, b)
    assert not np.array_equal(seen[3], seen[253])           # the clip is in there (same noise phase)


def test_soak_with_a_service_load_reports_the_service():
    """--service-load: the hashing service runs every block and is reported
    (its overruns are a measurement, asserted deterministically in
    tests/test_app_services.py on a virtual timer)."""
    r = soak.soak(minutes=1.0, detector=False, service_load_ms=50.0)
    sv = r["service"]
    assert sv["polls"] == r["blocks"] == 600 and sv["state"] == "running"
    assert sv["budget_ms"] == pytest.approx(5.0) and sv["slices"] > 600
    assert sv["ms_per_s"] > 0.0 and r["overhead_less_service_ms_per_s"] < r["overhead_ms_per_s"]
    text = soak.report(r)
    assert "service hash-load: 50.0 ms of hashing per audio s asked" in text
    assert "service" not in soak.soak(minutes=0.2, detector=False)
