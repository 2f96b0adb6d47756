/*
 * fe_fft.h - 16-bit fixed-point real FFT with KISS FFT's exact arithmetic
 * (FIXED_POINT=16: Q15 twiddles, scaling by 1/radix at every stage with
 * round-to-nearest), as TFLM's microfrontend uses it. Private to frontend/.
 *
 * Only power-of-two lengths: the microfrontend always rounds the window up to
 * a power of two, so KISS factors the complex sub-FFT into radix-4 stages
 * and at most one radix-2 stage, and those are the butterflies used here.
 */
#ifndef HEARTH_FE_FFT_H
#define HEARTH_FE_FFT_H

#include <stddef.h>
#include <stdint.h>

#define FE_FFT_MAX_LEVELS 8
#define FE_FFT_MAX 4096           /* longest real FFT supported */

typedef struct {
    int16_t r, i;
} fe_cpx;

typedef struct {
    int radix;                    /* 4 or 2 */
    int m;                        /* output length of one sub-transform / radix */
    int s;                        /* number of interleaved sub-transforms */
    int o_fast;                   /* layout of this level's output (see .c) */
    int transpose_in;             /* transpose the input to k-fast first */
    int16_t *tw;                  /* [radix-1][2][tw_len] twiddle runs */
    int tw_len;
} fe_fft_level;

typedef struct {
    int nfft;                     /* real length */
    int ncfft;                    /* complex sub-FFT length = nfft / 2 */
    int nlevels;
    fe_fft_level level[FE_FFT_MAX_LEVELS];   /* outermost first */
    int16_t *twiddles;            /* [ncfft][2] KISS twiddles (r, i) */
    int16_t *super_twiddles;      /* [ncfft / 2][2] real-split twiddles */
    int16_t *split_tw;            /* [2][ncfft/2]: super twiddles, SoA */
    int16_t *buf[2][2];           /* two ping-pong SoA buffers [r|i][ncfft] */
} fe_fft;

/* Bytes fe_fft_init needs for a real FFT of nfft points. */
size_t fe_fft_bytes(int nfft);

/* nfft must be a power of two in [16, FE_FFT_MAX]; mem holds
 * fe_fft_bytes(nfft) bytes (16-byte alignment helps SIMD, 2 is enough).
 * Returns 0, or -1 for an unsupported length. */
int fe_fft_init(fe_fft *f, int nfft, void *mem);

/* in: nfft real samples, each first shifted left by `shift` bits through
 * uint16 (TFLM's FftCompute scaling); out_r/out_i: nfft/2 + 1 bins. */
void fe_fft_real(const fe_fft *f, const int16_t *in, int shift, int16_t *out_r,
                 int16_t *out_i);

#endif /* HEARTH_FE_FFT_H */
