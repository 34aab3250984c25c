/* worker.c — a worker process: it serves the listeners the master gave it
 * with the configuration the master validated, follows the server state the
 * master publishes in the registry, and drains on request (SIGTERM, or a
 * soft stop when a reload hands its place to newer workers). */
#include "lb.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../shared/net.h"
#include "balance.h"
#include "config.h"
#include "ctl.h"
#include "handover.h"
#include "httplog.h"
#include "io.h"
#include "stick.h"
#include "stream.h"

#define ACCEPTS_PER_EVENT 64
#define ACCEPT_RETRY 0.1  /* seconds to stop accepting when out of descriptors */
#define POOL_KEEP 1024    /* spare I/O buffers kept for reuse */
#define POOL_FLOOR 16     /* spare buffers a trim keeps, for the next burst */
#define STREAM_CHUNK (256 * 1024) /* bytes of streams mapped at a time */
#define SYNC_INTERVAL 1.0 /* seconds between two reads of the server state */
#define SPREAD_TICK 0.02  /* seconds between two rounds of spread closing */

static const char *env_lookup(const char *name)
{
    return getenv(name);
}

uint32_t lb_now_ms(const struct lb *lb)
{
    return (uint32_t)((ev_now(lb->loop) - lb->start) * 1000.0);
}

struct timeq *lb_timeq(struct lb *lb, uint32_t ms)
{
    ev_tstamp timeout = ms / 1000.0;
    for (size_t i = 0; i < lb->ntimeqs; i++)
        if (lb->timeqs[i]->timeout == timeout)
            return lb->timeqs[i];
    struct timeq **grown = realloc(lb->timeqs, (lb->ntimeqs + 1) * sizeof(*grown));
    struct timeq *q = malloc(sizeof(*q));
    if (grown == NULL || q == NULL) {
        free(q);
        if (grown)
            lb->timeqs = grown;
        return NULL;
    }
    lb->timeqs = grown;
    timeq_init(q, lb->loop, timeout, stream_timeout, lb);
    lb->timeqs[lb->ntimeqs++] = q;
    return q;
}

/* ---- listeners ---------------------------------------------------------- */

static unsigned fe_maxconn(const struct lb *lb, const struct proxy *fe)
{
    return fe->maxconn ? fe->maxconn : lb->maxconn;
}

static int at_limit(const struct lb *lb, const struct proxy *fe)
{
    return lb->actconn >= lb->maxconn || fe->feconn >= fe_maxconn(lb, fe);
}

static void listener_pause(struct lb *lb, struct listener *li)
{
    if (!li->paused) {
        li->paused = 1;
        ev_io_stop(lb->loop, &li->watcher);
    }
}

void lb_listeners_resume(struct lb *lb)
{
    if (lb->draining || ev_is_active(&lb->accept_retry))
        return;
    for (unsigned i = 0; i < lb->cfg->nlisteners; i++) {
        struct listener *li = lb->listeners[i];
        if (li->paused && li->fd >= 0 && !at_limit(lb, li->fe)) {
            li->paused = 0;
            ev_io_start(lb->loop, &li->watcher);
        }
    }
}

/* Accepts up to ACCEPTS_PER_EVENT connections. Returns how many it took
 * before it had to stop (fewer: the backlog is empty, or a limit). */
