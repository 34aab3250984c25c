/* test_handshake.c — shared/ws-handshake.h: the server side of the RFC 6455
 * opening handshake. */
#include <stdio.h>
#include <string.h>

#include "../../shared/ws-handshake.h"
#include "unit.h"

#define GET_LINE "GET /chat HTTP/1.1\r\n"
#define HOST "Host: server.example.com\r\n"
#define UPGRADE "Upgrade: websocket\r\n"
#define CONNECTION "Connection: Upgrade\r\n"
#define KEY_VALUE "dGhlIHNhbXBsZSBub25jZQ=="
#define KEY "Sec-WebSocket-Key: " KEY_VALUE "\r\n"
#define VERSION "Sec-WebSocket-Version: 13\r\n"
#define ORIGIN "Origin: http://example.com\r\n"
#define END "\r\n"

#define VALID GET_LINE HOST UPGRADE CONNECTION KEY ORIGIN VERSION END

static struct http_header headers[32];
static struct http_request req;
static struct ws_handshake hs;
static const char *why;

/* Parses a head (which must be well-formed HTTP) and runs the check. */
static int check_head(const char *head)
{
    memset(&req, 0, sizeof(req));
    req.headers = headers;
    req.max_headers = sizeof(headers) / sizeof(headers[0]);
    ssize_t n = http_parse_request(head, strlen(head), &req);
    CHECK_EQ_INT(n, strlen(head));
    if (n <= 0)
        return -1;
    why = NULL;
    int status = ws_handshake_check(&req, &hs, &why);
    if (status != 0)
        CHECK(why != NULL && why[0] != '\0');
    return status;
}

static int requested(const char *head)
{
    memset(&req, 0, sizeof(req));
    req.headers = headers;
    req.max_headers = sizeof(headers) / sizeof(headers[0]);
    CHECK_EQ_INT(http_parse_request(head, strlen(head), &req), strlen(head));
    return ws_handshake_requested(&req);
}

/* ---- Sec-WebSocket-Accept ---- */

static void test_rfc_example_key_gives_rfc_accept(void)
{
    char out[WS_ACCEPT_LEN + 1];
    memset(out, 'X', sizeof(out));
    ws_handshake_accept(KEY_VALUE, out);
    CHECK_EQ_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    CHECK_EQ_INT(out[WS_ACCEPT_LEN], '\0');
}

static void test_accept_reads_only_the_24_key_bytes(void)
{
    /* The key points into a request buffer: what follows it is not part of it. */
    char out[WS_ACCEPT_LEN + 1];
    ws_handshake_accept(KEY_VALUE "\r\nOrigin: x", out);
    CHECK_EQ_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

/* ---- ws_handshake_requested ---- */

static void test_upgrade_websocket_requests_a_handshake(void)
{
    CHECK(requested("GET / HTTP/1.1\r\nUpgrade: WebSocket\r\n\r\n"));
    CHECK(requested("GET / HTTP/1.1\r\nUpgrade: foo, websocket\r\n\r\n"));
}

static void test_key_alone_requests_a_handshake(void)
{
    CHECK(requested("GET / HTTP/1.1\r\nSec-WebSocket-Key: x\r\n\r\n"));
}

static void test_plain_request_does_not_request_a_handshake(void)
{
    CHECK(!requested("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"));
    CHECK(!requested("GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"));
}

/* ---- ws_handshake_check: valid requests ---- */

static void test_valid_request_is_accepted_with_key_and_origin(void)
{
    const char *head = VALID;
    CHECK_EQ_INT(check_head(head), 0);
    CHECK(hs.key != NULL && memcmp(hs.key, KEY_VALUE, WS_KEY_LEN) == 0);
    CHECK(hs.key >= head && hs.key < head + strlen(head)); /* points into the request */
    CHECK_EQ_INT(hs.origin_len, strlen("http://example.com"));
    CHECK(hs.origin != NULL && memcmp(hs.origin, "http://example.com", hs.origin_len) == 0);
}

static void test_request_without_origin_has_null_origin(void)
{
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION KEY VERSION END), 0);
    CHECK(hs.origin == NULL);
    CHECK_EQ_INT(hs.origin_len, 0);
}

