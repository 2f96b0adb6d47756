/*
 * interp.c - load, validate and run a .tflite model in caller memory.
 *
 * Arena layout (low -> high addresses), all 8-byte aligned:
 *   model struct | subgraph structs | tensor pointer tables | op tables |
 *   what ops allocate at prepare (the variable table) | op data |
 *   what ops allocate at place (variable buffers) | variable tensors |
 *   scratch | activation plan (planner.c)
 * The activation plan is computed in the space it will later occupy (the
 * planner's workspace is released before the plan is used), so the bytes
 * needed are persistent + max(plan, workspace): hnn_arena_used().
 */
#include <string.h>

#include "interp.h"
#include "planner.h"
#include "put_text.h"

#define ALIGN8(x) (((x) + 7u) & ~(size_t)7u)
/* Graph-level state an op may keep besides its data (hnn_arena_bytes
 * allowance: one variable-table entry, kernels/resource.c). */
#define HNN_OP_STATE_BOUND 32u

/* ---- failure detail ------------------------------------------------------ */

/* A failure is recorded as pointers (static text, op names, a custom op's
 * name inside the model) in the model's own struct, and formatted only when
 * asked for: nothing global, nothing to format on the error path. */
static void record(const hnn_model *m, int subgraph, int op, const char *opname, const char *msg)
{
    if (!m)
        return;   /* hnn_arena_bytes: no memory to keep it in */
    hnn_why *w = (hnn_why *)(uintptr_t)&m->why;   /* the arena is never const */
    w->subgraph = subgraph;
    w->op = op;
    w->opname = opname;
    w->msg = msg;
}

void hnn__detail(const hnn_model *m, int subgraph, int op, const char *opname, const char *msg)
{
    record(m, subgraph, op, opname, msg);
}

static int fail(const hnn_model *m, int err, const char *msg)
{
    record(m, -1, -1, 0, msg);
    return err;
}

int hnn__fail(const hnn_model *m, int err, const char *msg)
{
    return fail(m, err, msg);
}

int hnn_fail(hnn_ctx *c, int err, const char *msg)
{
    const hnn_op *op = &c->m->sub[c->subgraph].ops[c->op_index];
    record(c->m, c->subgraph, c->op_index, hnn_op_name(hnn__op_code(op)), msg);
    return err;
}

static size_t put_int(char *buf, size_t n, size_t at, long v)
{
    char tmp[24];
    int k = 0;
    unsigned long u = v < 0 ? 0ul - (unsigned long)v : (unsigned long)v;
    do {
        tmp[k++] = (char)('0' + u % 10);
        u /= 10;
    } while (u && k < 22);
    if (v < 0)
        tmp[k++] = '-';
    char out[24];
    for (int i = 0; i < k; i++)
        out[i] = tmp[k - 1 - i];
    out[k] = 0;
    return hearth_put_text(buf, n, at, out);
}

static int format_why(const hnn_why *w, char *buf, size_t n)
{
    size_t at = 0;
    if (!buf || !n)
        return 0;
    buf[0] = 0;
    if (w && w->op >= 0) {
        at = hearth_put_text(buf, n, at, "subgraph ");
        at = put_int(buf, n, at, w->subgraph);
        at = hearth_put_text(buf, n, at, " op ");
        at = put_int(buf, n, at, w->op);
        at = hearth_put_text(buf, n, at, " ");
        at = hearth_put_text(buf, n, at, w->opname);
        at = hearth_put_text(buf, n, at, ": ");
    }
    if (w)
        at = hearth_put_text(buf, n, at, w->msg);
    return (int)at;
}

int hnn_detail(const hnn_model *m, char *buf, size_t n)
{
    return format_why(m ? &m->why : 0, buf, n);
}

int hnn_init_detail(const void *arena, size_t arena_size, char *buf, size_t n)
{
    static const hnn_why no_arena = {"NULL arena", 0, -1, -1};
    static const hnn_why misaligned = {"arena must be 8-byte aligned", 0, -1, -1};
    static const hnn_why tiny = {"arena too small for the model struct", 0, -1, -1};
    const hnn_why *w = !arena ? &no_arena : ((uintptr_t)arena & 7u) ? &misaligned :
                       arena_size < sizeof(hnn_model) ? &tiny : &((const hnn_model *)arena)->why;
    return format_why(w, buf, n);
}

/* ---- tensor element types -------------------------------------------------- */

static int elem_size(int32_t type)
{
    switch (type) {
    case HNN_FLOAT32: case HNN_INT32: return 4;
    case HNN_UINT8: case HNN_INT8: case HNN_BOOL: return 1;
    case HNN_INT16: return 2;
    case HNN_INT64: return 8;
    case HNN_RESOURCE: return 0;   /* handles carry no data here */
    default: return -1;
    }
}

/* ---- persistent allocation -------------------------------------------------- */

