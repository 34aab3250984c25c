/* test_utf8.c — shared/utf8.h: whole-string and incremental UTF-8 validation. */
#include <stdlib.h>
#include <string.h>

#include "../../shared/utf8.h"
#include "unit.h"
#include "utf8-reference.h"

static int valid(const char *s)
{
    return utf8_validate((const uint8_t *)s, strlen(s)) == 0;
}

/* Encodes a code point the straightforward way (no validity checks). */
static size_t encode(uint32_t cp, uint8_t out[4])
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | cp >> 6);
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | cp >> 12);
        out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | cp >> 18);
    out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- whole strings ---- */

static void test_ascii_and_empty_are_valid(void)
{
    CHECK(valid(""));
    CHECK(valid("hello, world"));
    CHECK(utf8_validate((const uint8_t *)"a\0b", 3) == 0);
}

static void test_one_to_four_byte_sequences_are_valid(void)
{
    CHECK(valid("\xC2\xA2"));             /* U+00A2 */
    CHECK(valid("\xE2\x82\xAC"));         /* U+20AC */
    CHECK(valid("\xF0\x9F\x98\x80"));     /* U+1F600 */
    CHECK(valid("a\xC3\xA9z\xE2\x82\xAC\xF0\x9F\x98\x80!"));
}

static void test_boundary_code_points_are_valid(void)
{
    CHECK(valid("\x7F"));                 /* U+007F */
    CHECK(valid("\xC2\x80"));             /* U+0080 */
    CHECK(valid("\xDF\xBF"));             /* U+07FF */
    CHECK(valid("\xE0\xA0\x80"));         /* U+0800 */
    CHECK(valid("\xED\x9F\xBF"));         /* U+D7FF, just below the surrogates */
    CHECK(valid("\xEE\x80\x80"));         /* U+E000, just above them */
    CHECK(valid("\xEF\xBF\xBF"));         /* U+FFFF */
    CHECK(valid("\xF0\x90\x80\x80"));     /* U+10000 */
    CHECK(valid("\xF4\x8F\xBF\xBF"));     /* U+10FFFF */
}

static void test_overlong_forms_are_invalid(void)
{
    CHECK(!valid("\xC0\x80"));
    CHECK(!valid("\xC1\xBF"));
    CHECK(!valid("\xE0\x80\x80"));
    CHECK(!valid("\xE0\x9F\xBF"));
    CHECK(!valid("\xF0\x80\x80\x80"));
    CHECK(!valid("\xF0\x8F\xBF\xBF"));
}

static void test_surrogates_are_invalid(void)
{
    CHECK(!valid("\xED\xA0\x80"));  /* U+D800 */
    CHECK(!valid("\xED\xAF\xBF"));  /* U+DBFF */
    CHECK(!valid("\xED\xB0\x80"));  /* U+DC00 */
    CHECK(!valid("\xED\xBF\xBF"));  /* U+DFFF */
    CHECK(!valid("\xED\xA0\xBD\xED\xB8\x80")); /* a CESU-8 surrogate pair */
}

static void test_above_10ffff_is_invalid(void)
{
    CHECK(!valid("\xF4\x90\x80\x80"));
    CHECK(!valid("\xF7\xBF\xBF\xBF"));
    for (int lead = 0xF5; lead <= 0xFF; lead++) {
        uint8_t s[4] = { (uint8_t)lead, 0x80, 0x80, 0x80 };
        CHECK(utf8_validate(s, 4) != 0);
        CHECK(utf8_validate(s, 1) != 0);
    }
}

static void test_stray_continuation_is_invalid(void)
{
    CHECK(!valid("\x80"));
    CHECK(!valid("\xBF"));
    CHECK(!valid("a\x80" "b"));
    CHECK(!valid("\xC2\xA2\xA2"));
}

static void test_lead_followed_by_non_continuation_is_invalid(void)
{
    CHECK(!valid("\xC2" "A"));
    CHECK(!valid("\xE2\x82" "A"));
    CHECK(!valid("\xF0\x9F\x98" "A"));
    CHECK(!valid("\xE2\xC2\xA2"));
}

static void test_truncated_sequence_at_end_fails_validate_but_not_feed(void)
{
    static const char *truncated[] = { "\xC2", "\xE2\x82", "\xE2", "\xF0\x9F\x98", "a\xF0", "abc\xED\x9F" };
    for (size_t i = 0; i < sizeof(truncated) / sizeof(truncated[0]); i++) {
        const uint8_t *s = (const uint8_t *)truncated[i];
        size_t len = strlen(truncated[i]);
        CHECK(utf8_validate(s, len) != 0);
        struct utf8_state st = UTF8_STATE_INIT;
        CHECK_EQ_INT(utf8_feed(&st, s, len), 0);
        CHECK(!utf8_complete(&st));
    }
}

static void test_every_code_point_validates_except_surrogates(void)
{
    int bad = 0;
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        uint8_t s[4];
        size_t n = encode(cp, s);
        int expect_ok = !(cp >= 0xD800 && cp <= 0xDFFF);
        if ((utf8_validate(s, n) == 0) != expect_ok && bad++ < 5)
            fprintf(stderr, "  U+%04X: expected %s\n", (unsigned)cp, expect_ok ? "valid" : "invalid");
    }
    CHECK_EQ_INT(bad, 0);
}

