/* fuzz_ws.c — shared/ws.h: the streaming frame reader, and the frame-header
 * encoder read back by it.
 *
 * The first input byte picks the reader's configuration (server or client,
 * binary accepted or not, a small or large message limit); the rest is the
 * stream. Read in one buffer or in pieces sized by the input, the reader
 * must report the same events with the same payloads, never consume more
 * than it is given, and only report what RFC 6455 allows: valid close codes,
 * UTF-8 text, control payloads of at most 125 bytes. */
#include <string.h>

#include "../../shared/ws.h"
#include "fuzz.h"

/* An event, reduced to what both readings must share. */
struct seen {
    enum ws_event_type type;
    int opcode;
    size_t len;
    uint64_t hash; /* of the payload */
    unsigned close_code;
};

struct reading {
    struct seen *ev;
    size_t n, cap;
    size_t consumed;
};

static uint64_t hash(const uint8_t *p, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static int is_error_code(unsigned code)
{
    return code == WS_CLOSE_PROTOCOL_ERROR || code == WS_CLOSE_UNSUPPORTED_DATA ||
           code == WS_CLOSE_INVALID_PAYLOAD || code == WS_CLOSE_TOO_BIG ||
           code == WS_CLOSE_INTERNAL_ERROR;
}

/* What holds of every event on its own. */
static void check_event(const struct ws_reader_config *cfg, const struct ws_event *ev)
{
    switch (ev->type) {
    case WS_EV_MESSAGE:
        FUZZ_CHECK(ev->opcode == WS_OP_TEXT || ev->opcode == WS_OP_BINARY);
        FUZZ_CHECK(ev->opcode == WS_OP_TEXT || cfg->accept_binary);
        FUZZ_CHECK(ev->len <= cfg->max_message);
        if (ev->opcode == WS_OP_TEXT)
            FUZZ_CHECK(utf8_validate(ev->data, ev->len) == 0);
        break;
    case WS_EV_PING:
    case WS_EV_PONG:
        FUZZ_CHECK(ev->len <= WS_MAX_CONTROL_PAYLOAD);
        break;
    case WS_EV_CLOSE:
        FUZZ_CHECK(ev->len <= WS_MAX_CONTROL_PAYLOAD - 2);
        if (ev->close_code == WS_CLOSE_NO_STATUS)
            FUZZ_CHECK(ev->len == 0);
        else
            FUZZ_CHECK(ws_close_code_sendable(ev->close_code));
        FUZZ_CHECK(utf8_validate(ev->data, ev->len) == 0);
        break;
    case WS_EV_ERROR:
        FUZZ_CHECK(is_error_code(ev->close_code) && ev->error != NULL);
        break;
    case WS_EV_NONE:
        break;
    }
}

/* Reads buf[0..len) in pieces of the sizes piece_sizes gives (one piece
 * when there are none), recording every event until the first error. */
static void read_stream(const struct ws_reader_config *cfg, uint8_t *buf, size_t len,
                        const uint8_t *piece_sizes, size_t nsizes, struct reading *out)
{
    struct ws_reader r;
    ws_reader_init(&r, cfg);
    out->n = 0;
    out->consumed = 0;
    size_t start = 0;
    for (size_t piece = 0; start < len; piece++) {
        size_t end = nsizes ? start + 1 + piece_sizes[piece % nsizes] % 32 : len;
        if (end > len)
            end = len;
        size_t pos = start;
        for (;;) {
            struct ws_event ev;
            size_t n = ws_reader_feed(&r, buf + pos, end - pos, &ev);
            FUZZ_CHECK(n <= end - pos);
            if (ev.type == WS_EV_MESSAGE && ev.len > 0 && ev.data >= buf && ev.data < buf + len)
                FUZZ_CHECK(fuzz_inside(ev.data, ev.len, buf + pos, n));
            pos += n;
            check_event(cfg, &ev);
            if (ev.type == WS_EV_NONE) {
                FUZZ_CHECK(pos == end);
                break;
            }
            FUZZ_CHECK(out->n < out->cap);
            out->ev[out->n++] = (struct seen){ ev.type, ev.opcode, ev.len, hash(ev.data, ev.len),
                                               ev.close_code };
            if (ev.type == WS_EV_ERROR) {
                /* A failed reader stays failed and takes nothing more. */
                FUZZ_CHECK(ws_reader_feed(&r, buf + pos, len - pos, &ev) == 0);
                FUZZ_CHECK(ev.type == WS_EV_ERROR);
                out->consumed = pos;
                ws_reader_free(&r);
                return;
            }
            FUZZ_CHECK(n > 0); /* an event takes at least a frame header */
        }
        start = end;
    }
    out->consumed = len;
    ws_reader_free(&r);
}

static void check_same(const struct reading *a, const struct reading *b)
{
    FUZZ_CHECK(a->n == b->n);
    for (size_t i = 0; i < a->n; i++) {
        const struct seen *x = &a->ev[i], *y = &b->ev[i];
        FUZZ_CHECK(x->type == y->type && x->opcode == y->opcode && x->len == y->len);
        FUZZ_CHECK(x->hash == y->hash && x->close_code == y->close_code);
    }
    /* Without an error both read everything. (After an error, what was
     * consumed depends on where the read ended: the connection is over.) */
    if (a->n == 0 || a->ev[a->n - 1].type != WS_EV_ERROR)
        FUZZ_CHECK(a->consumed == b->consumed);
}

/* A frame made with ws_frame_header (and ws_mask) reads back as itself. */
static void check_encoder(const uint8_t *payload, size_t len, int fin_and_op)
{
    static const uint8_t key[4] = { 0x12, 0x34, 0x56, 0x78 };
    static const struct ws_reader_config server = { 1 << 20, 1, 1 };
    int opcode = (fin_and_op & 1) ? WS_OP_BINARY : WS_OP_PING;
    if (opcode == WS_OP_PING && len > WS_MAX_CONTROL_PAYLOAD)
        len = WS_MAX_CONTROL_PAYLOAD;
    uint8_t *frame = malloc(WS_MAX_HEADER + len + 1);
    FUZZ_CHECK(frame != NULL);
    size_t h = ws_frame_header(frame, 1, opcode, len, key);
    FUZZ_CHECK(h >= 6 && h <= WS_MAX_HEADER);
    memcpy(frame + h, payload, len);
    ws_mask(frame + h, len, key, 0);

    struct ws_reader r;
    struct ws_event ev;
    ws_reader_init(&r, &server);
    FUZZ_CHECK(ws_reader_feed(&r, frame, h + len, &ev) == h + len);
    FUZZ_CHECK(ev.type == (opcode == WS_OP_PING ? WS_EV_PING : WS_EV_MESSAGE));
    FUZZ_CHECK(ev.len == len && memcmp(ev.data, payload, len) == 0);
    ws_reader_free(&r);
    free(frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct ws_reader_config cfg = {
        .expect_masked = data[0] & 1,
        .accept_binary = (data[0] >> 1) & 1,
        .max_message = (data[0] & 4) ? (uint64_t)(data[0] >> 3) * 16 : 1 << 20,
    };
    const uint8_t *stream = data + 1;
    size_t len = size - 1;

    /* Each reading unmasks payloads in place: each gets its own copy. */
    uint8_t *one = malloc(len + 1), *split = malloc(len + 1);
    struct reading a = { calloc(len / 2 + 1, sizeof(struct seen)), 0, len / 2 + 1, 0 };
    struct reading b = { calloc(len / 2 + 1, sizeof(struct seen)), 0, len / 2 + 1, 0 };
    FUZZ_CHECK(one && split && a.ev && b.ev);
    memcpy(one, stream, len);
    memcpy(split, stream, len);

    read_stream(&cfg, one, len, NULL, 0, &a);
    read_stream(&cfg, split, len, stream, len, &b);
    check_same(&a, &b);
    check_encoder(stream, len, data[0] >> 7);

    free(one);
    free(split);
    free(a.ev);
    free(b.ev);
    return 0;
}
