"""The request log of `wscale lb`: with `log stdout` in global and `log
global` in defaults, one line per request or tunnel in HAProxy's httplog
layout (configuration.txt 8.2.3) with bytes both ways, as the README
documents (the bytes from the client stand where HAProxy shows its captured
request cookie; the response cookie slot is "-"):

  client:port [date] frontend backend/server Tq/Tw/Tc/Tr/Tt status
  bytes-to-client bytes-from-client - termination-state
  actconn/feconn/beconn/srvconn/retries srvq/bkq "request"

The lb's output file (stdout and stderr) is what is read.
"""
import datetime
import re
import socket
import time

from procs import port_open, free_port, wait_until
from scripted_server import answer_ok, scripted  # noqa: F401
from wsraw import RawWS

HTTPLOG = re.compile(
    r'(?P<cip>[0-9a-f.:\[\]]+):(?P<cport>\d+) '
    r'\[(?P<date>\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2}\.\d{3})\] '
    r'(?P<fe>\S+) (?P<be>[^/\s]+)/(?P<srv>\S+) '
    r'(?P<TR>-?\d+)/(?P<Tw>-?\d+)/(?P<Tc>-?\d+)/(?P<Tr>-?\d+)/(?P<Ta>-?\d+) '
    r'(?P<status>-?\d+) (?P<bytes>\d+) (?P<bytes_in>\d+) - (?P<term>\S{4}) '
    r'(?P<ac>\d+)/(?P<fc>\d+)/(?P<bc>\d+)/(?P<sc>\d+)/(?P<rc>\d+) (?P<sq>\d+)/(?P<bq>\d+) '
    r'"(?P<request>[^"]*)"$')

LOG_CFG = """
global
    log stdout
defaults
    mode http
    log global
    timeout client 5s
    timeout server {server_timeout}
    timeout connect 2s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    server s1 {srv}{srv_opts}
"""


def logged_lb(lbs, srv, srv_opts="", server_timeout="5s"):
    return lbs(LOG_CFG, srv=srv, srv_opts=srv_opts, server_timeout=server_timeout)


def httplog_lines(lb):
    return [m for m in (HTTPLOG.search(line) for line in lb.output().splitlines()) if m]


def wait_lines(lb, n=1, timeout=5.0):
    return wait_until(lambda: (lambda ls: ls if len(ls) >= n else None)(httplog_lines(lb)),
                      timeout=timeout, what=f"{n} request log line(s):\n{lb.output()}")


