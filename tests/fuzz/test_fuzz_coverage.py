"""Coverage-guided fuzzing of every target in fuzz_targets.py, for a fixed budget.

Native targets run under libFuzzer with ASan+UBSan over an instrumented
library; the Python parsers under atheris. Each starts from real seeds. A
target fails on a crash (the reproducer path is in the message) and when its
coverage falls below the floor recorded in tests/fuzz/floors.json.
HEARTH_FUZZ_SECONDS overrides every target's budget (a shorter run is held
to the seed-coverage floor only).
"""
import os

import pytest

import fuzz_runner
import fuzz_targets

pytestmark = pytest.mark.slow
SECONDS = int(os.environ["HEARTH_FUZZ_SECONDS"]) if os.environ.get("HEARTH_FUZZ_SECONDS") else None


@pytest.fixture(scope="module")
def native_build():
    try:
        return fuzz_runner.build_native()
    except RuntimeError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return str(tmp_path_factory.mktemp("fuzz"))


@pytest.mark.parametrize("target", fuzz_targets.TARGETS, ids=lambda t: t.name)
def test_fuzz_target(target, work, request):
    if target.kind == "native":
        request.getfixturevalue("native_build")
    try:
        result = fuzz_runner.run(target, work, SECONDS)
    except RuntimeError as e:
        pytest.fail(str(e))
    print(result.summary())
    issues = fuzz_runner.problems(result, fuzz_runner.load_floors())
    assert not issues, "\n\n".join(issues)


def test_every_target_has_a_floor():
    floors = fuzz_runner.load_floors()["targets"]
    missing = [t.name for t in fuzz_targets.TARGETS if t.name not in floors]
    assert not missing, "no coverage floor for %s: run `%s %s`" % (
        ", ".join(missing), fuzz_runner.RECORD_COMMAND, " ".join(missing))


def test_every_native_target_is_registered():
    found = sorted(f[:-2] for f in os.listdir(os.path.join(fuzz_targets.ROOT, "native", "fuzz"))
                   if f.startswith("fuzz_") and f.endswith(".c"))
    registered = sorted(t.name for t in fuzz_targets.TARGETS if t.kind == "native")
    assert found == registered, "native/fuzz/*.c and fuzz_targets.TARGETS differ: add a row"
