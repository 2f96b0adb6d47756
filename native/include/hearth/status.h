/*
 * hearth/status.h - status codes of every native module, and their names.
 *
 * 0 is success, a negative value an error. Each module owns a range of a
 * hundred codes, so a code alone says where it came from and what it means:
 *
 *   module                          range          enum (its header)
 *   hnn  inference runtime          -101 .. -199   hnn_status  (hearth/nn.h)
 *   hdet wake-word detector         -201 .. -299   hdet_status (hearth/detector.h)
 *   hfe  audio frontend             -301 .. -399   hfe_status  (hearth/frontend.h)
 *   hbd  per-block audio work       -401 .. -499   hbd_status  (hearth/blockdsp.h)
 *
 * One table (native/src/status.c) names every code; the module *_strerror
 * functions read the same table, so all of them answer in one style.
 */
#ifndef HEARTH_STATUS_H
#define HEARTH_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

#define HEARTH_OK 0
#define HEARTH_STATUS_NN 100
#define HEARTH_STATUS_DET 200
#define HEARTH_STATUS_FE 300
#define HEARTH_STATUS_BD 400
#define HEARTH_STATUS_SPAN 100    /* codes per module */

/* "HNN_E_ARENA"; "HEARTH_E_UNKNOWN" for a code no module defines. */
const char *hearth_errname(int status);
/* "HNN_E_ARENA: arena too small (hnn_arena_used() bytes are needed)". */
const char *hearth_strerror(int status);
/* The module base a code belongs to (HEARTH_STATUS_NN, ...), 0 for success
 * or a code outside every range. */
int hearth_status_module(int status);

#ifdef __cplusplus
}
#endif
#endif /* HEARTH_STATUS_H */
