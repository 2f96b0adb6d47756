#include "planner.h"

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
