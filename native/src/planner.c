/*
 * planner.c - where every activation tensor lives: lifetimes from the op
 * order, offsets by greedy placement (TFLM's GreedyMemoryPlanner), RESHAPE
 * outputs sharing their input's bytes. Tensors that already have a place
 * (constants, variable tensors, tensors an op placed in its own memory at
 * its place hook) are left alone.
 */
#ifdef HNN_DEBUG_PLAN
#include <stdio.h>
#endif

#include "interp.h"
#include "planner.h"

#define ALIGN8(x) (((x) + 7u) & ~(size_t)7u)

/* All arithmetic in 64 bits: a hostile model declares thousands of tensors
 * of up to 1 GiB each, whose sum must never wrap. */
static uint64_t align_up(uint64_t x, uint32_t a)
{
    return (x + a - 1u) / a * a;
}

static int live_together(const hnn_plan_buf *a, const hnn_plan_buf *b)
{
    return a->first <= b->last && b->first <= a->last;
}

uint64_t hnn_plan_linear(hnn_plan_buf *b, uint32_t n, uint32_t align)
{
    uint64_t at = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (at + b[i].size > HNN_PLAN_MAX)
            return at + b[i].size;
        b[i].off = (uint32_t)at;
        at = align_up(at + b[i].size, align);
    }
    return at;
}

uint64_t hnn_plan_greedy(hnn_plan_buf *b, uint32_t n, uint32_t align)
{
    /* insertion sort: size descending, then earlier first use (stable, and
     * n is at most a few hundred) */
    for (uint32_t i = 1; i < n; i++) {
        hnn_plan_buf x = b[i];
        uint32_t j = i;
        while (j > 0 && (b[j - 1].size < x.size ||
                         (b[j - 1].size == x.size && b[j - 1].first > x.first))) {
            b[j] = b[j - 1];
            j--;
        }
        b[j] = x;
    }
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t cand = 0;
        int moved = 1;
        /* slide past every placed, simultaneously live buffer we overlap;
         * each pass only moves up, so this terminates */
        while (moved) {
            moved = 0;
            for (uint32_t j = 0; j < i; j++) {
                if (!live_together(&b[i], &b[j]))
                    continue;
                uint64_t end_j = (uint64_t)b[j].off + b[j].size;
                if (cand < end_j && b[j].off < cand + b[i].size) {
                    cand = align_up(end_j, align);
                    moved = 1;
                }
            }
        }
        if (cand + b[i].size > HNN_PLAN_MAX)
            return cand + b[i].size;    /* offsets past here do not fit */
        b[i].off = (uint32_t)cand;
        if (cand + b[i].size > total)
            total = cand + b[i].size;
    }
    return align_up(total, align);
}

static int find_buf(const hnn_plan_buf *w, uint32_t n, int32_t t)
{
    for (uint32_t k = 0; k < n; k++)
        if (w[k].id == t)
            return (int)k;
    return -1;
}

/* RESHAPE keeps the bytes as they are, so its output can share its input's
 * memory whenever the input is a planned activation: follow such chains. */
static int32_t plan_root(const hnn_model *m, uint32_t s, int32_t t, int preserve_all)
{
    const hnn_subgraph *g = &m->sub[s];
    for (int guard = 0; !preserve_all && guard < 64; guard++) {
        int p = hnn__producer(m, s, t, g->n_ops);
        if (p < 0)
            return t;
        const hnn_op *op = &g->ops[p];
        if (hnn__op_code(op) != HNN_OP_RESHAPE || op->n_in < 1)
            return t;
        int32_t in = ((const int32_t *)(const void *)(m->b.p + op->in_pos))[0];
        if (in < 0 || g->toff[in])
            return t;   /* constants and variables keep a copy */
        t = in;
    }
    return t;
}

/* Plan the activations of subgraph s into mem (size mem_size) and point the
 * tensors at them. *plan_bytes and *work_bytes report the space used by the
 * plan and by the planner's workspace (which overlaps it). */
