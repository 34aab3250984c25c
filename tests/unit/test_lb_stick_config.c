/* test_lb_stick_config.c — lb/config.h for stick tables: "stick-table type
 * ip|ipv6 size N [expire D]" and "stick on src" (or its halves) are read with
 * HAProxy's meaning; every other form HAProxy has is refused with a
 * "FILE:LINE: message" error saying what is supported. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lb/config.h"
#include "config-harness.h"
#include "unit.h"

static void check_line(const char *text, const char *kind, int line, ...)
{
    char prefix[48];
    snprintf(prefix, sizeof(prefix), "t.cfg:%d: %s", line, kind);
    va_list ap;
    va_start(ap, line);
    int found = has_line(text, prefix, ap);
    va_end(ap);
    if (!found) {
        fprintf(stderr, "  no matching %s at line %d; got:\n%s", *kind ? "warning" : "error", line,
                text);
        unit_current_failed = 1;
    }
}

/* Refused with exactly one error, at `line`, containing the fragments. */
#define CHECK_REFUSED(text, line, ...)                                               \
    do {                                                                             \
        CHECK(parse(text) == NULL);                                                  \
        CHECK_EQ_INT(count_lines(errs()), 1);                                        \
        check_line(errs(), "", (line), __VA_ARGS__, (const char *)NULL);             \
    } while (0)

#define CHECK_WARNING(line, ...) check_line(warns(), "warning: ", (line), __VA_ARGS__, (const char *)NULL)

static void check_parses(const char *text)
{
    if (parse(text) == NULL) {
        fprintf(stderr, "  config refused:\n%s", errs());
        unit_current_failed = 1;
    }
}

static const struct stick_conf *stick_of(const char *backend)
{
    struct proxy *be = cfg ? lb_config_find(cfg, backend, PROXY_BACKEND) : NULL;
    return be ? &be->stick : NULL;
}

/* Lines 1-7; a backend's own lines start at 8. */
#define HEAD                                                                         \
    "frontend fe\n"                                                                  \
    "    bind 127.0.0.1:8080\n"                                                      \
    "    timeout client 1s\n"                                                        \
    "    default_backend be\n"                                                       \
    "backend be\n"                                                                   \
    "    timeout server 1s\n"                                                        \
    "    timeout connect 1s\n"
#define SERVERS "    server s1 127.0.0.1:8081\n    server s2 127.0.0.1:8082\n"

static void test_stick_table_and_stick_on_src_are_read(void)
{
    check_parses(HEAD "    stick-table type ip size 200k expire 30m\n" /* 8 */
                      "    stick on src\n"                             /* 9 */
                      SERVERS);
    const struct stick_conf *sc = stick_of("be");
    CHECK(sc != NULL);
    if (sc == NULL)
        return;
    CHECK_EQ_INT(sc->size, 200 * 1024);
    CHECK_EQ_INT(sc->expire_ms, 30 * 60 * 1000);
    CHECK_EQ_INT(sc->ipv6, 0);
    CHECK_EQ_INT(sc->match, 1);
    CHECK_EQ_INT(sc->store, 1);
    CHECK_EQ_INT(sc->table_line, 8);
    CHECK_EQ_INT(sc->rule_line, 9);
    CHECK_EQ_INT(warnings.len, 0);
}

/* HAProxy: "k", "m", "g" for 2^10, 2^20 and 2^30 factors. */
static void test_sizes_take_binary_suffixes(void)
{
    static const struct { const char *text; unsigned entries; } sizes[] = {
        { "1", 1 }, { "1000", 1000 }, { "1k", 1024 }, { "1K", 1024 }, { "3m", 3u << 20 },
        { "16M", 16u << 20 },
    };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), HEAD "    stick-table type ip size %s\n    stick on src\n" SERVERS,
                 sizes[i].text);
        check_parses(text);
        CHECK(stick_of("be") && stick_of("be")->size == sizes[i].entries);
    }
}

static void test_type_ipv6_and_no_expire(void)
{
    check_parses(HEAD "    stick on src\n    stick-table size 10 type ipv6\n" SERVERS);
    const struct stick_conf *sc = stick_of("be");
    CHECK(sc && sc->ipv6 == 1 && sc->size == 10 && sc->expire_ms == 0);
}

static void test_a_bare_expire_is_milliseconds(void)
{
    check_parses(HEAD "    stick-table type ip size 1k expire 1500\n    stick on src\n" SERVERS);
    CHECK(stick_of("be") && stick_of("be")->expire_ms == 1500);
}

