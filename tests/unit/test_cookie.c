/* test_cookie.c — lb/cookie.h: finding the persistence cookie in Cookie
 * fields, HAProxy's dated cookie values, removing a cookie from a field, and
 * the Set-Cookie the lb writes. */
#include <stdlib.h>
#include <string.h>

#include "../../lb/cookie.h"
#include "unit.h"

/* The value of the first cookie `name` in v, as a string ("(none)" if absent). */
static const char *find(const char *v, const char *name)
{
    static char buf[256];
    size_t pos = 0, len;
    const char *value;
    if (!cookie_find(v, strlen(v), name, &pos, &value, &len))
        return "(none)";
    memcpy(buf, value, len);
    buf[len] = '\0';
    return buf;
}

static const char *strip(const char *v, const char *name)
{
    static char buf[256];
    size_t n = cookie_strip(v, strlen(v), name, buf);
    buf[n] = '\0';
    return buf;
}

static void test_a_cookie_is_found_among_others(void)
{
    CHECK_EQ_STR(find("SRV=s1", "SRV"), "s1");
    CHECK_EQ_STR(find("a=1; SRV=s2; b=2", "SRV"), "s2");
    CHECK_EQ_STR(find("a=1;SRV=s3", "SRV"), "s3");
    CHECK_EQ_STR(find("a=1; b=2", "SRV"), "(none)");
    CHECK_EQ_STR(find("", "SRV"), "(none)");
}

static void test_whitespace_around_names_and_values_is_ignored(void)
{
    CHECK_EQ_STR(find("  SRV = s1  ;b=2", "SRV"), "s1");
    CHECK_EQ_STR(find("a=1 ;\tSRV\t=\ts1\t", "SRV"), "s1");
}

static void test_names_compare_exactly(void)
{
    CHECK_EQ_STR(find("SRVX=s1; XSRV=s2", "SRV"), "(none)");
    CHECK_EQ_STR(find("SRVX=s1; SRV=s2", "SRV"), "s2");
    CHECK_EQ_STR(find("srv=s1", "SRV"), "(none)");
    CHECK_EQ_STR(find("SR=s1", "SRV"), "(none)");
}

static void test_a_name_without_equal_sign_is_not_a_cookie(void)
{
    CHECK_EQ_STR(find("SRV; a=1", "SRV"), "(none)");
    CHECK_EQ_STR(find("SRV", "SRV"), "(none)");
}

static void test_empty_values_and_empty_pairs(void)
{
    CHECK_EQ_STR(find("SRV=", "SRV"), "");
    CHECK_EQ_STR(find("SRV= ; a=1", "SRV"), "");
    CHECK_EQ_STR(find(";;  ; SRV=s1;;", "SRV"), "s1");
}

static void test_a_quoted_value_keeps_its_quotes_and_its_delimiters(void)
{
    CHECK_EQ_STR(find("SRV=\"s1\"", "SRV"), "\"s1\"");
    CHECK_EQ_STR(find("a=\"x;SRV=s9\"; SRV=s2", "SRV"), "s2");
    CHECK_EQ_STR(find("a=\"x\\\";SRV=s9\"; SRV=s3", "SRV"), "s3");
}

static void test_comma_separates_cookies_as_in_haproxy(void)
{
    CHECK_EQ_STR(find("a=1, SRV=s1", "SRV"), "s1");
}

static void test_every_occurrence_is_found_in_order(void)
{
    const char *v = "SRV=a; x=1; SRV=b";
    size_t pos = 0, len;
    const char *value;
    CHECK(cookie_find(v, strlen(v), "SRV", &pos, &value, &len));
    CHECK(len == 1 && value[0] == 'a');
    CHECK(cookie_find(v, strlen(v), "SRV", &pos, &value, &len));
    CHECK(len == 1 && value[0] == 'b');
    CHECK(!cookie_find(v, strlen(v), "SRV", &pos, &value, &len));
}

static void test_many_cookies_in_a_long_field(void)
{
    size_t size = 20000, n = 0;
    char *v = malloc(size);
    for (int i = 0; i < 1000; i++)
        n += (size_t)snprintf(v + n, size - n, "c%d=%d; ", i, i);
    n += (size_t)snprintf(v + n, size - n, "SRV=last");
    size_t pos = 0, len;
    const char *value;
    CHECK(cookie_find(v, n, "SRV", &pos, &value, &len));
    CHECK(len == 4 && memcmp(value, "last", 4) == 0);
    char *out = malloc(n);
    size_t m = cookie_strip(v, n, "SRV", out);
    CHECK_EQ_INT(m, n - strlen("; SRV=last"));
    CHECK(memcmp(out, v, m) == 0);
    free(out);
    free(v);
}

