/*
 * bench_invoke MODEL INPUTS.bin REPEATS - C-level per-step time of hnn_invoke.
 * INPUTS.bin holds consecutive input tensors (one per step). Prints one JSON
 * line: {"steps": n, "ns_per_step_median": x, "arena_bytes": y}.
 * Built and run by `hearth bench runtime`; not part of the library.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hearth/nn.h"

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;
    if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
        return NULL;
    buf = malloc((size_t)n + 8);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    size_t mlen, ilen, bound;
    hnn_model *m;
    int rc;
    if (argc != 4) {
        fprintf(stderr, "usage: bench_invoke MODEL INPUTS.bin REPEATS\n");
        return 2;
    }
    unsigned char *model = slurp(argv[1], &mlen), *inputs = slurp(argv[2], &ilen);
    int repeats = atoi(argv[3]);
    if (!model || !inputs || repeats < 1) {
        fprintf(stderr, "cannot read inputs\n");
        return 2;
    }
    if ((rc = hnn_arena_bytes(model, mlen, 0, &bound)) != 0) {
        fprintf(stderr, "%s\n", hnn_strerror(rc));
        return 1;
    }
    void *arena = malloc(bound);
    rc = hnn_init(&m, model, mlen, arena, bound, 0);
    if (rc) {
        char why[HNN_DETAIL_MAX];
        hnn_init_detail(arena, bound, why, sizeof why);
        fprintf(stderr, "%s (%s)\n", hnn_strerror(rc), why);
        return 1;
    }
    hnn_tensor_info info;
    int t = hnn_input(m, 0);
    hnn_tensor_info_get(m, t, &info);
    size_t in_bytes = (size_t)info.bytes, steps = ilen / in_bytes;
    uint8_t *dst = hnn_tensor_data(m, t);
    double *per = malloc(sizeof(double) * (size_t)repeats);
    for (int r = 0; r < repeats; r++) {
        hnn_reset(m);
        double t0 = now_ns();
        for (size_t s = 0; s < steps; s++) {
            memcpy(dst, inputs + s * in_bytes, in_bytes);
            hnn_invoke(m);
        }
        per[r] = (now_ns() - t0) / (double)steps;
    }
    qsort(per, (size_t)repeats, sizeof(double), cmp);
    printf("{\"steps\": %zu, \"ns_per_step_median\": %.1f, \"arena_bytes\": %zu}\n",
           steps, per[repeats / 2], hnn_arena_used(m));
    return 0;
}
