/* txn.c — the HTTP phase of a stream: read and check a request head,
 * forward it rewritten, forward its body, read the response head, forward it
 * rewritten and its body, then keep the client connection for the next
 * request or close it. A valid 101 to a WebSocket request hands the stream
 * to the tunnel.
 *
 * Server connections are not reused (HAProxy's http-server-close): each
 * request gets its own, told "Connection: close", and the client side is
 * kept alive. Buffers come from the pool and go back when the transaction
 * ends; a connection idle between requests holds none. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../shared/http.h"
#include "../shared/log.h"
#include "../shared/strbuf.h"
#include "balance.h"
#include "httplog.h"
#include "io.h"
#include "stats-http.h"
#include "persist.h"
#include "stream.h"
#include "timeouts.h"

#define TXN_MAX_HEADERS 101 /* HAProxy's tune.http.maxhdr default */

static struct txn *txn_get(struct lb *lb, struct stream *s)
{
    if (s->u.txn == NULL) {
        s->u.txn = calloc(1, sizeof(struct txn));
        if (s->u.txn)
            s->u.txn->lb = lb;
    }
    return s->u.txn;
}

void txn_free(struct lb *lb, struct txn *t)
{
    pbuf_put(&lb->pool, t->req);
    pbuf_put(&lb->pool, t->rsp);
    if (t->to_srv)
        rbuf_unref(t->to_srv);
    if (t->to_cli)
        rbuf_unref(t->to_cli);
    free(t);
}

static struct rbuf *rbuf_from(const struct strbuf *sb)
{
    if (sb->failed)
        return NULL;
    struct rbuf *b = rbuf_new(sb->len);
    if (b)
        memcpy(b->data, sb->data, sb->len);
    return b;
}

/* Sends what is left of an rbuf. Returns 0 (sent, or the socket is full),
 * or -1 on a socket error. Bytes sent to the client are counted on `to_client`. */
static int send_rbuf(struct lb *lb, int fd, struct rbuf **b, uint32_t *off, struct stream *to_client)
{
    while (*b) {
        ssize_t n = io_send(lb, fd, (*b)->data + *off, (*b)->len - *off);
        if (n < 0)
            return n == IO_AGAIN ? 0 : -1;
        if (to_client)
            stream_count_out(lb, to_client, (uint64_t)n);
        *off += (uint32_t)n;
        if (*off == (*b)->len) {
            rbuf_unref(*b);
            *b = NULL;
            *off = 0;
        }
    }
    return 0;
}

/* Sends the first *fwd bytes of a pool buffer, consuming what went out. */
static int send_pbuf(struct lb *lb, int fd, struct pbuf *b, uint32_t *fwd, struct stream *to_client)
{
    while (*fwd > 0) {
        ssize_t n = io_send(lb, fd, b->data + b->head, *fwd);
        if (n < 0)
            return n == IO_AGAIN ? 0 : -1;
        if (to_client)
            stream_count_out(lb, to_client, (uint64_t)n);
        pbuf_consume(b, (uint32_t)n);
        *fwd -= (uint32_t)n;
    }
    return 0;
}

/* Reads into a pool buffer, including what TLS already holds decrypted.
 * Returns bytes read, 0 at EOF, or IO_AGAIN, IO_WANT_WRITE, IO_ERROR (and
 * IO_AGAIN when the buffer is full). */
static ssize_t recv_into(struct lb *lb, int fd, struct pbuf *b)
{
    ssize_t total = 0;
    for (;;) {
        uint32_t room = pbuf_room(b);
        if (room == 0)
            return total ? total : IO_AGAIN;
        ssize_t n = io_recv(lb, fd, b->data + b->tail, room);
        if (n <= 0)
            return total ? total : n;
        b->tail += (uint32_t)n;
        total += n;
        if (!io_pending(lb, fd))
            return total;
    }
}

/* ---- answers of the lb's own -------------------------------------------- */

static const char *reply_text(int status)
{
    switch (status) {
    case 400: return "Your browser sent an invalid request.";
    case 408: return "Your browser didn't send a complete request in time.";
    case 431: return "The request head is too large.";
    case 500: return "An internal server error occurred.";
    case 502: return "The server returned an invalid or incomplete response.";
    case 503: return "No server is available to handle this request.";
    case 504: return "The server didn't respond in time.";
    case 401: return "This page needs a user name and a password.";
    case 405: return "This method is not allowed here.";
    case 301: case 302: case 303: case 307: case 308: return "This page is served over https.";
    default: return "";
    }
}

