/* test_units.c — shared/units.h: durations, byte sizes, ports, integers. */
#include <string.h>

#include "../../shared/units.h"
#include "unit.h"

#define SENTINEL UINT64_C(0xDEADBEEF)
#define MS_LIMIT (UINT64_C(1) << 31)
#define SIZE_LIMIT (UINT64_C(1) << 40)

/* Parses a duration; returns the milliseconds, or -1 if refused. A refusal
 * must leave the output alone. */
static long long duration(const char *text, enum units_default bare)
{
    uint64_t ms = SENTINEL;
    if (units_parse_duration(text, bare, &ms) != 0) {
        CHECK(ms == SENTINEL);
        return -1;
    }
    return (long long)ms;
}

static long long seconds_default(const char *text)
{
    return duration(text, UNITS_SECONDS);
}

static long long size(const char *text)
{
    uint64_t bytes = SENTINEL;
    if (units_parse_size(text, &bytes) != 0) {
        CHECK(bytes == SENTINEL);
        return -1;
    }
    return (long long)bytes;
}

static long long port(const char *text)
{
    uint16_t p = 4242;
    if (units_parse_port(text, &p) != 0) {
        CHECK_EQ_INT(p, 4242);
        return -1;
    }
    return p;
}

static long long uint_max(const char *text, uint64_t max)
{
    uint64_t v = SENTINEL;
    if (units_parse_uint(text, max, &v) != 0)
        return -1;
    return (long long)v;
}

/* ---- durations ---- */

static void test_bare_number_is_seconds_or_milliseconds_by_mode(void)
{
    CHECK_EQ_INT(duration("30", UNITS_SECONDS), 30000);
    CHECK_EQ_INT(duration("30", UNITS_MILLISECONDS), 30);
    CHECK_EQ_INT(duration("0", UNITS_SECONDS), 0);
    CHECK_EQ_INT(duration("0", UNITS_MILLISECONDS), 0);
}

static void test_suffix_overrides_the_bare_unit(void)
{
    CHECK_EQ_INT(duration("250ms", UNITS_SECONDS), 250);
    CHECK_EQ_INT(duration("250ms", UNITS_MILLISECONDS), 250);
    CHECK_EQ_INT(duration("2s", UNITS_MILLISECONDS), 2000);
}

static void test_every_suffix(void)
{
    CHECK_EQ_INT(seconds_default("1000us"), 1);
    CHECK_EQ_INT(seconds_default("7ms"), 7);
    CHECK_EQ_INT(seconds_default("1000s"), 1000000);
    CHECK_EQ_INT(seconds_default("2m"), 120000);
    CHECK_EQ_INT(seconds_default("3h"), 3 * 3600 * 1000);
    CHECK_EQ_INT(seconds_default("1d"), 86400000);
}

static void test_microseconds_round_up_to_the_next_millisecond(void)
{
    CHECK_EQ_INT(seconds_default("0us"), 0);
    CHECK_EQ_INT(seconds_default("1us"), 1);
    CHECK_EQ_INT(seconds_default("999us"), 1);
    CHECK_EQ_INT(seconds_default("1001us"), 2);
    CHECK_EQ_INT(seconds_default("2000us"), 2);
}

static void test_durations_stop_at_2_pow_31_ms(void)
{
    CHECK_EQ_INT(seconds_default("2147483648ms"), MS_LIMIT);
    CHECK_EQ_INT(seconds_default("2147483649ms"), -1);
    CHECK_EQ_INT(duration("2147483648", UNITS_MILLISECONDS), MS_LIMIT);
    CHECK_EQ_INT(duration("2147483649", UNITS_MILLISECONDS), -1);
    CHECK_EQ_INT(seconds_default("2147483"), 2147483000);
    CHECK_EQ_INT(seconds_default("2147484"), -1);
    CHECK_EQ_INT(seconds_default("2147483648000us"), MS_LIMIT);
    CHECK_EQ_INT(seconds_default("2147483648001us"), -1);
    CHECK_EQ_INT(seconds_default("24d"), 24LL * 86400000);
    CHECK_EQ_INT(seconds_default("25d"), -1);
    CHECK_EQ_INT(seconds_default("596h"), 596LL * 3600000);
    CHECK_EQ_INT(seconds_default("597h"), -1);
}

static void test_malformed_durations_are_refused(void)
{
    static const char *bad[] = { "", "s", "ms", "1x", "1sec", "-1", "+1", "1.5s", " 1s",
                                 "1s ", "1 s", "1ss", "0x10", "1e3" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (seconds_default(bad[i]) != -1)
            fprintf(stderr, "  duration \"%s\" was accepted\n", bad[i]);
        CHECK_EQ_INT(seconds_default(bad[i]), -1);
    }
}

static void test_duration_with_overflowing_digits_is_refused(void)
{
    CHECK_EQ_INT(seconds_default("99999999999999999999999"), -1);
    CHECK_EQ_INT(seconds_default("18446744073709551616ms"), -1);
    CHECK_EQ_INT(seconds_default("18446744073709551615us"), -1);
    CHECK_EQ_INT(duration("18446744073709552", UNITS_MILLISECONDS), -1);
}

/* ---- sizes ---- */

static void test_plain_sizes_are_bytes(void)
{
    CHECK_EQ_INT(size("0"), 0);
    CHECK_EQ_INT(size("1048576"), 1048576);
    CHECK_EQ_INT(size("1b"), 1);
    CHECK_EQ_INT(size("7B"), 7);
}

