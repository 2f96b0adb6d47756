/*
 * unit.h - a minimal C test harness: CHECK records failures and keeps going,
 * UNIT_MAIN prints "N passed, N failed" and sets the exit code.
 */
#ifndef HEARTH_UNIT_H
#define HEARTH_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_pass, unit_fail;

#define CHECK(cond) do { \
    if (cond) unit_pass++; \
    else { unit_fail++; fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECK_EQ_INT(a, b) do { \
    long long _a = (long long)(a), _b = (long long)(b); \
    if (_a == _b) unit_pass++; \
    else { unit_fail++; fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", \
                                __FILE__, __LINE__, #a, _a, #b, _b); } \
} while (0)

#define UNIT_DONE() (printf("%d passed, %d failed\n", unit_pass, unit_fail), unit_fail ? 1 : 0)

/* Read a whole file into a malloc'd buffer (malloc aligns to at least 8 bytes). */
static unsigned char *unit_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = (unsigned char *)malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

#endif /* HEARTH_UNIT_H */
