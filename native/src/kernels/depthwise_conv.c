/*
 * depthwise_conv.c - DEPTHWISE_CONV_2D, int8 (per-tensor or per-channel
 * filter scales), optional int32 bias, any depth_multiplier. Bit-exact with
 * TFLM's reference_integer_ops::DepthwiseConvPerChannel.
 *
 * Channels are the innermost loop (NHWC keeps them contiguous in input,
 * filter and output), accumulated in a block on the stack with the vector
 * primitives of vec.h.
 */
#include <string.h>

#include "operands.h"
#include "vec.h"
#include "window.h"

typedef struct {
    int32_t n, h, w, ic;
    int32_t oh, ow, oc;
    int32_t kh, kw, dm;
    int16_t sh, sw, dh, dw, ph, pw;
    int16_t zp_in, zp_out, lo, hi;
    uint8_t has_bias;
    uint8_t pad_[3];
    /* followed by int32 mult[oc], int8 shift[oc] */
} dw_data;

enum { IN_X = 0, IN_W = 1, IN_B = 2 };

static int dw_prepare(hnn_ctx *c)
{
    hnn_tinfo x, w, b, y;
    int rc;

    if ((rc = hnn_operands_filtered(c, "filter", &x, &w, &y)) != HNN_OK)
        return rc;
    HNN_CHECK(c, x.ndim == 4 && w.ndim == 4 && y.ndim == 4, HNN_E_SHAPE,
              "input, filter and output must be 4-D (NHWC, 1HWO)");
    HNN_CHECK(c, w.const_data != NULL, HNN_E_UNSUPPORTED_TYPE, "filter must be a constant tensor");

    int pad = hnn_opt_u8(&c->opts, 0, HNN_PAD_SAME);
    int32_t sw = hnn_opt_i32(&c->opts, 1, 0), sh = hnn_opt_i32(&c->opts, 2, 0);
    int32_t dm = hnn_opt_i32(&c->opts, 3, 0);
    int act = hnn_opt_u8(&c->opts, 4, HNN_ACT_NONE);
    int32_t dw = hnn_opt_i32(&c->opts, 5, 1), dh = hnn_opt_i32(&c->opts, 6, 1);
    int32_t n = x.dims[0], h = x.dims[1], wd = x.dims[2], ic = x.dims[3];
    int32_t kh = w.dims[1], kw = w.dims[2], oc = w.dims[3];
    HNN_CHECK(c, n > 0 && h > 0 && wd > 0 && ic > 0 && oc > 0 && kh > 0 && kw > 0,
              HNN_E_SHAPE, "empty input or filter");
    HNN_CHECK(c, w.dims[0] == 1, HNN_E_SHAPE, "depthwise filter must be [1, kh, kw, channels]");
    HNN_CHECK(c, kh <= HNN_WINDOW_MAX_DIM && kw <= HNN_WINDOW_MAX_DIM, HNN_E_LIMIT, "filter too large");
    HNN_CHECK(c, dm >= 1 && (int64_t)ic * dm == oc, HNN_E_SHAPE,
              "filter channels must equal input channels x depth_multiplier");

    hnn_window_geom g;
    if ((rc = hnn_window(c, pad, h, wd, kh, kw, sh, sw, dh, dw, &g)) != HNN_OK)
        return rc;
    int32_t oh = g.oh, ow = g.ow, ph = g.ph, pw = g.pw;
    HNN_CHECK(c, y.dims[0] == n && y.dims[1] == oh && y.dims[2] == ow && y.dims[3] == oc,
              HNN_E_SHAPE, "output shape does not match input, filter, strides and padding");

    if (w.nq > 1)
        HNN_CHECK(c, w.nq == oc && w.qdim == 3, HNN_E_QUANT,
                  "per-channel filter scales must run along dimension 3, one per output channel");
    /* TFLM insists on as many zero points as scales for depthwise filters */
    HNN_CHECK(c, w.nzp == w.nq, HNN_E_QUANT, "filter needs as many zero points as scales");
    int has_bias;
    if ((rc = hnn_operand_bias(c, oc, &b, &has_bias)) != HNN_OK)
        return rc;

    int32_t lo, hi;
    if ((rc = hnn_act_range_q8(c, act, &y, &lo, &hi)) != HNN_OK)
        return rc;

    size_t head = hnn_align4(sizeof(dw_data));
    c->data_bytes = head + (size_t)oc * (4 + 1);
    c->scratch_bytes = 0;

    dw_data *d = (dw_data *)c->data;
    int32_t *mult = d ? (int32_t *)((uint8_t *)d + head) : NULL;
    int8_t *shift = d ? (int8_t *)(mult + oc) : NULL;
    if ((rc = hnn_requant_channels(c, x.scale, &w, y.scale, oc, mult, shift)) != HNN_OK)
        return rc;
    if (!d)
        return HNN_OK;

    d->n = n; d->h = h; d->w = wd; d->ic = ic;
    d->oh = oh; d->ow = ow; d->oc = oc;
    d->kh = kh; d->kw = kw; d->dm = dm;
    d->sh = (int16_t)sh; d->sw = (int16_t)sw; d->dh = (int16_t)dh; d->dw = (int16_t)dw;
    d->ph = (int16_t)ph; d->pw = (int16_t)pw;
    d->zp_in = (int16_t)x.zero_point; d->zp_out = (int16_t)y.zero_point;
    d->lo = (int16_t)lo; d->hi = (int16_t)hi;
    d->has_bias = (uint8_t)has_bias;

    return HNN_OK;
}

