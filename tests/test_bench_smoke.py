"""The benchmarks still run (tiny sizes): they are how the README's figures are made."""
import json
import subprocess
import sys

import pytest

from conftest import ROOT


def run_cli(*args):
    proc = subprocess.run([sys.executable, "-m", "hearth_tools.cli", "--json", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def test_runtime_bench_reports_every_model():
    rows = run_cli("bench", "runtime", "--steps", "30", "--repeats", "1")
    assert sorted(r["model"] for r in rows) == ["alexa", "hey_jarvis", "hey_mycroft", "okay_nabu"]
    for r in rows:
        assert r["hearth_us"] > 0 and r["litert_us"] > 0 and r["tflm_us"] > 0 and r["c_us"] > 0
        assert 0 < r["hearth_arena"] < r["tflm_arena"]


def test_size_bench_lists_the_runtime_modules():
    rows = run_cli("bench", "size")
    modules = {r["module"] for r in rows}
    assert {"interp.c", "tfl_reader.c", "planner.c", "kernels/conv.c"} <= modules
    assert all(r["text"] > 0 for r in rows if r["module"] == "interp.c")


def test_feature_levels_separate_a_dead_microphone_from_a_quiet_room():
    """The tool behind the boards' [quality] feature range, on a few seconds."""
    import numpy as np
    from hearth_tools import feature_levels
    rng = np.random.default_rng(3)
    dead = feature_levels.levels(rng.normal(0, 3, 5 * 16000))
    room = feature_levels.levels(rng.normal(0, 30, 5 * 16000))
    assert len(dead) == len(room) == 6                       # 0.5 s steps after the 2 s warm-up
    assert max(dead) < 15.0 < min(room) and max(room) < 300.0


def test_loopcost_counts_the_loops_bytecodes():
    from hearth_tools import loopcost
    total, per = loopcost.opcodes(blocks=40)
    assert per["app.py:step"] > 50 and per["detect.py:feed"] > 10
    assert total == pytest.approx(sum(per.values()))
