"""Parity of the quantization and shape ops (MEAN, LOGISTIC, SOFTMAX, QUANTIZE, DEQUANTIZE,
STRIDED_SLICE, CONCATENATION, SPLIT_V) with TFLite Micro, byte for byte.

Each op runs random seeded single-op models built with
hearth_tools.testing.tflite_builder through the tflite-micro wheel (the oracle) and
through hearth.nn until 200 informative ones have run (oracle.informative:
at least 8 output values, at least 3 of them different; the others run too
but do not count); every output byte must match (floats: bitwise). What TFLM
cannot run (STRIDED_SLICE beyond rank 4, ellipsis/new-axis masks, `offset`)
is checked against LiteRT, which implements TensorFlow's semantics. Configs
the runtime must refuse are checked to raise NNError with the right name.
"""
import math
import os

import numpy as np
import pytest

from hearth import nn
from hearth_tools.testing.golden_quant_shape import (DEFAULT_DIR, GOLDEN_B_CASES, golden_b_case, single_op,
                                                     strided_slice_model)
from hearth_tools.testing.tflite_builder import numpy_dtype
from oracle import informative, run_tflm

N_CONFIGS = 200                  # informative cases per op (oracle.informative)
CANDIDATES = 10 * N_CONFIGS      # seeds a test may draw to find them

INT_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767),
             "int32": (-2 ** 31, 2 ** 31 - 1)}


# ---------------------------------------------------------------- helpers

def tflm(buf, xs, arena_size=1 << 19):
    return run_tflm(buf, xs, arena_size=arena_size)


def run_hearth(buf, xs):
    return nn.load(buf).invoke(*xs)


def same_bytes(a, b):
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def check_parity(cases, oracle=None, need=None):
    """cases: iterable of (description, model bytes, inputs). Runs each
    through the oracle (TFLM by default) and hearth; collects mismatches.
    Returns the number of cases run; with `need`, draws cases until `need`
    informative ones (oracle.informative) have run and returns that count:
    the others run too but do not count."""
    bad = []
    n = counted = 0
    for desc, buf, xs in cases:
        n += 1
        want = (oracle or tflm)(buf, xs)
        got = run_hearth(buf, xs)
        assert len(want) == len(got), desc
        for k, (w, g) in enumerate(zip(want, got)):
            if not same_bytes(np.asarray(w), g):
                bad.append("%s: output %d differs\n  want %s\n  got  %s"
                           % (desc, k, np.asarray(w).ravel()[:16], g.ravel()[:16]))
                break
        counted += informative(want)
        if need is not None and counted == need:
            break
    assert n >= 1
    assert not bad, "%d/%d configs differ:\n%s" % (len(bad), n, "\n".join(bad[:5]))
    if need is None:
        return n
    assert counted == need, "only %d of %d cases informative" % (counted, n)
    return counted


def rand_data(rng, shape, dtype, lo=None, hi=None):
    dt = numpy_dtype(dtype)
    if dtype == "float32":
        return (rng.standard_normal(shape) * 4).astype(np.float32)
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(np.bool_)
    info = np.iinfo(dt)
    lo = info.min if lo is None else lo
    hi = info.max if hi is None else hi
    return rng.integers(lo, hi, shape, endpoint=True, dtype=np.int64).astype(dt)


def rand_shape(rng, rank, lo=1, hi=6):
    return [int(d) for d in rng.integers(lo, hi, rank, endpoint=True)]


def log_uniform(rng, lo, hi):
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def quant(dtype, scale, zp):
    return {"dtype": dtype, "scale": scale, "zero_point": zp}


def expect_refused(buf, name, xs=None):
    with pytest.raises(nn.NNError) as e:
        m = nn.load(buf)
        if xs is not None:
            m.invoke(*xs)
    assert e.value.name == name, str(e.value)


# ---------------------------------------------------------------- QUANTIZE

# the type pairs TFLM's quantize kernel runs (probed against the wheel)
QUANT_PAIRS = [("float32", "int8"), ("float32", "int16"), ("int8", "int8"), ("int8", "uint8"),
               ("int8", "int16"), ("int8", "int32"), ("uint8", "int8"), ("int16", "int8"),
               ("int16", "int16"), ("int16", "int32"), ("int32", "int8"), ("int32", "int16")]


def _zp(rng, dtype):
    if dtype == "float32":
        return None
    lo, hi = INT_RANGE[dtype]
    if dtype in ("int16", "int32"):
        lo, hi = -300, 300
    return int(rng.integers(lo, hi, endpoint=True))


