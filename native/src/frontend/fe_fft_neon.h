/*
 * fe_fft_neon.h - the FFT's 8-lane primitives with NEON intrinsics (ARM
 * targets with NEON). Included by fe_fft.c only, which selects this file or
 * fe_fft_sse2.h at compile time; everything here is static inline so the
 * butterfly loops keep their registers.
 */
#ifndef HEARTH_FE_FFT_NEON_H
#define HEARTH_FE_FFT_NEON_H

#include <stdint.h>
#include <arm_neon.h>
#define VEC int16x8_t

/* vqrdmulh: sat((2*x*k + 2^15) >> 16) == (x*k + 2^14) >> 15 for k > 0 */
static inline int16x8_t q15_mulk(int16x8_t x, int16x8_t k)
{
    return vqrdmulhq_s16(x, k);
}

/* KISS C_MUL on 8 lanes: widening multiply-accumulate, then the rounding
 * narrowing shift (truncating like the int16 cast; never saturating). */
static inline void q15_cmul_v(int16x8_t ar, int16x8_t ai, int16x8_t wr, int16x8_t wi,
                              int16x8_t *r, int16x8_t *i)
{
    int32x4_t rl = vmull_s16(vget_low_s16(ar), vget_low_s16(wr));
    int32x4_t rh = vmull_s16(vget_high_s16(ar), vget_high_s16(wr));
    int32x4_t il = vmull_s16(vget_low_s16(ar), vget_low_s16(wi));
    int32x4_t ih = vmull_s16(vget_high_s16(ar), vget_high_s16(wi));
    rl = vmlsl_s16(rl, vget_low_s16(ai), vget_low_s16(wi));
    rh = vmlsl_s16(rh, vget_high_s16(ai), vget_high_s16(wi));
    il = vmlal_s16(il, vget_low_s16(ai), vget_low_s16(wr));
    ih = vmlal_s16(ih, vget_high_s16(ai), vget_high_s16(wr));
    *r = vcombine_s16(vrshrn_n_s32(rl, 15), vrshrn_n_s32(rh, 15));
    *i = vcombine_s16(vrshrn_n_s32(il, 15), vrshrn_n_s32(ih, 15));
}

/* twiddles as the interleaved (wr, -wi) and (wi, wr) pairs: every other lane */
static inline void q15_cmul(int16x8_t ar, int16x8_t ai, const int16_t *wa, const int16_t *wb,
                            int16x8_t *r, int16x8_t *i)
{
    q15_cmul_v(ar, ai, vld2q_s16(wa).val[0], vld2q_s16(wb).val[0], r, i);
}

/* split twiddles: plain (re, im) arrays */
static inline void q15_cmul_wrap(int16x8_t ar, int16x8_t ai, const int16_t *pwr,
                                 const int16_t *pwi, int16x8_t *r, int16x8_t *i)
{
    q15_cmul_v(ar, ai, vld1q_s16(pwr), vld1q_s16(pwi), r, i);
}

#define SRA1(v) vshrq_n_s16((v), 1)
#define AND vandq_s16
#define ANDNOT(a, b) vbicq_s16((b), (a))  /* (~a) & b */
#define LD(p) vld1q_s16(p)
#define ST(p, v) vst1q_s16((p), (v))
#define ADD vaddq_s16
#define SUB vsubq_s16
#define KCONST(k) vdupq_n_s16(k)

#endif /* HEARTH_FE_FFT_NEON_H */
