/* session.c — see session.h. */
#include "session.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../shared/log.h"
#include "../shared/strbuf.h"
#include "../shared/ws-handshake.h"
#include "backend.h"
#include "chat-proto.h"
#include "chat-v1.h"
#include "chat.h"
#include "hub.h"
#include "status.h"

#define SF_ON_FLUSH_LIST 0x01 /* on backend.flush_list */
#define SF_WRITE_ARMED 0x02   /* the socket was full: watching for EV_WRITE */
#define SF_PING_SENT 0x04     /* a ping is out and nothing came back yet */
#define SF_SHUT_WR 0x08       /* our FIN is sent */
#define SF_PEER_EOF 0x10      /* the peer's FIN arrived */
#define SF_WS 0x20            /* in.ws is in use (else in.head) */
#define SF_IN_HUB 0x40        /* a hub member: receives chat traffic */
#define SF_READ_WANTS_WRITE 0x80 /* TLS must write before it can read on */

/* How many reads one readiness event may do before yielding to others. */
#define READS_PER_EVENT 4

static struct session *session_of(struct timeq_entry *e)
{
    return (struct session *)(void *)((char *)e - offsetof(struct session, tq));
}

/* Makes the io watcher match the session's wants: read until the peer's FIN,
 * write while the socket is full. */
static void session_watch(struct session *s)
{
    int events = 0;
    if (!(s->flags & SF_PEER_EOF))
        events |= EV_READ;
    if (s->flags & (SF_WRITE_ARMED | SF_READ_WANTS_WRITE))
        events |= EV_WRITE;
    if (ev_is_active(&s->io) && (s->io.events & (EV_READ | EV_WRITE)) == events)
        return;
    ev_io_stop(s->be->loop, &s->io);
    ev_io_set(&s->io, s->fd, events);
    if (events)
        ev_io_start(s->be->loop, &s->io);
}

static void schedule_flush(struct session *s)
{
    if (s->flags & SF_ON_FLUSH_LIST)
        return;
    s->flags |= SF_ON_FLUSH_LIST;
    s->flush_next = s->be->flush_list;
    s->be->flush_list = s;
    s->be->flush_count++;
}

/* Queues bytes that are not chat traffic (handshake answers, control
 * frames); the caller decides whether --max-output applies. Takes a new
 * reference to b. */
static void queue_raw(struct session *s, struct rbuf *b)
{
    if (b == NULL || outq_push(&s->out, &s->be->outq_pool, b) != 0) {
        session_kill(s, "out of memory");
        return;
    }
    schedule_flush(s);
}

/* Same, for a buffer made only for this session: the reference moves in. */
static void queue_own(struct session *s, struct rbuf *b)
{
    queue_raw(s, b);
    if (b)
        rbuf_unref(b);
}

struct rbuf *session_frame(int opcode, const void *a, size_t alen, const void *b, size_t blen)
{
    uint8_t hdr[WS_MAX_HEADER];
    size_t hlen = ws_frame_header(hdr, 1, opcode, alen + blen, NULL);
    struct rbuf *f = rbuf_new(hlen + alen + blen);
    if (f == NULL)
        return NULL;
    memcpy(f->data, hdr, hlen);
    if (alen)
        memcpy(f->data + hlen, a, alen);
    if (blen)
        memcpy(f->data + hlen + alen, b, blen);
    return f;
}

static void send_close_frame(struct session *s, unsigned code, const char *reason)
{
    uint8_t payload[WS_MAX_CONTROL_PAYLOAD];
    size_t n = ws_close_payload(payload, code, reason);
    if (code >= 1000 && code < 1016)
        s->be->stats.closes_sent[code - 1000]++;
    queue_own(s, session_frame(WS_OP_CLOSE, payload, n, NULL, 0));
}

/* Leaves the chat: no more traffic is queued to this session. */
static void leave_open(struct session *s)
{
    if (s->flags & SF_IN_HUB) {
        hub_remove(s->v1 ? &s->be->chat_hub : &s->be->hub, s);
        s->flags &= (uint8_t)~SF_IN_HUB;
    }
    chat_v1_close(s);
}

