/*
 * conv.c - CONV_2D, int8 activations and weights (per-tensor or per-channel),
 * int32 bias. Bit-exact with TFLM's reference_integer_ops::ConvPerChannel
 * (grouped convolution included); see vec.h for the input offset.
 */
#include <string.h>

#include "operands.h"
#include "vec.h"
#include "window.h"

typedef struct {
    int32_t n, h, w, ic;           /* input NHWC */
    int32_t oh, ow, oc;            /* output */
    int32_t kh, kw, fic;           /* filter [oc, kh, kw, fic] */
    int32_t groups, oc_per_group;
    int16_t sh, sw, dh, dw, ph, pw;
    int16_t zp_in, zp_out, lo, hi;
    uint8_t has_bias;
    uint8_t contiguous;            /* a full window is one run of the input */
    uint8_t all_full;              /* no window reaches outside the image */
    uint8_t pad_;
    /* followed by int32 mult[oc], int8 shift[oc] */
} conv_data;

enum { IN_X = 0, IN_W = 1, IN_B = 2 };

static int conv_prepare(hnn_ctx *c)
{
    hnn_tinfo x, w, b, y;
    int rc;

    if ((rc = hnn_operands_filtered(c, "filter", &x, &w, &y)) != HNN_OK)
        return rc;
    HNN_CHECK(c, x.ndim == 4 && w.ndim == 4 && y.ndim == 4, HNN_E_SHAPE,
              "input, filter and output must be 4-D (NHWC, OHWI)");
    HNN_CHECK(c, w.const_data != NULL, HNN_E_UNSUPPORTED_TYPE, "filter must be a constant tensor");

    int pad = hnn_opt_u8(&c->opts, 0, HNN_PAD_SAME);
    int32_t sw = hnn_opt_i32(&c->opts, 1, 0), sh = hnn_opt_i32(&c->opts, 2, 0);
    int act = hnn_opt_u8(&c->opts, 3, HNN_ACT_NONE);
    int32_t dw = hnn_opt_i32(&c->opts, 4, 1), dh = hnn_opt_i32(&c->opts, 5, 1);
    int32_t n = x.dims[0], h = x.dims[1], wd = x.dims[2], ic = x.dims[3];
    int32_t oc = w.dims[0], kh = w.dims[1], kw = w.dims[2], fic = w.dims[3];
    HNN_CHECK(c, n > 0 && h > 0 && wd > 0 && ic > 0 && oc > 0 && kh > 0 && kw > 0 && fic > 0,
              HNN_E_SHAPE, "empty input or filter");
    HNN_CHECK(c, kh <= HNN_WINDOW_MAX_DIM && kw <= HNN_WINDOW_MAX_DIM, HNN_E_LIMIT, "filter too large");
    HNN_CHECK(c, ic % fic == 0, HNN_E_SHAPE, "input depth is not a multiple of the filter depth");
    int32_t groups = ic / fic;
    HNN_CHECK(c, oc % groups == 0, HNN_E_SHAPE, "output channels not divisible by groups");
    HNN_CHECK(c, (int64_t)kh * kw * fic <= 0x7fffffff, HNN_E_LIMIT, "filter too large");

    hnn_window_geom g;
    if ((rc = hnn_window(c, pad, h, wd, kh, kw, sh, sw, dh, dw, &g)) != HNN_OK)
        return rc;
    int32_t oh = g.oh, ow = g.ow, ph = g.ph, pw = g.pw;
    HNN_CHECK(c, y.dims[0] == n && y.dims[1] == oh && y.dims[2] == ow && y.dims[3] == oc,
              HNN_E_SHAPE, "output shape does not match input, filter, strides and padding");

    if (w.nq > 1) {
        HNN_CHECK(c, w.nq == oc && w.qdim == 0, HNN_E_QUANT,
                  "per-channel filter scales must run along dimension 0, one per output channel");
    }
    int has_bias;
    if ((rc = hnn_operand_bias(c, oc, &b, &has_bias)) != HNN_OK)
        return rc;

    int32_t lo, hi;
    if ((rc = hnn_act_range_q8(c, act, &y, &lo, &hi)) != HNN_OK)
        return rc;

    /* a full window is a single run of the input when the filter rows are
     * whole image rows (or there is one row) and no group or dilation
     * skips channels or pixels; otherwise eval gathers it into scratch */
    int contiguous = groups == 1 && dw == 1 && (kh == 1 || (dh == 1 && kw == wd));
    int all_full = (int64_t)(oh - 1) * sh + (int64_t)(kh - 1) * dh + 1 - ph <= h &&
                   (int64_t)(ow - 1) * sw + (int64_t)(kw - 1) * dw + 1 - pw <= wd &&
                   ph == 0 && pw == 0;
    size_t head = hnn_align4(sizeof(conv_data));
    c->data_bytes = head + (size_t)oc * (4 + 1);
    c->scratch_bytes = contiguous && all_full ? 0 : (size_t)kh * kw * fic;

    conv_data *d = (conv_data *)c->data;
    int32_t *mult = d ? (int32_t *)((uint8_t *)d + head) : NULL;
    int8_t *shift = d ? (int8_t *)(mult + oc) : NULL;
    if ((rc = hnn_requant_channels(c, x.scale, &w, y.scale, oc, mult, shift)) != HNN_OK)
        return rc;
    if (!d)
        return HNN_OK;

    d->n = n; d->h = h; d->w = wd; d->ic = ic;
    d->oh = oh; d->ow = ow; d->oc = oc;
    d->kh = kh; d->kw = kw; d->fic = fic;
    d->groups = groups; d->oc_per_group = oc / groups;
    d->sh = (int16_t)sh; d->sw = (int16_t)sw; d->dh = (int16_t)dh; d->dw = (int16_t)dw;
    d->ph = (int16_t)ph; d->pw = (int16_t)pw;
    d->zp_in = (int16_t)x.zero_point; d->zp_out = (int16_t)y.zero_point;
    d->lo = (int16_t)lo; d->hi = (int16_t)hi;
    d->has_bias = (uint8_t)has_bias;
    d->contiguous = (uint8_t)contiguous;
    d->all_full = (uint8_t)all_full;

    return HNN_OK;
}

