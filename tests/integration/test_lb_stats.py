"""The stats page, its CSV and JSON, and Prometheus metrics, fetched over
HTTP as a browser, a script or a scraper would: where they are served
(a frontend's URI, a `listen stats` section of its own port), who may see
them (stats auth), which methods they answer, and whether their numbers are
the runtime API's and right after known traffic.

Servers are `wscale backend --echo` processes; a server "DOWN" is a port
nobody listens on, with checks."""
import base64
import json
import signal
import time

from lbstats import api, http, metric, parse_csv, parse_prometheus, row, show_stat
from procs import free_port, wait_until
from test_lb_tunnel import lb_config, server_id_of_new_client

# Columns that move between two reads with no traffic: seconds since the
# last change, and a DOWN server's downtime.
MOVING = {"lastchg", "downtime"}


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def listen_stats(lines):
    """A `listen stats` section on its own port ({sport})."""
    return "listen stats\n    bind 127.0.0.1:{sport}\n" + "".join(f"    {x}\n" for x in lines)


def stack(backends, lbs, tmp_path, stats_lines, *, frontend="", extra_servers=()):
    """Two echo servers a and b behind fe/be, an admin stats socket, and a
    `listen stats` section with stats_lines. Returns (lb, socket, stats port)."""
    sock = tmp_path / "admin.sock"
    a, b = (backends("--echo", "--id", i) for i in "ab")
    servers = [f"server a 127.0.0.1:{a.port} check inter 100ms",
               f"server b 127.0.0.1:{b.port}", *extra_servers]
    sport = free_port()
    config = lb_config(servers, global_=f"stats socket {sock} level admin",
                       frontend=frontend) + listen_stats(stats_lines)
    return lbs(config, sport=sport), sock, sport


def without_stats_proxy(rows):
    """The rows that requests for the stats themselves do not change."""
    return [{k: v for k, v in r.items() if k not in MOVING} for r in rows if r["pxname"] != "stats"]


# --- where and how the page is served ----------------------------------------------------


def test_a_frontends_stats_uri_serves_the_page_csv_and_json_and_the_rest_goes_to_servers(
        backends, lbs, tmp_path):
    lb, sock, sport = stack(backends, lbs, tmp_path, ["stats enable"],
                            frontend="stats enable\nstats uri /stats\nstats refresh 5s")
    # "stats enable" alone: HAProxy's default URI.
    assert http(sport, "/haproxy?stats")[0] == 200
    assert parse_csv(http(sport, "/haproxy?stats;csv")[2])[0]["pxname"] == "fe"
    status, headers, page = http(lb.port, "/stats")
    assert status == 200 and headers["Content-Type"].startswith("text/html"), headers
    assert '<meta http-equiv="refresh" content="5">' in page
    assert 'data-proxy="be" data-server="a"' in page
    # ";norefresh" stops the self-reload; the options after the URI are HAProxy's.
    assert "http-equiv=\"refresh\"" not in http(lb.port, "/stats;norefresh")[2]

    status, headers, text = http(lb.port, "/stats;csv")
    assert status == 200 and headers["Content-Type"].startswith("text/plain"), headers
    assert [(r["pxname"], r["svname"]) for r in parse_csv(text)][:4] == [
        ("fe", "FRONTEND"), ("be", "a"), ("be", "b"), ("be", "BACKEND")]
    status, headers, text = http(lb.port, "/stats?json")
    assert status == 200 and headers["Content-Type"] == "application/json", headers
    doc = json.loads(text)
    assert doc["info"]["Name"] == "wscale"
    assert {(r["pxname"], r["svname"]) for r in doc["stats"]} >= {("be", "a"), ("be", "b")}

    # A path outside the stats URI is a request like any other.
    assert http(lb.port, "/healthz")[0] == 200
    assert row(show_stat(sock), "be", "BACKEND")["hrsp_2xx"] == "1"


def test_head_gets_the_headers_only_and_other_methods_get_405(backends, lbs, tmp_path):
    lb, _, sport = stack(backends, lbs, tmp_path, ["stats uri /"])
    status, headers, body = http(sport, "/", method="HEAD")
    assert (status, body) == (200, "")
    assert headers["Content-Type"].startswith("text/html")
    assert int(headers["Content-Length"]) > 1000  # the length of the page a GET gets
    for method in ("POST", "PUT", "DELETE"):
        status, headers, _ = http(sport, "/", method=method)
        assert status == 405, method
        assert headers["Allow"] == "GET, HEAD"
    status, _, _ = http(sport, "/;csv", method="POST")
    assert status == 405


