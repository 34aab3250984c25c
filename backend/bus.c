/* bus.c — see bus.h. */
#include "bus.h"

#include <hiredis/async.h>
#include <stdlib.h>
#include <string.h>

#include "../shared/log.h"
#include "redis-link.h"

#define GATE_POLL 0.05 /* seconds between PUBSUB NUMSUB checks */

struct pubmsg {
    struct pubmsg *next;
    ev_tstamp sent_at; /* when PUBLISH was written (in flight only) */
    size_t len;
    char data[];
};

struct pubq {
    struct pubmsg *head, *tail;
    size_t count;
};

/* A command of bus_command() waiting for its reply. Replies come in the
 * order the commands were sent, so the oldest is always the head. */
struct bus_call {
    struct bus_call *next;
    struct bus *bus;
    ev_tstamp sent_at;
    bus_reply_fn *fn;
    void *privdata;
};

struct bus {
    struct ev_loop *loop;
    const struct backend_options *opt;
    struct redis_link pub, sub;
    int subscribed;            /* the subscriber's SUBSCRIBE was confirmed */
    struct pubq waiting;       /* not yet sent */
    struct pubq inflight;      /* sent, not yet confirmed; older than waiting */
    size_t bytes;              /* payload bytes in waiting and inflight */
    long long receivers;       /* subscribers the last confirmed PUBLISH reached */
    int gate_open;             /* waiting messages may be sent */
    ev_tstamp gate_since;      /* when the current closed-gate wait began, or 0 */
    int numsub_pending;
    ev_timer gate_timer;       /* re-checks a closed gate */
    ev_timer reply_timer;      /* bounds the wait for the oldest PUBLISH reply */
    struct bus_call *calls, *calls_tail; /* bus_command()s in flight, oldest first */
    size_t ncalls;
    struct bus_hooks hooks;
    bus_deliver_fn *deliver;
    void *data;
    uint64_t published;        /* PUBLISH confirmed by Redis */
    uint64_t republished;      /* sent again after a lost connection */
    uint64_t received;         /* messages received on the channel */
};

static void pubq_push(struct pubq *q, struct pubmsg *m)
{
    m->next = NULL;
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    q->count++;
}

static struct pubmsg *pubq_pop(struct pubq *q)
{
    struct pubmsg *m = q->head;
    q->head = m->next;
    if (q->head == NULL)
        q->tail = NULL;
    q->count--;
    return m;
}

/* Moves every message of `front` before those of q, keeping both orders. */
static void pubq_prepend(struct pubq *q, struct pubq *front)
{
    if (front->head == NULL)
        return;
    front->tail->next = q->head;
    if (q->tail == NULL)
        q->tail = front->tail;
    q->head = front->head;
    q->count += front->count;
    front->head = front->tail = NULL;
    front->count = 0;
}

static void pubq_free(struct pubq *q)
{
    while (q->head)
        free(pubq_pop(q));
}

static void bus_pump(struct bus *b);

static void gate_close(struct bus *b)
{
    b->gate_open = 0;
    b->gate_since = 0;
}

static void gate_open(struct bus *b)
{
    b->gate_open = 1;
    b->gate_since = 0;
    ev_timer_stop(b->loop, &b->gate_timer);
}

static void on_numsub_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct bus *b = privdata;
    redisReply *reply = r;
    (void)ac;
    b->numsub_pending = 0;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[1]->type != REDIS_REPLY_INTEGER)
        return; /* the gate timer asks again */
    long long n = reply->element[1]->integer;
    if (n >= b->receivers) {
        if (b->waiting.count > 0)
            log_info("redis: %lld subscribers back on '%s', publishing %zu queued messages",
                     n, b->opt->channel, b->waiting.count);
        gate_open(b);
        bus_pump(b);
    }
}

