/*
 * vec_portable.c - the vector primitives in portable C: the fallback on
 * every target without a SIMD file, and the reference the SIMD versions
 * must equal bit for bit (native/tests).
 */
#include "vec_isa.h"

/* Portable versions: also the reference the SIMD versions must equal. */
void hnn_vec_gemv_c(const int8_t *x, const int8_t *w, size_t ldw, int32_t n, int32_t rows,
                    int32_t xoff, int32_t *out)
{
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *wr = w + (size_t)r * ldw;
        int32_t s = 0;
        for (int32_t i = 0; i < n; i++)
            s += ((int32_t)x[i] + xoff) * wr[i];
        out[r] = s;
    }
}

static void mac_c(int32_t *acc, const int8_t *x, const int8_t *w, int32_t xoff, int32_t n)
{
    for (int32_t j = 0; j < n; j++)
        acc[j] += ((int32_t)x[j] + xoff) * w[j];
}

void hnn_vec_dw_accum_c(int32_t *acc, const int8_t *const *xt, size_t coff, const int8_t *w,
                        size_t wstride, int32_t ntaps, int32_t xoff, int32_t n, int accumulate)
{
    if (!accumulate)
        for (int32_t j = 0; j < n; j++)
            acc[j] = 0;
    for (int32_t t = 0; t < ntaps; t++)
        if (xt[t])
            mac_c(acc, xt[t] + coff, w + (size_t)t * wstride, xoff, n);
}

void hnn_vec_requant_c(const int32_t *acc, const int32_t *bias, const int32_t *mult,
                       const int8_t *shift, int per_channel, int32_t n, int32_t zp,
                       int32_t lo, int32_t hi, int8_t *y)
{
    for (int32_t j = 0; j < n; j++) {
        int32_t k = per_channel ? j : 0;
        int32_t a = bias ? hnn_add_wrap(acc[j], bias[j]) : acc[j];
        y[j] = hnn_requant_i8(a, mult[k], shift[k], zp, lo, hi);
    }
}