static int accept_some(struct lb *lb, struct listener *li)
{
    int i;
    for (i = 0; i < ACCEPTS_PER_EVENT; i++) {
        if (at_limit(lb, li->fe)) {
            /* The backlog holds the rest until a stream closes. */
            listener_pause(lb, li);
            return i;
        }
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(li->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            if (lb->accept_pauses) {
                log_info("accepting again after %u pauses for lack of descriptors", lb->accept_pauses);
                lb->accept_pauses = 0;
            }
            if (li->tls) {
                SSL *ssl = (size_t)fd < lb->tls_size ? tls_server_ssl(li->tls, fd) : NULL;
                if (ssl == NULL) {
                    close(fd);
                    continue;
                }
                io_attach(lb, fd, ssl);
            }
            stream_new(lb, li, fd, (struct sockaddr *)&ss);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return i;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* Retried every ACCEPT_RETRY while the shortage lasts: said once. */
            if (lb->accept_pauses++ == 0)
                log_warn("accept: %s (%u streams open); pausing accepts for %.0f ms until "
                         "descriptors free up", strerror(errno), lb->actconn, ACCEPT_RETRY * 1000);
            for (unsigned k = 0; k < lb->cfg->nlisteners; k++)
                listener_pause(lb, lb->listeners[k]);
            ev_timer_set(&lb->accept_retry, ACCEPT_RETRY, 0);
            ev_timer_start(lb->loop, &lb->accept_retry);
            return i;
        }
        log_warn("accept on %s: %s", li->text, strerror(errno));
        return i;
    }
    return i;
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    struct listener *li = (struct listener *)(void *)((char *)w - offsetof(struct listener, watcher));
    (void)loop;
    (void)revents;
    accept_some(w->data, li);
}

static void on_accept_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    lb_listeners_resume(w->data);
}

/* The sockets come from the master, one per listener for this worker. */
static void listeners_start(struct lb *lb, const struct worker_args *a)
{
    for (unsigned i = 0; i < lb->cfg->nlisteners; i++) {
        struct listener *li = lb->listeners[i];
        li->fd = a->listen_fds[i];
        ev_io_init(&li->watcher, on_accept, li->fd, EV_READ);
        li->watcher.data = lb;
        ev_io_start(lb->loop, &li->watcher);
    }
}

/* Our copies go; the sockets stay open for the master and newer workers.
 * What is already in our backlog is accepted first, so that a socket that
 * closes now (a reload with fewer workers, or SIGTERM) resets no connection
 * that was waiting on it. */
static void listeners_close(struct lb *lb)
{
    for (unsigned i = 0; i < lb->cfg->nlisteners; i++) {
        struct listener *li = lb->listeners[i];
        while (li->fd >= 0 && !li->paused && accept_some(lb, li) == ACCEPTS_PER_EVENT)
            ;
    }
    for (unsigned i = 0; i < lb->cfg->nlisteners; i++) {
        struct listener *li = lb->listeners[i];
        if (li->fd >= 0) {
            ev_io_stop(lb->loop, &li->watcher);
            close(li->fd);
            li->fd = -1;
        }
    }
}

/* ---- server state ------------------------------------------------------- */

void lb_report_connect_failure(struct lb *lb, struct server *s, const char *why)
{
    if (!s->check || lb->ctl < 0)
        return;
    struct ctl_msg m = { .type = CTL_CONNECT_FAILED, .obj = s->obj };
    snprintf(m.text, sizeof(m.text), "%s", why);
    ctl_send(lb->ctl, &m, sizeof(m), NULL, 0); /* a full socket: the checks will tell */
}

/* Closes the streams of a server ("shutdown sessions server"). */
static void kill_server_streams(struct lb *lb, const struct server *s)
{
    unsigned killed = 0;
    size_t n;
    struct stream **all = stream_list(lb, &n);
    for (size_t i = 0; i < n; i++) {
        struct stream *st = all[i];
        if (st->state != ST_DEAD && st->state != ST_QUEUED && stream_server(st) == s) {
            stream_close(lb, st, "KD");
            killed++;
        }
    }
    free(all);
    if (all == NULL)
        log_error("server %s/%s: out of memory: its sessions stay", s->be->name, s->name);
    else if (killed)
        log_info("server %s/%s: shut down %u streams", s->be->name, s->name, killed);
}

/* Reads the server state the master published: admin state, weight, the
 * checks' verdict, and "shutdown sessions" requests. */
