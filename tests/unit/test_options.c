/* test_options.c — backend/options.h: flags, environment and defaults. */
#include <string.h>

#include "../../backend/options.h"
#include "unit.h"

/* ---- a fake environment ---- */

/* name/value pairs, NULL-terminated; set by parse() for fake_getenv(). */
static const char *const *environment;

static const char *fake_getenv(const char *name)
{
    for (const char *const *e = environment; e && e[0]; e += 2)
        if (strcmp(e[0], name) == 0)
            return e[1];
    return NULL;
}

static const char *const no_env[] = { NULL };

static struct backend_options o;
static char err[256];

/* Parses argv (a NULL-terminated list, without the program name) under env. */
static int parse_env(const char *const *env, char **args)
{
    char *argv[32] = { "wscale" };
    int argc = 1;
    while (args && args[argc - 1])
        argv[argc] = args[argc - 1], argc++;
    environment = env;
    memset(err, 0, sizeof(err));
    int rc = backend_options_parse(&o, argc, argv, 1, fake_getenv, err, sizeof(err));
    if (rc == OPTIONS_ERROR)
        CHECK(err[0] != '\0');
    return rc;
}

#define ARGS(...) ((char *[]){ __VA_ARGS__, NULL })

static void check_error_mentions(int rc, const char *what)
{
    CHECK_EQ_INT(rc, OPTIONS_ERROR);
    if (strstr(err, what) == NULL)
        fprintf(stderr, "  error \"%s\" does not mention \"%s\"\n", err, what);
    CHECK(strstr(err, what) != NULL);
}

/* ---- defaults ---- */

static void test_defaults_without_flags_or_environment(void)
{
    CHECK_EQ_INT(parse_env(no_env, NULL), OPTIONS_OK);
    CHECK_EQ_STR(o.listen_host, "0.0.0.0");
    CHECK_EQ_INT(o.listen_port, 8080);
    CHECK_EQ_STR(o.redis.host, "127.0.0.1");
    CHECK_EQ_INT(o.redis.port, 6379);
    CHECK_EQ_INT(o.redis.db, 0);
    CHECK_EQ_STR(o.redis.password, "");
    CHECK_EQ_STR(o.channel, "livechat");
    CHECK_EQ_INT(o.max_message, 1048576);
    CHECK(o.ping_interval == 30.0);
    CHECK_EQ_INT(o.echo, 0);
    CHECK(o.allow_origin == NULL);
    CHECK(o.id[0] != '\0'); /* the host name, or "wscale" */
    CHECK(o.max_output >= o.max_message + 1024);
}

/* ---- environment ---- */

static void test_port_and_appid_from_environment(void)
{
    const char *const env[] = { "PORT", "9001", "APPID", "backend-7", NULL };
    CHECK_EQ_INT(parse_env(env, NULL), OPTIONS_OK);
    CHECK_EQ_INT(o.listen_port, 9001);
    CHECK_EQ_STR(o.listen_host, "0.0.0.0");
    CHECK_EQ_STR(o.id, "backend-7");
}

static void test_redis_url_from_environment(void)
{
    const char *const env[] = { "REDIS_URL", "redis://:pw@cache:7000/3", NULL };
    CHECK_EQ_INT(parse_env(env, NULL), OPTIONS_OK);
    CHECK_EQ_STR(o.redis.host, "cache");
    CHECK_EQ_INT(o.redis.port, 7000);
    CHECK_EQ_INT(o.redis.db, 3);
    CHECK_EQ_STR(o.redis.password, "pw");
}

static void test_redis_host_and_port_from_environment(void)
{
    const char *const env[] = { "REDIS_HOST", "redis-svc", "REDIS_PORT", "7001", NULL };
    CHECK_EQ_INT(parse_env(env, NULL), OPTIONS_OK);
    CHECK_EQ_STR(o.redis.host, "redis-svc");
    CHECK_EQ_INT(o.redis.port, 7001);

    const char *const host_only[] = { "REDIS_HOST", "redis-svc", NULL };
    CHECK_EQ_INT(parse_env(host_only, NULL), OPTIONS_OK);
    CHECK_EQ_STR(o.redis.host, "redis-svc");
    CHECK_EQ_INT(o.redis.port, 6379);
}

