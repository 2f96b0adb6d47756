"""Golden vectors for the quantization and shape ops (MEAN, LOGISTIC, SOFTMAX, QUANTIZE,
DEQUANTIZE, STRIDED_SLICE, CONCATENATION, SPLIT_V), in the format of
hearth_tools.testing.golden_conv so native/tests/test_kernels_quant_shape.c replays them
the same way: NAME.tflite, NAME.input.bin (inputs' raw bytes, model order),
NAME.expected.bin (outputs' raw bytes, model order) and a MANIFEST.

    hearth golden quant_shape [--out tests/golden/ops_quant_shape]    (python -m hearth_tools.testing.golden_quant_shape is the same)

Expected bytes come from the `tflite-micro` wheel (golden.tflm_outputs), except
for the STRIDED_SLICE features TFLM does not run (rank 5, ellipsis, new axes,
offset), whose expected bytes are numpy's indexing of the same spec.
"""
import os
import sys

import numpy as np

from . import golden_conv as golden
from .tflite_builder import ModelBuilder

__all__ = ["single_op", "strided_slice_model", "GOLDEN_B_CASES", "golden_b_case", "write_golden_b"]

DEFAULT_DIR = os.path.join("tests", "golden", "ops_quant_shape")


def single_op(op, inputs, outputs, options=None):
    """A one-op model. inputs/outputs: ModelBuilder.tensor kwargs per tensor
    (with `data` for constants); the non-constant inputs become the model's
    inputs, in order."""
    b = ModelBuilder()
    ins, live = [], []
    for k, spec in enumerate(inputs):
        spec = dict(spec)
        spec.setdefault("name", "in%d" % k)
        t = b.tensor(**spec)
        ins.append(t)
        if spec.get("data") is None:
            live.append(t)
    outs = []
    for k, spec in enumerate(outputs):
        spec = dict(spec)
        spec.setdefault("name", "out%d" % k)
        outs.append(b.tensor(**spec))
    b.op(op, ins, outs, options)
    b.inputs(live)
    b.outputs(outs)
    return b.build()


def q(dtype, scale, zp):
    return {"dtype": dtype, "scale": scale, "zero_point": zp}


def strided_slice_model(shape, dtype, begin, end, strides, oshape, options):
    qq = q("int8", 0.1, 3) if dtype == "int8" else {"dtype": dtype}
    return single_op("STRIDED_SLICE",
                     [{"shape": shape, **qq},
                      {"shape": [len(begin)], "dtype": "int32", "data": np.array(begin, np.int32)},
                      {"shape": [len(end)], "dtype": "int32", "data": np.array(end, np.int32)},
                      {"shape": [len(strides)], "dtype": "int32", "data": np.array(strides, np.int32)}],
                     [{"shape": oshape, **qq}], options)


# -- the fixed cases -----------------------------------------------------------

def _ints(rng, shape, dtype):
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, endpoint=True, dtype=np.int64).astype(dtype)


def _quantize(it, ot, shape, iscale, izp, oscale, ozp):
    def build(rng):
        if it == "float32":
            x = (rng.standard_normal(shape) * 60 * oscale).astype(np.float32)
            specials = [0.5 * oscale, -2.5 * oscale, 1e30, -1e30, np.inf, -np.inf, np.nan, 3e9]
            x.reshape(-1)[:len(specials)] = specials
            inp = {"shape": shape, "dtype": "float32"}
        else:
            x = _ints(rng, shape, np.dtype(it))
            if it == "int32":
                x = rng.integers(-70000, 70000, shape).astype(np.int32)
            inp = {"shape": shape, **q(it, iscale, izp)}
        return single_op("QUANTIZE", [inp], [{"shape": shape, **q(ot, oscale, ozp)}]), [x], None
    return build


def _dequantize(it, shape, scale, zp):
    def build(rng):
        return (single_op("DEQUANTIZE", [{"shape": shape, **q(it, scale, zp)}],
                          [{"shape": shape, "dtype": "float32"}]), [_ints(rng, shape, np.dtype(it))], None)
    return build


def _logistic(shape, scale, zp):
    def build(rng):
        x = _ints(rng, shape, np.int8)
        x.reshape(-1)[:min(x.size, 256)] = np.arange(-128, 128)[:min(x.size, 256)]
        return (single_op("LOGISTIC", [{"shape": shape, **q("int8", scale, zp)}],
                          [{"shape": shape, **q("int8", 1 / 256, -128)}]), [x], None)
    return build


