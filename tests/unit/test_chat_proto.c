/* test_chat_proto.c — backend/chat-proto.h: the wscale.chat.v1 codec.
 * Client frames are checked at the exact limits of the protocol (lengths,
 * character sets, types, stream ids) with the stable error code and the
 * field it names; server frames are dumped and read back with jansson. */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../backend/chat-proto.h"
#include "unit.h"

static struct chat_request req;
static const char *detail;

/* Parses data[0..len) into req (the previous request is freed first). */
static enum chat_error parse_n(const char *data, size_t len)
{
    chat_request_free(&req);
    detail = NULL;
    enum chat_error e = chat_parse_request(data, len, &req, &detail);
    if (e != CHAT_OK)
        CHECK(detail != NULL && detail[0] != '\0');
    return e;
}

static enum chat_error parse(const char *frame)
{
    return parse_n(frame, strlen(frame));
}

/* A frame made with printf formatting (frames here stay below 20000 bytes). */
static const char *frame(const char *fmt, ...)
{
    static char buf[20000];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    CHECK(n >= 0 && (size_t)n < sizeof(buf));
    return buf;
}

/* unit repeated n times. Four buffers in turn, so that one frame() call can
 * use a few of them. */
static const char *repeat(const char *unit, size_t n)
{
    static char bufs[4][20000];
    static unsigned next;
    char *buf = bufs[next++ % 4];
    size_t len = strlen(unit);
    CHECK(len * n < sizeof(bufs[0]));
    for (size_t i = 0; i < n && len * (i + 1) < sizeof(bufs[0]); i++)
        memcpy(buf + i * len, unit, len);
    buf[len * n < sizeof(bufs[0]) ? len * n : 0] = '\0';
    return buf;
}

/* p[0..len) holds exactly the bytes of the string literal lit. */
#define CHECK_BYTES(p, len, lit)                                            \
    CHECK((len) == sizeof(lit) - 1 && (p) != NULL && memcmp((p), (lit), sizeof(lit) - 1) == 0)

#define CHECK_ACCEPTED(text) CHECK_EQ_STR(chat_error_code(parse(text)), "ok")

/* The frame is refused with code, and the detail names field. */
#define CHECK_REFUSED(text, code, field)                                    \
    do {                                                                    \
        CHECK_EQ_STR(chat_error_code(parse(text)), chat_error_code(code));  \
        CHECK_EQ_STR(detail, field);                                        \
    } while (0)

#define CHECK_BAD_JSON(text) CHECK_EQ_STR(chat_error_code(parse(text)), "bad_json")

#define CHECK_UNKNOWN_OP(text)                                              \
    do {                                                                    \
        CHECK_EQ_STR(chat_error_code(parse(text)), "unknown_op");           \
        CHECK(detail != NULL && strncmp(detail, "op", 2) == 0);             \
    } while (0)

/* ---- every operation, accepted ---- */

static void test_join_with_room_and_nick(void)
{
    CHECK_ACCEPTED("{\"op\":\"join\",\"room\":\"lobby\",\"nick\":\"ann\"}");
    CHECK_EQ_INT(req.op, CHAT_JOIN);
    CHECK_BYTES(req.room, req.room_len, "lobby");
    CHECK_BYTES(req.nick, req.nick_len, "ann");
    CHECK_EQ_INT(req.has_since, 0);
    CHECK(req.ref == NULL);
    CHECK(req.root != NULL);
}

static void test_join_with_since(void)
{
    CHECK_ACCEPTED("{\"op\":\"join\",\"room\":\"lobby\",\"nick\":\"ann\","
                   "\"since\":\"1732500000456-7\",\"ref\":\"j1\"}");
    CHECK_EQ_INT(req.op, CHAT_JOIN);
    CHECK_EQ_INT(req.has_since, 1);
    CHECK(req.since.ms == 1732500000456ULL && req.since.seq == 7);
    CHECK(json_is_string(req.ref));
    CHECK_EQ_STR(json_string_value(req.ref), "j1");
}

static void test_leave_takes_a_room(void)
{
    CHECK_ACCEPTED("{\"op\":\"leave\",\"room\":\"r.1\"}");
    CHECK_EQ_INT(req.op, CHAT_LEAVE);
    CHECK_EQ_INT(req.room_len, 3);
    CHECK(req.ref == NULL);
    CHECK_ACCEPTED("{\"op\":\"leave\",\"room\":\"r.1\",\"ref\":-3}");
    CHECK_EQ_INT(json_integer_value(req.ref), -3);
}

static void test_say_with_text_and_ref(void)
{
    CHECK_ACCEPTED("{\"op\":\"say\",\"room\":\"lobby\",\"text\":\"hi\",\"ref\":1}");
    CHECK_EQ_INT(req.op, CHAT_SAY);
    CHECK_BYTES(req.text, req.text_len, "hi");
    CHECK(json_is_integer(req.ref));
    CHECK_EQ_INT(json_integer_value(req.ref), 1);
    CHECK_ACCEPTED("{\"ref\":\"m-1\",\"text\":\"hi\",\"room\":\"lobby\",\"op\":\"say\"}");
    CHECK_EQ_STR(json_string_value(req.ref), "m-1");
}

static void test_history_defaults_to_the_newest_50(void)
{
    CHECK_ACCEPTED("{\"op\":\"history\",\"room\":\"lobby\"}");
    CHECK_EQ_INT(req.op, CHAT_HISTORY);
    CHECK_EQ_INT(req.limit, CHAT_LIMIT_DEFAULT);
    CHECK_EQ_INT(req.limit, 50);
    CHECK_EQ_INT(req.has_before, 0);
}

static void test_history_with_before_and_limit(void)
{
    CHECK_ACCEPTED("{\"op\":\"history\",\"room\":\"lobby\",\"before\":\"12-3\",\"limit\":7}");
    CHECK_EQ_INT(req.op, CHAT_HISTORY);
    CHECK_EQ_INT(req.limit, 7);
    CHECK_EQ_INT(req.has_before, 1);
    CHECK(req.before.ms == 12 && req.before.seq == 3);
}

