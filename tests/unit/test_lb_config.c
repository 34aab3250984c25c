/* test_lb_config.c — lb/config.h: reading an HAProxy-style configuration
 * (sections, keywords, defaults inheritance, servers, binds) and refusing
 * everything it does not support with "FILE:LINE: message" errors. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../lb/config.h"
#include "config-harness.h"
#include "unit.h"

/* Checks that errors hold a line "t.cfg:LINE: ..." containing every
 * fragment (NULL-terminated list). */
static void check_error_line(int line, ...)
{
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "t.cfg:%d: ", line);
    va_list ap;
    va_start(ap, line);
    int found = has_line(errs(), prefix, ap);
    va_end(ap);
    if (!found) {
        fprintf(stderr, "  no matching error at line %d; errors were:\n%s", line, errs());
        unit_current_failed = 1;
    }
}

#define CHECK_ERROR(line, ...) check_error_line((line), __VA_ARGS__, (const char *)NULL)

static void check_warning_line(int line, ...)
{
    char prefix[48];
    snprintf(prefix, sizeof(prefix), "t.cfg:%d: warning: ", line);
    va_list ap;
    va_start(ap, line);
    int found = has_line(warns(), prefix, ap);
    va_end(ap);
    if (!found) {
        fprintf(stderr, "  no matching warning at line %d; warnings were:\n%s", line, warns());
        unit_current_failed = 1;
    }
}

#define CHECK_WARNING(line, ...) check_warning_line((line), __VA_ARGS__, (const char *)NULL)

/* The config is refused with exactly one error, at `line`, containing the
 * fragments. */
#define CHECK_REFUSED(text, line, ...)                                                \
    do {                                                                             \
        CHECK(parse(text) == NULL);                                                  \
        CHECK_EQ_INT(count_lines(errs()), 1);                                        \
        CHECK_ERROR((line), __VA_ARGS__);                                            \
    } while (0)

static void check_parses(const char *text)
{
    if (parse(text) == NULL) {
        fprintf(stderr, "  config refused:\n%s", errs());
        unit_current_failed = 1;
    }
    CHECK_EQ_INT(errors.len, 0);
}

static struct proxy *find(const char *name, unsigned caps)
{
    return cfg ? lb_config_find(cfg, name, caps) : NULL;
}

static unsigned addr_port(const struct net_addr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
    if (a->ss.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
    return 0;
}

static int is_ipv4(const struct net_addr *a, const char *ip)
{
    struct in_addr want;
    if (a->ss.ss_family != AF_INET || inet_pton(AF_INET, ip, &want) != 1)
        return 0;
    return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == want.s_addr;
}

static int is_ipv6(const struct net_addr *a, const char *ip)
{
    struct in6_addr want;
    if (a->ss.ss_family != AF_INET6 || inet_pton(AF_INET6, ip, &want) != 1)
        return 0;
    return memcmp(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr, &want, sizeof(want)) == 0;
}

/* A frontend and a backend that need nothing more, for tests that look at
 * one keyword. Each is 4 lines. */
#define FE_OK                                                                        \
    "frontend fe\n"                                                                  \
    "    bind 127.0.0.1:8080\n"                                                      \
    "    timeout client 1s\n"                                                        \
    "    default_backend be\n"
#define BE_HEAD                                                                      \
    "backend be\n"                                                                   \
    "    timeout server 1s\n"                                                        \
    "    timeout connect 1s\n"
#define BE_OK BE_HEAD "    server s1 127.0.0.1:8081\n"

/* ---- the tutorial ---- */

static const char tutorial[] =
    "frontend http\n"                      /* 1 */
    "    bind *:8080\n"                    /* 2 */
    "    mode http\n"                      /* 3 */
    "    timeout client 1000s\n"           /* 4 */
    "    use_backend all\n"                /* 5 */
    "\n"                                   /* 6 */
    "backend all\n"                        /* 7 */
    "    mode http\n"                      /* 8 */
    "    timeout server 1000s\n"           /* 9 */
    "    timeout connect 1000s\n"          /* 10 */
    "    server s1 127.0.0.1:8081\n"       /* 11 */
    "    server s2 127.0.0.1:8082\n"       /* 12 */
    "    server s3 127.0.0.1:8083\n"       /* 13 */
    "    server s4 127.0.0.1:8084\n";      /* 14 */

static void test_tutorial_config_parses_without_errors_or_warnings(void)
{
    check_parses(tutorial);
    CHECK_EQ_INT(warnings.len, 0);
    if (warnings.len)
        fprintf(stderr, "%s", warns());
}

static void test_tutorial_frontend_points_at_its_backend(void)
{
    check_parses(tutorial);
    if (cfg == NULL)
        return;
    struct proxy *fe = cfg->proxies;
    CHECK(fe != NULL);
    if (fe == NULL)
        return;
    CHECK_EQ_STR(fe->name, "http");
    CHECK_EQ_INT(fe->caps, PROXY_FRONTEND);
    CHECK_EQ_INT(fe->line, 1);
    CHECK_EQ_INT(fe->nbinds, 1);
    if (fe->nbinds == 1) {
        CHECK_EQ_STR(fe->binds[0]->text, "*:8080");
        CHECK(is_ipv4(&fe->binds[0]->addr, "0.0.0.0"));
        CHECK_EQ_INT(addr_port(&fe->binds[0]->addr), 8080);
        CHECK(fe->binds[0]->fe == fe);
        CHECK_EQ_INT(fe->binds[0]->line, 2);
    }
    CHECK_EQ_INT(fe->to.client, 1000000);
    struct proxy *be = fe->next;
    CHECK(be != NULL);
    CHECK(fe->backend == be);
    CHECK(be == find("all", PROXY_BACKEND));
    if (be) {
        CHECK_EQ_STR(be->name, "all");
        CHECK_EQ_INT(be->caps, PROXY_BACKEND);
        CHECK(be->next == NULL);
    }
    CHECK_EQ_INT(cfg->nlisteners, 1);
    CHECK_EQ_INT(cfg->nservers, 4);
}

static void test_tutorial_backend_has_four_servers_with_default_settings(void)
{
    check_parses(tutorial);
    struct proxy *be = find("all", PROXY_BACKEND);
    CHECK(be != NULL);
    if (be == NULL)
        return;
    CHECK_EQ_INT(be->to.server, 1000000);
    CHECK_EQ_INT(be->to.connect, 1000000);
    CHECK_EQ_INT(be->balance, BALANCE_ROUNDROBIN);
    CHECK_EQ_INT(be->retries, 3);
    CHECK_EQ_INT(be->nservers, 4);
    for (size_t i = 0; i < be->nservers && i < 4; i++) {
        struct server *s = be->servers[i];
        char name[8];
        snprintf(name, sizeof(name), "s%zu", i + 1);
        CHECK_EQ_STR(s->name, name);
        CHECK_EQ_STR(s->host, "127.0.0.1");
        CHECK_EQ_INT(s->port, 8081 + i);
        CHECK(is_ipv4(&s->addr, "127.0.0.1"));
        CHECK_EQ_INT(addr_port(&s->addr), 8081 + i);
        CHECK_EQ_INT(s->line, 11 + (int)i);
        CHECK(s->be == be);
        CHECK_EQ_INT(s->weight, 1);
        CHECK_EQ_INT(s->rise, 2);
        CHECK_EQ_INT(s->fall, 3);
        CHECK_EQ_INT(s->inter_ms, 2000);
        CHECK_EQ_INT(s->maxconn, 0);
        CHECK_EQ_INT(s->check, 0);
        CHECK_EQ_INT(s->backup, 0);
        CHECK_EQ_INT(s->disabled, 0);
    }
}

static void test_shipped_configs_parse(void)
{
    /* make unit runs from the repository root. */
    static const char *const files[] = { "conf/tutorial.cfg", "conf/lb.cfg" };
    for (size_t i = 0; i < 2; i++) {
        struct strbuf e = STRBUF_INIT, w = STRBUF_INIT;
        struct lb_config *c = lb_config_load(files[i], fake_getenv, &e, &w);
        if (c == NULL) {
            fprintf(stderr, "  %s refused:\n%s", files[i], e.data ? e.data : "");
            unit_current_failed = 1;
        }
        CHECK_EQ_INT(e.len, 0);
        CHECK_EQ_INT(w.len, 0);
        lb_config_free(c);
        strbuf_free(&e);
        strbuf_free(&w);
    }
}

static void test_recommended_config_settings_are_read(void)
{
    struct strbuf e = STRBUF_INIT, w = STRBUF_INIT;
    struct lb_config *c = lb_config_load("conf/lb.cfg", fake_getenv, &e, &w);
    CHECK(c != NULL);
    if (c) {
        CHECK_EQ_INT(c->log, LOG_TARGET_STDOUT);
        CHECK_EQ_INT(c->maxconn, 9000);
        CHECK_EQ_INT(c->hard_stop_after, 30000);
        CHECK_EQ_INT(c->workers, 2);
        CHECK_EQ_INT(c->close_spread_time, 10000);
        CHECK_EQ_INT(c->nstats_sockets, 1);
        struct proxy *stats = lb_config_find(c, "stats", PROXY_FRONTEND | PROXY_BACKEND);
        CHECK(stats && stats->stats_enabled && strcmp(stats->stats_uri, "/stats") == 0 &&
              stats->prometheus_uri && strcmp(stats->prometheus_uri, "/metrics") == 0);
        struct proxy *fe = lb_config_find(c, "chat", PROXY_FRONTEND);
        struct proxy *be = lb_config_find(c, "chat_servers", PROXY_BACKEND);
        CHECK(fe != NULL && be != NULL);
        if (fe && be) {
            CHECK(fe->backend == be);
            CHECK_EQ_INT(fe->log, LOG_TARGET_GLOBAL);
            CHECK_EQ_INT(fe->forwardfor, 1);
            CHECK_EQ_INT(fe->to.http_request, 10000);
            CHECK_EQ_INT(fe->to.client, 30000);
            CHECK_EQ_INT(be->to.tunnel, 3600000);
            CHECK_EQ_INT(be->redispatch, -1);
            CHECK_EQ_INT(be->balance, BALANCE_LEASTCONN);
            CHECK_EQ_INT(be->httpchk, 1);
            CHECK_EQ_STR(be->chk_method, "GET");
            CHECK_EQ_STR(be->chk_uri, "/healthz");
            CHECK_EQ_INT(be->expect_status, 200);
            CHECK_EQ_INT(be->nservers, 4);
            if (be->nservers > 0) {
                CHECK_EQ_INT(be->servers[0]->check, 1);
                CHECK_EQ_INT(be->servers[0]->inter_ms, 2000);
            }
        }
    }
    lb_config_free(c);
    strbuf_free(&e);
    strbuf_free(&w);
}

/* ---- durations ---- */

static void test_timeouts_are_kept_in_milliseconds(void)
{
    check_parses("frontend fe\n"
                 "    bind :8080\n"
                 "    timeout client 1000s\n"
                 "    timeout http-request 500\n"
                 "    timeout http-keep-alive 500ms\n"
                 "    timeout queue 2m\n"
                 "    timeout client-fin 1h\n"
                 "    default_backend be\n"
                 "backend be\n"
                 "    timeout server 1d\n"
                 "    timeout connect 1us\n"
                 "    timeout tunnel 1500us\n"
                 "    timeout server-fin 0\n"
                 "    timeout check 24d\n"
                 "    server s 127.0.0.1:1\n");
    struct proxy *fe = find("fe", PROXY_FRONTEND), *be = find("be", PROXY_BACKEND);
    CHECK(fe != NULL && be != NULL);
    if (fe == NULL || be == NULL)
        return;
    CHECK_EQ_INT(fe->to.client, 1000000);
    CHECK_EQ_INT(fe->to.http_request, 500);
    CHECK_EQ_INT(fe->to.http_keep_alive, 500);
    CHECK_EQ_INT(fe->to.queue, 120000);
    CHECK_EQ_INT(fe->to.client_fin, 3600000);
    CHECK_EQ_INT(be->to.server, 86400000);
    CHECK_EQ_INT(be->to.connect, 1);   /* microseconds round up */
    CHECK_EQ_INT(be->to.tunnel, 2);
    CHECK_EQ_INT(be->to.server_fin, 0);
    CHECK_EQ_INT(be->to.check, 24u * 86400000u);
}

static void test_bad_durations_are_refused(void)
{
    static const char *const bad[] = { "10x", "-1", "1.5s", "s", "10 s", "25d", "1sec", "" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), FE_OK BE_HEAD "    timeout tunnel \"%s\"\n"
                 "    server s1 127.0.0.1:8081\n", bad[i]);
        CHECK(parse(text) == NULL);
        CHECK_ERROR(8, "timeout tunnel", "is not a duration");
    }
}

