"""wss:// and https:// at the lb: a TLS bind (`bind ... ssl crt PEM`) in front
of real backends, reached by python3-websockets and urllib trusting only the
test CA; what the servers learn (X-Forwarded-Proto); `redirect scheme https`
on plain binds; what a TLS port does with clients that do not speak TLS or
stall in the handshake; `wscale lb -c` on TLS mistakes; and the memory an
idle TLS tunnel costs.
"""
import asyncio
import socket
import ssl
import threading
import time
import urllib.request

import pytest
import websockets

import wsraw
from procs import free_port, lb_check, sanitized

GREETING = "Connected successfully to server {}"

TLS_CFG = """
global
    maxconn 5000
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
{servers}
"""


def tls_config(certs, ports, http_request="5s"):
    servers = "\n".join(f"    server s{i} 127.0.0.1:{p}" for i, p in enumerate(ports, 1))
    return TLS_CFG.format(crt=certs / "server.pem", servers=servers).replace(
        "{http_request}", http_request)


def client_context(certs):
    return ssl.create_default_context(cafile=str(certs / "ca.pem"))


def strict_eof_context(certs):
    """A client context for which a TCP close without close_notify is an
    error (SSLEOFError), not an end of data (this Python's default sets
    OP_IGNORE_UNEXPECTED_EOF)."""
    ctx = client_context(certs)
    ctx.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
    return ctx


def read_tls_to_end(tls):
    """(data, None) when the server ended with close_notify, (data, error)
    when its TCP close came without one."""
    data = b""
    try:
        while chunk := tls.recv(65536):
            data += chunk
    except ssl.SSLError as e:
        if isinstance(e, ssl.SSLEOFError) or "UNEXPECTED_EOF" in str(e):
            return data, e
        raise
    return data, None


def wss_url(lb):
    return f"wss://localhost:{lb.port}/"