/* Decides whether the waiting messages may go out; see bus.h. */
static void gate_check(struct bus *b)
{
    ev_tstamp now = ev_now(b->loop);
    if (b->gate_since == 0)
        b->gate_since = now;

    if (b->subscribed && b->receivers <= 1) {
        gate_open(b);
        return;
    }
    if (now - b->gate_since >= b->opt->redis_timeout) {
        log_warn("redis: publishing %zu queued messages without waiting longer for "
                 "subscribers (expected %lld, own subscriber %s)",
                 b->waiting.count, b->receivers, b->subscribed ? "up" : "down");
        gate_open(b);
        return;
    }
    if (b->subscribed && !b->numsub_pending) {
        const char *argv[] = { "PUBSUB", "NUMSUB", b->opt->channel };
        size_t lens[] = { 6, 6, strlen(b->opt->channel) };
        if (redisAsyncCommandArgv(b->pub.ac, on_numsub_reply, b, 3, argv, lens) == REDIS_OK)
            b->numsub_pending = 1;
    }
    if (!ev_is_active(&b->gate_timer)) {
        ev_timer_set(&b->gate_timer, GATE_POLL, 0);
        ev_timer_start(b->loop, &b->gate_timer);
    }
}

static void on_gate_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    bus_pump(w->data);
}

/* When the oldest command still waiting for a reply was sent, or 0. */
static ev_tstamp oldest_unanswered(const struct bus *b)
{
    ev_tstamp t = b->inflight.head ? b->inflight.head->sent_at : 0;
    if (b->calls && (t == 0 || b->calls->sent_at < t))
        t = b->calls->sent_at;
    return t;
}

static void reply_timer_arm(struct bus *b)
{
    ev_tstamp oldest = oldest_unanswered(b);
    if (oldest == 0 || ev_is_active(&b->reply_timer))
        return;
    ev_tstamp due = oldest + b->opt->redis_timeout - ev_now(b->loop);
    ev_timer_set(&b->reply_timer, due > 0 ? due : 0, 0);
    ev_timer_start(b->loop, &b->reply_timer);
}

static void on_reply_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct bus *b = w->data;
    (void)revents;
    ev_tstamp oldest = oldest_unanswered(b);
    if (oldest == 0)
        return;
    if (ev_now(loop) - oldest >= b->opt->redis_timeout) {
        redis_link_fail(&b->pub, "no reply from Redis in time");
        return;
    }
    reply_timer_arm(b);
}

static void on_publish_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct bus *b = privdata;
    redisReply *reply = r;
    (void)ac;
    if (reply == NULL)
        return; /* connection lost: the message stays in flight, then is requeued */
    if (reply->type != REDIS_REPLY_INTEGER) {
        log_error("redis publisher: PUBLISH refused: %s",
                  reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        redis_link_fail(&b->pub, "PUBLISH refused");
        return;
    }
    struct pubmsg *m = pubq_pop(&b->inflight);
    b->bytes -= m->len;
    free(m);
    b->published++;
    b->receivers = reply->integer;
    ev_timer_stop(b->loop, &b->reply_timer);
    reply_timer_arm(b);
}

/* Sends every waiting message the gate lets through. */
static void bus_pump(struct bus *b)
{
    if (!b->pub.up || b->waiting.head == NULL) {
        if (b->pub.up && !b->gate_open)
            gate_check(b); /* learn subscriber state before traffic resumes */
        return;
    }
    if (!b->gate_open) {
        gate_check(b);
        if (!b->gate_open)
            return;
    }
    size_t chlen = strlen(b->opt->channel);
    while (b->waiting.head) {
        struct pubmsg *m = b->waiting.head;
        const char *argv[] = { "PUBLISH", b->opt->channel, m->data };
        size_t lens[] = { 7, chlen, m->len };
        if (redisAsyncCommandArgv(b->pub.ac, on_publish_reply, b, 3, argv, lens) != REDIS_OK) {
            redis_link_fail(&b->pub, "cannot queue PUBLISH");
            break;
        }
        pubq_pop(&b->waiting);
        m->sent_at = ev_now(b->loop);
        pubq_push(&b->inflight, m);
    }
    reply_timer_arm(b);
}

static void on_pub_up(struct redis_link *l)
{
    struct bus *b = l->data;
    if (b->hooks.publisher_up)
        b->hooks.publisher_up(b->hooks.data);
    bus_pump(b);
}

