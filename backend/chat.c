/* chat.c — see chat.h. */
#include "chat.h"

#include <stdio.h>
#include <string.h>

#include "../shared/log.h"
#include "../shared/utf8.h"
#include "backend.h"
#include "bus.h"
#include "chat-v1.h"
#include "session.h"

int chat_init(struct backend *be)
{
    char text[128];
    int n = snprintf(text, sizeof(text), "Connected successfully to server %s", be->opt->id);
    be->greeting = session_frame(WS_OP_TEXT, text, (size_t)n, NULL, 0);
    return be->greeting ? 0 : -1;
}

void chat_on_open(struct session *s)
{
    if (s->v1)
        chat_v1_send(s, chat_hello(s->be->opt->id));
    else
        session_send(s, s->be->greeting);
}

void chat_on_message(struct session *s, int opcode, const uint8_t *data, size_t len)
{
    struct backend *be = s->be;
    if (s->v1) {
        chat_v1_on_message(s, data, len);
        return;
    }
    if (be->opt->echo) {
        struct rbuf *f = session_frame(opcode, data, len, NULL, 0);
        if (f == NULL) {
            session_kill(s, "out of memory");
            return;
        }
        session_send(s, f);
        rbuf_unref(f);
        return;
    }
    if (bus_publish(be->bus, data, len) != 0) {
        be->stats.publish_queue_full_closes++;
        log_warn("client fd=%d: publish queue full (%zu messages waiting for Redis); closing 1013",
                 s->fd, bus_pending(be->bus));
        session_close(s, WS_CLOSE_TRY_AGAIN_LATER, "publish queue full, try again later");
    }
}

void chat_deliver(void *backend, const char *payload, size_t len)
{
    struct backend *be = backend;
    if (utf8_validate((const uint8_t *)payload, len) != 0) {
        /* Someone else published bytes that cannot travel in a text frame. */
        be->stats.invalid_bus_messages++;
        log_debug("redis: dropped a %zu-byte message that is not UTF-8", len);
        return;
    }
    if (be->hub.count == 0)
        return;
    char prefix[BACKEND_ID_MAX + 2];
    int n = snprintf(prefix, sizeof(prefix), "%s:", be->opt->id);
    struct rbuf *f = session_frame(WS_OP_TEXT, prefix, (size_t)n, payload, len);
    if (f == NULL) {
        log_error("out of memory delivering a %zu-byte message", len);
        return;
    }
    hub_broadcast(&be->hub, f);
    rbuf_unref(f);
}
