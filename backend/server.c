/* server.c — the backend process: options, listener, signals, the loop, and
 * an orderly shutdown. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../shared/log.h"
#include "../shared/net.h"
#include "../shared/version.h"
#include "backend.h"
#include "bus.h"
#include "chat.h"
#include "rooms.h"
#include "session.h"

#define ACCEPTS_PER_EVENT 64
#define TICKET_ROTATION 3600.0 /* seconds between new TLS ticket keys */
#define ACCEPT_PAUSE 0.1 /* seconds to stop accepting when out of descriptors */
#define WRITE_BATCH_SESSIONS 64 /* sessions with output in one iteration: a fan-out */

static const char *env_lookup(const char *name)
{
    return getenv(name);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    struct backend *be = w->data;
    (void)revents;
    for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
        int fd = accept4(be->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            session_accept(be, fd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        be->stats.accept_errors++;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* The pending connection stays in the backlog and the listener
             * stays readable: stop watching it for a moment rather than spin. */
            if (be->stats.accept_errors == 1 || be->stats.accept_errors % 1000 == 0)
                log_warn("accept: %s (%zu connections open); pausing accepts for %.0f ms",
                         strerror(errno), be->nsessions, ACCEPT_PAUSE * 1000);
            ev_io_stop(loop, &be->accept_watcher);
            ev_timer_set(&be->accept_pause, ACCEPT_PAUSE, 0);
            ev_timer_start(loop, &be->accept_pause);
        } else {
            log_warn("accept: %s", strerror(errno));
        }
        return;
    }
}

static void on_accept_pause_end(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct backend *be = w->data;
    (void)revents;
    if (be->listen_fd >= 0)
        ev_io_start(loop, &be->accept_watcher);
}

static void on_ticket_rotation(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct backend *be = w->data;
    (void)loop;
    (void)revents;
    tls_server_rotate_keys(be->tls);
}

static void stop_listening(struct backend *be)
{
    ev_io_stop(be->loop, &be->accept_watcher);
    ev_timer_stop(be->loop, &be->accept_pause);
    if (be->listen_fd >= 0) {
        close(be->listen_fd);
        be->listen_fd = -1;
    }
}

/* First SIGTERM/SIGINT: stop accepting, say goodbye (1001) to every client
 * and wait up to --drain-timeout for their close frames. A second signal
 * ends the process at once. */
static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct backend *be = w->data;
    (void)revents;
    const char *name = w->signum == SIGTERM ? "SIGTERM" : "SIGINT";
    if (be->draining) {
        log_info("%s again: exiting without waiting for clients", name);
        ev_break(loop, EVBREAK_ALL);
        return;
    }
    be->draining = 1;
    log_info("%s: closing %zu clients with 1001, waiting up to %gs", name,
             be->hub.count + be->chat_hub.count,
             be->opt->drain_timeout);
    stop_listening(be);

    session_kill_queue(&be->handshake_q, "shutting down");
    timeq_set_timeout(&be->closing_q, be->opt->drain_timeout);
    while (be->hub.head)
        session_close(be->hub.head, WS_CLOSE_GOING_AWAY, "server shutting down");
    while (be->chat_hub.head)
        session_close(be->chat_hub.head, WS_CLOSE_GOING_AWAY, "server shutting down");

    ev_timer_set(&be->drain_timer, be->opt->drain_timeout, 0);
    ev_timer_start(loop, &be->drain_timer);
}

static void on_drain_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct backend *be = w->data;
    (void)revents;
    log_warn("drain timeout: %zu connections still open, closing them", be->nsessions);
    ev_break(loop, EVBREAK_ALL);
}

/* Runs once per loop iteration, before the loop sleeps: this is where queued
 * output is written (so a burst of messages goes out in one write per
 * client) and where closed sessions are freed. */
static void on_before_sleep(struct ev_loop *loop, ev_prepare *w, int revents)
{
    struct backend *be = w->data;
    (void)revents;
    if (be->opt->write_delay > 0 && be->flush_count >= WRITE_BATCH_SESSIONS) {
        if (!ev_is_active(&be->flush_timer)) {
            ev_timer_set(&be->flush_timer, be->opt->write_delay, 0);
            ev_timer_start(loop, &be->flush_timer);
        }
    } else {
        session_flush_pending(be);
    }
    if (be->flush_list == NULL) /* dead sessions may be on it */
        session_free_dead(be);
    if (be->draining && be->nsessions == 0 && (be->bus == NULL || bus_idle(be->bus))) {
        log_info("drained: all clients closed");
        ev_break(loop, EVBREAK_ALL);
    }
}

static void on_flush_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct backend *be = w->data;
    (void)loop;
    (void)revents;
    session_flush_pending(be);
    session_free_dead(be);
}

static int backend_listen(struct backend *be)
{
    const struct backend_options *o = be->opt;
    struct net_addr addr;
    const char *why;
    char text[NET_ADDR_STRLEN];
    if (net_resolve(o->listen_host, o->listen_port, &addr, &why) != 0) {
        log_error("--listen %s:%u: cannot resolve: %s", o->listen_host, o->listen_port, why);
        return -1;
    }
    be->listen_fd = net_listen(&addr, 1024, 0);
    if (be->listen_fd < 0) {
        log_error("--listen %s: %s", net_addr_format((struct sockaddr *)&addr.ss, text, sizeof(text)),
                  strerror(errno));
        return -1;
    }
    log_info("listening on %s%s as '%s' (%s)",
             net_addr_format((struct sockaddr *)&addr.ss, text, sizeof(text)),
             be->tls ? " (TLS)" : "", o->id, o->echo ? "echo mode, no Redis" : "chat");
    return 0;
}

