/*
 * matvec.c - int8 matrix-vector products for the hot loops.
 *
 * out[r] = sum_{i<n} x[i] * w[r*ldw + i]. Four rows are computed together so
 * each chunk of x is widened once and the reductions share one tree. The
 * tail of each row (n % 16) is one more vector step against a zero-padded
 * copy of x's tail: the products past n are 0 * w, so the sum is exact, and
 * the weight bytes read past a row's end still belong to the weight matrix
 * (rows whose padded read would leave it take the scalar tail). Paths: AVX2
 * (picked at run time on x86-64), SSE2 (x86-64 baseline), NEON (aarch64 and
 * armv7+NEON), plain C (everything else, e.g. Cortex-M).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "matvec.h"

#if defined(__SSE2__) && !defined(HNN_NO_SIMD)
#include <emmintrin.h>
#define HNN_MATVEC_SSE2 1
#elif (defined(__ARM_NEON) || defined(__ARM_NEON__)) && !defined(HNN_NO_SIMD)
#include <arm_neon.h>
#define HNN_MATVEC_NEON 1
#endif

static int32_t dot_tail(const int8_t *a, const int8_t *b, int32_t n)
{
    int32_t s = 0;
    for (int32_t i = 0; i < n; i++)
        s += (int32_t)a[i] * (int32_t)b[i];
    return s;
}

/* The row tails [i, n) as 16-byte reads: x from a zero-padded copy, w in
 * place when the 16 bytes stay inside [w, w_end). */
typedef struct {
    int8_t xpad[16];
    int32_t i, t;          /* tail start and length (0 < t < 16) */
    const int8_t *w_end;
} tail_ctx;

static void tail_init(tail_ctx *tc, const int8_t *x, int32_t i, int32_t n, const int8_t *w_end)
{
    memset(tc->xpad, 0, sizeof tc->xpad);
    tc->i = i;
    tc->t = n - i;
    if (tc->t > 0)
        memcpy(tc->xpad, x + i, (size_t)tc->t);
    tc->w_end = w_end;
}

static int tail_padded_ok(const tail_ctx *tc, const int8_t *row)
{
    return (size_t)(tc->w_end - (row + tc->i)) >= 16;
}

/* ---- baseline SIMD of the target ---------------------------------------- */

#if defined(HNN_MATVEC_SSE2)
static inline void widen_s8(__m128i v, __m128i *lo, __m128i *hi)
{
    *lo = _mm_srai_epi16(_mm_unpacklo_epi8(v, v), 8);
    *hi = _mm_srai_epi16(_mm_unpackhi_epi8(v, v), 8);
}

static inline __m128i madd16(__m128i xlo, __m128i xhi, const int8_t *w)
{
    __m128i wlo, whi;
    widen_s8(_mm_loadu_si128((const __m128i *)(const void *)w), &wlo, &whi);
    return _mm_add_epi32(_mm_madd_epi16(xlo, wlo), _mm_madd_epi16(xhi, whi));
}

static inline int32_t hsum4(__m128i v)
{
    v = _mm_add_epi32(v, _mm_shuffle_epi32(v, 0x4e));
    v = _mm_add_epi32(v, _mm_shuffle_epi32(v, 0xb1));
    return _mm_cvtsi128_si32(v);
}

static int32_t row_dot(const int8_t *x, const int8_t *w, int32_t n, const tail_ctx *tc)
{
    __m128i acc = _mm_setzero_si128(), xlo, xhi;
    int32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        widen_s8(_mm_loadu_si128((const __m128i *)(const void *)(x + i)), &xlo, &xhi);
        acc = _mm_add_epi32(acc, madd16(xlo, xhi, w + i));
    }
    if (i < n && tail_padded_ok(tc, w)) {
        widen_s8(_mm_loadu_si128((const __m128i *)(const void *)tc->xpad), &xlo, &xhi);
        return hsum4(_mm_add_epi32(acc, madd16(xlo, xhi, w + i)));
    }
    return hsum4(acc) + dot_tail(x + i, w + i, n - i);
}

