/* test_cli_api.c — lb/cli-api.h: HAProxy's runtime API commands over a
 * fake lb (levels, HAProxy's error texts, ';', prompt and quit, weights). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lb/cli-api.h"
#include "unit.h"

/* ---- the fake lb: backend "web" (s1, s2) and backend "api" (a1) ---- */

#define NROWS 6

static const struct stats_row template_rows[NROWS] = {
    { .type = STATS_FRONTEND, .pxname = "web", .svname = "FRONTEND", .iid = 1, .status = "OPEN" },
    { .type = STATS_SERVER, .pxname = "web", .svname = "s1", .iid = 1, .sid = 1, .status = "UP",
      .has_check = 1, .check_up = 1, .rise = 2, .fall = 3, .weight = 100, .iweight = 100,
      .act = 1, .addr = "127.0.0.1:8001", .host = "127.0.0.1", .port = 8001,
      .check_status = "L4OK", .check_duration_ms = 1 },
    { .type = STATS_SERVER, .pxname = "web", .svname = "s2", .iid = 1, .sid = 2, .status = "no check",
      .check_up = 1, .rise = 2, .fall = 3, .weight = 25, .iweight = 50, .act = 1,
      .addr = "127.0.0.1:8002", .host = "127.0.0.1", .port = 8002, .check_duration_ms = -1 },
    { .type = STATS_BACKEND, .pxname = "web", .svname = "BACKEND", .iid = 1, .status = "UP",
      .weight = 125, .act = 2, .algo = "roundrobin" },
    { .type = STATS_SERVER, .pxname = "api", .svname = "a1", .iid = 2, .sid = 1, .status = "no check",
      .check_up = 1, .rise = 2, .fall = 3, .weight = 1, .iweight = 1, .act = 1,
      .addr = "127.0.0.1:9001", .host = "127.0.0.1", .port = 9001, .check_duration_ms = -1 },
    { .type = STATS_BACKEND, .pxname = "api", .svname = "BACKEND", .iid = 2, .status = "UP",
      .weight = 1, .act = 1, .algo = "leastconn" },
};

struct fake {
    int fail_snapshot;
    int live;              /* snapshots not freed yet */
    const char *refuse;    /* what the set_* operations answer */
    char call[128];        /* the last operation called */
};

static struct fake fake;

static int fake_snapshot(void *ctx, struct stats_snapshot *st)
{
    struct fake *f = ctx;
    if (f->fail_snapshot)
        return -1;
    st->rows = malloc(sizeof(template_rows));
    if (st->rows == NULL)
        return -1;
    memcpy(st->rows, template_rows, sizeof(template_rows));
    st->nrows = NROWS;
    st->info = (struct stats_info){ .version = "0.1.0", .pid = 7, .workers = 2, .maxconn = 100 };
    f->live++;
    return 0;
}

static void fake_snapshot_free(void *ctx, struct stats_snapshot *st)
{
    struct fake *f = ctx;
    free(st->rows);
    st->rows = NULL;
    f->live--;
}

static const char *fake_set_admin(void *ctx, const char *be, const char *srv, enum srv_admin st)
{
    struct fake *f = ctx;
    static const char *const names[] = { "ready", "drain", "maint" };
    snprintf(f->call, sizeof(f->call), "admin %s/%s %s", be, srv, names[st]);
    return f->refuse;
}

static const char *fake_set_weight(void *ctx, const char *be, const char *srv, unsigned weight)
{
    struct fake *f = ctx;
    snprintf(f->call, sizeof(f->call), "weight %s/%s %u", be, srv, weight);
    return f->refuse;
}

static const char *fake_shutdown(void *ctx, const char *be, const char *srv)
{
    struct fake *f = ctx;
    snprintf(f->call, sizeof(f->call), "shutdown %s/%s", be, srv);
    return f->refuse;
}

static const struct api_ops ops = { &fake, fake_snapshot, fake_snapshot_free, fake_set_admin,
                                    fake_set_weight, fake_shutdown };