def test_stats_auth_asks_for_a_password_and_hide_version_hides_the_version(backends, lbs,
                                                                           tmp_path):
    lines = ["stats uri /", "stats auth admin:s3cret", "stats auth ops:other",
             "stats realm Ops", "stats hide-version"]
    lb, sock, sport = stack(backends, lbs, tmp_path, lines)
    version = dict(x.split(": ", 1) for x in api(sock, "show info").splitlines() if x)["Version"]
    for headers in ({}, basic("admin", "wrong"), basic("nobody", "s3cret"),
                    {"Authorization": "Bearer s3cret"}, {"Authorization": "Basic %%%"}):
        status, answer, _ = http(sport, "/", headers=headers)
        assert status == 401, headers
        assert answer["WWW-Authenticate"] == 'Basic realm="Ops"'
        assert http(sport, "/;csv", headers=headers)[0] == 401
    for user, password in (("admin", "s3cret"), ("ops", "other")):
        status, _, page = http(sport, "/", headers=basic(user, password))
        assert status == 200 and 'data-server="a"' in page
        assert version not in page
    status, _, text = http(sport, "/?json", headers=basic("admin", "s3cret"))
    assert status == 200
    assert json.loads(text)["info"].get("Version", "") == ""


# --- the numbers --------------------------------------------------------------------------


def test_counters_after_known_traffic_agree_across_csv_json_and_show_stat(backends, lbs,
                                                                         tmp_path):
    dead = free_port()
    lb, sock, sport = stack(backends, lbs, tmp_path, ["stats uri /", "stats show-legends"],
                            extra_servers=[f"server c 127.0.0.1:{dead} check inter 100ms fall 2"])
    wait_until(lambda: row(show_stat(sock), "be", "c")["status"] == "DOWN", timeout=5,
               what="c DOWN")
    # a and b share the traffic: 10 HTTP requests and 6 tunnels.
    for _ in range(10):
        assert lb.http_get("/healthz")[0] == 200
    assert sorted(server_id_of_new_client(lb.port) for _ in range(6)) == ["a"] * 3 + ["b"] * 3
    wait_until(lambda: row(show_stat(sock), "be", "BACKEND")["tunnels_cur"] == "0", timeout=5,
               what="the tunnels closed")

    rows = show_stat(sock)
    a, c, be = row(rows, "be", "a"), row(rows, "be", "c"), row(rows, "be", "BACKEND")
    fe = row(rows, "fe", "FRONTEND")
    assert (a["stot"], a["tunnels_tot"], a["hrsp_1xx"], a["hrsp_2xx"]) == ("8", "3", "3", "5")
    assert int(a["bin"]) > 0 and int(a["bout"]) > 0
    assert (a["status"], a["check_status"]) == ("UP", "L4OK")
    assert (be["stot"], be["req_tot"], be["tunnels_tot"], be["hrsp_2xx"]) == ("16", "16", "6", "10")
    assert (fe["req_tot"], fe["hrsp_1xx"], fe["hrsp_2xx"], fe["tunnels_tot"]) == ("16", "6", "10", "6")
    assert int(fe["bin"]) == int(be["bin"]) and int(fe["bout"]) == int(be["bout"])
    assert (c["status"], c["check_status"], c["stot"]) == ("DOWN", "L4CON", "0")
    assert int(c["chkfail"]) >= 2 and c["chkdown"] == "1" and int(c["downtime"]) >= 0

    csv_rows = parse_csv(http(sport, "/;csv")[2])
    doc = json.loads(http(sport, "/?json")[2])
    again = show_stat(sock)
    assert without_stats_proxy(csv_rows) == without_stats_proxy(rows) == without_stats_proxy(again)
    json_rows = [r for r in doc["stats"] if r["pxname"] != "stats"]
    assert len(json_rows) == len(without_stats_proxy(rows))
    for csv_row, json_row in zip(without_stats_proxy(rows), json_rows):
        for k, v in csv_row.items():
            if v == "":
                assert k not in json_row, (csv_row["svname"], k)
            else:
                assert str(json_row[k]) == v, (csv_row["svname"], k, json_row[k], v)


