/*
 * conv_util.h - helpers shared by the int8 arithmetic kernels (CONV_2D,
 * DEPTHWISE_CONV_2D, FULLY_CONNECTED, pooling, ADD, MUL).
 *
 * The arithmetic is TFLite Micro's reference int8 arithmetic; the loops are
 * ours. CONV_2D and DEPTHWISE_CONV_2D accumulate sum(w * (x - zp_in)) over
 * the taps inside the image, exactly as TFLM does: the SIMD paths widen x to
 * int16 anyway, so adding the input offset there is one vector add per 16
 * inputs, and it keeps the per-channel op data to the multiplier and shift
 * (5 bytes a channel; the bias is read from the model). A tap outside the
 * image contributes nothing (gathered windows pad with zp_in, which the
 * offset cancels). All of it is exact in wrapping 32-bit arithmetic, the same
 * wrap TFLM's int32 accumulator has. FULLY_CONNECTED folds its offsets into
 * a per-unit constant instead (it has one unit per output, not per pixel).
 */
#ifndef HEARTH_CONV_UTIL_H
#define HEARTH_CONV_UTIL_H

#include <stdint.h>
#include "kernel.h"
#include "quant.h"

/* Largest spatial window side and dimension we accept; keeps every index
 * product of an accepted shape inside int32. */
#define HNN_KA_MAX_DIM 0x7fff

/* Geometry of a windowed op over an NHWC image (CONV_2D, DEPTHWISE_CONV_2D,
 * pooling). hnn_ka_window checks the padding kind, strides, dilations and
 * image size, and gives the output size and the leading padding; the
 * filter size and the output shape stay each kernel's own checks. */
typedef struct {
    int32_t oh, ow, ph, pw;
} hnn_ka_geom;
int hnn_ka_window(hnn_ctx *c, int padding, int32_t h, int32_t w, int32_t kh, int32_t kw,
                  int32_t sh, int32_t sw, int32_t dh, int32_t dw, hnn_ka_geom *g);

/* Output size of a windowed op (TFLite ComputeOutSize); <= 0 if none. */
int hnn_ka_out_size(int padding, int32_t in, int32_t filter, int32_t stride,
                    int32_t dilation);
/* Leading padding (TFLite ComputePaddingWithOffset, offset dropped). */
int32_t hnn_ka_padding(int32_t stride, int32_t dilation, int32_t in,
                       int32_t filter, int32_t out);

/* Checks that t is an int8 tensor quantized with a positive finite scale
 * and an in-range zero point (per-tensor use: first scale / zero point). */
int hnn_ka_check_q8(hnn_ctx *c, const hnn_tinfo *t, const char *what);

/* Per-channel requantization of a convolution-like op: for channel k,
 * real = s_in * s_filter[k or 0] / s_out (double), as TFLM computes it.
 * Stores into mult/shift when non-NULL; fails on absurd scales. */
int hnn_ka_channel_multipliers(hnn_ctx *c, float s_in, const hnn_tinfo *filt,
                               float s_out, int32_t n, int32_t *mult,
                               int8_t *shift);

/* hnn_quantize_multiplier plus the range our hnn_mbqm handles. */
int hnn_ka_multiplier(hnn_ctx *c, double real, int32_t *mult, int *shift);

/* Activation clamp range of an int8 output (fails on unsupported act). */
int hnn_ka_act_range(hnn_ctx *c, int act, const hnn_tinfo *out, int32_t *lo,
                     int32_t *hi);

/* Bytes rounded up so arrays after a header stay 4-byte aligned. */
static inline size_t hnn_ka_align4(size_t n) { return (n + 3u) & ~(size_t)3u; }

