/*
 * operands.h - prepare-time checks of int8 operands shared by the kernels:
 * quantization parameters, requantization multipliers, activation ranges
 * and the operands of the filtered ops (CONV_2D, DEPTHWISE_CONV_2D,
 * FULLY_CONNECTED).
 */
#ifndef HEARTH_KERNELS_OPERANDS_H
#define HEARTH_KERNELS_OPERANDS_H

#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include "kernel.h"

/* A usable quantization scale: positive and finite. */
static inline int hnn_scale_ok(float s)
{
    return s > 0.0f && isfinite(s);
}

/* Checks that t is an int8 tensor quantized with a positive finite scale
 * and an in-range zero point (per-tensor use: first scale / zero point). */
int hnn_operand_q8(hnn_ctx *c, const hnn_tinfo *t, const char *what);

/* Per-channel requantization of a convolution-like op: for channel k,
 * real = s_in * s_filter[k or 0] / s_out (double), as TFLM computes it.
 * Stores into mult/shift when non-NULL; fails on absurd scales. */
int hnn_requant_channels(hnn_ctx *c, float s_in, const hnn_tinfo *filt,
                         float s_out, int32_t n, int32_t *mult,
                         int8_t *shift);

/* hnn_quantize_multiplier plus the range our hnn_mbqm handles. */
int hnn_requant_multiplier(hnn_ctx *c, double real, int32_t *mult, int *shift);

/* Activation clamp range of an int8 output (fails on unsupported act). */
int hnn_act_range_q8(hnn_ctx *c, int act, const hnn_tinfo *out, int32_t *lo,
                     int32_t *hi);

/* Bytes rounded up so arrays after a header stay 4-byte aligned. */
static inline size_t hnn_align4(size_t n) { return (n + 3u) & ~(size_t)3u; }

/* ---- operands of the filtered ops ---- */

/* Input 0 (x), input 1 (w, called `what` in errors: "filter", "weights")
 * and the one output (y), all int8 with scales; 2 or 3 inputs. */
int hnn_operands_filtered(hnn_ctx *c, const char *what, hnn_tinfo *x, hnn_tinfo *w,
                          hnn_tinfo *y);

/* The optional bias, input 2: int32 with n values. *has_bias says whether
 * it is there; *b is zeroed when it is not. */
int hnn_operand_bias(hnn_ctx *c, int32_t n, hnn_tinfo *b, int *has_bias);

#endif /* HEARTH_KERNELS_OPERANDS_H */
