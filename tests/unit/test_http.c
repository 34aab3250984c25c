/* test_http.c — shared/http.h: the request-head parser, body framing and the
 * header helpers. */
#include <stdlib.h>
#include <string.h>

#include "../../shared/http.h"
#include "unit.h"

#define MAX_HEADERS 16

static struct http_header headers[MAX_HEADERS];
static struct http_request req;

/* Parses buf[0..len) from a heap copy of exactly len bytes, so that ASan
 * reports any read past the end. */
static ssize_t parse_n(const char *buf, size_t len, size_t max_headers)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, buf, len);
    memset(&req, 0, sizeof(req));
    memset(headers, 0, sizeof(headers));
    req.headers = headers;
    req.max_headers = max_headers;
    ssize_t rc = http_parse_request(copy, len, &req);
    /* Pointers into the copy must stay meaningful: re-point them at buf. */
    if (rc > 0) {
        req.method = buf + (req.method - copy);
        req.target = buf + (req.target - copy);
        for (size_t i = 0; i < req.num_headers; i++) {
            headers[i].name = buf + (headers[i].name - copy);
            headers[i].value = buf + (headers[i].value - copy);
        }
    }
    free(copy);
    return rc;
}

static ssize_t parse(const char *s)
{
    return parse_n(s, strlen(s), MAX_HEADERS);
}

/* True if the counted string s[0..len) equals the C string lit exactly. */
static int counted_eq(const char *s, size_t len, const char *lit)
{
    return len == strlen(lit) && memcmp(s, lit, len) == 0;
}

#define CHECK_COUNTED(ptr, len, lit) CHECK(counted_eq((ptr), (len), (lit)))

/* ---- http_parse_request: complete heads ---- */

static void test_simple_get_is_parsed(void)
{
    const char *head = "GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nX-Empty:\r\n\r\n";
    CHECK_EQ_INT(parse(head), strlen(head));
    CHECK_COUNTED(req.method, req.method_len, "GET");
    CHECK_COUNTED(req.target, req.target_len, "/chat?room=1");
    CHECK_EQ_INT(req.minor_version, 1);
    CHECK_EQ_INT(req.num_headers, 2);
    CHECK_COUNTED(headers[0].name, headers[0].name_len, "Host");
    CHECK_COUNTED(headers[0].value, headers[0].value_len, "example.com");
    CHECK_COUNTED(headers[1].name, headers[1].name_len, "X-Empty");
    CHECK_EQ_INT(headers[1].value_len, 0);
    CHECK(req.error == NULL);
}

static void test_http_1_0_sets_minor_version_0(void)
{
    const char *head = "GET / HTTP/1.0\r\n\r\n";
    CHECK_EQ_INT(parse(head), strlen(head));
    CHECK_EQ_INT(req.minor_version, 0);
    CHECK_EQ_INT(req.num_headers, 0);
}

static void test_method_may_be_any_token(void)
{
    const char *head = "M-SEARCH! * HTTP/1.1\r\n\r\n";
    CHECK_EQ_INT(parse(head), strlen(head));
    CHECK_COUNTED(req.method, req.method_len, "M-SEARCH!");
    CHECK_COUNTED(req.target, req.target_len, "*");
}

static void test_return_value_is_head_length_and_leaves_body(void)
{
    const char *head = "POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\n";
    char buf[128];
    snprintf(buf, sizeof(buf), "%sBODYGET / HTTP/1.1\r\n", head);
    CHECK_EQ_INT(parse(buf), strlen(head));
    CHECK_EQ_INT(req.num_headers, 1);
}

static void test_leading_empty_lines_are_ignored(void)
{
    const char *head = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK_EQ_INT(parse(head), strlen(head));
    CHECK_COUNTED(req.method, req.method_len, "GET");
    CHECK_EQ_INT(req.method - head, 4);
    CHECK_EQ_INT(req.num_headers, 1);
}

