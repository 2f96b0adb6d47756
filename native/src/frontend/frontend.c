/*
 * frontend.c - TFLM audio microfrontend with its exact integer arithmetic.
 *
 * Stage by stage this reproduces tensorflow/lite/experimental/microfrontend
 * (window, fft, filterbank, noise_reduction, pcan_gain_control, log_scale and
 * their *_util.c init code): the same float expressions build the tables at
 * init, the same integer expressions (including their truncations and
 * wrap-arounds) run per step. Where the layout differs, the results do not:
 *   - the filterbank keeps only the bins that belong to a band; TFLM pads
 *     each band to 4-aligned runs with zero weights, and zero weights add
 *     nothing to the 64-bit sums;
 *   - the FFT is an iterative schedule of KISS's recursive one (fe_fft.c).
 * Everything lives in the caller's memory block; nothing is allocated.
 */
#include "hearth/frontend.h"
#include "fe_fft.h"

#include <math.h>
#include <string.h>

#define WINDOW_BITS 12          /* Q12 window coefficients */
#define FILTERBANK_BITS 12      /* Q12 band weights */
#define NR_BITS 14              /* noise reduction smoothing, Q14 */
#define PCAN_SNR_BITS 12
#define PCAN_OUTPUT_BITS 6
#define WDF_BITS 32             /* PCAN gain LUT covers 32-bit inputs */
#define GAIN_LUT_SIZE (4 * WDF_BITS - 3)
#define LOG_SCALE_LOG2 16
#define LOG_SEGMENTS_LOG2 7
#define LOG_COEFF 45426         /* ln(2) in Q16 */

#define RESTRICT restrict

/* log2(1 + i/128) - i/128 in Q16 for i = 0..128 (+1 pad): the correction
 * the piecewise-linear log2 adds to its mantissa. */
static const uint16_t log_lut[130] = {
    0, 224, 442, 654, 861, 1063, 1259, 1450, 1636, 1817, 1992, 2163,
    2329, 2490, 2646, 2797, 2944, 3087, 3224, 3358, 3487, 3611, 3732, 3848,
    3960, 4068, 4172, 4272, 4368, 4460, 4549, 4633, 4714, 4791, 4864, 4934,
    5001, 5063, 5123, 5178, 5231, 5280, 5326, 5368, 5408, 5444, 5477, 5507,
    5533, 5557, 5578, 5595, 5610, 5622, 5631, 5637, 5640, 5641, 5638, 5633,
    5626, 5615, 5602, 5586, 5568, 5547, 5524, 5498, 5470, 5439, 5406, 5370,
    5332, 5291, 5249, 5203, 5156, 5106, 5054, 5000, 4944, 4885, 4825, 4762,
    4697, 4630, 4561, 4490, 4416, 4341, 4264, 4184, 4103, 4020, 3935, 3848,
    3759, 3668, 3575, 3481, 3384, 3286, 3186, 3084, 2981, 2875, 2768, 2659,
    2549, 2437, 2323, 2207, 2090, 1971, 1851, 1729, 1605, 1480, 1353, 1224,
    1094, 963, 830, 695, 559, 421, 282, 142, 0, 0,
};

struct hfe_frontend {
    hfe_config cfg;
    int win_size, win_step;
    int nch;
    int fb_start, fb_end;          /* bins [fb_start, fb_end) feed the bands */
    int fft_shift_bits;            /* log2(fft_size) - 1 - FILTERBANK_BITS/2 */
    uint16_t nr_even, nr_odd, nr_min;
    int32_t snr_shift;
    int pcan_input_bits;
    size_t win_used;
    fe_fft fft;
    /* tables (built at init) */
    int16_t *win_coef;             /* [win_size] */
    int16_t *band_start;           /* [nch + 1] */
    int16_t *band_width;           /* [nch + 1] */
    int16_t *weights;              /* [fb_end - fb_start] */
    int16_t *unweights;
    int16_t *gain_lut;             /* [GAIN_LUT_SIZE] */
    /* state and per-step buffers */
    int16_t *win_in;               /* [win_size] samples waiting */
    int16_t *fft_in;               /* [fft_size], tail stays zero */
    int16_t *spec_r, *spec_i;      /* [fft_size / 2 + 1] */
    uint32_t *energy;              /* [fb_end - fb_start] */
    uint64_t *work;                /* [nch + 1] */
    uint32_t *signal;              /* [nch] */
    uint32_t *noise_estimate;      /* [nch] */
};

