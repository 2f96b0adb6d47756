/*
 * blockdsp_avx2.c - the frame energy sum with AVX2 intrinsics (x86-64;
 * blockdsp.c calls it only when the CPU reports AVX2). Compiled to nothing
 * elsewhere.
 */
#include "energy.h"

#ifdef HBD_AVX2
#include <immintrin.h>

/* The same eight partial sums, a[0..3] and a[4..7] as two AVX registers:
 * every product and every sum is the plain version's (no FMA: each rounds
 * on its own), so the two give identical bits. The appliance runs this on
 * every frame of every block; the compiler's own vectors for the plain
 * loop are two lanes wide. */
__attribute__((target("avx2"))) double hbd_energy_avx2(const int16_t *x, const double *w2, int n)
{
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    double a[8];
    const int16_t *end8 = x + (n & ~7);
    for (; x < end8; x += 8, w2 += 8) {
        __m256i v = _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)(const void *)x));
        __m256i sq = _mm256_mullo_epi32(v, v);
        lo = _mm256_add_pd(lo, _mm256_mul_pd(_mm256_cvtepi32_pd(_mm256_castsi256_si128(sq)),
                                             _mm256_loadu_pd(w2)));
        hi = _mm256_add_pd(hi, _mm256_mul_pd(_mm256_cvtepi32_pd(_mm256_extracti128_si256(sq, 1)),
                                             _mm256_loadu_pd(w2 + 4)));
    }
    _mm256_storeu_pd(a, lo);
    _mm256_storeu_pd(a + 4, hi);
    return hbd_energy_tail(a, x, w2, n & 7);
}
#endif /* HBD_AVX2 */
