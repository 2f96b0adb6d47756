/*
 * window.h - geometry of the windowed ops over an NHWC image (CONV_2D,
 * DEPTHWISE_CONV_2D, AVERAGE/MAX_POOL_2D): output size, padding and the
 * taps of a window that fall inside the image (TFLite's padding.h).
 */
#ifndef HEARTH_KERNELS_WINDOW_H
#define HEARTH_KERNELS_WINDOW_H

#include <stdint.h>
#include "kernel.h"

/* Largest spatial window side and dimension we accept; keeps every index
 * product of an accepted shape inside int32. */
#define HNN_WINDOW_MAX_DIM 0x7fff

/* Geometry of a windowed op over an NHWC image (CONV_2D, DEPTHWISE_CONV_2D,
 * pooling). hnn_window checks the padding kind, strides, dilations and
 * image size, and gives the output size and the leading padding; the
 * filter size and the output shape stay each kernel's own checks. */
typedef struct {
    int32_t oh, ow, ph, pw;
} hnn_window_geom;
int hnn_window(hnn_ctx *c, int padding, int32_t h, int32_t w, int32_t kh, int32_t kw,
               int32_t sh, int32_t sw, int32_t dh, int32_t dw, hnn_window_geom *g);

/* Output size of a windowed op (TFLite ComputeOutSize); <= 0 if none. */
int hnn_window_out_size(int padding, int32_t in, int32_t filter, int32_t stride,
                        int32_t dilation);
/* Leading padding (TFLite ComputePaddingWithOffset, offset dropped). */
int32_t hnn_window_padding(int32_t stride, int32_t dilation, int32_t in,
                           int32_t filter, int32_t out);


/* ceil(a / b) for b > 0 and any sign of a. */
static inline int32_t hnn_ceil_div(int32_t a, int32_t b)
{
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

/* Taps k in [0, k_n) with 0 <= origin + k * dil < size: [*lo, *hi). */
static inline void hnn_window_taps(int32_t origin, int32_t dil, int32_t k_n,
                                   int32_t size, int32_t *lo, int32_t *hi)
{
    int32_t a = origin < 0 ? hnn_ceil_div(-origin, dil) : 0;
    int32_t b = hnn_ceil_div(size - origin, dil);
    if (b > k_n)
        b = k_n;
    if (a > b)
        a = b;
    *lo = a;
    *hi = b;
}

#endif /* HEARTH_KERNELS_WINDOW_H */
