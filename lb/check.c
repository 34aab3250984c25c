/* check.c — see check.h. */
#include "check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../shared/log.h"
#include "../shared/tls.h"
#include "balance.h"
#include "stream.h"

/* A check's steps: TCP connect, the TLS handshake (an "ssl" server), then
 * with option httpchk the request and its status line. */
enum { PH_CONNECT, PH_TLS, PH_SEND, PH_RECV };

struct check {
    struct lb *lb;
    struct server *srv;
    ev_timer timer;       /* next check, or this check's timeout */
    ev_io io;             /* the probe's socket while a check runs */
    SSL *ssl;             /* its TLS session, for an "ssl" server */
    int phase;
    ev_tstamp started;
    size_t sent;          /* HTTP: bytes of the request sent */
    size_t got;           /* HTTP: bytes of the status line received */
    char reply[64];
};

static void check_schedule(struct check *c, double delay);

static unsigned servers_up(const struct proxy *be, int backup)
{
    unsigned n = 0;
    for (size_t i = 0; i < be->nservers; i++)
        if (be->servers[i]->backup == backup && be->servers[i]->up && !be->servers[i]->disabled)
            n++;
    return n;
}

static void set_state(struct lb *lb, struct server *s, int up, const char *why)
{
    struct proxy *be = s->be;
    s->up = (uint8_t)up;
    s->health = 0;
    log_msg(up ? LOG_INFO : LOG_WARN,
            "server %s/%s is %s, reason: %s. %u active and %u backup servers online. "
            "%u streams active on it.",
            be->name, s->name, up ? "UP" : "DOWN", why, servers_up(be, 0), servers_up(be, 1),
            s->cur_conns);
    if (!up && servers_up(be, 0) + servers_up(be, 1) == 0)
        log_error("backend '%s' has no server available!", be->name);
    connect_assign_queued(lb, be); /* UP: slots to give; DOWN: waiters to redispatch */
}

/* One result: consecutive results against the current state change it. */
static void check_result(struct lb *lb, struct server *s, int ok, const char *why)
{
    if (ok == s->up) {
        s->health = 0;
        return;
    }
    if (++s->health >= (ok ? s->rise : s->fall))
        set_state(lb, s, ok, why);
}

void check_report_failure(struct lb *lb, struct server *s, const char *why)
{
    if (s->chk == NULL || !s->up)
        return;
    char reason[200];
    snprintf(reason, sizeof(reason), "traffic could not connect: %s", why);
    check_result(lb, s, 0, reason);
}

static void check_close(struct check *c)
{
    if (c->ssl) {
        tls_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->io.fd >= 0) {
        ev_io_stop(c->lb->loop, &c->io);
        close(c->io.fd);
        ev_io_set(&c->io, -1, 0);
    }
}

static void check_end(struct check *c, int ok, const char *why)
{
    struct lb *lb = c->lb;
    check_close(c);
    char reason[300];
    snprintf(reason, sizeof(reason), "%s, check duration: %.0fms", why,
             (ev_now(lb->loop) - c->started) * 1000);
    check_result(lb, c->srv, ok, reason);
    check_schedule(c, c->srv->inter_ms / 1000.0);
}

static void check_watch(struct check *c, int events)
{
    ev_io_stop(c->lb->loop, &c->io);
    ev_io_set(&c->io, c->io.fd, events);
    ev_io_start(c->lb->loop, &c->io);
}

/* HTTP: the request the check sends. */
static int check_request(const struct check *c, char *out, size_t size)
{
    const struct proxy *be = c->srv->be;
    if (strcmp(be->chk_version, "HTTP/1.1") == 0)
        return snprintf(out, size, "%s %s HTTP/1.1\r\nHost: %s:%u\r\nConnection: close\r\n"
                                   "User-Agent: wscale-check\r\n\r\n",
                        be->chk_method, be->chk_uri, c->srv->host, c->srv->port);
    return snprintf(out, size, "%s %s HTTP/1.0\r\nUser-Agent: wscale-check\r\n\r\n",
                    be->chk_method, be->chk_uri);
}

/* Judges the status line received so far: 1 pass, 0 fail, -1 need more. */
static int check_judge(struct check *c, const char **why)
{
    char *eol = memchr(c->reply, '\n', c->got);
    if (eol == NULL && c->got < sizeof(c->reply) - 1)
        return -1;
    if (c->got < 12 || strncmp(c->reply, "HTTP/1.", 7) != 0) {
        *why = "Layer7 invalid response";
        return 0;
    }
    int status = atoi(c->reply + 9);
    unsigned want = c->srv->be->expect_status;
    int ok = want ? (unsigned)status == want : status >= 200 && status < 400;
    *why = ok ? "Layer7 check passed" : "Layer7 wrong status";
    return ok;
}

/* What a TLS step that cannot go on now waits for; 0 if it failed. */
static int tls_wait(struct check *c, ssize_t rc)
{
    if (rc == TLS_WANT_READ || rc == TLS_WANT_WRITE) {
        check_watch(c, rc == TLS_WANT_READ ? EV_READ : EV_WRITE);
        return 1;
    }
    return 0;
}

