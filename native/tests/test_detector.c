/*
 * test_detector.c - hdet_* replaying the golden stream made by
 * tests/golden/frontend/reference.py (pymicro-wakeword's quantization,
 * TFLM running the models, ESPHome's decision rules): every model step's
 * output byte and every detection, under several block schedules, models
 * alone and together, enable/disable/reset, and the error paths.
 * Needs the real models in models/ (`make models`). Runs from the repo root.
 */
#include "hearth/detector.h"
#include "hearth/nn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define GOLDEN "tests/golden/frontend/"
#define NMODELS 4


static void *load(const char *path, size_t *len)
{
    void *buf = unit_read_file(path, len);   /* malloc: aligned for the runtime */
    if (!buf) {
        fprintf(stderr, "cannot read %s (run from the repository root; models come "
                        "from `make models`)\n", path);
        exit(2);
    }
    return buf;
}

typedef struct {
    char name[64];
    hdet_model_config cfg;
    uint8_t *model;
    size_t len;
} model_file;

static model_file models[NMODELS];

typedef struct { int model; long frame; int output; } step_row;
typedef struct { int model; long long sample; long frame; unsigned bits; } event_row;

static step_row *gsteps;
static size_t ngsteps;
static event_row gevents[64];
static size_t ngevents;
static int16_t *pcm;
static size_t npcm;

static void load_golden(void)
{
    FILE *f;
    char line[256];
    size_t len, i, cap = 4096;
    uint8_t *b;

    f = fopen(GOLDEN "detector_models.txt", "r");
    CHECK(f != NULL);
    for (i = 0; f && i < NMODELS; i++) {
        char path[160];
        double cutoff;
        int window, refr;
        CHECK(fscanf(f, "%63s %lf %d %d", models[i].name, &cutoff, &window, &refr) == 4);
        models[i].cfg.cutoff = cutoff;
        models[i].cfg.window = window;
        models[i].cfg.refractory_steps = refr;
        snprintf(path, sizeof(path), "models/%.63s.tflite", models[i].name);
        models[i].model = load(path, &models[i].len);
    }
    if (f)
        fclose(f);

    gsteps = malloc(cap * sizeof(*gsteps));
    f = fopen(GOLDEN "detector_steps.txt", "r");
    while (f && fgets(line, sizeof(line), f)) {
        step_row r;
        if (line[0] == '#')
            continue;
        if (sscanf(line, "%d %ld %d", &r.model, &r.frame, &r.output) != 3)
            continue;
        if (ngsteps == cap)
            gsteps = realloc(gsteps, (cap *= 2) * sizeof(*gsteps));
        gsteps[ngsteps++] = r;
    }
    if (f)
        fclose(f);
    f = fopen(GOLDEN "detector_events.txt", "r");
    while (f && fgets(line, sizeof(line), f) && ngevents < 64) {
        event_row r;
        if (line[0] == '#')
            continue;
        if (sscanf(line, "%d %lld %ld %x", &r.model, &r.sample, &r.frame, &r.bits) == 4)
            gevents[ngevents++] = r;
    }
    if (f)
        fclose(f);
    CHECK(ngsteps > 1000 && ngevents >= 3);

    b = load(GOLDEN "detector_input.s16", &len);
    npcm = len / 2;
    pcm = malloc(npcm * sizeof(*pcm));
    for (i = 0; i < npcm; i++)
        pcm[i] = (int16_t)(uint16_t)(b[2 * i] | (b[2 * i + 1] << 8));
    free(b);
}

typedef struct {
    void *mem;
    void *arenas[NMODELS];
    hdet *d;
    int index_of[NMODELS];          /* golden model -> detector index */
} rig;

