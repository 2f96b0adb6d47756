"""The conv-family kernels (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, MUL,
AVERAGE_POOL_2D, MAX_POOL_2D) against TFLite Micro, byte for byte.

Every op runs seeded random configurations (shapes, strides, dilations,
padding, fused activations, per-tensor/per-channel scales, zero points
including -128 and 127), built with the model builder, run through the
`tflite-micro` wheel and through hearth.nn, until 240 informative ones have
run (oracle.informative: at least 8 output values, at least 3 different; the
others run too but do not count). Refusal tests check that
unsupported or malformed models fail at load with the right error name.
"""
import functools
import math
import os

import numpy as np
import pytest

from hearth import nn
from hearth_tools.testing import golden_conv as golden
from hearth_tools.testing.tflite_builder import BuilderError, ModelBuilder
from oracle import informative, run_tflm

CONFIGS_PER_OP = 240                 # informative configurations per op (oracle.informative)
CANDIDATES = 8 * CONFIGS_PER_OP      # seeds an op may draw to find them
CHUNKS = 4
GOLDEN_DIR = os.path.join(os.path.dirname(__file__), "golden", "ops_conv")


def _assert_same(got, want, label, params):
    assert len(got) == len(want), label
    for g, w in zip(got, want):
        assert g.shape == w.shape, "%s: shape %s != %s (%r)" % (label, g.shape, w.shape, params)
        if not np.array_equal(g, w):
            diff = g != w
            raise AssertionError("%s: %d of %d bytes differ from TFLM; params=%r\ngot  %s\nwant %s"
                                 % (label, int(diff.sum()), g.size, params, g[diff][:8], w[diff][:8]))


@functools.lru_cache(maxsize=None)
def _selection(op):
    """The random configurations of op that run, in seed order, up to the
    CONFIGS_PER_OP-th informative one: [(seed, TFLM outputs, informative)].
    Small or constant outputs (e.g. a one-element ADD, an output scale that
    saturates everything) run but do not count."""
    picked, counted = [], 0
    for i in range(CANDIDATES):
        seed = golden.random_seed(op, i)
        case = golden.make_case(op, np.random.default_rng(seed))
        ref = golden.reference_case(op, seed, case)
        want = run_tflm(ref.buf, ref.inputs)
        ok = informative(want)
        picked.append((seed, want, ok))
        counted += ok
        if counted == CONFIGS_PER_OP:
            return picked
    raise AssertionError("%s: only %d of %d random configurations informative"
                         % (op, counted, CANDIDATES))


def _chunk(op, chunk):
    """The part of _selection(op) holding the chunk-th quarter of its informative cases."""
    picked = _selection(op)
    ends = [k + 1 for k, (_, _, ok) in enumerate(picked) if ok]
    per_chunk = CONFIGS_PER_OP // CHUNKS
    lo = ends[chunk * per_chunk - 1] if chunk else 0
    return picked[lo:ends[(chunk + 1) * per_chunk - 1]]


@pytest.mark.parametrize("chunk", range(CHUNKS))
@pytest.mark.parametrize("op", golden.OPS)
def test_random_configs_match_tflm(op, chunk):
    for seed, want, _ in _chunk(op, chunk):
        case = golden.make_case(op, np.random.default_rng(seed))
        got = nn.load(case.buf).invoke(*case.inputs)
        _assert_same(got, want, "%s seed %d" % (op, seed), case.params)


