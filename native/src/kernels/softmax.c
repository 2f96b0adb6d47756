/*
 * softmax.c - int8 SOFTMAX (int8 or int16 output), bit-exact with TFLite
 * Micro's softmax_common.cc + reference_ops::Softmax.
 *
 * TFLM's int8 path is not a LUT: it rescales (x - row max) to Q5.26 with
 * PreprocessSoftmaxScaling's multiplier, takes gemmlowp's exp_on_negative_values,
 * sums in Q12.19, and scales every exp by a fixed-point reciprocal. That is
 * reproduced here. Since x - max only takes 256 values, large tensors get
 * the 256 exps precomputed at prepare (1 KB of op data); small ones compute
 * them on the fly like TFLM (twice per element: no scratch needed).
 */
#include "../kernel.h"
#include "../quant.h"
#include "arith.h"
#include "operands.h"
#include "fixedpoint.h"
#include <math.h>
#include <string.h>

/* Tensors at least this large get the exp table (1 KB: at 512+ elements it
 * stays inside the slack hnn_arena_bytes budgets per tensor byte). */
#define SOFTMAX_LUT_MIN 512

/* The Q12.19 sum of exps (each <= 2^19) must stay below 2^31. */
#define SOFTMAX_MAX_DEPTH 4095

typedef struct {
    int32_t outer, depth;
    int32_t mult;         /* beta * scale rescale, Q31 */
    int32_t diff_min;     /* differences below this contribute nothing */
    int8_t shift;
    uint8_t out16;        /* int16 output (zero point -32768) */
    uint8_t has_lut;
    int32_t lut[];        /* [256] exp in Q0.31 by -(x - max), when has_lut */
} sm_data;

static int clz32(uint32_t x)
{
    int n = 0;
    if (!x)
        return 32;
    while (!(x & 0x80000000u)) {
        x <<= 1;
        n++;
    }
    return n;
}

/* exp(diff) in Q0.31 for diff = x - max <= 0, or 0 when it is ignored */
static int32_t exp_of_diff(const sm_data *d, int32_t diff)
{
    if (diff < d->diff_min)
        return 0;
    /* MultiplyByQuantizedMultiplierGreaterThanOne */
#if HNN_SINGLE_ROUNDING
    int32_t r = hnn_mbqm(diff, d->mult, d->shift);
#else
    int32_t r = hnn_srdhm((int32_t)((uint32_t)diff << d->shift), d->mult);
#endif
    return fx_exp_neg(r, 5);   /* Q5.26: kScaledDiffIntegerBits = 5 */
}

static int sm_prepare(hnn_ctx *c)
{
    hnn_tinfo in, out;
    int rc;
    HNN_CHECK(c, c->n_in == 1 && c->n_out == 1, HNN_E_GRAPH, "SOFTMAX takes 1 input, 1 output");
    if ((rc = hnn_in_info(c, 0, &in)) < 0 || (rc = hnn_out_info(c, 0, &out)) < 0)
        return rc;
    HNN_CHECK(c, in.type == HNN_INT8, HNN_E_UNSUPPORTED_TYPE, "SOFTMAX: only int8 input");
    HNN_CHECK(c, out.type == HNN_INT8 || out.type == HNN_INT16, HNN_E_UNSUPPORTED_TYPE,
              "SOFTMAX: output must be int8 or int16");
    HNN_CHECK(c, in.ndim >= 1, HNN_E_SHAPE, "SOFTMAX: input needs at least one dimension");
    HNN_CHECK(c, out.elems == in.elems && out.ndim >= 1 &&
              out.dims[out.ndim - 1] == in.dims[in.ndim - 1], HNN_E_SHAPE,
              "SOFTMAX: output shape differs from input");
    HNN_CHECK(c, in.nq >= 1 && out.nq >= 1, HNN_E_QUANT, "SOFTMAX: tensors must be quantized");
    /* CalculateSoftmaxParams' output checks */
    if (out.type == HNN_INT8) {
        HNN_CHECK(c, out.zero_point == -128 && out.scale == 1.0f / 256, HNN_E_QUANT,
                  "SOFTMAX: int8 output must have scale 1/256, zero point -128");
    } else {
        HNN_CHECK(c, out.zero_point == -32768 &&
                  fabsf(out.scale - 1.0f / 65536) <= 0.001f * 1.0f / 65536, HNN_E_QUANT,
                  "SOFTMAX: int16 output must have scale 1/65536, zero point -32768");
    }
    HNN_CHECK(c, hnn_scale_ok(in.scale), HNN_E_QUANT, "SOFTMAX: bad input scale");
    const int32_t depth = in.dims[in.ndim - 1];
    HNN_CHECK(c, depth <= SOFTMAX_MAX_DEPTH, HNN_E_LIMIT, "SOFTMAX: last dimension above 4095");
    /* absent options mean beta 0 (schema default), which TFLM cannot run */
    float beta = hnn_opt_f32(&c->opts, 0, 0.0f);
    /* PreprocessSoftmaxScaling(beta, scale, 5) */
#if HNN_SINGLE_ROUNDING
    const double max_real = (double)((1LL << 30) - 1);
#else
    const double max_real = (double)((1LL << 31) - 1);
#endif
    double real = (double)beta * (double)in.scale * (double)(1 << 26);
    if (real > max_real)
        real = max_real;
    /* TFLM aborts (QuantizeMultiplierGreaterThanOne) when this is <= 1 */
    HNN_CHECK(c, real > 1.0 && isfinite(real), HNN_E_QUANT,
              "SOFTMAX: beta * input scale too small (or not positive)");
    sm_data d;
    memset(&d, 0, sizeof d);
    int shift;
    hnn_quantize_multiplier(real, &d.mult, &shift);
    d.shift = (int8_t)shift;
    /* CalculateInputRadius(5, shift, 31) = floor(31 * 2^26 / 2^shift) */
    d.diff_min = -(int32_t)floor(ldexp(31.0, 26 - shift));
    d.depth = depth;
    d.outer = depth ? in.elems / depth : 0;
    d.out16 = out.type == HNN_INT16;
    d.has_lut = in.elems >= SOFTMAX_LUT_MIN;
    c->data_bytes = sizeof d + (d.has_lut ? 256 * sizeof(int32_t) : 0);
    if (c->data) {
        sm_data *p = (sm_data *)c->data;
        memcpy(p, &d, sizeof d);
        if (d.has_lut)
            for (int k = 0; k < 256; k++)
                p->lut[k] = exp_of_diff(&d, -k);
    }
    return HNN_OK;
}

