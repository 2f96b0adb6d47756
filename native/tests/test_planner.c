/* Memory planner: sharing by lifetime, alignment, no overlap of live buffers. */
#include "planner.h"
#include "unit.h"

static int overlaps(const hnn_plan_buf *a, const hnn_plan_buf *b)
{
    int time = a->first <= b->last && b->first <= a->last;
    int addr = a->off < b->off + b->size && b->off < a->off + a->size;
    return time && addr;
}

static void check_valid(hnn_plan_buf *b, unsigned n, uint64_t total)
{
    for (unsigned i = 0; i < n; i++) {
        CHECK(b[i].off % 8 == 0);
        CHECK((uint64_t)b[i].off + b[i].size <= total);
        for (unsigned j = i + 1; j < n; j++)
            CHECK(!overlaps(&b[i], &b[j]));
    }
}

int main(void)
{
    /* a chain a->b->c: a and c never live together, so they share */
    hnn_plan_buf chain[3] = {
        {100, 0, 1, 0, 0}, {50, 1, 2, 0, 1}, {100, 2, 3, 0, 2},
    };
    uint64_t total = hnn_plan_greedy(chain, 3, 8);
    check_valid(chain, 3, total);
    CHECK_EQ_INT(total, 160);   /* 100 (a or c) + 56 (b, aligned) -> 160 */

    /* all live at once: no sharing possible */
    hnn_plan_buf all[4] = {
        {10, 0, 5, 0, 0}, {20, 0, 5, 0, 1}, {30, 0, 5, 0, 2}, {40, 0, 5, 0, 3},
    };
    total = hnn_plan_greedy(all, 4, 8);
    check_valid(all, 4, total);
    CHECK_EQ_INT(total, 40 + 32 + 24 + 16);

    /* linear plan: sum of aligned sizes, in order */
    hnn_plan_buf lin[3] = {{3, 0, 0, 0, 0}, {9, 1, 1, 0, 1}, {1, 2, 2, 0, 2}};
    total = hnn_plan_linear(lin, 3, 8);
    CHECK_EQ_INT(total, 8 + 16 + 8);
    CHECK_EQ_INT(lin[1].off, 8);

    /* hostile sizes: 4 x 1 GiB live at once spans 4 GiB, a total that must
     * not wrap in 32 bits (it came out as 0); anything past HNN_PLAN_MAX is
     * reported as such (a size near 2^32 made the old greedy loop forever) */
    hnn_plan_buf big[4], big_lin[4];
    for (unsigned i = 0; i < 4; i++) {
        hnn_plan_buf x = {1u << 30, 0, 0, 0, (int32_t)i};
        big[i] = big_lin[i] = x;
    }
    CHECK(hnn_plan_greedy(big, 4, 8) > HNN_PLAN_MAX);
    CHECK(hnn_plan_linear(big_lin, 4, 8) > HNN_PLAN_MAX);
    CHECK(hnn_plan_greedy(big, 2, 8) > HNN_PLAN_MAX);   /* 2 GiB: offset 2^31 */
    CHECK_EQ_INT(hnn_plan_greedy(big, 1, 8), 1u << 30);
    {
        hnn_plan_buf odd[2] = {{0xfffffff9u, 0, 0, 0, 0}, {16, 0, 0, 0, 1}};
        CHECK(hnn_plan_greedy(odd, 2, 8) > HNN_PLAN_MAX);
    }

    /* random graphs: the plan is always valid and never worse than linear */
    unsigned seed = 12345;
    for (int round = 0; round < 500; round++) {
        hnn_plan_buf b[40], c[40];
        unsigned n = 1 + round % 40;
        for (unsigned i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned first = (seed >> 8) % 30;
            seed = seed * 1103515245u + 12345u;
            unsigned len = (seed >> 8) % 10;
            seed = seed * 1103515245u + 12345u;
            b[i].size = 1 + (seed >> 8) % 300;
            b[i].first = first;
            b[i].last = first + len;
            b[i].off = 0;
            b[i].id = (int)i;
            c[i] = b[i];
        }
        uint64_t g = hnn_plan_greedy(b, n, 8);
        uint64_t l = hnn_plan_linear(c, n, 8);
        check_valid(b, n, g);
        CHECK(g <= l);
    }
    return UNIT_DONE();
}
