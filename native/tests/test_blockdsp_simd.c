/*
 * test_blockdsp_simd.c - the vector energy sum gives the plain C sum's bits.
 *
 * blockdsp.c is compiled into this test (energy_plain is static; the
 * static library's blockdsp.o is then never linked in), hbd_energy_avx2
 * comes from the library (blockdsp_avx2.c). On targets without the AVX2
 * build there is nothing to compare and the test says so.
 */
#include "../src/blockdsp/blockdsp.c"

#include <stdio.h>
#include <string.h>

#include "unit.h"

static uint32_t seed = 12345u;
static uint32_t rnd(void)
{
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
}

int main(void)
{
#if !defined(HNN_NO_SIMD) && defined(__x86_64__) && defined(__GNUC__)
    static int16_t x[HBD_MAX_FRAME];
    static double w2[HBD_MAX_FRAME];
    int trial, i, compared = 0;
    if (!__builtin_cpu_supports("avx2")) {
        printf("test_blockdsp_simd: no AVX2 on this CPU, nothing to compare\n");
        return UNIT_DONE();
    }
    for (trial = 0; trial < 4000; trial++) {
        /* every length 0..HBD_MAX_FRAME once, then frames of the appliance's size */
        int n = trial <= HBD_MAX_FRAME ? trial : 160 + (int)(rnd() % 8);
        uint32_t kind = rnd() % 4;
        double a, b;
        for (i = 0; i < n; i++) {
            if (kind == 0)
                x[i] = (int16_t)(rnd() & 0xffff);                         /* full range */
            else if (kind == 1)
                x[i] = (int16_t)((int)(rnd() % 61) - 30);                 /* a quiet room */
            else if (kind == 2)
                x[i] = (int16_t)(i & 1 ? -32768 : 32767);                 /* full scale */
            else
                x[i] = (int16_t)((int)(rnd() % 2001) - 1000);
            w2[i] = (double)(rnd() % 1000003) / 1000003.0;
        }
        a = energy_plain(x, w2, n);
        b = hbd_energy_avx2(x, w2, n);
        CHECK(memcmp(&a, &b, sizeof a) == 0);
        compared++;
    }
    printf("test_blockdsp_simd: ok (%d sums bit-identical)\n", compared);
#else
    printf("test_blockdsp_simd: no AVX2 build on this target\n");
#endif
    return UNIT_DONE();
}