static void test_who_takes_a_room(void)
{
    CHECK_ACCEPTED("{\"op\":\"who\",\"room\":\"lobby\"}");
    CHECK_EQ_INT(req.op, CHAT_WHO);
    CHECK_EQ_INT(req.room_len, 5);
}

static void test_whitespace_and_fields_of_no_use_are_allowed(void)
{
    CHECK_ACCEPTED(" {\n\t\"op\" : \"who\" , \"room\" : \"lobby\" , \"x\" : [1, {}] }\r\n ");
    CHECK_ACCEPTED("{\"op\":\"who\",\"room\":\"lobby\",\"nick\":5,\"text\":null,\"limit\":0}");
    CHECK_EQ_INT(req.op, CHAT_WHO);
}

/* ---- room ---- */

static void test_room_is_required_by_every_op(void)
{
    CHECK_REFUSED("{\"op\":\"join\",\"nick\":\"ann\"}", CHAT_E_MISSING_FIELD, "room");
    CHECK_REFUSED("{\"op\":\"leave\"}", CHAT_E_MISSING_FIELD, "room");
    CHECK_REFUSED("{\"op\":\"say\",\"text\":\"hi\",\"ref\":1}", CHAT_E_MISSING_FIELD, "room");
    CHECK_REFUSED("{\"op\":\"history\"}", CHAT_E_MISSING_FIELD, "room");
    CHECK_REFUSED("{\"op\":\"who\"}", CHAT_E_MISSING_FIELD, "room");
}

static void test_room_of_64_characters_is_the_longest(void)
{
    CHECK_ACCEPTED(frame("{\"op\":\"who\",\"room\":\"%s\"}", repeat("a", 64)));
    CHECK_EQ_INT(req.room_len, 64);
    CHECK_REFUSED(frame("{\"op\":\"who\",\"room\":\"%s\"}", repeat("a", 65)), CHAT_E_TOO_LONG,
                  "room");
    /* Too long is said before bad characters. */
    CHECK_REFUSED(frame("{\"op\":\"who\",\"room\":\"%s\"}", repeat("!", 65)), CHAT_E_TOO_LONG,
                  "room");
}

static void test_empty_room_is_a_bad_name(void)
{
    CHECK_REFUSED("{\"op\":\"who\",\"room\":\"\"}", CHAT_E_BAD_NAME, "room");
}

