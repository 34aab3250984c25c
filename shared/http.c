/* http.c — see http.h. Reference: RFC 9112 sections 2-3, 5-6; RFC 9110 5.6. */
#include "http.h"

#include <string.h>

/* tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
 *         "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA            (RFC 9110) */
static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-vchar, SP and HTAB: visible ASCII and obs-text, no controls. */
static int is_field_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* Expects CRLF at buf[*pos]. Returns 0 and advances, HTTP_INCOMPLETE, or
 * HTTP_BAD_REQUEST with req->error naming what was found instead. */
static int expect_crlf(const char *buf, size_t len, size_t *pos, const char **error)
{
    if (*pos >= len)
        return HTTP_INCOMPLETE;
    if (buf[*pos] == '\n') {
        *error = "bare LF line ending";
        return HTTP_BAD_REQUEST;
    }
    if (buf[*pos] != '\r') {
        *error = "unexpected character at end of line";
        return HTTP_BAD_REQUEST;
    }
    if (*pos + 1 >= len)
        return HTTP_INCOMPLETE;
    if (buf[*pos + 1] != '\n') {
        *error = "bare CR";
        return HTTP_BAD_REQUEST;
    }
    *pos += 2;
    return 0;
}

static int parse_request_line(const char *buf, size_t len, size_t *pos, struct http_request *req)
{
    size_t p = *pos;

    /* RFC 9112 2.2: a server SHOULD ignore empty lines before the request line. */
    while (p < len && buf[p] == '\r') {
        if (p + 1 >= len)
            return HTTP_INCOMPLETE;
        if (buf[p + 1] != '\n') {
            req->error = "bare CR";
            return HTTP_BAD_REQUEST;
        }
        p += 2;
    }

    size_t start = p;
    while (p < len && is_tchar((unsigned char)buf[p]))
        p++;
    if (p >= len)
        return HTTP_INCOMPLETE;
    if (buf[p] != ' ' || p == start) {
        req->error = "invalid method";
        return HTTP_BAD_REQUEST;
    }
    req->method = buf + start;
    req->method_len = p - start;
    p++;

    start = p;
    while (p < len && (unsigned char)buf[p] > 0x20 && (unsigned char)buf[p] < 0x7f)
        p++;
    if (p >= len)
        return HTTP_INCOMPLETE;
    if (buf[p] != ' ' || p == start) {
        req->error = "invalid request target";
        return HTTP_BAD_REQUEST;
    }
    req->target = buf + start;
    req->target_len = p - start;
    p++;

    static const char version[] = "HTTP/1.";
    for (size_t i = 0; i < sizeof(version) - 1; i++, p++) {
        if (p >= len)
            return HTTP_INCOMPLETE;
        if (buf[p] != version[i]) {
            req->error = "unsupported HTTP version (expected HTTP/1.0 or HTTP/1.1)";
            return HTTP_BAD_REQUEST;
        }
    }
    if (p >= len)
        return HTTP_INCOMPLETE;
    if (buf[p] != '0' && buf[p] != '1') {
        req->error = "unsupported HTTP version (expected HTTP/1.0 or HTTP/1.1)";
        return HTTP_BAD_REQUEST;
    }
    req->minor_version = buf[p] - '0';
    p++;

    int rc = expect_crlf(buf, len, &p, &req->error);
    if (rc != 0)
        return rc;
    *pos = p;
    return 0;
}

/* Parses one header field line at buf[*pos] into h. */
static int parse_header_line(const char *buf, size_t len, size_t *pos, const char **error,
                             struct http_header *h)
{
    size_t p = *pos;
    size_t start = p;
    while (p < len && is_tchar((unsigned char)buf[p]))
        p++;
    if (p >= len)
        return HTTP_INCOMPLETE;
    if (buf[p] != ':') {
        *error = is_ows((unsigned char)buf[p]) ? "whitespace between header name and colon"
                                                   : "invalid character in header name";
        return HTTP_BAD_REQUEST;
    }
    if (p == start) {
        *error = "empty header name";
        return HTTP_BAD_REQUEST;
    }
    h->name = buf + start;
    h->name_len = p - start;
    p++;

    while (p < len && is_ows((unsigned char)buf[p]))
        p++;
    start = p;
    while (p < len && is_field_char((unsigned char)buf[p]))
        p++;
    if (p >= len)
        return HTTP_INCOMPLETE;
    if (buf[p] != '\r' && buf[p] != '\n') {
        *error = "control character in header value";
        return HTTP_BAD_REQUEST;
    }
    size_t end = p;
    while (end > start && is_ows((unsigned char)buf[end - 1]))
        end--;
    h->value = buf + start;
    h->value_len = end - start;

