/* chat-v1.c — see chat-v1.h. */
#include "chat-v1.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../shared/log.h"
#include "backend.h"
#include "bus.h"
#include "chat-scripts.h"
#include "rooms.h"
#include "session.h"

/* A say, history or who waiting for Redis. */
struct client_call {
    struct client_call *prev, *next; /* in chat_client.calls */
    struct chat_client *client;      /* NULL once the client is gone */
    enum chat_op op;
    unsigned limit;                  /* history */
    json_t *ref;
    char room[CHAT_ROOM_MAX + 1];
};

void chat_v1_send(struct session *s, json_t *obj)
{
    size_t len;
    char *text = chat_dump(obj, &len);
    struct rbuf *f = text ? session_frame(WS_OP_TEXT, text, len, NULL, 0) : NULL;
    free(text);
    if (f == NULL) {
        session_kill(s, "out of memory");
        return;
    }
    session_send(s, f);
    rbuf_unref(f);
}

void chat_v1_error(struct session *s, json_t *ref, enum chat_error code, const char *message)
{
    struct chat_client *c = s->v1;
    if (c == NULL)
        return;
    chat_v1_send(s, chat_error(ref, code, message));
    s->be->stats.chat_errors++;
    if (code == CHAT_E_RATE_LIMITED) {
        s->be->stats.chat_policy_closes++;
        log_info("client fd=%d: over --rate-limit; closing 1008", s->fd);
        session_close(s, WS_CLOSE_POLICY, "rate limit exceeded");
        return;
    }
    if (code == CHAT_E_UNAVAILABLE)
        return; /* Redis's fault, not the client's */
    /* A bucket that drains CHAT_MAX_ERRORS per CHAT_ERROR_WINDOW: errors in
     * quick succession fill it, occasional ones never do. */
    ev_tstamp now = ev_now(s->be->loop);
    c->errors -= (now - c->errors_at) * CHAT_MAX_ERRORS / CHAT_ERROR_WINDOW;
    if (c->errors < 0)
        c->errors = 0;
    c->errors_at = now;
    c->errors += 1;
    if (c->errors > CHAT_MAX_ERRORS - 1) { /* the 10th of a quick burst */
        s->be->stats.chat_policy_closes++;
        log_info("client fd=%d: too many errors (%d within %.0fs); closing 1008", s->fd,
                 CHAT_MAX_ERRORS, CHAT_ERROR_WINDOW);
        session_close(s, WS_CLOSE_POLICY, "too many errors");
    }
}

/* The error message for a refused request: what is wrong, with which field. */
static void describe(enum chat_error e, const char *detail, char *out, size_t size)
{
    switch (e) {
    case CHAT_E_MISSING_FIELD:
        snprintf(out, size, "missing field '%s'", detail);
        break;
    case CHAT_E_BAD_FIELD:
        snprintf(out, size, "field '%s' has the wrong type or an invalid value", detail);
        break;
    case CHAT_E_TOO_LONG:
        if (strcmp(detail, "room") == 0)
            snprintf(out, size, "'room' is longer than %d characters", CHAT_ROOM_MAX);
        else if (strcmp(detail, "nick") == 0)
            snprintf(out, size, "'nick' is longer than %d bytes", CHAT_NICK_MAX);
        else if (strcmp(detail, "text") == 0)
            snprintf(out, size, "'text' is longer than %d bytes", CHAT_TEXT_MAX);
        else if (strcmp(detail, "ref") == 0)
            snprintf(out, size, "'ref' is longer than %d bytes", CHAT_REF_MAX);
        else
            snprintf(out, size, "%s", detail);
        break;
    case CHAT_E_BAD_NAME:
        if (strcmp(detail, "room") == 0)
            snprintf(out, size, "'room' must be 1-%d of A-Z a-z 0-9 _ . -", CHAT_ROOM_MAX);
        else if (strcmp(detail, "nick") == 0)
            snprintf(out, size, "'nick' must be 1-%d bytes without control characters", CHAT_NICK_MAX);
        else
            snprintf(out, size, "'%s' must not be empty", detail);
        break;
    default:
        snprintf(out, size, "%s", detail);
        break;
    }
}

int chat_v1_open(struct session *s)
{
    struct backend *be = s->be;
    struct chat_client *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -1;
    c->session = s;
    c->conn = ++be->chat_connections;
    c->tokens = (double)be->opt->rate_limit;
    c->refilled = ev_now(be->loop);
    s->v1 = c;
    return 0;
}

