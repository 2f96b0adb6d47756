/*
 * logistic.c - int8 LOGISTIC, bit-exact with TFLite Micro.
 *
 * The micro kernel (logistic.cc -> reference_integer_ops::Logistic) does not
 * use a float LUT: it rescales (x - zp) to Q4.27 with a frexp multiplier and
 * evaluates gemmlowp's fixed-point logistic. That arithmetic is reproduced
 * here. An int8 input has only 256 values, so for larger tensors prepare
 * runs it once per value into a 256-byte table and eval is a lookup; small
 * tensors (the 1-element probability at the end of a wake-word model) skip
 * the table and keep the op data at TFLM's size.
 */
#include "../kernel.h"
#include "../quant.h"
#include "arith.h"
#include "operands.h"
#include "fixedpoint.h"
#include <math.h>
#include <string.h>

/* Tensors at least this large get the 256-entry table. */
#define LOGISTIC_LUT_MIN 256

typedef struct {
    int32_t n;
    int32_t zp;
    int32_t radius;       /* |x - zp| >= radius saturates */
    int32_t mult;         /* Q4.27 rescale multiplier */
    int8_t shift;
    uint8_t has_lut;
    int8_t lut[];         /* [256], indexed by (uint8_t)x, when has_lut */
} lg_data;

/* gemmlowp::logistic on Q4.27, result Q0.31 */
static int32_t fx_logistic_q4(int32_t a)
{
    if (a == 0)
        return 1 << 30;
    int32_t abs_a = a > 0 ? a : -a;
    int32_t pos = fx_one_over_one_plus(fx_exp_neg(-abs_a, 4));
    return a > 0 ? pos : INT32_MAX - pos;
}

static int8_t logistic_one(const lg_data *d, int32_t v)
{
    int32_t in = v - d->zp;
    if (in <= -d->radius)
        return -128;
    if (in >= d->radius)
        return 127;
    int32_t q4 = hnn_mbqm(in, d->mult, d->shift);
    int32_t out = hnn_rdbypot(fx_logistic_q4(q4), 23) - 128;
    return hnn_sat_i8(out);
}

static int lg_prepare(hnn_ctx *c)
{
    hnn_tinfo in, out;
    int rc;
    HNN_CHECK(c, c->n_in == 1 && c->n_out == 1, HNN_E_GRAPH, "LOGISTIC takes 1 input, 1 output");
    if ((rc = hnn_in_info(c, 0, &in)) < 0 || (rc = hnn_out_info(c, 0, &out)) < 0)
        return rc;
    HNN_CHECK(c, in.type == HNN_INT8 && out.type == HNN_INT8, HNN_E_UNSUPPORTED_TYPE,
              "LOGISTIC: only int8 in and out");
    HNN_CHECK(c, in.elems == out.elems, HNN_E_SHAPE, "LOGISTIC: input and output sizes differ");
    HNN_CHECK(c, in.nq >= 1 && out.nq >= 1, HNN_E_QUANT, "LOGISTIC: tensors must be quantized");
    HNN_CHECK(c, out.zero_point == -128, HNN_E_QUANT, "LOGISTIC: output zero point must be -128");
    HNN_CHECK(c, hnn_scale_ok(in.scale), HNN_E_QUANT, "LOGISTIC: bad input scale");
    HNN_CHECK(c, in.zero_point >= -128 && in.zero_point <= 127, HNN_E_QUANT,
              "LOGISTIC: input zero point out of range");
    /* PrepareLogisticInt8: input_scale * 2^27 split by frexp (not
     * QuantizeMultiplier: no 2^31 fix-up, none is needed for float scales). */
    int e = 0;
    double q = frexp((double)in.scale * (double)(1 << 27), &e);
    /* TFLM computes the radius with 1LL << shift, undefined below 0; such
     * scales (< 2^-28) mean an all-saturated op anyway. */
    HNN_CHECK(c, e >= 0, HNN_E_QUANT, "LOGISTIC: input scale too small");
    lg_data d;
    memset(&d, 0, sizeof d);
    d.n = in.elems;
    d.zp = in.zero_point;
    d.mult = (int32_t)hnn_round(q * 2147483648.0);
    d.shift = (int8_t)(e > 127 ? 127 : e);
    /* CalculateInputRadius(4, shift, 31) = floor(15 * 2^27 / 2^shift) */
    d.radius = (int32_t)floor(ldexp(15.0, 27 - e));
    d.has_lut = in.elems >= LOGISTIC_LUT_MIN;
    c->data_bytes = sizeof d + (d.has_lut ? 256 : 0);
    if (c->data) {
        lg_data *p = (lg_data *)c->data;
        memcpy(p, &d, sizeof d);
        if (d.has_lut)
            for (int v = -128; v <= 127; v++)
                p->lut[(uint8_t)v] = logistic_one(&d, v);
    }
    return HNN_OK;
}

static int lg_eval(hnn_ctx *c)
{
    const lg_data *d = (const lg_data *)c->data;
    const int8_t *x = (const int8_t *)hnn_in_data(c, 0);
    int8_t *y = (int8_t *)hnn_out_data(c, 0);
    if (d->has_lut) {
        for (int32_t i = 0; i < d->n; i++)
            y[i] = d->lut[(uint8_t)x[i]];
    } else {
        for (int32_t i = 0; i < d->n; i++)
            y[i] = logistic_one(d, x[i]);
    }
    return HNN_OK;
}

const hnn_kernel hnn_k_logistic = {.name = "LOGISTIC", .prepare = lg_prepare, .eval = lg_eval};
