/* check.c — see check.h. */
#include "check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../shared/log.h"
#include "balance.h"
#include "stream.h"

struct check {
    struct lb *lb;
    struct server *srv;
    ev_timer timer;       /* next check, or this check's timeout */
    ev_io io;             /* the probe's socket while a check runs */
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
    if (up)
        connect_assign_queued(lb, be);
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
    char reason[160];
    snprintf(reason, sizeof(reason), "traffic could not connect: %s", why);
    check_result(lb, s, 0, reason);
}

static void check_end(struct check *c, int ok, const char *why)
{
    struct lb *lb = c->lb;
    if (c->io.fd >= 0) {
        ev_io_stop(lb->loop, &c->io);
        close(c->io.fd);
        ev_io_set(&c->io, -1, 0);
    }
    char reason[200];
    snprintf(reason, sizeof(reason), "%s, check duration: %.0fms", why,
             (ev_now(lb->loop) - c->started) * 1000);
    check_result(lb, c->srv, ok, reason);
    check_schedule(c, c->srv->inter_ms / 1000.0);
}

/* HTTP: the request line the check sends. */
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

static void check_io(struct ev_loop *loop, ev_io *w, int revents)
{
    struct check *c = w->data;
    (void)loop;
    if (revents & EV_WRITE) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            char why[128];
            snprintf(why, sizeof(why), "Layer4 connection problem: %s", strerror(err));
            check_end(c, 0, why);
            return;
        }
        if (!c->srv->be->httpchk) {
            check_end(c, 1, "Layer4 check passed");
            return;
        }
        char req[600];
        int n = check_request(c, req, sizeof(req));
        ssize_t sent = send(w->fd, req + c->sent, (size_t)n - c->sent, MSG_NOSIGNAL);
        if (sent < 0 && errno != EAGAIN) {
            check_end(c, 0, "Layer7 cannot send the request");
            return;
        }
        if (sent > 0)
            c->sent += (size_t)sent;
        if (c->sent == (size_t)n) {
            ev_io_stop(c->lb->loop, w);
            ev_io_set(w, w->fd, EV_READ);
            ev_io_start(c->lb->loop, w);
        }
        return;
    }
    ssize_t n = recv(w->fd, c->reply + c->got, sizeof(c->reply) - 1 - c->got, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        const char *why;
        int ok = c->got > 0 ? check_judge(c, &why) : 0;
        check_end(c, ok == 1, ok == -1 || c->got == 0 ? "Layer7 no response" : why);
        return;
    }
    c->got += (size_t)n;
    c->reply[c->got] = '\0';
    const char *why;
    int verdict = check_judge(c, &why);
    if (verdict >= 0)
        check_end(c, verdict, why);
}

static void check_run(struct check *c)
{
    struct lb *lb = c->lb;
    struct server *s = c->srv;
    c->started = ev_now(lb->loop);
    c->sent = c->got = 0;
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
        check_end(c, 0, c->sent ? "Layer7 timeout" : "Layer4 timeout");
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
        if (c->io.fd >= 0) {
            ev_io_stop(lb->loop, &c->io);
            close(c->io.fd);
        }
        free(c);
        lb->servers[i]->chk = NULL;
    }
}
