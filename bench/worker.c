/* worker.c — see worker.h. */
#include "worker.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../shared/tls.h"

#define SCRATCH_SIZE (64 * 1024)
#define PACE_INTERVAL 0.01 /* -R: new connections are released every 10 ms */

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_worker_random(struct bench_worker *w)
{
    w->rng ^= w->rng >> 12;
    w->rng ^= w->rng << 25;
    w->rng ^= w->rng >> 27;
    return w->rng * UINT64_C(2685821657736338717);
}

void bench_worker_tell(struct bench_worker *w, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    /* Lines are far below PIPE_BUF: each write is atomic and whole. */
    while (write(w->to_parent, line, (size_t)n) < 0 && errno == EINTR)
        ;
}

static void tell_line(const char *line, void *arg)
{
    struct bench_worker *w = arg;
    size_t n = strlen(line);
    char *copy = malloc(n + 1);
    if (copy == NULL)
        return;
    memcpy(copy, line, n);
    copy[n] = '\n';
    size_t off = 0;
    while (off <= n) {
        ssize_t k = write(w->to_parent, copy + off, n + 1 - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        off += (size_t)k;
    }
    free(copy);
}

static void maybe_ready(struct bench_worker *w)
{
    if (w->ready_sent || w->next < w->nclients || w->connecting > 0)
        return;
    w->ready_sent = 1;
    ev_timer_stop(w->loop, &w->pace);
    bench_worker_tell(w, "ready %zu", w->open);
}

/* The source address of global client g: clients to one URL take the
 * sources in turn. */
static uint32_t source_of(const struct bench_worker *w, uint32_t gid)
{
    if (w->nsources == 0)
        return 0;
    return w->sources[(gid / w->o->nurls) % w->nsources];
}

/* Starts connections while the in-flight bound and the -R budget allow. */
static void pump(struct bench_worker *w)
{
    if (w->pumping) /* client_start may fail at once and call back */
        return;
    w->pumping = 1;
    size_t budget = SIZE_MAX;
    if (w->o->connect_rate) {
        double per_proc = (double)w->o->connect_rate / w->nprocs;
        double elapsed = (double)(bench_now_ns() - w->pace_start_ns) / 1e9;
        size_t allowed = (size_t)(elapsed * per_proc) + 1;
        budget = allowed > w->next ? allowed - w->next : 0;
    }
    while (w->next < w->nclients && w->connecting < w->o->max_connecting && budget > 0) {
        struct client *c = &w->clients[w->next++];
        budget--;
        w->connecting++;
        w->r.attempted++;
        if (w->r.first_connect_ns == 0)
            w->r.first_connect_ns = bench_now_ns();
        client_start(c, &w->addrs[c->gid % w->o->nurls], source_of(w, c->gid));
    }
    w->pumping = 0;
    maybe_ready(w);
}

static void on_pace(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    pump(t->data);
}

void bench_worker_failed(struct bench_worker *w, struct client *c, const char *fmt, ...)
{
    if (w->first_error[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->first_error, sizeof(w->first_error), fmt, ap);
        va_end(ap);
    }
    client_free(c);
    w->connecting--;
    w->r.failed++;
    pump(w);
}

void bench_worker_opened(struct bench_worker *w, struct client *c)
{
    uint64_t now = bench_now_ns();
    w->connecting--;
    w->open++;
    w->r.established++;
    w->r.last_up_ns = now;
    hist_record(&w->r.handshake, (now - c->started_ns) / 1000);
    if (w->ops->on_open)
        w->ops->on_open(c);
    pump(w);
}

void bench_worker_closed(struct bench_worker *w, struct client *c)
{
    w->open--;
    if (!w->finished)
        w->r.closed++;
    if (w->ops->on_closed)
        w->ops->on_closed(c);
}

void bench_worker_finish(struct bench_worker *w)
{
    if (w->finished)
        return;
    w->finished = 1;
    if (w->first_error[0])
        bench_worker_tell(w, "x %s", w->first_error);
    bench_result_lines(&w->r, tell_line, w);
    bench_worker_tell(w, "done");
    for (size_t i = 0; i < w->nclients; i++)
        client_close(&w->clients[i]);
    ev_break(w->loop, EVBREAK_ALL);
}

static void on_window(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct bench_worker *w = t->data;
    w->window_end_ns = bench_now_ns(); /* the window closes now, not when it was planned to */
    if (w->ops->window_end)
        w->ops->window_end(w);
    else
        bench_worker_finish(w);
}

/* Fails the connections that are still not open after --timeout. O(clients)
 * once a second, and only while connecting. */
static void expire_connects(struct bench_worker *w)
{
    uint64_t limit = w->o->timeout_ms * 1000000u, now = bench_now_ns();
    char why[64];
    snprintf(why, sizeof(why), "no 101 within %llu ms", (unsigned long long)w->o->timeout_ms);
    for (size_t i = 0; i < w->next; i++) {
        struct client *c = &w->clients[i];
        if (c->state >= CLIENT_CONNECTING && c->state <= CLIENT_UPGRADE && now - c->started_ns >= limit)
            client_fail(c, why);
    }
}

static void on_progress(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct bench_worker *w = t->data;
    if (!w->ready_sent)
        expire_connects(w);
    bench_worker_tell(w, "p %zu %llu", w->open, (unsigned long long)w->r.delivered);
}

static void start_window(struct bench_worker *w)
{
    w->r.open_at_start = w->open;
    if (w->ops->start)
        w->ops->start(w);
    if (w->finished)
        return;
    if (!w->ops->timed) {
        bench_worker_finish(w);
        return;
    }
    w->window_end_ns = bench_now_ns() + w->o->duration_ms * 1000000u;
    ev_timer_init(&w->window, on_window, (double)w->o->duration_ms / 1000.0, 0);
    w->window.data = w;
    ev_timer_start(w->loop, &w->window);
}

static void on_control_line(struct bench_worker *w, const char *line)
{
    if (strcmp(line, "go") == 0) {
        start_window(w);
    } else if (strncmp(line, "total ", 6) == 0) {
        if (w->ops->on_total)
            w->ops->on_total(w, strtoull(line + 6, NULL, 10));
    }
}

static void on_control(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)revents;
    struct bench_worker *w = io->data;
    ssize_t n = read(w->from_parent, w->ctl_buf + w->ctl_len, sizeof(w->ctl_buf) - 1 - w->ctl_len);
    if (n < 0 && errno == EINTR)
        return;
    if (n <= 0) {
        /* The parent is gone: nobody to report to. */
        ev_io_stop(loop, io);
        w->finished = 1;
        ev_break(loop, EVBREAK_ALL);
        return;
    }
    w->ctl_len += (size_t)n;
    w->ctl_buf[w->ctl_len] = '\0';
    char *line = w->ctl_buf, *nl;
    while (!w->finished && (nl = strchr(line, '\n')) != NULL) {
        *nl = '\0';
        on_control_line(w, line);
        line = nl + 1;
    }
    w->ctl_len = w->ctl_len - (size_t)(line - w->ctl_buf);
    memmove(w->ctl_buf, line, w->ctl_len);
}