static void matvec_base(const int8_t *x, const int8_t *w, int32_t n, int32_t ldw, int32_t rows,
                        int32_t *out, const tail_ctx *tc)
{
    int32_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const int8_t *w0 = w + (size_t)r * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw;
        __m128i a0 = _mm_setzero_si128(), a1 = a0, a2 = a0, a3 = a0, xlo, xhi;
        int32_t i = 0;
        for (; i + 16 <= n; i += 16) {
            widen_s8(_mm_loadu_si128((const __m128i *)(const void *)(x + i)), &xlo, &xhi);
            a0 = _mm_add_epi32(a0, madd16(xlo, xhi, w0 + i));
            a1 = _mm_add_epi32(a1, madd16(xlo, xhi, w1 + i));
            a2 = _mm_add_epi32(a2, madd16(xlo, xhi, w2 + i));
            a3 = _mm_add_epi32(a3, madd16(xlo, xhi, w3 + i));
        }
        int rest = i < n;
        if (rest && tail_padded_ok(tc, w3)) {   /* w3 is the last of the four rows */
            widen_s8(_mm_loadu_si128((const __m128i *)(const void *)tc->xpad), &xlo, &xhi);
            a0 = _mm_add_epi32(a0, madd16(xlo, xhi, w0 + i));
            a1 = _mm_add_epi32(a1, madd16(xlo, xhi, w1 + i));
            a2 = _mm_add_epi32(a2, madd16(xlo, xhi, w2 + i));
            a3 = _mm_add_epi32(a3, madd16(xlo, xhi, w3 + i));
            rest = 0;
        }
        /* 4x4 transpose-add: lane k of the result is the sum of a_k */
        __m128i t0 = _mm_unpacklo_epi32(a0, a1), t1 = _mm_unpackhi_epi32(a0, a1);
        __m128i t2 = _mm_unpacklo_epi32(a2, a3), t3 = _mm_unpackhi_epi32(a2, a3);
        __m128i s01 = _mm_add_epi32(t0, t1), s23 = _mm_add_epi32(t2, t3);
        __m128i sum = _mm_add_epi32(_mm_unpacklo_epi64(s01, s23), _mm_unpackhi_epi64(s01, s23));
        _mm_storeu_si128((__m128i *)(void *)(out + r), sum);
        if (rest) {
            out[r] += dot_tail(x + i, w0 + i, n - i);
            out[r + 1] += dot_tail(x + i, w1 + i, n - i);
            out[r + 2] += dot_tail(x + i, w2 + i, n - i);
            out[r + 3] += dot_tail(x + i, w3 + i, n - i);
        }
    }
    for (; r < rows; r++)
        out[r] = row_dot(x, w + (size_t)r * ldw, n, tc);
}

#elif defined(HNN_MATVEC_NEON)
static inline int32x4_t mla16(int32x4_t acc, int8x16_t x, const int8_t *w)
{
    int8x16_t wv = vld1q_s8(w);
    int16x8_t p = vmull_s8(vget_low_s8(x), vget_low_s8(wv));
    p = vmlal_s8(p, vget_high_s8(x), vget_high_s8(wv));   /* |2 * 128 * 128| fits int16 */
    return vpadalq_s16(acc, p);
}

static inline int32_t hsum4(int32x4_t v)
{
    int32x2_t s = vadd_s32(vget_low_s32(v), vget_high_s32(v));
    return vget_lane_s32(vpadd_s32(s, s), 0);
}

static int32_t row_dot(const int8_t *x, const int8_t *w, int32_t n, const tail_ctx *tc)
{
    int32x4_t acc = vdupq_n_s32(0);
    int32_t i = 0;
    for (; i + 16 <= n; i += 16)
        acc = mla16(acc, vld1q_s8(x + i), w + i);
    if (i < n && tail_padded_ok(tc, w))
        return hsum4(mla16(acc, vld1q_s8(tc->xpad), w + i));
    return hsum4(acc) + dot_tail(x + i, w + i, n - i);
}

static void matvec_base(const int8_t *x, const int8_t *w, int32_t n, int32_t ldw, int32_t rows,
                        int32_t *out, const tail_ctx *tc)
{
    int32_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const int8_t *w0 = w + (size_t)r * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw;
        int32x4_t a0 = vdupq_n_s32(0), a1 = a0, a2 = a0, a3 = a0;
        int32_t i = 0;
        for (; i + 16 <= n; i += 16) {
            int8x16_t xv = vld1q_s8(x + i);
            a0 = mla16(a0, xv, w0 + i);
            a1 = mla16(a1, xv, w1 + i);
            a2 = mla16(a2, xv, w2 + i);
            a3 = mla16(a3, xv, w3 + i);
        }
        int rest = i < n;
        if (rest && tail_padded_ok(tc, w3)) {
            int8x16_t xv = vld1q_s8(tc->xpad);
            a0 = mla16(a0, xv, w0 + i);
            a1 = mla16(a1, xv, w1 + i);
            a2 = mla16(a2, xv, w2 + i);
            a3 = mla16(a3, xv, w3 + i);
            rest = 0;
        }
        out[r] = hsum4(a0);
        out[r + 1] = hsum4(a1);
        out[r + 2] = hsum4(a2);
        out[r + 3] = hsum4(a3);
        if (rest) {
            out[r] += dot_tail(x + i, w0 + i, n - i);
            out[r + 1] += dot_tail(x + i, w1 + i, n - i);
            out[r + 2] += dot_tail(x + i, w2 + i, n - i);
            out[r + 3] += dot_tail(x + i, w3 + i, n - i);
        }
    }
    for (; r < rows; r++)
        out[r] = row_dot(x, w + (size_t)r * ldw, n, tc);
}