static struct strbuf out = STRBUF_INIT;

/* Runs lines on one connection, as HAProxy's stats socket at `level`;
 * returns everything answered. */
static const char *session(struct api_session *s, const char *line)
{
    strbuf_free(&out);
    api_execute(&ops, s, line, &out);
    CHECK(!out.failed);
    CHECK_EQ_INT(fake.live, 0);
    return out.data ? out.data : "";
}

static const char *run(enum api_level level, const char *line)
{
    struct api_session s = { level, 0, 0, 0 };
    memset(&fake, 0, sizeof(fake));
    return session(&s, line);
}

static int has(const char *text, const char *needle)
{
    return strstr(text, needle) != NULL;
}

static int starts(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* The same snapshot, rendered directly. */
static void expected(void (*render)(const struct stats_snapshot *, struct strbuf *), int legends,
                     struct strbuf *sb)
{
    struct stats_snapshot st;
    fake_snapshot(&fake, &st);
    st.show_legends = legends;
    render(&st, sb);
    fake_snapshot_free(&fake, &st);
}

/* ---- looking ---- */

static void test_show_info_answers_and_ends_with_an_empty_line(void)
{
    struct strbuf want = STRBUF_INIT;
    expected(stats_render_info, 0, &want);
    strbuf_append(&want, "\n", 1);
    CHECK_EQ_STR(run(API_USER, "show info"), want.data);
    CHECK(has(want.data, "Name: wscale\n"));
    strbuf_free(&want);
}

static void test_show_stat_hides_addresses_below_operator(void)
{
    struct strbuf want = STRBUF_INIT;
    expected(stats_render_csv, 0, &want);
    strbuf_append(&want, "\n", 1);
    CHECK_EQ_STR(run(API_USER, "show stat"), want.data);
    CHECK(!has(run(API_USER, "show stat"), "127.0.0.1:8001"));
    CHECK(has(run(API_OPERATOR, "show stat"), ",127.0.0.1:8001,"));
    CHECK(has(run(API_ADMIN, "show stat"), ",roundrobin,"));
    strbuf_free(&want);
}

static void test_show_stat_filters_by_proxy_type_and_server(void)
{
    const char *o = run(API_USER, "show stat web 4 -1");
    CHECK(starts(o, "# pxname,"));
    CHECK(has(o, "\nweb,s1,") && has(o, "\nweb,s2,"));
    CHECK(!has(o, "FRONTEND") && !has(o, "BACKEND") && !has(o, "api"));
    o = run(API_USER, "show stat 2 -1 -1");
    CHECK(has(o, "\napi,a1,") && has(o, "\napi,BACKEND,") && !has(o, "\nweb,"));
    o = run(API_USER, "show stat -1 3 -1");
    CHECK(has(o, "\nweb,FRONTEND,") && has(o, "\napi,BACKEND,") && !has(o, ",s1,"));
    o = run(API_USER, "show stat web -1 2");
    CHECK(has(o, "\nweb,s2,") && !has(o, "\nweb,s1,") && has(o, "\nweb,BACKEND,"));
    CHECK_EQ_STR(run(API_USER, "show stat nope 1 -1"), "No such proxy.\n\n");
    CHECK(has(run(API_USER, "show stat domain proxy"), "\nweb,s1,"));
}

static void test_show_stat_options_wscale_lacks_are_said_so(void)
{
    CHECK_EQ_STR(run(API_USER, "show stat json"), "'show stat json' is not supported by wscale.\n\n");
    CHECK_EQ_STR(run(API_USER, "show stat -1 -1 -1 typed"),
                 "'show stat typed' is not supported by wscale.\n\n");
    CHECK_EQ_STR(run(API_USER, "show info json"), "'show info json' is not supported by wscale.\n\n");
}

static void test_show_servers_state(void)
{
    const char *o = run(API_USER, "show servers state");
    CHECK(starts(o, "1\n# be_id be_name srv_id "));
    CHECK(has(o, "\n1 web 1 s1 127.0.0.1 2 0 100 100 ") && has(o, "\n2 api 1 a1 "));
    o = run(API_USER, "show servers state api");
    CHECK(has(o, "\n2 api 1 a1 ") && !has(o, " web "));
    CHECK_EQ_STR(run(API_USER, "show servers state nope"), "Can't find backend.\n\n");
    CHECK_EQ_STR(run(API_USER, "show servers state s1"), "Can't find backend.\n\n");
}

static void test_small_shows(void)
{
    CHECK_EQ_STR(run(API_USER, "show backend"), "# name\nweb\napi\n\n");
    CHECK_EQ_STR(run(API_USER, "show version"), "0.1.0\n\n");
    CHECK_EQ_STR(run(API_USER, "show cli level"), "user\n\n");
    CHECK_EQ_STR(run(API_OPERATOR, "show cli level"), "operator\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "show cli level"), "admin\n\n");
    CHECK_EQ_STR(run(API_USER, "get weight web/s2"), "25 (initial 50)\n\n");
    CHECK_EQ_STR(run(API_USER, "get weight web/zz"), "No such server.\n\n");
}

/* ---- changing servers ---- */

static void test_changes_need_admin(void)
{
    static const char *const lines[] = {
        "disable server web/s1", "enable server web/s1", "set server web/s1 state drain",
        "set server web/s1 weight 10", "set weight web/s1 10", "shutdown sessions server web/s1",
        "set server nope/x addr 1.2.3.4",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        CHECK_EQ_STR(run(API_USER, lines[i]), "Permission denied\n\n");
        CHECK_EQ_STR(run(API_OPERATOR, lines[i]), "Permission denied\n\n");
        CHECK_EQ_STR(fake.call, "");
    }
}

static void test_disable_enable_and_set_server_state(void)
{
    CHECK_EQ_STR(run(API_ADMIN, "disable server web/s1"), "\n");
    CHECK_EQ_STR(fake.call, "admin web/s1 maint");
    CHECK_EQ_STR(run(API_ADMIN, "enable server web/s1"), "\n");
    CHECK_EQ_STR(fake.call, "admin web/s1 ready");
    CHECK_EQ_STR(run(API_ADMIN, "set server api/a1 state drain"), "\n");
    CHECK_EQ_STR(fake.call, "admin api/a1 drain");
    CHECK_EQ_STR(run(API_ADMIN, "set server api/a1 state maint"), "\n");
    CHECK_EQ_STR(fake.call, "admin api/a1 maint");
    CHECK_EQ_STR(run(API_ADMIN, "set server api/a1 state ready"), "\n");
    CHECK_EQ_STR(fake.call, "admin api/a1 ready");
    CHECK_EQ_STR(run(API_ADMIN, "shutdown sessions server web/s2"), "\n");
    CHECK_EQ_STR(fake.call, "shutdown web/s2");
}

static void test_server_names_get_haproxys_errors(void)
{
    CHECK_EQ_STR(run(API_ADMIN, "disable server web"), "Require 'backend/server'.\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "disable server web/"), "Require 'backend/server'.\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "disable server"), "Require 'backend/server'.\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "disable server nope/s1"), "No such backend.\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "disable server web/zz"), "No such server.\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "enable server api/s1"), "No such server.\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "set server web/zz state ready"), "No such server.\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "shutdown sessions server"), "Require 'backend/server'.\n\n");
    CHECK_EQ_STR(fake.call, "");
}

