/*
 * broadcast.h - the two-input elementwise int8 ops (ADD, MUL): numpy
 * broadcasting merged into at most 6 dimensions, a common prepare and the
 * row loop each op supplies its arithmetic to.
 */
#ifndef HEARTH_KERNELS_BROADCAST_H
#define HEARTH_KERNELS_BROADCAST_H

#include <stdint.h>
#include "kernel.h"

#define HNN_BCAST_DIMS 6

/* An output walk of up to 6 merged dimensions (outermost first); s1/s2 are
 * the element strides of the two inputs along each (0 = broadcast). Adjacent
 * dimensions that broadcast alike are merged at prepare, so the innermost
 * row is as long as possible. */
typedef struct {
    int32_t dims[HNN_BCAST_DIMS];
    int32_t s1[HNN_BCAST_DIMS], s2[HNN_BCAST_DIMS];
} hnn_bcast;

/* Validates that out is the broadcast of a and b (numpy rules, ranks up to
 * HNN_MAX_DIMS; max_rank limits the rank when a real broadcast happens) and
 * fills bc. */
int hnn_bcast_prepare(hnn_ctx *c, const hnn_tinfo *a, const hnn_tinfo *b,
                      const hnn_tinfo *out, int max_rank, hnn_bcast *bc);

/* The common prepare of a two-input int8 op with a fused activation (ADD,
 * MUL): one output, all three tensors int8 with scales, the activation
 * option, and the broadcast walk. The op's own rescaling is left to it. */
int hnn_binary_prepare(hnn_ctx *c, int max_rank, hnn_tinfo *a, hnn_tinfo *b, hnn_tinfo *y,
                       int *act, hnn_bcast *bc);

/* Processes n outputs: y[i] = f(a[i * sa], b[i * sb]). */
typedef void (*hnn_binary_row_fn)(const void *params, const int8_t *a, int32_t sa,
                              const int8_t *b, int32_t sb, int8_t *y, int32_t n);

/* Defines `static void name(...)`, an hnn_binary_row_fn applying
 * `int8_t f(const data_t *d, int8_t x1, int8_t x2)` with the contiguous and
 * broadcast-scalar cases as their own loops (the compiler vectorizes
 * those). */
#define HNN_BINARY_ROW(name, data_t, f)                                          \
    static void name(const void *p, const int8_t *a, int32_t sa, const int8_t *b,  \
                     int32_t sb, int8_t *y, int32_t n)                             \
    {                                                                              \
        const data_t *d = (const data_t *)p;                                       \
        if (sa == 1 && sb == 1) {                                                  \
            for (int32_t i = 0; i < n; i++)                                        \
                y[i] = f(d, a[i], b[i]);                                           \
        } else if (sa == 1 && sb == 0) {                                           \
            for (int32_t i = 0; i < n; i++)                                        \
                y[i] = f(d, a[i], b[0]);                                           \
        } else if (sa == 0 && sb == 1) {                                           \
            for (int32_t i = 0; i < n; i++)                                        \
                y[i] = f(d, a[0], b[i]);                                           \
        } else {                                                                   \
            for (int32_t i = 0; i < n; i++)                                        \
                y[i] = f(d, a[(size_t)i * sa], b[(size_t)i * sb]);                 \
        }                                                                          \
    }

void hnn_bcast_run(const hnn_bcast *bc, const void *params, hnn_binary_row_fn row,
                   const int8_t *a, const int8_t *b, int8_t *y);

#endif /* HEARTH_KERNELS_BROADCAST_H */