static void rig_open(rig *r, const int *which, int count)
{
    size_t need;
    int i;
    memset(r, 0, sizeof(*r));
    CHECK(hdet_bytes(&need) == HDET_OK);
    r->mem = malloc(need);
    CHECK(hdet_init(&r->d, r->mem, need) == HDET_OK);
    for (i = 0; i < NMODELS; i++)
        r->index_of[i] = -1;
    for (i = 0; i < count; i++) {
        const model_file *m = &models[which[i]];
        size_t an;
        int idx = -1;
        CHECK(hdet_model_arena_bytes(m->model, m->len, &an) == HDET_OK);
        r->arenas[i] = malloc(an);
        CHECK(hdet_add_model(r->d, m->model, m->len, r->arenas[i], an, &m->cfg, &idx) == HDET_OK);
        CHECK(idx == i);
        r->index_of[which[i]] = idx;
    }
}

static void rig_close(rig *r)
{
    int i;
    for (i = 0; i < NMODELS; i++)
        free(r->arenas[i]);
    free(r->mem);
}

/* Feed the golden input in blocks; check steps and events of the models
 * present against the golden rows. */
static void replay(rig *r, const size_t *blocks, size_t nblocks, const char *label)
{
    hdet_event ev[16];
    hdet_step st[64];
    size_t pos = 0, bi = 0, k;
    size_t next_step[NMODELS] = {0}, next_event = 0, seen_events = 0;
    long bad = 0;
    int g;

    while (pos < npcm) {
        size_t blk = blocks[bi++ % nblocks], end;
        if (blk > npcm - pos)
            blk = npcm - pos;
        end = pos + blk;
        while (pos < end) {
            size_t used = 0, ne = 0, ns = 0;
            CHECK(hdet_feed(r->d, pcm + pos, end - pos, &used, ev, 16, &ne, st, 64, &ns) == HDET_OK);
            pos += used;
            for (k = 0; k < ns; k++) {
                /* find the golden model of this detector index */
                for (g = 0; g < NMODELS && r->index_of[g] != st[k].model; g++)
                    ;
                CHECK(g < NMODELS);
                while (next_step[g] < ngsteps && gsteps[next_step[g]].model != g)
                    next_step[g]++;
                if (next_step[g] >= ngsteps || gsteps[next_step[g]].frame != st[k].frame ||
                    gsteps[next_step[g]].output != st[k].output) {
                    if (bad++ < 5)
                        fprintf(stderr, "%s: model %d step at frame %lld: output %d\n", label,
                                g, (long long)st[k].frame, st[k].output);
                }
                next_step[g]++;
            }
            for (k = 0; k < ne; k++) {
                float p = ev[k].probability;
                unsigned bits;
                memcpy(&bits, &p, sizeof(bits));
                for (g = 0; g < NMODELS && r->index_of[g] != ev[k].model; g++)
                    ;
                /* golden events of absent models are skipped */
                while (next_event < ngevents && r->index_of[gevents[next_event].model] < 0)
                    next_event++;
                seen_events++;
                if (next_event >= ngevents || gevents[next_event].model != g ||
                    gevents[next_event].sample != ev[k].sample ||
                    gevents[next_event].frame != ev[k].frame || gevents[next_event].bits != bits) {
                    bad++;
                    fprintf(stderr, "%s: unexpected event model %d sample %lld p %.4f\n", label,
                            g, (long long)ev[k].sample, p);
                }
                next_event++;
            }
        }
    }
    /* golden events are sorted per model; count those of present models */
    {
        size_t want = 0;
        for (k = 0; k < ngevents; k++)
            want += r->index_of[gevents[k].model] >= 0;
        CHECK(seen_events == want);
    }
    for (g = 0; g < NMODELS; g++) {
        if (r->index_of[g] < 0)
            continue;
        while (next_step[g] < ngsteps && gsteps[next_step[g]].model != g)
            next_step[g]++;
        CHECK(next_step[g] == ngsteps || gsteps[next_step[g]].model != g);
    }
    CHECK(hdet_samples(r->d) == (int64_t)npcm);
    if (bad)
        fprintf(stderr, "%s: %ld mismatches\n", label, bad);
    CHECK(bad == 0);
}

