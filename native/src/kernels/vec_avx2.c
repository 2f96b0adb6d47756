/*
 * vec_avx2.c - the vector primitives with AVX2 intrinsics (x86-64; used
 * only when the CPU reports AVX2 at run time, see vec.c). Compiled to
 * nothing elsewhere.
 */
#include <string.h>

#include "vec_isa.h"

#ifdef HNN_VEC_AVX2
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))

AVX2 static inline __m256i load16(const int8_t *p)
{
    return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)p));
}

AVX2 static inline int32_t hsum8(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* 16 (or, at the tail, 8) int8 widened to int16; lanes past an 8-byte
 * load are zero, so they add nothing to vpmaddwd sums. */
AVX2 static inline __m256i load8(const int8_t *p)
{
    return _mm256_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(const void *)p));
}

/* 4 int8 (a 4-byte load) widened to int16 in the low half of a vector. */
AVX2 static inline __m128i load4x(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm_cvtepi8_epi16(_mm_cvtsi32_si128(v));
}

/* 8 int8 widened to 8 int16 in a 128-bit vector. */
AVX2 static inline __m128i load8x(const int8_t *p)
{
    return _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(const void *)p));
}

/* The 8 horizontal sums of a0..a7 as one vector [sum a0, ..., sum a7]. */
AVX2 static inline __m256i hsum8x8(__m256i a0, __m256i a1, __m256i a2, __m256i a3,
                                   __m256i a4, __m256i a5, __m256i a6, __m256i a7)
{
    __m256i u0 = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
    __m256i u1 = _mm256_hadd_epi32(_mm256_hadd_epi32(a4, a5), _mm256_hadd_epi32(a6, a7));
    return _mm256_add_epi32(_mm256_permute2x128_si256(u0, u1, 0x20),
                            _mm256_permute2x128_si256(u0, u1, 0x31));
}

/* Eight rows share each load of x: 16 int8 at a time widened to int16,
 * then vpmaddwd (exact: two int16 products summed into int32). */
AVX2 void hnn_vec_gemv_avx2(const int8_t *x, const int8_t *w, size_t ldw, int32_t n,
                            int32_t rows, int32_t xoff, int32_t *out)
{
    /* x + xoff in int16; past an 8-byte load the lanes hold xoff, but the
     * weights' lanes there are zero, so they still add nothing */
    const __m256i xo = _mm256_set1_epi16((int16_t)xoff);
    int32_t r = 0;
    const int32_t n16 = n & ~15, n8 = n & ~7;
    /* the last < 8 columns as one more 8-wide step: x from a copy padded
     * with -xoff (adds 0 once offset), built once for all rows; the weights
     * in place: 8 bytes from any row but the matrix's last stay inside it */
    const int pad_ok = n8 < n && ldw >= 8 && xoff >= -127 && xoff <= 128;
    __m256i xtail = xo;
    if (pad_ok) {
        int8_t xpad[8];
        memset(xpad, (int8_t)-xoff, sizeof xpad);
        memcpy(xpad, x + n8, (size_t)(n - n8));
        xtail = _mm256_add_epi16(load8(xpad), xo);
    }
    for (; r + 8 <= rows; r += 8) {
        const int8_t *wr = w + (size_t)r * ldw;
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
        __m256i a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        int32_t i = 0;
#define ROWS8(LOAD) ROWS8V(LOAD, _mm256_add_epi16(LOAD(x + i), xo))
#define ROWS8V(LOAD, XV)                                                        \
        do {                                                                    \
            __m256i xv = (XV);                                                  \
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(xv, LOAD(wr + i)));     \
            a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(xv, LOAD(wr + ldw + i))); \
            a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(xv, LOAD(wr + 2 * ldw + i))); \
            a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(xv, LOAD(wr + 3 * ldw + i))); \
            a4 = _mm256_add_epi32(a4, _mm256_madd_epi16(xv, LOAD(wr + 4 * ldw + i))); \
            a5 = _mm256_add_epi32(a5, _mm256_madd_epi16(xv, LOAD(wr + 5 * ldw + i))); \
            a6 = _mm256_add_epi32(a6, _mm256_madd_epi16(xv, LOAD(wr + 6 * ldw + i))); \
            a7 = _mm256_add_epi32(a7, _mm256_madd_epi16(xv, LOAD(wr + 7 * ldw + i))); \
        } while (0)
        for (; i < n16; i += 16)
            ROWS8(load16);
        if (i < n8) {
            ROWS8(load8);
            i += 8;
        }
        if (i < n && pad_ok && r + 8 < rows) {
            ROWS8V(load8, xtail);
            i = n;
        }