static void test_set_server_answers_what_it_does_not_do(void)
{
    CHECK_EQ_STR(run(API_ADMIN, "set server web/s1 state up"),
                 "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "set server web/s1 state"),
                 "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "set server web/s1 addr 10.0.0.9"),
                 "'set server <srv> addr' is not supported by wscale.\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "set server web/s1 health down"),
                 "'set server <srv> health' is not supported by wscale.\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "set server web/s1 colour blue"),
                 "'set server <srv>' only supports 'state' and 'weight'.\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "set server web/s1"),
                 "'set server <srv>' only supports 'state' and 'weight'.\n\n");
    CHECK_EQ_STR(fake.call, "");
}

static const char *weight_of(const char *line)
{
    static char call[128];
    const char *o = run(API_ADMIN, line);
    if (strcmp(o, "\n") != 0)
        return o;
    snprintf(call, sizeof(call), "%s", fake.call);
    return call;
}

static void test_weights_absolute_or_percent_of_the_configured_one(void)
{
    CHECK_EQ_STR(weight_of("set server web/s1 weight 10"), "weight web/s1 10");
    CHECK_EQ_STR(weight_of("set weight web/s1 0"), "weight web/s1 0");
    CHECK_EQ_STR(weight_of("set weight web/s1 256"), "weight web/s1 256");
    /* s2 is configured with 50 and now has 25: percents are of the 50 */
    CHECK_EQ_STR(weight_of("set server web/s2 weight 50%"), "weight web/s2 25");
    CHECK_EQ_STR(weight_of("set weight web/s2 100%"), "weight web/s2 50");
    CHECK_EQ_STR(weight_of("set weight web/s2 33%"), "weight web/s2 16");
    CHECK_EQ_STR(weight_of("set weight web/s2 0%"), "weight web/s2 0");
    CHECK_EQ_STR(weight_of("set weight web/s2 1000%"), "weight web/s2 256");
    CHECK_EQ_STR(weight_of("set weight web/s2 99999999999999999999%"), "weight web/s2 256");
}

