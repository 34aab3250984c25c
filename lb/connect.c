/* connect.c — giving a stream a server: persistence (its cookie, else a
 * stick table) or balancing, queue when the server is (or every server is)
 * at its maxconn,
 * connect (and the TLS handshake with an "ssl" server, which is part of
 * connecting: its failures are retried the same way), retry (elsewhere with
 * option redispatch), or answer 503.
 *
 * Queues, as HAProxy's: a stream persistence sends to a full server waits in
 * that server's queue; the others wait in the backend's. A freed slot goes
 * to whoever has waited longest among those who can use it. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../shared/log.h"
#include "balance.h"
#include "io.h"
#include "stick-rules.h"
#include "stream.h"
#include "timeouts.h"

static struct proxy *backend_of(struct stream *s)
{
    return stream_frontend(s)->backend;
}

static int has_slot(const struct server *srv)
{
    return srv->maxconn == 0 || srv->cur_conns < srv->maxconn;
}

/* Persistence is given up (option redispatch): the stream is balanced, and
 * its response gets a fresh cookie. */
static void drop_persistence(struct stream *s)
{
    s->u.txn->ck_srv = 0;
    s->u.txn->persistent = 0;
}

/* When a queued stream started waiting: its request head was complete. */
static uint32_t queued_since(const struct stream *s)
{
    return s->t_start + s->timers[TIMER_TQ];
}

/* a has waited at least as long as b (lb_now_ms times wrap). */
static int waited_longer(const struct stream *a, const struct stream *b)
{
    return (int32_t)(queued_since(a) - queued_since(b)) <= 0;
}

/* The queue a waiting stream is in: its persistent server's or its backend's. */
static struct stream_queue *queue_of(struct lb *lb, struct stream *s)
{
    struct txn *t = s->u.txn;
    return t->queue_srv ? &lb->servers[t->queue_srv]->queue : &backend_of(s)->queue;
}

/* Links s after `after` (NULL: at the head). */
static void queue_insert_after(struct stream_queue *q, struct stream *after, struct stream *s)
{
    struct txn *t = s->u.txn;
    t->queue_prev = after;
    t->queue_next = after ? after->u.txn->queue_next : q->head;
    if (t->queue_next)
        t->queue_next->u.txn->queue_prev = s;
    else
        q->tail = s;
    if (after)
        after->u.txn->queue_next = s;
    else
        q->head = s;
    q->len++;
    ctr_add(&lb_ctr(t->lb, backend_of(s)->be_obj)->qcur, 1);
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
    ctr_sub(&lb_ctr(t->lb, backend_of(s)->be_obj)->qcur, 1);
}