/* Sends what is queued, then FIN, then waits for the peer's FIN. */
static void session_finish(struct session *s)
{
    leave_open(s);
    s->state = SESSION_FINISHING;
    timeq_add(&s->be->finish_q, &s->tq);
    schedule_flush(s);
}

void session_kill(struct session *s, const char *why)
{
    struct backend *be = s->be;
    if (s->state == SESSION_DEAD)
        return;
    if (why)
        log_debug("client fd=%d: closed: %s", s->fd, why);
    leave_open(s);
    ev_io_stop(be->loop, &s->io);
    if (s->tls) {
        tls_free(s->tls);
        s->tls = NULL;
    }
    close(s->fd);
    s->fd = -1;
    timeq_remove(&s->tq);
    s->state = SESSION_DEAD;
    s->hub_next = be->dead_list;
    be->dead_list = s;
}

void session_kill_queue(struct timeq *q, const char *why)
{
    while (q->count > 0)
        session_kill(session_of(q->head.next), why);
}

/* Writes queued bytes through TLS, one buffer at a time. Returns 0 when the
 * queue is empty or the connection cannot take more now, -1 when broken. */
static int flush_tls(struct session *s)
{
    const uint8_t *p;
    size_t len;
    while ((len = outq_peek(&s->out, &p)) > 0) {
        ssize_t n = tls_write(s->tls, p, len);
        if (n == TLS_WANT_READ || n == TLS_WANT_WRITE)
            return 0;
        if (n < 0)
            return -1;
        outq_consume(&s->out, &s->be->outq_pool, (size_t)n);
        s->be->stats.bytes_out += (uint64_t)n;
    }
    return 0;
}

static void session_flush(struct session *s)
{
    struct backend *be = s->be;
    if (s->tls) {
        if (flush_tls(s) != 0) {
            session_kill(s, "TLS write failed");
            return;
        }
    }
    while (!s->tls && s->out.head) {
        size_t attempted;
        ssize_t n = outq_write(&s->out, &be->outq_pool, s->fd, &attempted);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            session_kill(s, strerror(errno));
            return;
        }
        be->stats.bytes_out += (uint64_t)n;
        if ((size_t)n < attempted)
            break;
    }
    if (s->out.head) {
        s->flags |= SF_WRITE_ARMED;
        session_watch(s);
        return;
    }
    if (s->flags & SF_WRITE_ARMED) {
        s->flags &= (uint8_t)~SF_WRITE_ARMED;
        session_watch(s);
    }
    if (s->state == SESSION_FINISHING && !(s->flags & SF_SHUT_WR)) {
        if (s->tls)
            tls_close_notify(s->tls);
        shutdown(s->fd, SHUT_WR);
        s->flags |= SF_SHUT_WR;
        if (s->flags & SF_PEER_EOF)
            session_kill(s, NULL);
    }
}

void session_flush_pending(struct backend *be)
{
    struct session *s = be->flush_list;
    be->flush_list = NULL;
    be->flush_count = 0;
    while (s) {
        struct session *next = s->flush_next;
        s->flags &= (uint8_t)~SF_ON_FLUSH_LIST;
        if (s->state != SESSION_DEAD)
            session_flush(s);
        s = next;
    }
}

void session_free_dead(struct backend *be)
{
    while (be->dead_list) {
        struct session *s = be->dead_list;
        be->dead_list = s->hub_next;
        outq_clear(&s->out, &be->outq_pool);
        if (s->flags & SF_WS)
            ws_reader_free(&s->in.ws);
        else
            free(s->in.head.buf);
        free(s);
        be->nsessions--;
    }
}

/* Closes an open session whose unsent output went over --max-output.
 * Whatever it has not started receiving is dropped; a frame it has started
 * must still be finished for the close frame to parse. Returns 1 if closed. */
static int close_if_slow(struct session *s)
{
    struct backend *be = s->be;
    if (s->state != SESSION_OPEN || s->out.bytes <= be->opt->max_output)
        return 0;
    be->stats.slow_consumer_closes++;
    log_info("client fd=%d: closed as a slow consumer (%zu bytes unsent)", s->fd, s->out.bytes);
    outq_drop_unsent(&s->out, &be->outq_pool);
    session_close(s, WS_CLOSE_POLICY, "slow consumer");
    return 1;
}