void hfe_config_default(hfe_config *c)
{
    /* microWakeWord: pymicro-features' init_cfg / ESPHome
     * preprocessor_settings.h */
    memset(c, 0, sizeof(*c));
    c->sample_rate = 16000;
    c->window_ms = 30;
    c->step_ms = 10;
    c->num_channels = 40;
    c->lower_band_hz = 125.0f;
    c->upper_band_hz = 7500.0f;
    c->nr_smoothing_bits = 10;
    c->nr_even_smoothing = 0.025f;
    c->nr_odd_smoothing = 0.06f;
    c->nr_min_signal_remaining = 0.05f;
    c->pcan_enable = 1;
    c->pcan_strength = 0.95f;
    c->pcan_offset = 80.0f;
    c->pcan_gain_bits = 21;
    c->log_enable = 1;
    c->log_scale_shift = 6;
}

/* Bits needed to represent n (0 for 0). */
static inline int msb32(uint32_t n)
{
#if defined(__GNUC__) || defined(__clang__)
    return n ? 32 - __builtin_clz(n) : 0;
#else
    int b = 0;
    while (n) {
        b++;
        n >>= 1;
    }
    return b;
#endif
}


/* ---- derived sizes ------------------------------------------------------ */

typedef struct {
    int win_size, win_step, fft_size, nch, nbins;
} sizes;

static float freq_to_mel(float hz)
{
    return 1127.0f * log1pf(hz / 700.0f);
}

/* Bands exactly as FilterbankPopulateState places them: num_channels + 1
 * mel-spaced centres between the limits; band c takes the bins whose mel
 * value is above centre c-1 and at most centre c. With the arrays NULL it
 * only finds the bin range. */
static int plan_bands(const hfe_config *c, int spectrum_size, int *start,
                      int *end, int16_t *bstart, int16_t *bwidth,
                      int16_t *w, int16_t *uw)
{
    const int n1 = c->num_channels + 1;
    const float mel_low = freq_to_mel(c->lower_band_hz);
    const float mel_hi = freq_to_mel(c->upper_band_hz);
    const float mel_spacing = (mel_hi - mel_low) / ((float)n1);
    const float hz_per_bin = 0.5f * c->sample_rate / ((float)spectrum_size - 1);
    float prev_centre = mel_low;
    int chan, bin;

    *start = (int)(1.5f + c->lower_band_hz / hz_per_bin);
    bin = *start;
    for (chan = 0; chan < n1; chan++) {
        const float centre = mel_low + (mel_spacing * (chan + 1));
        int next = bin, j;
        while (freq_to_mel(next * hz_per_bin) <= centre) {
            if (++next >= spectrum_size)
                return HFE_E_CONFIG;
        }
        if (bstart) {
            bstart[chan] = (int16_t)bin;
            bwidth[chan] = (int16_t)(next - bin);
            for (j = bin; j < next; j++) {
                const float weight = (centre - freq_to_mel(j * hz_per_bin)) /
                                     (centre - prev_centre);
                w[j - *start] = (int16_t)floorf(weight * (1 << FILTERBANK_BITS) + 0.5f);
                uw[j - *start] = (int16_t)floorf((1.0f - weight) * (1 << FILTERBANK_BITS) + 0.5f);
            }
        }
        prev_centre = centre;
        bin = next;
    }
    *end = bin;
    return (*end >= spectrum_size) ? HFE_E_CONFIG : HFE_OK;
}

