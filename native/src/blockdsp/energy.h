/*
 * energy.h - the frame energy sum shared by blockdsp.c (plain C) and
 * blockdsp_avx2.c (AVX2, used when the CPU has it), and the compile-time
 * selection of the AVX2 file (x86-64 with GCC/Clang, not HNN_NO_SIMD).
 * Private to native/src/blockdsp.
 */
#ifndef HEARTH_BLOCKDSP_ENERGY_H
#define HEARTH_BLOCKDSP_ENERGY_H

#include <stdint.h>

#if !defined(HNN_NO_SIMD) && defined(__x86_64__) && defined(__GNUC__)
#define HBD_AVX2 1
#endif

/* The partial sums folded in a fixed order, then the samples past the last
 * multiple of eight. */
static inline double hbd_energy_tail(const double *a, const int16_t *x, const double *w2, int rest)
{
    double e = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    int i;
    for (i = 0; i < rest; i++) {
        int32_t v = x[i];
        e += (double)(v * v) * w2[i];
    }
    return e;
}

#ifdef HBD_AVX2
/* sum x^2 w^2 over n samples with the plain version's bits. */
double hbd_energy_avx2(const int16_t *x, const double *w2, int n);
#endif

#endif /* HEARTH_BLOCKDSP_ENERGY_H */