int session_send(struct session *s, struct rbuf *frame)
{
    struct backend *be = s->be;
    if (s->state != SESSION_OPEN)
        return -1;
    if (outq_push(&s->out, &be->outq_pool, frame) != 0) {
        session_kill(s, "out of memory");
        return -1;
    }
    be->stats.messages_out++;
    if (close_if_slow(s))
        return -1;
    schedule_flush(s);
    return 0;
}

void session_close(struct session *s, unsigned code, const char *reason)
{
    if (s->state != SESSION_OPEN)
        return;
    leave_open(s);
    send_close_frame(s, code, reason);
    if (s->state == SESSION_DEAD)
        return;
    s->state = SESSION_CLOSING;
    timeq_add(&s->be->closing_q, &s->tq);
}

void session_respond(struct session *s, int status, const char *content_type,
                     const char *extra_headers, const char *body, size_t body_len, int head_only)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_printf(&sb,
                  "HTTP/1.1 %d %s\r\n"
                  "Content-Type: %s\r\n"
                  "Content-Length: %zu\r\n"
                  "Cache-Control: no-store\r\n"
                  "Connection: close\r\n"
                  "%s\r\n",
                  status, http_status_reason(status), content_type, body_len, extra_headers);
    if (!head_only)
        strbuf_append(&sb, body, body_len);
    struct rbuf *b = sb.failed ? NULL : rbuf_new(sb.len);
    if (b)
        memcpy(b->data, sb.data, sb.len);
    strbuf_free(&sb);
    if (s->state == SESSION_OPEN || s->state == SESSION_HANDSHAKE)
        session_finish(s);
    queue_own(s, b);
}

static void respond_error(struct session *s, int status, const char *why, const char *extra)
{
    static const int counted[] = { 400, 403, 404, 426, 431 };
    size_t i = 0;
    while (i < 5 && counted[i] != status)
        i++;
    s->be->stats.handshake_errors[i]++;
    log_debug("client fd=%d: %d %s", s->fd, status, why);

    char body[256];
    int n = snprintf(body, sizeof(body), "%s\n", why);
    session_respond(s, status, "text/plain; charset=utf-8", extra, body, (size_t)n, 0);
}

static void ws_input(struct session *s, uint8_t *buf, size_t len);

/* Completes the opening handshake: 101, then the chat greeting (or, with
 * v1, protocol wscale.chat.v1's hello). */
static void session_upgrade(struct session *s, const char *key, int v1)
{
    struct backend *be = s->be;
    char accept[WS_ACCEPT_LEN + 1];
    char resp[256];
    ws_handshake_accept(key, accept);
    int n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n"
                     "%s"
                     "\r\n",
                     accept, v1 ? "Sec-WebSocket-Protocol: " CHAT_PROTOCOL "\r\n" : "");
    struct rbuf *b = rbuf_new((size_t)n);
    if (b)
        memcpy(b->data, resp, (size_t)n);
    queue_own(s, b);
    if (s->state == SESSION_DEAD)
        return;

    s->flags |= SF_WS;
    ws_reader_init(&s->in.ws, &be->ws_config);
    s->state = SESSION_OPEN;
    timeq_add(&be->open_q, &s->tq);
    be->stats.websockets_total++;
    if (v1 && chat_v1_open(s) != 0) {
        session_kill(s, "out of memory");
        return;
    }
    hub_add(s->v1 ? &be->chat_hub : &be->hub, s);
    s->flags |= SF_IN_HUB;
    chat_on_open(s);
}

/* A complete request head: upgrade, or plain HTTP. rest holds the bytes
 * that followed the head in the same reads. */
static void handle_request(struct session *s, struct http_request *req, uint8_t *rest,
                           size_t rest_len)
{
    if (!ws_handshake_requested(req)) {
        struct http_framing framing;
        if (http_request_check(req, &framing) != 0)
            respond_error(s, 400, req->error, "");
        else
            status_serve(s, req);
        return;
    }
    struct ws_handshake hs;
    const char *why;
    int status = ws_handshake_check(req, &hs, &why);
    if (status != 0) {
        respond_error(s, status, why, status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "");
        return;
    }
    if (hs.origin && !backend_origin_allowed(s->be->opt, hs.origin, hs.origin_len)) {
        respond_error(s, 403, "origin not allowed", "");
        return;
    }
    /* The tutorial protocol stays the default; v1 needs Redis. */
    int v1 = !s->be->opt->echo && ws_handshake_offers_protocol(req, CHAT_PROTOCOL);
    session_upgrade(s, hs.key, v1);
    if (rest_len > 0 && s->state == SESSION_OPEN)
        ws_input(s, rest, rest_len);
}