static void test_match_and_store_request_are_stick_on(void)
{
    check_parses(HEAD "    stick-table type ip size 1k\n"
                      "    stick match src\n"
                      "    stick store-request src\n" SERVERS);
    const struct stick_conf *sc = stick_of("be");
    CHECK(sc && sc->match == 1 && sc->store == 1);
    CHECK_EQ_INT(warnings.len, 0);
}

static void test_one_half_alone_is_a_warning(void)
{
    check_parses(HEAD "    stick-table type ip size 1k\n    stick match src\n" SERVERS);
    CHECK_WARNING(9, "stick match src", "no entry is ever stored", "stick on src");
    check_parses(HEAD "    stick-table type ip size 1k\n    stick store-request src\n" SERVERS);
    CHECK_WARNING(9, "stick store-request src", "never used");
}

static void test_a_table_without_rules_is_a_warning(void)
{
    check_parses(HEAD "    stick-table type ip size 1k\n" SERVERS);
    CHECK_WARNING(8, "not used", "stick on src");
}

static void test_a_listen_section_may_stick(void)
{
    check_parses("listen web\n"
                 "    bind 127.0.0.1:8080\n"
                 "    timeout client 1s\n"
                 "    timeout server 1s\n"
                 "    timeout connect 1s\n"
                 "    stick-table type ip size 1m expire 1h\n"
                 "    stick on src\n" SERVERS);
    const struct stick_conf *sc = stick_of("web");
    CHECK(sc && sc->size == 1u << 20 && sc->expire_ms == 3600000 && sc->match && sc->store);
}

static void test_stick_on_needs_a_table_in_the_backend(void)
{
    CHECK_REFUSED(HEAD SERVERS "    stick on src\n", 10, "stick rules need a stick-table",
                  "backend 'be'");
}

static void test_a_refused_table_is_the_only_error(void)
{
    CHECK_REFUSED(HEAD "    stick on src\n    stick-table type ip size 0\n" SERVERS, 9, "from 1 to 16m");
}

static void test_other_table_types_are_refused(void)
{
    CHECK_REFUSED(HEAD "    stick-table type string len 32 size 1k\n" SERVERS, 8,
                  "type 'string' is not supported", "type ip", "ipv6");
    CHECK_REFUSED(HEAD "    stick-table type integer size 1k\n" SERVERS, 8,
                  "type 'integer' is not supported");
    CHECK_REFUSED(HEAD "    stick-table type binary size 1k\n" SERVERS, 8,
                  "type 'binary' is not supported");
    CHECK_REFUSED(HEAD "    stick-table type ipv4 size 1k\n" SERVERS, 8, "type 'ipv4' is unknown");
}

static void test_a_table_needs_a_type_and_a_size(void)
{
    CHECK_REFUSED(HEAD "    stick-table size 1k\n" SERVERS, 8, "needs a type");
    CHECK_REFUSED(HEAD "    stick-table type ip expire 1m\n" SERVERS, 8, "needs a size");
    CHECK_REFUSED(HEAD "    stick-table type ip size\n" SERVERS, 8, "'size' expects a value");
}

static void test_bad_sizes_and_durations_are_refused(void)
{
    CHECK_REFUSED(HEAD "    stick-table type ip size 0\n" SERVERS, 8, "from 1 to 16m");
    CHECK_REFUSED(HEAD "    stick-table type ip size 17m\n" SERVERS, 8, "from 1 to 16m");
    CHECK_REFUSED(HEAD "    stick-table type ip size 1g\n" SERVERS, 8, "from 1 to 16m");
    CHECK_REFUSED(HEAD "    stick-table type ip size 20kb\n" SERVERS, 8, "not a number of entries");
    CHECK_REFUSED(HEAD "    stick-table type ip size k\n" SERVERS, 8, "not a number of entries");
    CHECK_REFUSED(HEAD "    stick-table type ip size -1\n" SERVERS, 8, "not a number of entries");
    CHECK_REFUSED(HEAD "    stick-table type ip size 1k expire soon\n" SERVERS, 8,
                  "expire 'soon' is not a duration");
    CHECK_REFUSED(HEAD "    stick-table type ip size 1k expire 30d\n" SERVERS, 8,
                  "expire '30d' is not a duration", "24 days");
}

static void test_unsupported_table_options_are_refused(void)
{
    static const char *const lines[] = {
        "stick-table type ip size 1k nopurge",      "stick-table type ip size 1k peers mypeers",
        "stick-table type ip size 1k store conn_cnt", "stick-table type ip size 1k srvkey addr",
        "stick-table type ip size 1k write-to other", "stick-table type ip len 4 size 1k",
    };
    static const char *const words[] = { "'nopurge'", "'peers'", "'store'", "'srvkey'", "'write-to'",
                                         "'len'" };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), HEAD "    %s\n" SERVERS, lines[i]);
        CHECK_REFUSED(text, 8, words[i], "is not supported");
    }
    CHECK_REFUSED(HEAD "    stick-table type ip size 1k colour blue\n" SERVERS, 8,
                  "unknown stick-table option 'colour'", "type ip|ipv6, size N, expire");
}