def test_configs_cover_the_space():
    """The counted random configurations really visit the corners they claim to."""
    seen = {op: set() for op in golden.OPS}
    for op in golden.OPS:
        counted = [seed for seed, _, ok in _selection(op) if ok]
        assert len(counted) == CONFIGS_PER_OP
        for seed in counted:
            p = golden.random_params(op, np.random.default_rng(seed))
            seen[op].add(("act", p["act"]))
            for k in ("zp_in", "zp_out", "zp1", "zp", "zp2"):
                if k in p and p[k] in (-128, 127):
                    seen[op].add(("zp", p[k]))
            for k in ("padding", "per_channel", "bias", "keep_num_dims"):
                if k in p:
                    seen[op].add((k, p[k]))
            if p.get("dh", 1) > 1 or p.get("dw", 1) > 1:
                seen[op].add(("dilated", True))
            if p.get("sh", 1) > 1:
                seen[op].add(("strided", True))
            if p.get("dm", 1) > 1:
                seen[op].add(("dm", True))
            if p.get("groups", 1) > 1:
                seen[op].add(("groups", True))
            if "shape1" in p and p["shape1"] != p["shape2"]:
                seen[op].add(("broadcast", True))
    for op in golden.OPS:
        for a in golden.ACTIVATIONS:
            assert ("act", a) in seen[op], (op, a)
        assert ("zp", -128) in seen[op] and ("zp", 127) in seen[op], op
    for op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        for k in (("padding", "SAME"), ("padding", "VALID"), ("per_channel", True),
                  ("per_channel", False), ("bias", False), ("dilated", True), ("strided", True)):
            assert k in seen[op], (op, k)
    assert ("groups", True) in seen["CONV_2D"] and ("dm", True) in seen["DEPTHWISE_CONV_2D"]
    assert {("per_channel", True), ("per_channel", False), ("keep_num_dims", True),
            ("bias", False)} <= seen["FULLY_CONNECTED"]
    assert ("broadcast", True) in seen["ADD"] and ("broadcast", True) in seen["MUL"]


def test_streaming_shapes_match_tflm():
    """The shapes of the microWakeWord models: a [5,1,40] window conv with
    stride 3, [k,1,C] depthwise windows and 64x64 pointwise convs."""
    rng = np.random.default_rng(99)
    cases = [golden.make_case("CONV_2D", rng, n=1, h=5, w=1, ic=40, oc=64, kh=5, kw=1, sh=3, sw=1,
                              dh=1, dw=1, groups=1, padding="VALID", act="RELU", per_channel=True,
                              bias=True)]
    for k, c in ((3, 64), (5, 32), (9, 32), (17, 64)):
        cases.append(golden.make_case("DEPTHWISE_CONV_2D", rng, n=1, h=k, w=1, ic=c, dm=1, oc=c,
                                      kh=k, kw=1, sh=1, sw=1, dh=1, dw=1, padding="VALID",
                                      act="NONE", per_channel=True, bias=True))
    cases.append(golden.make_case("CONV_2D", rng, n=1, h=1, w=1, ic=64, oc=64, kh=1, kw=1, sh=1,
                                  sw=1, dh=1, dw=1, groups=1, padding="SAME", act="RELU",
                                  per_channel=True, bias=True))
    cases.append(golden.make_case("FULLY_CONNECTED", rng, accum=64, units=1, batch_shape=[1],
                                  keep_num_dims=False, per_channel=False, w_zp=0, bias=True,
                                  act="NONE"))
    for case in cases:
        want = run_tflm(case.buf, case.inputs)
        _assert_same(nn.load(case.buf).invoke(*case.inputs), want, case.op, case.params)


def test_runtime_weights_and_bias_match_tflm():
    """Weights and biases that are model inputs rather than constants: FC
    folds them per invoke, CONV_2D/DEPTHWISE_CONV_2D add a runtime bias."""
    rng = np.random.default_rng(7)
    for per_channel in (False, True):
        for w_zp in ((0, 3) if not per_channel else (0,)):
            units, depth = 7, 19
            s_w = [0.01 + 0.002 * i for i in range(units)] if per_channel else [0.013]
            b = ModelBuilder()
            x = b.tensor("x", [2, depth], "int8", scale=0.04, zero_point=-9)
            w = b.tensor("w", [units, depth], "int8", scale=s_w, zero_point=[w_zp] * len(s_w),
                         quantized_dimension=0)
            bias = b.tensor("b", [units], "int32", scale=[0.04 * s for s in s_w],
                            zero_point=[0] * len(s_w))
            y = b.tensor("y", [2, units], "int8", scale=0.3, zero_point=4)
            b.op("FULLY_CONNECTED", [x, w, bias], [y], {"fused_activation_function": "RELU6"})
            b.inputs([x, w, bias])
            b.outputs([y])
            buf = b.build()
            for _ in range(5):
                ins = [rng.integers(-128, 128, (2, depth)).astype(np.int8),
                       rng.integers(-127, 128, (units, depth)).astype(np.int8),
                       rng.integers(-3000, 3000, units).astype(np.int32)]
                _assert_same(nn.load(buf).invoke(*ins), run_tflm(buf, ins),
                             "FC runtime weights", {"per_channel": per_channel, "w_zp": w_zp})
    for op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        b = ModelBuilder()
        x = b.tensor("x", [1, 5, 6, 4], "int8", scale=0.05, zero_point=3)
        wshape = [4, 3, 3, 4] if op == "CONV_2D" else [1, 3, 3, 4]
        w = b.tensor("w", wshape, "int8", scale=[0.02, 0.03, 0.04, 0.05], zero_point=[0] * 4,
                     quantized_dimension=0 if op == "CONV_2D" else 3,
                     data=rng.integers(-127, 128, wshape))
        bias = b.tensor("b", [4], "int32", scale=[0.001, 0.0015, 0.002, 0.0025], zero_point=[0] * 4)
        y = b.tensor("y", [1, 5, 6, 4], "int8", scale=0.2, zero_point=-1)
        b.op(op, [x, w, bias], [y], {"padding": "SAME"})
        b.inputs([x, bias])
        b.outputs([y])
        buf = b.build()
        ins = [rng.integers(-128, 128, (1, 5, 6, 4)).astype(np.int8),
               rng.integers(-5000, 5000, 4).astype(np.int32)]
        _assert_same(nn.load(buf).invoke(*ins), run_tflm(buf, ins), op + " runtime bias", {})


