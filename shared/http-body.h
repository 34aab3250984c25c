/* http-body.h — where an HTTP/1.1 message body ends, found incrementally.
 *
 * Pure. A proxy forwards bodies as they arrive without re-encoding them; it
 * only needs to know how many of the bytes it holds belong to the current
 * message, so the rest (a pipelined request, nothing at all) is never sent
 * to the wrong party. Chunked framing is checked strictly: hex sizes, CRLF
 * after every line and every chunk, bounded extensions and trailers. */
#ifndef WSCALE_HTTP_BODY_H
#define WSCALE_HTTP_BODY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http.h"

#define HTTP_BODY_MAX_LINE 4096 /* a chunk-size line with its extensions, or a trailer line */

enum http_body_kind {
    HTTP_BODY_NONE,    /* no body */
    HTTP_BODY_LENGTH,  /* Content-Length bytes */
    HTTP_BODY_CHUNKED, /* chunked transfer coding */
    HTTP_BODY_CLOSE,   /* everything until the peer closes */
};

struct http_body {
    enum http_body_kind kind;
    uint8_t state;         /* chunked parser state */
    uint8_t last_chunk;    /* the zero-size chunk was seen */
    uint16_t line_len;     /* bytes of the current size or trailer line */
    uint64_t remaining;    /* LENGTH: bytes left; CHUNKED: bytes left in the chunk */
    uint64_t total;        /* bytes of the body seen so far */
};

/* Starts tracking a body framed as `f` says. */
void http_body_init(struct http_body *b, const struct http_framing *f);

/* Looks at the next len bytes of the stream. Returns how many of them belong
 * to the body (the rest follows it), and sets *done once the body is
 * complete; or -1 if the chunked framing is malformed. A HTTP_BODY_CLOSE
 * body takes everything and is done only at the peer's close. */
ssize_t http_body_feed(struct http_body *b, const uint8_t *p, size_t len, int *done);

/* True when nothing more is expected (NONE, or LENGTH/CHUNKED complete). */
int http_body_done(const struct http_body *b);

#endif
