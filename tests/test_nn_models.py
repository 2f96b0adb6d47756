"""The four real microWakeWord models, step by step, byte-equal to TFLM.

Every output byte and every non-resource tensor of the main subgraph is
compared after every step, over >= 2000 steps of real speech features and of
random input; the default (memory-reusing) plan must give the same outputs as
the preserve-all plan used to read intermediates.
"""
import zlib

import numpy as np
import pytest
from tflite_micro.python.tflite_micro import runtime

from hearth import nn

from conftest import WAKE_MODELS, model_path

pytestmark = pytest.mark.slow


def tflm(path):
    return runtime.Interpreter.from_file(
        path, intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)


def compare_stream(name, windows):
    path = model_path(name)
    ref = tflm(path)
    ours = nn.load(path, preserve_all=True)
    lean = nn.load(path)
    tensors = [i for i in range(ours.num_tensors) if ours.tensor_info(i).type_name != "resource"]
    moved = 0
    last = None
    for step, x in enumerate(windows):
        ref.set_input(x, 0)
        ref.invoke()
        want = ref.get_output(0)
        got = ours.invoke(x)[0]
        got_lean = lean.invoke(x)[0]
        assert got.tobytes() == want.tobytes(), "%s step %d: output %s != TFLM %s" % (name, step, got, want)
        assert got_lean.tobytes() == want.tobytes(), "%s step %d: reusing plan differs" % (name, step)
        for t in tensors:
            w = ref.GetTensor(t, 0)["tensor_data"]
            g = ours.tensor(t)
            assert g.tobytes() == np.asarray(w).tobytes(), "%s step %d tensor %d differs" % (name, step, t)
        if last is not None and int(want.ravel()[0]) != last:
            moved += 1
        last = int(want.ravel()[0])
    return moved


@pytest.mark.parametrize("name", WAKE_MODELS)
def test_real_speech_bit_exact(name, real_windows):
    windows = real_windows[name]
    assert len(windows) >= 2000
    moved = compare_stream(name, windows)
    # real speech moves the model's output (random input barely does), so the
    # comparison covered more than a constant stream
    assert moved > 10, "output changed only %d times: the features are not realistic" % moved


@pytest.mark.parametrize("name", WAKE_MODELS)
def test_random_input_bit_exact(name, record_property):
    # a fixed seed per model (hash() of a str differs per process)
    seed = zlib.crc32(name.encode())
    record_property("seed", seed)
    print("random input seed %d" % seed)
    windows = np.random.default_rng(seed).integers(-128, 128, size=(2000, 1, 3, 40), dtype=np.int8)
    compare_stream(name, windows)


@pytest.mark.parametrize("name", WAKE_MODELS)
def test_reset_matches_fresh_instance(name, real_windows):
    path = model_path(name)
    windows = real_windows[name][:300]
    m = nn.load(path)
    first = [m.invoke(x)[0].tobytes() for x in windows]
    m.reset()
    again = [m.invoke(x)[0].tobytes() for x in windows]
    assert first == again
    ref = tflm(path)
    for x in windows[:50]:
        ref.set_input(x, 0)
        ref.invoke()
    ref.reset()
    after = []
    for x in windows:
        ref.set_input(x, 0)
        ref.invoke()
        after.append(ref.get_output(0).tobytes())
    assert after == first


def test_instances_are_independent(real_windows):
    path = model_path("hey_jarvis")
    windows = real_windows["hey_jarvis"][:400]
    a, b = nn.load(path), nn.load(path)
    solo = [nn.load(path).invoke(x)[0].tobytes() for x in windows[:1]]
    outs_a = []
    for i, x in enumerate(windows):
        outs_a.append(a.invoke(x)[0].tobytes())
        b.invoke(windows[-1 - i])   # interleaved, different stream
    fresh = nn.load(path)
    assert outs_a == [fresh.invoke(x)[0].tobytes() for x in windows]
    assert solo[0] == outs_a[0]


@pytest.mark.parametrize("name", WAKE_MODELS)
def test_litert_agreement_rate(name, real_windows):
    """LiteRT rounds differently (optimized kernels): report its agreement with
    hearth (= TFLM) step by step; require only that it is mostly the same model."""
    from ai_edge_litert.interpreter import Interpreter
    path = model_path(name)
    lite = Interpreter(model_path=path)
    lite.allocate_tensors()
    inp, out = lite.get_input_details()[0]["index"], lite.get_output_details()[0]["index"]
    ours = nn.load(path)
    windows = real_windows[name]
    agree = 0
    for x in windows:
        lite.set_tensor(inp, x)
        lite.invoke()
        agree += int(lite.get_tensor(out).tobytes() == ours.invoke(x)[0].tobytes())
    rate = agree / len(windows)
    print("LiteRT agreement on %s: %d/%d steps (%.2f%%)" % (name, agree, len(windows), 100 * rate))
    assert rate > 0.85
