"""Single-op int8 test models (random or fixed configurations) and the golden
vectors the C unit tests replay without Python.

    from hearth_tools.testing import golden_conv as golden
    case = golden.make_case("CONV_2D", np.random.default_rng(7))
    case.buf, case.inputs, case.params      # .tflite bytes, input arrays, config

    hearth golden conv [--out tests/golden/ops_conv] [--random N]    (python -m hearth_tools.testing.golden_conv is the same)

writes, for each fixed case NAME in GOLDEN_CASES: NAME.tflite, NAME.input.bin
(all inputs' raw bytes, in model input order) and NAME.expected.bin (all
outputs' raw bytes as TFLite Micro computes them), plus a MANIFEST listing
the names. The expected bytes come from the `tflite-micro` wheel (the oracle).
"""
import math
import os
import sys

import numpy as np

from .tflite_builder import ModelBuilder

__all__ = ["Case", "OPS", "ACTIVATIONS", "random_params", "build_case", "make_case",
           "random_seed", "reference_case", "tflm_outputs", "GOLDEN_CASES", "golden_case",
           "write_golden", "write_random"]

ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]
OPS = ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "MUL",
       "AVERAGE_POOL_2D", "MAX_POOL_2D"]

_X_STD = 74.0     # std of uniform int8 data
_W_STD = 73.0


class Case:
    """One single-op model: .buf (tflite bytes), .inputs (int8 arrays), .params."""

    def __init__(self, op, params, buf, inputs):
        self.op = op
        self.params = params
        self.buf = buf
        self.inputs = inputs

    def __repr__(self):
        return "Case(%s, %s)" % (self.op, self.params)


# -- random building blocks ----------------------------------------------------

def _f32(x):
    return float(np.float32(x))


def _log_uniform(rng, lo, hi):
    return _f32(10.0 ** rng.uniform(math.log10(lo), math.log10(hi)))


def _zero_point(rng):
    r = rng.random()
    if r < 0.1:
        return -128
    if r < 0.2:
        return 127
    if r < 0.35:
        return 0
    return int(rng.integers(-128, 128))


def _act(rng):
    return ACTIVATIONS[int(rng.integers(len(ACTIVATIONS)))]


def _padding(rng):
    return "SAME" if rng.random() < 0.5 else "VALID"


def _small_dim(rng, hi):
    return int(rng.integers(1, hi + 1))


def _out_scale(rng, acc_real_std):
    """An output scale putting the typical result at 10..80 steps, now and
    then far smaller (saturating) or larger (collapsing to few levels)."""
    r = rng.random()
    target = rng.uniform(10, 80)
    if r < 0.07:
        target = rng.uniform(300, 3000)
    elif r < 0.14:
        target = rng.uniform(0.5, 3)
    return _f32(max(acc_real_std / target, 1e-9))


def _weights(rng, shape):
    w = rng.integers(-127, 128, shape, dtype=np.int64)
    if rng.random() < 0.2:      # the rare -128 a quantizer can emit
        w.flat[int(rng.integers(w.size))] = -128
    return w.astype(np.int8)


def _window_out(padding, size, k, stride, dil):
    eff = (k - 1) * dil + 1
    if padding == "SAME":
        return (size + stride - 1) // stride
    return (size + stride - eff) // stride if size >= eff else 0


# -- parameters per op -------------------------------------------------------------

