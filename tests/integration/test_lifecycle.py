"""The process: command line, environment errors, signals and draining."""
import asyncio
import signal
import socket
import subprocess
import time

import websockets

from procs import WSCALE, Proc, free_port, wait_until
from wsraw import OP_CLOSE, RawWS


def wscale(*args, env=None, timeout=10):
    return subprocess.run([WSCALE, *args], capture_output=True, text=True, timeout=timeout,
                          env=env)


def test_help_and_version():
    top = wscale("--help")
    assert top.returncode == 0 and "backend" in top.stdout
    backend = wscale("backend", "--help")
    assert backend.returncode == 0
    for flag in ("--listen", "--id", "--redis", "--channel", "--max-message", "--ping-interval",
                 "--echo", "--allow-origin", "REDIS_URL", "APPID", "PORT"):
        assert flag in backend.stdout
    version = wscale("version")
    assert version.returncode == 0 and version.stdout.startswith("wscale ")
    assert wscale("--version").stdout == version.stdout


def test_no_mode_and_unknown_mode_are_usage_errors():
    none = wscale()
    assert none.returncode == 2 and "Usage" in none.stderr
    bad = wscale("frontend")
    assert bad.returncode == 2 and "unknown mode 'frontend'" in bad.stderr


def test_bad_flags_name_the_flag_and_the_fix():
    cases = {
        ("--nope",): "unknown option '--nope'",
        ("--listen", "8080"): "--listen '8080': expected ADDR:PORT",
        ("--max-message", "lots"): "--max-message 'lots'",
        ("--ping-interval", "5 parsecs"): "--ping-interval '5 parsecs': expected a duration",
        ("--redis", "http://x"): "expected redis://",
        ("--id",): "option '--id' needs a value",
        ("--echo=yes",): "option '--echo' takes no value",
        ("--max-message", "2m", "--max-output", "1m"): "--max-output",
    }
    for args, message in cases.items():
        r = wscale("backend", *args)
        assert r.returncode == 2, args
        assert message in r.stderr, (args, r.stderr)
        assert "wscale backend --help" in r.stderr


def test_bad_environment_names_the_variable():
    r = wscale("backend", env={"PORT": "eighty"})
    assert r.returncode == 2 and "PORT='eighty'" in r.stderr
    r = wscale("backend", env={"REDIS_URL": "redis://:@host"})
    assert r.returncode == 2 and "REDIS_URL" in r.stderr


def test_port_in_use_is_a_clear_error_and_exit_1():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = wscale("backend", "--echo", "--listen", f"127.0.0.1:{port}")
    assert r.returncode == 1
    assert f"127.0.0.1:{port}" in r.stderr and "Address already in use" in r.stderr


def test_sigterm_closes_every_client_with_1001_and_exits_0(chat):
    async def main():
        clients = [await websockets.connect(chat.url) for _ in range(5)]
        for ws in clients:
            await ws.recv()
        chat.proc.send_signal(signal.SIGTERM)
        for ws in clients:
            try:
                await asyncio.wait_for(ws.recv(), 5)
                raise AssertionError("no close after SIGTERM")
            except websockets.ConnectionClosed as e:
                assert e.rcvd.code == 1001
    asyncio.run(main())
    assert chat.proc.wait(5) == 0
    log = chat.output()
    assert "SIGTERM: closing 5 clients with 1001" in log and "drained" in log


def test_sigint_drains_the_same_way(echo):
    async def main():
        async with websockets.connect(echo.url) as ws:
            await ws.recv()
            echo.proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(ws.recv(), 5)
            except websockets.ConnectionClosed as e:
                assert e.rcvd.code == 1001
    asyncio.run(main())
    assert echo.proc.wait(5) == 0


def test_drain_waits_for_silent_clients_up_to_the_drain_timeout(backends):
    b = backends("--echo", "--drain-timeout", "1s")
    raw = RawWS(b.port)
    raw.recv_text()                      # greeting
    start = time.monotonic()
    b.proc.send_signal(signal.SIGTERM)
    _, op, payload = raw.recv_frame()
    assert op == OP_CLOSE and payload[:2] == b"\x03\xe9"  # 1001; we never answer
    assert b.proc.wait(5) == 0
    assert 0.8 <= time.monotonic() - start < 4
    assert "drain timeout" in b.output()
    raw.close()


def test_second_signal_exits_at_once(backends):
    b = backends("--echo", "--drain-timeout", "30s")
    raw = RawWS(b.port)
    raw.recv_text()
    b.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: "SIGTERM: closing" in b.output(), what="drain to start")
    b.proc.send_signal(signal.SIGTERM)
    assert b.proc.wait(3) == 0
    raw.close()


def test_listener_is_closed_while_draining(backends):
    b = backends("--echo", "--drain-timeout", "5s")
    raw = RawWS(b.port)
    raw.recv_text()
    b.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: "SIGTERM: closing" in b.output(), what="drain to start")
    try:
        socket.create_connection(("127.0.0.1", b.port), timeout=1).close()
        raise AssertionError("new connection accepted while draining")
    except ConnectionRefusedError:
        pass
    raw.close()


def test_backend_listens_on_ipv6_loopback(tmp_path):
    port = free_port()
    p = Proc([WSCALE, "backend", "--echo", "--listen", f"[::1]:{port}"], str(tmp_path / "v6.log"))
    try:
        wait_until(lambda: "listening on [::1]:" in p.output(), what="IPv6 listener")

        async def main():
            async with websockets.connect(f"ws://[::1]:{port}/") as ws:
                assert (await ws.recv()).startswith("Connected successfully")
        asyncio.run(main())
    finally:
        assert p.stop() == 0
