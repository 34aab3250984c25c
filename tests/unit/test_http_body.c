/* test_http_body.c — shared/http-body.h: where a message body ends, found
 * incrementally (Content-Length, chunked, until close, none). */
#include <stdlib.h>
#include <string.h>

#include "../../shared/http-body.h"
#include "unit.h"

static struct http_body body;

static void init_none(void)
{
    struct http_framing f = { 0, 0, 1, 0 };
    http_body_init(&body, &f);
}

static void init_length(uint64_t n)
{
    struct http_framing f = { 0, n, 1, 0 };
    http_body_init(&body, &f);
}

static void init_chunked(void)
{
    struct http_framing f = { 1, 0, 0, 0 };
    http_body_init(&body, &f);
}

static void init_close(void)
{
    struct http_framing f = { 0, 0, 0, 1 };
    http_body_init(&body, &f);
}

/* Feeds p[0..len) from a heap copy of exactly len bytes (ASan sees any
 * over-read). */
static ssize_t feed_n(const void *p, size_t len, int *done)
{
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, p, len);
    *done = -1;
    ssize_t n = http_body_feed(&body, copy, len, done);
    free(copy);
    return n;
}

static ssize_t feed(const char *s, int *done)
{
    return feed_n(s, strlen(s), done);
}

/* ---- init and done ---- */

static void test_init_picks_the_kind_from_the_framing(void)
{
    init_none();
    CHECK_EQ_INT(body.kind, HTTP_BODY_NONE);
    init_length(0);
    CHECK_EQ_INT(body.kind, HTTP_BODY_NONE);
    init_length(10);
    CHECK_EQ_INT(body.kind, HTTP_BODY_LENGTH);
    CHECK_EQ_INT(body.remaining, 10);
    init_chunked();
    CHECK_EQ_INT(body.kind, HTTP_BODY_CHUNKED);
    init_close();
    CHECK_EQ_INT(body.kind, HTTP_BODY_CLOSE);
    struct http_framing nothing = { 0, 0, 0, 0 };
    http_body_init(&body, &nothing);
    CHECK_EQ_INT(body.kind, HTTP_BODY_NONE);
}

static void test_init_resets_previous_state(void)
{
    int done;
    init_chunked();
    CHECK_EQ_INT(feed("5\r\nhel", &done), 6);
    init_chunked();
    CHECK_EQ_INT(body.total, 0);
    CHECK_EQ_INT(body.remaining, 0);
    CHECK_EQ_INT(body.line_len, 0);
    CHECK_EQ_INT(feed("0\r\n\r\n", &done), 5);
    CHECK_EQ_INT(done, 1);
}

static void test_done_for_each_kind(void)
{
    int done;
    init_none();
    CHECK(http_body_done(&body));
    init_length(3);
    CHECK(!http_body_done(&body));
    feed("ab", &done);
    CHECK(!http_body_done(&body));
    feed("c", &done);
    CHECK(http_body_done(&body));
    init_chunked();
    CHECK(!http_body_done(&body));
    feed("0\r\n\r", &done);
    CHECK(!http_body_done(&body));
    feed("\n", &done);
    CHECK(http_body_done(&body));
    init_close();
    CHECK(!http_body_done(&body));
    feed("anything", &done);
    CHECK(!http_body_done(&body));
}

/* ---- no body ---- */

static void test_no_body_takes_nothing_and_is_done(void)
{
    int done;
    init_none();
    CHECK_EQ_INT(feed("GET / HTTP/1.1\r\n", &done), 0);
    CHECK_EQ_INT(done, 1);
    CHECK_EQ_INT(body.total, 0);
}

/* ---- Content-Length ---- */

static void test_length_stops_at_content_length(void)
{
    int done;
    init_length(5);
    CHECK_EQ_INT(feed("helloGET / HTTP/1.1\r\n", &done), 5);
    CHECK_EQ_INT(done, 1);
    CHECK_EQ_INT(body.total, 5);
    /* Nothing more belongs to it. */
    CHECK_EQ_INT(feed("more", &done), 0);
    CHECK_EQ_INT(done, 1);
    CHECK_EQ_INT(body.total, 5);
}

