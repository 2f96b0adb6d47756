#include "quant.h"
#include "kernel.h"
#include <math.h>

double hnn_round(double x)
{
    return round(x);
}

void hnn_quantize_multiplier(double real, int32_t *qmult, int *shift)
{
    if (real == 0.0) {
        *qmult = 0;
        *shift = 0;
        return;
    }
    int e = 0;
    double q = frexp(real, &e);
    int64_t q_fixed = (int64_t)round(q * (double)((int64_t)1 << 31));
    if (q_fixed == ((int64_t)1 << 31)) {
        q_fixed /= 2;
        ++e;
    }
    if (e < -31) {
        e = 0;
        q_fixed = 0;
    }
#if HNN_SINGLE_ROUNDING
    if (e > 30) {
        e = 30;
        q_fixed = ((int64_t)1 << 31) - 1;
    }
#endif
    *qmult = (int32_t)q_fixed;
    *shift = e;
}

static int32_t quantize_value(float scale, int32_t zp, float f, int *err)
{
    /* TFLM: zero_point + static_cast<int32_t>(TfLiteRound(f / scale)) in
     * float, after checking the rounded value fits int32 (a NaN or huge
     * quotient from a zero/tiny scale is an error, not UB) */
    float q = roundf(f / scale);
    if (!(q >= -2147483648.0f && q <= 2147483647.0f)) {
        *err = HNN_E_QUANT;
        return 0;
    }
    int64_t v = (int64_t)zp + (int64_t)q;
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

int hnn_activation_range(int act, float scale, int32_t zp, int32_t qmin,
                         int32_t qmax, int32_t *lo, int32_t *hi)
{
    int32_t a = qmin, b = qmax;
    int err = HNN_OK;
    switch (act) {
    case HNN_ACT_NONE:
        break;
    case HNN_ACT_RELU: {
        int32_t z = quantize_value(scale, zp, 0.0f, &err);
        a = z > qmin ? z : qmin;
        break;
    }
    case HNN_ACT_RELU6: {
        int32_t z = quantize_value(scale, zp, 0.0f, &err);
        int32_t s = quantize_value(scale, zp, 6.0f, &err);
        a = z > qmin ? z : qmin;
        b = s < qmax ? s : qmax;
        break;
    }
    case HNN_ACT_RELU_N1_TO_1: {
        int32_t n = quantize_value(scale, zp, -1.0f, &err);
        int32_t p = quantize_value(scale, zp, 1.0f, &err);
        a = n > qmin ? n : qmin;
        b = p < qmax ? p : qmax;
        break;
    }
    default:
        return HNN_E_UNSUPPORTED_OP;
    }
    if (err != HNN_OK)
        return err;
    *lo = a;
    *hi = b;
    return HNN_OK;
}