static void test_redis_url_wins_over_redis_host(void)
{
    const char *const env[] = { "REDIS_HOST", "ignored", "REDIS_PORT", "7001",
                                "REDIS_URL", "redis://from-url:7002", NULL };
    CHECK_EQ_INT(parse_env(env, NULL), OPTIONS_OK);
    CHECK_EQ_STR(o.redis.host, "from-url");
    CHECK_EQ_INT(o.redis.port, 7002);
}

static void test_empty_environment_values_are_ignored(void)
{
    const char *const env[] = { "PORT", "", "APPID", "", "REDIS_URL", "", NULL };
    CHECK_EQ_INT(parse_env(env, NULL), OPTIONS_OK);
    CHECK_EQ_INT(o.listen_port, 8080);
    CHECK_EQ_STR(o.redis.host, "127.0.0.1");
}

/* ---- flags ---- */

static void test_flags_win_over_environment(void)
{
    const char *const env[] = { "PORT", "9001", "APPID", "env-id",
                                "REDIS_URL", "redis://env-redis:7000", NULL };
    CHECK_EQ_INT(parse_env(env, ARGS("--listen", "127.0.0.1:9000", "--id", "flag-id",
                                      "--redis", "redis://flag-redis:7005/1")), OPTIONS_OK);
    CHECK_EQ_STR(o.listen_host, "127.0.0.1");
    CHECK_EQ_INT(o.listen_port, 9000);
    CHECK_EQ_STR(o.id, "flag-id");
    CHECK_EQ_STR(o.redis.host, "flag-redis");
    CHECK_EQ_INT(o.redis.port, 7005);
    CHECK_EQ_INT(o.redis.db, 1);
}

static void test_listen_forms(void)
{
    CHECK_EQ_INT(parse_env(no_env, ARGS("--listen", ":9000")), OPTIONS_OK);
    CHECK_EQ_STR(o.listen_host, "0.0.0.0");
    CHECK_EQ_INT(o.listen_port, 9000);
    CHECK_EQ_INT(parse_env(no_env, ARGS("--listen=[::1]:9000")), OPTIONS_OK);
    CHECK_EQ_STR(o.listen_host, "::1");
    CHECK_EQ_INT(o.listen_port, 9000);
    CHECK_EQ_INT(parse_env(no_env, ARGS("--listen", "127.0.0.1:9000")), OPTIONS_OK);
    CHECK_EQ_STR(o.listen_host, "127.0.0.1");
    CHECK_EQ_INT(o.listen_port, 9000);
    /* As HAProxy: without brackets the last colon separates the port. */
    CHECK_EQ_INT(parse_env(no_env, ARGS("--listen", "::1:9000")), OPTIONS_OK);
    CHECK_EQ_STR(o.listen_host, "::1");
    CHECK_EQ_INT(o.listen_port, 9000);
}

static void test_max_message_takes_a_size(void)
{
    CHECK_EQ_INT(parse_env(no_env, ARGS("--max-message", "1m")), OPTIONS_OK);
    CHECK_EQ_INT(o.max_message, 1048576);
    CHECK_EQ_INT(parse_env(no_env, ARGS("--max-message", "64k")), OPTIONS_OK);
    CHECK_EQ_INT(o.max_message, 65536);
}

static void test_ping_interval_takes_a_duration(void)
{
    CHECK_EQ_INT(parse_env(no_env, ARGS("--ping-interval", "500ms")), OPTIONS_OK);
    CHECK(o.ping_interval == 0.5);
    CHECK_EQ_INT(parse_env(no_env, ARGS("--ping-interval", "2m")), OPTIONS_OK);
    CHECK(o.ping_interval == 120.0);
    CHECK_EQ_INT(parse_env(no_env, ARGS("--ping-interval", "45")), OPTIONS_OK);
    CHECK(o.ping_interval == 45.0);
}

static void test_ping_interval_0_disables_pings(void)
{
    CHECK_EQ_INT(parse_env(no_env, ARGS("--ping-interval", "0")), OPTIONS_OK);
    CHECK(o.ping_interval == 0.0);
}

static void test_echo_channel_and_allow_origin(void)
{
    CHECK_EQ_INT(parse_env(no_env, ARGS("--echo", "--channel", "room1", "--allow-origin",
                                        "https://a.example")), OPTIONS_OK);
    CHECK_EQ_INT(o.echo, 1);
    CHECK_EQ_STR(o.channel, "room1");
    CHECK_EQ_STR(o.allow_origin, "https://a.example");
}

