"""`wscale demo`: the whole stack in one command, supervised, and gone
without a trace when it stops."""
import asyncio
import os
import signal
import socket
import subprocess

import websockets

from procs import WSCALE, free_port, pid_alive, port_open, wait_until


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def chat_once(port, text):
    async def main():
        a = await websockets.connect(f"ws://127.0.0.1:{port}/")
        b = await websockets.connect(f"ws://127.0.0.1:{port}/")
        ga, gb = await a.recv(), await b.recv()
        await a.send(text)
        ra, rb = await asyncio.wait_for(a.recv(), 5), await asyncio.wait_for(b.recv(), 5)
        await a.close()
        await b.close()
        return ga, gb, ra, rb
    return run(main())


def test_demo_runs_redis_backends_and_lb_and_prints_them(demos):
    demo = demos()
    assert set(demo.children) == {"redis", "ws1", "ws2", "ws3", "ws4", "lb"}
    assert all(pid_alive(pid) for pid in demo.children.values())
    out = demo.stdout()
    assert f"http://127.0.0.1:{demo.port}/" in out
    assert 'new WebSocket("ws://127.0.0.1:' in out
    ga, gb, ra, rb = chat_once(demo.port, "ann: hello")
    # Two consecutive connections, two different backends (round-robin).
    assert ga != gb and ga.startswith("Connected successfully to server ws")
    assert ra.endswith(":ann: hello") and rb.endswith(":ann: hello")


def test_tls_port_serves_the_page_with_a_self_signed_certificate(demos):
    import ssl
    demo = demos("--backends", "2")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", demo.tls_port), timeout=5)) as s:
        cert = ssl.DER_cert_to_PEM_cert(s.getpeercert(binary_form=True))
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200") and b"<html" in data.lower()
    assert "BEGIN CERTIFICATE" in cert
    assert f"https://127.0.0.1:{demo.tls_port}/" in demo.stdout()