static int compute_sizes(const hfe_config *c, sizes *s)
{
    int start, end, rc, correction;

    if (!c)
        return HFE_E_ARG;
    /* Ranges where TFLM's arithmetic is defined (no shift by >= the type
     * width, no int16 index overflow). */
    if (c->sample_rate < 1000 || c->sample_rate > 96000 ||
        c->window_ms < 1 || c->step_ms < 1 ||
        c->num_channels < 1 || c->num_channels > 256 ||
        !(c->lower_band_hz >= 0.0f) || !(c->upper_band_hz > c->lower_band_hz) ||
        c->nr_smoothing_bits < 0 || c->nr_smoothing_bits > 16 ||
        !(c->nr_even_smoothing >= 0.0f && c->nr_even_smoothing <= 1.0f) ||
        !(c->nr_odd_smoothing >= 0.0f && c->nr_odd_smoothing <= 1.0f) ||
        !(c->nr_min_signal_remaining >= 0.0f && c->nr_min_signal_remaining <= 1.0f) ||
        c->log_scale_shift < 0 || c->log_scale_shift > 16)
        return HFE_E_CONFIG;
    s->win_size = (int)((long)c->window_ms * c->sample_rate / 1000);
    s->win_step = (int)((long)c->step_ms * c->sample_rate / 1000);
    if (s->win_size < 9 || s->win_size > FE_FFT_MAX || s->win_step < 1 ||
        s->win_step > s->win_size)
        return HFE_E_CONFIG;
    for (s->fft_size = 1; s->fft_size < s->win_size; s->fft_size <<= 1)
        ;
    s->nch = c->num_channels;
    correction = msb32((uint32_t)s->fft_size) - 1 - FILTERBANK_BITS / 2;
    if (c->pcan_enable) {
        int snr_shift = c->pcan_gain_bits - correction - PCAN_SNR_BITS;
        int input_bits = c->nr_smoothing_bits - correction;
        if (c->pcan_gain_bits < 0 || c->pcan_gain_bits > 31 ||
            snr_shift < 0 || snr_shift > 63 || input_bits < 0 || input_bits > 31 ||
            !(c->pcan_strength >= 0.0f) || !(c->pcan_offset > 0.0f))
            return HFE_E_CONFIG;
    }
    rc = plan_bands(c, s->fft_size / 2 + 1, &start, &end, NULL, NULL, NULL, NULL);
    if (rc)
        return rc;
    s->nbins = end - start;
    return HFE_OK;
}

/* 16-byte offsets: the SIMD-friendly buffers start on vector boundaries
 * whenever the caller's block is 16-aligned */
#define ALIGN16(n) (((n) + 15u) & ~(size_t)15u)

static size_t layout(const sizes *s, hfe_frontend *fe, uint8_t *base)
{
    size_t off = ALIGN16(sizeof(hfe_frontend));
#define TAKE(field, type, count)                                      \
    do {                                                              \
        if (fe)                                                       \
            fe->field = (type *)(void *)(base + off);                 \
        off += ALIGN16((size_t)(count) * sizeof(type));                \
    } while (0)
    TAKE(win_coef, int16_t, s->win_size);
    TAKE(win_in, int16_t, s->win_size);
    TAKE(fft_in, int16_t, s->fft_size);
    TAKE(spec_r, int16_t, s->fft_size / 2 + 1);
    TAKE(spec_i, int16_t, s->fft_size / 2 + 1);
    TAKE(band_start, int16_t, s->nch + 1);
    TAKE(band_width, int16_t, s->nch + 1);
    TAKE(weights, int16_t, s->nbins);
    TAKE(unweights, int16_t, s->nbins);
    TAKE(energy, uint32_t, s->nbins);
    TAKE(work, uint64_t, s->nch + 1);
    TAKE(signal, uint32_t, s->nch);
    TAKE(noise_estimate, uint32_t, s->nch);
    TAKE(gain_lut, int16_t, GAIN_LUT_SIZE);
#undef TAKE
    off += ALIGN16(fe_fft_bytes(s->fft_size));
    return off;
}

int hfe_state_bytes(const hfe_config *cfg, size_t *out)
{
    sizes s;
    int rc;
    if (!out)
        return HFE_E_ARG;
    rc = compute_sizes(cfg, &s);
    if (rc)
        return rc;
    *out = layout(&s, NULL, NULL);
    return HFE_OK;
}

/* ---- init-time tables ---------------------------------------------------- */