int backend_run(const struct backend_options *opt)
{
    struct backend *be = calloc(1, sizeof(*be));
    if (be == NULL) {
        log_error("out of memory");
        return 1;
    }
    int status = 1;
    be->opt = opt;
    be->listen_fd = -1;
    be->loop = ev_default_loop(EVFLAG_AUTO);
    be->ws_config.max_message = opt->max_message;
    be->ws_config.accept_binary = opt->echo;
    be->ws_config.expect_masked = 1;
    be->scratch = malloc(BACKEND_SCRATCH_SIZE);
    if (be->loop == NULL || be->scratch == NULL || chat_init(be) != 0) {
        log_error("out of memory");
        goto out;
    }

    if (opt->tls_cert) {
        char *paths[1] = { (char *)opt->tls_cert };
        struct tls_settings defaults = { 0 };
        char why[512];
        be->tls = tls_server_new(paths, 1, &defaults, why, sizeof(why));
        if (be->tls == NULL) {
            log_error("--tls-cert: %s", why);
            goto out;
        }
    }
    long nofile = net_raise_nofile();
    if (backend_listen(be) != 0)
        goto out;
    log_debug("open files limit: %ld", nofile);

    /* Written-to sockets that the peer closed must give EPIPE, not a signal:
     * hiredis writes to Redis with write(2). */
    signal(SIGPIPE, SIG_IGN);

    timeq_init(&be->handshake_q, be->loop, opt->handshake_timeout, session_timeout, be);
    timeq_init(&be->open_q, be->loop, opt->ping_interval, session_timeout, be);
    timeq_init(&be->closing_q, be->loop, BACKEND_CLOSE_TIMEOUT, session_timeout, be);
    timeq_init(&be->finish_q, be->loop, BACKEND_CLOSE_TIMEOUT, session_timeout, be);

    ev_io_init(&be->accept_watcher, on_accept, be->listen_fd, EV_READ);
    be->accept_watcher.data = be;
    ev_io_start(be->loop, &be->accept_watcher);
    ev_init(&be->accept_pause, on_accept_pause_end);
    be->accept_pause.data = be;
    ev_signal_init(&be->sigterm, on_signal, SIGTERM);
    be->sigterm.data = be;
    ev_signal_start(be->loop, &be->sigterm);
    ev_signal_init(&be->sigint, on_signal, SIGINT);
    be->sigint.data = be;
    ev_signal_start(be->loop, &be->sigint);
    ev_init(&be->drain_timer, on_drain_timeout);
    be->drain_timer.data = be;
    ev_init(&be->flush_timer, on_flush_timer);
    be->flush_timer.data = be;
    ev_prepare_init(&be->before_sleep, on_before_sleep);
    be->before_sleep.data = be;
    ev_prepare_start(be->loop, &be->before_sleep);
    ev_timer_init(&be->ticket_rotation, on_ticket_rotation, TICKET_ROTATION, TICKET_ROTATION);
    be->ticket_rotation.data = be;
    if (be->tls)
        ev_timer_start(be->loop, &be->ticket_rotation);

    if (!opt->echo) {
        char url[400];
        redis_url_format(&opt->redis, url, sizeof(url));
        log_info("redis %s, channel '%s'", url, opt->channel);
        be->bus = bus_new(be->loop, opt, chat_deliver, be);
        if (be->bus)
            be->rooms = rooms_new(be);
        if (be->bus == NULL || be->rooms == NULL) {
            log_error("out of memory");
            goto out;
        }
    }

    ev_run(be->loop, 0);
    status = 0;

out:
    stop_listening(be);
    /* Every live session is in exactly one of these queues. */
    session_kill_queue(&be->handshake_q, NULL);
    session_kill_queue(&be->open_q, NULL);
    session_kill_queue(&be->closing_q, NULL);
    session_kill_queue(&be->finish_q, NULL);
    session_flush_pending(be); /* empties the list: every session is dead now */
    session_free_dead(be);
    bus_free(be->bus); /* before the rooms: it answers their calls in flight */
    rooms_free(be->rooms);
    if (be->loop) {
        timeq_stop(&be->handshake_q);
        timeq_stop(&be->open_q);
        timeq_stop(&be->closing_q);
        timeq_stop(&be->finish_q);
        ev_signal_stop(be->loop, &be->sigterm);
        ev_signal_stop(be->loop, &be->sigint);
        ev_timer_stop(be->loop, &be->drain_timer);
        ev_prepare_stop(be->loop, &be->before_sleep);
        ev_timer_stop(be->loop, &be->flush_timer);
        ev_timer_stop(be->loop, &be->ticket_rotation);
        ev_loop_destroy(be->loop);
    }
    if (be->greeting)
        rbuf_unref(be->greeting);
    tls_server_free(be->tls);
    outq_pool_free(&be->outq_pool);
    free(be->scratch);
    free(be);
    if (status == 0)
        log_info("stopped");
    return status;
}

int backend_main(int argc, char **argv)
{
    struct backend_options opt;
    char err[512];
    switch (backend_options_parse(&opt, argc, argv, 1, env_lookup, err, sizeof(err))) {
    case OPTIONS_HELP:
        backend_usage(stdout);
        return 0;
    case OPTIONS_ERROR:
        fprintf(stderr, "wscale backend: %s\n(see: wscale backend --help)\n", err);
        return 2;
    default:
        break;
    }
    log_setup("backend", opt.log_level);
    log_info("wscale " WSCALE_VERSION " backend starting");
    return backend_run(&opt);
}