void chat_v1_close(struct session *s)
{
    struct chat_client *c = s->v1;
    if (c == NULL)
        return;
    rooms_leave(s->be->rooms, c, NULL);
    for (struct client_call *call = c->calls; call; call = call->next)
        call->client = NULL;
    free(c);
    s->v1 = NULL;
}

/* Takes one frame from the client's bucket. Returns 0, or -1 when empty. */
static int take_token(struct chat_client *c, struct backend *be)
{
    double rate = (double)be->opt->rate_limit;
    ev_tstamp now = ev_now(be->loop);
    c->tokens += (now - c->refilled) * rate;
    if (c->tokens > rate)
        c->tokens = rate;
    c->refilled = now;
    if (c->tokens < 1)
        return -1;
    c->tokens -= 1;
    return 0;
}

/* --- say, history, who: one Redis command each ------------------------------ */

static struct client_call *call_new(struct chat_client *c, const struct chat_request *req)
{
    struct client_call *call = calloc(1, sizeof(*call));
    if (call == NULL)
        return NULL;
    call->client = c;
    call->op = req->op;
    call->limit = req->limit;
    call->ref = req->ref ? json_incref(req->ref) : NULL;
    memcpy(call->room, req->room, req->room_len);
    call->next = c->calls;
    if (c->calls)
        c->calls->prev = call;
    c->calls = call;
    return call;
}

static void call_free(struct client_call *call)
{
    struct chat_client *c = call->client;
    if (c) {
        if (call->prev)
            call->prev->next = call->next;
        else
            c->calls = call->next;
        if (call->next)
            call->next->prev = call->prev;
    }
    json_decref(call->ref);
    free(call);
}

static json_t *history_answer(const struct client_call *call, const redisReply *reply)
{
    /* XREVRANGE: newest first, one more than asked to learn whether older
     * ones exist. */
    size_t n = reply->elements;
    int more = n > call->limit;
    if (more)
        n = call->limit;
    json_t *messages = json_array();
    for (size_t i = n; messages && i-- > 0;) {
        struct chat_id id;
        json_t *msg = rooms_entry_msg(call->room, reply->element[i], &id);
        if (msg)
            json_array_append_new(messages, msg);
    }
    return chat_history(call->room, messages, more);
}

static json_t *who_answer(const struct client_call *call, const redisReply *reply)
{
    json_t *members = json_array();
    for (size_t i = 0; members && i < reply->elements; i++)
        if (reply->element[i]->type == REDIS_REPLY_STRING)
            json_array_append_new(members, json_stringn(reply->element[i]->str, reply->element[i]->len));
    return chat_who(call->room, members);
}

static void on_call_reply(void *privdata, redisReply *reply)
{
    struct client_call *call = privdata;
    struct chat_client *c = call->client;
    if (c == NULL) {
        call_free(call);
        return;
    }
    struct session *s = c->session;
    int ok = reply && (call->op == CHAT_SAY ? reply->type == REDIS_REPLY_STRING
                                            : reply->type == REDIS_REPLY_ARRAY);
    if (!ok) {
        if (reply && reply->type == REDIS_REPLY_ERROR) {
            log_error("redis: room '%s': %s", call->room, reply->str);
            if (strncmp(reply->str, "NOSCRIPT", 8) == 0)
                bus_fail_publisher(s->be->bus, "scripts missing in Redis");
        }
        json_t *ref = call->ref ? json_incref(call->ref) : NULL;
        call_free(call);
        chat_v1_error(s, ref, CHAT_E_UNAVAILABLE,
                      reply ? "redis refused the request" : "redis connection lost: the outcome is unknown");
        json_decref(ref);
        return;
    }
    json_t *answer = call->op == CHAT_SAY       ? chat_ack(call->ref, reply->str)
                     : call->op == CHAT_HISTORY ? history_answer(call, reply)
                                                : who_answer(call, reply);
    call_free(call);
    chat_v1_send(s, answer);
}

/* lens as bus_command() takes them: NULL when every argument is a C string. */
static void send_call(struct session *s, const struct chat_request *req, int argc,
                      const char **argv, const size_t *lens)
{
    struct client_call *call = call_new(s->v1, req);
    if (call == NULL) {
        session_kill(s, "out of memory");
        return;
    }
    if (bus_command(s->be->bus, on_call_reply, call, argc, argv, lens) != 0) {
        json_t *ref = req->ref;
        call_free(call);
        chat_v1_error(s, ref, CHAT_E_UNAVAILABLE, "redis is not reachable");
    }
}

