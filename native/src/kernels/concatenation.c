/*
 * concatenation.c - CONCATENATION of any tensor type, by bytes.
 *
 * TFLM's micro kernel copies raw elements (reference_ops::Concatenation);
 * for int8 it stores the scales but never rescales, so inputs whose
 * quantization differs from the output's would come out silently wrong:
 * that is refused here, as is a fused activation (TFLM requires NONE).
 * The axis may be negative (counted from the output's rank).
 */
#include "../kernel.h"
#include <string.h>

typedef struct {
    int32_t outer;          /* product of the dims before the axis */
    int32_t n;              /* inputs */
    int32_t out_row;        /* bytes of one output row (all inputs) */
    int32_t row[];          /* bytes each input contributes per outer step */
} cat_data;

static int cat_prepare(hnn_ctx *c)
{
    hnn_tinfo out, in;
    int rc;
    HNN_CHECK(c, c->n_in >= 1 && c->n_out == 1, HNN_E_GRAPH,
              "CONCATENATION takes 1+ inputs, 1 output");
    if ((rc = hnn_out_info(c, 0, &out)) < 0)
        return rc;
    const int es = out.elem_size;
    HNN_CHECK(c, es > 0, HNN_E_UNSUPPORTED_TYPE, "CONCATENATION: unsupported element type");
    HNN_CHECK(c, hnn_opt_u8(&c->opts, 1, HNN_ACT_NONE) == HNN_ACT_NONE, HNN_E_UNSUPPORTED_OP,
              "CONCATENATION: fused activation must be NONE");
    int32_t axis = hnn_opt_i32(&c->opts, 0, 0);
    if (axis < 0)
        axis += out.ndim;
    HNN_CHECK(c, axis >= 0 && axis < out.ndim, HNN_E_SHAPE, "CONCATENATION: axis out of range");
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++)
        outer *= out.dims[i];
    for (int i = axis + 1; i < out.ndim; i++)
        inner *= out.dims[i];
    int64_t axis_sum = 0;
    for (int j = 0; j < c->n_in; j++) {
        if ((rc = hnn_in_info(c, j, &in)) < 0)
            return rc;
        HNN_CHECK(c, in.type == out.type, HNN_E_UNSUPPORTED_TYPE,
                  "CONCATENATION: input type differs from output");
        HNN_CHECK(c, in.ndim == out.ndim, HNN_E_SHAPE, "CONCATENATION: input rank differs from output");
        for (int i = 0; i < out.ndim; i++)
            HNN_CHECK(c, i == axis || in.dims[i] == out.dims[i], HNN_E_SHAPE,
                      "CONCATENATION: input dims differ off the axis");
        if (out.nq > 0 || in.nq > 0)
            HNN_CHECK(c, hnn_tinfo_same_quant(&in, &out), HNN_E_QUANT,
                      "CONCATENATION: inputs must share the output's quantization");
        axis_sum += in.dims[axis];
        if (c->data) {
            cat_data *d = (cat_data *)c->data;
            d->row[j] = (int32_t)((int64_t)in.dims[axis] * inner * es);
        }
    }
    HNN_CHECK(c, axis_sum == out.dims[axis], HNN_E_SHAPE,
              "CONCATENATION: input sizes along the axis do not add up");
    c->data_bytes = sizeof(cat_data) + (size_t)c->n_in * sizeof(int32_t);
    if (c->data) {
        cat_data *d = (cat_data *)c->data;
        d->outer = (int32_t)outer;
        d->n = c->n_in;
        d->out_row = (int32_t)((int64_t)out.dims[axis] * inner * es);
    }
    return HNN_OK;
}

static int cat_eval(hnn_ctx *c)
{
    const cat_data *d = (const cat_data *)c->data;
    uint8_t *y = (uint8_t *)hnn_out_data(c, 0);
    size_t col = 0;
    for (int32_t j = 0; j < d->n; j++) {
        const uint8_t *x = (const uint8_t *)hnn_in_data(c, j);
        const size_t row = (size_t)d->row[j];
        if (row) {
            uint8_t *o = y + col;
            for (int32_t k = 0; k < d->outer; k++, x += row, o += d->out_row)
                memcpy(o, x, row);
        }
        col += row;
    }
    return HNN_OK;
}

const hnn_kernel hnn_k_concatenation = {.name = "CONCATENATION", .prepare = cat_prepare,
                                        .eval = cat_eval};
