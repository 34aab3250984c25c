"""The HTTP phase of `wscale lb`, seen from both ends: what a server receives
(request rewriting, bodies), what a client receives (keep-alive, framing,
the lb's own error answers), the WebSocket upgrade and its defence against
smuggled tunnels, retries, and the http-request timeout.

References: RFC 9112 (HTTP/1.1 messages), RFC 9110 7.6.1 (hop-by-hop
fields), RFC 6455 4 (the opening handshake), and HAProxy's behaviour in
http-server-close mode (configuration.txt: option forwardfor, option
redispatch, retries, timeouts, tune.bufsize).
"""
import asyncio
import base64
import hashlib
import os
import random
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import websockets

from procs import free_port, port_open
from scripted_server import answer_ok, field, parse_head, ws_accept
from scripted_server import scripted  # noqa: F401 -- the fixture

DEFAULTS = """
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 2s
"""

ONE_SERVER_CFG = """
frontend fe
    bind 127.0.0.1:{port}
    mode http
    timeout client 5s
    {fe_extra}
    default_backend be
backend be
    mode http
    timeout server 5s
    timeout connect 2s
    {be_extra}
    server s1 {srv}
"""


def one_server(lbs, srv_addr, fe_extra="", be_extra="", global_extra=""):
    cfg = ONE_SERVER_CFG
    if global_extra:
        cfg = "global\n    " + global_extra + "\n" + cfg
    return lbs(cfg, srv=srv_addr, fe_extra=fe_extra, be_extra=be_extra)


def head(*lines):
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def new_key():
    return base64.b64encode(os.urandom(16)).decode()


