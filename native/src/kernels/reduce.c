/*
 * reduce.c - MEAN over int8/int16 tensors, bit-exact with TFLite Micro's
 * reduce_common.cc (EvalMeanHelper -> QuantizedMeanOrSum).
 *
 * What the tflite-micro runtime does (checked against it, see
 * tests/test_ops_quant_shape.py): sum the raw values over the reduced axes into int32,
 * fold 1/N into the requantization multiplier
 *     shift' = min(floor(log2 N), 32, 31 + shift)
 *     mult'  = (mult << shift') / N,  shift -= shift'
 * and output clamp(MBQM(sum - zp_in * N, mult', shift) + zp_out). This path
 * is taken even when input and output share scale and zero point. Axes may
 * be negative or repeated; keep_dims only changes the output's shape.
 *
 * Speed and memory: dimensions are merged into alternating runs of kept and
 * reduced axes at prepare. Eval walks the outputs in order; when the
 * innermost run is reduced each output is a contiguous sum, otherwise up to
 * MEAN_CHUNK neighbouring outputs accumulate together in a stack array (a
 * vectorizable row add). No arena scratch: the op costs only its op data.
 */
#include "../kernel.h"
#include "../quant.h"
#include "arith.h"
#include "operands.h"
#include <math.h>
#include <string.h>

/* outputs accumulated together when the innermost run is kept */
#define MEAN_CHUNK 64

typedef struct {
    int32_t in_elems, out_elems;
    int32_t mult;           /* with 1/N folded in */
    int32_t izp_n;          /* zp_in * N, wrapped to int32 like TFLM */
    int32_t ozp;
    int8_t shift;
    uint8_t is16;
    uint8_t nseg;           /* merged runs, outermost first */
    uint8_t red_mask;       /* bit s: run s is reduced */
    int32_t seg[HNN_MAX_DIMS];
} mean_data;

