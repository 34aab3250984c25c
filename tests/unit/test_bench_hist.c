/* Unit tests for the bench latency histogram. */
#include <stdint.h>
#include <stdlib.h>

#include "../../bench/hist.h"
#include "unit.h"

static struct hist a, b, c;

static void test_small_values_are_exact(void)
{
    for (uint64_t v = 0; v < 256; v++) {
        CHECK_EQ_INT(hist_bucket(v), v);
        CHECK_EQ_INT(hist_bucket_low(hist_bucket(v)), v);
    }
}

static void test_bucket_width_is_within_one_percent_up_to_100_seconds(void)
{
    uint64_t worst_ppm = 0;
    for (uint64_t v = 1; v <= 100000000; v = v + 1 + v / 997) {
        size_t i = hist_bucket(v);
        uint64_t low = hist_bucket_low(i), next = hist_bucket_low(i + 1);
        CHECK(low <= v && v < next);
        uint64_t ppm = (next - 1 - low) * 1000000 / v;
        if (ppm > worst_ppm)
            worst_ppm = ppm;
    }
    CHECK(worst_ppm <= 1000000 / HIST_SUB);
    CHECK(hist_bucket(100000000) < HIST_BUCKETS);
}

static void test_huge_values_land_in_the_last_bucket(void)
{
    CHECK_EQ_INT(hist_bucket(UINT64_MAX), HIST_BUCKETS - 1);
    CHECK_EQ_INT(hist_bucket(HIST_MAX_US), HIST_BUCKETS - 1);
}

static void test_percentiles_of_a_uniform_run(void)
{
    hist_init(&a);
    CHECK_EQ_INT(hist_percentile(&a, 500), 0);
    for (uint64_t v = 1; v <= 100000; v++)
        hist_record(&a, v);
    uint64_t p50 = hist_percentile(&a, 500), p99 = hist_percentile(&a, 990);
    uint64_t p999 = hist_percentile(&a, 999);
    CHECK(p50 >= 49600 && p50 <= 50400);
    CHECK(p99 >= 98200 && p99 <= 99800);
    CHECK(p999 >= 99100 && p999 <= 100000);
    CHECK_EQ_INT(hist_percentile(&a, 1000), 100000);
    CHECK_EQ_INT(a.max_us, 100000);
    CHECK_EQ_INT(a.count, 100000);
}

static void test_percentile_never_exceeds_the_maximum(void)
{
    hist_init(&a);
    hist_record(&a, 1000);
    CHECK_EQ_INT(hist_percentile(&a, 999), 1000);
    CHECK_EQ_INT(hist_percentile(&a, 1), 1000);
}

static void test_merge_adds_counts_and_keeps_the_max(void)
{
    hist_init(&a);
    hist_init(&b);
    for (int i = 0; i < 90; i++)
        hist_record(&a, 10);
    for (int i = 0; i < 10; i++)
        hist_record(&b, 5000);
    hist_merge(&a, &b);
    CHECK_EQ_INT(a.count, 100);
    CHECK_EQ_INT(a.max_us, 5000);
    CHECK_EQ_INT(a.sum_us, 900 + 50000);
    CHECK_EQ_INT(hist_percentile(&a, 500), 10);
    CHECK_EQ_INT(hist_percentile(&a, 900), 10);
    CHECK(hist_percentile(&a, 910) >= 4980);
}

static void test_text_round_trip(void)
{
    hist_init(&a);
    for (uint64_t v = 1; v < 10000000; v = v * 3 + 1)
        hist_record(&a, v);
    hist_record(&a, 7);
    char line[4096];
    size_t n = hist_format(&a, line, sizeof(line));
    CHECK(n < sizeof(line));
    CHECK(strchr(line, '\n') == NULL);
    CHECK_EQ_INT(hist_parse(&c, line), 0);
    CHECK(memcmp(&a, &c, sizeof(a)) == 0);
}

static void test_format_reports_the_size_it_needs(void)
{
    hist_init(&a);
    hist_record(&a, 12345);
    char tiny[4];
    size_t need = hist_format(&a, tiny, sizeof(tiny));
    char *big = malloc(need + 1);
    CHECK_EQ_INT(hist_format(&a, big, need + 1), need);
    CHECK_EQ_INT(hist_parse(&c, big), 0);
    free(big);
}

static void test_parse_refuses_garbage(void)
{
    CHECK_EQ_INT(hist_parse(&c, ""), -1);
    CHECK_EQ_INT(hist_parse(&c, "1 2"), -1);
    CHECK_EQ_INT(hist_parse(&c, "1 5 5 5:2"), -1);      /* counts disagree */
    CHECK_EQ_INT(hist_parse(&c, "1 5 5 99999:1"), -1);  /* no such bucket */
    CHECK_EQ_INT(hist_parse(&c, "1 5 5 5:x"), -1);
    CHECK_EQ_INT(hist_parse(&c, "0 0 0"), 0);
    CHECK_EQ_INT(hist_parse(&c, "1 5 5 5:1"), 0);
}

int main(void)
{
    RUN(test_small_values_are_exact);
    RUN(test_bucket_width_is_within_one_percent_up_to_100_seconds);
    RUN(test_huge_values_land_in_the_last_bucket);
    RUN(test_percentiles_of_a_uniform_run);
    RUN(test_percentile_never_exceeds_the_maximum);
    RUN(test_merge_adds_counts_and_keeps_the_max);
    RUN(test_text_round_trip);
    RUN(test_format_reports_the_size_it_needs);
    RUN(test_parse_refuses_garbage);
    return unit_report("bench_hist");
}
