/*
 * strided_slice.c - STRIDED_SLICE of any tensor type, by bytes.
 *
 * Semantics are TensorFlow's (tf.strided_slice), as TFLite Micro and LiteRT
 * implement them: negative indices wrap once, then clamp to [0, dim] (stride
 * > 0) or [-1, dim - 1] (stride < 0); begin/end masks take the whole range;
 * shrink_axis takes index begin and drops the axis. Beyond what the
 * tflite-micro runtime runs (rank <= 4, masks ellipsis/new_axis ignored,
 * `offset` ignored), this also implements - as LiteRT does - rank 5-6,
 * ellipsis_mask, new_axis_mask, a spec shorter than the rank (implicit
 * trailing ellipsis) and `offset` (end = begin + end). For every model TFLM
 * accepts without those features, the result is the same byte for byte.
 *
 * Refused: non-constant begin/end/strides (TFLM refuses them too), a zero
 * stride, and shrinking an axis at an index outside it or with a negative
 * stride (TFLM would leave the output unwritten).
 *
 * Speed: trailing dims that are copied whole fold into one contiguous
 * block, so a typical slice is a handful of memcpy calls.
 */
#include "../kernel.h"
#include <stddef.h>
#include <string.h>

#define SS_MAX_SPEC 16      /* entries in begin/end/strides */

/* Op data is sized to the loops actually needed (it counts in the arena):
 * dims of extent 1 are dropped, and the typical streaming slice is a
 * single block copy with no loop at all. */
typedef struct {
    int32_t base;                   /* byte offset of the first element */
    int32_t block;                  /* contiguous bytes copied per step */
    int32_t nloop;                  /* loop dims (outermost first) */
    int32_t loop[2 * HNN_MAX_DIMS]; /* count, bytes between iterations; nloop pairs stored */
} ss_data;

#define SS_COUNT(d, k) ((d)->loop[2 * (k)])
#define SS_STEP(d, k) ((d)->loop[2 * (k) + 1])

static int32_t rd32(const void *p, int i)
{
    int32_t v;
    memcpy(&v, (const uint8_t *)p + 4 * i, 4);
    return v;
}

static int32_t clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static int spec_info(hnn_ctx *c, int i, hnn_tinfo *t, int32_t m)
{
    int rc = hnn_in_info(c, i, t);
    if (rc < 0)
        return rc;
    HNN_CHECK(c, t->type == HNN_INT32 && t->ndim == 1, HNN_E_UNSUPPORTED_TYPE,
              "STRIDED_SLICE: begin/end/strides must be 1-D int32");
    HNN_CHECK(c, t->const_data != NULL, HNN_E_UNSUPPORTED_OP,
              "STRIDED_SLICE: begin/end/strides must be constants");
    HNN_CHECK(c, m < 0 || t->elems == m, HNN_E_SHAPE,
              "STRIDED_SLICE: begin/end/strides lengths differ");
    return HNN_OK;
}

