/*
 * operands.c - prepare-time checks of int8 operands and their
 * requantization parameters (TFLite's kernel_util.cc and
 * quantization_util.cc semantics); see operands.h.
 */
#include <math.h>
#include <string.h>

#include "operands.h"
#include "quant.h"

int hnn_operand_q8(hnn_ctx *c, const hnn_tinfo *t, const char *what)
{
    (void)what;
    if (t->type != HNN_INT8)
        return hnn_fail(c, HNN_E_UNSUPPORTED_TYPE,
                        "only int8 activations and weights are supported");
    if (t->nq < 1)
        return hnn_fail(c, HNN_E_QUANT, "int8 tensor without quantization parameters");
    if (!hnn_scale_ok(t->scale))
        return hnn_fail(c, HNN_E_QUANT, "quantization scale must be positive and finite");
    if (t->zero_point < -128 || t->zero_point > 127)
        return hnn_fail(c, HNN_E_QUANT, "int8 zero point outside [-128, 127]");
    return HNN_OK;
}

int hnn_requant_multiplier(hnn_ctx *c, double real, int32_t *mult, int *shift)
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

int hnn_requant_channels(hnn_ctx *c, float s_in, const hnn_tinfo *filt,
                         float s_out, int32_t n, int32_t *mult,
                         int8_t *shift)
{
    for (int32_t k = 0; k < n; k++) {
        float fs = hnn_tinfo_scale(filt, filt->nq > 1 ? k : 0);
        if (!hnn_scale_ok(fs))
            return hnn_fail(c, HNN_E_QUANT, "filter scale must be positive and finite");
        /* TFLM: double(input_scale) * double(filter_scale) / double(output_scale) */
        double real = (double)s_in * (double)fs / (double)s_out;
        int32_t m;
        int s, rc;
        if ((rc = hnn_requant_multiplier(c, real, &m, &s)) != HNN_OK)
            return rc;
        if (mult) {
            mult[k] = m;
            shift[k] = (int8_t)s;
        }
    }
    return HNN_OK;
}

int hnn_act_range_q8(hnn_ctx *c, int act, const hnn_tinfo *out, int32_t *lo,
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

int hnn_operands_filtered(hnn_ctx *c, const char *what, hnn_tinfo *x, hnn_tinfo *w,
                          hnn_tinfo *y)
{
    int rc;
    HNN_CHECK(c, c->n_in == 2 || c->n_in == 3, HNN_E_GRAPH, "takes 2 or 3 inputs");
    HNN_CHECK(c, c->n_out == 1, HNN_E_GRAPH, "has one output");
    if ((rc = hnn_in_info(c, 0, x)) || (rc = hnn_in_info(c, 1, w)) || (rc = hnn_out_info(c, 0, y)))
        return rc;
    if ((rc = hnn_operand_q8(c, x, "input")) || (rc = hnn_operand_q8(c, w, what)) ||
        (rc = hnn_operand_q8(c, y, "output")))
        return rc;
    return HNN_OK;
}

int hnn_operand_bias(hnn_ctx *c, int32_t n, hnn_tinfo *b, int *has_bias)
{
    int rc;
    memset(b, 0, sizeof *b);
    *has_bias = c->n_in > 2 && c->in[2] >= 0;
    if (!*has_bias)
        return HNN_OK;
    if ((rc = hnn_in_info(c, 2, b)) != HNN_OK)
        return rc;
    HNN_CHECK(c, b->type == HNN_INT32, HNN_E_UNSUPPORTED_TYPE, "bias must be int32");
    HNN_CHECK(c, b->elems == n, HNN_E_SHAPE, "bias size differs from output channels");
    return HNN_OK;
}
