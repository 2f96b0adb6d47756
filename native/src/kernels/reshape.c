/*
 * reshape.c - RESHAPE: same bytes, new shape. The output shape is fixed in
 * the model, so the optional shape input is not consulted at run time.
 */
#include <string.h>

#include "../kernel.h"

static int reshape_prepare(hnn_ctx *c)
{
    hnn_tinfo in, out;
    int rc;
    HNN_CHECK(c, c->n_in >= 1 && c->n_in <= 2 && c->n_out == 1, HNN_E_GRAPH,
              "expects 1-2 inputs and 1 output");
    if ((rc = hnn_in_info(c, 0, &in)) != 0 || (rc = hnn_out_info(c, 0, &out)) != 0)
        return rc;
    HNN_CHECK(c, in.type == out.type, HNN_E_UNSUPPORTED_TYPE, "input and output types differ");
    HNN_CHECK(c, in.bytes == out.bytes, HNN_E_SHAPE, "element counts differ");
    c->data_bytes = 4;
    if (c->data)
        *(int32_t *)c->data = in.bytes;
    return HNN_OK;
}

static int reshape_eval(hnn_ctx *c)
{
    const void *src = hnn_in_data(c, 0);
    void *dst = hnn_out_data(c, 0);
    if (src != dst)
        memcpy(dst, src, (size_t)*(const int32_t *)c->data);
    return HNN_OK;
}

const hnn_kernel hnn_k_reshape = {.name = "RESHAPE", .prepare = reshape_prepare,
                                  .eval = reshape_eval};
