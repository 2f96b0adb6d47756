/*
 * test_frontend.c - hfe_* against TFLM's microfrontend (golden files made by
 * tests/golden/frontend/tflm_ref.py from the frontend inside pymicro-features):
 * every init-time table, every output vector of a 4 s stream under several
 * block-size schedules, reset, and the error paths.
 * Runs from the repository root (ctest WORKING_DIRECTORY).
 */
#include "hearth/frontend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define GOLDEN "tests/golden/frontend/"


/* Whole file into a malloc'd buffer (tests may allocate; the library not). */
static void *load(const char *name, size_t *len)
{
    char path[256];
    snprintf(path, sizeof(path), GOLDEN "%s", name);
    void *buf = unit_read_file(path, len);
    if (!buf) {
        fprintf(stderr, "cannot read %s (run from the repository root)\n", path);
        exit(2);
    }
    return buf;
}

/* Golden files are little-endian; so are all targets we run on. */
static int16_t le16(const void *p, size_t i)
{
    const uint8_t *b = (const uint8_t *)p + 2 * i;
    return (int16_t)(uint16_t)(b[0] | (b[1] << 8));
}

static void compare_s16(const char *name, const int16_t *mine, size_t count)
{
    size_t len, i, bad = 0;
    void *g = load(name, &len);
    CHECK(len == 2 * count);
    if (len != 2 * count) {
        fprintf(stderr, "%s: %zu values, expected %zu\n", name, len / 2, count);
        free(g);
        return;
    }
    for (i = 0; i < count; i++) {
        if (mine[i] != le16(g, i)) {
            if (bad++ < 5)
                fprintf(stderr, "%s[%zu]: %d != TFLM %d\n", name, i, mine[i], le16(g, i));
        }
    }
    CHECK(bad == 0);
    free(g);
}

static long scalar(const char *key)
{
    size_t len;
    char *txt = load("scalars.txt", &len), *p, *end;
    long v = -999999;
    txt = realloc(txt, len + 1);
    txt[len] = 0;
    for (p = txt; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        size_t k = strlen(key);
        if (strncmp(p, key, k) == 0 && p[k] == ' ') {
            v = strtol(p + k + 1, &end, 10);
            break;
        }
    }
    free(txt);
    return v;
}

static hfe_frontend *make(void **mem_out)
{
    hfe_config cfg;
    size_t need = 0;
    hfe_frontend *fe = NULL;
    void *mem;
    hfe_config_default(&cfg);
    CHECK(hfe_state_bytes(&cfg, &need) == HFE_OK);
    mem = malloc(need);
    CHECK(mem != NULL);
    CHECK(hfe_init(&fe, &cfg, mem, need) == HFE_OK);
    *mem_out = mem;
    return fe;
}

static void test_tables(void)
{
    void *mem;
    hfe_frontend *fe = make(&mem);
    hfe_tables t;
    int nch = hfe_num_channels(fe);
    CHECK(hfe_get_tables(fe, &t) == HFE_OK);
    CHECK(t.fft_size == scalar("fft_size"));
    CHECK(t.fb_start_index == scalar("fb_start_index"));
    CHECK(t.fb_end_index == scalar("fb_end_index"));
    CHECK(t.nr_even_smoothing == scalar("nr_even_smoothing"));
    CHECK(t.nr_odd_smoothing == scalar("nr_odd_smoothing"));
    CHECK(t.nr_min_signal_remaining == scalar("nr_min_signal_remaining"));
    CHECK(t.pcan_snr_shift == scalar("pcan_snr_shift"));
    compare_s16("window.s16", t.window, (size_t)t.window_size);
    compare_s16("twiddles.s16", t.twiddles, (size_t)t.fft_size);
    compare_s16("super_twiddles.s16", t.super_twiddles, (size_t)t.fft_size / 2);
    compare_s16("fb_band_start.s16", t.fb_band_start, (size_t)nch + 1);
    compare_s16("fb_band_width.s16", t.fb_band_width, (size_t)nch + 1);
    compare_s16("fb_weights.s16", t.fb_weights, (size_t)(t.fb_end_index - t.fb_start_index));
    compare_s16("fb_unweights.s16", t.fb_unweights, (size_t)(t.fb_end_index - t.fb_start_index));
    compare_s16("pcan_gain_lut.s16", t.pcan_gain_lut, 125);
    free(mem);
}