static void test_help_is_reported(void)
{
    CHECK_EQ_INT(parse_env(no_env, ARGS("--help")), OPTIONS_HELP);
    CHECK_EQ_INT(parse_env(no_env, ARGS("--echo", "-h")), OPTIONS_HELP);
}

/* ---- errors name the flag or variable ---- */

static void test_bad_port_environment_names_port(void)
{
    const char *const env[] = { "PORT", "http", NULL };
    check_error_mentions(parse_env(env, NULL), "PORT");
    const char *const zero[] = { "PORT", "0", NULL };
    check_error_mentions(parse_env(zero, NULL), "PORT");
    const char *const redis_port[] = { "REDIS_PORT", "70000", NULL };
    check_error_mentions(parse_env(redis_port, NULL), "REDIS_PORT");
}

static void test_bad_redis_url_environment_names_it(void)
{
    const char *const env[] = { "REDIS_URL", "http://cache", NULL };
    check_error_mentions(parse_env(env, NULL), "REDIS_URL");
}

static void test_bad_appid_environment_names_it(void)
{
    const char *const env[] = { "APPID", "bad\nid", NULL };
    check_error_mentions(parse_env(env, NULL), "APPID");
}

static void test_unknown_flag_is_named(void)
{
    check_error_mentions(parse_env(no_env, ARGS("--bogus")), "--bogus");
}

static void test_positional_argument_is_refused(void)
{
    check_error_mentions(parse_env(no_env, ARGS("stray")), "stray");
}

static void test_bad_listen_is_named(void)
{
    check_error_mentions(parse_env(no_env, ARGS("--listen", "9000")), "--listen");
    check_error_mentions(parse_env(no_env, ARGS("--listen", "host:0")), "--listen");
    check_error_mentions(parse_env(no_env, ARGS("--listen", "::1:")), "--listen");
}

static void test_bad_sizes_and_durations_are_named(void)
{
    check_error_mentions(parse_env(no_env, ARGS("--max-message", "0")), "--max-message");
    check_error_mentions(parse_env(no_env, ARGS("--max-message", "2g")), "--max-message");
    check_error_mentions(parse_env(no_env, ARGS("--ping-interval", "soon")), "--ping-interval");
    check_error_mentions(parse_env(no_env, ARGS("--redis", "rediss://x")), "--redis");
}

static void test_max_output_must_exceed_max_message_by_1k(void)
{
    check_error_mentions(parse_env(no_env, ARGS("--max-output", "1m")), "--max-output");
    check_error_mentions(parse_env(no_env, ARGS("--max-message", "4m")), "--max-output");
    CHECK_EQ_INT(parse_env(no_env, ARGS("--max-output", "1025k")), OPTIONS_OK);
    CHECK_EQ_INT(o.max_output, 1048576 + 1024);
}

static void test_handshake_timeout_0_is_refused(void)
{
    check_error_mentions(parse_env(no_env, ARGS("--handshake-timeout", "0")), "--handshake-timeout");
    check_error_mentions(parse_env(no_env, ARGS("--redis-timeout", "0ms")), "--redis-timeout");
    CHECK_EQ_INT(parse_env(no_env, ARGS("--handshake-timeout", "1ms")), OPTIONS_OK);
    CHECK(o.handshake_timeout == 0.001);
}

/* ---- backend_origin_allowed ---- */

static int allowed(const char *list, const char *origin)
{
    struct backend_options opts;
    memset(&opts, 0, sizeof(opts));
    opts.allow_origin = list;
    return backend_origin_allowed(&opts, origin, strlen(origin));
}

static void test_no_origin_list_allows_every_origin(void)
{
    CHECK(allowed(NULL, "https://anything.example"));
    CHECK(allowed(NULL, ""));
}

static void test_origin_exact_match_is_case_insensitive(void)
{
    CHECK(allowed("https://chat.example.com", "https://chat.example.com"));
    CHECK(allowed("https://chat.example.com", "HTTPS://Chat.Example.COM"));
}

static void test_origin_list_with_spaces(void)
{
    const char *list = "https://a.example, https://b.example ,https://c.example";
    CHECK(allowed(list, "https://a.example"));
    CHECK(allowed(list, "https://b.example"));
    CHECK(allowed(list, "https://c.example"));
    CHECK(!allowed(list, "https://d.example"));
}

