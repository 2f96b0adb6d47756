/*
 * blockdsp.c - per-block alarm tone analysis and audio statistics (see
 * hearth/blockdsp.h). The Python loop used to spend a handful of numpy calls
 * per block on this, each a few microseconds once the detector had flushed
 * the caches; here it is one pass of straight-line C per block, plus the
 * statistics on the blocks the health check looks at.
 */
#include "hearth/blockdsp.h"
#include "energy.h"

int hbd_init(hbd_state *st, const hbd_config *cfg)
{
    int i, prev;
    if (!st || !cfg || !cfg->window || (cfg->nfreq && !cfg->coeff) || (cfg->nbands && !cfg->band_end))
        return HBD_E_ARG;
    if (cfg->frame < 1 || cfg->frame > HBD_MAX_FRAME || cfg->nfreq < 0 || cfg->nfreq > HBD_MAX_FREQS ||
        cfg->nbands < 0 || cfg->nbands > HBD_MAX_BANDS || !(cfg->norm > 0.0) ||
        !(cfg->min_energy > 0.0) || cfg->clip_level < 1)
        return HBD_E_CONFIG;
    prev = 0;
    for (i = 0; i < cfg->nbands; i++) {
        /* every band needs at least one frequency, in order, within nfreq */
        if (cfg->band_end[i] <= prev || cfg->band_end[i] > cfg->nfreq)
            return HBD_E_CONFIG;
        st->band_end[i] = prev = cfg->band_end[i];
    }
    st->frame = cfg->frame;
    st->nfreq = cfg->nfreq;
    st->nbands = cfg->nbands;
    st->clip_level = cfg->clip_level;
    st->norm = cfg->norm;
    st->min_energy = cfg->min_energy;
    for (i = 0; i < cfg->frame; i++) {
        st->window[i] = cfg->window[i];
        st->w2[i] = cfg->window[i] * cfg->window[i];
    }
    for (i = 0; i < cfg->nfreq; i++)
        st->coeff[i] = cfg->coeff[i];
    return HBD_OK;
}

/* Peak, clip count and equal-neighbour count. Min and max stay int16 and
 * the clip count runs only when the peak reaches clip level (rare), so the
 * loops are plain packed-integer code. */
int hbd_stats(const hbd_state *st, const int16_t *x, size_t n, hbd_result *out)
{
    int16_t lo, hi;
    int32_t peak, clipped = 0, repeats = 0, clip;
    size_t i;
    if (!st || !out || (n && !x))
        return HBD_E_ARG;
    clip = st->clip_level;
    if (n == 0) {
        out->peak = out->clipped = out->repeats = out->n = 0;
        return HBD_OK;
    }
    lo = hi = x[0];
    for (i = 1; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    peak = (int32_t)hi >= -(int32_t)lo ? (int32_t)hi : -(int32_t)lo;
    if (peak >= clip)
        for (i = 0; i < n; i++)
            clipped += (x[i] >= clip) + (x[i] <= -clip);
    for (i = 1; i < n; i++)
        repeats += x[i] == x[i - 1];
    out->peak = peak;
    out->clipped = clipped;
    out->repeats = repeats;
    out->n = (int32_t)n;
    return HBD_OK;
}

/* Best Goertzel power per band over one loud frame, scaled to a tone ratio. */
static void ratios(const hbd_state *st, const int16_t *x, double energy, double *ratio)
{
    double y[HBD_MAX_FRAME];
    double s1[HBD_MAX_FREQS], s2[HBD_MAX_FREQS];
    const double *c = st->coeff;
    double scale = st->norm / energy;
    int i, k, b, nf = st->nfreq, n = st->frame, start = 0;
    for (i = 0; i < n; i++)
        y[i] = (double)x[i] * st->window[i];
    for (k = 0; k < nf; k++)
        s1[k] = s2[k] = 0.0;
    /* all frequencies side by side: independent recurrences overlap */
    for (i = 0; i < n; i++) {
        double v = y[i];
        for (k = 0; k < nf; k++) {
            double s0 = v + c[k] * s1[k] - s2[k];
            s2[k] = s1[k];
            s1[k] = s0;
        }
    }
    for (b = 0; b < st->nbands; b++) {
        double best = 0.0;
        for (k = start; k < st->band_end[b]; k++) {
            double p = s1[k] * s1[k] + s2[k] * s2[k] - c[k] * s1[k] * s2[k];
            if (p > best)
                best = p;
        }
        ratio[b] = best * scale;
        start = st->band_end[b];
    }
}

/* sum x^2 w^2 over one frame. x^2 is exact in int32 (at most 2^30), so
 * converting it instead of x gives the same products and lets the compiler
 * use packed conversions. Eight partial sums a[j] (sample 8k + j goes to
 * a[j]): one accumulator is a long chain of dependent adds, several times
 * slower; the result differs from a sequential sum only by float64
 * rounding. */
static double energy_plain(const int16_t *x, const double *w2, int n)
{
    double a[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    const int16_t *end8 = x + (n & ~7);
    int j;
    /* pointers, not int indices: under -fwrapv i + j may wrap, which keeps
     * the compiler from vectorizing */
    for (; x < end8; x += 8, w2 += 8)
        for (j = 0; j < 8; j++) {
            int32_t v = x[j];
            a[j] += (double)(v * v) * w2[j];
        }
    return hbd_energy_tail(a, x, w2, n & 7);
}

#ifdef HBD_AVX2
static double energy(const int16_t *x, const double *w2, int n)
{
    return __builtin_cpu_supports("avx2") ? hbd_energy_avx2(x, w2, n) : energy_plain(x, w2, n);
}
#else
#define energy(x, w2, n) energy_plain(x, w2, n)
#endif

int hbd_block(const hbd_state *st, const int16_t *x, size_t n, hbd_result *out)
{
    size_t nframes;
    int f, i, loud = 0, frame;
    if (!st || !out || (n && !x))
        return HBD_E_ARG;
    frame = st->frame;
    nframes = n / (size_t)frame;
    if (nframes > HBD_MAX_FRAMES)
        return HBD_E_SIZE;
    out->frames = (int32_t)nframes;
    for (f = 0; f < (int)nframes; f++) {
        const int16_t *p = x + (size_t)f * (size_t)frame;
        out->energy[f] = energy(p, st->w2, frame);
        loud += out->energy[f] >= st->min_energy;
    }
    out->loud = loud;
    if (loud == 0)
        return 0;
    for (f = 0; f < (int)nframes; f++) {
        double *r = out->ratio + (size_t)f * (size_t)st->nbands;
        if (out->energy[f] < st->min_energy) {
            for (i = 0; i < st->nbands; i++)
                r[i] = 0.0;
        } else {
            ratios(st, x + (size_t)f * (size_t)frame, out->energy[f], r);
        }
    }
    return loud;
}