static void test_an_unterminated_quote_runs_to_the_end(void)
{
    CHECK_EQ_STR(find("a=\"open; SRV=s1", "SRV"), "(none)");
    CHECK_EQ_STR(find("SRV=\"open; b=2", "SRV"), "\"open; b=2");
}

static void test_strip_removes_the_cookie_and_keeps_the_rest_byte_for_byte(void)
{
    CHECK_EQ_STR(strip("a=1; SRV=s1; b=2", "SRV"), "a=1; b=2");
    CHECK_EQ_STR(strip("SRV=s1; a=1", "SRV"), "a=1");
    CHECK_EQ_STR(strip("a=1;b=2;SRV=s1", "SRV"), "a=1;b=2");
    CHECK_EQ_STR(strip("a=1 ,  b=2; SRV=x", "SRV"), "a=1 ,  b=2");
    CHECK_EQ_STR(strip("SRV=1; SRV=2; a=1; SRV=3", "SRV"), "a=1");
    CHECK_EQ_STR(strip("SRVX=1; SRV=2", "SRV"), "SRVX=1");
    CHECK_EQ_STR(strip("a=1; b=2", "SRV"), "a=1; b=2");
}

static void test_strip_of_the_only_cookie_leaves_nothing(void)
{
    CHECK_EQ_INT(cookie_strip("SRV=s1", 6, "SRV", (char[8]){ 0 }), 0);
    CHECK_EQ_STR(strip(" ; SRV=s1 ;", "SRV"), "");
}

static void test_strip_takes_the_attributes_that_follow_the_cookie(void)
{
    CHECK_EQ_STR(strip("$Version=1; SRV=s1; $Path=/; a=1", "SRV"), "$Version=1; a=1");
    CHECK_EQ_STR(strip("$Version=1; SRV=s1; $Path=/", "SRV"), "");
    CHECK_EQ_STR(strip("a=1; $Path=/; SRV=s1", "SRV"), "a=1; $Path=/");
}

static void test_strip_keeps_words_without_equal_sign(void)
{
    CHECK_EQ_STR(strip("flag; SRV=s1", "SRV"), "flag");
}

static void test_set_cookie_name(void)
{
    const char *name;
    size_t len;
    const char *v = " SRV = s1; path=/";
    CHECK(cookie_set_name(v, strlen(v), &name, &len));
    CHECK(len == 3 && memcmp(name, "SRV", 3) == 0);
    CHECK(!cookie_set_name("; path=/", 8, &name, &len));
    CHECK(!cookie_set_name("", 0, &name, &len));
}

static void test_dates_are_haproxy_base64_of_4_second_units(void)
{
    char out[6] = { 0 };
    CHECK_EQ_INT(cookie_date_now(1700000000), 425000000);
    CHECK_EQ_INT(cookie_date_now(1700000001), 425000001);
    cookie_date_encode(425000000, out);
    CHECK_EQ_STR(out, "ZVPxA");
    cookie_date_encode(1, out);
    CHECK_EQ_STR(out, "AAAAB");
    cookie_date_encode(0x3fffffff, out);
    CHECK_EQ_STR(out, "/////");
    uint32_t u;
    CHECK_EQ_INT(cookie_date_decode("ZVPxA", &u), 0);
    CHECK_EQ_INT(u, 425000000);
    CHECK_EQ_INT(cookie_date_decode("/////", &u), 0);
    CHECK_EQ_INT(u, 0x3fffffff);
    CHECK_EQ_INT(cookie_date_decode("ZVP=A", &u), -1);
    CHECK_EQ_INT(cookie_date_decode("ZV|xA", &u), -1);
    CHECK_EQ_INT(cookie_date_decode("ZVP", &u), -1);
}

static void test_value_without_dates(void)
{
    struct cookie_value cv;
    cookie_value_parse("s1", 2, &cv);
    CHECK(cv.server_len == 2 && memcmp(cv.server, "s1", 2) == 0);
    CHECK_EQ_INT(cv.last, 0);
    CHECK_EQ_INT(cv.first, 0);
    cookie_value_parse("", 0, &cv);
    CHECK_EQ_INT(cv.server_len, 0);
}

