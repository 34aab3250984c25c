/* fuzz_http.c — shared/http.h: the request and response head parsers, and
 * the framing and request checks on what they accept.
 *
 * The parsers are stateless: a server calls them again on a buffer that
 * grows with each read. So for any input, parsing every prefix must give
 * HTTP_INCOMPLETE up to some length and the full input's result from there
 * on, and a head, once complete, must read the same in every longer buffer. */
#include <string.h>

#include "../../shared/http.h"
#include "fuzz.h"

#define MAX_HEADERS 16

struct head {
    ssize_t rc;
    struct http_header fields[MAX_HEADERS];
    union {
        struct http_request req;
        struct http_response rsp;
    } u;
};

static ssize_t parse(const char *buf, size_t len, int response, size_t max_headers,
                     struct head *h)
{
    memset(h, 0, sizeof(*h));
    if (response) {
        h->u.rsp.headers = h->fields;
        h->u.rsp.max_headers = max_headers;
        h->rc = http_parse_response(buf, len, &h->u.rsp);
    } else {
        h->u.req.headers = h->fields;
        h->u.req.max_headers = max_headers;
        h->rc = http_parse_request(buf, len, &h->u.req);
    }
    return h->rc;
}

static size_t num_fields(const struct head *h, int response)
{
    return response ? h->u.rsp.num_headers : h->u.req.num_headers;
}

static const char *error_of(const struct head *h, int response)
{
    return response ? h->u.rsp.error : h->u.req.error;
}

/* Two parses of the same bytes that both succeeded read the same head. */
static void check_same(const struct head *a, const struct head *b, int response)
{
    FUZZ_CHECK(a->rc == b->rc);
    size_t n = num_fields(a, response);
    FUZZ_CHECK(n == num_fields(b, response));
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(a->fields[i].name == b->fields[i].name);
        FUZZ_CHECK(a->fields[i].name_len == b->fields[i].name_len);
        FUZZ_CHECK(a->fields[i].value == b->fields[i].value);
        FUZZ_CHECK(a->fields[i].value_len == b->fields[i].value_len);
    }
    if (response) {
        FUZZ_CHECK(a->u.rsp.status == b->u.rsp.status);
        FUZZ_CHECK(a->u.rsp.minor_version == b->u.rsp.minor_version);
        FUZZ_CHECK(a->u.rsp.reason == b->u.rsp.reason);
        FUZZ_CHECK(a->u.rsp.reason_len == b->u.rsp.reason_len);
    } else {
        FUZZ_CHECK(a->u.req.method == b->u.req.method);
        FUZZ_CHECK(a->u.req.method_len == b->u.req.method_len);
        FUZZ_CHECK(a->u.req.target == b->u.req.target);
        FUZZ_CHECK(a->u.req.target_len == b->u.req.target_len);
        FUZZ_CHECK(a->u.req.minor_version == b->u.req.minor_version);
    }
}

/* What holds of one result on its own. */
static void check_result(const char *buf, size_t len, const struct head *h, int response)
{
    if (h->rc <= 0) {
        FUZZ_CHECK(h->rc == HTTP_INCOMPLETE || h->rc == HTTP_BAD_REQUEST ||
                   h->rc == HTTP_TOO_MANY_HEADERS);
        if (h->rc != HTTP_INCOMPLETE)
            FUZZ_CHECK(error_of(h, response) != NULL);
        return;
    }
    size_t head = (size_t)h->rc;
    FUZZ_CHECK(head <= len);
    FUZZ_CHECK(head >= 4 && memcmp(buf + head - 2, "\r\n", 2) == 0);
    FUZZ_CHECK(error_of(h, response) == NULL);
    size_t n = num_fields(h, response);
    FUZZ_CHECK(n <= MAX_HEADERS);
    for (size_t i = 0; i < n; i++) {
        const struct http_header *f = &h->fields[i];
        FUZZ_CHECK(f->name_len > 0 && fuzz_inside(f->name, f->name_len, buf, head));
        FUZZ_CHECK(fuzz_inside(f->value, f->value_len, buf, head));
        FUZZ_CHECK(memchr(f->value, '\r', f->value_len) == NULL);
        FUZZ_CHECK(memchr(f->value, '\n', f->value_len) == NULL);
    }
    if (response) {
        const struct http_response *r = &h->u.rsp;
        FUZZ_CHECK(r->status >= 100 && r->status <= 599);
        FUZZ_CHECK(r->minor_version == 0 || r->minor_version == 1);
        FUZZ_CHECK(fuzz_inside(r->reason, r->reason_len, buf, head));
        FUZZ_CHECK(http_status_reason(r->status) != NULL);
    } else {
        const struct http_request *r = &h->u.req;
        FUZZ_CHECK(r->method_len > 0 && fuzz_inside(r->method, r->method_len, buf, head));
        FUZZ_CHECK(r->target_len > 0 && fuzz_inside(r->target, r->target_len, buf, head));
        FUZZ_CHECK(r->minor_version == 0 || r->minor_version == 1);
    }
}