def test_the_chat_page_is_served_through_the_lb(demos):
    demo = demos("--backends", "2")
    with socket.create_connection(("127.0.0.1", demo.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"text/html" in head and b"Content-Security-Policy" in head
    assert b"<html" in body.lower() and b"wscale" in body


def test_the_lb_stats_page_and_runtime_api_show_the_backends(demos):
    demo = demos("--backends", "2")
    out = demo.stdout()
    assert f"http://127.0.0.1:{demo.port}/stats" in out
    # Both backends UP once their checks ran, on the page's CSV...
    def rows():
        with socket.create_connection(("127.0.0.1", demo.port), timeout=5) as s:
            s.sendall(b"GET /stats;csv HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        lines = data.partition(b"\r\n\r\n")[2].decode().splitlines()
        cols = lines[0].lstrip("# ").split(",")
        return {(r[0], r[1]): r[cols.index("status")] for r in (l.split(",") for l in lines[1:] if l)}
    wait_until(lambda: rows().get(("chat", "ws1")) == "UP" and rows().get(("chat", "ws2")) == "UP",
               timeout=10, what="ws1 and ws2 UP on the stats page")
    # ... and through the runtime API, the command the demo prints.
    sock = out.split("socat stdio UNIX:")[1].split()[0]
    r = subprocess.run(["socat", "stdio", f"UNIX:{sock}"], input="show servers state chat\n",
                       capture_output=True, text=True, timeout=5)
    assert r.returncode == 0 and " chat 1 ws1 " in r.stdout and " chat 2 ws2 " in r.stdout


def test_demo_starts_and_stops_cleanly_three_times_in_a_row(demos, tmp_path):
    for _ in range(3):
        demo = demos("--backends", "2")
        children = dict(demo.children)
        assert demo.tmpdirs(), "the demo keeps its files in a temporary directory"
        assert demo.stop(signal.SIGINT) == 0, demo.stderr()
        assert not [n for n, pid in children.items() if pid_alive(pid)], demo.stderr()
        assert not demo.tmpdirs(), "temporary directory left behind"
        assert "stopped" in demo.stderr()
        assert not port_open(demo.port)


def test_sigterm_stops_in_order_lb_and_backends_then_redis(demos):
    demo = demos("--backends", "2")
    assert demo.stop(signal.SIGTERM) == 0
    log = demo.stderr()
    redis_line = next(i for i, l in enumerate(log.splitlines()) if "stopped" in l and "demo[" in l)
    fronts = [i for i, l in enumerate(log.splitlines())
              if "demo[" in l and "exited with status 0" in l]
    assert len(fronts) == 3 and max(fronts) < redis_line


def test_clients_get_1001_when_the_demo_stops(demos):
    demo = demos("--backends", "2")

    async def main():
        ws = await websockets.connect(f"ws://127.0.0.1:{demo.port}/")
        await ws.recv()
        os.kill(demo.pid, signal.SIGINT)
        try:
            await asyncio.wait_for(ws.recv(), 10)
            raise AssertionError("no close")
        except websockets.ConnectionClosed as e:
            assert e.rcvd is not None and e.rcvd.code == 1001
    run(main())
    assert demo.p.wait(20) == 0


def test_a_crashed_backend_is_restarted_and_serves_again(demos):
    demo = demos("--backends", "2")
    os.kill(demo.children["ws1"], signal.SIGKILL)
    wait_until(lambda: "ws1 killed by signal 9" in demo.stderr(), timeout=5, what="crash logged")
    wait_until(lambda: "ws1 restarted as pid" in demo.stderr(), timeout=5, what="restart logged")
    new_pid = int(demo.stderr().split("ws1 restarted as pid ")[1].split()[0])
    demo.children["ws1"] = new_pid
    assert pid_alive(new_pid)
    # Whether the lb saw ws1 down (a client refused while it restarted marks
    # it DOWN; rise 2 checks at inter 1s bring it back) or not, ws1 gets
    # clients again.
    def ws1_serves():
        ga, gb, _, _ = chat_once(demo.port, "x: again")
        return "Connected successfully to server ws1" in (ga, gb)
    wait_until(ws1_serves, timeout=10, interval=0.2, what="the restarted ws1 getting clients")


def test_killing_the_supervisor_leaves_no_orphan(demos):
    demo = demos("--backends", "2")
    children = dict(demo.children)
    os.kill(demo.pid, signal.SIGKILL)
    demo.p.wait(5)
    wait_until(lambda: not any(pid_alive(pid) for pid in children.values()), timeout=10,
               what="children noticing their supervisor died")


def test_an_external_redis_is_used_instead_of_starting_one(demos, redis):
    demo = demos("--backends", "2", "--redis", redis.url)
    assert "redis" not in demo.children
    _, _, ra, _ = chat_once(demo.port, "ext: through your redis")
    assert ra.endswith("ext: through your redis")
    assert redis.numsub() == 2


def test_missing_redis_server_says_how_to_install_it(tmp_path):
    port = free_port()
    r = subprocess.run([WSCALE, "demo", "--port", str(port)], capture_output=True, text=True,
                       timeout=20, env={**os.environ, "PATH": str(tmp_path), "TMPDIR": str(tmp_path)})
    assert r.returncode == 1
    assert "redis-server not found" in r.stderr and "apt-get install redis-server" in r.stderr
    assert not [p for p in os.listdir(tmp_path) if p.startswith("wscale-demo-")]


def test_a_port_in_use_is_refused_before_anything_starts():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run([WSCALE, "demo", "--port", str(port)], capture_output=True, text=True,
                           timeout=10)
    assert r.returncode == 2
    assert f"127.0.0.1:{port}" in r.stderr and "--port" in r.stderr


def test_bad_options_are_explained():
    r = subprocess.run([WSCALE, "demo", "--backends", "0"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "--backends '0'" in r.stderr
    r = subprocess.run([WSCALE, "demo", "--help"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and "--backends N" in r.stdout and "--redis URL" in r.stdout
