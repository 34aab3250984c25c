/* lb.c — the lb process: command line, configuration, listeners, signals,
 * the loop, and an orderly shutdown. */
#include "lb.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../shared/cli.h"
#include "../shared/log.h"
#include "../shared/net.h"
#include "../shared/version.h"
#include "check.h"
#include "config.h"
#include "httplog.h"
#include "io.h"
#include "stick.h"
#include "stream.h"

#define ACCEPTS_PER_EVENT 64
#define ACCEPT_RETRY 0.1  /* seconds to stop accepting when out of descriptors */
#define POOL_KEEP 1024    /* spare I/O buffers kept for reuse */
#define TICKET_ROTATION 3600.0 /* seconds between new TLS ticket keys */

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

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    struct lb *lb = w->data;
    struct listener *li = (struct listener *)(void *)((char *)w - offsetof(struct listener, watcher));
    (void)loop;
    (void)revents;
    for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
        if (at_limit(lb, li->fe)) {
            /* The backlog holds the rest until a stream closes. */
            listener_pause(lb, li);
            return;
        }
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(li->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
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
            return;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            log_warn("accept: %s (%u streams open); pausing accepts for %.0f ms", strerror(errno),
                     lb->actconn, ACCEPT_RETRY * 1000);
            for (unsigned k = 0; k < lb->cfg->nlisteners; k++)
                listener_pause(lb, lb->listeners[k]);
            ev_timer_set(&lb->accept_retry, ACCEPT_RETRY, 0);
            ev_timer_start(lb->loop, &lb->accept_retry);
            return;
        }
        log_warn("accept on %s: %s", li->text, strerror(errno));
        return;
    }
}

static void on_accept_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    lb_listeners_resume(w->data);
}

static int listeners_open(struct lb *lb)
{
    for (unsigned i = 0; i < lb->cfg->nlisteners; i++) {
        struct listener *li = lb->listeners[i];
        char addr[NET_ADDR_STRLEN];
        li->fd = net_listen(&li->addr, 1024, 0);
        if (li->fd < 0) {
            log_error("%s:%d: frontend '%s': cannot bind %s: %s", lb->cfg->file, li->line,
                      li->fe->name, net_addr_format((struct sockaddr *)&li->addr.ss, addr, sizeof(addr)),
                      strerror(errno));
            return -1;
        }
        ev_io_init(&li->watcher, on_accept, li->fd, EV_READ);
        li->watcher.data = lb;
        ev_io_start(lb->loop, &li->watcher);
        log_info("frontend '%s' listening on %s%s, backend '%s'", li->fe->name,
                 net_addr_format((struct sockaddr *)&li->addr.ss, addr, sizeof(addr)),
                 li->tls ? " (TLS)" : "", li->fe->backend->name);
    }
    return 0;
}

static void listeners_close(struct lb *lb)
{
    for (unsigned i = 0; i < lb->cfg->nlisteners; i++) {
        struct listener *li = lb->listeners[i];
        if (li->fd >= 0) {
            ev_io_stop(lb->loop, &li->watcher);
            close(li->fd);
            li->fd = -1;
        }
    }
}

/* ---- signals and shutdown ------------------------------------------------ */

/* Closes streams waiting for a request (nothing in flight on them). */
static void close_idle(struct lb *lb)
{
    for (size_t i = 0; i < lb->ntimeqs; i++) {
        struct timeq_entry *e = lb->timeqs[i]->head.next;
        while (e != &lb->timeqs[i]->head) {
            struct timeq_entry *next = e->next;
            struct stream *s = stream_of_tq(e);
            if (s->state == ST_REQ && (s->u.txn == NULL || s->u.txn->req == NULL ||
                                       pbuf_len(s->u.txn->req) == 0))
                stream_close(lb, s, NULL);
            e = next;
        }
    }
}

/* SIGTERM drains: no new connections, idle ones closed, requests and
 * tunnels in progress finish until hard-stop-after. SIGINT stops now. A
 * second signal of either kind stops now too. */