static void handshake_input(struct session *s, uint8_t *data, size_t n)
{
    /* The head is parsed where it lies: in the shared read buffer when it came
     * in one read (the usual case), else in the session's own copy. */
    char *owned = s->in.head.buf;
    char *head = (char *)data;
    size_t len = n;
    if (owned) {
        char *grown = realloc(owned, s->in.head.len + n);
        if (grown == NULL) {
            session_kill(s, "out of memory");
            return;
        }
        memcpy(grown + s->in.head.len, data, n);
        owned = s->in.head.buf = grown;
        head = grown;
        len = s->in.head.len += n;
    }

    struct http_header headers[BACKEND_MAX_HEADERS];
    struct http_request req = { .headers = headers, .max_headers = BACKEND_MAX_HEADERS };
    ssize_t r = http_parse_request(head, len, &req);
    if (r == HTTP_INCOMPLETE && len < BACKEND_MAX_HEAD) {
        if (owned == NULL) {
            if ((owned = malloc(len)) == NULL) {
                session_kill(s, "out of memory");
                return;
            }
            memcpy(owned, head, len);
            s->in.head.buf = owned;
            s->in.head.len = len;
        }
        return;
    }

    /* The head is complete or refused: the copy goes once this is handled
     * (the union it lives in becomes the WebSocket reader). */
    s->in.head.buf = NULL;
    s->in.head.len = 0;
    if (r == HTTP_BAD_REQUEST)
        respond_error(s, 400, req.error, "");
    else if (r == HTTP_INCOMPLETE || r == HTTP_TOO_MANY_HEADERS || r > BACKEND_MAX_HEAD)
        respond_error(s, 431, "request head too large", "");
    else
        handle_request(s, &req, (uint8_t *)head + r, len - (size_t)r);
    free(owned);
}

/* Bytes of an open (or closing) WebSocket. */
static void ws_input(struct session *s, uint8_t *buf, size_t len)
{
    size_t off = 0;
    while (off < len && (s->state == SESSION_OPEN || s->state == SESSION_CLOSING)) {
        struct ws_event ev;
        off += ws_reader_feed(&s->in.ws, buf + off, len - off, &ev);
        int open = s->state == SESSION_OPEN;
        switch (ev.type) {
        case WS_EV_NONE:
        case WS_EV_PONG:
            break;
        case WS_EV_MESSAGE:
            if (open) {
                s->be->stats.messages_in++;
                chat_on_message(s, ev.opcode, ev.data, ev.len);
            }
            break;
        case WS_EV_PING:
            if (open) {
                /* Pongs count against --max-output: a client that pings
                 * without reading cannot make them pile up. */
                queue_own(s, session_frame(WS_OP_PONG, ev.data, ev.len, NULL, 0));
                close_if_slow(s);
            }
            break;
        case WS_EV_CLOSE:
            if (open) {
                /* Echo the code; a close without one is answered without one. */
                uint8_t payload[2] = { (uint8_t)(ev.close_code >> 8), (uint8_t)ev.close_code };
                size_t n = ev.close_code == WS_CLOSE_NO_STATUS ? 0 : 2;
                queue_own(s, session_frame(WS_OP_CLOSE, payload, n, NULL, 0));
            }
            if (s->state != SESSION_DEAD)
                session_finish(s);
            break;
        case WS_EV_ERROR:
            log_debug("client fd=%d: closing %u: %s", s->fd, ev.close_code, ev.error);
            if (open)
                send_close_frame(s, ev.close_code, ev.error);
            if (s->state != SESSION_DEAD)
                session_finish(s);
            break;
        }
    }
}