static void sync_servers(struct lb *lb, int first)
{
    for (struct proxy *be = lb->cfg->proxies; be; be = be->next) {
        if (!(be->caps & PROXY_BACKEND))
            continue;
        int weights_changed = 0, usability_changed = 0;
        for (size_t i = 0; i < be->nservers; i++) {
            struct server *s = be->servers[i];
            struct reg_server st;
            reg_server_read(registry_object(&lb->reg, s->obj), &st);
            int was_usable = balance_server_usable(s), was_persist = balance_server_persist_ok(s);
            weights_changed |= st.weight != s->weight;
            s->up = st.check_up;
            s->admin = st.admin;
            s->weight = st.weight;
            usability_changed |= was_usable != balance_server_usable(s) ||
                                 was_persist != balance_server_persist_ok(s);
            if (first)
                s->kill_epoch = st.kill_epoch;
            else if (st.kill_epoch != s->kill_epoch) {
                s->kill_epoch = st.kill_epoch;
                kill_server_streams(lb, s);
            }
        }
        if (weights_changed && be->hash_type == HASH_CONSISTENT && balance_ring_build(be) != 0)
            log_error("backend '%s': out of memory rebuilding its hash ring", be->name);
        /* Slots to give, or (with redispatch) waiters of a server gone to move. */
        if (usability_changed && !first)
            connect_assign_queued(lb, be);
    }
    struct tls_ticket_key keys[2];
    registry_keys_read(&lb->reg, keys);
    for (unsigned i = 0; i < lb->cfg->nlisteners; i++)
        if (lb->listeners[i]->tls)
            tls_server_set_keys(lb->listeners[i]->tls, keys);
}

/* Once a second: the server state, and memory back to the traffic's level
 * after a burst (a connect storm's request buffers, say): the pool's unused
 * spare buffers are freed and malloc gives the pages back to the system. */
static void on_sync_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct lb *lb = w->data;
    (void)loop;
    (void)revents;
    sync_servers(lb, 0);
    if (pbuf_pool_trim(&lb->pool, POOL_FLOOR) > 0)
        malloc_trim(0);
}

/* ---- draining ------------------------------------------------------------ */

/* A stream is idle when it waits for a request of which nothing has come
 * (no byte read, none waiting in the kernel), or its client has closed. On a
 * reload, a new connection that has not sent its first request yet is not:
 * its client is about to, and it is served here (timeout http-request and the
 * hard stop bound the wait), so that no connection attempt fails because of
 * the reload. Between two requests of a kept-alive connection, it is idle:
 * HTTP lets its client retry on a new connection. */
static int stream_idle(const struct stream *s, int reload)
{
    if (s->state != ST_REQ || (s->u.txn && s->u.txn->req && pbuf_len(s->u.txn->req) > 0))
        return 0;
    char c;
    ssize_t n = recv(s->cli.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0)
        return 0;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
        return 1;
    return !reload || (s->flags & SF_KA_WAIT);
}

/* Closes streams waiting for a request (nothing in flight on them). */
static void close_idle(struct lb *lb, int reload)
{
    size_t n;
    struct stream **all = stream_list(lb, &n);
    for (size_t i = 0; i < n; i++)
        if (stream_idle(all[i], reload))
            stream_close(lb, all[i], NULL);
    free(all);
}

/* Closes up to n streams, the longest open first in each phase. */
static unsigned close_some(struct lb *lb, unsigned n)
{
    unsigned closed = 0;
    size_t count;
    struct stream **all = stream_list(lb, &count);
    for (size_t i = 0; i < count && closed < n; i++) {
        if (all[i]->state == ST_DEAD)
            continue;
        stream_close(lb, all[i], "KD");
        closed++;
    }
    free(all);
    return closed;
}

static void stop_now(struct lb *lb)
{
    stream_close_all(lb, "KD");
    ev_break(lb->loop, EVBREAK_ALL);
}

/* The drain's last phase: close what remains, spread over close-spread-time
 * (so clients do not all reconnect at once) and done at the deadline. */
