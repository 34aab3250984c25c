/* outq.h — a connection's queue of outgoing bytes: references to rbufs.
 *
 * A fanned-out frame is queued by reference to every recipient and written
 * with one sendmsg() per batch of up to OUTQ_IOV_MAX buffers. An empty queue
 * holds no memory. Nodes come from a small free list shared by the process. */
#ifndef WSCALE_OUTQ_H
#define WSCALE_OUTQ_H

#include <stddef.h>
#include <sys/types.h>

#include "../shared/rbuf.h"

#define OUTQ_IOV_MAX 64

struct outq_node {
    struct outq_node *next;
    struct rbuf *buf;
};

struct outq {
    struct outq_node *head, *tail;
    size_t head_off; /* bytes of head->buf already written */
    size_t bytes;    /* bytes queued and not yet written */
};

struct outq_pool {
    struct outq_node *free;
    size_t nfree;
};

/* Appends a buffer, taking a new reference to it. Returns 0, or -1 if out of
 * memory (the queue is unchanged). */
int outq_push(struct outq *q, struct outq_pool *pool, struct rbuf *b);

/* Writes as much as one sendmsg() takes. Returns the bytes written (and sets
 * *attempted to how many were offered), or -1 with errno. */
ssize_t outq_write(struct outq *q, struct outq_pool *pool, int fd, size_t *attempted);

/* The unsent bytes of the head buffer (for writers without iovecs: TLS).
 * Returns 0 when the queue is empty. */
size_t outq_peek(const struct outq *q, const uint8_t **data);

/* Marks n bytes as written (n at most outq_peek's length). */
void outq_consume(struct outq *q, struct outq_pool *pool, size_t n);

/* True when the head buffer has been partly written: the peer already has
 * the start of a frame, whose end must follow before anything else. */
static inline int outq_started(const struct outq *q)
{
    return q->head_off > 0;
}

/* Drops every buffer not yet started, keeping a partly written head. */
void outq_drop_unsent(struct outq *q, struct outq_pool *pool);

/* Drops everything. */
void outq_clear(struct outq *q, struct outq_pool *pool);

/* Frees the pool's spare nodes. */
void outq_pool_free(struct outq_pool *pool);

#endif