static void test_header_names_and_tokens_are_case_insensitive(void)
{
    CHECK_EQ_INT(check_head("GET / HTTP/1.1\r\nhost: a\r\nUPGRADE: WebSocket\r\n"
                            "connection: UPGRADE\r\nsec-websocket-key: " KEY_VALUE "\r\n"
                            "SEC-WEBSOCKET-VERSION: 13\r\n\r\n"), 0);
}

static void test_upgrade_list_containing_websocket_is_accepted(void)
{
    CHECK_EQ_INT(check_head(GET_LINE HOST "Upgrade: foo, WebSocket\r\n" CONNECTION KEY VERSION END), 0);
}

static void test_connection_list_containing_upgrade_is_accepted(void)
{
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE "Connection: keep-alive, Upgrade\r\n" KEY VERSION END), 0);
}

static void test_content_length_zero_is_accepted(void)
{
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION KEY VERSION "Content-Length: 0\r\n" END), 0);
}

static void test_any_canonical_16_byte_key_is_accepted(void)
{
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION
                            "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n" VERSION END), 0);
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION
                            "Sec-WebSocket-Key: ++//++//09azAZ++//++/w==\r\n" VERSION END), 0);
}

/* ---- ws_handshake_check: refusals ---- */

static void test_post_is_400(void)
{
    CHECK_EQ_INT(check_head("POST /chat HTTP/1.1\r\n" HOST UPGRADE CONNECTION KEY VERSION END), 400);
    CHECK_EQ_INT(check_head("HEAD /chat HTTP/1.1\r\n" HOST UPGRADE CONNECTION KEY VERSION END), 400);
}

/* RFC 9110 9.1: "The method token is case-sensitive"; "get" is not GET. */
static void test_lowercase_get_is_another_method_and_is_400(void)
{
    CHECK_EQ_INT(check_head("get /chat HTTP/1.1\r\n" HOST UPGRADE CONNECTION KEY VERSION END), 400);
    CHECK_EQ_INT(check_head("Get /chat HTTP/1.1\r\n" HOST UPGRADE CONNECTION KEY VERSION END), 400);
}

static void test_http_1_0_is_400(void)
{
    CHECK_EQ_INT(check_head("GET /chat HTTP/1.0\r\n" HOST UPGRADE CONNECTION KEY VERSION END), 400);
}

static void test_missing_host_is_400(void)
{
    CHECK_EQ_INT(check_head(GET_LINE UPGRADE CONNECTION KEY VERSION END), 400);
}

static void test_two_hosts_are_400(void)
{
    CHECK_EQ_INT(check_head(GET_LINE HOST "Host: other\r\n" UPGRADE CONNECTION KEY VERSION END), 400);
}

static void test_missing_upgrade_is_400(void)
{
    CHECK_EQ_INT(check_head(GET_LINE HOST CONNECTION KEY VERSION END), 400);
}

static void test_upgrade_h2c_is_400(void)
{
    CHECK_EQ_INT(check_head(GET_LINE HOST "Upgrade: h2c\r\n" CONNECTION KEY VERSION END), 400);
    CHECK_EQ_INT(check_head(GET_LINE HOST "Upgrade: websockets\r\n" CONNECTION KEY VERSION END), 400);
}

static void test_missing_connection_upgrade_is_400(void)
{
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE KEY VERSION END), 400);
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE "Connection: keep-alive\r\n" KEY VERSION END), 400);
}

static void test_request_body_is_400(void)
{
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION KEY VERSION "Content-Length: 5\r\n" END), 400);
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION KEY VERSION
                            "Transfer-Encoding: chunked\r\n" END), 400);
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION KEY VERSION
                            "Content-Length: 0\r\nContent-Length: 0\r\n" END), 400);
}

static void test_missing_version_is_400(void)
{
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION KEY END), 400);
}

