/*
 * interp.h - the interpreter's internal structures, shared with the
 * graph-level ops (kernels/resource.c) and the planner. Not a public header.
 */
#ifndef HEARTH_INTERP_H
#define HEARTH_INTERP_H

#include "kernel.h"
#include "tfl_reader.h"

typedef struct {
    const hnn_kernel *k;
    void *data;            /* persistent op data (kernel-owned) */
    uint32_t in_pos;       /* int32 tensor-index vectors inside the model */
    uint32_t out_pos;
    uint32_t opts_pos;     /* builtin options table, 0 = none */
    uint16_t n_in, n_out;
    int32_t code;          /* builtin operator code */
    int32_t aux;           /* graph-level ops: resource id or subgraph index */
    uint32_t data_bytes;
    uint32_t scratch_bytes;
} hnn_op;

typedef struct {
    tfl_vec tensors;       /* vector of Tensor tables */
    tfl_vec inputs, outputs;
    uint8_t **tdata;       /* current data pointer of each tensor (NULL: none) */
    hnn_op *ops;
    uint32_t n_ops;
    uint32_t n_tensors;
} hnn_subgraph;

typedef struct {
    const char *container;   /* may be NULL (names live in the model) */
    const char *shared_name;
    uint8_t *buf;
    uint32_t bytes;
    int8_t dflt;             /* reset value (int8 zero point, as TFLM) */
} hnn_resource;

struct hnn_model {
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
    hnn_resource *res;
    uint32_t n_res, max_res;
    void *scratch;
    size_t scratch_bytes;
};

/* Run every op of subgraph s once. */
int hnn__run_subgraph(hnn_model *m, uint32_t s);
/* The builtin code of the op producing tensor t in subgraph s before op
 * index `before`, and that op's index; -1 if none. */
int hnn__producer(const hnn_model *m, uint32_t s, int32_t t, uint32_t before);
/* Record a failure context ("op 12 CONV_2D: message"). */
void hnn__detail(int subgraph, int op, const char *opname, const char *msg);

#endif /* HEARTH_INTERP_H */
