"""Cookie persistence in `wscale lb`, HAProxy's "cookie" keyword: a client
keeping the cookie the lb set (in a 101 or in a plain response) comes back
to the same server; a dead, disabled or unknown server, or an expired
cookie, means balancing and a fresh cookie; "indirect" hides the cookie from
servers; nocache, httponly, secure, domain and attr are written as HAProxy
writes them; maxidle and maxlife use HAProxy's dates, so cookies HAProxy
issued keep working; the request log shows the cookie states.

Servers are real `wscale backend --echo` processes (their greeting and
/metrics name them) or scripted servers that show the exact request bytes.
"""
import asyncio
import re
import signal
import socket
import time

import websockets

from procs import lb_check, wait_until
from scripted_server import field, parse_head, respond, scripted, ws_accept  # noqa: F401
from test_lb_log import httplog_lines, wait_lines
from test_lb_tunnel import GREETING, Client, lb_config
from wsraw import upgrade_request

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def haproxy_date(unix_seconds):
    """A date as HAProxy writes it in a cookie (its s30tob64((t + 3) >> 2)):
    4-second units, 30 bits, 5 base64 characters, most significant first."""
    units = ((int(unix_seconds) + 3) >> 2) & 0x3FFFFFFF
    return "".join(B64[(units >> (24 - 6 * i)) & 63] for i in range(5))


def read_date(text):
    units = 0
    for ch in text:
        units = units << 6 | B64.index(ch)
    return units << 2


def echo_servers(backends, *ids, extra=""):
    """Echo backends named by ids; server lines with cookie values = ids."""
    bs = {i: backends("--echo", "--id", i) for i in ids}
    lines = [f"server {i} 127.0.0.1:{b.port} cookie {i} {extra}".rstrip() for i, b in bs.items()]
    return bs, lines


def config(servers, backend, **kw):
    return lb_config(servers, global_="log stdout", defaults="log global",
                     backend="balance roundrobin\n" + backend, **kw)