static int16_t pcan_gain(const hfe_config *c, int input_bits, uint32_t x)
{
    const float x_as_float = ((float)x) / ((uint32_t)1 << input_bits);
    const float gain = ((uint32_t)1 << c->pcan_gain_bits) *
                       powf(x_as_float + c->pcan_offset, -c->pcan_strength);
    if (gain > 32767)
        return 32767;
    return (int16_t)(gain + 0.5f);
}

/* Piecewise-quadratic LUT of the gain over each octave [2^(k-1), 2^k):
 * value at the octave start and two coefficients fitted through its middle
 * and end (PcanGainControlPopulateState). Entries 5, 9, ... stay unused. */
static void build_gain_lut(const hfe_config *c, int input_bits, int16_t *lut)
{
    int interval;
    memset(lut, 0, GAIN_LUT_SIZE * sizeof(*lut));
    lut[0] = pcan_gain(c, input_bits, 0);
    lut[1] = pcan_gain(c, input_bits, 1);
    for (interval = 2; interval <= WDF_BITS; interval++) {
        const uint32_t x0 = (uint32_t)1 << (interval - 1);
        const uint32_t x1 = x0 + (x0 >> 1);
        const uint32_t x2 = (interval == WDF_BITS) ? x0 + (x0 - 1) : 2 * x0;
        const int16_t y0 = pcan_gain(c, input_bits, x0);
        const int16_t y1 = pcan_gain(c, input_bits, x1);
        const int16_t y2 = pcan_gain(c, input_bits, x2);
        const int32_t diff1 = (int32_t)y1 - y0;
        const int32_t diff2 = (int32_t)y2 - y0;
        const int32_t a1 = 4 * diff1 - diff2;
        const int32_t a2 = diff2 - a1;
        int16_t *seg = lut + 4 * interval - 6;
        seg[0] = y0;
        seg[1] = (int16_t)a1;
        seg[2] = (int16_t)a2;
    }
}

int hfe_init(hfe_frontend **out, const hfe_config *cfg, void *mem, size_t size)
{
    hfe_frontend *fe;
    sizes s;
    size_t need;
    int rc, start, end, i;

    if (!out || !mem || !cfg)
        return HFE_E_ARG;
    *out = NULL;
    if (((uintptr_t)mem & 7u) != 0)
        return HFE_E_ARG;
    rc = compute_sizes(cfg, &s);
    if (rc)
        return rc;
    need = layout(&s, NULL, NULL);
    if (size < need)
        return HFE_E_MEM;
    memset(mem, 0, need);
    fe = (hfe_frontend *)mem;
    layout(&s, fe, (uint8_t *)mem);
    fe->cfg = *cfg;
    fe->win_size = s.win_size;
    fe->win_step = s.win_step;
    fe->nch = s.nch;

    {
        /* Hann window, Q12, sampled at bin centres (WindowPopulateState) */
        const float arg = (float)3.14159265358979323846 * 2.0f / ((float)s.win_size);
        for (i = 0; i < s.win_size; i++) {
            float v = 0.5f - (0.5f * cosf(arg * ((float)i + 0.5f)));
            fe->win_coef[i] = (int16_t)floorf(v * (1 << WINDOW_BITS) + 0.5f);
        }
    }
    if (fe_fft_init(&fe->fft, s.fft_size,
                    (uint8_t *)mem + need - ALIGN16(fe_fft_bytes(s.fft_size))) != 0)
        return HFE_E_CONFIG;

    rc = plan_bands(cfg, s.fft_size / 2 + 1, &start, &end, fe->band_start,
                    fe->band_width, fe->weights, fe->unweights);
    if (rc)
        return rc;
    fe->fb_start = start;
    fe->fb_end = end;

    fe->nr_even = (uint16_t)(cfg->nr_even_smoothing * (1 << NR_BITS));
    fe->nr_odd = (uint16_t)(cfg->nr_odd_smoothing * (1 << NR_BITS));
    fe->nr_min = (uint16_t)(cfg->nr_min_signal_remaining * (1 << NR_BITS));

    fe->fft_shift_bits = msb32((uint32_t)s.fft_size) - 1 - FILTERBANK_BITS / 2;
    if (cfg->pcan_enable) {
        fe->snr_shift = cfg->pcan_gain_bits - fe->fft_shift_bits - PCAN_SNR_BITS;
        fe->pcan_input_bits = cfg->nr_smoothing_bits - fe->fft_shift_bits;
        build_gain_lut(cfg, fe->pcan_input_bits, fe->gain_lut);
    }
    hfe_reset(fe);
    *out = fe;
    return HFE_OK;
}

