/*
 * Status codes and failure detail: every module's codes in its own range and
 * distinct from every other module's, one name/text table in one style, and
 * the detail of a failure kept per instance (two failed loads do not
 * overwrite each other's explanation).
 */
#include <stdint.h>
#include <string.h>

#include "hearth/blockdsp.h"
#include "hearth/detector.h"
#include "hearth/frontend.h"
#include "hearth/nn.h"
#include "hearth/status.h"
#include "unit.h"

static const struct { int code, module; const char *name; } codes[] = {
#define C(code, module) {code, module, #code}
    C(HNN_E_ARG, HEARTH_STATUS_NN), C(HNN_E_TRUNCATED, HEARTH_STATUS_NN),
    C(HNN_E_BAD_OFFSET, HEARTH_STATUS_NN), C(HNN_E_BAD_MODEL, HEARTH_STATUS_NN),
    C(HNN_E_UNSUPPORTED_OP, HEARTH_STATUS_NN), C(HNN_E_UNSUPPORTED_TYPE, HEARTH_STATUS_NN),
    C(HNN_E_SHAPE, HEARTH_STATUS_NN), C(HNN_E_QUANT, HEARTH_STATUS_NN),
    C(HNN_E_GRAPH, HEARTH_STATUS_NN), C(HNN_E_ARENA, HEARTH_STATUS_NN),
    C(HNN_E_LIMIT, HEARTH_STATUS_NN), C(HNN_E_ALIGN, HEARTH_STATUS_NN),
    C(HNN_E_RUNTIME, HEARTH_STATUS_NN),
    C(HDET_E_ARG, HEARTH_STATUS_DET), C(HDET_E_MODEL, HEARTH_STATUS_DET),
    C(HDET_E_NN, HEARTH_STATUS_DET), C(HDET_E_LIMIT, HEARTH_STATUS_DET),
    C(HDET_E_CONFIG, HEARTH_STATUS_DET),
    C(HFE_E_ARG, HEARTH_STATUS_FE), C(HFE_E_CONFIG, HEARTH_STATUS_FE), C(HFE_E_MEM, HEARTH_STATUS_FE),
    C(HBD_E_ARG, HEARTH_STATUS_BD), C(HBD_E_CONFIG, HEARTH_STATUS_BD), C(HBD_E_SIZE, HEARTH_STATUS_BD),
#undef C
};
#define N_CODES (sizeof codes / sizeof codes[0])

static void test_codes(void)
{
    for (unsigned i = 0; i < N_CODES; i++) {
        const char *text = hearth_strerror(codes[i].code);
        size_t n = strlen(codes[i].name);
        CHECK(codes[i].code < 0);
        CHECK_EQ_INT(hearth_status_module(codes[i].code), codes[i].module);
        if (strcmp(hearth_errname(codes[i].code), codes[i].name) != 0)
            CHECK(!fprintf(stderr, "%s named %s\n", codes[i].name, hearth_errname(codes[i].code)));
        /* one style: "NAME: text" */
        CHECK(strncmp(text, codes[i].name, n) == 0 && text[n] == ':' && text[n + 2]);
        for (unsigned j = i + 1; j < N_CODES; j++)
            if (codes[i].code == codes[j].code)
                CHECK(!fprintf(stderr, "%s == %s\n", codes[i].name, codes[j].name));
    }
    /* the module strerrors read the same table */
    CHECK(hnn_strerror(HNN_E_ARENA) == hearth_strerror(HNN_E_ARENA));
    CHECK(hdet_strerror(HDET_E_NN) == hearth_strerror(HDET_E_NN));
    CHECK(hfe_strerror(HFE_E_MEM) == hearth_strerror(HFE_E_MEM));
    CHECK(hbd_strerror(HBD_E_SIZE) == hearth_strerror(HBD_E_SIZE));
    CHECK(strcmp(hearth_errname(-99999), "HEARTH_E_UNKNOWN") == 0);
    CHECK(strcmp(hearth_errname(HEARTH_OK), "HEARTH_OK") == 0);
    CHECK_EQ_INT(hearth_status_module(0), 0);
    CHECK_EQ_INT(hearth_status_module(-1000), 0);
}