def test_prometheus_metrics_parse_and_agree_with_show_stat_and_count_reloads(backends, lbs,
                                                                            tmp_path):
    # Braces doubled: lbs() formats the text.
    lines = ["http-request use-service prometheus-exporter if {{ path /metrics }}"]
    lb, sock, sport = stack(backends, lbs, tmp_path, lines)
    wait_until(lambda: row(show_stat(sock), "be", "a")["check_status"] == "L4OK", timeout=5,
               what="a checked")
    for _ in range(4):
        assert lb.http_get("/healthz")[0] == 200
    assert server_id_of_new_client(lb.port) in ("a", "b")
    wait_until(lambda: row(show_stat(sock), "be", "BACKEND")["tunnels_cur"] == "0", timeout=5,
               what="the tunnel closed")
    api(sock, "disable server be/b")

    status, headers, text = http(sport, "/metrics")
    assert status == 200 and "version=0.0.4" in headers["Content-Type"], headers
    fams = parse_prometheus(text)
    rows = show_stat(sock)
    fe, a, b, be = (row(rows, "fe", "FRONTEND"), row(rows, "be", "a"), row(rows, "be", "b"),
                    row(rows, "be", "BACKEND"))
    assert metric(fams, "wscale_frontend_sessions_total", proxy="fe") == int(fe["stot"])
    assert metric(fams, "wscale_frontend_bytes_in_total", proxy="fe") == int(fe["bin"])
    assert metric(fams, "wscale_frontend_http_responses_total", proxy="fe", code="2xx") == 4
    assert metric(fams, "wscale_frontend_http_responses_total", proxy="fe", code="1xx") == 1
    assert metric(fams, "wscale_backend_sessions_total", proxy="be") == int(be["stot"]) == 5
    assert metric(fams, "wscale_backend_tunnels_total", proxy="be") == 1
    for srv in (a, b):
        labels = {"proxy": "be", "server": srv["svname"]}
        assert metric(fams, "wscale_server_sessions_total", **labels) == int(srv["stot"])
        assert metric(fams, "wscale_server_bytes_out_total", **labels) == int(srv["bout"])
        assert metric(fams, "wscale_server_weight", **labels) == int(srv["weight"])
    states = {lab["state"]: v for lab, v in fams["wscale_server_status"]["samples"]
              if lab["server"] == "b"}
    assert states == {"DOWN": 0, "UP": 0, "MAINT": 1, "DRAIN": 0, "NOLB": 0}
    assert metric(fams, "wscale_server_status", proxy="be", server="a", state="UP") == 1
    assert metric(fams, "wscale_server_check_status", proxy="be", server="a", state="L4OK") == 1
    assert metric(fams, "wscale_backend_agg_server_status", proxy="be", state="MAINT") == 1
    assert fams["wscale_server_sessions_total"]["type"] == "counter"
    assert fams["wscale_server_weight"]["type"] == "gauge"
    assert metric(fams, "wscale_process_workers") == 1
    assert metric(fams, "wscale_process_reloads_total") == 0

    lb.proc.send_signal(signal.SIGUSR2)
    wait_until(lambda: "reloaded: generation 2" in lb.output(), timeout=10,
               what=f"the reload\n{lb.output()}")
    fams = parse_prometheus(http(sport, "/metrics")[2])
    assert metric(fams, "wscale_process_reloads_total") == 1
    info = dict(x.split(": ", 1) for x in api(sock, "show info").splitlines() if x)
    assert info["Reloads"] == "1"
    # The counters survive the reload; the runtime state too.
    assert metric(fams, "wscale_backend_sessions_total", proxy="be") == 5
    assert metric(fams, "wscale_server_status", proxy="be", server="b", state="MAINT") == 1


def test_a_section_without_servers_is_up_as_in_haproxy(backends, lbs, tmp_path):
    """HAProxy shows a backend DOWN only when it has servers and none is
    usable: a `listen stats` section with none is UP."""
    lines = ["stats uri /", "http-request use-service prometheus-exporter if {{ path /metrics }}"]
    _, sock, sport = stack(backends, lbs, tmp_path, lines)
    assert row(show_stat(sock), "stats", "BACKEND")["status"] == "UP"
    assert 'data-proxy="stats" data-server="BACKEND" data-status="UP"' in http(sport, "/")[2]
    fams = parse_prometheus(http(sport, "/metrics")[2])
    assert metric(fams, "wscale_backend_status", proxy="stats", state="UP") == 1
    # Never DOWN, so no DOWN transition and no downtime either.
    time.sleep(1.2)
    stats = row(show_stat(sock), "stats", "BACKEND")
    assert (stats["chkdown"], stats["downtime"]) == ("0", "0"), stats


