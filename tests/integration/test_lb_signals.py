"""Signals: SIGTERM drains (listeners closed, tunnels kept until they end or
hard-stop-after), SIGINT stops at once; both exit 0 and say so in the log."""
import signal
import socket
import time

import pytest

from procs import port_open, wait_until
from test_lb_tunnel import Client, connect, lb_config


def start(backends, lbs, global_=""):
    b = backends("--echo", "--id", "sig")
    return lbs(lb_config([f"server s1 127.0.0.1:{b.port}"], global_=global_))


def assert_refused(port):
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_sigterm_drains_open_tunnels_until_hard_stop_after_then_exits_0(backends, lbs):
    lb = start(backends, lbs, global_="hard-stop-after 1s")
    tunnels = [connect(lb.port)[0] for _ in range(3)]
    lb.proc.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    wait_until(lambda: not port_open(lb.port), timeout=1.0, what="listener closed")
    assert_refused(lb.port)
    for i, c in enumerate(tunnels):
        assert c.echo(f"draining {i}") == f"draining {i}"
    assert lb.proc.wait(timeout=4.0) == 0
    elapsed = time.monotonic() - t0
    assert 0.7 <= elapsed <= 3.0, f"exited {elapsed:.2f}s after SIGTERM (hard-stop-after 1s)"
    for c in tunnels:
        assert c.sees_eof(timeout=1.0), "a tunnel outlived the lb"
        c.close()
    out = lb.output()
    assert "draining 3 streams" in out, out
    assert "hard stop" in out, out


def test_sigterm_exits_0_as_soon_as_the_last_tunnel_ends(backends, lbs):
    lb = start(backends, lbs)  # no hard-stop-after: up to 10 s
    c, _ = connect(lb.port)
    lb.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert lb.proc.alive(), "exited with a tunnel still open"
    assert c.echo("one more") == "one more"
    c.close()
    assert lb.proc.wait(timeout=3.0) == 0
    assert "drained" in lb.output()


def test_sigterm_with_no_stream_open_exits_0_at_once(backends, lbs):
    lb = start(backends, lbs)
    # A connection that never sent a request is idle, not a stream in flight.
    idle = socket.create_connection(("127.0.0.1", lb.port), timeout=2)
    time.sleep(0.1)
    t0 = time.monotonic()
    lb.proc.send_signal(signal.SIGTERM)
    assert lb.proc.wait(timeout=2.0) == 0
    assert time.monotonic() - t0 < 1.0
    assert idle.recv(100) == b""
    idle.close()
    assert "draining" in lb.output()


def test_sigint_closes_every_tunnel_at_once_and_exits_0(backends, lbs):
    lb = start(backends, lbs, global_="hard-stop-after 30s")
    tunnels = [connect(lb.port)[0] for _ in range(3)]
    t0 = time.monotonic()
    lb.proc.send_signal(signal.SIGINT)
    assert lb.proc.wait(timeout=2.0) == 0
    assert time.monotonic() - t0 < 1.0
    for c in tunnels:
        assert c.sees_eof(timeout=1.0)
        c.close()
    assert "stopping now" in lb.output()


def test_second_sigterm_during_the_drain_stops_at_once(backends, lbs):
    lb = start(backends, lbs, global_="hard-stop-after 30s")
    c, _ = connect(lb.port)
    lb.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert lb.proc.alive()
    t0 = time.monotonic()
    lb.proc.send_signal(signal.SIGTERM)
    assert lb.proc.wait(timeout=2.0) == 0
    assert time.monotonic() - t0 < 1.0
    assert c.sees_eof(timeout=1.0)
    c.close()
    out = lb.output()
    assert "draining" in out and "stopping now" in out, out


def test_sigterm_waits_for_a_queued_or_connecting_request_not_just_tunnels(backends, lbs):
    """A WebSocket handshake in flight when SIGTERM arrives still completes."""
    b = backends("--echo", "--id", "late")
    lb = lbs(lb_config([f"server s1 127.0.0.1:{b.port} maxconn 1"], defaults="timeout queue 5s",
                       global_="hard-stop-after 3s"))
    holder, _ = connect(lb.port)
    waiting = Client(lb.port)  # queued behind holder
    time.sleep(0.2)
    lb.proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    holder.close()
    assert waiting.greeting() == "late"
    assert waiting.echo("made it") == "made it"
    waiting.close()
    assert lb.proc.wait(timeout=3.0) == 0