static void test_length_fed_in_pieces(void)
{
    int done;
    init_length(10);
    CHECK_EQ_INT(feed("abc", &done), 3);
    CHECK_EQ_INT(done, 0);
    CHECK_EQ_INT(feed("", &done), 0);
    CHECK_EQ_INT(done, 0);
    CHECK_EQ_INT(feed("defg", &done), 4);
    CHECK_EQ_INT(done, 0);
    CHECK_EQ_INT(body.total, 7);
    CHECK_EQ_INT(feed("hijXYZ", &done), 3);
    CHECK_EQ_INT(done, 1);
    CHECK_EQ_INT(body.total, 10);
}

static void test_length_body_may_hold_any_bytes(void)
{
    int done;
    static const uint8_t bytes[] = { 0, '\r', '\n', 0xff, '0', '\r', '\n', '\r', '\n' };
    init_length(sizeof(bytes));
    CHECK_EQ_INT(feed_n(bytes, sizeof(bytes), &done), sizeof(bytes));
    CHECK_EQ_INT(done, 1);
}

static void test_large_content_length(void)
{
    int done;
    init_length(UINT64_C(1) << 40);
    char block[4096];
    memset(block, 'x', sizeof(block));
    CHECK_EQ_INT(feed_n(block, sizeof(block), &done), sizeof(block));
    CHECK_EQ_INT(done, 0);
    CHECK_EQ_INT(body.remaining, (UINT64_C(1) << 40) - sizeof(block));
}

/* ---- chunked ---- */

static const char simple_chunked[] = "5\r\nhello\r\n0\r\n\r\n";

static void test_chunked_stops_at_its_end(void)
{
    int done;
    init_chunked();
    char buf[64];
    snprintf(buf, sizeof(buf), "%sGET /next HTTP/1.1\r\n", simple_chunked);
    CHECK_EQ_INT(feed(buf, &done), strlen(simple_chunked));
    CHECK_EQ_INT(done, 1);
    CHECK_EQ_INT(body.total, strlen(simple_chunked));
    CHECK(http_body_done(&body));
    /* Once done, nothing more belongs to it. */
    CHECK_EQ_INT(feed("GET", &done), 0);
    CHECK_EQ_INT(done, 1);
}

static void test_chunked_several_chunks(void)
{
    int done;
    const char *b = "3\r\nabc\r\n10\r\n0123456789abcdef\r\n1\r\n\n\r\n0\r\n\r\n";
    init_chunked();
    CHECK_EQ_INT(feed(b, &done), strlen(b));
    CHECK_EQ_INT(done, 1);
}

static void test_chunk_data_may_hold_crlf_and_zero(void)
{
    int done;
    const char *b = "5\r\n0\r\n\r\n\r\n0\r\n\r\n";
    init_chunked();
    CHECK_EQ_INT(feed(b, &done), strlen(b));
    CHECK_EQ_INT(done, 1);
}

/* Feeds body with every split into two pieces, and byte by byte: the total
 * is always its length and done comes exactly with the last byte. */
static void check_every_split(const char *b)
{
    size_t len = strlen(b);
    int done;
    for (size_t k = 0; k <= len; k++) {
        init_chunked();
        ssize_t n1 = feed_n(b, k, &done);
        int done1 = done;
        ssize_t n2 = feed_n(b + k, len - k, &done);
        if (n1 != (ssize_t)k || n2 != (ssize_t)(len - k) || done != 1 ||
            (k < len && done1 != 0)) {
            fprintf(stderr, "  split at %zu of [%s]: %zd%s + %zd%s\n", k, b, n1,
                    done1 == 1 ? " (done)" : "", n2, done == 1 ? " (done)" : "");
            unit_current_failed = 1;
        }
        CHECK_EQ_INT(body.total, len);
    }

    init_chunked();
    size_t total = 0;
    for (size_t i = 0; i < len; i++) {
        ssize_t n = feed_n(b + i, 1, &done);
        if (n != 1) {
            fprintf(stderr, "  byte %zu of [%s]: %zd\n", i, b, n);
            unit_current_failed = 1;
            return;
        }
        total += (size_t)n;
        if (done != (i == len - 1)) {
            fprintf(stderr, "  byte %zu of [%s]: done is %d\n", i, b, done);
            unit_current_failed = 1;
        }
    }
    CHECK_EQ_INT(total, len);
    CHECK_EQ_INT(body.total, len);
}