static void test_binary_suffixes_in_any_case(void)
{
    CHECK_EQ_INT(size("1k"), 1024);
    CHECK_EQ_INT(size("1K"), 1024);
    CHECK_EQ_INT(size("1m"), 1048576);
    CHECK_EQ_INT(size("1MiB"), 1048576);
    CHECK_EQ_INT(size("4mb"), 4 * 1048576);
    CHECK_EQ_INT(size("512KB"), 512 * 1024);
    CHECK_EQ_INT(size("3kib"), 3 * 1024);
    CHECK_EQ_INT(size("1g"), 1073741824);
    CHECK_EQ_INT(size("2GiB"), 2LL * 1073741824);
}

static void test_malformed_sizes_are_refused(void)
{
    static const char *bad[] = { "", "k", "1ib", "1i", "1kk", "1kbb", "1t", "1 k", " 1k",
                                 "1k ", "-1", "+1", "1.5m", "1bi", "1kbi" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (size(bad[i]) != -1)
            fprintf(stderr, "  size \"%s\" was accepted\n", bad[i]);
        CHECK_EQ_INT(size(bad[i]), -1);
    }
}

static void test_sizes_stop_at_2_pow_40(void)
{
    CHECK_EQ_INT(size("1099511627776"), SIZE_LIMIT);
    CHECK_EQ_INT(size("1099511627777"), -1);
    CHECK_EQ_INT(size("1024g"), SIZE_LIMIT);
    CHECK_EQ_INT(size("1025g"), -1);
    CHECK_EQ_INT(size("1048576m"), SIZE_LIMIT);
    CHECK_EQ_INT(size("1048577m"), -1);
    CHECK_EQ_INT(size("1073741824k"), SIZE_LIMIT);
    CHECK_EQ_INT(size("1073741825k"), -1);
}

static void test_size_with_overflowing_digits_is_refused(void)
{
    CHECK_EQ_INT(size("99999999999999999999999"), -1);
    CHECK_EQ_INT(size("18446744073709551616"), -1);
    CHECK_EQ_INT(size("18014398509481984k"), -1); /* 2^54 k: 2^64 bytes */
}

/* ---- ports ---- */

static void test_ports_1_to_65535_are_accepted(void)
{
    CHECK_EQ_INT(port("1"), 1);
    CHECK_EQ_INT(port("8080"), 8080);
    CHECK_EQ_INT(port("65535"), 65535);
}

static void test_port_0_and_65536_are_refused(void)
{
    CHECK_EQ_INT(port("0"), -1);
    CHECK_EQ_INT(port("65536"), -1);
    CHECK_EQ_INT(port("99999"), -1);
    CHECK_EQ_INT(port("4294967297"), -1); /* 2^32 + 1: must not wrap to 1 */
}

static void test_malformed_ports_are_refused(void)
{
    CHECK_EQ_INT(port(""), -1);
    CHECK_EQ_INT(port("-1"), -1);
    CHECK_EQ_INT(port("80x"), -1);
    CHECK_EQ_INT(port(" 80"), -1);
    CHECK_EQ_INT(port("80 "), -1);
    CHECK_EQ_INT(port("1k"), -1);
}

/* ---- units_parse_uint ---- */

static void test_uint_accepts_up_to_max(void)
{
    CHECK_EQ_INT(uint_max("0", 0), 0);
    CHECK_EQ_INT(uint_max("65535", 65535), 65535);
    CHECK_EQ_INT(uint_max("65536", 65535), -1);
    CHECK_EQ_INT(uint_max("007", 10), 7);
    uint64_t v = 0;
    CHECK_EQ_INT(units_parse_uint("18446744073709551615", UINT64_MAX, &v), 0);
    CHECK(v == UINT64_MAX);
    CHECK_EQ_INT(units_parse_uint("18446744073709551616", UINT64_MAX, &v), -1);
    CHECK_EQ_INT(units_parse_uint("99999999999999999999", UINT64_MAX, &v), -1);
}

static void test_uint_refuses_non_digits(void)
{
    CHECK_EQ_INT(uint_max("", 100), -1);
    CHECK_EQ_INT(uint_max("-1", 100), -1);
    CHECK_EQ_INT(uint_max("+1", 100), -1);
    CHECK_EQ_INT(uint_max("1a", 100), -1);
    CHECK_EQ_INT(uint_max(" 1", 100), -1);
}

/* Below 9 the overflow check in read_digits() computes (max - d) / 10 with
 * d > max, which wraps around, so a digit above max is accepted. */
static void test_uint_refuses_a_single_digit_above_a_small_max(void)
{
    CHECK_EQ_INT(uint_max("5", 5), 5);
    CHECK_EQ_INT(uint_max("6", 5), -1);
    CHECK_EQ_INT(uint_max("9", 0), -1);
    CHECK_EQ_INT(uint_max("1", 0), -1);
    CHECK_EQ_INT(uint_max("10", 9), -1);
}

int main(void)
{
    RUN(test_bare_number_is_seconds_or_milliseconds_by_mode);
    RUN(test_suffix_overrides_the_bare_unit);
    RUN(test_every_suffix);
    RUN(test_microseconds_round_up_to_the_next_millisecond);
    RUN(test_durations_stop_at_2_pow_31_ms);
    RUN(test_malformed_durations_are_refused);
    RUN(test_duration_with_overflowing_digits_is_refused);

    RUN(test_plain_sizes_are_bytes);
    RUN(test_binary_suffixes_in_any_case);
    RUN(test_malformed_sizes_are_refused);
    RUN(test_sizes_stop_at_2_pow_40);
    RUN(test_size_with_overflowing_digits_is_refused);

    RUN(test_ports_1_to_65535_are_accepted);
    RUN(test_port_0_and_65536_are_refused);
    RUN(test_malformed_ports_are_refused);

    RUN(test_uint_accepts_up_to_max);
    RUN(test_uint_refuses_non_digits);
    RUN(test_uint_refuses_a_single_digit_above_a_small_max);
    return unit_report("units");
}
