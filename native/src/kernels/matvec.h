/*
 * matvec.h - int8 matrix-vector products for the hot loops (pointwise and
 * row-merged CONV_2D, FULLY_CONNECTED): out[r] = sum_i x[i] * w[r*ldw + i].
 * Exact int32 sums (order-independent), so any blocking gives TFLM's bytes.
 */
#ifndef HEARTH_MATVEC_H
#define HEARTH_MATVEC_H

#include <stdint.h>

/* out[r] = dot(x, w + r * ldw, n) for r in [0, rows). */
void hnn_matvec_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t ldw, int32_t rows,
                   int32_t *out);
/* One dot product of length n. */
int32_t hnn_dot_s8(const int8_t *x, const int8_t *w, int32_t n);

#endif /* HEARTH_MATVEC_H */
