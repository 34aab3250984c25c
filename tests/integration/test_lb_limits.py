"""Limits of the lb: a server's maxconn with its queue (timeout queue), the
frontend's and the global maxconn, and the memory an idle tunnel costs."""
import os
import select
import socket
import time

import pytest

from procs import sanitized, wait_until
from test_lb_tunnel import Client, connect, lb_config


def answered_within(client, seconds):
    """True if anything (an answer, or a close) arrives within `seconds`."""
    readable, _, _ = select.select([client.sock], [], [], seconds)
    return bool(readable)


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


# --- server maxconn and the queue ---------------------------------------------

def queued_setup(backends, lbs):
    b = backends("--echo", "--id", "slot")
    lb = lbs(lb_config([f"server s1 127.0.0.1:{b.port} maxconn 2"], defaults="timeout queue 1s"))
    first, second = connect(lb.port)[0], connect(lb.port)[0]
    third = Client(lb.port)
    return lb, first, second, third


def test_third_tunnel_over_server_maxconn_2_gets_503_after_timeout_queue(backends, lbs):
    lb, first, second, third = queued_setup(backends, lbs)
    t0 = time.monotonic()
    assert not answered_within(third, 0.5), "answered at once instead of waiting in the queue"
    status = third.head()
    elapsed = time.monotonic() - t0
    third.close()
    assert status == 503
    assert 0.7 <= elapsed <= 3.0, f"503 after {elapsed:.2f}s (timeout queue 1s)"
    # The two holding the slots were not disturbed.
    assert first.echo("one") == "one"
    assert second.echo("two") == "two"
    first.close()
    second.close()


def test_queued_tunnel_connects_when_a_slot_frees_before_timeout_queue(backends, lbs):
    lb, first, second, third = queued_setup(backends, lbs)
    assert not answered_within(third, 0.3), "answered at once instead of waiting in the queue"
    first.close()  # frees a slot on the server
    assert third.greeting() == "slot"
    assert third.echo("got the slot") == "got the slot"
    # Held past the queue timeout: it is a tunnel now, not a queued request.
    time.sleep(1.0)
    assert third.echo("still") == "still"
    second.close()
    third.close()


# --- frontend and global maxconn -----------------------------------------------------

@pytest.mark.parametrize("where", ["frontend", "global"])
def test_connection_over_maxconn_waits_until_a_tunnel_closes(backends, lbs, where):
    b = backends("--echo", "--id", "m")
    extra = {"frontend": {"frontend": "maxconn 5"}, "global": {"global_": "maxconn 5"}}[where]
    lb = lbs(lb_config([f"server s1 127.0.0.1:{b.port}"], **extra))
    tunnels = [connect(lb.port)[0] for _ in range(5)]
    sixth = Client(lb.port)  # TCP completes (the backlog), nothing more
    assert not answered_within(sixth, 1.0), "a 6th connection was served over maxconn 5"
    for i, c in enumerate(tunnels):
        assert c.echo(f"t{i}") == f"t{i}"  # the five stay usable meanwhile
    tunnels[0].close()
    sixth.sock.settimeout(3.0)
    assert sixth.greeting() == "m"
    for c in tunnels[1:] + [sixth]:
        c.close()


# --- memory ------------------------------------------------------------------------------

def open_tunnels(port, n, batch=50):
    """n tunnels, in batches of concurrent handshakes, each past its greeting."""
    out = []
    while len(out) < n:
        group = [Client(port, timeout=10) for _ in range(min(batch, n - len(out)))]
        for c in group:
            c.greeting()
        out += group
    return out


def test_2000_idle_tunnels_cost_under_1_kib_each_and_all_close_cleanly(backends, lbs):
    b = backends("--echo", "--id", "mem")
    lb = lbs(lb_config([f"server s1 127.0.0.1:{b.port}"]))
    worker = lb.worker_pid()
    time.sleep(0.2)  # past start-up (descriptors opened and closed on the way)
    fds_idle = open_fds(worker)
    # Warm up with the same concurrency, so buffers the handshakes borrow
    # from the pool are already counted before the measure.
    for c in open_tunnels(lb.port, 100):
        c.close()
    wait_until(lambda: open_fds(worker) <= fds_idle, timeout=5, what="warm-up tunnels closed")

    rss_before = lb.rss_kib()
    tunnels = open_tunnels(lb.port, 2000)
    rss_after = lb.rss_kib()
    per_tunnel = (rss_after - rss_before) * 1024 / 2000
    print(f"lb RSS {rss_before} KiB -> {rss_after} KiB with 2000 idle tunnels: "
          f"{per_tunnel:.0f} bytes per tunnel")
    assert open_fds(worker) == fds_idle + 4000  # a client and a server socket each
    # Under ASan (make test SANITIZE=1) every allocation carries redzones and
    # shadow memory: about twice the release figure, so the bound is looser.
    bound = 4096 if sanitized(lb.pid) else 1024
    assert per_tunnel < bound, f"{per_tunnel:.0f} bytes per idle tunnel"

    # Every client says it is done (FIN); the backend closes, and the lb
    # passes that FIN on: an orderly end for all 2000, no reset.
    for c in tunnels:
        c.sock.shutdown(socket.SHUT_WR)
    resets = 0
    for c in tunnels:
        c.sock.settimeout(5.0)
        try:
            while c.sock.recv(65536):
                pass
        except ConnectionResetError:
            resets += 1
        c.close()
    assert resets == 0, f"{resets} of 2000 tunnels ended with a reset"
    wait_until(lambda: open_fds(worker) <= fds_idle, timeout=10,
               what="the lb's sockets of the 2000 tunnels closed")