void hfe_reset(hfe_frontend *fe)
{
    if (!fe)
        return;
    memset(fe->win_in, 0, (size_t)fe->win_size * sizeof(*fe->win_in));
    fe->win_used = 0;
    memset(fe->noise_estimate, 0, (size_t)fe->nch * sizeof(*fe->noise_estimate));
}

int hfe_num_channels(const hfe_frontend *fe) { return fe ? fe->nch : HFE_E_ARG; }
int hfe_window_samples(const hfe_frontend *fe) { return fe ? fe->win_size : HFE_E_ARG; }
int hfe_step_samples(const hfe_frontend *fe) { return fe ? fe->win_step : HFE_E_ARG; }

int hfe_get_tables(const hfe_frontend *fe, hfe_tables *t)
{
    if (!fe || !t)
        return HFE_E_ARG;
    memset(t, 0, sizeof(*t));
    t->window_size = fe->win_size;
    t->window = fe->win_coef;
    t->fft_size = fe->fft.nfft;
    t->twiddles = fe->fft.twiddles;
    t->super_twiddles = fe->fft.super_twiddles;
    t->fb_start_index = fe->fb_start;
    t->fb_end_index = fe->fb_end;
    t->fb_band_start = fe->band_start;
    t->fb_band_width = fe->band_width;
    t->fb_weights = fe->weights;
    t->fb_unweights = fe->unweights;
    t->nr_even_smoothing = fe->nr_even;
    t->nr_odd_smoothing = fe->nr_odd;
    t->nr_min_signal_remaining = fe->nr_min;
    t->pcan_gain_lut = fe->cfg.pcan_enable ? fe->gain_lut : NULL;
    t->pcan_snr_shift = fe->snr_shift;
    return HFE_OK;
}

/* ---- per-step arithmetic ------------------------------------------------- */

/* FilterbankSqrt's Sqrt32/Sqrt64 are the bitwise (digit-by-digit) integer
 * square root, which yields r = floor(sqrt(x)) and the remainder x - r*r,
 * rounded up when the remainder exceeds r unless r is already the largest
 * root of the word (0xFFFF / 0xFFFFFFFF). Same result, computed from the
 * correctly rounded double sqrt and corrected to the exact floor. */
static uint64_t floor_sqrt64(uint64_t x)
{
    uint64_t r;
    /* signed conversions are single instructions; the filterbank sums stay
     * far below 2^63, the unsigned path is only for completeness */
    if ((x >> 63) == 0)
        r = (uint64_t)(int64_t)sqrt((double)(int64_t)x);
    else
        r = (uint64_t)sqrt((double)x);
    if (r > 0xFFFFFFFFu)
        r = 0xFFFFFFFFu;
    while (r * r > x)
        r--;
    while (r < 0xFFFFFFFFu && (r + 1) * (r + 1) <= x)
        r++;
    return r;
}

static uint32_t filterbank_sqrt(uint64_t x)
{
    const uint64_t r = floor_sqrt64(x);
    /* TFLM takes its 32-bit routine whenever the high word is clear */
    const uint64_t top = (x >> 32) == 0 ? 0xFFFFu : 0xFFFFFFFFu;
    return (uint32_t)((x - r * r > r && r != top) ? r + 1 : r);
}

/* The PCAN gain for a noise estimate x: LUT interpolation within x's
 * octave (WideDynamicFunction). */
static int16_t wide_dynamic(uint32_t x, const int16_t *lut)
{
    int interval;
    int16_t frac;
    int32_t result;
    if (x <= 2)
        return lut[x];
    interval = msb32(x);
    lut += 4 * interval - 6;
    frac = (int16_t)(((interval < 11) ? (x << (11 - interval))
                                      : (x >> (interval - 11))) & 0x3FF);
    result = ((int32_t)lut[2] * frac) >> 5;
    result += (int32_t)((uint32_t)lut[1] << 5);
    result = (int32_t)((uint32_t)result * (uint32_t)frac);   /* int32 wrap */
    result = (int32_t)((uint32_t)result + (1u << 14)) >> 15;
    result += lut[0];
    return (int16_t)result;
}