    int rc = expect_crlf(buf, len, &p, error);
    if (rc != 0)
        return rc;
    *pos = p;
    return 0;
}

/* Parses header lines up to and including the empty line that ends the
 * head. Returns the head length, or an HTTP_* result. */
static ssize_t parse_headers(const char *buf, size_t len, size_t pos, struct http_header *headers,
                             size_t max_headers, size_t *num_headers, const char **error)
{
    *num_headers = 0;
    for (;;) {
        if (pos >= len)
            return HTTP_INCOMPLETE;
        unsigned char c = (unsigned char)buf[pos];
        if (c == '\r' || c == '\n') {
            int rc = expect_crlf(buf, len, &pos, error);
            if (rc != 0)
                return rc;
            return (ssize_t)pos;
        }
        if (is_ows(c)) {
            *error = "obsolete line folding (obs-fold)";
            return HTTP_BAD_REQUEST;
        }
        if (*num_headers == max_headers) {
            *error = "too many header fields";
            return HTTP_TOO_MANY_HEADERS;
        }
        int rc = parse_header_line(buf, len, &pos, error, &headers[*num_headers]);
        if (rc != 0)
            return rc;
        (*num_headers)++;
    }
}

ssize_t http_parse_request(const char *buf, size_t len, struct http_request *req)
{
    size_t pos = 0;
    req->num_headers = 0;
    req->error = NULL;

    int rc = parse_request_line(buf, len, &pos, req);
    if (rc != 0)
        return rc;
    return parse_headers(buf, len, pos, req->headers, req->max_headers, &req->num_headers,
                         &req->error);
}

ssize_t http_parse_response(const char *buf, size_t len, struct http_response *rsp)
{
    static const char version[] = "HTTP/1.";
    size_t p = 0;
    rsp->num_headers = 0;
    rsp->error = NULL;

    for (size_t i = 0; i < sizeof(version) - 1; i++, p++) {
        if (p >= len)
            return HTTP_INCOMPLETE;
        if (buf[p] != version[i]) {
            rsp->error = "not an HTTP/1.x status line";
            return HTTP_BAD_REQUEST;
        }
    }
    /* "HTTP/1.x 200" needs 12 bytes, then a space or the end of the line. */
    if (len < 13)
        return HTTP_INCOMPLETE;
    if ((buf[7] != '0' && buf[7] != '1') || buf[8] != ' ' || buf[9] < '1' || buf[9] > '5' ||
        buf[10] < '0' || buf[10] > '9' || buf[11] < '0' || buf[11] > '9' ||
        (buf[12] != ' ' && buf[12] != '\r' && buf[12] != '\n')) {
        rsp->error = "malformed status line";
        return HTTP_BAD_REQUEST;
    }
    rsp->minor_version = buf[7] - '0';
    rsp->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    p = 12;
    /* The reason phrase is optional; some servers even omit its space. */
    if (buf[p] == ' ')
        p++;
    size_t start = p;
    while (p < len && is_field_char((unsigned char)buf[p]))
        p++;
    if (p >= len)
        return HTTP_INCOMPLETE;
    rsp->reason = buf + start;
    rsp->reason_len = p - start;
    int rc = expect_crlf(buf, len, &p, &rsp->error);
    if (rc != 0)
        return rc;
    return parse_headers(buf, len, p, rsp->headers, rsp->max_headers, &rsp->num_headers,
                         &rsp->error);
}

int http_caseeq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y + 32);
        if (x != y)
            return 0;
    }
    return 1;
}

int http_token_eq(const char *s, size_t len, const char *lit)
{
    return http_caseeq(s, len, lit, strlen(lit));
}

const struct http_header *http_fields_find(const struct http_header *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (http_token_eq(h[i].name, h[i].name_len, name))
            return &h[i];
    return NULL;
}

size_t http_fields_count(const struct http_header *h, size_t n, const char *name)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (http_token_eq(h[i].name, h[i].name_len, name))
            count++;
    return count;
}

/* Calls visit(element, len, arg) for each non-empty element of a
 * comma-separated field value, trimmed of optional whitespace; stops early
 * and returns 1 when visit returns nonzero. */
static int list_each(const char *v, size_t len,
                     int (*visit)(const char *, size_t, void *), void *arg)
{
    size_t i = 0;
    while (i <= len) {
        size_t start = i;
        while (i < len && v[i] != ',')
            i++;
        size_t end = i;
        while (start < end && is_ows((unsigned char)v[start]))
            start++;
        while (end > start && is_ows((unsigned char)v[end - 1]))
            end--;
        if (end > start && visit(v + start, end - start, arg))
            return 1;
        i++;
    }
    return 0;
}

