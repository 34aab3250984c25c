/* test_redis_url.c — backend/redis-url.h: redis:// URLs. */
#include <string.h>

#include "../../backend/redis-url.h"
#include "unit.h"

static struct redis_url url;
static const char *err;

static int parse(const char *text)
{
    err = NULL;
    int rc = redis_url_parse(text, &url, &err);
    if (rc != 0)
        CHECK(err != NULL && err[0] != '\0');
    return rc;
}

static void check_refused(const char *text)
{
    int rc = parse(text);
    if (rc != -1)
        fprintf(stderr, "  \"%s\" was accepted\n", text);
    CHECK_EQ_INT(rc, -1);
}

/* ---- accepted URLs ---- */

static void test_host_only_gets_default_port_and_db(void)
{
    CHECK_EQ_INT(parse("redis://localhost"), 0);
    CHECK_EQ_STR(url.host, "localhost");
    CHECK_EQ_INT(url.port, 6379);
    CHECK_EQ_INT(url.db, 0);
    CHECK_EQ_STR(url.user, "");
    CHECK_EQ_STR(url.password, "");
}

static void test_host_and_port(void)
{
    CHECK_EQ_INT(parse("redis://redis.example.com:6380"), 0);
    CHECK_EQ_STR(url.host, "redis.example.com");
    CHECK_EQ_INT(url.port, 6380);
    CHECK_EQ_INT(parse("redis://10.0.0.7:65535"), 0);
    CHECK_EQ_STR(url.host, "10.0.0.7");
    CHECK_EQ_INT(url.port, 65535);
}

static void test_database_number(void)
{
    CHECK_EQ_INT(parse("redis://h/3"), 0);
    CHECK_EQ_STR(url.host, "h");
    CHECK_EQ_INT(url.db, 3);
    CHECK_EQ_INT(url.port, 6379);
    CHECK_EQ_INT(parse("redis://h:7000/15"), 0);
    CHECK_EQ_INT(url.port, 7000);
    CHECK_EQ_INT(url.db, 15);
    CHECK_EQ_INT(parse("redis://h/"), 0);
    CHECK_EQ_INT(url.db, 0);
}

static void test_password_only(void)
{
    CHECK_EQ_INT(parse("redis://:s3cret@h"), 0);
    CHECK_EQ_STR(url.user, "");
    CHECK_EQ_STR(url.password, "s3cret");
    CHECK_EQ_STR(url.host, "h");
}

static void test_user_and_password(void)
{
    CHECK_EQ_INT(parse("redis://alice:s3cret@h:1234/2"), 0);
    CHECK_EQ_STR(url.user, "alice");
    CHECK_EQ_STR(url.password, "s3cret");
    CHECK_EQ_STR(url.host, "h");
    CHECK_EQ_INT(url.port, 1234);
    CHECK_EQ_INT(url.db, 2);
}

static void test_percent_encoded_credentials_are_decoded(void)
{
    CHECK_EQ_INT(parse("redis://:p%40ss@h"), 0);
    CHECK_EQ_STR(url.password, "p@ss");
    CHECK_EQ_STR(url.host, "h");
    CHECK_EQ_INT(parse("redis://al%3Aice:a%2Fb%3a%25@h"), 0);
    CHECK_EQ_STR(url.user, "al:ice");
    CHECK_EQ_STR(url.password, "a/b:%");
}

static void test_at_sign_in_password_ends_at_the_last_at(void)
{
    CHECK_EQ_INT(parse("redis://:p@ss@h:6380"), 0);
    CHECK_EQ_STR(url.password, "p@ss");
    CHECK_EQ_STR(url.host, "h");
    CHECK_EQ_INT(url.port, 6380);
    CHECK_EQ_INT(parse("redis://u%40x:p%40w@h"), 0);
    CHECK_EQ_STR(url.user, "u@x");
    CHECK_EQ_STR(url.password, "p@w");
}

static void test_bracketed_ipv6_host(void)
{
    CHECK_EQ_INT(parse("redis://[::1]:6380"), 0);
    CHECK_EQ_STR(url.host, "::1");
    CHECK_EQ_INT(url.port, 6380);
    CHECK_EQ_INT(parse("redis://:pw@[fe80::1]/4"), 0);
    CHECK_EQ_STR(url.host, "fe80::1");
    CHECK_EQ_INT(url.port, 6379);
    CHECK_EQ_INT(url.db, 4);
    CHECK_EQ_STR(url.password, "pw");
}

/* ---- refused URLs ---- */

static void test_other_schemes_are_refused(void)
{
    check_refused("http://h");
    check_refused("h:6379");
    check_refused("redis:/h");
    check_refused("");
}