static void on_pub_down(struct redis_link *l)
{
    struct bus *b = l->data;
    b->republished += b->inflight.count;
    if (b->inflight.count > 0)
        log_warn("redis publisher: %zu unconfirmed messages requeued", b->inflight.count);
    pubq_prepend(&b->waiting, &b->inflight);
    ev_timer_stop(b->loop, &b->reply_timer);
    b->numsub_pending = 0;
    gate_close(b);
}

static void on_sub_message(redisAsyncContext *ac, void *r, void *privdata)
{
    struct bus *b = privdata;
    redisReply *reply = r;
    (void)ac;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING)
        return;
    const char *kind = reply->element[0]->str;
    if (strcmp(kind, "message") == 0 && reply->element[2]->type == REDIS_REPLY_STRING) {
        b->received++;
        b->deliver(b->data, reply->element[2]->str, reply->element[2]->len);
    } else if (strcmp(kind, "subscribe") == 0) {
        b->subscribed = 1;
        log_info("redis subscriber: subscribed to '%s'", b->opt->channel);
        bus_pump(b);
    }
}

static void on_sub_up(struct redis_link *l)
{
    struct bus *b = l->data;
    const char *argv[] = { "SUBSCRIBE", b->opt->channel };
    size_t lens[] = { 9, strlen(b->opt->channel) };
    if (redisAsyncCommandArgv(l->ac, on_sub_message, b, 2, argv, lens) != REDIS_OK) {
        redis_link_fail(l, "cannot send SUBSCRIBE");
        return;
    }
    if (b->hooks.subscriber_up)
        b->hooks.subscriber_up(b->hooks.data);
}

static void on_sub_down(struct redis_link *l)
{
    struct bus *b = l->data;
    b->subscribed = 0;
    gate_close(b);
}

struct bus *bus_new(struct ev_loop *loop, const struct backend_options *opt,
                    bus_deliver_fn *deliver, void *data)
{
    struct bus *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    b->loop = loop;
    b->opt = opt;
    b->deliver = deliver;
    b->data = data;
    ev_init(&b->gate_timer, on_gate_timer);
    b->gate_timer.data = b;
    ev_init(&b->reply_timer, on_reply_timer);
    b->reply_timer.data = b;
    redis_link_init(&b->pub, loop, &opt->redis, "publisher", opt->redis_timeout, on_pub_up,
                    on_pub_down, b);
    redis_link_init(&b->sub, loop, &opt->redis, "subscriber", opt->redis_timeout, on_sub_up,
                    on_sub_down, b);
    redis_link_start(&b->pub);
    redis_link_start(&b->sub);
    return b;
}

int bus_publish(struct bus *b, const uint8_t *msg, size_t len)
{
    if (b->bytes + len > b->opt->publish_queue)
        return -1;
    struct pubmsg *m = malloc(sizeof(*m) + len);
    if (m == NULL)
        return -1;
    m->len = len;
    memcpy(m->data, msg, len);
    pubq_push(&b->waiting, m);
    b->bytes += len;
    bus_pump(b);
    return 0;
}

void bus_set_hooks(struct bus *b, const struct bus_hooks *hooks)
{
    b->hooks = *hooks;
}

static void on_call_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct bus_call *c = privdata;
    struct bus *b = c->bus;
    (void)ac;
    /* Replies come in order: c is the head. */
    b->calls = c->next;
    if (b->calls == NULL)
        b->calls_tail = NULL;
    b->ncalls--;
    if (r) {
        ev_timer_stop(b->loop, &b->reply_timer);
        reply_timer_arm(b);
    }
    c->fn(c->privdata, r);
    free(c);
}

int bus_command(struct bus *b, bus_reply_fn *fn, void *privdata, int argc, const char **argv,
                const size_t *lens)
{
    if (!b->pub.up)
        return -1;
    struct bus_call *c = malloc(sizeof(*c));
    if (c == NULL)
        return -1;
    *c = (struct bus_call){ .bus = b, .sent_at = ev_now(b->loop), .fn = fn, .privdata = privdata };
    if (redisAsyncCommandArgv(b->pub.ac, on_call_reply, c, argc, argv, lens) != REDIS_OK) {
        free(c);
        redis_link_fail(&b->pub, "cannot queue a command");
        return -1;
    }
    if (b->calls_tail)
        b->calls_tail->next = c;
    else
        b->calls = c;
    b->calls_tail = c;
    b->ncalls++;
    reply_timer_arm(b);
    return 0;
}