/* RoundingDivideByPOT, also for exponents past 31 (see sm_eval) */
static int32_t rdbypot_wide(int32_t x, int e)
{
    if (e <= 31)
        return hnn_rdbypot(x, e);
    /* |x| < 2^31 <= 2^(e-1): always rounds to 0 */
    (void)x;
    return 0;
}

static int sm_eval(hnn_ctx *c)
{
    const sm_data *d = (const sm_data *)c->data;
    const int8_t *x = (const int8_t *)hnn_in_data(c, 0);
    int8_t *y8 = (int8_t *)hnn_out_data(c, 0);
    int16_t *y16 = (int16_t *)y8;
    const int32_t depth = d->depth;
    for (int32_t i = 0; i < d->outer; i++, x += depth) {
        int32_t mx = -128;
        for (int32_t k = 0; k < depth; k++)
            mx = x[k] > mx ? x[k] : mx;
        /* sum of Rescale<12>(exp): each term is exp >> 12, rounded */
        int32_t sum = 0;
        for (int32_t k = 0; k < depth; k++) {
            int32_t e = d->has_lut ? d->lut[mx - x[k]] : exp_of_diff(d, x[k] - mx);
            sum += hnn_rdbypot(e, 12);
        }
        /* GetReciprocal(sum, 12): sum >= 2^19 (the max element) and
         * < 2^31 (SOFTMAX_MAX_DEPTH), so 1 <= headroom <= 12 */
        int hp1 = clz32((uint32_t)sum);
        int bits_over_unit = 12 - hp1;
        int32_t shifted = (int32_t)(((uint32_t)sum << hp1) - 0x80000000u);
        int32_t scale = fx_one_over_one_plus(shifted);
        /* TFLM requires exponent <= 31 (TFLITE_CHECK); past that (int8 out,
         * a flat row over 512+ classes) every output rounds to 0. */
        const int exponent = bits_over_unit + 31 - (d->out16 ? 16 : 8);
        for (int32_t k = 0; k < depth; k++) {
            int32_t e = d->has_lut ? d->lut[mx - x[k]] : exp_of_diff(d, x[k] - mx);
            /* an ignored difference has e == 0: output is the type minimum */
            int32_t v = rdbypot_wide(fx_mul(scale, e), exponent);
            if (d->out16) {
                v -= 32768;
                y16[i * depth + k] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
            } else {
                v -= 128;
                y8[i * depth + k] = hnn_sat_i8(v);
            }
        }
    }
    return HNN_OK;
}

const hnn_kernel hnn_k_softmax = {.name = "SOFTMAX", .prepare = sm_prepare, .eval = sm_eval};
