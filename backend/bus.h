/* bus.h — the Redis bus: one publisher and one subscriber connection per
 * process, never per client.
 *
 * Messages from clients are queued in order and PUBLISHed (pipelined) on the
 * publisher; each stays queued until Redis confirms it. When the publisher
 * connection is lost, the unconfirmed messages go back to the front of the
 * queue and are published again after the reconnect (at least once: a message
 * Redis received just before the connection dropped may be delivered twice).
 * The queue is bounded in bytes; bus_publish() refuses what does not fit.
 *
 * Pub/sub only reaches subscribers that are subscribed at that moment, so
 * after a reconnect the queue is held back (the "gate") until this process's
 * subscriber is back and PUBSUB NUMSUB shows as many subscribers as the last
 * PUBLISH reached — the other backends have resubscribed — or until the
 * Redis timeout passes. That is how messages sent while Redis restarts reach
 * every backend, not only the first to reconnect. */
#ifndef WSCALE_BUS_H
#define WSCALE_BUS_H

#include <ev.h>
#include <hiredis/async.h>
#include <stddef.h>
#include <stdint.h>

#include "../shared/strbuf.h"
#include "options.h"

/* Called for each message published on the channel, by anyone. */
typedef void bus_deliver_fn(void *data, const char *payload, size_t len);

struct bus;

/* Creates the bus and starts connecting. NULL if out of memory. */
struct bus *bus_new(struct ev_loop *loop, const struct backend_options *opt,
                    bus_deliver_fn *deliver, void *data);

/* Queues a copy of msg for publishing. Returns 0, or -1 if the queue is full
 * (or memory ran out): the caller refuses the message. */
int bus_publish(struct bus *b, const uint8_t *msg, size_t len);

/* True when both connections are up and subscribed; otherwise *why says what
 * is missing. */
int bus_healthy(const struct bus *b, const char **why);

/* True when nothing waits for Redis that Redis could take now: used at
 * shutdown to let the last messages (and rooms' presence updates) go out. */
int bus_idle(const struct bus *b);

/* Number of messages not yet confirmed by Redis (queued or in flight). */
size_t bus_pending(const struct bus *b);

/* What protocol wscale.chat.v1 adds on the same two connections: commands
 * (its Lua scripts) on the publisher, and one channel per room on the
 * subscriber, beside the tutorial's channel (which stays subscribed, so the
 * subscriber never leaves subscribed mode). */
struct bus_hooks {
    void (*publisher_up)(void *data);  /* before anything queued is sent */
    void (*subscriber_up)(void *data); /* channels may be subscribed */
    void *data;
};

void bus_set_hooks(struct bus *b, const struct bus_hooks *hooks);

/* Called with the reply, or with NULL when the connection was lost (or the
 * reply did not come within --redis-timeout) before it came. */
typedef void bus_reply_fn(void *privdata, redisReply *reply);

/* Sends a command on the publisher connection; lens gives each argument's
 * length, or is NULL when all are C strings. Returns 0, or -1 when the
 * publisher is not up (fn is not called). */
int bus_command(struct bus *b, bus_reply_fn *fn, void *privdata, int argc, const char **argv,
                const size_t *lens);

/* SUBSCRIBE or UNSUBSCRIBE (verb) one channel on the subscriber connection.
 * fn receives every reply about that channel — the subscribe and unsubscribe
 * confirmations, its messages — and NULL once if the connection is lost.
 * Returns 0, or -1 when the subscriber is not up (fn is not called). */
int bus_channel(struct bus *b, const char *verb, const char *channel, redisCallbackFn *fn,
                void *privdata);

/* Drops the publisher connection and reconnects (e.g. Redis lost the
 * scripts: they are loaded again when it is back). */
void bus_fail_publisher(struct bus *b, const char *why);

/* Appends the bus's Prometheus metrics. */
void bus_metrics(const struct bus *b, struct strbuf *sb);

/* Closes both connections and frees everything, queued messages included. */
void bus_free(struct bus *b);

#endif