static void test_version_8_is_426(void)
{
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION KEY "Sec-WebSocket-Version: 8\r\n" END), 426);
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION KEY "Sec-WebSocket-Version: 13, 8\r\n" END), 426);
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION KEY "Sec-WebSocket-Version:\r\n" END), 426);
}

static void test_two_version_headers_are_426(void)
{
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION KEY VERSION VERSION END), 426);
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION KEY VERSION
                            "Sec-WebSocket-Version: 8\r\n" END), 426);
}

static void test_missing_key_is_400(void)
{
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION VERSION END), 400);
}

static void test_key_of_15_or_17_bytes_is_400(void)
{
    /* base64 of 15 bytes is 20 characters; of 17 bytes, 23 and one '='. */
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION VERSION
                            "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n" END), 400);
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION VERSION
                            "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\n" END), 400);
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION VERSION
                            "Sec-WebSocket-Key: " KEY_VALUE "A\r\n" END), 400);
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION VERSION
                            "Sec-WebSocket-Key: \r\n" END), 400);
}

static void test_key_with_invalid_base64_char_is_400(void)
{
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION VERSION
                            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBu*25jZQ==\r\n" END), 400);
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION VERSION
                            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBu-25jZQ==\r\n" END), 400);
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION VERSION
                            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=A\r\n" END), 400);
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION VERSION
                            "Sec-WebSocket-Key: dGhlIHNhbXBsZS=ub25jZQ==\r\n" END), 400);
}

static void test_non_canonical_last_key_char_is_400(void)
{
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION VERSION
                            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==\r\n" END), 400);
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION VERSION
                            "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAB==\r\n" END), 400);
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION VERSION
                            "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAA/==\r\n" END), 400);
    /* 'E' = 4 and 'I' = 8: only the upper padding bits set. */
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION VERSION
                            "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAE==\r\n" END), 400);
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION VERSION
                            "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAI==\r\n" END), 400);
}

static void test_two_keys_are_400(void)
{
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION VERSION KEY KEY END), 400);
}

/* ---- the documented order of checks ---- */

static void test_checks_run_in_documented_order(void)
{
    /* Version is checked after the body and before the key: a request wrong
     * in both answers with the earlier check's status. */
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION "Sec-WebSocket-Version: 8\r\n" END), 426);
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION "Sec-WebSocket-Version: 8\r\n"
                            "Sec-WebSocket-Key: bad\r\n" END), 426);
    CHECK_EQ_INT(check_head("GET / HTTP/1.0\r\n" HOST UPGRADE CONNECTION KEY
                            "Sec-WebSocket-Version: 8\r\n" END), 400);
    CHECK_EQ_INT(check_head(GET_LINE UPGRADE CONNECTION KEY "Sec-WebSocket-Version: 8\r\n" END), 400);
    CHECK_EQ_INT(check_head(GET_LINE HOST CONNECTION KEY "Sec-WebSocket-Version: 8\r\n" END), 400);
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE KEY "Sec-WebSocket-Version: 8\r\n" END), 400);
    CHECK_EQ_INT(check_head(GET_LINE HOST UPGRADE CONNECTION KEY "Content-Length: 5\r\n"
                            "Sec-WebSocket-Version: 8\r\n" END), 400);

    /* The reasons name the first failed check. */
    check_head("POST / HTTP/1.0\r\n\r\n");
    CHECK(why != NULL && strstr(why, "GET") != NULL);
    check_head("GET / HTTP/1.0\r\n\r\n");
    CHECK(why != NULL && strstr(why, "HTTP/1.1") != NULL);
    check_head(GET_LINE "\r\n");
    CHECK(why != NULL && strstr(why, "Host") != NULL);
    check_head(GET_LINE HOST "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
    CHECK(why != NULL && strstr(why, "Transfer-Encoding") != NULL); /* framing before Upgrade */
    check_head(GET_LINE HOST "\r\n");
    CHECK(why != NULL && strstr(why, "Upgrade") != NULL);
    check_head(GET_LINE HOST UPGRADE "\r\n");
    CHECK(why != NULL && strstr(why, "Connection") != NULL);
    check_head(GET_LINE HOST UPGRADE CONNECTION "\r\n");
    CHECK(why != NULL && strstr(why, "Version") != NULL);
    check_head(GET_LINE HOST UPGRADE CONNECTION VERSION "\r\n");
    CHECK(why != NULL && strstr(why, "Key") != NULL);
}

