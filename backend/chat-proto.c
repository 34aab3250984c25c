/* chat-proto.c — see chat-proto.h. */
#include "chat-proto.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const error_codes[] = {
    [CHAT_OK] = "ok",
    [CHAT_E_BAD_JSON] = "bad_json",
    [CHAT_E_UNKNOWN_OP] = "unknown_op",
    [CHAT_E_MISSING_FIELD] = "missing_field",
    [CHAT_E_BAD_FIELD] = "bad_field",
    [CHAT_E_TOO_LONG] = "too_long",
    [CHAT_E_BAD_NAME] = "bad_name",
    [CHAT_E_NOT_JOINED] = "not_joined",
    [CHAT_E_ALREADY_JOINED] = "already_joined",
    [CHAT_E_TOO_MANY_ROOMS] = "too_many_rooms",
    [CHAT_E_RATE_LIMITED] = "rate_limited",
    [CHAT_E_UNAVAILABLE] = "unavailable",
};

const char *chat_error_code(enum chat_error e)
{
    return error_codes[e];
}

static const struct {
    const char *name;
    enum chat_op op;
} ops[] = {
    { "join", CHAT_JOIN }, { "leave", CHAT_LEAVE }, { "say", CHAT_SAY },
    { "history", CHAT_HISTORY }, { "who", CHAT_WHO },
};

int chat_room_valid(const char *room, size_t len)
{
    if (len == 0 || len > CHAT_ROOM_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = room[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* Nicks are shown to everyone: no control characters (jansson already
 * guarantees valid UTF-8). */
static int nick_valid(const char *nick, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)nick[i] < 0x20 || nick[i] == 0x7f)
            return 0;
    return 1;
}

static int parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 20)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int chat_id_parse(const char *s, size_t len, struct chat_id *id)
{
    const char *dash = memchr(s, '-', len);
    if (dash == NULL)
        return -1;
    size_t ms_len = (size_t)(dash - s);
    if (parse_u64(s, ms_len, &id->ms) != 0 || parse_u64(dash + 1, len - ms_len - 1, &id->seq) != 0)
        return -1;
    return 0;
}

int chat_id_cmp(struct chat_id a, struct chat_id b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq)
        return a.seq < b.seq ? -1 : 1;
    return 0;
}

void chat_id_format(struct chat_id id, char out[CHAT_ID_STRLEN])
{
    snprintf(out, CHAT_ID_STRLEN, "%" PRIu64 "-%" PRIu64, id.ms, id.seq);
}

/* Finds a string field. Returns CHAT_OK (with *s NULL when absent and not
 * required), or the error for a missing or non-string field. */
static enum chat_error string_field(json_t *root, const char *name, int required,
                                    const char **s, size_t *len, const char **detail)
{
    json_t *v = json_object_get(root, name);
    *s = NULL;
    *len = 0;
    if (v == NULL) {
        if (required) {
            *detail = name;
            return CHAT_E_MISSING_FIELD;
        }
        return CHAT_OK;
    }
    if (!json_is_string(v)) {
        *detail = name;
        return CHAT_E_BAD_FIELD;
    }
    *s = json_string_value(v);
    *len = json_string_length(v);
    return CHAT_OK;
}

static enum chat_error id_field(json_t *root, const char *name, int *has, struct chat_id *id,
                                const char **detail)
{
    const char *s;
    size_t len;
    enum chat_error e = string_field(root, name, 0, &s, &len, detail);
    if (e != CHAT_OK)
        return e;
    *has = s != NULL;
    if (s && chat_id_parse(s, len, id) != 0) {
        *detail = name;
        return CHAT_E_BAD_FIELD;
    }
    return CHAT_OK;
}

static enum chat_error check_room(struct chat_request *req, const char **detail)
{
    enum chat_error e = string_field(req->root, "room", 1, &req->room, &req->room_len, detail);
    if (e != CHAT_OK)
        return e;
    *detail = "room";
    if (req->room_len > CHAT_ROOM_MAX)
        return CHAT_E_TOO_LONG;
    return chat_room_valid(req->room, req->room_len) ? CHAT_OK : CHAT_E_BAD_NAME;
}

/* The fields each operation takes beyond room. */
static enum chat_error check_fields(struct chat_request *req, const char **detail)
{
    enum chat_error e;
    switch (req->op) {
    case CHAT_JOIN:
        if ((e = string_field(req->root, "nick", 1, &req->nick, &req->nick_len, detail)) != CHAT_OK)
            return e;
        *detail = "nick";
        if (req->nick_len > CHAT_NICK_MAX)
            return CHAT_E_TOO_LONG;
        if (!nick_valid(req->nick, req->nick_len))
            return CHAT_E_BAD_NAME;
        return id_field(req->root, "since", &req->has_since, &req->since, detail);
    case CHAT_SAY:
        if (req->ref == NULL) {
            *detail = "ref";
            return CHAT_E_MISSING_FIELD;
        }
        if ((e = string_field(req->root, "text", 1, &req->text, &req->text_len, detail)) != CHAT_OK)
            return e;
        *detail = "text";
        if (req->text_len > CHAT_TEXT_MAX)
            return CHAT_E_TOO_LONG;
        return req->text_len == 0 ? CHAT_E_BAD_NAME : CHAT_OK;
    case CHAT_HISTORY: {
        json_t *limit = json_object_get(req->root, "limit");
        req->limit = CHAT_LIMIT_DEFAULT;
        if (limit) {
            json_int_t n = json_is_integer(limit) ? json_integer_value(limit) : 0;
            if (n < 1 || n > CHAT_LIMIT_MAX) {
                *detail = "limit";
                return CHAT_E_BAD_FIELD;
            }
            req->limit = (unsigned)n;
        }
        return id_field(req->root, "before", &req->has_before, &req->before, detail);
    }
    case CHAT_LEAVE:
    case CHAT_WHO:
        break;
    }
    return CHAT_OK;
}