static int element_is(const char *e, size_t len, void *token)
{
    return http_token_eq(e, len, token);
}

int http_fields_has_token(const struct http_header *h, size_t n, const char *name,
                          const char *token)
{
    for (size_t i = 0; i < n; i++) {
        if (http_token_eq(h[i].name, h[i].name_len, name) &&
            list_each(h[i].value, h[i].value_len, element_is, (void *)token))
            return 1;
    }
    return 0;
}

/* Transfer-Encoding walk: remembers whether the last coding seen is chunked
 * and whether chunked appeared before it (a coding after chunked is an error). */
struct te_state {
    int last_is_chunked;
    int chunked_count;
};

static int te_visit(const char *e, size_t len, void *arg)
{
    struct te_state *st = arg;
    st->last_is_chunked = http_token_eq(e, len, "chunked");
    if (st->last_is_chunked)
        st->chunked_count++;
    return 0;
}

/* What the Content-Length and Transfer-Encoding fields of a head say. */
struct framing_scan {
    int has_te;
    struct te_state te;
};

/* Reads Content-Length (one field, plain decimal) and Transfer-Encoding. */
static int scan_framing(const struct http_header *h, size_t n, struct http_framing *out,
                        struct framing_scan *scan, const char **error)
{
    memset(out, 0, sizeof(*out));
    memset(scan, 0, sizeof(*scan));
    for (size_t i = 0; i < n; i++) {
        if (http_token_eq(h[i].name, h[i].name_len, "content-length")) {
            if (out->has_content_length) {
                *error = "repeated Content-Length";
                return -1;
            }
            if (h[i].value_len == 0 || h[i].value_len > 18) {
                *error = "invalid Content-Length";
                return -1;
            }
            uint64_t v = 0;
            for (size_t k = 0; k < h[i].value_len; k++) {
                if (h[i].value[k] < '0' || h[i].value[k] > '9') {
                    *error = "invalid Content-Length";
                    return -1;
                }
                v = v * 10 + (uint64_t)(h[i].value[k] - '0');
            }
            out->has_content_length = 1;
            out->content_length = v;
        } else if (http_token_eq(h[i].name, h[i].name_len, "transfer-encoding")) {
            scan->has_te = 1;
            list_each(h[i].value, h[i].value_len, te_visit, &scan->te);
        }
    }
    return 0;
}

int http_request_framing(struct http_request *req, struct http_framing *out)
{
    struct framing_scan scan;
    if (scan_framing(req->headers, req->num_headers, out, &scan, &req->error) != 0)
        return -1;
    if (!scan.has_te)
        return 0;
    if (req->minor_version == 0) {
        req->error = "Transfer-Encoding in an HTTP/1.0 request";
        return -1;
    }
    if (out->has_content_length) {
        req->error = "both Content-Length and Transfer-Encoding";
        return -1;
    }
    if (!scan.te.last_is_chunked || scan.te.chunked_count != 1) {
        req->error = "Transfer-Encoding must end with a single chunked";
        return -1;
    }
    out->chunked = 1;
    return 0;
}

int http_response_framing(struct http_response *rsp, int head_request, struct http_framing *out)
{
    struct framing_scan scan;
    if (scan_framing(rsp->headers, rsp->num_headers, out, &scan, &rsp->error) != 0)
        return -1;
    if (scan.has_te && out->has_content_length) {
        rsp->error = "both Content-Length and Transfer-Encoding";
        return -1;
    }
    if (head_request || rsp->status < 200 || rsp->status == 204 || rsp->status == 304) {
        /* RFC 9112 6.3: these never have a body, whatever the fields say. */
        memset(out, 0, sizeof(*out));
        out->has_content_length = 1;
        return 0;
    }
    if (scan.has_te) {
        if (scan.te.last_is_chunked && scan.te.chunked_count == 1)
            out->chunked = 1;
        else
            out->until_close = 1;
    } else if (!out->has_content_length) {
        out->until_close = 1;
    }
    return 0;
}

int http_method_is(const struct http_request *req, const char *method)
{
    size_t n = strlen(method);
    return req->method_len == n && memcmp(req->method, method, n) == 0;
}

int http_request_check(struct http_request *req, struct http_framing *framing)
{
    size_t hosts = http_header_count(req, "host");
    if (hosts > 1 || (hosts == 0 && req->minor_version == 1)) {
        req->error = hosts ? "more than one Host header" : "missing Host header";
        return -1;
    }
    return http_request_framing(req, framing);
}

const char *http_status_reason(int status)
{
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}
