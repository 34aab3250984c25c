/* connect.c — giving a stream a server: the one persistence names (a
 * cookie), else balance; queue when that server, or every server, is at its
 * maxconn; connect (and the TLS handshake with an "ssl" server, which is
 * part of connecting: its failures are retried the same way), retry
 * (elsewhere with option redispatch), or answer 503. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../shared/log.h"
#include "balance.h"
#include "check.h"
#include "io.h"
#include "stream.h"
#include "timeouts.h"

static struct proxy *backend_of(struct lb *lb, struct stream *s)
{
    return stream_frontend(lb, s)->backend;
}

/* The server a stream must go to without balancing, or NULL: its
 * persistence cookie's (a stick table would come next). */
static struct server *target_of(struct lb *lb, const struct stream *s)
{
    return s->u.txn->ck_srv ? lb->servers[s->u.txn->ck_srv] : NULL;
}

/* Persistence is given up (option redispatch): the stream is balanced and
 * its response gets a fresh cookie. */
static void drop_target(struct proxy *be, struct stream *s)
{
    if (s->state == ST_QUEUED)
        be->queue.targeted--;
    s->u.txn->ck_srv = 0;
}

static int has_slot(const struct server *srv)
{
    return srv->maxconn == 0 || srv->cur_conns < srv->maxconn;
}

static void queue_push(struct lb *lb, struct stream_queue *q, struct stream *s)
{
    struct txn *t = s->u.txn;
    if (target_of(lb, s))
        q->targeted++;
    t->queue_next = NULL;
    t->queue_prev = q->tail;
    if (q->tail)
        q->tail->u.txn->queue_next = s;
    else
        q->head = s;
    q->tail = s;
    q->len++;
}

static void queue_unlink(struct lb *lb, struct stream_queue *q, struct stream *s)
{
    struct txn *t = s->u.txn;
    if (target_of(lb, s))
        q->targeted--;
    if (t->queue_prev)
        t->queue_prev->u.txn->queue_next = t->queue_next;
    else
        q->head = t->queue_next;
    if (t->queue_next)
        t->queue_next->u.txn->queue_prev = t->queue_prev;
    else
        q->tail = t->queue_prev;
    t->queue_prev = t->queue_next = NULL;
    q->len--;
}

