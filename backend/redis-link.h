/* redis-link.h — one hiredis async connection that stays up.
 *
 * Debian's hiredis 0.14 has no connect timeout, no command timeout and no
 * reconnect; this is that missing piece. A link connects, authenticates
 * (AUTH, SELECT), proves Redis answers (PING) and then reports itself up.
 * Any failure — refused connect, timeout, error reply, lost connection —
 * reports it down (if it was up) and retries after an exponential backoff
 * with jitter (100 ms doubling to 5 s). TCP keepalive detects a Redis host
 * that vanished without closing the connection.
 *
 * Owners send commands on l->ac only while l->up. */
#ifndef WSCALE_REDIS_LINK_H
#define WSCALE_REDIS_LINK_H

#include <ev.h>
#include <hiredis/async.h>
#include <stdint.h>

#include "redis-url.h"

struct redis_link;
typedef void redis_link_fn(struct redis_link *l);

struct redis_link {
    struct ev_loop *loop;
    const struct redis_url *url;
    const char *name;        /* "publisher", "subscriber": logs and metrics */
    redisAsyncContext *ac;   /* NULL while there is no connection */
    int up;                  /* handshake done and not failing: commands may be sent */
    int reported;            /* on_up was called and on_down is owed */
    int stopped;             /* redis_link_stop() was called: no more retries */
    int ever_up;
    ev_timer timer;          /* connect timeout, deferred drop, or retry wait */
    double timeout;          /* seconds allowed to connect and authenticate */
    unsigned failures;       /* consecutive failures: the backoff exponent */
    uint64_t reconnects;     /* times the link came back up after being up */
    const char *drop_reason; /* why a deferred drop was asked for */
    redis_link_fn *on_up;    /* handshake done */
    redis_link_fn *on_down;  /* was up, is not any more; pending callbacks have run */
    void *data;              /* for the owner */
};

void redis_link_init(struct redis_link *l, struct ev_loop *loop, const struct redis_url *url,
                     const char *name, double timeout, redis_link_fn *on_up,
                     redis_link_fn *on_down, void *data);

/* Starts connecting. */
void redis_link_start(struct redis_link *l);

/* Drops the connection (soon, outside any hiredis callback) and retries
 * after the backoff. Safe to call from anywhere, more than once. */
void redis_link_fail(struct redis_link *l, const char *why);

/* Closes for good, without calling on_down. Not from a hiredis callback. */
void redis_link_stop(struct redis_link *l);

#endif