def upgrade_head(key, path="/", extra=()):
    return head(f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket",
                "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                "Sec-WebSocket-Version: 13", *extra)


class Response:
    def __init__(self, status, headers, body, raw_head):
        self.status, self.headers, self.body, self.raw_head = status, headers, body, raw_head

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return f"<Response {self.status} {self.raw_head!r} body={self.body[:200]!r}>"


class Client:
    """A raw HTTP/1.1 client on one connection, reading responses by their
    framing (Content-Length, chunked, or until the close)."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.received = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("the lb closed the connection")
        self.received += chunk
        self.buf += chunk

    def _read_until(self, marker):
        while marker not in self.buf:
            self._fill()
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def _read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_head(self):
        raw = self._read_until(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        return status, headers, raw

    def read_response(self, head_request=False):
        status, headers, raw = self.read_head()
        if head_request or status in (204, 304) or status < 200:
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = b""
            while True:
                size = int(self._read_until(b"\r\n").split(b";")[0], 16)
                if size == 0:
                    while self._read_until(b"\r\n") != b"\r\n":
                        pass
                    break
                body += self._read_exact(size)
                assert self._read_exact(2) == b"\r\n"
        elif "content-length" in headers:
            body = self._read_exact(int(headers["content-length"]))
        else:
            body = self.read_until_close()
        return Response(status, headers, body, raw)

    def read_until_close(self):
        try:
            while True:
                self._fill()
        except (EOFError, ConnectionResetError):
            pass
        out, self.buf = self.buf, b""
        return out

    def closed_within(self, seconds):
        """True if the lb closes the connection (FIN or reset) within
        `seconds` without sending anything more."""
        self.sock.settimeout(seconds)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        self.received += chunk
        return chunk == b""

    def close(self):
        self.sock.close()


def exchange(port, data, head_request=False):
    """One request on a fresh connection; returns the first response."""
    c = Client(port)
    try:
        c.send(data)
        return c.read_response(head_request)
    finally:
        c.close()


def assert_lb_answer(rsp, status):
    """An answer of the lb's own, the HAProxy way: the status, a short HTML
    body naming it, and Connection: close."""
    assert rsp.status == status, rsp
    assert rsp.header("content-type") == "text/html", rsp
    assert rsp.header("connection", ) == "close", rsp
    assert rsp.body.startswith(b"<html>") and f"<h1>{status} ".encode() in rsp.body, rsp
    assert len(rsp.body) < 512, rsp


def lb_error(port, data, status):
    """Sends data on a fresh connection, expects the lb's own `status` answer
    and the connection closed after it."""
    c = Client(port)
    try:
        c.send(data)
        rsp = c.read_response()
        assert_lb_answer(rsp, status)
        assert c.closed_within(3), "the lb kept the connection open after its error answer"
        return rsp
    finally:
        c.close()


def server_head(srv, index=0):
    """The request head the scripted server's connection `index` received."""
    conn = srv.wait_conns(index + 1)[index]
    srv.wait_done()
    assert conn.head is not None, f"no complete head: {conn.received!r}"
    return parse_head(conn.head)


# ---- request rewriting ------------------------------------------------------


def test_request_line_and_end_to_end_fields_reach_the_server_with_connection_close(lbs, scripted):
    srv = scripted(answer_ok)
    lb = one_server(lbs, srv.addr)
    rsp = exchange(lb.port, head("GET /some/path?a=1&b=2 HTTP/1.1", "Host: example.test",
                                 "User-Agent: probe/1.0", "X-Custom: one two",
                                 "Accept: */*"))
    assert rsp.status == 200 and rsp.body == b"hello"
    line, fields = server_head(srv)
    assert line == "GET /some/path?a=1&b=2 HTTP/1.1"
    assert field(fields, "host") == ["example.test"]
    assert field(fields, "user-agent") == ["probe/1.0"]
    assert field(fields, "x-custom") == ["one two"]
    assert field(fields, "accept") == ["*/*"]
    # http-server-close: every server connection carries one request.
    assert field(fields, "connection") == ["close"]
    assert field(fields, "x-forwarded-proto") == ["http"]
    assert field(fields, "x-forwarded-for") == []


def test_hop_by_hop_fields_and_those_named_in_connection_are_not_forwarded(lbs, scripted):
    srv = scripted(answer_ok)
    lb = one_server(lbs, srv.addr)
    rsp = exchange(lb.port, head("GET / HTTP/1.1", "Host: 127.0.0.1",
                                 "Connection: keep-alive, X-Hop-Secret",
                                 "Keep-Alive: timeout=5", "Proxy-Connection: keep-alive",
                                 "TE: trailers", "X-Hop-Secret: do-not-forward",
                                 "X-End-To-End: forward-me"))
    assert rsp.status == 200
    _, fields = server_head(srv)
    names = [n.lower() for n, _ in fields]
    for hop in ("keep-alive", "proxy-connection", "te", "x-hop-secret"):
        assert hop not in names, fields
    assert field(fields, "connection") == ["close"]
    assert field(fields, "x-end-to-end") == ["forward-me"]


def test_x_forwarded_proto_sent_by_the_client_is_replaced_by_http(lbs, scripted):
    srv = scripted(answer_ok)
    lb = one_server(lbs, srv.addr)
    exchange(lb.port, head("GET / HTTP/1.1", "Host: 127.0.0.1", "X-Forwarded-Proto: https"))
    _, fields = server_head(srv)
    assert field(fields, "x-forwarded-proto") == ["http"]


@pytest.mark.parametrize("where", ["frontend", "backend", "nowhere"])
def test_x_forwarded_for_is_added_when_forwardfor_is_set_in_frontend_or_backend(lbs, scripted, where):
    srv = scripted(answer_ok)
    lb = one_server(lbs, srv.addr,
                    fe_extra="option forwardfor" if where == "frontend" else "",
                    be_extra="option forwardfor" if where == "backend" else "")
    exchange(lb.port, head("GET / HTTP/1.1", "Host: 127.0.0.1"))
    _, fields = server_head(srv)
    assert field(fields, "x-forwarded-for") == ([] if where == "nowhere" else ["127.0.0.1"])


def test_x_forwarded_for_is_appended_after_the_clients_own(lbs, scripted):
    srv = scripted(answer_ok)
    lb = one_server(lbs, srv.addr, fe_extra="option forwardfor")
    exchange(lb.port, head("GET / HTTP/1.1", "Host: 127.0.0.1", "X-Forwarded-For: 10.1.2.3"))
    _, fields = server_head(srv)
    assert field(fields, "x-forwarded-for") == ["10.1.2.3", "127.0.0.1"]


# ---- the WebSocket upgrade ----------------------------------------------------


def test_upgrade_fields_reach_the_server_and_a_valid_101_opens_a_raw_tunnel(lbs, scripted):
    def handler(conn):
        h = conn.read_head()
        key = field(parse_head(h)[1], "sec-websocket-key")[0]
        conn.send(head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket",
                       "Connection: Upgrade", f"Sec-WebSocket-Accept: {ws_accept(key)}")
                  + b"raw\x00from\xffserver")
        got = conn.read_exact(len(b"raw\x00from\xffclient"))
        conn.send(b"echo:" + got)
        conn.read_until_close(timeout=3)

    srv = scripted(handler)
    lb = one_server(lbs, srv.addr)
    key = new_key()
    c = Client(lb.port)
    try:
        c.send(upgrade_head(key, path="/chat?room=1"))
        status, headers, _ = c.read_head()
        assert status == 101
        assert headers["sec-websocket-accept"] == ws_accept(key)
        assert c._read_exact(len(b"raw\x00from\xffserver")) == b"raw\x00from\xffserver"
        c.send(b"raw\x00from\xffclient")  # not WebSocket frames: the tunnel does not care
        assert c._read_exact(len(b"echo:raw\x00from\xffclient")) == b"echo:raw\x00from\xffclient"
    finally:
        c.close()
    line, fields = server_head(srv)
    assert line == "GET /chat?room=1 HTTP/1.1"
    assert field(fields, "upgrade") == ["websocket"]
    assert field(fields, "connection") == ["Upgrade"]
    assert field(fields, "sec-websocket-key") == [key]
    assert field(fields, "sec-websocket-version") == ["13"]


