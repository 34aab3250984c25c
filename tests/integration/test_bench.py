"""`wscale bench`: the load generator run against real backends, a real
Redis and the real lb. Only counts and consistency are checked, never
timings: latency fields must exist and be ordered, rates must be positive."""
import json
import socket
import subprocess

from procs import WSCALE, free_port, sanitizer_report, wait_until
from test_tls_lb import tls_config

TWO_BACKENDS_CFG = """
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    server s1 127.0.0.1:{p1}
    server s2 127.0.0.1:{p2}
"""


def bench(*args, timeout=60):
    """Runs `wscale bench ARGS`; returns (exit status, stdout, stderr). The
    run must leave no sanitizer report (under the ASan build)."""
    p = subprocess.run([WSCALE, "bench", *args], capture_output=True, text=True, timeout=timeout)
    report = sanitizer_report(p.stderr)
    assert report is None, f"bench: {report}\n{p.stderr}"
    return p.returncode, p.stdout, p.stderr


def bench_json(*args, timeout=60):
    rc, out, err = bench(*args, "--json", "-q", timeout=timeout)
    assert rc == 0, err
    assert err == "", err  # nothing on stderr: no progress line with -q
    return json.loads(out)


def assert_latency_shape(hist, count):
    assert hist["count"] == count
    assert 0 < hist["p50"] <= hist["p99"] <= hist["p999"] <= hist["max"]


def assert_fanout_complete(r, clients):
    assert r["established"] == clients and r["failed"] == 0 and r["closed_by_server"] == 0
    assert r["clients_at_start"] == clients
    assert r["sent"] > 0
    assert r["expected"] == r["sent"] * clients
    assert r["delivered"] == r["expected"]
    assert r["loss_pct"] == 0
    assert r["duplicates"] == 0
    assert r["deliveries_per_s"] > 0
    assert_latency_shape(r["latency_us"], r["delivered"])


def test_echo_reports_round_trips_in_json(echo):
    r = bench_json("echo", "-u", echo.url, "-c", "10", "-s", "64", "-t", "1s")
    assert r["mode"] == "echo" and r["urls"] == [echo.url] and r["procs"] == 1
    assert r["established"] == 10 and r["failed"] == 0 and r["closed_by_server"] == 0
    assert r["sent"] > 0 and r["echoed"] > 0
    assert r["echoed"] == r["sent"]  # every message in flight came back in the grace time
    assert 0 < r["in_window"] <= r["echoed"]
    assert r["msgs_per_s"] > 0
    assert_latency_shape(r["latency_us"], r["echoed"])
    assert_latency_shape(r["handshake_us"], 10)
    # The server saw exactly those messages.
    m = echo.metrics()
    assert m["wscale_messages_received_total"] == r["sent"]


def test_echo_prints_a_table_by_default(echo):
    rc, out, err = bench("echo", "-u", echo.url, "-c", "4", "-t", "500ms", "-q")
    assert rc == 0, err
    assert out.startswith("wscale bench echo")
    for label in ("connections", "handshake", "messages", "throughput", "latency"):
        assert f"  {label}" in out
    assert "msgs/s" in out


def test_progress_line_goes_to_stderr_only(echo):
    rc, out, err = bench("echo", "-u", echo.url, "-c", "2", "-t", "1500ms", "--progress", "--json")
    assert rc == 0, err
    json.loads(out)
    assert "open 2" in err and "messages" in err


def test_fanout_across_two_backends_delivers_everything(redis, backends):
    b1 = backends("--id", "ws1", "--redis", redis.url)
    b2 = backends("--id", "ws2", "--redis", redis.url)
    r = bench_json("fanout", "-u", f"{b1.url},{b2.url}", "-c", "50", "-p", "5", "-r", "200",
                   "-t", "3s")
    assert_fanout_complete(r, 50)
    assert r["publishers"] == 5 and r["rate"] == 200 and r["size"] == 64
    # Clients took the two URLs in turn.
    for b in (b1, b2):
        assert b.metrics()["wscale_websockets_total"] == 25


def test_fanout_through_the_lb(tutorial):
    r = bench_json("fanout", "-u", tutorial.url, "-c", "50", "-p", "5", "-r", "200", "-t", "3s")
    assert_fanout_complete(r, 50)
    # Round-robin spread the clients over the four backends.
    assert sum(b.metrics()["wscale_websockets_total"] for b in tutorial.backends) == 50


def test_fanout_over_two_processes_gives_the_same_totals(redis, backends):
    b1 = backends("--id", "ws1", "--redis", redis.url)
    b2 = backends("--id", "ws2", "--redis", redis.url)
    r = bench_json("fanout", "-u", f"{b1.url},{b2.url}", "-c", "50", "-p", "5", "-r", "200",
                   "-t", "2s", "-P", "2")
    assert r["procs"] == 2
    assert_fanout_complete(r, 50)


def test_fanout_with_a_larger_message(chat):
    r = bench_json("fanout", "-u", chat.url, "-c", "5", "-p", "1", "-r", "50", "-s", "100k",
                   "-t", "1s")
    assert_fanout_complete(r, 5)


def test_idle_holds_500_connections_through_the_lb(backends, lbs):
    b1 = backends("--echo", "--id", "e1")
    b2 = backends("--echo", "--id", "e2")
    lb = lbs(TWO_BACKENDS_CFG, p1=b1.port, p2=b2.port)
    r = bench_json("idle", "-u", lb.url, "-c", "500", "-t", "1s", "--pid", f"{b1.pid},{b2.pid}")
    assert r["established"] == 500 and r["failed"] == 0 and r["closed_by_server"] == 0
    assert_latency_shape(r["handshake_us"], 500)
    assert r["rss_after_kib"] >= r["rss_before_kib"] > 0
    assert "rss_per_connection_bytes" in r