static uint64_t arena_a[(64 << 10) / 8], arena_b[(64 << 10) / 8];

static void test_detail_per_instance(void)
{
    size_t len = 0;
    unsigned char *cin = unit_read_file("tests/golden/hostile/const_input.tflite", &len);
    static uint32_t garbage[64];
    char why[HNN_DETAIL_MAX];
    hnn_model *m = NULL;
    CHECK(cin != NULL);
    if (!cin)
        return;
    memset(garbage, 0xab, sizeof garbage);
    CHECK_EQ_INT(hnn_init(&m, cin, len, arena_a, sizeof arena_a, 0), HNN_E_GRAPH);
    CHECK(hnn_init(&m, (const uint8_t *)garbage, sizeof garbage, arena_b, sizeof arena_b, 0) < 0);
    /* the second failure did not overwrite the first one's explanation */
    CHECK(hnn_init_detail(arena_a, sizeof arena_a, why, sizeof why) > 0);
    CHECK(strstr(why, "constant") != NULL);
    hnn_init_detail(arena_b, sizeof arena_b, why, sizeof why);
    CHECK(strstr(why, "constant") == NULL && why[0]);
    /* truncated to the caller's buffer, always terminated */
    CHECK_EQ_INT(hnn_init_detail(arena_a, sizeof arena_a, why, 5), 4);
    CHECK_EQ_INT(strlen(why), 4);
    /* failures before the arena can hold anything still explain themselves */
    CHECK_EQ_INT(hnn_init(&m, cin, len, NULL, 0, 0), HNN_E_ARG);
    CHECK(hnn_init_detail(NULL, 0, why, sizeof why) > 0);
    CHECK_EQ_INT(hnn_init(&m, cin, len, (uint8_t *)arena_a + 4, 1000, 0), HNN_E_ALIGN);
    CHECK(hnn_init_detail((uint8_t *)arena_a + 4, 1000, why, sizeof why) > 0 && strstr(why, "align"));
    CHECK_EQ_INT(hnn_init(&m, cin, len, arena_a, 16, 0), HNN_E_ARENA);
    CHECK(hnn_init_detail(arena_a, 16, why, sizeof why) > 0 && strstr(why, "small"));
    CHECK_EQ_INT(hnn_detail(NULL, why, sizeof why), 0);
    free(cin);

    /* the detector keeps its own: a refused model's runtime detail */
    size_t need = 0;
    static uint64_t det_mem[(256 << 10) / 8];
    hdet *d = NULL;
    hdet_model_config cfg = {0.5, 3, 0};
    unsigned char *big = unit_read_file("tests/golden/hostile/four_gib_plan.tflite", &len);
    CHECK(big != NULL);
    if (!big)
        return;
    hdet_bytes(&need);
    CHECK_EQ_INT(hdet_init(&d, det_mem, sizeof det_mem), HDET_OK);
    CHECK_EQ_INT(hdet_detail(d, why, sizeof why), 0);
    CHECK_EQ_INT(hdet_add_model(d, big, len, arena_a, sizeof arena_a, &cfg, NULL), HDET_E_NN);
    CHECK_EQ_INT(hdet_nn_status(d), HNN_E_ARENA);
    CHECK(hdet_detail(d, why, sizeof why) > 0 && strstr(why, "arena"));
    cfg.window = HDET_MAX_WINDOW + 1;
    CHECK_EQ_INT(hdet_add_model(d, big, len, arena_a, sizeof arena_a, &cfg, NULL), HDET_E_LIMIT);
    CHECK(hdet_detail(d, why, sizeof why) > 0 && strstr(why, "HDET_MAX_WINDOW"));
    free(big);
}

int main(void)
{
    test_codes();
    test_detail_per_instance();
    return UNIT_DONE();
}
