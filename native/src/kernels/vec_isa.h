/*
 * vec_isa.h - the implementations behind vec.h, one file per instruction
 * set, and the compile-time selection vec.c dispatches on. Private to the
 * vec*.c files.
 *
 * HNN_VEC_AVX2: x86-64 with GCC/Clang; the AVX2 code is compiled with a
 * target attribute and used only when the CPU reports AVX2 at run time, so
 * the library still runs on any x86-64. HNN_VEC_NEON: wherever the compiler
 * targets NEON (baseline on AArch64). HNN_NO_SIMD forces the portable C.
 */
#ifndef HEARTH_KERNELS_VEC_ISA_H
#define HEARTH_KERNELS_VEC_ISA_H

#include "arith.h"
#include "vec.h"

#if !defined(HNN_NO_SIMD) && defined(__x86_64__) && defined(__GNUC__)
#define HNN_VEC_AVX2 1
#endif
#if !defined(HNN_NO_SIMD) && defined(__ARM_NEON)
#define HNN_VEC_NEON 1
#endif

/* vec_portable.c: every target; the reference for the others. */
void hnn_vec_gemv_c(const int8_t *x, const int8_t *w, size_t ldw, int32_t n, int32_t rows,
                    int32_t xoff, int32_t *out);
void hnn_vec_dw_accum_c(int32_t *acc, const int8_t *const *xt, size_t coff, const int8_t *w,
                        size_t wstride, int32_t ntaps, int32_t xoff, int32_t n, int accumulate);
void hnn_vec_requant_c(const int32_t *acc, const int32_t *bias, const int32_t *mult,
                       const int8_t *shift, int per_channel, int32_t n, int32_t zp,
                       int32_t lo, int32_t hi, int8_t *y);

#ifdef HNN_VEC_AVX2
/* vec_avx2.c: call only when __builtin_cpu_supports("avx2"). */
void hnn_vec_gemv_avx2(const int8_t *x, const int8_t *w, size_t ldw, int32_t n, int32_t rows,
                       int32_t xoff, int32_t *out);
void hnn_vec_dw_accum_avx2(int32_t *acc, const int8_t *const *xt, size_t coff, const int8_t *w,
                           size_t wstride, int32_t ntaps, int32_t xoff, int32_t n,
                           int accumulate);
void hnn_vec_requant_avx2(const int32_t *acc, const int32_t *bias, const int32_t *mult,
                          const int8_t *shift, int per_channel, int32_t n, int32_t zp,
                          int32_t lo, int32_t hi, int8_t *y);
#endif

#ifdef HNN_VEC_NEON
/* vec_neon.c (no depthwise version: NEON targets run the portable one). */
void hnn_vec_gemv_neon(const int8_t *x, const int8_t *w, size_t ldw, int32_t n, int32_t rows,
                       int32_t xoff, int32_t *out);
void hnn_vec_requant_neon(const int32_t *acc, const int32_t *bias, const int32_t *mult,
                          const int8_t *shift, int per_channel, int32_t n, int32_t zp,
                          int32_t lo, int32_t hi, int8_t *y);
#endif

#endif /* HEARTH_KERNELS_VEC_ISA_H */
