/*
 * detector.c - one microfrontend feeding N streaming wake-word models
 * (see hearth/detector.h for the decision rules and where they come from).
 *
 * Hot path per 10 ms feature vector: quantize 40 values per enabled model
 * (a table lookup), and every `stride` vectors one hnn_invoke plus a few
 * comparisons. No allocation, no I/O, no Python.
 */
#include "hearth/detector.h"
#include "hearth/frontend.h"
#include "hearth/nn.h"
#include "put_text.h"

#include <math.h>
#include <string.h>

/* Feature values below this index are quantized by table lookup; larger
 * ones (loud input: > 40 in float feature units) by the exact formula. */
#define QLUT_SIZE 1024

typedef struct {
    hnn_model *nn;
    int8_t *input;              /* stride x features int8 */
    const uint8_t *output;      /* one byte */
    int stride, features, step_pos;
    int out_signed;
    float in_scale, out_scale;
    int32_t in_zp, out_zp;
    size_t arena_bytes;
    double cutoff;
    int window, refractory;
    int enabled;
    /* sliding window of raw output bytes (the probabilities follow) */
    uint8_t ring[HDET_MAX_WINDOW];
    int ring_count, ring_pos;
    float latest;               /* most recent probability (0 after reset) */
    int32_t ignore;             /* < 0: refractory (ESPHome ignore_windows_) */
    int pending;                /* a probability not yet judged */
    int32_t q_steps;            /* quality counters since the last clear */
    double q_peak;
    int8_t qlut[QLUT_SIZE];
} det_model;

struct hdet {
    hfe_frontend *fe;
    int n_models;
    int nn_status;
    /* the last failure, for hdet_detail: the runtime's (a refused model's
     * arena, or a model whose invoke failed) or the detector's own reason */
    const void *nn_arena;
    size_t nn_arena_size;
    const hnn_model *nn_model;
    const char *why;
    int64_t samples, frames;
    int n_feat;                 /* values per feature vector */
    int64_t q_frames;           /* quality counters since the last clear */
    uint64_t q_feat_sum;
    uint16_t feat[64];
    det_model model[HDET_MAX_MODELS];
};

#define ALIGN8(n) (((n) + 7u) & ~(size_t)7u)

static size_t frontend_bytes(void)
{
    hfe_config cfg;
    size_t n = 0;
    hfe_config_default(&cfg);
    (void)hfe_state_bytes(&cfg, &n);
    return n;
}

int hdet_bytes(size_t *out)
{
    if (!out)
        return HDET_E_ARG;
    *out = ALIGN8(sizeof(hdet)) + frontend_bytes();
    return HDET_OK;
}

int hdet_init(hdet **out, void *mem, size_t size)
{
    hfe_config cfg;
    hdet *d;
    size_t need;
    if (!out || !mem)
        return HDET_E_ARG;
    *out = NULL;
    hdet_bytes(&need);
    if (((uintptr_t)mem & 7u) != 0 || size < need)
        return HDET_E_ARG;
    memset(mem, 0, sizeof(hdet));
    d = (hdet *)mem;
    hfe_config_default(&cfg);
    if (hfe_init(&d->fe, &cfg, (uint8_t *)mem + ALIGN8(sizeof(hdet)), frontend_bytes()) != HFE_OK)
        return HDET_E_ARG;
    d->n_feat = hfe_num_channels(d->fe);
    *out = d;
    return HDET_OK;
}

int hdet_model_arena_bytes(const uint8_t *model, size_t len, size_t *out)
{
    int rc;
    if (!model || !out)
        return HDET_E_ARG;
    rc = hnn_arena_bytes(model, len, 0, out);
    return rc < 0 ? HDET_E_NN : HDET_OK;
}

/* pymicro-wakeword: np.round(feature / input_scale + zero_point) with the
 * feature a double holding value * 0.0390625f; numpy rounds half to even,
 * as rint does in the default rounding mode. Saturated to int8 (numpy's
 * cast would wrap, which no model was trained for). */
static int8_t quantize_exact(uint32_t value, float scale, int32_t zp)
{
    const float feature = (float)value * HFE_FLOAT_SCALE;
    double q = rint((double)feature / (double)scale + (double)zp);
    if (q < -128.0)
        q = -128.0;
    if (q > 127.0)
        q = 127.0;
    return (int8_t)q;
}

static float dequantize(const det_model *m, uint8_t raw)
{
    /* numpy: output.astype(float32) - zero_point, then * scale, in float32 */
    const int v = m->out_signed ? (int)(int8_t)raw : (int)raw;
    const float centred = (float)v - (float)m->out_zp;
    return centred * m->out_scale;
}

