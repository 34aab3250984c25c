/* timeq.c — see timeq.h. */
#include "timeq.h"

static void timeq_arm(struct timeq *q)
{
    if (q->timeout <= 0 || q->count == 0 || ev_is_active(&q->timer))
        return;
    ev_tstamp due = q->head.next->since + q->timeout - ev_now(q->loop);
    ev_timer_set(&q->timer, due > 0 ? due : 0, 0);
    ev_timer_start(q->loop, &q->timer);
}

static void timeq_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct timeq *q = w->data;
    (void)revents;
    ev_tstamp now = ev_now(loop);
    /* Entries re-added by expire() go to the tail with since = now, so the
     * walk ends at them: it only sees entries older than the deadline. */
    while (q->count > 0 && q->head.next->since + q->timeout <= now) {
        struct timeq_entry *e = q->head.next;
        timeq_remove(e);
        q->expire(q, e);
    }
    timeq_arm(q);
}

void timeq_init(struct timeq *q, struct ev_loop *loop, ev_tstamp timeout,
                timeq_expire_fn *expire, void *data)
{
    q->head.prev = q->head.next = &q->head;
    q->head.q = q;
    q->loop = loop;
    q->timeout = timeout;
    q->expire = expire;
    q->data = data;
    q->count = 0;
    ev_init(&q->timer, timeq_fire);
    q->timer.data = q;
}

void timeq_stop(struct timeq *q)
{
    ev_timer_stop(q->loop, &q->timer);
}

void timeq_set_timeout(struct timeq *q, ev_tstamp timeout)
{
    q->timeout = timeout;
    ev_timer_stop(q->loop, &q->timer);
    timeq_arm(q);
}

void timeq_remove(struct timeq_entry *e)
{
    if (e->q == NULL)
        return;
    e->prev->next = e->next;
    e->next->prev = e->prev;
    e->prev = e->next = NULL;
    e->q->count--;
    e->q = NULL;
}

void timeq_add(struct timeq *q, struct timeq_entry *e)
{
    timeq_remove(e);
    e->since = ev_now(q->loop);
    e->q = q;
    e->prev = q->head.prev;
    e->next = &q->head;
    q->head.prev->next = e;
    q->head.prev = e;
    q->count++;
    timeq_arm(q);
}
