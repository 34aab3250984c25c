/* ws.c — see ws.h. Reference: RFC 6455 sections 5 and 7. */
#include "ws.h"

#include <stdlib.h>
#include <string.h>

enum { READER_HEADER, READER_PAYLOAD, READER_FAILED };

size_t ws_frame_header(uint8_t out[WS_MAX_HEADER], int fin, int opcode, uint64_t payload_len,
                       const uint8_t *mask)
{
    size_t n = 0;
    out[n++] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
    uint8_t mask_bit = mask ? 0x80 : 0;
    if (payload_len < 126) {
        out[n++] = (uint8_t)(mask_bit | payload_len);
    } else if (payload_len <= 0xFFFF) {
        out[n++] = mask_bit | 126;
        out[n++] = (uint8_t)(payload_len >> 8);
        out[n++] = (uint8_t)payload_len;
    } else {
        out[n++] = mask_bit | 127;
        for (int shift = 56; shift >= 0; shift -= 8)
            out[n++] = (uint8_t)(payload_len >> shift);
    }
    if (mask) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

void ws_mask(uint8_t *p, size_t len, const uint8_t key[4], size_t offset)
{
    size_t i = 0;
    /* Word at a time once aligned to the key; the key rotated to the offset. */
    uint8_t k[8];
    for (int j = 0; j < 8; j++)
        k[j] = key[(offset + (size_t)j) & 3];
    uint64_t kw;
    memcpy(&kw, k, 8);
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        w ^= kw;
        memcpy(p + i, &w, 8);
    }
    for (; i < len; i++)
        p[i] ^= key[(offset + i) & 3];
}

