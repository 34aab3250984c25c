/* redis-link.c — see redis-link.h. */
#include "redis-link.h"

#include <hiredis/adapters/libev.h>
#include <stdlib.h>
#include <string.h>

#include "../shared/log.h"

#define BACKOFF_FIRST 0.1
#define BACKOFF_MAX 5.0

static void link_connect(struct redis_link *l);

/* Waits before the next attempt: BACKOFF_FIRST doubling per consecutive
 * failure up to BACKOFF_MAX, then a random point in its upper half so that
 * many backends do not reconnect in lockstep. */
static void schedule_retry(struct redis_link *l, const char *why)
{
    double delay = BACKOFF_FIRST;
    for (unsigned i = 0; i < l->failures && delay < BACKOFF_MAX; i++)
        delay *= 2;
    if (delay > BACKOFF_MAX)
        delay = BACKOFF_MAX;
    delay *= 0.5 + 0.5 * (double)arc4random_uniform(1000) / 1000.0;
    l->failures++;

    /* First failure and every tenth after it: enough to see, not a flood. */
    if (l->failures == 1 || l->failures % 10 == 0)
        log_warn("redis %s: %s:%u: %s; retrying in %.1fs (attempt %u)", l->name, l->url->host,
                 l->url->port, why, delay, l->failures);
    ev_timer_stop(l->loop, &l->timer);
    ev_timer_set(&l->timer, delay, 0);
    ev_timer_start(l->loop, &l->timer);
}

/* The connection is gone (hiredis has freed or is freeing ac). */
static void link_gone(struct redis_link *l, const char *why)
{
    int was_up = l->reported;
    l->ac = NULL;
    l->up = 0;
    l->reported = 0;
    l->drop_reason = NULL;
    ev_timer_stop(l->loop, &l->timer);
    if (l->stopped)
        return;
    if (was_up) {
        log_warn("redis %s: connection to %s:%u lost: %s", l->name, l->url->host, l->url->port, why);
        l->on_down(l);
    }
    schedule_retry(l, why);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct redis_link *l = ac->data;
    if (status != REDIS_OK) {
        /* hiredis frees the context when this returns. */
        link_gone(l, ac->errstr[0] ? ac->errstr : "connect failed");
        return;
    }
    redisEnableKeepAlive((redisContext *)&ac->c);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct redis_link *l = ac->data;
    const char *why = l->drop_reason;
    if (why == NULL)
        why = status == REDIS_OK ? "closed" : ac->errstr[0] ? ac->errstr : "connection error";
    link_gone(l, why);
}

/* Frees the context now. Only outside hiredis callbacks. */
static void link_drop_now(struct redis_link *l, const char *why)
{
    redisAsyncContext *ac = l->ac;
    if (ac == NULL)
        return;
    l->drop_reason = why;
    redisAsyncFree(ac); /* runs pending callbacks, then on_disconnect if connected */
    if (l->ac == ac)    /* never connected: hiredis calls no disconnect callback */
        link_gone(l, why);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct redis_link *l = w->data;
    (void)loop;
    (void)revents;
    if (l->ac)
        link_drop_now(l, l->drop_reason ? l->drop_reason : "timed out connecting");
    else
        link_connect(l);
}

/* Reply to the handshake's AUTH or SELECT: only errors matter. */
static void on_handshake_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_link *l = ac->data;
    redisReply *reply = r;
    (void)privdata;
    if (reply && reply->type == REDIS_REPLY_ERROR) {
        log_error("redis %s: %s refused: %s", l->name, (const char *)privdata, reply->str);
        redis_link_fail(l, "handshake refused");
    }
}

/* Reply to the handshake's final PING: Redis answers, the link is up. */
static void on_ping_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_link *l = ac->data;
    redisReply *reply = r;
    (void)privdata;
    if (reply == NULL || l->drop_reason)
        return;
    if (reply->type == REDIS_REPLY_ERROR) {
        log_warn("redis %s: PING refused: %s", l->name, reply->str);
        redis_link_fail(l, "PING refused");
        return;
    }
    ev_timer_stop(l->loop, &l->timer);
    l->up = 1;
    l->reported = 1;
    l->failures = 0;
    if (l->ever_up)
        l->reconnects++;
    l->ever_up = 1;
    log_info("redis %s: connected to %s:%u", l->name, l->url->host, l->url->port);
    l->on_up(l);
}

static void link_connect(struct redis_link *l)
{
    redisAsyncContext *ac = redisAsyncConnect(l->url->host, l->url->port);
    if (ac == NULL) {
        schedule_retry(l, "out of memory");
        return;
    }
    if (ac->err) {
        char why[128];
        strncpy(why, ac->errstr, sizeof(why) - 1);
        why[sizeof(why) - 1] = '\0';
        redisAsyncFree(ac);
        schedule_retry(l, why);
        return;
    }
    ac->data = l;
    if (redisLibevAttach(l->loop, ac) != REDIS_OK) {
        redisAsyncFree(ac);
        schedule_retry(l, "cannot attach to the event loop");
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    l->ac = ac;

    /* Pipelined: hiredis sends these as soon as the connect completes. */
    const struct redis_url *u = l->url;
    if (u->password[0]) {
        if (u->user[0])
            redisAsyncCommand(ac, on_handshake_reply, "AUTH", "AUTH %s %s", u->user, u->password);
        else
            redisAsyncCommand(ac, on_handshake_reply, "AUTH", "AUTH %s", u->password);
    }
    if (u->db)
        redisAsyncCommand(ac, on_handshake_reply, "SELECT", "SELECT %u", u->db);
    redisAsyncCommand(ac, on_ping_reply, NULL, "PING");

    ev_timer_set(&l->timer, l->timeout, 0);
    ev_timer_start(l->loop, &l->timer);
}

void redis_link_init(struct redis_link *l, struct ev_loop *loop, const struct redis_url *url,
                     const char *name, double timeout, redis_link_fn *on_up,
                     redis_link_fn *on_down, void *data)
{
    memset(l, 0, sizeof(*l));
    l->loop = loop;
    l->url = url;
    l->name = name;
    l->timeout = timeout;
    l->on_up = on_up;
    l->on_down = on_down;
    l->data = data;
    ev_init(&l->timer, on_timer);
    l->timer.data = l;
}

void redis_link_start(struct redis_link *l)
{
    link_connect(l);
}

void redis_link_fail(struct redis_link *l, const char *why)
{
    if (l->ac == NULL || l->drop_reason)
        return;
    l->up = 0; /* owners stop sending at once */
    l->drop_reason = why;
    ev_timer_stop(l->loop, &l->timer);
    ev_timer_set(&l->timer, 0, 0);
    ev_timer_start(l->loop, &l->timer);
}

void redis_link_stop(struct redis_link *l)
{
    l->stopped = 1;
    ev_timer_stop(l->loop, &l->timer);
    if (l->ac)
        link_drop_now(l, "shutting down");
}
