/*
 * vec.h - the vector primitives of CONV_2D, DEPTHWISE_CONV_2D and
 * FULLY_CONNECTED. vec.c picks the implementation: vec_avx2.c on x86-64
 * when the CPU has AVX2 (checked at run time), vec_neon.c where the
 * compiler targets NEON, vec_portable.c otherwise (or with HNN_NO_SIMD);
 * all bit-identical.
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
#ifndef HEARTH_KERNELS_VEC_H
#define HEARTH_KERNELS_VEC_H

#include <stddef.h>
#include <stdint.h>

/* Channels handled per call by the block helpers below. */
#define HNN_VEC_BLOCK 64

/* out[r] = sum_i (x[i] + xoff) * w[r * ldw + i] for r < rows (int8 -> int32);
 * xoff is a negated int8 zero point, in [-127, 128]. */
void hnn_vec_gemv(const int8_t *x, const int8_t *w, size_t ldw, int32_t n, int32_t rows,
                  int32_t xoff, int32_t *out);

/* Depthwise taps of one output pixel, channels [coff, coff + n):
 *   acc[j] = (accumulate ? acc[j] : 0)
 *            + sum_t (xt[t] ? xt[t][coff + j] + xoff : 0) * w[t * wstride + j]
 * xt[t] is the input pixel of tap t (NULL outside the image: contributes
 * nothing); w points at channel coff of tap 0. */
void hnn_vec_dw_accum(int32_t *acc, const int8_t *const *xt, size_t coff, const int8_t *w,
                      size_t wstride, int32_t ntaps, int32_t xoff, int32_t n, int accumulate);

/* y[j] = clamp(MultiplyByQuantizedMultiplier(acc[j] + bias[j], mult, shift)
 * + zp, lo, hi) with per-channel mult[j]/shift[j], or mult[0]/shift[0] for
 * every j when per_channel is 0. bias may be NULL. Every mult must be >= 0
 * and every shift in [-31, 30] (hnn_requant_multiplier guarantees both). */
void hnn_vec_requant(const int32_t *acc, const int32_t *bias, const int32_t *mult,
                     const int8_t *shift, int per_channel, int32_t n, int32_t zp,
                     int32_t lo, int32_t hi, int8_t *y);

#endif /* HEARTH_KERNELS_VEC_H */
