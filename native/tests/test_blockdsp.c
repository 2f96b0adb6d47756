/*
 * test_blockdsp.c - hbd_* against plain reference loops written here: exact
 * integer statistics (peak, clip count, repeats) on random and edge-case
 * blocks, frame energies and Goertzel tone ratios against a direct
 * windowed DFT in long double, the quiet gate, and the error paths.
 * (tests/test_blockdsp.py compares with the Python implementations.)
 */
#include "hearth/blockdsp.h"

#include <math.h>

#include "unit.h"

#define RATE 16000.0
#define FRAME 160
#define PI 3.14159265358979323846

static double window[FRAME], coeff[11], freqs[11];
static const int ends[2] = {8, 11};
static hbd_state st;
static hbd_result res;
static int16_t x[HBD_MAX_FRAMES * FRAME + 7];

static unsigned long long rng_state = 12345;

static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33);
}

/* roughly Gaussian (sum of 4 uniforms) with the given rms, clipped to int16 */
static int16_t noise(double rms)
{
    double s = 0.0;
    long v;
    int i;
    for (i = 0; i < 4; i++)
        s += (double)(rnd() & 0xffff) / 65536.0 - 0.5;
    v = lround(s * rms * 1.7320508);
    return (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
}

static hbd_config config(void)
{
    hbd_config c;
    double sw = 0.0, sw2 = 0.0;
    int i;
    for (i = 0; i < FRAME; i++) {
        window[i] = 0.5 - 0.5 * cos(2.0 * PI * i / FRAME);
        sw += window[i];
        sw2 += window[i] * window[i];
    }
    for (i = 0; i < 8; i++)
        freqs[i] = 2800.0 + 100.0 * i;
    freqs[8] = 480.0;
    freqs[9] = 520.0;
    freqs[10] = 560.0;
    for (i = 0; i < 11; i++)
        coeff[i] = 2.0 * cos(2.0 * PI * freqs[i] / RATE);
    c.frame = FRAME;
    c.window = window;
    c.nfreq = 11;
    c.coeff = coeff;
    c.nbands = 2;
    c.band_end = ends;
    c.norm = 2.0 * sw2 / (sw * sw);
    c.min_energy = 160 * 30.0 * 30.0;
    c.clip_level = 32767;
    return c;
}

static void check_stats(const int16_t *p, size_t n)
{
    int32_t peak = 0, clipped = 0, repeats = 0;
    size_t i;
    int r = hbd_block(&st, p, n, &res);
    CHECK(r >= 0);
    r = hbd_stats(&st, p, n, &res);
    for (i = 0; i < n; i++) {
        int32_t a = p[i] < 0 ? -(int32_t)p[i] : p[i];
        peak = a > peak ? a : peak;
        clipped += a >= 32767;
        repeats += i > 0 && p[i] == p[i - 1];
    }
    CHECK_EQ_INT(r, HBD_OK);
    CHECK_EQ_INT(res.peak, peak);
    CHECK_EQ_INT(res.clipped, clipped);
    CHECK_EQ_INT(res.repeats, repeats);
    CHECK_EQ_INT(res.n, (int32_t)n);
    CHECK_EQ_INT(res.frames, (int32_t)(n / FRAME));
}

static void test_stats(void)
{
    size_t n, i;
    static const size_t sizes[] = {0, 1, 2, 7, 159, 160, 1600, 1610, 3200};
    int k;
    for (k = 0; k < (int)(sizeof sizes / sizeof sizes[0]); k++) {
        n = sizes[k];
        for (i = 0; i < n; i++)
            x[i] = (int16_t)(rnd() & 0xffff);       /* full range, incl. -32768 and 32767 */
        check_stats(x, n);
        for (i = 0; i < n; i++)
            x[i] = (int16_t)((rnd() % 3) - 1);      /* many repeats, tiny peak */
        check_stats(x, n);
    }
    for (i = 0; i < 1600; i++)                     /* clipped both ways */
        x[i] = (int16_t)(i % 3 == 0 ? 32767 : i % 3 == 1 ? -32768 : (int)(rnd() % 100));
    check_stats(x, 1600);
    for (i = 0; i < 1600; i++)
        x[i] = -32767;                             /* stuck at negative clip level */
    check_stats(x, 1600);
    CHECK_EQ_INT(res.clipped, 1600);
    CHECK_EQ_INT(res.repeats, 1599);
    x[0] = -32768;
    check_stats(x, 1);
    CHECK_EQ_INT(res.peak, 32768);
}

/* |windowed DFT at f|^2 * norm / energy, in long double */
static double ref_ratio(const int16_t *p, double f, double norm, long double *energy)
{
    long double re = 0.0L, im = 0.0L, e = 0.0L;
    int i;
    for (i = 0; i < FRAME; i++) {
        long double y = (long double)p[i] * window[i];
        re += y * cosl(2.0L * PI * f * i / RATE);
        im += y * sinl(2.0L * PI * f * i / RATE);
        e += y * y;
    }
    *energy = e;
    return (double)((re * re + im * im) * norm / e);
}

static void test_frames(double rms, double tone_hz, double amp, double norm)
{
    size_t n = 10 * FRAME + 37, i;
    int f, b, k, loud = 0, r;
    for (i = 0; i < n; i++) {
        double v = noise(rms) + amp * sin(2.0 * PI * tone_hz * (double)i / RATE);
        x[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : lround(v));
    }
    for (i = 3 * FRAME; i < 4 * FRAME; i++)
        x[i] = 0;                                  /* always one quiet frame */
    r = hbd_block(&st, x, n, &res);
    CHECK_EQ_INT(res.frames, 10);
    for (f = 0; f < 10; f++) {
        long double e;
        double best[2] = {0.0, 0.0};
        for (k = 0; k < 11; k++) {
            double q = ref_ratio(x + f * FRAME, freqs[k], norm, &e);
            b = k < 8 ? 0 : 1;
            best[b] = q > best[b] ? q : best[b];
        }
        CHECK(fabs(res.energy[f] - (double)e) <= 1e-12 * (double)e + 1e-9);
        if (res.energy[f] >= st.min_energy) {
            loud++;
            for (b = 0; b < 2; b++)
                CHECK(fabs(res.ratio[f * 2 + b] - best[b]) <= 1e-9 * best[b] + 1e-12);
        } else if (r > 0) {
            CHECK(res.ratio[f * 2] == 0.0 && res.ratio[f * 2 + 1] == 0.0);
        }
    }
    CHECK_EQ_INT(r, loud);
    CHECK_EQ_INT(res.loud, loud);
}

static void test_tones(double norm)
{
    test_frames(0.0, 3000.0, 8000.0, norm);        /* pure tone at a bin: ratio 1 */
    CHECK(fabs(res.ratio[0] - 1.0) < 0.01);
    CHECK(res.ratio[1] < 0.01);
    CHECK(res.ratio[3 * 2] == 0.0);                /* the zeroed frame is quiet */
    test_frames(300.0, 520.0, 3000.0, norm);       /* tone in noise, low band */
    CHECK(res.ratio[1] > 0.45 && res.ratio[0] < 0.45);
    test_frames(2000.0, 0.0, 0.0, norm);           /* loud noise */
    test_frames(10.0, 0.0, 0.0, norm);             /* quiet: nothing computed */
    CHECK_EQ_INT(res.loud, 0);
    test_frames(20000.0, 3150.0, 20000.0, norm);   /* clipping */
}

static void test_errors(void)
{
    hbd_config c = config();
    hbd_state s2;
    int bad[2] = {8, 8};
    CHECK_EQ_INT(hbd_init(NULL, &c), HBD_E_ARG);
    CHECK_EQ_INT(hbd_init(&s2, NULL), HBD_E_ARG);
    c.frame = HBD_MAX_FRAME + 1;
    CHECK_EQ_INT(hbd_init(&s2, &c), HBD_E_CONFIG);
    c = config();
    c.nfreq = HBD_MAX_FREQS + 1;
    CHECK_EQ_INT(hbd_init(&s2, &c), HBD_E_CONFIG);
    c = config();
    c.band_end = bad;                              /* empty second band */
    CHECK_EQ_INT(hbd_init(&s2, &c), HBD_E_CONFIG);
    c = config();
    c.min_energy = 0.0;
    CHECK_EQ_INT(hbd_init(&s2, &c), HBD_E_CONFIG);
    c = config();
    c.norm = NAN;
    CHECK_EQ_INT(hbd_init(&s2, &c), HBD_E_CONFIG);
    CHECK_EQ_INT(hbd_block(&st, NULL, 10, &res), HBD_E_ARG);
    CHECK_EQ_INT(hbd_block(&st, x, 10, NULL), HBD_E_ARG);
    CHECK_EQ_INT(hbd_block(&st, NULL, 0, &res), 0);
    CHECK_EQ_INT(res.frames, 0);
    CHECK_EQ_INT(hbd_stats(&st, NULL, 10, &res), HBD_E_ARG);
    CHECK_EQ_INT(hbd_stats(NULL, x, 10, &res), HBD_E_ARG);
    CHECK_EQ_INT(hbd_stats(&st, x, 10, NULL), HBD_E_ARG);
    CHECK_EQ_INT(hbd_stats(&st, NULL, 0, &res), HBD_OK);
    CHECK_EQ_INT(res.n, 0);
    CHECK(hbd_block(&st, x, (size_t)HBD_MAX_FRAMES * FRAME, &res) >= 0);
    CHECK_EQ_INT(hbd_block(&st, x, (size_t)(HBD_MAX_FRAMES + 1) * FRAME, &res), HBD_E_SIZE);
    CHECK(strcmp(hbd_strerror(HBD_E_SIZE), hbd_strerror(HBD_E_ARG)) != 0);
    CHECK(strncmp(hbd_strerror(HBD_E_CONFIG), "HBD_E_CONFIG", 12) == 0);
    CHECK(hbd_strerror(-99) != NULL);
}

int main(void)
{
    hbd_config c = config();
    CHECK_EQ_INT(hbd_init(&st, &c), HBD_OK);
    test_stats();
    test_tones(c.norm);
    test_errors();
    return UNIT_DONE();
}
