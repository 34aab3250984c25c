/* Unit tests for `wscale bench` option parsing, its message header and the
 * result lines its processes exchange. */
#include <stdint.h>
#include <stdlib.h>

#include "../../bench/opts.h"
#include "../../bench/payload.h"
#include "../../bench/result.h"
#include "unit.h"

static struct bench_opts o;
static char err[512];

#define PARSE(...)                                                              \
    ({                                                                          \
        char *argv_[] = { "bench", __VA_ARGS__ };                               \
        bench_opts_parse(&o, (int)(sizeof(argv_) / sizeof(argv_[0])), argv_, err, sizeof(err)); \
    })

static void test_url_with_port_path_and_query(void)
{
    struct bench_url u;
    CHECK_EQ_INT(bench_url_parse("ws://127.0.0.1:8080/chat?room=1", &u, err, sizeof(err)), 0);
    CHECK_EQ_INT(u.tls, 0);
    CHECK_EQ_STR(u.host, "127.0.0.1");
    CHECK_EQ_INT(u.port, 8080);
    CHECK_EQ_STR(u.target, "/chat?room=1");
}

static void test_url_defaults(void)
{
    struct bench_url u;
    CHECK_EQ_INT(bench_url_parse("wss://example.com", &u, err, sizeof(err)), 0);
    CHECK_EQ_INT(u.tls, 1);
    CHECK_EQ_INT(u.port, 443);
    CHECK_EQ_STR(u.target, "/");
    CHECK_EQ_INT(bench_url_parse("ws://h?x=1", &u, err, sizeof(err)), 0);
    CHECK_EQ_INT(u.port, 80);
    CHECK_EQ_STR(u.target, "/?x=1");
}

static void test_url_ipv6(void)
{
    struct bench_url u;
    CHECK_EQ_INT(bench_url_parse("ws://[::1]:9000/", &u, err, sizeof(err)), 0);
    CHECK_EQ_STR(u.host, "::1");
    CHECK_EQ_INT(u.port, 9000);
    CHECK_EQ_INT(bench_url_parse("ws://[::1/", &u, err, sizeof(err)), -1);
}

static void test_url_mistakes_are_named(void)
{
    struct bench_url u;
    CHECK_EQ_INT(bench_url_parse("http://h/", &u, err, sizeof(err)), -1);
    CHECK(strstr(err, "ws:// or wss://") != NULL);
    CHECK_EQ_INT(bench_url_parse("ws://h:0/", &u, err, sizeof(err)), -1);
    CHECK(strstr(err, "port") != NULL);
    CHECK_EQ_INT(bench_url_parse("ws://h:99999/", &u, err, sizeof(err)), -1);
    CHECK_EQ_INT(bench_url_parse("ws:///x", &u, err, sizeof(err)), -1);
    CHECK_EQ_INT(bench_url_parse("ws://h/a b", &u, err, sizeof(err)), -1);
    CHECK_EQ_INT(bench_url_parse("ws://h/#frag", &u, err, sizeof(err)), -1);
    CHECK_EQ_INT(bench_url_parse("ws://user@h/", &u, err, sizeof(err)), -1);
}

static void test_source_ranges(void)
{
    uint32_t a, b;
    CHECK_EQ_INT(bench_source_parse("127.0.0.1-127.0.0.8", &a, &b), 0);
    CHECK_EQ_INT(a, 0x7f000001);
    CHECK_EQ_INT(b, 0x7f000008);
    CHECK_EQ_INT(bench_source_parse("10.0.0.5", &a, &b), 0);
    CHECK_EQ_INT(a, b);
    CHECK_EQ_INT(bench_source_parse("127.0.0.8-127.0.0.1", &a, &b), -1);
    CHECK_EQ_INT(bench_source_parse("::1", &a, &b), -1);
}

static void test_fanout_command_line(void)
{
    CHECK_EQ_INT(PARSE("fanout", "-u", "ws://a:1/,ws://b:2/x", "-c", "50", "-p", "5", "-r", "200",
                       "-s", "1k", "-t", "3s", "-P", "2", "--json", "-q"), 0);
    CHECK_EQ_INT(o.mode, BENCH_FANOUT);
    CHECK_EQ_INT(o.nurls, 2);
    CHECK_EQ_STR(o.urls[1].target, "/x");
    CHECK_EQ_INT(o.clients, 50);
    CHECK_EQ_INT(o.publishers, 5);
    CHECK_EQ_INT(o.rate, 200);
    CHECK_EQ_INT(o.size, 1024);
    CHECK_EQ_INT(o.duration_ms, 3000);
    CHECK_EQ_INT(o.procs, 2);
    CHECK(o.json && o.quiet);
}

static void test_defaults(void)
{
    CHECK_EQ_INT(PARSE("idle", "-u", "ws://a/"), 0);
    CHECK_EQ_INT(o.clients, 100);
    CHECK_EQ_INT(o.duration_ms, 10000);
    CHECK_EQ_INT(o.procs, 1);
    CHECK_EQ_INT(o.max_connecting, 256);
    CHECK_EQ_INT(o.connect_rate, 0);
    CHECK_EQ_INT(o.timeout_ms, 10000);
    CHECK_EQ_INT(o.grace_ms, 2000);
    CHECK_EQ_INT(o.source_first, 0);
}

