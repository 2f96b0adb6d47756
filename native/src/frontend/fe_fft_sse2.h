/*
 * fe_fft_sse2.h - the FFT's 8-lane primitives with SSE2 intrinsics (x86-64
 * baseline). Included by fe_fft.c only, which selects this file or
 * fe_fft_neon.h at compile time; everything here is static inline so the
 * butterfly loops keep their registers.
 */
#ifndef HEARTH_FE_FFT_SSE2_H
#define HEARTH_FE_FFT_SSE2_H

#include <stdint.h>
#include <emmintrin.h>
#define VEC __m128i

/* (x * k + 2^14) >> 15 per int16 lane (KISS sround(x * k)), exactly: with
 * P = x*k = hi*2^16 + lo (lo unsigned), the result is 2*hi + bit15(lo) +
 * bit14(lo). */
static inline __m128i q15_mulk(__m128i x, __m128i k)
{
    const __m128i hi = _mm_mulhi_epi16(x, k), lo = _mm_mullo_epi16(x, k);
    const __m128i one = _mm_set1_epi16(1);
    return _mm_add_epi16(_mm_add_epi16(hi, hi),
                         _mm_add_epi16(_mm_srli_epi16(lo, 15),
                                       _mm_and_si128(_mm_srli_epi16(lo, 14), one)));
}

/* KISS C_MUL on 8 lanes: pmaddwd forms the exact int32 sums
 * ar*wr - ai*wi and ar*wi + ai*wr from the interleaved pairs. */
static inline void q15_cmul(__m128i ar, __m128i ai, const int16_t *wa, const int16_t *wb,
                            __m128i *r, __m128i *i)
{
    const __m128i lo = _mm_unpacklo_epi16(ar, ai), hi = _mm_unpackhi_epi16(ar, ai);
    const __m128i rnd = _mm_set1_epi32(1 << 14);
    const __m128i a0 = _mm_loadu_si128((const __m128i *)(const void *)wa);
    const __m128i a1 = _mm_loadu_si128((const __m128i *)(const void *)(wa + 8));
    const __m128i b0 = _mm_loadu_si128((const __m128i *)(const void *)wb);
    const __m128i b1 = _mm_loadu_si128((const __m128i *)(const void *)(wb + 8));
    const __m128i rl = _mm_srai_epi32(_mm_add_epi32(_mm_madd_epi16(lo, a0), rnd), 15);
    const __m128i rh = _mm_srai_epi32(_mm_add_epi32(_mm_madd_epi16(hi, a1), rnd), 15);
    const __m128i il = _mm_srai_epi32(_mm_add_epi32(_mm_madd_epi16(lo, b0), rnd), 15);
    const __m128i ih = _mm_srai_epi32(_mm_add_epi32(_mm_madd_epi16(hi, b1), rnd), 15);
    *r = _mm_packs_epi32(rl, rh);
    *i = _mm_packs_epi32(il, ih);
}

/* C_MUL whose result may leave int16: truncate like KISS's cast instead of
 * saturating (split twiddles are plain (re, im) arrays here). */
static inline void q15_cmul_wrap(__m128i ar, __m128i ai, const int16_t *wr, const int16_t *wi,
                                 __m128i *r, __m128i *i)
{
    const __m128i br = _mm_loadu_si128((const __m128i *)(const void *)wr);
    const __m128i bi = _mm_loadu_si128((const __m128i *)(const void *)wi);
    const __m128i nbi = _mm_sub_epi16(_mm_setzero_si128(), bi);   /* never -32768 */
    const __m128i lo = _mm_unpacklo_epi16(ar, ai), hi = _mm_unpackhi_epi16(ar, ai);
    const __m128i rnd = _mm_set1_epi32(1 << 14);
    const __m128i a0 = _mm_unpacklo_epi16(br, nbi), a1 = _mm_unpackhi_epi16(br, nbi);
    const __m128i b0 = _mm_unpacklo_epi16(bi, br), b1 = _mm_unpackhi_epi16(bi, br);
    __m128i rl = _mm_srai_epi32(_mm_add_epi32(_mm_madd_epi16(lo, a0), rnd), 15);
    __m128i rh = _mm_srai_epi32(_mm_add_epi32(_mm_madd_epi16(hi, a1), rnd), 15);
    __m128i il = _mm_srai_epi32(_mm_add_epi32(_mm_madd_epi16(lo, b0), rnd), 15);
    __m128i ih = _mm_srai_epi32(_mm_add_epi32(_mm_madd_epi16(hi, b1), rnd), 15);
    /* keep the low 16 bits, sign-extended, so the saturating pack is exact */
    rl = _mm_srai_epi32(_mm_slli_epi32(rl, 16), 16);
    rh = _mm_srai_epi32(_mm_slli_epi32(rh, 16), 16);
    il = _mm_srai_epi32(_mm_slli_epi32(il, 16), 16);
    ih = _mm_srai_epi32(_mm_slli_epi32(ih, 16), 16);
    *r = _mm_packs_epi32(rl, rh);
    *i = _mm_packs_epi32(il, ih);
}