int bench_worker_run(const struct bench_opts *o, const struct net_addr *addrs, unsigned index,
                     unsigned nprocs, const uint32_t *sources, size_t nsources, int to_parent,
                     int from_parent)
{
    static const struct bench_mode_ops *const modes[] = {
        [BENCH_IDLE] = &bench_idle_ops, [BENCH_FANOUT] = &bench_fanout_ops,
        [BENCH_ECHO] = &bench_echo_ops, [BENCH_STORM] = &bench_storm_ops,
    };
    int status = 1;
    struct bench_worker w = {
        .o = o, .ops = modes[o->mode], .addrs = addrs, .index = index, .nprocs = nprocs,
        .sources = (uint32_t *)sources, .nsources = nsources,
        .to_parent = to_parent, .from_parent = from_parent,
        .scratch_size = SCRATCH_SIZE, .wbuf_size = SCRATCH_SIZE,
        .rng = bench_now_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15u,
    };
    bench_result_init(&w.r);
    w.loop = ev_loop_new(EVFLAG_AUTO);
    w.nclients = (size_t)((o->clients - index + nprocs - 1) / nprocs);
    w.clients = calloc(w.nclients ? w.nclients : 1, sizeof(*w.clients));
    w.scratch = malloc(SCRATCH_SIZE);
    w.wbuf = malloc(SCRATCH_SIZE);
    if (w.loop == NULL || w.clients == NULL || w.scratch == NULL || w.wbuf == NULL) {
        fprintf(stderr, "wscale bench: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < w.nclients; i++) {
        struct client *c = &w.clients[i];
        c->w = &w;
        c->fd = -1;
        c->gid = (uint32_t)(index + i * nprocs);
        c->url = &o->urls[c->gid % o->nurls];
    }
    for (size_t i = 0; i < o->nurls; i++)
        if (o->urls[i].tls && w.tls == NULL) {
            char err[256];
            w.tls = tls_client_ctx_new(0, NULL, err, sizeof(err));
            if (w.tls == NULL) {
                fprintf(stderr, "wscale bench: TLS: %s\n", err);
                goto out;
            }
        }
    if (w.ops->init && w.ops->init(&w) != 0) {
        fprintf(stderr, "wscale bench: out of memory\n");
        goto out;
    }

    ev_io_init(&w.ctl, on_control, from_parent, EV_READ);
    w.ctl.data = &w;
    ev_io_start(w.loop, &w.ctl);
    ev_timer_init(&w.progress, on_progress, 1.0, 1.0);
    w.progress.data = &w;
    ev_timer_start(w.loop, &w.progress);
    ev_timer_init(&w.pace, on_pace, PACE_INTERVAL, PACE_INTERVAL);
    w.pace.data = &w;
    if (o->connect_rate)
        ev_timer_start(w.loop, &w.pace);
    w.pace_start_ns = bench_now_ns();
    pump(&w);
    ev_run(w.loop, 0);
    status = w.finished ? 0 : 1;

out:
    if (w.clients)
        for (size_t i = 0; i < w.nclients; i++)
            if (w.clients[i].w)
                client_free(&w.clients[i]);
    if (w.ops->free && w.mode)
        w.ops->free(&w);
    if (w.tls)
        SSL_CTX_free(w.tls);
    free(w.clients);
    free(w.scratch);
    free(w.wbuf);
    if (w.loop)
        ev_loop_destroy(w.loop);
    return status;
}