static void *palloc(hnn_model *m, size_t bytes, int *rc)
{
    /* 8-byte alignment, except 4 for allocations of at most 4 bytes (op data
     * of the variable ops): no kernel puts 8-byte types in so little */
    size_t at = bytes <= 4 ? (m->top + 3u) & ~(size_t)3u : ALIGN8(m->top);
    if (*rc)
        return 0;
    if (bytes > m->arena_size || at > m->arena_size - bytes) {
        *rc = fail(m, HNN_E_ARENA, "arena too small");
        return 0;
    }
    m->top = at + (bytes <= 4 ? 4u : ALIGN8(bytes));
    memset(m->arena + at, 0, bytes);
    return m->arena + at;
}

void *hnn_persist(hnn_ctx *c, size_t bytes)
{
    int rc = HNN_OK;
    void *p = palloc(c->m, bytes, &rc);
    if (rc)
        hnn_fail(c, rc, "arena too small");
    return p;
}

/* ---- tensor info ------------------------------------------------------------ */

static int tensor_table(const hnn_model *m, uint32_t s, int32_t t, tfl_table *tt)
{
    if (s >= m->n_sub || t < 0 || (uint32_t)t >= m->sub[s].n_tensors)
        return HNN_E_GRAPH;
    return tfl_vec_table(&m->b, &m->sub[s].tensors, (uint32_t)t, tt);
}

/* Read and validate one Tensor table. */
static int read_tinfo(const hnn_model *m, uint32_t s, int32_t t, hnn_tinfo *ti)
{
    const tfl_buf *b = &m->b;
    tfl_table tt, q;
    tfl_vec shape, scales, zps, data;
    uint8_t type, isvar;
    uint32_t buffer;
    int rc;

    memset(ti, 0, sizeof *ti);
    if ((rc = tensor_table(m, s, t, &tt)) != 0)
        return rc;
    if ((rc = tfl_vec_field(b, &tt, 0, 4, 4, &shape)) != 0 ||
        (rc = tfl_u8(b, &tt, 1, 0, &type)) != 0 ||
        (rc = tfl_u32(b, &tt, 2, 0, &buffer)) != 0 ||
        (rc = tfl_table_field(b, &tt, 4, &q)) != 0 ||
        (rc = tfl_u8(b, &tt, 5, 0, &isvar)) != 0)
        return rc;
    ti->type = type;
    int es = elem_size(type);
    if (es < 0)
        return fail(m, HNN_E_UNSUPPORTED_TYPE, "tensor element type not supported");
    if (shape.n > HNN_MAX_DIMS)
        return fail(m, HNN_E_LIMIT, "tensor rank above HNN_MAX_DIMS");
    ti->ndim = (int32_t)shape.n;
    uint64_t elems = 1;
    for (uint32_t i = 0; i < shape.n; i++) {
        int32_t d = tfl_vec_i32(b, &shape, i);
        if (d < 0)
            return fail(m, HNN_E_SHAPE, "negative tensor dimension");
        ti->dims[i] = d;
        elems *= (uint64_t)d;
        if (elems > (1u << 28))
            return fail(m, HNN_E_SHAPE, "tensor too large");
    }
    if (elems * (uint64_t)es > HNN_MAX_TENSOR_BYTES)
        return fail(m, HNN_E_SHAPE, "tensor larger than 1 GiB");
    ti->elems = (int32_t)elems;
    ti->bytes = (int32_t)(elems * (uint64_t)es);
    ti->elem_size = es;
    ti->is_variable = isvar != 0;

    if (q.pos) {
        int32_t qdim;
        if ((rc = tfl_vec_field(b, &q, 2, 4, 1, &scales)) != 0 ||
            (rc = tfl_vec_field(b, &q, 3, 8, 1, &zps)) != 0 ||
            (rc = tfl_i32(b, &q, 6, 0, &qdim)) != 0)
            return rc;
        ti->nq = (int32_t)scales.n;
        ti->nzp = (int32_t)zps.n;
        ti->qdim = qdim;
        ti->scales_raw = scales.n ? b->p + scales.pos : 0;
        ti->zps_raw = zps.n ? b->p + zps.pos : 0;
        ti->scale = hnn_tinfo_scale(ti, 0);
        ti->zero_point = (int32_t)hnn_tinfo_zp(ti, 0);
        if (scales.n > 1 && (qdim < 0 || qdim >= ti->ndim || (int32_t)scales.n != ti->dims[qdim]))
            return fail(m, HNN_E_QUANT, "per-channel scales do not match the quantized dimension");
        if (zps.n && zps.n != scales.n)
            return fail(m, HNN_E_QUANT, "zero point count differs from scale count");
    }

    if (buffer >= m->buffers.n)
        return fail(m, HNN_E_BAD_OFFSET, "tensor buffer index out of range");
    if (buffer != 0) {
        tfl_table bt;
        uint64_t off;
        if ((rc = tfl_vec_table(b, &m->buffers, buffer, &bt)) != 0 ||
            (rc = tfl_vec_field(b, &bt, 0, 1, 1, &data)) != 0 ||
            (rc = tfl_u64(b, &bt, 1, 0, &off)) != 0)
            return rc;
        if (off > 1)
            return fail(m, HNN_E_UNSUPPORTED_TYPE, "buffers outside the flatbuffer are not supported");
        if (data.n) {
            if (data.n != (uint32_t)ti->bytes)
                return fail(m, HNN_E_SHAPE, "constant data size differs from tensor shape");
            if (es > 1 && ((uintptr_t)(b->p + data.pos) % (uintptr_t)(es > 4 ? 4 : es)))
                return fail(m, HNN_E_ALIGN, "constant data misaligned");
            ti->const_data = b->p + data.pos;
        }
    }
    return HNN_OK;
}