def test_websocket_echo_through_the_lb_to_a_real_backend(lbs, echo):
    lb = one_server(lbs, f"127.0.0.1:{echo.port}")

    async def main():
        async with websockets.connect(lb.url, open_timeout=5) as ws:
            assert await asyncio.wait_for(ws.recv(), 5) == "Connected successfully to server echo"
            await ws.send("hello through the lb")
            assert await asyncio.wait_for(ws.recv(), 5) == "hello through the lb"
            await ws.send(b"\x00\x01binary\xff")
            assert await asyncio.wait_for(ws.recv(), 5) == b"\x00\x01binary\xff"
    asyncio.run(asyncio.wait_for(main(), 20))


@pytest.mark.parametrize("body_fields,body", [
    (["Content-Length: 5"], b"hello"),
    (["Transfer-Encoding: chunked"], b"5\r\nhello\r\n0\r\n\r\n"),
], ids=["content-length", "chunked"])
def test_an_upgrade_request_with_a_body_is_400_and_never_reaches_the_server(lbs, scripted,
                                                                            body_fields, body):
    srv = scripted(answer_ok)
    lb = one_server(lbs, srv.addr)
    lb_error(lb.port, upgrade_head(new_key(), extra=body_fields) + body, 400)
    time.sleep(0.2)
    assert srv.conns == [] and srv.received == b""


# ---- WebSocket smuggling defence ---------------------------------------------


def bad_101_wrong_accept(key):
    return head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
                f"Sec-WebSocket-Accept: {ws_accept(key + 'x')}")


def bad_101_no_upgrade(key):
    return head("HTTP/1.1 101 Switching Protocols", "Connection: Upgrade",
                f"Sec-WebSocket-Accept: {ws_accept(key)}")


@pytest.mark.parametrize("case", ["wrong-accept", "no-upgrade-field", "101-to-a-plain-get"])
def test_a_101_that_does_not_complete_the_clients_handshake_is_502_and_no_tunnel(lbs, scripted, case):
    key = new_key()

    def handler(conn):
        conn.read_head()
        answer = bad_101_no_upgrade(key) if case == "no-upgrade-field" else bad_101_wrong_accept(key)
        if case == "101-to-a-plain-get":
            answer = head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket",
                          "Connection: Upgrade", f"Sec-WebSocket-Accept: {ws_accept(key)}")
        conn.send(answer + b"SERVER-TUNNEL-BYTES")
        conn.read_until_close(timeout=4)

    srv = scripted(handler)
    lb = one_server(lbs, srv.addr)
    request = (head("GET / HTTP/1.1", "Host: 127.0.0.1") if case == "101-to-a-plain-get"
               else upgrade_head(key))
    c = Client(lb.port)
    try:
        c.send(request)
        rsp = c.read_response()
        assert_lb_answer(rsp, 502)
        try:
            c.send(b"GET /smuggled HTTP/1.1\r\nHost: internal\r\n\r\nSMUGGLED")
        except OSError:
            pass  # already closed: fine
        assert c.closed_within(3), "the lb kept the connection open after a refused 101"
        assert b"SERVER-TUNNEL-BYTES" not in c.received
    finally:
        c.close()
    srv.wait_done()
    assert len(srv.conns) == 1
    assert b"SMUGGLED" not in srv.received and b"/smuggled" not in srv.received