/* Gathers the window of one output pixel (group g) into patch, in filter
 * order [ky][kx][channel]; taps outside the image read as the input zero
 * point (see vec.h). */
static void gather(const conv_data *d, const int8_t *xb, int32_t iy0, int32_t ix0, int32_t g,
                   int8_t *patch, int full)
{
    int8_t zp = (int8_t)d->zp_in;
    if (full && d->groups == 1 && d->dw == 1) {
        /* each filter row is one run of kw pixels in the image */
        size_t run = (size_t)d->kw * d->ic;
        for (int32_t ky = 0; ky < d->kh; ky++)
            memcpy(patch + ky * run, xb + ((size_t)(iy0 + ky * d->dh) * d->w + ix0) * d->ic, run);
        return;
    }
    for (int32_t ky = 0; ky < d->kh; ky++) {
        int32_t iy = iy0 + ky * d->dh;
        for (int32_t kx = 0; kx < d->kw; kx++) {
            int32_t ix = ix0 + kx * d->dw;
            int8_t *dst = patch + ((size_t)ky * d->kw + kx) * d->fic;
            if (iy >= 0 && iy < d->h && ix >= 0 && ix < d->w)
                memcpy(dst, xb + ((size_t)iy * d->w + ix) * d->ic + (size_t)g * d->fic,
                       (size_t)d->fic);
            else
                memset(dst, zp, (size_t)d->fic);
        }
    }
}

static int conv_eval(hnn_ctx *c)
{
    const conv_data *d = (const conv_data *)c->data;
    size_t head = hnn_align4(sizeof(conv_data));
    const int32_t *mult = (const int32_t *)((const uint8_t *)d + head);
    const int8_t *shift = (const int8_t *)(mult + d->oc);
    const int8_t *x = (const int8_t *)hnn_in_data(c, IN_X);
    const int8_t *w = (const int8_t *)hnn_in_data(c, IN_W);
    /* the bias is read in place (model constant or runtime tensor) */
    const int32_t *bias = d->has_bias ? (const int32_t *)hnn_in_data(c, IN_B) : NULL;
    const int32_t xoff = -(int32_t)d->zp_in;
    int8_t *y = (int8_t *)hnn_out_data(c, 0);
    int8_t *patch = (int8_t *)c->scratch;
    const int32_t taps = d->kh * d->kw * d->fic;
    int32_t acc[HNN_VEC_BLOCK];

    for (int32_t b = 0; b < d->n; b++) {
        const int8_t *xb = x + (size_t)b * d->h * d->w * d->ic;
        for (int32_t oy = 0; oy < d->oh; oy++) {
            int32_t iy0 = oy * d->sh - d->ph, ky_lo, ky_hi;
            hnn_window_taps(iy0, d->dh, d->kh, d->h, &ky_lo, &ky_hi);
            for (int32_t ox = 0; ox < d->ow; ox++) {
                int32_t ix0 = ox * d->sw - d->pw, kx_lo, kx_hi;
                hnn_window_taps(ix0, d->dw, d->kw, d->w, &kx_lo, &kx_hi);
                int full = d->all_full ||
                           (ky_lo == 0 && ky_hi == d->kh && kx_lo == 0 && kx_hi == d->kw);
                int8_t *yp = y + (((size_t)b * d->oh + oy) * d->ow + ox) * d->oc;
                for (int32_t g = 0; g < d->groups; g++) {
                    const int8_t *win;
                    if (full && d->contiguous) {
                        win = xb + ((size_t)iy0 * d->w + ix0) * d->ic;
                    } else {
                        gather(d, xb, iy0, ix0, g, patch, full);
                        win = patch;
                    }
                    int32_t o_end = (g + 1) * d->oc_per_group;
                    for (int32_t o0 = g * d->oc_per_group; o0 < o_end; o0 += HNN_VEC_BLOCK) {
                        int32_t nb = o_end - o0 < HNN_VEC_BLOCK ? o_end - o0 : HNN_VEC_BLOCK;
                        hnn_vec_gemv(win, w + (size_t)o0 * taps, (size_t)taps, taps, nb, xoff, acc);
                        hnn_vec_requant(acc, bias ? bias + o0 : NULL, mult + o0, shift + o0, 1, nb,
                                        d->zp_out, d->lo, d->hi, yp + o0);
                    }
                }
            }
        }
    }
    return HNN_OK;
}

const hnn_kernel hnn_k_conv_2d = {.name = "CONV_2D", .prepare = conv_prepare, .eval = conv_eval};
