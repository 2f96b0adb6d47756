/*
 * fully_connected.c - FULLY_CONNECTED, int8 input/output, int8 weights
 * (per-tensor with optional weight zero point, or per-channel), optional
 * int32 bias, keep_num_dims either way. Bit-exact with TFLM's
 * reference_integer_ops::FullyConnected / FullyConnectedPerChannel.
 *
 * acc = sum((w + w_off) * (x + x_off)) + bias expands to
 *       dot(x, w) + x_off * sum(w) + w_off * sum(x) + n * w_off * x_off + bias;
 * everything but dot(x, w) and sum(x) is a per-unit constant of prepare.
 * (TFLM's per-channel path ignores the weight zero point, so w_off = 0.)
 */
#include <string.h>

#include "arith.h"
#include "operands.h"
#include "vec.h"

typedef struct {
    int32_t batches, accum, units;
    int32_t w_off;                 /* -weight zero point (per-tensor only) */
    int32_t x_off;                 /* -input zero point */
    int32_t mult;                  /* per-tensor multiplier */
    int16_t zp_out, lo, hi;
    int8_t shift;                  /* per-tensor shift */
    uint8_t per_channel;
    uint8_t w_at_eval;             /* weights not constant: fold per invoke */
    uint8_t bias_at_eval;
    uint8_t pad_[2];
    /* followed by int32 bias_eff[units]; per-channel: int32 mult[units],
     * int8 shift[units] */
} fc_data;

enum { IN_X = 0, IN_W = 1, IN_B = 2 };

static int fc_prepare(hnn_ctx *c)
{
    hnn_tinfo x, w, b, y;
    int rc;

    if ((rc = hnn_operands_filtered(c, "weights", &x, &w, &y)) != HNN_OK)
        return rc;

    int act = hnn_opt_u8(&c->opts, 0, HNN_ACT_NONE);
    int fmt = hnn_opt_u8(&c->opts, 1, 0);
    HNN_CHECK(c, fmt == 0, HNN_E_UNSUPPORTED_OP, "only the DEFAULT weights format is supported");

    HNN_CHECK(c, w.ndim == 2, HNN_E_SHAPE, "weights must be 2-D [units, depth]");
    int32_t units = w.dims[0], accum = w.dims[1];
    HNN_CHECK(c, units > 0 && accum > 0, HNN_E_SHAPE, "empty weights");
    HNN_CHECK(c, x.elems > 0 && x.elems % accum == 0, HNN_E_SHAPE,
              "input size is not a multiple of the weights depth");
    int32_t batches = x.elems / accum;
    HNN_CHECK(c, y.ndim >= 1 && y.dims[y.ndim - 1] == units && y.elems == (int64_t)batches * units,
              HNN_E_SHAPE, "output shape must be [batches..., units]");

    int per_channel = w.nq > 1;
    if (per_channel)
        HNN_CHECK(c, w.nq == units && w.qdim == 0, HNN_E_QUANT,
                  "per-channel weight scales must run along dimension 0, one per unit");
    int has_bias;
    if ((rc = hnn_operand_bias(c, units, &b, &has_bias)) != HNN_OK)
        return rc;

    int32_t pt_mult = 0;
    int pt_shift = 0;
    if (!per_channel) {
        /* GetQuantizedConvolutionMultipler: the bias scale must match
         * input_scale * weight_scale within 2% of an output step ... */
        if (has_bias) {
            double ips = (double)x.scale * (double)w.scale;
            double bs = b.nq ? (double)b.scale : 0.0;
            double diff = ips > bs ? ips - bs : bs - ips;
            HNN_CHECK(c, diff / (double)y.scale <= 0.02, HNN_E_QUANT,
                      "bias scale differs from input scale x weight scale");
        }
        /* ... and the multiplier uses the float product of the two scales */
        float ips_f = x.scale * w.scale;
        if ((rc = hnn_requant_multiplier(c, (double)ips_f / (double)y.scale, &pt_mult, &pt_shift)))
            return rc;
    }

    int32_t lo, hi;
    if ((rc = hnn_act_range_q8(c, act, &y, &lo, &hi)) != HNN_OK)
        return rc;

    size_t head = hnn_align4(sizeof(fc_data));
    c->data_bytes = head + (size_t)units * (per_channel ? 4 + 4 + 1 : 4);
    c->scratch_bytes = 0;

    fc_data *d = (fc_data *)c->data;
    int32_t *bias_eff = d ? (int32_t *)((uint8_t *)d + head) : NULL;
    int32_t *mult = d && per_channel ? bias_eff + units : NULL;
    int8_t *shift = d && per_channel ? (int8_t *)(mult + units) : NULL;
    if (per_channel &&
        (rc = hnn_requant_channels(c, x.scale, &w, y.scale, units, mult, shift)))
        return rc;
    if (!d)
        return HNN_OK;

    d->batches = batches; d->accum = accum; d->units = units;
    d->w_off = per_channel ? 0 : -w.zero_point;
    d->x_off = -x.zero_point;
    d->mult = pt_mult; d->shift = (int8_t)pt_shift;
    d->zp_out = (int16_t)y.zero_point; d->lo = (int16_t)lo; d->hi = (int16_t)hi;
    d->per_channel = (uint8_t)per_channel;
    d->w_at_eval = (uint8_t)(w.const_data == NULL);
    d->bias_at_eval = (uint8_t)(has_bias && !b.const_data);

    const int8_t *wt = (const int8_t *)w.const_data;
    for (int32_t u = 0; u < units; u++) {
        int64_t v = (int64_t)accum * d->w_off * d->x_off;
        if (wt)
            v += (int64_t)d->x_off * hnn_sum_i8(wt + (size_t)u * accum, accum);
        if (has_bias && b.const_data) {
            int32_t bv;
            memcpy(&bv, (const uint8_t *)b.const_data + 4 * (size_t)u, 4);
            v += bv;
        }
        bias_eff[u] = hnn_wrap32(v);
    }
    return HNN_OK;
}

