/*
 * Hostile sizes through the public API (models in tests/golden/hostile, made
 * by native/tests/make_hostile_models.py): plans larger than the arena, plans
 * whose offsets would reach the model-pointer flag, a constant model input.
 * Every one must fail cleanly at init, never load and touch foreign memory.
 */
#define _DEFAULT_SOURCE 1      /* mmap's MAP_ANONYMOUS under -std=c99 */
#include <stdint.h>
#include <sys/mman.h>

#include "hearth/detector.h"
#include "hearth/nn.h"
#include "unit.h"

static uint64_t arena_mem[(1 << 20) / 8];     /* 1 MiB */

static unsigned char *load(const char *name, size_t *len)
{
    char path[256];
    snprintf(path, sizeof path, "tests/golden/hostile/%s.tflite", name);
    unsigned char *buf = unit_read_file(path, len);
    if (!buf) {
        fprintf(stderr, "%s missing: run native/tests/make_hostile_models.py\n", path);
        unit_fail++;
    }
    return buf;
}

/* Every tensor with memory lies inside [arena, arena + size). */
static int tensors_inside(hnn_model *m, const void *arena, size_t size)
{
    const uint8_t *lo = (const uint8_t *)arena, *hi = lo + size;
    for (int t = 0; t < hnn_num_tensors(m); t++) {
        hnn_tensor_info info;
        const uint8_t *p = (const uint8_t *)hnn_tensor_data(m, t);
        if (!p || hnn_tensor_info_get(m, t, &info) != HNN_OK)
            continue;
        if (p < lo || p > hi || (size_t)(hi - p) < (size_t)info.bytes)
            return 0;
    }
    return 1;
}

/* 4 x 1 GiB live at once: the plan total wraps to 0 in 32 bits. */
static void test_plan_wraps(void)
{
    size_t len = 0;
    unsigned char *buf = load("four_gib_plan", &len);
    if (!buf)
        return;
    hnn_model *m = (hnn_model *)1;
    CHECK_EQ_INT(hnn_init(&m, buf, len, arena_mem, sizeof arena_mem, 0), HNN_E_ARENA);
    CHECK(m == NULL);
    CHECK_EQ_INT(hnn_init(&m, buf, len, arena_mem, sizeof arena_mem, HNN_PRESERVE_ALL), HNN_E_ARENA);
    size_t bound = 0;
    CHECK(hnn_arena_bytes(buf, len, 0, &bound) < 0);   /* more than 2 GiB */

    /* the detector relies on the runtime alone to refuse it */
    size_t need = 0;
    hdet *d = NULL;
    static uint64_t det_mem[(256 << 10) / 8];
    CHECK_EQ_INT(hdet_bytes(&need), HDET_OK);
    CHECK(need <= sizeof det_mem);
    CHECK_EQ_INT(hdet_init(&d, det_mem, sizeof det_mem), HDET_OK);
    hdet_model_config cfg = {0.5, 3, 0};
    int idx = -1;
    CHECK_EQ_INT(hdet_add_model(d, buf, len, arena_mem, sizeof arena_mem, &cfg, &idx), HDET_E_NN);
    CHECK_EQ_INT(hdet_nn_status(d), HNN_E_ARENA);
    CHECK_EQ_INT(hdet_num_models(d), 0);
    free(buf);
}

/* 3 x 1 GiB in an arena that really is 3.5 GiB (reserved, never touched):
 * arena offsets of 2^31 and up would read as model-buffer offsets. */
static void test_offsets_below_flag(void)
{
    if (sizeof(void *) < 8)
        return;    /* a 32-bit process has no such arena */
    size_t len = 0;
    unsigned char *buf = load("three_gib_plan", &len);
    if (!buf)
        return;
    size_t size = (size_t)7 << 29;
    void *arena = mmap(NULL, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (arena == MAP_FAILED) {
        fprintf(stderr, "skipped: cannot reserve 3.5 GiB of address space\n");
        free(buf);
        return;
    }
    hnn_model *m = NULL;
    int rc = hnn_init(&m, buf, len, arena, size, 0);
    CHECK(rc == HNN_E_ARENA || rc == HNN_OK);
    if (rc == HNN_OK)
        CHECK(tensors_inside(m, arena, size));
    munmap(arena, size);
    free(buf);
}

/* A model input that is a constant: writing the input would write the model. */
static void test_const_input(void)
{
    size_t len = 0;
    unsigned char *buf = load("const_input", &len);
    if (!buf)
        return;
    hnn_model *m = NULL;
    CHECK_EQ_INT(hnn_init(&m, buf, len, arena_mem, sizeof arena_mem, 0), HNN_E_GRAPH);
    CHECK(m == NULL);
    free(buf);
}

int main(void)
{
    test_plan_wraps();
    test_offsets_below_flag();
    test_const_input();
    return UNIT_DONE();
}
