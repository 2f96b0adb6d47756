"""Hostile sizes and inputs at the Python edge of the runtime (tests/golden/hostile,
made by native/tests/make_hostile_models.py; the C side is native/tests/test_hostile.c)."""
import os

import numpy as np
import pytest

from hearth import nn

from conftest import model_path

HOSTILE = os.path.join(os.path.dirname(__file__), "golden", "hostile")


def hostile(name):
    with open(os.path.join(HOSTILE, name + ".tflite"), "rb") as f:
        return f.read()


@pytest.fixture(scope="module")
def jarvis():
    return nn.load(model_path("hey_jarvis"))


def test_invoke_raw_checks_length(jarvis):
    """A short input must not make the copy read past the caller's bytes, nor a
    long one be cut silently."""
    n = jarvis.inputs[0].nbytes
    good = np.full(n, -100, np.int8).tobytes()
    want = jarvis.invoke_raw(good)
    for bad in (b"", good[:1], good[:-1], good + b"\x00"):
        with pytest.raises(ValueError, match="%d bytes" % n):
            jarvis.invoke_raw(bad)
    jarvis.reset()
    assert jarvis.invoke_raw(bytearray(good)) == want
    jarvis.reset()
    assert jarvis.invoke_raw(memoryview(good)) == want


def test_plan_beyond_two_gib_is_refused():
    for name in ("four_gib_plan", "three_gib_plan"):
        with pytest.raises(nn.NNError) as e:
            nn.load(hostile(name))
        assert e.value.name in ("HNN_E_LIMIT", "HNN_E_ARENA"), str(e.value)


def test_constant_input_is_refused():
    with pytest.raises(nn.NNError) as e:
        nn.load(hostile("const_input"))
    assert e.value.name == "HNN_E_GRAPH"
    assert "constant" in str(e.value)