/* The string in "op", or NULL. JSON strings may hold NULs (text may): an op
 * with one inside is none of ours, though strcmp would stop at the NUL. */
static const char *op_name(json_t *root)
{
    json_t *op = json_object_get(root, "op");
    const char *name = json_string_value(op);
    return name && strlen(name) == json_string_length(op) ? name : NULL;
}

static enum chat_error check_ref(struct chat_request *req, const char **detail)
{
    json_t *ref = json_object_get(req->root, "ref");
    if (ref == NULL)
        return CHAT_OK;
    *detail = "ref";
    if (json_is_string(ref)) {
        if (json_string_length(ref) > CHAT_REF_MAX)
            return CHAT_E_TOO_LONG;
    } else if (!json_is_integer(ref)) {
        return CHAT_E_BAD_FIELD;
    }
    req->ref = ref;
    return CHAT_OK;
}

enum chat_error chat_parse_request(const char *data, size_t len, struct chat_request *req,
                                   const char **detail)
{
    memset(req, 0, sizeof(*req));
    if (len > CHAT_FRAME_MAX) {
        *detail = "frame over 16384 bytes";
        return CHAT_E_TOO_LONG;
    }
    json_error_t jerr;
    req->root = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (req->root == NULL || !json_is_object(req->root)) {
        *detail = "expected one JSON object";
        return CHAT_E_BAD_JSON;
    }
    enum chat_error e = check_ref(req, detail);
    if (e != CHAT_OK)
        return e;

    const char *name = op_name(req->root);
    size_t i = 0;
    while (name && i < sizeof(ops) / sizeof(ops[0]) && strcmp(ops[i].name, name) != 0)
        i++;
    if (name == NULL || i == sizeof(ops) / sizeof(ops[0])) {
        *detail = "op: expected join, leave, say, history or who";
        return CHAT_E_UNKNOWN_OP;
    }
    req->op = ops[i].op;
    if ((e = check_room(req, detail)) != CHAT_OK)
        return e;
    return check_fields(req, detail);
}

void chat_request_free(struct chat_request *req)
{
    json_decref(req->root);
    req->root = NULL;
}

int chat_parse_live(const char *data, size_t len, struct chat_live *out)
{
    json_t *root = json_loadb(data, len, JSON_ALLOW_NUL, NULL);
    int rc = -1;
    const char *op = op_name(root);
    if (op && strcmp(op, "presence") == 0) {
        out->is_msg = 0;
        rc = 0;
    } else if (op && strcmp(op, "msg") == 0) {
        json_t *id = json_object_get(root, "id");
        out->is_msg = 1;
        if (json_is_string(id) && chat_id_parse(json_string_value(id), json_string_length(id), &out->id) == 0)
            rc = 0;
    }
    json_decref(root);
    return rc;
}

json_t *chat_hello(const char *node)
{
    return json_pack("{s:s, s:s, s:s}", "op", "hello", "node", node, "protocol", CHAT_PROTOCOL);
}

json_t *chat_joined(const char *room, const char *nick, json_t *members, const char *last)
{
    return json_pack("{s:s, s:s, s:s, s:o, s:s}", "op", "joined", "room", room, "nick", nick,
                     "members", members, "last", last);
}

json_t *chat_recovered(const char *room, size_t count, int complete)
{
    return json_pack("{s:s, s:s, s:I, s:b}", "op", "recovered", "room", room, "count",
                     (json_int_t)count, "complete", complete);
}

json_t *chat_ack(json_t *ref, const char *id)
{
    return json_pack("{s:s, s:O, s:s}", "op", "ack", "ref", ref, "id", id);
}

json_t *chat_left(const char *room)
{
    return json_pack("{s:s, s:s}", "op", "left", "room", room);
}

json_t *chat_history(const char *room, json_t *messages, int more)
{
    return json_pack("{s:s, s:s, s:o, s:b}", "op", "history", "room", room, "messages", messages,
                     "more", more);
}

json_t *chat_who(const char *room, json_t *members)
{
    return json_pack("{s:s, s:s, s:o}", "op", "who", "room", room, "members", members);
}

json_t *chat_error(json_t *ref, enum chat_error code, const char *message)
{
    json_t *e = json_pack("{s:s, s:s, s:s}", "op", "error", "code", chat_error_code(code),
                          "message", message);
    if (e && ref && json_object_set(e, "ref", ref) != 0) {
        json_decref(e);
        return NULL;
    }
    return e;
}

json_t *chat_msg(const char *room, const char *id, const char *nick, size_t nick_len,
                 const char *text, size_t text_len, long long ts, const char *node)
{
    return json_pack("{s:s, s:s, s:s, s:s%, s:s%, s:I, s:s}", "op", "msg", "room", room, "id", id,
                     "nick", nick, nick_len, "text", text, text_len, "ts", (json_int_t)ts, "node",
                     node);
}

char *chat_dump(json_t *obj, size_t *len)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    *len = text ? strlen(text) : 0;
    return text;
}