static void reset_probabilities(det_model *m)
{
    /* ESPHome StreamingModel::reset_probabilities */
    m->ring_count = 0;
    m->ring_pos = 0;
    m->latest = 0.0f;
    m->ignore = -m->refractory;
    m->pending = 0;
}

/* Remember a failure for hdet_detail; returns err. */
static int fail(hdet *d, int err, const char *why)
{
    d->why = why;
    d->nn_arena = NULL;
    d->nn_model = NULL;
    return err;
}

static int nn_failed(hdet *d, int rc, const hnn_model *model, const void *arena, size_t size)
{
    fail(d, HDET_E_NN, NULL);
    d->nn_status = rc;
    d->nn_model = model;
    d->nn_arena = arena;
    d->nn_arena_size = size;
    return HDET_E_NN;
}

int hdet_detail(const hdet *d, char *buf, size_t n)
{
    size_t at;
    if (!buf || !n)
        return 0;
    buf[0] = 0;
    if (!d)
        return 0;
    if (!d->nn_model && !d->nn_arena)
        return (int)hearth_put_text(buf, n, 0, d->why);
    /* "HNN_E_ARENA: <the runtime's detail>" */
    at = hearth_put_text(buf, n, 0, hearth_errname(d->nn_status));
    at = hearth_put_text(buf, n, at, ": ");
    if (d->nn_model)
        return (int)at + hnn_detail(d->nn_model, buf + at, n - at);
    return (int)at + hnn_init_detail(d->nn_arena, d->nn_arena_size, buf + at, n - at);
}

static int reset_model(hdet *d, det_model *m)
{
    int rc = hnn_reset(m->nn);
    if (rc < 0)
        return nn_failed(d, rc, m->nn, NULL, 0);
    m->step_pos = 0;
    memset(m->input, 0, (size_t)m->stride * (size_t)m->features);
    reset_probabilities(m);
    return HDET_OK;
}

int hdet_add_model(hdet *d, const uint8_t *model, size_t len, void *arena,
                   size_t arena_size, const hdet_model_config *cfg, int *index)
{
    det_model *m;
    hnn_tensor_info in, out;
    int rc, tin, tout, i;

    if (!d || !model || !arena || !cfg)
        return d ? fail(d, HDET_E_ARG, "NULL model, arena or config") : HDET_E_ARG;
    if (d->n_models >= HDET_MAX_MODELS)
        return fail(d, HDET_E_LIMIT, "HDET_MAX_MODELS models already added");
    if (cfg->window > HDET_MAX_WINDOW)
        return fail(d, HDET_E_LIMIT, "sliding window longer than HDET_MAX_WINDOW");
    if (!(cfg->cutoff >= 0.0 && cfg->cutoff <= 1.0) || cfg->window < 1 ||
        cfg->refractory_steps < 0 || cfg->refractory_steps > 1000000)
        return fail(d, HDET_E_CONFIG, "cutoff outside 0..1, window below 1 or refractory outside 0..1000000");
    m = &d->model[d->n_models];
    memset(m, 0, sizeof(*m));
    rc = hnn_init(&m->nn, model, len, arena, arena_size, 0);
    if (rc < 0)
        return nn_failed(d, rc, NULL, arena, arena_size);
    /* the runtime refuses any plan beyond the arena; say so here, too */
    if (hnn_arena_used(m->nn) > arena_size)
        return nn_failed(d, HNN_E_ARENA, NULL, arena, arena_size);
    if (hnn_num_inputs(m->nn) != 1 || hnn_num_outputs(m->nn) != 1)
        return fail(d, HDET_E_MODEL, "needs exactly one input and one output");
    tin = hnn_input(m->nn, 0);
    tout = hnn_output(m->nn, 0);
    if (tin < 0 || tout < 0 || hnn_tensor_info_get(m->nn, tin, &in) < 0 ||
        hnn_tensor_info_get(m->nn, tout, &out) < 0)
        return fail(d, HDET_E_MODEL, "input or output tensor unreadable");
    /* input [1, stride, features] int8 (microWakeWord / ESPHome layout) */
    if (in.type != HNN_INT8 || in.ndim != 3 || in.dims[0] != 1 || in.dims[1] < 1 ||
        in.dims[2] != hfe_num_channels(d->fe) || !(in.scale > 0.0f) ||
        in.bytes != in.dims[1] * in.dims[2])
        return fail(d, HDET_E_MODEL, "input is not int8 [1, stride, 40] with a positive scale");
    if ((out.type != HNN_UINT8 && out.type != HNN_INT8) || out.bytes != 1 ||
        !(out.scale > 0.0f))
        return fail(d, HDET_E_MODEL, "output is not one uint8/int8 value with a positive scale");
    m->input = (int8_t *)hnn_tensor_data(m->nn, tin);
    m->output = (const uint8_t *)hnn_tensor_data(m->nn, tout);
    if (!m->input || !m->output)
        return fail(d, HDET_E_MODEL, "input or output has no memory");
    m->stride = in.dims[1];
    m->features = in.dims[2];
    m->in_scale = in.scale;
    m->in_zp = in.zero_point;
    m->out_scale = out.scale;
    m->out_zp = out.zero_point;
    m->out_signed = out.type == HNN_INT8;
    m->arena_bytes = hnn_arena_used(m->nn);
    m->cutoff = cfg->cutoff;
    m->window = cfg->window;
    m->refractory = cfg->refractory_steps;
    m->enabled = 1;
    for (i = 0; i < QLUT_SIZE; i++)
        m->qlut[i] = quantize_exact((uint32_t)i, m->in_scale, m->in_zp);
    rc = reset_model(d, m);
    if (rc)
        return rc;
    if (index)
        *index = d->n_models;
    d->n_models++;
    return HDET_OK;
}