static void on_drain_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct lb *lb = w->data;
    (void)revents;
    ev_tstamp now = ev_now(loop);
    if (now >= lb->drain_deadline - 0.001) {
        if (lb->actconn)
            log_warn("hard stop: closing %u streams still open", lb->actconn);
        stop_now(lb);
        return;
    }
    if (lb->spread_start == 0) {
        lb->spread_start = now;
        lb->spread_total = lb->actconn;
        lb->spread_closed = 0;
        log_info("hard stop in %.1fs: closing %u streams over that time", lb->drain_deadline - now,
                 lb->actconn);
    }
    double share = (now - lb->spread_start) / (lb->drain_deadline - lb->spread_start);
    unsigned due = (unsigned)((double)lb->spread_total * share);
    if (due > lb->spread_closed)
        lb->spread_closed += close_some(lb, due - lb->spread_closed);
    ev_timer_set(w, SPREAD_TICK, 0);
    ev_timer_start(loop, w);
}

/* Stops accepting and lets what is open finish, for at most bound_ms (0:
 * no bound). Idle connections go now (reload: a newer generation serves). */
static void drain(struct lb *lb, uint32_t bound_ms, int reload)
{
    lb->draining = 1;
    listeners_close(lb);
    close_idle(lb, reload);
    ev_timer_stop(lb->loop, &lb->drain_timer);
    if (bound_ms == 0)
        return;
    uint32_t spread = lb->cfg->close_spread_time < bound_ms ? lb->cfg->close_spread_time : bound_ms;
    lb->drain_deadline = ev_now(lb->loop) + bound_ms / 1000.0;
    lb->spread_start = 0;
    ev_timer_set(&lb->drain_timer, (bound_ms - spread) / 1000.0, 0);
    ev_timer_start(lb->loop, &lb->drain_timer);
}

/* SIGTERM drains (up to hard-stop-after, 10 s by default); SIGINT, or a
 * second signal, stops now. */
static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct lb *lb = w->data;
    (void)loop;
    (void)revents;
    const char *name = w->signum == SIGTERM ? "SIGTERM" : "SIGINT";
    if (w->signum == SIGINT || (lb->draining && ev_is_active(&lb->drain_timer))) {
        log_info("%s: stopping now, closing %u streams", name, lb->actconn);
        stop_now(lb);
        return;
    }
    uint32_t limit = lb->cfg->hard_stop_after ? lb->cfg->hard_stop_after : LB_DEFAULT_DRAIN_MS;
    drain(lb, limit, 0);
    log_info("%s: draining %u streams, closing what remains in %.1fs", name, lb->actconn,
             limit / 1000.0);
}

/* A reload: newer workers take the listeners. Tunnels that can move go to
 * them; the rest finish here, up to hard-stop-after (no bound without it,
 * as HAProxy). */
static void soft_stop(struct lb *lb, int xfer_fd, uint32_t successor)
{
    if (!lb->draining) {
        drain(lb, lb->cfg->hard_stop_after, 1);
        log_info("soft stop: generation %u takes over; %u streams open here", successor,
                 lb->actconn);
    }
    if (xfer_fd >= 0)
        handover_start(lb, xfer_fd, successor);
}