static void test_every_split_of_a_chunked_body(void)
{
    check_every_split(simple_chunked);
}

static void test_every_split_with_extensions_and_trailers(void)
{
    check_every_split("a;name=value;x\r\n0123456789\r\n2 ; q=\"1\"\r\nab\r\n"
                      "0\r\nX-T: v\r\nY: w\r\n\r\n");
}

static void test_chunk_extensions_are_skipped(void)
{
    int done;
    const char *b = "5;a=b\r\nhello\r\n0;last\r\n\r\n";
    init_chunked();
    CHECK_EQ_INT(feed(b, &done), strlen(b));
    CHECK_EQ_INT(done, 1);
}

static void test_uppercase_and_lowercase_hex_sizes(void)
{
    int done;
    const char *b = "A\r\n0123456789\r\nb\r\n0123456789a\r\nC\r\n0123456789ab\r\n0\r\n\r\n";
    init_chunked();
    CHECK_EQ_INT(feed(b, &done), strlen(b));
    CHECK_EQ_INT(done, 1);
    init_chunked();
    CHECK_EQ_INT(feed("0001\r\nx\r\n000\r\n\r\n", &done), 16);
    CHECK_EQ_INT(done, 1);
}

static void test_size_is_read_as_hex(void)
{
    int done;
    /* 0x1F = 31 data bytes: 30 of them is not the end of the chunk. */
    char b[128];
    memcpy(b, "1F\r\n", 4);
    memset(b + 4, 'd', 31);
    memcpy(b + 35, "\r\n0\r\n\r\n", 7);
    init_chunked();
    CHECK_EQ_INT(feed_n(b, 42, &done), 42);
    CHECK_EQ_INT(done, 1);
    /* "10" is sixteen bytes, not ten. */
    init_chunked();
    CHECK_EQ_INT(feed("10\r\n0123456789\r\n0\r\n\r\n", &done), -1);
}

static void test_trailers_are_skipped(void)
{
    int done;
    const char *b = "0\r\nX-T: v\r\n\r\n";
    init_chunked();
    CHECK_EQ_INT(feed(b, &done), strlen(b));
    CHECK_EQ_INT(done, 1);
    CHECK_EQ_INT(body.total, strlen(b));
}

static void test_trailers_end_only_at_the_empty_line(void)
{
    int done;
    init_chunked();
    CHECK_EQ_INT(feed("0\r\nX-T: v\r\n", &done), 11);
    CHECK_EQ_INT(done, 0);
    CHECK_EQ_INT(feed("\r\nrest", &done), 2);
    CHECK_EQ_INT(done, 1);
}

static void test_total_counts_body_bytes_across_feeds(void)
{
    int done;
    init_chunked();
    CHECK_EQ_INT(feed("5\r\nhe", &done), 5);
    CHECK_EQ_INT(body.total, 5);
    CHECK_EQ_INT(feed("llo\r\n0\r\n\r\nX", &done), 10);
    CHECK_EQ_INT(body.total, 15);
}

/* ---- chunked errors ---- */

static void check_malformed_n(const char *b, size_t len)
{
    int done;
    init_chunked();
    ssize_t n = feed_n(b, len, &done);
    if (n != -1) {
        fprintf(stderr, "  [%.*s]: %zd, expected -1\n", (int)len, b, n);
        unit_current_failed = 1;
    }
    /* Fed byte by byte, the error is found too. */
    init_chunked();
    ssize_t last = 0;
    for (size_t i = 0; i < len && last >= 0; i++)
        last = feed_n(b + i, 1, &done);
    if (last != -1) {
        fprintf(stderr, "  [%.*s] byte by byte: no error\n", (int)len, b);
        unit_current_failed = 1;
    }
}

