/*
 * conv_util.c - prepare-time helpers of the int8 arithmetic kernels.
 * Semantics follow TFLite's padding.h, kernel_util.cc and
 * quantization_util.cc; see conv_util.h.
 */
#include <math.h>

#include "conv_util.h"

int hnn_ka_out_size(int padding, int32_t in, int32_t filter, int32_t stride,
                    int32_t dilation)
{
    int64_t eff = (int64_t)(filter - 1) * dilation + 1;
    if (stride <= 0)
        return 0;
    if (padding == HNN_PAD_SAME)
        return (int)(((int64_t)in + stride - 1) / stride);
    if (padding == HNN_PAD_VALID) {
        int64_t n = (int64_t)in + stride - eff;
        /* C division truncates toward zero; a negative numerator means no
         * output at all (TFLite would produce a degenerate size) */
        return n <= 0 ? 0 : (int)(n / stride);
    }
    return 0;
}

int32_t hnn_ka_padding(int32_t stride, int32_t dilation, int32_t in,
                       int32_t filter, int32_t out)
{
    int64_t eff = (int64_t)(filter - 1) * dilation + 1;
    int64_t total = ((int64_t)out - 1) * stride + eff - in;
    return total > 0 ? (int32_t)(total / 2) : 0;
}

int hnn_ka_check_q8(hnn_ctx *c, const hnn_tinfo *t, const char *what)
{
    (void)what;
    if (t->type != HNN_INT8)
        return hnn_fail(c, HNN_E_UNSUPPORTED_TYPE,
                        "only int8 activations and weights are supported");
    if (t->nq < 1)
        return hnn_fail(c, HNN_E_QUANT, "int8 tensor without quantization parameters");
    if (!(t->scale > 0.0f) || !isfinite(t->scale))
        return hnn_fail(c, HNN_E_QUANT, "quantization scale must be positive and finite");
    if (t->zero_point < -128 || t->zero_point > 127)
        return hnn_fail(c, HNN_E_QUANT, "int8 zero point outside [-128, 127]");
    return HNN_OK;
}

int hnn_ka_multiplier(hnn_ctx *c, double real, int32_t *mult, int *shift)
{
    if (!(real >= 0.0) || !isfinite(real))
        return hnn_fail(c, HNN_E_QUANT, "invalid effective requantization scale");
    hnn_quantize_multiplier(real, mult, shift);
    /* a left shift beyond 30 would overflow every nonzero accumulator;
     * no trained model gets near it (it means an effective scale >= 2^30) */
    if (*shift > 30)
        return hnn_fail(c, HNN_E_QUANT, "effective requantization scale too large");
    return HNN_OK;
}

int hnn_ka_channel_multipliers(hnn_ctx *c, float s_in, const hnn_tinfo *filt,
                               float s_out, int32_t n, int32_t *mult,
                               int8_t *shift)
{
    for (int32_t k = 0; k < n; k++) {
        float fs = hnn_tinfo_scale(filt, filt->nq > 1 ? k : 0);
        if (!(fs > 0.0f) || !isfinite(fs))
            return hnn_fail(c, HNN_E_QUANT, "filter scale must be positive and finite");
        /* TFLM: double(input_scale) * double(filter_scale) / double(output_scale) */
        double real = (double)s_in * (double)fs / (double)s_out;
        int32_t m;
        int s, rc;
        if ((rc = hnn_ka_multiplier(c, real, &m, &s)) != HNN_OK)
            return rc;
        if (mult) {
            mult[k] = m;
            shift[k] = (int8_t)s;
        }
    }
    return HNN_OK;
}

int hnn_ka_act_range(hnn_ctx *c, int act, const hnn_tinfo *out, int32_t *lo,
                     int32_t *hi)
{
    int rc = hnn_activation_range(act, out->scale, out->zero_point, -128, 127, lo, hi);
    if (rc == HNN_E_UNSUPPORTED_OP)
        return hnn_fail(c, rc, "unsupported fused activation");
    if (rc != HNN_OK)
        return hnn_fail(c, rc, "activation range does not fit the output quantization");
    if (*lo > *hi)
        return hnn_fail(c, HNN_E_QUANT, "empty activation range");
    return HNN_OK;
}