def quantize_cases(n, seed=1000):
    for i in range(n):
        rng = np.random.default_rng(seed + i)
        it, ot = QUANT_PAIRS[i % len(QUANT_PAIRS)]
        shape = rand_shape(rng, int(rng.integers(1, 4, endpoint=True)), 1, 7)
        izp, ozp = _zp(rng, it), _zp(rng, ot)
        iscale = log_uniform(rng, 1e-3, 1.0)
        # ratios from far below to somewhat above 1, and exact 1 (fast paths)
        ratio = 1.0 if rng.random() < 0.2 else log_uniform(rng, 1e-3, 40.0)
        oscale = iscale / ratio
        if it == "float32":
            oscale = 2.0 ** int(rng.integers(-8, 2)) if rng.random() < 0.3 else log_uniform(rng, 1e-3, 1.0)
            x = (rng.standard_normal(shape) * oscale * rng.choice([10, 100, 1000])).astype(np.float32)
            flat = x.reshape(-1)
            # exact ties, huge values, infinities and NaN (oracle's x86 casts)
            specials = np.array([0.5 * oscale, -1.5 * oscale, 2.5 * oscale, 1e30, -1e30,
                                 np.inf, -np.inf, np.nan, 3e9, -3e9], np.float32)
            k = min(len(flat), int(rng.integers(0, 6)))
            flat[:k] = rng.choice(specials, k)
            inp = {"shape": shape, "dtype": "float32"}
        else:
            x = rand_data(rng, shape, it)
            if it == "int32":
                x = rng.integers(-100000, 100000, shape).astype(np.int32)
            inp = {"shape": shape, **quant(it, iscale, izp)}
        buf = single_op("QUANTIZE", [inp], [{"shape": shape, **quant(ot, oscale, ozp)}])
        yield ("QUANTIZE %s->%s seed %d shape %s" % (it, ot, seed + i, shape), buf, [x])


def test_quantize_parity():
    assert check_parity(quantize_cases(CANDIDATES), need=N_CONFIGS) == N_CONFIGS


def test_quantize_int8_to_uint8_microwakeword():
    # the op that ends the microWakeWord models: same scale, zero point +128
    x = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)
    buf = single_op("QUANTIZE", [{"shape": [1, 256], **quant("int8", 1 / 256, -128)}],
                    [{"shape": [1, 256], **quant("uint8", 1 / 256, 0)}])
    got = run_hearth(buf, [x])[0]
    assert same_bytes(got, tflm(buf, [x])[0])
    assert np.array_equal(got.ravel(), np.arange(256))


def dequantize_cases(n, seed=2000):
    for i in range(n):
        rng = np.random.default_rng(seed + i)
        it = ["int8", "uint8", "int16"][i % 3]
        shape = rand_shape(rng, int(rng.integers(1, 4, endpoint=True)), 1, 7)
        zp = _zp(rng, it)
        scale = log_uniform(rng, 1e-5, 10.0)
        buf = single_op("DEQUANTIZE", [{"shape": shape, **quant(it, scale, zp)}],
                        [{"shape": shape, "dtype": "float32"}])
        yield ("DEQUANTIZE %s seed %d" % (it, seed + i), buf, [rand_data(rng, shape, it)])


def test_dequantize_parity():
    assert check_parity(dequantize_cases(CANDIDATES), need=N_CONFIGS) == N_CONFIGS


# -- which MultiplyByQuantizedMultiplier rounding the wheel was built with

