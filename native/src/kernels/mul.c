/*
 * mul.c - MUL of two int8 tensors with numpy broadcasting and a fused
 * activation. Bit-exact with TFLM's reference_integer_ops::MulElementwise /
 * BroadcastMul4DSlow: (x1 - zp1) * (x2 - zp2) rescaled by s1 * s2 / s_out.
 * TFLM broadcasts MUL in at most 4 dimensions; equal shapes may have any rank.
 */
#include "conv_util.h"

typedef struct {
    int32_t off1, off2;
    int32_t mult;
    int8_t shift;
    int8_t pad_;
    int16_t zp_out, lo, hi;
    hnn_ka_bcast bc;
} mul_data;

static int mul_prepare(hnn_ctx *c)
{
    hnn_tinfo a, b, y;
    int rc;

    HNN_CHECK(c, c->n_in == 2 && c->n_out == 1, HNN_E_GRAPH, "MUL takes two inputs and one output");
    if ((rc = hnn_in_info(c, 0, &a)) || (rc = hnn_in_info(c, 1, &b)) || (rc = hnn_out_info(c, 0, &y)))
        return rc;
    if ((rc = hnn_ka_check_q8(c, &a, "input 1")) || (rc = hnn_ka_check_q8(c, &b, "input 2")) ||
        (rc = hnn_ka_check_q8(c, &y, "output")))
        return rc;
    int act = hnn_opt_u8(&c->opts, 0, HNN_ACT_NONE);

    mul_data tmp, *d = c->data ? (mul_data *)c->data : &tmp;
    if ((rc = hnn_ka_bcast_prepare(c, &a, &b, &y, 4, &d->bc)) != HNN_OK)
        return rc;
    int shift;
    double real = (double)a.scale * (double)b.scale / (double)y.scale;
    if ((rc = hnn_ka_multiplier(c, real, &d->mult, &shift)) != HNN_OK)
        return rc;
    int32_t lo, hi;
    if ((rc = hnn_ka_act_range(c, act, &y, &lo, &hi)) != HNN_OK)
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
    int32_t v = hnn_ka_add_wrap(hnn_mbqm((x1 + d->off1) * (x2 + d->off2), d->mult, d->shift),
                                d->zp_out);
    v = v < d->lo ? d->lo : v;
    v = v > d->hi ? d->hi : v;
    return (int8_t)v;
}

static void mul_row(const void *p, const int8_t *a, int32_t sa, const int8_t *b,
                    int32_t sb, int8_t *y, int32_t n)
{
    const mul_data *d = (const mul_data *)p;
    if (sa == 1 && sb == 1) {
        for (int32_t i = 0; i < n; i++)
            y[i] = mul1(d, a[i], b[i]);
    } else if (sa == 1 && sb == 0) {
        for (int32_t i = 0; i < n; i++)
            y[i] = mul1(d, a[i], b[0]);
    } else if (sa == 0 && sb == 1) {
        for (int32_t i = 0; i < n; i++)
            y[i] = mul1(d, a[0], b[i]);
    } else {
        for (int32_t i = 0; i < n; i++)
            y[i] = mul1(d, a[(size_t)i * sa], b[(size_t)i * sb]);
    }
}

static int mul_eval(hnn_ctx *c)
{
    const mul_data *d = (const mul_data *)c->data;
    hnn_ka_bcast_run(&d->bc, d, mul_row, (const int8_t *)hnn_in_data(c, 0),
                     (const int8_t *)hnn_in_data(c, 1), (int8_t *)hnn_out_data(c, 0));
    return HNN_OK;
}

const hnn_kernel hnn_k_mul = {"MUL", mul_prepare, mul_eval};