/* Every ASCII character, as a JSON escape: only A-Z a-z 0-9 _ . - pass. */
static void test_room_characters_are_letters_digits_underscore_dot_dash(void)
{
    for (unsigned c = 0; c < 0x80; c++) {
        int allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                      (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
        enum chat_error e = parse(frame("{\"op\":\"who\",\"room\":\"a\\u%04x\"}", c));
        if (e != (allowed ? CHAT_OK : CHAT_E_BAD_NAME))
            fprintf(stderr, "  room \"a\\u%04x\": %s\n", c, chat_error_code(e));
        CHECK_EQ_INT(e, allowed ? CHAT_OK : CHAT_E_BAD_NAME);
        if (!allowed)
            CHECK_EQ_STR(detail, "room");
    }
    CHECK_ACCEPTED("{\"op\":\"who\",\"room\":\"AZaz09_.-\"}");
    CHECK_REFUSED("{\"op\":\"who\",\"room\":\"caf\xc3\xa9\"}", CHAT_E_BAD_NAME, "room");
    CHECK_REFUSED("{\"op\":\"who\",\"room\":\"\\u00e9\"}", CHAT_E_BAD_NAME, "room");
    CHECK_REFUSED("{\"op\":\"who\",\"room\":\"\xf0\x9f\x98\x80\"}", CHAT_E_BAD_NAME, "room");
}

static void test_room_must_be_a_string(void)
{
    CHECK_REFUSED("{\"op\":\"who\",\"room\":5}", CHAT_E_BAD_FIELD, "room");
    CHECK_REFUSED("{\"op\":\"who\",\"room\":null}", CHAT_E_BAD_FIELD, "room");
    CHECK_REFUSED("{\"op\":\"who\",\"room\":[\"lobby\"]}", CHAT_E_BAD_FIELD, "room");
    CHECK_REFUSED("{\"op\":\"who\",\"room\":{}}", CHAT_E_BAD_FIELD, "room");
    CHECK_REFUSED("{\"op\":\"who\",\"room\":true}", CHAT_E_BAD_FIELD, "room");
}

static void test_chat_room_valid_alone(void)
{
    CHECK(chat_room_valid("a", 1));
    CHECK(chat_room_valid(repeat("Z", 64), 64));
    CHECK(!chat_room_valid(repeat("Z", 65), 65));
    CHECK(!chat_room_valid("", 0));
    CHECK(!chat_room_valid("a b", 3));
    CHECK(!chat_room_valid("a\0b", 3));
    CHECK(chat_room_valid("ab!", 2)); /* only len bytes are looked at */
}

/* ---- nick ---- */

static void test_nick_is_required_by_join(void)
{
    CHECK_REFUSED("{\"op\":\"join\",\"room\":\"r\"}", CHAT_E_MISSING_FIELD, "nick");
    CHECK_REFUSED("{\"op\":\"join\",\"room\":\"r\",\"nick\":7}", CHAT_E_BAD_FIELD, "nick");
    CHECK_REFUSED("{\"op\":\"join\",\"room\":\"r\",\"nick\":null}", CHAT_E_BAD_FIELD, "nick");
}

static void test_nick_of_32_bytes_is_the_longest(void)
{
    CHECK_ACCEPTED(frame("{\"op\":\"join\",\"room\":\"r\",\"nick\":\"%s\"}", repeat("n", 32)));
    CHECK_EQ_INT(req.nick_len, 32);
    CHECK_REFUSED(frame("{\"op\":\"join\",\"room\":\"r\",\"nick\":\"%s\"}", repeat("n", 33)),
                  CHAT_E_TOO_LONG, "nick");
}

/* The limit is in bytes of UTF-8, not characters. */
static void test_multibyte_nick_at_the_limit(void)
{
    const char *fmt = "{\"op\":\"join\",\"room\":\"r\",\"nick\":\"%s%s\"}";
    CHECK_ACCEPTED(frame(fmt, repeat("\xc3\xa9", 16), ""));               /* 16 x 2 bytes */
    CHECK_EQ_INT(req.nick_len, 32);
    CHECK_REFUSED(frame(fmt, repeat("\xc3\xa9", 16), "a"), CHAT_E_TOO_LONG, "nick");
    CHECK_ACCEPTED(frame(fmt, repeat("\xe2\x82\xac", 10), "ab"));          /* 10 x 3 + 2 */
    CHECK_REFUSED(frame(fmt, repeat("\xe2\x82\xac", 11), ""), CHAT_E_TOO_LONG, "nick");
    CHECK_ACCEPTED(frame(fmt, repeat("\xf0\x9f\x98\x80", 8), ""));         /* 8 x 4 bytes */
    CHECK_REFUSED(frame(fmt, repeat("\xf0\x9f\x98\x80", 8), "!"), CHAT_E_TOO_LONG, "nick");
    /* The same, written as JSON escapes (a surrogate pair for U+1F600). */
    CHECK_ACCEPTED(frame(fmt, repeat("\\ud83d\\ude00", 8), ""));
    CHECK_EQ_INT(req.nick_len, 32);
    CHECK_REFUSED(frame(fmt, repeat("\\u00e9", 17), ""), CHAT_E_TOO_LONG, "nick");
}

static void test_empty_nick_is_a_bad_name(void)
{
    CHECK_REFUSED("{\"op\":\"join\",\"room\":\"r\",\"nick\":\"\"}", CHAT_E_BAD_NAME, "nick");
}

static void test_nick_without_control_characters(void)
{
    const char *fmt = "{\"op\":\"join\",\"room\":\"r\",\"nick\":\"a%sb\"}";
    CHECK_REFUSED(frame(fmt, "\\u0000"), CHAT_E_BAD_NAME, "nick");
    CHECK_REFUSED(frame(fmt, "\\u0001"), CHAT_E_BAD_NAME, "nick");
    CHECK_REFUSED(frame(fmt, "\\t"), CHAT_E_BAD_NAME, "nick");
    CHECK_REFUSED(frame(fmt, "\\n"), CHAT_E_BAD_NAME, "nick");
    CHECK_REFUSED(frame(fmt, "\\u001f"), CHAT_E_BAD_NAME, "nick");
    CHECK_REFUSED(frame(fmt, "\\u007f"), CHAT_E_BAD_NAME, "nick");
    CHECK_REFUSED(frame(fmt, "\x7f"), CHAT_E_BAD_NAME, "nick");
    CHECK_REFUSED(frame("{\"op\":\"join\",\"room\":\"r\",\"nick\":\"\\u0000\"}"), CHAT_E_BAD_NAME,
                  "nick");
    /* The protocol's control characters are U+0000-U+001F and U+007F only. */
    CHECK_ACCEPTED(frame(fmt, " "));
    CHECK_ACCEPTED(frame(fmt, "~"));
    CHECK_ACCEPTED(frame(fmt, "\\u0080"));
    CHECK_ACCEPTED(frame(fmt, "\\\"\\\\/"));
    CHECK_BYTES(req.nick, req.nick_len, "a\"\\/b");
}

/* ---- text ---- */

static void test_text_is_required_by_say(void)
{
    CHECK_REFUSED("{\"op\":\"say\",\"room\":\"r\",\"ref\":1}", CHAT_E_MISSING_FIELD, "text");
    CHECK_REFUSED("{\"op\":\"say\",\"room\":\"r\",\"ref\":1,\"text\":1}", CHAT_E_BAD_FIELD, "text");
    CHECK_REFUSED("{\"op\":\"say\",\"room\":\"r\",\"ref\":1,\"text\":[]}", CHAT_E_BAD_FIELD, "text");
}

static void test_text_of_4096_bytes_is_the_longest(void)
{
    const char *fmt = "{\"op\":\"say\",\"room\":\"r\",\"ref\":1,\"text\":\"%s%s\"}";
    CHECK_ACCEPTED(frame(fmt, repeat("t", 4096), ""));
    CHECK_EQ_INT(req.text_len, 4096);
    CHECK_REFUSED(frame(fmt, repeat("t", 4097), ""), CHAT_E_TOO_LONG, "text");
    CHECK_ACCEPTED(frame(fmt, repeat("\\u20ac", 1365), "a"));   /* 1365 x 3 + 1 */
    CHECK_EQ_INT(req.text_len, 4096);
    CHECK_REFUSED(frame(fmt, repeat("\\u20ac", 1365), "ab"), CHAT_E_TOO_LONG, "text");
}

static void test_empty_text_is_a_bad_name(void)
{
    CHECK_REFUSED("{\"op\":\"say\",\"room\":\"r\",\"ref\":1,\"text\":\"\"}", CHAT_E_BAD_NAME, "text");
}

/* Any text is allowed, control characters and NUL included: its length is
 * the JSON string's, not strlen's. */
static void test_text_may_hold_control_characters_and_nul(void)
{
    CHECK_ACCEPTED("{\"op\":\"say\",\"room\":\"r\",\"ref\":1,\"text\":\"a\\u0000b\\n\\u007f\"}");
    CHECK_BYTES(req.text, req.text_len, "a\0b\n\x7f");
    CHECK_ACCEPTED("{\"op\":\"say\",\"room\":\"r\",\"ref\":1,\"text\":\"\\u0000\"}");
    CHECK_EQ_INT(req.text_len, 1);
}

/* ---- ref ---- */

static void test_say_requires_a_ref(void)
{
    CHECK_REFUSED("{\"op\":\"say\",\"room\":\"r\",\"text\":\"hi\"}", CHAT_E_MISSING_FIELD, "ref");
}

static void test_string_ref_of_64_bytes_is_the_longest(void)
{
    const char *fmt = "{\"op\":\"who\",\"room\":\"r\",\"ref\":\"%s%s\"}";
    CHECK_ACCEPTED(frame(fmt, repeat("x", 64), ""));
    CHECK_EQ_INT(json_string_length(req.ref), 64);
    CHECK_REFUSED(frame(fmt, repeat("x", 65), ""), CHAT_E_TOO_LONG, "ref");
    CHECK(req.ref == NULL);
    CHECK_ACCEPTED(frame(fmt, repeat("\xc3\xa9", 32), ""));
    CHECK_REFUSED(frame(fmt, repeat("\xc3\xa9", 32), "x"), CHAT_E_TOO_LONG, "ref");
    CHECK_ACCEPTED(frame(fmt, "", ""));
    CHECK_EQ_STR(json_string_value(req.ref), "");
}

static void test_integer_refs(void)
{
    CHECK_ACCEPTED("{\"op\":\"who\",\"room\":\"r\",\"ref\":0}");
    CHECK_EQ_INT(json_integer_value(req.ref), 0);
    CHECK_ACCEPTED("{\"op\":\"who\",\"room\":\"r\",\"ref\":-42}");
    CHECK_EQ_INT(json_integer_value(req.ref), -42);
    CHECK_ACCEPTED("{\"op\":\"who\",\"room\":\"r\",\"ref\":9223372036854775807}");
    CHECK(json_integer_value(req.ref) == INT64_MAX);
}

static void test_ref_of_another_type_is_a_bad_field(void)
{
    const char *fmt = "{\"op\":\"say\",\"room\":\"r\",\"text\":\"hi\",\"ref\":%s}";
    static const char *const refs[] = { "1.5", "1.0", "1e3", "true", "false", "null", "{}",
                                        "{\"id\":1}", "[]", "[1]" };
    for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
        CHECK_REFUSED(frame(fmt, refs[i]), CHAT_E_BAD_FIELD, "ref");
        CHECK(req.ref == NULL);
    }
}

