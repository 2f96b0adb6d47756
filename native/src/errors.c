/* errors.c - names and messages of hnn_status, as a table */
#include "hearth/nn.h"

static const struct {
    int code;
    const char *name;
    const char *text;
} errors[] = {
    {HNN_OK, "HNN_OK", "ok"},
    {HNN_E_ARG, "HNN_E_ARG", "invalid argument"},
    {HNN_E_TRUNCATED, "HNN_E_TRUNCATED", "model truncated"},
    {HNN_E_BAD_OFFSET, "HNN_E_BAD_OFFSET", "offset, length or index outside the model"},
    {HNN_E_BAD_MODEL, "HNN_E_BAD_MODEL", "invalid model structure"},
    {HNN_E_UNSUPPORTED_OP, "HNN_E_UNSUPPORTED_OP", "unsupported operator"},
    {HNN_E_UNSUPPORTED_TYPE, "HNN_E_UNSUPPORTED_TYPE", "unsupported tensor type"},
    {HNN_E_SHAPE, "HNN_E_SHAPE", "invalid tensor shape"},
    {HNN_E_QUANT, "HNN_E_QUANT", "invalid quantization parameters"},
    {HNN_E_GRAPH, "HNN_E_GRAPH", "invalid graph (dangling, cyclic or out-of-range tensor references)"},
    {HNN_E_ARENA, "HNN_E_ARENA", "arena too small"},
    {HNN_E_LIMIT, "HNN_E_LIMIT", "compile-time limit exceeded"},
    {HNN_E_ALIGN, "HNN_E_ALIGN", "misaligned model or arena"},
    {HNN_E_RUNTIME, "HNN_E_RUNTIME", "operator failed during invoke"},
};

static int find(int err)
{
    for (unsigned i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if (errors[i].code == err)
            return (int)i;
    return -1;
}

const char *hnn_errname(int err)
{
    int i = find(err);
    return i < 0 ? "HNN_E_UNKNOWN" : errors[i].name;
}

const char *hnn_strerror(int err)
{
    int i = find(err);
    return i < 0 ? "unknown error" : errors[i].text;
}
