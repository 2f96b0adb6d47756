/*
 * The quantization and shape kernels (MEAN, LOGISTIC, SOFTMAX, QUANTIZE,
 * DEQUANTIZE, STRIDED_SLICE, CONCATENATION, SPLIT_V) replay the golden
 * single-op vectors in tests/golden/ops_quant_shape (written by
 * `python -m hearth_tools.testing.golden_quant_shape`, same format as
 * tests/golden/ops_conv): each model runs through
 * hnn_init/hnn_invoke and every output byte must equal what TFLite Micro
 * computed. No Python; the same binary runs natively and under qemu, which
 * checks that the float paths (QUANTIZE's x86 cast emulation, DEQUANTIZE)
 * give the oracle's bytes on ARM too.
 */
#include <string.h>

#include "golden_ops.h"

int main(int argc, char **argv)
{
    golden_run(argc > 1 && strlen(argv[1]) < 400 ? argv[1] : "tests/golden/ops_quant_shape", argc > 1 ? 1 : 30);
    return UNIT_DONE();
}
