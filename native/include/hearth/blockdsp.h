/*
 * hearth/blockdsp.h - the appliance loop's per-block audio work in one call.
 *
 * For one int16 block (100 ms in the appliance) these compute what the
 * Python loop needs from it besides the detector:
 *   - hbd_block, every block: the alarm listener's frame analysis,
 *     window-weighted energy per frame and, only when some frame reaches
 *     min_energy, the Goertzel tone ratio of each band
 *     (hearth.core.alarm.PyToneAnalyzer.analyze);
 *   - hbd_stats, on the blocks the health check looks at: peak |x|, samples
 *     at clip level, equal neighbours (the same numbers as
 *     hearth.core.audiohealth.block_stats).
 * Integers are exact; energies and ratios are float64 and agree with the
 * Python/numpy versions to float64 rounding (sums run in another order).
 *
 * The caller owns the state and the result; nothing is allocated:
 *
 *   hbd_state st;    hbd_init(&st, &cfg);   // window, Goertzel coefficients...
 *   hbd_result r;    int loud = hbd_block(&st, pcm, n, &r);
 *   // loud < 0: error; 0: every frame quiet (r.ratio untouched); > 0: ratios set
 *   hbd_stats(&st, pcm, n, &r);            // r.peak, r.clipped, r.repeats, r.n
 */
#ifndef HEARTH_BLOCKDSP_H
#define HEARTH_BLOCKDSP_H

#include <stddef.h>
#include <stdint.h>

#include "hearth/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The module's errors, in the hbd range of hearth/status.h. */
typedef enum {
    HBD_OK = 0,
    HBD_E_ARG = -HEARTH_STATUS_BD - 1,      /* NULL pointer */
    HBD_E_CONFIG = -HEARTH_STATUS_BD - 2,   /* configuration out of the supported range */
    HBD_E_SIZE = -HEARTH_STATUS_BD - 3      /* block has more than HBD_MAX_FRAMES frames */
} hbd_status;

const char *hbd_strerror(int err);

#define HBD_MAX_FRAME 512     /* samples per analysis frame */
#define HBD_MAX_FREQS 16      /* Goertzel frequencies, all bands */
#define HBD_MAX_BANDS 4
#define HBD_MAX_FRAMES 128    /* frames per block */

typedef struct {
    int frame;                        /* samples per frame */
    const double *window;             /* frame values (Hann in the appliance) */
    int nfreq;
    const double *coeff;              /* nfreq Goertzel coefficients 2 cos(2 pi f / rate) */
    int nbands;
    const int *band_end;              /* band b uses coeff[band_end[b-1] .. band_end[b]) */
    double norm;                      /* tone ratio scale (alarm.tone_ratio_norm) */
    double min_energy;                /* frames below: quiet, ratio 0 */
    int clip_level;                   /* |x| >= clip_level counts as clipped */
} hbd_config;

/* Tables copied out of hbd_config by hbd_init (the config may go away). */
typedef struct {
    int frame, nfreq, nbands, clip_level;
    int band_end[HBD_MAX_BANDS];
    double norm, min_energy;
    double window[HBD_MAX_FRAME];
    double w2[HBD_MAX_FRAME];         /* window squared, for the energies */
    double coeff[HBD_MAX_FREQS];
} hbd_state;

typedef struct {
    /* hbd_stats */
    int32_t peak;                     /* max |x| (32768 for -32768) */
    int32_t clipped;                  /* samples with |x| >= clip_level */
    int32_t repeats;                  /* i >= 1 with x[i] == x[i-1] */
    int32_t n;                        /* samples */
    /* hbd_block */
    int32_t frames;                   /* n / frame (a partial tail is not analysed) */
    int32_t loud;                     /* frames with energy >= min_energy */
    double energy[HBD_MAX_FRAMES];    /* sum (x w)^2 per frame */
    double ratio[HBD_MAX_FRAMES * HBD_MAX_BANDS];   /* [frame * nbands + band]; set only if loud */
} hbd_result;

int hbd_init(hbd_state *st, const hbd_config *cfg);

/* Returns the number of loud frames (>= 0) or a negative hbd_status. */
int hbd_block(const hbd_state *st, const int16_t *x, size_t n, hbd_result *out);

/* Sets peak, clipped, repeats and n of out (nothing else). HBD_OK or HBD_E_ARG. */
int hbd_stats(const hbd_state *st, const int16_t *x, size_t n, hbd_result *out);

#ifdef __cplusplus
}
#endif

#endif /* HEARTH_BLOCKDSP_H */