int hdet_nn_status(const hdet *d) { return d ? d->nn_status : HDET_E_ARG; }
int hdet_num_models(const hdet *d) { return d ? d->n_models : HDET_E_ARG; }
int64_t hdet_samples(const hdet *d) { return d ? d->samples : HDET_E_ARG; }
int64_t hdet_frames(const hdet *d) { return d ? d->frames : HDET_E_ARG; }

int hdet_model_info_get(const hdet *d, int model, hdet_model_info *info)
{
    const det_model *m;
    if (!d || !info || model < 0 || model >= d->n_models)
        return HDET_E_ARG;
    m = &d->model[model];
    info->stride = m->stride;
    info->features = m->features;
    info->input_scale = m->in_scale;
    info->input_zero_point = m->in_zp;
    info->output_scale = m->out_scale;
    info->output_zero_point = m->out_zp;
    info->output_signed = m->out_signed;
    info->enabled = m->enabled;
    info->arena_bytes = m->arena_bytes;
    return HDET_OK;
}

int hdet_enable(hdet *d, int model, int on)
{
    det_model *m;
    if (!d || model < 0 || model >= d->n_models)
        return HDET_E_ARG;
    m = &d->model[model];
    if (on && !m->enabled) {
        int rc = reset_model(d, m);
        if (rc)
            return rc;
    }
    m->enabled = on != 0;
    return HDET_OK;
}

static void quality_clear(hdet *d)
{
    int i;
    d->q_frames = 0;
    d->q_feat_sum = 0;
    for (i = 0; i < d->n_models; i++) {
        d->model[i].q_steps = 0;
        d->model[i].q_peak = 0.0;
    }
}

int hdet_quality_read(hdet *d, hdet_quality *out, int clear)
{
    int i;
    if (!d || !out)
        return HDET_E_ARG;
    memset(out, 0, sizeof(*out));
    out->frames = d->q_frames;
    if (d->q_frames > 0)
        out->feature_mean = (double)d->q_feat_sum / ((double)d->q_frames * (double)d->n_feat);
    out->n_models = d->n_models;
    for (i = 0; i < d->n_models; i++) {
        out->steps[i] = d->model[i].q_steps;
        out->peak[i] = (float)d->model[i].q_peak;
    }
    if (clear)
        quality_clear(d);
    return HDET_OK;
}

int hdet_reset(hdet *d)
{
    int i;
    if (!d)
        return HDET_E_ARG;
    hfe_reset(d->fe);
    d->samples = 0;
    d->frames = 0;
    quality_clear(d);
    for (i = 0; i < d->n_models; i++) {
        int rc = reset_model(d, &d->model[i]);
        if (rc)
            return rc;
    }
    return HDET_OK;
}

int hdet_end_refractory(hdet *d)
{
    int i;
    if (!d)
        return HDET_E_ARG;
    for (i = 0; i < d->n_models; i++)
        d->model[i].ignore = 0;
    return HDET_OK;
}

/* Mean of the window as statistics.mean computes it: the float32
 * probabilities summed exactly (in double they are: at most 64 values
 * spanning 8 binary orders of a 24-bit mantissa), divided once. */
