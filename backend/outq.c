/* outq.c — see outq.h. */
#include "outq.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* Spare nodes kept for reuse; beyond this they go back to malloc. */
#define OUTQ_POOL_KEEP 4096

static struct outq_node *node_get(struct outq_pool *pool)
{
    struct outq_node *n = pool->free;
    if (n) {
        pool->free = n->next;
        pool->nfree--;
        return n;
    }
    return malloc(sizeof(*n));
}

static void node_put(struct outq_pool *pool, struct outq_node *n)
{
    if (pool->nfree >= OUTQ_POOL_KEEP) {
        free(n);
        return;
    }
    n->next = pool->free;
    pool->free = n;
    pool->nfree++;
}

/* Removes the head node and drops its reference. */
static void pop_head(struct outq *q, struct outq_pool *pool)
{
    struct outq_node *n = q->head;
    q->head = n->next;
    if (q->head == NULL)
        q->tail = NULL;
    q->bytes -= n->buf->len - q->head_off;
    q->head_off = 0;
    rbuf_unref(n->buf);
    node_put(pool, n);
}

int outq_push(struct outq *q, struct outq_pool *pool, struct rbuf *b)
{
    struct outq_node *n = node_get(pool);
    if (n == NULL)
        return -1;
    n->next = NULL;
    n->buf = rbuf_ref(b);
    if (q->tail)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
    q->bytes += b->len;
    return 0;
}

ssize_t outq_write(struct outq *q, struct outq_pool *pool, int fd, size_t *attempted)
{
    struct iovec iov[OUTQ_IOV_MAX];
    int niov = 0;
    size_t total = 0;
    size_t off = q->head_off;
    for (struct outq_node *n = q->head; n && niov < OUTQ_IOV_MAX; n = n->next) {
        iov[niov].iov_base = n->buf->data + off;
        iov[niov].iov_len = n->buf->len - off;
        total += iov[niov].iov_len;
        niov++;
        off = 0;
    }
    *attempted = total;

    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)niov };
    ssize_t written = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (written < 0)
        return -1;
    outq_consume(q, pool, (size_t)written);
    return written;
}

size_t outq_peek(const struct outq *q, const uint8_t **data)
{
    if (q->head == NULL)
        return 0;
    *data = q->head->buf->data + q->head_off;
    return q->head->buf->len - q->head_off;
}

void outq_consume(struct outq *q, struct outq_pool *pool, size_t n)
{
    while (q->head) {
        size_t in_head = q->head->buf->len - q->head_off;
        if (n < in_head) {
            q->head_off += n;
            q->bytes -= n;
            break;
        }
        n -= in_head;
        pop_head(q, pool);
    }
}

void outq_drop_unsent(struct outq *q, struct outq_pool *pool)
{
    if (q->head == NULL)
        return;
    struct outq_node *keep = outq_started(q) ? q->head : NULL;
    struct outq_node *n = keep ? keep->next : q->head;
    while (n) {
        struct outq_node *next = n->next;
        q->bytes -= n->buf->len;
        rbuf_unref(n->buf);
        node_put(pool, n);
        n = next;
    }
    if (keep) {
        keep->next = NULL;
        q->head = q->tail = keep;
    } else {
        q->head = q->tail = NULL;
    }
}

void outq_clear(struct outq *q, struct outq_pool *pool)
{
    while (q->head)
        pop_head(q, pool);
}

void outq_pool_free(struct outq_pool *pool)
{
    while (pool->free) {
        struct outq_node *n = pool->free;
        pool->free = n->next;
        free(n);
    }
    pool->nfree = 0;
}