/* Feed the golden input with a block-size schedule; compare every vector. */
static void run_schedule(hfe_frontend *fe, const int16_t *x, size_t n,
                         const uint8_t *expected, size_t nexp,
                         const size_t *blocks, size_t nblocks, const char *label)
{
    uint16_t v[64];
    size_t pos = 0, frame = 0, bi = 0, bad = 0;
    int nch = hfe_num_channels(fe);
    while (pos < n) {
        size_t blk = blocks[bi++ % nblocks], end;
        if (blk > n - pos)
            blk = n - pos;
        end = pos + blk;
        while (pos < end) {
            size_t used = 0;
            int r = hfe_process(fe, x + pos, end - pos, &used, v);
            CHECK(r == 0 || r == 1);
            pos += used;
            if (r == 1) {
                int c;
                for (c = 0; c < nch && frame < nexp; c++) {
                    uint16_t want = (uint16_t)le16(expected, frame * (size_t)nch + (size_t)c);
                    if (v[c] != want && bad++ < 5)
                        fprintf(stderr, "%s: frame %zu ch %d: %u != TFLM %u\n", label, frame,
                                c, v[c], want);
                }
                frame++;
            }
        }
    }
    if (frame != nexp)
        fprintf(stderr, "%s: %zu vectors, TFLM %zu\n", label, frame, nexp);
    CHECK(frame == nexp);
    CHECK(bad == 0);
}

static void test_stream(void)
{
    size_t xlen, elen, n, nexp;
    int16_t *x;
    uint8_t *xb = load("input.s16", &xlen);
    uint8_t *expected = load("expected.u16", &elen);
    void *mem;
    hfe_frontend *fe = make(&mem);
    size_t i;
    static const size_t whole[] = {(size_t)1 << 30};
    static const size_t one[] = {1};
    static const size_t odd[] = {7, 333, 1, 160, 479, 2, 1023, 161};
    static const size_t step[] = {160};

    n = xlen / 2;
    nexp = elen / 2 / (size_t)hfe_num_channels(fe);
    x = malloc(n * sizeof(*x));
    for (i = 0; i < n; i++)
        x[i] = le16(xb, i);

    run_schedule(fe, x, n, expected, nexp, whole, 1, "whole");
    hfe_reset(fe);
    run_schedule(fe, x, n, expected, nexp, one, 1, "one-sample");
    hfe_reset(fe);
    run_schedule(fe, x, n, expected, nexp, odd, 8, "odd-blocks");
    hfe_reset(fe);
    run_schedule(fe, x, n, expected, nexp, step, 1, "160");

    /* bulk API, stopping when the output is full, then resuming */
    {
        int nch = hfe_num_channels(fe);
        uint16_t *out = malloc(nexp * (size_t)nch * sizeof(*out));
        size_t frames = 0, consumed = 0, total = 0, pos = 0, bad = 0;
        hfe_reset(fe);
        while (pos < n) {
            size_t cap = 37;   /* deliberately not a divisor */
            if (cap > nexp - total)
                cap = nexp - total;
            CHECK(hfe_process_block(fe, x + pos, n - pos, out + total * (size_t)nch, cap,
                                    &frames, &consumed) == HFE_OK);
            pos += consumed;
            total += frames;
            if (cap == 0)
                break;
        }
        CHECK(total == nexp);
        for (i = 0; i < total * (size_t)nch; i++)
            bad += out[i] != (uint16_t)le16(expected, i);
        CHECK(bad == 0);
        free(out);
    }
    free(x);
    free(xb);
    free(expected);
    free(mem);
}

static void test_errors(void)
{
    hfe_config cfg;
    size_t need = 0, used;
    hfe_frontend *fe = NULL;
    uint16_t v[40];
    int16_t s = 0;
    void *mem;

    hfe_config_default(&cfg);
    CHECK(hfe_state_bytes(&cfg, &need) == HFE_OK);
    mem = malloc(need + 8);
    CHECK(hfe_init(&fe, &cfg, mem, need - 1) == HFE_E_MEM);
    CHECK(fe == NULL);
    CHECK(hfe_init(&fe, &cfg, (char *)mem + 1, need) == HFE_E_ARG);
    CHECK(hfe_init(NULL, &cfg, mem, need) == HFE_E_ARG);
    cfg.num_channels = 0;
    CHECK(hfe_state_bytes(&cfg, &need) == HFE_E_CONFIG);
    hfe_config_default(&cfg);
    cfg.upper_band_hz = 9000.0f;     /* above Nyquist: no bins left */
    CHECK(hfe_state_bytes(&cfg, &need) == HFE_E_CONFIG);
    hfe_config_default(&cfg);
    cfg.step_ms = 40;                /* step longer than the window */
    CHECK(hfe_state_bytes(&cfg, &need) == HFE_E_CONFIG);
    hfe_config_default(&cfg);
    cfg.window_ms = 0;
    CHECK(hfe_state_bytes(&cfg, &need) == HFE_E_CONFIG);
    hfe_config_default(&cfg);
    cfg.pcan_gain_bits = 40;
    CHECK(hfe_state_bytes(&cfg, &need) == HFE_E_CONFIG);
    CHECK(hfe_process(NULL, &s, 1, &used, v) == HFE_E_ARG);
    CHECK(strncmp(hfe_strerror(HFE_E_MEM), "HFE_E_MEM", 9) == 0);
    free(mem);
}

int main(void)
{
    test_tables();
    test_stream();
    test_errors();
    if (unit_fail) {
        fprintf(stderr, "test_frontend: %d failure(s)\n", unit_fail);
        return UNIT_DONE();
    }
    printf("test_frontend: ok\n");
    return UNIT_DONE();
}