static int event_order_is_by_sample(void)
{
    size_t k;
    for (k = 1; k < ngevents; k++)
        if (gevents[k].sample < gevents[k - 1].sample)
            return 0;
    return 1;
}

static void sort_golden_events(void)
{
    /* golden file lists events per model; the detector emits them in time */
    size_t a, b;
    for (a = 1; a < ngevents; a++)
        for (b = a; b > 0 && gevents[b].sample < gevents[b - 1].sample; b--) {
            event_row t = gevents[b];
            gevents[b] = gevents[b - 1];
            gevents[b - 1] = t;
        }
    CHECK(event_order_is_by_sample());
}

static void test_replay(void)
{
    static const int all[NMODELS] = {0, 1, 2, 3};
    static const size_t whole[] = {(size_t)1 << 30};
    static const size_t odd[] = {1, 7, 160, 161, 999, 4000, 3, 16000};
    static const size_t one[] = {1};
    rig r;
    int g;

    rig_open(&r, all, NMODELS);
    replay(&r, whole, 1, "all/whole");
    CHECK(hdet_reset(r.d) == HDET_OK);
    replay(&r, odd, 8, "all/odd");
    CHECK(hdet_reset(r.d) == HDET_OK);
    replay(&r, one, 1, "all/one-sample");
    rig_close(&r);

    /* each model alone decides exactly as together */
    for (g = 0; g < NMODELS; g++) {
        rig_open(&r, &g, 1);
        replay(&r, odd, 8, models[g].name);
        rig_close(&r);
    }
}

static void test_enable(void)
{
    static const int all[NMODELS] = {0, 1, 2, 3};
    hdet_event ev[16];
    size_t used, ne, total = 0;
    hdet_model_info info;
    rig r;
    int i;

    rig_open(&r, all, NMODELS);
    for (i = 0; i < NMODELS; i++)
        CHECK(hdet_enable(r.d, i, 0) == HDET_OK);
    CHECK(hdet_model_info_get(r.d, 0, &info) == HDET_OK && info.enabled == 0);
    CHECK(info.stride == 3 && info.features == 40 && info.output_signed == 0);
    CHECK(hdet_feed(r.d, pcm, npcm, &used, ev, 16, &ne, NULL, 0, NULL) == HDET_OK);
    CHECK(used == npcm && ne == 0);       /* all disabled: no events */
    CHECK(hdet_reset(r.d) == HDET_OK);
    for (i = 0; i < NMODELS; i++)
        CHECK(hdet_enable(r.d, i, 1) == HDET_OK);
    for (used = 0; total < npcm; total += used) {
        CHECK(hdet_feed(r.d, pcm + total, npcm - total, &used, ev, 16, &ne, NULL, 0, NULL) == HDET_OK);
        CHECK(used > 0);
        if (!used)
            break;
    }
    rig_close(&r);
}

/* First event of the golden input from `from` on, model 0 alone. */
static int first_event(rig *r, size_t from, hdet_event *out)
{
    hdet_event ev[16];
    size_t used, ne, at;
    for (at = from; at < npcm; at += used) {
        CHECK(hdet_feed(r->d, pcm + at, npcm - at, &used, ev, 16, &ne, NULL, 0, NULL) == HDET_OK);
        if (ne) {
            *out = ev[0];
            return 1;
        }
        if (!used)
            break;
    }
    return 0;
}