/* A response goes to the client: counted by class on the frontend, and on
 * the backend and server that produced it. */
static void count_response(struct lb *lb, struct stream *s, int status, int from_server)
{
    unsigned cls = status >= 100 && status < 600 ? (unsigned)status / 100 - 1 : 5;
    struct server *srv = stream_server(s);
    struct proxy *be = stream_frontend(s)->backend;
    ctr_add(&lb_ctr(lb, stream_frontend(s)->fe_obj)->hrsp[cls], 1);
    if (from_server && srv)
        ctr_add(&lb_ctr(lb, srv->obj)->hrsp[cls], 1);
    if (from_server || (s->flags & SF_ASSIGNED))
        ctr_add(&lb_ctr(lb, be->be_obj)->hrsp[cls], 1);
}

void txn_answer(struct lb *lb, struct stream *s, int status, const char *term,
                const char *extra_headers, const char *content_type, const char *body, size_t len)
{
    struct txn *t = txn_get(lb, s);
    if (t == NULL || t->rsp_head_done) {
        /* The client already has a response head: all that is left is to cut. */
        stream_close(lb, s, term);
        return;
    }
    count_response(lb, s, status, 0);
    if (status == 400 || status == 408 || status == 431)
        ctr_add(&lb_ctr(lb, stream_frontend(s)->fe_obj)->ereq, 1);
    struct server *srv = stream_server(s);
    if ((status == 502 || status == 504) && srv && (s->flags & SF_SLOT)) {
        ctr_add(&lb_ctr(lb, srv->obj)->eresp, 1);
        ctr_add(&lb_ctr(lb, srv->be->be_obj)->eresp, 1);
    }
    if (s->srv.fd >= 0) {
        ev_io_stop(lb->loop, &s->srv);
        io_close(lb, s->srv.fd);
        s->srv.fd = -1;
    }
    connect_release(lb, s);
    if (t->to_cli)
        rbuf_unref(t->to_cli);
    t->to_cli_off = 0;

    struct strbuf sb = STRBUF_INIT;
    strbuf_printf(&sb,
                  "HTTP/1.1 %d %s\r\n"
                  "Content-Length: %zu\r\n"
                  "Cache-Control: no-cache\r\n"
                  "Content-Type: %s\r\n"
                  "%s"
                  "Connection: close\r\n"
                  "\r\n",
                  status, http_status_reason(status), len, content_type, extra_headers);
    if (!t->head_request)
        strbuf_append(&sb, body, len);
    t->to_cli = rbuf_from(&sb);
    strbuf_free(&sb);
    t->status = (uint16_t)status;
    t->term[0] = term[0];
    t->term[1] = term[1];
    s->state = ST_REPLY;
    stream_set_timeout(lb, s, to_reply(stream_frontend(s)));
    txn_io(lb, s, EV_WRITE, 0);
}

/* An error page of the lb's own; extra_headers is a block of "Name: value\r\n". */
static void reply(struct lb *lb, struct stream *s, int status, const char *term,
                  const char *extra_headers)
{
    char body[256];
    int blen = snprintf(body, sizeof(body), "<html><body><h1>%d %s</h1>\n%s\n</body></html>\n",
                        status, http_status_reason(status), reply_text(status));
    txn_answer(lb, s, status, term, extra_headers, "text/html", body, (size_t)blen);
}

void txn_reply(struct lb *lb, struct stream *s, int status, const char *term)
{
    reply(lb, s, status, term, "");
}

