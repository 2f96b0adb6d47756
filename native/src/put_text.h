/*
 * put_text.h - append a string to a caller's text buffer, truncating and
 * always NUL-terminating (failure details: interp.c, detector.c).
 */
#ifndef HEARTH_PUT_TEXT_H
#define HEARTH_PUT_TEXT_H

#include <stddef.h>

/* s appended at buf[at] (buf holds n >= 1 bytes); returns the new length. */
static inline size_t hearth_put_text(char *buf, size_t n, size_t at, const char *s)
{
    while (s && *s && at + 1 < n)
        buf[at++] = *s++;
    buf[at] = 0;
    return at;
}

#endif /* HEARTH_PUT_TEXT_H */
