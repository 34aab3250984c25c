/* stats-socket.c — see stats-socket.h. */
#include "stats-socket.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../shared/log.h"

#define LINE_MAX_BYTES 16384 /* a command line longer than this is refused */

struct stats_listener {
    struct stats_sockets *owner;
    char *path;
    int fd;
    ev_io watch;
    enum api_level level;
    unsigned mode;
    struct stats_listener *next;
};

struct stats_client {
    struct stats_sockets *owner;
    int fd;
    ev_io watch;
    ev_timer idle;
    struct api_session session;
    char in[LINE_MAX_BYTES];
    size_t in_len;
    struct strbuf out;
    size_t out_off;
    int eof;                      /* the client sent everything it will send */
    struct stats_client *prev, *next;
};

struct stats_sockets {
    struct ev_loop *loop;
    const struct api_ops *ops;
    struct stats_listener *listeners;
    struct stats_client *clients;
    unsigned nclients, maxconn;
    double timeout;
};

static void listeners_watch(struct stats_sockets *ss, int on)
{
    for (struct stats_listener *l = ss->listeners; l; l = l->next) {
        if (on)
            ev_io_start(ss->loop, &l->watch);
        else
            ev_io_stop(ss->loop, &l->watch);
    }
}

static void client_close(struct stats_client *c)
{
    struct stats_sockets *ss = c->owner;
    ev_io_stop(ss->loop, &c->watch);
    ev_timer_stop(ss->loop, &c->idle);
    close(c->fd);
    strbuf_free(&c->out);
    if (c->prev)
        c->prev->next = c->next;
    else
        ss->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (ss->nclients-- == ss->maxconn)
        listeners_watch(ss, 1);
    free(c);
}

/* Runs the complete lines received so far (and, at EOF, the last one). As
 * HAProxy, every line a client sent before its session ended is answered,
 * unless it said "quit". */
static void run_lines(struct stats_client *c)
{
    size_t start = 0;
    while (!c->session.quit_given) {
        char *nl = memchr(c->in + start, '\n', c->in_len - start);
        if (nl == NULL && !(c->eof && start < c->in_len))
            break;
        size_t end = nl ? (size_t)(nl - c->in) : c->in_len;
        c->in[end] = '\0';
        api_execute(c->owner->ops, &c->session, c->in + start, &c->out);
        start = nl ? end + 1 : c->in_len;
    }
    memmove(c->in, c->in + start, c->in_len - start);
    c->in_len -= start;
}

/* Sends what is pending; closes once everything is said and the session
 * ended. Returns 0 if the client is still open. */
static int client_flush(struct stats_client *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        if (n < 0) {
            client_close(c);
            return -1;
        }
        c->out_off += (size_t)n;
    }
    if (c->out_off == c->out.len) {
        strbuf_free(&c->out);
        c->out_off = 0;
        if (c->session.quit || c->eof) {
            client_close(c);
            return -1;
        }
    }
    int events = (c->out.len ? EV_WRITE : 0) | (c->session.quit ? 0 : EV_READ);
    ev_io_stop(c->owner->loop, &c->watch);
    ev_io_set(&c->watch, c->fd, events);
    ev_io_start(c->owner->loop, &c->watch);
    return 0;
}

static void on_client(struct ev_loop *loop, ev_io *w, int revents)
{
    struct stats_client *c = w->data;
    if (revents & EV_READ) {
        ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - 1 - c->in_len, 0);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            client_close(c);
            return;
        }
        if (n == 0)
            c->eof = 1;
        if (n > 0)
            c->in_len += (size_t)n;
        ev_timer_again(loop, &c->idle);
        run_lines(c);
        if (!c->session.quit && c->in_len == sizeof(c->in) - 1) {
            strbuf_printf(&c->out, "Line too long (at most %d bytes).\n", LINE_MAX_BYTES - 1);
            c->session.quit = 1;
        }
    }
    client_flush(c);
}

static void on_client_idle(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    client_close(w->data);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    struct stats_listener *l = w->data;
    struct stats_sockets *ss = l->owner;
    (void)revents;
    while (ss->nclients < ss->maxconn) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                log_warn("stats socket %s: accept: %s", l->path, strerror(errno));
            return;
        }
        struct stats_client *c = calloc(1, sizeof(*c));
        if (c == NULL) {
            close(fd);
            return;
        }
        c->owner = ss;
        c->fd = fd;
        c->session.level = l->level;
        ev_io_init(&c->watch, on_client, fd, EV_READ);
        c->watch.data = c;
        ev_io_start(loop, &c->watch);
        ev_init(&c->idle, on_client_idle);
        c->idle.repeat = ss->timeout;
        c->idle.data = c;
        ev_timer_again(loop, &c->idle);
        c->next = ss->clients;
        if (ss->clients)
            ss->clients->prev = c;
        ss->clients = c;
        if (++ss->nclients == ss->maxconn)
            listeners_watch(ss, 0);
    }
}

