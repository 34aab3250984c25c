/* test_lb_config_cookie.c — lb/config.h, cookie persistence: HAProxy's
 * "cookie NAME ..." keyword and the server option "cookie VALUE", what they
 * store, and the "FILE:LINE: message" errors and warnings they give. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lb/config.h"
#include "unit.h"

static struct strbuf errors = STRBUF_INIT, warnings = STRBUF_INIT;
static struct lb_config *cfg;

static struct lb_config *parse(const char *text)
{
    lb_config_free(cfg);
    strbuf_free(&errors);
    strbuf_free(&warnings);
    cfg = lb_config_parse("t.cfg", text, strlen(text), NULL, &errors, &warnings);
    return cfg;
}

static int count_lines(const struct strbuf *sb)
{
    int n = 0;
    for (size_t i = 0; i < sb->len; i++)
        n += sb->data[i] == '\n';
    return n;
}

/* True if sb has a line starting with prefix that contains both fragments. */
static int has_line(const struct strbuf *sb, const char *prefix, const char *a, const char *b)
{
    for (const char *line = sb->data ? sb->data : ""; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[1024];
        snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
        if (strncmp(buf, prefix, strlen(prefix)) == 0 && strstr(buf, a) && (!b || strstr(buf, b)))
            return 1;
        line += len + (end ? 1 : 0);
    }
    return 0;
}

static void check_line(const struct strbuf *sb, const char *kind, int line, const char *a,
                       const char *b)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "t.cfg:%d: %s", line, kind);
    if (!has_line(sb, prefix, a, b)) {
        fprintf(stderr, "  no line '%s...%s...%s'; got:\n%s", prefix, a, b ? b : "",
                sb->data ? sb->data : "");
        unit_current_failed = 1;
    }
}

/* Refused with one error at `line` containing a (and b). */
static void check_refused(const char *text, int line, const char *a, const char *b)
{
    CHECK(parse(text) == NULL);
    CHECK_EQ_INT(count_lines(&errors), 1);
    check_line(&errors, "", line, a, b);
}

static void check_parses(const char *text)
{
    if (parse(text) == NULL) {
        fprintf(stderr, "  config refused:\n%s", errors.data);
        unit_current_failed = 1;
    }
}

static struct proxy *be(void)
{
    return cfg ? lb_config_find(cfg, "be", PROXY_BACKEND) : NULL;
}

/* Lines 1-4: a frontend; 5-7: the backend's head; then its lines. */
#define FE_OK                                                                        \
    "frontend fe\n"                                                                  \
    "    bind 127.0.0.1:8080\n"                                                      \
    "    timeout client 1s\n"                                                        \
    "    default_backend be\n"
#define BE_HEAD                                                                      \
    "backend be\n"                                                                   \
    "    timeout server 1s\n"                                                        \
    "    timeout connect 1s\n"
#define SERVERS                                                                      \
    "    server s1 127.0.0.1:8081 cookie s1\n"                                       \
    "    server s2 127.0.0.1:8082 cookie s2\n"

static void test_every_supported_option_is_read(void)
{
    check_parses(FE_OK BE_HEAD
                 "    cookie SRVID insert indirect nocache httponly secure maxidle 30m "
                 "maxlife 8h domain .a.example domain b.example attr SameSite=Strict "
                 "attr \"Priority=High\"\n" SERVERS);
    CHECK_EQ_INT(errors.len, 0);
    CHECK_EQ_INT(warnings.len, 0);
    struct persist_cookie *ck = be() ? &be()->ck : NULL;
    CHECK(ck != NULL);
    if (ck == NULL)
        return;
    CHECK_EQ_STR(ck->name, "SRVID");
    CHECK_EQ_INT(ck->insert, 1);
    CHECK_EQ_INT(ck->indirect, 1);
    CHECK_EQ_INT(ck->nocache, 1);
    CHECK_EQ_INT(ck->httponly, 1);
    CHECK_EQ_INT(ck->secure, 1);
    CHECK_EQ_INT(ck->maxidle, 1800);
    CHECK_EQ_INT(ck->maxlife, 8 * 3600);
    CHECK_EQ_STR(ck->domain, ".a.example; domain=b.example");
    CHECK_EQ_STR(ck->attrs, "SameSite=Strict; Priority=High");
    CHECK_EQ_STR(be()->servers[0]->cookie, "s1");
    CHECK_EQ_STR(be()->servers[1]->cookie, "s2");
}

static void test_a_cookie_without_insert_is_passive(void)
{
    check_parses(FE_OK BE_HEAD "    cookie JSESSIONID\n" SERVERS);
    CHECK_EQ_INT(warnings.len, 0);
    CHECK(be() && be()->ck.name && strcmp(be()->ck.name, "JSESSIONID") == 0);
    CHECK(be() && !be()->ck.insert && !be()->ck.indirect);
}

