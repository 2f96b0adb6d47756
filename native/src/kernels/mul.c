/*
 * mul.c - MUL of two int8 tensors with numpy broadcasting and a fused
 * activation. Bit-exact with TFLM's reference_integer_ops::MulElementwise /
 * BroadcastMul4DSlow: (x1 - zp1) * (x2 - zp2) rescaled by s1 * s2 / s_out.
 * TFLM broadcasts MUL in at most 4 dimensions; equal shapes may have any rank.
 */
#include "arith.h"
#include "broadcast.h"
#include "operands.h"

typedef struct {
    int32_t off1, off2;
    int32_t mult;
    int8_t shift;
    int8_t pad_;
    int16_t zp_out, lo, hi;
    hnn_bcast bc;
} mul_data;

static int mul_prepare(hnn_ctx *c)
{
    hnn_tinfo a, b, y;
    int rc;

    mul_data tmp, *d = c->data ? (mul_data *)c->data : &tmp;
    int act;
    if ((rc = hnn_binary_prepare(c, 4, &a, &b, &y, &act, &d->bc)) != HNN_OK)
        return rc;
    int shift;
    double real = (double)a.scale * (double)b.scale / (double)y.scale;
    if ((rc = hnn_requant_multiplier(c, real, &d->mult, &shift)) != HNN_OK)
        return rc;
    int32_t lo, hi;
    if ((rc = hnn_act_range_q8(c, act, &y, &lo, &hi)) != HNN_OK)
        return rc;

    c->data_bytes = sizeof(mul_data);
    c->scratch_bytes = 0;
    d->shift = (int8_t)shift;
    d->off1 = -a.zero_point;
    d->off2 = -b.zero_point;
    d->zp_out = (int16_t)y.zero_point;
    d->lo = (int16_t)lo;
    d->hi = (int16_t)hi;
    return HNN_OK;
}

static inline int8_t mul1(const mul_data *d, int8_t x1, int8_t x2)
{
    int32_t v = hnn_add_wrap(hnn_mbqm((x1 + d->off1) * (x2 + d->off2), d->mult, d->shift),
                             d->zp_out);
    v = v < d->lo ? d->lo : v;
    v = v > d->hi ? d->hi : v;
    return (int8_t)v;
}

HNN_BINARY_ROW(mul_row, mul_data, mul1)

static int mul_eval(hnn_ctx *c)
{
    const mul_data *d = (const mul_data *)c->data;
    hnn_bcast_run(&d->bc, d, mul_row, (const int8_t *)hnn_in_data(c, 0),
                  (const int8_t *)hnn_in_data(c, 1), (int8_t *)hnn_out_data(c, 0));
    return HNN_OK;
}

const hnn_kernel hnn_k_mul = {.name = "MUL", .prepare = mul_prepare, .eval = mul_eval};
