"""wscale's own RFC 6455 conformance cases, run again THROUGH `wscale lb`.

After a valid 101 the lb is a byte tunnel: every frame, close code and TCP
close the backend produces must reach the client unchanged, and everything
the client sends (even protocol violations) must reach the backend. The
test functions of test_conformance.py are imported and collected here again;
the fixtures they use (echo, chat, small, pinging) are redefined below so
that each one is a `wscale backend` with an lb in front of it.
"""
import socket

import pytest

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
    timeout http-request {http_request}
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    server s1 127.0.0.1:{p1}
"""


class Fronted:
    """A backend reached through an lb: what the conformance cases use of a
    backend (port, url, http_get, healthz) points at the lb."""

    def __init__(self, backend, lb):
        self.backend = backend
        self.lb = lb
        self.port = lb.port
        self.url = lb.url

    def http_get(self, path):
        return self.lb.http_get(path)

    def healthz(self):
        return self.http_get("/healthz")


def fronted(backends, lbs, *args, http_request="10s"):
    b = backends(*args)
    lb = lbs(LB_CFG, p1=b.port, http_request=http_request)
    return Fronted(b, lb)


@pytest.fixture
def echo(backends, lbs):
    """`wscale backend --echo --id echo` behind an lb."""
    return fronted(backends, lbs, "--echo", "--id", "echo")


@pytest.fixture
def chat(redis, backends, lbs):
    """A chat backend (id ws1, private Redis) behind an lb."""
    return fronted(backends, lbs, "--id", "ws1", "--redis", redis.url)


@pytest.fixture
def small(backends, lbs):
    """An echo backend limited to 1000-byte messages, behind an lb."""
    return fronted(backends, lbs, "--echo", "--id", "echo", "--max-message", "1000")


@pytest.fixture
def pinging(backends, lbs):
    """An echo backend pinging every 300 ms, behind an lb."""
    return fronted(backends, lbs, "--echo", "--id", "echo", "--ping-interval", "300ms")


# The backend's own handshake timeout cannot be reached through the lb (the
# lb only forwards complete request heads); its counterpart is the lb's
# `timeout http-request`, tested below instead.
del test_incomplete_request_head_is_dropped_after_handshake_timeout  # noqa: F821


def test_healthz_of_the_backend_answers_through_the_lb(echo):
    status, body = echo.healthz()
    assert (status, body) == (200, "ok\n")


def test_incomplete_request_head_through_the_lb_gets_408_once_its_time_is_up(backends, lbs):
    front = fronted(backends, lbs, "--echo", http_request="500ms")
    with socket.create_connection(("127.0.0.1", front.port), timeout=3.0) as s:
        s.sendall(b"GET / HTTP/1.1\r\n")
        data = b""
        try:
            while chunk := s.recv(4096):
                data += chunk
        except ConnectionResetError:
            pass
        # socket.timeout (a test failure) if the lb kept the connection.
    status, headers, _ = parse_response(data)
    assert status == 408
