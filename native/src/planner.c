#include "planner.h"

static uint32_t align_up(uint32_t x, uint32_t a)
{
    return (x + a - 1u) / a * a;
}

static int live_together(const hnn_plan_buf *a, const hnn_plan_buf *b)
{
    return a->first <= b->last && b->first <= a->last;
}

size_t hnn_plan_linear(hnn_plan_buf *b, uint32_t n, uint32_t align)
{
    uint32_t at = 0;
    for (uint32_t i = 0; i < n; i++) {
        b[i].off = at;
        at = align_up(at + b[i].size, align);
    }
    return at;
}

size_t hnn_plan_greedy(hnn_plan_buf *b, uint32_t n, uint32_t align)
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
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t cand = 0;
        int moved = 1;
        /* slide past every placed, simultaneously live buffer we overlap;
         * each pass only moves up, so this terminates */
        while (moved) {
            moved = 0;
            for (uint32_t j = 0; j < i; j++) {
                if (!live_together(&b[i], &b[j]))
                    continue;
                uint32_t end_j = b[j].off + b[j].size;
                if (cand < end_j && b[j].off < cand + b[i].size) {
                    cand = align_up(end_j, align);
                    moved = 1;
                }
            }
        }
        b[i].off = cand;
        if ((size_t)cand + b[i].size > total)
            total = (size_t)cand + b[i].size;
    }
    return align_up((uint32_t)total, align);
}
