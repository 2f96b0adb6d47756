/*
 * hearth/nn.h - int8 TFLite Micro-compatible inference runtime (public API).
 *
 * The caller owns every byte: the model buffer (read in place, never copied,
 * must stay alive and 4-byte aligned) and the arena (persistent state,
 * activations, scratch and the runtime structs themselves). No heap is used.
 *
 *   size_t bound;
 *   hnn_arena_bytes(buf, len, 0, &bound);         // safe upper bound
 *   hnn_model *m;
 *   hnn_init(&m, buf, len, arena, bound, 0);       // HNN_E_ARENA if too small
 *   size_t exact = hnn_arena_used(m);              // init into exactly this works
 *   memcpy(hnn_tensor_data(m, hnn_input(m, 0)), x, n);
 *   hnn_invoke(m);                                 // one streaming step
 *   hnn_reset(m);                                  // back to the initial state
 */
#ifndef HEARTH_NN_H
#define HEARTH_NN_H

#include <stddef.h>
#include <stdint.h>

#include "hearth/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The module's errors: 0 = ok, negative = error, in the hnn range of
 * hearth/status.h (hearth_errname() names any code). */
typedef enum {
    HNN_OK = 0,
    HNN_E_ARG = -HEARTH_STATUS_NN - 1,    /* NULL pointer or out-of-range argument */
    HNN_E_TRUNCATED = -HEARTH_STATUS_NN - 2,   /* buffer shorter than a structure it claims */
    HNN_E_BAD_OFFSET = -HEARTH_STATUS_NN - 3,  /* offset, length or index outside the buffer */
    HNN_E_BAD_MODEL = -HEARTH_STATUS_NN - 4,   /* structurally invalid (missing fields, bad version) */
    HNN_E_UNSUPPORTED_OP = -HEARTH_STATUS_NN - 5,
    HNN_E_UNSUPPORTED_TYPE = -HEARTH_STATUS_NN - 6,
    HNN_E_SHAPE = -HEARTH_STATUS_NN - 7,       /* shapes or ranks inconsistent with the op */
    HNN_E_QUANT = -HEARTH_STATUS_NN - 8,       /* missing or invalid quantization parameters */
    HNN_E_GRAPH = -HEARTH_STATUS_NN - 9,       /* dangling/cyclic tensor references, bad subgraph */
    HNN_E_ARENA = -HEARTH_STATUS_NN - 10,      /* arena too small */
    HNN_E_LIMIT = -HEARTH_STATUS_NN - 11,      /* a compile-time limit (HNN_MAX_*) exceeded */
    HNN_E_ALIGN = -HEARTH_STATUS_NN - 12,      /* model buffer or arena misaligned */
    HNN_E_RUNTIME = -HEARTH_STATUS_NN - 13     /* failure during invoke */
} hnn_status;

const char *hnn_strerror(int err);    /* "HNN_E_ARENA: arena too small (...)" */

/* Flags for hnn_init / hnn_arena_bytes. */
#define HNN_PRESERVE_ALL 0x1u  /* every tensor gets its own memory (parity/debug) */

/* Tensor element types (values match the TFLite schema TensorType). */
enum {
    HNN_FLOAT32 = 0, HNN_INT32 = 2, HNN_UINT8 = 3, HNN_INT64 = 4,
    HNN_BOOL = 6, HNN_INT16 = 7, HNN_INT8 = 9, HNN_RESOURCE = 13
};

typedef struct hnn_model hnn_model;

typedef struct {
    int32_t type;          /* HNN_INT8, ... */
    int32_t ndim;
    int32_t dims[6];
    int32_t bytes;
    float scale;           /* first (or only) scale; 0 if not quantized */
    int32_t zero_point;
} hnn_tensor_info;

/* A safe upper bound on the arena hnn_init needs, from the model alone. The
 * exact figure is hnn_arena_used() after init: an arena of exactly that size
 * works, and anything smaller fails cleanly with HNN_E_ARENA. */
int hnn_arena_bytes(const uint8_t *buf, size_t len, unsigned flags, size_t *out);

/* Parse, validate, plan and prepare. On HNN_E_ARENA *out is NULL. */
int hnn_init(hnn_model **out, const uint8_t *buf, size_t len,
             void *arena, size_t arena_size, unsigned flags);

/* Where and why the last failure happened, as text into buf (n bytes,
 * always NUL-terminated): "subgraph 0 op 3 TANH: operator not supported".
 * Kept per instance, never in a global: hnn_init_detail after hnn_init
 * failed into `arena` (read it before reusing that arena), hnn_detail after
 * a failed invoke or reset of m. The text may quote the model buffer (a
 * custom op's name): read it while that buffer is alive. Return the length
 * written. hnn_arena_bytes keeps no detail (it has no memory of its own). */
int hnn_init_detail(const void *arena, size_t arena_size, char *buf, size_t n);
int hnn_detail(const hnn_model *m, char *buf, size_t n);
#define HNN_DETAIL_MAX 160    /* enough for any detail text */

int hnn_invoke(hnn_model *m);
int hnn_reset(hnn_model *m);       /* variables back to initial state (re-runs CALL_ONCE) */

int hnn_num_inputs(const hnn_model *m);
int hnn_num_outputs(const hnn_model *m);
int hnn_input(const hnn_model *m, int i);   /* tensor index, or negative error */
int hnn_output(const hnn_model *m, int i);
int hnn_num_tensors(const hnn_model *m);    /* main subgraph */
int hnn_tensor_info_get(const hnn_model *m, int t, hnn_tensor_info *info);
/* Current bytes of tensor t (NULL if it has no memory, e.g. RESOURCE). In the
 * default (reusing) plan, only inputs, outputs and constants are stable
 * between invokes; use HNN_PRESERVE_ALL to read intermediates. */
void *hnn_tensor_data(hnn_model *m, int t);
size_t hnn_arena_used(const hnn_model *m);

#ifdef __cplusplus
}
#endif
#endif /* HEARTH_NN_H */