# -- the rounding mode of the oracle -------------------------------------------------------

def _qmult(real):
    q, e = math.frexp(real)
    qf = int(math.floor(abs(q) * (1 << 31) + 0.5)) * (1 if q > 0 else -1)
    if qf == 1 << 31:
        qf //= 2
        e += 1
    return qf, e


def _mbqm_double(x, m, s):
    def srdhm(a, b):
        v = a * b + ((1 << 30) if a * b >= 0 else 1 - (1 << 30))
        return abs(v) // (1 << 31) * (1 if v >= 0 else -1)
    x = (x * (1 << max(s, 0)) + 2**31) % 2**32 - 2**31
    e = max(-s, 0)
    v = srdhm(x, m)
    mask = (1 << e) - 1
    return (v >> e) + (1 if (v & mask) > (mask >> 1) + (1 if v < 0 else 0) else 0)


def _mbqm_single(x, m, s):
    total = 31 - s
    return (x * m + (1 << (total - 1))) >> total


def test_oracle_uses_double_rounding():
    """Accumulators where TFLite's two MultiplyByQuantizedMultiplier variants
    disagree, fed in as FC biases: the wheel and hearth both round twice
    (HNN_SINGLE_ROUNDING=0)."""
    s_in, s_w, s_out = 1.0, 0.5, 3.7
    m, s = _qmult(float(np.float32(s_in)) * float(np.float32(s_w)) / float(np.float32(s_out)))
    accs = [a for a in range(-600, 600) if _mbqm_double(a, m, s) != _mbqm_single(a, m, s)][:16]
    assert len(accs) >= 8
    b = ModelBuilder()
    x = b.tensor("x", [1, 1], "int8", scale=s_in, zero_point=0)
    w = b.tensor("w", [len(accs), 1], "int8", scale=s_w, zero_point=0, data=np.ones((len(accs), 1)))
    bias = b.tensor("b", [len(accs)], "int32", scale=s_in * s_w, zero_point=0, data=np.array(accs))
    y = b.tensor("y", [1, len(accs)], "int8", scale=s_out, zero_point=0)
    b.op("FULLY_CONNECTED", [x, w, bias], [y], {})
    b.inputs([x])
    b.outputs([y])
    buf = b.build()
    zero = np.zeros((1, 1), np.int8)
    want = run_tflm(buf, [zero])[0][0]
    double = np.clip([_mbqm_double(a, m, s) for a in accs], -128, 127)
    single = np.clip([_mbqm_single(a, m, s) for a in accs], -128, 127)
    assert np.array_equal(want, double) and not np.array_equal(want, single)
    assert np.array_equal(nn.load(buf).invoke(zero)[0][0], want)


# -- refusals ----------------------------------------------------------------------------------

def _conv_model(x_dtype="int8", w_dtype="int8", out_shape=(1, 4, 4, 2), options=None,
                w_scales=(0.02, 0.03), w_qdim=0, bias_dtype="int32", x_quant=True):
    rng = np.random.default_rng(0)
    b = ModelBuilder()
    q = {"scale": 0.05, "zero_point": 1} if x_quant else {}
    x = b.tensor("x", [1, 4, 4, 3], x_dtype, **q)
    w = b.tensor("w", [2, 3, 3, 3], w_dtype, scale=list(w_scales), zero_point=[0] * len(w_scales),
                 quantized_dimension=w_qdim, data=rng.integers(-127, 128, (2, 3, 3, 3)))
    bias = b.tensor("b", [2], bias_dtype, scale=0.001, zero_point=0, data=np.array([5, -5]))
    y = b.tensor("y", list(out_shape), x_dtype, scale=0.1, zero_point=0)
    opts = {"padding": "SAME"}
    opts.update(options or {})
    b.op("CONV_2D", [x, w, bias], [y], opts)
    b.inputs([x])
    b.outputs([y])
    return b.build()