static void check_malformed(const char *b)
{
    check_malformed_n(b, strlen(b));
}

static void test_non_hex_size_is_malformed(void)
{
    check_malformed("g\r\n");
    check_malformed("5x\r\nhello\r\n0\r\n\r\n");
    check_malformed("-5\r\n");
    check_malformed("0x5\r\nhello\r\n0\r\n\r\n");
}

static void test_empty_size_line_is_malformed(void)
{
    check_malformed("\r\n");
    check_malformed(";ext\r\n");
    check_malformed(" 5\r\nhello\r\n0\r\n\r\n");
}

static void test_missing_crlf_after_data_is_malformed(void)
{
    check_malformed("5\r\nhelloX\r\n0\r\n\r\n");
    check_malformed("5\r\nhello\n0\r\n\r\n");
    check_malformed("5\r\nhello\rX");
    check_malformed("5\r\nhello world\r\n0\r\n\r\n");
}

static void test_bare_lf_after_size_is_malformed(void)
{
    check_malformed("5\nhello\r\n0\r\n\r\n");
    check_malformed("5;a=b\nhello\r\n");
    check_malformed("5\rhello");
}

static void test_control_characters_in_extensions_are_malformed(void)
{
    check_malformed("5;a\x01\r\nhello\r\n");
    check_malformed("5;a\x7f\r\nhello\r\n");
    static const char nul[] = "5;a\0b\r\nhello\r\n";
    check_malformed_n(nul, sizeof(nul) - 1);
}

static void test_size_overflow_is_malformed(void)
{
    check_malformed("10000000000000000\r\n");  /* 17 hex digits: 2^64 */
    check_malformed("fffffffffffffffff\r\n");
}

static void test_leading_zeros_do_not_overflow(void)
{
    int done;
    init_chunked();
    const char *b = "000000000000000000005\r\nhello\r\n0\r\n\r\n";
    CHECK_EQ_INT(feed(b, &done), strlen(b));
    CHECK_EQ_INT(done, 1);
}

static void test_large_chunk_size_is_accepted(void)
{
    int done;
    init_chunked();
    CHECK_EQ_INT(feed("fffffffffff\r\nabc", &done), 16);
    CHECK_EQ_INT(done, 0);
    CHECK_EQ_INT(body.remaining, UINT64_C(0xfffffffffff) - 3);
}

static void test_size_line_over_the_limit_is_malformed(void)
{
    size_t len = HTTP_BODY_MAX_LINE + 100;
    char *b = malloc(len);
    memset(b, 'x', len);
    memcpy(b, "5;", 2);
    check_malformed_n(b, len);
    /* Even when every byte is a hex digit ("0000...0005"). */
    memset(b, '0', len);
    check_malformed_n(b, len);
    free(b);
}

static void test_size_line_with_long_extension_under_the_limit_is_fine(void)
{
    int done;
    size_t ext = HTTP_BODY_MAX_LINE / 2;
    char *b = malloc(2 + ext + 14);
    memcpy(b, "5;", 2);
    memset(b + 2, 'e', ext);
    memcpy(b + 2 + ext, "\r\nhello\r\n0\r\n\r\n", 14);
    init_chunked();
    CHECK_EQ_INT(feed_n(b, 2 + ext + 14, &done), 2 + ext + 14);
    CHECK_EQ_INT(done, 1);
    free(b);
}

static void test_trailer_line_over_the_limit_is_malformed(void)
{
    size_t len = 3 + HTTP_BODY_MAX_LINE + 100;
    char *b = malloc(len);
    memcpy(b, "0\r\n", 3);
    memset(b + 3, 't', len - 3);
    memcpy(b + 3, "X-Long: ", 8);
    check_malformed_n(b, len);
    free(b);
}