static double window_mean(const det_model *m)
{
    double sum = 0.0;
    int i;
    for (i = 0; i < m->ring_count; i++)
        sum += (double)dequantize(m, m->ring[i]);
    return sum / (double)m->ring_count;
}

/* One feature vector through one model. Returns an hdet status; sets
 * *event_p >= 0 when the model detects on this vector. */
static int model_step(hdet *d, det_model *m, hdet_step *step, int *stepped,
                      double *event_p)
{
    int8_t *row = m->input + (size_t)m->step_pos * (size_t)m->features;
    const uint16_t *f = d->feat;
    double mean = -1.0;         /* window mean after this vector's invoke, -1 if none or not full */
    int c;

    *stepped = 0;
    *event_p = -1.0;
    for (c = 0; c < m->features; c++)
        row[c] = f[c] < QLUT_SIZE ? m->qlut[f[c]] : quantize_exact(f[c], m->in_scale, m->in_zp);
    if (++m->step_pos >= m->stride) {
        int rc = hnn_invoke(m->nn);
        uint8_t raw;
        m->step_pos = 0;
        if (rc < 0)
            return nn_failed(d, rc, m->nn, NULL, 0);
        raw = m->output[0];
        m->ring[m->ring_pos] = raw;
        m->ring_pos = (m->ring_pos + 1) % m->window;
        if (m->ring_count < m->window)
            m->ring_count++;
        m->latest = dequantize(m, raw);
        m->pending = 1;
        m->q_steps++;
        if (m->ring_count == m->window) {
            mean = window_mean(m);
            if (mean > m->q_peak)
                m->q_peak = mean;
        }
        if (step) {
            step->model = (int32_t)(m - d->model);
            step->output = m->out_signed ? (int32_t)(int8_t)raw : (int32_t)raw;
            step->frame = d->frames;
            step->probability = m->latest;
            step->reserved = 0.0f;
            step->mean = mean;
        }
        *stepped = 1;
    }
    /* ESPHome counts the refractory period in feature vectors whose latest
     * probability is below the cutoff */
    if ((double)m->latest < m->cutoff && m->ignore < 0)
        m->ignore++;
    /* ... and judges a new probability only once that period is over */
    if (m->pending && m->ignore >= 0) {
        m->pending = 0;
        if (m->ring_count == m->window) {
            if (mean < 0.0)     /* the invoke was on an earlier vector (refractory then) */
                mean = window_mean(m);
            if (mean > m->cutoff) {
                *event_p = mean;
                reset_probabilities(m);
            }
        }
    }
    return HDET_OK;
}

int hdet_feed(hdet *d, const int16_t *pcm, size_t n, size_t *consumed,
              hdet_event *events, size_t max_events, size_t *n_events,
              hdet_step *steps, size_t max_steps, size_t *n_steps)
{
    size_t done = 0, ne = 0, ns = 0;
    const size_t nm = d ? (size_t)d->n_models : 0;
    int rc = HDET_OK;

    if (!d || !consumed || !n_events || (!pcm && n) || (!events && max_events) ||
        (steps && !n_steps))
        return HDET_E_ARG;
    *consumed = 0;
    *n_events = 0;
    if (n_steps)
        *n_steps = 0;
    if (n && (max_events < nm || (steps && max_steps < nm)))
        return HDET_E_ARG;
    while (done < n) {
        size_t used = 0;
        int r, i;
        /* room for one event and one step per model before each vector */
        if (max_events - ne < nm || (steps && max_steps - ns < nm))
            break;
        r = hfe_process(d->fe, pcm + done, n - done, &used, d->feat);
        done += used;
        d->samples += (int64_t)used;
        if (r != 1)
            continue;
        d->q_frames++;
        for (i = 0; i < d->n_feat; i++)
            d->q_feat_sum += d->feat[i];
        for (i = 0; i < d->n_models; i++) {
            det_model *m = &d->model[i];
            int stepped;
            double p;
            if (!m->enabled)
                continue;
            rc = model_step(d, m, steps ? &steps[ns] : NULL, &stepped, &p);
            if (rc)
                goto out;
            if (stepped && steps)
                ns++;
            if (p >= 0.0) {
                hdet_event *e = &events[ne++];
                memset(e, 0, sizeof(*e));
                e->model = i;
                e->sample = d->samples;
                e->frame = d->frames;
                e->probability = (float)p;
            }
        }
        d->frames++;
    }
out:
    *consumed = done;
    *n_events = ne;
    if (n_steps)
        *n_steps = ns;
    return rc;
}