static void on_ctl(struct ev_loop *loop, ev_io *w, int revents)
{
    struct lb *lb = w->data;
    (void)loop;
    (void)revents;
    for (;;) {
        struct ctl_msg m;
        int fds[CTL_MAX_FDS], nfds;
        ssize_t n = ctl_recv(lb->ctl, &m, sizeof(m), fds, CTL_MAX_FDS, &nfds);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            /* The master is gone: finish what is open, as on SIGTERM. */
            ev_io_stop(lb->loop, &lb->ctl_watch);
            close(lb->ctl);
            lb->ctl = -1;
            if (!lb->draining) {
                log_warn("the master process is gone: draining");
                uint32_t limit = lb->cfg->hard_stop_after ? lb->cfg->hard_stop_after
                                                          : LB_DEFAULT_DRAIN_MS;
                drain(lb, limit, 0);
            }
            return;
        }
        if ((size_t)n != sizeof(m)) {
            for (int i = 0; i < nfds; i++)
                close(fds[i]);
            continue;
        }
        if (m.type == CTL_POKE)
            sync_servers(lb, 0);
        else if (m.type == CTL_SOFT_STOP)
            soft_stop(lb, nfds > 0 ? fds[0] : -1, m.generation);
        for (int i = (m.type == CTL_SOFT_STOP ? 1 : 0); i < nfds; i++)
            close(fds[i]);
    }
}

static void on_before_sleep(struct ev_loop *loop, ev_prepare *w, int revents)
{
    struct lb *lb = w->data;
    (void)revents;
    stream_free_dead(lb);
    if (lb->draining && lb->actconn == 0) {
        log_info("drained: no stream left");
        ev_break(loop, EVBREAK_ALL);
    }
}

/* ---- set-up ------------------------------------------------------------- */

/* Numbers servers and listeners (streams refer to them by index) and finds
 * their objects in the registry. */
static int index_config(struct lb *lb)
{
    struct lb_config *cfg = lb->cfg;
    if (cfg->nservers >= UINT16_MAX || cfg->nlisteners >= UINT16_MAX) {
        log_error("%s: more than %u servers or listeners", cfg->file, UINT16_MAX - 1);
        return -1;
    }
    lb->servers = calloc(cfg->nservers + 1, sizeof(*lb->servers));
    lb->listeners = calloc(cfg->nlisteners + 1, sizeof(*lb->listeners));
    if (lb->servers == NULL || lb->listeners == NULL) {
        log_error("out of memory");
        return -1;
    }
    unsigned ns = 0, nl = 0;
    for (struct proxy *px = cfg->proxies; px; px = px->next) {
        if (px->caps & PROXY_FRONTEND)
            px->fe_obj = registry_find(&lb->reg, REG_FRONTEND, px->name, "", 0);
        if (px->caps & PROXY_BACKEND)
            px->be_obj = registry_find(&lb->reg, REG_BACKEND, px->name, "", 0);
        if (((px->caps & PROXY_FRONTEND) && !px->fe_obj) || ((px->caps & PROXY_BACKEND) && !px->be_obj)) {
            log_error("'%s' is missing from the registry the master prepared", px->name);
            return -1;
        }
        if (px->caps & PROXY_BACKEND) {
            for (size_t i = 0; i < px->nservers; i++) {
                struct server *s = px->servers[i];
                s->index = (uint16_t)++ns;
                s->obj = registry_find(&lb->reg, REG_SERVER, px->name, s->name, 0);
                if (!s->obj) {
                    log_error("server %s/%s is missing from the registry the master prepared",
                              px->name, s->name);
                    return -1;
                }
                lb->servers[ns] = s;
            }
        }
        if (px->caps & PROXY_FRONTEND) {
            for (size_t i = 0; i < px->nbinds; i++) {
                px->binds[i]->index = (uint16_t)nl;
                lb->listeners[nl++] = px->binds[i];
            }
        }
    }
    return 0;
}

/* Returns the open-files limit. */
static long set_maxconn(struct lb *lb)
{
    long nofile = net_raise_nofile();
    /* A stream holds two descriptors; keep some for listeners, checks, logs. */
    unsigned fit = nofile > 100 ? (unsigned)((nofile - 50) / 2) : 1;
    lb->maxconn = lb->cfg->maxconn ? lb->cfg->maxconn : fit;
    if (lb->maxconn > fit && lb->slot == 0)
        log_warn("maxconn %u needs %u file descriptors but the limit is %ld; past %u streams "
                 "accepts will pause until descriptors free up",
                 lb->maxconn, lb->maxconn * 2 + 50, nofile, fit);
    return nofile;
}