# ---- keep-alive on the client side -------------------------------------------


@pytest.mark.parametrize("n", [2, 5])
def test_requests_on_one_kept_alive_client_connection_each_get_their_response(lbs, echo, n):
    lb = one_server(lbs, f"127.0.0.1:{echo.port}")
    c = Client(lb.port)
    try:
        for i in range(n):
            path = "/healthz" if i % 2 == 0 else "/missing"
            c.send(head(f"GET {path} HTTP/1.1", "Host: 127.0.0.1"))
            rsp = c.read_response()
            assert rsp.status == (200 if path == "/healthz" else 404), (i, rsp)
            assert rsp.body == (b"ok\n" if path == "/healthz" else b"not found\n")
            assert rsp.header("connection") != "close", rsp
    finally:
        c.close()


def test_connection_close_from_the_client_closes_after_the_response(lbs, echo):
    lb = one_server(lbs, f"127.0.0.1:{echo.port}")
    c = Client(lb.port)
    try:
        c.send(head("GET /healthz HTTP/1.1", "Host: 127.0.0.1", "Connection: close"))
        rsp = c.read_response()
        assert rsp.status == 200 and rsp.body == b"ok\n"
        assert rsp.header("connection") == "close"
        assert c.closed_within(3)
    finally:
        c.close()


def test_an_http10_request_gets_its_response_then_the_close(lbs, echo):
    lb = one_server(lbs, f"127.0.0.1:{echo.port}")
    c = Client(lb.port)
    try:
        c.send(b"GET /healthz HTTP/1.0\r\n\r\n")  # HTTP/1.0 needs no Host
        rsp = c.read_response()
        assert rsp.status == 200 and rsp.body == b"ok\n"
        assert c.closed_within(3)
    finally:
        c.close()


def test_pipelined_requests_get_their_responses_in_order(lbs, echo):
    lb = one_server(lbs, f"127.0.0.1:{echo.port}")
    c = Client(lb.port)
    try:
        c.send(head("GET /missing HTTP/1.1", "Host: 127.0.0.1")
               + head("GET /healthz HTTP/1.1", "Host: 127.0.0.1"))
        first, second = c.read_response(), c.read_response()
        assert (first.status, first.body) == (404, b"not found\n")
        assert (second.status, second.body) == (200, b"ok\n")
    finally:
        c.close()


# ---- bodies --------------------------------------------------------------------

BIG = random.Random(9112).randbytes(200_000)


class Origin(BaseHTTPRequestHandler):
    """A real HTTP server (Python's http.server) with a few resources."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status, body=b"", headers=(), length=True):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        digest = hashlib.sha256(body).hexdigest().encode()
        self._send(200, digest)

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.send_header("Content-Type", "text/plain")
        self.end_headers()

    def do_GET(self):
        if self.path == "/big":
            self._send(200, BIG)
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(BIG), 7000):
                part = BIG[i:i + 7000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\nX-Trailer: end\r\n\r\n")
        elif self.path == "/until-close":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            self.wfile.write(BIG)
            self.close_connection = True
        elif self.path == "/204":
            self._send(204, length=False)
        elif self.path == "/304":
            self._send(304, headers=[("ETag", '"v1"')], length=False)
        else:
            self._send(200, b"plain")


@pytest.fixture
def origin():
    """Python's ThreadingHTTPServer with Origin, on a free port; returns its address."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield f"127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()
    t.join(5)