static int fc_eval(hnn_ctx *c)
{
    const fc_data *d = (const fc_data *)c->data;
    size_t head = hnn_align4(sizeof(fc_data));
    const int32_t units = d->units, accum = d->accum;
    const int32_t *bias_eff = (const int32_t *)((const uint8_t *)d + head);
    const int32_t *mult = d->per_channel ? bias_eff + units : &d->mult;
    const int8_t *shift = d->per_channel ? (const int8_t *)(bias_eff + 2 * (size_t)units) : &d->shift;
    const int8_t *x = (const int8_t *)hnn_in_data(c, IN_X);
    const int8_t *w = (const int8_t *)hnn_in_data(c, IN_W);
    const int32_t *bias_rt = d->bias_at_eval ? (const int32_t *)hnn_in_data(c, IN_B) : NULL;
    int8_t *y = (int8_t *)hnn_out_data(c, 0);
    int32_t acc[HNN_VEC_BLOCK];

    for (int32_t bt = 0; bt < d->batches; bt++) {
        const int8_t *xr = x + (size_t)bt * accum;
        int8_t *yr = y + (size_t)bt * units;
        int32_t xsum = d->w_off ? d->w_off * hnn_sum_i8(xr, accum) : 0;
        for (int32_t u0 = 0; u0 < units; u0 += HNN_VEC_BLOCK) {
            int32_t nb = units - u0 < HNN_VEC_BLOCK ? units - u0 : HNN_VEC_BLOCK;
            const int8_t *wb = w + (size_t)u0 * accum;
            hnn_vec_gemv(xr, wb, (size_t)accum, accum, nb, 0, acc);
            for (int32_t j = 0; j < nb; j++) {
                acc[j] = hnn_add_wrap(acc[j], xsum);
                if (d->w_at_eval)
                    acc[j] = hnn_add_wrap(acc[j], hnn_wrap32((int64_t)d->x_off *
                                                   hnn_sum_i8(wb + (size_t)j * accum, accum)));
                if (bias_rt)
                    acc[j] = hnn_add_wrap(acc[j], bias_rt[u0 + j]);
            }
            hnn_vec_requant(acc, bias_eff + u0, d->per_channel ? mult + u0 : mult,
                            d->per_channel ? shift + u0 : shift, d->per_channel, nb,
                            d->zp_out, d->lo, d->hi, yr + u0);
        }
    }
    return HNN_OK;
}

const hnn_kernel hnn_k_fully_connected = {.name = "FULLY_CONNECTED", .prepare = fc_prepare,
                                          .eval = fc_eval};