/* An error frame echoes the ref once the ref itself was found valid. */
static void test_ref_is_kept_on_later_errors(void)
{
    CHECK_REFUSED("{\"op\":\"say\",\"room\":\"r\",\"ref\":7}", CHAT_E_MISSING_FIELD, "text");
    CHECK(json_is_integer(req.ref) && json_integer_value(req.ref) == 7);
    CHECK_REFUSED("{\"op\":\"join\",\"room\":\"a b\",\"nick\":\"n\",\"ref\":\"j\"}", CHAT_E_BAD_NAME,
                  "room");
    CHECK_EQ_STR(json_string_value(req.ref), "j");
    CHECK_UNKNOWN_OP("{\"op\":\"shout\",\"ref\":3}");
    CHECK_EQ_INT(json_integer_value(req.ref), 3);
    CHECK_REFUSED("{\"op\":\"history\",\"room\":\"r\",\"limit\":0,\"ref\":\"h\"}", CHAT_E_BAD_FIELD,
                  "limit");
    CHECK_EQ_STR(json_string_value(req.ref), "h");
    CHECK_REFUSED("{\"op\":\"join\",\"room\":\"r\",\"nick\":\"n\",\"since\":\"x\",\"ref\":0}",
                  CHAT_E_BAD_FIELD, "since");
    CHECK(json_is_integer(req.ref));
}

/* ---- limit ---- */

static void test_limit_from_1_to_100(void)
{
    const char *fmt = "{\"op\":\"history\",\"room\":\"r\",\"limit\":%s}";
    CHECK_ACCEPTED(frame(fmt, "1"));
    CHECK_EQ_INT(req.limit, 1);
    CHECK_ACCEPTED(frame(fmt, "100"));
    CHECK_EQ_INT(req.limit, 100);
    static const char *const bad[] = { "0", "101", "-1", "9223372036854775807",
                                       "-9223372036854775807", "1.5", "50.0", "5e1",
                                       "\"10\"", "true", "null", "[10]" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_REFUSED(frame(fmt, bad[i]), CHAT_E_BAD_FIELD, "limit");
}

/* ---- since and before ---- */

static void test_since_and_before_take_message_ids(void)
{
    const char *join = "{\"op\":\"join\",\"room\":\"r\",\"nick\":\"n\",\"since\":\"%s\"}";
    const char *hist = "{\"op\":\"history\",\"room\":\"r\",\"before\":\"%s\"}";
    CHECK_ACCEPTED(frame(join, "0-0"));
    CHECK(req.has_since && req.since.ms == 0 && req.since.seq == 0);
    CHECK_ACCEPTED(frame(join, "18446744073709551615-18446744073709551615"));
    CHECK(req.since.ms == UINT64_MAX && req.since.seq == UINT64_MAX);
    CHECK_ACCEPTED(frame(hist, "1732500000123-0"));
    CHECK(req.has_before && req.before.ms == 1732500000123ULL && req.before.seq == 0);
}

static void test_malformed_ids_are_bad_fields(void)
{
    static const char *const bad[] = {
        "", "1", "-", "1-", "-1", "a-1", "1-a", "1-1-1", "1--1", "1.5-0", "0x1-0",
        "18446744073709551616-0", "0-18446744073709551616", "99999999999999999999-0",
        "+1-0", "1-+0", " 1-0", "1 -0", "1- 0", "1-0 ", "-1-0", "1-0\\u0000",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_REFUSED(frame("{\"op\":\"join\",\"room\":\"r\",\"nick\":\"n\",\"since\":\"%s\"}", bad[i]),
                      CHAT_E_BAD_FIELD, "since");
        CHECK_REFUSED(frame("{\"op\":\"history\",\"room\":\"r\",\"before\":\"%s\"}", bad[i]),
                      CHAT_E_BAD_FIELD, "before");
    }
    CHECK_REFUSED("{\"op\":\"join\",\"room\":\"r\",\"nick\":\"n\",\"since\":5}", CHAT_E_BAD_FIELD,
                  "since");
    CHECK_REFUSED("{\"op\":\"history\",\"room\":\"r\",\"before\":null}", CHAT_E_BAD_FIELD, "before");
}

/* ---- JSON and op ---- */

static void test_duplicate_keys_are_bad_json(void)
{
    CHECK_BAD_JSON("{\"op\":\"who\",\"op\":\"who\",\"room\":\"r\"}");
    CHECK_BAD_JSON("{\"op\":\"who\",\"room\":\"r\",\"room\":\"s\"}");
    CHECK_BAD_JSON("{\"op\":\"say\",\"room\":\"r\",\"text\":\"a\",\"ref\":1,\"ref\":2}");
}

static void test_anything_but_one_object_is_bad_json(void)
{
    static const char *const bad[] = {
        "", " ", "[]", "[{\"op\":\"who\",\"room\":\"r\"}]", "\"who\"", "42", "null", "true",
        "{", "{\"op\":\"who\",\"room\":\"r\"", "{'op':'who'}", "{op:\"who\"}",
        "{\"op\":\"who\",\"room\":\"r\",}",
        "{\"op\":\"who\",\"room\":\"r\"} x", "{\"op\":\"who\",\"room\":\"r\"}{}",
        "{\"op\":\"who\",\"room\":\"r\"}}", "{\"op\":\"who\",\"room\":\"r\",\"x\":NaN}",
        "{\"op\":\"who\",\"room\":\"\\ud800\"}",            /* a lone surrogate */
        "{\"op\":\"who\",\"room\":\"r\",\"x\":\"\xff\"}",   /* not UTF-8 */
        "{\"op\":\"who\",\"room\":\"r\",\"x\":\"\xc0\xaf\"}", /* overlong */
        "\xef\xbb\xbf{\"op\":\"who\",\"room\":\"r\"}",      /* a BOM */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i]) != CHAT_E_BAD_JSON)
            fprintf(stderr, "  not bad_json: %s\n", bad[i]);
        CHECK_BAD_JSON(bad[i]);
        CHECK(req.ref == NULL);
    }
    CHECK_EQ_INT(parse_n("{\"op\":\"who\",\"room\":\"r\"}\0", 24), CHAT_E_BAD_JSON);
}

