/*
 * fuzz_detector.c - libFuzzer target for the audio path (untrusted input:
 * audio blocks of any content and size).
 *
 * Input: 8 bytes of block-size schedule, then int16 PCM. Invariants checked:
 * no memory error (ASan/UBSan), every frontend vector identical whether the
 * PCM comes in one call or in the fuzzed blocks, and the detector (when a
 * model is found: $HEARTH_FUZZ_MODEL or models/okay_nabu.tflite) giving the
 * same events and steps for both schedules.
 */
#include "hearth/detector.h"
#include "hearth/frontend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SAMPLES 32000
#define MAX_FRAMES (MAX_SAMPLES / 160 + 2)

static uint8_t *model;
static size_t model_len;

static void load_model(void)
{
    static int tried;
    const char *path = getenv("HEARTH_FUZZ_MODEL");
    FILE *f;
    long n;
    if (tried)
        return;
    tried = 1;
    f = fopen(path ? path : "models/okay_nabu.tflite", "rb");
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    model = malloc((size_t)n);
    if (model && fread(model, 1, (size_t)n, f) == (size_t)n)
        model_len = (size_t)n;
    fclose(f);
}

static size_t frontend_run(const int16_t *x, size_t n, const uint8_t *sched, uint16_t *out)
{
    static uint64_t mem[4096];
    hfe_config cfg;
    hfe_frontend *fe;
    size_t need, pos = 0, frames = 0, i = 0;
    hfe_config_default(&cfg);
    if (hfe_state_bytes(&cfg, &need) || need > sizeof(mem) ||
        hfe_init(&fe, &cfg, mem, sizeof(mem)))
        abort();
    while (pos < n) {
        size_t blk = sched ? (size_t)sched[i++ % 8] * 7 + 1 : n - pos, used, got;
        if (blk > n - pos)
            blk = n - pos;
        if (hfe_process_block(fe, x + pos, blk, out + frames * 40, MAX_FRAMES - frames, &got, &used))
            abort();
        pos += used;
        frames += got;
    }
    return frames;
}

static size_t detector_run(const int16_t *x, size_t n, const uint8_t *sched,
                           hdet_event *ev, hdet_step *st, size_t *nst)
{
    static uint64_t mem[8192], arena[8192];
    hdet *d;
    hdet_model_config cfg = {0.5, 3, 5};   /* short window/refractory: more decisions */
    size_t need, pos = 0, nev = 0, i = 0;
    *nst = 0;
    if (hdet_bytes(&need) || need > sizeof(mem) || hdet_init(&d, mem, sizeof(mem)))
        abort();
    if (hdet_add_model(d, model, model_len, arena, sizeof(arena), &cfg, NULL))
        abort();
    while (pos < n) {
        size_t blk = sched ? (size_t)sched[i++ % 8] * 13 + 1 : n - pos, used, ne, ns;
        if (blk > n - pos)
            blk = n - pos;
        if (hdet_feed(d, x + pos, blk, &used, ev + nev, MAX_FRAMES - nev, &ne, st + *nst,
                      MAX_FRAMES - *nst, &ns))
            abort();
        pos += used;
        nev += ne;
        *nst += ns;
    }
    return nev;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int16_t x[MAX_SAMPLES];
    static uint16_t a[MAX_FRAMES * 40], b[MAX_FRAMES * 40];
    static hdet_event ea[MAX_FRAMES], eb[MAX_FRAMES];
    static hdet_step sa[MAX_FRAMES], sb[MAX_FRAMES];
    size_t n, fa, fb, k;
    if (size < 8)
        return 0;
    n = (size - 8) / 2;
    if (n > MAX_SAMPLES)
        n = MAX_SAMPLES;
    memcpy(x, data + 8, n * 2);
    fa = frontend_run(x, n, NULL, a);
    fb = frontend_run(x, n, data, b);
    if (fa != fb || memcmp(a, b, fa * 40 * sizeof(uint16_t)) != 0)
        abort();
    load_model();
    if (model_len) {
        size_t nsa, nsb, na = detector_run(x, n, NULL, ea, sa, &nsa);
        size_t nb = detector_run(x, n, data, eb, sb, &nsb);
        if (na != nb || nsa != nsb)
            abort();
        for (k = 0; k < na; k++)
            if (ea[k].sample != eb[k].sample || ea[k].probability != eb[k].probability)
                abort();
        for (k = 0; k < nsa; k++)
            if (sa[k].output != sb[k].output || sa[k].frame != sb[k].frame)
                abort();
    }
    return 0;
}