static void test_end_refractory(void)
{
    /* A stream that starts 1.125 s before the end of okay_nabu's first
     * golden detection: with the start-up period ended, the model decides
     * as one configured without a refractory period up to its first
     * detection; with it, that detection comes later. */
    static const int first[1] = {0};
    const int32_t keep = models[0].cfg.refractory_steps;
    hdet_event plain, ended, none;
    size_t from = 0, k;
    int have_plain, have_ended, have_none;
    rig r;

    for (k = 0; k < ngevents; k++)
        if (gevents[k].model == 0 && gevents[k].sample > 18000) {
            from = (size_t)gevents[k].sample - 18000;
            break;
        }
    CHECK(from > 0 && keep >= 100);
    rig_open(&r, first, 1);
    have_plain = first_event(&r, from, &plain);
    CHECK(hdet_reset(r.d) == HDET_OK);
    CHECK(hdet_end_refractory(r.d) == HDET_OK);
    have_ended = first_event(&r, from, &ended);
    rig_close(&r);
    models[0].cfg.refractory_steps = 0;
    rig_open(&r, first, 1);
    have_none = first_event(&r, from, &none);
    rig_close(&r);
    models[0].cfg.refractory_steps = keep;
    CHECK(have_ended && have_none);
    CHECK(ended.sample == none.sample && ended.probability == none.probability);
    CHECK(!have_plain || plain.sample > ended.sample);   /* the start-up period held it back */
    CHECK(hdet_end_refractory(NULL) == HDET_E_ARG);
}

