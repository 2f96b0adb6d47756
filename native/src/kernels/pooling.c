/*
 * pooling.c - AVERAGE_POOL_2D and MAX_POOL_2D on int8 NHWC tensors.
 * Bit-exact with TFLM's reference_integer_ops::AveragePool / MaxPool:
 * windows are clipped to the image (padding never counts), the average
 * rounds half away from zero, then the fused activation clamps.
 */
#include <math.h>
#include <string.h>

#include "operands.h"
#include "window.h"

#define BLOCK 64    /* channels accumulated at once (average) */

typedef struct {
    int32_t n, h, w, ch, oh, ow;
    int16_t kh, kw, sh, sw, ph, pw;
    int16_t lo, hi;
} pool_data;

static int pool_prepare(hnn_ctx *c)
{
    hnn_tinfo x, y;
    int rc;

    HNN_CHECK(c, c->n_in == 1 && c->n_out == 1, HNN_E_GRAPH, "pooling takes one input and one output");
    if ((rc = hnn_in_info(c, 0, &x)) || (rc = hnn_out_info(c, 0, &y)))
        return rc;
    if ((rc = hnn_operand_q8(c, &x, "input")) || (rc = hnn_operand_q8(c, &y, "output")))
        return rc;
    HNN_CHECK(c, x.ndim == 4 && y.ndim == 4, HNN_E_SHAPE, "pooling needs 4-D NHWC tensors");
    /* TFLM: the op may not requantize */
    HNN_CHECK(c, fabs((double)x.scale - (double)y.scale) <= 1.0e-6 && x.zero_point == y.zero_point,
              HNN_E_QUANT, "input and output quantization must match");

    int pad = hnn_opt_u8(&c->opts, 0, HNN_PAD_SAME);
    int32_t sw = hnn_opt_i32(&c->opts, 1, 0), sh = hnn_opt_i32(&c->opts, 2, 0);
    int32_t fw = hnn_opt_i32(&c->opts, 3, 0), fh = hnn_opt_i32(&c->opts, 4, 0);
    int act = hnn_opt_u8(&c->opts, 5, HNN_ACT_NONE);
    HNN_CHECK(c, fw >= 1 && fh >= 1 && fw <= HNN_WINDOW_MAX_DIM && fh <= HNN_WINDOW_MAX_DIM,
              HNN_E_SHAPE, "filter size must be in [1, 32767]");

    int32_t n = x.dims[0], h = x.dims[1], wd = x.dims[2], ch = x.dims[3];
    HNN_CHECK(c, n > 0 && h > 0 && wd > 0 && ch > 0, HNN_E_SHAPE, "empty input");
    hnn_window_geom g;
    if ((rc = hnn_window(c, pad, h, wd, fh, fw, sh, sw, 1, 1, &g)) != HNN_OK)
        return rc;
    int32_t oh = g.oh, ow = g.ow, ph = g.ph, pw = g.pw;
    HNN_CHECK(c, y.dims[0] == n && y.dims[1] == oh && y.dims[2] == ow && y.dims[3] == ch,
              HNN_E_SHAPE, "output shape does not match input, filter, strides and padding");
    /* SAME padding is always smaller than the filter, so every window keeps
     * at least one pixel: the average never divides by zero */
    HNN_CHECK(c, ph < fh && pw < fw, HNN_E_SHAPE, "padding swallows a whole window");

    int32_t lo, hi;
    if ((rc = hnn_act_range_q8(c, act, &y, &lo, &hi)) != HNN_OK)
        return rc;

    c->data_bytes = sizeof(pool_data);
    c->scratch_bytes = 0;
    pool_data *d = (pool_data *)c->data;
    if (!d)
        return HNN_OK;
    d->n = n; d->h = h; d->w = wd; d->ch = ch; d->oh = oh; d->ow = ow;
    d->kh = (int16_t)fh; d->kw = (int16_t)fw; d->sh = (int16_t)sh; d->sw = (int16_t)sw;
    d->ph = (int16_t)ph; d->pw = (int16_t)pw; d->lo = (int16_t)lo; d->hi = (int16_t)hi;
    return HNN_OK;
}