static void test_bad_global_and_server_durations_are_refused(void)
{
    CHECK_REFUSED("global\n    hard-stop-after 1y\n" FE_OK BE_OK, 2, "hard-stop-after",
                  "'1y'", "is not a duration");
    CHECK_REFUSED(FE_OK BE_HEAD "    server s1 127.0.0.1:8081 check inter 2x\n", 8, "inter",
                  "'2x'");
    CHECK_REFUSED(FE_OK BE_HEAD "    server s1 127.0.0.1:8081 check inter 0\n", 8, "inter",
                  "more than 0");
}

static void test_timeout_needs_a_kind_and_a_value(void)
{
    CHECK_REFUSED(FE_OK BE_OK "    timeout server\n", 9, "'timeout' expects");
    CHECK_REFUSED(FE_OK BE_OK "    timeout server 1s 2s\n", 9, "'timeout' expects");
    CHECK_REFUSED(FE_OK BE_OK "    timeout bogus 1s\n", 9, "unknown timeout 'bogus'");
}

/* ---- defaults ---- */

static const char with_defaults[] =
    "defaults\n"                              /* 1 */
    "    mode http\n"                         /* 2 */
    "    timeout client 5s\n"                 /* 3 */
    "    timeout server 6s\n"                 /* 4 */
    "    timeout connect 7s\n"                /* 5 */
    "    timeout tunnel 1h\n"                 /* 6 */
    "    balance leastconn\n"                 /* 7 */
    "    retries 5\n"                         /* 8 */
    "    option redispatch\n"                 /* 9 */
    "    option forwardfor\n"                 /* 10 */
    "    option httpchk GET /h\n"             /* 11 */
    "    http-check expect status 204\n"      /* 12 */
    "    default-server check inter 3s\n"     /* 13 */
    "    log global\n"                        /* 14 */
    "    maxconn 77\n"                        /* 15 */
    "frontend fe\n"                           /* 16 */
    "    bind :8080\n"                        /* 17 */
    "    default_backend be\n"                /* 18 */
    "backend be\n"                            /* 19 */
    "    server s1 127.0.0.1:8081\n";         /* 20 */

static void test_proxies_after_defaults_inherit_them(void)
{
    check_parses(with_defaults);
    CHECK_EQ_INT(warnings.len, 0);
    struct proxy *fe = find("fe", PROXY_FRONTEND), *be = find("be", PROXY_BACKEND);
    CHECK(fe != NULL && be != NULL);
    if (fe == NULL || be == NULL)
        return;
    CHECK_EQ_INT(fe->to.client, 5000);
    CHECK_EQ_INT(fe->forwardfor, 1);
    CHECK_EQ_INT(fe->log, LOG_TARGET_GLOBAL);
    CHECK_EQ_INT(fe->maxconn, 77);
    CHECK_EQ_INT(be->to.server, 6000);
    CHECK_EQ_INT(be->to.connect, 7000);
    CHECK_EQ_INT(be->to.tunnel, 3600000);
    CHECK_EQ_INT(be->balance, BALANCE_LEASTCONN);
    CHECK_EQ_INT(be->retries, 5);
    CHECK_EQ_INT(be->redispatch, -1);
    CHECK_EQ_INT(be->httpchk, 1);
    CHECK_EQ_STR(be->chk_method, "GET");
    CHECK_EQ_STR(be->chk_uri, "/h");
    CHECK_EQ_STR(be->chk_version, "HTTP/1.0");
    CHECK_EQ_INT(be->expect_status, 204);
    CHECK_EQ_INT(be->nservers, 1);
    if (be->nservers == 1) {
        CHECK_EQ_INT(be->servers[0]->check, 1);
        CHECK_EQ_INT(be->servers[0]->inter_ms, 3000);
        CHECK_EQ_INT(be->servers[0]->rise, 2);
    }
}

static void test_proxy_settings_override_defaults(void)
{
    char text[2048];
    snprintf(text, sizeof(text), "%s"
             "    balance roundrobin\n"
             "    retries 1\n"
             "    no option redispatch\n"
             "    no option httpchk\n"
             "    timeout server 9s\n", with_defaults);
    check_parses(text);
    struct proxy *be = find("be", PROXY_BACKEND);
    CHECK(be != NULL);
    if (be == NULL)
        return;
    CHECK_EQ_INT(be->balance, BALANCE_ROUNDROBIN);
    CHECK_EQ_INT(be->retries, 1);
    CHECK_EQ_INT(be->redispatch, 0);
    CHECK_EQ_INT(be->httpchk, 0);
    CHECK_EQ_INT(be->to.server, 9000);
    CHECK_EQ_INT(be->to.connect, 7000);
}

