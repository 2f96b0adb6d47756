/*
 * quantize.c - QUANTIZE and DEQUANTIZE, bit-exact with TFLite Micro's
 * quantize_common.cc / dequantize_common.cc and the reference AffineQuantize,
 * Requantize and Dequantize.
 *
 * QUANTIZE accepts exactly the type pairs the tflite-micro runtime accepts
 * (table below); everything else is refused at load time by name.
 *
 * Speed: an 8-bit -> 8-bit requantize of a large tensor is a 256-entry
 * table built at prepare (the same arithmetic, once per input value); the
 * multiplier 1.0 (e.g. int8 -> uint8 with zero points 128 apart, the end of
 * the microWakeWord models) is an add-and-clamp; other pairs run typed loops.
 */
#include "../kernel.h"
#include "../quant.h"
#include "arith.h"
#include "operands.h"
#include <math.h>
#include <string.h>

/* 8-bit -> 8-bit tensors at least this large get the lookup table */
#define QUANTIZE_LUT_MIN 256

/* Pairs TFLM's PrepareQuantizeReference/EvalQuantizeReference run. */
static const struct {
    int32_t in, out;
} q_pairs[] = {
    {HNN_FLOAT32, HNN_INT8}, {HNN_FLOAT32, HNN_INT16},
    {HNN_INT8, HNN_INT8},    {HNN_INT8, HNN_UINT8},
    {HNN_INT8, HNN_INT16},   {HNN_INT8, HNN_INT32},
    {HNN_UINT8, HNN_INT8},
    {HNN_INT16, HNN_INT8},   {HNN_INT16, HNN_INT16}, {HNN_INT16, HNN_INT32},
    {HNN_INT32, HNN_INT8},   {HNN_INT32, HNN_INT16},
};

typedef struct {
    int32_t n;            /* elements */
    int32_t mult;         /* requantize multiplier (Q31) */
    int32_t izp, ozp;
    float scale;          /* output scale (float input) */
    int8_t shift;
    int8_t in_type, out_type;
    uint8_t identity;     /* multiplier is exactly 1.0: add and clamp only */
    uint8_t has_lut;
    uint8_t lut[];        /* [256] output bytes by input byte, when has_lut */
} q_data;

static int32_t type_min(int t)
{
    switch (t) {
    case HNN_INT8: return -128;
    case HNN_UINT8: return 0;
    case HNN_INT16: return -32768;
    default: return INT32_MIN;
    }
}

static int32_t type_max(int t)
{
    switch (t) {
    case HNN_INT8: return 127;
    case HNN_UINT8: return 255;
    case HNN_INT16: return 32767;
    default: return INT32_MAX;
    }
}

/* TFLM's Requantize for one value: clamp(MBQM(v - zp_in) + zp_out) */
static int32_t requant_one(const q_data *d, int32_t v)
{
    const int32_t lo = type_min(d->out_type), hi = type_max(d->out_type);
    int32_t in = hnn_sub_wrap(v, d->izp);   /* wraps like the oracle */
    int32_t r = d->identity ? in : hnn_mbqm(in, d->mult, d->shift);
    int64_t w = (int64_t)r + d->ozp;
    return (int32_t)(w < lo ? lo : w > hi ? hi : w);
}


