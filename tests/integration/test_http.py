"""The HTTP side of a real `wscale backend`: /healthz, /metrics, and the
opening handshake's refusals (RFC 6455 section 4, RFC 9112, RFC 9110).

Refusals are checked with raw bytes (wsraw.http_exchange reads until the
server closes, so every refusal here also proves the connection is closed).
"""
import base64
import hashlib
import os
import socket
import urllib.request

import pytest

from procs import wait_until
from wsraw import OP_TEXT, RawWS, http_exchange, parse_response

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # the sample nonce of RFC 6455 section 1.3


def head(*lines, eol="\r\n"):
    """A request head from its lines."""
    return (eol.join(lines) + eol + eol).encode("latin-1")


def upgrade_headers(key=KEY):
    return ["Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]


def without(lines, name):
    return [line for line in lines if not line.lower().startswith(name.lower() + ":")]


def expected_accept(key):
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def assert_refused(port, request, status):
    """The server answers `status` and closes the connection."""
    code, headers, body = http_exchange(port, request)  # returns at the server's close
    assert code == status, (code, body)
    assert headers.get("connection", "").lower() == "close"
    assert "sec-websocket-accept" not in headers
    return headers, body


def read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed before a complete response head: {data!r}"
        data += chunk
    return parse_response(data)


def exchange_upgrade(port, request):
    """Sends a request and reads the response head of a connection that may
    stay open; returns (status, headers)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        status, headers, _ = read_head(s)
    return status, headers


def urlopen(port, path, method="GET"):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    try:
        with urllib.request.urlopen(req, timeout=3) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


# --- /healthz and /metrics -----------------------------------------------------------

def test_healthz_on_chat_backend_is_ok(chat):
    status, _, body = urlopen(chat.port, "/healthz")
    assert (status, body) == (200, b"ok\n")


def test_head_healthz_is_200_without_body(chat):
    status, _, body = http_exchange(chat.port, head("HEAD /healthz HTTP/1.1", "Host: x"))
    assert status == 200
    assert body == b""


def test_post_healthz_is_405_with_allow(chat):
    status, headers, _ = http_exchange(
        chat.port, head("POST /healthz HTTP/1.1", "Host: x", "Content-Length: 0"))
    assert status == 405
    assert "GET" in [m.strip() for m in headers.get("allow", "").split(",")]


def test_unknown_path_is_404(chat):
    status, _, _ = urlopen(chat.port, "/nope")
    assert status == 404


def test_metrics_are_prometheus_text_with_the_main_counters(chat):
    # One message through the chat, and one protocol error closed 1002.
    ws = RawWS(chat.port)
    assert ws.recv_text() == "Connected successfully to server ws1"
    ws.send_text("counted")
    assert ws.recv_text() == "ws1:counted"
    ws.send(OP_TEXT, "unmasked", mask=False)
    assert ws.recv_close()[0] == 1002
    assert ws.expect_tcp_close()
    ws.close()

    status, headers, body = urlopen(chat.port, "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = body.decode()
    assert "wscale_connections_total" in text
    assert "wscale_messages_received_total" in text
    assert 'wscale_redis_up{connection="publisher"} 1\n' in text

    samples = chat.metrics()
    assert samples["wscale_connections_total"] >= 1
    assert samples["wscale_messages_received_total"] >= 1
    assert samples['wscale_closes_sent_total{code="1002"}'] >= 1


def test_healthz_turns_503_naming_redis_when_redis_dies(redis, chat):
    assert chat.healthz()[0] == 200
    redis.kill()

    def unhealthy():
        status, body = chat.healthz()
        return (status, body) if status == 503 else None

    status, body = wait_until(unhealthy, timeout=3, what="/healthz 503 after Redis died")
    assert "redis" in body.lower()
    assert "publisher" in body or "subscriber" in body, body


def test_healthz_on_echo_backend_is_ok_without_redis(echo):
    assert echo.healthz() == (200, "ok\n")


# --- handshake refusals ------------------------------------------------------------------

def test_post_upgrade_is_400(echo):
    assert_refused(echo.port, head("POST / HTTP/1.1", *upgrade_headers()), 400)


def test_http_1_0_upgrade_is_400(echo):
    assert_refused(echo.port, head("GET / HTTP/1.0", *upgrade_headers()), 400)


def test_upgrade_without_host_is_400(echo):
    assert_refused(echo.port, head("GET / HTTP/1.1", *without(upgrade_headers(), "Host")), 400)


def test_upgrade_with_two_host_headers_is_400(echo):
    assert_refused(echo.port, head("GET / HTTP/1.1", *upgrade_headers(), "Host: other"), 400)


def test_upgrade_without_key_is_400(echo):
    lines = without(upgrade_headers(), "Sec-WebSocket-Key")
    assert_refused(echo.port, head("GET / HTTP/1.1", *lines), 400)


@pytest.mark.parametrize("key", [
    base64.b64encode(b"k" * 15).decode(),   # 15 bytes
    base64.b64encode(b"k" * 17).decode(),   # 17 bytes
    base64.b64encode(b"k" * 16).decode().rstrip("="),  # no padding
    "!!!!!!!!!!!!!!!!!!!!!!==",             # not base64
    "",
], ids=["15-bytes", "17-bytes", "unpadded", "not-base64", "empty"])
def test_key_that_is_not_16_bytes_of_base64_is_400(echo, key):
    assert_refused(echo.port, head("GET / HTTP/1.1", *upgrade_headers(key)), 400)


def test_version_8_is_426_naming_version_13(echo):
    lines = without(upgrade_headers(), "Sec-WebSocket-Version") + ["Sec-WebSocket-Version: 8"]
    headers, _ = assert_refused(echo.port, head("GET / HTTP/1.1", *lines), 426)
    assert headers.get("sec-websocket-version") == "13"


def test_upgrade_without_connection_upgrade_is_400(echo):
    lines = without(upgrade_headers(), "Connection") + ["Connection: keep-alive"]
    assert_refused(echo.port, head("GET / HTTP/1.1", *lines), 400)


def test_upgrade_with_a_body_is_400(echo):
    request = head("GET / HTTP/1.1", *upgrade_headers(), "Content-Length: 5") + b"hello"
    assert_refused(echo.port, request, 400)


def test_upgrade_with_content_length_and_transfer_encoding_is_400(echo):
    request = head("GET / HTTP/1.1", *upgrade_headers(), "Content-Length: 0",
                   "Transfer-Encoding: chunked") + b"0\r\n\r\n"
    assert_refused(echo.port, request, 400)


def test_upgrade_with_two_content_lengths_is_400(echo):
    request = head("GET / HTTP/1.1", *upgrade_headers(), "Content-Length: 0", "Content-Length: 0")
    assert_refused(echo.port, request, 400)


MALFORMED = {
    "bare-lf": head("GET /healthz HTTP/1.1", "Host: x", eol="\n"),
    "bare-lf-in-header": b"GET /healthz HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n",
    "obs-fold": head("GET /healthz HTTP/1.1", "Host: x", "X-A: one", "  folded"),
    "space-before-colon": head("GET /healthz HTTP/1.1", "Host : x"),
    "nul-in-value": head("GET /healthz HTTP/1.1", "Host: x", "X-A: a\x00b"),
    "bad-method-char": head("G@T /healthz HTTP/1.1", "Host: x"),
    "http-2.0": head("GET /healthz HTTP/2.0", "Host: x"),
    "upgrade-bare-lf": head("GET / HTTP/1.1", *upgrade_headers(), eol="\n"),
    "upgrade-obs-fold": head("GET / HTTP/1.1", *upgrade_headers(), "X-A: one", "\tfolded"),
}


@pytest.mark.parametrize("request_bytes", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_request_head_is_400(echo, request_bytes):
    assert_refused(echo.port, request_bytes, 400)


def test_plain_get_with_content_length_and_transfer_encoding_is_400(echo):
    # RFC 9112 6.1 / 6.3: conflicting framing is a smuggling vector.
    request = head("GET /healthz HTTP/1.1", "Host: x", "Content-Length: 3",
                   "Transfer-Encoding: chunked") + b"0\r\n\r\n"
    assert_refused(echo.port, request, 400)


def test_plain_get_with_two_different_content_lengths_is_400(echo):
    # RFC 9112 6.3 item 5: an invalid Content-Length in a request MUST get 400.
    request = head("GET /healthz HTTP/1.1", "Host: x", "Content-Length: 0", "Content-Length: 5")
    assert_refused(echo.port, request, 400)


def test_plain_http_1_1_get_without_host_is_400(echo):
    # RFC 9112 3.2: MUST respond 400 to an HTTP/1.1 request without Host.
    assert_refused(echo.port, head("GET /healthz HTTP/1.1"), 400)


def test_plain_get_with_two_host_headers_is_400(echo):
    # RFC 9112 3.2: MUST respond 400 to more than one Host field line.
    assert_refused(echo.port, head("GET /healthz HTTP/1.1", "Host: a", "Host: b"), 400)


def test_request_head_over_16_kib_is_431(echo):
    request = head("GET / HTTP/1.1", *upgrade_headers(), "X-Big: " + "b" * 20 * 1024)
    assert_refused(echo.port, request, 431)


def test_150_header_fields_is_431(echo):
    extra = [f"X-Field-{i}: {i}" for i in range(150)]
    assert_refused(echo.port, head("GET / HTTP/1.1", *upgrade_headers(), *extra), 431)


def test_upgrade_head_sent_one_byte_at_a_time_is_accepted(echo):
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection(("127.0.0.1", echo.port), timeout=5) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for b in head("GET / HTTP/1.1", *upgrade_headers(key)):
            s.sendall(bytes([b]))
        status, headers, _ = read_head(s)
    assert status == 101
    assert headers["sec-websocket-accept"] == expected_accept(key)


# --- Origin ----------------------------------------------------------------------------

@pytest.fixture
def guarded(backends):
    return backends("--echo", "--allow-origin", "https://a.example,https://b.example")


def test_listed_origin_is_upgraded(guarded):
    status, _ = exchange_upgrade(
        guarded.port, head("GET / HTTP/1.1", *upgrade_headers(), "Origin: https://b.example"))
    assert status == 101


def test_unlisted_origin_is_403(guarded):
    assert_refused(guarded.port,
                   head("GET / HTTP/1.1", *upgrade_headers(), "Origin: https://evil.example"), 403)


def test_request_without_origin_is_upgraded(guarded):
    status, _ = exchange_upgrade(guarded.port, head("GET / HTTP/1.1", *upgrade_headers()))
    assert status == 101


# --- what a valid upgrade looks like -----------------------------------------------------

def test_upgrade_tokens_are_case_insensitive_and_may_be_in_lists(echo):
    lines = ["Host: 127.0.0.1", "Upgrade: WebSocket", "Connection: keep-alive, Upgrade",
             f"Sec-WebSocket-Key: {KEY}", "Sec-WebSocket-Version: 13"]
    status, headers = exchange_upgrade(echo.port, head("GET / HTTP/1.1", *lines))
    assert status == 101
    assert headers["upgrade"].lower() == "websocket"
    assert "upgrade" in headers["connection"].lower()


def test_header_names_are_case_insensitive(echo):
    lines = ["HOST: 127.0.0.1", "upgrade: websocket", "CONNECTION: upgrade",
             f"sec-websocket-key: {KEY}", "SEC-WEBSOCKET-VERSION: 13"]
    status, _ = exchange_upgrade(echo.port, head("GET / HTTP/1.1", *lines))
    assert status == 101


def test_accept_is_computed_per_rfc_6455(echo):
    status, headers = exchange_upgrade(echo.port, head("GET / HTTP/1.1", *upgrade_headers(KEY)))
    assert status == 101
    assert expected_accept(KEY) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455 section 1.3
    assert headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_accept_for_a_random_key(echo):
    key = base64.b64encode(os.urandom(16)).decode()
    status, headers = exchange_upgrade(echo.port, head("GET / HTTP/1.1", *upgrade_headers(key)))
    assert status == 101
    assert headers["sec-websocket-accept"] == expected_accept(key)