static void test_bad_weights_get_haproxys_errors(void)
{
    CHECK_EQ_STR(run(API_ADMIN, "set weight web/s1 257"),
                 "Absolute weight can only be between 0 and 256 inclusive.\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "set weight web/s1 -1"),
                 "Absolute weight can only be between 0 and 256 inclusive.\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "set weight web/s1 -5%"), "Relative weight must be positive.\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "set weight web/s1 12x"), "Trailing garbage in weight string\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "set weight web/s1 12%%"), "Trailing garbage in weight string\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "set weight web/s1 abc"),
                 "Empty weight string empty or preceded by garbage\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "set weight web/s1"), "Require <weight> or <weight%>.\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "set server web/s1 weight"), "Require <weight> or <weight%>.\n\n");
    CHECK_EQ_STR(fake.call, "");
}

static void test_what_the_lb_refuses_is_passed_on(void)
{
    memset(&fake, 0, sizeof(fake));
    fake.refuse = "Backend is using a static LB algorithm and only accepts weights '0%' and "
                  "'100%'.\n";
    struct api_session s = { API_ADMIN, 0, 0, 0 };
    CHECK_EQ_STR(session(&s, "set weight api/a1 3"),
                 "Backend is using a static LB algorithm and only accepts weights '0%' and "
                 "'100%'.\n\n");
    CHECK_EQ_STR(fake.call, "weight api/a1 3");
}

static void test_out_of_memory_for_a_snapshot(void)
{
    memset(&fake, 0, sizeof(fake));
    fake.fail_snapshot = 1;
    struct api_session s = { API_ADMIN, 0, 0, 0 };
    CHECK_EQ_STR(session(&s, "show stat"), "Out of memory.\n\n");
    CHECK_EQ_STR(session(&s, "disable server web/s1"), "Out of memory.\n\n");
    CHECK_EQ_STR(fake.call, "");
}

/* ---- levels ---- */