/* Maps the stick tables the master made, one per backend that has one. */
static int map_stick_tables(struct lb *lb, const struct worker_args *a)
{
    size_t k = 0;
    for (struct proxy *be = lb->cfg->proxies; be; be = be->next) {
        if (!(be->caps & PROXY_BACKEND) || be->stick.size == 0)
            continue;
        if (k == a->nstick) {
            log_error("the master gave %zu stick tables, the configuration has more", a->nstick);
            return -1;
        }
        size_t size = stick_region_size(be->stick.size);
        void *region = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, a->stick_fds[k], 0);
        close(a->stick_fds[k++]);
        if (region == MAP_FAILED) {
            log_error("backend '%s': cannot map its stick table: %s", be->name, strerror(errno));
            return -1;
        }
        be->stick.table = region;
    }
    return 0;
}

static void unmap_stick_tables(struct lb *lb)
{
    for (struct proxy *be = lb->cfg ? lb->cfg->proxies : NULL; be; be = be->next)
        if (be->stick.table) {
            munmap(be->stick.table, stick_region_size(be->stick.size));
            be->stick.table = NULL;
        }
}

/* The configuration the master validated, from the memfd it gave us. */
static struct lb_config *load_config(const struct worker_args *a)
{
    struct stat st;
    if (fstat(a->config_fd, &st) != 0) {
        log_error("cannot read the configuration from the master: %s", strerror(errno));
        return NULL;
    }
    char *text = malloc((size_t)st.st_size + 1);
    if (text == NULL || pread(a->config_fd, text, (size_t)st.st_size, 0) != st.st_size) {
        log_error("cannot read the configuration from the master");
        free(text);
        return NULL;
    }
    struct strbuf errors = STRBUF_INIT, warnings = STRBUF_INIT;
    struct lb_config *cfg = lb_config_parse(a->file, text, (size_t)st.st_size, env_lookup,
                                            &errors, &warnings);
    if (cfg == NULL)
        log_error("the configuration does not parse in the worker:\n%s", errors.data ? errors.data : "");
    free(text);
    strbuf_free(&errors);
    strbuf_free(&warnings); /* the master reported them */
    return cfg;
}

static void lb_free(struct lb *lb)
{
    handover_free(lb);
    stream_close_all(lb, NULL);
    stream_free_dead(lb);
    for (size_t i = 0; i < lb->ntimeqs; i++) {
        timeq_stop(lb->timeqs[i]);
        free(lb->timeqs[i]);
    }
    free(lb->timeqs);
    if (lb->loop) {
        if (lb->cfg)
            listeners_close(lb);
        ev_signal_stop(lb->loop, &lb->sigterm);
        ev_signal_stop(lb->loop, &lb->sigint);
        ev_timer_stop(lb->loop, &lb->drain_timer);
        ev_timer_stop(lb->loop, &lb->accept_retry);
        ev_timer_stop(lb->loop, &lb->sync_timer);
        ev_io_stop(lb->loop, &lb->ctl_watch);
        ev_io_stop(lb->loop, &lb->xfer_watch);
        ev_prepare_stop(lb->loop, &lb->before_sleep);
        ev_loop_destroy(lb->loop);
    }
    if (lb->ctl >= 0)
        close(lb->ctl);
    if (lb->xfer_watch.fd >= 0)
        close(lb->xfer_watch.fd);
    httplog_free(lb);
    pbuf_pool_free(&lb->pool);
    slab_destroy(&lb->streams);
    slab_destroy(&lb->streams6);
    free(lb->scratch);
    free(lb->servers);
    free(lb->listeners);
    free(lb->tls);
    unmap_stick_tables(lb);
    registry_detach(&lb->reg);
    lb_config_free(lb->cfg);
    free(lb);
}