def _srdhm(a, b):
    if a == b == -2 ** 31:
        return 2 ** 31 - 1
    ab = a * b
    v = ab + ((1 << 30) if ab >= 0 else 1 - (1 << 30))
    return int(math.copysign(abs(v) // (1 << 31), v)) if v else 0


def _rdbypot(x, e):
    mask = (1 << e) - 1
    return (x >> e) + (1 if (x & mask) > (mask >> 1) + (1 if x < 0 else 0) else 0)


def mbqm_double(x, m, s):
    return _rdbypot(_srdhm(x * (1 << max(s, 0)), m), max(-s, 0))


def mbqm_single(x, m, s):
    total = 31 - s
    return (x * m + (1 << (total - 1))) >> total


def quantize_multiplier(real):
    q, e = math.frexp(real)
    qf = int(math.floor(q * 2 ** 31 + 0.5))
    if qf == 2 ** 31:
        qf //= 2
        e += 1
    return qf, e


def test_rounding_mode_is_double():
    """int16 -> int16 requantize over every input: the wheel matches the
    double-rounding MultiplyByQuantizedMultiplier, not TFLITE_SINGLE_ROUNDING
    (what nn_config.h's HNN_SINGLE_ROUNDING=0 encodes)."""
    x = np.arange(-32768, 32768, dtype=np.int16)
    differ = 0
    for iscale, oscale in [(0.37, 1.0), (0.0123, 0.7), (1.0, 3.0), (0.3, 0.9)]:
        buf = single_op("QUANTIZE", [{"shape": [x.size], **quant("int16", iscale, 0)}],
                        [{"shape": [x.size], **quant("int16", oscale, 0)}])
        want = tflm(buf, [x], 1 << 21)[0].astype(np.int64)
        m, s = quantize_multiplier(float(np.float32(iscale)) / float(np.float32(oscale)))
        dbl = np.clip([mbqm_double(int(v), m, s) for v in x], -32768, 32767)
        sgl = np.clip([mbqm_single(int(v), m, s) for v in x], -32768, 32767)
        assert np.array_equal(want, dbl)
        differ += int(np.sum(dbl != sgl))
        assert same_bytes(run_hearth(buf, [x])[0], want.astype(np.int16))
    assert differ > 0     # the inputs do tell the two roundings apart


# ---------------------------------------------------------------- LOGISTIC

def logistic_cases(n, seed=3000):
    for i in range(n):
        rng = np.random.default_rng(seed + i)
        rank = int(rng.integers(1, 4, endpoint=True))
        shape = rand_shape(rng, rank, 1, 12 if i % 2 else 4)   # both sides of the LUT size
        scale = log_uniform(rng, 1e-3, 2.0)
        zp = int(rng.integers(-128, 127, endpoint=True))
        buf = single_op("LOGISTIC", [{"shape": shape, **quant("int8", scale, zp)}],
                        [{"shape": shape, **quant("int8", 1 / 256, -128)}])
        yield ("LOGISTIC seed %d shape %s scale %g zp %d" % (seed + i, shape, scale, zp),
               buf, [rand_data(rng, shape, "int8")])


def test_logistic_parity():
    assert check_parity(logistic_cases(CANDIDATES), need=N_CONFIGS) == N_CONFIGS


def test_logistic_every_input_value():
    # all 256 inputs, with and without the lookup table (small tensors skip it)
    x = np.arange(-128, 128, dtype=np.int8)
    for scale, zp in [(0.1, 0), (0.03125, -20), (0.5, 100), (0.0078125, -128), (4.0, 3),
                      (1e-6, 5), (16.0, -1), (100.0, 0)]:
        big = single_op("LOGISTIC", [{"shape": [256], **quant("int8", scale, zp)}],
                        [{"shape": [256], **quant("int8", 1 / 256, -128)}])
        want = tflm(big, [x])[0]
        assert same_bytes(run_hearth(big, [x])[0], want)
        small = single_op("LOGISTIC", [{"shape": [1], **quant("int8", scale, zp)}],
                          [{"shape": [1], **quant("int8", 1 / 256, -128)}])
        m = nn.load(small)
        got = np.array([m.invoke(x[k:k + 1])[0][0] for k in range(256)], np.int8)
        assert same_bytes(got, want)


# ---------------------------------------------------------------- SOFTMAX

def softmax_cases(n, seed=4000):
    for i in range(n):
        rng = np.random.default_rng(seed + i)
        out16 = i % 3 == 2
        rank = int(rng.integers(1, 4, endpoint=True))
        shape = rand_shape(rng, rank, 1, 4)
        # depth < 512: beyond it an int8 output can trip TFLM's exponent check
        shape[-1] = int(rng.choice([1, 2, 3, 10, 40, 200, 511]))
        if rng.random() < 0.2 and rank > 1:
            shape[0] = 8          # >= 512 elements (mostly): the exp-table path
        scale = log_uniform(rng, 5e-3, 1.0)
        beta = float(rng.choice([1.0, 1.0, 0.5, 2.0, log_uniform(rng, 0.05, 4.0)]))
        if beta * scale * 2 ** 26 <= 1:
            beta = 1.0
        zp = int(rng.integers(-128, 127, endpoint=True))
        x = rand_data(rng, shape, "int8")
        if rng.random() < 0.3:    # near-flat rows and ties
            x = (x // 64).astype(np.int8)
        oq = quant("int16", 1 / 65536, -32768) if out16 else quant("int8", 1 / 256, -128)
        buf = single_op("SOFTMAX", [{"shape": shape, **quant("int8", scale, zp)}],
                        [{"shape": shape, **oq}], {"beta": beta})
        yield ("SOFTMAX seed %d shape %s scale %g beta %g out16 %s" % (seed + i, shape, scale, beta, out16),
               buf, [x])


def test_softmax_parity():
    assert check_parity(softmax_cases(CANDIDATES), need=N_CONFIGS) == N_CONFIGS


def test_softmax_extreme_scaling():
    # beta * scale * 2^26 clamped at 2^31 - 1 (only the max survives) and
    # barely above 1 (the smallest TFLM accepts), with and without the table
    cases = []
    rng = np.random.default_rng(11)
    for scale, beta in [(100.0, 1.0), (40.0, 2.0), (2.0 ** -25, 1.0), (3e-8, 1.0), (1.0, 1e-7)]:
        for shape in ([2, 30], [4, 100]):
            buf = single_op("SOFTMAX", [{"shape": shape, **quant("int8", scale, 0)}],
                            [{"shape": shape, **quant("int8", 1 / 256, -128)}], {"beta": beta})
            cases.append(("SOFTMAX scale %g beta %g %s" % (scale, beta, shape), buf,
                          [rand_data(rng, shape, "int8")]))
    assert check_parity(cases) == 10


# ---------------------------------------------------------------- MEAN

def mean_cases(n, seed=5000, max_axes=2, max_rank=5):
    for i in range(n):
        rng = np.random.default_rng(seed + i)
        dtype = "int16" if i % 4 == 3 else "int8"
        rank = int(rng.integers(1, max_rank, endpoint=True))
        shape = rand_shape(rng, rank, 1, 6)
        if rank == 4 and rng.random() < 0.3:
            shape = [1, int(rng.integers(2, 50)), int(rng.integers(1, 5)), int(rng.integers(1, 40))]
        k = int(rng.integers(1, min(rank, max_axes), endpoint=True))
        axes = [int(a) for a in rng.choice(rank, k, replace=False)]
        axes = [a - rank if rng.random() < 0.3 else a for a in axes]
        if axes and rng.random() < 0.15:
            axes.append(axes[0] - rank if axes[0] >= 0 else axes[0] + rank)   # duplicate
        red = {a % rank for a in axes}
        keep = bool(rng.integers(0, 2))
        oshape = [1 if d in red else s for d, s in enumerate(shape)] if keep else \
            [s for d, s in enumerate(shape) if d not in red]
        lo, hi = (-128, 127) if dtype == "int8" else (-2000, 2000)
        iq = quant(dtype, log_uniform(rng, 1e-3, 1.0), int(rng.integers(lo, hi, endpoint=True)))
        oq = dict(iq) if rng.random() < 0.25 else \
            quant(dtype, iq["scale"] * log_uniform(rng, 0.05, 20.0), int(rng.integers(lo, hi, endpoint=True)))
        buf = single_op("MEAN", [{"shape": shape, **iq},
                                 {"shape": [len(axes)], "dtype": "int32", "data": np.array(axes, np.int32)}],
                        [{"shape": oshape, **oq}], {"keep_dims": keep})
        x = rand_data(rng, shape, dtype, *((None, None) if dtype == "int8" else (-3000, 3000)))
        yield ("MEAN %s seed %d shape %s axes %s keep %s" % (dtype, seed + i, shape, axes, keep), buf, [x])


def test_mean_parity():
    assert check_parity(mean_cases(CANDIDATES), need=N_CONFIGS) == N_CONFIGS


def test_mean_scalar_input():
    # TFLM ignores the axes of a scalar input (ResolveAxis returns early)
    buf = single_op("MEAN", [{"shape": [], **quant("int8", 0.1, 3)},
                             {"shape": [1], "dtype": "int32", "data": np.array([0], np.int32)}],
                    [{"shape": [], **quant("int8", 0.05, -2)}], {"keep_dims": False})
    cases = [("MEAN scalar %d" % v, buf, [np.array(v, np.int8)]) for v in (-128, -1, 0, 17, 127)]
    assert check_parity(cases) == 5


def _mean_reference(x, axes, iscale, izp, oscale, ozp):
    """reduce_common.cc's QuantizedMeanOrSum in Python: a second oracle for
    MEAN where TFLM's kernel is at the edge of its fixed-size buffers (3+
    distinct axes, rank 6), itself checked equal to TFLM there."""
    nd = x.ndim
    red = tuple(sorted({a % nd for a in axes}))
    s = x.astype(np.int64).sum(axis=red) if red else x.astype(np.int64)
    n = int(np.prod([x.shape[a] for a in red])) if red else 1
    m, sh = quantize_multiplier(float(np.float32(iscale)) / float(np.float32(oscale)))
    k = min(n.bit_length() - 1, 32, 31 + sh)
    m, sh = (m << k) // n, sh - k
    lo, hi = INT_RANGE[x.dtype.name]
    out = [min(max(mbqm_double(((int(v) - izp * n + 2 ** 31) % 2 ** 32) - 2 ** 31, m, sh) + ozp, lo), hi)
           for v in np.ravel(s)]
    return np.array(out, x.dtype).reshape(s.shape)


def mean_many_axes_cases(seed=77):
    """3..6 distinct axes over rank 3..6; yields (description, model, inputs,
    the reference arithmetic's output)."""
    rng = np.random.default_rng(seed)
    while True:
        rank = int(rng.integers(3, 6, endpoint=True))
        shape = rand_shape(rng, rank, 1, 4)
        axes = [int(a) for a in rng.choice(rank, int(rng.integers(3, rank, endpoint=True)), replace=False)]
        iscale, oscale = log_uniform(rng, 1e-2, 1.0), log_uniform(rng, 1e-2, 1.0)
        izp, ozp = int(rng.integers(-50, 50)), int(rng.integers(-50, 50))
        oshape = [s for d, s in enumerate(shape) if d not in axes]
        buf = single_op("MEAN", [{"shape": shape, **quant("int8", iscale, izp)},
                                 {"shape": [len(axes)], "dtype": "int32", "data": np.array(axes, np.int32)}],
                        [{"shape": oshape, **quant("int8", oscale, ozp)}], {"keep_dims": False})
        x = rand_data(rng, shape, "int8")
        yield ("MEAN seed %d shape %s axes %s" % (seed, shape, axes), buf, [x],
               _mean_reference(x, axes, iscale, izp, oscale, ozp))


def test_mean_many_axes_and_rank6():
    """TFLM (the wheel) runs every one of these cases; hearth must equal it,
    and so must the reference arithmetic. Counted as in check_parity: most
    draws reduce everything to one value, which runs but does not count."""
    counted = n = 0
    for desc, buf, xs, ref in mean_many_axes_cases():
        n += 1
        want = tflm(buf, xs)
        assert same_bytes(ref, want[0]), "reference != TFLM: " + desc
        assert same_bytes(run_hearth(buf, xs)[0], want[0]), desc
        counted += informative(want)
        if counted == 40 or n == 40 * 20:
            break
    assert counted == 40, "only %d of %d cases informative" % (counted, n)


# ---------------------------------------------------------------- STRIDED_SLICE

def _slice_spec(rng, dim):
    """One index entry: (begin, end, stride, begin_mask, end_mask, shrink)
    and the numpy index meaning the same (TF and numpy clamp alike)."""
    if rng.random() < 0.12:
        b = int(rng.integers(-dim, dim))
        return (b, b + 1, 1, 0, 0, 1), b
    s = int(rng.choice([1, 1, 1, 2, 3, -1, -2]))
    b = int(rng.integers(-dim - 2, dim + 2, endpoint=True))
    e = int(rng.integers(-dim - 2, dim + 2, endpoint=True))
    bm, em = int(rng.random() < 0.2), int(rng.random() < 0.2)
    return (b, e, s, bm, em, 0), slice(None if bm else b, None if em else e, s)


class _Spec:
    def __init__(self):
        self.begin, self.end, self.strides, self.index = [], [], [], []
        self.masks = {"begin_mask": 0, "end_mask": 0, "shrink_axis_mask": 0,
                      "ellipsis_mask": 0, "new_axis_mask": 0}

    def add(self, b, e, s, index, **bits):
        k = len(self.begin)
        self.begin.append(b), self.end.append(e), self.strides.append(s)
        self.index.append(index)
        for name, on in bits.items():
            self.masks[name] |= int(on) << k


def strided_slice_cases(n, seed=6000, types=("int8", "int16", "int32", "float32", "bool")):
    """What TFLM runs: rank <= 4, one entry per dim, begin/end/shrink masks."""
    for i in range(n):
        rng = np.random.default_rng(seed + i)
        dtype = types[i % len(types)]
        shape = rand_shape(rng, int(rng.integers(1, 4, endpoint=True)), 1, 7)
        x = rand_data(rng, shape, dtype)
        sp = _Spec()
        for dim in shape:
            while True:        # TFLM takes an empty output for a dynamic one
                (b, e, s, bm, em, sh), index = _slice_spec(rng, dim)
                if sh or len(range(dim)[index]):
                    break
            sp.add(b, e, s, index, begin_mask=bm, end_mask=em, shrink_axis_mask=sh)
        oshape = list(x[tuple(sp.index)].shape)
        buf = strided_slice_model(shape, dtype, sp.begin, sp.end, sp.strides, oshape, sp.masks)
        yield ("STRIDED_SLICE %s seed %d shape %s b %s e %s s %s %s"
               % (dtype, seed + i, shape, sp.begin, sp.end, sp.strides, sp.masks), buf, [x])


def test_strided_slice_parity():
    assert check_parity(strided_slice_cases(CANDIDATES), need=N_CONFIGS) == N_CONFIGS


def run_litert(buf, xs):
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_content=bytes(buf))
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), xs):
        it.set_tensor(d["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def strided_slice_tf_cases(n, seed=6500):
    """Rank 5-6, ellipsis, new axes, short specs and offset: what TFLM does
    not run, checked against LiteRT (and numpy's meaning of the spec)."""
    for i in range(n):
        rng = np.random.default_rng(seed + i)
        dtype = ["int8", "uint8", "int64", "float32", "int16"][i % 5]
        rank = int(rng.integers(1, 6, endpoint=True))
        shape = rand_shape(rng, rank, 1, 5)
        x = rand_data(rng, shape, dtype)
        # LiteRT 2.3 crashes on `offset` with a short spec or new axes
        offset = rng.random() < 0.25
        use_ell = not offset and rng.random() < 0.5
        n_spec = rank if offset else int(rng.integers(0 if use_ell else 1, rank, endpoint=True))
        at = int(rng.integers(0, n_spec, endpoint=True)) if use_ell else n_spec
        dims = list(range(at)) + list(range(rank - (n_spec - at), rank))
        entries = [("dim", d) for d in dims]
        if use_ell:
            entries.insert(at, ("ell", 0))
        if rank < 6 and not offset and rng.random() < 0.4:
            for _ in range(int(rng.integers(1, 6 - rank, endpoint=True))):
                entries.insert(int(rng.integers(0, len(entries), endpoint=True)), ("new", 0))
        sp = _Spec()
        for kind, d in entries:
            if kind == "ell":
                sp.add(0, 0, 1, Ellipsis, ellipsis_mask=1)
            elif kind == "new":
                sp.add(0, 0, 1, None, new_axis_mask=1)
            elif offset:
                b = int(rng.integers(0, shape[d]))
                size = int(rng.integers(1, shape[d] - b, endpoint=True))
                sp.add(b, size, 1, slice(b, b + size, 1))
            else:
                while True:    # empty outputs: see test_strided_slice_empty
                    (b, e, s, bm, em, sh), index = _slice_spec(rng, shape[d])
                    if sh or len(range(shape[d])[index]):
                        break
                sp.add(b, e, s, index, begin_mask=bm, end_mask=em, shrink_axis_mask=sh)
        want = x[tuple(sp.index)]
        buf = strided_slice_model(shape, dtype, sp.begin, sp.end, sp.strides, list(want.shape),
                                  dict(sp.masks, offset=offset))
        # LiteRT 2.3 mis-expands an ellipsis that stands for no dims at all
        litert_ok = not use_ell or n_spec < rank
        yield ("STRIDED_SLICE(tf) %s seed %d shape %s b %s e %s s %s %s offset %s"
               % (dtype, seed + i, shape, sp.begin, sp.end, sp.strides, sp.masks, offset),
               buf, [x], want, litert_ok)


def test_strided_slice_tf_semantics():
    """hearth = numpy's meaning of the spec (TF semantics) everywhere, and
    = LiteRT wherever LiteRT gets it right too."""
    n_litert = counted = 0
    for desc, buf, xs, want, litert_ok in strided_slice_tf_cases(CANDIDATES):
        got = run_hearth(buf, xs)[0]
        assert same_bytes(got, want), desc
        if litert_ok:
            assert same_bytes(run_litert(buf, xs)[0], want), desc
        if informative([want]):
            counted += 1
            n_litert += litert_ok
            if counted == N_CONFIGS:
                break
    assert counted == N_CONFIGS and n_litert >= 150, (counted, n_litert)


def test_strided_slice_empty_and_every_type():
    # empty slices (neither oracle takes a zero-size output) and the element
    # sizes 1/2/4/8 against numpy
    rng = np.random.default_rng(5)
    for dtype in ["int8", "uint8", "bool", "int16", "int32", "float32", "int64"]:
        x = rand_data(rng, [3, 4, 5], dtype)
        for index, spec in [((slice(2, 2), slice(None), slice(None)), ([2, 0, 0], [2, 4, 5], [1, 1, 1])),
                            ((slice(None), slice(3, 0, -2), slice(4, 0, -3)), ([0, 3, 4], [3, 0, 0], [1, -2, -3])),
                            ((slice(None), slice(None), slice(1, 5, 2)), ([0, 0, 1], [3, 4, 5], [1, 1, 2]))]:
            want = x[index]
            buf = strided_slice_model([3, 4, 5], dtype, *spec, list(want.shape), {})
            assert same_bytes(run_hearth(buf, [x])[0], want), (dtype, index)


# ---------------------------------------------------------------- CONCATENATION

def concat_cases(n, seed=7000, types=("int8", "int16", "int32", "float32", "int64", "bool")):
    for i in range(n):
        rng = np.random.default_rng(seed + i)
        dtype = types[i % len(types)]
        rank = int(rng.integers(1, 6, endpoint=True))
        shape = rand_shape(rng, rank, 1, 5)
        axis = int(rng.integers(-rank, rank))
        k = int(rng.integers(1, 10, endpoint=True))
        q = quant("int8", log_uniform(rng, 1e-3, 1), int(rng.integers(-128, 127))) \
            if dtype == "int8" else {"dtype": dtype}
        ins, xs = [], []
        for j in range(k):
            s = list(shape)
            s[axis] = int(rng.integers(1, 4, endpoint=True))
            ins.append({"shape": s, **q})
            xs.append(rand_data(rng, s, dtype))
        oshape = list(shape)
        oshape[axis] = sum(t["shape"][axis] for t in ins)
        buf = single_op("CONCATENATION", ins, [{"shape": oshape, **q}], {"axis": axis})
        yield ("CONCATENATION %s seed %d shape %s axis %d inputs %d" % (dtype, seed + i, shape, axis, k), buf, xs)


def test_concatenation_parity():
    assert check_parity(concat_cases(CANDIDATES), need=N_CONFIGS) == N_CONFIGS


def test_concatenation_empty_input():
    # a zero-length input contributes nothing (TFLM agrees)
    q = quant("int8", 0.1, 2)
    buf = single_op("CONCATENATION", [{"shape": [2, 0, 3], **q}, {"shape": [2, 4, 3], **q}],
                    [{"shape": [2, 4, 3], **q}], {"axis": 1})
    x = [np.zeros([2, 0, 3], np.int8), rand_data(np.random.default_rng(3), [2, 4, 3], "int8")]
    assert check_parity([("CONCATENATION empty input", buf, x)]) == 1


# ---------------------------------------------------------------- SPLIT_V

def split_v_cases(n, seed=8000, types=("int8", "int16", "int32", "float32")):
    for i in range(n):
        rng = np.random.default_rng(seed + i)
        dtype = types[i % len(types)]
        rank = int(rng.integers(1, 5, endpoint=True))
        shape = rand_shape(rng, rank, 1, 6)
        axis = int(rng.integers(-rank, rank))
        k = int(rng.integers(1, 6, endpoint=True))
        shape[axis] = int(rng.integers(k, 3 * k, endpoint=True))
        cuts = np.sort(rng.choice(np.arange(1, shape[axis]), k - 1, replace=False)) if k > 1 else []
        sizes = np.diff(np.concatenate([[0], cuts, [shape[axis]]])).astype(int).tolist()
        split_arg = list(sizes)
        if rng.random() < 0.4:
            split_arg[int(rng.integers(0, k))] = -1
        sdt = "int64" if rng.random() < 0.2 else "int32"
        q = quant("int8", 0.05, -7) if dtype == "int8" else {"dtype": dtype}
        outs = []
        for sz in sizes:
            s = list(shape)
            s[axis] = sz
            outs.append({"shape": s, **q})
        buf = single_op("SPLIT_V", [{"shape": shape, **q},
                                    {"shape": [k], "dtype": sdt, "data": np.array(split_arg)},
                                    {"shape": [], "dtype": "int32", "data": np.array(axis, np.int32)}],
                        outs, {"num_splits": k})
        yield ("SPLIT_V %s seed %d shape %s axis %d sizes %s" % (dtype, seed + i, shape, axis, split_arg),
               buf, [rand_data(rng, shape, dtype)])


def test_split_v_parity():
    assert check_parity(split_v_cases(CANDIDATES), need=N_CONFIGS) == N_CONFIGS


# ---------------------------------------------------------------- refusals

def _q8(shape, scale=0.1, zp=0):
    return {"shape": shape, **quant("int8", scale, zp)}


def _ax(vals):
    return {"shape": [len(vals)], "dtype": "int32", "data": np.array(vals, np.int32)}


REFUSALS = [
    ("QUANTIZE float32->uint8", "HNN_E_UNSUPPORTED_TYPE",
     lambda: single_op("QUANTIZE", [{"shape": [4], "dtype": "float32"}], [{"shape": [4], **quant("uint8", 0.1, 0)}])),
    ("QUANTIZE per-channel output", "HNN_E_QUANT",
     lambda: single_op("QUANTIZE", [{"shape": [2], "dtype": "float32"}],
                       [{"shape": [2], "dtype": "int8", "scale": [0.1, 0.2], "zero_point": [0, 0]}])),
    ("QUANTIZE size mismatch", "HNN_E_SHAPE",
     lambda: single_op("QUANTIZE", [_q8([4])], [{"shape": [5], **quant("int16", 0.1, 0)}])),
    ("DEQUANTIZE float input", "HNN_E_UNSUPPORTED_TYPE",
     lambda: single_op("DEQUANTIZE", [{"shape": [4], "dtype": "float32"}], [{"shape": [4], "dtype": "float32"}])),
    ("LOGISTIC output zero point", "HNN_E_QUANT",
     lambda: single_op("LOGISTIC", [_q8([4])], [_q8([4], 1 / 256, 0)])),
    ("LOGISTIC int16", "HNN_E_UNSUPPORTED_TYPE",
     lambda: single_op("LOGISTIC", [{"shape": [4], **quant("int16", 1 / 4096, 0)}],
                       [{"shape": [4], **quant("int16", 1 / 32768, 0)}])),
    ("SOFTMAX output scale", "HNN_E_QUANT",
     lambda: single_op("SOFTMAX", [_q8([1, 4])], [_q8([1, 4], 1 / 128, -128)], {"beta": 1.0})),
    ("SOFTMAX beta 0", "HNN_E_QUANT",
     lambda: single_op("SOFTMAX", [_q8([1, 4])], [_q8([1, 4], 1 / 256, -128)], {"beta": 0.0})),
    ("SOFTMAX int16 input", "HNN_E_UNSUPPORTED_TYPE",
     lambda: single_op("SOFTMAX", [{"shape": [1, 4], **quant("int16", 1 / 4096, 0)}],
                       [{"shape": [1, 4], **quant("int16", 1 / 32768, 0)}], {"beta": 1.0})),
    ("SOFTMAX depth 4096", "HNN_E_LIMIT",
     lambda: single_op("SOFTMAX", [_q8([1, 4096])], [_q8([1, 4096], 1 / 256, -128)], {"beta": 1.0})),
    ("MEAN uint8", "HNN_E_UNSUPPORTED_TYPE",
     lambda: single_op("MEAN", [{"shape": [2, 3], **quant("uint8", 0.1, 0)}, _ax([1])],
                       [{"shape": [2], **quant("uint8", 0.1, 0)}])),
    ("MEAN axis out of range", "HNN_E_SHAPE",
     lambda: single_op("MEAN", [_q8([2, 3]), _ax([2])], [_q8([2])])),
    ("MEAN wrong output size", "HNN_E_SHAPE",
     lambda: single_op("MEAN", [_q8([2, 3]), _ax([1])], [_q8([3])])),
    ("MEAN variable axis", "HNN_E_UNSUPPORTED_OP",
     lambda: single_op("MEAN", [_q8([2, 3]), {"shape": [1], "dtype": "int32"}], [_q8([2])])),
    ("STRIDED_SLICE zero stride", "HNN_E_SHAPE",
     lambda: strided_slice_model([4], "int8", [0], [4], [0], [4], {})),
    ("STRIDED_SLICE wrong output shape", "HNN_E_SHAPE",
     lambda: strided_slice_model([4, 3], "int8", [0, 0], [4, 3], [1, 1], [4, 2], {})),
    ("STRIDED_SLICE shrink out of range", "HNN_E_SHAPE",
     lambda: strided_slice_model([3, 4], "int8", [0, 4], [3, 5], [1, 1], [3], {"shrink_axis_mask": 2})),
    ("STRIDED_SLICE two ellipses", "HNN_E_SHAPE",
     lambda: strided_slice_model([3, 4], "int8", [0, 0], [3, 4], [1, 1], [3, 4], {"ellipsis_mask": 3})),
    ("STRIDED_SLICE variable begin", "HNN_E_UNSUPPORTED_OP",
     lambda: single_op("STRIDED_SLICE", [_q8([4]), {"shape": [1], "dtype": "int32"}, _ax([4]), _ax([1])],
                       [_q8([4])])),
    ("CONCATENATION fused RELU", "HNN_E_UNSUPPORTED_OP",
     lambda: single_op("CONCATENATION", [_q8([2]), _q8([2])], [_q8([4])],
                       {"axis": 0, "fused_activation_function": "RELU"})),
    ("CONCATENATION mixed quantization", "HNN_E_QUANT",
     lambda: single_op("CONCATENATION", [_q8([2]), _q8([2], 0.2)], [_q8([4])], {"axis": 0})),
    ("CONCATENATION dims off axis", "HNN_E_SHAPE",
     lambda: single_op("CONCATENATION", [_q8([2, 3]), _q8([2, 4])], [_q8([4, 3])], {"axis": 0})),
    ("CONCATENATION sizes do not add up", "HNN_E_SHAPE",
     lambda: single_op("CONCATENATION", [_q8([2, 3]), _q8([2, 3])], [_q8([5, 3])], {"axis": 0})),
    ("SPLIT_V two -1", "HNN_E_SHAPE",
     lambda: single_op("SPLIT_V", [_q8([4]), _ax([-1, -1]), {"shape": [], "dtype": "int32", "data": np.array(0)}],
                       [_q8([2]), _q8([2])])),
    ("SPLIT_V sizes vs outputs", "HNN_E_SHAPE",
     lambda: single_op("SPLIT_V", [_q8([4]), _ax([1, 3]), {"shape": [], "dtype": "int32", "data": np.array(0)}],
                       [_q8([2]), _q8([2])])),
    ("SPLIT_V variable axis", "HNN_E_UNSUPPORTED_OP",
     lambda: single_op("SPLIT_V", [_q8([4]), _ax([2, 2]), {"shape": [], "dtype": "int32"}],
                       [_q8([2]), _q8([2])])),
]


@pytest.mark.parametrize("desc,name,build", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusals(desc, name, build):
    expect_refused(build(), name)


# ---------------------------------------------------------------- golden files

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


@pytest.mark.parametrize("name", sorted(GOLDEN_B_CASES))
def test_golden_b_files_current(name):
    """tests/golden/ops_quant_shape (what native/tests/test_kernels_quant_shape.c replays) is
    what `python -m hearth_tools.testing.golden_quant_shape` writes today, and hearth matches it."""
    buf, inputs, expected = golden_b_case(name)
    d = os.path.join(ROOT, DEFAULT_DIR)
    with open(os.path.join(d, "MANIFEST")) as f:
        assert name in f.read().split()
    for suffix, data in ((".tflite", buf),
                         (".input.bin", b"".join(np.ascontiguousarray(x).tobytes() for x in inputs)),
                         (".expected.bin", b"".join(np.ascontiguousarray(y).tobytes() for y in expected))):
        with open(os.path.join(d, name + suffix), "rb") as f:
            assert f.read() == data, ("%s%s is stale: run python -m hearth_tools.testing.golden_quant_shape"
                                      % (name, suffix))
    got = run_hearth(buf, inputs)
    assert all(same_bytes(g, np.asarray(w)) for g, w in zip(got, expected))
