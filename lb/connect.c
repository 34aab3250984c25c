/* connect.c — giving a stream a server: balance, queue when every server is
 * at its maxconn, connect (and the TLS handshake with an "ssl" server, which
 * is part of connecting: its failures are retried the same way), retry
 * (elsewhere with option redispatch), or answer 503. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../shared/log.h"
#include "balance.h"
#include "io.h"
#include "stream.h"
#include "timeouts.h"

static struct proxy *backend_of(struct lb *lb, struct stream *s)
{
    return stream_frontend(lb, s)->backend;
}

static void queue_push(struct stream_queue *q, struct stream *s)
{
    struct txn *t = s->u.txn;
    t->queue_next = NULL;
    t->queue_prev = q->tail;
    if (q->tail)
        q->tail->u.txn->queue_next = s;
    else
        q->head = s;
    q->tail = s;
    q->len++;
    ctr_add(&lb_ctr(t->lb, backend_of(t->lb, s)->be_obj)->qcur, 1);
}

static void queue_unlink(struct stream_queue *q, struct stream *s)
{
    struct txn *t = s->u.txn;
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
    ctr_sub(&lb_ctr(t->lb, backend_of(t->lb, s)->be_obj)->qcur, 1);
}

/* Starts a connection to srv. */
static void connect_to(struct lb *lb, struct stream *s, struct server *srv)
{
    s->server = srv->index;
    s->flags |= SF_SLOT;
    srv->cur_conns++;
    srv->total_conns++;
    struct stats_counters *c = lb_ctr(lb, srv->obj);
    ctr_add(&c->cur, 1);
    ctr_add(&c->tot, 1);
    ctr_add(&c->lbtot, 1);

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

/* Gives queued streams of be the slots that are free now, in order. */
void connect_assign_queued(struct lb *lb, struct proxy *be)
{
    while (be->queue.head) {
        int full;
        struct stream *s = be->queue.head;
        struct txn *t = s->u.txn;
        struct server *srv = balance_pick(be, NULL, t->has_hash ? &t->hash : NULL, &full);
        if (srv == NULL)
            return;
        queue_unlink(&be->queue, s);
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
        struct stats_counters *c = lb_ctr(lb, be->be_obj);
        ctr_add(&c->cur, 1);
        ctr_add(&c->tot, 1);
    }
    int full;
    struct txn *t = s->u.txn;
    struct server *srv =
        be->queue.head ? NULL : balance_pick(be, NULL, t->has_hash ? &t->hash : NULL, &full);
    if (srv) {
        s->timers[TIMER_TW] = 0;
        connect_to(lb, s, srv);
        return;
    }
    if (be->queue.head || full) {
        /* Every usable server is at its maxconn: wait in line for a slot. */
        s->state = ST_QUEUED;
        queue_push(&be->queue, s);
        stream_set_timeout(lb, s, to_queue(be));
        return;
    }
    txn_reply(lb, s, 503, "SC");
}

void connect_queue_timeout(struct lb *lb, struct stream *s)
{
    struct proxy *be = backend_of(lb, s);
    queue_unlink(&be->queue, s);
    s->state = ST_REQ; /* out of the queue: txn_reply must not unlink it again */
    s->timers[TIMER_TW] = lb_now_ms(lb) - s->t_start - s->timers[TIMER_TQ];
    txn_reply(lb, s, 503, "sQ");
}

void connect_release(struct lb *lb, struct stream *s)
{
    struct proxy *be = backend_of(lb, s);
    if (s->state == ST_QUEUED)
        queue_unlink(&be->queue, s);
    if (s->flags & SF_SLOT) {
        struct server *srv = stream_server(lb, s);
        s->flags &= (uint8_t)~SF_SLOT;
        srv->cur_conns--;
        ctr_sub(&lb_ctr(lb, srv->obj)->cur, 1);
        if (be->queue.head)
            connect_assign_queued(lb, be);
    }
    if (s->flags & SF_ASSIGNED) {
        s->flags &= (uint8_t)~SF_ASSIGNED;
        be->beconn--;
        ctr_sub(&lb_ctr(lb, be->be_obj)->cur, 1);
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
        lb_report_connect_failure(lb, srv, why);
    ctr_add(&lb_ctr(lb, srv->obj)->econ, 1);
    ctr_add(&lb_ctr(lb, be->be_obj)->econ, 1);

    ev_io_stop(lb->loop, &s->srv);
    io_close(lb, s->srv.fd);
    s->srv.fd = -1;
    s->flags &= (uint8_t)~SF_SLOT;
    srv->cur_conns--;
    ctr_sub(&lb_ctr(lb, srv->obj)->cur, 1);

    /* t->retries counts the retries made (what the log shows, as HAProxy);
     * Tc stays unset (-1 in the log): no connection was established. */
    if (t->retries >= be->retries) {
        txn_reply(lb, s, 503, timed_out ? "sC" : "SC");
        return;
    }
    t->retries++;
    /* With option redispatch, a server that is not usable any more (the
     * refusal may just have marked it DOWN) is left at once, as HAProxy. */
    struct server *next = srv;
    if (redispatch_now(be, t->retries) || (be->redispatch && !balance_server_usable(srv))) {
        int full;
        next = balance_pick(be, srv, t->has_hash ? &t->hash : NULL, &full);
    } else if (!balance_server_usable(srv)) {
        next = NULL;
    }
    if (next == NULL) {
        txn_reply(lb, s, 503, timed_out ? "sC" : "SC");
        return;
    }
    ctr_add(&lb_ctr(lb, srv->obj)->wretr, 1);
    ctr_add(&lb_ctr(lb, be->be_obj)->wretr, 1);
    if (next != srv) {
        ctr_add(&lb_ctr(lb, srv->obj)->wredis, 1);
        ctr_add(&lb_ctr(lb, be->be_obj)->wredis, 1);
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
