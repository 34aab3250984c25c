/* fuzz_chat_proto.c — backend/chat-proto.h: the frames of wscale.chat.v1.
 *
 * The bytes are a client frame. chat_parse_request either returns a request
 * whose every field keeps the protocol's limits, or one of the errors a
 * frame alone can cause (never not_joined and the like), its detail naming
 * the field at fault. The parsed JSON dumped and parsed again gives the
 * same answer, and the server's answer built from it (error, msg, ack,
 * joined) reads back with the same values. The same bytes are also read as a message id, which must
 * format back to an id that parses to itself, as a room name, and as a
 * frame from a room's channel. */
#include <string.h>

#include "../../backend/chat-proto.h"
#include "../../shared/utf8.h"
#include "fuzz.h"

static const char *const ops[] = { "join", "leave", "say", "history", "who" };

static int detail_is(const char *detail, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(detail, names[i]) == 0)
            return 1;
    return 0;
}

/* The protocol's room names, written again from its definition. */
static int room_reference(const char *s, size_t len)
{
    static const char allowed[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-";
    if (len < 1 || len > CHAT_ROOM_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '\0' || strchr(allowed, s[i]) == NULL)
            return 0;
    return 1;
}

/* A ref to echo: a string of at most CHAT_REF_MAX bytes, or an integer. */
static void check_ref(json_t *root, json_t *ref)
{
    if (ref == NULL)
        return;
    FUZZ_CHECK(ref == json_object_get(root, "ref"));
    FUZZ_CHECK(json_is_integer(ref) ||
               (json_is_string(ref) && json_string_length(ref) <= CHAT_REF_MAX));
}

/* s[0..len) is the string value of root's field name. */
static void check_points_into(json_t *root, const char *name, const char *s, size_t len)
{
    json_t *v = json_object_get(root, name);
    FUZZ_CHECK(json_is_string(v) && json_string_value(v) == s && json_string_length(v) == len);
    FUZZ_CHECK(utf8_validate((const uint8_t *)s, len) == 0);
}

/* An optional id field: present exactly when has is set, and then it is id. */
static void check_id_field(json_t *root, const char *name, int has, struct chat_id id)
{
    json_t *v = json_object_get(root, name);
    FUZZ_CHECK(has == (v != NULL));
    if (has) {
        struct chat_id again;
        FUZZ_CHECK(chat_id_parse(json_string_value(v), json_string_length(v), &again) == 0);
        FUZZ_CHECK(chat_id_cmp(again, id) == 0);
    }
}

static void check_accepted(const struct chat_request *req)
{
    FUZZ_CHECK(json_is_object(req->root));
    FUZZ_CHECK((unsigned)req->op < sizeof(ops) / sizeof(ops[0]));
    json_t *op = json_object_get(req->root, "op");
    FUZZ_CHECK(json_is_string(op) && json_string_length(op) == strlen(ops[req->op]) &&
               strcmp(json_string_value(op), ops[req->op]) == 0);
    check_ref(req->root, req->ref);

    check_points_into(req->root, "room", req->room, req->room_len);
    FUZZ_CHECK(room_reference(req->room, req->room_len));

    FUZZ_CHECK((req->nick != NULL) == (req->op == CHAT_JOIN));
    if (req->nick) {
        check_points_into(req->root, "nick", req->nick, req->nick_len);
        FUZZ_CHECK(req->nick_len >= 1 && req->nick_len <= CHAT_NICK_MAX);
        for (size_t i = 0; i < req->nick_len; i++)
            FUZZ_CHECK((unsigned char)req->nick[i] >= 0x20 && req->nick[i] != 0x7f);
    }
    FUZZ_CHECK((req->text != NULL) == (req->op == CHAT_SAY));
    if (req->text) {
        check_points_into(req->root, "text", req->text, req->text_len);
        FUZZ_CHECK(req->text_len >= 1 && req->text_len <= CHAT_TEXT_MAX);
        FUZZ_CHECK(req->ref != NULL);
    }
    if (req->op == CHAT_JOIN)
        check_id_field(req->root, "since", req->has_since, req->since);
    else
        FUZZ_CHECK(!req->has_since);
    if (req->op == CHAT_HISTORY) {
        check_id_field(req->root, "before", req->has_before, req->before);
        FUZZ_CHECK(req->limit >= 1 && req->limit <= CHAT_LIMIT_MAX);
        json_t *limit = json_object_get(req->root, "limit");
        FUZZ_CHECK(limit ? json_integer_value(limit) == (json_int_t)req->limit
                         : req->limit == CHAT_LIMIT_DEFAULT);
    } else {
        FUZZ_CHECK(!req->has_before && req->limit == 0);
    }
}

/* A refusal names its field: absent when missing, present when wrong. */
static void check_refused(const struct chat_request *req, enum chat_error e, const char *detail,
                          size_t size)
{
    static const char *const fields[] = { "room", "nick", "text", "ref", "since", "before", "limit" };
    static const char *const strings[] = { "room", "nick", "text", "ref" };
    static const char *const names[] = { "room", "nick", "text" };
    FUZZ_CHECK(detail != NULL && detail[0] != '\0');
    check_ref(req->root, req->ref);
    switch (e) {
    case CHAT_E_BAD_JSON:
        FUZZ_CHECK(req->ref == NULL && !json_is_object(req->root));
        return;
    case CHAT_E_UNKNOWN_OP:
        FUZZ_CHECK(strncmp(detail, "op", 2) == 0);
        return;
    case CHAT_E_TOO_LONG:
        if (size > CHAT_FRAME_MAX) {
            FUZZ_CHECK(req->root == NULL && req->ref == NULL);
            return;
        }
        FUZZ_CHECK(detail_is(detail, strings, 4));
        FUZZ_CHECK(json_is_string(json_object_get(req->root, detail)));
        return;
    case CHAT_E_MISSING_FIELD:
        FUZZ_CHECK(detail_is(detail, strings, 4));
        FUZZ_CHECK(json_object_get(req->root, detail) == NULL);
        return;
    case CHAT_E_BAD_FIELD:
        FUZZ_CHECK(detail_is(detail, fields, 7));
        FUZZ_CHECK(json_object_get(req->root, detail) != NULL);
        return;
    case CHAT_E_BAD_NAME:
        FUZZ_CHECK(detail_is(detail, names, 3));
        FUZZ_CHECK(json_is_string(json_object_get(req->root, detail)));
        return;
    default:
        FUZZ_CHECK(!"an error that needs the server's state");
    }
}

static int same_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* The parsed JSON, dumped and parsed again, gives the same answer. */
static void check_redump(const struct chat_request *req, enum chat_error e, const char *detail)
{
    size_t len;
    char *text = chat_dump(json_incref(req->root), &len);
    FUZZ_CHECK(text != NULL);
    /* Reals may dump longer than written (1e-300 as 1.0000000000000001e-300). */
    if (len > CHAT_FRAME_MAX) {
        free(text);
        return;
    }
    struct chat_request again;
    const char *detail2 = NULL;
    enum chat_error e2 = chat_parse_request(text, len, &again, &detail2);
    FUZZ_CHECK(e2 == e);
    FUZZ_CHECK(e == CHAT_OK || strcmp(detail, detail2) == 0);
    FUZZ_CHECK((req->ref == NULL) == (again.ref == NULL));
    FUZZ_CHECK(req->ref == NULL || json_equal(req->ref, again.ref));
    FUZZ_CHECK(json_equal(req->root, again.root));
    if (e == CHAT_OK) {
        FUZZ_CHECK(again.op == req->op && again.limit == req->limit);
        FUZZ_CHECK(same_bytes(again.room, again.room_len, req->room, req->room_len));
        FUZZ_CHECK((again.nick == NULL) == (req->nick == NULL));
        FUZZ_CHECK(!req->nick || same_bytes(again.nick, again.nick_len, req->nick, req->nick_len));
        FUZZ_CHECK((again.text == NULL) == (req->text == NULL));
        FUZZ_CHECK(!req->text || same_bytes(again.text, again.text_len, req->text, req->text_len));
        FUZZ_CHECK(again.has_since == req->has_since && chat_id_cmp(again.since, req->since) == 0);
        FUZZ_CHECK(again.has_before == req->has_before &&
                   chat_id_cmp(again.before, req->before) == 0);
    }
    chat_request_free(&again);
    free(text);
}

/* frame, dumped and read back (NULs allowed, no duplicate key). */
static json_t *read_back(json_t *frame)
{
    size_t len;
    char *text = chat_dump(frame, &len);
    FUZZ_CHECK(text != NULL && len == strlen(text));
    json_t *back = json_loadb(text, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, NULL);
    FUZZ_CHECK(json_is_object(back));
    free(text);
    return back;
}

static int has_string(json_t *o, const char *name, const char *s, size_t len)
{
    json_t *v = json_object_get(o, name);
    return json_is_string(v) && same_bytes(json_string_value(v), json_string_length(v), s, len);
}

/* The server's answer built from what was parsed reads back with the same
 * values: the error with its ref, or the msg, ack and joined frames. */
static void check_answer(const struct chat_request *req, enum chat_error e, const char *detail)
{
    json_t *o;
    if (e != CHAT_OK) {
        o = read_back(chat_error(req->ref, e, detail));
        FUZZ_CHECK(has_string(o, "code", chat_error_code(e), strlen(chat_error_code(e))));
        FUZZ_CHECK(has_string(o, "message", detail, strlen(detail)));
        json_t *ref = json_object_get(o, "ref");
        FUZZ_CHECK(req->ref ? json_equal(ref, req->ref) : ref == NULL);
        json_decref(o);
        return;
    }
    if (req->op == CHAT_SAY) {
        o = read_back(chat_msg(req->room, "1-0", req->room, req->room_len, req->text,
                               req->text_len, 1, "ws1"));
        FUZZ_CHECK(has_string(o, "text", req->text, req->text_len));
        FUZZ_CHECK(has_string(o, "nick", req->room, req->room_len));
        json_decref(o);
        o = read_back(chat_ack(req->ref, "1-0"));
        FUZZ_CHECK(json_equal(json_object_get(o, "ref"), req->ref));
        json_decref(o);
    } else if (req->op == CHAT_JOIN) {
        json_t *members = json_array();
        FUZZ_CHECK(members && json_array_append_new(members, json_string(req->nick)) == 0);
        o = read_back(chat_joined(req->room, req->nick, members, "0-0"));
        FUZZ_CHECK(has_string(o, "nick", req->nick, req->nick_len));
        json_t *first = json_array_get(json_object_get(o, "members"), 0);
        FUZZ_CHECK(json_is_string(first) && strcmp(json_string_value(first), req->nick) == 0);
        json_decref(o);
    }
}

static void check_request(const char *data, size_t size)
{
    struct chat_request req;
    const char *detail = NULL;
    enum chat_error e = chat_parse_request(data, size, &req, &detail);
    if (size > CHAT_FRAME_MAX)
        FUZZ_CHECK(e == CHAT_E_TOO_LONG);
    if (e == CHAT_OK)
        check_accepted(&req);
    else
        check_refused(&req, e, detail, size);
    if (json_is_object(req.root))
        check_redump(&req, e, detail);
    check_answer(&req, e, detail);
    chat_request_free(&req);
}

/* An id formats to at most CHAT_ID_STRLEN - 1 bytes that parse back to it;
 * without leading zeros it formats back to the very same bytes. */
static void check_id(const char *data, size_t size)
{
    struct chat_id id;
    if (chat_id_parse(data, size, &id) != 0)
        return;
    char out[CHAT_ID_STRLEN];
    chat_id_format(id, out);
    size_t len = strlen(out);
    struct chat_id again;
    FUZZ_CHECK(len < CHAT_ID_STRLEN && chat_id_parse(out, len, &again) == 0);
    FUZZ_CHECK(chat_id_cmp(again, id) == 0 && chat_id_cmp(id, again) == 0);
    const char *dash = memchr(data, '-', size);
    int padded = (data[0] == '0' && dash - data > 1) || (dash[1] == '0' && data + size - dash > 2);
    FUZZ_CHECK(padded || same_bytes(out, len, data, size));
    struct chat_id next = { id.ms, id.seq + 1 }, later = { id.ms + 1, 0 };
    if (next.seq != 0)
        FUZZ_CHECK(chat_id_cmp(id, next) < 0 && chat_id_cmp(next, id) > 0);
    if (later.ms != 0)
        FUZZ_CHECK(chat_id_cmp(id, later) < 0 && chat_id_cmp(later, id) > 0);
}

static void check_live(const char *data, size_t size)
{
    struct chat_live live;
    if (chat_parse_live(data, size, &live) == 0 && live.is_msg) {
        char out[CHAT_ID_STRLEN];
        struct chat_id again;
        chat_id_format(live.id, out);
        FUZZ_CHECK(chat_id_parse(out, strlen(out), &again) == 0);
        FUZZ_CHECK(chat_id_cmp(again, live.id) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    check_request(text, size);
    FUZZ_CHECK(chat_room_valid(text, size) == room_reference(text, size));
    check_id(text, size);
    check_live(text, size);
    return 0;
}