static void say(struct session *s, const struct chat_request *req, const struct member *m)
{
    const struct backend_options *o = s->be->opt;
    char stream[CHAT_KEY_MAX], channel[CHAT_KEY_MAX], cap[24];
    chat_key(stream, "history", req->room);
    chat_key(channel, "room", req->room);
    snprintf(cap, sizeof(cap), "%llu", (unsigned long long)o->history);
    const char *argv[] = { "EVALSHA", chat_script_sha(SCRIPT_SAY), "1", stream, channel, req->room,
                           rooms_member_nick(m), req->text, o->id, cap };
    size_t lens[10];
    for (int i = 0; i < 10; i++)
        lens[i] = strlen(argv[i]);
    lens[7] = req->text_len; /* the text may hold NULs */
    send_call(s, req, 10, argv, lens);
}

static void history(struct session *s, const struct chat_request *req)
{
    char stream[CHAT_KEY_MAX], before[CHAT_ID_STRLEN + 1] = "+", count[16];
    if (req->has_before && req->before.ms == 0 && req->before.seq == 0) {
        /* Nothing comes before 0-0 (and Redis refuses "(0-0"). */
        chat_v1_send(s, chat_history(req->room, json_array(), 0));
        return;
    }
    chat_key(stream, "history", req->room);
    if (req->has_before) {
        before[0] = '(';
        chat_id_format(req->before, before + 1);
    }
    snprintf(count, sizeof(count), "%u", req->limit + 1);
    const char *argv[] = { "XREVRANGE", stream, before, "-", "COUNT", count };
    send_call(s, req, 6, argv, NULL);
}

static void who(struct session *s, const struct chat_request *req)
{
    char zset[CHAT_KEY_MAX], hash[CHAT_KEY_MAX], channel[CHAT_KEY_MAX];
    chat_key(zset, "presence", req->room);
    chat_key(hash, "members", req->room);
    chat_key(channel, "room", req->room);
    const char *argv[] = { "EVALSHA", chat_script_sha(SCRIPT_WHO), "2", zset, hash, channel, req->room };
    send_call(s, req, 7, argv, NULL);
}

/* --- requests ----------------------------------------------------------------- */

static void handle(struct session *s, const struct chat_request *req)
{
    struct chat_client *c = s->v1;
    struct rooms *rs = s->be->rooms;
    struct member *m = rooms_member(c, req->room, req->room_len);
    switch (req->op) {
    case CHAT_JOIN:
        if (m)
            chat_v1_error(s, req->ref, CHAT_E_ALREADY_JOINED, "already in this room");
        else if (c->nrooms >= CHAT_MAX_ROOMS)
            chat_v1_error(s, req->ref, CHAT_E_TOO_MANY_ROOMS, "a connection may be in 16 rooms at most");
        else
            rooms_join(rs, c, req);
        break;
    case CHAT_LEAVE:
        if (rooms_leave(rs, c, req) != 0)
            chat_v1_error(s, req->ref, CHAT_E_NOT_JOINED, "not in this room");
        break;
    case CHAT_SAY:
        if (m == NULL)
            chat_v1_error(s, req->ref, CHAT_E_NOT_JOINED, "join the room first");
        else
            say(s, req, m);
        break;
    case CHAT_HISTORY:
        history(s, req);
        break;
    case CHAT_WHO:
        who(s, req);
        break;
    }
}

void chat_v1_on_message(struct session *s, const uint8_t *data, size_t len)
{
    struct chat_request req;
    const char *detail = "";
    enum chat_error e = chat_parse_request((const char *)data, len, &req, &detail);
    if (take_token(s->v1, s->be) != 0) {
        /* Parsed all the same (at most CHAT_FRAME_MAX bytes): to echo its ref. */
        chat_v1_error(s, req.ref, CHAT_E_RATE_LIMITED, "more frames per second than --rate-limit allows");
    } else if (e == CHAT_OK) {
        handle(s, &req);
    } else {
        char message[160];
        describe(e, detail, message, sizeof(message));
        chat_v1_error(s, req.ref, e, message);
    }
    chat_request_free(&req);
}