#undef ROWS8V
#undef ROWS8
        __m256i sums = hsum8x8(a0, a1, a2, a3, a4, a5, a6, a7);
        if (i == n) {
            _mm256_storeu_si256((__m256i *)(void *)(out + r), sums);
            continue;
        }
        int32_t s[8];
        _mm256_storeu_si256((__m256i *)(void *)s, sums);
        for (; i < n; i++) {
            int32_t xi = (int32_t)x[i] + xoff;
            for (int k = 0; k < 8; k++)
                s[k] += xi * wr[(size_t)k * ldw + i];
        }
        memcpy(out + r, s, sizeof s);
    }
    for (; r < rows; r++) {
        const int8_t *wr = w + (size_t)r * ldw;
        __m256i a = _mm256_setzero_si256();
        int32_t i = 0;
        for (; i < n16; i += 16)
            a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_add_epi16(load16(x + i), xo),
                                                      load16(wr + i)));
        if (i < n8) {
            a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_add_epi16(load8(x + i), xo),
                                                      load8(wr + i)));
            i += 8;
        }
        if (i < n && pad_ok && r + 1 < rows) {   /* not the matrix's last row */
            a = _mm256_add_epi32(a, _mm256_madd_epi16(xtail, load8(wr + i)));
            i = n;
        }
        int32_t s = hsum8(a);
        for (; i < n; i++)
            s += ((int32_t)x[i] + xoff) * wr[i];
        out[r] = s;
    }
}

/* 16 channels at a time, summed over all taps in registers. Two taps are
 * interleaved per channel (x_t, x_t+1 | w_t, w_t+1) so one vpmaddwd adds
 * both products; the lane order this leaves (channels 0-3, 8-11 | 4-7,
 * 12-15) is undone once at the end. */
