/* client.c — see client.h. */
#include "client.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../shared/http.h"
#include "../shared/net.h"
#include "../shared/tls.h"
#include "opts.h"
#include "worker.h"

#define HEAD_MAX 8192
#define IO_WANT_READ (-1)
#define IO_WANT_WRITE (-2)
#define IO_FAILED (-3)

static const struct ws_reader_config reader_config = {
    .max_message = 64u << 20,
    .accept_binary = 1,
    .expect_masked = 0,
};

static void on_io(struct ev_loop *loop, ev_io *io, int revents);

/* Watches the socket for `events`, restarting the watcher only on change. */
static void want(struct client *c, int events)
{
    if (c->io.events == events && ev_is_active(&c->io))
        return;
    ev_io_stop(c->w->loop, &c->io);
    ev_io_set(&c->io, c->fd, events);
    ev_io_start(c->w->loop, &c->io);
}

/* The transport seam (as wrk's): plain TCP and TLS answer the same way. */
static ssize_t io_read(struct client *c, void *buf, size_t len)
{
    if (c->ssl) {
        ssize_t n = tls_read(c->ssl, buf, len);
        return n == TLS_WANT_READ ? IO_WANT_READ : n == TLS_WANT_WRITE ? IO_WANT_WRITE
             : n == TLS_FAILED ? IO_FAILED : n;
    }
    ssize_t n = read(c->fd, buf, len);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? IO_WANT_READ : IO_FAILED;
    return n;
}

static ssize_t io_write(struct client *c, const void *buf, size_t len)
{
    if (c->ssl) {
        ssize_t n = tls_write(c->ssl, buf, len);
        return n == TLS_WANT_READ ? IO_WANT_READ : n == TLS_WANT_WRITE ? IO_WANT_WRITE
             : n == TLS_FAILED ? IO_FAILED : n;
    }
    ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? IO_WANT_WRITE : IO_FAILED;
    return n;
}

void client_free(struct client *c)
{
    if (c->fd >= 0) {
        ev_io_stop(c->w->loop, &c->io);
        if (c->ssl)
            tls_free(c->ssl);
        close(c->fd);
    }
    c->ssl = NULL;
    c->fd = -1;
    free(c->head);
    c->head = NULL;
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_cap = 0;
    ws_reader_free(&c->reader);
    free(c->last_seq);
    c->last_seq = NULL;
    c->state = CLIENT_DONE;
}

/* Ends a connection that broke: before the 101 it is a failed connection,
 * after it a close by the server. */
static void broken(struct client *c, const char *what)
{
    int was_open = c->state == CLIENT_OPEN;
    if (was_open) {
        client_free(c);
        bench_worker_closed(c->w, c);
    } else {
        bench_worker_failed(c->w, c, "%s: %s", c->url->text, what);
    }
}

void client_fail(struct client *c, const char *why)
{
    broken(c, why);
}

/* Queues bytes the socket did not take. */
static int keep(struct client *c, const uint8_t *p, size_t len)
{
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + len)
            cap *= 2;
        uint8_t *n = realloc(c->out, cap);
        if (n == NULL)
            return -1;
        c->out = n;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, len);
    c->out_len += len;
    return 0;
}

/* Writes bytes, keeping what the socket does not take. 0, or -1 if broken. */
static int send_bytes(struct client *c, const uint8_t *p, size_t len)
{
    if (c->out_len == 0) {
        while (len > 0) {
            ssize_t n = io_write(c, p, len);
            if (n == IO_FAILED) {
                broken(c, "send failed");
                return -1;
            }
            if (n < 0) {
                want(c, EV_READ | EV_WRITE);
                break;
            }
            p += n;
            len -= (size_t)n;
        }
    }
    if (len > 0 && keep(c, p, len) != 0) {
        broken(c, "out of memory");
        return -1;
    }
    return 0;
}

/* Sends what is queued. 0, or -1 if broken. */
static int flush(struct client *c)
{
    size_t off = 0;
    while (off < c->out_len) {
        ssize_t n = io_write(c, c->out + off, c->out_len - off);
        if (n == IO_FAILED) {
            broken(c, "send failed");
            return -1;
        }
        if (n < 0)
            break;
        off += (size_t)n;
    }
    memmove(c->out, c->out + off, c->out_len - off);
    c->out_len -= off;
    if (c->out_len == 0 && c->state >= CLIENT_UPGRADE)
        want(c, EV_READ);
    return 0;
}

/* Sends one masked frame; the payload is copied (and masked) into the
 * worker's output buffer (data may point into its input buffer). */
