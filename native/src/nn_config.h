/*
 * nn_config.h - compile-time limits and options of the inference runtime.
 * Override with -D on the compiler command line.
 */
#ifndef HEARTH_NN_CONFIG_H
#define HEARTH_NN_CONFIG_H

#ifndef HNN_MAX_DIMS
#define HNN_MAX_DIMS 6          /* highest tensor rank accepted */
#endif
#ifndef HNN_MAX_SUBGRAPHS
#define HNN_MAX_SUBGRAPHS 8
#endif
#ifndef HNN_MAX_TENSORS
#define HNN_MAX_TENSORS 4096     /* per subgraph */
#endif
#ifndef HNN_MAX_OPS
#define HNN_MAX_OPS 4096         /* per subgraph */
#endif
#ifndef HNN_MAX_OP_IO
#define HNN_MAX_OP_IO 64         /* inputs or outputs of one op */
#endif
#ifndef HNN_MAX_TENSOR_BYTES
#define HNN_MAX_TENSOR_BYTES (1u << 30)   /* one tensor; sums are 64-bit */
#endif
#ifndef HNN_MAX_RESOURCES
#define HNN_MAX_RESOURCES 64     /* resource variables per model */
#endif

/* TFLite's TFLITE_SINGLE_ROUNDING: 0 = the default double rounding of
 * MultiplyByQuantizedMultiplier (what the tflite-micro wheel uses). */
#ifndef HNN_SINGLE_ROUNDING
#define HNN_SINGLE_ROUNDING 0
#endif
#if HNN_SINGLE_ROUNDING != 0 && HNN_SINGLE_ROUNDING != 1
#error "HNN_SINGLE_ROUNDING must be 0 or 1"
#endif
#if HNN_MAX_TENSOR_BYTES > (1u << 30)
#error "HNN_MAX_TENSOR_BYTES above 1 GiB: tensor sizes are int32 and arena offsets below 2^31"
#endif
#if HNN_MAX_DIMS < 4
#error "HNN_MAX_DIMS must be at least 4 (NHWC kernels)"
#endif

#ifdef NDEBUG
#define HNN_ASSERT(x) ((void)0)
#else
#include <assert.h>
#define HNN_ASSERT(x) assert(x)
#endif

#endif /* HEARTH_NN_CONFIG_H */
