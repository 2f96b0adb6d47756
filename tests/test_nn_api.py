"""hearth.nn API and hostile models: every failure is an NNError naming the C error."""
import struct

import numpy as np
import pytest

from hearth import nn

from conftest import model_path


@pytest.fixture(scope="module")
def jarvis_bytes():
    with open(model_path("hey_jarvis"), "rb") as f:
        return f.read()


def test_io_description(jarvis_bytes):
    m = nn.load(jarvis_bytes)
    (i,), (o,) = m.inputs, m.outputs
    assert i.shape == (1, 3, 40) and i.dtype == np.int8 and i.zero_point == -128
    assert abs(i.scale - 0.10196078) < 1e-6
    assert o.shape == (1, 1) and o.dtype == np.uint8
    assert m.arena_bytes > 0


def test_invoke_accepts_bytes_and_arrays(jarvis_bytes):
    m = nn.load(jarvis_bytes)
    x = np.full((1, 3, 40), -100, np.int8)
    a = m.invoke(x)[0]
    m.reset()
    b = m.invoke(x.tobytes())[0]
    assert a.tobytes() == b.tobytes()
    with pytest.raises(TypeError):
        m.invoke(x.astype(np.int16))
    with pytest.raises(ValueError):
        m.invoke(b"\x00" * 7)


def expect_error(data, names=None):
    with pytest.raises(nn.NNError) as e:
        nn.load(data)
    assert e.value.name.startswith("HNN_E_")
    if names:
        assert e.value.name in names, str(e.value)
    return e.value


def test_empty_and_garbage():
    expect_error(b"")
    expect_error(b"\x00" * 3)
    expect_error(b"TFL3" * 64)
    expect_error(bytes(range(256)) * 8)


def test_truncated_at_every_offset(jarvis_bytes):
    step = 1
    for cut in range(0, len(jarvis_bytes), step):
        expect_error(jarvis_bytes[:cut])
        step = 1 if cut < 4096 else 37


def test_random_bit_flips_never_crash(jarvis_bytes):
    rng = np.random.default_rng(7)
    buf = np.frombuffer(jarvis_bytes, np.uint8)
    loaded = 0
    for _ in range(1500):
        b = buf.copy()
        for at in rng.integers(0, len(b), size=rng.integers(1, 5)):
            b[at] ^= np.uint8(1 << rng.integers(0, 8))
        try:
            m = nn.load(b.tobytes())
        except nn.NNError:
            continue
        loaded += 1
        m.invoke(np.zeros((1, 3, 40), np.int8) if m.inputs[0].dtype == np.int8 and
                 m.inputs[0].nbytes == 120 else b"\x00" * m.inputs[0].nbytes)


def _u32(b, at):
    return struct.unpack_from("<I", b, at)[0]


def test_root_offset_outside_buffer(jarvis_bytes):
    b = bytearray(jarvis_bytes)
    struct.pack_into("<I", b, 0, len(b) + 100)
    expect_error(bytes(b), {"HNN_E_BAD_OFFSET", "HNN_E_TRUNCATED"})


def test_unsupported_op_is_named():
    from hearth_tools.tflite_builder import ModelBuilder
    b = ModelBuilder()
    x = b.tensor("x", [1, 4], "int8", scale=0.1, zero_point=0)
    y = b.tensor("y", [1, 4], "int8", scale=0.1, zero_point=0)
    b.op("TANH", inputs=[x], outputs=[y])
    b.inputs([x])
    b.outputs([y])
    err = expect_error(b.build(), {"HNN_E_UNSUPPORTED_OP"})
    assert "TANH" in str(err)