static void test_rediss_is_refused_with_tls_in_the_message(void)
{
    check_refused("rediss://h:6380");
    CHECK(err != NULL && strstr(err, "TLS") != NULL);
}

static void test_missing_host_is_refused(void)
{
    check_refused("redis://");
    check_refused("redis://:6379");
    check_refused("redis:///0");
    check_refused("redis://:pw@");
    check_refused("redis://[]:6379");
}

static void test_bad_port_is_refused(void)
{
    check_refused("redis://h:abc");
    check_refused("redis://h:");
    check_refused("redis://h:65536");
    check_refused("redis://h:-1");
    check_refused("redis://h:6379x/0");
    check_refused("redis://[::1]x");
    check_refused("redis://[::1");
}

static void test_port_0_is_refused(void)
{
    check_refused("redis://h:0");
}

static void test_db_that_is_not_a_number_is_refused(void)
{
    check_refused("redis://h/abc");
    check_refused("redis://h/1x");
    check_refused("redis://h/-1");
    check_refused("redis://h/65536");
}

static void test_empty_password_is_refused(void)
{
    check_refused("redis://:@h");
    check_refused("redis://alice:@h");
}

static void test_credentials_without_colon_are_refused(void)
{
    check_refused("redis://s3cret@h");
}

static void test_truncated_or_bad_escapes_are_refused(void)
{
    check_refused("redis://:pw%4@h");
    check_refused("redis://:pw%@h");
    check_refused("redis://:pw%zz@h");
    check_refused("redis://:p%00w@h");
    check_refused("redis://us%00er:pw@h");
}

static void test_invalid_host_characters_are_refused(void)
{
    check_refused("redis://h h");
    check_refused("redis://h?x=1");
    check_refused("redis://h#frag");
}

/* ---- redis_url_format ---- */

static void test_format_never_contains_the_password(void)
{
    char buf[256];
    CHECK_EQ_INT(parse("redis://alice:Sup3rS3cret@h:6380/2"), 0);
    redis_url_format(&url, buf, sizeof(buf));
    CHECK_EQ_STR(buf, "redis://alice:***@h:6380/2");
    CHECK(strstr(buf, "Sup3rS3cret") == NULL);

    CHECK_EQ_INT(parse("redis://:Sup3rS3cret@h"), 0);
    redis_url_format(&url, buf, sizeof(buf));
    CHECK_EQ_STR(buf, "redis://:***@h:6379/0");
    CHECK(strstr(buf, "Sup3rS3cret") == NULL);
}

static void test_format_without_credentials(void)
{
    char buf[256];
    CHECK_EQ_INT(parse("redis://localhost"), 0);
    redis_url_format(&url, buf, sizeof(buf));
    CHECK_EQ_STR(buf, "redis://localhost:6379/0");
}

static void test_format_brackets_ipv6_hosts(void)
{
    char buf[256];
    CHECK_EQ_INT(parse("redis://[::1]:6380/1"), 0);
    redis_url_format(&url, buf, sizeof(buf));
    CHECK_EQ_STR(buf, "redis://[::1]:6380/1");
}

static void test_format_truncates_to_the_buffer(void)
{
    char buf[12];
    memset(buf, 'X', sizeof(buf));
    CHECK_EQ_INT(parse("redis://a-long-host-name:6380"), 0);
    redis_url_format(&url, buf, sizeof(buf));
    CHECK_EQ_INT(strlen(buf), sizeof(buf) - 1);
    CHECK_EQ_STR(buf, "redis://a-l");
}

int main(void)
{
    RUN(test_host_only_gets_default_port_and_db);
    RUN(test_host_and_port);
    RUN(test_database_number);
    RUN(test_password_only);
    RUN(test_user_and_password);
    RUN(test_percent_encoded_credentials_are_decoded);
    RUN(test_at_sign_in_password_ends_at_the_last_at);
    RUN(test_bracketed_ipv6_host);

    RUN(test_other_schemes_are_refused);
    RUN(test_rediss_is_refused_with_tls_in_the_message);
    RUN(test_missing_host_is_refused);
    RUN(test_bad_port_is_refused);
    RUN(test_port_0_is_refused);
    RUN(test_db_that_is_not_a_number_is_refused);
    RUN(test_empty_password_is_refused);
    RUN(test_credentials_without_colon_are_refused);
    RUN(test_truncated_or_bad_escapes_are_refused);
    RUN(test_invalid_host_characters_are_refused);

    RUN(test_format_never_contains_the_password);
    RUN(test_format_without_credentials);
    RUN(test_format_brackets_ipv6_hosts);
    RUN(test_format_truncates_to_the_buffer);
    return unit_report("redis-url");
}