static void test_a_new_defaults_section_starts_from_builtins(void)
{
    check_parses("defaults\n"
                 "    timeout server 6s\n"
                 "    timeout connect 7s\n"
                 "    balance leastconn\n"
                 "    retries 5\n"
                 "    option forwardfor\n"
                 "    option httpchk\n"
                 "    default-server weight 9\n"
                 "backend b1\n"
                 "    server s 127.0.0.1:1\n"
                 "defaults second\n"
                 "    mode http\n"
                 "backend b2\n"
                 "    server s 127.0.0.1:1\n" FE_OK BE_OK);
    struct proxy *b1 = find("b1", PROXY_BACKEND), *b2 = find("b2", PROXY_BACKEND);
    CHECK(b1 != NULL && b2 != NULL);
    if (b1 == NULL || b2 == NULL)
        return;
    CHECK_EQ_INT(b1->balance, BALANCE_LEASTCONN);
    CHECK_EQ_INT(b1->retries, 5);
    CHECK_EQ_INT(b1->to.server, 6000);
    CHECK_EQ_INT(b1->httpchk, 1);
    CHECK_EQ_INT(b2->balance, BALANCE_ROUNDROBIN);
    CHECK_EQ_INT(b2->random_draws, 2);
    CHECK_EQ_INT(b2->retries, 3);
    CHECK_EQ_INT(b2->to.server, 0);
    CHECK_EQ_INT(b2->to.connect, 0);
    CHECK_EQ_INT(b2->forwardfor, 0);
    CHECK_EQ_INT(b2->httpchk, 0);
    CHECK(b2->chk_method == NULL);
    if (b1->nservers == 1 && b2->nservers == 1) {
        CHECK_EQ_INT(b1->servers[0]->weight, 9);
        CHECK_EQ_INT(b2->servers[0]->weight, 1);
        CHECK_EQ_INT(b2->servers[0]->inter_ms, 2000);
    }
    /* b2 lacks timeouts now: that is a warning. */
    CHECK_WARNING(13, "backend 'b2'", "timeout server");
}

static void test_a_proxy_before_defaults_does_not_get_them(void)
{
    check_parses("backend early\n"
                 "    server s 127.0.0.1:1\n"
                 "defaults\n"
                 "    balance leastconn\n"
                 "    timeout server 6s\n"
                 "    option forwardfor\n"
                 "backend late\n"
                 "    server s 127.0.0.1:1\n" FE_OK BE_OK);
    struct proxy *early = find("early", PROXY_BACKEND), *late = find("late", PROXY_BACKEND);
    CHECK(early != NULL && late != NULL);
    if (early == NULL || late == NULL)
        return;
    CHECK_EQ_INT(early->balance, BALANCE_ROUNDROBIN);
    CHECK_EQ_INT(early->to.server, 0);
    CHECK_EQ_INT(early->forwardfor, 0);
    CHECK_EQ_INT(late->balance, BALANCE_LEASTCONN);
    CHECK_EQ_INT(late->to.server, 6000);
    CHECK_EQ_INT(late->forwardfor, 1);
}

static void test_default_backend_in_defaults_is_inherited(void)
{
    check_parses("defaults\n"
                 "    default_backend be\n"
                 "frontend fe\n"
                 "    bind :8080\n"
                 "    timeout client 1s\n" BE_OK);
    struct proxy *fe = find("fe", PROXY_FRONTEND);
    CHECK(fe != NULL && fe->backend == find("be", PROXY_BACKEND) && fe->backend != NULL);
}

/* ---- listen ---- */

static void test_listen_is_a_frontend_and_its_own_backend(void)
{
    check_parses("listen web\n"
                 "    bind :8080\n"
                 "    timeout client 1s\n"
                 "    timeout server 1s\n"
                 "    timeout connect 1s\n"
                 "    balance leastconn\n"
                 "    server a 127.0.0.1:9000\n"
                 "    server b 127.0.0.1:9001\n");
    CHECK_EQ_INT(warnings.len, 0);
    struct proxy *l = find("web", PROXY_FRONTEND | PROXY_BACKEND);
    CHECK(l != NULL);
    if (l == NULL)
        return;
    CHECK_EQ_INT(l->caps, PROXY_FRONTEND | PROXY_BACKEND);
    CHECK(l->backend == l);
    CHECK_EQ_INT(l->nbinds, 1);
    CHECK_EQ_INT(l->nservers, 2);
    CHECK_EQ_INT(l->balance, BALANCE_LEASTCONN);
    if (l->nservers == 2) {
        CHECK_EQ_STR(l->servers[1]->name, "b");
        CHECK(l->servers[1]->be == l);
    }
    CHECK_EQ_INT(cfg->nservers, 2);
    CHECK_EQ_INT(cfg->nlisteners, 1);
}

static void test_listen_may_send_to_another_backend(void)
{
    check_parses("listen web\n"
                 "    bind :8080\n"
                 "    timeout client 1s\n"
                 "    timeout server 1s\n"
                 "    timeout connect 1s\n"
                 "    server a 127.0.0.1:9000\n"
                 "    use_backend be\n" BE_OK);
    struct proxy *l = find("web", PROXY_FRONTEND);
    CHECK(l != NULL && l->backend != NULL && l->backend == find("be", PROXY_BACKEND));
}

static void test_listen_warnings_cover_both_sides(void)
{
    CHECK(parse("listen web\n    bind :8080\n") != NULL);
    CHECK_WARNING(1, "timeout client");
    CHECK_WARNING(1, "has no server");
    CHECK_WARNING(1, "timeout server");
}

/* ---- choosing the backend ---- */

static const char two_backends[] =
    "backend b1\n    timeout server 1s\n    timeout connect 1s\n    server s 127.0.0.1:1\n"
    "backend b2\n    timeout server 1s\n    timeout connect 1s\n    server s 127.0.0.1:2\n";

static struct proxy *frontend_backend(const char *fe_lines)
{
    char text[1024];
    snprintf(text, sizeof(text), "%sfrontend fe\n    bind :8080\n    timeout client 1s\n%s",
             two_backends, fe_lines);
    check_parses(text);
    struct proxy *fe = find("fe", PROXY_FRONTEND);
    return fe ? fe->backend : NULL;
}

static void test_use_backend_beats_default_backend_in_either_order(void)
{
    struct proxy *b;
    b = frontend_backend("    default_backend b1\n    use_backend b2\n");
    CHECK(b != NULL && b == find("b2", PROXY_BACKEND));
    b = frontend_backend("    use_backend b2\n    default_backend b1\n");
    CHECK(b != NULL && b == find("b2", PROXY_BACKEND));
}

static void test_first_unconditional_use_backend_wins(void)
{
    struct proxy *b = frontend_backend("    use_backend b1\n    use_backend b2\n");
    CHECK(b != NULL && b == find("b1", PROXY_BACKEND));
}

static void test_last_default_backend_wins(void)
{
    struct proxy *b = frontend_backend("    default_backend b1\n    default_backend b2\n");
    CHECK(b != NULL && b == find("b2", PROXY_BACKEND));
}

static void test_frontend_and_backend_may_share_a_name(void)
{
    check_parses("frontend www\n    bind :8080\n    timeout client 1s\n    use_backend www\n"
                 "backend www\n    timeout server 1s\n    timeout connect 1s\n"
                 "    server s 127.0.0.1:1\n");
    struct proxy *fe = find("www", PROXY_FRONTEND), *be = find("www", PROXY_BACKEND);
    CHECK(fe != NULL && be != NULL && fe != be && fe->backend == be);
}

/* ---- servers ---- */

static void test_default_server_applies_to_later_servers(void)
{
    check_parses(FE_OK BE_HEAD
                 "    server early 127.0.0.1:8080\n"
                 "    default-server check inter 5s rise 4 fall 6 weight 10 maxconn 100\n"
                 "    server s1 127.0.0.1:8081\n"
                 "    server s2 127.0.0.1:8082 weight 20 no-check rise 1\n");
    struct proxy *be = find("be", PROXY_BACKEND);
    CHECK(be != NULL && be->nservers == 3);
    if (be == NULL || be->nservers != 3)
        return;
    struct server *early = be->servers[0], *s1 = be->servers[1], *s2 = be->servers[2];
    CHECK_EQ_INT(early->weight, 1);
    CHECK_EQ_INT(early->check, 0);
    CHECK_EQ_INT(early->inter_ms, 2000);
    CHECK_EQ_INT(s1->check, 1);
    CHECK_EQ_INT(s1->inter_ms, 5000);
    CHECK_EQ_INT(s1->rise, 4);
    CHECK_EQ_INT(s1->fall, 6);
    CHECK_EQ_INT(s1->weight, 10);
    CHECK_EQ_INT(s1->maxconn, 100);
    CHECK_EQ_INT(s2->check, 0);
    CHECK_EQ_INT(s2->weight, 20);
    CHECK_EQ_INT(s2->rise, 1);
    CHECK_EQ_INT(s2->fall, 6);
    CHECK_EQ_INT(s2->maxconn, 100);
}