static void test_help_lists_what_the_level_allows(void)
{
    const char *o = run(API_USER, "help");
    CHECK(starts(o, "The following commands are valid at this level:\n"));
    CHECK(has(o, "\n  show info                               : report information about the "
                 "running process\n"));
    CHECK(has(o, "\n  show servers state [<backend>]") && has(o, "\n  get weight <bk>/<srv>"));
    CHECK(!has(o, "disable server") && !has(o, "set server") && !has(o, "  operator "));
    CHECK(has(o, "  help [<command>]                        : list matching or all commands\n"
                 "  prompt                                  : toggle interactive mode with "
                 "prompt\n"
                 "  quit                                    : disconnect\n\n"));
    o = run(API_ADMIN, "help");
    CHECK(has(o, "\n  disable server <bk>/<srv> ") && has(o, "\n  set server <bk>/<srv> "));
    CHECK(has(o, "\n  shutdown sessions server <bk>/<srv>") && has(o, "\n  operator "));
    /* HAProxy sorts the list */
    CHECK(strstr(o, "disable server") < strstr(o, "get weight"));
    CHECK(strstr(o, "show stat") < strstr(o, "show version"));
}

static void test_help_about_some_commands(void)
{
    const char *o = run(API_ADMIN, "help set");
    CHECK(has(o, "  set server ") && has(o, "  set weight "));
    CHECK(!has(o, "show info") && !has(o, "disable server"));
    CHECK(has(o, "  quit "));
}

static void test_user_and_operator_lower_the_level_for_good(void)
{
    memset(&fake, 0, sizeof(fake));
    struct api_session s = { API_ADMIN, 1, 0, 0 };
    CHECK_EQ_STR(session(&s, "operator;show cli level"), "\n> operator\n\n> ");
    CHECK_EQ_STR(session(&s, "disable server web/s1"), "Permission denied\n\n> ");
    CHECK(has(session(&s, "show stat"), ",127.0.0.1:8001,"));
    CHECK_EQ_STR(session(&s, "user;operator;show cli level"), "\n> Permission denied\n\n> user\n\n> ");
    CHECK(!has(session(&s, "show stat"), "127.0.0.1:8001"));
    CHECK_EQ_INT(s.level, API_USER);
}

/* ---- lines, prompt, quit ---- */

static void test_semicolons_separate_commands(void)
{
    CHECK_EQ_STR(run(API_ADMIN, "show cli level;show version"), "admin\n\n0.1.0\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "  show cli level ; ; show version;"), "admin\n\n0.1.0\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "disable server web/s1;get weight web/s1"),
                 "\n100 (initial 100)\n\n");
    CHECK_EQ_STR(fake.call, "admin web/s1 maint");
}

static void test_backslash_escapes_a_semicolon_and_a_space(void)
{
    CHECK_EQ_STR(run(API_USER, "show servers state we\\;b"), "Can't find backend.\n\n");
    CHECK(starts(run(API_USER, "show\\ version"), "Unknown command, but maybe"));
    CHECK_EQ_STR(run(API_USER, "sh\\ow version\r"), "0.1.0\n\n");
}

static void test_without_prompt_the_connection_ends_after_the_line(void)
{
    memset(&fake, 0, sizeof(fake));
    struct api_session s = { API_USER, 0, 0, 0 };
    session(&s, "show version");
    CHECK_EQ_INT(s.quit, 1);
    CHECK_EQ_INT(s.quit_given, 0); /* further lines already received are answered too */
    CHECK_EQ_STR(session(&s, "show cli level"), "user\n\n");
}

static void test_prompt_toggles_interactive_mode_until_quit(void)
{
    memset(&fake, 0, sizeof(fake));
    struct api_session s = { API_USER, 0, 0, 0 };
    CHECK_EQ_STR(session(&s, "prompt"), "\n> ");
    CHECK_EQ_INT(s.interactive, 1);
    CHECK_EQ_INT(s.quit, 0);
    CHECK_EQ_STR(session(&s, "show version"), "0.1.0\n\n> ");
    const char *o = session(&s, "");
    CHECK(starts(o, "Unknown command. Please enter one of the following commands only:\n"));
    CHECK(strlen(o) > 4 && strcmp(o + strlen(o) - 4, "\n\n> ") == 0);
    CHECK_EQ_INT(s.quit, 0);
    CHECK_EQ_STR(session(&s, "prompt"), "\n");
    CHECK_EQ_INT(s.interactive, 0);
    CHECK_EQ_INT(s.quit, 1);
}

