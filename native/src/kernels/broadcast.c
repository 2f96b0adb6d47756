/*
 * broadcast.c - numpy broadcasting of the two-input elementwise ops (ADD,
 * MUL): the prepare-time walk and the run loop; see broadcast.h.
 */
#include "broadcast.h"
#include "operands.h"

int hnn_binary_prepare(hnn_ctx *c, int max_rank, hnn_tinfo *a, hnn_tinfo *b, hnn_tinfo *y,
                       int *act, hnn_bcast *bc)
{
    int rc;
    HNN_CHECK(c, c->n_in == 2 && c->n_out == 1, HNN_E_GRAPH, "takes two inputs and one output");
    if ((rc = hnn_in_info(c, 0, a)) || (rc = hnn_in_info(c, 1, b)) || (rc = hnn_out_info(c, 0, y)))
        return rc;
    if ((rc = hnn_operand_q8(c, a, "input 1")) || (rc = hnn_operand_q8(c, b, "input 2")) ||
        (rc = hnn_operand_q8(c, y, "output")))
        return rc;
    *act = hnn_opt_u8(&c->opts, 0, HNN_ACT_NONE);
    return hnn_bcast_prepare(c, a, b, y, max_rank, bc);
}

int hnn_bcast_prepare(hnn_ctx *c, const hnn_tinfo *a, const hnn_tinfo *b,
                      const hnn_tinfo *out, int max_rank, hnn_bcast *bc)
{
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    int32_t ea[HNN_MAX_DIMS], eb[HNN_MAX_DIMS];
    int same = 1;

    HNN_CHECK(c, nd <= HNN_BCAST_DIMS && out->ndim == nd, HNN_E_SHAPE,
              "output rank must be the larger input rank (at most 6)");
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        ea[i] = ia >= 0 ? a->dims[ia] : 1;
        eb[i] = ib >= 0 ? b->dims[ib] : 1;
        int32_t o = out->dims[i];
        HNN_CHECK(c, ea[i] > 0 && eb[i] > 0 && o > 0, HNN_E_SHAPE, "empty tensor");
        HNN_CHECK(c, (ea[i] == o || ea[i] == 1) && (eb[i] == o || eb[i] == 1) &&
                  (o == ea[i] || o == eb[i]), HNN_E_SHAPE,
                  "input shapes do not broadcast to the output shape");
        if (ea[i] != eb[i])
            same = 0;
    }
    /* TFLM only treats shapes as elementwise when they are equal once
     * extended; any other pair goes through its rank-limited broadcast */
    if (!same)
        HNN_CHECK(c, nd <= max_rank, HNN_E_SHAPE, "broadcast of this rank is not supported");

    /* drop unit output dims, merge neighbours that broadcast alike
     * (innermost first, so strides accumulate) */
    int32_t md[HNN_BCAST_DIMS], m1[HNN_BCAST_DIMS], m2[HNN_BCAST_DIMS];
    int k = 0;
    int32_t st1 = 1, st2 = 1;
    for (int i = nd - 1; i >= 0; i--) {
        int32_t o = out->dims[i];
        if (o == 1)
            continue;
        int fa = ea[i] == o, fb = eb[i] == o;
        if (k > 0 && (m1[k - 1] != 0) == fa && (m2[k - 1] != 0) == fb) {
            md[k - 1] *= o;
        } else {
            md[k] = o;
            m1[k] = fa ? st1 : 0;
            m2[k] = fb ? st2 : 0;
            k++;
        }
        if (fa)
            st1 *= o;
        if (fb)
            st2 *= o;
    }
    if (bc) {
        /* store outermost first, padded with unit dims in front */
        for (int i = 0; i < HNN_BCAST_DIMS; i++) {
            int src = HNN_BCAST_DIMS - 1 - i;     /* position counted from inside */
            bc->dims[i] = src < k ? md[src] : 1;
            bc->s1[i] = src < k ? m1[src] : 0;
            bc->s2[i] = src < k ? m2[src] : 0;
        }
    }
    return HNN_OK;
}

void hnn_bcast_run(const hnn_bcast *bc, const void *params, hnn_binary_row_fn row,
                   const int8_t *a, const int8_t *b, int8_t *y)
{
    const int32_t *d = bc->dims, *s1 = bc->s1, *s2 = bc->s2;
    size_t o = 0;
    for (int32_t i0 = 0; i0 < d[0]; i0++)
        for (int32_t i1 = 0; i1 < d[1]; i1++)
            for (int32_t i2 = 0; i2 < d[2]; i2++)
                for (int32_t i3 = 0; i3 < d[3]; i3++)
                    for (int32_t i4 = 0; i4 < d[4]; i4++) {
                        size_t pa = (size_t)i0 * s1[0] + (size_t)i1 * s1[1] +
                                    (size_t)i2 * s1[2] + (size_t)i3 * s1[3] +
                                    (size_t)i4 * s1[4];
                        size_t pb = (size_t)i0 * s2[0] + (size_t)i1 * s2[1] +
                                    (size_t)i2 * s2[2] + (size_t)i3 * s2[3] +
                                    (size_t)i4 * s2[4];
                        row(params, a + pa, s1[5], b + pb, s2[5], y + o, d[5]);
                        o += (size_t)d[5];
                    }
}
