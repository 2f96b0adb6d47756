/*
 * fixedpoint.h - gemmlowp's fixed-point exp and reciprocal on raw int32
 * values, as TFLM's LOGISTIC and SOFTMAX use them. Scalar, exact.
 */
#ifndef HEARTH_FIXEDPOINT_H
#define HEARTH_FIXEDPOINT_H

#include <stdint.h>

#include "../quant.h"

static inline int32_t fx_mul(int32_t a, int32_t b) { return hnn_srdhm(a, b); }

/* SaturatingRoundingMultiplyByPOT<e> for e > 0 */
static inline int32_t fx_sat_shl(int32_t x, int e)
{
    const int32_t th = (int32_t)((1u << (31 - e)) - 1u);
    if (x > th)
        return INT32_MAX;
    if (x < -th)
        return INT32_MIN;
    return (int32_t)((uint32_t)x << e);
}

/* exp(x) for x in [-1/4, 0), Q0.31 in and out */
static inline int32_t fx_exp_quarter(int32_t a)
{
    const int32_t c_term = 1895147668;        /* exp(-1/8) */
    const int32_t c_third = 715827883;        /* 1/3 */
    int32_t x = a + (1 << 28);                /* x = a + 1/8 */
    int32_t x2 = fx_mul(x, x);
    int32_t x3 = fx_mul(x2, x);
    int32_t x4 = fx_mul(x2, x2);
    int32_t x4_4 = hnn_rdbypot(x4, 2);
    int32_t poly = hnn_rdbypot(fx_mul(x4_4 + x3, c_third) + x2, 1);
    return c_term + fx_mul(c_term, x + poly);
}

/* exp(a) for a <= 0 given in Q(ib).(31-ib); result Q0.31. */
static inline int32_t fx_exp_neg(int32_t a, int ib)
{
    static const int32_t mults[7] = {1672461947, 1302514674, 790015084, 290630308,
                                     39332535, 720401, 242};   /* exp(-2^k), k=-2..4 */
    const int fb = 31 - ib;
    const int32_t quarter = (int32_t)1 << (fb - 2);
    int32_t a_mod = (a & (quarter - 1)) - quarter;
    int32_t result = fx_exp_quarter(fx_sat_shl(a_mod, ib));
    int32_t rem = a_mod - a;
    for (int k = -2; k <= 4; k++) {
        if (ib > k && (rem & ((int32_t)1 << (fb + k))))
            result = fx_mul(result, mults[k + 2]);
    }
    if (ib > 5 && a < -((int32_t)1 << (36 - ib)))
        result = 0;
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out (Newton-Raphson) */
static inline int32_t fx_one_over_one_plus(int32_t a)
{
    int64_t s = (int64_t)a + INT32_MAX;
    int32_t half_den = (int32_t)((s + (s >= 0 ? 1 : -1)) / 2);   /* RoundingHalfSum */
    int32_t x = 1515870810 + fx_mul(half_den, -1010580540);       /* 48/17 - 32/17 d, Q2.29 */
    for (int i = 0; i < 3; i++) {
        int32_t hdx = fx_mul(half_den, x);
        int32_t one_minus = (1 << 29) - hdx;
        x = x + fx_sat_shl(fx_mul(x, one_minus), 2);
    }
    return fx_sat_shl(x, 1);
}

#endif /* HEARTH_FIXEDPOINT_H */
