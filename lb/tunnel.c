/* tunnel.c — a WebSocket after its 101: bytes relayed both ways, no frame
 * parsing.
 *
 * A read goes into the lb's one scratch buffer and is sent straight on: one
 * recv and one send per message, nothing kept. Only when the other socket is
 * full does the rest go into a pool buffer; the side it came from is then
 * not read until that buffer has drained and gone back to the pool. A FIN
 * is passed on once what came before it is delivered; while one direction
 * is closed, the fin timeouts apply. With TLS on a side, reads go on while
 * OpenSSL holds decrypted bytes, which no readiness event would announce.
 * A 101 the lb rewrote (a Set-Cookie added) goes out first, the same way. */
#include <stdlib.h>
#include <string.h>

#include "httplog.h"
#include "io.h"
#include "stream.h"
#include "timeouts.h"

/* The bytes waiting to go to the client, or to the server. */
static struct pbuf **pending(struct stream *s, int to_client)
{
    return to_client ? &s->u.pend->to_cli : &s->u.pend->to_srv;
}

static int has_pending(const struct stream *s, int to_client)
{
    const struct tunnel_pend *p = s->u.pend;
    if (p == NULL)
        return 0;
    return to_client ? p->head != NULL || p->to_cli != NULL : p->to_srv != NULL;
}

/* Drops the pending-bytes holder once both directions are drained. */
static void pend_trim(struct lb *lb, struct stream *s)
{
    struct tunnel_pend *p = s->u.pend;
    if (p == NULL)
        return;
    for (int to_client = 0; to_client <= 1; to_client++) {
        struct pbuf **b = pending(s, to_client);
        if (*b && pbuf_len(*b) == 0) {
            pbuf_put(&lb->pool, *b);
            *b = NULL;
        }
    }
    if (p->to_cli == NULL && p->to_srv == NULL && p->head == NULL) {
        free(p);
        s->u.pend = NULL;
    }
}

void tunnel_free(struct lb *lb, struct stream *s)
{
    struct server *srv = stream_server(s);
    uint32_t objs[3] = { stream_frontend(s)->fe_obj, srv->be->be_obj, srv->obj };
    for (int i = 0; i < 3; i++)
        ctr_sub(&lb_ctr(lb, objs[i])->tunnels_cur, 1);
    if (s->u.pend) {
        pbuf_put(&lb->pool, s->u.pend->to_cli);
        pbuf_put(&lb->pool, s->u.pend->to_srv);
        if (s->u.pend->head)
            rbuf_unref(s->u.pend->head);
        free(s->u.pend);
        s->u.pend = NULL;
    }
    httplog_release(lb, s->request_line);
    s->request_line = 0;
}

/* Passes a FIN on: after src's EOF, once nothing is left for dst. */
static void forward_shutdown(struct lb *lb, struct stream *s, int to_client)
{
    uint8_t eof = to_client ? SF_SRV_EOF : SF_CLI_EOF;
    uint8_t shut = to_client ? SF_CLI_SHUT : SF_SRV_SHUT;
    if ((s->flags & eof) && !(s->flags & shut) && !has_pending(s, to_client)) {
        io_shutdown_write(lb, to_client ? s->cli.fd : s->srv.fd);
        s->flags |= shut;
    }
}

/* Sends what waits for one side. Returns -1 on a socket error. */
static int flush(struct lb *lb, struct stream *s, int to_client)
{
    if (!has_pending(s, to_client))
        return 0;
    int fd = to_client ? s->cli.fd : s->srv.fd;
    struct tunnel_pend *p = s->u.pend;
    while (to_client && p->head) {
        ssize_t n = io_send(lb, fd, p->head->data + p->head_off, p->head->len - p->head_off);
        if (n < 0)
            return n == IO_AGAIN ? 0 : -1;
        s->bytes_out += (uint64_t)n;
        p->head_off += (uint32_t)n;
        if (p->head_off == p->head->len) {
            rbuf_unref(p->head);
            p->head = NULL;
        }
    }
    struct pbuf *b = *pending(s, to_client);
    while (b && pbuf_len(b) > 0) {
        ssize_t n = io_send(lb, fd, b->data + b->head, pbuf_len(b));
        if (n < 0)
            return n == IO_AGAIN ? 0 : -1;
        if (to_client)
            stream_count_out(lb, s, (uint64_t)n);
        pbuf_consume(b, (uint32_t)n);
    }
    pend_trim(lb, s);
    return 0;
}

/* Keeps what could not be sent: n bytes at p, for one side. */
static int keep(struct lb *lb, struct stream *s, int to_client, const uint8_t *p, size_t n)
{
    if (s->u.pend == NULL && (s->u.pend = calloc(1, sizeof(*s->u.pend))) == NULL)
        return -1;
    struct pbuf **b = pending(s, to_client);
    if (*b == NULL && (*b = pbuf_get(&lb->pool)) == NULL)
        return -1;
    memcpy((*b)->data + (*b)->tail, p, n);
    (*b)->tail += (uint32_t)n;
    return 0;
}

/* One read from a side and its send to the other. Returns 1 if bytes moved,
 * 0 if not, -1 if the tunnel must close (with *term). */
