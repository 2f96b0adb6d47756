/*
 * hearth/frontend.h - the TFLite Micro audio microfrontend, bit-exact.
 *
 * int16 PCM in, one vector of num_channels uint16 log-mel energies out per
 * step (window, fixed-point FFT, mel filterbank, noise reduction, PCAN gain
 * control, log scale), with exactly the integer arithmetic of TFLM's
 * tensorflow/lite/experimental/microfrontend/lib and the tables it builds at
 * init. hfe_config_default() is the configuration microWakeWord models are
 * trained with (30 ms window, 10 ms step, 40 channels, 125-7500 Hz).
 *
 * The caller owns the memory; nothing is allocated:
 *
 *   hfe_config cfg;  hfe_config_default(&cfg);
 *   size_t need;     hfe_state_bytes(&cfg, &need);
 *   hfe_frontend *fe;
 *   hfe_init(&fe, &cfg, mem, need);             // mem: need bytes, 8-aligned
 *   while (n) {                                  // any block size
 *       size_t used;
 *       int r = hfe_process(fe, pcm, n, &used, features);
 *       pcm += used; n -= used;
 *       if (r == 1) use(features);               // one step's vector
 *   }
 *
 * All state (the partial window, noise estimates) carries across calls, so
 * feeding one sample at a time or a whole file gives the same vectors.
 */
#ifndef HEARTH_FRONTEND_H
#define HEARTH_FRONTEND_H

#include <stddef.h>
#include <stdint.h>

#include "hearth/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The module's errors, in the hfe range of hearth/status.h. */
typedef enum {
    HFE_OK = 0,
    HFE_E_ARG = -HEARTH_STATUS_FE - 1,      /* NULL pointer or misaligned memory */
    HFE_E_CONFIG = -HEARTH_STATUS_FE - 2,   /* configuration out of the supported range */
    HFE_E_MEM = -HEARTH_STATUS_FE - 3       /* memory block smaller than hfe_state_bytes() */
} hfe_status;

const char *hfe_strerror(int err);

/* Scale of the output values microWakeWord's float features use:
 * feature = value * HFE_FLOAT_SCALE (= 1/25.6, exact in float). */
#define HFE_FLOAT_SCALE 0.0390625f

typedef struct {
    int sample_rate;              /* Hz */
    int window_ms;                /* analysis window */
    int step_ms;                  /* hop between output vectors */
    int num_channels;             /* mel channels (output size) */
    float lower_band_hz;
    float upper_band_hz;
    int nr_smoothing_bits;        /* noise reduction */
    float nr_even_smoothing;
    float nr_odd_smoothing;
    float nr_min_signal_remaining;
    int pcan_enable;              /* per-channel amplitude normalization */
    float pcan_strength;
    float pcan_offset;
    int pcan_gain_bits;
    int log_enable;
    int log_scale_shift;
} hfe_config;

typedef struct hfe_frontend hfe_frontend;

/* microWakeWord's configuration (pymicro-features, ESPHome). */
void hfe_config_default(hfe_config *cfg);

/* Bytes of caller memory hfe_init needs for cfg. */
int hfe_state_bytes(const hfe_config *cfg, size_t *out);

/* Build the tables and reset the state inside mem (8-byte aligned). */
int hfe_init(hfe_frontend **out, const hfe_config *cfg, void *mem, size_t size);

/* Back to the state right after init (empty window, zero noise estimate). */
void hfe_reset(hfe_frontend *fe);

int hfe_num_channels(const hfe_frontend *fe);
int hfe_window_samples(const hfe_frontend *fe);
int hfe_step_samples(const hfe_frontend *fe);

/* Consume samples until one output vector is complete or the input runs out.
 * Returns 1 when out[0..num_channels) holds a new vector, 0 when all n
 * samples were consumed without completing one, negative on bad arguments.
 * *consumed is how many samples were taken from x. */
int hfe_process(hfe_frontend *fe, const int16_t *x, size_t n, size_t *consumed,
                uint16_t *out);

/* Every vector a block yields: up to max_frames vectors are written to out
 * (num_channels each); stops early (with *consumed < n) when out is full. */
int hfe_process_block(hfe_frontend *fe, const int16_t *x, size_t n,
                      uint16_t *out, size_t max_frames, size_t *frames,
                      size_t *consumed);

/* Read-only view of the tables built at init, for tests against TFLM. */
typedef struct {
    int window_size;              /* samples */
    const int16_t *window;        /* [window_size] Hann coefficients, Q12 */
    int fft_size;                 /* real FFT length (power of two) */
    const int16_t *twiddles;      /* [fft_size/2][2] complex sub-FFT twiddles */
    const int16_t *super_twiddles;/* [fft_size/4][2] real-FFT split twiddles */
    int fb_start_index;           /* first FFT bin used */
    int fb_end_index;             /* one past the last bin used */
    const int16_t *fb_band_start; /* [num_channels+1] first bin of each band */
    const int16_t *fb_band_width; /* [num_channels+1] bins in each band */
    const int16_t *fb_weights;    /* [fb_end_index - fb_start_index], Q12 */
    const int16_t *fb_unweights;  /* same layout */
    int nr_even_smoothing, nr_odd_smoothing, nr_min_signal_remaining;
    const int16_t *pcan_gain_lut; /* [125] (TFLM layout; index 5 + 4k unused) */
    int pcan_snr_shift;
} hfe_tables;

int hfe_get_tables(const hfe_frontend *fe, hfe_tables *t);

#ifdef __cplusplus
}
#endif
#endif /* HEARTH_FRONTEND_H */
