/* http.h — a strict, zero-copy HTTP/1.1 request-head parser (RFC 9112).
 *
 * Pure: bytes in, a struct pointing into the caller's bytes out. No I/O, no
 * allocation, no globals. The caller supplies the header array, which bounds
 * the number of header fields, and decides the byte limit of a head (it sees
 * HTTP_INCOMPLETE while the buffer grows past its limit and answers 431).
 *
 * What is refused, always with a reason a human can read:
 *   - a request line that is not `token SP target SP HTTP/1.x CRLF`
 *   - header names that are not tokens, whitespace before the colon
 *   - obs-fold (a line starting with SP or HTAB), bare CR, bare LF,
 *     NUL and other control characters in values
 * Framing checks (Content-Length / Transfer-Encoding) are separate: see
 * http_request_framing(). */
#ifndef WSCALE_HTTP_H
#define WSCALE_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Results of http_parse_request() besides a positive head length. */
#define HTTP_INCOMPLETE (-1)        /* need more bytes */
#define HTTP_BAD_REQUEST (-2)       /* malformed: answer 400 */
#define HTTP_TOO_MANY_HEADERS (-3)  /* more fields than the array holds: 431 */

struct http_header {
    const char *name;
    size_t name_len;
    const char *value; /* optional whitespace around the value is trimmed */
    size_t value_len;
};

struct http_request {
    const char *method;
    size_t method_len;
    const char *target;
    size_t target_len;
    int minor_version; /* 0 or 1: HTTP/1.0 or HTTP/1.1 */

    struct http_header *headers; /* in: array supplied by the caller */
    size_t max_headers;          /* in: its capacity */
    size_t num_headers;          /* out */

    const char *error; /* out: why the head was refused (static string) */
};

/* Parses the request head at buf[0..len). Returns the length of the head
 * including its final empty line, or HTTP_INCOMPLETE, HTTP_BAD_REQUEST,
 * HTTP_TOO_MANY_HEADERS. On success every pointer in req points into buf. */
ssize_t http_parse_request(const char *buf, size_t len, struct http_request *req);

struct http_response {
    int minor_version;
    int status;
    const char *reason;
    size_t reason_len;

    struct http_header *headers; /* in: array supplied by the caller */
    size_t max_headers;          /* in: its capacity */
    size_t num_headers;          /* out */

    const char *error; /* out: why the head was refused (static string) */
};

/* Parses a response head ("HTTP/1.x NNN reason", then header fields) with
 * the same rules as requests. Returns the head length or an HTTP_* result
 * (HTTP_BAD_REQUEST meaning "malformed": a proxy answers 502). */
ssize_t http_parse_response(const char *buf, size_t len, struct http_response *rsp);

/* How the body of a message is delimited. A message without a body has
 * has_content_length set and content_length 0. */
struct http_framing {
    int chunked;              /* Transfer-Encoding ends in chunked */
    uint64_t content_length;  /* valid when has_content_length */
    int has_content_length;
    int until_close;          /* responses only: the body ends when the server closes */
};

/* Derives body framing from a parsed head and refuses the shapes used for
 * request smuggling: Content-Length together with Transfer-Encoding, more than
 * one Content-Length field (or a list), a Content-Length that is not a plain
 * decimal number, a Transfer-Encoding whose final coding is not chunked, or
 * Transfer-Encoding in an HTTP/1.0 request. Returns 0, or -1 with req->error
 * set (answer 400). */
int http_request_framing(struct http_request *req, struct http_framing *out);

/* Derives the framing of a response body (RFC 9112 6.3): none after HEAD or
 * for 1xx, 204 and 304; chunked; Content-Length; else until the server
 * closes. Refuses repeated or invalid Content-Length, and Content-Length with
 * Transfer-Encoding. Returns 0, or -1 with rsp->error (answer 502). */
int http_response_framing(struct http_response *rsp, int head_request, struct http_framing *out);

/* The request-level rules a server applies to every head before acting on
 * it: an HTTP/1.1 request has exactly one Host field (RFC 9112 3.2), an
 * HTTP/1.0 one at most one, and the body framing is unambiguous (see
 * http_request_framing(), whose result is stored in *framing). Returns 0, or
 * -1 with req->error set (answer 400). */
int http_request_check(struct http_request *req, struct http_framing *framing);

/* True if the request's method is exactly `method` (methods are
 * case-sensitive, RFC 9110 9.1). */
int http_method_is(const struct http_request *req, const char *method);

/* ASCII case-insensitive equality of two counted strings. */
int http_caseeq(const char *a, size_t alen, const char *b, size_t blen);

/* ASCII case-insensitive equality of a counted string and a C string. */
int http_token_eq(const char *s, size_t len, const char *lit);

/* Header lookups over an array of fields (a request's or a response's). */
const struct http_header *http_fields_find(const struct http_header *h, size_t n, const char *name);
size_t http_fields_count(const struct http_header *h, size_t n, const char *name);
/* True if any field named `name` holds `token` in its comma-separated list
 * (case-insensitive, optional whitespace around elements ignored). */
int http_fields_has_token(const struct http_header *h, size_t n, const char *name,
                          const char *token);

/* The same, on a request: the first field named `name`, or NULL... */
static inline const struct http_header *http_header_find(const struct http_request *req,
                                                         const char *name)
{
    return http_fields_find(req->headers, req->num_headers, name);
}

/* ...how many fields are named `name`... */
static inline size_t http_header_count(const struct http_request *req, const char *name)
{
    return http_fields_count(req->headers, req->num_headers, name);
}

/* ...and whether one lists `token`. */
static inline int http_header_has_token(const struct http_request *req, const char *name,
                                        const char *token)
{
    return http_fields_has_token(req->headers, req->num_headers, name, token);
}

/* The text of a status code's reason phrase ("Bad Request"). */
const char *http_status_reason(int status);

#endif
