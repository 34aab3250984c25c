/* rbuf.h — reference-counted byte buffers.
 *
 * A frame fanned out to many connections is encoded once into an rbuf; each
 * connection's output queue holds a reference until the bytes are written. */
#ifndef WSCALE_RBUF_H
#define WSCALE_RBUF_H

#include <stddef.h>
#include <stdint.h>

struct rbuf {
    uint32_t refs;
    size_t len;
    uint8_t data[];
};

/* Allocates a buffer of len bytes with one reference. NULL if out of memory. */
struct rbuf *rbuf_new(size_t len);

static inline struct rbuf *rbuf_ref(struct rbuf *b)
{
    b->refs++;
    return b;
}

/* Drops one reference; frees the buffer with the last one. */
void rbuf_unref(struct rbuf *b);

#endif