/* The whole frame counts, whitespace included. */
static void test_frame_of_16384_bytes_is_the_longest(void)
{
    static char buf[CHAT_FRAME_MAX + 2];
    const char *obj = "{\"op\":\"who\",\"room\":\"r\"}";
    memset(buf, ' ', sizeof(buf));
    memcpy(buf, obj, strlen(obj));
    CHECK_EQ_INT(parse_n(buf, CHAT_FRAME_MAX), CHAT_OK);
    CHECK_EQ_INT(parse_n(buf, CHAT_FRAME_MAX + 1), CHAT_E_TOO_LONG);
    CHECK(detail != NULL && strstr(detail, "frame") != NULL);
    CHECK(req.root == NULL && req.ref == NULL);
}

static void test_op_must_be_one_of_the_five(void)
{
    CHECK_UNKNOWN_OP("{\"room\":\"r\"}");
    CHECK_UNKNOWN_OP("{}");
    CHECK_UNKNOWN_OP("{\"op\":\"shout\",\"room\":\"r\"}");
    CHECK_UNKNOWN_OP("{\"op\":\"JOIN\",\"room\":\"r\",\"nick\":\"n\"}");
    CHECK_UNKNOWN_OP("{\"op\":\"joi\",\"room\":\"r\",\"nick\":\"n\"}");
    CHECK_UNKNOWN_OP("{\"op\":\"joins\",\"room\":\"r\",\"nick\":\"n\"}");
    CHECK_UNKNOWN_OP("{\"op\":\" who\",\"room\":\"r\"}");
    CHECK_UNKNOWN_OP("{\"op\":\"who\\u0000\",\"room\":\"r\"}");
    CHECK_UNKNOWN_OP("{\"op\":\"\",\"room\":\"r\"}");
    CHECK_UNKNOWN_OP("{\"op\":\"msg\",\"room\":\"r\"}");
    CHECK_UNKNOWN_OP("{\"op\":\"hello\"}");
    CHECK_UNKNOWN_OP("{\"op\":1,\"room\":\"r\"}");
    CHECK_UNKNOWN_OP("{\"op\":null,\"room\":\"r\"}");
    CHECK_UNKNOWN_OP("{\"op\":[\"who\"],\"room\":\"r\"}");
    CHECK_UNKNOWN_OP("{\"Op\":\"who\",\"room\":\"r\"}");
}

static void test_every_error_has_its_stable_code(void)
{
    CHECK_EQ_STR(chat_error_code(CHAT_OK), "ok");
    CHECK_EQ_STR(chat_error_code(CHAT_E_BAD_JSON), "bad_json");
    CHECK_EQ_STR(chat_error_code(CHAT_E_UNKNOWN_OP), "unknown_op");
    CHECK_EQ_STR(chat_error_code(CHAT_E_MISSING_FIELD), "missing_field");
    CHECK_EQ_STR(chat_error_code(CHAT_E_BAD_FIELD), "bad_field");
    CHECK_EQ_STR(chat_error_code(CHAT_E_TOO_LONG), "too_long");
    CHECK_EQ_STR(chat_error_code(CHAT_E_BAD_NAME), "bad_name");
    CHECK_EQ_STR(chat_error_code(CHAT_E_NOT_JOINED), "not_joined");
    CHECK_EQ_STR(chat_error_code(CHAT_E_ALREADY_JOINED), "already_joined");
    CHECK_EQ_STR(chat_error_code(CHAT_E_TOO_MANY_ROOMS), "too_many_rooms");
    CHECK_EQ_STR(chat_error_code(CHAT_E_RATE_LIMITED), "rate_limited");
    CHECK_EQ_STR(chat_error_code(CHAT_E_UNAVAILABLE), "unavailable");
}

/* ---- message ids ---- */

static struct chat_id id_of(const char *s)
{
    struct chat_id id = { 12345, 678 };
    CHECK_EQ_INT(chat_id_parse(s, strlen(s), &id), 0);
    return id;
}

static const char *text_of(struct chat_id id)
{
    static char out[CHAT_ID_STRLEN];
    chat_id_format(id, out);
    return out;
}

