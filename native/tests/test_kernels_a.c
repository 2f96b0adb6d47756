/*
 * Kernels A (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, MUL, pooling)
 * replay the golden single-op vectors in tests/golden/ops: each model runs
 * through hnn_init/hnn_invoke and every output byte must equal what TFLite
 * Micro computed (written by `python -m hearth_tools.golden`). No Python;
 * the same binary runs natively and under qemu (aarch64, armhf).
 */
#include <stdint.h>
#include <string.h>

#include "hearth/nn.h"
#include "kernels/conv_util.h"
#include "unit.h"

#define DIR "tests/golden/ops/"
#define MAX_NAME 64

/* Directory of the vectors: DIR, or argv[1] (e.g. a large random set
 * written by hearth_tools.golden for a sanitizer run). */
static const char *g_dir = DIR;

/* Valid case names are [a-z0-9_]+, so a name can never climb out of DIR. */
static int valid_name(const char *s, size_t n)
{
    if (n == 0 || n >= MAX_NAME)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

static unsigned char *read_case_file(const char *name, const char *suffix, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s%s", g_dir, name, suffix);
    unsigned char *p = unit_read_file(path, len);
    if (!p)
        fprintf(stderr, "%s: cannot read\n", path);
    return p;
}

/* Sum of the byte sizes of the model's inputs (or outputs). */
static long io_bytes(hnn_model *m, int outputs)
{
    int n = outputs ? hnn_num_outputs(m) : hnn_num_inputs(m);
    long total = 0;
    for (int i = 0; i < n; i++) {
        hnn_tensor_info ti;
        int t = outputs ? hnn_output(m, i) : hnn_input(m, i);
        if (t < 0 || hnn_tensor_info_get(m, t, &ti) != HNN_OK)
            return -1;
        total += ti.bytes;
    }
    return total;
}

/* Copy the concatenated inputs in, invoke, compare the concatenated outputs. */
static int run_once(hnn_model *m, const unsigned char *in, size_t in_len,
                    const unsigned char *want, size_t want_len, const char *name)
{
    size_t at = 0;
    for (int i = 0; i < hnn_num_inputs(m); i++) {
        hnn_tensor_info ti;
        int t = hnn_input(m, i);
        if (t < 0 || hnn_tensor_info_get(m, t, &ti) != HNN_OK || at + (size_t)ti.bytes > in_len)
            return -1;
        memcpy(hnn_tensor_data(m, t), in + at, (size_t)ti.bytes);
        at += (size_t)ti.bytes;
    }
    int rc = hnn_invoke(m);
    if (rc != HNN_OK) {
        fprintf(stderr, "%s: invoke failed: %s\n", name, hnn_strerror(rc));
        return -1;
    }
    at = 0;
    int bad = 0;
    for (int i = 0; i < hnn_num_outputs(m); i++) {
        hnn_tensor_info ti;
        int t = hnn_output(m, i);
        if (t < 0 || hnn_tensor_info_get(m, t, &ti) != HNN_OK || at + (size_t)ti.bytes > want_len)
            return -1;
        const int8_t *got = (const int8_t *)hnn_tensor_data(m, t);
        for (int32_t k = 0; k < ti.bytes; k++) {
            if ((unsigned char)got[k] != want[at + (size_t)k]) {
                if (bad < 4)
                    fprintf(stderr, "%s: output %d byte %d: got %d want %d\n", name, i, (int)k,
                            got[k], (int8_t)want[at + (size_t)k]);
                bad++;
            }
        }
        at += (size_t)ti.bytes;
    }
    return bad ? -1 : 0;
}

static void run_case(const char *name)
{
    size_t mlen = 0, ilen = 0, olen = 0;
    unsigned char *model = read_case_file(name, ".tflite", &mlen);
    unsigned char *in = read_case_file(name, ".input.bin", &ilen);
    unsigned char *want = read_case_file(name, ".expected.bin", &olen);
    void *arena = NULL;
    if (!model || !in || !want) {
        unit_fail++;
        goto out;
    }
    for (unsigned flags = 0; flags <= HNN_PRESERVE_ALL; flags += HNN_PRESERVE_ALL) {
        size_t need = 0;
        hnn_model *m = NULL;
        int rc = hnn_arena_bytes(model, mlen, flags, &need);
        CHECK_EQ_INT(rc, HNN_OK);
        if (rc != HNN_OK)
            break;
        free(arena);
        arena = malloc(need ? need : 1);
        rc = hnn_init(&m, model, mlen, arena, need, flags);
        if (rc != HNN_OK)
            fprintf(stderr, "%s: init failed: %s (%s)\n", name, hnn_strerror(rc), hnn_last_detail());
        CHECK_EQ_INT(rc, HNN_OK);
        if (rc != HNN_OK)
            break;
        CHECK_EQ_INT(io_bytes(m, 0), (long)ilen);
        CHECK_EQ_INT(io_bytes(m, 1), (long)olen);
        /* twice: kernels keep no state between invokes */
        CHECK_EQ_INT(run_once(m, in, ilen, want, olen, name), 0);
        CHECK_EQ_INT(run_once(m, in, ilen, want, olen, name), 0);
        /* the exact arena is enough; one byte less is a clean refusal */
        size_t used = hnn_arena_used(m);
        CHECK(used <= need);
        CHECK_EQ_INT(hnn_init(&m, model, mlen, arena, used - 1, flags), HNN_E_ARENA);
    }
out:
    free(arena);
    free(model);
    free(in);
    free(want);
}

/* ---- the vector primitives against plain C (SIMD paths included) ---------- */

static uint32_t rng_state = 12345;

static uint32_t rnd(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state ^ (rng_state >> 15);
}

static int32_t rnd_range(int32_t lo, int32_t hi)    /* inclusive */
{
    return lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1));
}