def _binary_model(op, shape1, shape2, out_shape, s_out=0.1, dtype="int8", act="NONE"):
    b = ModelBuilder()
    a = b.tensor("a", shape1, dtype, scale=0.05, zero_point=0)
    c = b.tensor("c", shape2, dtype, scale=0.05, zero_point=0)
    y = b.tensor("y", out_shape, dtype, scale=s_out, zero_point=0)
    b.op(op, [a, c], [y], {"fused_activation_function": act})
    b.inputs([a, c])
    b.outputs([y])
    return b.build()


def _fc_model(x_dtype="int8", w_scale=0.02, weights_format="DEFAULT", bias_scale=None,
              w_shape=(3, 8), out_shape=(1, 3)):
    b = ModelBuilder()
    x = b.tensor("x", [1, 8], x_dtype, scale=0.05, zero_point=0)
    w = b.tensor("w", list(w_shape), "int8", scale=w_scale, zero_point=0,
                 data=np.ones(w_shape, np.int8))
    bias = b.tensor("b", [w_shape[0]], "int32", scale=bias_scale or 0.05 * w_scale, zero_point=0,
                    data=np.zeros(w_shape[0]))
    y = b.tensor("y", list(out_shape), x_dtype, scale=0.1, zero_point=0)
    b.op("FULLY_CONNECTED", [x, w, bias], [y], {"weights_format": weights_format})
    b.inputs([x])
    b.outputs([y])
    return b.build()


def _pool_model(op, s_out=0.05, zp_out=0, options=None, dtype="int8"):
    b = ModelBuilder()
    x = b.tensor("x", [1, 4, 4, 2], dtype, scale=0.05, zero_point=0)
    y = b.tensor("y", [1, 2, 2, 2], dtype, scale=s_out, zero_point=zp_out)
    opts = {"padding": "VALID", "stride_w": 2, "stride_h": 2, "filter_width": 2, "filter_height": 2}
    opts.update(options or {})
    b.op(op, [x], [y], opts)
    b.inputs([x])
    b.outputs([y])
    return b.build()


def _dw_model(dm=1, out_c=3, w_scales=(0.02,), w_qdim=3):
    b = ModelBuilder()
    x = b.tensor("x", [1, 4, 4, 3], "int8", scale=0.05, zero_point=0)
    w = b.tensor("w", [1, 3, 3, out_c], "int8", scale=list(w_scales), zero_point=[0] * len(w_scales),
                 quantized_dimension=w_qdim, data=np.ones((1, 3, 3, out_c)))
    bias = b.tensor("b", [out_c], "int32", scale=0.001, zero_point=0, data=np.zeros(out_c))
    y = b.tensor("y", [1, 4, 4, out_c], "int8", scale=0.1, zero_point=0)
    b.op("DEPTHWISE_CONV_2D", [x, w, bias], [y], {"padding": "SAME", "depth_multiplier": dm})
    b.inputs([x])
    b.outputs([y])
    return b.build()