static void test_ids_format_and_parse_back(void)
{
    static const char *const ids[] = {
        "0-0", "1-0", "0-1", "1732500000123-0", "1732500000123-42",
        "18446744073709551615-0", "0-18446744073709551615",
        "18446744073709551615-18446744073709551615",
    };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        CHECK_EQ_STR(text_of(id_of(ids[i])), ids[i]);
    struct chat_id max = { UINT64_MAX, UINT64_MAX };
    CHECK_EQ_INT(strlen(text_of(max)), CHAT_ID_STRLEN - 1);
    CHECK_EQ_INT(chat_id_cmp(id_of(text_of(max)), max), 0);
}

static void test_id_parse_reads_only_len_bytes(void)
{
    struct chat_id id;
    CHECK_EQ_INT(chat_id_parse("12-34xyz", 5, &id), 0);
    CHECK(id.ms == 12 && id.seq == 34);
    CHECK_EQ_INT(chat_id_parse("12-34", 3, &id), -1);
    CHECK_EQ_INT(chat_id_parse("-", 0, &id), -1);
    CHECK_EQ_INT(chat_id_parse("1\0-2", 4, &id), -1);
    CHECK_EQ_INT(chat_id_parse("1-2\0", 4, &id), -1);
}

static void test_malformed_ids_do_not_parse(void)
{
    static const char *const bad[] = {
        "", "1", "-", "1-", "-1", "a-1", "1-a", "1-1-1", "+1-0", "1-+0", " 1-0", "1-0 ",
        "18446744073709551616-0", "0-18446744073709551616", "184467440737095516150-0",
        "1e3-0",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct chat_id id;
        if (chat_id_parse(bad[i], strlen(bad[i]), &id) != -1)
            fprintf(stderr, "  \"%s\" parsed\n", bad[i]);
        CHECK_EQ_INT(chat_id_parse(bad[i], strlen(bad[i]), &id), -1);
    }
}

static void test_ids_compare_by_ms_then_seq(void)
{
    CHECK_EQ_INT(chat_id_cmp(id_of("1-0"), id_of("1-0")), 0);
    CHECK_EQ_INT(chat_id_cmp(id_of("1-0"), id_of("1-1")), -1);
    CHECK_EQ_INT(chat_id_cmp(id_of("1-1"), id_of("1-0")), 1);
    CHECK_EQ_INT(chat_id_cmp(id_of("1-99"), id_of("2-0")), -1);
    CHECK_EQ_INT(chat_id_cmp(id_of("2-0"), id_of("1-99")), 1);
    CHECK_EQ_INT(chat_id_cmp(id_of("0-0"), id_of("18446744073709551615-18446744073709551615")), -1);
    CHECK_EQ_INT(chat_id_cmp(id_of("18446744073709551615-0"), id_of("0-18446744073709551615")), 1);
    CHECK_EQ_INT(chat_id_cmp(id_of("5-18446744073709551615"), id_of("5-0")), 1);
}

/* ---- frames from a room's channel ---- */

static int live(const char *text, struct chat_live *out)
{
    return chat_parse_live(text, strlen(text), out);
}

static void test_live_msg_carries_its_id(void)
{
    struct chat_live l = { 0, { 0, 0 } };
    CHECK_EQ_INT(live("{\"op\":\"msg\",\"room\":\"r\",\"id\":\"1732500000456-3\",\"nick\":\"ann\","
                      "\"text\":\"hi\",\"ts\":1732500000456,\"node\":\"ws1\"}", &l), 0);
    CHECK_EQ_INT(l.is_msg, 1);
    CHECK(l.id.ms == 1732500000456ULL && l.id.seq == 3);
    /* Redis's cjson writes "/" as "\/" and NUL as "\u0000". */
    CHECK_EQ_INT(live("{\"op\":\"msg\",\"id\":\"7-0\",\"text\":\"a\\/b\\u0000\"}", &l), 0);
    CHECK(l.is_msg && l.id.ms == 7 && l.id.seq == 0);
}

static void test_live_msg_without_a_valid_id_is_refused(void)
{
    struct chat_live l;
    CHECK_EQ_INT(live("{\"op\":\"msg\",\"room\":\"r\",\"text\":\"hi\"}", &l), -1);
    CHECK_EQ_INT(live("{\"op\":\"msg\",\"id\":\"x-1\"}", &l), -1);
    CHECK_EQ_INT(live("{\"op\":\"msg\",\"id\":\"1-\"}", &l), -1);
    CHECK_EQ_INT(live("{\"op\":\"msg\",\"id\":17}", &l), -1);
    CHECK_EQ_INT(live("{\"op\":\"msg\",\"id\":null}", &l), -1);
}

static void test_live_presence(void)
{
    struct chat_live l = { 1, { 0, 0 } };
    CHECK_EQ_INT(live("{\"op\":\"presence\",\"room\":\"r\",\"event\":\"join\",\"nick\":\"ann\"}", &l),
                 0);
    CHECK_EQ_INT(l.is_msg, 0);
}

static void test_live_other_frames_are_refused(void)
{
    static const char *const bad[] = {
        "{\"op\":\"joined\",\"room\":\"r\"}", "{\"op\":\"error\",\"code\":\"x\"}",
        "{\"op\":\"msgs\",\"id\":\"1-0\"}", "{\"op\":\"msg\\u0000\",\"id\":\"1-0\"}",
        "{\"op\":1}", "{\"id\":\"1-0\"}", "{}", "[\"msg\"]", "\"presence\"", "", "1:hello",
        "{\"op\":\"presence\"", "{\"op\":\"presence\"} x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct chat_live l;
        if (live(bad[i], &l) != -1)
            fprintf(stderr, "  accepted: %s\n", bad[i]);
        CHECK_EQ_INT(live(bad[i], &l), -1);
    }
}

/* ---- frames from the server, read back ---- */

/* obj dumped by chat_dump and parsed again (NULs allowed, no duplicate key). */
static json_t *read_back(json_t *obj)
{
    size_t len = 12345;
    char *text = chat_dump(obj, &len);
    CHECK(text != NULL);
    if (text == NULL)
        return json_object();
    CHECK_EQ_INT(len, strlen(text));
    json_error_t err;
    json_t *back = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    if (back == NULL)
        fprintf(stderr, "  not JSON: %s (%s)\n", text, err.text);
    free(text);
    CHECK(json_is_object(back));
    return back ? back : json_object();
}

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    CHECK(json_is_string(v));
    return json_is_string(v) ? json_string_value(v) : "(not a string)";
}