/* ---- elementwise broadcasting -------------------------------------------- */

int hnn_ka_bcast_prepare(hnn_ctx *c, const hnn_tinfo *a, const hnn_tinfo *b,
                         const hnn_tinfo *out, int max_rank, hnn_ka_bcast *bc)
{
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    int32_t ea[HNN_MAX_DIMS], eb[HNN_MAX_DIMS];
    int same = 1;

    HNN_CHECK(c, nd <= HNN_KA_BDIMS && out->ndim == nd, HNN_E_SHAPE,
              "output rank must be the larger input rank (at most 6)");
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        ea[i] = ia >= 0 ? a->dims[ia] : 1;
        eb[i] = ib >= 0 ? b->dims[ib] : 1;
        int32_t o = out->dims[i];
        HNN_CHECK(c, ea[i] > 0 && eb[i] > 0 && o > 0, HNN_E_SHAPE, "empty tensor");
        HNN_CHECK(c, (ea[i] == o || ea[i] == 1) && (eb[i] == o || eb[i] == 1) &&
                  (o == ea[i] || o == eb[i]), HNN_E_SHAPE,
                  "input shapes do not broadcast to the output shape");
        if (ea[i] != eb[i])
            same = 0;
    }
    /* TFLM only treats shapes as elementwise when they are equal once
     * extended; any other pair goes through its rank-limited broadcast */
    if (!same)
        HNN_CHECK(c, nd <= max_rank, HNN_E_SHAPE, "broadcast of this rank is not supported");

    /* drop unit output dims, merge neighbours that broadcast alike
     * (innermost first, so strides accumulate) */
    int32_t md[HNN_KA_BDIMS], m1[HNN_KA_BDIMS], m2[HNN_KA_BDIMS];
    int k = 0;
    int32_t st1 = 1, st2 = 1;
    for (int i = nd - 1; i >= 0; i--) {
        int32_t o = out->dims[i];
        if (o == 1)
            continue;
        int fa = ea[i] == o, fb = eb[i] == o;
        if (k > 0 && (m1[k - 1] != 0) == fa && (m2[k - 1] != 0) == fb) {
            md[k - 1] *= o;
        } else {
            md[k] = o;
            m1[k] = fa ? st1 : 0;
            m2[k] = fb ? st2 : 0;
            k++;
        }
        if (fa)
            st1 *= o;
        if (fb)
            st2 *= o;
    }
    if (bc) {
        /* store outermost first, padded with unit dims in front */
        for (int i = 0; i < HNN_KA_BDIMS; i++) {
            int src = HNN_KA_BDIMS - 1 - i;     /* position counted from inside */
            bc->dims[i] = src < k ? md[src] : 1;
            bc->s1[i] = src < k ? m1[src] : 0;
            bc->s2[i] = src < k ? m2[src] : 0;
        }
    }
    return HNN_OK;
}

void hnn_ka_bcast_run(const hnn_ka_bcast *bc, const void *params, hnn_ka_row_fn row,
                      const int8_t *a, const int8_t *b, int8_t *y)
{
    const int32_t *d = bc->dims, *s1 = bc->s1, *s2 = bc->s2;
    size_t o = 0;
    for (int32_t i0 = 0; i0 < d[0]; i0++)
        for (int32_t i1 = 0; i1 < d[1]; i1++)
            for (int32_t i2 = 0; i2 < d[2]; i2++)
                for (int32_t i3 = 0; i3 < d[3]; i3++)
                    for (int32_t i4 = 0; i4 < d[4]; i4++) {
                        size_t pa = (size_t)i0 * s1[0] + (size_t)i1 * s1[1] +
                                    (size_t)i2 * s1[2] + (size_t)i3 * s1[3] +
                                    (size_t)i4 * s1[4];
                        size_t pb = (size_t)i0 * s2[0] + (size_t)i1 * s2[1] +
                                    (size_t)i2 * s2[2] + (size_t)i3 * s2[3] +
                                    (size_t)i4 * s2[4];
                        row(params, a + pa, s1[5], b + pb, s2[5], y + o, d[5]);
                        o += (size_t)d[5];
                    }
}
