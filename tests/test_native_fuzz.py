"""libFuzzer over the model loader + invoke, under ASan+UBSan, for a fixed budget.

Seeds are the real models, so mutations start from deep, valid structure.
A crash, sanitizer report or leak fails the test with the fuzzer's output.
"""
import os
import shutil
import subprocess

import pytest

from conftest import ROOT, WAKE_MODELS, model_path

pytestmark = pytest.mark.slow
BUDGET_S = int(os.environ.get("HEARTH_FUZZ_SECONDS", "45"))


@pytest.fixture(scope="module")
def fuzz_build():
    if not shutil.which("clang"):
        pytest.fail("clang is required for fuzzing: run `make debs`")
    build = os.path.join(ROOT, "build", "fuzz")
    env = dict(os.environ, CC="clang")
    subprocess.run(["cmake", "-S", ROOT, "-B", build, "-DHEARTH_FUZZ=ON", "-DHEARTH_TESTS=OFF",
                    "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], check=True, env=env, capture_output=True)
    subprocess.run(["cmake", "--build", build, "-j2"], check=True, capture_output=True)
    return build


def test_fuzz_model_loader(fuzz_build, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in WAKE_MODELS:
        shutil.copy(model_path(name), corpus / (name + ".tflite"))
    exe = os.path.join(fuzz_build, "fuzz_model")
    proc = subprocess.run([exe, "-max_total_time=%d" % BUDGET_S, "-max_len=100000", "-rss_limit_mb=2048",
                           "-print_final_stats=1", str(corpus)],
                          capture_output=True, text=True, cwd=tmp_path)
    tail = "\n".join(proc.stderr.splitlines()[-25:])
    assert proc.returncode == 0, "fuzzer found a failure:\n" + tail
    assert "stat::number_of_executed_units" in proc.stderr, tail
    runs = [line for line in proc.stderr.splitlines() if "number_of_executed_units" in line]
    print(runs[-1])