static void test_gemv(void)
{
    static int8_t x[1100], w[70 * 1100];
    int32_t out[70];
    int bad = 0;
    for (int iter = 0; iter < 300; iter++) {
        int32_t n = iter < 5 ? iter : rnd_range(0, iter % 10 == 0 ? 1100 : 300);
        int32_t rows = rnd_range(0, 70);
        size_t ldw = (size_t)n + (size_t)rnd_range(0, 3);
        for (int32_t i = 0; i < n; i++)
            x[i] = (int8_t)(iter % 7 == 0 ? -128 : rnd_range(-128, 127));
        for (size_t i = 0; i < (size_t)rows * ldw; i++)
            w[i] = (int8_t)(iter % 7 == 0 ? -128 : rnd_range(-128, 127));
        int32_t xoff = iter % 5 == 0 ? 0 : rnd_range(-127, 128);
        hnn_ka_gemv(x, w, ldw, n, rows, xoff, out);
        for (int32_t r = 0; r < rows; r++) {
            int32_t want = 0;
            for (int32_t i = 0; i < n; i++)
                want += (x[i] + xoff) * w[(size_t)r * ldw + (size_t)i];
            bad += out[r] != want;
        }
    }
    CHECK_EQ_INT(bad, 0);
}

static void test_depthwise_accum(void)
{
    static int8_t img[40 * 80], wt[40 * 80];
    const int8_t *xt[40];
    int32_t acc[80], want[80];
    int bad = 0;
    for (int iter = 0; iter < 300; iter++) {
        int32_t n = rnd_range(0, 70), taps = rnd_range(0, 40), zp = rnd_range(-128, 127);
        size_t coff = (size_t)rnd_range(0, 9);
        for (int i = 0; i < 40 * 80; i++) {
            img[i] = (int8_t)rnd_range(-128, 127);
            wt[i] = (int8_t)rnd_range(-128, 127);
        }
        for (int32_t t = 0; t < taps; t++)
            xt[t] = rnd() % 4 == 0 ? NULL : img + (size_t)t * 80;
        int32_t acc0[80];
        for (int32_t j = 0; j < n; j++)
            acc[j] = want[j] = acc0[j] = rnd_range(-100000, 100000);
        for (int32_t t = 0; t < taps; t++)
            for (int32_t j = 0; j < n; j++)
                want[j] += (xt[t] ? xt[t][coff + (size_t)j] - zp : 0) * wt[(size_t)t * 80 + (size_t)j];
        hnn_ka_dw_accum(acc, xt, coff, wt, 80, taps, -zp, n, 1);
        for (int32_t j = 0; j < n; j++)
            bad += acc[j] != want[j];
        /* the non-accumulating form ignores what acc held */
        int32_t init[80];
        for (int32_t j = 0; j < n; j++)
            init[j] = want[j] - acc0[j];
        hnn_ka_dw_accum(acc, xt, coff, wt, 80, taps, -zp, n, 0);
        for (int32_t j = 0; j < n; j++)
            bad += acc[j] != init[j];
    }
    CHECK_EQ_INT(bad, 0);
}