def _softmax(shape, scale, zp, beta, out16=False):
    def build(rng):
        oq = q("int16", 1 / 65536, -32768) if out16 else q("int8", 1 / 256, -128)
        return (single_op("SOFTMAX", [{"shape": shape, **q("int8", scale, zp)}], [{"shape": shape, **oq}],
                          {"beta": beta}), [_ints(rng, shape, np.int8)], None)
    return build


def _mean(shape, axes, keep, dtype, iq, oq):
    def build(rng):
        red = {a % len(shape) for a in axes}
        oshape = [1 if d in red else s for d, s in enumerate(shape)] if keep else \
            [s for d, s in enumerate(shape) if d not in red]
        buf = single_op("MEAN", [{"shape": shape, **q(dtype, *iq)},
                                 {"shape": [len(axes)], "dtype": "int32", "data": np.array(axes, np.int32)}],
                        [{"shape": oshape, **q(dtype, *oq)}], {"keep_dims": keep})
        return buf, [_ints(rng, shape, np.dtype(dtype)) // (1 if dtype == "int8" else 8)], None
    return build


def _slice(shape, dtype, begin, end, strides, index, numpy_expected=False, **masks):
    def build(rng):
        x = (_ints(rng, shape, np.dtype(dtype)) if dtype not in ("float32", "bool") else
             rng.standard_normal(shape).astype(np.float32) if dtype == "float32" else
             rng.integers(0, 2, shape).astype(np.bool_))
        want = x[index]
        buf = strided_slice_model(shape, dtype, begin, end, strides, list(want.shape), masks)
        return buf, [x], [want] if numpy_expected else None
    return build


def _concat(shapes, axis, dtype, quant=None):
    def build(rng):
        qq = q(dtype, *quant) if quant else {"dtype": dtype}
        xs = [_ints(rng, s, np.dtype(dtype)) if dtype != "float32" else
              rng.standard_normal(s).astype(np.float32) for s in shapes]
        oshape = list(np.concatenate(xs, axis=axis).shape)
        return (single_op("CONCATENATION", [{"shape": s, **qq} for s in shapes], [{"shape": oshape, **qq}],
                          {"axis": axis}), xs, None)
    return build


def _split_v(shape, sizes, axis, dtype):
    def build(rng):
        qq = q("int8", 0.05, -7) if dtype == "int8" else {"dtype": dtype}
        real = list(sizes)
        if -1 in real:
            real[real.index(-1)] = shape[axis] - (sum(real) + 1)
        outs = []
        for sz in real:
            s = list(shape)
            s[axis] = sz
            outs.append({"shape": s, **qq})
        buf = single_op("SPLIT_V", [{"shape": shape, **qq},
                                    {"shape": [len(sizes)], "dtype": "int32", "data": np.array(sizes, np.int32)},
                                    {"shape": [], "dtype": "int32", "data": np.array(axis, np.int32)}],
                        outs, {"num_splits": len(sizes)})
        return buf, [_ints(rng, shape, np.dtype(dtype))], None
    return build


# name -> (builder(rng) -> (model, inputs, expected or None for TFLM), seed)
GOLDEN_B_CASES = {
    "quantize_f32_i8": (_quantize("float32", "int8", [4, 30], None, None, 0.0625, -3), 1),
    "quantize_f32_i16": (_quantize("float32", "int16", [50], None, None, 0.001, 0), 2),
    "quantize_i8_u8_mww": (_quantize("int8", "uint8", [1, 256], 1 / 256, -128, 1 / 256, 0), 3),
    "quantize_i8_i8": (_quantize("int8", "int8", [3, 40], 0.07, 5, 0.03, -9), 4),
    "quantize_i8_i32": (_quantize("int8", "int32", [60], 0.05, -2, 0.002, 10), 5),
    "quantize_u8_i8": (_quantize("uint8", "int8", [60], 0.02, 128, 0.05, 1), 6),
    "quantize_i16_i8": (_quantize("int16", "int8", [2, 33], 0.001, 0, 0.1, 4), 7),
    "quantize_i32_i16": (_quantize("int32", "int16", [70], 0.01, 0, 0.3, 0), 8),
    "dequantize_i8": (_dequantize("int8", [2, 50], 0.037, -11), 11),
    "dequantize_u8": (_dequantize("uint8", [80], 0.5, 128), 12),
    "dequantize_i16": (_dequantize("int16", [3, 20], 0.0003, 7), 13),
    "logistic_small": (_logistic([200], 0.06, 10), 21),
    "logistic_lut": (_logistic([4, 100], 0.11, -20), 22),
    "logistic_wakeword": (_logistic([1, 1], 0.2, -30), 23),
    "softmax_small": (_softmax([2, 10], 0.1, 3, 1.0), 31),
    "softmax_lut": (_softmax([8, 160], 0.05, -10, 1.0), 32),
    "softmax_beta_out16": (_softmax([3, 25], 0.2, 0, 0.7, out16=True), 33),
    "mean_hw_keep": (_mean([1, 5, 4, 8], [1, 2], True, "int8", (0.05, -3), (0.02, 4)), 41),
    "mean_neg_axes": (_mean([2, 3, 4, 5], [-1, 1], False, "int8", (0.1, 7), (0.1, 7)), 42),
    "mean_time_axis": (_mean([1, 49, 1, 32], [1], False, "int8", (0.08, -128), (0.01, -20)), 43),
    "mean_int16": (_mean([3, 7, 6], [0, 2], True, "int16", (0.01, 0), (0.003, 0)), 44),
    "slice_basic": (_slice([4, 6, 5], "int8", [1, 0, 1], [3, 6, 4], [1, 2, 1],
                           np.s_[1:3, 0:6:2, 1:4]), 51),
    "slice_masks_neg_stride": (_slice([5, 4, 3], "int16", [-1, 3, 0], [0, 0, 3], [-2, -1, 1],
                                      np.s_[::-2, 3:0:-1, :], begin_mask=1, end_mask=1), 52),
    "slice_shrink_float": (_slice([3, 4, 6], "float32", [0, 2, 1], [3, 3, 6], [1, 1, 2],
                                  np.s_[:, 2, 1::2], shrink_axis_mask=2), 53),
    "slice_stream_window": (_slice([1, 49, 40], "int8", [0, 3, 0], [1, 49, 40], [1, 1, 1],
                                   np.s_[:, 3:, :]), 54),
    "slice_5d_ellipsis_newaxis": (_slice([2, 3, 2, 4, 5], "int8", [0, 1, 0, 0], [0, 3, 0, 5], [1, 1, 1, 2],
                                         np.s_[..., 1:3, None, 0:5:2], numpy_expected=True,
                                         ellipsis_mask=1, new_axis_mask=4), 55),
    "slice_offset": (_slice([4, 6], "int32", [1, 2], [2, 3], [1, 1], np.s_[1:3, 2:5],
                            numpy_expected=True, offset=True), 56),
    "concat_neg_axis": (_concat([[2, 3, 4], [2, 3, 1], [2, 3, 5]], -1, "int8", (0.05, 3)), 61),
    "concat_axis0_int16": (_concat([[1, 4], [3, 4], [2, 4], [1, 4]], 0, "int16"), 62),
    "concat_float_mid": (_concat([[2, 1, 3], [2, 4, 3]], 1, "float32"), 63),
    "split_v_remainder": (_split_v([2, 10, 3], [3, -1, 2], 1, "int8"), 71),
    "split_v_neg_axis": (_split_v([4, 6], [1, 5], -1, "int32"), 72),
}


def golden_b_case(name):
    """(model bytes, inputs, expected outputs) of one fixed case."""
    build, seed = GOLDEN_B_CASES[name]
    buf, inputs, expected = build(np.random.default_rng(seed))
    if expected is None:
        expected = golden.tflm_outputs(buf, inputs)
    return buf, inputs, expected


_HEADER = ("# Golden single-op vectors (quantization and shape ops). Written by\n"
           "# `python -m hearth_tools.testing.golden_quant_shape`; expected outputs from the tflite-micro\n"
           "# wheel (numpy for STRIDED_SLICE features TFLM lacks). One case name per line: NAME.tflite,\n"
           "# NAME.input.bin, NAME.expected.bin.\n")


def write_golden_b(out_dir=DEFAULT_DIR):
    """(Re)write every case and the MANIFEST; returns the case names."""
    os.makedirs(out_dir, exist_ok=True)
    names = sorted(GOLDEN_B_CASES)
    for name in names:
        buf, inputs, expected = golden_b_case(name)
        for suffix, data in ((".tflite", buf),
                             (".input.bin", b"".join(np.ascontiguousarray(x).tobytes() for x in inputs)),
                             (".expected.bin", b"".join(np.ascontiguousarray(y).tobytes() for y in expected))):
            with open(os.path.join(out_dir, name + suffix), "wb") as f:
                f.write(data)
    with open(os.path.join(out_dir, "MANIFEST"), "w") as f:
        f.write(_HEADER + "".join(n + "\n" for n in names))
    return names


if __name__ == "__main__":
    from ..cli import run_as
    sys.exit(run_as("golden", ["quant_shape"] + sys.argv[1:]))