static void test_server_options_are_read(void)
{
    check_parses(FE_OK BE_HEAD
                 "    server a 127.0.0.1:1 check inter 500ms rise 1 fall 10 weight 0 maxconn 50\n"
                 "    server b 127.0.0.1:2 backup weight 256\n"
                 "    server c 127.0.0.1:3 disabled\n"
                 "    server d 127.0.0.1:4 disabled enabled maxconn 0\n");
    struct proxy *be = find("be", PROXY_BACKEND);
    CHECK(be != NULL && be->nservers == 4);
    if (be == NULL || be->nservers != 4)
        return;
    struct server **s = be->servers;
    CHECK_EQ_INT(s[0]->check, 1);
    CHECK_EQ_INT(s[0]->inter_ms, 500);
    CHECK_EQ_INT(s[0]->rise, 1);
    CHECK_EQ_INT(s[0]->fall, 10);
    CHECK_EQ_INT(s[0]->weight, 0);
    CHECK_EQ_INT(s[0]->maxconn, 50);
    CHECK_EQ_INT(s[0]->backup, 0);
    CHECK_EQ_INT(s[1]->backup, 1);
    CHECK_EQ_INT(s[1]->weight, 256);
    CHECK_EQ_INT(s[1]->check, 0);
    CHECK_EQ_INT(s[2]->disabled, 1);
    CHECK_EQ_INT(s[3]->disabled, 0);
    CHECK_EQ_INT(s[3]->maxconn, 0);
}

static void test_server_with_ipv6_and_host_name(void)
{
    check_parses(FE_OK BE_HEAD
                 "    server v6 [::1]:8081\n"
                 "    server named localhost:8082\n");
    struct proxy *be = find("be", PROXY_BACKEND);
    CHECK(be != NULL && be->nservers == 2);
    if (be == NULL || be->nservers != 2)
        return;
    CHECK_EQ_STR(be->servers[0]->host, "::1");
    CHECK(is_ipv6(&be->servers[0]->addr, "::1"));
    CHECK_EQ_INT(be->servers[0]->port, 8081);
    CHECK_EQ_STR(be->servers[1]->host, "localhost");
    CHECK_EQ_INT(addr_port(&be->servers[1]->addr), 8082);
}

static void test_duplicate_server_name_mentions_the_first_line(void)
{
    CHECK_REFUSED(FE_OK BE_OK "    server s1 127.0.0.1:9999\n", 9, "server 's1'",
                  "already defined", "line 8");
}

static void test_same_server_name_in_two_backends_is_fine(void)
{
    check_parses(FE_OK BE_OK "backend other\n    timeout server 1s\n    timeout connect 1s\n"
                 "    server s1 127.0.0.1:9\n");
}

static void test_unknown_server_option_is_named(void)
{
    CHECK_REFUSED(FE_OK BE_HEAD "    server s1 127.0.0.1:8081 check fastinter 1s\n", 8,
                  "unknown server option 'fastinter'");
}

static void test_server_option_without_value_is_refused(void)
{
    CHECK_REFUSED(FE_OK BE_HEAD "    server s1 127.0.0.1:8081 weight\n", 8, "'weight'",
                  "expects a value");
}

static void test_bad_server_numbers_are_refused(void)
{
    CHECK_REFUSED(FE_OK BE_HEAD "    server s1 127.0.0.1:8081 weight 257\n", 8, "weight",
                  "'257'", "0 to 256");
    CHECK_REFUSED(FE_OK BE_HEAD "    server s1 127.0.0.1:8081 rise 0\n", 8, "rise", "'0'");
    CHECK_REFUSED(FE_OK BE_HEAD "    server s1 127.0.0.1:8081 fall x\n", 8, "fall", "'x'");
    CHECK_REFUSED(FE_OK BE_HEAD "    server s1 127.0.0.1:8081 weight -1\n", 8, "weight");
    CHECK_REFUSED(FE_OK BE_HEAD "    server s1 127.0.0.1:8081 maxconn 1k\n", 8, "maxconn");
    CHECK_REFUSED(FE_OK BE_HEAD "    default-server weight 300\n    server s1 127.0.0.1:8081\n",
                  8, "weight", "'300'");
}

static void test_server_needs_a_name_and_address(void)
{
    CHECK_REFUSED(FE_OK BE_HEAD "    server s1\n", 8, "'server' expects a name and an address");
}

static void test_server_address_without_port_is_refused(void)
{
    CHECK_REFUSED(FE_OK BE_HEAD "    server s1 127.0.0.1\n", 8, "server 's1'", "'127.0.0.1'",
                  "is not ADDRESS:PORT");
    CHECK_REFUSED(FE_OK BE_HEAD "    server s1 127.0.0.1:0\n", 8, "is not ADDRESS:PORT");
    CHECK_REFUSED(FE_OK BE_HEAD "    server s1 127.0.0.1:65536\n", 8, "is not ADDRESS:PORT");
    CHECK_REFUSED(FE_OK BE_HEAD "    server s1 127.0.0.1:http\n", 8, "is not ADDRESS:PORT");
}

static void test_unresolvable_server_host_is_refused(void)
{
    CHECK_REFUSED(FE_OK BE_HEAD "    server s1 no-such-host.invalid:8081\n", 8, "server 's1'",
                  "cannot resolve 'no-such-host.invalid'");
}

/* ---- balance ---- */

static struct proxy *backend_with(const char *line)
{
    char text[1024];
    snprintf(text, sizeof(text), FE_OK BE_OK "%s\n", line);
    check_parses(text);
    return find("be", PROXY_BACKEND);
}

static void test_balance_algorithms(void)
{
    struct proxy *be;
    be = backend_with("    balance roundrobin");
    CHECK(be != NULL && be->balance == BALANCE_ROUNDROBIN);
    be = backend_with("    balance leastconn");
    CHECK(be != NULL && be->balance == BALANCE_LEASTCONN);
    be = backend_with("    balance random");
    CHECK(be != NULL && be->balance == BALANCE_RANDOM && be->random_draws == 2);
    be = backend_with("    balance random(3)");
    CHECK(be != NULL && be->balance == BALANCE_RANDOM && be->random_draws == 3);
    be = backend_with("    balance random(1)");
    CHECK(be != NULL && be->balance == BALANCE_RANDOM && be->random_draws == 1);
}

static void test_unknown_balance_algorithm_lists_the_supported_ones(void)
{
    CHECK_REFUSED(FE_OK BE_OK "    balance rr\n", 9, "unknown balance algorithm 'rr'",
                  "roundrobin", "leastconn", "random", "source", "uri", "url_param", "hdr");
    CHECK_REFUSED(FE_OK BE_OK "    balance static-rr\n", 9, "'static-rr'");
}

static void test_hash_algorithms_and_their_options(void)
{
    const struct proxy *be = backend_with("    balance source");
    CHECK(be != NULL && be->balance == BALANCE_SOURCE && be->hash_type == HASH_MAP_BASED);
    be = backend_with("    balance url_param room\n    hash-type consistent");
    CHECK(be != NULL && be->balance == BALANCE_URL_PARAM && be->hash_type == HASH_CONSISTENT);
    CHECK(be != NULL && strcmp(be->hash_key_name, "room") == 0 && be->ring_size == 100);
    be = backend_with("    balance hdr(X-Room)\n    hash-balance-factor 150");
    CHECK(be != NULL && be->balance == BALANCE_HDR && strcmp(be->hash_key_name, "X-Room") == 0);
    CHECK(be != NULL && be->hash_balance_factor == 150);
    be = backend_with("    balance uri whole");
    CHECK(be != NULL && be->balance == BALANCE_URI && be->hash_uri_whole);
    CHECK_REFUSED(FE_OK BE_OK "    balance url_param\n", 9, "expects a parameter name");
    CHECK_REFUSED(FE_OK BE_OK "    hash-type consistent sdbm\n", 9, "'sdbm'", "not supported");
    CHECK_REFUSED(FE_OK BE_OK "    hash-balance-factor 50\n", 9, "at least 100");
    CHECK_REFUSED(FE_OK BE_OK "    balance uri depth 3\n", 9, "option 'depth'");
}

static void test_bad_random_draws_are_refused(void)
{
    CHECK_REFUSED(FE_OK BE_OK "    balance random(0)\n", 9, "random");
    CHECK_REFUSED(FE_OK BE_OK "    balance random(101)\n", 9, "random");
    CHECK_REFUSED(FE_OK BE_OK "    balance random()\n", 9, "random(N)");
    CHECK_REFUSED(FE_OK BE_OK "    balance random(x)\n", 9, "random");
}

/* ---- options ---- */

static void test_option_redispatch_forms(void)
{
    struct proxy *be;
    be = backend_with("    option redispatch");
    CHECK(be != NULL && be->redispatch == -1);
    be = backend_with("    option redispatch 2");
    CHECK(be != NULL && be->redispatch == 2);
    be = backend_with("    option redispatch -3");
    CHECK(be != NULL && be->redispatch == -3);
    be = backend_with("    option redispatch\n    no option redispatch");
    CHECK(be != NULL && be->redispatch == 0);
    be = backend_with("");
    CHECK(be != NULL && be->redispatch == 0);
}

static void test_bad_redispatch_intervals_are_refused(void)
{
    CHECK_REFUSED(FE_OK BE_OK "    option redispatch 0\n", 9, "redispatch", "'0'");
    CHECK_REFUSED(FE_OK BE_OK "    option redispatch x\n", 9, "redispatch", "'x'");
    CHECK_REFUSED(FE_OK BE_OK "    option redispatch 1 2\n", 9, "redispatch");
}

