/*
 * kernel.h - the contract between the interpreter and each op kernel.
 *
 * A kernel is two functions, plus two optional hooks for ops with state
 * beyond one invoke (kernels/resource.c):
 *
 *   prepare(c) is called twice at load time. In the first pass c->data is
 *     NULL: validate types/shapes/quantization (return a negative hnn_status
 *     via hnn_fail on anything wrong) and set c->data_bytes (persistent
 *     per-op data) and c->scratch_bytes (per-invoke scratch, shared between
 *     ops). In the second pass c->data points at c->data_bytes of zeroed,
 *     8-byte-aligned persistent memory: fill it (multipliers, ranges, ...).
 *     Both passes must make the same decisions; write the code once and
 *     guard only the stores with `if (c->data)`.
 *   eval(c) runs one invoke of the op. It must not fail on valid data
 *     except for truly runtime conditions; all checking belongs in prepare.
 *   place(c), optional, is called once per op, in op order, after every
 *     op's data is allocated and before the variable tensors, the scratch
 *     and the activation plan: it may allocate more persistent memory
 *     (hnn_persist) and point tensors at memory the op owns, which the
 *     planner then leaves alone (graph-level ops only).
 *   reset(c), optional, puts the op's state back to its initial value, at
 *     load and on hnn_reset (variables, "has run" flags).
 *
 * Tensors are referred to by index in the current subgraph. Constant
 * tensors live in the model buffer (read in place); everything else lives
 * in the arena. Shapes and quantization are only available in prepare
 * (hnn_tinfo_get); eval sees data pointers and the op data.
 */
#ifndef HEARTH_KERNEL_H
#define HEARTH_KERNEL_H

#include <stddef.h>
#include <stdint.h>
#include "hearth/nn.h"
#include "nn_config.h"

typedef struct hnn_ctx hnn_ctx;

typedef struct {
    const char *name;                 /* "CONV_2D" */
    int (*prepare)(hnn_ctx *c);
    int (*eval)(hnn_ctx *c);
    int (*place)(hnn_ctx *c);         /* NULL: nothing to place */
    void (*reset)(hnn_ctx *c);        /* NULL: no state across invokes */
} hnn_kernel;

/* A view of an options table inside the model buffer (validated at load:
 * every scalar field read through the accessors below is in bounds). */
typedef struct {
    const uint8_t *buf;
    uint32_t table;      /* offset of the table, 0 = no options present */
    uint32_t vtable;     /* offset of its vtable */
    uint16_t vt_fields;  /* number of fields in the vtable */
} hnn_opts;

struct hnn_ctx {
    hnn_model *m;
    int subgraph;
    int op_index;
    const int32_t *in;   /* tensor indices (-1 = optional input absent) */
    int n_in;
    const int32_t *out;
    int n_out;
    hnn_opts opts;       /* builtin options (may be absent: table == 0) */
    void *data;          /* persistent op data */
    size_t data_bytes;
    void *scratch;       /* eval only */
    size_t scratch_bytes;
    /* where tensors live (filled by the interpreter; use hnn_tdata) */
    const uint32_t *toff;
    const uint8_t *model;
    uint8_t *arena;
};

/* Prepare-time view of one tensor. */
typedef struct {
    int32_t type;                  /* HNN_INT8, ... */
    int32_t ndim;
    int32_t dims[HNN_MAX_DIMS];
    int32_t elems;                 /* product of dims (1 for scalars) */
    int32_t bytes;                 /* elems * element size */
    int32_t elem_size;             /* bytes per element (0 for resources) */
    int32_t nq;                    /* number of scales (0 = not quantized) */
    int32_t qdim;                  /* quantized_dimension */
    float scale;                   /* scale[0] (0 if nq == 0) */
    int32_t zero_point;            /* zero_point[0] (0 if absent) */
    const uint8_t *scales_raw;     /* little-endian float32[nq], maybe unaligned */
    const uint8_t *zps_raw;        /* little-endian int64[nzp], maybe unaligned */
    int32_t nzp;
    const void *const_data;        /* non-NULL for constant tensors (in model) */
    int is_variable;
} hnn_tinfo;