static void test_durations_are_seconds_unless_a_unit_says_otherwise(void)
{
    check_parses(FE_OK BE_HEAD "    cookie S insert maxidle 90 maxlife 1500ms\n" SERVERS);
    CHECK(be() && be()->ck.maxidle == 90 && be()->ck.maxlife == 2);
    check_parses(FE_OK BE_HEAD "    cookie S insert maxidle 0 maxlife 2d\n" SERVERS);
    CHECK(be() && be()->ck.maxidle == 0 && be()->ck.maxlife == 2 * 86400);
}

static void test_backends_inherit_the_cookie_of_defaults_and_a_line_replaces_it_whole(void)
{
    check_parses("defaults\n"
                 "    cookie SRV insert indirect maxidle 10s attr SameSite=Lax domain a.example\n"
                 FE_OK BE_HEAD SERVERS
                 "backend other\n"
                 "    timeout server 1s\n"
                 "    timeout connect 1s\n"
                 "    cookie OTHER insert\n"
                 "    server x 127.0.0.1:9 cookie x\n");
    CHECK(be() && be()->ck.name && strcmp(be()->ck.name, "SRV") == 0);
    CHECK(be() && be()->ck.indirect && be()->ck.maxidle == 10);
    CHECK(be() && be()->ck.attrs && strcmp(be()->ck.attrs, "SameSite=Lax") == 0);
    struct proxy *other = cfg ? lb_config_find(cfg, "other", PROXY_BACKEND) : NULL;
    CHECK(other && strcmp(other->ck.name, "OTHER") == 0);
    CHECK(other && other->ck.insert && !other->ck.indirect && other->ck.maxidle == 0);
    CHECK(other && other->ck.attrs == NULL && other->ck.domain == NULL);
}

static void test_default_server_may_carry_a_cookie(void)
{
    check_parses(FE_OK BE_HEAD
                 "    cookie SRV insert\n"
                 "    default-server cookie shared\n"
                 "    server s1 127.0.0.1:8081\n"
                 "    server s2 127.0.0.1:8082 cookie own\n");
    CHECK(be() && strcmp(be()->servers[0]->cookie, "shared") == 0);
    CHECK(be() && strcmp(be()->servers[1]->cookie, "own") == 0);
}

static void test_cookie_belongs_to_backends_not_frontends(void)
{
    check_refused("frontend fe\n"
                  "    bind 127.0.0.1:8080\n"
                  "    cookie SRV insert\n"
                  "    default_backend be\n" BE_HEAD SERVERS,
                  3, "'cookie' is not allowed in a frontend section", "defaults, backend, listen");
}

static void test_unsupported_haproxy_options_are_refused_by_name(void)
{
    const char *opts[] = { "rewrite", "prefix", "preserve", "postonly", "dynamic" };
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), FE_OK BE_HEAD "    cookie SRV insert %s\n" SERVERS, opts[i]);
        char want[64];
        snprintf(want, sizeof(want), "cookie option '%s' is not supported", opts[i]);
        check_refused(text, 8, want, "supported: insert, indirect, nocache, httponly, secure");
    }
}

static void test_unknown_option_is_named(void)
{
    check_refused(FE_OK BE_HEAD "    cookie SRV insert sticky\n" SERVERS, 8,
                  "unknown cookie option 'sticky'", "maxidle, maxlife, domain, attr");
}

static void test_options_without_their_value_are_refused(void)
{
    check_refused(FE_OK BE_HEAD "    cookie SRV insert maxidle\n" SERVERS, 8,
                  "cookie option 'maxidle' expects a value", NULL);
    check_refused(FE_OK BE_HEAD "    cookie SRV insert attr\n" SERVERS, 8,
                  "cookie option 'attr' expects a value", NULL);
    check_refused(FE_OK BE_HEAD "    cookie\n" SERVERS, 8, "'cookie' expects a name", NULL);
}

static void test_bad_durations_are_refused(void)
{
    check_refused(FE_OK BE_HEAD "    cookie SRV insert maxidle soon\n" SERVERS, 8,
                  "cookie maxidle: 'soon' is not a duration", NULL);
    check_refused(FE_OK BE_HEAD "    cookie SRV insert maxlife 500ms\n" SERVERS, 8,
                  "cookie maxlife 500ms: under a second", NULL);
    check_refused(FE_OK BE_HEAD "    cookie SRV insert maxlife 3000000000\n" SERVERS, 8,
                  "is not a duration", "2147483647s");
}

static void test_an_attr_with_a_semicolon_or_control_character_is_refused(void)
{
    check_refused(FE_OK BE_HEAD "    cookie SRV insert attr \"A=1; B=2\"\n" SERVERS, 8,
                  "cookie attr 'A=1; B=2': character '%x3B' is not permitted", NULL);
    check_refused(FE_OK BE_HEAD "    cookie SRV insert attr \"A\\tB\"\n" SERVERS, 8,
                  "character '%x09' is not permitted", NULL);
}