/* ST_REPLY: send the answer, then FIN, then wait for the client to close. */
static void reply_io(struct lb *lb, struct stream *s, int cli_revents)
{
    struct txn *t = s->u.txn;
    char term[3] = { t->term[0], t->term[1], '\0' };
    if (cli_revents & EV_READ) {
        char discard[4096];
        ssize_t n;
        while ((n = io_recv(lb, s->cli.fd, discard, sizeof(discard))) > 0)
            stream_count_in(lb, s, (uint64_t)n);
        if (n == 0 || n == IO_ERROR) {
            stream_close(lb, s, term);
            return;
        }
    }
    if (t->to_cli && send_rbuf(lb, s->cli.fd, &t->to_cli, &t->to_cli_off, s) != 0) {
        stream_close(lb, s, term);
        return;
    }
    if (t->to_cli) {
        stream_watch(lb, s, EV_WRITE | (io_tls(lb, s->cli.fd) ? EV_READ : 0), 0);
        return;
    }
    /* Answered: a FIN, then whatever the client still sends is drained so
     * that closing does not reset the connection under the answer. */
    if (!(s->flags & SF_CLI_SHUT)) {
        io_shutdown_write(lb, s->cli.fd);
        s->flags |= SF_CLI_SHUT;
    }
    stream_watch(lb, s, EV_READ, 0);
}

/* ---- the request --------------------------------------------------------- */

/* Hop-by-hop fields never forwarded as received (RFC 9110 7.6.1). */
static int hop_by_hop(const struct http_header *h)
{
    return http_token_eq(h->name, h->name_len, "connection") ||
           http_token_eq(h->name, h->name_len, "keep-alive") ||
           http_token_eq(h->name, h->name_len, "proxy-connection") ||
           http_token_eq(h->name, h->name_len, "te") ||
           http_token_eq(h->name, h->name_len, "upgrade");
}

/* True when the Connection field names this field (making it hop-by-hop). */
static int named_by_connection(const struct http_header *fields, size_t n,
                               const struct http_header *h)
{
    char name[128];
    if (h->name_len >= sizeof(name))
        return 0;
    memcpy(name, h->name, h->name_len);
    name[h->name_len] = '\0';
    return http_fields_has_token(fields, n, "connection", name);
}

/* The request head as the server gets it: hop-by-hop fields replaced by
 * "Connection: close" (or the upgrade), X-Forwarded-For/-Proto added. */
static struct rbuf *build_request_head(struct stream *s, struct txn *t,
                                       const struct http_request *req)
{
    struct proxy *fe = stream_frontend(s);
    struct strbuf sb = STRBUF_INIT;
    strbuf_printf(&sb, "%.*s %.*s HTTP/1.%d\r\n", (int)req->method_len, req->method,
                  (int)req->target_len, req->target, req->minor_version);
    for (size_t i = 0; i < req->num_headers; i++) {
        const struct http_header *h = &req->headers[i];
        int keep_upgrade = t->upgrade && http_token_eq(h->name, h->name_len, "upgrade");
        if (!keep_upgrade && (hop_by_hop(h) || named_by_connection(req->headers, req->num_headers, h)))
            continue;
        if (http_token_eq(h->name, h->name_len, "x-forwarded-proto"))
            continue; /* it always reflects the bind, whatever the client says */
        if (persist_request_field(fe->backend, h, &sb))
            continue;
        strbuf_printf(&sb, "%.*s: %.*s\r\n", (int)h->name_len, h->name, (int)h->value_len, h->value);
    }
    strbuf_printf(&sb, "Connection: %s\r\n", t->upgrade ? "Upgrade" : "close");
    if (fe->forwardfor || fe->backend->forwardfor) {
        char ip[64];
        stream_client_ip(s, ip, sizeof(ip));
        strbuf_printf(&sb, "X-Forwarded-For: %s\r\n", ip);
    }
    strbuf_printf(&sb, "X-Forwarded-Proto: %s\r\n\r\n",
                  stream_listener(s)->tls ? "https" : "http");
    struct rbuf *b = rbuf_from(&sb);
    strbuf_free(&sb);
    return b;
}

/* The key a hashing backend balances on, hashed into t->hash when present. */
static void hash_request(struct stream *s, struct txn *t, const struct http_request *req,
                         const struct proxy *be)
{
    const char *key = NULL;
    size_t len = 0;
    uint8_t client[16];
    switch (be->balance) {
    case BALANCE_SOURCE:
        stream_client_addr(s, client);
        key = (const char *)client;
        len = sizeof(client);
        break;
    case BALANCE_URI: {
        const char *q = be->hash_uri_whole ? NULL : memchr(req->target, '?', req->target_len);
        key = req->target;
        len = q ? (size_t)(q - req->target) : req->target_len;
        break;
    }
    case BALANCE_URL_PARAM:
        if (!balance_url_param(req->target, req->target_len, be->hash_key_name, &key, &len))
            key = NULL;
        break;
    case BALANCE_HDR: {
        const struct http_header *h = http_header_find(req, be->hash_key_name);
        if (h) {
            key = h->value;
            len = h->value_len;
        }
        break;
    }
    default:
        break;
    }
    t->has_hash = key != NULL;
    if (key)
        t->hash = balance_hash(key, len);
}