static int send_frame(struct client *c, int opcode, const uint8_t *data, size_t len)
{
    struct bench_worker *w = c->w;
    uint64_t r = bench_worker_random(w);
    uint8_t mask[4];
    memcpy(mask, &r, 4);
    uint8_t hdr[WS_MAX_HEADER];
    size_t hl = ws_frame_header(hdr, 1, opcode, len, mask);
    uint8_t *buf = w->wbuf, *big = NULL;
    if (hl + len > w->wbuf_size) {
        big = malloc(hl + len);
        if (big == NULL) {
            broken(c, "out of memory");
            return -1;
        }
        buf = big;
    }
    memcpy(buf, hdr, hl);
    memcpy(buf + hl, data, len);
    ws_mask(buf + hl, len, mask, 0);
    int rc = send_bytes(c, buf, hl + len);
    free(big);
    return rc;
}

int client_send_text(struct client *c, const uint8_t *data, size_t len)
{
    if (c->state != CLIENT_OPEN || c->close_sent)
        return -1;
    return send_frame(c, WS_OP_TEXT, data, len);
}

void client_close(struct client *c)
{
    if (c->state == CLIENT_OPEN && !c->close_sent) {
        uint8_t payload[WS_MAX_CONTROL_PAYLOAD];
        size_t n = ws_close_payload(payload, WS_CLOSE_NORMAL, "bench done");
        c->close_sent = 1;
        if (send_frame(c, WS_OP_CLOSE, payload, n) != 0)
            return;
    }
    client_free(c);
}

static void send_upgrade(struct client *c)
{
    uint8_t raw[16];
    uint64_t a = bench_worker_random(c->w), b = bench_worker_random(c->w);
    memcpy(raw, &a, 8);
    memcpy(raw + 8, &b, 8);
    EVP_EncodeBlock((unsigned char *)c->key, raw, 16);
    const struct bench_url *u = c->url;
    int v6 = strchr(u->host, ':') != NULL;
    char req[2048];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s%s%s:%u\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "User-Agent: wscale-bench\r\n"
                     "\r\n",
                     u->target, v6 ? "[" : "", u->host, v6 ? "]" : "", u->port, c->key);
    c->state = CLIENT_UPGRADE;
    c->head = malloc(HEAD_MAX);
    if (c->head == NULL) {
        broken(c, "out of memory");
        return;
    }
    c->head_len = 0;
    if (send_bytes(c, (const uint8_t *)req, (size_t)n) == 0 && c->out_len == 0)
        want(c, EV_READ);
}

/* Hands frames to the mode; answers pings and closes. Returns 0, or -1 if
 * the client ended. */
static int feed(struct client *c, uint8_t *buf, size_t len)
{
    while (len > 0) {
        struct ws_event ev;
        size_t used = ws_reader_feed(&c->reader, buf, len, &ev);
        buf += used;
        len -= used;
        switch (ev.type) {
        case WS_EV_NONE:
            break;
        case WS_EV_MESSAGE:
            if (c->w->ops->on_message)
                c->w->ops->on_message(c, ev.data, ev.len);
            if (c->state != CLIENT_OPEN)
                return -1;
            break;
        case WS_EV_PING:
            if (send_frame(c, WS_OP_PONG, ev.data, ev.len) != 0)
                return -1;
            break;
        case WS_EV_PONG:
            break;
        case WS_EV_CLOSE:
        case WS_EV_ERROR:
            if (!c->close_sent) {
                uint8_t payload[WS_MAX_CONTROL_PAYLOAD];
                unsigned code = ev.type == WS_EV_ERROR ? ev.close_code
                              : ev.close_code == WS_CLOSE_NO_STATUS ? 0 : ev.close_code;
                size_t n = code ? ws_close_payload(payload, code, "") : 0;
                c->close_sent = 1;
                if (send_frame(c, WS_OP_CLOSE, payload, n) != 0)
                    return -1;
            }
            broken(c, "closed");
            return -1;
        }
    }
    return 0;
}