static int ss_prepare(hnn_ctx *c)
{
    hnn_tinfo in, bt, et, st, out;
    int rc;
    HNN_CHECK(c, c->n_in == 4 && c->n_out == 1, HNN_E_GRAPH, "STRIDED_SLICE takes 4 inputs, 1 output");
    if ((rc = hnn_in_info(c, 0, &in)) < 0 || (rc = hnn_out_info(c, 0, &out)) < 0)
        return rc;
    if ((rc = spec_info(c, 1, &bt, -1)) < 0 || (rc = spec_info(c, 2, &et, bt.elems)) < 0 ||
        (rc = spec_info(c, 3, &st, bt.elems)) < 0)
        return rc;
    const int es = in.elem_size;
    HNN_CHECK(c, es > 0, HNN_E_UNSUPPORTED_TYPE, "STRIDED_SLICE: unsupported element type");
    HNN_CHECK(c, out.type == in.type, HNN_E_UNSUPPORTED_TYPE, "STRIDED_SLICE: output type differs from input");
    HNN_CHECK(c, in.ndim >= 1, HNN_E_SHAPE, "STRIDED_SLICE: scalar input");
    if (in.nq > 0 || out.nq > 0)
        HNN_CHECK(c, in.nq == out.nq && in.scale == out.scale && in.zero_point == out.zero_point,
                  HNN_E_QUANT, "STRIDED_SLICE: output quantization differs from input");
    const int32_t m = bt.elems;
    HNN_CHECK(c, m >= 1 && m <= SS_MAX_SPEC, HNN_E_LIMIT, "STRIDED_SLICE: 1 to 16 index entries");
    const uint32_t bmask = (uint32_t)hnn_opt_i32(&c->opts, 0, 0);
    const uint32_t emask = (uint32_t)hnn_opt_i32(&c->opts, 1, 0);
    uint32_t ellipsis = (uint32_t)hnn_opt_i32(&c->opts, 2, 0);
    const uint32_t newax = (uint32_t)hnn_opt_i32(&c->opts, 3, 0);
    const uint32_t shrink = (uint32_t)hnn_opt_i32(&c->opts, 4, 0);
    const int offset = hnn_opt_u8(&c->opts, 5, 0) != 0;
    const uint32_t valid = m >= 32 ? 0xffffffffu : (1u << m) - 1u;
    ellipsis &= valid;
    HNN_CHECK(c, (ellipsis & (ellipsis - 1)) == 0, HNN_E_SHAPE, "STRIDED_SLICE: more than one ellipsis");

    /* Sparse spec -> one entry per input dim (TF's BuildDenseSpec). Without
     * an ellipsis there is an implicit one after the last entry. */
    int32_t spec_len = m, consumed = 0, new_after = 0;
    int seen_ell = 0;
    for (int32_t i = 0; i < m; i++) {
        if (ellipsis & (1u << i))
            seen_ell = 1;
        else if (newax & (1u << i))
            new_after += seen_ell;
        else
            consumed++;
    }
    if (!ellipsis) {
        ellipsis = 1u << m;
        spec_len = m + 1;
        new_after = 0;
    }
    HNN_CHECK(c, consumed <= in.ndim, HNN_E_SHAPE, "STRIDED_SLICE: more indices than input dims");
    int32_t start[HNN_MAX_DIMS], count[HNN_MAX_DIMS], stride[HNN_MAX_DIMS];
    int32_t oshape[2 * HNN_MAX_DIMS + SS_MAX_SPEC];
    int on = 0, full = 0;
    for (int32_t i = 0; i < spec_len; i++) {
        if (ellipsis & (1u << i)) {
            /* whole dims up to where the remaining entries start */
            int32_t next = in.ndim - (spec_len - i) + 1 + new_after;
            if (next > in.ndim)
                next = in.ndim;
            for (; full < next; full++) {
                start[full] = 0;
                count[full] = in.dims[full];
                stride[full] = 1;
                oshape[on++] = in.dims[full];
            }
            continue;
        }
        if (newax & (1u << i)) {
            oshape[on++] = 1;
            continue;
        }
        HNN_CHECK(c, full < in.ndim, HNN_E_SHAPE, "STRIDED_SLICE: more indices than input dims");
        const int32_t dim = in.dims[full];
        const int32_t s = rd32(st.const_data, i);
        HNN_CHECK(c, s != 0, HNN_E_SHAPE, "STRIDED_SLICE: stride must be non-zero");
        int32_t b = rd32(bt.const_data, i);
        int32_t e = rd32(et.const_data, i);
        if (shrink & (1u << i)) {
            /* TFLM applies begin_mask before shrinking: index 0 */
            if (bmask & (1u << i))
                b = 0;
            if (b < 0)
                b += dim;
            HNN_CHECK(c, b >= 0 && b < dim && s > 0, HNN_E_SHAPE,
                      "STRIDED_SLICE: shrink index out of range (or negative stride)");
            start[full] = b;
            count[full] = 1;
            stride[full] = 1;
            full++;
            continue;
        }
        /* StartForAxis / EndForAxis */
        if (bmask & (1u << i)) {
            b = s > 0 ? 0 : dim - 1;
        } else {
            if (b < 0)
                b += dim;
            b = s > 0 ? clamp(b, 0, dim) : clamp(b, -1, dim - 1);
        }
        if (emask & (1u << i)) {
            e = s > 0 ? dim : -1;
        } else {
            if (offset)
                e = (int32_t)((int64_t)e + b > INT32_MAX ? INT32_MAX : (int64_t)e + b < INT32_MIN ? INT32_MIN : e + b);
            if (e < 0)
                e += dim;
            e = s > 0 ? clamp(e, 0, dim) : clamp(e, -1, dim - 1);
        }
        /* ceil((e - b) / s), at least 0 */
        int64_t span = (int64_t)e - b;
        int64_t n = s > 0 ? (span + s - 1) / s : (-span + (-(int64_t)s) - 1) / (-(int64_t)s);
        if (n < 0)
            n = 0;
        start[full] = b;
        count[full] = (int32_t)n;
        stride[full] = s;
        oshape[on++] = (int32_t)n;
        full++;
    }
    HNN_CHECK(c, full == in.ndim, HNN_E_SHAPE, "STRIDED_SLICE: indices do not cover the input");
    HNN_CHECK(c, on == out.ndim, HNN_E_SHAPE, "STRIDED_SLICE: output rank does not match the slice");
    for (int k = 0; k < on; k++)
        HNN_CHECK(c, oshape[k] == out.dims[k], HNN_E_SHAPE, "STRIDED_SLICE: output shape does not match the slice");

    /* bytes between neighbours along each input dim */
    int64_t istride[HNN_MAX_DIMS];
    int64_t acc = es;
    for (int k = in.ndim - 1; k >= 0; k--) {
        istride[k] = acc;
        acc *= in.dims[k];
    }
    ss_data d;
    memset(&d, 0, sizeof d);
    int64_t base = 0, total = 1;
    for (int k = 0; k < in.ndim; k++) {
        total *= count[k];
        if (count[k] > 0)
            base += (int64_t)start[k] * istride[k];
    }
    /* fold trailing whole dims, then one unit-stride dim, into the block */
    int k = in.ndim - 1;
    int64_t block = es;
    while (k >= 0 && start[k] == 0 && stride[k] == 1 && count[k] == in.dims[k]) {
        block *= in.dims[k];
        k--;
    }
    if (k >= 0 && stride[k] == 1) {
        block *= count[k];
        k--;
    }
    d.nloop = 0;
    for (int j = 0; j <= k; j++) {
        if (count[j] == 1)
            continue;     /* one iteration: nothing to loop over */
        SS_COUNT(&d, d.nloop) = count[j];
        SS_STEP(&d, d.nloop) = (int32_t)(stride[j] * istride[j]);
        d.nloop++;
    }
    if (total == 0) {
        d.nloop = 1;      /* nothing to copy */
        SS_COUNT(&d, 0) = 0;
        SS_STEP(&d, 0) = 0;
    }
    d.base = (int32_t)base;
    d.block = (int32_t)block;
    c->data_bytes = offsetof(ss_data, loop) + (size_t)d.nloop * 2 * sizeof(int32_t);
    if (c->data)
        memcpy(c->data, &d, c->data_bytes);
    return HNN_OK;
}