/* A complete request head of r bytes is at the front of t->req. */
static void process_request(struct lb *lb, struct stream *s, struct http_request *req, ssize_t r)
{
    struct txn *t = s->u.txn;
    s->timers[TIMER_TQ] = lb_now_ms(lb) - s->t_start;
    snprintf(t->request_line, sizeof(t->request_line), "%.*s %.*s HTTP/1.%d",
             (int)req->method_len, req->method, (int)req->target_len, req->target,
             req->minor_version);

    struct http_framing framing;
    if (http_request_check(req, &framing) != 0) {
        log_debug("%s: 400: %s", stream_frontend(s)->name, req->error);
        txn_reply(lb, s, 400, "PR");
        return;
    }
    t->head_request = http_method_is(req, "HEAD");
    if (stats_http_serve(lb, s, req))
        return;
    t->upgrade = http_header_has_token(req, "upgrade", "websocket") &&
                 http_header_has_token(req, "connection", "upgrade");
    struct proxy *fe = stream_frontend(s);
    if (fe->redirect_https && !stream_listener(s)->tls && !t->upgrade) {
        /* "redirect scheme https": the same URL over https (WebSocket upgrades,
         * which may not follow redirects, are served). */
        const struct http_header *host = http_header_find(req, "host");
        if (host == NULL) { /* HTTP/1.0 may omit it: nowhere to send the client */
            txn_reply(lb, s, 400, "PR");
            return;
        }
        char location[600];
        snprintf(location, sizeof(location), "Location: https://%.*s%.*s\r\n",
                 (int)host->value_len, host->value, (int)req->target_len, req->target);
        reply(lb, s, fe->redirect_https, "LR", location);
        return;
    }
    if (t->upgrade && (framing.chunked || framing.content_length > 0)) {
        log_debug("%s: 400: WebSocket upgrade with a body", stream_frontend(s)->name);
        txn_reply(lb, s, 400, "PR");
        return;
    }
    if (t->upgrade) {
        const struct http_header *key = http_header_find(req, "sec-websocket-key");
        if (key && key->value_len == WS_KEY_LEN && http_header_count(req, "sec-websocket-key") == 1)
            ws_handshake_accept(key->value, t->ws_accept); /* else no 101 is valid */
    }
    if (balance_hashes(fe->backend))
        hash_request(s, t, req, fe->backend);
    persist_request(lb, t, fe->backend, req);
    t->keepalive = req->minor_version == 1 && !http_header_has_token(req, "connection", "close");
    http_body_init(&t->req_body, &framing);
    t->to_srv = build_request_head(s, t, req);
    if (t->to_srv == NULL) {
        txn_reply(lb, s, 500, "RR");
        return;
    }
    pbuf_consume(t->req, (uint32_t)r);
    t->req_fwd = 0;
    stream_watch(lb, s, 0, 0);
    connect_assign(lb, s);
}

/* Parses what t->req holds; acts once a head is complete or refused. */
static void parse_request(struct lb *lb, struct stream *s)
{
    struct txn *t = s->u.txn;
    struct http_header headers[TXN_MAX_HEADERS];
    struct http_request req = { .headers = headers, .max_headers = TXN_MAX_HEADERS };
    ssize_t r = http_parse_request((const char *)t->req->data + t->req->head, pbuf_len(t->req), &req);
    if (r == HTTP_INCOMPLETE) {
        if (pbuf_len(t->req) >= t->req->size) {
            log_debug("%s: 431: request head over %u bytes", stream_frontend(s)->name, t->req->size);
            txn_reply(lb, s, 431, "PR");
        }
        return;
    }
    if (r == HTTP_BAD_REQUEST || r == HTTP_TOO_MANY_HEADERS) {
        log_debug("%s: %d: %s", stream_frontend(s)->name, r == HTTP_BAD_REQUEST ? 400 : 431, req.error);
        txn_reply(lb, s, r == HTTP_BAD_REQUEST ? 400 : 431, "PR");
        return;
    }
    ctr_add(&lb_ctr(lb, stream_frontend(s)->fe_obj)->req_tot, 1);
    process_request(lb, s, &req, r);
}

