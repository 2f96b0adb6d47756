/*
 * The four real models replay recorded real-speech input streams and must
 * produce TFLM's output byte after every step (tests/golden/models, made by
 * tests/make_golden_models.py). Runs natively and under qemu-user.
 */
#include <stdint.h>

#include "hearth/nn.h"
#include "unit.h"

static const char *names[] = {"okay_nabu", "hey_jarvis", "hey_mycroft", "alexa"};

int main(void)
{
    static uint64_t arena[(1024 * 1024) / 8];
    char path[256];
    for (unsigned k = 0; k < sizeof names / sizeof names[0]; k++) {
        size_t mlen = 0, ilen = 0, olen = 0, bound = 0;
        snprintf(path, sizeof path, "models/%s.tflite", names[k]);
        unsigned char *model = unit_read_file(path, &mlen);
        snprintf(path, sizeof path, "tests/golden/models/%s.in", names[k]);
        unsigned char *in = unit_read_file(path, &ilen);
        snprintf(path, sizeof path, "tests/golden/models/%s.out", names[k]);
        unsigned char *out = unit_read_file(path, &olen);
        CHECK(model && in && out);
        if (!model || !in || !out)
            continue;
        hnn_model *m;
        CHECK_EQ_INT(hnn_arena_bytes(model, mlen, 0, &bound), HNN_OK);
        CHECK(bound <= sizeof arena);
        CHECK_EQ_INT(hnn_init(&m, model, mlen, arena, sizeof arena, 0), HNN_OK);
        hnn_tensor_info ii, oi;
        hnn_tensor_info_get(m, hnn_input(m, 0), &ii);
        hnn_tensor_info_get(m, hnn_output(m, 0), &oi);
        size_t steps = ilen / (size_t)ii.bytes;
        CHECK_EQ_INT(steps * (size_t)oi.bytes, olen);
        int mismatches = 0;
        for (int pass = 0; pass < 2; pass++) {   /* second pass after reset */
            for (size_t s = 0; s < steps && s * (size_t)oi.bytes < olen; s++) {
                memcpy(hnn_tensor_data(m, hnn_input(m, 0)), in + s * (size_t)ii.bytes, (size_t)ii.bytes);
                if (hnn_invoke(m) != HNN_OK) {
                    mismatches++;
                    break;
                }
                if (memcmp(hnn_tensor_data(m, hnn_output(m, 0)), out + s * (size_t)oi.bytes,
                           (size_t)oi.bytes) != 0)
                    mismatches++;
            }
            hnn_reset(m);
        }
        printf("%s: %zu steps x 2, %d mismatches\n", names[k], steps, mismatches);
        CHECK_EQ_INT(mismatches, 0);
        free(model);
        free(in);
        free(out);
    }
    return UNIT_DONE();
}
