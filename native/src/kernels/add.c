/*
 * add.c - ADD of two int8 tensors with numpy broadcasting (up to 6-D, as
 * TFLM's BroadcastAdd6DSlow) and a fused activation. Bit-exact with TFLM's
 * reference_integer_ops::AddFunc: both inputs are shifted left by 20 bits,
 * rescaled to twice the larger input scale, summed, then rescaled to the
 * output (add_common.cc).
 */
#include "arith.h"
#include "broadcast.h"
#include "operands.h"

#define LEFT_SHIFT 20   /* TFLM's left_shift for int8 outputs */

typedef struct {
    int32_t off1, off2;            /* -zero points */
    int32_t m1, m2, mo;
    int8_t s1, s2, so;
    int8_t pad_;
    int16_t zp_out, lo, hi;
    int16_t pad2_;
    hnn_bcast bc;
} add_data;

/* QuantizeMultiplierSmallerThanOneExp: TFLM aborts unless 0 < real < 1
 * and the shift comes out <= 0; we refuse the model instead. */
static int smaller_than_one(hnn_ctx *c, double real, int32_t *m, int8_t *s)
{
    int shift;
    HNN_CHECK(c, real > 0.0 && real < 1.0, HNN_E_QUANT,
              "ADD rescale factor outside (0, 1): output scale too small for the inputs");
    hnn_quantize_multiplier(real, m, &shift);
    HNN_CHECK(c, shift <= 0, HNN_E_QUANT,
              "ADD rescale factor rounds to 1: output scale too small for the inputs");
    *s = (int8_t)shift;
    return HNN_OK;
}

static int add_prepare(hnn_ctx *c)
{
    hnn_tinfo a, b, y;
    int rc;

    add_data tmp, *d = c->data ? (add_data *)c->data : &tmp;
    int act;
    if ((rc = hnn_binary_prepare(c, 6, &a, &b, &y, &act, &d->bc)) != HNN_OK)
        return rc;

    double twice_max = 2.0 * (double)(a.scale > b.scale ? a.scale : b.scale);
    if ((rc = smaller_than_one(c, (double)a.scale / twice_max, &d->m1, &d->s1)) ||
        (rc = smaller_than_one(c, (double)b.scale / twice_max, &d->m2, &d->s2)) ||
        (rc = smaller_than_one(c, twice_max / ((double)(1 << LEFT_SHIFT) * (double)y.scale),
                               &d->mo, &d->so)))
        return rc;
    int32_t lo, hi;
    if ((rc = hnn_act_range_q8(c, act, &y, &lo, &hi)) != HNN_OK)
        return rc;

    c->data_bytes = sizeof(add_data);
    c->scratch_bytes = 0;
    d->off1 = -a.zero_point;
    d->off2 = -b.zero_point;
    d->zp_out = (int16_t)y.zero_point;
    d->lo = (int16_t)lo;
    d->hi = (int16_t)hi;
    return HNN_OK;
}

static inline int8_t add1(const add_data *d, int8_t x1, int8_t x2)
{
    /* (x + off) is within [-255, 255]: the shift by 20 cannot overflow */
    int32_t a = (x1 + d->off1) * (1 << LEFT_SHIFT);
    int32_t b = (x2 + d->off2) * (1 << LEFT_SHIFT);
    int32_t sum = hnn_mbqm(a, d->m1, d->s1) + hnn_mbqm(b, d->m2, d->s2);
    int32_t v = hnn_add_wrap(hnn_mbqm(sum, d->mo, d->so), d->zp_out);
    v = v < d->lo ? d->lo : v;
    v = v > d->hi ? d->hi : v;
    return (int8_t)v;
}

HNN_BINARY_ROW(add_row, add_data, add1)

static int add_eval(hnn_ctx *c)
{
    const add_data *d = (const add_data *)c->data;
    hnn_bcast_run(&d->bc, d, add_row, (const int8_t *)hnn_in_data(c, 0),
                  (const int8_t *)hnn_in_data(c, 1), (int8_t *)hnn_out_data(c, 0));
    return HNN_OK;
}

const hnn_kernel hnn_k_add = {.name = "ADD", .prepare = add_prepare, .eval = add_eval};