int bus_channel(struct bus *b, const char *verb, const char *channel, redisCallbackFn *fn,
                void *privdata)
{
    if (!b->sub.up)
        return -1;
    const char *argv[] = { verb, channel };
    if (redisAsyncCommandArgv(b->sub.ac, fn, privdata, 2, argv, NULL) != REDIS_OK) {
        redis_link_fail(&b->sub, "cannot send SUBSCRIBE");
        return -1;
    }
    return 0;
}

void bus_fail_publisher(struct bus *b, const char *why)
{
    redis_link_fail(&b->pub, why);
}

int bus_healthy(const struct bus *b, const char **why)
{
    if (!b->pub.up) {
        *why = "redis publisher down";
        return 0;
    }
    if (!b->subscribed) {
        *why = "redis subscriber down";
        return 0;
    }
    return 1;
}

int bus_idle(const struct bus *b)
{
    return b->inflight.count == 0 && b->ncalls == 0 && (b->waiting.count == 0 || !b->pub.up);
}

size_t bus_pending(const struct bus *b)
{
    return b->waiting.count + b->inflight.count;
}

void bus_metrics(const struct bus *b, struct strbuf *sb)
{
    const struct redis_link *links[] = { &b->pub, &b->sub };
    strbuf_printf(sb, "# HELP wscale_redis_up Whether the Redis connection is up (subscriber: subscribed).\n"
                      "# TYPE wscale_redis_up gauge\n");
    strbuf_printf(sb, "wscale_redis_up{connection=\"publisher\"} %d\n", b->pub.up);
    strbuf_printf(sb, "wscale_redis_up{connection=\"subscriber\"} %d\n", b->subscribed);
    strbuf_printf(sb, "# HELP wscale_redis_reconnects_total Times a Redis connection came back after being lost.\n"
                      "# TYPE wscale_redis_reconnects_total counter\n");
    for (int i = 0; i < 2; i++)
        strbuf_printf(sb, "wscale_redis_reconnects_total{connection=\"%s\"} %llu\n", links[i]->name,
                      (unsigned long long)links[i]->reconnects);
    strbuf_printf(sb,
        "# HELP wscale_publish_queue_messages Messages from clients not yet confirmed by Redis.\n"
        "# TYPE wscale_publish_queue_messages gauge\n"
        "wscale_publish_queue_messages{state=\"waiting\"} %zu\n"
        "wscale_publish_queue_messages{state=\"in_flight\"} %zu\n"
        "# HELP wscale_publish_queue_bytes Payload bytes of messages not yet confirmed by Redis.\n"
        "# TYPE wscale_publish_queue_bytes gauge\n"
        "wscale_publish_queue_bytes %zu\n"
        "# HELP wscale_published_total Messages published to Redis and confirmed.\n"
        "# TYPE wscale_published_total counter\n"
        "wscale_published_total %llu\n"
        "# HELP wscale_republished_total Messages sent again after a lost Redis connection.\n"
        "# TYPE wscale_republished_total counter\n"
        "wscale_republished_total %llu\n"
        "# HELP wscale_redis_messages_received_total Messages received from the Redis channel.\n"
        "# TYPE wscale_redis_messages_received_total counter\n"
        "wscale_redis_messages_received_total %llu\n",
        b->waiting.count, b->inflight.count, b->bytes, (unsigned long long)b->published,
        (unsigned long long)b->republished, (unsigned long long)b->received);
}

void bus_free(struct bus *b)
{
    if (b == NULL)
        return;
    if (b->waiting.count + b->inflight.count > 0)
        log_warn("redis: %zu messages were never confirmed by Redis and are dropped",
                 b->waiting.count + b->inflight.count);
    ev_timer_stop(b->loop, &b->gate_timer);
    ev_timer_stop(b->loop, &b->reply_timer);
    redis_link_stop(&b->pub);
    redis_link_stop(&b->sub);
    pubq_free(&b->waiting);
    pubq_free(&b->inflight);
    free(b);
}