static void test_value_whitespace_is_trimmed_but_inner_kept(void)
{
    const char *head = "GET / HTTP/1.1\r\nX-A: \t a \t b\t \r\nX-B:c\r\nX-C:   \r\n\r\n";
    CHECK_EQ_INT(parse(head), strlen(head));
    CHECK_EQ_INT(req.num_headers, 3);
    CHECK_COUNTED(headers[0].value, headers[0].value_len, "a \t b");
    CHECK_COUNTED(headers[1].value, headers[1].value_len, "c");
    CHECK_EQ_INT(headers[2].value_len, 0);
}

static void test_obs_text_in_values_is_accepted(void)
{
    char head[64 + 128];
    size_t n = 0;
    const char *start = "GET / HTTP/1.1\r\nX-Obs: ";
    memcpy(head, start, strlen(start));
    n = strlen(start);
    for (int c = 0x80; c <= 0xFF; c++)
        head[n++] = (char)c;
    memcpy(head + n, "\r\n\r\n", 4);
    n += 4;
    CHECK_EQ_INT(parse_n(head, n, MAX_HEADERS), n);
    CHECK_EQ_INT(req.num_headers, 1);
    CHECK_EQ_INT(headers[0].value_len, 128);
    CHECK_EQ_INT((unsigned char)headers[0].value[0], 0x80);
    CHECK_EQ_INT((unsigned char)headers[0].value[127], 0xFF);
}

static void test_pointers_point_into_the_callers_buffer(void)
{
    const char *head = "GET /p HTTP/1.1\r\nHost: h\r\n\r\n";
    memset(&req, 0, sizeof(req));
    req.headers = headers;
    req.max_headers = MAX_HEADERS;
    CHECK_EQ_INT(http_parse_request(head, strlen(head), &req), strlen(head));
    CHECK(req.method == head);
    CHECK(req.target == head + 4);
    CHECK(headers[0].name == head + 17);
    CHECK(headers[0].value == head + 23);
}

/* ---- http_parse_request: incomplete input ---- */

static void check_every_prefix_incomplete(const char *head)
{
    size_t len = strlen(head);
    for (size_t k = 0; k < len; k++) {
        ssize_t rc = parse_n(head, k, MAX_HEADERS);
        if (rc != HTTP_INCOMPLETE) {
            fprintf(stderr, "  prefix of %zu bytes of \"%s\" gave %zd\n", k, head, rc);
            CHECK_EQ_INT(rc, HTTP_INCOMPLETE);
            return;
        }
    }
    CHECK_EQ_INT(parse_n(head, len, MAX_HEADERS), len);
}

static void test_every_prefix_of_a_valid_head_is_incomplete(void)
{
    check_every_prefix_incomplete("GET /chat HTTP/1.1\r\nHost: example.com\r\n"
                                  "Upgrade: websocket\r\nX-Empty:\r\nX-Ws: \t v \t\r\n\r\n");
}

static void test_every_prefix_with_leading_crlf_is_incomplete(void)
{
    check_every_prefix_incomplete("\r\n\r\nPOST / HTTP/1.0\r\nA:b\r\n\r\n");
}

static void test_every_prefix_of_head_without_headers_is_incomplete(void)
{
    check_every_prefix_incomplete("OPTIONS * HTTP/1.1\r\n\r\n");
}

/* ---- http_parse_request: 400 shapes ---- */

static void check_bad(const char *head)
{
    ssize_t rc = parse(head);
    if (rc != HTTP_BAD_REQUEST)
        fprintf(stderr, "  \"%s\" gave %zd\n", head, rc);
    CHECK_EQ_INT(rc, HTTP_BAD_REQUEST);
    CHECK(req.error != NULL && req.error[0] != '\0');
}

static void check_bad_n(const char *head, size_t len)
{
    CHECK_EQ_INT(parse_n(head, len, MAX_HEADERS), HTTP_BAD_REQUEST);
    CHECK(req.error != NULL);
}

static void test_method_with_non_token_chars_is_400(void)
{
    check_bad("GE(T / HTTP/1.1\r\n\r\n");
    check_bad("G@T / HTTP/1.1\r\n\r\n");
    check_bad("GET\t/ HTTP/1.1\r\n\r\n");
    check_bad("G\"T / HTTP/1.1\r\n\r\n");
}

static void test_empty_method_is_400(void)
{
    check_bad(" / HTTP/1.1\r\n\r\n");
}