static void test_bad_domains_are_refused_and_a_dotless_one_warned_about(void)
{
    check_refused(FE_OK BE_HEAD "    cookie SRV insert domain a/b.example\n" SERVERS, 8,
                  "cookie domain 'a/b.example'", NULL);
    check_parses(FE_OK BE_HEAD "    cookie SRV insert domain localhost\n" SERVERS);
    CHECK_EQ_INT(count_lines(&warnings), 1);
    check_line(&warnings, "warning: ", 8, "cookie domain 'localhost' has no embedded dot", NULL);
}

static void test_a_cookie_name_must_be_a_token(void)
{
    check_refused(FE_OK BE_HEAD "    cookie SRV=x insert\n" SERVERS, 8,
                  "cookie name 'SRV=x' is not an RFC 6265 token", NULL);
}

static void test_a_server_cookie_value_must_read_back(void)
{
    check_refused(FE_OK BE_HEAD "    cookie SRV insert\n"
                  "    server s1 127.0.0.1:8081 cookie a|b\n", 9,
                  "server option cookie 'a|b'", "'|'");
    check_refused(FE_OK BE_HEAD "    cookie SRV insert\n"
                  "    server s1 127.0.0.1:8081 cookie a;b\n", 9,
                  "server option cookie 'a;b'", NULL);
    check_refused(FE_OK BE_HEAD "    server s1 127.0.0.1:8081 cookie\n", 8,
                  "server option 'cookie' expects a value", NULL);
}

static void test_a_server_without_cookie_in_an_inserting_backend_is_a_warning(void)
{
    check_parses(FE_OK BE_HEAD "    cookie SRV insert\n"
                 "    server s1 127.0.0.1:8081 cookie s1\n"
                 "    server s2 127.0.0.1:8082\n");
    CHECK_EQ_INT(count_lines(&warnings), 1);
    check_line(&warnings, "warning: ", 10, "server 's2' has no 'cookie VALUE'",
               "its clients cannot stick to it");
}

static void test_a_server_cookie_without_a_backend_cookie_is_a_warning(void)
{
    check_parses(FE_OK BE_HEAD "    server s1 127.0.0.1:8081 cookie s1\n");
    CHECK_EQ_INT(count_lines(&warnings), 1);
    check_line(&warnings, "warning: ", 8, "server 's1' has 'cookie s1'", "not used");
}

static void test_insert_only_options_without_insert_are_a_warning(void)
{
    check_parses(FE_OK BE_HEAD "    cookie SRV indirect nocache maxidle 1m\n" SERVERS);
    CHECK_EQ_INT(count_lines(&warnings), 1);
    check_line(&warnings, "warning: ", 8, "without 'insert' they have no effect", NULL);
}

static void test_listen_takes_a_cookie(void)
{
    check_parses("listen be\n"
                 "    bind 127.0.0.1:8080\n"
                 "    timeout client 1s\n"
                 "    timeout server 1s\n"
                 "    timeout connect 1s\n"
                 "    cookie SRV insert indirect nocache\n" SERVERS);
    CHECK_EQ_INT(warnings.len, 0);
    CHECK(be() && be()->ck.insert && be()->ck.indirect && be()->ck.nocache);
}

int main(void)
{
    RUN(test_every_supported_option_is_read);
    RUN(test_a_cookie_without_insert_is_passive);
    RUN(test_durations_are_seconds_unless_a_unit_says_otherwise);
    RUN(test_backends_inherit_the_cookie_of_defaults_and_a_line_replaces_it_whole);
    RUN(test_default_server_may_carry_a_cookie);
    RUN(test_cookie_belongs_to_backends_not_frontends);
    RUN(test_unsupported_haproxy_options_are_refused_by_name);
    RUN(test_unknown_option_is_named);
    RUN(test_options_without_their_value_are_refused);
    RUN(test_bad_durations_are_refused);
    RUN(test_an_attr_with_a_semicolon_or_control_character_is_refused);
    RUN(test_bad_domains_are_refused_and_a_dotless_one_warned_about);
    RUN(test_a_cookie_name_must_be_a_token);
    RUN(test_a_server_cookie_value_must_read_back);
    RUN(test_a_server_without_cookie_in_an_inserting_backend_is_a_warning);
    RUN(test_a_server_cookie_without_a_backend_cookie_is_a_warning);
    RUN(test_insert_only_options_without_insert_are_a_warning);
    RUN(test_listen_takes_a_cookie);

    lb_config_free(cfg);
    strbuf_free(&errors);
    strbuf_free(&warnings);
    return unit_report("lb-cookie-cf");
}
