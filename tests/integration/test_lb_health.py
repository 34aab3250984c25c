"""Health of servers as the lb sees it: HTTP checks (option httpchk), fall
and rise, failures of real traffic, redispatch, backup servers.

Event logs ("server be/a is DOWN, reason: ...") go to the lb's stderr, which
the Lb fixture keeps in its log file.
"""
import signal
import time

from procs import free_port, wait_until
from test_lb_tunnel import Client, connect, lb_config, log_lines, server_id_of_new_client
from wsraw import http_exchange, upgrade_request

INTER = 0.2  # seconds, as configured below
FALL = RISE = 2
SLACK = 2.0

CHECKED = """
balance roundrobin
option httpchk GET /healthz
retries 3
option redispatch
default-server check inter 200ms fall 2 rise 2
"""


def echo_backends(backends, *ids):
    return {i: backends("--echo", "--id", i) for i in ids}


def servers_of(bs):
    return [f"server {name} 127.0.0.1:{b.port}" for name, b in bs.items()]


def wait_logged(lb, needle, timeout, count=1):
    return wait_until(lambda: len(log_lines(lb.proc, needle)) >= count, timeout=timeout,
                      what=f"lb log line {needle!r}\n{lb.output()}")


def test_killed_backend_is_marked_down_its_tunnels_close_and_it_returns_after_restart(backends, lbs):
    bs = echo_backends(backends, "a", "b", "c")
    lb = lbs(lb_config(servers_of(bs), backend=CHECKED, connect="1s"))
    time.sleep(3 * INTER)  # every server checked at least once
    assert "is DOWN" not in lb.output()

    tunnels = [connect(lb.port) for _ in range(6)]
    assert sorted(ident for _, ident in tunnels) == ["a", "a", "b", "b", "c", "c"]

    port_a = bs["a"].port
    bs["a"].stop(signal.SIGKILL)
    t0 = time.monotonic()
    wait_logged(lb, "server be/a is DOWN", timeout=INTER * FALL + SLACK)
    print(f"DOWN logged {time.monotonic() - t0:.2f}s after the kill")
    assert "server be/b is DOWN" not in lb.output()
    assert "server be/c is DOWN" not in lb.output()

    # The dead server's tunnels end; the others' stay up and working.
    for c, ident in tunnels:
        if ident == "a":
            assert c.sees_eof(timeout=2.0), "a tunnel to the killed server stayed open"
        else:
            c.sock.settimeout(3.0)
            assert c.echo(f"still on {ident}") == f"still on {ident}"

    # New clients go to the live servers only, every one of them served.
    ids = [server_id_of_new_client(lb.port) for _ in range(50)]
    assert set(ids) == {"b", "c"}, ids

    # Back on the same port: UP again after rise checks, and given clients.
    backends("--echo", "--id", "a", port=port_a)
    t0 = time.monotonic()
    wait_logged(lb, "server be/a is UP", timeout=INTER * RISE + SLACK)
    print(f"UP logged {time.monotonic() - t0:.2f}s after the restart")
    ids = [server_id_of_new_client(lb.port) for _ in range(6)]
    assert "a" in ids, ids
    for c, _ in tunnels:
        c.close()


def test_clients_arriving_before_the_checks_notice_a_dead_server_are_redispatched(backends, lbs):
    """retries 3 + option redispatch: a connection refused by a server that
    just died is retried on another server (HAProxy redispatches at once when
    the server is DOWN, or with round robin over several active servers), so
    no client sees a 503 while the checks catch up."""
    bs = echo_backends(backends, "a", "b", "c")
    lb = lbs(lb_config(servers_of(bs), backend=CHECKED.replace("inter 200ms", "inter 2s"),
                       connect="1s"))
    bs["a"].stop(signal.SIGKILL)
    statuses = []
    for _ in range(12):
        c = Client(lb.port)
        status = c.head()
        statuses.append((status, c.recv_text() if status == 101 else c.buf[:60]))
        c.close()
    assert all(s == 101 for s, _ in statuses), f"{statuses}\n{lb.output()}"
    assert {text.rsplit(" ", 1)[1] for _, text in statuses} == {"b", "c"}