static int q_prepare(hnn_ctx *c)
{
    hnn_tinfo in, out;
    int rc;
    HNN_CHECK(c, c->n_in == 1 && c->n_out == 1, HNN_E_GRAPH, "QUANTIZE takes 1 input, 1 output");
    if ((rc = hnn_in_info(c, 0, &in)) < 0 || (rc = hnn_out_info(c, 0, &out)) < 0)
        return rc;
    int ok = 0;
    for (size_t i = 0; i < sizeof q_pairs / sizeof q_pairs[0]; i++)
        ok |= q_pairs[i].in == in.type && q_pairs[i].out == out.type;
    HNN_CHECK(c, ok, HNN_E_UNSUPPORTED_TYPE, "QUANTIZE: input/output type pair not supported");
    HNN_CHECK(c, in.elems == out.elems, HNN_E_SHAPE, "QUANTIZE: input and output sizes differ");
    /* TFLM: per-layer affine quantization of the output only */
    HNN_CHECK(c, out.nq == 1 && hnn_scale_ok(out.scale), HNN_E_QUANT,
              "QUANTIZE: output needs one positive scale");
    q_data d;
    memset(&d, 0, sizeof d);
    d.n = out.elems;
    d.in_type = (int8_t)in.type;
    d.out_type = (int8_t)out.type;
    d.ozp = out.zero_point;
    HNN_CHECK(c, d.ozp >= type_min(out.type) && d.ozp <= type_max(out.type), HNN_E_QUANT,
              "QUANTIZE: output zero point out of range");
    if (in.type == HNN_FLOAT32) {
        d.scale = out.scale;
    } else {
        HNN_CHECK(c, in.nq >= 1 && hnn_scale_ok(in.scale), HNN_E_QUANT,
                  "QUANTIZE: quantized input needs a positive scale");
        d.izp = in.zero_point;
        HNN_CHECK(c, d.izp >= type_min(in.type) && d.izp <= type_max(in.type), HNN_E_QUANT,
                  "QUANTIZE: input zero point out of range");
        int shift;
        hnn_quantize_multiplier((double)in.scale / (double)out.scale, &d.mult, &shift);
        /* MultiplyByQuantizedMultiplier's left shift must stay a shift of
         * an int32 (TFLM shifts by up to 31 bits; beyond that is UB). */
        HNN_CHECK(c, shift <= 30, HNN_E_QUANT, "QUANTIZE: scale ratio too large");
        d.shift = (int8_t)shift;
        /* 2^30 << 1 is the exact multiplier 1.0: both roundings give x */
        d.identity = d.mult == (1 << 30) && shift == 1;
    }
    d.has_lut = !d.identity && out.elems >= QUANTIZE_LUT_MIN &&
                (in.type == HNN_INT8 || in.type == HNN_UINT8) &&
                (out.type == HNN_INT8 || out.type == HNN_UINT8);
    c->data_bytes = sizeof(q_data) + (d.has_lut ? 256 : 0);
    if (c->data) {
        q_data *p = (q_data *)c->data;
        memcpy(p, &d, sizeof d);
        if (d.has_lut) {
            const int lo = in.type == HNN_INT8 ? -128 : 0;
            for (int v = lo; v < lo + 256; v++)
                p->lut[(uint8_t)v] = (uint8_t)requant_one(&d, v);
        }
    }
    return HNN_OK;
}

/* static_cast<int32_t>(float) as the x86-64 oracle executes it: values
 * outside int32 (and NaN) become INT32_MIN (cvttss2si), on every host. */
static int32_t f2i_x86(float r)
{
    if (r >= -2147483648.0f && r < 2147483648.0f)
        return (int32_t)r;
    return INT32_MIN;
}

/* x86-64 float -> int32 cast then zp add, clamp: AffineQuantize's element */
static int32_t affine_one(const q_data *d, float f, int32_t lo, int32_t hi)
{
    /* TFLM: int32(round(val / float(scale))) + zp, in float */
    int32_t q = f2i_x86(roundf(f / d->scale));
    int32_t v = hnn_add_wrap(q, d->ozp);   /* wraps like the oracle */
    return v < lo ? lo : v > hi ? hi : v;
}

/* int8 -> int8/uint8 with multiplier 1.0 (e.g. the int8->uint8 QUANTIZE that
 * ends the microWakeWord models): a pure add + clamp the compiler vectorizes. */
static void requant_identity_8(const int8_t *x, uint8_t *y, int32_t n, int32_t off,
                               int32_t lo, int32_t hi)
{
    for (int32_t i = 0; i < n; i++) {
        int32_t v = x[i] + off;
        v = v < lo ? lo : v > hi ? hi : v;
        y[i] = (uint8_t)v;
    }
}

/* one loop per (input, output) type pair, so each is a plain typed loop */
#define Q_LOOP(TI, TO)                                                         \
    do {                                                                       \
        const TI *xi = (const TI *)x;                                          \
        TO *yo = (TO *)y;                                                      \
        for (int32_t i = 0; i < d->n; i++)                                     \
            yo[i] = (TO)requant_one(d, xi[i]);                                 \
    } while (0)

#define PAIR(a, b) ((a) * 32 + (b))

