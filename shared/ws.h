/* ws.h — the RFC 6455 frame codec: a frame-header encoder and a streaming
 * reader that turns bytes into messages and control frames.
 *
 * Pure: no I/O, no globals. The reader is fed whatever a read returned (half a
 * header, many frames, a frame split anywhere) and stops at each event so the
 * caller can act on it before feeding the rest. It keeps no buffer while idle:
 * a message that arrives whole in one read is handed out in place (unmasked in
 * the caller's buffer); only a message or control frame that spans reads is
 * copied, into memory freed as soon as it has been delivered. */
#ifndef WSCALE_WS_H
#define WSCALE_WS_H

#include <stddef.h>
#include <stdint.h>

#include "utf8.h"

#define WS_OP_CONT 0x0
#define WS_OP_TEXT 0x1
#define WS_OP_BINARY 0x2
#define WS_OP_CLOSE 0x8
#define WS_OP_PING 0x9
#define WS_OP_PONG 0xA

#define WS_CLOSE_NORMAL 1000
#define WS_CLOSE_GOING_AWAY 1001
#define WS_CLOSE_PROTOCOL_ERROR 1002
#define WS_CLOSE_UNSUPPORTED_DATA 1003
#define WS_CLOSE_NO_STATUS 1005 /* never sent: "the close frame had no code" */
#define WS_CLOSE_ABNORMAL 1006  /* never sent: "no close frame at all" */
#define WS_CLOSE_INVALID_PAYLOAD 1007
#define WS_CLOSE_POLICY 1008
#define WS_CLOSE_TOO_BIG 1009
#define WS_CLOSE_INTERNAL_ERROR 1011
#define WS_CLOSE_TRY_AGAIN_LATER 1013

#define WS_MAX_HEADER 14       /* 2 + 8 (length) + 4 (mask) */
#define WS_MAX_CONTROL_PAYLOAD 125

/* Encodes a frame header into out and returns its length. mask is NULL for
 * server-to-client frames; otherwise the header carries the 4-byte key and the
 * caller masks the payload with ws_mask(). */
size_t ws_frame_header(uint8_t out[WS_MAX_HEADER], int fin, int opcode, uint64_t payload_len,
                       const uint8_t *mask);

/* XORs p[0..len) with the masking key, starting at key offset `offset`. */
void ws_mask(uint8_t *p, size_t len, const uint8_t key[4], size_t offset);

/* True for a close code an endpoint may send (RFC 6455 7.4, IANA registry):
 * 1000-1003, 1007-1014, 3000-4999. */
int ws_close_code_sendable(unsigned code);

/* Encodes a close-frame payload: the code in network order, then the reason
 * truncated to fit in a control frame. Returns the payload length. */
size_t ws_close_payload(uint8_t out[WS_MAX_CONTROL_PAYLOAD], unsigned code, const char *reason);

struct ws_reader_config {
    uint64_t max_message; /* largest message accepted, in bytes (> is 1009) */
    int accept_binary;    /* 0: a binary message is refused with 1003 */
    int expect_masked;    /* 1 on a server (client frames must be masked), 0 on a client */
};

enum ws_event_type {
    WS_EV_NONE,    /* everything fed was consumed; feed more */
    WS_EV_MESSAGE, /* a complete text or binary message */
    WS_EV_PING,
    WS_EV_PONG,
    WS_EV_CLOSE,   /* a valid close frame: close_code (1005 if none) and reason */
    WS_EV_ERROR,   /* the peer broke the protocol: close with close_code */
};

struct ws_event {
    enum ws_event_type type;
    int opcode;          /* MESSAGE: WS_OP_TEXT or WS_OP_BINARY */
    const uint8_t *data; /* payload, valid until the next ws_reader_feed() */
    size_t len;
    unsigned close_code; /* CLOSE: received code; ERROR: code to send */
    const char *error;   /* ERROR: what was wrong, for logs */
};

struct ws_reader {
    const struct ws_reader_config *cfg;
    uint8_t state;        /* READER_HEADER, READER_PAYLOAD, READER_FAILED */
    uint8_t hdr_len;      /* header bytes gathered so far */
    uint8_t hdr_need;     /* header length once known (2 until then) */
    uint8_t opcode;       /* of the frame being read */
    uint8_t fin;
    uint8_t mask_pos;     /* index into mask for the next payload byte */
    uint8_t msg_opcode;   /* TEXT/BINARY while a message is open, else 0 */
    uint8_t release_msg;  /* msg was handed out: drop it on the next feed */
    uint8_t hdr[WS_MAX_HEADER];
    uint8_t mask[4];
    struct utf8_state utf8;
    uint8_t ctl_len;
    uint64_t remaining;   /* payload bytes of the current frame not yet read */
    uint8_t *msg;         /* message bytes gathered across frames or reads */
    size_t msg_len, msg_cap;
    uint8_t *ctl;         /* control payload split across reads */
};

void ws_reader_init(struct ws_reader *r, const struct ws_reader_config *cfg);

/* Consumes bytes from buf[0..len) up to and including the next event, which is
 * stored in *ev. Returns the number of bytes consumed; the caller handles the
 * event and calls again with the rest. Payload bytes are unmasked in place,
 * so buf must be writable. After WS_EV_ERROR the connection is failed: feeding
 * again only reports an error. */
size_t ws_reader_feed(struct ws_reader *r, uint8_t *buf, size_t len, struct ws_event *ev);

/* Frees what the reader holds. It may be fed again after ws_reader_init(). */
void ws_reader_free(struct ws_reader *r);

#endif