/* ceil(a / b) for b > 0 and any sign of a. */
static inline int32_t hnn_ka_ceil_div(int32_t a, int32_t b)
{
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

/* Taps k in [0, k_n) with 0 <= origin + k * dil < size: [*lo, *hi). */
static inline void hnn_ka_valid_taps(int32_t origin, int32_t dil, int32_t k_n,
                                     int32_t size, int32_t *lo, int32_t *hi)
{
    int32_t a = origin < 0 ? hnn_ka_ceil_div(-origin, dil) : 0;
    int32_t b = hnn_ka_ceil_div(size - origin, dil);
    if (b > k_n)
        b = k_n;
    if (a > b)
        a = b;
    *lo = a;
    *hi = b;
}

/* sum(a[i] * b[i]): written so gcc -O3 vectorizes it (int8 -> int32). */
static inline int32_t hnn_ka_dot(const int8_t *a, const int8_t *b, int32_t n)
{
    int32_t acc = 0;
    for (int32_t i = 0; i < n; i++)
        acc += (int32_t)a[i] * (int32_t)b[i];
    return acc;
}

/* sum(b[i]) */
static inline int32_t hnn_ka_sum(const int8_t *b, int32_t n)
{
    int32_t acc = 0;
    for (int32_t i = 0; i < n; i++)
        acc += b[i];
    return acc;
}

/* a + b with the wrap of TFLM's int32 arithmetic (no C signed overflow). */
static inline int32_t hnn_ka_add_wrap(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

/* Requantize one accumulator to int8 (TFLM order: scale, +zp, clamp; the
 * +zp wraps like TFLM's int32 add when the scaled value is near 2^31). */
static inline int8_t hnn_ka_requant(int32_t acc, int32_t mult, int shift,
                                    int32_t zp, int32_t lo, int32_t hi)
{
    int32_t v = hnn_ka_add_wrap(hnn_mbqm(acc, mult, shift), zp);
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

/* Wrapping int32 arithmetic for prepare-time folding (no signed overflow). */
static inline int32_t hnn_ka_wrap(int64_t v)
{
    return (int32_t)(uint32_t)(uint64_t)v;
}

/* ---- operands of the filtered ops (CONV_2D, DEPTHWISE_CONV_2D,
 * FULLY_CONNECTED) ------------------------------------------------------- */

/* Input 0 (x), input 1 (w, called `what` in errors: "filter", "weights")
 * and the one output (y), all int8 with scales; 2 or 3 inputs. */
int hnn_ka_filter_operands(hnn_ctx *c, const char *what, hnn_tinfo *x, hnn_tinfo *w,
                           hnn_tinfo *y);

/* The optional bias, input 2: int32 with n values. *has_bias says whether
 * it is there; *b is zeroed when it is not. */
int hnn_ka_bias_operand(hnn_ctx *c, int32_t n, hnn_tinfo *b, int *has_bias);

/* ---- elementwise broadcasting (ADD, MUL) --------------------------------- */

#define HNN_KA_BDIMS 6

/* An output walk of up to 6 merged dimensions (outermost first); s1/s2 are
 * the element strides of the two inputs along each (0 = broadcast). Adjacent
 * dimensions that broadcast alike are merged at prepare, so the innermost
 * row is as long as possible. */
typedef struct {
    int32_t dims[HNN_KA_BDIMS];
    int32_t s1[HNN_KA_BDIMS], s2[HNN_KA_BDIMS];
} hnn_ka_bcast;

/* Validates that out is the broadcast of a and b (numpy rules, ranks up to
 * HNN_MAX_DIMS; max_rank limits the rank when a real broadcast happens) and
 * fills bc. */
int hnn_ka_bcast_prepare(hnn_ctx *c, const hnn_tinfo *a, const hnn_tinfo *b,
                         const hnn_tinfo *out, int max_rank, hnn_ka_bcast *bc);

/* The common prepare of a two-input int8 op with a fused activation (ADD,
 * MUL): one output, all three tensors int8 with scales, the activation
 * option, and the broadcast walk. The op's own rescaling is left to it. */
int hnn_ka_binary_prepare(hnn_ctx *c, int max_rank, hnn_tinfo *a, hnn_tinfo *b, hnn_tinfo *y,
                          int *act, hnn_ka_bcast *bc);

/* Processes n outputs: y[i] = f(a[i * sa], b[i * sb]). */
typedef void (*hnn_ka_row_fn)(const void *params, const int8_t *a, int32_t sa,
                              const int8_t *b, int32_t sb, int8_t *y, int32_t n);

/* Defines `static void name(...)`, an hnn_ka_row_fn applying
 * `int8_t f(const data_t *d, int8_t x1, int8_t x2)` with the contiguous and
 * broadcast-scalar cases as their own loops (the compiler vectorizes
 * those). */
#define HNN_KA_BINARY_ROW(name, data_t, f)                                          \
    static void name(const void *p, const int8_t *a, int32_t sa, const int8_t *b,  \
                     int32_t sb, int8_t *y, int32_t n)                             \
    {                                                                              \
        const data_t *d = (const data_t *)p;                                       \
        if (sa == 1 && sb == 1) {                                                  \
            for (int32_t i = 0; i < n; i++)                                        \
                y[i] = f(d, a[i], b[i]);                                           \
        } else if (sa == 1 && sb == 0) {                                           \
            for (int32_t i = 0; i < n; i++)                                        \
                y[i] = f(d, a[i], b[0]);                                           \
        } else if (sa == 0 && sb == 1) {                                           \
            for (int32_t i = 0; i < n; i++)                                        \
                y[i] = f(d, a[0], b[i]);                                           \
        } else {                                                                   \
            for (int32_t i = 0; i < n; i++)                                        \
                y[i] = f(d, a[(size_t)i * sa], b[(size_t)i * sb]);                 \
        }                                                                          \
    }

void hnn_ka_bcast_run(const hnn_ka_bcast *bc, const void *params, hnn_ka_row_fn row,
                      const int8_t *a, const int8_t *b, int8_t *y);

/* ---- vector primitives (conv_util.c: AVX2 on x86-64 chosen at run time,
 * NEON on ARM, portable C otherwise; all bit-identical) -------------------- */

/* Channels handled per call by the block helpers below. */
#define HNN_KA_BLOCK 64

/* out[r] = sum_i (x[i] + xoff) * w[r * ldw + i] for r < rows (int8 -> int32);
 * xoff is a negated int8 zero point, in [-127, 128]. */
void hnn_ka_gemv(const int8_t *x, const int8_t *w, size_t ldw, int32_t n, int32_t rows,
                 int32_t xoff, int32_t *out);

/* Depthwise taps of one output pixel, channels [coff, coff + n):
 *   acc[j] = (accumulate ? acc[j] : 0)
 *            + sum_t (xt[t] ? xt[t][coff + j] + xoff : 0) * w[t * wstride + j]
 * xt[t] is the input pixel of tap t (NULL outside the image: contributes
 * nothing); w points at channel coff of tap 0. */
void hnn_ka_dw_accum(int32_t *acc, const int8_t *const *xt, size_t coff, const int8_t *w,
                     size_t wstride, int32_t ntaps, int32_t xoff, int32_t n, int accumulate);

/* y[j] = clamp(MultiplyByQuantizedMultiplier(acc[j] + bias[j], mult, shift)
 * + zp, lo, hi) with per-channel mult[j]/shift[j], or mult[0]/shift[0] for
 * every j when per_channel is 0. bias may be NULL. Every mult must be >= 0
 * and every shift in [-31, 30] (hnn_ka_multiplier guarantees both). */
void hnn_ka_requant_block(const int32_t *acc, const int32_t *bias, const int32_t *mult,
                          const int8_t *shift, int per_channel, int32_t n, int32_t zp,
                          int32_t lo, int32_t hi, int8_t *y);

#endif /* HEARTH_CONV_UTIL_H */
