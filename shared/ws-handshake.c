/* ws-handshake.c — see ws-handshake.h. */
#include "ws-handshake.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>

static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int ws_handshake_requested(const struct http_request *req)
{
    return http_header_has_token(req, "upgrade", "websocket") ||
           http_header_find(req, "sec-websocket-key") != NULL;
}

static int base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* A key is the canonical base64 of 16 bytes: 22 alphabet characters, the
 * last of which carries only 2 significant bits, then "==". */
static int key_valid(const char *k, size_t len)
{
    if (len != WS_KEY_LEN || k[22] != '=' || k[23] != '=')
        return 0;
    for (int i = 0; i < 22; i++)
        if (base64_value((unsigned char)k[i]) < 0)
            return 0;
    return (base64_value((unsigned char)k[21]) & 0x0F) == 0;
}

int ws_handshake_check(struct http_request *req, struct ws_handshake *hs, const char **why)
{
    memset(hs, 0, sizeof(*hs));
    if (!http_method_is(req, "GET")) {
        *why = "a WebSocket handshake must use GET";
        return 400;
    }
    if (req->minor_version != 1) {
        *why = "a WebSocket handshake needs HTTP/1.1";
        return 400;
    }
    struct http_framing framing;
    if (http_request_check(req, &framing) != 0) {
        *why = req->error;
        return 400;
    }
    if (!http_header_has_token(req, "upgrade", "websocket")) {
        *why = "missing Upgrade: websocket";
        return 400;
    }
    if (!http_header_has_token(req, "connection", "upgrade")) {
        *why = "missing Connection: Upgrade";
        return 400;
    }
    if (framing.chunked || (framing.has_content_length && framing.content_length > 0)) {
        *why = "a WebSocket handshake has no body";
        return 400;
    }

    size_t nversions = http_header_count(req, "sec-websocket-version");
    const struct http_header *version = http_header_find(req, "sec-websocket-version");
    if (nversions == 0) {
        *why = "missing Sec-WebSocket-Version";
        return 400;
    }
    if (nversions > 1 || !http_token_eq(version->value, version->value_len, "13")) {
        *why = "unsupported Sec-WebSocket-Version (this server speaks 13)";
        return 426;
    }

    const struct http_header *key = http_header_find(req, "sec-websocket-key");
    if (key == NULL || http_header_count(req, "sec-websocket-key") != 1 ||
        !key_valid(key->value, key->value_len)) {
        *why = "Sec-WebSocket-Key must be one base64-encoded 16-byte value";
        return 400;
    }
    hs->key = key->value;

    const struct http_header *origin = http_header_find(req, "origin");
    if (origin) {
        hs->origin = origin->value;
        hs->origin_len = origin->value_len;
    }
    return 0;
}

void ws_handshake_accept(const char key[WS_KEY_LEN], char out[WS_ACCEPT_LEN + 1])
{
    unsigned char input[WS_KEY_LEN + sizeof(WS_GUID) - 1];
    unsigned char digest[SHA_DIGEST_LENGTH];
    memcpy(input, key, WS_KEY_LEN);
    memcpy(input + WS_KEY_LEN, WS_GUID, sizeof(WS_GUID) - 1);
    SHA1(input, sizeof(input), digest);
    EVP_EncodeBlock((unsigned char *)out, digest, SHA_DIGEST_LENGTH);
}

int ws_handshake_offers_protocol(const struct http_request *req, const char *name)
{
    size_t name_len = strlen(name);
    for (size_t i = 0; i < req->num_headers; i++) {
        const struct http_header *h = &req->headers[i];
        if (!http_token_eq(h->name, h->name_len, "sec-websocket-protocol"))
            continue;
        const char *p = h->value, *end = h->value + h->value_len;
        while (p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *e = comma ? comma : end;
            const char *s = p;
            while (s < e && (*s == ' ' || *s == '\t'))
                s++;
            const char *t = e;
            while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
                t--;
            if ((size_t)(t - s) == name_len && memcmp(s, name, name_len) == 0)
                return 1;
            p = comma ? comma + 1 : end;
        }
    }
    return 0;
}