def test_idle_answers_pings(backends):
    b = backends("--echo", "--id", "e1", "--ping-interval", "1s")
    r = bench_json("idle", "-u", b.url, "-c", "20", "-t", "3500ms")
    # Unanswered, the second ping interval would have closed every client.
    assert r["established"] == 20 and r["closed_by_server"] == 0
    assert b.metrics()["wscale_ping_timeouts_total"] == 0


def test_idle_counts_what_the_server_closes(backends):
    b = backends("--echo", "--id", "e1", "--drain-timeout", "1s")
    p = subprocess.Popen([WSCALE, "bench", "idle", "-u", b.url, "-c", "30", "-t", "4s", "--json",
                          "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: b.metrics()['wscale_connections_open{phase="websocket"}'] == 30,
                   timeout=10, what="30 clients on the backend")
        b.stop()
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    r = json.loads(out)
    assert r["established"] == 30 and r["closed_by_server"] == 30


def test_storm_connects_1000(echo):
    r = bench_json("storm", "-u", echo.url, "-c", "1000")
    assert r["established"] == 1000 and r["failed"] == 0 and r["attempted"] == 1000
    assert r["all_up_ms"] > 0
    assert_latency_shape(r["handshake_us"], 1000)
    assert echo.metrics()["wscale_websockets_total"] == 1000


def test_storm_over_explicit_source_addresses(echo):
    r = bench_json("storm", "-u", echo.url, "-c", "40", "-P", "2", "--source", "127.0.0.2-127.0.0.5")
    assert r["established"] == 40 and r["failed"] == 0


def test_wss_through_a_tls_bind_of_the_lb(certs, backends, lbs):
    b = backends("--echo", "--id", "e1")
    lb = lbs(tls_config(certs, [b.port]))
    url = f"wss://127.0.0.1:{lb.port}/"
    r = bench_json("echo", "-u", url, "-c", "5", "-t", "1s")
    assert r["established"] == 5 and r["failed"] == 0
    assert r["echoed"] > 0
    r = bench_json("storm", "-u", url, "-c", "50")
    assert r["established"] == 50 and r["failed"] == 0


def test_refused_port_is_exit_1_with_the_reason():
    port = free_port()
    rc, out, err = bench("storm", "-u", f"ws://127.0.0.1:{port}/", "-c", "3", "-q")
    assert rc == 1 and out == ""
    assert "could not reach the target" in err and "Connection refused" in err


def test_an_upgrade_answered_without_101_is_exit_1(lbs):
    # The lb's only server refuses connections: the lb answers 503.
    lb = lbs(TWO_BACKENDS_CFG, p1=free_port(), p2=free_port())
    rc, out, err = bench("storm", "-u", lb.url, "-c", "2", "-q")
    assert rc == 1 and out == ""
    assert "answered 503" in err and "instead of 101" in err


def test_wrong_arguments_are_exit_1_naming_the_option():
    for args, words in [
        (["echo", "-u", "http://127.0.0.1:1/"], "ws:// or wss://"),
        (["fanout", "-u", "ws://127.0.0.1:1/", "-c", "2", "-p", "3"], "-p 3"),
        (["storm", "-u", "ws://127.0.0.1:1/", "-t", "1s"], "-t does not apply"),
        (["idle", "-u", "ws://127.0.0.1:1/", "-c", "100000"], "use -P"),
        (["idle"], "-u"),
    ]:
        rc, out, err = bench(*args)
        assert rc == 1, args
        assert words in err, (args, err)


def test_help_lists_the_modes():
    rc, out, err = bench("--help")
    assert rc == 0
    for mode in ("idle", "fanout", "echo", "storm", "wss://", "--procs PROCS"):
        assert mode in out
    p = subprocess.run([WSCALE, "--help"], capture_output=True, text=True, timeout=10)
    assert "bench" in p.stdout


def test_a_run_with_some_failures_still_reports_and_exits_0(echo):
    refused = f"ws://127.0.0.1:{free_port()}/"
    r = bench_json("storm", "-u", f"{echo.url},{refused}", "-c", "10")
    assert r["established"] == 5 and r["failed"] == 5 and r["attempted"] == 10
    assert refused in r["first_error"] and "Connection refused" in r["first_error"]


def test_plain_and_tls_urls_mix(certs, backends, lbs):
    b = backends("--echo", "--id", "e1")
    lb = lbs(tls_config(certs, [b.port]))
    r = bench_json("storm", "-u", f"wss://127.0.0.1:{lb.port}/,{b.url}", "-c", "20")
    assert r["established"] == 20 and r["failed"] == 0


def test_idle_with_a_connect_rate_opens_them_all(echo):
    r = bench_json("idle", "-u", echo.url, "-c", "40", "-R", "200", "-t", "200ms", "-P", "2")
    assert r["established"] == 40 and r["failed"] == 0 and r["procs"] == 2


def test_a_server_that_never_answers_the_upgrade_times_out():
    # A listening socket nobody accepts on: the kernel completes the TCP
    # handshake, and the request is never answered.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        port = s.getsockname()[1]
        rc, out, err = bench("storm", "-u", f"ws://127.0.0.1:{port}/", "-c", "3", "--timeout", "1s",
                             "-q", timeout=30)
    assert rc == 1
    assert "no 101 within 1000 ms" in err
