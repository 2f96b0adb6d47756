/*
 * planner.h - offline memory planning for activations (greedy by size).
 *
 * Each buffer is live from op `first` to op `last` inclusive; two buffers
 * may share bytes only if their lifetimes do not overlap. Larger buffers are
 * placed first, each at the lowest aligned offset that does not collide
 * with an already placed buffer alive at the same time (TFLM's
 * GreedyMemoryPlanner strategy).
 */
#ifndef HEARTH_PLANNER_H
#define HEARTH_PLANNER_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t size;
    uint32_t first, last;
    uint32_t off;        /* result */
    int32_t id;          /* caller's tag (tensor index) */
} hnn_plan_buf;

#define HNN_PLAN_WORK_PER_TENSOR (sizeof(hnn_plan_buf))

/* Offsets stay below 2^31: arena offsets share a uint32 with the
 * model-buffer flag (HNN_TOFF_MODEL in interp.h). */
#define HNN_PLAN_MAX 0x7ffffff8u

/* Greedy placement; reorders b[]. Returns the bytes the plan spans,
 * computed without overflow. A result above HNN_PLAN_MAX means the plan
 * cannot be placed (the offsets are then meaningless): callers compare the
 * result with the memory they have, which is never more. */
uint64_t hnn_plan_greedy(hnn_plan_buf *b, uint32_t n, uint32_t align);
/* Every buffer its own bytes (no sharing): HNN_PRESERVE_ALL. */
uint64_t hnn_plan_linear(hnn_plan_buf *b, uint32_t n, uint32_t align);

struct hnn_model;
/* Plan the activations of every subgraph into the arena past m->top (each
 * subgraph its own region: CALL_ONCE runs one inside another's invoke) and
 * point the tensors at them; m->top moves past the plan. *peak is the
 * highest arena byte used, the planner's workspace included (it overlaps
 * the plan while it is computed). */
int hnn_plan_model(struct hnn_model *m, size_t *peak);

#endif /* HEARTH_PLANNER_H */