/* The first byte of a kept-alive connection's next request is here: its
 * time starts now and it gets the http-request timeout. */
static void next_request_arrives(struct lb *lb, struct stream *s)
{
    s->flags &= (uint8_t)~SF_KA_WAIT;
    s->t_start = lb_now_ms(lb);
    stream_set_timeout(lb, s, to_http_request(stream_frontend(s)));
}

static void read_request(struct lb *lb, struct stream *s)
{
    struct txn *t = txn_get(lb, s);
    if (t == NULL || (t->req == NULL && (t->req = pbuf_get(&lb->pool)) == NULL)) {
        stream_close(lb, s, "RR");
        return;
    }
    int first = pbuf_len(t->req) == 0;
    ssize_t n = recv_into(lb, s->cli.fd, t->req);
    if (n == IO_AGAIN && pbuf_room(t->req) == 0) {
        txn_reply(lb, s, 431, "PR");
        return;
    }
    /* A TLS handshake may have to write before it can read on. */
    stream_watch(lb, s, n == IO_WANT_WRITE ? EV_WRITE : EV_READ, 0);
    if (n == IO_AGAIN || n == IO_WANT_WRITE)
        return;
    if (n == 0 || n == IO_ERROR) {
        /* Closing between requests is normal; within one, an abort. */
        stream_close(lb, s, first ? NULL : "CR");
        return;
    }
    if (first && (s->flags & SF_KA_WAIT))
        next_request_arrives(lb, s);
    stream_count_in(lb, s, (uint64_t)n);
    parse_request(lb, s);
}

/* Waits for a request: the first of a connection (http-request timeout
 * from the accept), or the next of a kept-alive one (keep-alive timeout
 * until its first byte). */
static void begin_request(struct lb *lb, struct stream *s, int kept_alive)
{
    struct proxy *fe = stream_frontend(s);
    s->state = ST_REQ;
    stream_set_server(s, NULL);
    s->t_start = lb_now_ms(lb);
    s->bytes_in = s->bytes_out = 0;
    for (int i = 0; i < NTIMERS; i++)
        s->timers[i] = STREAM_TIMER_UNSET;
    if (kept_alive) {
        s->flags |= SF_KA_WAIT;
        stream_set_timeout(lb, s, to_keep_alive(fe));
    } else {
        stream_set_timeout(lb, s, to_http_request(fe));
    }
    stream_watch(lb, s, EV_READ, 0);
}

void txn_start(struct lb *lb, struct stream *s)
{
    begin_request(lb, s, 0);
}

/* The transaction is over and logged: the server goes; the client stays for
 * the next request (already waiting in the buffer, perhaps) or goes too. */
static void txn_complete(struct lb *lb, struct stream *s)
{
    struct txn *t = s->u.txn;
    httplog_emit(lb, s, "--");
    if (s->srv.fd >= 0) {
        ev_io_stop(lb->loop, &s->srv);
        io_close(lb, s->srv.fd);
        s->srv.fd = -1;
    }
    connect_release(lb, s);
    if (!t->keepalive || (s->flags & SF_CLI_EOF) || lb->draining) {
        stream_close(lb, s, NULL);
        return;
    }
    struct pbuf *pipelined = t->req;
    t->req = NULL;
    txn_free(lb, t);
    s->u.txn = NULL;
    s->flags &= (uint8_t)~(SF_SRV_EOF | SF_SRV_SHUT);
    if (pipelined && pbuf_len(pipelined) == 0) {
        pbuf_put(&lb->pool, pipelined);
        pipelined = NULL;
    }
    begin_request(lb, s, 1);
    if (pipelined == NULL)
        return;
    t = txn_get(lb, s);
    if (t == NULL) {
        pbuf_put(&lb->pool, pipelined);
        stream_close(lb, s, "RR");
        return;
    }
    t->req = pipelined;
    next_request_arrives(lb, s);
    parse_request(lb, s);
}

/* ---- the response -------------------------------------------------------- */

/* The response head as the client gets it: hop-by-hop fields dropped
 * (except in a 101, whose Connection and Upgrade complete the handshake),
 * the persistence cookie's fields added. */