def test_a_backend_whose_servers_all_drain_is_down_and_its_transition_counted(backends, lbs,
                                                                               tmp_path):
    """Draining servers take no balanced traffic: with all of them draining
    the backend is DOWN, and its DOWN transition and downtime are counted as
    HAProxy counts them; a server back to ready brings it UP again."""
    _, sock, _ = stack(backends, lbs, tmp_path, ["stats uri /"])
    wait_until(lambda: row(show_stat(sock), "be", "a")["status"] == "UP", timeout=5, what="a UP")
    for srv in "ab":
        assert api(sock, f"set server be/{srv} state drain").strip() == ""
    be = wait_until(lambda: (r := row(show_stat(sock), "be", "BACKEND"))["status"] == "DOWN" and r,
                    timeout=5, what="be DOWN")
    assert be["chkdown"] == "1" and int(be["lastchg"]) <= 1, be
    time.sleep(1.2)
    assert api(sock, "set server be/b state ready").strip() == ""
    be = wait_until(lambda: (r := row(show_stat(sock), "be", "BACKEND"))["status"] == "UP" and r,
                    timeout=5, what="be UP")
    assert be["chkdown"] == "1" and int(be["downtime"]) >= 1, be


def test_stats_auth_on_a_frontend_guards_the_stats_uri_only(backends, lbs, tmp_path):
    lb, _, _ = stack(backends, lbs, tmp_path, ["stats enable"],
                     frontend="stats uri /admin/stats\nstats auth ops:pw")
    assert http(lb.port, "/admin/stats")[0] == 401
    assert http(lb.port, "/admin/stats", headers=basic("ops", "pw"))[0] == 200
    # Everything else reaches the servers with no credentials asked.
    assert http(lb.port, "/healthz")[0] == 200
    assert http(lb.port, "/admin")[0] != 401


def test_with_two_workers_every_page_read_sums_both(backends, lbs, tmp_path):
    sock = tmp_path / "admin.sock"
    a = backends("--echo", "--id", "a")
    sport = free_port()
    config = lb_config([f"server a 127.0.0.1:{a.port}"],
                       global_=f"nbthread 2\nstats socket {sock} level admin") + listen_stats(
        ["stats uri /", "stats show-legends",
         "http-request use-service prometheus-exporter if {{ path /metrics }}"])
    lb = lbs(config, sport=sport)
    wait_until(lambda: len(lb.workers()) == 2, timeout=5, what="two workers")
    for _ in range(20):
        assert lb.http_get("/healthz")[0] == 200
    # 20 sessions and the fixture's readiness probe, which its worker may
    # count a moment later.
    wait_until(lambda: row(show_stat(sock), "fe", "FRONTEND")["stot"] == "21", timeout=5,
               what="21 sessions counted")
    expected = without_stats_proxy(show_stat(sock))
    assert row(expected, "be", "a")["hrsp_2xx"] == "20"
    # Each read is a new connection: the kernel hands them to either worker,
    # and each worker answers with the counters of both.
    for _ in range(6):
        assert without_stats_proxy(parse_csv(http(sport, "/;csv")[2])) == expected
        fams = parse_prometheus(http(sport, "/metrics")[2])
        assert metric(fams, "wscale_server_http_responses_total", proxy="be", server="a",
                      code="2xx") == 20
        assert metric(fams, "wscale_process_workers") == 2


def test_up_and_no_maint_options_hide_servers_as_haproxy_does(backends, lbs, tmp_path):
    """HAProxy's ";no-maint" leaves out servers in maintenance, ";up" also
    those DOWN (and not on their way back up), in every format."""
    dead = free_port()
    lb, sock, sport = stack(backends, lbs, tmp_path, ["stats uri /"],
                            extra_servers=[f"server c 127.0.0.1:{dead} check inter 100ms fall 1",
                                           f"server d 127.0.0.1:{dead} disabled"])
    wait_until(lambda: row(show_stat(sock), "be", "c")["status"] == "DOWN", timeout=5,
               what="c DOWN")

    def servers(path):
        return [r["svname"] for r in parse_csv(http(sport, path)[2]) if r["pxname"] == "be"]

    assert servers("/;csv") == ["a", "b", "c", "d", "BACKEND"]
    assert servers("/;csv;no-maint") == ["a", "b", "c", "BACKEND"]
    assert servers("/;up;csv") == ["a", "b", "BACKEND"]
    page = http(sport, "/;up")[2]
    assert 'data-server="a"' in page and 'data-server="c"' not in page
    assert 'data-server="d"' not in page
    doc = json.loads(http(sport, "/;json;no-maint")[2])
    assert [r["svname"] for r in doc["stats"] if r["pxname"] == "be"] == ["a", "b", "c", "BACKEND"]
    # The backend's own numbers still count every server.
    assert row(parse_csv(http(sport, "/;csv;up")[2]), "be", "BACKEND")["act"] == "2"
