/*
 * quant.h - TFLite integer requantization arithmetic (common.h semantics).
 */
#ifndef HEARTH_QUANT_H
#define HEARTH_QUANT_H

#include <stdint.h>
#include "nn_config.h"

/* QuantizeMultiplier: real multiplier -> Q31 multiplier and shift (frexp). */
void hnn_quantize_multiplier(double real, int32_t *qmult, int *shift);

static inline int32_t hnn_srdhm(int32_t a, int32_t b)
{
    /* SaturatingRoundingDoublingHighMul */
    if (a == b && a == INT32_MIN)
        return INT32_MAX;
    int64_t ab = (int64_t)a * (int64_t)b;
    int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

static inline int32_t hnn_rdbypot(int32_t x, int exponent)
{
    /* RoundingDivideByPOT: round half away from zero */
    int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* MultiplyByQuantizedMultiplier(int32 x, multiplier, shift). */
static inline int32_t hnn_mbqm(int32_t x, int32_t qmult, int shift)
{
#if HNN_SINGLE_ROUNDING
    int total = 31 - shift;
    int64_t r = (int64_t)x * qmult + ((int64_t)1 << (total - 1));
    return (int32_t)(r >> total);
#else
    int left = shift > 0 ? shift : 0;
    int right = shift > 0 ? 0 : -shift;
    return hnn_rdbypot(hnn_srdhm((int32_t)((uint32_t)x << left), qmult), right);
#endif
}

/* CalculateActivationRangeQuantized for a fused activation on an output
 * with (scale, zero_point) and storage range [qmin, qmax]. */
int hnn_activation_range(int act, float scale, int32_t zp, int32_t qmin,
                         int32_t qmax, int32_t *lo, int32_t *hi);

/* round-half-away-from-zero, like TfLiteRound / std::round */
double hnn_round(double x);

#endif /* HEARTH_QUANT_H */
