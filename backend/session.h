/* session.h — one client connection of the backend: the HTTP request head,
 * then either a plain HTTP answer or a WebSocket session, then its close.
 *
 *   HANDSHAKE ─► OPEN ─► CLOSING ─► FINISHING ─► DEAD
 *       │          └──────────────────►┘   ▲
 *       └──────────(HTTP answer)───────────┘
 *
 * HANDSHAKE  reading the request head (handshake timeout)
 * OPEN       WebSocket open: chat traffic flows (pinged when idle)
 * CLOSING    we sent a close frame; waiting for the peer's (close timeout)
 * FINISHING  last bytes going out (a close frame, an HTTP answer), then FIN,
 *            then waiting for the peer's FIN (close timeout)
 * DEAD       socket closed; memory freed before the loop next sleeps
 *
 * An idle open session holds no buffer: only this struct. */
#ifndef WSCALE_SESSION_H
#define WSCALE_SESSION_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "../shared/http.h"
#include "../shared/rbuf.h"
#include "../shared/timeq.h"
#include "../shared/tls.h"
#include "../shared/ws.h"
#include "outq.h"

struct backend;
struct chat_client;

enum session_state {
    SESSION_HANDSHAKE,
    SESSION_OPEN,
    SESSION_CLOSING,
    SESSION_FINISHING,
    SESSION_DEAD,
};

struct session {
    struct backend *be;
    int fd;
    uint8_t state;
    uint8_t flags;                /* SF_* in session.c */
    ev_io io;
    struct timeq_entry tq;        /* in the queue of the state's timeout */
    struct session *hub_prev;     /* hub links while OPEN ... */
    struct session *hub_next;     /* ... and the dead list once DEAD */
    struct session *flush_next;   /* on backend.flush_list */
    struct outq out;
    SSL *tls;                     /* with --tls-cert; NULL for plain connections */
    struct chat_client *v1;       /* speaking wscale.chat.v1 (while OPEN), else NULL */
    union {                       /* the input side, by phase: */
        struct {
            char *buf;            /* HANDSHAKE: a request head split across reads */
            size_t len;
        } head;
        struct ws_reader ws;      /* after the upgrade */
    } in;
};

/* Takes ownership of an accepted, non-blocking socket. */
void session_accept(struct backend *be, int fd);

/* Queues a data frame to an open session. If that puts the session over
 * --max-output it is closed 1008 as a slow consumer. Returns 0, or -1 if the
 * frame was not queued. */
int session_send(struct session *s, struct rbuf *frame);

/* Starts the closing handshake of an open session: sends a close frame with
 * code and reason, then waits for the peer's. */
void session_close(struct session *s, unsigned code, const char *reason);

/* Answers a plain HTTP request and ends the connection. extra_headers is a
 * block of "Name: value\r\n" lines or "". With head_only, no body is sent. */
void session_respond(struct session *s, int status, const char *content_type,
                     const char *extra_headers, const char *body, size_t body_len, int head_only);

/* Closes the socket now, without a close frame. why (or NULL) is logged. */
void session_kill(struct session *s, const char *why);

/* Kills every session in q (each live session is in the queue of its state). */
void session_kill_queue(struct timeq *q, const char *why);

/* Builds a server frame holding a then b (either may be empty). */
struct rbuf *session_frame(int opcode, const void *a, size_t alen, const void *b, size_t blen);

/* Expiry callback for every session timeout queue. */
void session_timeout(struct timeq *q, struct timeq_entry *e);

/* Before the loop sleeps: write what sessions queued, free dead sessions. */
void session_flush_pending(struct backend *be);
void session_free_dead(struct backend *be);

#endif
