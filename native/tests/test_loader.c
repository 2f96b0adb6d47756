/*
 * Loader robustness on the real models: exact arena, too-small arenas,
 * truncation (every offset of the first 8 KiB, then every 61st), random bit
 * flips. Nothing may crash (the host build runs under ASan+UBSan), every
 * failure is a negative hnn_status.
 */
#include <stdint.h>

#include "hearth/nn.h"
#include "unit.h"

static const char *models[] = {
    "models/hey_jarvis.tflite", "models/hey_mycroft.tflite",
    "models/okay_nabu.tflite", "models/alexa.tflite",
};

static uint64_t arena_mem[(1 << 20) / 8];

static int try_init(const uint8_t *buf, size_t len, size_t arena, hnn_model **m)
{
    return hnn_init(m, buf, len, arena_mem, arena, 0);
}

int main(void)
{
    for (unsigned k = 0; k < sizeof models / sizeof models[0]; k++) {
        size_t len = 0;
        unsigned char *buf = unit_read_file(models[k], &len);
        if (!buf) {
            fprintf(stderr, "%s missing: run `make models`\n", models[k]);
            unit_fail++;
            continue;
        }
        hnn_model *m = NULL;
        size_t bound = 0;
        CHECK_EQ_INT(hnn_arena_bytes(buf, len, 0, &bound), HNN_OK);
        CHECK(bound <= sizeof arena_mem);
        int rc = try_init(buf, len, bound, &m);
        CHECK_EQ_INT(rc, HNN_OK);
        if (rc == HNN_OK) {
            size_t used = hnn_arena_used(m);
            CHECK(used > 0 && used <= bound);
            /* exactly `used` bytes is enough, one byte less is a clean error */
            CHECK_EQ_INT(try_init(buf, len, used, &m), HNN_OK);
            CHECK_EQ_INT(hnn_invoke(m), HNN_OK);
            CHECK_EQ_INT(try_init(buf, len, used - 1, &m), HNN_E_ARENA);
            CHECK(m == NULL);
            for (size_t a = 0; a < used; a += 97)
                CHECK(try_init(buf, len, a, &m) < 0);
        }

        /* truncation: every offset for the first 8 KiB, then every 61st */
        int crashed_ok = 1;
        for (size_t cut = 0; cut < len; cut += cut < 8192 ? 1 : 61) {
            rc = try_init(buf, cut, sizeof arena_mem, &m);
            if (rc >= 0) {
                crashed_ok = 0;
                fprintf(stderr, "%s truncated at %zu loaded\n", models[k], cut);
            }
        }
        CHECK(crashed_ok);

        /* random bit flips: load (and run, if it loads) without crashing */
        unsigned seed = 777u + k;
        unsigned char *copy = (unsigned char *)malloc(len);
        int failures = 0, loaded = 0;
        for (int round = 0; round < 3000; round++) {
            memcpy(copy, buf, len);
            for (int f = 0; f < 1 + round % 4; f++) {
                seed = seed * 1103515245u + 12345u;
                size_t at = (seed >> 4) % len;
                copy[at] ^= (unsigned char)(1u << (seed % 8));
            }
            rc = try_init(copy, len, sizeof arena_mem, &m);
            if (rc == HNN_OK) {
                loaded++;
                if (hnn_invoke(m) < 0)
                    failures++;
            } else if (rc > 0) {
                failures++;
            }
        }
        printf("%s: %d of 3000 bit-flipped models still load and run\n", models[k], loaded);
        CHECK(failures == 0);
        free(copy);
        free(buf);
    }
    return UNIT_DONE();
}
