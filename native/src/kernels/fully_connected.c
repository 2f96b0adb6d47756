/* placeholder until the kernel lands; refuses the op at load */
#include "../kernel.h"
static int refuse(hnn_ctx *c) { return hnn_fail(c, HNN_E_UNSUPPORTED_OP, "kernel not built yet"); }
const hnn_kernel hnn_k_fully_connected = {"FULLY_CONNECTED", refuse, refuse};
