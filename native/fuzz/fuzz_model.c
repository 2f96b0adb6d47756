/*
 * libFuzzer target: load an arbitrary byte string as a model, and if it
 * loads, run a few invokes with input bytes taken from the data and reset.
 * Built with ASan+UBSan by `make fuzz`; run with the real models as seeds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hearth/nn.h"

static uint64_t arena[(512 * 1024) / 8];
static uint64_t model[(1 << 20) / 8];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hnn_model *m = NULL;
    if (size > sizeof model)
        return 0;
    memcpy(model, data, size);   /* the runtime needs an aligned buffer */
    if (hnn_init(&m, (const uint8_t *)model, size, arena, sizeof arena, 0) != HNN_OK)
        return 0;
    for (int step = 0; step < 3; step++) {
        for (int i = 0; i < hnn_num_inputs(m); i++) {
            int t = hnn_input(m, i);
            hnn_tensor_info info;
            uint8_t *p = (uint8_t *)hnn_tensor_data(m, t);
            if (t < 0 || hnn_tensor_info_get(m, t, &info) != HNN_OK || !p)
                continue;
            for (int32_t b = 0; b < info.bytes; b++)
                p[b] = data[((size_t)b * 131u + (size_t)step) % size];
        }
        if (hnn_invoke(m) != HNN_OK)
            abort();   /* a model that loads must run */
    }
    hnn_reset(m);
    return 0;
}
