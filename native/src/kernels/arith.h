/*
 * arith.h - the int8/int32 arithmetic of TFLite Micro's reference kernels,
 * inline: dot products, wrapping adds and the requantization of one
 * accumulator (scale, + zero point, clamp).
 */
#ifndef HEARTH_KERNELS_ARITH_H
#define HEARTH_KERNELS_ARITH_H

#include <stddef.h>
#include <stdint.h>
#include "quant.h"

/* sum(a[i] * b[i]): written so gcc -O3 vectorizes it (int8 -> int32). */
static inline int32_t hnn_dot_i8(const int8_t *a, const int8_t *b, int32_t n)
{
    int32_t acc = 0;
    for (int32_t i = 0; i < n; i++)
        acc += (int32_t)a[i] * (int32_t)b[i];
    return acc;
}

/* sum(b[i]) */
static inline int32_t hnn_sum_i8(const int8_t *b, int32_t n)
{
    int32_t acc = 0;
    for (int32_t i = 0; i < n; i++)
        acc += b[i];
    return acc;
}

/* a + b with the wrap of TFLM's int32 arithmetic (no C signed overflow). */
static inline int32_t hnn_add_wrap(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

/* a - b with the same wrap. */
static inline int32_t hnn_sub_wrap(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

/* v saturated to int8. */
static inline int8_t hnn_sat_i8(int32_t v)
{
    return (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
}

/* Requantize one accumulator to int8 (TFLM order: scale, +zp, clamp; the
 * +zp wraps like TFLM's int32 add when the scaled value is near 2^31). */
static inline int8_t hnn_requant_i8(int32_t acc, int32_t mult, int shift,
                                    int32_t zp, int32_t lo, int32_t hi)
{
    int32_t v = hnn_add_wrap(hnn_mbqm(acc, mult, shift), zp);
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

/* Wrapping int32 arithmetic for prepare-time folding (no signed overflow). */
static inline int32_t hnn_wrap32(int64_t v)
{
    return (int32_t)(uint32_t)(uint64_t)v;
}

#endif /* HEARTH_KERNELS_ARITH_H */