static uint32_t pcan_shrink(uint32_t x)
{
    if (x < (2u << PCAN_SNR_BITS))
        return (x * x) >> (2 + 2 * PCAN_SNR_BITS - PCAN_OUTPUT_BITS);
    return (x >> (PCAN_SNR_BITS - PCAN_OUTPUT_BITS)) - (1u << PCAN_OUTPUT_BITS);
}

/* Natural log in Q(scale_shift), via a piecewise-linear log2 corrected by
 * log_lut (LogScaleApply's Log). */
static uint32_t log_q(uint32_t x, int scale_shift)
{
    const uint32_t integer = (uint32_t)msb32(x) - 1;
    int32_t frac = (int32_t)((int64_t)x - ((int64_t)1 << integer));
    uint32_t base_seg, fraction, log2v, loge;
    int32_t c0, c1, rel;
    if (integer < LOG_SCALE_LOG2)
        frac <<= LOG_SCALE_LOG2 - integer;
    else
        frac >>= integer - LOG_SCALE_LOG2;
    base_seg = (uint32_t)frac >> (LOG_SCALE_LOG2 - LOG_SEGMENTS_LOG2);
    c0 = log_lut[base_seg];
    c1 = log_lut[base_seg + 1];
    rel = ((c1 - c0) * (frac - (int32_t)(base_seg << (LOG_SCALE_LOG2 - LOG_SEGMENTS_LOG2))))
          >> LOG_SCALE_LOG2;
    fraction = (uint32_t)(frac + c0 + rel);
    log2v = (integer << LOG_SCALE_LOG2) + fraction;
    loge = (uint32_t)(((uint64_t)LOG_COEFF * log2v + (1u << (LOG_SCALE_LOG2 - 1)))
                      >> LOG_SCALE_LOG2);
    return ((loge << scale_shift) + (1u << (LOG_SCALE_LOG2 - 1))) >> LOG_SCALE_LOG2;
}

/* Hann window into the FFT input; returns TFLM's max_abs_output_value.
 * TFLM takes |v| in int16, where |-32768| wraps to -32768 and never wins:
 * the same as max(v, (int16)-v) over int16 lanes. */
static int window_apply(int n, const int16_t *RESTRICT x, const int16_t *RESTRICT coef,
                        int16_t *RESTRICT y)
{
    int i;
    int16_t max_abs = 0;
    for (i = 0; i < n; i++)
        y[i] = (int16_t)(((int32_t)x[i] * coef[i]) >> WINDOW_BITS);
    for (i = 0; i < n; i++) {
        const int16_t v = y[i], nv = (int16_t)-v;
        const int16_t a = v > nv ? v : nv;
        max_abs = a > max_abs ? a : max_abs;
    }
    return max_abs;
}

/* |X|^2 per bin. TFLM stores the uint32 square sum in an int32 and widens
 * it sign-extended later, so keep exactly that bit pattern. */
static void power(int n, const int16_t *RESTRICT re, const int16_t *RESTRICT im,
                  uint32_t *RESTRICT e)
{
    int i;
    for (i = 0; i < n; i++)
        e[i] = (uint32_t)((int32_t)re[i] * re[i]) + (uint32_t)((int32_t)im[i] * im[i]);
}

