/* ws-handshake.h — the server side of the RFC 6455 opening handshake (4.2).
 *
 * Pure: looks at a parsed request head and says whether it is a valid
 * WebSocket upgrade, and computes Sec-WebSocket-Accept. */
#ifndef WSCALE_WS_HANDSHAKE_H
#define WSCALE_WS_HANDSHAKE_H

#include <stddef.h>

#include "http.h"

#define WS_KEY_LEN 24    /* base64 of 16 bytes */
#define WS_ACCEPT_LEN 28 /* base64 of a SHA-1 digest */

/* True if the request asks for a WebSocket upgrade at all: it carries
 * Upgrade: websocket or a Sec-WebSocket-Key. Such a request is then either a
 * valid handshake or refused; it is never served as plain HTTP. */
int ws_handshake_requested(const struct http_request *req);

struct ws_handshake {
    const char *key; /* WS_KEY_LEN bytes inside the request buffer */
    const char *origin; /* NULL if absent */
    size_t origin_len;
};

/* Checks an upgrade request, in this order: method GET, HTTP/1.1, the
 * request-level rules of http_request_check() (one Host, unambiguous
 * framing), Upgrade lists websocket, Connection lists upgrade, no body,
 * exactly one Sec-WebSocket-Version equal to 13, exactly one
 * Sec-WebSocket-Key that is base64 of 16 bytes.
 * Returns 0 and fills hs; or the HTTP status to answer with (400, or 426 when
 * only the version is wrong: the answer must then carry
 * "Sec-WebSocket-Version: 13"), with *why describing the problem. */
int ws_handshake_check(struct http_request *req, struct ws_handshake *hs, const char **why);

/* True if a Sec-WebSocket-Protocol field of the request lists `name`.
 * Subprotocol names compare exactly (case-sensitive): the server answers
 * with the name as given, and the client checks it against what it offered
 * (RFC 6455 4.1, 4.2.2). */
int ws_handshake_offers_protocol(const struct http_request *req, const char *name);

/* Computes Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)).
 * out receives WS_ACCEPT_LEN characters and a NUL. */
void ws_handshake_accept(const char key[WS_KEY_LEN], char out[WS_ACCEPT_LEN + 1]);

#endif