/* The probe's next steps, as far as the socket lets them go now. */
static void check_step(struct check *c)
{
    char why[300], tls_why[256];
    switch (c->phase) {
    case PH_CONNECT: {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c->io.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            snprintf(why, sizeof(why), "Layer4 connection problem: %s", strerror(err));
            check_end(c, 0, why);
            return;
        }
        if (c->srv->ssl) {
            const char *name = c->srv->sni ? c->srv->sni : c->srv->host;
            c->ssl = tls_client_ssl(c->srv->tls_ctx, c->io.fd, c->srv->sni, name);
            if (c->ssl == NULL) {
                check_end(c, 0, "Layer6 cannot start TLS");
                return;
            }
            c->phase = PH_TLS;
        } else if (!c->srv->be->httpchk) {
            check_end(c, 1, "Layer4 check passed");
            return;
        } else {
            c->phase = PH_SEND;
        }
        check_step(c);
        return;
    }
    case PH_TLS: {
        int rc = tls_handshake(c->ssl);
        if (rc != 1) {
            if (!tls_wait(c, rc)) {
                snprintf(why, sizeof(why), "Layer6 TLS handshake failed: %s",
                         tls_error(tls_why, sizeof(tls_why)));
                check_end(c, 0, why);
            }
            return;
        }
        if (!c->srv->be->httpchk) {
            check_end(c, 1, "Layer6 check passed");
            return;
        }
        c->phase = PH_SEND;
        check_step(c);
        return;
    }
    case PH_SEND: {
        char req[600];
        int n = check_request(c, req, sizeof(req));
        ssize_t sent = c->ssl ? tls_write(c->ssl, req + c->sent, (size_t)n - c->sent)
                              : send(c->io.fd, req + c->sent, (size_t)n - c->sent, MSG_NOSIGNAL);
        if (c->ssl && sent < 0) {
            if (!tls_wait(c, sent))
                check_end(c, 0, "Layer7 cannot send the request");
            return;
        }
        if (sent < 0) {
            if (errno == EAGAIN || errno == EINTR)
                check_watch(c, EV_WRITE);
            else
                check_end(c, 0, "Layer7 cannot send the request");
            return;
        }
        c->sent += (size_t)sent;
        if (c->sent < (size_t)n) {
            check_watch(c, EV_WRITE);
            return;
        }
        c->phase = PH_RECV;
        check_watch(c, EV_READ);
        return;
    }
    default: {
        ssize_t n = c->ssl ? tls_read(c->ssl, c->reply + c->got, sizeof(c->reply) - 1 - c->got)
                           : recv(c->io.fd, c->reply + c->got, sizeof(c->reply) - 1 - c->got, 0);
        if (c->ssl ? tls_wait(c, n) : (n < 0 && (errno == EAGAIN || errno == EINTR)))
            return;
        const char *verdict_why;
        if (n <= 0) {
            int ok = c->got > 0 ? check_judge(c, &verdict_why) : 0;
            check_end(c, ok == 1, ok == -1 || c->got == 0 ? "Layer7 no response" : verdict_why);
            return;
        }
        c->got += (size_t)n;
        c->reply[c->got] = '\0';
        int verdict = check_judge(c, &verdict_why);
        if (verdict >= 0)
            check_end(c, verdict, verdict_why);
        return;
    }
    }
}

static void check_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    check_step(w->data);
}

static void check_run(struct check *c)
{
    struct lb *lb = c->lb;
    struct server *s = c->srv;
    c->started = ev_now(lb->loop);
    c->sent = c->got = 0;
    c->phase = PH_CONNECT;
    int fd = socket(s->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        /* Out of descriptors is our problem, not the server's: try later. */
        check_schedule(c, s->inter_ms / 1000.0);
        return;
    }
    ev_io_set(&c->io, fd, EV_WRITE);
    if (connect(fd, (const struct sockaddr *)&s->addr.ss, s->addr.len) != 0 && errno != EINPROGRESS) {
        char why[128];
        snprintf(why, sizeof(why), "Layer4 connection problem: %s", strerror(errno));
        check_end(c, 0, why);
        return;
    }
    ev_io_start(lb->loop, &c->io);
    /* The whole check (connect and answer) must fit in timeout check, or
     * inter when that is not set, as HAProxy. */
    uint32_t limit = s->be->to.check ? s->be->to.check : s->inter_ms;
    ev_timer_set(&c->timer, limit / 1000.0, 0);
    ev_timer_start(lb->loop, &c->timer);
}

static void check_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct check *c = w->data;
    (void)loop;
    (void)revents;
    if (c->io.fd >= 0)
        check_end(c, 0, c->phase == PH_CONNECT ? "Layer4 timeout"
                        : c->phase == PH_TLS ? "Layer6 timeout" : "Layer7 timeout");
    else
        check_run(c);
}

static void check_schedule(struct check *c, double delay)
{
    ev_timer_stop(c->lb->loop, &c->timer);
    ev_timer_set(&c->timer, delay, 0);
    ev_timer_start(c->lb->loop, &c->timer);
}

int check_start_all(struct lb *lb)
{
    for (unsigned i = 1; i <= lb->cfg->nservers; i++) {
        struct server *s = lb->servers[i];
        if (!s->check || s->disabled)
            continue;
        struct check *c = calloc(1, sizeof(*c));
        if (c == NULL)
            return -1;
        c->lb = lb;
        c->srv = s;
        ev_init(&c->timer, check_timer);
        c->timer.data = c;
        ev_io_init(&c->io, check_io, -1, 0);
        c->io.data = c;
        s->chk = c;
        /* Spread the first checks over one interval, as HAProxy does. */
        check_schedule(c, (double)arc4random_uniform(s->inter_ms + 1) / 1000.0);
    }
    return 0;
}

void check_stop_all(struct lb *lb)
{
    for (unsigned i = 1; i <= lb->cfg->nservers; i++) {
        struct check *c = lb->servers[i]->chk;
        if (c == NULL)
            continue;
        ev_timer_stop(lb->loop, &c->timer);
        check_close(c);
        free(c);
        lb->servers[i]->chk = NULL;
    }
}
