/*
 * resource.c - streaming state: VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE
 * and CALL_ONCE, with TFLM's semantics (micro_resource_variable.cc): a
 * variable is named by (container, shared_name); its buffer is sized by the
 * first ASSIGN_VARIABLE prepared and filled with that input's int8 zero
 * point; CALL_ONCE runs the init subgraph on the first invoke.
 *
 * Everything about variables lives here; the interpreter only calls the
 * kernels' hooks (kernel.h): prepare registers names and sizes in the
 * variable table (the model's opaque `vars` slot), place allocates the
 * buffers and lets reads and assigns use them in place, reset restores the
 * initial values. These ops walk the graph, so they use interp.h.
 */
#include <string.h>

#include "../interp.h"

typedef struct {
    const char *container;   /* may be NULL (names live in the model) */
    const char *shared_name;
    uint8_t *buf;
    uint32_t bytes;
    int8_t dflt;             /* reset value (int8 zero point, as TFLM) */
} variable;

/* Allocated by the first VAR_HANDLE prepared, one entry per VAR_HANDLE op
 * of the model (an upper bound on distinct names). */
typedef struct {
    uint32_t n, max;
    variable v[];
} var_table;

static var_table *table_of(const hnn_model *m)
{
    return (var_table *)m->vars;
}

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

static int find_variable(const hnn_model *m, const char *container, const char *name)
{
    const var_table *vt = table_of(m);
    for (uint32_t r = 0; vt && r < vt->n; r++)
        /* TFLM: a NULL container matches any container */
        if ((container == 0 || names_match(container, vt->v[r].container)) &&
            names_match(name, vt->v[r].shared_name))
            return (int)r;
    return -1;
}

/* The variable VAR_HANDLE op i of subgraph s names, or -1. */
static int variable_of_handle(const hnn_model *m, uint32_t s, uint32_t i)
{
    const char *container, *name;
    if (handle_names(m, s, i, &container, &name) || !name)
        return -1;
    return find_variable(m, container, name);
}

/* The variable READ/ASSIGN_VARIABLE op i of subgraph s uses (its input 0
 * comes from a VAR_HANDLE earlier in the subgraph), or -1. */
static int variable_of_op(const hnn_model *m, uint32_t s, uint32_t i)
{
    const hnn_op *op = &m->sub[s].ops[i];
    if (op->n_in < 1)
        return -1;
    int32_t h = ((const int32_t *)(const void *)(m->b.p + op->in_pos))[0];
    int p = hnn__producer(m, s, h, i);
    if (p < 0 || hnn__op_code(&m->sub[s].ops[p]) != HNN_OP_VAR_HANDLE)
        return -1;
    return variable_of_handle(m, s, (uint32_t)p);
}

static const int32_t *op_inputs(const hnn_model *m, const hnn_op *op)
{
    return (const int32_t *)(const void *)(m->b.p + op->in_pos);
}

static int op_reads(const hnn_model *m, const hnn_op *op, int32_t t)
{
    const int32_t *in = op_inputs(m, op);
    for (uint32_t k = 0; k < op->n_in; k++)
        if (in[k] == t)
            return 1;
    return 0;
}

static int is_subgraph_output(const hnn_model *m, const hnn_subgraph *g, int32_t t)
{
    for (uint32_t k = 0; k < g->outputs.n; k++)
        if (tfl_vec_i32(&m->b, &g->outputs, k) == t)
            return 1;
    return 0;
}

/* ---- VAR_HANDLE: register (container, shared_name) as a variable ---- */

static int make_table(hnn_ctx *c)
{
    hnn_model *m = c->m;
    uint32_t handles = 0;
    for (uint32_t s = 0; s < m->n_sub; s++)
        for (uint32_t i = 0; i < m->sub[s].n_ops; i++)
            if (hnn__op_code(&m->sub[s].ops[i]) == HNN_OP_VAR_HANDLE)
                handles++;
    HNN_CHECK(c, handles <= HNN_MAX_RESOURCES, HNN_E_LIMIT, "too many resource variables");
    var_table *vt = hnn_persist(c, sizeof(var_table) + sizeof(variable) * handles);
    if (!vt)
        return HNN_E_ARENA;
    vt->max = handles;
    m->vars = vt;
    return HNN_OK;
}