/* Starts a connection to srv. */
static void connect_to(struct lb *lb, struct stream *s, struct server *srv)
{
    s->server = srv->index;
    s->flags |= SF_SLOT;
    srv->cur_conns++;
    srv->total_conns++;

    int fd = socket(srv->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_warn("%s/%s: cannot create a socket: %s", srv->be->name, srv->name, strerror(errno));
        txn_reply(lb, s, 503, "RC");
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ev_io_set(&s->srv, fd, 0);
    s->state = ST_CONNECT;
    stream_set_timeout(lb, s, srv->be->to.connect);
    if (srv->ssl) {
        SSL *ssl = (size_t)fd < lb->tls_size
                       ? tls_client_ssl(srv->tls_ctx, fd, srv->sni, srv->sni ? srv->sni : srv->host)
                       : NULL;
        if (ssl == NULL) {
            connect_failed(lb, s, "cannot start TLS", 0);
            return;
        }
        io_attach(lb, fd, ssl);
    }
    if (connect(fd, (const struct sockaddr *)&srv->addr.ss, srv->addr.len) == 0 || errno == EINPROGRESS) {
        stream_watch(lb, s, 0, EV_WRITE);
        return;
    }
    connect_failed(lb, s, strerror(errno), 0);
}

/* The oldest queued stream that can be served now, and its server: one
 * waiting for its persistent server when that one has a free slot (or, with
 * option redispatch, when it may not take it any more), one to balance when
 * balancing finds a slot. A waiter for a full server does not hold up the
 * others. O(waiters passed over), which stay few: those whose own server
 * is full while others have room. */
static struct stream *next_servable(struct lb *lb, struct proxy *be, struct server **out)
{
    int balancing_full = 0;
    for (struct stream *s = be->queue.head; s; s = s->u.txn->queue_next) {
        struct txn *t = s->u.txn;
        struct server *srv = target_of(lb, s);
        if (srv && be->redispatch && !balance_server_persist_ok(srv)) {
            drop_target(be, s);
            srv = NULL;
        }
        if (srv && !has_slot(srv))
            continue;
        if (srv == NULL && !balancing_full) {
            int full;
            srv = balance_pick(be, NULL, t->has_hash ? &t->hash : NULL, &full);
            balancing_full = srv == NULL;
        }
        if (srv) {
            *out = srv;
            return s;
        }
    }
    return NULL;
}

/* Gives queued streams of be the slots that are free now, oldest first. */
void connect_assign_queued(struct lb *lb, struct proxy *be)
{
    struct server *srv;
    struct stream *s;
    while ((s = next_servable(lb, be, &srv)) != NULL) {
        queue_unlink(lb, &be->queue, s);
        s->timers[TIMER_TW] = lb_now_ms(lb) - s->t_start - s->timers[TIMER_TQ];
        connect_to(lb, s, srv);
    }
}

void connect_assign(struct lb *lb, struct stream *s)
{
    struct proxy *be = backend_of(lb, s);
    if (!(s->flags & SF_ASSIGNED)) {
        s->flags |= SF_ASSIGNED;
        be->beconn++;
        be->be_total++;
    }
    int full = 0;
    struct txn *t = s->u.txn;
    /* Persistence first, without balancing; a full server is waited for. */
    struct server *srv = target_of(lb, s);
    if (srv && !has_slot(srv)) {
        full = 1;
        srv = NULL;
    } else if (srv == NULL && be->queue.len == be->queue.targeted) {
        srv = balance_pick(be, NULL, t->has_hash ? &t->hash : NULL, &full);
    }
    if (srv) {
        s->timers[TIMER_TW] = 0;
        connect_to(lb, s, srv);
        return;
    }
    if (be->queue.len > be->queue.targeted || full) {
        /* Its server, or every usable server, is at its maxconn (or others
         * wait for one already): wait in line for a slot. */
        s->state = ST_QUEUED;
        queue_push(lb, &be->queue, s);
        stream_set_timeout(lb, s, to_queue(be));
        return;
    }
    txn_reply(lb, s, 503, "SC");
}

void connect_queue_timeout(struct lb *lb, struct stream *s)
{
    struct proxy *be = backend_of(lb, s);
    queue_unlink(lb, &be->queue, s);
    s->state = ST_REQ; /* out of the queue: txn_reply must not unlink it again */
    s->timers[TIMER_TW] = lb_now_ms(lb) - s->t_start - s->timers[TIMER_TQ];
    txn_reply(lb, s, 503, "sQ");
}

void connect_release(struct lb *lb, struct stream *s)
{
    struct proxy *be = backend_of(lb, s);
    if (s->state == ST_QUEUED)
        queue_unlink(lb, &be->queue, s);
    if (s->flags & SF_SLOT) {
        struct server *srv = stream_server(lb, s);
        s->flags &= (uint8_t)~SF_SLOT;
        srv->cur_conns--;
        if (be->queue.head)
            connect_assign_queued(lb, be);
    }
    if (s->flags & SF_ASSIGNED) {
        s->flags &= (uint8_t)~SF_ASSIGNED;
        be->beconn--;
    }
}

/* HAProxy's "option redispatch <interval>": positive P redispatches every
 * Pth retry, negative N on the Nth retry before the last (-1: the last). */
static int redispatch_now(const struct proxy *be, unsigned retry)
{
    if (be->redispatch > 0)
        return retry % (unsigned)be->redispatch == 0;
    if (be->redispatch < 0)
        return (int)retry == (int)be->retries + 1 + be->redispatch;
    return 0;
}

void connect_failed(struct lb *lb, struct stream *s, const char *why, int timed_out)
{
    struct txn *t = s->u.txn;
    struct server *srv = stream_server(lb, s);
    struct proxy *be = srv->be;
    log_debug("%s/%s: connect failed: %s", be->name, srv->name, why);
    if (!timed_out)
        check_report_failure(lb, srv, why);

    ev_io_stop(lb->loop, &s->srv);
    io_close(lb, s->srv.fd);
    s->srv.fd = -1;
    s->flags &= (uint8_t)~SF_SLOT;
    srv->cur_conns--;

    /* t->retries counts the retries made (what the log shows, as HAProxy);
     * Tc stays unset (-1 in the log): no connection was established. */
    if (t->retries >= be->retries) {
        txn_reply(lb, s, 503, timed_out ? "sC" : "SC");
        return;
    }
    t->retries++;
    /* With option redispatch, a server that is not usable any more (the
     * refusal may just have marked it DOWN) is left at once, as HAProxy;
     * a request persistence sent there is balanced then and gets a fresh
     * cookie. */
    struct server *next = srv;
    int usable = target_of(lb, s) == srv ? balance_server_persist_ok(srv) : balance_server_usable(srv);
    if (redispatch_now(be, t->retries) || (be->redispatch && !usable)) {
        int full;
        drop_target(be, s);
        next = balance_pick(be, srv, t->has_hash ? &t->hash : NULL, &full);
    } else if (!usable) {
        next = NULL;
    }
    if (next == NULL) {
        txn_reply(lb, s, 503, timed_out ? "sC" : "SC");
        return;
    }
    connect_to(lb, s, next);
}

void connect_io(struct lb *lb, struct stream *s)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(s->srv.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err == EINPROGRESS || err == EALREADY)
        return;
    if (err != 0) {
        connect_failed(lb, s, strerror(err), 0);
        return;
    }
    SSL *ssl = io_tls(lb, s->srv.fd);
    if (ssl) {
        int rc = tls_handshake(ssl);
        if (rc == TLS_WANT_READ || rc == TLS_WANT_WRITE) {
            stream_watch(lb, s, 0, rc == TLS_WANT_READ ? EV_READ : EV_WRITE);
            return;
        }
        if (rc != 1) {
            char why[256], msg[300];
            snprintf(msg, sizeof(msg), "TLS handshake failed: %s", tls_error(why, sizeof(why)));
            log_warn("%s/%s: %s", stream_server(lb, s)->be->name, stream_server(lb, s)->name, msg);
            connect_failed(lb, s, msg, 0);
            return;
        }
    }
    s->timers[TIMER_TC] = lb_now_ms(lb) - s->t_start - s->timers[TIMER_TQ] - s->timers[TIMER_TW];
    txn_server_connected(lb, s);
}
