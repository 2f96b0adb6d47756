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
    for cut in range(len(jarvis_bytes)):
        expect_error(jarvis_bytes[:cut])


def test_random_bit_flips_never_crash(jarvis_bytes):
    """Flips either load (then the mutant must invoke) or are refused; both
    must happen often, or the test exercises only one side."""
    rng = np.random.default_rng(7)
    buf = np.frombuffer(jarvis_bytes, np.uint8)
    loaded = 0
    tries = 1500
    for _ in range(tries):
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
    # seen: 976 of 1500 load (most flips land in weights), the rest are refused
    assert tries // 5 <= loaded <= tries - tries // 20, loaded


def _u32(b, at):
    return struct.unpack_from("<I", b, at)[0]


def test_root_offset_outside_buffer(jarvis_bytes):
    b = bytearray(jarvis_bytes)
    struct.pack_into("<I", b, 0, len(b) + 100)
    expect_error(bytes(b), {"HNN_E_BAD_OFFSET", "HNN_E_TRUNCATED"})


def test_unsupported_op_is_named():
    from hearth_tools.testing.tflite_builder import ModelBuilder
    b = ModelBuilder()
    x = b.tensor("x", [1, 4], "int8", scale=0.1, zero_point=0)
    y = b.tensor("y", [1, 4], "int8", scale=0.1, zero_point=0)
    b.op("TANH", inputs=[x], outputs=[y])
    b.inputs([x])
    b.outputs([y])
    err = expect_error(b.build(), {"HNN_E_UNSUPPORTED_OP"})
    assert "TANH" in str(err)


# ---- hostile graphs built with the model builder ---------------------------

def _reshape_model(mutate=None, shape=(1, 4), dtype="int8"):
    from hearth_tools.testing.tflite_builder import ModelBuilder
    b = ModelBuilder()
    x = b.tensor("x", list(shape), dtype, scale=0.1, zero_point=0)
    y = b.tensor("y", list(shape), dtype, scale=0.1, zero_point=0)
    ops = [("RESHAPE", [x], [y])]
    ins, outs = [x], [y]
    if mutate:
        ops, ins, outs = mutate(b, x, y)
    for name, i, o in ops:
        b.op(name, inputs=i, outputs=o, options=False)
    b.inputs(ins)
    b.outputs(outs)
    return b.build()


def test_minimal_graph_runs():
    m = nn.load(_reshape_model())
    x = np.array([[1, -2, 3, -128]], np.int8)
    assert m.invoke(x)[0].tolist() == x.tolist()


def test_dangling_reference_refused():
    def mutate(b, x, y):
        ghost = b.tensor("ghost", [1, 4], "int8", scale=0.1, zero_point=0)
        return [("RESHAPE", [ghost], [y])], [x], [y]
    expect_error(_reshape_model(mutate), {"HNN_E_GRAPH"})


def test_cycle_refused():
    def mutate(b, x, y):
        a = b.tensor("a", [1, 4], "int8", scale=0.1, zero_point=0)
        c = b.tensor("c", [1, 4], "int8", scale=0.1, zero_point=0)
        return [("RESHAPE", [c], [a]), ("RESHAPE", [a], [c]), ("RESHAPE", [c], [y])], [x], [y]
    expect_error(_reshape_model(mutate), {"HNN_E_GRAPH"})


def test_output_never_written_refused():
    def mutate(b, x, y):
        z = b.tensor("z", [1, 4], "int8", scale=0.1, zero_point=0)
        return [("RESHAPE", [x], [y])], [x], [y, z]
    expect_error(_reshape_model(mutate), {"HNN_E_GRAPH"})


def test_tensor_written_twice_refused():
    def mutate(b, x, y):
        return [("RESHAPE", [x], [y]), ("RESHAPE", [x], [y])], [x], [y]
    expect_error(_reshape_model(mutate), {"HNN_E_GRAPH"})


def test_index_out_of_range_refused():
    def mutate(b, x, y):
        return [("RESHAPE", [x + 1000], [y])], [x], [y]
    expect_error(_reshape_model(mutate), {"HNN_E_GRAPH"})


def test_huge_dimensions_refused():
    expect_error(_reshape_model(shape=(65536, 65536, 64)), {"HNN_E_SHAPE"})
    expect_error(_reshape_model(shape=(2 ** 31 - 1, 2 ** 31 - 1)), {"HNN_E_SHAPE"})


def test_unsupported_types_refused():
    for dtype in ("float64", "uint32", "float16"):
        err = expect_error(_reshape_model(dtype=dtype), {"HNN_E_UNSUPPORTED_TYPE"})
        assert "type" in str(err)


def test_arena_exact_and_too_small():
    from hearth._native import ffi, lib
    with open(model_path("okay_nabu"), "rb") as f:
        data = f.read()
    m = nn.load(data)
    buf = ffi.new("uint64_t[]", (len(data) + 7) // 8)
    ffi.memmove(buf, data, len(data))
    ptr = ffi.cast("const uint8_t *", buf)
    out = ffi.new("hnn_model **")
    for size in (m.arena_bytes, m.arena_bytes - 1, m.arena_bytes // 2, 16, 0):
        arena = ffi.new("uint64_t[]", size // 8 + 1)
        rc = lib.hnn_init(out, ptr, len(data), arena, size, 0)
        assert rc == (0 if size == m.arena_bytes else lib.HNN_E_ARENA), size