static long long integer(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    CHECK(json_is_integer(v));
    return json_integer_value(v);
}

static json_t *array_of_strings(const char *a, const char *b)
{
    json_t *arr = json_array();
    json_array_append_new(arr, json_string(a));
    json_array_append_new(arr, json_string(b));
    return arr;
}

static void test_hello_text(void)
{
    size_t len;
    char *text = chat_dump(chat_hello("ws1"), &len);
    CHECK_EQ_STR(text, "{\"op\":\"hello\",\"node\":\"ws1\",\"protocol\":\"wscale.chat.v1\"}");
    CHECK_EQ_INT(len, text ? strlen(text) : 0);
    free(text);
}

static void test_joined_frame(void)
{
    json_t *o = read_back(chat_joined("lobby", "ann", array_of_strings("ann", "bob"), "0-0"));
    CHECK_EQ_INT(json_object_size(o), 5);
    CHECK_EQ_STR(str(o, "op"), "joined");
    CHECK_EQ_STR(str(o, "room"), "lobby");
    CHECK_EQ_STR(str(o, "nick"), "ann");
    CHECK_EQ_STR(str(o, "last"), "0-0");
    json_t *members = json_object_get(o, "members");
    CHECK(json_is_array(members) && json_array_size(members) == 2);
    CHECK_EQ_STR(json_string_value(json_array_get(members, 0)), "ann");
    CHECK_EQ_STR(json_string_value(json_array_get(members, 1)), "bob");
    json_decref(o);
}

static void test_recovered_frame(void)
{
    json_t *o = read_back(chat_recovered("lobby", 3, 1));
    CHECK_EQ_INT(json_object_size(o), 4);
    CHECK_EQ_STR(str(o, "op"), "recovered");
    CHECK_EQ_STR(str(o, "room"), "lobby");
    CHECK_EQ_INT(integer(o, "count"), 3);
    CHECK(json_is_true(json_object_get(o, "complete")));
    json_decref(o);
    o = read_back(chat_recovered("lobby", 0, 0));
    CHECK_EQ_INT(integer(o, "count"), 0);
    CHECK(json_is_false(json_object_get(o, "complete")));
    json_decref(o);
}

static void test_ack_echoes_the_ref_with_its_type(void)
{
    json_t *ref = json_integer(1);
    json_t *o = read_back(chat_ack(ref, "1732500000456-0"));
    json_decref(ref); /* chat_ack takes a reference of its own */
    CHECK_EQ_INT(json_object_size(o), 3);
    CHECK_EQ_STR(str(o, "op"), "ack");
    CHECK_EQ_INT(integer(o, "ref"), 1);
    CHECK_EQ_STR(str(o, "id"), "1732500000456-0");
    json_decref(o);

    ref = json_string("m\"1\\");
    o = read_back(chat_ack(ref, "2-0"));
    json_decref(ref);
    CHECK_EQ_STR(str(o, "ref"), "m\"1\\");
    json_decref(o);
}

static void test_left_who_and_history_frames(void)
{
    json_t *o = read_back(chat_left("r.1"));
    CHECK_EQ_INT(json_object_size(o), 2);
    CHECK_EQ_STR(str(o, "op"), "left");
    CHECK_EQ_STR(str(o, "room"), "r.1");
    json_decref(o);

    o = read_back(chat_who("r.1", array_of_strings("a", "b")));
    CHECK_EQ_INT(json_object_size(o), 3);
    CHECK_EQ_STR(str(o, "op"), "who");
    CHECK(json_is_array(json_object_get(o, "members")));
    CHECK_EQ_INT(json_array_size(json_object_get(o, "members")), 2);
    json_decref(o);

    json_t *messages = json_array();
    json_array_append_new(messages, chat_msg("r.1", "5-0", "ann", 3, "hi", 2, 5, "ws1"));
    o = read_back(chat_history("r.1", messages, 1));
    CHECK_EQ_INT(json_object_size(o), 4);
    CHECK_EQ_STR(str(o, "op"), "history");
    CHECK_EQ_STR(str(o, "room"), "r.1");
    CHECK(json_is_true(json_object_get(o, "more")));
    json_t *m = json_array_get(json_object_get(o, "messages"), 0);
    CHECK_EQ_INT(json_array_size(json_object_get(o, "messages")), 1);
    CHECK_EQ_STR(str(m, "op"), "msg");
    CHECK_EQ_STR(str(m, "id"), "5-0");
    CHECK_EQ_INT(integer(m, "ts"), 5);
    json_decref(o);

    o = read_back(chat_history("r.1", json_array(), 0));
    CHECK(json_is_false(json_object_get(o, "more")));
    CHECK_EQ_INT(json_array_size(json_object_get(o, "messages")), 0);
    json_decref(o);
}

static void test_error_frame_with_and_without_ref(void)
{
    json_t *o = read_back(chat_error(NULL, CHAT_E_BAD_JSON, "expected one JSON object"));
    CHECK_EQ_INT(json_object_size(o), 3);
    CHECK_EQ_STR(str(o, "op"), "error");
    CHECK_EQ_STR(str(o, "code"), "bad_json");
    CHECK_EQ_STR(str(o, "message"), "expected one JSON object");
    CHECK(json_object_get(o, "ref") == NULL);
    json_decref(o);

    json_t *ref = json_integer(-9);
    o = read_back(chat_error(ref, CHAT_E_NOT_JOINED, "room"));
    json_decref(ref);
    CHECK_EQ_INT(json_object_size(o), 4);
    CHECK_EQ_STR(str(o, "code"), "not_joined");
    CHECK_EQ_INT(integer(o, "ref"), -9);
    json_decref(o);

    ref = json_string("x");
    o = read_back(chat_error(ref, CHAT_E_UNAVAILABLE, "redis is not reachable"));
    json_decref(ref);
    CHECK_EQ_STR(str(o, "ref"), "x");
    CHECK_EQ_STR(str(o, "code"), "unavailable");
    json_decref(o);
}