static void test_option_httpchk_forms(void)
{
    struct proxy *be;
    be = backend_with("    option httpchk");
    CHECK(be != NULL);
    if (be) {
        CHECK_EQ_INT(be->httpchk, 1);
        CHECK_EQ_STR(be->chk_method, "OPTIONS");
        CHECK_EQ_STR(be->chk_uri, "/");
        CHECK_EQ_STR(be->chk_version, "HTTP/1.0");
    }
    be = backend_with("    option httpchk GET /healthz");
    CHECK(be != NULL);
    if (be) {
        CHECK_EQ_STR(be->chk_method, "GET");
        CHECK_EQ_STR(be->chk_uri, "/healthz");
        CHECK_EQ_STR(be->chk_version, "HTTP/1.0");
    }
    be = backend_with("    option httpchk HEAD /ping HTTP/1.1");
    CHECK(be != NULL);
    if (be) {
        CHECK_EQ_STR(be->chk_method, "HEAD");
        CHECK_EQ_STR(be->chk_uri, "/ping");
        CHECK_EQ_STR(be->chk_version, "HTTP/1.1");
    }
    be = backend_with("    option httpchk GET /a\n    option httpchk HEAD /b");
    CHECK(be != NULL);
    if (be) {
        CHECK_EQ_STR(be->chk_method, "HEAD");
        CHECK_EQ_STR(be->chk_uri, "/b");
    }
}

static void test_option_httpchk_with_one_argument_takes_it_as_the_uri(void)
{
    /* HAProxy: "option httpchk <uri>" checks <uri> with OPTIONS. */
    struct proxy *be = backend_with("    option httpchk /healthz");
    CHECK(be != NULL);
    if (be) {
        CHECK_EQ_STR(be->chk_method, "OPTIONS");
        CHECK_EQ_STR(be->chk_uri, "/healthz");
        CHECK_EQ_STR(be->chk_version, "HTTP/1.0");
    }
}

static void test_bad_httpchk_is_refused(void)
{
    CHECK_REFUSED(FE_OK BE_OK "    option httpchk GET / HTTP/2\n", 9, "httpchk", "version");
    CHECK_REFUSED(FE_OK BE_OK "    option httpchk GET / HTTP/1.1 extra\n", 9, "httpchk");
}

static void test_http_check_expect_status(void)
{
    struct proxy *be = backend_with("    http-check expect status 200");
    CHECK(be != NULL && be->expect_status == 200);
    be = backend_with("");
    CHECK(be != NULL && be->expect_status == 0);
    CHECK_REFUSED(FE_OK BE_OK "    http-check expect status 99\n", 9, "expect status", "'99'");
    CHECK_REFUSED(FE_OK BE_OK "    http-check expect string ok\n", 9,
                  "only 'http-check expect status N' is supported");
    CHECK_REFUSED(FE_OK BE_OK "    http-check send meth GET\n", 9, "http-check expect status");
}

static void test_option_forwardfor_and_allbackups(void)
{
    struct proxy *be = backend_with("    option forwardfor\n    option allbackups");
    CHECK(be != NULL && be->forwardfor == 1 && be->allbackups == 1);
    be = backend_with("    option allbackups\n    no option allbackups");
    CHECK(be != NULL && be->allbackups == 0);
    check_parses("frontend fe\n    bind :8080\n    timeout client 1s\n    option forwardfor\n"
                 "    default_backend be\n" BE_OK);
    struct proxy *fe = find("fe", PROXY_FRONTEND);
    CHECK(fe != NULL && fe->forwardfor == 1);
    CHECK_REFUSED(FE_OK BE_OK "    option forwardfor except 127.0.0.1\n", 9, "forwardfor");
}

static void test_backend_options_are_refused_in_a_frontend(void)
{
    CHECK_REFUSED("frontend fe\n    bind :8080\n    timeout client 1s\n    option redispatch\n"
                  "    default_backend be\n" BE_OK, 4, "'option redispatch'",
                  "defaults, backend or listen");
    CHECK_REFUSED("frontend fe\n    bind :8080\n    timeout client 1s\n    option httpchk\n"
                  "    default_backend be\n" BE_OK, 4, "'option httpchk'");
    CHECK_REFUSED(FE_OK BE_OK "    option httplog\n", 9, "'option httplog'");
}

static void test_unknown_option_is_named(void)
{
    CHECK_REFUSED(FE_OK BE_OK "    option http-server-close\n", 9,
                  "unknown option 'http-server-close'");
    CHECK_REFUSED(FE_OK BE_OK "    no balance\n", 9, "no option");
}

/* ---- log and global ---- */

static void test_log_targets(void)
{
    struct proxy *be;
    be = backend_with("    log global");
    CHECK(be != NULL && be->log == LOG_TARGET_GLOBAL);
    be = backend_with("    log stdout");
    CHECK(be != NULL && be->log == LOG_TARGET_STDOUT);
    be = backend_with("    log stderr");
    CHECK(be != NULL && be->log == LOG_TARGET_STDERR);
    be = backend_with("");
    CHECK(be != NULL && be->log == LOG_TARGET_NONE);
    CHECK_REFUSED(FE_OK BE_OK "    log 127.0.0.1:514 local0\n", 9, "'log' supports");
}

static void test_global_settings(void)
{
    check_parses("global\n"
                 "    log stdout\n"
                 "    maxconn 9000\n"
                 "    tune.bufsize 32768\n"
                 "    hard-stop-after 30s\n" FE_OK BE_OK);
    if (cfg == NULL)
        return;
    CHECK_EQ_INT(cfg->log, LOG_TARGET_STDOUT);
    CHECK_EQ_INT(cfg->maxconn, 9000);
    CHECK_EQ_INT(cfg->bufsize, 32768);
    CHECK_EQ_INT(cfg->hard_stop_after, 30000);
    CHECK_EQ_STR(cfg->file, "t.cfg");
}

static void test_global_defaults(void)
{
    check_parses(FE_OK BE_OK);
    if (cfg == NULL)
        return;
    CHECK_EQ_INT(cfg->log, LOG_TARGET_NONE);
    CHECK_EQ_INT(cfg->bufsize, 16384);
    CHECK_EQ_INT(cfg->maxconn, 0);
    CHECK_EQ_INT(cfg->hard_stop_after, 0);
}

static void test_bad_global_settings_are_refused(void)
{
    CHECK_REFUSED("global\n    log global\n" FE_OK BE_OK, 2, "'log' supports");
    CHECK_REFUSED("global\n    maxconn 0\n" FE_OK BE_OK, 2, "maxconn", "'0'");
    CHECK_REFUSED("global\n    tune.bufsize 100\n" FE_OK BE_OK, 2, "tune.bufsize", "'100'");
    CHECK_REFUSED("global\n    nbthread 0\n" FE_OK BE_OK, 2, "nbthread", "'0'", "1 to 64");
    CHECK_REFUSED("global\n    workers 65\n" FE_OK BE_OK, 2, "workers", "'65'");
    CHECK_REFUSED("global\n    close-spread-time soon\n" FE_OK BE_OK, 2, "close-spread-time",
                  "not a duration");
    CHECK_REFUSED("global extra\n" FE_OK BE_OK, 1, "'global' takes no argument");
}

static void test_daemon_in_global_is_refused(void)
{
    CHECK_REFUSED("global\n    daemon\n" FE_OK BE_OK, 2, "'daemon' is not supported",
                  "foreground");
    /* wscale always runs a master: the keyword says what is already so. */
    check_parses("global\n    master-worker\n" FE_OK BE_OK);
    CHECK_REFUSED("global\n    master-worker no-exit-on-failure\n" FE_OK BE_OK, 2,
                  "'master-worker no-exit-on-failure' is not supported");
}

static void test_workers_and_drain_settings(void)
{
    check_parses(FE_OK BE_OK);
    CHECK_EQ_INT(cfg->workers, 1);
    CHECK_EQ_INT(cfg->close_spread_time, 0);
    check_parses("global\n    nbthread 4\n    hard-stop-after 30s\n    close-spread-time 5s\n"
                 FE_OK BE_OK);
    CHECK_EQ_INT(cfg->workers, 4);
    CHECK_EQ_INT(cfg->hard_stop_after, 30000);
    CHECK_EQ_INT(cfg->close_spread_time, 5000);
    check_parses("global\n    workers 3\n" FE_OK BE_OK);
    CHECK_EQ_INT(cfg->workers, 3);
}