struct stats_sockets *stats_sockets_new(struct ev_loop *loop, const struct api_ops *ops)
{
    struct stats_sockets *ss = calloc(1, sizeof(*ss));
    if (ss == NULL)
        return NULL;
    ss->loop = loop;
    ss->ops = ops;
    ss->maxconn = 10;
    ss->timeout = 10.0;
    return ss;
}

static struct stats_listener *find(struct stats_sockets *ss, const char *path)
{
    for (struct stats_listener *l = ss->listeners; l; l = l->next)
        if (strcmp(l->path, path) == 0)
            return l;
    return NULL;
}

/* A listening unix socket at path; a stale socket file (nobody answers on
 * it) is replaced, a live one or any other file is an error. */
static int bind_unix(const char *path, unsigned mode, char *why, size_t size)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(why, size, "%s exists and is not a socket", path);
            return -1;
        }
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        if (probe >= 0)
            close(probe);
        if (live) {
            snprintf(why, size, "%s is in use by another process (another lb?)", path);
            return -1;
        }
        unlink(path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, mode) != 0 ||
        listen(fd, 16) != 0) {
        snprintf(why, size, "cannot bind %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void listener_close(struct stats_sockets *ss, struct stats_listener *l)
{
    ev_io_stop(ss->loop, &l->watch);
    close(l->fd);
    unlink(l->path);
    free(l->path);
    free(l);
}

int stats_sockets_open(struct stats_sockets *ss, const struct lb_config *cfg, char *why,
                       size_t size)
{
    unsigned opened = 0; /* new listeners go first in the list */
    for (size_t i = 0; i < cfg->nstats_sockets; i++) {
        const struct stats_socket_cfg *sc = &cfg->stats_sockets[i];
        if (find(ss, sc->path))
            continue;
        char reason[400];
        int fd = bind_unix(sc->path, sc->mode, reason, sizeof(reason));
        struct stats_listener *l = fd >= 0 ? calloc(1, sizeof(*l)) : NULL;
        if (l)
            l->path = strdup(sc->path);
        if (l == NULL || l->path == NULL) {
            if (fd >= 0) {
                snprintf(reason, sizeof(reason), "out of memory");
                close(fd);
                unlink(sc->path);
            }
            free(l);
            snprintf(why, size, "%s:%d: stats socket: %s", cfg->file, sc->line, reason);
            /* The configuration is refused as a whole: undo this call. */
            while (opened--) {
                struct stats_listener *first = ss->listeners;
                ss->listeners = first->next;
                listener_close(ss, first);
            }
            return -1;
        }
        l->owner = ss;
        l->fd = fd;
        l->level = sc->level;
        l->mode = sc->mode;
        ev_io_init(&l->watch, on_accept, fd, EV_READ);
        l->watch.data = l;
        if (ss->nclients < ss->maxconn)
            ev_io_start(ss->loop, &l->watch);
        l->next = ss->listeners;
        ss->listeners = l;
        opened++;
        log_info("stats socket %s (level %s)", sc->path,
                 sc->level == API_ADMIN ? "admin" : sc->level == API_OPERATOR ? "operator" : "user");
    }
    return 0;
}

static const struct stats_socket_cfg *configured(const struct lb_config *cfg, const char *path)
{
    for (size_t i = 0; i < cfg->nstats_sockets; i++)
        if (strcmp(cfg->stats_sockets[i].path, path) == 0)
            return &cfg->stats_sockets[i];
    return NULL;
}

void stats_sockets_prune(struct stats_sockets *ss, const struct lb_config *cfg)
{
    for (struct stats_listener **p = &ss->listeners; *p;) {
        struct stats_listener *l = *p;
        if (configured(cfg, l->path)) {
            p = &l->next;
            continue;
        }
        *p = l->next;
        log_info("stats socket %s closed (no longer configured)", l->path);
        listener_close(ss, l);
    }
}

void stats_sockets_set_config(struct stats_sockets *ss, const struct lb_config *cfg)
{
    ss->timeout = cfg->stats_timeout / 1000.0;
    ss->maxconn = cfg->stats_maxconn;
    for (struct stats_listener *l = ss->listeners; l; l = l->next) {
        const struct stats_socket_cfg *sc = configured(cfg, l->path);
        if (sc == NULL)
            continue;
        l->level = sc->level;
        if (sc->mode != l->mode && chmod(l->path, sc->mode) == 0)
            l->mode = sc->mode;
    }
    listeners_watch(ss, ss->nclients < ss->maxconn);
}

void stats_sockets_free(struct stats_sockets *ss)
{
    if (ss == NULL)
        return;
    while (ss->clients)
        client_close(ss->clients);
    while (ss->listeners) {
        struct stats_listener *l = ss->listeners;
        ss->listeners = l->next;
        listener_close(ss, l);
    }
    free(ss);
}