/* The ref a parse kept is what the error frame echoes. */
static void test_error_frame_echoes_a_parsed_ref(void)
{
    CHECK_REFUSED("{\"op\":\"say\",\"room\":\"r\",\"ref\":\"q\\\"1\"}", CHAT_E_MISSING_FIELD, "text");
    json_t *o = read_back(chat_error(req.ref, CHAT_E_MISSING_FIELD, detail));
    CHECK_EQ_STR(str(o, "ref"), "q\"1");
    CHECK_EQ_STR(str(o, "message"), "text");
    json_decref(o);
}

static void test_msg_frame_keeps_every_byte(void)
{
    static const char nick[] = "\xc3\xa9l\xc3\xa8ve \"q\" \\";
    static const char text[] = "a\0b \"quoted\" back\\slash \xe2\x82\xac \xf0\x9f\x98\x80\n";
    size_t nick_len = sizeof(nick) - 1, text_len = sizeof(text) - 1;
    json_t *o = read_back(chat_msg("lobby", "1732500000456-0", nick, nick_len, text, text_len,
                                   1732500000456LL, "ws1"));
    CHECK_EQ_INT(json_object_size(o), 7);
    CHECK_EQ_STR(str(o, "op"), "msg");
    CHECK_EQ_STR(str(o, "room"), "lobby");
    CHECK_EQ_STR(str(o, "id"), "1732500000456-0");
    CHECK_EQ_STR(str(o, "node"), "ws1");
    CHECK_EQ_INT(integer(o, "ts"), 1732500000456LL);
    json_t *n = json_object_get(o, "nick"), *t = json_object_get(o, "text");
    CHECK(json_string_length(n) == nick_len && memcmp(json_string_value(n), nick, nick_len) == 0);
    CHECK(json_string_length(t) == text_len && memcmp(json_string_value(t), text, text_len) == 0);
    json_decref(o);
}

/* Only the given length of nick and text is taken. */
static void test_msg_frame_takes_lengths_from_the_caller(void)
{
    json_t *o = read_back(chat_msg("r", "1-0", "annXX", 3, "hello!", 5, 0, "n"));
    CHECK_EQ_STR(str(o, "nick"), "ann");
    CHECK_EQ_STR(str(o, "text"), "hello");
    CHECK_EQ_INT(integer(o, "ts"), 0);
    json_decref(o);
}

/* A builder that fails still releases what it was given (run under ASan). */
static void test_builders_fail_cleanly(void)
{
    CHECK(chat_joined("\xff", "ann", array_of_strings("a", "b"), "0-0") == NULL);
    CHECK(chat_who(NULL, array_of_strings("a", "b")) == NULL);
    CHECK(chat_history("\xc3", json_array(), 1) == NULL);
    CHECK(chat_msg("r", "1-0", "\xff", 1, "t", 1, 0, "n") == NULL);
    size_t len = 7;
    CHECK(chat_dump(NULL, &len) == NULL);
    CHECK_EQ_INT(len, 0);
}

int main(void)
{
    RUN(test_join_with_room_and_nick);
    RUN(test_join_with_since);
    RUN(test_leave_takes_a_room);
    RUN(test_say_with_text_and_ref);
    RUN(test_history_defaults_to_the_newest_50);
    RUN(test_history_with_before_and_limit);
    RUN(test_who_takes_a_room);
    RUN(test_whitespace_and_fields_of_no_use_are_allowed);
    RUN(test_room_is_required_by_every_op);
    RUN(test_room_of_64_characters_is_the_longest);
    RUN(test_empty_room_is_a_bad_name);
    RUN(test_room_characters_are_letters_digits_underscore_dot_dash);
    RUN(test_room_must_be_a_string);
    RUN(test_chat_room_valid_alone);
    RUN(test_nick_is_required_by_join);
    RUN(test_nick_of_32_bytes_is_the_longest);
    RUN(test_multibyte_nick_at_the_limit);
    RUN(test_empty_nick_is_a_bad_name);
    RUN(test_nick_without_control_characters);
    RUN(test_text_is_required_by_say);
    RUN(test_text_of_4096_bytes_is_the_longest);
    RUN(test_empty_text_is_a_bad_name);
    RUN(test_text_may_hold_control_characters_and_nul);
    RUN(test_say_requires_a_ref);
    RUN(test_string_ref_of_64_bytes_is_the_longest);
    RUN(test_integer_refs);
    RUN(test_ref_of_another_type_is_a_bad_field);
    RUN(test_ref_is_kept_on_later_errors);
    RUN(test_limit_from_1_to_100);
    RUN(test_since_and_before_take_message_ids);
    RUN(test_malformed_ids_are_bad_fields);
    RUN(test_duplicate_keys_are_bad_json);
    RUN(test_anything_but_one_object_is_bad_json);
    RUN(test_frame_of_16384_bytes_is_the_longest);
    RUN(test_op_must_be_one_of_the_five);
    RUN(test_every_error_has_its_stable_code);
    RUN(test_ids_format_and_parse_back);
    RUN(test_id_parse_reads_only_len_bytes);
    RUN(test_malformed_ids_do_not_parse);
    RUN(test_ids_compare_by_ms_then_seq);
    RUN(test_live_msg_carries_its_id);
    RUN(test_live_msg_without_a_valid_id_is_refused);
    RUN(test_live_presence);
    RUN(test_live_other_frames_are_refused);
    RUN(test_hello_text);
    RUN(test_joined_frame);
    RUN(test_recovered_frame);
    RUN(test_ack_echoes_the_ref_with_its_type);
    RUN(test_left_who_and_history_frames);
    RUN(test_error_frame_with_and_without_ref);
    RUN(test_error_frame_echoes_a_parsed_ref);
    RUN(test_msg_frame_keeps_every_byte);
    RUN(test_msg_frame_takes_lengths_from_the_caller);
    RUN(test_builders_fail_cleanly);
    chat_request_free(&req);
    return unit_report("chat-proto");
}
