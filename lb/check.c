/* check.c — see check.h. */
#include "check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "../shared/log.h"
#include "../shared/tls.h"

/* A check's steps: TCP connect, the TLS handshake (an "ssl" server), then
 * with option httpchk the request and its status line. */
enum { PH_CONNECT, PH_TLS, PH_SEND, PH_RECV };

struct checks {
    struct ev_loop *loop;
    struct lb_config *cfg;
    struct registry *reg;
    void (*changed)(void *data);
    void *data;
    struct check **all;
    size_t n;
};

struct check {
    struct checks *owner;
    struct ev_loop *loop;
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

int64_t check_wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void server_state(const struct checks *cs, const struct server *s, struct reg_server *st)
{
    reg_server_read(registry_object(cs->reg, s->obj), st);
}

/* Servers of be that are UP and not in maintenance ("online"). */
static unsigned servers_online(const struct checks *cs, const struct proxy *be, int backup)
{
    unsigned n = 0;
    for (size_t i = 0; i < be->nservers; i++) {
        struct reg_server st;
        server_state(cs, be->servers[i], &st);
        if (be->servers[i]->backup == backup && st.check_up && st.admin != SRV_ADMIN_MAINT)
            n++;
    }
    return n;
}

/* One result: consecutive results against the current verdict change it. */
static void check_result(struct checks *cs, struct server *s, int ok, const char *status, int code,
                         int duration_ms, const char *why)
{
    struct reg_object *o = registry_object(cs->reg, s->obj);
    struct reg_server st;
    reg_server_read(o, &st);
    snprintf(st.check_status, sizeof(st.check_status), "%s", status);
    snprintf(st.check_desc, sizeof(st.check_desc), "%s", why);
    st.check_code = code;
    st.check_duration_ms = duration_ms;
    if (!ok)
        st.chkfail++;
    int flip = 0;
    if (ok == st.check_up)
        st.health = 0;
    else if (++st.health >= (ok ? s->rise : s->fall))
        flip = 1;
    if (flip) {
        int64_t now = check_wall_ms();
        if (ok)
            st.downtime_ms += (uint64_t)(now - st.last_change_ms);
        else
            st.chkdown++;
        st.check_up = (uint8_t)ok;
        st.health = 0;
        st.last_change_ms = now;
    }
    reg_server_write(o, &st);
    if (!flip)
        return;
    struct stats_counters ctr;
    registry_sum(cs->reg, s->obj, &ctr);
    struct proxy *be = s->be;
    char reason[300];
    if (duration_ms >= 0)
        snprintf(reason, sizeof(reason), "%s, check duration: %dms", why, duration_ms);
    else
        snprintf(reason, sizeof(reason), "%s", why);
    log_msg(ok ? LOG_INFO : LOG_WARN,
            "server %s/%s is %s, reason: %s. %u active and %u backup servers online. "
            "%llu streams active on it.",
            be->name, s->name, ok ? "UP" : "DOWN", reason, servers_online(cs, be, 0),
            servers_online(cs, be, 1), (unsigned long long)ctr.cur);
    if (!ok && servers_online(cs, be, 0) + servers_online(cs, be, 1) == 0)
        log_error("backend '%s' has no server available!", be->name);
    cs->changed(cs->data);
}

void checks_report_failure(struct checks *cs, struct server *s, const char *why)
{
    struct reg_server st;
    if (cs == NULL || s->chk == NULL)
        return;
    server_state(cs, s, &st);
    if (!st.check_up)
        return;
    char reason[300];
    snprintf(reason, sizeof(reason), "traffic could not connect: %s", why);
    check_result(cs, s, 0, "L4CON", 0, -1, reason);
}

static void check_close(struct check *c)
{
    if (c->ssl) {
        tls_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->io.fd >= 0) {
        ev_io_stop(c->loop, &c->io);
        close(c->io.fd);
        ev_io_set(&c->io, -1, 0);
    }
}

/* The end of one check: status is HAProxy's code for it (L4OK, L7STS, ...),
 * code the HTTP status (L7) or 0. */
static void check_end(struct check *c, int ok, const char *status, int code, const char *why)
{
    check_close(c);
    int duration = (int)((ev_now(c->loop) - c->started) * 1000);
    check_result(c->owner, c->srv, ok, status, code, duration, why);
    check_schedule(c, c->srv->inter_ms / 1000.0);
}

static void check_watch(struct check *c, int events)
{
    ev_io_stop(c->loop, &c->io);
    ev_io_set(&c->io, c->io.fd, events);
    ev_io_start(c->loop, &c->io);
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
static int check_judge(struct check *c, const char **why, const char **status, int *code)
{
    char *eol = memchr(c->reply, '\n', c->got);
    if (eol == NULL && c->got < sizeof(c->reply) - 1)
        return -1;
    if (c->got < 12 || strncmp(c->reply, "HTTP/1.", 7) != 0) {
        *why = "Layer7 invalid response";
        *status = "L7RSP";
        return 0;
    }
    *code = atoi(c->reply + 9);
    unsigned want = c->srv->be->expect_status;
    int ok = want ? (unsigned)*code == want : *code >= 200 && *code < 400;
    *why = ok ? "Layer7 check passed" : "Layer7 wrong status";
    *status = ok ? "L7OK" : "L7STS";
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
            check_end(c, 0, "L4CON", 0, why);
            return;
        }
        if (c->srv->ssl) {
            const char *name = c->srv->sni ? c->srv->sni : c->srv->host;
            c->ssl = tls_client_ssl(c->srv->tls_ctx, c->io.fd, c->srv->sni, name);
            if (c->ssl == NULL) {
                check_end(c, 0, "L6RSP", 0, "Layer6 cannot start TLS");
                return;
            }
            c->phase = PH_TLS;
        } else if (!c->srv->be->httpchk) {
            check_end(c, 1, "L4OK", 0, "Layer4 check passed");
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
                check_end(c, 0, "L6RSP", 0, why);
            }
            return;
        }
        if (!c->srv->be->httpchk) {
            check_end(c, 1, "L6OK", 0, "Layer6 check passed");
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
                check_end(c, 0, "L7RSP", 0, "Layer7 cannot send the request");
            return;
        }
        if (sent < 0) {
            if (errno == EAGAIN || errno == EINTR)
                check_watch(c, EV_WRITE);
            else
                check_end(c, 0, "L7RSP", 0, "Layer7 cannot send the request");
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
        const char *verdict_why = "Layer7 no response", *status = "L7RSP";
        int code = 0;
        if (n <= 0) {
            int ok = c->got > 0 ? check_judge(c, &verdict_why, &status, &code) : 0;
            if (ok == -1)
                verdict_why = "Layer7 no response";
            check_end(c, ok == 1, ok == -1 ? "L7RSP" : status, code, verdict_why);
            return;
        }
        c->got += (size_t)n;
        c->reply[c->got] = '\0';
        int verdict = check_judge(c, &verdict_why, &status, &code);
        if (verdict >= 0)
            check_end(c, verdict, status, code, verdict_why);
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
    struct server *s = c->srv;
    c->started = ev_now(c->loop);
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
        check_end(c, 0, "L4CON", 0, why);
        return;
    }
    ev_io_start(c->loop, &c->io);
    /* The whole check (connect and answer) must fit in timeout check, or
     * inter when that is not set, as HAProxy. */
    uint32_t limit = s->be->to.check ? s->be->to.check : s->inter_ms;
    ev_timer_set(&c->timer, limit / 1000.0, 0);
    ev_timer_start(c->loop, &c->timer);
}

