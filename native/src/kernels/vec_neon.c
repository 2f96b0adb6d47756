/*
 * vec_neon.c - the vector primitives with NEON intrinsics (ARM targets
 * with NEON: baseline on AArch64). Compiled to nothing elsewhere.
 */
#include "vec_isa.h"

#ifdef HNN_VEC_NEON
#include <arm_neon.h>

/* int8 x int8 -> int16 products (exact), pairwise-added into int32. */
/* (x + xoff) in int16 times the widened weights, accumulated in int32. */
static inline int32x4_t mla8_off(int32x4_t a, int8x8_t x, int16x8_t xo, int8x8_t w)
{
    int16x8_t x16 = vaddq_s16(vmovl_s8(x), xo), w16 = vmovl_s8(w);
    a = vmlal_s16(a, vget_low_s16(x16), vget_low_s16(w16));
    return vmlal_s16(a, vget_high_s16(x16), vget_high_s16(w16));
}

void hnn_vec_gemv_neon(const int8_t *x, const int8_t *w, size_t ldw, int32_t n, int32_t rows,
                       int32_t xoff, int32_t *out)
{
    const int16x8_t xo = vdupq_n_s16((int16_t)xoff);
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *wr = w + (size_t)r * ldw;
        int32x4_t a = vdupq_n_s32(0);
        int32_t i = 0;
        if (xoff == 0) {   /* int8 x int8 products fit int16: the cheap form */
            for (; i + 16 <= n; i += 16) {
                int8x16_t xv = vld1q_s8(x + i), wv = vld1q_s8(wr + i);
                a = vpadalq_s16(a, vmull_s8(vget_low_s8(xv), vget_low_s8(wv)));
                a = vpadalq_s16(a, vmull_s8(vget_high_s8(xv), vget_high_s8(wv)));
            }
        }
        for (; i + 8 <= n; i += 8)
            a = mla8_off(a, vld1_s8(x + i), xo, vld1_s8(wr + i));
        int32_t s = vgetq_lane_s32(a, 0) + vgetq_lane_s32(a, 1) + vgetq_lane_s32(a, 2) +
                    vgetq_lane_s32(a, 3);
        for (; i < n; i++)
            s += ((int32_t)x[i] + xoff) * wr[i];
        out[r] = s;
    }
}

/* vqrdmulh is SaturatingRoundingDoublingHighMul; the fixup makes vrshl's
 * round-half-up round half away from zero (gemmlowp's NEON recipe). */
static inline int32x4_t mbqm4(int32x4_t x, int32x4_t m, int32x4_t shift)
{
    int32x4_t zero = vdupq_n_s32(0);
    int32x4_t left = vmaxq_s32(shift, zero);
    int32x4_t neg_right = vminq_s32(shift, zero);       /* -right */
    x = vreinterpretq_s32_u32(vshlq_u32(vreinterpretq_u32_s32(x), left));
    int32x4_t h = vqrdmulhq_s32(x, m);
    int32x4_t fixup = vshrq_n_s32(vandq_s32(h, neg_right), 31);
    return vrshlq_s32(vqaddq_s32(h, fixup), neg_right);
}

void hnn_vec_requant_neon(const int32_t *acc, const int32_t *bias, const int32_t *mult,
                          const int8_t *shift, int per_channel, int32_t n, int32_t zp,
                          int32_t lo, int32_t hi, int8_t *y)
{
    int32x4_t vzp = vdupq_n_s32(zp), vlo = vdupq_n_s32(lo), vhi = vdupq_n_s32(hi);
    int32x4_t m = vdupq_n_s32(mult[0]), s = vdupq_n_s32(shift[0]);
    int32_t j = 0;
    for (; j + 4 <= n; j += 4) {
        int32x4_t a = vld1q_s32(acc + j);
        if (bias)
            a = vaddq_s32(a, vld1q_s32(bias + j));
        if (per_channel) {
            int32_t sh[4] = {shift[j], shift[j + 1], shift[j + 2], shift[j + 3]};
            m = vld1q_s32(mult + j);
            s = vld1q_s32(sh);
        }
        int32x4_t v = vminq_s32(vmaxq_s32(vaddq_s32(mbqm4(a, m, s), vzp), vlo), vhi);
        int16x4_t v16 = vmovn_s32(v);
        int8x8_t v8 = vmovn_s16(vcombine_s16(v16, v16));
        y[j] = vget_lane_s8(v8, 0);
        y[j + 1] = vget_lane_s8(v8, 1);
        y[j + 2] = vget_lane_s8(v8, 2);
        y[j + 3] = vget_lane_s8(v8, 3);
    }
    if (j < n)
        hnn_vec_requant_c(acc + j, bias ? bias + j : NULL, per_channel ? mult + j : mult,
                          per_channel ? shift + j : shift, per_channel, n - j, zp, lo, hi, y + j);
}
#endif /* HNN_VEC_NEON */
