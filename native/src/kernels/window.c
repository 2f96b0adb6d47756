/*
 * window.c - geometry of the windowed ops (CONV_2D, DEPTHWISE_CONV_2D,
 * pooling): TFLite's padding.h semantics; see window.h.
 */
#include "window.h"

int hnn_window_out_size(int padding, int32_t in, int32_t filter, int32_t stride,
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

int32_t hnn_window_padding(int32_t stride, int32_t dilation, int32_t in,
                           int32_t filter, int32_t out)
{
    int64_t eff = (int64_t)(filter - 1) * dilation + 1;
    int64_t total = ((int64_t)out - 1) * stride + eff - in;
    return total > 0 ? (int32_t)(total / 2) : 0;
}

int hnn_window(hnn_ctx *c, int padding, int32_t h, int32_t w, int32_t kh, int32_t kw,
               int32_t sh, int32_t sw, int32_t dh, int32_t dw, hnn_window_geom *g)
{
    HNN_CHECK(c, padding == HNN_PAD_SAME || padding == HNN_PAD_VALID, HNN_E_UNSUPPORTED_OP,
              "unknown padding");
    HNN_CHECK(c, sw >= 1 && sh >= 1 && sw <= HNN_WINDOW_MAX_DIM && sh <= HNN_WINDOW_MAX_DIM,
              HNN_E_SHAPE, "strides must be in [1, 32767]");
    HNN_CHECK(c, dw >= 1 && dh >= 1 && dw <= HNN_WINDOW_MAX_DIM && dh <= HNN_WINDOW_MAX_DIM,
              HNN_E_SHAPE, "dilations must be in [1, 32767]");
    HNN_CHECK(c, h <= 0x3fffffff / 2 && w <= 0x3fffffff / 2, HNN_E_LIMIT, "image too large");
    g->oh = hnn_window_out_size(padding, h, kh, sh, dh);
    g->ow = hnn_window_out_size(padding, w, kw, sw, dw);
    HNN_CHECK(c, g->oh > 0 && g->ow > 0, HNN_E_SHAPE, "filter larger than the (VALID-padded) input");
    g->ph = hnn_window_padding(sh, dh, h, kh, g->oh);
    g->pw = hnn_window_padding(sw, dw, w, kw, g->ow);
    HNN_CHECK(c, g->ph <= HNN_WINDOW_MAX_DIM && g->pw <= HNN_WINDOW_MAX_DIM, HNN_E_LIMIT,
              "padding too large");
    return HNN_OK;
}