def request(port, data):
    """Sends data, reads until the lb closes; returns (client port, bytes read)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return s.getsockname()[1], got
            got += chunk


def test_a_plain_request_logs_one_line_with_every_field(lbs, echo):
    lb = logged_lb(lbs, f"127.0.0.1:{echo.port}")
    sent = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    cport, got = request(lb.port, sent)
    assert got.startswith(b"HTTP/1.1 200 ")
    time.sleep(0.2)  # any second line would be there by now
    lines = wait_lines(lb)
    assert len(lines) == 1, lb.output()
    m = lines[0]
    assert (m["cip"], int(m["cport"])) == ("127.0.0.1", cport)
    logged = datetime.datetime.strptime(m["date"], "%d/%b/%Y:%H:%M:%S.%f")
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    assert abs((now - logged).total_seconds()) < 300, (m["date"], now)
    assert (m["fe"], m["be"], m["srv"]) == ("fe", "be", "s1")
    timers = [int(m[k]) for k in ("TR", "Tw", "Tc", "Tr", "Ta")]
    assert all(t >= 0 for t in timers), timers  # served: every phase happened
    assert timers[4] >= max(timers[:4]), timers
    assert int(m["status"]) == 200
    assert int(m["bytes"]) == len(got)  # what the client received
    assert int(m["bytes_in"]) == len(sent)  # what it sent
    assert m["rc"] == "0"
    assert m["term"] == "----"
    assert m["request"] == "GET /healthz HTTP/1.1"


def test_a_tunnel_closed_by_the_client_logs_status_101_and_its_request_line(lbs, echo):
    lb = logged_lb(lbs, f"127.0.0.1:{echo.port}")
    ws = RawWS(lb.port)
    assert ws.recv_text() == "Connected successfully to server echo"
    ws.close()  # the client goes away without a close frame
    m = wait_lines(lb)[0]
    assert int(m["status"]) == 101
    assert m["request"] == "GET / HTTP/1.1"
    assert (m["be"], m["srv"]) == ("be", "s1")
    assert m["term"][:2] in ("--", "CD"), m["term"]


def test_a_503_without_a_server_logs_nosrv_and_SC(lbs, echo):
    lb = logged_lb(lbs, f"127.0.0.1:{echo.port}", srv_opts=" disabled")
    _, got = request(lb.port, b"GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert got.startswith(b"HTTP/1.1 503 ")
    m = wait_lines(lb)[0]
    assert int(m["status"]) == 503
    assert (m["be"], m["srv"]) == ("be", "<NOSRV>")
    assert m["term"][:2] == "SC"
    assert m["request"] == "GET /x HTTP/1.1"


def test_a_server_refusing_connections_logs_SC_three_retries_and_no_connect_time(lbs):
    closed = free_port()
    assert not port_open(closed)
    lb = logged_lb(lbs, f"127.0.0.1:{closed}")  # retries: 3, HAProxy's default
    _, got = request(lb.port, b"GET /r HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert got.startswith(b"HTTP/1.1 503 ")
    m = wait_lines(lb)[0]
    assert int(m["status"]) == 503
    assert (m["be"], m["srv"]) == ("be", "s1")
    assert m["term"][:2] == "SC"
    # HAProxy (configuration.txt 8.2.3): "retries" counts the retries (3, after
    # 4 attempts), and Tc is -1 when the connection never established.
    assert (int(m["rc"]), int(m["Tc"]), int(m["Tr"])) == (3, -1, -1), m.group(0)


def test_a_504_logs_sH(lbs, scripted):  # noqa: F811
    def silent(conn):
        conn.read_head()
        conn.read_until_close(timeout=10)

    srv = scripted(silent, timeout=10)
    lb = logged_lb(lbs, srv.addr, server_timeout="1s")
    _, got = request(lb.port, b"GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert got.startswith(b"HTTP/1.1 504 ")
    m = wait_lines(lb)[0]
    assert int(m["status"]) == 504
    assert m["term"][:2] == "sH"
    assert (m["be"], m["srv"]) == ("be", "s1")


def test_a_400_logs_PR(lbs, echo):
    lb = logged_lb(lbs, f"127.0.0.1:{echo.port}")
    _, got = request(lb.port, b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n")  # no Host
    assert got.startswith(b"HTTP/1.1 400 ")
    m = wait_lines(lb)[0]
    assert int(m["status"]) == 400
    assert m["term"][:2] == "PR"


def test_a_frontend_without_a_log_line_logs_no_traffic(lbs, echo):
    quiet = free_port()
    lb = lbs("""
global
    log stdout
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 2s
frontend quiet
    bind 127.0.0.1:{quiet}
    default_backend be
frontend loud
    bind 127.0.0.1:{port}
    log global
    default_backend be
backend be
    server s1 127.0.0.1:{p}
""", quiet=quiet, p=echo.port)
    wait_until(lambda: port_open(quiet), timeout=5, what="the quiet frontend")
    for _ in range(3):
        _, got = request(quiet, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert got.startswith(b"HTTP/1.1 200 ")
    _, got = request(quiet, b"GET / HTTP/1.1\r\n\r\n")  # a 400, not logged either
    assert got.startswith(b"HTTP/1.1 400 ")
    # The loud frontend, served after them, proves logging works in this process.
    _, got = request(lb.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert got.startswith(b"HTTP/1.1 200 ")
    lines = wait_lines(lb)
    time.sleep(0.2)
    lines = httplog_lines(lb)
    assert [m["fe"] for m in lines] == ["loud"], lb.output()


def test_a_refused_request_after_a_served_one_logs_no_server(lbs, scripted):
    """On a kept-alive connection, a request refused before any server is
    chosen must not be logged with the previous request's server."""
    srv = scripted(answer_ok)
    lb = logged_lb(lbs, f"127.0.0.1:{srv.port}")
    with socket.create_connection(("127.0.0.1", lb.port), timeout=5) as s:
        s.sendall(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(4096)
        s.sendall(b"GET /two HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n")
        while s.recv(4096):
            pass
    lines = wait_lines(lb, 2)
    assert lines[0]["srv"] == "s1" and lines[0]["status"] == "200"
    assert lines[1]["status"] == "400" and lines[1]["srv"] == "<NOSRV>"
