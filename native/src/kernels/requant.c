/*
 * requant.c - int32 accumulators -> int8 outputs for a whole channel vector:
 * out[c] = clamp(MultiplyByQuantizedMultiplier(acc[c], mult[c], shift[c]) + zp).
 *
 * Same arithmetic as quant.h's hnn_mbqm (TFLite's default double rounding),
 * several lanes at a time: NEON has SaturatingRoundingDoublingHighMul as one
 * instruction (vqrdmulh) and gemmlowp's RoundingDivideByPOT maps onto
 * vrshl; AVX2 (picked at run time) builds both from 64-bit products. The
 * multiplier is never INT32_MIN (it lies in [2^30, 2^31) or is 0), so the
 * SRDHM saturation case cannot occur.
 */
#include <stddef.h>
#include <stdint.h>

#include "../quant.h"
#include "requant.h"

#if (defined(__ARM_NEON) || defined(__ARM_NEON__)) && !defined(HNN_NO_SIMD) && !HNN_SINGLE_ROUNDING
#include <arm_neon.h>
#define HNN_REQUANT_NEON 1
#endif

static void requant_c(const int32_t *acc, const int32_t *mult, const int8_t *shift, int32_t n,
                      int32_t zp, int32_t lo, int32_t hi, int8_t *out)
{
    for (int32_t c = 0; c < n; c++) {
        int32_t v = hnn_mbqm(acc[c], mult[c], shift[c]) + zp;
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
        out[c] = (int8_t)v;
    }
}

#if defined(HNN_REQUANT_NEON)
static void requant_simd(const int32_t *acc, const int32_t *mult, const int8_t *shift, int32_t n,
                         int32_t zp, int32_t lo, int32_t hi, int8_t *out)
{
    int32_t c = 0;
    const int32x4_t vzp = vdupq_n_s32(zp), vlo = vdupq_n_s32(lo), vhi = vdupq_n_s32(hi);
    for (; c + 4 <= n; c += 4) {
        int32_t sh[4] = {shift[c], shift[c + 1], shift[c + 2], shift[c + 3]};
        int32x4_t s = vld1q_s32(sh);
        int32x4_t left = vmaxq_s32(s, vdupq_n_s32(0));
        int32x4_t right = vnegq_s32(vminq_s32(s, vdupq_n_s32(0)));   /* >= 0 */
        int32x4_t x = vshlq_s32(vld1q_s32(acc + c), left);
        x = vqrdmulhq_s32(x, vld1q_s32(mult + c));
        int32x4_t neg_right = vnegq_s32(right);
        int32x4_t fixup = vshrq_n_s32(vandq_s32(x, neg_right), 31);
        x = vrshlq_s32(vqaddq_s32(x, fixup), neg_right);
        x = vminq_s32(vmaxq_s32(vaddq_s32(x, vzp), vlo), vhi);
        int32_t tmp[4];
        vst1q_s32(tmp, x);
        out[c] = (int8_t)tmp[0];
        out[c + 1] = (int8_t)tmp[1];
        out[c + 2] = (int8_t)tmp[2];
        out[c + 3] = (int8_t)tmp[3];
    }
    requant_c(acc + c, mult + c, shift + c, n - c, zp, lo, hi, out + c);
}
#endif

#if defined(__x86_64__) && defined(__GNUC__) && !defined(HNN_NO_SIMD) && !HNN_SINGLE_ROUNDING
#include <immintrin.h>
#define HNN_REQUANT_AVX2 1
#define AVX2 __attribute__((target("avx2")))

/* SaturatingRoundingDoublingHighMul on the even 32-bit lanes (as 64-bit). */
AVX2 static inline __m256i srdhm_even(__m256i a, __m256i b)
{
    __m256i ab = _mm256_mul_epi32(a, b);                       /* signed 32x32 -> 64 */
    __m256i neg = _mm256_cmpgt_epi64(_mm256_setzero_si256(), ab);
    /* nudge: 2^30 if ab >= 0, else 1 - 2^30; then truncate toward zero by
     * adding 2^31 - 1 to negatives before the floor shift */
    __m256i pos_nudge = _mm256_set1_epi64x((int64_t)1 << 30);
    __m256i neg_nudge = _mm256_set1_epi64x(1 - ((int64_t)1 << 30) + (((int64_t)1 << 31) - 1));
    __m256i t = _mm256_add_epi64(ab, _mm256_blendv_epi8(pos_nudge, neg_nudge, neg));
    return _mm256_srli_epi64(t, 31);   /* the low 32 bits equal the arithmetic result */
}

AVX2 static void requant_avx2(const int32_t *acc, const int32_t *mult, const int8_t *shift, int32_t n,
                              int32_t zp, int32_t lo, int32_t hi, int8_t *out)
{
    int32_t c = 0;
    const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(1);
    const __m256i vzp = _mm256_set1_epi32(zp), vlo = _mm256_set1_epi32(lo), vhi = _mm256_set1_epi32(hi);
    for (; c + 8 <= n; c += 8) {
        __m256i s = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(shift + c)));
        __m256i left = _mm256_max_epi32(s, zero);
        __m256i right = _mm256_sub_epi32(zero, _mm256_min_epi32(s, zero));
        __m256i x = _mm256_sllv_epi32(_mm256_loadu_si256((const __m256i *)(const void *)(acc + c)), left);
        __m256i m = _mm256_loadu_si256((const __m256i *)(const void *)(mult + c));
        __m256i even = srdhm_even(x, m);
        __m256i odd = srdhm_even(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(m, 32));
        __m256i y = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xaa);
        /* RoundingDivideByPOT(y, right) */
        __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, right), one);
        __m256i rem = _mm256_and_si256(y, mask);
        __m256i thr = _mm256_add_epi32(_mm256_srai_epi32(mask, 1),
                                       _mm256_and_si256(_mm256_cmpgt_epi32(zero, y), one));
        y = _mm256_add_epi32(_mm256_srav_epi32(y, right),
                             _mm256_and_si256(_mm256_cmpgt_epi32(rem, thr), one));
        y = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(y, vzp), vlo), vhi);
        /* pack 8 int32 (already in [-128, 127]) to int8 */
        __m128i lo4 = _mm256_castsi256_si128(y), hi4 = _mm256_extracti128_si256(y, 1);
        __m128i p16 = _mm_packs_epi32(lo4, hi4);
        __m128i p8 = _mm_packs_epi16(p16, p16);
        _mm_storel_epi64((__m128i *)(void *)(out + c), p8);
    }
    requant_c(acc + c, mult + c, shift + c, n - c, zp, lo, hi, out + c);
}

static int use_avx2(void)
{
    static int known = -1;   /* resolved once; a racing thread stores the same value */
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return known;
}
#endif

void hnn_requant_s8(const int32_t *acc, const int32_t *mult, const int8_t *shift, int32_t n,
                    int32_t zp, int32_t lo, int32_t hi, int8_t *out)
{
#if defined(HNN_REQUANT_AVX2)
    if (use_avx2()) {
        requant_avx2(acc, mult, shift, n, zp, lo, hi, out);
        return;
    }
#elif defined(HNN_REQUANT_NEON)
    requant_simd(acc, mult, shift, n, zp, lo, hi, out);
    return;
#endif
    requant_c(acc, mult, shift, n, zp, lo, hi, out);
}