/* Starts a connection to srv. */
static void connect_to(struct lb *lb, struct stream *s, struct server *srv)
{
    stream_set_server(s, srv);
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

/* With option redispatch, streams waiting for a server that cannot take
 * persistent traffic any more (DOWN, maintenance) are balanced like the others,
 * as HAProxy does: they move to the backend's queue, at the place their
 * waiting time gives them. Without it they wait for the server to come back,
 * or for timeout queue. */
static void requeue_on_backend(struct proxy *be, struct server *srv)
{
    while (srv->queue.head) {
        struct stream *s = srv->queue.head;
        queue_unlink(&srv->queue, s);
        s->u.txn->queue_srv = 0;
        drop_persistence(s);
        struct stream *after = be->queue.tail;
        while (after && !waited_longer(after, s))
            after = after->u.txn->queue_prev;
        queue_insert_after(&be->queue, after, s);
    }
}

/* The longest waiting of the streams at the head of a server's queue whose
 * server has a free slot, or NULL. */
static struct stream *next_persistent(struct proxy *be)
{
    struct stream *best = NULL;
    for (size_t i = 0; i < be->nservers; i++) {
        struct server *srv = be->servers[i];
        if (srv->queue.head == NULL)
            continue;
        if (!balance_server_persist_ok(srv)) {
            if (be->redispatch)
                requeue_on_backend(be, srv);
        } else if (has_slot(srv) && (best == NULL || waited_longer(srv->queue.head, best))) {
            best = srv->queue.head;
        }
    }
    return best;
}

/* Gives queued streams of be the slots that are free now, the longest
 * waiting first. */
void connect_assign_queued(struct lb *lb, struct proxy *be)
{
    for (;;) {
        struct stream *persistent = next_persistent(be);
        struct stream *s = be->queue.head;
        struct server *srv = NULL;
        if (s && (persistent == NULL || waited_longer(s, persistent))) {
            int full;
            struct txn *t = s->u.txn;
            srv = balance_pick(be, NULL, t->has_hash ? &t->hash : NULL, &full);
        }
        if (srv == NULL) {
            if (persistent == NULL)
                return;
            s = persistent;
            srv = lb->servers[s->u.txn->queue_srv];
        }
        queue_unlink(queue_of(lb, s), s);
        s->u.txn->queue_srv = 0;
        s->timers[TIMER_TW] = lb_now_ms(lb) - s->t_start - s->timers[TIMER_TQ];
        connect_to(lb, s, srv);
    }
}

/* Waits for a slot: on `srv` (persistence) or, NULL, any server of be. */
static void enqueue(struct lb *lb, struct stream *s, struct proxy *be, struct server *srv)
{
    s->state = ST_QUEUED;
    s->u.txn->queue_srv = srv ? srv->index : 0;
    struct stream_queue *q = queue_of(lb, s);
    queue_insert_after(q, q->tail, s);
    stream_set_timeout(lb, s, to_queue(be));
}

/* The server persistence sends this request to, or NULL to balance: the
 * one its cookie names (persist.c checked it may take it), else the one the
 * stick table has for its client. */
static struct server *persistent_server(struct lb *lb, struct stream *s, struct proxy *be)
{
    struct txn *t = s->u.txn;
    if (t->ck_srv)
        return lb->servers[t->ck_srv];
    return stick_match_server(lb, s, be);
}

void connect_assign(struct lb *lb, struct stream *s)
{
    struct proxy *be = backend_of(s);
    if (!(s->flags & SF_ASSIGNED)) {
        s->flags |= SF_ASSIGNED;
        be->beconn++;
        be->be_total++;
        struct stats_counters *c = lb_ctr(lb, be->be_obj);
        ctr_add(&c->cur, 1);
        ctr_add(&c->tot, 1);
    }
    struct server *want = persistent_server(lb, s, be);
    s->u.txn->persistent = want != NULL;
    if (want) {
        if (has_slot(want) && want->queue.head == NULL) {
            s->timers[TIMER_TW] = 0;
            connect_to(lb, s, want);
        } else {
            enqueue(lb, s, be, want);
        }
        return;
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
        enqueue(lb, s, be, NULL);
        return;
    }
    txn_reply(lb, s, 503, "SC");
}

void connect_queue_timeout(struct lb *lb, struct stream *s)
{
    queue_unlink(queue_of(lb, s), s);
    s->state = ST_REQ; /* out of the queue: txn_reply must not unlink it again */
    s->timers[TIMER_TW] = lb_now_ms(lb) - s->t_start - s->timers[TIMER_TQ];
    txn_reply(lb, s, 503, "sQ");
}

void connect_release(struct lb *lb, struct stream *s)
{
    struct proxy *be = backend_of(s);
    if (s->state == ST_QUEUED)
        queue_unlink(queue_of(lb, s), s);
    if (s->flags & SF_SLOT) {
        struct server *srv = stream_server(s);
        s->flags &= (uint8_t)~SF_SLOT;
        srv->cur_conns--;
        ctr_sub(&lb_ctr(lb, srv->obj)->cur, 1);
        if (be->queue.head || srv->queue.head)
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
    struct server *srv = stream_server(s);
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
     * refusal may just have marked it DOWN) is left at once, as HAProxy;
     * a request persistence sent there is balanced then and gets a fresh
     * cookie. */
    struct server *next = srv;
    int usable = t->persistent ? balance_server_persist_ok(srv) : balance_server_usable(srv);
    if (redispatch_now(be, t->retries) || (be->redispatch && !usable)) {
        int full;
        drop_persistence(s);
        next = balance_pick(be, srv, t->has_hash ? &t->hash : NULL, &full);
    } else if (!usable) {
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
            log_warn("%s/%s: %s", stream_server(s)->be->name, stream_server(s)->name, msg);
            connect_failed(lb, s, msg, 0);
            return;
        }
    }
    s->timers[TIMER_TC] = lb_now_ms(lb) - s->t_start - s->timers[TIMER_TQ] - s->timers[TIMER_TW];
    stick_store_request(s);
    txn_server_connected(lb, s);
}