REFUSALS = {
    "conv_float": (lambda: _conv_model(x_dtype="float32", x_quant=False), "HNN_E_UNSUPPORTED_TYPE"),
    "conv_int16_activations": (lambda: _conv_model(x_dtype="int16"), "HNN_E_UNSUPPORTED_TYPE"),
    "conv_unquantized_input": (lambda: _conv_model(x_quant=False), "HNN_E_QUANT"),
    "conv_bad_output_shape": (lambda: _conv_model(out_shape=(1, 3, 3, 2)), "HNN_E_SHAPE"),
    "conv_stride_zero": (lambda: _conv_model(options={"stride_w": 0}), "HNN_E_SHAPE"),
    "conv_dilation_zero": (lambda: _conv_model(options={"dilation_h_factor": 0}), "HNN_E_SHAPE"),
    "conv_tanh_activation": (lambda: _conv_model(options={"fused_activation_function": "TANH"}),
                             "HNN_E_UNSUPPORTED_OP"),
    "conv_scale_count": (lambda: _conv_model(w_scales=(0.1, 0.2, 0.3)), "HNN_E_QUANT"),
    "conv_scale_axis": (lambda: _conv_model(w_qdim=3), "HNN_E_QUANT"),
    "conv_zero_scale": (lambda: _conv_model(w_scales=(0.0, 0.1)), "HNN_E_QUANT"),
    "conv_int64_bias": (lambda: _conv_model(bias_dtype="int64"), "HNN_E_UNSUPPORTED_TYPE"),
    "conv_filter_too_big": (lambda: _conv_valid_too_small(), "HNN_E_SHAPE"),
    "dw_multiplier_mismatch": (lambda: _dw_model(dm=2), "HNN_E_SHAPE"),
    "dw_scale_axis": (lambda: _dw_model(w_scales=(0.1, 0.2, 0.3), w_qdim=0), "HNN_E_QUANT"),
    "fc_int16": (lambda: _fc_model(x_dtype="int16"), "HNN_E_UNSUPPORTED_TYPE"),
    "fc_shuffled_weights": (lambda: _fc_model(weights_format="SHUFFLED4x16INT8"),
                            "HNN_E_UNSUPPORTED_OP"),
    "fc_bias_scale_mismatch": (lambda: _fc_model(bias_scale=0.5), "HNN_E_QUANT"),
    "fc_depth_mismatch": (lambda: _fc_model(w_shape=(3, 5)), "HNN_E_SHAPE"),
    "fc_units_mismatch": (lambda: _fc_model(out_shape=(1, 4)), "HNN_E_SHAPE"),
    "add_incompatible": (lambda: _binary_model("ADD", [2, 3], [3, 3], [3, 3]), "HNN_E_SHAPE"),
    "add_wrong_output": (lambda: _binary_model("ADD", [2, 3], [1, 3], [2, 1]), "HNN_E_SHAPE"),
    "add_output_scale_tiny": (lambda: _binary_model("ADD", [4], [4], [4], s_out=1e-9), "HNN_E_QUANT"),
    "add_float": (lambda: _binary_model("ADD", [4], [4], [4], dtype="float32"), "HNN_E_UNSUPPORTED_TYPE"),
    "mul_broadcast_5d": (lambda: _binary_model("MUL", [2, 1, 2, 1, 2], [1, 2, 1, 2, 1],
                                               [2, 2, 2, 2, 2]), "HNN_E_SHAPE"),
    "mul_uint8": (lambda: _binary_model("MUL", [4], [4], [4], dtype="uint8"), "HNN_E_UNSUPPORTED_TYPE"),
    "pool_requantizes": (lambda: _pool_model("AVERAGE_POOL_2D", s_out=0.1), "HNN_E_QUANT"),
    "pool_zero_point_changes": (lambda: _pool_model("MAX_POOL_2D", zp_out=3), "HNN_E_QUANT"),
    "pool_zero_filter": (lambda: _pool_model("MAX_POOL_2D", options={"filter_width": 0}), "HNN_E_SHAPE"),
    "pool_int16": (lambda: _pool_model("AVERAGE_POOL_2D", dtype="int16"), "HNN_E_UNSUPPORTED_TYPE"),
}


def _conv_valid_too_small():
    """A 3x3 VALID filter over a 2x2 image."""
    b = ModelBuilder()
    x = b.tensor("x", [1, 2, 2, 1], "int8", scale=0.05, zero_point=0)
    w = b.tensor("w", [1, 3, 3, 1], "int8", scale=0.02, zero_point=0, data=np.ones((1, 3, 3, 1)))
    y = b.tensor("y", [1, 1, 1, 1], "int8", scale=0.1, zero_point=0)
    b.op("CONV_2D", [x, w], [y], {"padding": "VALID"})
    b.inputs([x])
    b.outputs([y])
    return b.build()


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_refuses_at_load(name):
    make, err = REFUSALS[name]
    with pytest.raises(nn.NNError) as e:
        nn.load(make())
    assert e.value.name == err, str(e.value)


def test_refusal_models_are_otherwise_valid():
    """The refusal models differ from an accepted one only in the flaw."""
    nn.load(_conv_model())
    nn.load(_fc_model())
    nn.load(_dw_model())
    nn.load(_binary_model("ADD", [2, 3], [1, 3], [2, 3]))
    nn.load(_binary_model("MUL", [2, 1, 2, 1], [1, 2, 1, 2], [2, 2, 2, 2]))
    nn.load(_pool_model("AVERAGE_POOL_2D"))


