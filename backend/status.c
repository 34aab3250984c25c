/* status.c — see status.h. */
#include "status.h"

#include <string.h>

#include "../shared/strbuf.h"
#include "../shared/version.h"
#include "backend.h"
#include "bus.h"
#include "page.h"
#include "rooms.h"
#include "session.h"

static const char TEXT[] = "text/plain; charset=utf-8";

static void counter(struct strbuf *sb, const char *name, const char *help, uint64_t value)
{
    strbuf_printf(sb, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
                  (unsigned long long)value);
}

static void write_metrics(const struct backend *be, struct strbuf *sb)
{
    const struct backend_stats *st = &be->stats;
    strbuf_printf(sb,
        "# HELP wscale_info Build and identity of this process.\n"
        "# TYPE wscale_info gauge\n"
        "wscale_info{mode=\"backend\",id=\"%s\",version=\"" WSCALE_VERSION "\",echo=\"%d\"} 1\n"
        "# HELP wscale_connections_open TCP connections open, by phase.\n"
        "# TYPE wscale_connections_open gauge\n"
        "wscale_connections_open{phase=\"handshake\"} %zu\n"
        "wscale_connections_open{phase=\"websocket\"} %zu\n"
        "wscale_connections_open{phase=\"closing\"} %zu\n",
        be->opt->id, be->opt->echo, be->handshake_q.count, be->hub.count + be->chat_hub.count,
        be->nsessions - be->handshake_q.count - be->hub.count - be->chat_hub.count);
    counter(sb, "wscale_connections_total", "TCP connections accepted.", st->connections_total);
    counter(sb, "wscale_websockets_total", "WebSocket handshakes completed.", st->websockets_total);

    static const char *const statuses[] = { "400", "403", "404", "426", "431", "other" };
    strbuf_printf(sb, "# HELP wscale_handshake_errors_total Requests refused before the upgrade, by status.\n"
                      "# TYPE wscale_handshake_errors_total counter\n");
    for (int i = 0; i < 6; i++)
        strbuf_printf(sb, "wscale_handshake_errors_total{status=\"%s\"} %llu\n", statuses[i],
                      (unsigned long long)st->handshake_errors[i]);

    counter(sb, "wscale_messages_received_total", "Messages received from clients.", st->messages_in);
    counter(sb, "wscale_messages_sent_total", "Data frames queued to clients.", st->messages_out);
    counter(sb, "wscale_bytes_received_total", "Bytes read from client sockets.", st->bytes_in);
    counter(sb, "wscale_bytes_sent_total", "Bytes written to client sockets.", st->bytes_out);

    strbuf_printf(sb, "# HELP wscale_closes_sent_total Close frames sent to clients, by code.\n"
                      "# TYPE wscale_closes_sent_total counter\n");
    for (int i = 0; i < 16; i++)
        if (st->closes_sent[i])
            strbuf_printf(sb, "wscale_closes_sent_total{code=\"%d\"} %llu\n", 1000 + i,
                          (unsigned long long)st->closes_sent[i]);
    counter(sb, "wscale_slow_consumer_closes_total", "Clients closed 1008 for not reading their output.",
            st->slow_consumer_closes);
    counter(sb, "wscale_publish_queue_full_closes_total",
            "Clients closed 1013 because the publish queue was full.", st->publish_queue_full_closes);
    counter(sb, "wscale_ping_timeouts_total", "Clients dropped for not answering a ping.", st->ping_timeouts);
    counter(sb, "wscale_handshake_timeouts_total", "Connections dropped for not sending a request head in time.",
            st->handshake_timeouts);
    counter(sb, "wscale_accept_errors_total", "Failed accept() calls (e.g. out of file descriptors).",
            st->accept_errors);
    counter(sb, "wscale_invalid_bus_messages_total", "Channel messages dropped for not being UTF-8.",
            st->invalid_bus_messages);
    if (be->rooms) {
        strbuf_printf(sb,
            "# HELP wscale_chat_sessions wscale.chat.v1 sessions open.\n"
            "# TYPE wscale_chat_sessions gauge\n"
            "wscale_chat_sessions %zu\n"
            "# HELP wscale_chat_rooms Rooms with members on this backend (their channels are subscribed).\n"
            "# TYPE wscale_chat_rooms gauge\n"
            "wscale_chat_rooms %zu\n",
            be->chat_hub.count, rooms_count(be->rooms));
        counter(sb, "wscale_chat_errors_total", "wscale.chat.v1 error frames sent.", st->chat_errors);
        counter(sb, "wscale_chat_policy_closes_total",
                "wscale.chat.v1 sessions closed 1008 for their rate or their errors.", st->chat_policy_closes);
    }
    if (be->bus)
        bus_metrics(be->bus, sb);
}

void status_serve(struct session *s, const struct http_request *req)
{
    const struct backend *be = s->be;
    int head_only = http_method_is(req, "HEAD");
    size_t path_len = req->target_len;
    const char *q = memchr(req->target, '?', req->target_len);
    if (q)
        path_len = (size_t)(q - req->target);

    int healthz = path_len == 8 && memcmp(req->target, "/healthz", 8) == 0;
    int metrics = path_len == 8 && memcmp(req->target, "/metrics", 8) == 0;
    int page = path_len == 1 && req->target[0] == '/';
    if (!healthz && !metrics && !page) {
        static const char body[] = "not found\n";
        session_respond(s, 404, TEXT, "", body, sizeof(body) - 1, head_only);
        return;
    }
    if (!head_only && !http_method_is(req, "GET")) {
        static const char body[] = "method not allowed\n";
        session_respond(s, 405, TEXT, "Allow: GET, HEAD\r\n", body, sizeof(body) - 1, 0);
        return;
    }

    if (page) {
        /* Self-contained: inline script and style, WebSocket to this origin. */
        session_respond(s, 200, "text/html; charset=utf-8",
                        "Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; "
                        "style-src 'unsafe-inline'; connect-src 'self'; img-src data:; "
                        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"
                        "X-Content-Type-Options: nosniff\r\n"
                        "Referrer-Policy: no-referrer\r\n",
                        (const char *)chat_page_html, chat_page_html_len, head_only);
        return;
    }
    if (healthz) {
        const char *why = "ok";
        int ok = be->bus == NULL || bus_healthy(be->bus, &why);
        char body[64];
        size_t n = (size_t)snprintf(body, sizeof(body), "%s\n", why);
        session_respond(s, ok ? 200 : 503, TEXT, "", body, n, head_only);
        return;
    }

    struct strbuf sb = STRBUF_INIT;
    write_metrics(be, &sb);
    if (sb.failed)
        session_respond(s, 500, TEXT, "", "out of memory\n", 14, head_only);
    else
        session_respond(s, 200, "text/plain; version=0.0.4; charset=utf-8", "", sb.data, sb.len,
                        head_only);
    strbuf_free(&sb);
}
