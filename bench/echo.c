/* echo.c — `wscale bench echo`: closed loop against an echo server
 * (`wscale backend --echo` answers each message to its sender only). Each
 * client sends one -s byte message, waits for it to come back, records the
 * round trip and sends the next, until -t ends; then the messages in flight
 * get up to --grace to come back. Other messages (the greeting) are ignored. */
#include <stdlib.h>

#include "payload.h"
#include "worker.h"

struct echo {
    uint8_t *msg;        /* the message being built, -s bytes */
    size_t in_flight;
    int over;            /* -t has elapsed: send no more */
    ev_timer grace;
};

static int echo_init(struct bench_worker *w)
{
    struct echo *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return -1;
    e->msg = malloc(w->o->size);
    w->mode = e;
    return e->msg ? 0 : -1;
}

static void echo_free(struct bench_worker *w)
{
    struct echo *e = w->mode;
    ev_timer_stop(w->loop, &e->grace);
    free(e->msg);
    free(e);
    w->mode = NULL;
}

static void send_next(struct client *c)
{
    struct bench_worker *w = c->w;
    struct echo *e = w->mode;
    struct payload p = { .sender = c->gid, .seq = c->seq++, .sent_ns = bench_now_ns() };
    payload_write(e->msg, w->o->size, &p);
    c->pending_ns = p.sent_ns;
    e->in_flight++;
    w->r.sent++;
    client_send_text(c, e->msg, w->o->size); /* if it breaks, echo_closed counts it */
}

static void echo_start(struct bench_worker *w)
{
    for (size_t i = 0; i < w->nclients; i++)
        if (w->clients[i].state == CLIENT_OPEN)
            send_next(&w->clients[i]);
}

static void check_drained(struct bench_worker *w)
{
    struct echo *e = w->mode;
    if (e->over && e->in_flight == 0)
        bench_worker_finish(w);
}

static void echo_message(struct client *c, const uint8_t *data, size_t len)
{
    struct bench_worker *w = c->w;
    struct echo *e = w->mode;
    struct payload p;
    if (payload_read(data, len, &p) != 0 || p.sender != c->gid || c->pending_ns != p.sent_ns)
        return;
    uint64_t now = bench_now_ns();
    hist_record(&w->r.latency, (now - p.sent_ns) / 1000);
    w->r.delivered++;
    if (now <= w->window_end_ns)
        w->r.in_window++;
    c->pending_ns = 0;
    e->in_flight--;
    if (!e->over)
        send_next(c);
    else
        check_drained(w);
}

static void echo_closed(struct client *c)
{
    struct echo *e = c->w->mode;
    if (c->pending_ns) {
        c->pending_ns = 0;
        e->in_flight--;
        check_drained(c->w);
    }
}

static void on_grace(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    bench_worker_finish(t->data);
}

static void echo_window_end(struct bench_worker *w)
{
    struct echo *e = w->mode;
    e->over = 1;
    ev_timer_init(&e->grace, on_grace, (double)w->o->grace_ms / 1000.0, 0);
    e->grace.data = w;
    ev_timer_start(w->loop, &e->grace);
    check_drained(w);
}

const struct bench_mode_ops bench_echo_ops = {
    .init = echo_init,
    .on_message = echo_message,
    .on_closed = echo_closed,
    .start = echo_start,
    .window_end = echo_window_end,
    .free = echo_free,
    .timed = 1,
};
