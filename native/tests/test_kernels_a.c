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

int main(int argc, char **argv)
{
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
