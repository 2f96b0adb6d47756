"""Every `hearth bench` benchmark still runs (tiny sizes), also with
--write-doc: they are how docs/BENCHMARKS.md is made. --write-doc goes to a
temporary copy of that document ($HEARTH_BENCH_DOC), never to the real one."""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

REAL_DOC = os.path.join(ROOT, "docs", "BENCHMARKS.md")


def run_cli(*args, doc=None):
    env = dict(os.environ)
    if doc:
        env["HEARTH_BENCH_DOC"] = str(doc)
    proc = subprocess.run([sys.executable, "-m", "hearth_tools.cli", "--json", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def _sections(text):
    return dict(re.findall(r"<!-- bench:(\w+) -->(.*?)<!-- /bench:\1 -->", text, re.S))


STALE = "\nstale section\n"


@pytest.fixture
def doc(tmp_path):
    """A copy of docs/BENCHMARKS.md, every section's body made stale, to
    write to; the real document must not change."""
    with open(REAL_DOC, "rb") as f:
        real = f.read()
    copy = tmp_path / "BENCHMARKS.md"
    copy.write_text(re.sub(r"(<!-- bench:(\w+) -->).*?(<!-- /bench:\2 -->)",
                           lambda m: m.group(1) + STALE + m.group(3), real.decode(), flags=re.S))
    yield copy
    with open(REAL_DOC, "rb") as f:
        assert f.read() == real, "--write-doc touched the real document"


def written(doc, name, command):
    """The section `name` as --write-doc left it in the copy; every other section still stale."""
    new = _sections(doc.read_text(encoding="utf-8"))
    with open(REAL_DOC, encoding="utf-8") as f:
        assert set(new) == set(_sections(f.read())) | {name}
    assert all(v == STALE for k, v in new.items() if k != name)
    assert "Command: `%s`" % command in new[name], new[name][:300]
    return new[name]


def test_runtime_bench_reports_every_model(doc):
    rows = run_cli("bench", "runtime", "--steps", "30", "--repeats", "1", "--write-doc", doc=doc)
    assert sorted(r["model"] for r in rows) == ["alexa", "hey_jarvis", "hey_mycroft", "okay_nabu"]
    for r in rows:
        assert r["hearth_us"] > 0 and r["litert_us"] > 0 and r["tflm_us"] > 0 and r["c_us"] > 0
        assert 0 < r["hearth_arena"] < r["tflm_arena"]
    text = written(doc, "runtime", "hearth bench runtime --steps 30 --repeats 1 --write-doc")
    assert "load average (1 min)" in text and "okay_nabu" in text


def test_size_bench_lists_the_runtime_modules(doc):
    rows = run_cli("bench", "size", "--write-doc", doc=doc)
    modules = {r["module"] for r in rows}
    assert {"interp.c", "tfl_reader.c", "planner.c", "kernels/conv.c"} <= modules
    assert all(r["text"] > 0 for r in rows if r["module"] == "interp.c")
    assert "TOTAL runtime" in written(doc, "size", "hearth bench size --write-doc  (also: make size)")


PIPELINE_KEYS = ["hearth_1_ms_per_s", "hearth_4_ms_per_s", "pymicro_1_ms_per_s", "pymicro_4_ms_per_s",
                 "frontend_hearth_us_per_frame", "frontend_hearth_c_us_per_frame",
                 "frontend_pymicro_us_per_frame"]


def test_pipeline_bench_reports_spread_and_load(doc):
    (r,) = run_cli("bench", "pipeline", "--seconds", "1", "--repeats", "3", "--write-doc", doc=doc)
    assert r["repeats"] == 3 and r["audio_seconds"] == 1.0
    for k in PIPELINE_KEYS:
        assert 0 < r[k + "_p10"] <= r[k] <= r[k + "_p90"], k
    assert r["load_start"] >= 0 and r["load_end"] >= 0
    text = written(doc, "pipeline", "hearth bench pipeline --seconds 1 --repeats 3 --write-doc")
    assert "load average (1 min)" in text and "p10" in text and "p90" in text
    assert "pymicro-wakeword, 4 models on one frontend" in text


def test_soak_bench_runs_the_loop(doc):
    (r,) = run_cli("bench", "soak", "--minutes", "0.5", "--write-doc", doc=doc)
    assert r["blocks"] == 300 and r["detector"] == ["okay_nabu", "hey_jarvis", "hey_mycroft", "alexa"]
    assert r["detector_ms_per_s"] > 0 and set(r["overruns"]) >= {"block", "detect"}
    assert "load average" in written(doc, "soak", "hearth bench soak --minutes 0.5 --write-doc")


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


def test_interleaved_times_take_turns():
    """Every repeat runs every peer once; the order rotates, so no peer
    always follows the same other (a load change hits all alike)."""
    from hearth_tools.bench import _util
    order = []
    runs = [(lambda n, k=k: order.append(k), 1) for k in range(3)]
    per = _util.interleaved_times(runs, 4)
    assert order == [0, 1, 2, 1, 2, 0, 2, 0, 1, 0, 1, 2]
    assert [len(p) for p in per] == [4, 4, 4]


def test_pipeline_feeds_pymicro_models_from_one_frontend(monkeypatch):
    """pymicro-wakeword's four models share one feature stream, as hearth's do."""
    import pymicro_wakeword
    from hearth_tools.bench import pipeline
    made = []
    real = pymicro_wakeword.MicroWakeWordFeatures

    class Counted(real):
        def __init__(self, *a, **k):
            made.append(self)
            super().__init__(*a, **k)
    monkeypatch.setattr(pymicro_wakeword, "MicroWakeWordFeatures", Counted)
    r = pipeline.measure(0.5, 1)
    assert len(made) == 2                        # one for 1 model, one for 4 models
    assert r["pymicro_4_ms_per_s"] > 0 and r["pymicro_1_ms_per_s"] > 0
