/*
 * resource.c - streaming state: VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE
 * and CALL_ONCE, with TFLM's semantics (micro_resource_variable.cc): a
 * variable is named by (container, shared_name); its buffer is sized by the
 * first ASSIGN_VARIABLE prepared and filled with that input's int8 zero
 * point; CALL_ONCE runs the init subgraph on the first invoke.
 * These ops reach into the interpreter (resource table, subgraphs).
 */
#include <string.h>

#include "../interp.h"

static int names_match(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

/* The (container, shared_name) of VAR_HANDLE op i of subgraph s. */
static int handle_names(const hnn_model *m, uint32_t s, uint32_t i, const char **container,
                        const char **name)
{
    tfl_table t;
    uint32_t n;
    int rc;
    *container = *name = 0;
    if ((rc = hnn__op_options(m, s, i, &t)) != 0)
        return rc;
    if (!t.pos)
        return HNN_OK;
    if ((rc = tfl_str_field(&m->b, &t, 0, container, &n)) != 0)
        return rc;
    return tfl_str_field(&m->b, &t, 1, name, &n);
}

static int find_resource(const hnn_model *m, const char *container, const char *name)
{
    for (uint32_t r = 0; r < m->n_res; r++)
        /* TFLM: a NULL container matches any container */
        if ((container == 0 || names_match(container, m->res[r].container)) &&
            names_match(name, m->res[r].shared_name))
            return (int)r;
    return -1;
}

/* ---- VAR_HANDLE: register (container, shared_name) as a resource ---- */

static int var_handle_prepare(hnn_ctx *c)
{
    hnn_model *m = c->m;
    const char *container, *name;
    hnn_tinfo out;

    if (c->data)
        return HNN_OK;
    HNN_CHECK(c, c->n_in == 0 && c->n_out == 1, HNN_E_GRAPH, "expects 0 inputs and 1 output");
    if (hnn_out_info(c, 0, &out))
        return HNN_E_GRAPH;
    HNN_CHECK(c, out.type == HNN_RESOURCE, HNN_E_UNSUPPORTED_TYPE, "output must be a resource");
    HNN_CHECK(c, handle_names(m, (uint32_t)c->subgraph, (uint32_t)c->op_index, &container, &name) == 0,
              HNN_E_BAD_OFFSET, "bad VarHandleOptions strings");
    HNN_CHECK(c, name != 0, HNN_E_BAD_MODEL, "variable without a shared_name");
    if (find_resource(m, container, name) >= 0)
        return HNN_OK;
    HNN_CHECK(c, m->n_res < m->max_res, HNN_E_LIMIT, "too many resource variables");
    m->res[m->n_res].container = container;
    m->res[m->n_res].shared_name = name;
    m->n_res++;
    return HNN_OK;
}

static int nothing(hnn_ctx *c)
{
    (void)c;
    return HNN_OK;
}

int hnn__resource_for_op(const hnn_model *m, uint32_t s, uint32_t i)
{
    const hnn_op *op = &m->sub[s].ops[i];
    const char *container, *name;
    if (op->n_in < 1)
        return -1;
    int32_t h = ((const int32_t *)(const void *)(m->b.p + op->in_pos))[0];
    int p = hnn__producer(m, s, h, i);
    if (p < 0 || hnn__op_code(&m->sub[s].ops[p]) != HNN_OP_VAR_HANDLE)
        return -1;
    if (handle_names(m, s, (uint32_t)p, &container, &name) || !name)
        return -1;
    return find_resource(m, container, name);
}

/* The resource behind input 0: produced by a VAR_HANDLE earlier in the same
 * subgraph (handles are not passed between subgraphs in streaming models). */
static int resource_of(hnn_ctx *c, hnn_resource **r)
{
    hnn_tinfo h;
    if (hnn_in_info(c, 0, &h))
        return HNN_E_GRAPH;
    HNN_CHECK(c, h.type == HNN_RESOURCE, HNN_E_UNSUPPORTED_TYPE, "input 0 must be a resource");
    int id = hnn__resource_for_op(c->m, (uint32_t)c->subgraph, (uint32_t)c->op_index);
    HNN_CHECK(c, id >= 0, HNN_E_GRAPH,
              "resource handle does not come from a VAR_HANDLE in this subgraph");
    *r = &c->m->res[id];
    c->data_bytes = sizeof(int32_t);
    if (c->data)
        *(int32_t *)c->data = id;
    return HNN_OK;
}

/* ---- ASSIGN_VARIABLE ----------------------------------------------------- */

static int assign_prepare(hnn_ctx *c)
{
    hnn_resource *r;
    hnn_tinfo v;
    int rc;
    HNN_CHECK(c, c->n_in == 2 && c->n_out == 0, HNN_E_GRAPH, "expects 2 inputs and no outputs");
    if ((rc = resource_of(c, &r)) != 0 || (rc = hnn_in_info(c, 1, &v)) != 0)
        return rc;
    HNN_CHECK(c, v.bytes > 0, HNN_E_SHAPE, "empty value");
    if (r->bytes == 0) {
        r->bytes = (uint32_t)v.bytes;
        r->dflt = (int8_t)v.zero_point;
    }
    HNN_CHECK(c, r->bytes == (uint32_t)v.bytes, HNN_E_SHAPE,
              "value size differs from the variable's size");
    return HNN_OK;
}

static int assign_eval(hnn_ctx *c)
{
    const hnn_resource *r = &c->m->res[*(const int32_t *)c->data];
    const void *src = hnn_in_data(c, 1);
    if (src != r->buf)   /* the producer may write in place (interp.c alias_assigns) */
        memcpy(r->buf, src, r->bytes);
    return HNN_OK;
}

/* ---- READ_VARIABLE ------------------------------------------------------- */

static int read_prepare(hnn_ctx *c)
{
    hnn_resource *r;
    hnn_tinfo o;
    int rc;
    HNN_CHECK(c, c->n_in == 1 && c->n_out == 1, HNN_E_GRAPH, "expects 1 input and 1 output");
    if ((rc = resource_of(c, &r)) != 0 || (rc = hnn_out_info(c, 0, &o)) != 0)
        return rc;
    /* sizes are fixed by ASSIGN_VARIABLE, possibly later in op order: check
     * in the second pass, when every assign has been seen */
    if (c->data) {
        HNN_CHECK(c, r->bytes != 0, HNN_E_GRAPH, "variable is read but never assigned");
        HNN_CHECK(c, r->bytes == (uint32_t)o.bytes, HNN_E_SHAPE,
                  "output size differs from the variable's size");
    }
    return HNN_OK;
}

static int read_eval(hnn_ctx *c)
{
    const hnn_resource *r = &c->m->res[*(const int32_t *)c->data];
    void *dst = hnn_out_data(c, 0);
    if (dst != r->buf)   /* aliased reads need no copy (interp.c alias_reads) */
        memcpy(dst, r->buf, r->bytes);
    return HNN_OK;
}

/* ---- CALL_ONCE ------------------------------------------------------------ */

typedef struct {
    uint8_t has_run;     /* first byte: hnn_reset clears it */
    uint8_t pad[3];
    int32_t subgraph;
} call_once_data;

static int call_once_prepare(hnn_ctx *c)
{
    int32_t idx = hnn_opt_i32(&c->opts, 0, 0);
    HNN_CHECK(c, c->n_in == 0 && c->n_out == 0, HNN_E_GRAPH, "expects no inputs or outputs");
    HNN_CHECK(c, c->subgraph == 0, HNN_E_GRAPH, "only the main subgraph may CALL_ONCE");
    HNN_CHECK(c, idx > 0 && (uint32_t)idx < c->m->n_sub, HNN_E_GRAPH,
              "init_subgraph_index out of range");
    c->data_bytes = sizeof(call_once_data);
    if (c->data)
        ((call_once_data *)c->data)->subgraph = idx;
    return HNN_OK;
}

static int call_once_eval(hnn_ctx *c)
{
    call_once_data *d = (call_once_data *)c->data;
    if (d->has_run)
        return HNN_OK;
    int rc = hnn__run_subgraph(c->m, (uint32_t)d->subgraph);
    if (rc == HNN_OK)
        d->has_run = 1;
    return rc;
}

const hnn_kernel hnn_k_var_handle = {"VAR_HANDLE", var_handle_prepare, nothing};
const hnn_kernel hnn_k_assign_variable = {"ASSIGN_VARIABLE", assign_prepare, assign_eval};
const hnn_kernel hnn_k_read_variable = {"READ_VARIABLE", read_prepare, read_eval};
const hnn_kernel hnn_k_call_once = {"CALL_ONCE", call_once_prepare, call_once_eval};