/* Tensor info by subgraph tensor index; error if index invalid. */
int hnn_tinfo_get(hnn_ctx *c, int32_t tensor, hnn_tinfo *out);
/* Shorthands: input/output i of the current op. An absent optional input
 * gives HNN_E_GRAPH; check c->in[i] < 0 first where the input is optional. */
int hnn_in_info(hnn_ctx *c, int i, hnn_tinfo *out);
int hnn_out_info(hnn_ctx *c, int i, hnn_tinfo *out);
float hnn_tinfo_scale(const hnn_tinfo *t, int k);
/* Same scales and zero points (ops that move bytes without requantizing). */
int hnn_tinfo_same_quant(const hnn_tinfo *a, const hnn_tinfo *b);
int64_t hnn_tinfo_zp(const hnn_tinfo *t, int k);

/* Data pointers (valid in eval; in prepare only for constants). A tensor
 * location is an arena offset, a model offset with bit 31 set, or 0. */
static inline void *hnn_tdata(hnn_ctx *c, int32_t tensor)
{
    uint32_t off = c->toff[tensor];
    if (!off)
        return (void *)0;
    if (off & 0x80000000u)
        return (void *)(uintptr_t)(c->model + (off & 0x7fffffffu));
    return c->arena + off;
}
static inline void *hnn_in_data(hnn_ctx *c, int i)
{
    return c->in[i] < 0 ? (void *)0 : hnn_tdata(c, c->in[i]);
}
static inline void *hnn_out_data(hnn_ctx *c, int i) { return hnn_tdata(c, c->out[i]); }

/* Builtin option scalars by field index (schema.fbs order, from 0). */
uint8_t hnn_opt_u8(const hnn_opts *o, int field, uint8_t def);
int32_t hnn_opt_i32(const hnn_opts *o, int field, int32_t def);
float hnn_opt_f32(const hnn_opts *o, int field, float def);

/* Services of the interpreter for ops that manage graph-level state. */
/* Zeroed, 8-byte aligned memory that lives as long as the model (at
 * prepare and place only); NULL when the arena is too small (recorded). */
void *hnn_persist(hnn_ctx *c, size_t bytes);
/* Runs every op of subgraph s once (CALL_ONCE). */
int hnn_run_subgraph(hnn_ctx *c, int32_t s);
int hnn_num_subgraphs(const hnn_ctx *c);

/* Record a load-time failure with a static message; returns err. */
int hnn_fail(hnn_ctx *c, int err, const char *msg);

#define HNN_CHECK(c, cond, err, msg) \
    do { if (!(cond)) return hnn_fail((c), (err), (msg)); } while (0)

/* Kernel registry (kernels/registry.c): builtin code -> kernel, or NULL. */
const hnn_kernel *hnn_kernel_for(int32_t builtin_code);
const char *hnn_op_name(int32_t builtin_code);

/* Builtin operator codes used here (schema.fbs BuiltinOperator). */
enum {
    HNN_OP_ADD = 0, HNN_OP_AVERAGE_POOL_2D = 1, HNN_OP_CONCATENATION = 2,
    HNN_OP_CONV_2D = 3, HNN_OP_DEPTHWISE_CONV_2D = 4, HNN_OP_DEQUANTIZE = 6,
    HNN_OP_FULLY_CONNECTED = 9, HNN_OP_LOGISTIC = 14, HNN_OP_MAX_POOL_2D = 17,
    HNN_OP_MUL = 18, HNN_OP_RESHAPE = 22, HNN_OP_SOFTMAX = 25,
    HNN_OP_MEAN = 40, HNN_OP_STRIDED_SLICE = 45, HNN_OP_QUANTIZE = 114,
    HNN_OP_SPLIT_V = 102, HNN_OP_CALL_ONCE = 129, HNN_OP_VAR_HANDLE = 142,
    HNN_OP_READ_VARIABLE = 143, HNN_OP_ASSIGN_VARIABLE = 144
};

/* Fused activation (schema ActivationFunctionType). */
enum { HNN_ACT_NONE = 0, HNN_ACT_RELU = 1, HNN_ACT_RELU_N1_TO_1 = 2, HNN_ACT_RELU6 = 3 };
/* Padding (schema Padding). */
enum { HNN_PAD_SAME = 0, HNN_PAD_VALID = 1 };

#endif /* HEARTH_KERNEL_H */
