/* pool.c — see pool.h. */
#include "pool.h"

#include <stdlib.h>
#include <string.h>

void pbuf_pool_init(struct pbuf_pool *pool, uint32_t size, size_t keep)
{
    memset(pool, 0, sizeof(*pool));
    pool->size = size;
    pool->keep = keep;
}

struct pbuf *pbuf_get(struct pbuf_pool *pool)
{
    struct pbuf *b = pool->free;
    if (b) {
        pool->free = b->next_free;
        pool->nfree--;
        if (pool->nfree < pool->low_free)
            pool->low_free = pool->nfree;
    } else {
        b = malloc(sizeof(*b) + pool->size);
        if (b == NULL)
            return NULL;
        b->size = pool->size;
    }
    b->head = b->tail = 0;
    b->next_free = NULL;
    pool->in_use++;
    return b;
}

void pbuf_put(struct pbuf_pool *pool, struct pbuf *b)
{
    if (b == NULL)
        return;
    pool->in_use--;
    if (pool->nfree >= pool->keep) {
        free(b);
        return;
    }
    b->next_free = pool->free;
    pool->free = b;
    pool->nfree++;
}

void pbuf_pool_free(struct pbuf_pool *pool)
{
    while (pool->free) {
        struct pbuf *b = pool->free;
        pool->free = b->next_free;
        free(b);
    }
    pool->nfree = 0;
    pool->low_free = 0;
}

size_t pbuf_pool_trim(struct pbuf_pool *pool, size_t floor)
{
    size_t unused = pool->low_free, freed = 0;
    while (unused > floor && pool->free) {
        struct pbuf *b = pool->free;
        pool->free = b->next_free;
        pool->nfree--;
        free(b);
        unused--;
        freed++;
    }
    pool->low_free = pool->nfree;
    return freed;
}

uint32_t pbuf_room(struct pbuf *b)
{
    if (b->head > 0 && b->tail == b->size) {
        memmove(b->data, b->data + b->head, b->tail - b->head);
        b->tail -= b->head;
        b->head = 0;
    }
    return b->size - b->tail;
}

void pbuf_consume(struct pbuf *b, uint32_t n)
{
    b->head += n;
    if (b->head == b->tail)
        b->head = b->tail = 0;
}