static void test_spaces_in_target_are_400(void)
{
    check_bad("GET /a b HTTP/1.1\r\n\r\n");
    check_bad("GET  / HTTP/1.1\r\n\r\n"); /* empty target */
    check_bad("GET / HTTP/1.1 \r\n\r\n");
}

static void test_non_ascii_or_control_in_target_is_400(void)
{
    check_bad("GET /\xc3\xa9 HTTP/1.1\r\n\r\n");
    check_bad("GET /\x01 HTTP/1.1\r\n\r\n");
    check_bad("GET /\t HTTP/1.1\r\n\r\n");
    check_bad("GET /\x7f HTTP/1.1\r\n\r\n");
    check_bad_n("GET /\0 HTTP/1.1\r\n\r\n", sizeof("GET /\0 HTTP/1.1\r\n\r\n") - 1);
}

static void test_unsupported_versions_are_400(void)
{
    check_bad("GET / HTTP/2.0\r\n\r\n");
    check_bad("GET / HTTP/1.2\r\n\r\n");
    check_bad("GET / HTTP/1.1x\r\n\r\n");
    check_bad("GET / HTTP/1.10\r\n\r\n");
    check_bad("GET / http/1.1\r\n\r\n");
    check_bad("GET / HTTP/0.9\r\n\r\n");
    check_bad("GET /\r\n\r\n");
}

static void test_whitespace_before_colon_is_400(void)
{
    check_bad("GET / HTTP/1.1\r\nHost : a\r\n\r\n");
    check_bad("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n");
}

static void test_empty_header_name_is_400(void)
{
    check_bad("GET / HTTP/1.1\r\n: a\r\n\r\n");
}

static void test_non_token_header_name_is_400(void)
{
    check_bad("GET / HTTP/1.1\r\nX(y): a\r\n\r\n");
    check_bad("GET / HTTP/1.1\r\nNoColon\r\n\r\n");
}

static void test_obs_fold_is_400_and_named(void)
{
    check_bad("GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n");
    CHECK(req.error != NULL && strstr(req.error, "fold") != NULL);
    check_bad("GET / HTTP/1.1\r\nX-A: a\r\n\tb\r\n\r\n");
    CHECK(req.error != NULL && strstr(req.error, "fold") != NULL);
    check_bad("GET / HTTP/1.1\r\n Host: a\r\n\r\n");
}

static void test_bare_cr_is_400(void)
{
    check_bad("GET / HTTP/1.1\rHost: a\r\n\r\n");
    check_bad("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n");
    check_bad("GET / HTTP/1.1\r\nHost: a\r\n\rX");
    check_bad("\rGET / HTTP/1.1\r\n\r\n");
}

static void test_bare_lf_in_request_line_is_400(void)
{
    check_bad("GET / HTTP/1.1\nHost: a\r\n\r\n");
    check_bad("\nGET / HTTP/1.1\r\n\r\n");
}

static void test_bare_lf_in_header_is_400(void)
{
    check_bad("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n");
    check_bad("GET / HTTP/1.1\r\nHost: a\r\n\n");
}

static void test_control_characters_in_values_are_400(void)
{
    static const char ctl[] = { 0x00, 0x01, 0x08, 0x0b, 0x0c, 0x1f, 0x7f };
    for (size_t i = 0; i < sizeof(ctl); i++) {
        char head[64];
        int n = snprintf(head, sizeof(head), "GET / HTTP/1.1\r\nX-A: a?b\r\n\r\n");
        char *q = strchr(head, '?');
        *q = ctl[i];
        CHECK_EQ_INT(parse_n(head, (size_t)n, MAX_HEADERS), HTTP_BAD_REQUEST);
    }
}

static void test_too_many_headers_is_reported(void)
{
    const char *head = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    CHECK_EQ_INT(parse_n(head, strlen(head), 2), HTTP_TOO_MANY_HEADERS);
    CHECK(req.error != NULL);
    CHECK_EQ_INT(parse_n(head, strlen(head), 3), strlen(head));
    CHECK_EQ_INT(req.num_headers, 3);
    CHECK_EQ_INT(parse_n(head, strlen(head), 0), HTTP_TOO_MANY_HEADERS);
}

/* ---- http_request_framing ---- */

