/* chat-proto.h — the frames of protocol wscale.chat.v1, parsed and built
 * with jansson. Pure: text in, JSON objects out, no I/O.
 *
 * One JSON object per text frame, its operation in "op". Requests are
 * checked completely here (types, lengths, character sets) so that the
 * server's handlers only see well-formed ones; a refused request yields a
 * stable error code for the "error" frame. The protocol is described in
 * README.md ("Protocol wscale.chat.v1"). */
#ifndef WSCALE_CHAT_PROTO_H
#define WSCALE_CHAT_PROTO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define CHAT_PROTOCOL "wscale.chat.v1"
#define CHAT_FRAME_MAX 16384  /* a longer request is refused before parsing */
#define CHAT_ROOM_MAX 64      /* characters of A-Z a-z 0-9 _ . - */
#define CHAT_NICK_MAX 32      /* bytes of UTF-8 without control characters */
#define CHAT_TEXT_MAX 4096    /* bytes */
#define CHAT_REF_MAX 64       /* bytes of a string ref */
#define CHAT_LIMIT_DEFAULT 50 /* history messages when no limit is given */
#define CHAT_LIMIT_MAX 100
#define CHAT_ID_STRLEN 42     /* "<ms>-<seq>", both uint64, and a NUL */

/* A message id: a Redis stream entry id. */
struct chat_id {
    uint64_t ms, seq;
};

enum chat_op { CHAT_JOIN, CHAT_LEAVE, CHAT_SAY, CHAT_HISTORY, CHAT_WHO };

enum chat_error {
    CHAT_OK,
    CHAT_E_BAD_JSON,
    CHAT_E_UNKNOWN_OP,
    CHAT_E_MISSING_FIELD,
    CHAT_E_BAD_FIELD,
    CHAT_E_TOO_LONG,
    CHAT_E_BAD_NAME,
    CHAT_E_NOT_JOINED,
    CHAT_E_ALREADY_JOINED,
    CHAT_E_TOO_MANY_ROOMS,
    CHAT_E_RATE_LIMITED,
    CHAT_E_UNAVAILABLE,
};

/* A parsed request. The strings point into root, which the request owns. */
struct chat_request {
    json_t *root;
    enum chat_op op;
    json_t *ref;            /* a string or integer to echo, or NULL */
    const char *room, *nick, *text;
    size_t room_len, nick_len, text_len;
    int has_since, has_before;
    struct chat_id since, before;
    unsigned limit;         /* history: 1..CHAT_LIMIT_MAX */
};

/* Parses and checks one client frame. Returns CHAT_OK with req filled (free
 * it with chat_request_free), or an error code with *detail saying which
 * field and why. On error req->ref is still set when the frame carried a
 * valid ref, for the error frame to echo; free req all the same. */
enum chat_error chat_parse_request(const char *data, size_t len, struct chat_request *req,
                                   const char **detail);
void chat_request_free(struct chat_request *req);

/* The stable code of an error, e.g. "bad_json". */
const char *chat_error_code(enum chat_error e);

/* A room name: 1..CHAT_ROOM_MAX of A-Z a-z 0-9 _ . - */
int chat_room_valid(const char *room, size_t len);

/* Parses "<ms>-<seq>" (decimal, no sign, no leading spaces). Returns 0 or -1. */
int chat_id_parse(const char *s, size_t len, struct chat_id *id);
int chat_id_cmp(struct chat_id a, struct chat_id b);
void chat_id_format(struct chat_id id, char out[CHAT_ID_STRLEN]);

/* A frame published on a room's channel, as every member receives it. */
struct chat_live {
    int is_msg;             /* 1: a msg (id is set), 0: a presence event */
    struct chat_id id;
};

/* Checks a frame that came from a room channel: a JSON object whose op is
 * "msg" (with a valid "id") or "presence". Returns 0 or -1. */
int chat_parse_live(const char *data, size_t len, struct chat_live *out);

/* Frames from the server. Each returns a new object (NULL if out of memory);
 * arguments marked "stolen" are owned by the result, or freed on failure. */
json_t *chat_hello(const char *node);
json_t *chat_joined(const char *room, const char *nick, json_t *members /* stolen */,
                    const char *last);
json_t *chat_recovered(const char *room, size_t count, int complete);
json_t *chat_ack(json_t *ref, const char *id);
json_t *chat_left(const char *room);
json_t *chat_history(const char *room, json_t *messages /* stolen */, int more);
json_t *chat_who(const char *room, json_t *members /* stolen */);
json_t *chat_error(json_t *ref, enum chat_error code, const char *message);
json_t *chat_msg(const char *room, const char *id, const char *nick, size_t nick_len,
                 const char *text, size_t text_len, long long ts, const char *node);

/* Compact JSON text of obj, which is then released. NULL if out of memory;
 * *len gets the length. Free the text with free(). */
char *chat_dump(json_t *obj, size_t *len);

#endif