def https_get(port, path, certs, headers=None):
    req = urllib.request.Request(f"https://localhost:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5, context=client_context(certs)) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture
def tls_echo(echo, lbs, certs):
    """A TLS lb in front of one echo backend (`timeout http-request 1s`)."""
    return lbs(tls_config(certs, [echo.port], http_request="1s"))


# --- wss:// and https:// through the lb ----------------------------------------------------------

def test_wss_clients_through_the_lb_reach_four_chat_backends_and_chat(redis, backends, lbs, certs):
    ws = [backends("--id", f"ws{i}", "--redis", redis.url) for i in range(1, 5)]
    lb = lbs(tls_config(certs, [b.port for b in ws]))
    ctx = client_context(certs)

    async def main():
        clients = [await websockets.connect(wss_url(lb), ssl=ctx) for _ in range(4)]
        greetings = [await asyncio.wait_for(c.recv(), 5) for c in clients]
        # Round-robin over TLS: four consecutive clients, four backends.
        assert sorted(greetings) == [GREETING.format(f"ws{i}") for i in range(1, 5)]
        await clients[0].send("hello over tls")
        got = sorted([await asyncio.wait_for(c.recv(), 5) for c in clients])
        assert got == [f"ws{i}:hello over tls" for i in range(1, 5)]
        for c in clients:
            tls = c.transport.get_extra_info("ssl_object")
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
            await c.close()
    run(main())
    status, _, body = https_get(lb.port, "/healthz", certs)
    assert (status, body) == (200, "ok\n")


def test_https_healthz_through_the_lb_is_answered_by_the_backend(tls_echo, certs):
    status, _, body = https_get(tls_echo.port, "/healthz", certs)
    assert (status, body) == (200, "ok\n")


def test_wss_client_that_does_not_trust_the_test_ca_is_refused(tls_echo):
    """The certificate really is checked: the system CAs do not vouch for it."""
    async def main():
        with pytest.raises(ssl.SSLCertVerificationError):
            await websockets.connect(wss_url(tls_echo), ssl=ssl.create_default_context())
    run(main())


def test_https_response_ending_the_connection_is_followed_by_close_notify(tls_echo, certs):
    """RFC 8446 6.1 (and RFC 5246 7.2.1): a party MUST send close_notify
    before closing its write side. Without it a client cannot tell the end of
    the data from a truncation, and OpenSSL drops the session from the
    server's cache (no resumption by session id)."""
    raw = socket.create_connection(("127.0.0.1", tls_echo.port), timeout=5)
    tls = strict_eof_context(certs).wrap_socket(raw, server_hostname="localhost",
                                                suppress_ragged_eofs=False)
    with tls:
        tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data, ragged = read_tls_to_end(tls)
    assert data.startswith(b"HTTP/1.1 200 "), data
    assert ragged is None, f"TLS connection closed without close_notify after {data[:40]!r}: {ragged}"


def test_wss_close_is_followed_by_close_notify(tls_echo, certs):
    """The backend ends a WebSocket session (close handshake, then TCP
    close); the lb passes that end on as a TLS close_notify."""
    raw = socket.create_connection(("127.0.0.1", tls_echo.port), timeout=5)
    tls = strict_eof_context(certs).wrap_socket(raw, server_hostname="localhost",
                                                suppress_ragged_eofs=False)
    with tls:
        tls.sendall(wsraw.upgrade_request(host="localhost"))
        tls.sendall(wsraw.encode_frame(wsraw.OP_CLOSE, b"\x03\xe8"))
        data, ragged = read_tls_to_end(tls)
    assert data.startswith(b"HTTP/1.1 101 "), data
    assert ragged is None, f"WebSocket over TLS closed without close_notify: {ragged}"
    assert b"\x88\x02\x03\xe8" in data  # the backend's close frame, 1000


# --- 500 concurrent tunnels -----------------------------------------------------------------------

def test_500_concurrent_wss_tunnels_each_get_their_own_message_echoed(echo, lbs, certs):
    lb = lbs(tls_config(certs, [echo.port]))
    ctx = client_context(certs)
    n = 500

    async def main():
        connected = 0
        all_in = asyncio.Event()

        async def one(i):
            nonlocal connected
            async with websockets.connect(wss_url(lb), ssl=ctx, open_timeout=20,
                                          ping_interval=None) as ws:
                assert await ws.recv() == GREETING.format("echo")
                connected += 1
                if connected == n:
                    all_in.set()
                await all_in.wait()  # all 500 tunnels are open at once
                msg = f"tunnel {i}: " + "x" * (i % 97)
                await ws.send(msg)
                return await asyncio.wait_for(ws.recv(), 10) == msg
        return await asyncio.gather(*(one(i) for i in range(n)))
    results = run(main(), timeout=45)
    assert sum(results) == n


# --- clients that do not speak TLS, or stall --------------------------------------------------------

def read_until_closed(sock):
    """Everything the peer sends until it closes (a reset counts as a close)."""
    data = b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def wss_echo_works(lb, certs, text="still serving"):
    async def main():
        async with websockets.connect(wss_url(lb), ssl=client_context(certs)) as ws:
            assert await ws.recv() == GREETING.format("echo")
            await ws.send(text)
            return await asyncio.wait_for(ws.recv(), 5)
    return run(main(), timeout=10) == text


def test_plain_http_on_the_tls_port_gets_an_alert_or_a_close_within_2s(tls_echo, certs):
    with socket.create_connection(("127.0.0.1", tls_echo.port), timeout=2.0) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        data = read_until_closed(s)  # socket.timeout (a failure) if kept open
    # Nothing but TLS may come back: an alert record (content type 21), or
    # nothing at all; never a plain-text HTTP answer.
    assert data == b"" or data[0] == 0x15, data[:60]
    assert wss_echo_works(tls_echo, certs)


def partial_client_hello():
    """The first half of a real ClientHello."""
    ctx = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    hello = outgoing.read()
    assert hello[0] == 0x16 and len(hello) > 100
    return hello[: len(hello) // 2]


def test_stalled_handshakes_are_cut_at_http_request_timeout_while_others_proceed(tls_echo, certs):
    silent = socket.create_connection(("127.0.0.1", tls_echo.port), timeout=4.0)
    partial = socket.create_connection(("127.0.0.1", tls_echo.port), timeout=4.0)
    partial.sendall(partial_client_hello())
    t0 = time.monotonic()
    # Meanwhile other clients are served at once.
    assert wss_echo_works(tls_echo, certs, "while two stall")
    for s in (silent, partial):
        with s:
            data = read_until_closed(s)  # socket.timeout (a failure) if never cut
            assert data == b"" or data[0] == 0x15, data[:60]
    elapsed = time.monotonic() - t0
    assert elapsed < 3.5, f"stalled handshakes cut after {elapsed:.1f}s (timeout http-request 1s)"
    assert wss_echo_works(tls_echo, certs, "after the cut")


def test_client_that_resets_mid_handshake_does_not_disturb_the_lb(tls_echo, certs):
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", tls_echo.port), timeout=2.0)
        s.sendall(partial_client_hello())
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()  # RST
    assert wss_echo_works(tls_echo, certs)


# --- X-Forwarded-Proto --------------------------------------------------------------------------

class RecordingServer:
    """A tiny HTTP server on a thread: records each request head and answers
    200 "ok" with Connection: close."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.heads = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(3)
                head = b""
                try:
                    while b"\r\n\r\n" not in head:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        head += chunk
                    self.heads.append(head.decode("latin-1"))
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
                except OSError:
                    pass

    def fields(self, i=-1):
        lines = self.heads[i].split("\r\n")[1:]
        return [tuple(part.strip() for part in line.split(":", 1)) for line in lines if ":" in line]

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def recorder():
    r = RecordingServer()
    yield r
    r.close()


BOTH_CFG = """
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{{port}} ssl crt {crt}
    bind 127.0.0.1:{{plain}}
    default_backend be
backend be
    server s1 127.0.0.1:{{srv}}
"""


def test_x_forwarded_proto_is_https_from_a_tls_bind_and_http_from_a_plain_one(lbs, certs, recorder):
    plain = free_port()
    lb = lbs(BOTH_CFG.format(crt=certs / "server.pem"), plain=plain, srv=recorder.port)
    # A client's own X-Forwarded-Proto is not believed.
    status, _, body = https_get(lb.port, "/tls?x=1", certs, headers={"X-Forwarded-Proto": "http"})
    assert (status, body) == (200, "ok\n")
    fields = recorder.fields()
    assert [v for k, v in fields if k.lower() == "x-forwarded-proto"] == ["https"], recorder.heads[-1]
    assert recorder.heads[-1].startswith("GET /tls?x=1 HTTP/1.1\r\n")

    with urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{plain}/plain", headers={"X-Forwarded-Proto": "https"}), timeout=5) as r:
        assert r.status == 200
    fields = recorder.fields()
    assert [v for k, v in fields if k.lower() == "x-forwarded-proto"] == ["http"], recorder.heads[-1]


# --- redirect scheme https ----------------------------------------------------------------------------

REDIRECT_CFG = """
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{{port}}
    redirect scheme https{code}
    default_backend be
backend be
    server s1 127.0.0.1:{{p1}}
"""


def raw_get(port, target, host):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        data = read_until_closed(s)
    return wsraw.parse_response(data)


def test_redirect_scheme_https_answers_301_to_the_same_url_over_https(echo, lbs):
    lb = lbs(REDIRECT_CFG.format(code=""), p1=echo.port)
    status, headers, _ = raw_get(lb.port, "/room/a?q=1&r=%20", "chat.example.com:8080")
    assert status == 301
    assert headers["location"] == "https://chat.example.com:8080/room/a?q=1&r=%20"


def test_redirect_code_308_is_used(echo, lbs):
    lb = lbs(REDIRECT_CFG.format(code=" code 308"), p1=echo.port)
    status, headers, _ = raw_get(lb.port, "/x?y", "localhost")
    assert status == 308
    assert headers["location"] == "https://localhost/x?y"


def test_websocket_upgrade_on_a_redirecting_plain_bind_is_served(echo, lbs):
    lb = lbs(REDIRECT_CFG.format(code=""), p1=echo.port)

    async def main():
        async with websockets.connect(lb.url) as ws:
            assert await ws.recv() == GREETING.format("echo")
            await ws.send("not redirected")
            return await asyncio.wait_for(ws.recv(), 5)
    assert run(main()) == "not redirected"


def test_redirect_scheme_https_leaves_tls_binds_alone(echo, lbs, certs):
    plain = free_port()
    cfg = REDIRECT_CFG.format(code="").replace(
        "    bind 127.0.0.1:{port}\n",
        f"    bind 127.0.0.1:{{port}} ssl crt {certs}/server.pem\n    bind 127.0.0.1:{{plain}}\n")
    lb = lbs(cfg, p1=echo.port, plain=plain)
    status, _, body = https_get(lb.port, "/healthz", certs)
    assert (status, body) == (200, "ok\n")
    status, headers, _ = raw_get(plain, "/healthz", "localhost")
    assert (status, headers["location"]) == (301, "https://localhost/healthz")


# --- wscale lb -c ------------------------------------------------------------------------------

CHECK_CFG = """\
defaults
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:18443 {bind}
    default_backend be
backend be
    server s1 127.0.0.1:18081
"""
BIND_LINE = 7


def mismatched_pem(certs, tmp_path):
    """server.pem's certificate with other.pem's key."""
    server = (certs / "server.pem").read_text()
    other = (certs / "other.pem").read_text()
    cert = server[:server.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
    key = other[other.index("-----BEGIN", other.index("-----END CERTIFICATE-----")):]
    path = tmp_path / "mismatch.pem"
    path.write_text(cert + "\n" + key)
    return path


@pytest.mark.parametrize("case", ["missing crt", "empty crt dir", "key mismatch", "ssl without crt",
                                  "crt without ssl", "ssl-min-ver TLSv1.1", "invalid ciphers",
                                  "invalid ciphersuites", "invalid alpn"])
def test_lb_check_reports_tls_mistakes_at_the_bind_line(certs, tmp_path, case):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no pem here")
    bind, reason = {
        "missing crt": (f"ssl crt {tmp_path}/nope.pem", "No such file"),
        "empty crt dir": (f"ssl crt {empty}", "no *.pem"),
        "key mismatch": (f"ssl crt {mismatched_pem(certs, tmp_path)}", "mismatch"),
        "ssl without crt": ("ssl", "crt"),
        "crt without ssl": (f"crt {certs}/server.pem", "ssl"),
        "ssl-min-ver TLSv1.1": (f"ssl crt {certs}/server.pem ssl-min-ver TLSv1.1", "TLSv1.1"),
        "invalid ciphers": (f"ssl crt {certs}/server.pem ciphers NO-SUCH-CIPHER", "NO-SUCH-CIPHER"),
        "invalid ciphersuites": (f"ssl crt {certs}/server.pem ciphersuites TLS_NOPE", "TLS_NOPE"),
        "invalid alpn": (f"ssl crt {certs}/server.pem alpn h2,,http/1.1", "alpn"),
    }[case]
    r = lb_check(tmp_path, CHECK_CFG.format(bind=bind))
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout + r.stderr
    where = f"{tmp_path / 'check.cfg'}:{BIND_LINE}:"
    lines = [line for line in out.splitlines() if where in line]
    assert lines, f"no error at {where}:\n{out}"
    assert reason in lines[0], lines[0]
    assert "Configuration file is valid" not in out


def test_lb_check_accepts_a_valid_tls_bind(certs, tmp_path):
    r = lb_check(tmp_path, CHECK_CFG.format(
        bind=f"ssl crt {certs}/certs crt {certs}/server.pem alpn http/1.1 ssl-min-ver TLSv1.2 "
             "ciphersuites TLS_AES_128_GCM_SHA256 curves X25519:P-256 no-tls-tickets"))
    assert r.returncode == 0, r.stderr
    assert "Configuration file is valid" in r.stdout


# --- memory --------------------------------------------------------------------------------------------

def test_idle_wss_tunnel_memory_at_the_lb(echo, lbs, certs):
    lb = lbs(tls_config(certs, [echo.port]))
    ctx = client_context(certs)
    n = 500

    async def open_batch(count):
        async def one():
            ws = await websockets.connect(wss_url(lb), ssl=ctx, ping_interval=None, open_timeout=20)
            assert await ws.recv() == GREETING.format("echo")
            return ws
        out = []
        while len(out) < count:
            out += await asyncio.gather(*(one() for _ in range(min(50, count - len(out)))))
        return out

    async def main():
        # Warm-up: the same concurrency, so that pooled buffers and the
        # allocator's arenas are in the "before" figure.
        warm = await open_batch(100)
        await asyncio.gather(*(w.close() for w in warm))
        await asyncio.sleep(0.3)
        before = lb.rss_kib()
        tunnels = await open_batch(n)
        await asyncio.sleep(0.3)
        after = lb.rss_kib()
        for w in tunnels:  # still all open
            assert w.open
        await asyncio.gather(*(w.close() for w in tunnels))
        return before, after

    before, after = run(main(), timeout=60)
    per_tunnel = (after - before) / n
    print(f"\nlb RSS {before} KiB -> {after} KiB with {n} idle wss tunnels: "
          f"{per_tunnel:.1f} KiB ({per_tunnel * 1024:.0f} bytes) per TLS tunnel")
    # Under AddressSanitizer every allocation carries redzones and freed
    # memory sits in quarantine: the bound is only a runaway check there.
    bound = 1024 if sanitized(lb.pid) else 64
    assert per_tunnel < bound, f"{per_tunnel:.1f} KiB per idle TLS tunnel"
