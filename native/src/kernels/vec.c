/*
 * vec.c - picks the vector primitives' implementation: AVX2 on x86-64 when
 * the CPU has it, NEON where the compiler targets it, else portable C
 * (vec_isa.h has the compile-time selection).
 */
#include "vec_isa.h"

#ifdef HNN_VEC_AVX2
static int have_avx2(void)
{
    /* reads the CPU model libgcc filled in at startup (cheap) */
    return __builtin_cpu_supports("avx2");
}
#endif

void hnn_vec_gemv(const int8_t *x, const int8_t *w, size_t ldw, int32_t n, int32_t rows,
                  int32_t xoff, int32_t *out)
{
#if defined(HNN_VEC_AVX2)
    if (have_avx2()) {
        hnn_vec_gemv_avx2(x, w, ldw, n, rows, xoff, out);
        return;
    }
#elif defined(HNN_VEC_NEON)
    hnn_vec_gemv_neon(x, w, ldw, n, rows, xoff, out);
    return;
#endif
    hnn_vec_gemv_c(x, w, ldw, n, rows, xoff, out);
}

void hnn_vec_dw_accum(int32_t *acc, const int8_t *const *xt, size_t coff, const int8_t *w,
                      size_t wstride, int32_t ntaps, int32_t xoff, int32_t n, int accumulate)
{
#if defined(HNN_VEC_AVX2)
    if (have_avx2()) {
        hnn_vec_dw_accum_avx2(acc, xt, coff, w, wstride, ntaps, xoff, n, accumulate);
        return;
    }
#endif
    hnn_vec_dw_accum_c(acc, xt, coff, w, wstride, ntaps, xoff, n, accumulate);
}

void hnn_vec_requant(const int32_t *acc, const int32_t *bias, const int32_t *mult,
                    const int8_t *shift, int per_channel, int32_t n, int32_t zp,
                    int32_t lo, int32_t hi, int8_t *y)
{
#if defined(HNN_VEC_AVX2)
    if (have_avx2()) {
        hnn_vec_requant_avx2(acc, bias, mult, shift, per_channel, n, zp, lo, hi, y);
        return;
    }
#elif defined(HNN_VEC_NEON)
    hnn_vec_requant_neon(acc, bias, mult, shift, per_channel, n, zp, lo, hi, y);
    return;
#endif
    hnn_vec_requant_c(acc, bias, mult, shift, per_channel, n, zp, lo, hi, y);
}
