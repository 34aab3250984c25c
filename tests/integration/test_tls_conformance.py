"""wscale's RFC 6455 conformance cases, run again over TLS: wss:// to a
`wscale lb` TLS bind (`bind ... ssl crt server.pem`) in front of the backend.

Once the TLS handshake is done, the lb must be the same byte tunnel as on a
plain bind: every frame, close code and close the backend produces reaches
the client unchanged, inside TLS records. The test functions of
test_conformance.py are imported and collected here again; the fixtures they
use (echo, chat, small, pinging) are redefined below, the raw clients speak
TLS (wsraw.use_tls) and python3-websockets gets the test CA.
"""
import socket
import ssl
import urllib.request

import pytest
import websockets as _websockets

import test_conformance
import wsraw
from test_conformance import *  # noqa: F401,F403  (the cases, collected again)
from wsraw import parse_response

LB_CFG = """
global
    maxconn 1000
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout tunnel 1h
    timeout http-request {{http_request}}
frontend fe
    bind 127.0.0.1:{{port}} ssl crt {crt}
    default_backend be
backend be
    server s1 127.0.0.1:{{p1}}
"""


class WebsocketsOverTLS:
    """Stands for the websockets module inside test_conformance: connect()
    to a wss:// URL trusts the test CA; everything else is the module's."""

    def __init__(self, ctx):
        self.ctx = ctx

    def connect(self, uri, **kw):
        if uri.startswith("wss://"):
            kw.setdefault("ssl", self.ctx)
        return _websockets.connect(uri, **kw)

    def __getattr__(self, name):
        return getattr(_websockets, name)


@pytest.fixture(scope="module", autouse=True)
def over_tls(certs):
    ctx = wsraw.tls_client_context(certs / "ca.pem")
    wsraw.use_tls(ctx)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(test_conformance, "websockets", WebsocketsOverTLS(ctx))
        yield ctx
    wsraw.use_tls(None)


class Fronted:
    """A backend reached through a TLS lb: what the conformance cases use of
    a backend (port, url, http_get, healthz) points at the lb's TLS bind."""

    def __init__(self, backend, lb, ctx):
        self.backend = backend
        self.lb = lb
        self.port = lb.port
        self.url = f"wss://localhost:{lb.port}/"
        self.ctx = ctx

    def http_get(self, path):
        try:
            with urllib.request.urlopen(f"https://localhost:{self.port}{path}", timeout=5,
                                        context=self.ctx) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def healthz(self):
        return self.http_get("/healthz")


def fronted(backends, lbs, certs, ctx, *args, http_request="10s"):
    b = backends(*args)
    lb = lbs(LB_CFG.format(crt=certs / "server.pem"), p1=b.port, http_request=http_request)
    return Fronted(b, lb, ctx)


@pytest.fixture
def echo(backends, lbs, certs, over_tls):
    """`wscale backend --echo --id echo` behind a TLS lb."""
    return fronted(backends, lbs, certs, over_tls, "--echo", "--id", "echo")


@pytest.fixture
def chat(redis, backends, lbs, certs, over_tls):
    """A chat backend (id ws1, private Redis) behind a TLS lb."""
    return fronted(backends, lbs, certs, over_tls, "--id", "ws1", "--redis", redis.url)


@pytest.fixture
def small(backends, lbs, certs, over_tls):
    """An echo backend limited to 1000-byte messages, behind a TLS lb."""
    return fronted(backends, lbs, certs, over_tls, "--echo", "--id", "echo", "--max-message", "1000")


@pytest.fixture
def pinging(backends, lbs, certs, over_tls):
    """An echo backend pinging every 300 ms, behind a TLS lb."""
    return fronted(backends, lbs, certs, over_tls, "--echo", "--id", "echo",
                   "--ping-interval", "300ms")


# As through a plain lb, the backend's own handshake timeout cannot be
# reached (the lb forwards only complete request heads); the lb's `timeout
# http-request` is its counterpart, tested below over TLS.
del test_incomplete_request_head_is_dropped_after_handshake_timeout  # noqa: F821


def test_the_cases_really_run_over_tls(echo):
    ws = wsraw.RawWS(echo.port)
    assert isinstance(ws.sock, ssl.SSLSocket)
    assert ws.sock.version() in ("TLSv1.2", "TLSv1.3")
    assert ws.sock.getpeercert()["subject"] == ((("commonName", "chat.test"),),)
    ws.close()


def test_healthz_of_the_backend_answers_through_the_tls_lb(echo):
    assert echo.healthz() == (200, "ok\n")


def test_incomplete_request_head_over_tls_gets_408_once_its_time_is_up(backends, lbs, certs, over_tls):
    front = fronted(backends, lbs, certs, over_tls, "--echo", http_request="500ms")
    with wsraw.connect(front.port, timeout=3.0) as s:
        s.sendall(b"GET / HTTP/1.1\r\n")
        data = b""
        try:
            while chunk := s.recv(4096):
                data += chunk
        except (ConnectionResetError, ssl.SSLError):
            pass
        # socket.timeout (a test failure) if the lb kept the connection.
    status, _, _ = parse_response(data)
    assert status == 408


def test_plain_tcp_client_gets_no_websocket_from_the_tls_bind(echo):
    """Negative control: the port under test speaks only TLS."""
    with socket.create_connection(("127.0.0.1", echo.port), timeout=3.0) as s:
        s.sendall(wsraw.upgrade_request())
        data = b""
        try:
            while chunk := s.recv(4096):
                data += chunk
        except ConnectionResetError:
            pass
    assert b"101" not in data