static void session_input(struct session *s, uint8_t *buf, size_t len)
{
    switch (s->state) {
    case SESSION_HANDSHAKE:
        handshake_input(s, buf, len);
        break;
    case SESSION_OPEN:
        s->flags &= (uint8_t)~SF_PING_SENT;
        timeq_touch(&s->tq);
        ws_input(s, buf, len);
        break;
    case SESSION_CLOSING:
        ws_input(s, buf, len);
        break;
    default:
        break; /* FINISHING: whatever still arrives is discarded */
    }
}

static void session_peer_eof(struct session *s)
{
    if (s->state == SESSION_FINISHING && s->out.head) {
        s->flags |= SF_PEER_EOF; /* finish sending, then close */
        session_watch(s);
        return;
    }
    session_kill(s, s->state == SESSION_OPEN ? "connection closed without a close frame" : NULL);
}

/* One read, plain or TLS: bytes, 0 at EOF, or -1 with errno (EAGAIN when
 * nothing is there now). */
static ssize_t session_recv(struct session *s, uint8_t *buf, size_t len)
{
    if (s->tls == NULL)
        return recv(s->fd, buf, len, 0);
    ssize_t n = tls_read(s->tls, buf, len);
    if (n >= 0)
        return n;
    errno = n == TLS_FAILED ? ECONNRESET : EAGAIN;
    if (n == TLS_WANT_WRITE && !(s->flags & SF_READ_WANTS_WRITE)) {
        s->flags |= SF_READ_WANTS_WRITE;
        session_watch(s);
    }
    return -1;
}

static void session_read(struct session *s)
{
    struct backend *be = s->be;
    if (s->flags & SF_READ_WANTS_WRITE) {
        s->flags &= (uint8_t)~SF_READ_WANTS_WRITE;
        session_watch(s);
    }
    for (int round = 0; round < READS_PER_EVENT; round++) {
        ssize_t n = session_recv(s, be->scratch, BACKEND_SCRATCH_SIZE);
        if (n > 0) {
            be->stats.bytes_in += (uint64_t)n;
            session_input(s, be->scratch, (size_t)n);
            /* Read on while more is there: a full buffer, or bytes TLS holds
             * decrypted, which no readiness event would announce. */
            if (s->state == SESSION_DEAD ||
                ((size_t)n < BACKEND_SCRATCH_SIZE && !(s->tls && SSL_has_pending(s->tls))))
                return;
            continue;
        }
        if (n == 0) {
            session_peer_eof(s);
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            session_kill(s, strerror(errno));
        return;
    }
}

static void session_io(struct ev_loop *loop, ev_io *w, int revents)
{
    struct session *s = w->data;
    (void)loop;
    int read_waits = s->flags & SF_READ_WANTS_WRITE;
    if (revents & EV_WRITE)
        session_flush(s);
    if (((revents & EV_READ) || ((revents & EV_WRITE) && read_waits)) && s->state != SESSION_DEAD)
        session_read(s);
}

void session_timeout(struct timeq *q, struct timeq_entry *e)
{
    struct session *s = session_of(e);
    switch (s->state) {
    case SESSION_HANDSHAKE:
        s->be->stats.handshake_timeouts++;
        session_kill(s, "no complete request head in time");
        break;
    case SESSION_OPEN:
        if (s->flags & SF_PING_SENT) {
            s->be->stats.ping_timeouts++;
            session_kill(s, "no answer to ping");
            break;
        }
        s->flags |= SF_PING_SENT;
        timeq_add(q, e);
        queue_own(s, session_frame(WS_OP_PING, NULL, 0, NULL, 0));
        break;
    case SESSION_CLOSING:
        session_kill(s, "no close frame from the peer in time");
        break;
    default:
        session_kill(s, NULL);
        break;
    }
}

void session_accept(struct backend *be, int fd)
{
    struct session *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (be->tls && (s->tls = tls_server_ssl(be->tls, fd)) == NULL) {
        close(fd);
        free(s);
        return;
    }
    s->be = be;
    s->fd = fd;
    s->state = SESSION_HANDSHAKE;
    ev_io_init(&s->io, session_io, fd, EV_READ);
    s->io.data = s;
    ev_io_start(be->loop, &s->io);
    timeq_add(&be->handshake_q, &s->tq);
    be->nsessions++;
    be->stats.connections_total++;
}
