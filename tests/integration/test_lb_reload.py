"""Reloads of the lb (SIGUSR2 or SIGHUP to the master): a new generation of
workers takes over on the same listening sockets while traffic goes on;
idle plain tunnels move to it without their clients noticing; the tunnels
that cannot move (TLS) stay on the old worker until they end or the hard
stop; a file that is invalid, unreadable or cannot be bound changes
nothing; listeners and the number of workers change; stick entries and
runtime server states survive when the file keeps them; SIGTERM drains and
SIGINT stops every process."""
import signal
import time

from lbmaster import (all_gone, log_date, master_lines, reload, reload_ok, wait_httplog,
                      workers_now)
from procs import wait_until
from test_lb_tunnel import Client, lb_config
from traffic import Connector, Talker


def open_tunnels(port, n):
    """n tunnels past their greeting; returns (clients, server ids)."""
    clients = [Client(port, timeout=10) for _ in range(n)]
    return clients, [c.greeting() for c in clients]


def close_all(clients):
    for c in clients:
        c.close()


def all_echo(clients, what):
    for i, c in enumerate(clients):
        text = f"{what} {i}"
        assert c.echo(text) == text, f"tunnel {i}"


def rewrite(lb, config):
    """Gives the lb's file a new text ({port} is the lb's port)."""
    lb.config_path.write_text(config.replace("{port}", str(lb.port)))


def test_reload_under_load_keeps_every_tunnel_talking_and_refuses_no_connection(backends, lbs):
    a, b, c = (backends("--echo", "--id", i) for i in "abc")
    servers = [f"server a 127.0.0.1:{a.port}", f"server b 127.0.0.1:{b.port}"]
    lb = lbs(lb_config(servers, global_="nbthread 2"))
    old = workers_now(lb, 2)
    clients, _ = open_tunnels(lb.port, 200)
    talker, connector = Talker(clients), Connector(lb.port)
    try:
        talker.start()
        connector.start()
        talker.wait_passes(1)
        connector.wait_answers(10)

        rewrite(lb, lb_config(servers + [f"server c 127.0.0.1:{c.port}"], global_="nbthread 2"))
        assert reload_ok(lb) == 2
        reloaded_at = time.monotonic()
        talker.wait_passes(2)
        connector.wait_answers(30)
    finally:
        talker.stop()
        connector.stop()
    try:
        assert not talker.failures, talker.failures[:5]
        assert not connector.failures, connector.failures[:5]
        after = [ident for t, ident in connector.answered if t > reloaded_at]
        assert "c" in after, f"the new server got none of {after}"
        all_echo(clients, "after")
    finally:
        close_all(clients)
    all_gone(old, timeout=5)
    workers_now(lb, 2, old=old)


def test_idle_tunnels_move_to_the_new_worker_and_their_clients_notice_nothing(backends, lbs):
    b = backends("--echo", "--id", "w")
    lb = lbs(lb_config([f"server s1 127.0.0.1:{b.port}"], global_="log stdout",
                       defaults="log global"))
    (old,) = workers_now(lb, 1)
    opened = time.time()
    clients, _ = open_tunnels(lb.port, 200)
    greeted = time.time()
    try:
        all_echo(clients, "before")
        websockets = b.metrics()["wscale_websockets_total"]
        lines = reload(lb, signal.SIGHUP)
        assert any("reloaded: generation 2" in line for line in lines), lines
        all_gone([old], timeout=5)
        (new,) = workers_now(lb, 1, old=[old])
        assert f"handed 200 idle tunnels over to generation 2" in lb.output()
        all_echo(clients, "after")
        assert b.metrics()["wscale_websockets_total"] == websockets, "a client reconnected"

        time.sleep(0.5)  # a life long enough to tell from a fresh tunnel's
        clients.pop().close()
        lived = time.time() - greeted
        (line,) = wait_httplog(lb, lambda m: m["status"] == "101")
        assert int(line["pid"]) == new
        assert line["request"] == "GET / HTTP/1.1"
        assert abs(log_date(line) - opened) < 2, "the accept date is not the original one"
        assert int(line["Ta"]) >= lived * 1000 - 50, f"Ta {line['Ta']} ms, lived {lived:.3f} s"
    finally:
        close_all(clients)


def test_an_invalid_file_on_reload_changes_nothing_and_a_later_valid_one_works(backends, lbs):
    b = backends("--echo", "--id", "w")
    good = lb_config([f"server s1 127.0.0.1:{b.port}"], global_="nbthread 2")
    lb = lbs(good)
    pids = workers_now(lb, 2)
    clients, _ = open_tunnels(lb.port, 4)
    try:
        bad = good.replace("default_backend be", "default_backend be\n    balance rr")
        rewrite(lb, bad)
        text = "\n".join(reload(lb))
        line = bad.splitlines().index("    balance rr") + 1
        assert f"reload refused: {lb.config_path}:{line}: " in text, text
        assert set(lb.workers()) == pids
        all_echo(clients, "after a bad file")
        fresh = Client(lb.port)
        clients.append(fresh)
        assert fresh.greeting() == "w"

        lb.config_path.unlink()
        text = "\n".join(reload(lb, signal.SIGHUP))
        assert f"reload refused: {lb.config_path}: cannot read" in text, text
        assert set(lb.workers()) == pids
        all_echo(clients, "after a missing file")

        rewrite(lb, good)
        assert reload_ok(lb) == 2
        workers_now(lb, 2, old=pids)
        all_echo(clients, "after a good file")
    finally:
        close_all(clients)