static void test_value_with_last_and_first_dates(void)
{
    struct cookie_value cv;
    const char *v = "s1|ZVPxB|ZVPxA";
    cookie_value_parse(v, strlen(v), &cv);
    CHECK(cv.server_len == 2 && memcmp(cv.server, "s1", 2) == 0);
    CHECK_EQ_INT(cv.last, 425000001u * 4);
    CHECK_EQ_INT(cv.first, 425000000u * 4);
    v = "s1|ZVPxB";
    cookie_value_parse(v, strlen(v), &cv);
    CHECK_EQ_INT(cv.last, 425000001u * 4);
    CHECK_EQ_INT(cv.first, 0);
}

static void test_bad_or_short_dates_are_ignored(void)
{
    struct cookie_value cv;
    const char *v = "s1|ZVP";
    cookie_value_parse(v, strlen(v), &cv);
    CHECK(cv.server_len == 2);
    CHECK_EQ_INT(cv.last, 0);
    v = "s1|ZV?xB|ZVPxA";
    cookie_value_parse(v, strlen(v), &cv);
    CHECK_EQ_INT(cv.last, 0);
    CHECK_EQ_INT(cv.first, 425000000u * 4);
    v = "s1|AAAAA|ZVPx";
    cookie_value_parse(v, strlen(v), &cv);
    CHECK_EQ_INT(cv.last, 0);
    CHECK_EQ_INT(cv.first, 0);
    v = "|ZVPxA";
    cookie_value_parse(v, strlen(v), &cv);
    CHECK_EQ_INT(cv.server_len, 0);
    CHECK_EQ_INT(cv.last, 425000000u * 4);
}

static const char *format(const struct cookie_set *c)
{
    static char buf[512];
    struct strbuf sb = STRBUF_INIT;
    cookie_format_set(&sb, c);
    snprintf(buf, sizeof(buf), "%s", sb.data ? sb.data : "");
    strbuf_free(&sb);
    return buf;
}

static void test_set_cookie_plain(void)
{
    struct cookie_set c = { .name = "SRV", .value = "s1" };
    CHECK_EQ_STR(format(&c), "SRV=s1; path=/");
}

static void test_set_cookie_with_every_attribute_in_haproxys_order(void)
{
    struct cookie_set c = { .name = "SRV", .value = "s1", .domain = "a.example; domain=b.example",
                            .httponly = 1, .secure = 1, .attrs = "SameSite=Strict; Priority=High" };
    CHECK_EQ_STR(format(&c), "SRV=s1; path=/; domain=a.example; domain=b.example; HttpOnly; "
                             "Secure; SameSite=Strict; Priority=High");
}

static void test_set_cookie_with_dates(void)
{
    struct cookie_set c = { .name = "SRV", .value = "s1", .dated = 1, .last = 425000001 };
    CHECK_EQ_STR(format(&c), "SRV=s1|ZVPxB; path=/");
    c.first = 425000000;
    CHECK_EQ_STR(format(&c), "SRV=s1|ZVPxB|ZVPxA; path=/");
}

static void test_set_cookie_without_a_value_expires_the_cookie(void)
{
    struct cookie_set c = { .name = "SRV", .value = NULL, .dated = 1, .last = 5, .httponly = 1 };
    CHECK_EQ_STR(format(&c), "SRV=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/; HttpOnly");
}

int main(void)
{
    RUN(test_a_cookie_is_found_among_others);
    RUN(test_whitespace_around_names_and_values_is_ignored);
    RUN(test_names_compare_exactly);
    RUN(test_a_name_without_equal_sign_is_not_a_cookie);
    RUN(test_empty_values_and_empty_pairs);
    RUN(test_a_quoted_value_keeps_its_quotes_and_its_delimiters);
    RUN(test_comma_separates_cookies_as_in_haproxy);
    RUN(test_every_occurrence_is_found_in_order);
    RUN(test_many_cookies_in_a_long_field);
    RUN(test_an_unterminated_quote_runs_to_the_end);
    RUN(test_strip_removes_the_cookie_and_keeps_the_rest_byte_for_byte);
    RUN(test_strip_of_the_only_cookie_leaves_nothing);
    RUN(test_strip_takes_the_attributes_that_follow_the_cookie);
    RUN(test_strip_keeps_words_without_equal_sign);
    RUN(test_set_cookie_name);
    RUN(test_dates_are_haproxy_base64_of_4_second_units);
    RUN(test_value_without_dates);
    RUN(test_value_with_last_and_first_dates);
    RUN(test_bad_or_short_dates_are_ignored);
    RUN(test_set_cookie_plain);
    RUN(test_set_cookie_with_every_attribute_in_haproxys_order);
    RUN(test_set_cookie_with_dates);
    RUN(test_set_cookie_without_a_value_expires_the_cookie);
    return unit_report("cookie");
}
