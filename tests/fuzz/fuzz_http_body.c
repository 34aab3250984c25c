/* fuzz_http_body.c — shared/http-body.h: where a body ends, found
 * incrementally.
 *
 * The first input byte picks the framing (none, Content-Length, chunked,
 * until close) and, for a length, the next two bytes its value; the rest is
 * the stream after the head. Fed in one call, byte by byte, or in pieces of
 * sizes taken from the input, the tracker must agree on how many bytes
 * belong to the body, whether it is complete, and whether it is malformed. */
#include <string.h>

#include "../../shared/http-body.h"
#include "fuzz.h"

struct outcome {
    int failed;      /* the framing was malformed */
    size_t consumed; /* bytes that belong to the body (before the failure) */
    int done;
};

static void check_tracker(const struct http_body *b, const struct outcome *o)
{
    FUZZ_CHECK(b->total == o->consumed);
    if (!o->failed)
        FUZZ_CHECK(http_body_done(b) == o->done);
}

/* Feeds p[0..len) in pieces of the sizes piece() returns. Once the body is
 * done, nothing more is fed. */
static struct outcome feed(const struct http_framing *f, const uint8_t *p, size_t len,
                           size_t (*piece)(size_t i, const uint8_t *, size_t),
                           const uint8_t *sizes, size_t nsizes)
{
    struct http_body b;
    struct outcome o = { 0, 0, 0 };
    http_body_init(&b, f);
    o.done = http_body_done(&b);
    for (size_t i = 0; o.consumed < len && !o.done; i++) {
        size_t n = piece(i, sizes, nsizes);
        if (n > len - o.consumed)
            n = len - o.consumed;
        int done = -1;
        ssize_t r = http_body_feed(&b, p + o.consumed, n, &done);
        if (r < 0) {
            FUZZ_CHECK(r == -1);
            o.failed = 1;
            return o;
        }
        FUZZ_CHECK((size_t)r <= n);
        FUZZ_CHECK(done == 0 || done == 1);
        /* A body that is not done takes all it is given. */
        FUZZ_CHECK(done || (size_t)r == n);
        o.consumed += (size_t)r;
        o.done = done;
    }
    check_tracker(&b, &o);
    if (o.done) {
        /* After the end, nothing more belongs to it. */
        int done = 0;
        FUZZ_CHECK(http_body_feed(&b, p + o.consumed, len - o.consumed, &done) == 0);
        FUZZ_CHECK(done == 1);
    }
    return o;
}

static size_t whole(size_t i, const uint8_t *sizes, size_t n)
{
    (void)i, (void)sizes, (void)n;
    return SIZE_MAX;
}

static size_t one_byte(size_t i, const uint8_t *sizes, size_t n)
{
    (void)i, (void)sizes, (void)n;
    return 1;
}

static size_t from_input(size_t i, const uint8_t *sizes, size_t n)
{
    return n ? 1 + sizes[i % n] % 64 : 7;
}

static void same(const struct outcome *a, const struct outcome *b)
{
    FUZZ_CHECK(a->failed == b->failed);
    if (!a->failed) {
        FUZZ_CHECK(a->consumed == b->consumed);
        FUZZ_CHECK(a->done == b->done);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    struct http_framing f;
    memset(&f, 0, sizeof(f));
    switch (data[0] & 3) {
    case 0: f.has_content_length = 1; break;
    case 1: f.has_content_length = 1; f.content_length = (uint64_t)data[1] << 8 | data[2]; break;
    case 2: f.chunked = 1; break;
    case 3: f.until_close = 1; break;
    }
    const uint8_t *p = data + 3;
    size_t len = size - 3;
    const uint8_t *sizes = data + 1;
    size_t nsizes = 2;

    struct outcome a = feed(&f, p, len, whole, sizes, nsizes);
    struct outcome b = feed(&f, p, len, one_byte, sizes, nsizes);
    struct outcome c = feed(&f, p, len, from_input, sizes, nsizes);
    same(&a, &b);
    same(&a, &c);

    if (a.failed)
        FUZZ_CHECK(f.chunked);
    else if (f.until_close)
        FUZZ_CHECK(a.consumed == len && !a.done);
    else if (!f.chunked)
        FUZZ_CHECK(a.consumed == (len < f.content_length ? len : f.content_length) &&
                   a.done == (len >= f.content_length));
    return 0;
}