static int ss_eval(hnn_ctx *c)
{
    const ss_data *d = (const ss_data *)c->data;
    const uint8_t *x = (const uint8_t *)hnn_in_data(c, 0) + d->base;
    uint8_t *y = (uint8_t *)hnn_out_data(c, 0);
    const size_t block = (size_t)d->block;
    if (d->nloop == 0) {
        memcpy(y, x, block);
        return HNN_OK;
    }
    const int last = d->nloop - 1;
    const int32_t n = SS_COUNT(d, last), step = SS_STEP(d, last);
    int32_t idx[HNN_MAX_DIMS] = {0};
    if (n == 0)
        return HNN_OK;
    for (;;) {
        /* innermost loop dim: strided blocks */
        const uint8_t *p = x;
        if (block == 1) {
            for (int32_t i = 0; i < n; i++, p += step)
                y[i] = *p;
        } else {
            for (int32_t i = 0; i < n; i++, p += step)
                memcpy(y + (size_t)i * block, p, block);
        }
        y += (size_t)n * block;
        /* odometer over the outer loop dims */
        int k = last - 1;
        for (; k >= 0; k--) {
            x += SS_STEP(d, k);
            if (++idx[k] < SS_COUNT(d, k))
                break;
            x -= (int64_t)SS_STEP(d, k) * SS_COUNT(d, k);
            idx[k] = 0;
        }
        if (k < 0)
            return HNN_OK;
    }
}

const hnn_kernel hnn_k_strided_slice = {.name = "STRIDED_SLICE", .prepare = ss_prepare,
                                        .eval = ss_eval};