static void compute_step(hfe_frontend *fe, uint16_t *out)
{
    const int nch = fe->nch;
    int shift, c;

    shift = 15 - msb32((uint32_t)window_apply(fe->win_size, fe->win_in, fe->win_coef,
                                              fe->fft_in));
    /* the FFT scales its input up by `shift` so the fixed-point transform
     * keeps as many bits as possible; the zero tail of fft_in stays zero */
    fe_fft_real(&fe->fft, fe->fft_in, shift, fe->spec_r, fe->spec_i);
    power(fe->fb_end - fe->fb_start, fe->spec_r + fe->fb_start, fe->spec_i + fe->fb_start,
          fe->energy);

    /* triangular bands: each bin adds weight*E to its band and
     * (1-weight)*E to the next one */
    {
        const uint32_t *energy = fe->energy;
        const int16_t *w = fe->weights, *uw = fe->unweights;
        uint64_t carry = 0;
        int b = 0;
        for (c = 0; c <= nch; c++) {
            const int b1 = b + fe->band_width[c];
            uint64_t acc = carry, next = 0;
            for (; b < b1; b++) {
                const uint64_t e = (uint64_t)(int64_t)(int32_t)energy[b];
                acc += (uint64_t)w[b] * e;
                next += (uint64_t)uw[b] * e;
            }
            fe->work[c] = acc;
            carry = next;
        }
    }
    for (c = 0; c < nch; c++)
        fe->signal[c] = filterbank_sqrt(fe->work[c + 1]) >> shift;

    /* noise reduction: subtract a slow per-channel noise estimate */
    for (c = 0; c < nch; c++) {
        const uint32_t smoothing = (c & 1) ? fe->nr_odd : fe->nr_even;
        const uint32_t one_minus = (1u << NR_BITS) - smoothing;
        const uint32_t sig = fe->signal[c];
        const uint32_t scaled = sig << fe->cfg.nr_smoothing_bits;
        uint32_t est = (uint32_t)(((uint64_t)scaled * smoothing +
                                   (uint64_t)fe->noise_estimate[c] * one_minus) >> NR_BITS);
        uint32_t floor_v, sub;
        fe->noise_estimate[c] = est;
        if (est > scaled)
            est = scaled;
        floor_v = (uint32_t)(((uint64_t)sig * fe->nr_min) >> NR_BITS);
        sub = (scaled - est) >> fe->cfg.nr_smoothing_bits;
        fe->signal[c] = sub > floor_v ? sub : floor_v;
    }

    if (fe->cfg.pcan_enable) {
        for (c = 0; c < nch; c++) {
            const uint32_t gain = (uint32_t)(int32_t)wide_dynamic(fe->noise_estimate[c], fe->gain_lut);
            const uint32_t snr = (uint32_t)(((uint64_t)fe->signal[c] * gain) >> fe->snr_shift);
            fe->signal[c] = pcan_shrink(snr);
        }
    }

    for (c = 0; c < nch; c++) {
        uint32_t v = fe->signal[c];
        if (fe->cfg.log_enable) {
            if (fe->fft_shift_bits < 0)
                v >>= -fe->fft_shift_bits;
            else
                v <<= fe->fft_shift_bits;
            v = (v > 1) ? log_q(v, fe->cfg.log_scale_shift) : 0;
        }
        out[c] = (uint16_t)(v < 0xFFFFu ? v : 0xFFFFu);
    }
}

int hfe_process(hfe_frontend *fe, const int16_t *x, size_t n, size_t *consumed,
                uint16_t *out)
{
    size_t take;
    if (!fe || !consumed || !out || (!x && n))
        return HFE_E_ARG;
    take = (size_t)fe->win_size - fe->win_used;
    if (take > n)
        take = n;
    if (take)
        memcpy(fe->win_in + fe->win_used, x, take * sizeof(*x));
    fe->win_used += take;
    *consumed = take;
    if (fe->win_used < (size_t)fe->win_size)
        return 0;
    compute_step(fe, out);
    memmove(fe->win_in, fe->win_in + fe->win_step,
            (size_t)(fe->win_size - fe->win_step) * sizeof(*fe->win_in));
    fe->win_used -= (size_t)fe->win_step;
    return 1;
}

int hfe_process_block(hfe_frontend *fe, const int16_t *x, size_t n,
                      uint16_t *out, size_t max_frames, size_t *frames,
                      size_t *consumed)
{
    size_t done = 0, nf = 0;
    if (!fe || !frames || !consumed || (!out && max_frames) || (!x && n))
        return HFE_E_ARG;
    while (done < n && nf < max_frames) {
        size_t used = 0;
        int r = hfe_process(fe, x + done, n - done, &used, out + nf * (size_t)fe->nch);
        done += used;
        if (r == 1)
            nf++;
    }
    *frames = nf;
    *consumed = done;
    return HFE_OK;
}
