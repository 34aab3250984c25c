/* fuzz.h — what every libFuzzer target here shares.
 *
 * A target is one LLVMFuzzerTestOneInput() that feeds its bytes to a pure
 * API and checks invariants that hold for any input. A broken invariant
 * aborts, which libFuzzer reports as a crash and saves the input. */
#ifndef WSCALE_FUZZ_H
#define WSCALE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                              \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                  \
        }                                                                             \
    } while (0)

/* True if p[0..n) lies within buf[0..len). */
static inline int fuzz_inside(const void *p, size_t n, const void *buf, size_t len)
{
    const char *c = p, *b = buf;
    return c >= b && n <= len && (size_t)(c - b) <= len - n;
}

#endif
