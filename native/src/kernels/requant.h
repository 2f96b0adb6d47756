/*
 * requant.h - vectorised per-channel requantization of int32 accumulators.
 */
#ifndef HEARTH_REQUANT_H
#define HEARTH_REQUANT_H

#include <stdint.h>

/* out[c] = clamp(MultiplyByQuantizedMultiplier(acc[c], mult[c], shift[c]) + zp, lo, hi) */
void hnn_requant_s8(const int32_t *acc, const int32_t *mult, const int8_t *shift, int32_t n,
                    int32_t zp, int32_t lo, int32_t hi, int8_t *out);

#endif /* HEARTH_REQUANT_H */