static int mean_prepare(hnn_ctx *c)
{
    hnn_tinfo in, ax, out;
    int rc;
    HNN_CHECK(c, c->n_in == 2 && c->n_out == 1, HNN_E_GRAPH, "MEAN takes 2 inputs, 1 output");
    if ((rc = hnn_in_info(c, 0, &in)) < 0 || (rc = hnn_in_info(c, 1, &ax)) < 0 ||
        (rc = hnn_out_info(c, 0, &out)) < 0)
        return rc;
    HNN_CHECK(c, in.type == HNN_INT8 || in.type == HNN_INT16, HNN_E_UNSUPPORTED_TYPE,
              "MEAN: only int8 and int16 tensors");
    HNN_CHECK(c, out.type == in.type, HNN_E_UNSUPPORTED_TYPE, "MEAN: output type differs from input");
    HNN_CHECK(c, ax.type == HNN_INT32, HNN_E_UNSUPPORTED_TYPE, "MEAN: axis must be int32");
    HNN_CHECK(c, ax.const_data != NULL, HNN_E_UNSUPPORTED_OP, "MEAN: axis must be a constant");
    HNN_CHECK(c, in.nq >= 1 && out.nq >= 1, HNN_E_QUANT, "MEAN: tensors must be quantized");
    HNN_CHECK(c, hnn_scale_ok(in.scale) && hnn_scale_ok(out.scale),
              HNN_E_QUANT, "MEAN: scales must be positive");
    const int32_t lo = in.type == HNN_INT8 ? -128 : -32768, hi = -lo - 1;
    HNN_CHECK(c, in.zero_point >= lo && in.zero_point <= hi && out.zero_point >= lo &&
              out.zero_point <= hi, HNN_E_QUANT, "MEAN: zero point out of range");

    /* ResolveAxis: negative axes wrap, duplicates count once; a scalar
     * input ignores its axes */
    unsigned red = 0;
    const uint8_t *a = (const uint8_t *)ax.const_data;
    for (int32_t i = 0; in.ndim > 0 && i < ax.elems; i++) {
        int32_t v;
        memcpy(&v, a + 4 * i, 4);
        if (v < 0)
            v += in.ndim;
        HNN_CHECK(c, v >= 0 && v < in.ndim, HNN_E_SHAPE, "MEAN: axis out of range");
        red |= 1u << v;
    }
    int64_t n = 1, kept = 1;
    for (int i = 0; i < in.ndim; i++) {
        if (red & (1u << i))
            n *= in.dims[i];
        else
            kept *= in.dims[i];
    }
    /* keep_dims (ReducerOptions field 0) only shapes the output; TFLM
     * indexes the output through the input, so check the element count */
    HNN_CHECK(c, out.elems == kept, HNN_E_SHAPE, "MEAN: output size does not match the reduction");

    mean_data d;
    memset(&d, 0, sizeof d);
    d.in_elems = in.elems;
    d.out_elems = out.elems;
    d.is16 = in.type == HNN_INT16;
    d.ozp = out.zero_point;
    int32_t mult;
    int shift;
    hnn_quantize_multiplier((double)in.scale / (double)out.scale, &mult, &shift);
    HNN_CHECK(c, shift <= 30, HNN_E_QUANT, "MEAN: scale ratio too large");
    if (n > 0) {
        int s = 0;
        while (s < 62 && ((int64_t)1 << (s + 1)) <= n)
            s++;                                  /* floor(log2 N) */
        if (s > 32)
            s = 32;
        if (s > 31 + shift)
            s = 31 + shift;
        mult = (int32_t)(((int64_t)mult << s) / n);
        shift -= s;
    }
    d.mult = mult;
    d.shift = (int8_t)shift;
    d.izp_n = hnn_wrap32((int64_t)in.zero_point * n);

    /* merge dims into runs: drop size-1 dims, join neighbours alike */
    int ns = 0;
    for (int i = 0; i < in.ndim; i++) {
        int r = (red >> i) & 1;
        if (in.dims[i] == 1)
            continue;
        if (ns > 0 && (int)((d.red_mask >> (ns - 1)) & 1) == r) {
            d.seg[ns - 1] *= in.dims[i];
        } else {
            d.seg[ns] = in.dims[i];
            d.red_mask |= (uint8_t)(r << ns);
            ns++;
        }
    }
    d.nseg = (uint8_t)ns;
    c->data_bytes = sizeof d;
    if (c->data)
        memcpy(c->data, &d, sizeof d);
    return HNN_OK;
}

static int32_t finish(const mean_data *d, uint32_t sum, int32_t lo, int32_t hi)
{
    /* (int32)(sum - zp_in * N), requantized with 1/N folded in */
    int32_t s = hnn_sub_wrap((int32_t)sum, d->izp_n);
    int64_t v = (int64_t)hnn_mbqm(s, d->mult, d->shift) + d->ozp;
    return (int32_t)(v < lo ? lo : v > hi ? hi : v);
}

/* Walk the runs: for every combination of the kept outer runs, add up the
 * reduced outer runs (an odometer), each step covering the innermost run.
 * Sums are int32 and wrap like TFLM's (done in uint32 to be defined). */
/* One step of an odometer over n nested runs (axis[n - 1] innermost): the
 * element offset to the next position, or ODOMETER_DONE once every run has
 * wrapped. */
#define ODOMETER_DONE PTRDIFF_MIN
static inline ptrdiff_t odometer(int n, const int32_t *axis, const int32_t *stride,
                                 const int32_t *seg, int32_t *idx)
{
    ptrdiff_t off = 0;
    for (int j = n - 1; j >= 0; j--) {
        off += stride[axis[j]];
        if (++idx[j] < seg[axis[j]])
            return off;
        off -= (ptrdiff_t)stride[axis[j]] * seg[axis[j]];
        idx[j] = 0;
    }
    return ODOMETER_DONE;
}