int hnn__tinfo(const hnn_model *m, uint32_t s, int32_t t, hnn_tinfo *ti)
{
    return read_tinfo(m, s, t, ti);
}

float hnn_tinfo_scale(const hnn_tinfo *t, int k)
{
    if (!t->scales_raw || k < 0 || k >= t->nq)
        return 0.0f;
    uint32_t u = tfl_rd32(t->scales_raw + 4u * (uint32_t)k);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

int hnn_tinfo_same_quant(const hnn_tinfo *a, const hnn_tinfo *b)
{
    if (a->nq != b->nq)
        return 0;
    for (int32_t k = 0; k < a->nq; k++)
        if (hnn_tinfo_scale(a, k) != hnn_tinfo_scale(b, k) || hnn_tinfo_zp(a, k) != hnn_tinfo_zp(b, k))
            return 0;
    return 1;
}

int64_t hnn_tinfo_zp(const hnn_tinfo *t, int k)
{
    if (!t->zps_raw || k < 0 || k >= t->nzp)
        return 0;
    const uint8_t *q = t->zps_raw + 8u * (uint32_t)k;
    return (int64_t)((uint64_t)tfl_rd32(q) | (uint64_t)tfl_rd32(q + 4) << 32);
}

int hnn_tinfo_get(hnn_ctx *c, int32_t tensor, hnn_tinfo *out)
{
    int rc = read_tinfo(c->m, (uint32_t)c->subgraph, tensor, out);
    if (rc)
        return hnn_fail(c, rc, tensor < 0 ? "required input is absent" : "invalid tensor");
    return HNN_OK;
}

int hnn_in_info(hnn_ctx *c, int i, hnn_tinfo *out)
{
    if (i < 0 || i >= c->n_in)
        return hnn_fail(c, HNN_E_GRAPH, "op has too few inputs");
    return hnn_tinfo_get(c, c->in[i], out);
}

int hnn_out_info(hnn_ctx *c, int i, hnn_tinfo *out)
{
    if (i < 0 || i >= c->n_out)
        return hnn_fail(c, HNN_E_GRAPH, "op has too few outputs");
    return hnn_tinfo_get(c, c->out[i], out);
}


int32_t hnn__op_code(const hnn_op *op)
{
    return hnn_kernel_code(op->kernel);
}

int hnn__op_options(const hnn_model *m, uint32_t s, uint32_t i, tfl_table *out)
{
    tfl_table ot;
    int rc;
    out->pos = 0;
    if ((rc = tfl_vec_table(&m->b, &m->sub[s].opvec, i, &ot)) != 0)
        return rc;
    return tfl_table_field(&m->b, &ot, 4, out);
}

/* ---- options ------------------------------------------------------------- */

/* Options tables were validated by tfl_table_at at load; field reads check
 * the field against the table's inline size. */
static const uint8_t *opt_field(const hnn_opts *o, int field, uint32_t size)
{
    if (!o->table || field < 0 || field >= o->vt_fields)
        return 0;
    const uint8_t *vt = o->buf + o->vtable;
    uint16_t tsize = tfl_rd16(vt + 2);
    uint16_t off = tfl_rd16(vt + 4 + 2 * field);
    if (!off || off < 4 || (uint32_t)off + size > tsize)
        return 0;
    return o->buf + o->table + off;
}

uint8_t hnn_opt_u8(const hnn_opts *o, int field, uint8_t def)
{
    const uint8_t *p = opt_field(o, field, 1);
    return p ? p[0] : def;
}

int32_t hnn_opt_i32(const hnn_opts *o, int field, int32_t def)
{
    const uint8_t *p = opt_field(o, field, 4);
    return p ? (int32_t)tfl_rd32(p) : def;
}

float hnn_opt_f32(const hnn_opts *o, int field, float def)
{
    const uint8_t *p = opt_field(o, field, 4);
    if (!p)
        return def;
    uint32_t u = tfl_rd32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* ---- context ------------------------------------------------------------- */

static void make_ctx(hnn_model *m, uint32_t s, uint32_t i, hnn_ctx *c)
{
    const hnn_op *op = &m->sub[s].ops[i];
    c->m = m;
    c->subgraph = (int)s;
    c->op_index = (int)i;
    c->in = (const int32_t *)(const void *)(m->b.p + op->in_pos);
    c->n_in = op->n_in;
    c->out = (const int32_t *)(const void *)(m->b.p + op->out_pos);
    c->n_out = op->n_out;
    c->opts.buf = m->b.p;
    c->opts.table = 0;
    c->opts.vtable = 0;
    c->opts.vt_fields = 0;
    {
        tfl_table t;
        if (hnn__op_options(m, s, i, &t) == 0 && t.pos) {
            c->opts.table = t.pos;
            c->opts.vtable = t.vt;
            c->opts.vt_fields = t.vt_fields;
        }
    }
    c->data = hnn__op_data(m, op);
    c->data_bytes = 0;   /* only pass 1 reports it; see prepare_all */
    c->scratch = m->scratch;
    c->scratch_bytes = m->scratch_bytes;
    c->toff = m->sub[s].toff;
    c->model = m->b.p;
    c->arena = m->arena;
}

int hnn__producer(const hnn_model *m, uint32_t s, int32_t t, uint32_t before)
{
    const hnn_subgraph *g = &m->sub[s];
    for (uint32_t i = before; i-- > 0;) {
        const hnn_op *op = &g->ops[i];
        const int32_t *out = (const int32_t *)(const void *)(m->b.p + op->out_pos);
        for (uint32_t k = 0; k < op->n_out; k++)
            if (out[k] == t)
                return (int)i;
    }
    return -1;
}

/* ---- loading --------------------------------------------------------------- */

static int load_op(hnn_model *m, uint32_t s, uint32_t i, const tfl_table *ot)
{
    const tfl_buf *b = &m->b;
    hnn_subgraph *g = &m->sub[s];
    hnn_op *op = &g->ops[i];
    uint32_t opcode_index;
    tfl_table oc, opts;
    tfl_vec in, out;
    uint8_t dep;
    int32_t code;
    int rc;

    if ((rc = tfl_u32(b, ot, 0, 0, &opcode_index)) != 0)
        return rc;
    if (opcode_index >= m->opcodes.n)
        return fail(m, HNN_E_BAD_OFFSET, "operator code index out of range");
    if ((rc = tfl_vec_table(b, &m->opcodes, opcode_index, &oc)) != 0 ||
        (rc = tfl_u8(b, &oc, 0, 0, &dep)) != 0 ||
        (rc = tfl_i32(b, &oc, 3, 0, &code)) != 0)
        return rc;
    /* deprecated_builtin_code is int8; builtin codes above 127 live in builtin_code */
    if ((int8_t)dep > code)
        code = (int8_t)dep;
    if (code == 32) { /* CUSTOM */
        const char *name;
        uint32_t n;
        tfl_str_field(b, &oc, 1, &name, &n);
        hnn__detail(m, (int)s, (int)i, "CUSTOM", name ? name : "custom op without a name");
        return HNN_E_UNSUPPORTED_OP;
    }
    int kidx = hnn_kernel_index(code);
    if (kidx < 0 || kidx > 255) {
        hnn__detail(m, (int)s, (int)i, hnn_op_name(code), "operator not supported");
        return HNN_E_UNSUPPORTED_OP;
    }
    op->kernel = (uint8_t)kidx;
    const char *opname = hnn_op_name(code);
    if ((rc = tfl_vec_field(b, ot, 1, 4, 4, &in)) != 0 ||
        (rc = tfl_vec_field(b, ot, 2, 4, 4, &out)) != 0 ||
        (rc = tfl_table_field(b, ot, 4, &opts)) != 0)
        return rc;
    if (in.n > HNN_MAX_OP_IO || out.n > HNN_MAX_OP_IO)
        return fail(m, HNN_E_LIMIT, "operator has too many inputs or outputs");
    for (uint32_t k = 0; k < in.n; k++) {
        int32_t t = tfl_vec_i32(b, &in, k);
        if (t < -1 || t >= (int32_t)g->n_tensors) {
            hnn__detail(m, (int)s, (int)i, opname, "input tensor index out of range");
            return HNN_E_GRAPH;
        }
    }
    for (uint32_t k = 0; k < out.n; k++) {
        int32_t t = tfl_vec_i32(b, &out, k);
        if (t < 0 || t >= (int32_t)g->n_tensors) {
            hnn__detail(m, (int)s, (int)i, opname, "output tensor index out of range");
            return HNN_E_GRAPH;
        }
    }
    op->in_pos = in.pos;
    op->out_pos = out.pos;
    op->n_in = (uint8_t)in.n;
    op->n_out = (uint8_t)out.n;
    (void)opts;   /* read here to validate it; re-read at prepare */
    return HNN_OK;
}

static int check_io_vec(const hnn_model *m, const tfl_vec *v, uint32_t n_tensors)
{
    for (uint32_t k = 0; k < v->n; k++) {
        int32_t t = tfl_vec_i32(&m->b, v, k);
        if (t < 0 || (uint32_t)t >= n_tensors)
            return fail(m, HNN_E_GRAPH, "subgraph input/output index out of range");
    }
    return HNN_OK;
}

static int load_structure(hnn_model *m)
{
    const tfl_buf *b = &m->b;
    tfl_table root;
    tfl_vec subs;
    uint32_t version;
    int rc;

    if ((rc = tfl_root(b, &root)) != 0)
        return fail(m, rc, "not a flatbuffer (bad root table)");
    if ((rc = tfl_u32(b, &root, 0, 0, &version)) != 0)
        return rc;
    if (version != 3)
        return fail(m, HNN_E_BAD_MODEL, "not a TFLite schema version 3 model");
    if ((rc = tfl_vec_field(b, &root, 1, 4, 4, &m->opcodes)) != 0 ||
        (rc = tfl_vec_field(b, &root, 2, 4, 4, &subs)) != 0 ||
        (rc = tfl_vec_field(b, &root, 4, 4, 4, &m->buffers)) != 0)
        return fail(m, rc, "model tables out of bounds");
    if (subs.n == 0)
        return fail(m, HNN_E_BAD_MODEL, "model has no subgraphs");
    if (subs.n > HNN_MAX_SUBGRAPHS)
        return fail(m, HNN_E_LIMIT, "too many subgraphs");
    m->n_sub = subs.n;
    m->sub = palloc(m, sizeof(hnn_subgraph) * subs.n, &rc);
    if (rc)
        return rc;

    for (uint32_t s = 0; s < subs.n; s++) {
        hnn_subgraph *g = &m->sub[s];
        tfl_table st;
        tfl_vec ops;
        (void)ops;
        if ((rc = tfl_vec_table(b, &subs, s, &st)) != 0 ||
            (rc = tfl_vec_field(b, &st, 0, 4, 4, &g->tensors)) != 0 ||
            (rc = tfl_vec_field(b, &st, 1, 4, 4, &g->inputs)) != 0 ||
            (rc = tfl_vec_field(b, &st, 2, 4, 4, &g->outputs)) != 0 ||
            (rc = tfl_vec_field(b, &st, 3, 4, 4, &ops)) != 0)
            return fail(m, rc, "subgraph tables out of bounds");
        if (g->tensors.n > HNN_MAX_TENSORS || ops.n > HNN_MAX_OPS)
            return fail(m, HNN_E_LIMIT, "subgraph has too many tensors or operators");
        g->n_tensors = g->tensors.n;
        g->n_ops = ops.n;
        g->opvec = ops;
        if ((rc = check_io_vec(m, &g->inputs, g->n_tensors)) != 0 ||
            (rc = check_io_vec(m, &g->outputs, g->n_tensors)) != 0)
            return rc;
        g->toff = palloc(m, sizeof(uint32_t) * (g->n_tensors ? g->n_tensors : 1), &rc);
        g->ops = palloc(m, sizeof(hnn_op) * (ops.n ? ops.n : 1), &rc);
        if (rc)
            return rc;
        for (uint32_t i = 0; i < ops.n; i++) {
            tfl_table ot;
            if ((rc = tfl_vec_table(b, &ops, i, &ot)) != 0)
                return fail(m, rc, "operator table out of bounds");
            if ((rc = load_op(m, s, i, &ot)) != 0)
                return rc;
        }
        /* every tensor must be readable and of a supported type */
        for (uint32_t t = 0; t < g->n_tensors; t++) {
            hnn_tinfo ti;
            if ((rc = read_tinfo(m, s, (int32_t)t, &ti)) != 0) {
                if (!m->why.msg)
                    fail(m, rc, "invalid tensor");
                return rc;
            }
            if (ti.const_data)
                g->toff[t] = (uint32_t)((const uint8_t *)ti.const_data - b->p) | HNN_TOFF_MODEL;
        }
        /* the caller writes inputs: a constant one would be the model image */
        for (uint32_t k = 0; k < g->inputs.n; k++)
            if (g->toff[tfl_vec_i32(b, &g->inputs, k)] & HNN_TOFF_MODEL)
                return fail(m, HNN_E_GRAPH, "a subgraph input is a constant tensor (remove its buffer)");
    }
    return HNN_OK;
}

/* Data-flow check: every non-constant input must be written earlier in the
 * same subgraph (or be a subgraph input / variable); each tensor is written
 * by at most one op and constants never. Catches dangling and cyclic
 * references, since ops run in the order given. */
static int check_dataflow(hnn_model *m, uint32_t s, uint8_t *written)
{
    hnn_subgraph *g = &m->sub[s];
    memset(written, 0, g->n_tensors);
    for (uint32_t k = 0; k < g->inputs.n; k++)
        written[tfl_vec_i32(&m->b, &g->inputs, k)] = 1;
    for (uint32_t t = 0; t < g->n_tensors; t++) {
        hnn_tinfo ti;
        read_tinfo(m, s, (int32_t)t, &ti);
        if (ti.const_data || ti.is_variable)
            written[t] = 2;
    }
    for (uint32_t i = 0; i < g->n_ops; i++) {
        hnn_ctx c;
        make_ctx(m, s, i, &c);
        for (int k = 0; k < c.n_in; k++)
            if (c.in[k] >= 0 && !written[c.in[k]])
                return hnn_fail(&c, HNN_E_GRAPH, "reads a tensor no earlier op writes (dangling or cyclic)");
        for (int k = 0; k < c.n_out; k++) {
            if (written[c.out[k]] == 2)
                return hnn_fail(&c, HNN_E_GRAPH, "writes a constant or variable tensor");
            if (written[c.out[k]] == 3)
                return hnn_fail(&c, HNN_E_GRAPH, "writes a tensor another op already wrote");
            if (written[c.out[k]] == 1) {
                /* subgraph inputs are never op outputs */
                int is_input = 0;
                for (uint32_t q = 0; q < g->inputs.n; q++)
                    if (tfl_vec_i32(&m->b, &g->inputs, q) == c.out[k])
                        is_input = 1;
                if (is_input)
                    return hnn_fail(&c, HNN_E_GRAPH, "writes a subgraph input");
            }
            written[c.out[k]] = 3;
        }
    }
    for (uint32_t k = 0; k < g->outputs.n; k++)
        if (!written[tfl_vec_i32(&m->b, &g->outputs, k)])
            return fail(m, HNN_E_GRAPH, "a subgraph output is never written");
    return HNN_OK;
}

static int prepare_all(hnn_model *m, int pass)
{
    for (uint32_t s = 0; s < m->n_sub; s++) {
        for (uint32_t i = 0; i < m->sub[s].n_ops; i++) {
            hnn_op *op = &m->sub[s].ops[i];
            hnn_ctx c;
            make_ctx(m, s, i, &c);
            if (pass == 1) {
                c.data = 0;
                c.data_bytes = 0;
                c.scratch_bytes = 0;
            }
            m->why.msg = 0;
            int rc = hnn_kernel_at(op->kernel)->prepare(&c);
            if (rc) {
                if (!m->why.msg)
                    hnn_fail(&c, rc, "prepare failed");
                return rc < 0 ? rc : HNN_E_RUNTIME;
            }
            if (pass == 1) {
                if (c.data_bytes > 0x7fffffffu || c.scratch_bytes > 0x7fffffffu)
                    return hnn_fail(&c, HNN_E_LIMIT, "op data too large");
                /* until allocation, `data` holds the size the kernel asked for */
                op->data = (uint32_t)c.data_bytes;
                if (c.scratch_bytes > m->scratch_bytes)
                    m->scratch_bytes = c.scratch_bytes;
            }
        }
    }
    return HNN_OK;
}

/* Variable tensors (is_variable) start at their zero point; ops with state
 * reset it themselves (kernel reset hook). */
static void reset_state(hnn_model *m)
{
    for (uint32_t s = 0; s < m->n_sub; s++) {
        hnn_subgraph *g = &m->sub[s];
        for (uint32_t t = 0; t < g->n_tensors; t++) {
            hnn_tinfo ti;
            if (read_tinfo(m, s, (int32_t)t, &ti) || !ti.is_variable || !g->toff[t] ||
                (g->toff[t] & HNN_TOFF_MODEL))
                continue;
            int v = ti.type == HNN_INT8 ? ti.zero_point : 0;
            memset(hnn__loc(m, g->toff[t]), v, (size_t)ti.bytes);
        }
        for (uint32_t i = 0; i < g->n_ops; i++) {
            const hnn_kernel *k = hnn_kernel_at(g->ops[i].kernel);
            if (k->reset) {
                hnn_ctx c;
                make_ctx(m, s, i, &c);
                k->reset(&c);
            }
        }
    }
}

/* Kernel place hooks, in op order (see kernel.h). */
static int place_all(hnn_model *m)
{
    for (uint32_t s = 0; s < m->n_sub; s++)
        for (uint32_t i = 0; i < m->sub[s].n_ops; i++) {
            const hnn_kernel *k = hnn_kernel_at(m->sub[s].ops[i].kernel);
            if (!k->place)
                continue;
            hnn_ctx c;
            make_ctx(m, s, i, &c);
            int rc = k->place(&c);
            if (rc)
                return rc < 0 ? rc : HNN_E_RUNTIME;
        }
    return HNN_OK;
}

static int init(hnn_model **out, const uint8_t *buf, size_t len, void *arena,
                size_t arena_size, unsigned flags)
{
    hnn_model *m;
    int rc = HNN_OK;
    *out = 0;
    /* hnn_init_detail explains these three without the arena */
    if (!arena)
        return HNN_E_ARG;
    if ((uintptr_t)arena & 7u)
        return HNN_E_ALIGN;
    if (arena_size < sizeof(hnn_model))
        return HNN_E_ARENA;
    /* from here on the failure detail lives in the arena (m->why) */
    m = (hnn_model *)arena;
    memset(m, 0, sizeof *m);
    if (!buf)
        return fail(m, HNN_E_ARG, "NULL model");
    if ((uintptr_t)buf & 3u)
        return fail(m, HNN_E_ALIGN, "model must be 4-byte aligned");
    if (len > 0x7fffffffu)
        return fail(m, HNN_E_LIMIT, "model larger than 2 GiB");
    /* arena offsets share a uint32 with the model-buffer flag: use at most
     * the first 2 GiB, so every offset stays below it */
    if (arena_size > HNN_PLAN_MAX)
        arena_size = HNN_PLAN_MAX;
    m->arena = (uint8_t *)arena;
    m->arena_size = arena_size;
    m->top = sizeof *m;
    m->flags = flags;
    m->b.p = buf;
    m->b.len = (uint32_t)len;

    if ((rc = load_structure(m)) != 0)
        return rc;
    /* data-flow check uses the free arena as a scratch byte map */
    size_t flow_peak = 0;
    for (uint32_t s = 0; s < m->n_sub; s++) {
        size_t need = m->sub[s].n_tensors;
        if (ALIGN8(m->top) + need > arena_size)
            return fail(m, HNN_E_ARENA, "arena too small");
        if (ALIGN8(m->top) + need > flow_peak)
            flow_peak = ALIGN8(m->top) + need;
        if ((rc = check_dataflow(m, s, m->arena + ALIGN8(m->top))) != 0)
            return rc;
    }

    if ((rc = prepare_all(m, 1)) != 0)
        return rc;

    /* persistent op data, then what the ops place (variable buffers) */
    for (uint32_t s = 0; s < m->n_sub && !rc; s++)
        for (uint32_t i = 0; i < m->sub[s].n_ops && !rc; i++) {
            hnn_op *op = &m->sub[s].ops[i];
            if (op->data) {
                uint8_t *p = palloc(m, op->data, &rc);
                op->data = p ? (uint32_t)(p - m->arena) : 0;
            }
        }
    if (!rc)
        rc = place_all(m);
    /* variable tensors keep their contents across invokes: persistent */
    for (uint32_t s = 0; s < m->n_sub && !rc; s++) {
        hnn_subgraph *g = &m->sub[s];
        for (uint32_t t = 0; t < g->n_tensors && !rc; t++) {
            hnn_tinfo ti;
            read_tinfo(m, s, (int32_t)t, &ti);
            if (ti.is_variable && !ti.const_data && ti.bytes) {
                uint8_t *p = palloc(m, (size_t)ti.bytes, &rc);
                g->toff[t] = p ? (uint32_t)(p - m->arena) : 0;
            }
        }
    }
    if (m->scratch_bytes)
        m->scratch = palloc(m, m->scratch_bytes, &rc);
    if (rc)
        return rc;

    /* activations of every subgraph in the rest of the arena */
    size_t peak;
    if ((rc = hnn_plan_model(m, &peak)) != 0)
        return rc;
    m->used = peak > flow_peak ? peak : flow_peak;
    if (m->used > arena_size)   /* each step checked its part; the whole, too */
        return fail(m, HNN_E_ARENA, "arena too small");

    if ((rc = prepare_all(m, 2)) != 0)
        return rc;
    reset_state(m);
    *out = m;
    return HNN_OK;
}

int hnn_init(hnn_model **out, const uint8_t *buf, size_t len, void *arena,
             size_t arena_size, unsigned flags)
{
    if (!out)
        return HNN_E_ARG;
    return init(out, buf, len, arena, arena_size, flags);
}

/* An upper bound computed from the model alone, without memory: structure,
 * every tensor unshared (activations, variables, scratch), per-channel op
 * data (bounded by the tensors' sizes) and a fixed allowance per op. The
 * exact need is hnn_arena_used() after an init; an arena of that size works. */
int hnn_arena_bytes(const uint8_t *buf, size_t len, unsigned flags, size_t *out)
{
    tfl_buf b;
    tfl_table root;
    tfl_vec subs, bufs;
    int rc;
    uint64_t total = sizeof(hnn_model) + 64;

    (void)flags;
    if (!buf || !out)
        return fail(0, HNN_E_ARG, "NULL argument");
    *out = 0;
    if (len > 0x7fffffffu)
        return fail(0, HNN_E_LIMIT, "model larger than 2 GiB");
    b.p = buf;
    b.len = (uint32_t)len;
    if ((rc = tfl_root(&b, &root)) != 0)
        return fail(0, rc, "not a flatbuffer (bad root table)");
    if ((rc = tfl_vec_field(&b, &root, 2, 4, 4, &subs)) != 0 ||
        (rc = tfl_vec_field(&b, &root, 4, 4, 4, &bufs)) != 0)
        return fail(0, rc, "model tables out of bounds");
    total += (uint64_t)subs.n * (sizeof(hnn_subgraph) + 8);
    for (uint32_t s = 0; s < subs.n; s++) {
        tfl_table st;
        tfl_vec tensors, ops;
        if ((rc = tfl_vec_table(&b, &subs, s, &st)) != 0 ||
            (rc = tfl_vec_field(&b, &st, 0, 4, 4, &tensors)) != 0 ||
            (rc = tfl_vec_field(&b, &st, 3, 4, 4, &ops)) != 0)
            return fail(0, rc, "subgraph tables out of bounds");
        total += (uint64_t)tensors.n * (sizeof(uint32_t) + 8 + HNN_PLAN_WORK_PER_TENSOR);
        /* op data is the kernels' business: allow a generous fixed amount per
         * op (lookup tables, parameters) on top of the per-tensor terms */
        total += (uint64_t)ops.n * (sizeof(hnn_op) + HNN_OP_STATE_BOUND + 2048);
        for (uint32_t t = 0; t < tensors.n; t++) {
            tfl_table tt;
            tfl_vec shape;
            uint8_t type;
            if ((rc = tfl_vec_table(&b, &tensors, t, &tt)) != 0 ||
                (rc = tfl_vec_field(&b, &tt, 0, 4, 4, &shape)) != 0 ||
                (rc = tfl_u8(&b, &tt, 1, 0, &type)) != 0)
                return fail(0, rc, "tensor table out of bounds");
            int es = elem_size(type);
            uint64_t e = es > 0 ? (uint64_t)es : 4;
            for (uint32_t i = 0; i < shape.n && i < HNN_MAX_DIMS; i++) {
                int32_t d = tfl_vec_i32(&b, &shape, i);
                e *= d > 0 ? (uint64_t)d : 1;
                if (e > (1u << 30))
                    return fail(0, HNN_E_SHAPE, "tensor too large");
            }
            /* activation or variable, plus per-channel op data (8 B/element
             * of the largest dimension is a safe bound for multipliers) */
            total += 2 * ALIGN8(e) + 64;
        }
        if (total > ((uint64_t)1 << 31))
            return fail(0, HNN_E_LIMIT, "model needs more than 2 GiB");
    }
    *out = (size_t)total;
    return HNN_OK;
}

/* ---- running -------------------------------------------------------------- */

static int run_subgraph(hnn_model *m, uint32_t s)
{
    hnn_subgraph *g = &m->sub[s];
    hnn_ctx c;
    c.toff = g->toff;
    c.model = m->b.p;
    c.arena = m->arena;
    for (uint32_t i = 0; i < g->n_ops; i++) {
        const hnn_op *op = &g->ops[i];
        c.m = m;
        c.subgraph = (int)s;
        c.op_index = (int)i;
        c.in = (const int32_t *)(const void *)(m->b.p + op->in_pos);
        c.n_in = op->n_in;
        c.out = (const int32_t *)(const void *)(m->b.p + op->out_pos);
        c.n_out = op->n_out;
        c.opts.buf = m->b.p;
        c.opts.table = 0;     /* options are a prepare-time concern */
        c.opts.vtable = 0;
        c.opts.vt_fields = 0;
        c.data = hnn__op_data(m, op);
        c.data_bytes = 0;
        c.scratch = m->scratch;
        c.scratch_bytes = m->scratch_bytes;
        const hnn_kernel *k = hnn_kernel_at(op->kernel);
        int rc = k->eval(&c);
        if (rc) {
            hnn__detail(m, (int)s, (int)i, k->name, "eval failed");
            return rc < 0 ? rc : HNN_E_RUNTIME;
        }
    }
    return HNN_OK;
}

int hnn_run_subgraph(hnn_ctx *c, int32_t s)
{
    if (s < 0 || (uint32_t)s >= c->m->n_sub)
        return hnn_fail(c, HNN_E_GRAPH, "subgraph index out of range");
    return run_subgraph(c->m, (uint32_t)s);
}

int hnn_num_subgraphs(const hnn_ctx *c)
{
    return (int)c->m->n_sub;
}

int hnn_invoke(hnn_model *m)
{
    if (!m)
        return HNN_E_ARG;
    return run_subgraph(m, 0);
}

int hnn_reset(hnn_model *m)
{
    if (!m)
        return HNN_E_ARG;
    reset_state(m);
    return HNN_OK;
}

/* ---- introspection -------------------------------------------------------- */

int hnn_num_inputs(const hnn_model *m) { return m ? (int)m->sub[0].inputs.n : HNN_E_ARG; }
int hnn_num_outputs(const hnn_model *m) { return m ? (int)m->sub[0].outputs.n : HNN_E_ARG; }
int hnn_num_tensors(const hnn_model *m) { return m ? (int)m->sub[0].n_tensors : HNN_E_ARG; }
size_t hnn_arena_used(const hnn_model *m) { return m ? m->used : 0; }

int hnn_input(const hnn_model *m, int i)
{
    if (!m || i < 0 || (uint32_t)i >= m->sub[0].inputs.n)
        return HNN_E_ARG;
    return tfl_vec_i32(&m->b, &m->sub[0].inputs, (uint32_t)i);
}

int hnn_output(const hnn_model *m, int i)
{
    if (!m || i < 0 || (uint32_t)i >= m->sub[0].outputs.n)
        return HNN_E_ARG;
    return tfl_vec_i32(&m->b, &m->sub[0].outputs, (uint32_t)i);
}

int hnn_tensor_info_get(const hnn_model *m, int t, hnn_tensor_info *info)
{
    hnn_tinfo ti;
    if (!m || !info || t < 0 || (uint32_t)t >= m->sub[0].n_tensors)
        return HNN_E_ARG;
    int rc = read_tinfo(m, 0, t, &ti);
    if (rc)
        return rc;
    memset(info, 0, sizeof *info);
    info->type = ti.type;
    info->ndim = ti.ndim;
    for (int i = 0; i < ti.ndim && i < 6; i++)
        info->dims[i] = ti.dims[i];
    info->bytes = ti.bytes;
    info->scale = ti.scale;
    info->zero_point = ti.zero_point;
    return HNN_OK;
}

void *hnn_tensor_data(hnn_model *m, int t)
{
    if (!m || t < 0 || (uint32_t)t >= m->sub[0].n_tensors)
        return 0;
    return hnn__loc(m, m->sub[0].toff[t]);
}