/* Checks the 101 once the whole head is in; then the connection is open. */
static void read_upgrade(struct client *c)
{
    ssize_t n = io_read(c, c->head + c->head_len, HEAD_MAX - c->head_len);
    if (n == IO_WANT_READ || n == IO_WANT_WRITE)
        return;
    if (n <= 0) {
        broken(c, n == 0 ? "closed before answering the upgrade" : "connection reset during the upgrade");
        return;
    }
    c->head_len += (size_t)n;
    struct http_header fields[32];
    struct http_response rsp = { .headers = fields, .max_headers = 32 };
    ssize_t hl = http_parse_response(c->head, c->head_len, &rsp);
    if (hl == HTTP_INCOMPLETE && c->head_len < HEAD_MAX)
        return;
    if (hl < 0) {
        broken(c, hl == HTTP_INCOMPLETE ? "response head too large" : "malformed response to the upgrade");
        return;
    }
    char why[160];
    char accept[WS_ACCEPT_LEN + 1];
    ws_handshake_accept(c->key, accept);
    const struct http_header *a = http_fields_find(fields, rsp.num_headers, "sec-websocket-accept");
    if (rsp.status != 101) {
        snprintf(why, sizeof(why), "answered %d %.*s instead of 101 Switching Protocols", rsp.status,
                 (int)(rsp.reason_len > 60 ? 60 : rsp.reason_len), rsp.reason);
    } else if (!http_fields_has_token(fields, rsp.num_headers, "upgrade", "websocket") ||
               !http_fields_has_token(fields, rsp.num_headers, "connection", "upgrade")) {
        snprintf(why, sizeof(why), "101 without Upgrade: websocket and Connection: upgrade");
    } else if (a == NULL || !http_caseeq(a->value, a->value_len, accept, WS_ACCEPT_LEN) ||
               memcmp(a->value, accept, WS_ACCEPT_LEN) != 0) {
        snprintf(why, sizeof(why), "101 with a wrong Sec-WebSocket-Accept");
    } else {
        why[0] = '\0';
    }
    if (why[0]) {
        broken(c, why);
        return;
    }
    /* Frames may have come with the head: keep them for the reader. */
    size_t rest = c->head_len - (size_t)hl;
    uint8_t *extra = c->w->scratch;
    memcpy(extra, c->head + hl, rest);
    free(c->head);
    c->head = NULL;
    ws_reader_init(&c->reader, &reader_config);
    c->state = CLIENT_OPEN;
    bench_worker_opened(c->w, c);
    if (c->state == CLIENT_OPEN && rest > 0)
        feed(c, extra, rest);
}

static void read_frames(struct client *c)
{
    struct bench_worker *w = c->w;
    for (;;) {
        ssize_t n = io_read(c, w->scratch, w->scratch_size);
        if (n == IO_WANT_READ || n == IO_WANT_WRITE)
            return;
        if (n <= 0) {
            broken(c, "closed");
            return;
        }
        if (feed(c, w->scratch, (size_t)n) != 0)
            return;
        /* TLS may hold decrypted bytes the socket will not signal again. */
        if (!c->ssl && (size_t)n < w->scratch_size)
            return;
    }
}

static void tls_step(struct client *c)
{
    int rc = tls_handshake(c->ssl);
    if (rc == 1) {
        send_upgrade(c);
    } else if (rc == TLS_WANT_READ) {
        want(c, EV_READ);
    } else if (rc == TLS_WANT_WRITE) {
        want(c, EV_WRITE);
    } else {
        char e[160];
        char why[200];
        snprintf(why, sizeof(why), "TLS handshake failed: %s", tls_error(e, sizeof(e)));
        broken(c, why);
    }
}

static void connected(struct client *c)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err != 0) {
        broken(c, strerror(err));
        return;
    }
    if (c->url->tls) {
        int is_ip = strspn(c->url->host, "0123456789.:abcdefABCDEF") == strlen(c->url->host) &&
                    strpbrk(c->url->host, ".:") != NULL;
        c->ssl = tls_client_ssl(c->w->tls, c->fd, is_ip ? NULL : c->url->host, NULL);
        if (c->ssl == NULL) {
            broken(c, "out of memory");
            return;
        }
        c->state = CLIENT_TLS;
        tls_step(c);
        return;
    }
    send_upgrade(c);
}

static void on_io(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    struct client *c = io->data;
    switch (c->state) {
    case CLIENT_CONNECTING:
        connected(c);
        return;
    case CLIENT_TLS:
        tls_step(c);
        return;
    case CLIENT_UPGRADE:
        if ((revents & EV_WRITE) && c->out_len > 0 && flush(c) != 0)
            return;
        if (revents & EV_READ)
            read_upgrade(c);
        return;
    case CLIENT_OPEN:
        if ((revents & EV_WRITE) && flush(c) != 0)
            return;
        if ((revents & EV_READ) && c->state == CLIENT_OPEN)
            read_frames(c);
        return;
    default:
        return;
    }
}

int client_start(struct client *c, const struct net_addr *addr, uint32_t source)
{
    c->started_ns = bench_now_ns();
    c->fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        bench_worker_failed(c->w, c, "%s: socket: %s", c->url->text, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (source != 0) {
        /* The port is chosen at connect time, per destination: many
         * sources then multiply the ports available to one server. */
        setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = source };
        if (bind(c->fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
            char ip[NET_ADDR_STRLEN];
            bench_worker_failed(c->w, c, "bind to source %s: %s",
                                net_addr_format((struct sockaddr *)&sin, ip, sizeof(ip)), strerror(errno));
            return -1;
        }
    }
    ev_io_init(&c->io, on_io, c->fd, EV_WRITE);
    c->io.data = c;
    c->state = CLIENT_CONNECTING;
    if (connect(c->fd, (const struct sockaddr *)&addr->ss, addr->len) != 0 && errno != EINPROGRESS) {
        broken(c, strerror(errno));
        return -1;
    }
    ev_io_start(c->w->loop, &c->io);
    return 0;
}