#define MEAN_EVAL(T)                                                              \
    static void mean_##T(const mean_data *d, const T *x, T *y, int32_t lo,      \
                         int32_t hi)                                             \
    {                                                                             \
        const int ns = d->nseg;                                                   \
        if (ns == 0) {                 /* every dim is 1: one element */          \
            y[0] = (T)finish(d, (uint32_t)x[0], lo, hi);                          \
            return;                                                               \
        }                                                                         \
        const int32_t inner = d->seg[ns - 1];                                     \
        const int inner_red = (d->red_mask >> (ns - 1)) & 1;                      \
        int32_t stride[HNN_MAX_DIMS], kept[HNN_MAX_DIMS], red[HNN_MAX_DIMS];      \
        int32_t kidx[HNN_MAX_DIMS] = {0}, ridx[HNN_MAX_DIMS] = {0};               \
        int nk = 0, nr = 0;                                                       \
        int32_t st = inner;                                                       \
        for (int k = ns - 2; k >= 0; k--) {                                       \
            stride[k] = st;                                                       \
            st *= d->seg[k];                                                      \
        }                                                                         \
        for (int k = 0; k < ns - 1; k++) {                                        \
            if ((d->red_mask >> k) & 1)                                           \
                red[nr++] = k;                                                    \
            else                                                                  \
                kept[nk++] = k;                                                   \
        }                                                                         \
        const T *xk = x;                                                          \
        for (;;) {                                                                \
            if (inner_red) {                                                      \
                uint32_t sum = 0;                                                 \
                const T *xr = xk;                                                 \
                for (;;) {                                                        \
                    for (int32_t i = 0; i < inner; i++)                           \
                        sum += (uint32_t)xr[i];                                   \
                    const ptrdiff_t step = odometer(nr, red, stride, d->seg, ridx); \
                    if (step == ODOMETER_DONE)                                    \
                        break;                                                    \
                    xr += step;                                                   \
                }                                                                 \
                *y++ = (T)finish(d, sum, lo, hi);                                 \
            } else {                                                              \
                for (int32_t c = 0; c < inner; c += MEAN_CHUNK) {                 \
                    const int32_t w = inner - c < MEAN_CHUNK ? inner - c : MEAN_CHUNK; \
                    uint32_t acc[MEAN_CHUNK];                                     \
                    memset(acc, 0, sizeof acc);                                   \
                    const T *xr = xk + c;                                         \
                    for (;;) {                                                    \
                        for (int32_t i = 0; i < w; i++)                           \
                            acc[i] += (uint32_t)xr[i];                            \
                        const ptrdiff_t step = odometer(nr, red, stride, d->seg, ridx); \
                        if (step == ODOMETER_DONE)                                \
                            break;                                                \
                        xr += step;                                               \
                    }                                                             \
                    for (int32_t i = 0; i < w; i++)                               \
                        *y++ = (T)finish(d, acc[i], lo, hi);                      \
                }                                                                 \
            }                                                                     \
            /* next combination of kept runs */                                  \
            const ptrdiff_t step = odometer(nk, kept, stride, d->seg, kidx);      \
            if (step == ODOMETER_DONE)                                            \
                return;                                                           \
            xk += step;                                                           \
        }                                                                         \
    }

MEAN_EVAL(int8_t)
MEAN_EVAL(int16_t)

static int mean_eval(hnn_ctx *c)
{
    const mean_data *d = (const mean_data *)c->data;
    void *y = hnn_out_data(c, 0);
    if (d->in_elems == 0 || d->out_elems == 0) {
        /* an empty reduction leaves the output zeroed, as TFLM does */
        if (d->out_elems)
            memset(y, 0, (size_t)d->out_elems * (d->is16 ? 2 : 1));
        return HNN_OK;
    }
    if (d->is16)
        mean_int16_t(d, (const int16_t *)hnn_in_data(c, 0), (int16_t *)y, -32768, 32767);
    else
        mean_int8_t(d, (const int8_t *)hnn_in_data(c, 0), (int8_t *)y, -128, 127);
    return HNN_OK;
}

const hnn_kernel hnn_k_mean = {.name = "MEAN", .prepare = mean_prepare, .eval = mean_eval};