int ws_close_code_sendable(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

size_t ws_close_payload(uint8_t out[WS_MAX_CONTROL_PAYLOAD], unsigned code, const char *reason)
{
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;
    size_t n = reason ? strlen(reason) : 0;
    if (n > WS_MAX_CONTROL_PAYLOAD - 2)
        n = WS_MAX_CONTROL_PAYLOAD - 2;
    if (n > 0)
        memcpy(out + 2, reason, n);
    return n + 2;
}

void ws_reader_init(struct ws_reader *r, const struct ws_reader_config *cfg)
{
    memset(r, 0, sizeof(*r));
    r->cfg = cfg;
    r->state = READER_HEADER;
    r->hdr_need = 2;
}

void ws_reader_free(struct ws_reader *r)
{
    free(r->msg);
    free(r->ctl);
    r->msg = NULL;
    r->ctl = NULL;
    r->msg_len = r->msg_cap = 0;
    r->ctl_len = 0;
}

static size_t fail(struct ws_reader *r, struct ws_event *ev, unsigned code, const char *why,
                   size_t consumed)
{
    r->state = READER_FAILED;
    ev->type = WS_EV_ERROR;
    ev->close_code = code;
    ev->error = why;
    return consumed;
}

/* The header in r->hdr is complete: check it against RFC 6455 5.2-5.5 and
 * the reader's limits, and prepare to read the payload. Returns NULL, or
 * the reason for failing with *code. */
static const char *header_accept(struct ws_reader *r, unsigned *code)
{
    const uint8_t *h = r->hdr;
    int fin = h[0] >> 7, opcode = h[0] & 0x0F, masked = h[1] >> 7;
    uint64_t len = h[1] & 0x7F;
    size_t n = 2;

    *code = WS_CLOSE_PROTOCOL_ERROR;
    if (h[0] & 0x70)
        return "reserved bits set without an extension";
    if (masked != (r->cfg->expect_masked ? 1 : 0))
        return masked ? "masked frame from server" : "unmasked frame from client";

    if (len == 126) {
        len = (uint64_t)h[2] << 8 | h[3];
        n = 4;
        if (len < 126)
            return "payload length not in its minimal form";
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | h[2 + i];
        n = 10;
        if (len >> 63)
            return "payload length with the most significant bit set";
        if (len <= 0xFFFF)
            return "payload length not in its minimal form";
    }
    if (masked)
        memcpy(r->mask, h + n, 4);

    switch (opcode) {
    case WS_OP_CLOSE:
    case WS_OP_PING:
    case WS_OP_PONG:
        if (!fin)
            return "fragmented control frame";
        if (len > WS_MAX_CONTROL_PAYLOAD)
            return "control frame payload over 125 bytes";
        r->ctl_len = 0;
        break;
    case WS_OP_CONT:
        if (r->msg_opcode == 0)
            return "continuation frame without a message to continue";
        break;
    case WS_OP_TEXT:
    case WS_OP_BINARY:
        if (r->msg_opcode != 0)
            return "new data frame inside a fragmented message";
        if (opcode == WS_OP_BINARY && !r->cfg->accept_binary) {
            *code = WS_CLOSE_UNSUPPORTED_DATA;
            return "binary messages are not accepted";
        }
        r->msg_opcode = (uint8_t)opcode;
        r->msg_len = 0;
        r->utf8 = (struct utf8_state)UTF8_STATE_INIT;
        break;
    default:
        return "reserved opcode";
    }

    if (!(opcode & 0x08) && len > r->cfg->max_message - r->msg_len) {
        *code = WS_CLOSE_TOO_BIG;
        return "message over the size limit";
    }

    r->opcode = (uint8_t)opcode;
    r->fin = (uint8_t)fin;
    r->remaining = len;
    r->mask_pos = 0;
    return NULL;
}

/* Appends payload bytes of a data frame to the message buffer. */
static int msg_append(struct ws_reader *r, const uint8_t *p, size_t n)
{
    if (r->msg_len + n > r->msg_cap) {
        /* At least the rest of this frame is coming (the header was checked
         * against the limit); the last frame is sized exactly, earlier
         * fragments grow by doubling. */
        size_t want = r->msg_len + n + (size_t)r->remaining;
        if (!r->fin && want < 2 * r->msg_cap)
            want = 2 * r->msg_cap;
        if (want > r->cfg->max_message)
            want = (size_t)r->cfg->max_message;
        uint8_t *m = realloc(r->msg, want);
        if (m == NULL)
            return -1;
        r->msg = m;
        r->msg_cap = want;
    }
    memcpy(r->msg + r->msg_len, p, n);
    r->msg_len += n;
    return 0;
}

/* A control frame's payload is complete at p[0..len): validate and report it. */
static int control_event(struct ws_reader *r, const uint8_t *p, size_t len, struct ws_event *ev)
{
    ev->data = p;
    ev->len = len;
    if (r->opcode == WS_OP_PING) {
        ev->type = WS_EV_PING;
        return 0;
    }
    if (r->opcode == WS_OP_PONG) {
        ev->type = WS_EV_PONG;
        return 0;
    }
    ev->type = WS_EV_CLOSE;
    if (len == 0) {
        ev->close_code = WS_CLOSE_NO_STATUS;
        return 0;
    }
    if (len == 1) {
        ev->close_code = WS_CLOSE_PROTOCOL_ERROR;
        ev->error = "close frame with a 1-byte payload";
        return -1;
    }
    unsigned code = (unsigned)p[0] << 8 | p[1];
    if (!ws_close_code_sendable(code)) {
        ev->close_code = WS_CLOSE_PROTOCOL_ERROR;
        ev->error = "invalid close code";
        return -1;
    }
    if (utf8_validate(p + 2, len - 2) != 0) {
        ev->close_code = WS_CLOSE_INVALID_PAYLOAD;
        ev->error = "close reason is not valid UTF-8";
        return -1;
    }
    ev->close_code = code;
    ev->data = p + 2;
    ev->len = len - 2;
    return 0;
}

size_t ws_reader_feed(struct ws_reader *r, uint8_t *buf, size_t len, struct ws_event *ev)
{
    size_t pos = 0;
    memset(ev, 0, sizeof(*ev));

    if (r->state == READER_FAILED)
        return fail(r, ev, WS_CLOSE_PROTOCOL_ERROR, "connection already failed", 0);
    /* Buffers that held the previous event's payload are no longer needed. */
    if (r->state == READER_HEADER && r->ctl != NULL) {
        free(r->ctl);
        r->ctl = NULL;
    }
    if (r->release_msg) {
        free(r->msg);
        r->msg = NULL;
        r->msg_len = r->msg_cap = 0;
        r->release_msg = 0;
    }

    for (;;) {
        if (r->state == READER_HEADER) {
            while (r->hdr_len < r->hdr_need) {
                if (pos == len)
                    return pos;
                r->hdr[r->hdr_len++] = buf[pos++];
                if (r->hdr_len == 2) {
                    uint8_t l7 = r->hdr[1] & 0x7F;
                    r->hdr_need = (uint8_t)(2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) +
                                            (r->hdr[1] & 0x80 ? 4 : 0));
                }
            }
            unsigned code;
            const char *why = header_accept(r, &code);
            r->hdr_len = 0;
            r->hdr_need = 2;
            if (why)
                return fail(r, ev, code, why, pos);
            r->state = READER_PAYLOAD;
        }

        /* READER_PAYLOAD: take what is here of the frame's payload. */
        size_t n = len - pos;
        if (n > r->remaining)
            n = (size_t)r->remaining;
        uint8_t *p = buf + pos;
        if (r->cfg->expect_masked) {
            ws_mask(p, n, r->mask, r->mask_pos);
            r->mask_pos = (uint8_t)((r->mask_pos + n) & 3);
        }
        int whole = n == r->remaining; /* the frame ends inside this buffer */
        pos += n;
        r->remaining -= n;

        if (r->opcode & 0x08) {
            if (!whole || r->ctl_len > 0) {
                if (r->ctl == NULL && (r->ctl = malloc(WS_MAX_CONTROL_PAYLOAD)) == NULL)
                    return fail(r, ev, WS_CLOSE_INTERNAL_ERROR, "out of memory", pos);
                memcpy(r->ctl + r->ctl_len, p, n);
                r->ctl_len = (uint8_t)(r->ctl_len + n);
                p = r->ctl;
                n = r->ctl_len;
            }
            if (!whole)
                return pos;
            r->state = READER_HEADER;
            r->ctl_len = 0;
            if (control_event(r, p, n, ev) != 0)
                return fail(r, ev, ev->close_code, ev->error, pos);
            return pos;
        }

        if (r->msg_opcode == WS_OP_TEXT && utf8_feed(&r->utf8, p, n) != 0)
            return fail(r, ev, WS_CLOSE_INVALID_PAYLOAD, "text message is not valid UTF-8", pos);

        /* In place when the whole message is this one frame, here, complete. */
        int in_place = whole && r->fin && r->msg_len == 0;
        if (!in_place && n > 0 && msg_append(r, p, n) != 0)
            return fail(r, ev, WS_CLOSE_INTERNAL_ERROR, "out of memory", pos);
        if (!whole)
            return pos;

        r->state = READER_HEADER;
        if (!r->fin)
            continue;
        if (r->msg_opcode == WS_OP_TEXT && !utf8_complete(&r->utf8))
            return fail(r, ev, WS_CLOSE_INVALID_PAYLOAD, "text message ends inside a UTF-8 sequence", pos);
        ev->type = WS_EV_MESSAGE;
        ev->opcode = r->msg_opcode;
        ev->data = in_place ? p : r->msg;
        ev->len = in_place ? n : r->msg_len;
        r->msg_opcode = 0;
        r->release_msg = !in_place;
        if (in_place)
            r->msg_len = 0;
        return pos;
    }
}