static void test_only_src_without_table_or_condition_is_supported(void)
{
    CHECK_REFUSED(HEAD "    stick-table type ip size 1k\n    stick on hdr(x-user)\n" SERVERS, 9,
                  "'stick on hdr(x-user)'", "only the client's address, src");
    CHECK_REFUSED(HEAD "    stick-table type ip size 1k\n    stick on src,ipmask(24)\n" SERVERS, 9,
                  "only the client's address");
    CHECK_REFUSED(HEAD "    stick-table type ip size 1k\n    stick on src table other\n" SERVERS, 9,
                  "another proxy's table is not supported");
    CHECK_REFUSED(HEAD "    stick-table type ip size 1k\n    stick match src if local\n" SERVERS, 9,
                  "conditional stick rules", "not supported");
    CHECK_REFUSED(HEAD "    stick-table type ip size 1k\n    stick on src unless local\n" SERVERS, 9,
                  "conditional stick rules");
    CHECK_REFUSED(HEAD "    stick-table type ip size 1k\n    stick on src extra\n" SERVERS, 9,
                  "unexpected 'extra'");
    CHECK_REFUSED(HEAD "    stick-table type ip size 1k\n    stick on\n" SERVERS, 9,
                  "'stick on' expects what to stick on: src");
}

static void test_other_stick_rules_are_refused(void)
{
    CHECK_REFUSED(HEAD "    stick-table type ip size 1k\n    stick store-response src\n" SERVERS, 9,
                  "'stick store-response' is not supported", "stick on src");
    CHECK_REFUSED(HEAD "    stick-table type ip size 1k\n    stick to src\n" SERVERS, 9,
                  "'stick to'", "expected 'stick on src'");
    CHECK_REFUSED(HEAD "    stick-table type ip size 1k\n    stick\n" SERVERS, 9,
                  "expected 'stick on src'");
}

static void test_only_one_table_per_backend(void)
{
    CHECK_REFUSED(HEAD "    stick-table type ip size 1k\n"
                       "    stick-table type ipv6 size 1k\n"
                       "    stick on src\n" SERVERS,
                  9, "only one stick-table per backend", "line 8");
}

static void test_where_stick_keywords_belong(void)
{
    CHECK_REFUSED("frontend fe\n"
                  "    bind 127.0.0.1:8080\n"
                  "    stick-table type ip size 1k\n"
                  "    default_backend be\n"
                  "backend be\n" SERVERS,
                  3, "stick-table in a frontend", "track-sc", "declare it in the backend");
    CHECK_REFUSED("frontend fe\n"
                  "    bind 127.0.0.1:8080\n"
                  "    stick on src\n"
                  "    default_backend be\n"
                  "backend be\n" SERVERS,
                  3, "'stick' is not allowed in a frontend section");
    CHECK_REFUSED("defaults\n    stick-table type ip size 1k\n" HEAD SERVERS, 2,
                  "'stick-table' is not allowed in a defaults section");
    CHECK_REFUSED("defaults\n    stick on src\n" HEAD SERVERS, 2,
                  "'stick' is not allowed in a defaults section");
}

int main(void)
{
    RUN(test_stick_table_and_stick_on_src_are_read);
    RUN(test_sizes_take_binary_suffixes);
    RUN(test_type_ipv6_and_no_expire);
    RUN(test_a_bare_expire_is_milliseconds);
    RUN(test_match_and_store_request_are_stick_on);
    RUN(test_one_half_alone_is_a_warning);
    RUN(test_a_table_without_rules_is_a_warning);
    RUN(test_a_listen_section_may_stick);
    RUN(test_stick_on_needs_a_table_in_the_backend);
    RUN(test_a_refused_table_is_the_only_error);
    RUN(test_other_table_types_are_refused);
    RUN(test_a_table_needs_a_type_and_a_size);
    RUN(test_bad_sizes_and_durations_are_refused);
    RUN(test_unsupported_table_options_are_refused);
    RUN(test_only_src_without_table_or_condition_is_supported);
    RUN(test_other_stick_rules_are_refused);
    RUN(test_only_one_table_per_backend);
    RUN(test_where_stick_keywords_belong);
    lb_config_free(cfg);
    strbuf_free(&errors);
    strbuf_free(&warnings);
    return unit_report("stick-config");
}