static void check_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct check *c = w->data;
    (void)loop;
    (void)revents;
    if (c->io.fd >= 0)
        check_end(c, 0, c->phase == PH_CONNECT ? "L4TOUT" : c->phase == PH_TLS ? "L6TOUT" : "L7TOUT", 0,
                  c->phase == PH_CONNECT ? "Layer4 timeout"
                  : c->phase == PH_TLS ? "Layer6 timeout" : "Layer7 timeout");
    else
        check_run(c);
}

static void check_schedule(struct check *c, double delay)
{
    ev_timer_stop(c->loop, &c->timer);
    ev_timer_set(&c->timer, delay, 0);
    ev_timer_start(c->loop, &c->timer);
}

struct checks *checks_start(struct ev_loop *loop, struct lb_config *cfg, struct registry *reg,
                            void (*changed)(void *data), void *data)
{
    struct checks *cs = calloc(1, sizeof(*cs));
    if (cs == NULL)
        return NULL;
    cs->loop = loop;
    cs->cfg = cfg;
    cs->reg = reg;
    cs->changed = changed;
    cs->data = data;
    for (struct proxy *be = cfg->proxies; be; be = be->next) {
        if (!(be->caps & PROXY_BACKEND))
            continue;
        for (size_t i = 0; i < be->nservers; i++) {
            struct server *s = be->servers[i];
            if (!s->check)
                continue;
            struct check *c = calloc(1, sizeof(*c));
            struct check **grown = realloc(cs->all, (cs->n + 1) * sizeof(*grown));
            if (c == NULL || grown == NULL) {
                free(c);
                if (grown)
                    cs->all = grown;
                checks_stop(cs);
                return NULL;
            }
            cs->all = grown;
            cs->all[cs->n++] = c;
            c->owner = cs;
            c->loop = loop;
            c->srv = s;
            ev_init(&c->timer, check_timer);
            c->timer.data = c;
            ev_io_init(&c->io, check_io, -1, 0);
            c->io.data = c;
            s->chk = c;
            /* Spread the first checks over one interval, as HAProxy does. */
            check_schedule(c, (double)arc4random_uniform(s->inter_ms + 1) / 1000.0);
        }
    }
    return cs;
}

void checks_stop(struct checks *cs)
{
    if (cs == NULL)
        return;
    for (size_t i = 0; i < cs->n; i++) {
        struct check *c = cs->all[i];
        ev_timer_stop(cs->loop, &c->timer);
        check_close(c);
        c->srv->chk = NULL;
        free(c);
    }
    free(cs->all);
    free(cs);
}