def test_a_post_body_of_100000_bytes_reaches_the_server_intact(lbs, origin):
    lb = one_server(lbs, origin)
    body = random.Random(1).randbytes(100_000)
    c = Client(lb.port)
    try:
        c.send(head("POST /upload HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}",
                    "Content-Type: application/octet-stream") + body)
        rsp = c.read_response()
        assert rsp.status == 200
        assert rsp.body == hashlib.sha256(body).hexdigest().encode()
    finally:
        c.close()


def test_a_chunked_request_body_reaches_the_server_byte_exact_and_alone(lbs, scripted):
    srv = scripted(answer_ok)
    lb = one_server(lbs, srv.addr)
    chunked = (b"5\r\nhello\r\n" b"1;ext=1\r\n \r\n" b"a\r\n0123456789\r\n"
               b"0\r\nX-Trailer: t\r\n\r\n")
    c = Client(lb.port)
    try:
        c.send(head("POST /chunks HTTP/1.1", "Host: 127.0.0.1", "Transfer-Encoding: chunked")
               + chunked + head("GET /second HTTP/1.1", "Host: 127.0.0.1"))
        first, second = c.read_response(), c.read_response()
        assert first.status == 200 and second.status == 200
    finally:
        c.close()
    conns = srv.wait_conns(2)
    srv.wait_done()
    first_bytes = conns[0].received
    line, fields = parse_head(conns[0].head)
    assert line == "POST /chunks HTTP/1.1"
    assert field(fields, "transfer-encoding") == ["chunked"]
    # Exactly head + body: nothing of the pipelined request is mixed in.
    assert first_bytes == conns[0].head + chunked
    assert parse_head(conns[1].head)[0] == "GET /second HTTP/1.1"


def test_a_chunked_response_is_delivered_intact_and_the_connection_goes_on(lbs, origin):
    lb = one_server(lbs, origin)
    c = Client(lb.port)
    try:
        c.send(head("GET /chunked HTTP/1.1", "Host: 127.0.0.1"))
        rsp = c.read_response()
        assert rsp.status == 200 and rsp.header("transfer-encoding") == "chunked"
        assert hashlib.sha256(rsp.body).digest() == hashlib.sha256(BIG).digest()
        c.send(head("GET /plain HTTP/1.1", "Host: 127.0.0.1"))
        assert c.read_response().body == b"plain"
    finally:
        c.close()


def test_a_content_length_response_is_delivered_intact(lbs, origin):
    lb = one_server(lbs, origin)
    c = Client(lb.port)
    try:
        c.send(head("GET /big HTTP/1.1", "Host: 127.0.0.1"))
        rsp = c.read_response()
        assert rsp.status == 200 and int(rsp.header("content-length")) == len(BIG)
        assert hashlib.sha256(rsp.body).digest() == hashlib.sha256(BIG).digest()
        c.send(head("GET /plain HTTP/1.1", "Host: 127.0.0.1"))
        assert c.read_response().body == b"plain"
    finally:
        c.close()


def test_a_close_delimited_response_is_delivered_until_the_server_closes_then_the_client_is_closed(
        lbs, origin):
    lb = one_server(lbs, origin)
    c = Client(lb.port)
    try:
        c.send(head("GET /until-close HTTP/1.1", "Host: 127.0.0.1"))
        rsp = c.read_response()  # no Content-Length, not chunked: reads to the close
        assert rsp.status == 200
        assert "content-length" not in rsp.headers and "transfer-encoding" not in rsp.headers
        assert hashlib.sha256(rsp.body).digest() == hashlib.sha256(BIG).digest()
        assert rsp.header("connection") == "close"
    finally:
        c.close()


def test_a_head_response_with_content_length_has_no_body_and_the_connection_goes_on(lbs, origin):
    lb = one_server(lbs, origin)
    c = Client(lb.port, timeout=3)
    try:
        c.send(head("HEAD /anything HTTP/1.1", "Host: 127.0.0.1"))
        rsp = c.read_response(head_request=True)
        assert rsp.status == 200 and rsp.header("content-length") == "1000"
        c.send(head("GET /plain HTTP/1.1", "Host: 127.0.0.1"))
        nxt = c.read_response()
        assert (nxt.status, nxt.body) == (200, b"plain")
    finally:
        c.close()