def test_server_without_check_is_never_marked_down_by_checks(backends, lbs):
    live = backends("--echo", "--id", "live")
    dead_port = free_port()  # nothing listens there
    lb = lbs(lb_config([f"server live 127.0.0.1:{live.port} check",
                        f"server checked 127.0.0.1:{dead_port} check",
                        f"server unchecked 127.0.0.1:{dead_port}"],
                       backend="option httpchk GET /healthz\ndefault-server inter 200ms fall 2 rise 2",
                       connect="1s"))
    # Checks do run: the checked twin of the dead address goes DOWN...
    wait_logged(lb, "server be/checked is DOWN", timeout=INTER * FALL + SLACK)
    time.sleep(5 * INTER)
    # ...while the unchecked one stays as it is, and so does the live one.
    assert "be/unchecked is DOWN" not in lb.output()
    assert "be/live is DOWN" not in lb.output()


def test_all_servers_down_when_redis_is_gone_then_the_lb_answers_503(redis, backends, lbs):
    ws = {i: backends("--id", i, "--redis", redis.url) for i in ("ws1", "ws2")}
    lb = lbs(lb_config(servers_of(ws), backend=CHECKED, connect="1s"))
    c, ident = connect(lb.port)
    assert ident in ws
    c.close()

    redis.stop()
    # The backends themselves report it: /healthz 503.
    for b in ws.values():
        wait_until(lambda: b.healthz()[0] == 503, timeout=5, what="backend /healthz 503")
    for name in ws:
        wait_logged(lb, f"server be/{name} is DOWN", timeout=INTER * FALL + SLACK)
    wait_logged(lb, "backend 'be' has no server available", timeout=1.0)

    status, body = lb.http_get("/")
    assert status == 503, body
    status, _, body = http_exchange(lb.port, upgrade_request())
    assert status == 503, body


def test_a_refused_connection_marks_the_server_down_at_once(backends, lbs):
    live = backends("--echo", "--id", "live")
    dead_port = free_port()
    # Checks every hour: only traffic can tell the lb that 'dead' is dead.
    lb = lbs(lb_config([f"server dead 127.0.0.1:{dead_port}",
                        f"server live 127.0.0.1:{live.port}"],
                       backend="balance roundrobin\nretries 3\noption redispatch\n"
                               "default-server check inter 1h fall 1 rise 1",
                       connect="1s"))
    c = Client(lb.port)  # round robin starts with 'dead'
    c.head()
    c.close()
    wait_logged(lb, "server be/dead is DOWN", timeout=1.0)
    ids = [server_id_of_new_client(lb.port) for _ in range(6)]
    assert ids == ["live"] * 6


def test_request_refused_by_its_server_is_served_by_another_with_redispatch(backends, lbs):
    """HAProxy: with option redispatch, a retry whose server is now DOWN
    goes to another server instead of failing."""
    live = backends("--echo", "--id", "live")
    dead_port = free_port()
    lb = lbs(lb_config([f"server dead 127.0.0.1:{dead_port}",
                        f"server live 127.0.0.1:{live.port}"],
                       backend="balance roundrobin\nretries 3\noption redispatch\n"
                               "default-server check inter 1h fall 1 rise 1",
                       connect="1s"))
    c = Client(lb.port)  # round robin starts with 'dead'
    status = c.head()
    got = c.recv_text() if status == 101 else c.buf[:80]
    c.close()
    assert status == 101, f"got {status} {got!r}\n{lb.output()}"
    assert got == "Connected successfully to server live"


def test_backup_server_takes_traffic_only_when_every_active_one_is_down(backends, lbs):
    bs = echo_backends(backends, "a", "b", "spare")
    lb = lbs(lb_config([f"server a 127.0.0.1:{bs['a'].port}",
                        f"server b 127.0.0.1:{bs['b'].port}",
                        f"server spare 127.0.0.1:{bs['spare'].port} backup"],
                       backend=CHECKED, connect="1s"))
    ids = [server_id_of_new_client(lb.port) for _ in range(10)]
    assert set(ids) == {"a", "b"}, ids

    port_a = bs["a"].port
    bs["a"].stop(signal.SIGKILL)
    wait_logged(lb, "server be/a is DOWN", timeout=INTER * FALL + SLACK)
    ids = [server_id_of_new_client(lb.port) for _ in range(6)]
    assert set(ids) == {"b"}, ids  # one active server left: still no backup

    bs["b"].stop(signal.SIGKILL)
    wait_logged(lb, "server be/b is DOWN", timeout=INTER * FALL + SLACK)
    ids = [server_id_of_new_client(lb.port) for _ in range(6)]
    assert set(ids) == {"spare"}, ids

    backends("--echo", "--id", "a", port=port_a)
    wait_logged(lb, "server be/a is UP", timeout=INTER * RISE + SLACK)
    ids = [server_id_of_new_client(lb.port) for _ in range(6)]
    assert set(ids) == {"a"}, ids