# -- the builder ---------------------------------------------------------------------------

def test_builder_rejects_nonsense():
    b = ModelBuilder()
    with pytest.raises(BuilderError):
        b.tensor("x", [2, 2], "int7")
    with pytest.raises(BuilderError):
        b.tensor("w", [2, 2], "int8", data=np.zeros(3))
    x = b.tensor("x", [1], "int8")
    with pytest.raises(BuilderError):
        b.op("NOT_AN_OP", [x], [x])
    with pytest.raises(BuilderError):
        b.op("CONV_2D", [x], [x], {"no_such_field": 1})
    with pytest.raises(BuilderError):
        b.op("CONV_2D", [x], [x], {"padding": "DIAGONAL"})
    with pytest.raises(BuilderError):
        b.op("LOGISTIC", [x], [x], {"beta": 1.0})


def test_builder_round_trips_through_the_schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb
    b = ModelBuilder()
    x = b.tensor("x", [1, 4], "int8", scale=0.5, zero_point=-3)
    w = b.tensor("w", [2, 4], "int8", scale=[0.1, 0.2], zero_point=[0, 0], quantized_dimension=0,
                 data=np.arange(8).reshape(2, 4))
    bias = b.tensor("b", [2], "int32", data=np.array([7, -7]))
    y = b.tensor("y", [1, 2], "int8", scale=0.25, zero_point=1)
    b.op("FULLY_CONNECTED", [x, w, bias], [y], {"fused_activation_function": "RELU6",
                                               "keep_num_dims": True})
    init = b.subgraph()
    v = init.tensor("h", [], "resource")
    init.op("VAR_HANDLE", [], [v], {"shared_name": "state", "container": ""})
    b.op("CALL_ONCE", [], [], {"init_subgraph_index": init.index})
    b.inputs([x])
    b.outputs([y])
    buf = b.build()
    assert buf[4:8] == b"TFL3"
    m = fb.ModelT.InitFromPackedBuf(buf, 0)
    assert m.version == 3 and len(m.subgraphs) == 2 and len(m.buffers[0].data or []) == 0
    sg = m.subgraphs[0]
    op = sg.operators[0]
    assert m.operatorCodes[op.opcodeIndex].builtinCode == fb.BuiltinOperator.FULLY_CONNECTED
    assert op.builtinOptions.fusedActivationFunction == fb.ActivationFunctionType.RELU6
    assert op.builtinOptions.keepNumDims
    assert list(sg.tensors[1].quantization.scale) == pytest.approx([0.1, 0.2])
    wbuf = m.buffers[sg.tensors[1].buffer].data
    assert bytes(wbuf) == bytes(range(8))
    # constant data is 16-byte aligned inside the file
    raw = bytes(range(8))
    assert buf.index(raw) % 16 == 0
    assert sg.operators[1].builtinOptions.initSubgraphIndex == 1
    assert m.subgraphs[1].operators[0].builtinOptions.sharedName == b"state"


# -- golden vectors --------------------------------------------------------------------------

def _golden_names():
    with open(os.path.join(GOLDEN_DIR, "MANIFEST")) as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]


def test_golden_files_are_current():
    """The committed golden vectors are what the generator and TFLM produce
    today, and hearth reproduces them (the C test replays the same files).
    The .tflite bytes themselves are not compared: another flatbuffers
    release may lay the same model out differently."""
    names = _golden_names()
    assert sorted(names) == sorted(golden.GOLDEN_CASES)
    for name in names:
        case = golden.golden_case(name)
        with open(os.path.join(GOLDEN_DIR, name + ".tflite"), "rb") as f:
            committed = f.read()
        with open(os.path.join(GOLDEN_DIR, name + ".input.bin"), "rb") as f:
            assert f.read() == b"".join(x.tobytes() for x in case.inputs), name
        with open(os.path.join(GOLDEN_DIR, name + ".expected.bin"), "rb") as f:
            expected = f.read()
        for buf in (committed, case.buf):
            got = golden.tflm_outputs(buf, case.inputs)
            assert b"".join(y.tobytes() for y in got) == expected, name
        got = nn.load(committed).invoke(*case.inputs)
        assert b"".join(y.tobytes() for y in got) == expected, name