static void test_stats_sockets(void)
{
    check_parses("global\n"
                 "    stats socket /run/a.sock\n"
                 "    stats socket /run/b.sock mode 660 level operator\n"
                 "    stats socket unix@/run/c.sock level user\n"
                 "    stats timeout 1m\n"
                 "    stats maxconn 4\n" FE_OK BE_OK);
    CHECK_EQ_INT(cfg->nstats_sockets, 3);
    CHECK_EQ_STR(cfg->stats_sockets[0].path, "/run/a.sock");
    CHECK_EQ_INT(cfg->stats_sockets[0].mode, 0600);
    CHECK_EQ_INT(cfg->stats_sockets[0].level, API_OPERATOR); /* HAProxy's default */
    CHECK_EQ_INT(cfg->stats_sockets[1].mode, 0660);
    CHECK_EQ_INT(cfg->stats_sockets[1].level, API_OPERATOR);
    CHECK_EQ_STR(cfg->stats_sockets[2].path, "/run/c.sock");
    CHECK_EQ_INT(cfg->stats_sockets[2].level, API_USER);
    CHECK_EQ_INT(cfg->stats_timeout, 60000);
    CHECK_EQ_INT(cfg->stats_maxconn, 4);

    CHECK_REFUSED("global\n    stats socket ipv4@127.0.0.1:9999\n" FE_OK BE_OK, 2,
                  "only a unix socket path");
    CHECK_REFUSED("global\n    stats socket /run/a.sock level root\n" FE_OK BE_OK, 2,
                  "level 'root'", "user, operator or admin");
    CHECK_REFUSED("global\n    stats socket /run/a.sock mode 999\n" FE_OK BE_OK, 2,
                  "mode '999'", "octal");
    CHECK_REFUSED("global\n    stats socket /run/a.sock expose-fd listeners\n" FE_OK BE_OK, 2,
                  "unknown stats socket option 'expose-fd'");
    CHECK_REFUSED("global\n    stats socket /run/a.sock\n    stats socket /run/a.sock\n"
                  FE_OK BE_OK, 3, "already declared at line 2");
    CHECK_REFUSED("global\n    stats bind-process 1\n" FE_OK BE_OK, 2, "global 'stats' expects");
}

static void test_stats_page_and_prometheus(void)
{
    check_parses("listen stats\n"
                 "    bind 127.0.0.1:8404\n"
                 "    timeout client 1s\n"
                 "    stats enable\n"
                 "    stats uri /stats\n"
                 "    stats refresh 5s\n"
                 "    stats auth admin:secret\n"
                 "    stats realm wscale\n"
                 "    stats hide-version\n"
                 "    stats show-legends\n"
                 "    http-request use-service prometheus-exporter if { path /metrics }\n");
    struct proxy *px = lb_config_find(cfg, "stats", PROXY_FRONTEND | PROXY_BACKEND);
    CHECK(px != NULL);
    if (px) {
        CHECK(px->stats_enabled);
        CHECK_EQ_STR(px->stats_uri, "/stats");
        CHECK_EQ_INT(px->stats_refresh, 5000);
        CHECK_EQ_INT(px->nstats_auth, 1);
        CHECK_EQ_STR(px->stats_auth[0], "admin:secret");
        CHECK_EQ_STR(px->stats_realm, "wscale");
        CHECK(px->stats_hide_version);
        CHECK(px->stats_show_legends);
        CHECK_EQ_STR(px->prometheus_uri, "/metrics");
    }
    /* A stats-only listen section has no server, and is not warned about. */
    CHECK(strstr(warns(), "has no server") == NULL);

    /* HAProxy's default uri; settings come from defaults too. */
    check_parses("defaults\n    stats enable\n" FE_OK BE_OK);
    px = lb_config_find(cfg, "fe", PROXY_FRONTEND);
    CHECK(px && px->stats_enabled && strcmp(px->stats_uri, "/haproxy?stats") == 0);

    CHECK_REFUSED(FE_OK "    stats admin if TRUE\n" BE_OK, 5, "'stats admin' is not supported");
    CHECK_REFUSED(FE_OK "    stats uri stats\n" BE_OK, 5, "must start with '/'");
    CHECK_REFUSED(FE_OK "    stats auth admin\n" BE_OK, 5, "USER:PASSWORD");
    CHECK_REFUSED(FE_OK "    stats\n" BE_OK, 5, "'stats' expects");
    CHECK_REFUSED(FE_OK "    http-request deny\n" BE_OK, 5,
                  "only 'http-request use-service prometheus-exporter");
    CHECK_REFUSED(FE_OK "    http-request use-service prometheus-exporter if { path_beg /m }\n"
                  BE_OK, 5, "only 'http-request use-service prometheus-exporter");
}

static void test_an_address_bound_twice_is_refused(void)
{
    CHECK_REFUSED(FE_OK "frontend other\n    bind 127.0.0.1:8080\n    timeout client 1s\n"
                  "    default_backend be\n" BE_OK, 6, "bind 127.0.0.1:8080",
                  "the same address is bound at line 2 (frontend 'fe')");
    CHECK_REFUSED("frontend fe\n    bind 127.0.0.1:8080,127.0.0.1:8080\n    timeout client 1s\n"
                  "    default_backend be\n" BE_OK, 2, "the same address is bound at line 2");
    check_parses(FE_OK "frontend other\n    bind 127.0.0.1:8081\n    timeout client 1s\n"
                 "    default_backend be\n" BE_OK);
}

static void test_names_are_restricted_to_haproxy_characters(void)
{
    check_parses("frontend web-1.a:b_c\n    bind 127.0.0.1:8080\n    timeout client 1s\n"
                 "    default_backend be\n" BE_OK);
    CHECK_REFUSED("frontend we/b\n    bind 127.0.0.1:8080\n" BE_OK, 1,
                  "frontend name 'we/b'", "character '/' is not allowed");
    CHECK_REFUSED(FE_OK BE_HEAD "    server s,1 127.0.0.1:8081\n", 8, "server name 's,1'",
                  "character ',' is not allowed");
}

/* ---- bind ---- */

static struct proxy *frontend_bound(const char *bind_line)
{
    char text[1024];
    snprintf(text, sizeof(text), "frontend fe\n%s\n    timeout client 1s\n"
             "    default_backend be\n" BE_OK, bind_line);
    check_parses(text);
    return find("fe", PROXY_FRONTEND);
}

static void test_bind_list_declares_several_listeners(void)
{
    struct proxy *fe = frontend_bound("    bind :80,:8081");
    CHECK(fe != NULL && fe->nbinds == 2);
    if (fe == NULL || fe->nbinds != 2)
        return;
    CHECK_EQ_STR(fe->binds[0]->text, ":80");
    CHECK_EQ_STR(fe->binds[1]->text, ":8081");
    CHECK_EQ_INT(addr_port(&fe->binds[0]->addr), 80);
    CHECK_EQ_INT(addr_port(&fe->binds[1]->addr), 8081);
    CHECK(is_ipv4(&fe->binds[0]->addr, "0.0.0.0"));
    CHECK_EQ_INT(cfg->nlisteners, 2);
}

static void test_several_bind_lines_add_up(void)
{
    struct proxy *fe = frontend_bound("    bind :80\n    bind 127.0.0.1:81,[::1]:82");
    CHECK(fe != NULL && fe->nbinds == 3);
    if (fe == NULL || fe->nbinds != 3)
        return;
    CHECK_EQ_INT(fe->binds[0]->line, 2);
    CHECK_EQ_INT(fe->binds[2]->line, 3);
    CHECK(is_ipv4(&fe->binds[1]->addr, "127.0.0.1"));
    CHECK(is_ipv6(&fe->binds[2]->addr, "::1"));
    CHECK_EQ_INT(addr_port(&fe->binds[2]->addr), 82);
}

static void test_bind_ipv6_any_and_loopback(void)
{
    struct proxy *fe = frontend_bound("    bind :::8080");
    CHECK(fe != NULL && fe->nbinds == 1);
    if (fe && fe->nbinds == 1) {
        CHECK(is_ipv6(&fe->binds[0]->addr, "::"));
        CHECK_EQ_INT(addr_port(&fe->binds[0]->addr), 8080);
    }
    fe = frontend_bound("    bind [::1]:8080");
    CHECK(fe != NULL && fe->nbinds == 1);
    if (fe && fe->nbinds == 1) {
        CHECK(is_ipv6(&fe->binds[0]->addr, "::1"));
        CHECK_EQ_INT(addr_port(&fe->binds[0]->addr), 8080);
    }
}

static void test_bind_address_expands_environment_variables(void)
{
    struct proxy *fe = frontend_bound("    bind \"${LB_ADDR}:${LB_PORT}\"");
    CHECK(fe != NULL && fe->nbinds == 1);
    if (fe && fe->nbinds == 1) {
        CHECK_EQ_STR(fe->binds[0]->text, "127.0.0.1:9090");
        CHECK(is_ipv4(&fe->binds[0]->addr, "127.0.0.1"));
        CHECK_EQ_INT(addr_port(&fe->binds[0]->addr), 9090);
    }
}

/* A frontend with a good bind on line 2 (so that a refused bind on line 3
 * leaves it with a listener), then `line`. */
#define FE_BIND_LINE3(line)                                                          \
    "frontend fe\n    bind :81\n" line "\n    timeout client 1s\n"                   \
    "    default_backend be\n" BE_OK