static int framing(const char *head, struct http_framing *f)
{
    ssize_t rc = parse(head);
    CHECK_EQ_INT(rc, strlen(head));
    if (rc <= 0)
        return -99;
    return http_request_framing(&req, f);
}

static void check_framing_refused(const char *head)
{
    struct http_framing f;
    int rc = framing(head, &f);
    if (rc != -1)
        fprintf(stderr, "  framing of \"%s\" gave %d\n", head, rc);
    CHECK_EQ_INT(rc, -1);
    CHECK(req.error != NULL && req.error[0] != '\0');
}

static void test_no_body_headers_means_no_body(void)
{
    struct http_framing f;
    CHECK_EQ_INT(framing("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &f), 0);
    CHECK_EQ_INT(f.chunked, 0);
    CHECK_EQ_INT(f.has_content_length, 0);
}

static void test_valid_content_length_is_read(void)
{
    struct http_framing f;
    CHECK_EQ_INT(framing("POST / HTTP/1.1\r\ncontent-LENGTH: 1234\r\n\r\n", &f), 0);
    CHECK_EQ_INT(f.has_content_length, 1);
    CHECK_EQ_INT(f.content_length, 1234);
    CHECK_EQ_INT(f.chunked, 0);
    CHECK_EQ_INT(framing("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &f), 0);
    CHECK_EQ_INT(f.has_content_length, 1);
    CHECK_EQ_INT(f.content_length, 0);
    CHECK_EQ_INT(framing("POST / HTTP/1.1\r\nContent-Length: 999999999999999999\r\n\r\n", &f), 0);
    CHECK(f.content_length == UINT64_C(999999999999999999));
}

static void test_valid_chunked_is_read(void)
{
    struct http_framing f;
    CHECK_EQ_INT(framing("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &f), 0);
    CHECK_EQ_INT(f.chunked, 1);
    CHECK_EQ_INT(f.has_content_length, 0);
    CHECK_EQ_INT(framing("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n", &f), 0);
    CHECK_EQ_INT(f.chunked, 1);
    CHECK_EQ_INT(framing("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n", &f), 0);
    CHECK_EQ_INT(f.chunked, 1);
}

static void test_content_length_with_transfer_encoding_is_refused(void)
{
    check_framing_refused("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n");
    check_framing_refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n");
}

static void test_repeated_content_length_is_refused(void)
{
    check_framing_refused("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n");
    check_framing_refused("POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n");
}

static void test_content_length_list_is_refused(void)
{
    check_framing_refused("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n");
    check_framing_refused("POST / HTTP/1.1\r\nContent-Length: 5,5\r\n\r\n");
}

static void test_malformed_content_length_is_refused(void)
{
    check_framing_refused("POST / HTTP/1.1\r\nContent-Length: 5a\r\n\r\n");
    check_framing_refused("POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n");
    check_framing_refused("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n");
    check_framing_refused("POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n");
    check_framing_refused("POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n");
    check_framing_refused("POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n");
    check_framing_refused("POST / HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n");
    check_framing_refused("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n");
}

static void test_transfer_encoding_not_ending_in_chunked_is_refused(void)
{
    check_framing_refused("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n");
    check_framing_refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n");
    check_framing_refused("POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n");
    check_framing_refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunkedx\r\n\r\n");
}

static void test_chunked_twice_is_refused(void)
{
    check_framing_refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n");
    check_framing_refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n");
}

static void test_transfer_encoding_in_http_1_0_is_refused(void)
{
    check_framing_refused("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
}

/* ---- http_request_check ---- */

static int request_check(const char *head, struct http_framing *f)
{
    ssize_t rc = parse(head);
    CHECK_EQ_INT(rc, strlen(head));
    if (rc <= 0)
        return -99;
    return http_request_check(&req, f);
}

static void test_request_check_wants_one_host_in_http_1_1(void)
{
    struct http_framing f;
    CHECK_EQ_INT(request_check("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &f), 0);
    CHECK_EQ_INT(request_check("GET / HTTP/1.1\r\n\r\n", &f), -1);
    CHECK(req.error != NULL);
    CHECK_EQ_INT(request_check("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", &f), -1);
    CHECK(req.error != NULL);
}

static void test_request_check_allows_http_1_0_without_host_but_not_two(void)
{
    struct http_framing f;
    CHECK_EQ_INT(request_check("GET / HTTP/1.0\r\n\r\n", &f), 0);
    CHECK_EQ_INT(request_check("GET / HTTP/1.0\r\nHost: a\r\n\r\n", &f), 0);
    CHECK_EQ_INT(request_check("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", &f), -1);
}

static void test_request_check_applies_and_returns_framing(void)
{
    struct http_framing f;
    CHECK_EQ_INT(request_check("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n", &f), 0);
    CHECK_EQ_INT(f.has_content_length, 1);
    CHECK_EQ_INT(f.content_length, 12);
    CHECK_EQ_INT(request_check("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n", &f), -1);
    CHECK(req.error != NULL);
}

/* ---- header helpers ---- */

static void test_has_token_is_case_insensitive(void)
{
    CHECK(parse("GET / HTTP/1.1\r\nconnection: UpGrade\r\n\r\n") > 0);
    CHECK(http_header_has_token(&req, "Connection", "upgrade"));
    CHECK(http_header_has_token(&req, "CONNECTION", "UPGRADE"));
}

static void test_has_token_reads_comma_lists_with_whitespace(void)
{
    CHECK(parse("GET / HTTP/1.1\r\nConnection: keep-alive ,\t Upgrade \t, close\r\n\r\n") > 0);
    CHECK(http_header_has_token(&req, "connection", "keep-alive"));
    CHECK(http_header_has_token(&req, "connection", "upgrade"));
    CHECK(http_header_has_token(&req, "connection", "close"));
    CHECK(!http_header_has_token(&req, "connection", "upgrad"));
    CHECK(!http_header_has_token(&req, "connection", "keep-alive , Upgrade"));
    CHECK(!http_header_has_token(&req, "upgrade", "upgrade"));
}

static void test_has_token_matches_whole_elements_only(void)
{
    CHECK(parse("GET / HTTP/1.1\r\nConnection: upgrades, x-upgrade\r\n\r\n") > 0);
    CHECK(!http_header_has_token(&req, "connection", "upgrade"));
}

static void test_has_token_looks_at_every_field(void)
{
    CHECK(parse("GET / HTTP/1.1\r\nConnection: keep-alive\r\nHost: a\r\n"
                "Connection: Upgrade\r\n\r\n") > 0);
    CHECK(http_header_has_token(&req, "connection", "upgrade"));
    CHECK(http_header_has_token(&req, "connection", "keep-alive"));
}

static void test_has_token_skips_empty_elements(void)
{
    CHECK(parse("GET / HTTP/1.1\r\nConnection: , ,upgrade,,\r\nX-E:\r\n\r\n") > 0);
    CHECK(http_header_has_token(&req, "connection", "upgrade"));
    CHECK(!http_header_has_token(&req, "connection", ""));
    CHECK(!http_header_has_token(&req, "x-e", ""));
}

static void test_header_count_counts_fields_case_insensitively(void)
{
    CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nhost: b\r\nHOST: c\r\n\r\n") > 0);
    CHECK_EQ_INT(http_header_count(&req, "host"), 3);
    CHECK_EQ_INT(http_header_count(&req, "x"), 1);
    CHECK_EQ_INT(http_header_count(&req, "hos"), 0);
    CHECK_EQ_INT(http_header_count(&req, "origin"), 0);
}

static void test_header_find_returns_first_match(void)
{
    CHECK(parse("GET / HTTP/1.1\r\nX: 1\r\nhost: first\r\nHost: second\r\n\r\n") > 0);
    const struct http_header *h = http_header_find(&req, "HOST");
    CHECK(h == &headers[1]);
    if (h)
        CHECK_COUNTED(h->value, h->value_len, "first");
    CHECK(http_header_find(&req, "origin") == NULL);
    CHECK(http_header_find(&req, "hostx") == NULL);
}

static void test_caseeq_folds_ascii_letters_only(void)
{
    CHECK(http_caseeq("Upgrade", 7, "uPGRADE", 7));
    CHECK(http_caseeq("", 0, "", 0));
    CHECK(!http_caseeq("upgrade", 7, "upgrades", 8));
    CHECK(!http_caseeq("abc", 3, "abd", 3));
    CHECK(!http_caseeq("@", 1, "`", 1));   /* 0x40 vs 0x60 */
    CHECK(!http_caseeq("[", 1, "{", 1));   /* 0x5B vs 0x7B */
    CHECK(!http_caseeq("\xc9", 1, "\xe9", 1));
    CHECK(http_caseeq("abc", 2, "ABx", 2));
    CHECK(http_token_eq("WebSocket", 9, "websocket"));
    CHECK(!http_token_eq("WebSocket", 8, "websocket"));
}

static void test_status_reason_phrases(void)
{
    CHECK_EQ_STR(http_status_reason(101), "Switching Protocols");
    CHECK_EQ_STR(http_status_reason(200), "OK");
    CHECK_EQ_STR(http_status_reason(400), "Bad Request");
    CHECK_EQ_STR(http_status_reason(403), "Forbidden");
    CHECK_EQ_STR(http_status_reason(404), "Not Found");
    CHECK_EQ_STR(http_status_reason(426), "Upgrade Required");
    CHECK_EQ_STR(http_status_reason(431), "Request Header Fields Too Large");
    CHECK_EQ_STR(http_status_reason(503), "Service Unavailable");
    CHECK_EQ_STR(http_status_reason(999), "Unknown");
}

int main(void)
{
    RUN(test_simple_get_is_parsed);
    RUN(test_http_1_0_sets_minor_version_0);
    RUN(test_method_may_be_any_token);
    RUN(test_return_value_is_head_length_and_leaves_body);
    RUN(test_leading_empty_lines_are_ignored);
    RUN(test_value_whitespace_is_trimmed_but_inner_kept);
    RUN(test_obs_text_in_values_is_accepted);
    RUN(test_pointers_point_into_the_callers_buffer);

    RUN(test_every_prefix_of_a_valid_head_is_incomplete);
    RUN(test_every_prefix_with_leading_crlf_is_incomplete);
    RUN(test_every_prefix_of_head_without_headers_is_incomplete);

    RUN(test_method_with_non_token_chars_is_400);
    RUN(test_empty_method_is_400);
    RUN(test_spaces_in_target_are_400);
    RUN(test_non_ascii_or_control_in_target_is_400);
    RUN(test_unsupported_versions_are_400);
    RUN(test_whitespace_before_colon_is_400);
    RUN(test_empty_header_name_is_400);
    RUN(test_non_token_header_name_is_400);
    RUN(test_obs_fold_is_400_and_named);
    RUN(test_bare_cr_is_400);
    RUN(test_bare_lf_in_request_line_is_400);
    RUN(test_bare_lf_in_header_is_400);
    RUN(test_control_characters_in_values_are_400);
    RUN(test_too_many_headers_is_reported);

    RUN(test_no_body_headers_means_no_body);
    RUN(test_valid_content_length_is_read);
    RUN(test_valid_chunked_is_read);
    RUN(test_content_length_with_transfer_encoding_is_refused);
    RUN(test_repeated_content_length_is_refused);
    RUN(test_content_length_list_is_refused);
    RUN(test_malformed_content_length_is_refused);
    RUN(test_transfer_encoding_not_ending_in_chunked_is_refused);
    RUN(test_chunked_twice_is_refused);
    RUN(test_transfer_encoding_in_http_1_0_is_refused);

    RUN(test_request_check_wants_one_host_in_http_1_1);
    RUN(test_request_check_allows_http_1_0_without_host_but_not_two);
    RUN(test_request_check_applies_and_returns_framing);

    RUN(test_has_token_is_case_insensitive);
    RUN(test_has_token_reads_comma_lists_with_whitespace);
    RUN(test_has_token_matches_whole_elements_only);
    RUN(test_has_token_looks_at_every_field);
    RUN(test_has_token_skips_empty_elements);
    RUN(test_header_count_counts_fields_case_insensitively);
    RUN(test_header_find_returns_first_match);
    RUN(test_caseeq_folds_ascii_letters_only);
    RUN(test_status_reason_phrases);
    return unit_report("http");
}