static int offers(const char *protocol_lines)
{
    char head[1024];
    snprintf(head, sizeof(head), GET_LINE HOST UPGRADE CONNECTION KEY VERSION "%s" END, protocol_lines);
    CHECK_EQ_INT(check_head(head), 0);
    return ws_handshake_offers_protocol(&req, "wscale.chat.v1");
}

static void test_offered_protocol_is_found_in_lists_and_repeated_fields(void)
{
    CHECK(offers("Sec-WebSocket-Protocol: wscale.chat.v1\r\n"));
    CHECK(offers("Sec-WebSocket-Protocol: chat, wscale.chat.v1\r\n"));
    CHECK(offers("Sec-WebSocket-Protocol: wscale.chat.v1 ,chat\r\n"));
    CHECK(offers("Sec-WebSocket-Protocol: chat\r\nsec-websocket-protocol: wscale.chat.v1\r\n"));
}

static void test_protocol_names_compare_exactly(void)
{
    CHECK(!offers(""));
    CHECK(!offers("Sec-WebSocket-Protocol: chat\r\n"));
    CHECK(!offers("Sec-WebSocket-Protocol: WSCALE.CHAT.V1\r\n"));
    CHECK(!offers("Sec-WebSocket-Protocol: wscale.chat.v10\r\n"));
    CHECK(!offers("Sec-WebSocket-Protocol: wscale.chat\r\n"));
    CHECK(!offers("Sec-WebSocket-Protocol: wscale.chat.v1x, v1\r\n"));
    CHECK(!offers("X-Sec-WebSocket-Protocol: wscale.chat.v1\r\n"));
}

int main(void)
{
    RUN(test_rfc_example_key_gives_rfc_accept);
    RUN(test_accept_reads_only_the_24_key_bytes);
    RUN(test_upgrade_websocket_requests_a_handshake);
    RUN(test_key_alone_requests_a_handshake);
    RUN(test_plain_request_does_not_request_a_handshake);

    RUN(test_valid_request_is_accepted_with_key_and_origin);
    RUN(test_request_without_origin_has_null_origin);
    RUN(test_header_names_and_tokens_are_case_insensitive);
    RUN(test_upgrade_list_containing_websocket_is_accepted);
    RUN(test_connection_list_containing_upgrade_is_accepted);
    RUN(test_content_length_zero_is_accepted);
    RUN(test_any_canonical_16_byte_key_is_accepted);

    RUN(test_post_is_400);
    RUN(test_lowercase_get_is_another_method_and_is_400);
    RUN(test_http_1_0_is_400);
    RUN(test_missing_host_is_400);
    RUN(test_two_hosts_are_400);
    RUN(test_missing_upgrade_is_400);
    RUN(test_upgrade_h2c_is_400);
    RUN(test_missing_connection_upgrade_is_400);
    RUN(test_request_body_is_400);
    RUN(test_missing_version_is_400);
    RUN(test_version_8_is_426);
    RUN(test_two_version_headers_are_426);
    RUN(test_missing_key_is_400);
    RUN(test_key_of_15_or_17_bytes_is_400);
    RUN(test_key_with_invalid_base64_char_is_400);
    RUN(test_non_canonical_last_key_char_is_400);
    RUN(test_two_keys_are_400);
    RUN(test_checks_run_in_documented_order);
    RUN(test_offered_protocol_is_found_in_lists_and_repeated_fields);
    RUN(test_protocol_names_compare_exactly);
    return unit_report("handshake");
}