static void test_bind_options_are_refused(void)
{
    CHECK_REFUSED(FE_BIND_LINE3("    bind :80 ssl crt /x.pem"), 3, "/x.pem",
                  "No such file or directory");
    CHECK_REFUSED(FE_BIND_LINE3("    bind :80 crt /x.pem"), 3, "'crt' needs 'ssl'");
    CHECK_REFUSED(FE_BIND_LINE3("    bind :80 ssl"), 3, "'ssl' needs at least one 'crt");
    CHECK_REFUSED(FE_BIND_LINE3("    bind :80 ssl crt /x.pem ssl-min-ver TLSv1.1"), 3,
                  "TLSv1.1", "TLSv1.2 and TLSv1.3 only");
    CHECK_REFUSED(FE_BIND_LINE3("    bind :80 v4v6"), 3, "bind option 'v4v6'");
}

static void test_bad_bind_addresses_are_refused(void)
{
    CHECK_REFUSED(FE_BIND_LINE3("    bind 127.0.0.1"), 3, "bind", "'127.0.0.1'",
                  "is not ADDRESS:PORT");
    CHECK_REFUSED(FE_BIND_LINE3("    bind :80,:x"), 3, "bind", "':x'");
    CHECK_REFUSED(FE_BIND_LINE3("    bind [::1]8080"), 3, "is not ADDRESS:PORT");
    CHECK_REFUSED(FE_BIND_LINE3("    bind no-such-host.invalid:80"), 3, "bind",
                  "cannot resolve 'no-such-host.invalid'");
    /* "bind" alone: an error naming the keyword, then no bind at all. */
    CHECK(parse("frontend fe\n    bind\n    timeout client 1s\n    default_backend be\n"
                BE_OK) == NULL);
    CHECK_ERROR(2, "'bind' expects an address");
}

/* ---- errors: keywords and sections ---- */

static void test_unknown_keyword_is_named(void)
{
    CHECK_REFUSED(FE_OK BE_OK "    frobnicate yes\n", 9, "unknown keyword 'frobnicate'",
                  "backend section");
}

/* A "\n" escape in a quoted word is a newline in the word: the error that
 * quotes it stays one line, showing the escape. */
static void test_error_quoting_a_newline_stays_on_one_line(void)
{
    CHECK_REFUSED(FE_OK BE_OK "    \"frob\\nnicate\x01\" yes\n", 9,
                  "unknown keyword 'frob\\nnicate\\x01'");
}

/* A second sni that is refused leaves nothing freed twice (the first
 * one's name was freed, then freed again with the refused config). */
static void test_a_refused_second_sni_is_not_freed_twice(void)
{
    CHECK_REFUSED(FE_OK BE_HEAD "    server s1 127.0.0.1:8081 sni a sni req.hdr(host)\n", 8,
                  "sni 'req.hdr(host)': only a constant name is supported");
}

static void test_mode_tcp_is_refused(void)
{
    CHECK_REFUSED(FE_OK BE_OK "    mode tcp\n", 9, "mode 'tcp' is not supported", "mode http");
    CHECK_REFUSED("defaults\n    mode tcp\n" FE_OK BE_OK, 2, "'tcp'");
}

static void test_server_in_a_frontend_names_where_it_belongs(void)
{
    CHECK_REFUSED("frontend fe\n    bind :80\n    timeout client 1s\n"
                  "    server s1 127.0.0.1:1\n    default_backend be\n" BE_OK,
                  4, "'server' is not allowed in a frontend section", "allowed in: backend, listen");
}

static void test_bind_in_a_backend_names_where_it_belongs(void)
{
    CHECK_REFUSED(FE_OK BE_OK "    bind :81\n", 9, "'bind' is not allowed in a backend section",
                  "frontend, listen");
}

static void test_use_backend_in_a_backend_or_defaults_is_refused(void)
{
    CHECK_REFUSED(FE_OK BE_OK "    use_backend be\n", 9, "'use_backend' is not allowed");
    CHECK_REFUSED("defaults\n    use_backend be\n" FE_OK BE_OK, 2, "'use_backend' is not allowed",
                  "defaults section");
}

static void test_server_in_defaults_is_refused(void)
{
    CHECK_REFUSED("defaults\n    server s 127.0.0.1:1\n" FE_OK BE_OK, 2,
                  "'server' is not allowed in a defaults section");
}

static void test_timeout_client_in_a_backend_is_refused(void)
{
    CHECK_REFUSED(FE_OK BE_OK "    timeout client 5s\n", 9, "'timeout client'",
                  "backend section", "frontend side");
}

static void test_timeout_server_in_a_frontend_is_refused(void)
{
    CHECK_REFUSED("frontend fe\n    bind :80\n    timeout client 1s\n    timeout server 5s\n"
                  "    default_backend be\n" BE_OK, 4, "'timeout server'", "frontend section",
                  "backend side");
    CHECK_REFUSED("frontend fe\n    bind :80\n    timeout client 1s\n    timeout connect 5s\n"
                  "    default_backend be\n" BE_OK, 4, "'timeout connect'", "frontend section");
}

static void test_conditional_use_backend_is_refused(void)
{
    CHECK_REFUSED("frontend fe\n    bind :80\n    timeout client 1s\n"
                  "    use_backend be if { path_beg /api }\n    default_backend be\n" BE_OK,
                  4, "conditional use_backend", "'if");
    CHECK_REFUSED("frontend fe\n    bind :80\n    timeout client 1s\n"
                  "    use_backend be unless is_ws\n    default_backend be\n" BE_OK,
                  4, "conditional use_backend", "'unless");
}

static void test_unknown_backend_is_reported_at_the_use_backend_line(void)
{
    CHECK_REFUSED("frontend fe\n    bind :80\n    timeout client 1s\n\n    use_backend nope\n"
                  BE_OK, 5, "frontend 'fe'", "backend 'nope'", "does not exist");
    CHECK_REFUSED("frontend fe\n    bind :80\n    timeout client 1s\n    default_backend nope\n"
                  BE_OK, 4, "backend 'nope'", "does not exist");
}

static void test_use_backend_naming_a_frontend_is_refused(void)
{
    CHECK_REFUSED("frontend fe\n    bind :80\n    timeout client 1s\n    use_backend fe\n" BE_OK,
                  4, "backend 'fe'", "does not exist");
}

static void test_frontend_without_bind_is_refused(void)
{
    CHECK_REFUSED("\nfrontend fe\n    timeout client 1s\n    default_backend be\n" BE_OK, 2,
                  "frontend 'fe'", "no 'bind' line");
}

static void test_frontend_without_backend_is_refused(void)
{
    CHECK_REFUSED("frontend fe\n    bind :80\n    timeout client 1s\n" BE_OK, 1, "frontend 'fe'",
                  "has no backend", "default_backend");
}

static void test_duplicate_backend_name_is_refused(void)
{
    CHECK_REFUSED(FE_OK BE_OK "backend be\n    server s2 127.0.0.1:2\n", 9, "backend 'be'",
                  "same name", "line 5");
    CHECK_REFUSED(FE_OK BE_OK "listen be\n    bind :81\n", 9, "listen 'be'", "line 5");
}

static void test_section_needs_exactly_a_name(void)
{
    CHECK_REFUSED(FE_OK BE_OK "backend\n", 9, "'backend' expects a name");
    CHECK(parse("listen web :8080\n    bind :80\n" FE_OK BE_OK) == NULL);
    CHECK_ERROR(1, "'listen' expects a name", "use 'bind'");
    /* The lines of the refused section are not read. */
    CHECK_EQ_INT(count_lines(errs()), 1);
}

static void test_unsupported_section_is_refused_and_skipped(void)
{
    CHECK_REFUSED("userlist admins\n    user bob password x\n    group g\n" FE_OK BE_OK, 1,
                  "section 'userlist' is not supported");
    CHECK_REFUSED(FE_OK BE_OK "resolvers dns\n    nameserver a 1.1.1.1:53\n", 9,
                  "section 'resolvers'");
}

static void test_keyword_before_any_section_is_refused(void)
{
    CHECK_REFUSED("mode http\n" FE_OK BE_OK, 1, "'mode' outside of a section");
}

static void test_lexer_errors_carry_their_line(void)
{
    CHECK_REFUSED(FE_OK BE_OK "    server s2 \"127.0.0.1:2\n", 9, "unterminated double quote");
    CHECK_REFUSED(FE_OK BE_OK "    server s2 \"${}\"\n", 9, "variable name");
}

static void test_empty_config_is_refused(void)
{
    CHECK(parse("") == NULL);
    CHECK(strstr(errs(), "t.cfg: no frontend or listen section") != NULL);
    CHECK(parse("# nothing here\n\nglobal\n    maxconn 10\n") == NULL);
    CHECK(strstr(errs(), "no frontend or listen section") != NULL);
}

static void test_config_with_only_backends_is_refused(void)
{
    /* "no frontend or listen section: nothing to do" */
    CHECK(parse(BE_OK) == NULL);
    CHECK(strstr(errs(), "no frontend or listen section") != NULL);
}