static void test_star_allows_every_origin(void)
{
    CHECK(allowed("*", "https://x.example"));
    CHECK(allowed("https://a.example, *", "null"));
}

static void test_origin_mismatch_is_refused(void)
{
    const char *list = "https://a.example";
    CHECK(!allowed(list, "https://a.example.evil"));
    CHECK(!allowed(list, "https://a.exampl"));
    CHECK(!allowed(list, "http://a.example"));
    CHECK(!allowed(list, ""));
    CHECK(!allowed(list, "*"));
    CHECK(!allowed(",, ,", "https://a.example"));
}

static void test_chat_v1_limits_and_their_defaults(void)
{
    CHECK_EQ_INT(parse_env(no_env, NULL), OPTIONS_OK);
    CHECK_EQ_INT(o.history, 1000);
    CHECK_EQ_INT(o.rate_limit, 20);
    CHECK(o.presence_ttl == 15.0);
    CHECK_EQ_INT(parse_env(no_env, ARGS("--history", "10", "--rate-limit", "5", "--presence-ttl", "2s")),
                 OPTIONS_OK);
    CHECK_EQ_INT(o.history, 10);
    CHECK_EQ_INT(o.rate_limit, 5);
    CHECK(o.presence_ttl == 2.0);
    check_error_mentions(parse_env(no_env, ARGS("--history", "0")), "--history");
    check_error_mentions(parse_env(no_env, ARGS("--history", "1000001")), "--history");
    check_error_mentions(parse_env(no_env, ARGS("--rate-limit", "0")), "--rate-limit");
    check_error_mentions(parse_env(no_env, ARGS("--rate-limit", "fast")), "--rate-limit");
    check_error_mentions(parse_env(no_env, ARGS("--presence-ttl", "500ms")), "--presence-ttl");
    check_error_mentions(parse_env(no_env, ARGS("--presence-ttl", "25h")), "--presence-ttl");
}

static void test_write_delay_is_a_short_duration(void)
{
    CHECK_EQ_INT(parse_env(no_env, NULL), OPTIONS_OK);
    CHECK(o.write_delay == 0.005);
    CHECK_EQ_INT(parse_env(no_env, ARGS("--write-delay", "0")), OPTIONS_OK);
    CHECK(o.write_delay == 0.0);
    CHECK_EQ_INT(parse_env(no_env, ARGS("--write-delay", "100ms")), OPTIONS_OK);
    CHECK(o.write_delay == 0.1);
    check_error_mentions(parse_env(no_env, ARGS("--write-delay", "101ms")), "--write-delay");
    check_error_mentions(parse_env(no_env, ARGS("--write-delay", "soon")), "--write-delay");
}

int main(void)
{
    RUN(test_defaults_without_flags_or_environment);

    RUN(test_port_and_appid_from_environment);
    RUN(test_redis_url_from_environment);
    RUN(test_redis_host_and_port_from_environment);
    RUN(test_redis_url_wins_over_redis_host);
    RUN(test_empty_environment_values_are_ignored);

    RUN(test_flags_win_over_environment);
    RUN(test_listen_forms);
    RUN(test_max_message_takes_a_size);
    RUN(test_ping_interval_takes_a_duration);
    RUN(test_ping_interval_0_disables_pings);
    RUN(test_echo_channel_and_allow_origin);
    RUN(test_help_is_reported);

    RUN(test_bad_port_environment_names_port);
    RUN(test_bad_redis_url_environment_names_it);
    RUN(test_bad_appid_environment_names_it);
    RUN(test_unknown_flag_is_named);
    RUN(test_positional_argument_is_refused);
    RUN(test_bad_listen_is_named);
    RUN(test_bad_sizes_and_durations_are_named);
    RUN(test_max_output_must_exceed_max_message_by_1k);
    RUN(test_handshake_timeout_0_is_refused);

    RUN(test_no_origin_list_allows_every_origin);
    RUN(test_origin_exact_match_is_case_insensitive);
    RUN(test_origin_list_with_spaces);
    RUN(test_star_allows_every_origin);
    RUN(test_origin_mismatch_is_refused);
    RUN(test_chat_v1_limits_and_their_defaults);
    RUN(test_write_delay_is_a_short_duration);
    return unit_report("options");
}