static int var_handle_prepare(hnn_ctx *c)
{
    hnn_model *m = c->m;
    const char *container, *name;
    hnn_tinfo out;
    int rc;

    if (c->data)
        return HNN_OK;
    HNN_CHECK(c, c->n_in == 0 && c->n_out == 1, HNN_E_GRAPH, "expects 0 inputs and 1 output");
    if (hnn_out_info(c, 0, &out))
        return HNN_E_GRAPH;
    HNN_CHECK(c, out.type == HNN_RESOURCE, HNN_E_UNSUPPORTED_TYPE, "output must be a resource");
    HNN_CHECK(c, handle_names(m, (uint32_t)c->subgraph, (uint32_t)c->op_index, &container, &name) == 0,
              HNN_E_BAD_OFFSET, "bad VarHandleOptions strings");
    HNN_CHECK(c, name != 0, HNN_E_BAD_MODEL, "variable without a shared_name");
    if (!m->vars && (rc = make_table(c)) != 0)
        return rc;
    if (find_variable(m, container, name) >= 0)
        return HNN_OK;
    var_table *vt = table_of(m);
    HNN_CHECK(c, vt->n < vt->max, HNN_E_LIMIT, "too many resource variables");
    vt->v[vt->n].container = container;
    vt->v[vt->n].shared_name = name;
    vt->n++;
    return HNN_OK;
}

/* The first VAR_HANDLE of each variable allocates its buffer (sized by the
 * assigns prepared meanwhile; a variable never assigned has none). */
static int var_handle_place(hnn_ctx *c)
{
    int id = variable_of_handle(c->m, (uint32_t)c->subgraph, (uint32_t)c->op_index);
    if (id < 0)
        return HNN_OK;
    variable *v = &table_of(c->m)->v[id];
    if (v->buf || !v->bytes)
        return HNN_OK;
    v->buf = hnn_persist(c, v->bytes);
    return v->buf ? HNN_OK : HNN_E_ARENA;
}

static void var_handle_reset(hnn_ctx *c)
{
    int id = variable_of_handle(c->m, (uint32_t)c->subgraph, (uint32_t)c->op_index);
    if (id < 0)
        return;
    const variable *v = &table_of(c->m)->v[id];
    if (v->buf)
        memset(v->buf, v->dflt, v->bytes);
}

static int nothing(hnn_ctx *c)
{
    (void)c;
    return HNN_OK;
}

/* The variable behind input 0: produced by a VAR_HANDLE earlier in the same
 * subgraph (handles are not passed between subgraphs in streaming models). */
static int variable_input(hnn_ctx *c, variable **v)
{
    hnn_tinfo h;
    if (hnn_in_info(c, 0, &h))
        return HNN_E_GRAPH;
    HNN_CHECK(c, h.type == HNN_RESOURCE, HNN_E_UNSUPPORTED_TYPE, "input 0 must be a resource");
    int id = variable_of_op(c->m, (uint32_t)c->subgraph, (uint32_t)c->op_index);
    HNN_CHECK(c, id >= 0, HNN_E_GRAPH,
              "resource handle does not come from a VAR_HANDLE in this subgraph");
    *v = &table_of(c->m)->v[id];
    c->data_bytes = sizeof(int32_t);
    if (c->data)
        *(int32_t *)c->data = id;
    return HNN_OK;
}

static const variable *variable_at_eval(const hnn_ctx *c)
{
    return &table_of(c->m)->v[*(const int32_t *)c->data];
}

/* ---- ASSIGN_VARIABLE ----------------------------------------------------- */