static int pool_eval_avg(hnn_ctx *c)
{
    const pool_data *d = (const pool_data *)c->data;
    const int8_t *x = (const int8_t *)hnn_in_data(c, 0);
    int8_t *y = (int8_t *)hnn_out_data(c, 0);
    const int32_t ch = d->ch;
    int32_t acc[BLOCK];

    for (int32_t b = 0; b < d->n; b++) {
        const int8_t *xb = x + (size_t)b * d->h * d->w * ch;
        for (int32_t oy = 0; oy < d->oh; oy++) {
            int32_t iy0 = oy * d->sh - d->ph, ky_lo, ky_hi;
            hnn_window_taps(iy0, 1, d->kh, d->h, &ky_lo, &ky_hi);
            for (int32_t ox = 0; ox < d->ow; ox++) {
                int32_t ix0 = ox * d->sw - d->pw, kx_lo, kx_hi;
                hnn_window_taps(ix0, 1, d->kw, d->w, &kx_lo, &kx_hi);
                int32_t count = (ky_hi - ky_lo) * (kx_hi - kx_lo);
                int8_t *yp = y + (((size_t)b * d->oh + oy) * d->ow + ox) * ch;
                for (int32_t c0 = 0; c0 < ch; c0 += BLOCK) {
                    int32_t nb = ch - c0 < BLOCK ? ch - c0 : BLOCK;
                    for (int32_t j = 0; j < nb; j++)
                        acc[j] = 0;
                    for (int32_t ky = ky_lo; ky < ky_hi; ky++) {
                        /* first valid pixel of the row: ix0 may be negative */
                        const int8_t *xr =
                            xb + ((size_t)(iy0 + ky) * d->w + (ix0 + kx_lo)) * ch + c0;
                        for (int32_t kx = 0; kx < kx_hi - kx_lo; kx++) {
                            const int8_t *xp = xr + (size_t)kx * ch;
                            for (int32_t j = 0; j < nb; j++)
                                acc[j] += xp[j];
                        }
                    }
                    for (int32_t j = 0; j < nb; j++) {
                        int32_t a = acc[j];
                        a = a > 0 ? (a + count / 2) / count : (a - count / 2) / count;
                        a = a < d->lo ? d->lo : a;
                        a = a > d->hi ? d->hi : a;
                        yp[c0 + j] = (int8_t)a;
                    }
                }
            }
        }
    }
    return HNN_OK;
}

static int pool_eval_max(hnn_ctx *c)
{
    const pool_data *d = (const pool_data *)c->data;
    const int8_t *x = (const int8_t *)hnn_in_data(c, 0);
    int8_t *y = (int8_t *)hnn_out_data(c, 0);
    const int32_t ch = d->ch;
    const int8_t lo = (int8_t)d->lo, hi = (int8_t)d->hi;

    for (int32_t b = 0; b < d->n; b++) {
        const int8_t *xb = x + (size_t)b * d->h * d->w * ch;
        for (int32_t oy = 0; oy < d->oh; oy++) {
            int32_t iy0 = oy * d->sh - d->ph, ky_lo, ky_hi;
            hnn_window_taps(iy0, 1, d->kh, d->h, &ky_lo, &ky_hi);
            for (int32_t ox = 0; ox < d->ow; ox++) {
                int32_t ix0 = ox * d->sw - d->pw, kx_lo, kx_hi;
                hnn_window_taps(ix0, 1, d->kw, d->w, &kx_lo, &kx_hi);
                int8_t *yp = y + (((size_t)b * d->oh + oy) * d->ow + ox) * ch;
                /* the output pixel itself is the running maximum; the
                 * input is a different tensor, so no aliasing */
                for (int32_t j = 0; j < ch; j++)
                    yp[j] = lo;  /* max(-128, lo) == lo: start at the clamp floor */
                for (int32_t ky = ky_lo; ky < ky_hi; ky++) {
                    const int8_t *xr = xb + ((size_t)(iy0 + ky) * d->w + (ix0 + kx_lo)) * ch;
                    for (int32_t kx = 0; kx < kx_hi - kx_lo; kx++) {
                        const int8_t *xp = xr + (size_t)kx * ch;
                        for (int32_t j = 0; j < ch; j++)
                            yp[j] = xp[j] > yp[j] ? xp[j] : yp[j];
                    }
                }
                for (int32_t j = 0; j < ch; j++)
                    yp[j] = yp[j] > hi ? hi : yp[j];
            }
        }
    }
    return HNN_OK;
}

const hnn_kernel hnn_k_average_pool_2d = {.name = "AVERAGE_POOL_2D", .prepare = pool_prepare,
                                          .eval = pool_eval_avg};
const hnn_kernel hnn_k_max_pool_2d = {.name = "MAX_POOL_2D", .prepare = pool_prepare,
                                      .eval = pool_eval_max};
