/*
 * split_v.c - SPLIT_V of any tensor type, by bytes.
 *
 * TFLM's micro kernel takes the split sizes from the output shapes and only
 * requires a constant axis. Here the constant size_splits (int32 or int64,
 * at most one -1) is also checked against those shapes, so a malformed model
 * is refused instead of being split by whatever its outputs claim.
 */
#include "../kernel.h"
#include <string.h>

typedef struct {
    int32_t outer;          /* product of the dims before the axis */
    int32_t n;              /* outputs */
    int32_t in_row;         /* bytes of one input row */
    int32_t row[];          /* bytes of each output per outer step */
} split_data;

static int64_t split_at(const hnn_tinfo *s, int32_t i)
{
    if (s->type == HNN_INT64) {
        int64_t v;
        memcpy(&v, (const uint8_t *)s->const_data + 8 * i, 8);
        return v;
    }
    int32_t v;
    memcpy(&v, (const uint8_t *)s->const_data + 4 * i, 4);
    return v;
}

static int split_prepare(hnn_ctx *c)
{
    hnn_tinfo in, sz, ax, out;
    int rc;
    HNN_CHECK(c, c->n_in == 3 && c->n_out >= 1, HNN_E_GRAPH, "SPLIT_V takes 3 inputs, 1+ outputs");
    if ((rc = hnn_in_info(c, 0, &in)) < 0 || (rc = hnn_in_info(c, 1, &sz)) < 0 ||
        (rc = hnn_in_info(c, 2, &ax)) < 0)
        return rc;
    const int es = in.elem_size;
    HNN_CHECK(c, es > 0, HNN_E_UNSUPPORTED_TYPE, "SPLIT_V: unsupported element type");
    HNN_CHECK(c, ax.type == HNN_INT32 && ax.elems == 1, HNN_E_SHAPE, "SPLIT_V: axis must be one int32");
    HNN_CHECK(c, ax.const_data != NULL, HNN_E_UNSUPPORTED_OP, "SPLIT_V: axis must be a constant");
    int32_t axis;
    memcpy(&axis, ax.const_data, 4);
    if (axis < 0)
        axis += in.ndim;
    HNN_CHECK(c, axis >= 0 && axis < in.ndim, HNN_E_SHAPE, "SPLIT_V: axis out of range");
    int32_t num = hnn_opt_i32(&c->opts, 0, 0);
    HNN_CHECK(c, num == 0 || num == c->n_out, HNN_E_GRAPH, "SPLIT_V: num_splits differs from outputs");

    /* size_splits: one entry per output, at most one -1 (the remainder) */
    HNN_CHECK(c, sz.type == HNN_INT32 || sz.type == HNN_INT64, HNN_E_UNSUPPORTED_TYPE,
              "SPLIT_V: size_splits must be int32 or int64");
    HNN_CHECK(c, sz.elems == c->n_out, HNN_E_SHAPE, "SPLIT_V: size_splits length differs from outputs");
    int64_t known = 0;
    int unknown = -1;
    if (sz.const_data) {
        for (int32_t j = 0; j < sz.elems; j++) {
            int64_t v = split_at(&sz, j);
            if (v == -1) {
                HNN_CHECK(c, unknown < 0, HNN_E_SHAPE, "SPLIT_V: more than one -1 in size_splits");
                unknown = j;
            } else {
                HNN_CHECK(c, v >= 0 && v <= in.dims[axis], HNN_E_SHAPE, "SPLIT_V: bad split size");
                known += v;
            }
        }
        HNN_CHECK(c, unknown >= 0 ? known <= in.dims[axis] : known == in.dims[axis], HNN_E_SHAPE,
                  "SPLIT_V: size_splits do not add up to the axis");
    }

    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++)
        outer *= in.dims[i];
    for (int i = axis + 1; i < in.ndim; i++)
        inner *= in.dims[i];
    int64_t axis_sum = 0;
    for (int j = 0; j < c->n_out; j++) {
        if ((rc = hnn_out_info(c, j, &out)) < 0)
            return rc;
        HNN_CHECK(c, out.type == in.type, HNN_E_UNSUPPORTED_TYPE, "SPLIT_V: output type differs from input");
        HNN_CHECK(c, out.ndim == in.ndim, HNN_E_SHAPE, "SPLIT_V: output rank differs from input");
        for (int i = 0; i < in.ndim; i++)
            HNN_CHECK(c, i == axis || out.dims[i] == in.dims[i], HNN_E_SHAPE,
                      "SPLIT_V: output dims differ off the axis");
        if (sz.const_data) {
            int64_t want = j == unknown ? in.dims[axis] - known : split_at(&sz, j);
            HNN_CHECK(c, out.dims[axis] == want, HNN_E_SHAPE, "SPLIT_V: output size differs from size_splits");
        }
        if (out.nq > 0 || in.nq > 0)
            HNN_CHECK(c, hnn_tinfo_same_quant(&in, &out), HNN_E_QUANT,
                      "SPLIT_V: outputs must share the input's quantization");
        axis_sum += out.dims[axis];
        if (c->data)
            ((split_data *)c->data)->row[j] = (int32_t)((int64_t)out.dims[axis] * inner * es);
    }
    HNN_CHECK(c, axis_sum == in.dims[axis], HNN_E_SHAPE, "SPLIT_V: output sizes do not add up to the input");
    c->data_bytes = sizeof(split_data) + (size_t)c->n_out * sizeof(int32_t);
    if (c->data) {
        split_data *d = (split_data *)c->data;
        d->outer = (int32_t)outer;
        d->n = c->n_out;
        d->in_row = (int32_t)((int64_t)in.dims[axis] * inner * es);
    }
    return HNN_OK;
}

static int split_eval(hnn_ctx *c)
{
    const split_data *d = (const split_data *)c->data;
    const uint8_t *x = (const uint8_t *)hnn_in_data(c, 0);
    size_t col = 0;
    for (int32_t j = 0; j < d->n; j++) {
        uint8_t *y = (uint8_t *)hnn_out_data(c, j);
        const size_t row = (size_t)d->row[j];
        if (row) {
            const uint8_t *p = x + col;
            for (int32_t k = 0; k < d->outer; k++, p += d->in_row, y += row)
                memcpy(y, p, row);
        }
        col += row;
    }
    return HNN_OK;
}

const hnn_kernel hnn_k_split_v = {.name = "SPLIT_V", .prepare = split_prepare, .eval = split_eval};
