/*
 * golden_ops.h - replay golden single-op vectors (tests/golden/ops*, written
 * by hearth_tools.testing.golden_conv / golden_quant_shape from TFLite Micro): each case is
 * NAME.tflite, NAME.input.bin (inputs concatenated) and NAME.expected.bin
 * (outputs concatenated), listed in DIR/MANIFEST. Every case runs through
 * hnn_init/hnn_invoke twice, with and without HNN_PRESERVE_ALL, and checks
 * that the arena reported is exact. Included by one test file each.
 */
#ifndef HEARTH_GOLDEN_OPS_H
#define HEARTH_GOLDEN_OPS_H

#include <stdint.h>
#include <string.h>

#include "hearth/nn.h"
#include "unit.h"

#define MAX_NAME 64

static const char *g_dir;   /* set by golden_run */

/* case names are [a-z0-9_]+: a MANIFEST line cannot name a path */
static int valid_name(const char *s, size_t n)
{
    if (n == 0 || n >= MAX_NAME)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

static unsigned char *load(const char *name, const char *suffix, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s%s", g_dir, name, suffix);
    unsigned char *p = unit_read_file(path, len);
    if (!p)
        fprintf(stderr, "%s: cannot read\n", path);
    return p;
}

/* Concatenated inputs in, one invoke, concatenated outputs compared. */
static int replay(hnn_model *m, const unsigned char *in, size_t in_len,
                  const unsigned char *want, size_t want_len, const char *name)
{
    size_t at = 0;
    for (int i = 0; i < hnn_num_inputs(m); i++) {
        hnn_tensor_info ti;
        int t = hnn_input(m, i);
        if (t < 0 || hnn_tensor_info_get(m, t, &ti) != HNN_OK || at + (size_t)ti.bytes > in_len)
            return -1;
        if (ti.bytes > 0)        /* an empty tensor may have no memory */
            memcpy(hnn_tensor_data(m, t), in + at, (size_t)ti.bytes);
        at += (size_t)ti.bytes;
    }
    if (at != in_len)
        return -1;
    int rc = hnn_invoke(m);
    if (rc != HNN_OK) {
        fprintf(stderr, "%s: invoke: %s\n", name, hnn_strerror(rc));
        return -1;
    }
    at = 0;
    int bad = 0;
    for (int i = 0; i < hnn_num_outputs(m); i++) {
        hnn_tensor_info ti;
        int t = hnn_output(m, i);
        if (t < 0 || hnn_tensor_info_get(m, t, &ti) != HNN_OK || at + (size_t)ti.bytes > want_len)
            return -1;
        const unsigned char *got = (const unsigned char *)hnn_tensor_data(m, t);
        for (int32_t k = 0; k < ti.bytes; k++) {
            if (got[k] != want[at + (size_t)k]) {
                if (bad < 4)
                    fprintf(stderr, "%s: output %d byte %d: got 0x%02x want 0x%02x\n", name, i,
                            (int)k, got[k], want[at + (size_t)k]);
                bad++;
            }
        }
        at += (size_t)ti.bytes;
    }
    return bad || at != want_len ? -1 : 0;
}

static void run_case(const char *name)
{
    size_t mlen = 0, ilen = 0, olen = 0;
    unsigned char *model = load(name, ".tflite", &mlen);
    unsigned char *in = load(name, ".input.bin", &ilen);
    unsigned char *want = load(name, ".expected.bin", &olen);
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
        if (rc != HNN_OK) {
            char why[HNN_DETAIL_MAX];
            hnn_init_detail(arena, need, why, sizeof why);
            fprintf(stderr, "%s: init: %s (%s)\n", name, hnn_strerror(rc), why);
        }
        CHECK_EQ_INT(rc, HNN_OK);
        if (rc != HNN_OK)
            break;
        /* twice: the kernels keep no state between invokes */
        CHECK_EQ_INT(replay(m, in, ilen, want, olen, name), 0);
        CHECK_EQ_INT(replay(m, in, ilen, want, olen, name), 0);
        /* the reported arena is enough; one byte less is a clean refusal */
        size_t used = hnn_arena_used(m);
        CHECK(used <= need);
        hnn_model *m2 = NULL;
        CHECK_EQ_INT(hnn_init(&m2, model, mlen, arena, used - 1, flags), HNN_E_ARENA);
        CHECK(m2 == NULL);
    }
out:
    free(arena);
    free(model);
    free(in);
    free(want);
}

/* Run every case listed in dir/MANIFEST; at least min_cases must exist. */
static void golden_run(const char *dir, int min_cases)
{
    size_t len = 0;
    char path[512];
    int cases = 0;
    g_dir = dir;
    snprintf(path, sizeof path, "%s/MANIFEST", g_dir);
    unsigned char *manifest = unit_read_file(path, &len);
    if (!manifest) {
        fprintf(stderr, "%s missing: run from the repository root\n", path);
        unit_fail++;
        return;
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
            if (!valid_name(line, n)) {
                fprintf(stderr, "MANIFEST: bad case name at byte %zu\n", at);
                unit_fail++;
            } else {
                char name[MAX_NAME];
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
    CHECK(cases >= min_cases);
}

#endif /* HEARTH_GOLDEN_OPS_H */