def _conv_like_params(rng, depthwise):
    p = {}
    p["n"] = 1 if rng.random() < 0.8 else 2
    p["kh"], p["kw"] = _small_dim(rng, 5), _small_dim(rng, 5)
    p["sh"], p["sw"] = _small_dim(rng, 3), _small_dim(rng, 3)
    p["dh"] = 1 if rng.random() < 0.7 else _small_dim(rng, 3)
    p["dw"] = 1 if rng.random() < 0.7 else _small_dim(rng, 3)
    p["padding"] = _padding(rng)
    eff_h, eff_w = (p["kh"] - 1) * p["dh"] + 1, (p["kw"] - 1) * p["dw"] + 1
    lo_h = eff_h if p["padding"] == "VALID" else 1
    lo_w = eff_w if p["padding"] == "VALID" else 1
    p["h"] = int(rng.integers(lo_h, max(lo_h, 12) + 1))
    p["w"] = int(rng.integers(lo_w, max(lo_w, 12) + 1))
    if depthwise:
        p["ic"] = _small_dim(rng, 16)
        p["dm"] = 1 if rng.random() < 0.6 else _small_dim(rng, 3)
        p["oc"] = p["ic"] * p["dm"]
    else:
        groups = 1 if rng.random() < 0.85 else _small_dim(rng, 3)
        fic = _small_dim(rng, 12)
        p["groups"] = groups
        p["ic"] = fic * groups
        p["oc"] = groups * _small_dim(rng, 12 // groups + 1)
    p["act"] = _act(rng)
    p["per_channel"] = bool(rng.random() < 0.6)
    p["bias"] = bool(rng.random() < 0.85)
    p["absent_bias"] = "minus1" if rng.random() < 0.5 else "omit"
    p["zp_in"], p["zp_out"] = _zero_point(rng), _zero_point(rng)
    p["s_in"] = _log_uniform(rng, 1e-3, 1.0)
    return p


def random_params(op, rng):
    """A random configuration of one op (a plain dict, JSON-friendly)."""
    if op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        return _conv_like_params(rng, op == "DEPTHWISE_CONV_2D")
    if op == "FULLY_CONNECTED":
        p = {"accum": _small_dim(rng, 64), "units": _small_dim(rng, 32)}
        batch_shape = [_small_dim(rng, 3) for _ in range(int(rng.integers(0, 3)))]
        p["batch_shape"] = batch_shape or [1]
        p["keep_num_dims"] = bool(rng.random() < 0.3)
        p["per_channel"] = bool(rng.random() < 0.5)
        p["w_zp"] = 0 if p["per_channel"] or rng.random() < 0.7 else _zero_point(rng)
        p["bias"] = bool(rng.random() < 0.8)
        p["act"] = _act(rng)
        p["zp_in"], p["zp_out"] = _zero_point(rng), _zero_point(rng)
        p["s_in"] = _log_uniform(rng, 1e-3, 1.0)
        return p
    if op in ("ADD", "MUL"):
        rank = int(rng.integers(0, 6 if op == "ADD" else 5))
        out = [_small_dim(rng, 5) for _ in range(rank)]
        shapes = []
        for _ in range(2):
            r = rank if rng.random() < 0.6 else int(rng.integers(0, rank + 1))
            dims = out[rank - r:]
            mode = rng.random()
            if mode < 0.4:
                s = list(dims)
            elif mode < 0.55:
                s = [1] * r
            else:
                s = [d if rng.random() < 0.5 else 1 for d in dims]
            shapes.append(s)
        # the output is the broadcast of the two (numpy rules)
        p = {"shape1": shapes[0], "shape2": shapes[1],
             "out_shape": list(np.broadcast_shapes(tuple(shapes[0]), tuple(shapes[1])))}
        p["act"] = _act(rng)
        p["zp1"], p["zp2"], p["zp_out"] = _zero_point(rng), _zero_point(rng), _zero_point(rng)
        p["s1"] = _log_uniform(rng, 1e-3, 1.0)
        p["s2"] = _f32(p["s1"] * 10.0 ** rng.uniform(-1.5, 1.5))
        return p
    if op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        p = {"n": 1 if rng.random() < 0.8 else 2,
             "kh": _small_dim(rng, 4), "kw": _small_dim(rng, 4),
             "sh": _small_dim(rng, 3), "sw": _small_dim(rng, 3),
             "padding": _padding(rng), "c": _small_dim(rng, 20), "act": _act(rng),
             "zp": _zero_point(rng), "s": _log_uniform(rng, 1e-3, 1.0)}
        lo_h = p["kh"] if p["padding"] == "VALID" else 1
        lo_w = p["kw"] if p["padding"] == "VALID" else 1
        p["h"] = int(rng.integers(lo_h, max(lo_h, 12) + 1))
        p["w"] = int(rng.integers(lo_w, max(lo_w, 12) + 1))
        return p
    raise ValueError("no generator for op %r" % op)


# -- models ------------------------------------------------------------------------

def _conv_like(op, p, rng):
    dw = op == "DEPTHWISE_CONV_2D"
    oh = _window_out(p["padding"], p["h"], p["kh"], p["sh"], p["dh"])
    ow = _window_out(p["padding"], p["w"], p["kw"], p["sw"], p["dw"])
    oc = p["oc"]
    if dw:
        wshape, fic = [1, p["kh"], p["kw"], oc], 1
    else:
        fic = p["ic"] // p.get("groups", 1)
        wshape = [oc, p["kh"], p["kw"], fic]
    taps = p["kh"] * p["kw"] * fic
    nq = oc if p["per_channel"] else 1
    s_w = p.get("s_w") or [_log_uniform(rng, 1e-3, 0.1) for _ in range(nq)]
    acc_std = math.sqrt(taps) * math.hypot(_X_STD, p["zp_in"]) * _W_STD
    s_out = p.get("s_out") or _out_scale(rng, p["s_in"] * float(np.mean(s_w)) * acc_std)
    # draw every array in a fixed order whatever the flags, so a variant of
    # the same configuration (e.g. zero bias instead of none) sees equal data
    x_data = rng.integers(-128, 128, (p["n"], p["h"], p["w"], p["ic"])).astype(np.int8)
    w_data = _weights(rng, wshape)
    bias = rng.normal(0, acc_std * 0.5, oc)
    if rng.random() < 0.1:
        bias = rng.integers(-(1 << 24), 1 << 24, oc)
    bias = np.asarray(bias).astype(np.int64).clip(-2**31, 2**31 - 1)
    if p.get("zero_bias"):
        bias = np.zeros(oc, np.int64)
    b = ModelBuilder()
    x = b.tensor("x", [p["n"], p["h"], p["w"], p["ic"]], "int8", scale=p["s_in"], zero_point=p["zp_in"])
    w = b.tensor("w", wshape, "int8", scale=s_w, zero_point=[0] * nq,
                 quantized_dimension=3 if dw else 0, data=w_data)
    ins = [x, w]
    if p["bias"]:
        ins.append(b.tensor("b", [oc], "int32", scale=[p["s_in"] * s for s in s_w] if nq > 1
                            else p["s_in"] * s_w[0], zero_point=[0] * nq, data=bias))
    elif p.get("absent_bias") == "minus1":
        ins.append(-1)
    y = b.tensor("y", [p["n"], oh, ow, oc], "int8", scale=s_out, zero_point=p["zp_out"])
    opts = {"padding": p["padding"], "stride_w": p["sw"], "stride_h": p["sh"],
            "fused_activation_function": p["act"], "dilation_w_factor": p["dw"],
            "dilation_h_factor": p["dh"]}
    if dw:
        opts["depth_multiplier"] = p["dm"]
    b.op(op, ins, [y], opts)
    b.inputs([x])
    b.outputs([y])
    return b.build(), [x_data]


def _fully_connected(p, rng):
    accum, units = p["accum"], p["units"]
    in_shape = list(p["batch_shape"]) + [accum]
    batches = int(np.prod(p["batch_shape"]))
    out_shape = (list(p["batch_shape"]) + [units]) if p["keep_num_dims"] else [batches, units]
    nq = units if p["per_channel"] else 1
    s_w = p.get("s_w") or [_log_uniform(rng, 1e-3, 0.1) for _ in range(nq)]
    acc_std = math.sqrt(accum) * math.hypot(_X_STD, p["zp_in"]) * math.hypot(_W_STD, p["w_zp"])
    s_out = p.get("s_out") or _out_scale(rng, p["s_in"] * float(np.mean(s_w)) * acc_std)
    b = ModelBuilder()
    x = b.tensor("x", in_shape, "int8", scale=p["s_in"], zero_point=p["zp_in"])
    w = b.tensor("w", [units, accum], "int8", scale=s_w, zero_point=[p["w_zp"]] * nq,
                 quantized_dimension=0, data=_weights(rng, [units, accum]))
    ins = [x, w]
    if p["bias"]:
        bias = rng.normal(0, acc_std * 0.5, units).astype(np.int64)
        # per-tensor: TFLM checks bias scale == input scale * weight scale
        ins.append(b.tensor("b", [units], "int32",
                            scale=[_f32(p["s_in"] * s) for s in s_w] if nq > 1 else p["s_in"] * s_w[0],
                            zero_point=[0] * nq, data=bias))
    elif rng.random() < 0.5:
        ins.append(-1)
    y = b.tensor("y", out_shape, "int8", scale=s_out, zero_point=p["zp_out"])
    b.op("FULLY_CONNECTED", ins, [y], {"fused_activation_function": p["act"],
                                       "keep_num_dims": p["keep_num_dims"]})
    b.inputs([x])
    b.outputs([y])
    return b.build(), [rng.integers(-128, 128, in_shape).astype(np.int8)]


def _elementwise(op, p, rng):
    if op == "ADD":
        real_std = math.hypot(p["s1"], p["s2"]) * _X_STD
    else:
        real_std = p["s1"] * p["s2"] * math.hypot(_X_STD, p["zp1"]) * math.hypot(_X_STD, p["zp2"])
    s_out = p.get("s_out") or _out_scale(rng, real_std)
    b = ModelBuilder()
    a = b.tensor("a", p["shape1"], "int8", scale=p["s1"], zero_point=p["zp1"])
    c = b.tensor("c", p["shape2"], "int8", scale=p["s2"], zero_point=p["zp2"])
    y = b.tensor("y", p["out_shape"], "int8", scale=s_out, zero_point=p["zp_out"])
    b.op(op, [a, c], [y], {"fused_activation_function": p["act"]})
    b.inputs([a, c])
    b.outputs([y])
    return b.build(), [np.asarray(rng.integers(-128, 128, p["shape1"])).astype(np.int8),
                       np.asarray(rng.integers(-128, 128, p["shape2"])).astype(np.int8)]


def _pool(op, p, rng):
    oh = _window_out(p["padding"], p["h"], p["kh"], p["sh"], 1)
    ow = _window_out(p["padding"], p["w"], p["kw"], p["sw"], 1)
    b = ModelBuilder()
    x = b.tensor("x", [p["n"], p["h"], p["w"], p["c"]], "int8", scale=p["s"], zero_point=p["zp"])
    y = b.tensor("y", [p["n"], oh, ow, p["c"]], "int8", scale=p["s"], zero_point=p["zp"])
    b.op(op, [x], [y], {"padding": p["padding"], "stride_w": p["sw"], "stride_h": p["sh"],
                        "filter_width": p["kw"], "filter_height": p["kh"],
                        "fused_activation_function": p["act"]})
    b.inputs([x])
    b.outputs([y])
    return b.build(), [rng.integers(-128, 128, (p["n"], p["h"], p["w"], p["c"])).astype(np.int8)]


def build_case(op, params, rng):
    """Build the model for a configuration; rng draws weights, bias and inputs."""
    if op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        buf, inputs = _conv_like(op, params, rng)
    elif op == "FULLY_CONNECTED":
        buf, inputs = _fully_connected(params, rng)
    elif op in ("ADD", "MUL"):
        buf, inputs = _elementwise(op, params, rng)
    elif op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        buf, inputs = _pool(op, params, rng)
    else:
        raise ValueError("no builder for op %r" % op)
    return Case(op, params, buf, inputs)


def make_case(op, rng, **overrides):
    """A random configuration of op (fields in overrides fixed), built."""
    p = random_params(op, rng)
    p.update(overrides)
    return build_case(op, p, rng)


# -- the oracle and the golden files ----------------------------------------------------

def tflm_outputs(buf, inputs):
    """Outputs of one invoke through TFLite Micro (the `tflite-micro` wheel)."""
    from tflite_micro.python.tflite_micro import runtime
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb
    n_out = fb.Model.GetRootAs(bytes(buf), 0).Subgraphs(0).OutputsLength()
    interp = runtime.Interpreter.from_bytes(bytes(buf), arena_size=max(65536, 10 * len(buf)))
    for i, x in enumerate(inputs):
        interp.set_input(np.require(np.asarray(x), requirements="C"), i)
    interp.invoke()
    return [np.array(interp.get_output(i), copy=True) for i in range(n_out)]


def _conv_fixed(**kw):
    p = {"n": 1, "h": 6, "w": 6, "ic": 4, "oc": 5, "kh": 3, "kw": 3, "sh": 1, "sw": 1,
         "dh": 1, "dw": 1, "groups": 1, "padding": "SAME", "act": "NONE",
         "per_channel": True, "bias": True, "zp_in": -3, "zp_out": 4, "s_in": 0.05}
    p.update(kw)
    return p


def _dw_fixed(**kw):
    p = {"n": 1, "h": 6, "w": 5, "ic": 6, "dm": 1, "kh": 3, "kw": 3, "sh": 1, "sw": 1,
         "dh": 1, "dw": 1, "padding": "SAME", "act": "NONE",
         "per_channel": True, "bias": True, "zp_in": 7, "zp_out": -2, "s_in": 0.03}
    p.update(kw)
    p["oc"] = p["ic"] * p["dm"]
    return p


def _fc_fixed(**kw):
    p = {"accum": 40, "units": 12, "batch_shape": [1], "keep_num_dims": False,
         "per_channel": False, "w_zp": 0, "bias": True, "act": "NONE",
         "zp_in": -10, "zp_out": 3, "s_in": 0.02}
    p.update(kw)
    return p


def _ew_fixed(shape1, shape2, **kw):
    p = {"shape1": shape1, "shape2": shape2,
         "out_shape": list(np.broadcast_shapes(tuple(shape1), tuple(shape2))),
         "act": "NONE", "zp1": -5, "zp2": 9, "zp_out": 1, "s1": 0.04, "s2": 0.07}
    p.update(kw)
    return p


def _pool_fixed(**kw):
    p = {"n": 1, "h": 7, "w": 6, "c": 5, "kh": 3, "kw": 2, "sh": 2, "sw": 2,
         "padding": "SAME", "act": "NONE", "zp": -4, "s": 0.05}
    p.update(kw)
    return p


# name -> (op, params, seed). Small on purpose: each file stays a few KB.
GOLDEN_CASES = {
    "conv_same_pc": ("CONV_2D", _conv_fixed(), 1),
    "conv_valid_stride2_relu": ("CONV_2D", _conv_fixed(h=7, w=8, sh=2, sw=2, padding="VALID",
                                                       act="RELU", per_channel=False), 2),
    "conv_dilated_relu6": ("CONV_2D", _conv_fixed(h=8, w=7, dh=2, dw=2, act="RELU6",
                                                  zp_in=-128, zp_out=127), 3),
    "conv_1x1_nobias": ("CONV_2D", _conv_fixed(kh=1, kw=1, ic=16, oc=8, bias=False,
                                               act="RELU_N1_TO_1"), 4),
    "conv_grouped": ("CONV_2D", _conv_fixed(ic=6, oc=4, groups=2), 5),
    "conv_stream_5x1": ("CONV_2D", _conv_fixed(h=5, w=1, ic=40, oc=16, kh=5, kw=1, sh=3,
                                               padding="VALID", act="RELU"), 6),
    "dw_same_pc": ("DEPTHWISE_CONV_2D", _dw_fixed(), 11),
    "dw_mult2_valid": ("DEPTHWISE_CONV_2D", _dw_fixed(dm=2, ic=3, padding="VALID",
                                                      per_channel=False, act="RELU"), 12),
    "dw_stride_dilation": ("DEPTHWISE_CONV_2D", _dw_fixed(h=9, w=8, sh=2, sw=3, dh=2,
                                                          act="RELU6", bias=False), 13),
    "dw_stream_9x1": ("DEPTHWISE_CONV_2D", _dw_fixed(h=9, w=1, ic=32, kh=9, kw=1,
                                                     padding="VALID"), 14),
    "fc_per_tensor": ("FULLY_CONNECTED", _fc_fixed(), 21),
    "fc_per_channel_relu": ("FULLY_CONNECTED", _fc_fixed(per_channel=True, act="RELU",
                                                         batch_shape=[3]), 22),
    "fc_weight_zp_nobias": ("FULLY_CONNECTED", _fc_fixed(w_zp=5, bias=False, accum=17), 23),
    "fc_keep_dims": ("FULLY_CONNECTED", _fc_fixed(batch_shape=[2, 3], keep_num_dims=True,
                                                  units=7, accum=9), 24),
    "add_same": ("ADD", _ew_fixed([2, 3, 4], [2, 3, 4]), 31),
    "add_bcast_relu": ("ADD", _ew_fixed([1, 4, 1, 3], [2, 1, 5, 3], act="RELU"), 32),
    "add_scalar_relu6": ("ADD", _ew_fixed([3, 7], [], act="RELU6", s1=0.01, s2=0.2), 33),
    "add_5d": ("ADD", _ew_fixed([2, 1, 3, 1, 2], [2, 2, 1, 4, 1]), 34),
    "mul_same": ("MUL", _ew_fixed([4, 5], [4, 5]), 41),
    "mul_bcast_relu_n1": ("MUL", _ew_fixed([2, 3, 1], [1, 3, 4], act="RELU_N1_TO_1",
                                           zp1=-128, zp2=127), 42),
    "mul_channel_scale": ("MUL", _ew_fixed([1, 3, 3, 8], [8]), 43),
    "avgpool_same": ("AVERAGE_POOL_2D", _pool_fixed(), 51),
    "avgpool_valid_relu": ("AVERAGE_POOL_2D", _pool_fixed(padding="VALID", act="RELU", n=2), 52),
    "maxpool_same": ("MAX_POOL_2D", _pool_fixed(kh=2, kw=3, sh=1, sw=2), 53),
    "maxpool_valid_relu6": ("MAX_POOL_2D", _pool_fixed(padding="VALID", act="RELU6", zp=-128), 54),
}


def golden_case(name):
    op, params, seed = GOLDEN_CASES[name]
    rng = np.random.default_rng(seed)
    p = dict(params)
    # fixed configs still draw scales that random_params would have drawn
    if op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
        n = p["oc"] if op != "FULLY_CONNECTED" else p["units"]
        nq = n if p["per_channel"] else 1
        p["s_w"] = [_f32(0.004 + 0.003 * ((i * 7) % 11)) for i in range(nq)]
    return build_case(op, p, rng)


def reference_case(op, seed, case):
    """The model TFLM runs for a random case. TFLM's DEPTHWISE_CONV_2D crashes
    without a bias (depthwise_conv_common.cc deallocates a null tensor), so
    the oracle gets the same configuration with an all-zero bias instead."""
    if op == "DEPTHWISE_CONV_2D" and not case.params["bias"]:
        return make_case(op, np.random.default_rng(seed), bias=True, zero_bias=True)
    return case


def random_seed(op, i):
    """Seed of the i-th random configuration of op (shared by the tests)."""
    return (OPS.index(op) << 16) + i


def _write_cases(out_dir, items, header):
    """items: (name, case, reference case); writes files and MANIFEST."""
    os.makedirs(out_dir, exist_ok=True)
    names = []
    for name, case, ref in items:
        outs = tflm_outputs(ref.buf, ref.inputs)
        with open(os.path.join(out_dir, name + ".tflite"), "wb") as f:
            f.write(case.buf)
        with open(os.path.join(out_dir, name + ".input.bin"), "wb") as f:
            f.write(b"".join(np.asarray(x).tobytes() for x in case.inputs))
        with open(os.path.join(out_dir, name + ".expected.bin"), "wb") as f:
            f.write(b"".join(np.asarray(y).tobytes() for y in outs))
        names.append(name)
    with open(os.path.join(out_dir, "MANIFEST"), "w") as f:
        f.write(header)
        for name in names:
            f.write(name + "\n")
    return names


_HEADER = ("# Golden single-op vectors (conv family). Written by\n"
           "# `python -m hearth_tools.testing.golden_conv`; expected outputs from the tflite-micro wheel.\n"
           "# One case name per line: NAME.tflite, NAME.input.bin (inputs, model order),\n"
           "# NAME.expected.bin (outputs, model order).\n")


def write_golden(out_dir):
    """(Re)write every fixed golden case and the MANIFEST into out_dir."""
    items = []
    for name in sorted(GOLDEN_CASES):
        case = golden_case(name)
        items.append((name, case, case))
    return _write_cases(out_dir, items, _HEADER)


def write_random(out_dir, per_op):
    """per_op random configurations of every op, in the same format (not
    committed: for replaying the C kernels under sanitizers or qemu)."""
    items = []
    for op in OPS:
        for i in range(per_op):
            seed = random_seed(op, i)
            case = make_case(op, np.random.default_rng(seed))
            items.append(("%s_%d" % (op.lower(), i), case, reference_case(op, seed, case)))
    return _write_cases(out_dir, items, "# random conv-family cases\n")


if __name__ == "__main__":
    from ..cli import run_as
    sys.exit(run_as("golden", ["conv"] + sys.argv[1:]))