static void test_errors(void)
{
    static const int one[1] = {0};
    hdet_model_config cfg = models[0].cfg;
    hdet_event ev[16];
    hdet_step st[8];
    size_t need, an, used, ne, ns;
    void *mem, *arena;
    hdet *d = NULL;
    uint8_t junk[256];
    int idx, i;
    rig r;

    CHECK(hdet_bytes(&need) == HDET_OK);
    mem = malloc(need);
    CHECK(hdet_init(&d, mem, need - 1) == HDET_E_ARG);
    CHECK(hdet_init(&d, (char *)mem + 4, need - 8) == HDET_E_ARG);
    CHECK(hdet_init(&d, mem, need) == HDET_OK);
    CHECK(hdet_model_arena_bytes(models[0].model, models[0].len, &an) == HDET_OK);
    arena = malloc(an);
    /* the exact arena works, one byte less fails cleanly (runtime's error) */
    {
        hdet_model_info info;
        size_t exact;
        void *mem2 = malloc(need);
        hdet *d2 = NULL;
        CHECK(hdet_init(&d2, mem2, need) == HDET_OK);
        CHECK(hdet_add_model(d2, models[0].model, models[0].len, arena, an, &cfg, &idx) == HDET_OK);
        CHECK(hdet_model_info_get(d2, 0, &info) == HDET_OK);
        exact = info.arena_bytes;
        CHECK(exact > 0 && exact <= an);
        CHECK(hdet_init(&d2, mem2, need) == HDET_OK);
        CHECK(hdet_add_model(d2, models[0].model, models[0].len, arena, exact, &cfg, &idx) == HDET_OK);
        CHECK(hdet_init(&d2, mem2, need) == HDET_OK);
        CHECK(hdet_add_model(d2, models[0].model, models[0].len, arena, exact - 1, &cfg, &idx) == HDET_E_NN);
        CHECK(hdet_nn_status(d2) == HNN_E_ARENA);
        CHECK(hdet_num_models(d2) == 0);
        free(mem2);
    }
    /* garbage model */
    for (i = 0; i < (int)sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    CHECK(hdet_add_model(d, junk, sizeof(junk), arena, an, &cfg, &idx) == HDET_E_NN);
    /* configs out of range */
    cfg.cutoff = 1.5;
    CHECK(hdet_add_model(d, models[0].model, models[0].len, arena, an, &cfg, &idx) == HDET_E_CONFIG);
    cfg = models[0].cfg;
    cfg.window = 0;
    CHECK(hdet_add_model(d, models[0].model, models[0].len, arena, an, &cfg, &idx) == HDET_E_CONFIG);
    cfg.window = HDET_MAX_WINDOW + 1;
    CHECK(hdet_add_model(d, models[0].model, models[0].len, arena, an, &cfg, &idx) == HDET_E_LIMIT);
    cfg = models[0].cfg;
    CHECK(hdet_num_models(d) == 0);
    CHECK(hdet_enable(d, 0, 1) == HDET_E_ARG);
    free(arena);
    free(mem);

    /* too many models */
    {
        void *arenas[HDET_MAX_MODELS + 1];
        CHECK(hdet_bytes(&need) == HDET_OK);
        mem = malloc(need);
        CHECK(hdet_init(&d, mem, need) == HDET_OK);
        for (i = 0; i <= HDET_MAX_MODELS; i++) {
            arenas[i] = malloc(an);
            CHECK(hdet_add_model(d, models[0].model, models[0].len, arenas[i], an, &cfg, &idx) ==
                  (i < HDET_MAX_MODELS ? HDET_OK : HDET_E_LIMIT));
        }
        /* capacities below the model count are refused, not looped on */
        CHECK(hdet_feed(d, pcm, 100, &used, ev, HDET_MAX_MODELS - 1, &ne, NULL, 0, NULL) == HDET_E_ARG);
        CHECK(hdet_feed(d, pcm, 100, &used, ev, 16, &ne, st, 2, &ns) == HDET_E_ARG);
        for (i = 0; i <= HDET_MAX_MODELS; i++)
            free(arenas[i]);
        free(mem);
    }
    rig_open(&r, one, 1);
    {
        /* quality counters: what was fed, cleared on read and on reset */
        hdet_quality q;
        CHECK(hdet_quality_read(NULL, &q, 1) == HDET_E_ARG);
        CHECK(hdet_quality_read(r.d, NULL, 1) == HDET_E_ARG);
        CHECK(npcm > 64000);      /* a second from the middle of the stream: speech or noise */
        CHECK(hdet_feed(r.d, pcm + npcm / 2, 16000, &used, ev, 16, &ne, NULL, 0, NULL) == HDET_OK);
        CHECK(hdet_quality_read(r.d, &q, 0) == HDET_OK);
        CHECK(q.n_models == 1 && q.frames == hdet_frames(r.d) && q.frames > 90);
        CHECK(q.steps[0] == (int32_t)(q.frames / 3) && q.feature_mean > 0.0);
        CHECK(q.peak[0] >= 0.0f && q.peak[0] <= 1.0f);
        CHECK(hdet_quality_read(r.d, &q, 1) == HDET_OK && q.frames == hdet_frames(r.d));
        CHECK(hdet_quality_read(r.d, &q, 1) == HDET_OK && q.frames == 0 && q.steps[0] == 0);
        CHECK(q.feature_mean == 0.0 && q.peak[0] == 0.0f);
        CHECK(hdet_feed(r.d, pcm, 1600, &used, ev, 16, &ne, NULL, 0, NULL) == HDET_OK);
        CHECK(hdet_reset(r.d) == HDET_OK);
        CHECK(hdet_quality_read(r.d, &q, 1) == HDET_OK && q.frames == 0);
    }
    CHECK(hdet_feed(r.d, NULL, 10, &used, ev, 16, &ne, NULL, 0, NULL) == HDET_E_ARG);
    CHECK(hdet_feed(r.d, pcm, 0, &used, ev, 16, &ne, NULL, 0, NULL) == HDET_OK && used == 0);
    CHECK(hdet_enable(r.d, 1, 1) == HDET_E_ARG);
    rig_close(&r);
    CHECK(strncmp(hdet_strerror(HDET_E_MODEL), "HDET_E_MODEL", 12) == 0);
}

int main(void)
{
    int i;
    load_golden();
    sort_golden_events();
    test_replay();
    test_enable();
    test_end_refractory();
    test_errors();
    for (i = 0; i < NMODELS; i++)
        free(models[i].model);
    free(gsteps);
    free(pcm);
    if (unit_fail) {
        fprintf(stderr, "test_detector: %d failure(s)\n", unit_fail);
        return UNIT_DONE();
    }
    printf("test_detector: ok (%zu steps, %zu events)\n", ngsteps, ngevents);
    return UNIT_DONE();
}
