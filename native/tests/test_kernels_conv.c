/*
 * The conv-family kernels (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD,
 * MUL, pooling) replay the golden single-op vectors in tests/golden/ops_conv:
 * each model runs through hnn_init/hnn_invoke and every output byte must equal
 * what TFLite Micro computed (written by
 * `python -m hearth_tools.testing.golden_conv`). No Python;
 * the same binary runs natively and under qemu (aarch64, armhf).
 */
#include <stdint.h>
#include <string.h>

#include "golden_ops.h"
#include "hearth/nn.h"
#include "kernels/arith.h"
#include "kernels/vec.h"

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
        hnn_vec_gemv(x, w, ldw, n, rows, xoff, out);
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
        hnn_vec_dw_accum(acc, xt, coff, wt, 80, taps, -zp, n, 1);
        for (int32_t j = 0; j < n; j++)
            bad += acc[j] != want[j];
        /* the non-accumulating form ignores what acc held */
        int32_t init[80];
        for (int32_t j = 0; j < n; j++)
            init[j] = want[j] - acc0[j];
        hnn_vec_dw_accum(acc, xt, coff, wt, 80, taps, -zp, n, 0);
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
        hnn_vec_requant(acc, use_bias ? bias : NULL, mult, shift, per_channel, n, zp, lo,
                        hi, y);
        for (int32_t j = 0; j < n; j++) {
            int32_t k = per_channel ? j : 0;
            int32_t a = use_bias ? acc[j] + bias[j] : acc[j];
            bad += y[j] != hnn_requant_i8(a, mult[k], shift[k], zp, lo, hi);
        }
    }
    CHECK_EQ_INT(bad, 0);
}

int main(int argc, char **argv)
{
    test_gemv();
    test_depthwise_accum();
    test_requant();

    golden_run(argc > 1 && strlen(argv[1]) < 400 ? argv[1] : "tests/golden/ops_conv", argc > 1 ? 1 : 20);
    return UNIT_DONE();
}
