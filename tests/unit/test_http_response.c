/* test_http_response.c — shared/http.h on the response side: the status-line
 * and header parser, response body framing (RFC 9112 6.3), the header helpers
 * over response fields, and http_request_check. */
#include <stdlib.h>
#include <string.h>

#include "../../shared/http.h"
#include "unit.h"

#define MAX_HEADERS 16

static struct http_header headers[MAX_HEADERS];
static struct http_response rsp;
static char *held; /* the heap copy the last parse points into */

/* Parses buf[0..len) from a heap copy of exactly len bytes, so that ASan
 * reports any read past the end. The copy lives until the next parse, so
 * the pointers in rsp stay valid. */
static ssize_t parse_n(const char *buf, size_t len, size_t max_headers)
{
    free(held);
    held = malloc(len ? len : 1);
    memcpy(held, buf, len);
    memset(&rsp, 0, sizeof(rsp));
    memset(headers, 0, sizeof(headers));
    rsp.headers = headers;
    rsp.max_headers = max_headers;
    rsp.status = -1;
    return http_parse_response(held, len, &rsp);
}

static ssize_t parse(const char *s)
{
    return parse_n(s, strlen(s), MAX_HEADERS);
}

static int counted_eq(const char *s, size_t len, const char *lit)
{
    return s != NULL && len == strlen(lit) && memcmp(s, lit, len) == 0;
}

#define CHECK_COUNTED(ptr, len, lit) CHECK(counted_eq((ptr), (len), (lit)))

/* Prints s[0..len) with CR, LF and other non-printables escaped. */
static void print_escaped(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r')
            fputs("\\r", stderr);
        else if (c == '\n')
            fputs("\\n", stderr);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(stderr, "\\x%02x", c);
        else
            fputc(c, stderr);
    }
}

/* ---- status line and fields ---- */

static void test_simple_response_is_parsed(void)
{
    const char *head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n";
    CHECK_EQ_INT(parse(head), strlen(head));
    CHECK_EQ_INT(rsp.minor_version, 1);
    CHECK_EQ_INT(rsp.status, 200);
    CHECK_COUNTED(rsp.reason, rsp.reason_len, "OK");
    CHECK_EQ_INT(rsp.num_headers, 2);
    CHECK_COUNTED(headers[0].name, headers[0].name_len, "Content-Type");
    CHECK_COUNTED(headers[0].value, headers[0].value_len, "text/plain");
    CHECK_COUNTED(headers[1].name, headers[1].name_len, "Content-Length");
    CHECK_COUNTED(headers[1].value, headers[1].value_len, "5");
    CHECK(rsp.error == NULL);
}

static void test_http_1_0_response_is_parsed(void)
{
    const char *head = "HTTP/1.0 404 Not Found\r\n\r\n";
    CHECK_EQ_INT(parse(head), strlen(head));
    CHECK_EQ_INT(rsp.minor_version, 0);
    CHECK_EQ_INT(rsp.status, 404);
    CHECK_COUNTED(rsp.reason, rsp.reason_len, "Not Found");
    CHECK_EQ_INT(rsp.num_headers, 0);
}

static void test_reason_phrase_may_have_spaces_and_obs_text(void)
{
    const char *head = "HTTP/1.1 101 Switching \t Protocols \xe9\r\nUpgrade: websocket\r\n\r\n";
    CHECK_EQ_INT(parse(head), strlen(head));
    CHECK_EQ_INT(rsp.status, 101);
    CHECK_COUNTED(rsp.reason, rsp.reason_len, "Switching \t Protocols \xe9");
    CHECK_EQ_INT(rsp.num_headers, 1);
}

static void test_status_without_reason_is_accepted(void)
{
    const char *head = "HTTP/1.1 200\r\n\r\n";
    CHECK_EQ_INT(parse(head), strlen(head));
    CHECK_EQ_INT(rsp.status, 200);
    CHECK_EQ_INT(rsp.reason_len, 0);
}