int worker_main(const struct worker_args *a)
{
    struct lb *lb = calloc(1, sizeof(*lb));
    if (lb == NULL) {
        log_error("out of memory");
        return 1;
    }
    lb->ctl = a->ctl_fd;
    lb->slot = a->slot;
    lb->generation = a->generation;
    lb->block = a->block;
    lb->reg.fd = -1;
    ev_io_init(&lb->xfer_watch, handover_on_receive, a->xfer_fd, EV_READ);
    lb->xfer_watch.data = lb;
    lb->loop = ev_default_loop(EVFLAG_AUTO);
    if (lb->loop == NULL) {
        log_error("cannot create the event loop");
        lb_free(lb);
        return 1;
    }
    ev_set_userdata(lb->loop, lb); /* the streams' watchers find the lb there (stream.c) */
    int status = 1;
    lb->cfg = load_config(a);
    close(a->config_fd);
    if (lb->cfg == NULL)
        goto out;
    if (registry_attach(&lb->reg, a->registry_fd) != 0) {
        log_error("cannot map the registry: %s", strerror(errno));
        close(a->registry_fd);
        goto out;
    }
    if (index_config(lb) != 0 || map_stick_tables(lb, a) != 0)
        goto out;
    if (a->nlisten != lb->cfg->nlisteners) {
        log_error("the master gave %zu listening sockets for %u listeners", a->nlisten,
                  lb->cfg->nlisteners);
        goto out;
    }
    lb->start = ev_now(lb->loop);
    lb->scratch = malloc(lb->cfg->bufsize);
    pbuf_pool_init(&lb->pool, lb->cfg->bufsize, POOL_KEEP);
    slab_init(&lb->streams, sizeof(struct stream), STREAM_CHUNK);
    slab_init(&lb->streams6, sizeof(struct stream6), STREAM_CHUNK);
    if (lb->scratch == NULL) {
        log_error("out of memory");
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    long nofile = set_maxconn(lb);
    if (lb->cfg->uses_tls) {
        /* One slot per possible descriptor: the TLS session of that socket. */
        lb->tls_size = nofile > 0 ? (size_t)nofile : 1024;
        lb->tls = calloc(lb->tls_size, sizeof(*lb->tls));
        if (lb->tls == NULL) {
            log_error("out of memory");
            goto out;
        }
    }

    ev_signal_init(&lb->sigterm, on_signal, SIGTERM);
    lb->sigterm.data = lb;
    ev_signal_start(lb->loop, &lb->sigterm);
    ev_signal_init(&lb->sigint, on_signal, SIGINT);
    lb->sigint.data = lb;
    ev_signal_start(lb->loop, &lb->sigint);
    ev_init(&lb->drain_timer, on_drain_timer);
    lb->drain_timer.data = lb;
    ev_init(&lb->accept_retry, on_accept_retry);
    lb->accept_retry.data = lb;
    ev_timer_init(&lb->sync_timer, on_sync_timer, SYNC_INTERVAL, SYNC_INTERVAL);
    lb->sync_timer.data = lb;
    ev_timer_start(lb->loop, &lb->sync_timer);
    ev_io_init(&lb->ctl_watch, on_ctl, lb->ctl, EV_READ);
    lb->ctl_watch.data = lb;
    ev_io_start(lb->loop, &lb->ctl_watch);
    ev_io_start(lb->loop, &lb->xfer_watch);
    ev_prepare_init(&lb->before_sleep, on_before_sleep);
    lb->before_sleep.data = lb;
    ev_prepare_start(lb->loop, &lb->before_sleep);

    sync_servers(lb, 1);
    listeners_start(lb, a);
    struct ctl_msg ready = { .type = CTL_READY };
    if (ctl_send(lb->ctl, &ready, sizeof(ready), NULL, 0) != 0) {
        log_error("cannot tell the master we are ready: %s", strerror(errno));
        goto out;
    }
    ev_run(lb->loop, 0);
    status = 0;
out:
    lb_free(lb);
    return status;
}