/* Exactly one way to find the body's end, or none at all. */
static void check_framing(const struct http_framing *f, int response)
{
    int ways = !!f->chunked + !!f->has_content_length + !!f->until_close;
    FUZZ_CHECK(ways == 1 || (!response && ways == 0));
    if (!response)
        FUZZ_CHECK(!f->until_close);
    if (!f->has_content_length)
        FUZZ_CHECK(f->content_length == 0);
}

static void check_request_rules(struct head *h)
{
    struct http_framing f1, f2;
    int framing = http_request_framing(&h->u.req, &f1);
    FUZZ_CHECK(framing == 0 || h->u.req.error != NULL);
    if (framing == 0)
        check_framing(&f1, 0);
    h->u.req.error = NULL;
    int check = http_request_check(&h->u.req, &f2);
    FUZZ_CHECK(check == 0 || h->u.req.error != NULL);
    if (check == 0) {
        /* The check adds Host rules to the framing rules, nothing else. */
        FUZZ_CHECK(framing == 0);
        FUZZ_CHECK(memcmp(&f1, &f2, sizeof(f1)) == 0);
        FUZZ_CHECK(http_header_count(&h->u.req, "host") <= 1);
    }
    (void)http_header_has_token(&h->u.req, "connection", "upgrade");
}

static void check_response_rules(struct head *h)
{
    for (int head_request = 0; head_request <= 1; head_request++) {
        struct http_framing f;
        h->u.rsp.error = NULL;
        if (http_response_framing(&h->u.rsp, head_request, &f) != 0) {
            FUZZ_CHECK(h->u.rsp.error != NULL);
            continue;
        }
        check_framing(&f, 1);
        int status = h->u.rsp.status;
        if (head_request || status < 200 || status == 204 || status == 304)
            FUZZ_CHECK(f.has_content_length && f.content_length == 0);
    }
}

static void check_parser(const char *buf, size_t len, int response)
{
    struct head full, part;
    parse(buf, len, response, MAX_HEADERS, &full);
    check_result(buf, len, &full, response);

    /* Every prefix (every step-th one for long inputs, and both sides of
     * the head's end): INCOMPLETE, then the full result. */
    size_t step = 1 + len / 256;
    int settled = 0;
    for (size_t k = 0; k <= len; k += step) {
        parse(buf, k, response, MAX_HEADERS, &part);
        if (part.rc == HTTP_INCOMPLETE) {
            FUZZ_CHECK(!settled);
            if (full.rc > 0)
                FUZZ_CHECK(k < (size_t)full.rc);
            continue;
        }
        settled = 1;
        FUZZ_CHECK(part.rc == full.rc);
        if (full.rc > 0)
            check_same(&part, &full, response);
    }
    if (full.rc <= 0)
        return;
    size_t head = (size_t)full.rc;
    FUZZ_CHECK(parse(buf, head - 1, response, MAX_HEADERS, &part) == HTTP_INCOMPLETE);
    parse(buf, head, response, MAX_HEADERS, &part);
    check_same(&part, &full, response);

    /* The caller's array bounds the fields: exactly enough room reads the
     * same head, one slot less is "too many". */
    size_t n = num_fields(&full, response);
    parse(buf, len, response, n, &part);
    check_same(&part, &full, response);
    if (n > 0)
        FUZZ_CHECK(parse(buf, len, response, n - 1, &part) == HTTP_TOO_MANY_HEADERS);

    if (response)
        check_response_rules(&full);
    else
        check_request_rules(&full);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_parser((const char *)data, size, 0);
    check_parser((const char *)data, size, 1);
    return 0;
}