static int assign_prepare(hnn_ctx *c)
{
    variable *r;
    hnn_tinfo v;
    int rc;
    HNN_CHECK(c, c->n_in == 2 && c->n_out == 0, HNN_E_GRAPH, "expects 2 inputs and no outputs");
    if ((rc = variable_input(c, &r)) != 0 || (rc = hnn_in_info(c, 1, &v)) != 0)
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

/* The variable whose buffer op c may alias a tensor to, and its arena
 * offset; -1 when there is none or HNN_PRESERVE_ALL keeps every tensor. */
static int alias_target(const hnn_ctx *c, uint32_t *off)
{
    const hnn_model *m = c->m;
    int id = variable_of_op(m, (uint32_t)c->subgraph, (uint32_t)c->op_index);
    if ((m->flags & HNN_PRESERVE_ALL) || id < 0 || !table_of(m)->v[id].buf)
        return -1;
    *off = (uint32_t)(table_of(m)->v[id].buf - m->arena);
    return id;
}

/* The op that computes a variable's next value (typically the STRIDED_SLICE
 * before ASSIGN_VARIABLE) can write straight into the variable when nothing
 * between it and the assign still needs the old value. */
static int assign_place(hnn_ctx *c)
{
    hnn_model *m = c->m;
    uint32_t s = (uint32_t)c->subgraph, a = (uint32_t)c->op_index;
    hnn_subgraph *g = &m->sub[s];
    uint32_t roff;
    int id = alias_target(c, &roff);
    if (id < 0)
        return HNN_OK;
    int32_t v = c->in[1];
    int p = v < 0 || g->toff[v] ? -1 : hnn__producer(m, s, v, a);
    int safe = p >= 0 && !is_subgraph_output(m, g, v);
    /* v must have no reader but the assign */
    for (uint32_t j = (uint32_t)(p + 1); j < g->n_ops && safe; j++)
        if (j != a && op_reads(m, &g->ops[j], v))
            safe = 0;
    /* nothing from the producer up to the assign may read the variable */
    for (uint32_t j = (uint32_t)p; j < a && safe; j++) {
        int32_t code = hnn__op_code(&g->ops[j]);
        const int32_t *in = op_inputs(m, &g->ops[j]);
        if (code == HNN_OP_CALL_ONCE ||
            (code == HNN_OP_READ_VARIABLE && variable_of_op(m, s, j) == id))
            safe = 0;
        for (uint32_t k = 0; k < g->ops[j].n_in && safe; k++)
            if (in[k] >= 0 && g->toff[in[k]] == roff)
                safe = 0;
    }
    if (safe)
        g->toff[v] = roff;
    return HNN_OK;
}

static int assign_eval(hnn_ctx *c)
{
    const variable *r = variable_at_eval(c);
    const void *src = hnn_in_data(c, 1);
    if (src != r->buf)   /* the producer may write in place (assign_place) */
        memcpy(r->buf, src, r->bytes);
    return HNN_OK;
}

/* ---- READ_VARIABLE ------------------------------------------------------- */

static int read_prepare(hnn_ctx *c)
{
    variable *r;
    hnn_tinfo o;
    int rc;
    HNN_CHECK(c, c->n_in == 1 && c->n_out == 1, HNN_E_GRAPH, "expects 1 input and 1 output");
    if ((rc = variable_input(c, &r)) != 0 || (rc = hnn_out_info(c, 0, &o)) != 0)
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

/* READ_VARIABLE copies a variable into a tensor that is read a few ops
 * later. When no op can change the variable before the last reader of that
 * tensor, the tensor can simply be the variable's buffer: no copy, no
 * activation bytes. (Not in HNN_PRESERVE_ALL mode, where the tensor must
 * keep the value as read for inspection.) */
static int read_place(hnn_ctx *c)
{
    hnn_model *m = c->m;
    uint32_t s = (uint32_t)c->subgraph, i = (uint32_t)c->op_index;
    hnn_subgraph *g = &m->sub[s];
    uint32_t roff;
    int id = alias_target(c, &roff);
    if (id < 0)
        return HNN_OK;
    int32_t o = c->out[0];
    int safe = !g->toff[o] && !is_subgraph_output(m, g, o);
    uint32_t last = i;
    for (uint32_t j = i + 1; j < g->n_ops && safe; j++)
        if (op_reads(m, &g->ops[j], o))
            last = j;
    for (uint32_t j = i + 1; j <= last && safe; j++) {
        int32_t code = hnn__op_code(&g->ops[j]);
        if (code == HNN_OP_CALL_ONCE ||
            (code == HNN_OP_ASSIGN_VARIABLE && variable_of_op(m, s, j) == id))
            safe = 0;
    }
    if (safe)
        g->toff[o] = roff;
    return HNN_OK;
}

static int read_eval(hnn_ctx *c)
{
    const variable *r = variable_at_eval(c);
    void *dst = hnn_out_data(c, 0);
    if (dst != r->buf)   /* aliased reads need no copy (read_place) */
        memcpy(dst, r->buf, r->bytes);
    return HNN_OK;
}

/* ---- CALL_ONCE ------------------------------------------------------------ */

typedef struct {
    uint8_t has_run;     /* cleared by reset */
    uint8_t pad[3];
    int32_t subgraph;
} call_once_data;

static int call_once_prepare(hnn_ctx *c)
{
    int32_t idx = hnn_opt_i32(&c->opts, 0, 0);
    HNN_CHECK(c, c->n_in == 0 && c->n_out == 0, HNN_E_GRAPH, "expects no inputs or outputs");
    HNN_CHECK(c, c->subgraph == 0, HNN_E_GRAPH, "only the main subgraph may CALL_ONCE");
    HNN_CHECK(c, idx > 0 && idx < hnn_num_subgraphs(c), HNN_E_GRAPH,
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
    int rc = hnn_run_subgraph(c, d->subgraph);
    if (rc == HNN_OK)
        d->has_run = 1;
    return rc;
}

static void call_once_reset(hnn_ctx *c)
{
    if (c->data)
        ((call_once_data *)c->data)->has_run = 0;
}

const hnn_kernel hnn_k_var_handle = {.name = "VAR_HANDLE", .prepare = var_handle_prepare,
                                     .eval = nothing, .place = var_handle_place,
                                     .reset = var_handle_reset};
const hnn_kernel hnn_k_assign_variable = {.name = "ASSIGN_VARIABLE", .prepare = assign_prepare,
                                          .eval = assign_eval, .place = assign_place};
const hnn_kernel hnn_k_read_variable = {.name = "READ_VARIABLE", .prepare = read_prepare,
                                        .eval = read_eval, .place = read_place};
const hnn_kernel hnn_k_call_once = {.name = "CALL_ONCE", .prepare = call_once_prepare,
                                    .eval = call_once_eval, .reset = call_once_reset};