@pytest.mark.parametrize("status", [204, 304])
def test_a_bodiless_status_does_not_hang_the_connection(lbs, origin, status):
    lb = one_server(lbs, origin)
    c = Client(lb.port, timeout=3)
    try:
        c.send(head(f"GET /{status} HTTP/1.1", "Host: 127.0.0.1"))
        assert c.read_response().status == status
        c.send(head("GET /plain HTTP/1.1", "Host: 127.0.0.1"))
        nxt = c.read_response()
        assert (nxt.status, nxt.body) == (200, b"plain")
    finally:
        c.close()


# ---- errors, the HAProxy way -----------------------------------------------------

MALFORMED = {
    "bare-lf": b"GET / HTTP/1.1\nHost: 127.0.0.1\n\n",
    "obs-fold": head("GET / HTTP/1.1", "Host: 127.0.0.1", "X-Folded: one", " two"),
    "space-before-colon": head("GET / HTTP/1.1", "Host : 127.0.0.1"),
    "bad-method-char": head("G(T / HTTP/1.1", "Host: 127.0.0.1"),
    "nul-in-value": head("GET / HTTP/1.1", "Host: 127.0.0.1", "X-Nul: a\x00b"),
    "content-length-and-transfer-encoding": head(
        "POST / HTTP/1.1", "Host: 127.0.0.1", "Content-Length: 5",
        "Transfer-Encoding: chunked") + b"0\r\n\r\n",
    "two-content-lengths": head("POST / HTTP/1.1", "Host: 127.0.0.1", "Content-Length: 5",
                                "Content-Length: 6") + b"hello!",
    "missing-host-in-http11": head("GET / HTTP/1.1", "Accept: */*"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_request_is_400_and_never_reaches_the_server(lbs, scripted, case):
    srv = scripted(answer_ok)
    lb = one_server(lbs, srv.addr)
    lb_error(lb.port, MALFORMED[case], 400)
    time.sleep(0.2)
    assert srv.conns == [] and srv.received == b""


def test_a_request_head_over_the_default_bufsize_is_431(lbs, scripted):
    srv = scripted(answer_ok)
    lb = one_server(lbs, srv.addr)
    # Under the limit it goes through ...
    rsp = exchange(lb.port, head("GET / HTTP/1.1", "Host: 127.0.0.1", "X-Big: " + "a" * 8000))
    assert rsp.status == 200
    # ... over 16384 bytes it is refused.
    lb_error(lb.port, head("GET / HTTP/1.1", "Host: 127.0.0.1", "X-Big: " + "a" * 17000), 431)
    srv.wait_done()
    assert len(srv.conns) == 1


def test_tune_bufsize_4096_makes_a_5000_byte_head_431(lbs, scripted):
    srv = scripted(answer_ok)
    lb = one_server(lbs, srv.addr, global_extra="tune.bufsize 4096")
    rsp = exchange(lb.port, head("GET / HTTP/1.1", "Host: 127.0.0.1", "X-Big: " + "a" * 3000))
    assert rsp.status == 200
    big = head("GET / HTTP/1.1", "Host: 127.0.0.1", "X-Big: " + "a" * 4960)
    assert 5000 <= len(big) < 5100
    lb_error(lb.port, big, 431)
    srv.wait_done()
    assert len(srv.conns) == 1


def test_a_backend_whose_servers_are_all_disabled_answers_503(lbs, scripted):
    srv = scripted(answer_ok)
    lb = lbs(DEFAULTS + """
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    server s1 {srv} disabled
    server s2 {srv} disabled
""", srv=srv.addr)
    lb_error(lb.port, head("GET / HTTP/1.1", "Host: 127.0.0.1"), 503)
    assert srv.conns == []


def test_servers_refusing_connections_give_503_after_the_retries(lbs):
    closed = free_port()
    assert not port_open(closed)
    lb = lbs(DEFAULTS + """
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    retries 3
    server s1 127.0.0.1:{closed}
""", closed=closed, args=("--log-level", "debug"))
    start = time.monotonic()
    lb_error(lb.port, head("GET / HTTP/1.1", "Host: 127.0.0.1"), 503)
    assert time.monotonic() - start < 5
    # The first attempt and three retries, each refused (the debug event log).
    attempts = [ln for ln in lb.output().splitlines() if "be/s1: connect failed" in ln]
    assert len(attempts) == 4, lb.output()


def test_a_server_that_never_answers_gives_504_after_timeout_server(lbs, scripted):
    def silent(conn):
        conn.read_head()
        conn.read_until_close(timeout=10)

    srv = scripted(silent, timeout=10)
    lb = lbs("""
frontend fe
    bind 127.0.0.1:{port}
    mode http
    timeout client 10s
    default_backend be
backend be
    mode http
    timeout connect 2s
    timeout server 1s
    server s1 {srv}
""", srv=srv.addr)
    start = time.monotonic()
    lb_error(lb.port, head("GET /slow HTTP/1.1", "Host: 127.0.0.1"), 504)
    assert time.monotonic() - start < 3.0


def test_a_garbage_response_gives_502(lbs, scripted):
    def garbage(conn):
        conn.read_head()
        conn.send(b"hello\r\n\r\n")
        conn.read_until_close(timeout=3)

    srv = scripted(garbage)
    lb = one_server(lbs, srv.addr)
    lb_error(lb.port, head("GET / HTTP/1.1", "Host: 127.0.0.1"), 502)


def test_a_server_closing_without_an_answer_gives_502(lbs, scripted):
    srv = scripted(lambda conn: conn.read_head())  # then the handler returns: close
    lb = one_server(lbs, srv.addr)
    lb_error(lb.port, head("GET / HTTP/1.1", "Host: 127.0.0.1"), 502)
    assert len(srv.conns) == 1


# ---- retries and redispatch ------------------------------------------------------

RETRY_CFG = """
frontend fe
    bind 127.0.0.1:{port}
    mode http
    timeout client 5s
    default_backend be
backend be
    mode http
    timeout server 5s
    timeout connect 2s
    balance roundrobin
    retries 3
    {redispatch}
    server bad 127.0.0.1:{closed}
    server good 127.0.0.1:{good}
"""


def test_with_redispatch_every_request_succeeds_despite_a_refusing_server(lbs, echo):
    closed = free_port()
    lb = lbs(RETRY_CFG, redispatch="option redispatch", closed=closed, good=echo.port)
    statuses = [lb.http_get("/healthz")[0] for _ in range(20)]
    assert statuses == [200] * 20


def test_without_redispatch_requests_sent_to_a_refusing_server_get_503(lbs, echo):
    closed = free_port()
    lb = lbs(RETRY_CFG, redispatch="", closed=closed, good=echo.port)
    statuses = [lb.http_get("/healthz")[0] for _ in range(20)]
    assert 503 in statuses and 200 in statuses, statuses
    assert set(statuses) == {200, 503}


# ---- slowloris ----------------------------------------------------------------------


def test_a_slow_header_client_gets_408_while_a_normal_client_is_served(lbs, echo):
    lb = lbs("""
frontend fe
    bind 127.0.0.1:{port}
    mode http
    timeout client 10s
    timeout http-request 1s
    default_backend be
backend be
    mode http
    timeout server 5s
    timeout connect 2s
    server s1 127.0.0.1:{p}
""", p=echo.port)
    slow = socket.create_connection(("127.0.0.1", lb.port), timeout=5)
    trickle = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100
    start = time.monotonic()
    answer, ended_at, normal = b"", None, None
    try:
        for i, byte in enumerate(trickle):
            try:
                slow.sendall(bytes([byte]))
            except OSError:
                ended_at = time.monotonic()
                break
            if i == 2:
                t0 = time.monotonic()
                normal = (lb.http_get("/healthz"), time.monotonic() - t0)
            readable, _, _ = select.select([slow], [], [], 0.3)
            if readable:
                try:
                    chunk = slow.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                answer += chunk
                if not chunk or b"\r\n\r\n" in answer:
                    ended_at = time.monotonic()
                    break
            if time.monotonic() - start > 5:
                break
    finally:
        slow.close()
    assert normal is not None and normal[0] == (200, "ok\n") and normal[1] < 2.0, normal
    assert ended_at is not None, "the slow client was never cut off"
    assert ended_at - start < 2.5, ended_at - start
    if answer:  # HAProxy answers 408; a bare close is accepted too
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert b"<h1>408 " in answer, answer
