/*
 * hearth/detector.h - streaming wake-word detector: one audio frontend
 * feeding N microWakeWord-style streaming models.
 *
 * Per 10 ms feature vector (hearth/frontend.h, microWakeWord configuration):
 *   1. quantize the features for each model as pymicro-wakeword does
 *      (round-half-even(value * 0.0390625 / input_scale + zero_point), which
 *      we saturate to int8 where pymicro-wakeword's cast would wrap);
 *   2. collect `stride` vectors (the model input's dim 1), then invoke;
 *   3. dequantize the output (float32, as numpy does) into a sliding window
 *      of the last `window` probabilities; the mean over a full window above
 *      `cutoff` is a detection;
 *   4. refractory period as ESPHome's micro_wake_word: after a reset, an
 *      enable or a detection the model ignores detections until
 *      `refractory_steps` feature vectors with the latest probability below
 *      the cutoff went by; a detection also clears the window.
 * Each model's state is its own, so several models at once decide exactly
 * as each one alone; the frontend runs once for all of them.
 *
 * The caller owns all memory (detector state, model buffers, arenas):
 *   size_t need;  hdet_bytes(&need);
 *   hdet *d;      hdet_init(&d, mem, need);
 *   hdet_model_arena_bytes(tflite, len, &arena_need);
 *   hdet_add_model(d, tflite, len, arena, arena_need, &mcfg, &index);
 *   hdet_feed(d, pcm, n, &used, events, 16, &n_events, NULL, 0, NULL);
 * Events carry the model index, the sample (from init or reset) at which
 * the deciding feature window ended, and the window-mean probability.
 */
#ifndef HEARTH_DETECTOR_H
#define HEARTH_DETECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "hearth/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The module's errors, in the hdet range of hearth/status.h. */
typedef enum {
    HDET_OK = 0,
    HDET_E_ARG = -HEARTH_STATUS_DET - 1,     /* NULL pointer, bad index, misaligned or short memory */
    HDET_E_MODEL = -HEARTH_STATUS_DET - 2,   /* not a streaming detector model (shapes, types, quantization) */
    HDET_E_NN = -HEARTH_STATUS_DET - 3,      /* the inference runtime failed: see hdet_nn_status() */
    HDET_E_LIMIT = -HEARTH_STATUS_DET - 4,   /* HDET_MAX_MODELS or HDET_MAX_WINDOW exceeded */
    HDET_E_CONFIG = -HEARTH_STATUS_DET - 5   /* model config out of range (cutoff, window, refractory) */
} hdet_status;

const char *hdet_strerror(int err);

#define HDET_MAX_MODELS 8      /* models on one detector */
#define HDET_MAX_WINDOW 64     /* sliding-window length */
#define HDET_DEFAULT_REFRACTORY 100   /* ESPHome MIN_SLICES_BEFORE_DETECTION */

typedef struct hdet hdet;

typedef struct {
    double cutoff;              /* probability_cutoff, 0..1 */
    int32_t window;             /* sliding_window_size, 1..HDET_MAX_WINDOW */
    int32_t refractory_steps;   /* feature vectors (10 ms each), >= 0 */
} hdet_model_config;

typedef struct {
    int32_t model;              /* index from hdet_add_model */
    int32_t reserved;
    int64_t sample;             /* end of the deciding feature window */
    int64_t frame;              /* index of that feature vector */
    float probability;          /* window mean */
    float reserved2;
} hdet_event;

/* One model invoke, for diagnostics (per-step raw outputs). */
typedef struct {
    int32_t model;
    int32_t output;             /* raw output byte (as int: uint8 or int8 value) */
    int64_t frame;              /* feature vector that completed the stride */
    float probability;          /* this step's dequantized output */
    float reserved;
    double mean;                /* window mean after this step, -1 if not full */
} hdet_step;

typedef struct {
    int32_t stride;             /* feature vectors per invoke */
    int32_t features;           /* values per vector (input dim 2) */
    float input_scale;
    int32_t input_zero_point;
    float output_scale;
    int32_t output_zero_point;
    int32_t output_signed;      /* 1: int8 output, 0: uint8 */
    int32_t enabled;
    size_t arena_bytes;
} hdet_model_info;

/* Bytes of caller memory the detector itself needs (8-byte aligned). */
int hdet_bytes(size_t *out);
int hdet_init(hdet **out, void *mem, size_t size);

/* A safe upper bound on the arena a model needs (the runtime's
 * hnn_arena_bytes). The exact figure is hdet_model_info_get().arena_bytes
 * after adding it: an arena of exactly that size works for the same model. */
int hdet_model_arena_bytes(const uint8_t *model, size_t len, size_t *out);

/* Load a model (buffer 4-byte aligned, alive as long as the detector) into
 * its own arena. The model starts enabled, in its reset state. */
int hdet_add_model(hdet *d, const uint8_t *model, size_t len, void *arena,
                   size_t arena_size, const hdet_model_config *cfg, int *index);

/* Status of the last runtime call that failed (an hnn_status). */
int hdet_nn_status(const hdet *d);
/* Why the last call of this detector failed, as text into buf (n bytes,
 * NUL-terminated; "" if nothing failed): the runtime's detail for HDET_E_NN
 * (hnn_init_detail / hnn_detail), the detector's own reason otherwise.
 * Per detector; read it before the arena of a refused model is reused. */
int hdet_detail(const hdet *d, char *buf, size_t n);

int hdet_num_models(const hdet *d);
int hdet_model_info_get(const hdet *d, int model, hdet_model_info *info);

/* Disabled models cost nothing; enabling one resets it (state, window,
 * refractory period), as ESPHome reloads a model it enables. */
int hdet_enable(hdet *d, int model, int on);

/* Frontend, sample clock and every model back to their initial state. */
int hdet_reset(hdet *d);

/* End every model's refractory period now. After hdet_reset for a
 * recording: a file is not a reboot, and its word may be in its first
 * second. The period after a detection still applies. */
int hdet_end_refractory(hdet *d);

/* Consume audio. Stops early (*consumed < n) only when fewer than
 * hdet_num_models() slots remain in events (or in steps, if given), so no
 * event or step is ever dropped; call again with the rest. Capacities below
 * hdet_num_models() are an error. steps may be NULL. */
int hdet_feed(hdet *d, const int16_t *pcm, size_t n, size_t *consumed,
              hdet_event *events, size_t max_events, size_t *n_events,
              hdet_step *steps, size_t max_steps, size_t *n_steps);

/* What the detector saw since the last read with clear=1 (or init/reset):
 * enough for the application's quality monitor to notice a detector that
 * is unsure for a long time or an input chain whose features drifted,
 * without asking for per-step output on every block. */
typedef struct {
    int64_t frames;             /* feature vectors since the last clear */
    double feature_mean;        /* mean feature value (frontend units) over them; 0 if none */
    int32_t n_models;
    int32_t reserved;
    int32_t steps[HDET_MAX_MODELS];   /* invokes per model */
    float peak[HDET_MAX_MODELS];      /* highest full-window mean per model; 0 if none */
} hdet_quality;

int hdet_quality_read(hdet *d, hdet_quality *out, int clear);

/* Samples consumed and feature vectors produced since init/reset. */
int64_t hdet_samples(const hdet *d);
int64_t hdet_frames(const hdet *d);

#ifdef __cplusplus
}
#endif
#endif /* HEARTH_DETECTOR_H */