static void test_status_with_empty_reason_is_accepted(void)
{
    const char *head = "HTTP/1.1 204 \r\nX: y\r\n\r\n";
    CHECK_EQ_INT(parse(head), strlen(head));
    CHECK_EQ_INT(rsp.status, 204);
    CHECK_EQ_INT(rsp.reason_len, 0);
    CHECK_EQ_INT(rsp.num_headers, 1);
}

static void test_every_valid_status_range_is_read(void)
{
    static const struct { const char *head; int status; } cases[] = {
        { "HTTP/1.1 100 Continue\r\n\r\n", 100 },
        { "HTTP/1.1 199 x\r\n\r\n", 199 },
        { "HTTP/1.1 301 Moved\r\nLocation: /\r\n\r\n", 301 },
        { "HTTP/1.1 503 Unavailable\r\n\r\n", 503 },
        { "HTTP/1.1 599 x\r\n\r\n", 599 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_EQ_INT(parse(cases[i].head), strlen(cases[i].head));
        CHECK_EQ_INT(rsp.status, cases[i].status);
    }
}

static void test_return_value_leaves_the_body(void)
{
    const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n";
    char buf[128];
    snprintf(buf, sizeof(buf), "%sBODYHTTP/1.1 200 OK\r\n", head);
    CHECK_EQ_INT(parse(buf), strlen(head));
    CHECK_EQ_INT(rsp.num_headers, 1);
}

static void test_header_values_are_trimmed(void)
{
    const char *head = "HTTP/1.1 200 OK\r\nX-A: \t a b \t\r\nX-B:c\r\nX-C:\r\n\r\n";
    CHECK_EQ_INT(parse(head), strlen(head));
    CHECK_EQ_INT(rsp.num_headers, 3);
    CHECK_COUNTED(headers[0].value, headers[0].value_len, "a b");
    CHECK_COUNTED(headers[1].value, headers[1].value_len, "c");
    CHECK_EQ_INT(headers[2].value_len, 0);
}

static void test_pointers_point_into_the_callers_buffer(void)
{
    const char *head = "HTTP/1.1 200 OK\r\nA: b\r\n\r\n";
    memset(&rsp, 0, sizeof(rsp));
    rsp.headers = headers;
    rsp.max_headers = MAX_HEADERS;
    CHECK_EQ_INT(http_parse_response(head, strlen(head), &rsp), strlen(head));
    CHECK(rsp.reason == head + 13);
    CHECK(headers[0].name == head + 17);
    CHECK(headers[0].value == head + 20);
}

/* ---- incomplete input ---- */

static void check_every_prefix_incomplete(const char *head)
{
    size_t len = strlen(head);
    for (size_t k = 0; k < len; k++) {
        ssize_t rc = parse_n(head, k, MAX_HEADERS);
        if (rc != HTTP_INCOMPLETE) {
            fprintf(stderr, "  prefix of %zu bytes of [", k);
            print_escaped(head, len);
            fprintf(stderr, "]: %zd (%s)\n", rc, rsp.error ? rsp.error : "no error");
            unit_current_failed = 1;
        }
    }
    CHECK_EQ_INT(parse_n(head, len, MAX_HEADERS), len);
}

static void test_every_prefix_of_a_valid_head_is_incomplete(void)
{
    check_every_prefix_incomplete("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nX-Empty:\r\n\r\n");
}

static void test_every_prefix_of_a_head_without_reason_is_incomplete(void)
{
    check_every_prefix_incomplete("HTTP/1.0 304\r\nETag: \"x\"\r\n\r\n");
}

static void test_every_prefix_of_a_bare_status_line_is_incomplete(void)
{
    check_every_prefix_incomplete("HTTP/1.1 101 Switching Protocols\r\n\r\n");
}

/* ---- malformed heads ---- */

static void check_bad_n(const char *head, size_t len)
{
    ssize_t rc = parse_n(head, len, MAX_HEADERS);
    if (rc != HTTP_BAD_REQUEST) {
        fputs("  [", stderr);
        print_escaped(head, len);
        fprintf(stderr, "]: %zd, expected HTTP_BAD_REQUEST\n", rc);
        unit_current_failed = 1;
    } else if (rsp.error == NULL) {
        fputs("  [", stderr);
        print_escaped(head, len);
        fputs("]: refused without a reason\n", stderr);
        unit_current_failed = 1;
    }
}

static void check_bad(const char *head)
{
    check_bad_n(head, strlen(head));
}

static void test_other_versions_are_refused(void)
{
    check_bad("HTTP/2.0 200 OK\r\n\r\n");
    check_bad("HTTP/1.2 200 OK\r\n\r\n");
    check_bad("HTTP/1.x 200 OK\r\n\r\n");
    check_bad("http/1.1 200 OK\r\n\r\n");
    check_bad("ICY 200 OK\r\n\r\n");
    check_bad("HTTP/10 200 OK\r\n\r\n");
}

static void test_status_out_of_range_is_refused(void)
{
    check_bad("HTTP/1.1 099 Low\r\n\r\n");
    check_bad("HTTP/1.1 000 Zero\r\n\r\n");
    check_bad("HTTP/1.1 600 High\r\n\r\n");
    check_bad("HTTP/1.1 999 High\r\n\r\n");
}

static void test_non_digit_status_is_refused(void)
{
    check_bad("HTTP/1.1 20x OK\r\n\r\n");
    check_bad("HTTP/1.1 2x0 OK\r\n\r\n");
    check_bad("HTTP/1.1 -20 OK\r\n\r\n");
    check_bad("HTTP/1.1 +20 OK\r\n\r\n");
}

static void test_short_status_is_refused(void)
{
    check_bad("HTTP/1.1 20 OK\r\n\r\n");
    check_bad("HTTP/1.1 2\r\n\r\n\r\n");
}

static void test_four_digit_status_is_refused(void)
{
    /* status-code = 3DIGIT: "2000" is not 200 with a reason of "0 OK". */
    check_bad("HTTP/1.1 2000 OK\r\n\r\n");
}

static void test_missing_space_after_version_is_refused(void)
{
    check_bad("HTTP/1.1200 OK\r\n\r\n");
    check_bad("HTTP/1.1  200 OK\r\n\r\n");
    check_bad("HTTP/1.1\t200 OK\r\n\r\n");
}

static void test_bare_lf_ending_the_status_line_is_refused(void)
{
    check_bad("HTTP/1.1 200 OK\n\r\n");
    check_bad("HTTP/1.1 200\nA: b\r\n\r\n");
}

static void test_bare_cr_in_status_line_is_refused(void)
{
    check_bad("HTTP/1.1 200 O\rK\r\n\r\n");
}

static void test_control_character_in_reason_is_refused(void)
{
    check_bad("HTTP/1.1 200 O\x01K\r\n\r\n");
    static const char nul[] = "HTTP/1.1 200 O\0K\r\n\r\n";
    check_bad_n(nul, sizeof(nul) - 1);
}

static void test_obs_fold_in_response_is_refused(void)
{
    check_bad("HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n\r\n");
    check_bad("HTTP/1.1 200 OK\r\nX-A: a\r\n\tb\r\n\r\n");
    CHECK(rsp.error != NULL && strstr(rsp.error, "obs-fold") != NULL);
}

static void test_whitespace_before_colon_in_response_is_refused(void)
{
    check_bad("HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n");
    check_bad("HTTP/1.1 200 OK\r\nContent-Length\t: 5\r\n\r\n");
}

static void test_bare_lf_and_cr_in_response_fields_are_refused(void)
{
    check_bad("HTTP/1.1 200 OK\r\nA: b\nC: d\r\n\r\n");
    check_bad("HTTP/1.1 200 OK\r\nA: b\r\n\n");
    check_bad("HTTP/1.1 200 OK\r\nA: b\rC: d\r\n\r\n");
    check_bad("HTTP/1.1 200 OK\r\nA: b\r\n\rX");
}

static void test_bad_field_names_in_response_are_refused(void)
{
    check_bad("HTTP/1.1 200 OK\r\n: empty\r\n\r\n");
    check_bad("HTTP/1.1 200 OK\r\nA(b): c\r\n\r\n");
    check_bad("HTTP/1.1 200 OK\r\nno colon\r\n\r\n");
}

static void test_control_characters_in_response_values_are_refused(void)
{
    check_bad("HTTP/1.1 200 OK\r\nA: b\x7f\r\n\r\n");
    check_bad("HTTP/1.1 200 OK\r\nA: b\x1b[0m\r\n\r\n");
    static const char nul[] = "HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n";
    check_bad_n(nul, sizeof(nul) - 1);
}

static void test_too_many_response_fields_are_reported(void)
{
    const char *head = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    CHECK_EQ_INT(parse_n(head, strlen(head), 3), strlen(head));
    CHECK_EQ_INT(rsp.num_headers, 3);
    CHECK_EQ_INT(parse_n(head, strlen(head), 2), HTTP_TOO_MANY_HEADERS);
    CHECK(rsp.error != NULL);
    CHECK_EQ_INT(parse_n(head, strlen(head), 0), HTTP_TOO_MANY_HEADERS);
}

/* ---- http_response_framing ---- */

static struct http_framing framing;

static int frame(const char *head, int head_request)
{
    ssize_t rc = parse(head);
    CHECK_EQ_INT(rc, strlen(head));
    if (rc <= 0)
        return -99;
    memset(&framing, 0x5a, sizeof(framing));
    return http_response_framing(&rsp, head_request, &framing);
}

static void check_no_body(void)
{
    CHECK_EQ_INT(framing.has_content_length, 1);
    CHECK_EQ_INT(framing.content_length, 0);
    CHECK_EQ_INT(framing.chunked, 0);
    CHECK_EQ_INT(framing.until_close, 0);
}

static void test_response_to_head_has_no_body(void)
{
    CHECK_EQ_INT(frame("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", 1), 0);
    check_no_body();
    CHECK_EQ_INT(frame("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 1), 0);
    check_no_body();
    CHECK_EQ_INT(frame("HTTP/1.1 200 OK\r\n\r\n", 1), 0);
    check_no_body();
}

static void test_1xx_204_304_have_no_body(void)
{
    CHECK_EQ_INT(frame("HTTP/1.1 101 Switching Protocols\r\nContent-Length: 10\r\n\r\n", 0), 0);
    check_no_body();
    CHECK_EQ_INT(frame("HTTP/1.1 100 Continue\r\n\r\n", 0), 0);
    check_no_body();
    CHECK_EQ_INT(frame("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 0), 0);
    check_no_body();
    CHECK_EQ_INT(frame("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", 0), 0);
    check_no_body();
    CHECK_EQ_INT(frame("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", 0), 0);
    check_no_body();
}

static void test_other_statuses_with_content_length_have_that_body(void)
{
    CHECK_EQ_INT(frame("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", 0), 0);
    CHECK_EQ_INT(framing.has_content_length, 1);
    CHECK_EQ_INT(framing.content_length, 10);
    CHECK_EQ_INT(framing.chunked, 0);
    CHECK_EQ_INT(framing.until_close, 0);
    CHECK_EQ_INT(frame("HTTP/1.1 205 Reset Content\r\nContent-Length: 0\r\n\r\n", 0), 0);
    CHECK_EQ_INT(framing.has_content_length, 1);
    CHECK_EQ_INT(framing.content_length, 0);
    CHECK_EQ_INT(frame("HTTP/1.1 404 Not Found\r\ncontent-length: 123456789\r\n\r\n", 0), 0);
    CHECK_EQ_INT(framing.content_length, 123456789);
}

static void test_chunked_response(void)
{
    CHECK_EQ_INT(frame("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0), 0);
    CHECK_EQ_INT(framing.chunked, 1);
    CHECK_EQ_INT(framing.has_content_length, 0);
    CHECK_EQ_INT(framing.until_close, 0);
    CHECK_EQ_INT(frame("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n", 0), 0);
    CHECK_EQ_INT(framing.chunked, 1);
    CHECK_EQ_INT(frame("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n", 0), 0);
    CHECK_EQ_INT(framing.chunked, 1);
}

static void test_response_without_length_runs_until_close(void)
{
    CHECK_EQ_INT(frame("HTTP/1.1 200 OK\r\n\r\n", 0), 0);
    CHECK_EQ_INT(framing.until_close, 1);
    CHECK_EQ_INT(framing.has_content_length, 0);
    CHECK_EQ_INT(framing.chunked, 0);
    CHECK_EQ_INT(frame("HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n", 0), 0);
    CHECK_EQ_INT(framing.until_close, 1);
}

static void test_transfer_encoding_not_ending_in_chunked_runs_until_close(void)
{
    CHECK_EQ_INT(frame("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 0), 0);
    CHECK_EQ_INT(framing.until_close, 1);
    CHECK_EQ_INT(framing.chunked, 0);
    CHECK_EQ_INT(frame("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 0), 0);
    CHECK_EQ_INT(framing.until_close, 1);
    CHECK_EQ_INT(framing.chunked, 0);
}

static void check_framing_refused(const char *head, int head_request)
{
    int rc = frame(head, head_request);
    if (rc != -1) {
        fputs("  framing of [", stderr);
        print_escaped(head, strlen(head));
        fprintf(stderr, "] is %d, expected -1\n", rc);
        unit_current_failed = 1;
    }
    CHECK(rsp.error != NULL);
}

static void test_content_length_with_transfer_encoding_is_refused(void)
{
    check_framing_refused("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n", 0);
    check_framing_refused("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                          "Content-Length: 5\r\n\r\n", 0);
}

static void test_repeated_content_length_is_refused(void)
{
    check_framing_refused("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 0);
    check_framing_refused("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n", 0);
}

static void test_invalid_content_length_is_refused(void)
{
    check_framing_refused("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0);
    check_framing_refused("HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n", 0);
    check_framing_refused("HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n", 0);
    check_framing_refused("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", 0);
    check_framing_refused("HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n", 0);
    check_framing_refused("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", 0);
}

/* ---- header helpers on response fields ---- */

static void test_find_count_and_tokens_on_response_fields(void)
{
    const char *head = "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\n"
                       "Connection: keep-alive, Upgrade\r\nSet-Cookie: a=1\r\n"
                       "set-cookie: b=2\r\n\r\n";
    CHECK_EQ_INT(parse(head), strlen(head));
    const struct http_header *h = http_fields_find(headers, rsp.num_headers, "Upgrade");
    CHECK(h != NULL);
    if (h)
        CHECK_COUNTED(h->value, h->value_len, "WebSocket");
    h = http_fields_find(headers, rsp.num_headers, "set-cookie");
    CHECK(h == &headers[2]);
    CHECK(http_fields_find(headers, rsp.num_headers, "Sec-WebSocket-Accept") == NULL);
    CHECK_EQ_INT(http_fields_count(headers, rsp.num_headers, "SET-COOKIE"), 2);
    CHECK_EQ_INT(http_fields_count(headers, rsp.num_headers, "connection"), 1);
    CHECK_EQ_INT(http_fields_count(headers, rsp.num_headers, "Date"), 0);
    CHECK(http_fields_has_token(headers, rsp.num_headers, "connection", "upgrade"));
    CHECK(http_fields_has_token(headers, rsp.num_headers, "Upgrade", "websocket"));
    CHECK(!http_fields_has_token(headers, rsp.num_headers, "connection", "close"));
    CHECK(!http_fields_has_token(headers, rsp.num_headers, "upgrade", "upgrade"));
}

static void test_helpers_see_only_the_first_n_fields(void)
{
    const char *head = "HTTP/1.1 200 OK\r\nA: x\r\nB: y\r\n\r\n";
    CHECK_EQ_INT(parse(head), strlen(head));
    CHECK(http_fields_find(headers, 1, "B") == NULL);
    CHECK_EQ_INT(http_fields_count(headers, 1, "B"), 0);
    CHECK(!http_fields_has_token(headers, 1, "B", "y"));
    CHECK(http_fields_has_token(headers, 2, "B", "y"));
}

/* ---- http_request_check ---- */

static struct http_header req_headers[MAX_HEADERS];
static struct http_request req;

static int request_check(const char *head, struct http_framing *f)
{
    memset(&req, 0, sizeof(req));
    req.headers = req_headers;
    req.max_headers = MAX_HEADERS;
    ssize_t rc = http_parse_request(head, strlen(head), &req);
    CHECK_EQ_INT(rc, strlen(head));
    if (rc <= 0)
        return -99;
    return http_request_check(&req, f);
}

static void test_request_check_wants_a_host_in_http_1_1(void)
{
    struct http_framing f;
    CHECK_EQ_INT(request_check("GET / HTTP/1.1\r\n\r\n", &f), -1);
    CHECK(req.error != NULL && strstr(req.error, "Host") != NULL);
    CHECK_EQ_INT(request_check("GET / HTTP/1.1\r\nhost: a\r\n\r\n", &f), 0);
}

static void test_request_check_allows_http_1_0_without_host(void)
{
    struct http_framing f;
    CHECK_EQ_INT(request_check("GET / HTTP/1.0\r\n\r\n", &f), 0);
    CHECK_EQ_INT(f.has_content_length, 0);
    CHECK_EQ_INT(f.chunked, 0);
}

static void test_request_check_refuses_two_hosts(void)
{
    struct http_framing f;
    CHECK_EQ_INT(request_check("GET / HTTP/1.1\r\nHost: a\r\nHOST: a\r\n\r\n", &f), -1);
    CHECK(req.error != NULL);
    CHECK_EQ_INT(request_check("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", &f), -1);
    CHECK(req.error != NULL);
}

static void test_request_check_refuses_bad_framing(void)
{
    struct http_framing f;
    CHECK_EQ_INT(request_check("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                               "Content-Length: 2\r\n\r\n", &f), -1);
    CHECK_EQ_INT(request_check("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
                               &f), 0);
    CHECK_EQ_INT(f.chunked, 1);
}

int main(void)
{
    RUN(test_simple_response_is_parsed);
    RUN(test_http_1_0_response_is_parsed);
    RUN(test_reason_phrase_may_have_spaces_and_obs_text);
    RUN(test_status_without_reason_is_accepted);
    RUN(test_status_with_empty_reason_is_accepted);
    RUN(test_every_valid_status_range_is_read);
    RUN(test_return_value_leaves_the_body);
    RUN(test_header_values_are_trimmed);
    RUN(test_pointers_point_into_the_callers_buffer);

    RUN(test_every_prefix_of_a_valid_head_is_incomplete);
    RUN(test_every_prefix_of_a_head_without_reason_is_incomplete);
    RUN(test_every_prefix_of_a_bare_status_line_is_incomplete);

    RUN(test_other_versions_are_refused);
    RUN(test_status_out_of_range_is_refused);
    RUN(test_non_digit_status_is_refused);
    RUN(test_short_status_is_refused);
    RUN(test_four_digit_status_is_refused);
    RUN(test_missing_space_after_version_is_refused);
    RUN(test_bare_lf_ending_the_status_line_is_refused);
    RUN(test_bare_cr_in_status_line_is_refused);
    RUN(test_control_character_in_reason_is_refused);
    RUN(test_obs_fold_in_response_is_refused);
    RUN(test_whitespace_before_colon_in_response_is_refused);
    RUN(test_bare_lf_and_cr_in_response_fields_are_refused);
    RUN(test_bad_field_names_in_response_are_refused);
    RUN(test_control_characters_in_response_values_are_refused);
    RUN(test_too_many_response_fields_are_reported);

    RUN(test_response_to_head_has_no_body);
    RUN(test_1xx_204_304_have_no_body);
    RUN(test_other_statuses_with_content_length_have_that_body);
    RUN(test_chunked_response);
    RUN(test_response_without_length_runs_until_close);
    RUN(test_transfer_encoding_not_ending_in_chunked_runs_until_close);
    RUN(test_content_length_with_transfer_encoding_is_refused);
    RUN(test_repeated_content_length_is_refused);
    RUN(test_invalid_content_length_is_refused);

    RUN(test_find_count_and_tokens_on_response_fields);
    RUN(test_helpers_see_only_the_first_n_fields);

    RUN(test_request_check_wants_a_host_in_http_1_1);
    RUN(test_request_check_allows_http_1_0_without_host);
    RUN(test_request_check_refuses_two_hosts);
    RUN(test_request_check_refuses_bad_framing);
    free(held);
    return unit_report("http-resp");
}