#define SRA1(v) _mm_srai_epi16((v), 1)
#define AND _mm_and_si128
#define ANDNOT _mm_andnot_si128     /* (~a) & b */
#define LD(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define ST(p, v) _mm_storeu_si128((__m128i *)(void *)(p), (v))
#define ADD _mm_add_epi16
#define SUB _mm_sub_epi16
#define KCONST(k) _mm_set1_epi16(k)

/* 16x16 int16 transpose: four 8x8 blocks, each by three rounds of
 * interleaving. */
static inline void fe_transpose16_sse2(const int16_t *src, int16_t *dst)
{
    int br, bc, k;
    for (br = 0; br < 16; br += 8)
        for (bc = 0; bc < 16; bc += 8) {
            __m128i r[8], t[8];
            for (k = 0; k < 8; k++)
                r[k] = LD(src + (br + k) * 16 + bc);
            for (k = 0; k < 4; k++) {
                t[2 * k] = _mm_unpacklo_epi16(r[2 * k], r[2 * k + 1]);
                t[2 * k + 1] = _mm_unpackhi_epi16(r[2 * k], r[2 * k + 1]);
            }
            for (k = 0; k < 2; k++) {
                r[4 * k] = _mm_unpacklo_epi32(t[4 * k], t[4 * k + 2]);
                r[4 * k + 1] = _mm_unpackhi_epi32(t[4 * k], t[4 * k + 2]);
                r[4 * k + 2] = _mm_unpacklo_epi32(t[4 * k + 1], t[4 * k + 3]);
                r[4 * k + 3] = _mm_unpackhi_epi32(t[4 * k + 1], t[4 * k + 3]);
            }
            ST(dst + (bc + 0) * 16 + br, _mm_unpacklo_epi64(r[0], r[4]));
            ST(dst + (bc + 1) * 16 + br, _mm_unpackhi_epi64(r[0], r[4]));
            ST(dst + (bc + 2) * 16 + br, _mm_unpacklo_epi64(r[1], r[5]));
            ST(dst + (bc + 3) * 16 + br, _mm_unpackhi_epi64(r[1], r[5]));
            ST(dst + (bc + 4) * 16 + br, _mm_unpacklo_epi64(r[2], r[6]));
            ST(dst + (bc + 5) * 16 + br, _mm_unpackhi_epi64(r[2], r[6]));
            ST(dst + (bc + 6) * 16 + br, _mm_unpacklo_epi64(r[3], r[7]));
            ST(dst + (bc + 7) * 16 + br, _mm_unpackhi_epi64(r[3], r[7]));
        }
}

/* The first multiple of 8 of deinterleave_shift; returns how many it did. */
static inline int fe_deinterleave_shift_sse2(int nc, const int16_t *in, int shift, int16_t *re,
                                             int16_t *im)
{
    int i = 0;
    const __m128i cnt = _mm_cvtsi32_si128(shift);
    for (; i + 8 <= nc; i += 8) {
        /* even lanes: shift left then arithmetic right 16 to sign-extend */
        const __m128i a = _mm_sll_epi16(LD(in + 2 * i), cnt);
        const __m128i b = _mm_sll_epi16(LD(in + 2 * i + 8), cnt);
        const __m128i ae = _mm_srai_epi32(_mm_slli_epi32(a, 16), 16);
        const __m128i be = _mm_srai_epi32(_mm_slli_epi32(b, 16), 16);
        ST(re + i, _mm_packs_epi32(ae, be));
        ST(im + i, _mm_packs_epi32(_mm_srai_epi32(a, 16), _mm_srai_epi32(b, 16)));
    }
    return i;
}

#endif /* HEARTH_FE_FFT_SSE2_H */