static void test_quit_stops_everything_after_it(void)
{
    memset(&fake, 0, sizeof(fake));
    struct api_session s = { API_ADMIN, 1, 0, 0 };
    CHECK_EQ_STR(session(&s, "show version;quit;disable server web/s1"), "0.1.0\n\n> ");
    CHECK_EQ_INT(s.quit, 1);
    CHECK_EQ_INT(s.quit_given, 1);
    CHECK_EQ_STR(fake.call, "");
    CHECK_EQ_STR(session(&s, "show version"), "");
}

/* ---- what is not a command ---- */

static void test_unknown_commands_get_haproxys_answer_and_the_help(void)
{
    const char *o = run(API_USER, "frobnicate");
    CHECK(starts(o, "Unknown command, but maybe one of the following ones is a better match:\n"));
    CHECK(has(o, "\n  show info ") && has(o, "\n  quit "));
    o = run(API_USER, "show frobs");
    CHECK(starts(o, "Unknown command, but maybe one of the following ones is a better match:\n"));
    CHECK(has(o, "\n  show stat ") && !has(o, "get weight") && has(o, "\n  help "));
    o = run(API_USER, "");
    CHECK(starts(o, "Unknown command. Please enter one of the following commands only:\n"));
    CHECK(has(o, "\n  get weight "));
}

static void test_haproxy_commands_wscale_lacks_get_one_line(void)
{
    CHECK_EQ_STR(run(API_ADMIN, "clear counters all"), "'clear counters' is not supported by wscale.\n\n");
    CHECK_EQ_STR(run(API_USER, "show sess"), "'show sess' is not supported by wscale.\n\n");
    CHECK_EQ_STR(run(API_USER, "show servers conn"),
                 "'show servers conn' is not supported by wscale.\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "set maxconn global 10"),
                 "'set maxconn' is not supported by wscale.\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "add server web/s9 10.0.0.9:80"),
                 "'add server' is not supported by wscale.\n\n");
    CHECK_EQ_STR(run(API_ADMIN, "enable health web/s1"),
                 "'enable health' is not supported by wscale.\n\n");
}

int main(void)
{
    RUN(test_show_info_answers_and_ends_with_an_empty_line);
    RUN(test_show_stat_hides_addresses_below_operator);
    RUN(test_show_stat_filters_by_proxy_type_and_server);
    RUN(test_show_stat_options_wscale_lacks_are_said_so);
    RUN(test_show_servers_state);
    RUN(test_small_shows);
    RUN(test_changes_need_admin);
    RUN(test_disable_enable_and_set_server_state);
    RUN(test_server_names_get_haproxys_errors);
    RUN(test_set_server_answers_what_it_does_not_do);
    RUN(test_weights_absolute_or_percent_of_the_configured_one);
    RUN(test_bad_weights_get_haproxys_errors);
    RUN(test_what_the_lb_refuses_is_passed_on);
    RUN(test_out_of_memory_for_a_snapshot);
    RUN(test_help_lists_what_the_level_allows);
    RUN(test_help_about_some_commands);
    RUN(test_user_and_operator_lower_the_level_for_good);
    RUN(test_semicolons_separate_commands);
    RUN(test_backslash_escapes_a_semicolon_and_a_space);
    RUN(test_without_prompt_the_connection_ends_after_the_line);
    RUN(test_prompt_toggles_interactive_mode_until_quit);
    RUN(test_quit_stops_everything_after_it);
    RUN(test_unknown_commands_get_haproxys_answer_and_the_help);
    RUN(test_haproxy_commands_wscale_lacks_get_one_line);
    strbuf_free(&out);
    return unit_report("cli-api");
}
