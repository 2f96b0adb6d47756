/*
 * interp.h - the interpreter's internal structures, shared with the
 * graph-level ops (kernels/resource.c), the registry and the planner. Not a
 * public header.
 */
#ifndef HEARTH_INTERP_H
#define HEARTH_INTERP_H

#include "kernel.h"
#include "tfl_reader.h"

/* One op, kept small: it lives in the arena for every op of every
 * subgraph. Options, codes and sizes are re-read from the model at load. */
typedef struct {
    uint32_t data;         /* arena offset of the persistent op data, 0 = none */
    uint32_t in_pos;       /* int32 tensor-index vectors inside the model */
    uint32_t out_pos;
    uint8_t kernel;        /* index into the kernel registry */
    uint8_t n_in, n_out;
    uint8_t flags;
} hnn_op;

/* Tensor data locations: an arena offset, or a model-buffer offset with
 * HNN_TOFF_MODEL set, or 0 for "no data" (offset 0 of either holds headers). */
#define HNN_TOFF_MODEL 0x80000000u

typedef struct {
    tfl_vec tensors;       /* vector of Tensor tables */
    tfl_vec inputs, outputs;
    tfl_vec opvec;         /* vector of Operator tables */
    uint32_t *toff;        /* data location of each tensor */
    hnn_op *ops;
    uint32_t n_ops;
    uint32_t n_tensors;
} hnn_subgraph;

/* Why the last failure happened, formatted only on request (hnn_detail):
 * static text, op names or a custom op's name inside the model. */
typedef struct {
    const char *msg;         /* NULL: nothing recorded */
    const char *opname;      /* NULL: not about one op */
    int32_t subgraph, op;    /* op < 0: not about one op */
} hnn_why;

struct hnn_model {
    hnn_why why;             /* first: hnn_init_detail finds it at the arena start */
    tfl_buf b;
    uint8_t *arena;
    size_t arena_size;
    size_t used;             /* bytes of the arena in use (persistent + plan) */
    size_t top;              /* bump pointer for persistent allocations */
    unsigned flags;
    tfl_vec buffers;
    tfl_vec opcodes;
    hnn_subgraph *sub;
    uint32_t n_sub;
    void *vars;              /* the variable ops' table (kernels/resource.c) */
    void *scratch;
    size_t scratch_bytes;
};

static inline uint8_t *hnn__loc(const hnn_model *m, uint32_t off);

/* The builtin code of the op producing tensor t in subgraph s before op
 * index `before`, and that op's index; -1 if none. */
int hnn__producer(const hnn_model *m, uint32_t s, int32_t t, uint32_t before);
/* Record a failure context ("op 12 CONV_2D: message") in m. */
void hnn__detail(const hnn_model *m, int subgraph, int op, const char *opname, const char *msg);
/* Record a failure about no particular op; returns err. */
int hnn__fail(const hnn_model *m, int err, const char *msg);
/* Read and validate tensor t of subgraph s. */
int hnn__tinfo(const hnn_model *m, uint32_t s, int32_t t, hnn_tinfo *ti);

static inline uint8_t *hnn__loc(const hnn_model *m, uint32_t off)
{
    if (!off)
        return 0;
    if (off & HNN_TOFF_MODEL)
        return (uint8_t *)(uintptr_t)(m->b.p + (off & ~HNN_TOFF_MODEL));
    return m->arena + off;
}

static inline void *hnn__op_data(const hnn_model *m, const hnn_op *op)
{
    return op->data ? m->arena + op->data : 0;
}

/* Builtin code of an op (via the registry). */
int32_t hnn__op_code(const hnn_op *op);
/* Builtin options table of op i of subgraph s (pos 0 if none). */
int hnn__op_options(const hnn_model *m, uint32_t s, uint32_t i, tfl_table *out);

/* Registry by index (kernels/registry.c). */
const hnn_kernel *hnn_kernel_at(unsigned idx);
int hnn_kernel_index(int32_t code);    /* -1: not supported */
int32_t hnn_kernel_code(unsigned idx);

#endif /* HEARTH_INTERP_H */