static struct rbuf *build_response_head(struct lb *lb, struct stream *s, struct txn *t,
                                        const struct http_response *rsp)
{
    struct server *srv = stream_server(s);
    struct strbuf sb = STRBUF_INIT;
    strbuf_printf(&sb, "HTTP/1.1 %d %.*s\r\n", rsp->status, (int)rsp->reason_len, rsp->reason);
    for (size_t i = 0; i < rsp->num_headers; i++) {
        const struct http_header *h = &rsp->headers[i];
        if (rsp->status != 101 &&
            (hop_by_hop(h) || named_by_connection(rsp->headers, rsp->num_headers, h)))
            continue;
        if (persist_response_field(t, srv, h))
            continue;
        strbuf_printf(&sb, "%.*s: %.*s\r\n", (int)h->name_len, h->name, (int)h->value_len, h->value);
    }
    persist_response_fields(lb, t, srv, rsp, &sb);
    if (!t->keepalive && rsp->status != 101)
        strbuf_printf(&sb, "Connection: close\r\n");
    strbuf_printf(&sb, "\r\n");
    struct rbuf *b = rbuf_from(&sb);
    strbuf_free(&sb);
    return b;
}

/* A 101 is only believed when it completes the client's WebSocket handshake:
 * Upgrade: websocket and the Sec-WebSocket-Accept its key calls for. Anything
 * else could smuggle a raw tunnel past the proxy. */
static int valid_switch(const struct txn *t, const struct http_response *rsp)
{
    if (!t->upgrade || t->ws_accept[0] == '\0')
        return 0;
    if (!http_fields_has_token(rsp->headers, rsp->num_headers, "upgrade", "websocket"))
        return 0;
    const struct http_header *accept =
        http_fields_find(rsp->headers, rsp->num_headers, "sec-websocket-accept");
    return accept && accept->value_len == WS_ACCEPT_LEN &&
           memcmp(accept->value, t->ws_accept, WS_ACCEPT_LEN) == 0 &&
           http_fields_count(rsp->headers, rsp->num_headers, "sec-websocket-accept") == 1;
}

/* Parses the response head in t->rsp. Returns 1 when the stream left the
 * HTTP phase (tunnel, an answer of our own), else 0. */
static int process_response(struct lb *lb, struct stream *s)
{
    struct txn *t = s->u.txn;
    struct http_header headers[TXN_MAX_HEADERS];
    struct http_response rsp = { .headers = headers, .max_headers = TXN_MAX_HEADERS };
    ssize_t r = http_parse_response((const char *)t->rsp->data + t->rsp->head, pbuf_len(t->rsp), &rsp);
    if (r == HTTP_INCOMPLETE) {
        if (pbuf_len(t->rsp) < t->rsp->size)
            return 0;
        rsp.error = "response head too large";
    }
    if (r < 0) {
        log_warn("%s/%s: invalid response: %s", stream_server(s)->be->name,
                 stream_server(s)->name, rsp.error);
        txn_reply(lb, s, 502, "PH");
        return 1;
    }
    uint32_t now = lb_now_ms(lb) - s->t_start;
    if (rsp.status == 101) {
        if (!valid_switch(t, &rsp) || t->to_srv || !http_body_done(&t->req_body)) {
            log_warn("%s/%s: refused a 101 that does not complete the client's WebSocket handshake",
                     stream_server(s)->be->name, stream_server(s)->name);
            txn_reply(lb, s, 502, "PH");
            return 1;
        }
        s->timers[TIMER_TR] = now - s->timers[TIMER_TQ] - s->timers[TIMER_TW] - s->timers[TIMER_TC];
        t->status = 101;
        count_response(lb, s, 101, 1);
        /* The 101 and whatever followed it go to the client as they came,
         * but for a persistence cookie's Set-Cookie. */
        struct rbuf *head = NULL;
        if (stream_server(s)->be->ck.name) {
            if ((head = build_response_head(lb, s, t, &rsp)) == NULL) {
                txn_reply(lb, s, 500, "RH");
                return 1;
            }
            pbuf_consume(t->rsp, (uint32_t)r);
        }
        struct pbuf *to_cli = t->rsp, *to_srv = t->req;
        t->rsp = t->req = NULL;
        tunnel_start(lb, s, head, to_cli, to_srv);
        return 1;
    }
    if (rsp.status < 200) {
        /* Interim (100 Continue, 103): passed on as is; the final one follows. */
        struct rbuf *b = rbuf_new((size_t)r);
        if (b == NULL) {
            txn_reply(lb, s, 500, "RH");
            return 1;
        }
        memcpy(b->data, t->rsp->data + t->rsp->head, (size_t)r);
        t->to_cli = b;
        pbuf_consume(t->rsp, (uint32_t)r);
        return 0;
    }

    struct http_framing framing;
    if (http_response_framing(&rsp, t->head_request, &framing) != 0) {
        log_warn("%s/%s: invalid response: %s", stream_server(s)->be->name,
                 stream_server(s)->name, rsp.error);
        txn_reply(lb, s, 502, "PH");
        return 1;
    }
    s->timers[TIMER_TR] = now - s->timers[TIMER_TQ] - s->timers[TIMER_TW] - s->timers[TIMER_TC];
    t->status = (uint16_t)rsp.status;
    count_response(lb, s, rsp.status, 1);
    if (framing.until_close)
        t->keepalive = 0;
    http_body_init(&t->rsp_body, &framing);
    t->to_cli = build_response_head(lb, s, t, &rsp);
    if (t->to_cli == NULL) {
        txn_reply(lb, s, 500, "RH");
        return 1;
    }
    pbuf_consume(t->rsp, (uint32_t)r);
    t->rsp_fwd = 0;
    t->rsp_head_done = 1;
    stream_set_timeout(lb, s, to_data(stream_frontend(s), stream_server(s)->be));
    return 0;
}

