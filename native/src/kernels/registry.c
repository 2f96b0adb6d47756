/*
 * registry.c - builtin operator code -> kernel. A const table, so adding an
 * op is one line and an unknown op is refused at load time by name.
 */
#include "../interp.h"

extern const hnn_kernel hnn_k_add, hnn_k_average_pool_2d, hnn_k_concatenation,
    hnn_k_conv_2d, hnn_k_depthwise_conv_2d, hnn_k_dequantize,
    hnn_k_fully_connected, hnn_k_logistic, hnn_k_max_pool_2d, hnn_k_mul,
    hnn_k_reshape, hnn_k_softmax, hnn_k_mean, hnn_k_strided_slice,
    hnn_k_split_v, hnn_k_quantize, hnn_k_call_once, hnn_k_var_handle,
    hnn_k_read_variable, hnn_k_assign_variable;

typedef struct {
    int32_t code;
    const char *name;
    const hnn_kernel *kernel;   /* NULL: known to the schema, not supported */
} op_entry;

static const op_entry ops[] = {
    {HNN_OP_ADD, "ADD", &hnn_k_add},
    {HNN_OP_AVERAGE_POOL_2D, "AVERAGE_POOL_2D", &hnn_k_average_pool_2d},
    {HNN_OP_CONCATENATION, "CONCATENATION", &hnn_k_concatenation},
    {HNN_OP_CONV_2D, "CONV_2D", &hnn_k_conv_2d},
    {HNN_OP_DEPTHWISE_CONV_2D, "DEPTHWISE_CONV_2D", &hnn_k_depthwise_conv_2d},
    {HNN_OP_DEQUANTIZE, "DEQUANTIZE", &hnn_k_dequantize},
    {HNN_OP_FULLY_CONNECTED, "FULLY_CONNECTED", &hnn_k_fully_connected},
    {HNN_OP_LOGISTIC, "LOGISTIC", &hnn_k_logistic},
    {HNN_OP_MAX_POOL_2D, "MAX_POOL_2D", &hnn_k_max_pool_2d},
    {HNN_OP_MUL, "MUL", &hnn_k_mul},
    {HNN_OP_RESHAPE, "RESHAPE", &hnn_k_reshape},
    {HNN_OP_SOFTMAX, "SOFTMAX", &hnn_k_softmax},
    {HNN_OP_MEAN, "MEAN", &hnn_k_mean},
    {HNN_OP_STRIDED_SLICE, "STRIDED_SLICE", &hnn_k_strided_slice},
    {HNN_OP_SPLIT_V, "SPLIT_V", &hnn_k_split_v},
    {HNN_OP_QUANTIZE, "QUANTIZE", &hnn_k_quantize},
    {HNN_OP_CALL_ONCE, "CALL_ONCE", &hnn_k_call_once},
    {HNN_OP_VAR_HANDLE, "VAR_HANDLE", &hnn_k_var_handle},
    {HNN_OP_READ_VARIABLE, "READ_VARIABLE", &hnn_k_read_variable},
    {HNN_OP_ASSIGN_VARIABLE, "ASSIGN_VARIABLE", &hnn_k_assign_variable},
    /* Common ops refused by name so the error says what the model needs. */
    {5, "DEPTH_TO_SPACE", 0}, {8, "FLOOR", 0}, {19, "RELU", 0},
    {21, "RELU6", 0}, {28, "TANH", 0}, {34, "PAD", 0}, {39, "TRANSPOSE", 0},
    {41, "SUB", 0}, {42, "DIV", 0}, {43, "SQUEEZE", 0}, {53, "CAST", 0},
    {55, "MAXIMUM", 0}, {57, "MINIMUM", 0}, {70, "EXPAND_DIMS", 0},
    {74, "SUM", 0}, {98, "LEAKY_RELU", 0}, {97, "HARD_SWISH", 0},
};

static const op_entry *find(int32_t code)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (ops[i].code == code)
            return &ops[i];
    return 0;
}

int hnn_kernel_index(int32_t code)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (ops[i].code == code)
            return ops[i].kernel ? (int)i : -1;
    return -1;
}

const hnn_kernel *hnn_kernel_at(unsigned idx)
{
    return idx < sizeof ops / sizeof ops[0] ? ops[idx].kernel : 0;
}

int32_t hnn_kernel_code(unsigned idx)
{
    return idx < sizeof ops / sizeof ops[0] ? ops[idx].code : -1;
}

const hnn_kernel *hnn_kernel_for(int32_t code)
{
    const op_entry *e = find(code);
    return e ? e->kernel : 0;
}

const char *hnn_op_name(int32_t code)
{
    const op_entry *e = find(code);
    return e ? e->name : "UNKNOWN_OP";
}
