/* chat-v1.h — protocol wscale.chat.v1 on a session: the client's state, its
 * requests (rate limit, error budget, say/history/who), and the frames it
 * is sent. Rooms, presence and recovery are in rooms.c.
 *
 * A session speaks it when its handshake offered the subprotocol
 * "wscale.chat.v1" (and the backend is not in --echo mode); other sessions
 * keep the tutorial's text protocol (chat.c). */
#ifndef WSCALE_CHAT_V1_H
#define WSCALE_CHAT_V1_H

#include <ev.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "chat-proto.h"

struct backend;
struct session;
struct member;
struct client_call;

#define CHAT_MAX_ROOMS 16   /* rooms one connection may be in */
#define CHAT_MAX_ERRORS 10  /* error frames in quick succession before close 1008: */
#define CHAT_ERROR_WINDOW 60.0 /* ...the count drains CHAT_MAX_ERRORS per this many seconds */

struct chat_client {
    struct session *session;
    uint64_t conn;               /* unique in this process: presence entries */
    struct member *rooms;        /* the rooms joined, through member.client_next */
    unsigned nrooms;
    struct client_call *calls;   /* say/history/who waiting for Redis */
    double tokens;               /* rate limit: a bucket of --rate-limit frames */
    ev_tstamp refilled;
    double errors;               /* error frames, draining over time (see chat_v1_error) */
    ev_tstamp errors_at;         /* when errors was last brought up to date */
};

/* Starts the protocol on a session that just opened (chat_on_open then
 * sends hello). Returns 0, or -1 if out of memory. */
int chat_v1_open(struct session *s);

/* The session leaves OPEN: it leaves its rooms, and Redis replies still to
 * come for it are dropped. Frees s->v1. */
void chat_v1_close(struct session *s);

/* A text message from the client. */
void chat_v1_on_message(struct session *s, const uint8_t *data, size_t len);

/* Queues obj (which is released) to the session as a text frame. */
void chat_v1_send(struct session *s, json_t *obj);

/* Sends an error frame (echoing ref when not NULL). Too many in quick
 * succession (CHAT_MAX_ERRORS, draining at CHAT_MAX_ERRORS per
 * CHAT_ERROR_WINDOW) close the session 1008, and so does rate_limited. */
void chat_v1_error(struct session *s, json_t *ref, enum chat_error code, const char *message);

#endif
