/* pool.h — fixed-size I/O buffers, lent only while data is in flight.
 *
 * An idle connection holds none: it borrows a buffer when bytes must wait
 * (a full socket, a partial request head) and gives it back once drained,
 * so memory follows the traffic, not the number of connections. Returned
 * buffers are kept for reuse up to a bound, beyond which they are freed, and
 * those a burst left unused are freed by a periodic trim. */
#ifndef WSCALE_POOL_H
#define WSCALE_POOL_H

#include <stddef.h>
#include <stdint.h>

struct pbuf {
    struct pbuf *next_free;
    uint32_t head, tail; /* bytes in use are data[head..tail) */
    uint32_t size;
    uint8_t data[];
};

struct pbuf_pool {
    uint32_t size;       /* bytes per buffer */
    struct pbuf *free;
    size_t nfree, keep;  /* spare buffers, and how many to keep at most */
    size_t low_free;     /* the fewest spare buffers since the last trim */
    size_t in_use;       /* lent and not returned (for metrics and leak checks) */
};

void pbuf_pool_init(struct pbuf_pool *pool, uint32_t size, size_t keep);

/* An empty buffer, or NULL if out of memory. */
struct pbuf *pbuf_get(struct pbuf_pool *pool);

/* Gives a buffer back; NULL is accepted. */
void pbuf_put(struct pbuf_pool *pool, struct pbuf *b);

void pbuf_pool_free(struct pbuf_pool *pool);

/* Frees the spare buffers beyond `floor` that no one needed since the last
 * trim (a burst is over: memory goes back to the traffic's level). Called
 * periodically; returns how many were freed. */
size_t pbuf_pool_trim(struct pbuf_pool *pool, size_t floor);

static inline uint32_t pbuf_len(const struct pbuf *b)
{
    return b->tail - b->head;
}

/* Room at the end, after moving the data to the front if that helps. */
uint32_t pbuf_room(struct pbuf *b);

/* Marks n bytes from the front as consumed; an emptied buffer restarts at 0. */
void pbuf_consume(struct pbuf *b, uint32_t n);

#endif