static void test_requant(void)
{
    int32_t acc[80], bias[80], mult[80];
    int8_t shift[80], y[80];
    int bad = 0;
    for (int iter = 0; iter < 2000; iter++) {
        int32_t n = rnd_range(0, 80);
        int per_channel = (int)(rnd() & 1), use_bias = (int)(rnd() & 1);
        int32_t zp = rnd_range(-128, 127), lo = rnd_range(-128, 127), hi = rnd_range(lo, 127);
        for (int32_t j = 0; j < n; j++) {
            uint32_t kind = rnd() % 8;
            /* accumulators over the whole int32 range when there is no bias
             * to overflow with, and the edges on purpose */
            acc[j] = use_bias ? rnd_range(-(1 << 29), 1 << 29)
                   : kind == 0 ? INT32_MIN : kind == 1 ? INT32_MAX : (int32_t)rnd();
            bias[j] = rnd_range(-(1 << 29), 1 << 29);
            kind = rnd() % 6;
            mult[j] = kind == 0 ? 0 : kind == 1 ? INT32_MAX : kind == 2 ? (1 << 30)
                    : rnd_range(1 << 30, INT32_MAX);
            shift[j] = (int8_t)rnd_range(-31, 30);
        }
        hnn_ka_requant_block(acc, use_bias ? bias : NULL, mult, shift, per_channel, n, zp, lo,
                             hi, y);
        for (int32_t j = 0; j < n; j++) {
            int32_t k = per_channel ? j : 0;
            int32_t a = use_bias ? acc[j] + bias[j] : acc[j];
            bad += y[j] != hnn_ka_requant(a, mult[k], shift[k], zp, lo, hi);
        }
    }
    CHECK_EQ_INT(bad, 0);
}

int main(int argc, char **argv)
{
    test_gemv();
    test_depthwise_accum();
    test_requant();

    size_t len = 0;
    char path[512];
    int cases = 0;
    if (argc > 1 && strlen(argv[1]) < 400)
        g_dir = argv[1];
    snprintf(path, sizeof path, "%s/MANIFEST", g_dir);
    unsigned char *manifest = unit_read_file(path, &len);
    if (!manifest) {
        fprintf(stderr, "%s missing: run from the repository root\n", path);
        return 1;
    }
    for (size_t at = 0; at < len;) {
        size_t end = at;
        while (end < len && manifest[end] != '\n')
            end++;
        const char *line = (const char *)manifest + at;
        size_t n = end - at;
        while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' '))
            n--;
        if (n > 0 && line[0] != '#') {
            char name[MAX_NAME];
            if (!valid_name(line, n)) {
                fprintf(stderr, "MANIFEST: bad case name at byte %zu\n", at);
                unit_fail++;
            } else {
                memcpy(name, line, n);
                name[n] = 0;
                run_case(name);
                cases++;
            }
        }
        at = end + 1;
    }
    free(manifest);
    printf("%d golden cases\n", cases);
    CHECK(cases >= (argc > 1 ? 1 : 20));
    return UNIT_DONE();
}
