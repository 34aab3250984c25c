/* timeq.h — timeout queues: many connections, one timeout value, one timer.
 *
 * The libev manual's "be smart about timeouts", strategy 4: every entry in a
 * queue shares the queue's timeout, so keeping the queue ordered by last
 * activity is O(1) (touching an entry moves it to the tail) and one ev_timer
 * armed for the head's deadline serves them all. The timer re-arms itself
 * lazily when it fires, so activity never touches it.
 *
 * An entry belongs to at most one queue; moving it to another queue is how a
 * connection changes which timeout applies (handshake, open, closing, ...). */
#ifndef WSCALE_TIMEQ_H
#define WSCALE_TIMEQ_H

#include <ev.h>
#include <stddef.h>

struct timeq;

struct timeq_entry {
    struct timeq_entry *prev, *next;
    struct timeq *q;     /* NULL when in no queue */
    ev_tstamp since;     /* start of the current timeout period */
};

/* Called for each entry whose timeout has passed, after it has been removed
 * from the queue. It may add the entry to any queue, this one included. */
typedef void timeq_expire_fn(struct timeq *q, struct timeq_entry *e);

struct timeq {
    struct timeq_entry head; /* sentinel of a circular list, oldest first */
    struct ev_loop *loop;
    ev_timer timer;
    ev_tstamp timeout;       /* seconds; 0 means entries never expire */
    timeq_expire_fn *expire;
    void *data;              /* for the owner */
    size_t count;
};

void timeq_init(struct timeq *q, struct ev_loop *loop, ev_tstamp timeout,
                timeq_expire_fn *expire, void *data);

/* Stops the timer. Entries still queued are left as they are. */
void timeq_stop(struct timeq *q);

/* Changes the timeout; applies to entries already queued too. */
void timeq_set_timeout(struct timeq *q, ev_tstamp timeout);

/* Starts a new period for e in q (now), removing it from its old queue. */
void timeq_add(struct timeq *q, struct timeq_entry *e);

/* Starts a new period for e in its current queue. */
static inline void timeq_touch(struct timeq_entry *e)
{
    if (e->q)
        timeq_add(e->q, e);
}

void timeq_remove(struct timeq_entry *e);

#endif