static void test_every_error_is_reported(void)
{
    CHECK(parse("frontend fe\n"                 /* 1 */
                "    bind :80\n"                /* 2 */
                "    timeout client 1s\n"       /* 3 */
                "    frobnicate\n"              /* 4 */
                "    default_backend be\n"      /* 5 */
                "backend be\n"                  /* 6 */
                "    balance rr\n"              /* 7 */
                "    server s1 127.0.0.1:1 weight 999\n" /* 8 */
                "    timeout server 1s\n"       /* 9 */
                "    timeout connect 1s\n") == NULL);
    CHECK_EQ_INT(count_lines(errs()), 3);
    CHECK_ERROR(4, "frobnicate");
    CHECK_ERROR(7, "'rr'");
    CHECK_ERROR(8, "weight");
}

static void test_errors_in_a_refused_config_are_not_warnings(void)
{
    CHECK(parse(FE_OK BE_OK "    frobnicate\n") == NULL);
    CHECK(strstr(errs(), "warning") == NULL);
    CHECK_EQ_INT(warnings.len, 0);
}

/* ---- warnings ---- */

static void test_frontend_without_timeout_client_is_a_warning(void)
{
    CHECK(parse("frontend fe\n    bind :80\n    default_backend be\n" BE_OK) != NULL);
    CHECK_EQ_INT(errors.len, 0);
    CHECK_EQ_INT(count_lines(warns()), 1);
    CHECK_WARNING(1, "frontend 'fe'", "timeout client");
}

static void test_backend_without_timeout_server_or_connect_is_a_warning(void)
{
    CHECK(parse(FE_OK "backend be\n    timeout connect 1s\n    server s 127.0.0.1:1\n") != NULL);
    CHECK_EQ_INT(errors.len, 0);
    CHECK_EQ_INT(count_lines(warns()), 1);
    CHECK_WARNING(5, "backend 'be'", "timeout server");
    CHECK(parse(FE_OK "backend be\n    timeout server 1s\n    server s 127.0.0.1:1\n") != NULL);
    CHECK_EQ_INT(count_lines(warns()), 1);
    CHECK_WARNING(5, "backend 'be'", "timeout connect");
}

static void test_backend_without_servers_is_a_warning(void)
{
    CHECK(parse(FE_OK BE_HEAD) != NULL);
    CHECK_EQ_INT(errors.len, 0);
    CHECK_EQ_INT(count_lines(warns()), 1);
    CHECK_WARNING(5, "backend 'be'", "no server");
    struct proxy *be = find("be", PROXY_BACKEND);
    CHECK(be != NULL && be->nservers == 0);
}

static void test_clean_config_has_no_warnings(void)
{
    CHECK(parse(FE_OK BE_OK) != NULL);
    CHECK_EQ_INT(warnings.len, 0);
    CHECK_EQ_INT(errors.len, 0);
}

static void test_lookup_by_name_and_caps(void)
{
    check_parses(FE_OK BE_OK);
    CHECK(find("fe", PROXY_FRONTEND) != NULL);
    CHECK(find("fe", PROXY_BACKEND) == NULL);
    CHECK(find("be", PROXY_BACKEND) != NULL);
    CHECK(find("be", PROXY_FRONTEND | PROXY_BACKEND) == NULL);
    CHECK(find("nope", PROXY_FRONTEND) == NULL);
}

static void test_missing_file_is_an_error(void)
{
    struct strbuf e = STRBUF_INIT, w = STRBUF_INIT;
    CHECK(lb_config_load("/nonexistent/dir/lb.cfg", fake_getenv, &e, &w) == NULL);
    CHECK(e.data != NULL && strstr(e.data, "/nonexistent/dir/lb.cfg: cannot open") != NULL);
    strbuf_free(&e);
    strbuf_free(&w);
}

int main(void)
{
    RUN(test_tutorial_config_parses_without_errors_or_warnings);
    RUN(test_tutorial_frontend_points_at_its_backend);
    RUN(test_tutorial_backend_has_four_servers_with_default_settings);
    RUN(test_shipped_configs_parse);
    RUN(test_recommended_config_settings_are_read);

    RUN(test_timeouts_are_kept_in_milliseconds);
    RUN(test_bad_durations_are_refused);
    RUN(test_bad_global_and_server_durations_are_refused);
    RUN(test_timeout_needs_a_kind_and_a_value);

    RUN(test_proxies_after_defaults_inherit_them);
    RUN(test_proxy_settings_override_defaults);
    RUN(test_a_new_defaults_section_starts_from_builtins);
    RUN(test_a_proxy_before_defaults_does_not_get_them);
    RUN(test_default_backend_in_defaults_is_inherited);

    RUN(test_listen_is_a_frontend_and_its_own_backend);
    RUN(test_listen_may_send_to_another_backend);
    RUN(test_listen_warnings_cover_both_sides);

    RUN(test_use_backend_beats_default_backend_in_either_order);
    RUN(test_first_unconditional_use_backend_wins);
    RUN(test_last_default_backend_wins);
    RUN(test_frontend_and_backend_may_share_a_name);

    RUN(test_default_server_applies_to_later_servers);
    RUN(test_server_options_are_read);
    RUN(test_server_with_ipv6_and_host_name);
    RUN(test_duplicate_server_name_mentions_the_first_line);
    RUN(test_same_server_name_in_two_backends_is_fine);
    RUN(test_unknown_server_option_is_named);
    RUN(test_server_option_without_value_is_refused);
    RUN(test_bad_server_numbers_are_refused);
    RUN(test_server_needs_a_name_and_address);
    RUN(test_server_address_without_port_is_refused);
    RUN(test_unresolvable_server_host_is_refused);

    RUN(test_balance_algorithms);
    RUN(test_unknown_balance_algorithm_lists_the_supported_ones);
    RUN(test_hash_algorithms_and_their_options);
    RUN(test_workers_and_drain_settings);
    RUN(test_stats_sockets);
    RUN(test_stats_page_and_prometheus);
    RUN(test_names_are_restricted_to_haproxy_characters);
    RUN(test_an_address_bound_twice_is_refused);
    RUN(test_bad_random_draws_are_refused);

    RUN(test_option_redispatch_forms);
    RUN(test_bad_redispatch_intervals_are_refused);
    RUN(test_option_httpchk_forms);
    RUN(test_option_httpchk_with_one_argument_takes_it_as_the_uri);
    RUN(test_bad_httpchk_is_refused);
    RUN(test_http_check_expect_status);
    RUN(test_option_forwardfor_and_allbackups);
    RUN(test_backend_options_are_refused_in_a_frontend);
    RUN(test_unknown_option_is_named);

    RUN(test_log_targets);
    RUN(test_global_settings);
    RUN(test_global_defaults);
    RUN(test_bad_global_settings_are_refused);
    RUN(test_daemon_in_global_is_refused);

    RUN(test_bind_list_declares_several_listeners);
    RUN(test_several_bind_lines_add_up);
    RUN(test_bind_ipv6_any_and_loopback);
    RUN(test_bind_address_expands_environment_variables);
    RUN(test_bind_options_are_refused);
    RUN(test_bad_bind_addresses_are_refused);

    RUN(test_unknown_keyword_is_named);
    RUN(test_error_quoting_a_newline_stays_on_one_line);
    RUN(test_a_refused_second_sni_is_not_freed_twice);
    RUN(test_mode_tcp_is_refused);
    RUN(test_server_in_a_frontend_names_where_it_belongs);
    RUN(test_bind_in_a_backend_names_where_it_belongs);
    RUN(test_use_backend_in_a_backend_or_defaults_is_refused);
    RUN(test_server_in_defaults_is_refused);
    RUN(test_timeout_client_in_a_backend_is_refused);
    RUN(test_timeout_server_in_a_frontend_is_refused);
    RUN(test_conditional_use_backend_is_refused);
    RUN(test_unknown_backend_is_reported_at_the_use_backend_line);
    RUN(test_use_backend_naming_a_frontend_is_refused);
    RUN(test_frontend_without_bind_is_refused);
    RUN(test_frontend_without_backend_is_refused);
    RUN(test_duplicate_backend_name_is_refused);
    RUN(test_section_needs_exactly_a_name);
    RUN(test_unsupported_section_is_refused_and_skipped);
    RUN(test_keyword_before_any_section_is_refused);
    RUN(test_lexer_errors_carry_their_line);
    RUN(test_empty_config_is_refused);
    RUN(test_config_with_only_backends_is_refused);
    RUN(test_every_error_is_reported);
    RUN(test_errors_in_a_refused_config_are_not_warnings);

    RUN(test_frontend_without_timeout_client_is_a_warning);
    RUN(test_backend_without_timeout_server_or_connect_is_a_warning);
    RUN(test_backend_without_servers_is_a_warning);
    RUN(test_clean_config_has_no_warnings);
    RUN(test_lookup_by_name_and_caps);
    RUN(test_missing_file_is_an_error);

    lb_config_free(cfg);
    strbuf_free(&errors);
    strbuf_free(&warnings);
    return unit_report("lb-config");
}