static void test_help(void)
{
    CHECK_EQ_INT(PARSE("--help"), 1);
    CHECK_EQ_INT(PARSE("echo", "-h"), 1);
}

static void test_mistakes_name_the_option(void)
{
    CHECK_EQ_INT(PARSE("flood", "-u", "ws://a/"), -1);
    CHECK(strstr(err, "'flood'") != NULL);
    CHECK_EQ_INT(PARSE("idle"), -1);
    CHECK(strstr(err, "-u") != NULL);
    CHECK_EQ_INT(PARSE("storm", "-u", "ws://a/", "-t", "5s"), -1);
    CHECK(strstr(err, "-t does not apply") != NULL);
    CHECK_EQ_INT(PARSE("echo", "-u", "ws://a/", "-r", "5"), -1);
    CHECK_EQ_INT(PARSE("idle", "-u", "ws://a/", "-c", "0"), -1);
    CHECK(strstr(err, "-c '0'") != NULL);
    CHECK_EQ_INT(PARSE("idle", "-u", "ws://a/", "-t", "soon"), -1);
    CHECK(strstr(err, "-t 'soon'") != NULL);
    CHECK_EQ_INT(PARSE("fanout", "-u", "ws://a/", "-c", "2", "-p", "3"), -1);
    CHECK_EQ_INT(PARSE("fanout", "-u", "ws://a/", "-s", "16"), -1);
    CHECK(strstr(err, "too small") != NULL);
    CHECK_EQ_INT(PARSE("idle", "-u", "ws://a/", "--source", "nowhere"), -1);
    CHECK_EQ_INT(PARSE("idle", "-u", "ws://a/", "extra"), -1);
    CHECK_EQ_INT(PARSE("idle", "-u", "ws://a/", "--timeout", "0"), -1);
    CHECK(strstr(err, "--timeout '0'") != NULL);
    CHECK_EQ_INT(PARSE("idle", "-u", "ws://a/,", "-c", "1"), -1);
}

static void test_more_procs_than_clients_is_clamped(void)
{
    CHECK_EQ_INT(PARSE("storm", "-u", "ws://a/", "-c", "3", "-P", "8"), 0);
    CHECK_EQ_INT(o.procs, 3);
}

static void test_payload_round_trip_behind_a_chat_prefix(void)
{
    uint8_t msg[64 + 5];
    struct payload p = { .sender = 7, .seq = 123456, .sent_ns = UINT64_C(0x123456789abcdef) }, q;
    memcpy(msg, "ws1:", 4);
    payload_write(msg + 4, 64, &p);
    CHECK(msg[4 + 63] == 'x');
    CHECK_EQ_INT(payload_read(msg, 68, &q), 0);
    CHECK_EQ_INT(q.sender, 7);
    CHECK_EQ_INT(q.seq, 123456);
    CHECK(q.sent_ns == p.sent_ns);
    CHECK_EQ_INT(payload_read((const uint8_t *)"Connected successfully to server ws1", 36, &q), -1);
    CHECK_EQ_INT(payload_read(msg, 30, &q), -1); /* cut short */
}

static struct bench_result r1, r2, back;

static void put_line(const char *line, void *arg)
{
    CHECK_EQ_INT(bench_result_parse_line(arg, line), 0);
}

static void test_result_lines_round_trip_and_merge(void)
{
    bench_result_init(&r1);
    r1.established = 10;
    r1.delivered = 500;
    r1.first_connect_ns = 100;
    r1.last_up_ns = 900;
    hist_record(&r1.latency, 250);
    bench_result_init(&back);
    CHECK_EQ_INT(bench_result_lines(&r1, put_line, &back), 0);
    CHECK(memcmp(&r1, &back, sizeof(r1)) == 0);

    bench_result_init(&r2);
    r2.established = 5;
    r2.first_connect_ns = 50;
    r2.last_up_ns = 700;
    hist_record(&r2.latency, 10);
    bench_result_merge(&back, &r2);
    CHECK_EQ_INT(back.established, 15);
    CHECK_EQ_INT(back.first_connect_ns, 50);
    CHECK_EQ_INT(back.last_up_ns, 900);
    CHECK_EQ_INT(back.latency.count, 2);
    CHECK_EQ_INT(bench_result_parse_line(&back, "c nonsense 1"), -1);
    CHECK_EQ_INT(bench_result_parse_line(&back, "c sent x"), -1);
}

int main(void)
{
    RUN(test_url_with_port_path_and_query);
    RUN(test_url_defaults);
    RUN(test_url_ipv6);
    RUN(test_url_mistakes_are_named);
    RUN(test_source_ranges);
    RUN(test_fanout_command_line);
    RUN(test_defaults);
    RUN(test_help);
    RUN(test_mistakes_name_the_option);
    RUN(test_more_procs_than_clients_is_clamped);
    RUN(test_payload_round_trip_behind_a_chat_prefix);
    RUN(test_result_lines_round_trip_and_merge);
    return unit_report("bench_opts");
}