static int plan_subgraph(hnn_model *m, uint32_t s, uint8_t *mem, size_t mem_size,
                         int preserve_all, size_t *plan_bytes, size_t *work_bytes)
{
    hnn_subgraph *g = &m->sub[s];
    hnn_plan_buf *w = (hnn_plan_buf *)(void *)mem;
    uint32_t n = 0;
    size_t cap = mem_size / sizeof(hnn_plan_buf);

    *plan_bytes = 0;
    *work_bytes = 0;
    /* one entry per tensor that needs activation memory and is referenced */
    for (uint32_t i = 0; i <= g->n_ops; i++) {
        const int32_t *io[2];
        uint32_t nio[2];
        if (i < g->n_ops) {
            io[0] = (const int32_t *)(const void *)(m->b.p + g->ops[i].in_pos);
            nio[0] = g->ops[i].n_in;
            io[1] = (const int32_t *)(const void *)(m->b.p + g->ops[i].out_pos);
            nio[1] = g->ops[i].n_out;
        } else { /* subgraph inputs and outputs */
            io[0] = (const int32_t *)(const void *)(m->b.p + g->inputs.pos);
            nio[0] = g->inputs.n;
            io[1] = (const int32_t *)(const void *)(m->b.p + g->outputs.pos);
            nio[1] = g->outputs.n;
        }
        for (int side = 0; side < 2; side++)
            for (uint32_t k = 0; k < nio[side]; k++) {
                int32_t t = io[side][k];
                hnn_tinfo ti;
                if (t < 0 || g->toff[t])
                    continue;
                t = plan_root(m, s, t, preserve_all);
                if (g->toff[t] || find_buf(w, n, t) >= 0)
                    continue;
                if (hnn__tinfo(m, s, t, &ti) || ti.bytes == 0 || ti.type == HNN_RESOURCE)
                    continue;
                *work_bytes = (size_t)(n + 1) * sizeof(hnn_plan_buf);
                if (n >= cap)
                    return hnn__fail(m, HNN_E_ARENA, "arena too small");
                w[n].id = t;
                w[n].size = (uint32_t)ti.bytes;
                w[n].first = 0xffffffffu;
                w[n].last = 0;
                w[n].off = 0;
                n++;
            }
    }
    /* lifetimes: written at its producer (or live from the start for inputs),
     * alive through its last reader (or to the end for outputs) */
    for (uint32_t i = 0; i < g->n_ops; i++) {
        const hnn_op *op = &g->ops[i];
        const int32_t *in = (const int32_t *)(const void *)(m->b.p + op->in_pos);
        const int32_t *out = (const int32_t *)(const void *)(m->b.p + op->out_pos);
        for (uint32_t k = 0; k < op->n_out; k++) {
            int b = g->toff[out[k]] ? -1 : find_buf(w, n, plan_root(m, s, out[k], preserve_all));
            if (b >= 0 && w[b].first > i)
                w[b].first = i;
            if (b >= 0 && w[b].last < i)
                w[b].last = i;
        }
        for (uint32_t k = 0; k < op->n_in; k++) {
            int b = in[k] < 0 || g->toff[in[k]] ? -1 : find_buf(w, n, plan_root(m, s, in[k], preserve_all));
            if (b >= 0 && w[b].last < i)
                w[b].last = i;
        }
    }
    for (uint32_t k = 0; k < g->inputs.n; k++) {
        int32_t t = tfl_vec_i32(&m->b, &g->inputs, k);
        int b = g->toff[t] ? -1 : find_buf(w, n, plan_root(m, s, t, preserve_all));
        if (b >= 0)
            w[b].first = 0;
    }
    for (uint32_t k = 0; k < g->outputs.n; k++) {
        int32_t t = tfl_vec_i32(&m->b, &g->outputs, k);
        int b = g->toff[t] ? -1 : find_buf(w, n, plan_root(m, s, t, preserve_all));
        if (b >= 0)
            w[b].last = g->n_ops;
    }
    for (uint32_t k = 0; k < n; k++)
        if (w[k].first == 0xffffffffu)
            w[k].first = 0;

    uint64_t total = preserve_all ? hnn_plan_linear(w, n, 8) : hnn_plan_greedy(w, n, 8);
    if (total > mem_size)
        return hnn__fail(m, HNN_E_ARENA, "arena too small for the activations");
    *plan_bytes = (size_t)total;
    for (uint32_t k = 0; k < n; k++)
        g->toff[w[k].id] = (uint32_t)(mem - m->arena) + w[k].off;
#ifdef HNN_DEBUG_PLAN
    for (uint32_t k = 0; k < n; k++)
        fprintf(stderr, "plan s%u t%d size %u life %u-%u off %u\n", s, w[k].id, w[k].size, w[k].first, w[k].last, w[k].off);
#endif
    /* reshape outputs share the bytes of the activation they reshape (the
     * ones plan_root merged): follow chains until nothing changes */
    uint32_t lo = (uint32_t)(mem - m->arena), hi = lo + (uint32_t)total;
    for (int changed = !preserve_all; changed;) {
        changed = 0;
        for (uint32_t t = 0; t < g->n_tensors; t++) {
            if (g->toff[t])
                continue;
            int p = hnn__producer(m, s, (int32_t)t, g->n_ops);
            if (p < 0 || hnn__op_code(&g->ops[p]) != HNN_OP_RESHAPE || g->ops[p].n_in < 1)
                continue;
            int32_t in = ((const int32_t *)(const void *)(m->b.p + g->ops[p].in_pos))[0];
            if (in >= 0 && g->toff[in] >= lo && g->toff[in] < hi) {
                g->toff[t] = g->toff[in];
                changed = 1;
            }
        }
    }
    return HNN_OK;
}

int hnn_plan_model(hnn_model *m, size_t *peak_out)
{
    size_t base = ALIGN8(m->top);
    size_t peak = base;
    int preserve_all = (m->flags & HNN_PRESERVE_ALL) != 0;
    for (uint32_t s = 0; s < m->n_sub; s++) {
        size_t plan_bytes = 0, work_bytes = 0;
        if (base > m->arena_size)
            return hnn__fail(m, HNN_E_ARENA, "arena too small");
        int rc = plan_subgraph(m, s, m->arena + base, m->arena_size - base, preserve_all,
                               &plan_bytes, &work_bytes);
        if (base + work_bytes > peak)
            peak = base + work_bytes;
        if (rc)
            return rc;
        base = ALIGN8(base + plan_bytes);
        if (base > peak)
            peak = base;
    }
    m->top = base;
    *peak_out = peak;
    return HNN_OK;
}
