"""TLS at `wscale backend` (--tls-cert PEM: wss:// and https:// directly),
and TLS from the lb to its servers (`server ... ssl [verify none|required]
[ca-file FILE] [sni str(NAME)]`): certificates are verified against the
configured CA and name, for traffic and for health checks alike.
"""
import asyncio
import os
import socket
import ssl
import subprocess
import time
import urllib.request

import pytest
import websockets

from procs import WSCALE, free_port, lb_check, wait_until

GREETING = "Connected successfully to server {}"


def run(coro, timeout=20):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def client_context(cafile):
    return ssl.create_default_context(cafile=str(cafile))


def https_get(port, path, cafile, host="localhost"):
    try:
        with urllib.request.urlopen(f"https://{host}:{port}{path}", timeout=5,
                                    context=client_context(cafile)) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def ws_echo(url, text, ssl_ctx=None, ident="echo"):
    async def main():
        kw = {"ssl": ssl_ctx} if ssl_ctx else {}
        async with websockets.connect(url, **kw) as ws:
            assert await asyncio.wait_for(ws.recv(), 5) == GREETING.format(ident)
            await ws.send(text)
            return await asyncio.wait_for(ws.recv(), 5)
    return run(main())


@pytest.fixture
def tls_backend(backends, certs):
    """`wscale backend --echo --tls-cert server.pem` (its /healthz is https,
    so the fixture's plain-HTTP readiness check is not used)."""
    return backends("--echo", "--id", "echo", "--tls-cert", str(certs / "server.pem"),
                    wait_healthy=False)


@pytest.fixture(scope="session")
def other_ca(tmp_path_factory):
    """A second, unrelated CA made by scripts/gen-certs."""
    d = tmp_path_factory.mktemp("other-ca")
    script = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "gen-certs")
    subprocess.run([script, str(d)], check=True, capture_output=True, timeout=60)
    return d


# --- the backend's own TLS ------------------------------------------------------------------

def test_backend_serves_wss_verified_with_the_test_ca(tls_backend, certs):
    ctx = client_context(certs / "ca.pem")
    assert ws_echo(f"wss://localhost:{tls_backend.port}/", "über tls", ctx) == "über tls"

    async def versions():
        async with websockets.connect(f"wss://localhost:{tls_backend.port}/", ssl=ctx) as ws:
            return ws.transport.get_extra_info("ssl_object").version()
    assert run(versions()) in ("TLSv1.2", "TLSv1.3")


def test_backend_serves_https_healthz(tls_backend, certs):
    assert https_get(tls_backend.port, "/healthz", certs / "ca.pem") == (200, "ok\n")


def test_backend_with_tls_refuses_plain_http(tls_backend):
    with socket.create_connection(("127.0.0.1", tls_backend.port), timeout=3) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        data = b""
        try:
            while chunk := s.recv(4096):
                data += chunk
        except ConnectionResetError:
            pass
    assert not data.startswith(b"HTTP/"), data


def test_backend_https_response_ends_with_close_notify(tls_backend, certs):
    ctx = client_context(certs / "ca.pem")
    ctx.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
    raw = socket.create_connection(("127.0.0.1", tls_backend.port), timeout=5)
    with ctx.wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False) as tls:
        tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := tls.recv(65536):  # an SSLError (a failure) without close_notify
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 ")


def start_backend_expecting_failure(*args):
    port = free_port()
    return subprocess.run([WSCALE, "backend", "--listen", f"127.0.0.1:{port}", "--echo", *args],
                          capture_output=True, text=True, timeout=10)


def test_backend_with_a_missing_tls_cert_exits_1_naming_the_option(tmp_path):
    missing = tmp_path / "nope.pem"
    r = start_backend_expecting_failure("--tls-cert", str(missing))
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "--tls-cert" in out and str(missing) in out and "No such file" in out, out


@pytest.mark.parametrize("content, reason", [
    ("not a pem at all\n", "certificate"),
    ("cert only", "private key"),
])
def test_backend_with_a_bad_tls_cert_exits_1_with_the_reason(tmp_path, certs, content, reason):
    bad = tmp_path / "bad.pem"
    if content == "cert only":
        server = (certs / "server.pem").read_text()
        end = server.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")
        content = server[:end] + "\n"
    bad.write_text(content)
    r = start_backend_expecting_failure("--tls-cert", str(bad))
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    line = next((l for l in out.splitlines() if "--tls-cert" in l), None)
    assert line, out
    assert str(bad) in line and reason in line, line


# --- the lb to TLS servers ------------------------------------------------------------------

SERVER_TLS_CFG = """
defaults
    mode http
    timeout connect 3s
    timeout client 10s
    timeout server 10s
    timeout tunnel 1h
frontend fe
    bind 127.0.0.1:{{port}}
    bind 127.0.0.1:{{tls}} ssl crt {crt}
    default_backend be
backend be
{backend_opts}
    server s1 127.0.0.1:{{srv}} {server_opts}
"""

CHECKS = """    option httpchk GET /healthz
    default-server check inter 200ms fall 2 rise 2"""