static int relay(struct lb *lb, struct stream *s, int from_client, const char **term)
{
    int src = from_client ? s->cli.fd : s->srv.fd;
    int dst = from_client ? s->srv.fd : s->cli.fd;
    ssize_t n = io_recv(lb, src, lb->scratch, lb->cfg->bufsize);
    if (n == IO_AGAIN || n == IO_WANT_WRITE)
        return 0; /* a TLS read that must write first retries on the next event */
    if (n < 0) {
        *term = from_client ? "CD" : "SD";
        return -1;
    }
    if (n == 0) {
        s->flags |= from_client ? SF_CLI_EOF : SF_SRV_EOF;
        forward_shutdown(lb, s, !from_client);
        return 1;
    }
    if (from_client)
        stream_count_in(lb, s, (uint64_t)n);
    ssize_t w = io_send(lb, dst, lb->scratch, (size_t)n);
    if (w == IO_AGAIN) {
        w = 0;
    } else if (w < 0) {
        *term = from_client ? "SD" : "CD";
        return -1;
    }
    if (!from_client)
        stream_count_out(lb, s, (uint64_t)w);
    if (w < n && keep(lb, s, !from_client, lb->scratch + w, (size_t)(n - w)) != 0) {
        *term = "RD";
        return -1;
    }
    return 1;
}

/* Watches what the tunnel can do now, and ends it when both ways are done. */
static void tunnel_update(struct lb *lb, struct stream *s, int moved)
{
    if ((s->flags & (SF_CLI_EOF | SF_SRV_EOF | SF_CLI_SHUT | SF_SRV_SHUT)) ==
        (SF_CLI_EOF | SF_SRV_EOF | SF_CLI_SHUT | SF_SRV_SHUT)) {
        stream_close(lb, s, "--");
        return;
    }
    int cli = 0, srv = 0;
    /* A side is read only while what it sent before has been delivered. */
    if (!(s->flags & SF_CLI_EOF) && !has_pending(s, 0))
        cli |= EV_READ;
    if (!(s->flags & SF_SRV_EOF) && !has_pending(s, 1))
        srv |= EV_READ;
    if (has_pending(s, 1))
        cli |= EV_WRITE;
    if (has_pending(s, 0))
        srv |= EV_WRITE;
    stream_watch(lb, s, cli, srv);

    struct proxy *fe = stream_frontend(s), *be = stream_server(s)->be;
    if (moved && (s->flags & (SF_CLI_EOF | SF_SRV_EOF)) && s->tq.q != lb_timeq(lb, to_fin(fe, be)))
        stream_set_timeout(lb, s, to_fin(fe, be));
    else if (moved)
        timeq_touch(&s->tq);
}

/* A tunnel opens (or arrives from another worker): counted as open. */
static void count_open(struct lb *lb, struct stream *s, int established)
{
    struct server *srv = stream_server(s);
    uint32_t objs[3] = { stream_frontend(s)->fe_obj, srv->be->be_obj, srv->obj };
    for (int i = 0; i < 3; i++) {
        struct stats_counters *c = lb_ctr(lb, objs[i]);
        ctr_add(&c->tunnels_cur, 1);
        if (established)
            ctr_add(&c->tunnels_tot, 1);
    }
}

void tunnel_adopt(struct lb *lb, struct stream *s)
{
    s->state = ST_TUNNEL;
    s->u.pend = NULL;
    count_open(lb, s, 0);
    stream_set_timeout(lb, s, to_tunnel(stream_frontend(s), stream_server(s)->be));
    stream_watch(lb, s, EV_READ, EV_READ);
}

void tunnel_start(struct lb *lb, struct stream *s, struct rbuf *head, struct pbuf *to_cli,
                  struct pbuf *to_srv)
{
    struct txn *t = s->u.txn;
    uint16_t line = httplog_intern(lb, t->request_line);
    s->cookie_log = t->ck_log;
    txn_free(lb, t);
    s->u.pend = NULL;
    s->state = ST_TUNNEL;
    s->request_line = line;
    count_open(lb, s, 1);
    if (head || (to_cli && pbuf_len(to_cli)) || (to_srv && pbuf_len(to_srv))) {
        s->u.pend = calloc(1, sizeof(*s->u.pend));
        if (s->u.pend == NULL) {
            if (head)
                rbuf_unref(head);
            pbuf_put(&lb->pool, to_cli);
            pbuf_put(&lb->pool, to_srv);
            stream_close(lb, s, "RD");
            return;
        }
        s->u.pend->head = head;
        s->u.pend->to_cli = to_cli;
        s->u.pend->to_srv = to_srv;
        pend_trim(lb, s);
    } else {
        pbuf_put(&lb->pool, to_cli);
        pbuf_put(&lb->pool, to_srv);
    }
    stream_set_timeout(lb, s, to_tunnel(stream_frontend(s), stream_server(s)->be));
    tunnel_io(lb, s, EV_WRITE, EV_WRITE);
}

void tunnel_io(struct lb *lb, struct stream *s, int cli_revents, int srv_revents)
{
    const char *term = NULL;
    int moved = 0;
    if (((cli_revents & EV_WRITE) && flush(lb, s, 1) != 0) ||
        ((srv_revents & EV_WRITE) && flush(lb, s, 0) != 0)) {
        stream_close(lb, s, (cli_revents & EV_WRITE) ? "CD" : "SD");
        return;
    }
    forward_shutdown(lb, s, 1);
    forward_shutdown(lb, s, 0);
    for (int from_client = 1; from_client >= 0; from_client--) {
        int fd = from_client ? s->cli.fd : s->srv.fd;
        uint8_t eof = from_client ? SF_CLI_EOF : SF_SRV_EOF;
        if (!((from_client ? cli_revents : srv_revents) & EV_READ))
            continue;
        /* Once per event; again while TLS holds decrypted bytes and the
         * other side takes them. */
        do {
            int r = relay(lb, s, from_client, &term);
            if (r < 0) {
                stream_close(lb, s, term);
                return;
            }
            moved |= r;
        } while (!(s->flags & eof) && !has_pending(s, !from_client) && io_pending(lb, fd));
    }
    tunnel_update(lb, s, moved || (cli_revents | srv_revents) & EV_WRITE);
}