static int q_eval(hnn_ctx *c)
{
    const q_data *d = (const q_data *)c->data;
    const void *x = hnn_in_data(c, 0);
    void *y = hnn_out_data(c, 0);
    const int32_t lo = type_min(d->out_type), hi = type_max(d->out_type);
    if (d->in_type == HNN_FLOAT32) {
        const float *f = (const float *)x;
        if (d->out_type == HNN_INT8)
            for (int32_t i = 0; i < d->n; i++)
                ((int8_t *)y)[i] = (int8_t)affine_one(d, f[i], lo, hi);
        else
            for (int32_t i = 0; i < d->n; i++)
                ((int16_t *)y)[i] = (int16_t)affine_one(d, f[i], lo, hi);
        return HNN_OK;
    }
    if (d->has_lut) {
        const uint8_t *xi = (const uint8_t *)x;
        uint8_t *yo = (uint8_t *)y;
        for (int32_t i = 0; i < d->n; i++)
            yo[i] = d->lut[xi[i]];
        return HNN_OK;
    }
    if (d->identity && d->in_type == HNN_INT8 &&
        (d->out_type == HNN_INT8 || d->out_type == HNN_UINT8)) {
        requant_identity_8((const int8_t *)x, (uint8_t *)y, d->n, d->ozp - d->izp, lo, hi);
        return HNN_OK;
    }
    switch (PAIR(d->in_type, d->out_type)) {
    case PAIR(HNN_INT8, HNN_INT8): Q_LOOP(int8_t, int8_t); break;
    case PAIR(HNN_INT8, HNN_UINT8): Q_LOOP(int8_t, uint8_t); break;
    case PAIR(HNN_INT8, HNN_INT16): Q_LOOP(int8_t, int16_t); break;
    case PAIR(HNN_INT8, HNN_INT32): Q_LOOP(int8_t, int32_t); break;
    case PAIR(HNN_UINT8, HNN_INT8): Q_LOOP(uint8_t, int8_t); break;
    case PAIR(HNN_INT16, HNN_INT8): Q_LOOP(int16_t, int8_t); break;
    case PAIR(HNN_INT16, HNN_INT16): Q_LOOP(int16_t, int16_t); break;
    case PAIR(HNN_INT16, HNN_INT32): Q_LOOP(int16_t, int32_t); break;
    case PAIR(HNN_INT32, HNN_INT8): Q_LOOP(int32_t, int8_t); break;
    default: Q_LOOP(int32_t, int16_t); break;     /* the last pair q_prepare accepts */
    }
    return HNN_OK;
}

typedef struct {
    int32_t n;
    int32_t zp;
    float scale;
    int8_t in_type;
} dq_data;

static int dq_prepare(hnn_ctx *c)
{
    hnn_tinfo in, out;
    int rc;
    HNN_CHECK(c, c->n_in == 1 && c->n_out == 1, HNN_E_GRAPH, "DEQUANTIZE takes 1 input, 1 output");
    if ((rc = hnn_in_info(c, 0, &in)) < 0 || (rc = hnn_out_info(c, 0, &out)) < 0)
        return rc;
    HNN_CHECK(c, in.type == HNN_INT8 || in.type == HNN_UINT8 || in.type == HNN_INT16,
              HNN_E_UNSUPPORTED_TYPE, "DEQUANTIZE: input must be int8, uint8 or int16");
    HNN_CHECK(c, out.type == HNN_FLOAT32, HNN_E_UNSUPPORTED_TYPE, "DEQUANTIZE: output must be float32");
    HNN_CHECK(c, in.elems == out.elems, HNN_E_SHAPE, "DEQUANTIZE: input and output sizes differ");
    /* Per-channel dequantization is not in TFLM's DEQUANTIZE kernel either. */
    HNN_CHECK(c, in.nq == 1 && isfinite(in.scale), HNN_E_QUANT,
              "DEQUANTIZE: input needs one per-tensor scale");
    /* keeps (v - zp) exact in float, see dq_eval */
    HNN_CHECK(c, in.zero_point >= -65536 && in.zero_point <= 65536, HNN_E_QUANT,
              "DEQUANTIZE: zero point out of range");
    dq_data d;
    memset(&d, 0, sizeof d);
    d.n = in.elems;
    d.zp = in.zero_point;
    d.scale = in.scale;
    d.in_type = (int8_t)in.type;
    c->data_bytes = sizeof d;
    if (c->data)
        memcpy(c->data, &d, sizeof d);
    return HNN_OK;
}

static int dq_eval(hnn_ctx *c)
{
    const dq_data *d = (const dq_data *)c->data;
    const void *x = hnn_in_data(c, 0);
    float *y = (float *)hnn_out_data(c, 0);
    /* TFLM computes float(double(scale) * (v - zp)). The exact product of a
     * float and an integer below 2^17 fits a double, so that is the single
     * rounding a float multiply does: the float form is identical and
     * vectorizes. */
    const float s = d->scale;
    switch (d->in_type) {
    case HNN_INT8: {
        const int8_t *p = (const int8_t *)x;
        for (int32_t i = 0; i < d->n; i++)
            y[i] = s * (float)(p[i] - d->zp);
        break;
    }
    case HNN_UINT8: {
        const uint8_t *p = (const uint8_t *)x;
        for (int32_t i = 0; i < d->n; i++)
            y[i] = s * (float)(p[i] - d->zp);
        break;
    }
    default: {
        const int16_t *p = (const int16_t *)x;
        for (int32_t i = 0; i < d->n; i++)
            y[i] = s * (float)(p[i] - d->zp);
        break;
    }
    }
    return HNN_OK;
}

const hnn_kernel hnn_k_quantize = {.name = "QUANTIZE", .prepare = q_prepare, .eval = q_eval};
const hnn_kernel hnn_k_dequantize = {.name = "DEQUANTIZE", .prepare = dq_prepare, .eval = dq_eval};
