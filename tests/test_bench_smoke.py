"""The benchmarks still run (tiny sizes): they are how the README's figures are made."""
import json
import subprocess
import sys

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