static void test_all_two_and_three_byte_strings_match_reference(void)
{
    int bad = 0;
    uint8_t s[3];
    for (unsigned a = 0; a < 256; a++) {
        for (unsigned b = 0; b < 256; b++) {
            s[0] = (uint8_t)a, s[1] = (uint8_t)b;
            if ((utf8_validate(s, 2) == 0) != utf8_reference_valid(s, 2) && bad++ < 5)
                fprintf(stderr, "  %02X %02X disagrees with the reference\n", a, b);
            for (unsigned c = 0; c < 256; c++) {
                s[2] = (uint8_t)c;
                if ((utf8_validate(s, 3) == 0) != utf8_reference_valid(s, 3) && bad++ < 5)
                    fprintf(stderr, "  %02X %02X %02X disagrees with the reference\n", a, b, c);
            }
        }
    }
    CHECK_EQ_INT(bad, 0);
}

static void test_four_byte_leads_match_reference(void)
{
    /* Every lead F0..FF with every second byte and a few interesting tails. */
    static const uint8_t tails[] = { 0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0xBF, 0xC0, 0xFF };
    int bad = 0;
    for (unsigned a = 0xF0; a <= 0xFF; a++)
        for (unsigned b = 0; b < 256; b++)
            for (size_t c = 0; c < sizeof(tails); c++)
                for (size_t d = 0; d < sizeof(tails); d++) {
                    uint8_t s[4] = { (uint8_t)a, (uint8_t)b, tails[c], tails[d] };
                    if ((utf8_validate(s, 4) == 0) != utf8_reference_valid(s, 4) && bad++ < 5)
                        fprintf(stderr, "  %02X %02X %02X %02X disagrees with the reference\n",
                                s[0], s[1], s[2], s[3]);
                }
    CHECK_EQ_INT(bad, 0);
}

/* ---- incremental ---- */

static const char *const multibyte_samples[] = {
    "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80 w\xC3\xB6rld",
    "\xF4\x8F\xBF\xBF\xF0\x90\x80\x80\xEF\xBF\xBF\xE0\xA0\x80\xDF\xBF\xC2\x80\x7F",
    "\xED\x9F\xBF\xEE\x80\x80",
};

static void test_valid_text_split_at_every_position_validates(void)
{
    for (size_t s = 0; s < sizeof(multibyte_samples) / sizeof(multibyte_samples[0]); s++) {
        const uint8_t *p = (const uint8_t *)multibyte_samples[s];
        size_t len = strlen(multibyte_samples[s]);
        CHECK_EQ_INT(utf8_validate(p, len), 0);
        for (size_t i = 0; i <= len; i++) {
            for (size_t j = i; j <= len; j++) {
                struct utf8_state st = UTF8_STATE_INIT;
                int rc = utf8_feed(&st, p, i);
                rc |= utf8_feed(&st, p + i, j - i);
                rc |= utf8_feed(&st, p + j, len - j);
                if (rc != 0 || !utf8_complete(&st)) {
                    fprintf(stderr, "  sample %zu split at %zu,%zu refused\n", s, i, j);
                    CHECK(0);
                    return;
                }
            }
        }
    }
}

static void test_valid_text_fed_byte_by_byte_is_complete_only_on_boundaries(void)
{
    const uint8_t *p = (const uint8_t *)multibyte_samples[0];
    size_t len = strlen(multibyte_samples[0]);
    struct utf8_state st = UTF8_STATE_INIT;
    for (size_t i = 0; i < len; i++) {
        CHECK_EQ_INT(utf8_feed(&st, p + i, 1), 0);
        int boundary = i + 1 == len || (p[i + 1] & 0xC0) != 0x80;
        CHECK_EQ_INT(utf8_complete(&st), boundary);
    }
}

/* The invalid byte is the first byte of `bad`; `good` starts the sequence. */
static void check_fails_in_second_piece(const char *good, const char *bad)
{
    struct utf8_state st = UTF8_STATE_INIT;
    CHECK_EQ_INT(utf8_feed(&st, (const uint8_t *)good, strlen(good)), 0);
    CHECK_EQ_INT(utf8_feed(&st, (const uint8_t *)bad, strlen(bad)), -1);
}

static void test_invalid_continuation_fails_in_the_piece_that_holds_it(void)
{
    check_fails_in_second_piece("ab\xE0", "\x80\x80");       /* overlong */
    check_fails_in_second_piece("ab\xED", "\xA0\x80");       /* surrogate */
    check_fails_in_second_piece("\xF4", "\x90\x80\x80");     /* > U+10FFFF */
    check_fails_in_second_piece("\xF0", "\x8F\xBF\xBF");     /* overlong */
    check_fails_in_second_piece("\xF0\x9F", "A");            /* not a continuation */
    check_fails_in_second_piece("\xF0\x9F\x98", "\xC2\xA2"); /* lead instead of continuation */
    check_fails_in_second_piece("abc", "\x80");              /* stray */
}