AVX2 void hnn_vec_dw_accum_avx2(int32_t *acc, const int8_t *const *xt, size_t coff,
                                const int8_t *w, size_t wstride, int32_t ntaps,
                                int32_t xoff, int32_t n, int accumulate)
{
    /* a tap outside the image is x + xoff == 0 */
    const __m256i xo = _mm256_set1_epi16((int16_t)xoff), none = _mm256_setzero_si256();
    int32_t j = 0;
    for (; j + 16 <= n; j += 16) {
        __m256i lo = _mm256_setzero_si256(), hi = lo;
        int32_t t = 0;
        for (; t + 2 <= ntaps; t += 2) {
            __m256i x0 = xt[t] ? _mm256_add_epi16(load16(xt[t] + coff + j), xo) : none;
            __m256i x1 = xt[t + 1] ? _mm256_add_epi16(load16(xt[t + 1] + coff + j), xo) : none;
            __m256i w0 = load16(w + (size_t)t * wstride + j);
            __m256i w1 = load16(w + (size_t)(t + 1) * wstride + j);
            lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, x1),
                                                        _mm256_unpacklo_epi16(w0, w1)));
            hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, x1),
                                                        _mm256_unpackhi_epi16(w0, w1)));
        }
        if (t < ntaps) {
            __m256i x0 = xt[t] ? _mm256_add_epi16(load16(xt[t] + coff + j), xo) : none;
            __m256i w0 = load16(w + (size_t)t * wstride + j);
            __m256i z = _mm256_setzero_si256();
            lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, z),
                                                        _mm256_unpacklo_epi16(w0, z)));
            hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, z),
                                                        _mm256_unpackhi_epi16(w0, z)));
        }
        __m256i *a = (__m256i *)(void *)(acc + j);
        __m256i r0 = _mm256_permute2x128_si256(lo, hi, 0x20);
        __m256i r1 = _mm256_permute2x128_si256(lo, hi, 0x31);
        if (accumulate) {
            r0 = _mm256_add_epi32(r0, _mm256_loadu_si256(a));
            r1 = _mm256_add_epi32(r1, _mm256_loadu_si256(a + 1));
        }
        _mm256_storeu_si256(a, r0);
        _mm256_storeu_si256(a + 1, r1);
    }
    if (j + 8 <= n) {
        /* 8 channels with 128-bit vectors: the same pairing of two taps */
        const __m128i xo8 = _mm_set1_epi16((int16_t)xoff), z = _mm_setzero_si128();
        __m128i lo = z, hi = z;
        for (int32_t t = 0; t < ntaps; t += 2) {
            int two = t + 1 < ntaps;
            __m128i x0 = xt[t] ? _mm_add_epi16(load8x(xt[t] + coff + j), xo8) : z;
            __m128i x1 = two && xt[t + 1] ? _mm_add_epi16(load8x(xt[t + 1] + coff + j), xo8) : z;
            __m128i w0 = load8x(w + (size_t)t * wstride + j);
            __m128i w1 = two ? load8x(w + (size_t)(t + 1) * wstride + j) : z;
            lo = _mm_add_epi32(lo, _mm_madd_epi16(_mm_unpacklo_epi16(x0, x1), _mm_unpacklo_epi16(w0, w1)));
            hi = _mm_add_epi32(hi, _mm_madd_epi16(_mm_unpackhi_epi16(x0, x1), _mm_unpackhi_epi16(w0, w1)));
        }
        __m128i *a = (__m128i *)(void *)(acc + j);
        if (accumulate) {
            lo = _mm_add_epi32(lo, _mm_loadu_si128(a));
            hi = _mm_add_epi32(hi, _mm_loadu_si128(a + 1));
        }
        _mm_storeu_si128(a, lo);
        _mm_storeu_si128(a + 1, hi);
        j += 8;
    }
    if (j + 4 <= n) {
        /* 4 channels: 4-byte loads (exactly in bounds), taps paired as above */
        const __m128i xo8 = _mm_set1_epi16((int16_t)xoff), z = _mm_setzero_si128();
        __m128i s4 = z;
        for (int32_t t = 0; t < ntaps; t += 2) {
            int two = t + 1 < ntaps;
            __m128i x0 = xt[t] ? _mm_add_epi16(load4x(xt[t] + coff + j), xo8) : z;
            __m128i x1 = two && xt[t + 1] ? _mm_add_epi16(load4x(xt[t + 1] + coff + j), xo8) : z;
            __m128i w0 = load4x(w + (size_t)t * wstride + j);
            __m128i w1 = two ? load4x(w + (size_t)(t + 1) * wstride + j) : z;
            s4 = _mm_add_epi32(s4, _mm_madd_epi16(_mm_unpacklo_epi16(x0, x1), _mm_unpacklo_epi16(w0, w1)));
        }
        __m128i *a = (__m128i *)(void *)(acc + j);
        if (accumulate)
            s4 = _mm_add_epi32(s4, _mm_loadu_si128(a));
        _mm_storeu_si128(a, s4);
        j += 4;
    }
    for (; j < n; j++) {
        int32_t s = 0;
        for (int32_t t = 0; t < ntaps; t++)
            if (xt[t])
                s += ((int32_t)xt[t][coff + (size_t)j] + xoff) * w[(size_t)t * wstride + (size_t)j];
        acc[j] = accumulate ? acc[j] + s : s;
    }
}

