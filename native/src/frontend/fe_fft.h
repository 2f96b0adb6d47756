/*
 * fe_fft.h - 16-bit fixed-point real FFT with KISS FFT's exact arithmetic
 * (FIXED_POINT=16: Q15 twiddles, scaling by 1/radix at every stage with
 * round-to-nearest), as TFLM's microfrontend uses it. Private to frontend/.
 *
 * Only power-of-two lengths: the microfrontend always rounds the window up to
 * a power of two, so radix 4 and 2 butterflies are all that is needed.
 */
#ifndef HEARTH_FE_FFT_H
#define HEARTH_FE_FFT_H

#include <stddef.h>
#include <stdint.h>

#define FE_FFT_MAX_STAGES 16

typedef struct {
    int16_t r, i;
} fe_cpx;

typedef struct {
    int nfft;                         /* real length */
    int ncfft;                        /* complex sub-FFT length = nfft / 2 */
    int nstages;
    int radix[FE_FFT_MAX_STAGES];     /* outermost stage first */
    int span[FE_FFT_MAX_STAGES];      /* m: sub-transform length of the stage */
    fe_cpx *twiddles;                 /* [ncfft] */
    fe_cpx *super_twiddles;           /* [ncfft / 2] */
    fe_cpx *work;                     /* [ncfft] */
    uint16_t *perm;                   /* [ncfft] input index of each slot */
} fe_fft;

/* Bytes fe_fft_init needs after the struct for a real FFT of nfft points. */
size_t fe_fft_bytes(int nfft);

/* nfft must be a power of two in [8, 8192]; mem holds fe_fft_bytes(nfft)
 * bytes, 4-byte aligned. Returns 0 or -1 for an unsupported length. */
int fe_fft_init(fe_fft *f, int nfft, void *mem);

/* in: nfft real samples; out: nfft/2 + 1 complex bins. */
void fe_fft_real(const fe_fft *f, const int16_t *in, fe_cpx *out);

#endif /* HEARTH_FE_FFT_H */