def lb_to_tls_server(lbs, certs, srv_port, server_opts, checks=False):
    tls_port = free_port()
    cfg = SERVER_TLS_CFG.format(crt=certs / "server.pem", server_opts=server_opts,
                                backend_opts=CHECKS if checks else "")
    lb = lbs(cfg, tls=tls_port, srv=srv_port)
    lb.tls_port = tls_port
    return lb


def test_lb_reaches_a_tls_server_verified_by_ca_and_sni(tls_backend, lbs, certs):
    lb = lb_to_tls_server(lbs, certs, tls_backend.port,
                          f"ssl ca-file {certs}/ca.pem sni str(localhost)")
    # ws:// to the lb, TLS from the lb to the server.
    assert ws_echo(lb.url, "plain in, tls out") == "plain in, tls out"
    # wss:// to the lb, TLS again to the server.
    ctx = client_context(certs / "ca.pem")
    assert ws_echo(f"wss://localhost:{lb.tls_port}/", "tls both ways", ctx) == "tls both ways"
    assert lb.http_get("/healthz") == (200, "ok\n")


def test_lb_checks_the_server_ip_address_without_sni(tls_backend, lbs, certs):
    # No sni: the address (127.0.0.1) is what the certificate must name; the
    # test certificate has it as an IP subjectAltName.
    lb = lb_to_tls_server(lbs, certs, tls_backend.port, f"ssl ca-file {certs}/ca.pem")
    assert ws_echo(lb.url, "by address") == "by address"


def test_lb_refuses_a_tls_server_whose_certificate_does_not_name_the_sni(tls_backend, lbs, certs):
    lb = lb_to_tls_server(lbs, certs, tls_backend.port,
                          f"ssl ca-file {certs}/ca.pem sni str(other.test)")
    status, _ = lb.http_get("/healthz")
    assert status == 503
    assert "certificate verify failed" in lb.output(), lb.output()


def test_tls_server_with_https_health_checks_stays_up(tls_backend, lbs, certs):
    lb = lb_to_tls_server(lbs, certs, tls_backend.port,
                          f"ssl ca-file {certs}/ca.pem sni str(localhost)", checks=True)
    time.sleep(1.2)  # about six checks
    out = lb.output()
    assert "is DOWN" not in out and "verify failed" not in out, out
    assert ws_echo(lb.url, "checked") == "checked"


def test_tls_server_signed_by_another_ca_goes_down_with_checks(tls_backend, lbs, certs, other_ca):
    lb = lb_to_tls_server(lbs, certs, tls_backend.port,
                          f"ssl ca-file {other_ca}/ca.pem sni str(localhost)", checks=True)
    wait_until(lambda: "server be/s1 is DOWN" in lb.output(), timeout=5,
               what=f"s1 DOWN\n{lb.output()}")
    assert "certificate verify failed" in lb.output(), lb.output()
    assert lb.http_get("/healthz")[0] == 503


def test_tls_server_signed_by_another_ca_gets_503_without_checks(tls_backend, lbs, certs, other_ca):
    lb = lb_to_tls_server(lbs, certs, tls_backend.port,
                          f"ssl ca-file {other_ca}/ca.pem sni str(localhost)")
    assert lb.http_get("/healthz")[0] == 503

    async def upgrade():
        with pytest.raises(websockets.InvalidStatusCode) as e:
            await websockets.connect(lb.url)
        return e.value.status_code
    assert run(upgrade()) == 503
    assert "certificate verify failed" in lb.output(), lb.output()


def test_verify_none_accepts_a_server_of_another_ca(tls_backend, lbs, certs, other_ca):
    lb = lb_to_tls_server(lbs, certs, tls_backend.port,
                          f"ssl verify none ca-file {other_ca}/ca.pem", checks=True)
    time.sleep(0.8)
    assert "is DOWN" not in lb.output(), lb.output()
    assert ws_echo(lb.url, "unverified") == "unverified"


def test_plain_server_line_against_a_tls_server_fails(tls_backend, lbs, certs):
    """Negative control: without `ssl` the lb speaks plain HTTP to the TLS
    backend, which must not work."""
    lb = lb_to_tls_server(lbs, certs, tls_backend.port, "")
    status, _ = lb.http_get("/healthz")
    assert status in (502, 503), status


def test_lb_check_refuses_ssl_server_without_ca_file_at_its_line(tmp_path):
    cfg = """\
defaults
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:18080
    default_backend be
backend be
    server ok 127.0.0.1:18081
    server s1 127.0.0.1:18082 ssl
"""
    r = lb_check(tmp_path, cfg)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    where = f"{tmp_path / 'check.cfg'}:11:"
    line = next((l for l in out.splitlines() if where in l), None)
    assert line, out
    assert "s1" in line and "ca-file" in line, line


def test_lb_check_refuses_a_missing_ca_file_at_the_server_line(tmp_path):
    cfg = f"""\
defaults
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:18080
    default_backend be
backend be
    server s1 127.0.0.1:18082 ssl ca-file {tmp_path}/no-ca.pem
"""
    r = lb_check(tmp_path, cfg)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert f"{tmp_path / 'check.cfg'}:10:" in out, out
