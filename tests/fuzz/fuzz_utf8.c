/* fuzz_utf8.c — shared/utf8.h: incremental UTF-8 validation.
 *
 * Three views of the same bytes must agree: utf8_validate() in one call,
 * utf8_feed() split anywhere (at every position of short inputs) and in
 * pieces sized by the input, and the plain decoder below, written from
 * RFC 3629's definition. */
#include "../../shared/utf8.h"
#include "../unit/utf8-reference.h"
#include "fuzz.h"

/* Feeds p in two pieces split at k. Returns 0 if valid and complete. */
static int split_validate(const uint8_t *p, size_t len, size_t k)
{
    struct utf8_state st = UTF8_STATE_INIT;
    if (utf8_feed(&st, p, k) != 0)
        return -1;
    if (utf8_feed(&st, p + k, len - k) != 0)
        return -1;
    return utf8_complete(&st) ? 0 : -1;
}

/* Feeds p in pieces of 1 to 16 bytes, sizes taken from the bytes. */
static int pieces_validate(const uint8_t *p, size_t len)
{
    struct utf8_state st = UTF8_STATE_INIT;
    size_t i = 0;
    while (i < len) {
        size_t n = 1 + p[i] % 16;
        if (n > len - i)
            n = len - i;
        if (utf8_feed(&st, p + i, n) != 0)
            return -1;
        i += n;
    }
    return utf8_complete(&st) ? 0 : -1;
}

/* Fails fast: the longest valid prefix (as a stream) is also the longest
 * prefix that utf8_feed accepts. */
static void check_fail_fast(const uint8_t *p, size_t len, int valid)
{
    struct utf8_state st = UTF8_STATE_INIT;
    size_t accepted = 0;
    while (accepted < len && utf8_feed(&st, p + accepted, 1) == 0)
        accepted++;
    if (valid == 0) {
        FUZZ_CHECK(accepted == len && utf8_complete(&st));
        return;
    }
    if (accepted < len) {
        /* The bytes before the failing one can still be completed, so they
         * are a valid prefix: some prefix of them is complete UTF-8. */
        size_t end = accepted;
        while (end > 0 && (p[end - 1] & 0xC0) == 0x80)
            end--;
        if (end > 0 && p[end - 1] >= 0xC0)
            end--;
        FUZZ_CHECK(utf8_reference_valid(p, end));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int expect = utf8_reference_valid(data, size) ? 0 : -1; /* utf8_validate's convention */
    FUZZ_CHECK(utf8_validate(data, size) == expect);
    size_t step = 1 + size / 512; /* every split of short inputs, some of long ones */
    for (size_t k = 0; k <= size; k += step)
        FUZZ_CHECK(split_validate(data, size, k) == expect);
    FUZZ_CHECK(pieces_validate(data, size) == expect);
    check_fail_fast(data, size, expect);
    return 0;
}