/* ---- the HTTP phase's pump ----------------------------------------------- */

/* Classifies new bytes of a buffer as body (may be forwarded) or not. */
static int classify(struct http_body *body, struct pbuf *b, uint32_t *fwd)
{
    if (b == NULL || http_body_done(body))
        return 0;
    uint32_t fresh = pbuf_len(b) - *fwd;
    if (fresh == 0)
        return 0;
    int done;
    ssize_t n = http_body_feed(body, b->data + b->head + *fwd, fresh, &done);
    if (n < 0)
        return -1;
    *fwd += (uint32_t)n;
    return 0;
}

static int request_sent(const struct txn *t)
{
    return t->to_srv == NULL && t->req_fwd == 0 && http_body_done(&t->req_body);
}

static int response_sent(const struct stream *s, const struct txn *t)
{
    if (!t->rsp_head_done || t->to_cli || t->rsp_fwd > 0)
        return 0;
    if (t->rsp_body.kind == HTTP_BODY_CLOSE)
        return (s->flags & SF_SRV_EOF) && (t->rsp == NULL || pbuf_len(t->rsp) == 0);
    return http_body_done(&t->rsp_body);
}

static void http_pump(struct lb *lb, struct stream *s, int cli_revents, int srv_revents)
{
    struct txn *t = s->u.txn;
    int moved = 0;

    if (srv_revents & EV_READ) {
        if (t->rsp == NULL && (t->rsp = pbuf_get(&lb->pool)) == NULL) {
            stream_close(lb, s, "RD");
            return;
        }
        ssize_t n = recv_into(lb, s->srv.fd, t->rsp);
        if (n > 0)
            moved = 1;
        else if (n == 0)
            s->flags |= SF_SRV_EOF;
        else if (n == IO_ERROR) {
            txn_reply(lb, s, 502, t->rsp_head_done ? "SD" : "SH");
            return;
        }
    }
    if (cli_revents & EV_READ) {
        if (t->req == NULL && (t->req = pbuf_get(&lb->pool)) == NULL) {
            stream_close(lb, s, "RD");
            return;
        }
        ssize_t n = recv_into(lb, s->cli.fd, t->req);
        if (n > 0) {
            stream_count_in(lb, s, (uint64_t)n);
            moved = 1;
        } else if (n == 0 || n == IO_ERROR) {
            s->flags |= SF_CLI_EOF;
        }
    }

    for (int progress = 1; progress;) {
        progress = 0;
        if (classify(&t->req_body, t->req, &t->req_fwd) != 0) {
            stream_close(lb, s, "PD"); /* malformed chunked request body */
            return;
        }
        size_t before = (t->to_srv ? t->to_srv->len - t->to_srv_off : 0) + t->req_fwd;
        if (send_rbuf(lb, s->srv.fd, &t->to_srv, &t->to_srv_off, NULL) != 0 ||
            (t->to_srv == NULL && t->req && send_pbuf(lb, s->srv.fd, t->req, &t->req_fwd, NULL) != 0)) {
            txn_reply(lb, s, 502, "SD");
            return;
        }
        if ((t->to_srv ? t->to_srv->len - t->to_srv_off : 0) + t->req_fwd < before)
            progress = moved = 1;

        if (!t->rsp_head_done && t->to_cli == NULL && t->rsp && pbuf_len(t->rsp) > 0) {
            if (process_response(lb, s))
                return;
            if (t->to_cli)
                progress = 1;
        }
        if (t->rsp_head_done && classify(&t->rsp_body, t->rsp, &t->rsp_fwd) != 0) {
            stream_close(lb, s, "SD"); /* malformed chunked response body */
            return;
        }
        before = (t->to_cli ? t->to_cli->len - t->to_cli_off : 0) + t->rsp_fwd;
        if (send_rbuf(lb, s->cli.fd, &t->to_cli, &t->to_cli_off, s) != 0 ||
            (t->to_cli == NULL && t->rsp && t->rsp_head_done &&
             send_pbuf(lb, s->cli.fd, t->rsp, &t->rsp_fwd, s) != 0)) {
            stream_close(lb, s, "CD");
            return;
        }
        if ((t->to_cli ? t->to_cli->len - t->to_cli_off : 0) + t->rsp_fwd < before)
            progress = moved = 1;
    }

    if (s->flags & SF_SRV_EOF) {
        if (!t->rsp_head_done) {
            txn_reply(lb, s, 502, "SH");
            return;
        }
        if (t->rsp_body.kind != HTTP_BODY_CLOSE && !http_body_done(&t->rsp_body)) {
            stream_close(lb, s, "SD");
            return;
        }
    }
    if (s->flags & SF_CLI_EOF) {
        if (!http_body_done(&t->req_body)) {
            stream_close(lb, s, "CD");
            return;
        }
        t->keepalive = 0;
    }
    if (response_sent(s, t)) {
        if (!request_sent(t))
            t->keepalive = 0; /* the server answered before reading it all */
        txn_complete(lb, s);
        return;
    }

    int cli = 0, srv = 0;
    if (!(s->flags & SF_CLI_EOF) && !http_body_done(&t->req_body) &&
        (t->req == NULL || pbuf_room(t->req) > 0))
        cli |= EV_READ;
    if (t->to_cli || t->rsp_fwd > 0)
        cli |= EV_WRITE;
    if (!(s->flags & SF_SRV_EOF) && (t->rsp == NULL || pbuf_room(t->rsp) > 0))
        srv |= EV_READ;
    if (t->to_srv || t->req_fwd > 0)
        srv |= EV_WRITE;
    stream_watch(lb, s, cli, srv);
    if (moved)
        timeq_touch(&s->tq);
}

void txn_server_connected(struct lb *lb, struct stream *s)
{
    struct server *srv = stream_server(s);
    ctr_add(&lb_ctr(lb, srv->obj)->req_tot, 1);
    ctr_add(&lb_ctr(lb, srv->be->be_obj)->req_tot, 1);
    /* What the client sent of this request before it had a server (the
     * client is not read while queued or connecting) counts for it now. */
    ctr_add(&lb_ctr(lb, srv->obj)->bytes_in, s->bytes_in);
    ctr_add(&lb_ctr(lb, srv->be->be_obj)->bytes_in, s->bytes_in);
    s->state = ST_HTTP;
    stream_set_timeout(lb, s, stream_server(s)->be->to.server);
    http_pump(lb, s, 0, EV_WRITE);
}

void txn_io(struct lb *lb, struct stream *s, int cli_revents, int srv_revents)
{
    switch (s->state) {
    case ST_REQ:
        if (cli_revents & (EV_READ | EV_WRITE))
            read_request(lb, s);
        break;
    case ST_HTTP:
        http_pump(lb, s, cli_revents, srv_revents);
        break;
    case ST_REPLY:
        reply_io(lb, s, cli_revents);
        break;
    default:
        break;
    }
}