static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct lb *lb = w->data;
    (void)revents;
    const char *name = w->signum == SIGTERM ? "SIGTERM" : "SIGINT";
    if (w->signum == SIGINT || lb->draining) {
        log_info("%s: stopping now, closing %u streams", name, lb->actconn);
        stream_close_all(lb, "KD");
        ev_break(loop, EVBREAK_ALL);
        return;
    }
    uint32_t limit = lb->cfg->hard_stop_after ? lb->cfg->hard_stop_after : LB_DEFAULT_DRAIN_MS;
    log_info("%s: draining %u streams, closing what remains in %.1fs", name, lb->actconn,
             limit / 1000.0);
    lb->draining = 1;
    listeners_close(lb);
    close_idle(lb);
    ev_timer_set(&lb->drain_timer, limit / 1000.0, 0);
    ev_timer_start(loop, &lb->drain_timer);
}

static void on_drain_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct lb *lb = w->data;
    (void)revents;
    log_warn("hard stop: closing %u streams still open", lb->actconn);
    stream_close_all(lb, "KD");
    ev_break(loop, EVBREAK_ALL);
}

static void on_ticket_rotation(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct lb *lb = w->data;
    (void)loop;
    (void)revents;
    for (unsigned i = 0; i < lb->cfg->nlisteners; i++)
        if (lb->listeners[i]->tls)
            tls_server_rotate_keys(lb->listeners[i]->tls);
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

/* Numbers servers and listeners: streams refer to them by index. */
static int index_config(struct lb *lb)
{
    struct lb_config *cfg = lb->cfg;
    if (cfg->nservers >= UINT16_MAX || cfg->nlisteners >= UINT16_MAX) {
        log_error("%s: more than %u servers or listeners", cfg->file, UINT16_MAX - 1);
        return -1;
    }
    lb->servers = calloc(cfg->nservers + 1, sizeof(*lb->servers));
    lb->listeners = calloc(cfg->nlisteners + 1, sizeof(*lb->listeners));
    if (lb->servers == NULL || lb->listeners == NULL)
        return -1;
    unsigned ns = 0, nl = 0;
    for (struct proxy *px = cfg->proxies; px; px = px->next) {
        if (px->caps & PROXY_BACKEND) {
            for (size_t i = 0; i < px->nservers; i++) {
                struct server *s = px->servers[i];
                s->index = (uint16_t)++ns;
                s->up = !s->disabled;
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

/* Each backend's stick table, in memory shared with any process forked
 * later (the workers to come). Returns 0, or -1 having logged why. */
static int stick_tables_create(struct lb *lb)
{
    for (struct proxy *px = lb->cfg->proxies; px; px = px->next) {
        struct stick_conf *sc = &px->stick;
        if (!(px->caps & PROXY_BACKEND) || sc->size == 0)
            continue;
        size_t size = stick_region_size(sc->size);
        void *region = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (region == MAP_FAILED) {
            log_error("%s:%d: stick-table of '%s': cannot map %zu bytes: %s", lb->cfg->file,
                      sc->table_line, px->name, size, strerror(errno));
            return -1;
        }
        if (stick_init(region, sc->size, sc->expire_ms) != 0) {
            log_error("%s:%d: stick-table of '%s': cannot make its lock: %s", lb->cfg->file,
                      sc->table_line, px->name, strerror(errno));
            munmap(region, size);
            return -1;
        }
        sc->table = region;
        log_info("backend '%s': stick table of %u entries, %zu bytes of shared memory", px->name,
                 sc->size, size);
    }
    return 0;
}

static void stick_tables_destroy(struct lb *lb)
{
    for (struct proxy *px = lb->cfg->proxies; px; px = px->next) {
        if (px->stick.table) {
            stick_destroy(px->stick.table);
            munmap(px->stick.table, stick_region_size(px->stick.size));
            px->stick.table = NULL;
        }
    }
}

/* Returns the open-files limit. */
static long set_maxconn(struct lb *lb)
{
    long nofile = net_raise_nofile();
    /* A stream holds two descriptors; keep some for listeners, checks, logs. */
    unsigned fit = nofile > 100 ? (unsigned)((nofile - 50) / 2) : 1;
    lb->maxconn = lb->cfg->maxconn ? lb->cfg->maxconn : fit;
    if (lb->maxconn > fit)
        log_warn("maxconn %u needs %u file descriptors but the limit is %ld; past %u streams "
                 "accepts will pause until descriptors free up",
                 lb->maxconn, lb->maxconn * 2 + 50, nofile, fit);
    log_info("maxconn %u (open files limit %ld)", lb->maxconn, nofile);
    return nofile;
}

static int lb_run(struct lb_config *cfg)
{
    int status = 1;
    struct lb *lb = calloc(1, sizeof(*lb));
    if (lb == NULL) {
        log_error("out of memory");
        lb_config_free(cfg);
        return 1;
    }
    lb->cfg = cfg;
    lb->loop = ev_default_loop(EVFLAG_AUTO);
    lb->start = ev_now(lb->loop);
    lb->scratch = malloc(cfg->bufsize);
    pbuf_pool_init(&lb->pool, cfg->bufsize, POOL_KEEP);
    if (lb->loop == NULL || lb->scratch == NULL || index_config(lb) != 0) {
        log_error("out of memory");
        goto out;
    }
    if (stick_tables_create(lb) != 0)
        goto out;
    signal(SIGPIPE, SIG_IGN);
    long nofile = set_maxconn(lb);
    if (cfg->uses_tls) {
        /* One slot per possible descriptor: the TLS session of that socket. */
        lb->tls_size = nofile > 0 ? (size_t)nofile : 1024;
        lb->tls = calloc(lb->tls_size, sizeof(*lb->tls));
        if (lb->tls == NULL) {
            log_error("out of memory");
            goto out;
        }
    }
    if (listeners_open(lb) != 0)
        goto out;

    ev_signal_init(&lb->sigterm, on_signal, SIGTERM);
    lb->sigterm.data = lb;
    ev_signal_start(lb->loop, &lb->sigterm);
    ev_signal_init(&lb->sigint, on_signal, SIGINT);
    lb->sigint.data = lb;
    ev_signal_start(lb->loop, &lb->sigint);
    ev_init(&lb->drain_timer, on_drain_timeout);
    lb->drain_timer.data = lb;
    ev_init(&lb->accept_retry, on_accept_retry);
    lb->accept_retry.data = lb;
    ev_timer_init(&lb->ticket_rotation, on_ticket_rotation, TICKET_ROTATION, TICKET_ROTATION);
    lb->ticket_rotation.data = lb;
    if (cfg->uses_tls)
        ev_timer_start(lb->loop, &lb->ticket_rotation);
    ev_prepare_init(&lb->before_sleep, on_before_sleep);
    lb->before_sleep.data = lb;
    ev_prepare_start(lb->loop, &lb->before_sleep);
    if (check_start_all(lb) != 0) {
        log_error("out of memory");
        goto out;
    }

    ev_run(lb->loop, 0);
    status = 0;

out:
    check_stop_all(lb);
    stream_close_all(lb, NULL);
    stream_free_dead(lb);
    listeners_close(lb);
    for (size_t i = 0; i < lb->ntimeqs; i++) {
        timeq_stop(lb->timeqs[i]);
        free(lb->timeqs[i]);
    }
    free(lb->timeqs);
    if (lb->loop) {
        ev_signal_stop(lb->loop, &lb->sigterm);
        ev_signal_stop(lb->loop, &lb->sigint);
        ev_timer_stop(lb->loop, &lb->drain_timer);
        ev_timer_stop(lb->loop, &lb->accept_retry);
        ev_timer_stop(lb->loop, &lb->ticket_rotation);
        ev_prepare_stop(lb->loop, &lb->before_sleep);
        ev_loop_destroy(lb->loop);
    }
    stick_tables_destroy(lb);
    httplog_free(lb);
    pbuf_pool_free(&lb->pool);
    free(lb->scratch);
    free(lb->servers);
    free(lb->listeners);
    free(lb->tls);
    lb_config_free(cfg);
    free(lb);
    if (status == 0)
        log_info("stopped");
    return status;
}

/* ---- command line ------------------------------------------------------- */

static void lb_usage(FILE *out)
{
    fputs("Usage: wscale lb -f FILE [-c] [--log-level LEVEL]\n"
          "\n"
          "An HAProxy-style layer-7 proxy that understands the WebSocket upgrade.\n"
          "It reads an HAProxy configuration (sections global, defaults, frontend,\n"
          "backend, listen; see conf/lb.cfg), balances requests over servers, and\n"
          "turns a connection into a byte tunnel once the server completes the\n"
          "client's WebSocket handshake (101).\n"
          "\n"
          "Options:\n"
          "  -f FILE              the configuration file (required)\n"
          "  -c                   check the configuration and exit: 0 if valid, 1 if\n"
          "                       not, with FILE:LINE: message for every error\n"
          "  --log-level LEVEL    debug, info, warn or error for event logs (info);\n"
          "                       request logs follow the configuration's 'log' lines\n"
          "  -h, --help           show this help\n"
          "\n"
          "Signals: SIGTERM drains (no new connections; requests and tunnels in\n"
          "progress finish, up to hard-stop-after, default 10s); SIGINT stops now.\n",
          out);
}

enum { OPT_HELP = 1, OPT_FILE, OPT_CHECK, OPT_LOG_LEVEL };

int lb_main(int argc, char **argv)
{
    static const struct cli_option options[] = {
        { "help", 'h', 0, OPT_HELP },
        { "file", 'f', 1, OPT_FILE },
        { "check", 'c', 0, OPT_CHECK },
        { "log-level", 0, 1, OPT_LOG_LEVEL },
        { NULL, 0, 0, 0 },
    };
    const char *file = NULL;
    int check_only = 0;
    enum log_level level = LOG_INFO;
    struct cli c;
    cli_init(&c, argc, argv, 1);
    int id;
    while ((id = cli_next(&c, options)) != CLI_END) {
        switch (id) {
        case OPT_HELP:
            lb_usage(stdout);
            return 0;
        case OPT_FILE:
            file = c.value;
            break;
        case OPT_CHECK:
            check_only = 1;
            break;
        case OPT_LOG_LEVEL:
            if (log_level_parse(c.value, &level) != 0) {
                fprintf(stderr, "wscale lb: --log-level '%s': expected debug, info, warn or error\n",
                        c.value);
                return 2;
            }
            break;
        case CLI_POSITIONAL:
            fprintf(stderr, "wscale lb: unexpected argument '%s' (the file goes after -f)\n", c.value);
            return 2;
        default:
            fprintf(stderr, "wscale lb: %s\n(see: wscale lb --help)\n", c.error);
            return 2;
        }
    }
    if (file == NULL) {
        fprintf(stderr, "wscale lb: no configuration file: use -f FILE (see: wscale lb --help)\n");
        return 2;
    }

    log_setup("lb", level);
    struct strbuf errors = STRBUF_INIT, warnings = STRBUF_INIT;
    struct lb_config *cfg = lb_config_load(file, env_lookup, &errors, &warnings);
    if (warnings.len)
        fprintf(stderr, "%s", warnings.data);
    if (cfg == NULL) {
        fprintf(stderr, "%s", errors.data ? errors.data : "");
        fprintf(stderr, "wscale lb: %s is not valid\n", file);
        strbuf_free(&errors);
        strbuf_free(&warnings);
        return 1;
    }
    strbuf_free(&errors);
    strbuf_free(&warnings);
    if (check_only) {
        printf("Configuration file is valid\n");
        lb_config_free(cfg);
        return 0;
    }
    log_info("wscale " WSCALE_VERSION " lb starting with %s", file);
    return lb_run(cfg);
}
