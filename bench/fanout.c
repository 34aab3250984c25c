/* fanout.c — `wscale bench fanout`: the chat fan-out of `wscale backend`.
 *
 * Every client joins; the first -p clients (global ids 0..P-1, spread over
 * the processes) publish -r messages per second in total, paced by a timer
 * so they are evenly spread. The backend publishes each message to Redis and
 * every backend sends "<ID>:<text>" to each of its clients, the sender
 * included: every client should receive every message. Receivers parse the
 * bench header (payload.h), record the latency, and count deliveries and
 * duplicates (a sequence number not above the last one seen from that
 * sender: Redis keeps one publisher's order, so a repeat or a step back is a
 * duplicate).
 *
 * When -t ends the publishers stop and the process tells the parent how many
 * it sent; the parent answers with the total of all processes, and each
 * process waits until every client that was open at the start has that many
 * messages (or was closed), at most --grace. */
#include <stdlib.h>

#include "payload.h"
#include "worker.h"

#define TICK_MIN 0.0005
#define TICK_MAX 0.1

struct fanout {
    uint8_t *msg;
    size_t *publishers; /* indices of this process's publishing clients */
    size_t npublishers, next_publisher;
    double rate;        /* this process's share of -r */
    uint64_t start_ns;
    ev_timer tick, grace;
    uint64_t total;     /* messages sent by all processes, once known */
    int total_known;
    size_t done, need;  /* clients that have all messages (or closed) */
};

static int fanout_init(struct bench_worker *w)
{
    struct fanout *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    w->mode = f;
    f->msg = malloc(w->o->size);
    f->publishers = calloc(w->nclients ? w->nclients : 1, sizeof(*f->publishers));
    if (f->msg == NULL || f->publishers == NULL)
        return -1;
    for (size_t i = 0; i < w->nclients; i++)
        if (w->clients[i].gid < w->o->publishers)
            f->publishers[f->npublishers++] = i;
    f->rate = (double)w->o->rate * (double)f->npublishers / (double)w->o->publishers;
    return 0;
}

static void fanout_free(struct bench_worker *w)
{
    struct fanout *f = w->mode;
    ev_timer_stop(w->loop, &f->tick);
    ev_timer_stop(w->loop, &f->grace);
    free(f->msg);
    free(f->publishers);
    free(f);
    w->mode = NULL;
}

static void fanout_open(struct client *c)
{
    /* Out of memory leaves it NULL: the client then ignores messages and
     * the report shows them as lost. */
    c->last_seq = calloc(c->w->o->publishers, sizeof(*c->last_seq));
}

/* The next open publisher of this process, round-robin, or NULL. */
static struct client *next_publisher(struct bench_worker *w, struct fanout *f)
{
    for (size_t tries = 0; tries < f->npublishers; tries++) {
        struct client *c = &w->clients[f->publishers[f->next_publisher]];
        f->next_publisher = (f->next_publisher + 1) % f->npublishers;
        if (c->state == CLIENT_OPEN)
            return c;
    }
    return NULL;
}

/* Sends every message due by `until`: message k is due at k / rate seconds
 * after the window opened. */
static void send_due(struct bench_worker *w, struct fanout *f, uint64_t until)
{
    uint64_t due = (uint64_t)((double)(until - f->start_ns) / 1e9 * f->rate);
    while (w->r.sent < due) {
        struct client *c = next_publisher(w, f);
        if (c == NULL)
            return;
        struct payload p = { .sender = c->gid, .seq = c->seq++, .sent_ns = bench_now_ns() };
        payload_write(f->msg, w->o->size, &p);
        w->r.sent++;
        client_send_text(c, f->msg, w->o->size);
    }
}

static void on_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct bench_worker *w = t->data;
    send_due(w, w->mode, bench_now_ns());
}

static void fanout_start(struct bench_worker *w)
{
    struct fanout *f = w->mode;
    for (size_t i = 0; i < w->nclients; i++)
        w->clients[i].in_window = w->clients[i].state == CLIENT_OPEN;
    f->need = w->open;
    if (f->npublishers == 0)
        return;
    double interval = 1.0 / f->rate;
    interval = interval < TICK_MIN ? TICK_MIN : interval > TICK_MAX ? TICK_MAX : interval;
    f->start_ns = bench_now_ns();
    ev_timer_init(&f->tick, on_tick, interval, interval);
    f->tick.data = w;
    ev_timer_start(w->loop, &f->tick);
}

static void check_done(struct bench_worker *w)
{
    struct fanout *f = w->mode;
    if (f->total_known && f->done >= f->need)
        bench_worker_finish(w);
}

static void fanout_message(struct client *c, const uint8_t *data, size_t len)
{
    struct bench_worker *w = c->w;
    struct fanout *f = w->mode;
    struct payload p;
    if (payload_read(data, len, &p) != 0 || p.sender >= w->o->publishers || c->last_seq == NULL)
        return;
    if (p.seq + 1 <= c->last_seq[p.sender]) {
        w->r.duplicates++;
        return;
    }
    c->last_seq[p.sender] = p.seq + 1;
    hist_record(&w->r.latency, (bench_now_ns() - p.sent_ns) / 1000);
    w->r.delivered++;
    c->msgs++;
    if (f->total_known && c->in_window && c->msgs == f->total) {
        f->done++;
        check_done(w);
    }
}

static void fanout_closed(struct client *c)
{
    struct fanout *f = c->w->mode;
    if (f->total_known && c->in_window && c->msgs < f->total) {
        f->done++;
        check_done(c->w);
    }
}

static void fanout_window_end(struct bench_worker *w)
{
    struct fanout *f = w->mode;
    if (f->npublishers > 0) {
        /* The window timer may fire just before the last tick. */
        send_due(w, f, f->start_ns + w->o->duration_ms * 1000000u);
        ev_timer_stop(w->loop, &f->tick);
    }
    bench_worker_tell(w, "sent %llu", (unsigned long long)w->r.sent);
}

static void on_grace(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    bench_worker_finish(t->data);
}

static void fanout_total(struct bench_worker *w, uint64_t total)
{
    struct fanout *f = w->mode;
    f->total = total;
    f->total_known = 1;
    for (size_t i = 0; i < w->nclients; i++) {
        struct client *c = &w->clients[i];
        if (c->in_window && (c->state != CLIENT_OPEN || c->msgs >= total))
            f->done++;
    }
    ev_timer_init(&f->grace, on_grace, (double)w->o->grace_ms / 1000.0, 0);
    f->grace.data = w;
    ev_timer_start(w->loop, &f->grace);
    check_done(w);
}

const struct bench_mode_ops bench_fanout_ops = {
    .init = fanout_init,
    .on_open = fanout_open,
    .on_message = fanout_message,
    .on_closed = fanout_closed,
    .start = fanout_start,
    .window_end = fanout_window_end,
    .on_total = fanout_total,
    .free = fanout_free,
    .timed = 1,
};