static void test_invalid_byte_fails_before_the_sequence_could_complete(void)
{
    /* Three pieces; the invalid byte is in the middle one and the error must
     * come from that call, not from a later one. */
    struct utf8_state st = UTF8_STATE_INIT;
    CHECK_EQ_INT(utf8_feed(&st, (const uint8_t *)"x\xF0", 2), 0);
    CHECK_EQ_INT(utf8_feed(&st, (const uint8_t *)"\x9F" "Z", 2), -1);

    struct utf8_state st2 = UTF8_STATE_INIT;
    CHECK_EQ_INT(utf8_feed(&st2, (const uint8_t *)"\xE0", 1), 0);
    CHECK_EQ_INT(utf8_feed(&st2, (const uint8_t *)"\x9F", 1), -1);

    /* A lead that can never be valid fails on its own. */
    struct utf8_state st3 = UTF8_STATE_INIT;
    CHECK_EQ_INT(utf8_feed(&st3, (const uint8_t *)"\xC0", 1), -1);
    struct utf8_state st4 = UTF8_STATE_INIT;
    CHECK_EQ_INT(utf8_feed(&st4, (const uint8_t *)"\xF5", 1), -1);
}

static void test_empty_piece_changes_nothing(void)
{
    struct utf8_state st = UTF8_STATE_INIT;
    CHECK_EQ_INT(utf8_feed(&st, (const uint8_t *)"\xE2", 1), 0);
    CHECK_EQ_INT(utf8_feed(&st, (const uint8_t *)"", 0), 0);
    CHECK(!utf8_complete(&st));
    CHECK_EQ_INT(utf8_feed(&st, (const uint8_t *)"\x82\xAC", 2), 0);
    CHECK(utf8_complete(&st));
}

/* ---- ASCII fast path ---- */

static void test_ascii_runs_with_a_multibyte_char_at_every_offset(void)
{
    static const char *chars[] = { "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80" };
    for (size_t c = 0; c < 3; c++) {
        size_t clen = strlen(chars[c]);
        for (size_t pos = 0; pos <= 16; pos++) {
            uint8_t buf[64];
            memset(buf, 'a', sizeof(buf));
            memcpy(buf + pos, chars[c], clen);
            for (size_t len = pos + clen; len <= sizeof(buf); len += 7) {
                uint8_t *heap = malloc(len);
                memcpy(heap, buf, len);
                CHECK_EQ_INT(utf8_validate(heap, len), 0);
                /* The same string missing its last continuation byte. */
                memmove(heap + pos + clen - 1, heap + pos + clen, len - pos - clen);
                CHECK_EQ_INT(utf8_validate(heap, len - 1), -1);
                free(heap);
            }
        }
    }
}

static void test_invalid_byte_in_long_ascii_run_is_found_at_every_offset(void)
{
    static const uint8_t bad[] = { 0x80, 0xBF, 0xC0, 0xF8, 0xFF };
    for (size_t b = 0; b < sizeof(bad); b++) {
        for (size_t pos = 0; pos < 40; pos++) {
            uint8_t buf[40];
            memset(buf, 'z', sizeof(buf));
            buf[pos] = bad[b];
            CHECK_EQ_INT(utf8_validate(buf, sizeof(buf)), -1);
        }
    }
}

static void test_truncated_lead_after_long_ascii_run_is_incomplete(void)
{
    for (size_t len = 1; len <= 33; len++) {
        uint8_t buf[33];
        memset(buf, 'q', sizeof(buf));
        buf[len - 1] = 0xE2;
        struct utf8_state st = UTF8_STATE_INIT;
        CHECK_EQ_INT(utf8_feed(&st, buf, len), 0);
        CHECK(!utf8_complete(&st));
    }
}

int main(void)
{
    RUN(test_ascii_and_empty_are_valid);
    RUN(test_one_to_four_byte_sequences_are_valid);
    RUN(test_boundary_code_points_are_valid);
    RUN(test_overlong_forms_are_invalid);
    RUN(test_surrogates_are_invalid);
    RUN(test_above_10ffff_is_invalid);
    RUN(test_stray_continuation_is_invalid);
    RUN(test_lead_followed_by_non_continuation_is_invalid);
    RUN(test_truncated_sequence_at_end_fails_validate_but_not_feed);
    RUN(test_every_code_point_validates_except_surrogates);
    RUN(test_all_two_and_three_byte_strings_match_reference);
    RUN(test_four_byte_leads_match_reference);
    RUN(test_valid_text_split_at_every_position_validates);
    RUN(test_valid_text_fed_byte_by_byte_is_complete_only_on_boundaries);
    RUN(test_invalid_continuation_fails_in_the_piece_that_holds_it);
    RUN(test_invalid_byte_fails_before_the_sequence_could_complete);
    RUN(test_empty_piece_changes_nothing);
    RUN(test_ascii_runs_with_a_multibyte_char_at_every_offset);
    RUN(test_invalid_byte_in_long_ascii_run_is_found_at_every_offset);
    RUN(test_truncated_lead_after_long_ascii_run_is_incomplete);
    return unit_report("utf8");
}