/* MultiplyByQuantizedMultiplier (double rounding) on 8 lanes:
 *   x <<= max(shift, 0)                       (wrapping, as TFLM)
 *   h = SaturatingRoundingDoublingHighMul(x, m) = (x * m + 2^30) >> 31
 *       (the truncating division by 2^31 of TFLM's nudged product equals
 *       this floor form for both signs; m >= 0 so the saturating case
 *       x == m == INT32_MIN cannot occur)
 *   RoundingDivideByPOT(h, max(-shift, 0))    (round half away from zero) */
AVX2 static inline __m256i mbqm8(__m256i x, __m256i m, __m256i shift)
{
    __m256i zero = _mm256_setzero_si256();
    __m256i left = _mm256_max_epi32(shift, zero);
    __m256i right = _mm256_max_epi32(_mm256_sub_epi32(zero, shift), zero);
    x = _mm256_sllv_epi32(x, left);
    __m256i nudge = _mm256_set1_epi64x((int64_t)1 << 30);
    __m256i even = _mm256_add_epi64(_mm256_mul_epi32(x, m), nudge);
    __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32),
                                                    _mm256_srli_epi64(m, 32)), nudge);
    /* bits 31..62 of each 64-bit product: the low half after a logical
     * shift equals that of the arithmetic one */
    even = _mm256_srli_epi64(even, 31);
    odd = _mm256_slli_epi64(_mm256_srli_epi64(odd, 31), 32);
    __m256i h = _mm256_blend_epi32(even, odd, 0xaa);
    __m256i one = _mm256_set1_epi32(1);
    __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, right), one);
    __m256i rem = _mm256_and_si256(h, mask);
    /* threshold = (mask >> 1) + (h < 0); cmpgt yields -1 for true */
    __m256i thr = _mm256_sub_epi32(_mm256_srai_epi32(mask, 1), _mm256_cmpgt_epi32(zero, h));
    return _mm256_sub_epi32(_mm256_srav_epi32(h, right), _mm256_cmpgt_epi32(rem, thr));
}

AVX2 void hnn_vec_requant_avx2(const int32_t *acc, const int32_t *bias, const int32_t *mult,
                               const int8_t *shift, int per_channel, int32_t n, int32_t zp,
                               int32_t lo, int32_t hi, int8_t *y)
{
    __m256i vzp = _mm256_set1_epi32(zp), vlo = _mm256_set1_epi32(lo), vhi = _mm256_set1_epi32(hi);
    __m256i m = _mm256_set1_epi32(mult[0]), s = _mm256_set1_epi32(shift[0]);
    int32_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(acc + j));
        if (bias)
            a = _mm256_add_epi32(a, _mm256_loadu_si256((const __m256i *)(const void *)(bias + j)));
        if (per_channel) {
            m = _mm256_loadu_si256((const __m256i *)(const void *)(mult + j));
            s = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(shift + j)));
        }
        __m256i v = _mm256_add_epi32(mbqm8(a, m, s), vzp);
        v = _mm256_min_epi32(_mm256_max_epi32(v, vlo), vhi);
        /* lanes are in [-128, 127] now: the saturating packs are exact */
        __m256i p16 = _mm256_packs_epi32(v, v);
        __m256i p8 = _mm256_packs_epi16(p16, p16);
        int32_t b0 = _mm_cvtsi128_si32(_mm256_castsi256_si128(p8));
        int32_t b1 = _mm_cvtsi128_si32(_mm256_extracti128_si256(p8, 1));
        memcpy(y + j, &b0, 4);
        memcpy(y + j + 4, &b1, 4);
    }
    /* the tail stays inside this function: calling requant_c (legacy SSE
     * encoding) with the upper ymm halves dirty costs a state transition
     * on some x86 cores, more than the whole block */
    for (; j < n; j++) {
        int32_t k = per_channel ? j : 0;
        y[j] = hnn_requant_i8(bias ? hnn_add_wrap(acc[j], bias[j]) : acc[j], mult[k], shift[k],
                              zp, lo, hi);
    }
}
#endif /* HNN_VEC_AVX2 */
