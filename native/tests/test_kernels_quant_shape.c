/*
 * Kernels B (MEAN, LOGISTIC, SOFTMAX, QUANTIZE, DEQUANTIZE, STRIDED_SLICE,
 * CONCATENATION, SPLIT_V) replay the golden single-op vectors in
 * tests/golden/ops_b (written by `python -m hearth_tools.golden_b`, same
 * format as kernels A's tests/golden/ops): each model runs through
 * hnn_init/hnn_invoke and every output byte must equal what TFLite Micro
 * computed. No Python; the same binary runs natively and under qemu, which
 * checks that the float paths (QUANTIZE's x86 cast emulation, DEQUANTIZE)
 * give the oracle's bytes on ARM too.
 */
#include <string.h>

#include "golden_ops.h"

int main(int argc, char **argv)
{
    golden_run(argc > 1 && strlen(argv[1]) < 400 ? argv[1] : "tests/golden/ops_b", argc > 1 ? 1 : 30);
    return UNIT_DONE();
}