#else /* plain C */
static int32_t row_dot(const int8_t *x, const int8_t *w, int32_t n, const tail_ctx *tc)
{
    (void)tc;
    return dot_tail(x, w, n);
}

static void matvec_base(const int8_t *x, const int8_t *w, int32_t n, int32_t ldw, int32_t rows,
                        int32_t *out, const tail_ctx *tc)
{
    (void)tc;
    for (int32_t r = 0; r < rows; r++)
        out[r] = dot_tail(x, w + (size_t)r * ldw, n);
}
#endif

/* ---- AVX2, chosen at run time on x86-64 (the host/sim build) ------------ */
#if defined(__x86_64__) && defined(__GNUC__) && defined(HNN_MATVEC_SSE2)
#include <immintrin.h>
#define HNN_HAVE_AVX2_PATH 1

#define AVX2 __attribute__((target("avx2")))

AVX2 static inline __m256i mv_madd(__m256i x16, const int8_t *w)
{
    return _mm256_madd_epi16(x16, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)w)));
}

AVX2 static inline __m256i mv_widen(const int8_t *x)
{
    return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)x));
}

AVX2 static void matvec_avx2(const int8_t *x, const int8_t *w, int32_t n, int32_t ldw,
                             int32_t rows, int32_t *out, const tail_ctx *tc)
{
    int32_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const int8_t *w0 = w + (size_t)r * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw;
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
        int32_t i = 0;
        for (; i + 16 <= n; i += 16) {
            __m256i x16 = mv_widen(x + i);
            a0 = _mm256_add_epi32(a0, mv_madd(x16, w0 + i));
            a1 = _mm256_add_epi32(a1, mv_madd(x16, w1 + i));
            a2 = _mm256_add_epi32(a2, mv_madd(x16, w2 + i));
            a3 = _mm256_add_epi32(a3, mv_madd(x16, w3 + i));
        }
        int rest = i < n;
        if (rest && tail_padded_ok(tc, w3)) {
            __m256i x16 = mv_widen(tc->xpad);
            a0 = _mm256_add_epi32(a0, mv_madd(x16, w0 + i));
            a1 = _mm256_add_epi32(a1, mv_madd(x16, w1 + i));
            a2 = _mm256_add_epi32(a2, mv_madd(x16, w2 + i));
            a3 = _mm256_add_epi32(a3, mv_madd(x16, w3 + i));
            rest = 0;
        }
        __m256i s01 = _mm256_hadd_epi32(a0, a1), s23 = _mm256_hadd_epi32(a2, a3);
        __m256i s = _mm256_hadd_epi32(s01, s23);
        __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        _mm_storeu_si128((__m128i *)(void *)(out + r), sum);
        if (rest) {
            out[r] += dot_tail(x + i, w0 + i, n - i);
            out[r + 1] += dot_tail(x + i, w1 + i, n - i);
            out[r + 2] += dot_tail(x + i, w2 + i, n - i);
            out[r + 3] += dot_tail(x + i, w3 + i, n - i);
        }
    }
    for (; r < rows; r++)
        out[r] = row_dot(x, w + (size_t)r * ldw, n, tc);
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

void hnn_matvec_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t ldw, int32_t rows,
                   int32_t *out)
{
    tail_ctx tc;
    if (rows <= 0 || n <= 0) {
        for (int32_t r = 0; r < rows; r++)
            out[r] = 0;
        return;
    }
    tail_init(&tc, x, n - n % 16, n, w + (size_t)(rows - 1) * ldw + n);
#ifdef HNN_HAVE_AVX2_PATH
    if (use_avx2()) {
        matvec_avx2(x, w, n, ldw, rows, out, &tc);
        return;
    }
#endif
    matvec_base(x, w, n, ldw, rows, out, &tc);
}

int32_t hnn_dot_s8(const int8_t *x, const int8_t *w, int32_t n)
{
    tail_ctx tc;
    if (n <= 0)
        return 0;
    tail_init(&tc, x, n - n % 16, n, w + n);
    return row_dot(x, w, n, &tc);
}
