/* status.c - the name and text of every native status code, in one table. */
#include "hearth/blockdsp.h"
#include "hearth/detector.h"
#include "hearth/frontend.h"
#include "hearth/nn.h"
#include "hearth/status.h"

/* name and "name: text" from one literal each, so they cannot disagree */
#define S(code, text) {code, #code, #code ": " text}

static const struct {
    int code;
    const char *name;
    const char *text;
} table[] = {
    S(HEARTH_OK, "success"),

    S(HNN_E_ARG, "invalid argument (NULL pointer or index out of range)"),
    S(HNN_E_TRUNCATED, "model truncated (a structure runs past the end of the buffer)"),
    S(HNN_E_BAD_OFFSET, "offset, length or index outside the model"),
    S(HNN_E_BAD_MODEL, "not a TFLite model (bad structure or schema version)"),
    S(HNN_E_UNSUPPORTED_OP, "unsupported operator (docs/KERNELS.md lists the supported ones)"),
    S(HNN_E_UNSUPPORTED_TYPE, "unsupported tensor type (the runtime is int8 with int16/int32 helpers)"),
    S(HNN_E_SHAPE, "invalid tensor shape"),
    S(HNN_E_QUANT, "invalid quantization parameters"),
    S(HNN_E_GRAPH, "invalid graph (dangling, cyclic or out-of-range tensor references)"),
    S(HNN_E_ARENA, "arena too small (give at least hnn_arena_bytes())"),
    S(HNN_E_LIMIT, "compile-time limit exceeded (HNN_MAX_* in nn_config.h)"),
    S(HNN_E_ALIGN, "misaligned model or arena (model 4-byte, arena 8-byte aligned)"),
    S(HNN_E_RUNTIME, "operator failed during invoke"),

    S(HDET_E_ARG, "bad argument (NULL, index, memory size or alignment)"),
    S(HDET_E_MODEL, "not a streaming wake-word model (needs int8 input [1, stride, 40] and a one-value uint8/int8 output)"),
    S(HDET_E_NN, "the inference runtime failed (hdet_nn_status() and hdet_detail() say why)"),
    S(HDET_E_LIMIT, "too many models or sliding window too long (HDET_MAX_MODELS, HDET_MAX_WINDOW)"),
    S(HDET_E_CONFIG, "cutoff, window or refractory period out of range"),

    S(HFE_E_ARG, "NULL pointer or misaligned memory"),
    S(HFE_E_CONFIG, "configuration out of the supported range"),
    S(HFE_E_MEM, "memory block smaller than hfe_state_bytes()"),

    S(HBD_E_ARG, "NULL pointer"),
    S(HBD_E_CONFIG, "configuration out of the supported range"),
    S(HBD_E_SIZE, "block has more than HBD_MAX_FRAMES frames"),
};

static int find(int status)
{
    for (unsigned i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].code == status)
            return (int)i;
    return -1;
}

const char *hearth_errname(int status)
{
    int i = find(status);
    return i < 0 ? "HEARTH_E_UNKNOWN" : table[i].name;
}

const char *hearth_strerror(int status)
{
    int i = find(status);
    return i < 0 ? "HEARTH_E_UNKNOWN: unknown status code" : table[i].text;
}

int hearth_status_module(int status)
{
    if (status >= 0 || status <= -(HEARTH_STATUS_BD + HEARTH_STATUS_SPAN))
        return 0;
    return -status / HEARTH_STATUS_SPAN * HEARTH_STATUS_SPAN;
}

const char *hnn_strerror(int err) { return hearth_strerror(err); }
const char *hdet_strerror(int err) { return hearth_strerror(err); }
const char *hfe_strerror(int err) { return hearth_strerror(err); }
const char *hbd_strerror(int err) { return hearth_strerror(err); }