class CookieClient(Client):
    """A raw WebSocket client sending a Cookie field (or none)."""

    def __init__(self, port, cookie=None, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.status = None
        self.headers = {}
        extra = [f"Cookie: {cookie}"] if cookie is not None else []
        self.sock.sendall(upgrade_request("/", extra=extra))

    def head(self):
        raw = self._read_until(b"\r\n\r\n")
        self.status = int(raw.split(b" ", 2)[1])
        _, self.fields = parse_head(raw)
        return self.status

    def set_cookies(self):
        return field(self.fields, "set-cookie")


def tunnel(port, cookie=None):
    """Opens a tunnel with cookie; returns (server id, [Set-Cookie values])."""
    c = CookieClient(port, cookie)
    try:
        ident = c.greeting()
        return ident, c.set_cookies()
    finally:
        c.close()


def http(port, path="/metrics", cookie=None, method="GET"):
    """One request with Connection: close; returns (status, fields, body)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    if cookie is not None:
        lines.append(f"Cookie: {cookie}")
    if method == "POST":
        lines.append("Content-Length: 0")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    _, fields = parse_head(head + b"\r\n\r\n")
    return status, fields, body


def metrics_id(body):
    return re.search(rb'wscale_info\{mode="backend",id="([^"]+)"', body).group(1).decode()


def cookie_value(set_cookie, name="SRV"):
    """The value a Set-Cookie sets for name (before its first ';')."""
    first = set_cookie.split(";", 1)[0]
    n, _, v = first.partition("=")
    assert n.strip() == name, set_cookie
    return v.strip()


def terms(lb):
    return [m["term"] for m in httplog_lines(lb)]


def wait_term(lb, n):
    """The termination state of the n-th request log line (1-based)."""
    return wait_lines(lb, n)[n - 1]["term"]


# --- stickiness -----------------------------------------------------------------

def test_a_websocket_client_keeping_the_101s_cookie_sticks_for_20_reconnects(backends, lbs):
    bs, servers = echo_servers(backends, "a", "b", "c")
    lb = lbs(config(servers, "cookie SRV insert indirect nocache"))

    async def main():
        seen = set()
        for _ in range(3):  # without a cookie, round robin: every server in turn
            async with websockets.connect(lb.url) as ws:
                seen.add((await ws.recv())[len(GREETING):])
        assert seen == {"a", "b", "c"}

        async with websockets.connect(lb.url) as ws:
            first = (await ws.recv())[len(GREETING):]
            set_cookies = ws.response_headers.get_all("Set-Cookie")
        assert set_cookies == [f"SRV={first}; path=/"], set_cookies
        cookie = set_cookies[0].split(";")[0]
        for _ in range(20):
            async with websockets.connect(lb.url, extra_headers={"Cookie": cookie}) as ws:
                assert (await ws.recv())[len(GREETING):] == first
                # A valid cookie is not sent again, and a 101 is no cache matter.
                assert ws.response_headers.get_all("Set-Cookie") == []
                assert "Cache-Control" not in ws.response_headers
                await ws.send("ping")
                assert await ws.recv() == "ping"

    asyncio.run(main())
    lines = wait_lines(lb, 24)
    assert [m["term"] for m in lines] == ["--NI"] * 4 + ["--VN"] * 20, terms(lb)
    assert all(m["status"] == "101" for m in lines)


def test_plain_http_requests_stick_to_the_server_of_their_cookie(backends, lbs):
    bs, servers = echo_servers(backends, "a", "b")
    lb = lbs(config(servers, "cookie SRV insert indirect"))
    status, fields, body = http(lb.port)
    assert status == 200
    first = metrics_id(body)
    assert field(fields, "set-cookie") == [f"SRV={first}; path=/"]
    for _ in range(20):
        status, fields, body = http(lb.port, cookie=f"x=1; SRV={first}; y=2")
        assert status == 200 and metrics_id(body) == first
        assert field(fields, "set-cookie") == []
    # Without the cookie, the other server gets its turn.
    assert {metrics_id(http(lb.port)[2]) for _ in range(2)} == {"a", "b"}


# --- failover -------------------------------------------------------------------

def test_a_client_of_a_server_marked_down_by_checks_moves_with_a_fresh_cookie(backends, lbs):
    bs, servers = echo_servers(backends, "a", "b", "c")
    lb = lbs(config(servers, "cookie SRV insert indirect\noption httpchk GET /healthz\n"
                             "default-server check inter 200ms fall 1 rise 1", connect="1s"))
    first, set_cookies = tunnel(lb.port)
    cookie = set_cookies[0].split(";")[0]
    assert tunnel(lb.port, cookie) == (first, [])

    bs[first].stop(signal.SIGKILL)
    wait_until(lambda: f"server be/{first} is DOWN" in lb.output(), timeout=5,
               what=f"be/{first} DOWN\n{lb.output()}")
    now, set_cookies = tunnel(lb.port, cookie)
    assert now != first
    assert set_cookies == [f"SRV={now}; path=/"]
    assert wait_term(lb, 3) == "--DI"
    # The new cookie sticks to the new server.
    assert tunnel(lb.port, set_cookies[0].split(";")[0]) == (now, [])


def test_a_refused_persistent_connection_is_redispatched_with_a_fresh_cookie(backends, lbs):
    bs, servers = echo_servers(backends, "a", "b", "c")
    lb = lbs(config(servers, "cookie SRV insert indirect\nretries 2\noption redispatch",
                    connect="1s"))
    first, set_cookies = tunnel(lb.port)
    cookie = set_cookies[0].split(";")[0]
    bs[first].stop(signal.SIGKILL)  # no checks: the lb learns it by being refused
    now, set_cookies = tunnel(lb.port, cookie)
    assert now != first
    assert set_cookies == [f"SRV={now}; path=/"]
    line = wait_lines(lb, 2)[1]
    assert line["term"] == "--VI"  # the cookie was valid; the response got a new one
    assert line["srv"] == now


def test_without_redispatch_a_refused_persistent_request_is_not_sent_elsewhere(backends, lbs):
    bs, servers = echo_servers(backends, "a", "b")
    lb = lbs(config(servers, "cookie SRV insert\nretries 1", connect="1s"))
    first, set_cookies = tunnel(lb.port)
    bs[first].stop(signal.SIGKILL)
    c = CookieClient(lb.port, set_cookies[0].split(";")[0])
    assert c.head() == 503
    c.close()
    line = wait_lines(lb, 2)[1]
    assert line["srv"] == first and line["term"][:2] == "SC" and line["term"][2] == "V"


# --- what the cookie names ------------------------------------------------------

def test_unknown_garbage_empty_and_disabled_server_cookies_are_balanced_with_a_fresh_one(backends, lbs):
    bs, servers = echo_servers(backends, "a", "b")
    off = backends("--echo", "--id", "off")
    servers.append(f"server off 127.0.0.1:{off.port} cookie off disabled")
    lb = lbs(config(servers, "cookie SRV insert indirect"))
    cases = [("SRV=nope", "I"), ("SRV=%%%|||~", "I"), ("SRV=", "I"), ('SRV="a"', "I"),
             ("SRVX=a; XSRV=a", "N"), ("SRV", "N"), ("SRV=off", "D")]
    for n, (cookie, state) in enumerate(cases, 1):
        ident, set_cookies = tunnel(lb.port, cookie)
        assert ident in ("a", "b"), (cookie, ident)
        assert set_cookies == [f"SRV={ident}; path=/"], (cookie, set_cookies)
        assert wait_term(lb, n) == f"--{state}I", (cookie, terms(lb))


def test_servers_may_share_a_cookie_value_and_the_first_up_one_takes_it(backends, lbs):
    a = backends("--echo", "--id", "a")
    b = backends("--echo", "--id", "b")
    lb = lbs(config([f"server a 127.0.0.1:{a.port} cookie shared disabled",
                     f"server b 127.0.0.1:{b.port} cookie shared"], "cookie SRV insert"))
    assert tunnel(lb.port, "SRV=shared") == ("b", [])
    assert wait_term(lb, 1) == "--VN"


def test_a_server_without_a_cookie_value_tells_its_clients_to_drop_theirs(backends, lbs):
    a = backends("--echo", "--id", "a")
    lb = lbs(config([f"server a 127.0.0.1:{a.port}"], "cookie SRV insert httponly"))
    assert "server 'a' has no 'cookie VALUE'" in lb.output()
    status, fields, _ = http(lb.port, cookie="SRV=gone")
    assert status == 200
    assert field(fields, "set-cookie") == [
        "SRV=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/; HttpOnly"]
    assert wait_term(lb, 1) == "--II"


# --- indirect, and what servers see -----------------------------------------------

def answer_with(*headers):
    """A scripted handler answering 200 with extra response fields."""
    def handler(conn):
        conn.read_head()
        conn.read_body()
        respond(conn, 200, b"hello", headers=list(headers))
        conn.read_until_close(timeout=3)
    return handler


def server_cookie_fields(srv, index):
    return field(parse_head(srv.wait_conns(index + 1)[index].head or b"")[1], "cookie")


def test_indirect_hides_the_cookie_from_the_server_and_keeps_the_others(lbs, scripted):
    srv = scripted(answer_with())
    lb = lbs(config([f"server s1 {srv.addr} cookie s1"], "cookie SRV insert indirect"))
    requests = ["a=1; SRV=s1; b=2", "SRV=s1", "SRV=s1; $Path=/; c=3", "SRV=unknown; d=4"]
    for i, cookie in enumerate(requests):
        status, fields, _ = http(lb.port, "/", cookie=cookie)
        assert status == 200
        wait_until(lambda: len(srv.conns) > i and srv.conns[i].head, timeout=5, what="request")
    assert server_cookie_fields(srv, 0) == ["a=1; b=2"]
    assert server_cookie_fields(srv, 1) == []
    assert server_cookie_fields(srv, 2) == ["c=3"]
    assert server_cookie_fields(srv, 3) == ["d=4"]
    assert b"SRV" not in srv.received


def test_without_indirect_the_server_sees_the_cookie(lbs, scripted):
    srv = scripted(answer_with())
    lb = lbs(config([f"server s1 {srv.addr} cookie s1"], "cookie SRV insert"))
    assert http(lb.port, "/", cookie="a=1; SRV=s1")[0] == 200
    wait_until(lambda: srv.conns and srv.conns[0].head, timeout=5, what="request")
    assert server_cookie_fields(srv, 0) == ["a=1; SRV=s1"]


def test_the_servers_own_cookie_of_that_name_is_removed_in_insert_mode(lbs, scripted):
    srv = scripted(answer_with("Set-Cookie: SRV=theirs; path=/", "Set-Cookie: app=1"))
    lb = lbs(config([f"server s1 {srv.addr} cookie s1"], "cookie SRV insert"))
    _, fields, _ = http(lb.port, "/")
    assert field(fields, "set-cookie") == ["app=1", "SRV=s1; path=/"]
    _, fields, _ = http(lb.port, "/", cookie="SRV=s1")
    assert field(fields, "set-cookie") == ["app=1"]
    assert [m["term"] for m in wait_lines(lb, 2)] == ["--NI", "--VD"]


def test_indirect_hides_the_cookie_in_an_upgrade_and_the_101_carries_the_set_cookie(lbs, scripted):
    def handler(conn):
        head = conn.read_head()
        key = field(parse_head(head)[1], "sec-websocket-key")[0]
        conn.send(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: " + ws_accept(key) +
                   "\r\n\r\n").encode() + b"\x81\x05hello")
        conn.read_until_close(timeout=3)

    srv = scripted(handler)
    lb = lbs(config([f"server s1 {srv.addr} cookie s1"], "cookie SRV insert indirect nocache"))
    c = CookieClient(lb.port, "SRV=nope; keep=1")
    assert c.head() == 101
    assert c.set_cookies() == ["SRV=s1; path=/"]
    assert field(c.fields, "upgrade") == ["websocket"]
    assert field(c.fields, "connection") == ["Upgrade"]
    assert field(c.fields, "cache-control") == []
    assert c.recv_text() == "hello"  # the bytes sent with the 101 follow it
    c.close()
    wait_until(lambda: srv.conns and srv.conns[0].head, timeout=5, what="upgrade")
    assert server_cookie_fields(srv, 0) == ["keep=1"]


# --- the Set-Cookie's attributes ----------------------------------------------------

def test_attributes_are_written_as_haproxy_writes_them(lbs, scripted):
    srv = scripted(answer_with())
    lb = lbs(config([f"server s1 {srv.addr} cookie s1"],
                    'cookie SRV insert nocache httponly secure domain .example.com '
                    'domain example.org attr SameSite=Strict attr "Priority=High"'))
    _, fields, _ = http(lb.port, "/")
    assert field(fields, "set-cookie") == [
        "SRV=s1; path=/; domain=.example.com; domain=example.org; HttpOnly; Secure; "
        "SameSite=Strict; Priority=High"]
    assert field(fields, "cache-control") == ["private"]


def test_nocache_marks_only_cacheable_responses_that_get_a_cookie(lbs, scripted):
    plain = scripted(answer_with())
    nostore = scripted(answer_with("Cache-Control: no-store"))
    public = scripted(answer_with("Cache-Control: public, max-age=60"))
    for srv, method, cookie, want in [(plain, "POST", None, []),
                                      (nostore, "GET", None, ["no-store"]),
                                      (public, "POST", None, ["public, max-age=60", "private"]),
                                      (plain, "GET", "SRV=s1", [])]:
        lb = lbs(config([f"server s1 {srv.addr} cookie s1"], "cookie SRV insert nocache"))
        _, fields, _ = http(lb.port, "/", cookie=cookie, method=method)
        assert field(fields, "cache-control") == want, (method, want)


# --- dates: maxidle and maxlife -----------------------------------------------------

def dated_config(servers, options):
    return config(servers, "cookie SRV insert indirect " + options)


def test_a_dated_cookie_from_haproxy_is_accepted_and_its_last_date_refreshed(backends, lbs):
    bs, servers = echo_servers(backends, "a", "b")
    lb = lbs(dated_config(servers, "maxidle 30m maxlife 8h"))
    now = time.time()
    first = haproxy_date(now - 3600)
    ident, set_cookies = tunnel(lb.port, f"SRV=b|{haproxy_date(now - 60)}|{first}")
    assert ident == "b"
    value = cookie_value(set_cookies[0])
    server, last, kept_first = value.split("|")
    assert server == "b" and kept_first == first
    assert abs(read_date(last) - now) <= 8
    assert wait_term(lb, 1) == "--VU"


def test_the_lbs_own_dated_cookie_comes_back_valid(backends, lbs):
    bs, servers = echo_servers(backends, "a", "b")
    lb = lbs(dated_config(servers, "maxidle 1h maxlife 1d"))
    ident, set_cookies = tunnel(lb.port)
    server, last, first = cookie_value(set_cookies[0]).split("|")
    assert server == ident and last == first
    again, set_cookies = tunnel(lb.port, "SRV=" + cookie_value(set_cookies[0]))
    assert again == ident
    if set_cookies:  # a refresh of the last date only
        assert cookie_value(set_cookies[0]).split("|")[::2] == [ident, first]
    assert wait_term(lb, 2)[2] == "V"


def test_a_cookie_idle_beyond_maxidle_is_expired_and_replaced(backends, lbs):
    bs, servers = echo_servers(backends, "a", "b")
    lb = lbs(dated_config(servers, "maxidle 30s"))
    ident, set_cookies = tunnel(lb.port, f"SRV=a|{haproxy_date(time.time() - 120)}")
    server, last = cookie_value(set_cookies[0]).split("|")
    assert server == ident and abs(read_date(last) - time.time()) <= 8
    assert wait_term(lb, 1) == "--EI"


def test_a_cookie_older_than_maxlife_is_old_and_replaced(backends, lbs):
    bs, servers = echo_servers(backends, "a", "b")
    lb = lbs(dated_config(servers, "maxidle 30m maxlife 1h"))
    now = time.time()
    ident, set_cookies = tunnel(lb.port, f"SRV=a|{haproxy_date(now)}|{haproxy_date(now - 7200)}")
    server, _, first = cookie_value(set_cookies[0]).split("|")
    assert server == ident and abs(read_date(first) - now) <= 8  # a new first date
    assert wait_term(lb, 1) == "--OI"


def test_a_date_more_than_a_day_ahead_is_refused(backends, lbs):
    bs, servers = echo_servers(backends, "a", "b")
    lb = lbs(dated_config(servers, "maxidle 30m"))
    tunnel(lb.port, f"SRV=a|{haproxy_date(time.time() + 2 * 86400)}")
    assert wait_term(lb, 1) == "--EI"


def test_an_undated_cookie_is_accepted_and_gets_its_dates(backends, lbs):
    bs, servers = echo_servers(backends, "a", "b")
    lb = lbs(dated_config(servers, "maxidle 30m maxlife 1h"))
    ident, set_cookies = tunnel(lb.port, "SRV=b")
    assert ident == "b" and cookie_value(set_cookies[0]).startswith("b|")
    assert wait_term(lb, 1) == "--VU"


def test_dates_are_dropped_once_maxidle_and_maxlife_are_gone(backends, lbs):
    bs, servers = echo_servers(backends, "a", "b")
    lb = lbs(dated_config(servers, ""))
    now = time.time()
    assert tunnel(lb.port, f"SRV=b|{haproxy_date(now)}|{haproxy_date(now)}") == \
        ("b", ["SRV=b; path=/"])
    assert wait_term(lb, 1) == "--VU"


def test_the_lbs_cookie_expires_after_maxidle_of_real_time(backends, lbs):
    """maxidle 1s: the date the lb writes is rounded up to 4 seconds, so the
    cookie expires within 1 + 4 seconds of being issued."""
    bs, servers = echo_servers(backends, "a", "b")
    lb = lbs(dated_config(servers, "maxidle 1s"))
    ident, set_cookies = tunnel(lb.port)
    cookie = "SRV=" + cookie_value(set_cookies[0])
    deadline = time.monotonic() + 8
    n = 1
    while time.monotonic() < deadline:
        time.sleep(0.5)
        tunnel(lb.port, cookie)
        n += 1
        if wait_term(lb, n) == "--EI":
            break
    else:
        raise AssertionError(f"never expired: {terms(lb)}")
    assert wait_term(lb, 2)[:3] == "--V"  # valid at first (refreshed or not: 4-second dates)


# --- passive mode ---------------------------------------------------------------------

def test_passive_cookie_set_by_the_server_selects_it_and_is_passed_on(lbs, scripted):
    s1 = scripted(answer_with("Set-Cookie: JSESSIONID=s1; path=/"))
    s2 = scripted(answer_with("Set-Cookie: JSESSIONID=s2; path=/"))
    lb = lbs(config([f"server s1 {s1.addr} cookie s1", f"server s2 {s2.addr} cookie s2"],
                    "cookie JSESSIONID"))
    for _ in range(3):
        status, fields, _ = http(lb.port, "/", cookie="JSESSIONID=s2")
        assert status == 200 and field(fields, "set-cookie") == ["JSESSIONID=s2; path=/"]
    assert len(s2.conns) == 3 and not s1.conns
    assert [m["term"] for m in wait_lines(lb, 3)] == ["--VP"] * 3


def test_passive_indirect_removes_the_servers_cookie_for_a_client_that_has_it(lbs, scripted):
    s1 = scripted(answer_with("Set-Cookie: JSESSIONID=s1; path=/"))
    lb = lbs(config([f"server s1 {s1.addr} cookie s1"], "cookie JSESSIONID indirect"))
    assert field(http(lb.port, "/")[1], "set-cookie") == ["JSESSIONID=s1; path=/"]
    assert field(http(lb.port, "/", cookie="JSESSIONID=s1")[1], "set-cookie") == []
    wait_until(lambda: len(s1.conns) == 2 and s1.conns[1].head, timeout=5, what="requests")
    assert server_cookie_fields(s1, 1) == ["JSESSIONID=s1"]  # only "insert indirect" strips it
    assert [m["term"] for m in wait_lines(lb, 2)] == ["--NP", "--VD"]


# --- queueing on the persistent server ---------------------------------------------------

def test_a_persistent_request_waits_for_its_full_server_without_holding_up_others(backends, lbs):
    a = backends("--echo", "--id", "a")
    b = backends("--echo", "--id", "b")
    lb = lbs(config([f"server a 127.0.0.1:{a.port} cookie a maxconn 1",
                     f"server b 127.0.0.1:{b.port} cookie b"],
                    "cookie SRV insert\ntimeout queue 5s"))
    holder = CookieClient(lb.port, "SRV=a")
    assert holder.greeting() == "a"
    waiter = CookieClient(lb.port, "SRV=a")  # a is full: it waits for a
    time.sleep(0.3)
    waiter.sock.settimeout(0.2)
    try:
        got = waiter.sock.recv(100)
    except socket.timeout:
        got = None
    assert got is None, f"answered while a was full: {got!r}"
    # Others are not held up: balancing still finds b.
    assert [tunnel(lb.port)[0] for _ in range(2)] == ["b", "b"]
    holder.close()
    waiter.sock.settimeout(5)
    assert waiter.greeting() == "a"
    waiter.close()
    to_a = wait_until(lambda: (lambda ls: ls if len(ls) >= 2 else None)(
        [m for m in httplog_lines(lb) if m["srv"] == "a"]), timeout=5, what="both tunnels to a logged")
    assert int(to_a[-1]["Tw"]) >= 300 and to_a[-1]["term"] == "--VN", [m.group(0) for m in to_a]


# --- logging ------------------------------------------------------------------------

def test_without_a_cookie_the_log_keeps_dashes(backends, lbs):
    bs, servers = echo_servers(backends, "a")
    lb = lbs(config([s.replace(" cookie a", "") for s in servers], ""))
    tunnel(lb.port, "SRV=a")
    http(lb.port)
    assert [m["term"] for m in wait_lines(lb, 2)] == ["----", "----"]


def test_an_answer_of_the_lbs_own_shows_the_request_cookie_state(lbs):
    lb = lbs(config(["server down 127.0.0.1:1 cookie down"],
                    "cookie SRV insert\nretries 0", connect="1s"))
    status, fields, _ = http(lb.port, "/", cookie="SRV=down")
    assert status == 503 and field(fields, "set-cookie") == []
    assert wait_term(lb, 1) == "SCVN"


# --- the configuration, checked end to end -------------------------------------------

CHECK_CFG = """\
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fe
    bind 127.0.0.1:18080
    default_backend be
backend be
    cookie SRV insert indirect {option}
    server s1 127.0.0.1:18081 cookie s1
    server s2 127.0.0.1:18082
"""


def test_the_check_refuses_what_wscale_does_not_implement_at_its_line(tmp_path):
    r = lb_check(tmp_path, CHECK_CFG.format(option="rewrite"))
    assert r.returncode == 1, r.stderr
    path = tmp_path / "check.cfg"
    assert f"{path}:10: cookie option 'rewrite' is not supported by wscale (supported: insert, " \
        "indirect, nocache, httponly, secure, maxidle, maxlife, domain, attr)" in r.stderr, r.stderr


def test_the_check_warns_about_a_server_without_a_cookie_value(tmp_path):
    r = lb_check(tmp_path, CHECK_CFG.format(option="nocache"))
    assert r.returncode == 0, r.stderr
    path = tmp_path / "check.cfg"
    assert f"{path}:12: warning: server 's2' has no 'cookie VALUE' while backend 'be' uses " \
        "cookie 'SRV': its clients cannot stick to it" in r.stderr, r.stderr