#define TAPS 32      /* taps gathered per accumulation pass */

static int dw_eval(hnn_ctx *c)
{
    const dw_data *d = (const dw_data *)c->data;
    size_t head = hnn_align4(sizeof(dw_data));
    const int32_t *mult = (const int32_t *)((const uint8_t *)d + head);
    const int8_t *shift = (const int8_t *)(mult + d->oc);
    const int8_t *x = (const int8_t *)hnn_in_data(c, IN_X);
    const int8_t *w = (const int8_t *)hnn_in_data(c, IN_W);
    /* the bias is read in place (model constant or runtime tensor) */
    const int32_t *bias = d->has_bias ? (const int32_t *)hnn_in_data(c, IN_B) : NULL;
    const int32_t xoff = -(int32_t)d->zp_in;
    int8_t *y = (int8_t *)hnn_out_data(c, 0);
    const int32_t oc = d->oc, dm = d->dm, taps = d->kh * d->kw;
    const int32_t H = d->h, W = d->w, IC = d->ic, KW = d->kw, DW = d->dw;
    const int64_t step_x = (int64_t)DW * IC;
    /* from past the last tap of a filter row to the first of the next */
    const int64_t step_y = ((int64_t)d->dh * W - (int64_t)KW * DW) * IC;
    int32_t acc[HNN_VEC_BLOCK];
    const int8_t *xt[TAPS];

    for (int32_t b = 0; b < d->n; b++) {
        const int8_t *xb = x + (size_t)b * d->h * d->w * d->ic;
        for (int32_t oy = 0; oy < d->oh; oy++) {
            int32_t iy0 = oy * d->sh - d->ph;
            for (int32_t ox = 0; ox < d->ow; ox++) {
                int32_t ix0 = ox * d->sw - d->pw;
                int full = iy0 >= 0 && iy0 + (d->kh - 1) * d->dh < H && ix0 >= 0 &&
                           ix0 + (KW - 1) * DW < W;
                int8_t *yp = y + (((size_t)b * d->oh + oy) * d->ow + ox) * oc;
                for (int32_t c0 = 0; c0 < oc; c0 += HNN_VEC_BLOCK) {
                    int32_t nb = oc - c0 < HNN_VEC_BLOCK ? oc - c0 : HNN_VEC_BLOCK;
                    for (int32_t t0 = 0; t0 < taps; t0 += TAPS) {
                        int32_t nt = taps - t0 < TAPS ? taps - t0 : TAPS;
                        /* input pixel of each tap; NULL outside the image */
                        int32_t ky = t0 / d->kw, kx = t0 - ky * d->kw;
                        int32_t iy = iy0 + ky * d->dh, ix = ix0 + kx * DW;
                        int row_in = iy >= 0 && iy < H;
                        /* element offset of (iy, ix), kept as an integer so
                         * no pointer is formed outside the image */
                        int64_t off = ((int64_t)iy * W + ix) * IC;
                        if (full) {
                            /* the usual case: no tap leaves the image */
                            for (int32_t t = 0; t < nt; t++) {
                                xt[t] = xb + (size_t)off;
                                off += step_x;
                                if (++kx == KW) {
                                    kx = 0;
                                    off += step_y;
                                }
                            }
                        } else {
                            for (int32_t t = 0; t < nt; t++) {
                                xt[t] = row_in && ix >= 0 && ix < W ? xb + (size_t)off : NULL;
                                ix += DW;
                                off += step_x;
                                if (++kx == KW) {
                                    kx = 0;
                                    iy += d->dh;
                                    ix = ix0;
                                    row_in = iy >= 0 && iy < H;
                                    off = ((int64_t)iy * W + ix0) * IC;
                                }
                            }
                        }
                        const int8_t *wt = w + (size_t)t0 * oc + c0;
                        if (dm == 1) {
                            hnn_vec_dw_accum(acc, xt, (size_t)c0, wt, (size_t)oc, nt, xoff, nb,
                                             t0 > 0);
                            continue;
                        }
                        if (t0 == 0)
                            for (int32_t j = 0; j < nb; j++)
                                acc[j] = 0;
                        for (int32_t t = 0; t < nt; t++, wt += oc)
                            for (int32_t j = 0; j < nb; j++)
                                acc[j] += (xt[t] ? xt[t][(c0 + j) / dm] + xoff : 0) * wt[j];
                    }
                    hnn_vec_requant(acc, bias ? bias + c0 : NULL, mult + c0, shift + c0, 1, nb,
                                    d->zp_out, d->lo, d->hi, yp + c0);
                }
            }
        }
    }
    return HNN_OK;
}

const hnn_kernel hnn_k_depthwise_conv_2d = {.name = "DEPTHWISE_CONV_2D", .prepare = dw_prepare,
                                            .eval = dw_eval};