static void test_limits_apply_per_line(void)
{
    /* Two trailer lines of 3/4 of the limit each are fine. */
    int done;
    size_t each = HTTP_BODY_MAX_LINE * 3 / 4;
    char *b = malloc(3 + 2 * (each + 2) + 2);
    size_t n = 0;
    memcpy(b, "0\r\n", 3);
    n = 3;
    for (int i = 0; i < 2; i++) {
        memset(b + n, 'h', each);
        b[n] = 'X';
        b[n + 1] = ':';
        n += each;
        memcpy(b + n, "\r\n", 2);
        n += 2;
    }
    memcpy(b + n, "\r\n", 2);
    n += 2;
    init_chunked();
    CHECK_EQ_INT(feed_n(b, n, &done), n);
    CHECK_EQ_INT(done, 1);
    free(b);
}

static void test_obs_fold_in_trailers_is_malformed(void)
{
    check_malformed("0\r\nX-T: a\r\n b\r\n\r\n");
    check_malformed("0\r\nX-T: a\r\n\tb\r\n\r\n");
}

static void test_bare_line_endings_in_trailers_are_malformed(void)
{
    check_malformed("0\r\nX-T: a\n\r\n");
    check_malformed("0\r\n\n");
    check_malformed("0\r\n\rX");
    check_malformed("0\r\nX-T: a\rb\r\n\r\n");
}

static void test_error_after_valid_bytes_is_minus_one_not_a_count(void)
{
    int done;
    init_chunked();
    CHECK_EQ_INT(feed("5\r\nhello\r\nzz\r\n", &done), -1);
}

/* ---- until close ---- */

static void test_until_close_takes_everything_and_is_never_done(void)
{
    int done;
    init_close();
    CHECK_EQ_INT(feed("0\r\n\r\n", &done), 5);
    CHECK_EQ_INT(done, 0);
    CHECK_EQ_INT(feed("HTTP/1.1 200 OK\r\n\r\n", &done), 19);
    CHECK_EQ_INT(done, 0);
    CHECK_EQ_INT(feed("", &done), 0);
    CHECK_EQ_INT(done, 0);
    CHECK_EQ_INT(body.total, 24);
    CHECK(!http_body_done(&body));
}

int main(void)
{
    RUN(test_init_picks_the_kind_from_the_framing);
    RUN(test_init_resets_previous_state);
    RUN(test_done_for_each_kind);

    RUN(test_no_body_takes_nothing_and_is_done);

    RUN(test_length_stops_at_content_length);
    RUN(test_length_fed_in_pieces);
    RUN(test_length_body_may_hold_any_bytes);
    RUN(test_large_content_length);

    RUN(test_chunked_stops_at_its_end);
    RUN(test_chunked_several_chunks);
    RUN(test_chunk_data_may_hold_crlf_and_zero);
    RUN(test_every_split_of_a_chunked_body);
    RUN(test_every_split_with_extensions_and_trailers);
    RUN(test_chunk_extensions_are_skipped);
    RUN(test_uppercase_and_lowercase_hex_sizes);
    RUN(test_size_is_read_as_hex);
    RUN(test_trailers_are_skipped);
    RUN(test_trailers_end_only_at_the_empty_line);
    RUN(test_total_counts_body_bytes_across_feeds);

    RUN(test_non_hex_size_is_malformed);
    RUN(test_empty_size_line_is_malformed);
    RUN(test_missing_crlf_after_data_is_malformed);
    RUN(test_bare_lf_after_size_is_malformed);
    RUN(test_control_characters_in_extensions_are_malformed);
    RUN(test_size_overflow_is_malformed);
    RUN(test_leading_zeros_do_not_overflow);
    RUN(test_large_chunk_size_is_accepted);
    RUN(test_size_line_over_the_limit_is_malformed);
    RUN(test_size_line_with_long_extension_under_the_limit_is_fine);
    RUN(test_trailer_line_over_the_limit_is_malformed);
    RUN(test_limits_apply_per_line);
    RUN(test_obs_fold_in_trailers_is_malformed);
    RUN(test_bare_line_endings_in_trailers_are_malformed);
    RUN(test_error_after_valid_bytes_is_minus_one_not_a_count);

    RUN(test_until_close_takes_everything_and_is_never_done);
    return unit_report("http-body");
}
