"""Reloads of the lb (SIGUSR2 or SIGHUP to the master): a new generation of
workers takes over on the same listening sockets while traffic goes on;
idle plain tunnels move to it without their clients noticing; the tunnels
that cannot move (TLS) stay on the old worker until they end or the hard
stop; a file that is invalid, unreadable or cannot be bound changes
nothing; listeners and the number of workers change; stick entries and
runtime server states survive when the file keeps them; SIGTERM drains and
SIGINT stops every process."""
import signal
import socket
import threading
import time

import pytest
from lbmaster import (all_gone, eof_time, holders, log_date, reload, reload_ok, show_stat,
                      stats_command, wait_httplog, workers_now)
from procs import free_port, pid_alive, port_open, wait_until
from test_lb_tunnel import Client, lb_config, server_id_of_new_client
from test_tls_lb import client_context
from traffic import Connector, Talker
from wsraw import upgrade_request


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


class TLSClient(Client):
    """Client over wss:// (the lb's bind has `ssl crt`)."""

    def __init__(self, port, certs, timeout=5.0):  # Client's own would speak plain TCP
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock = client_context(certs).wrap_socket(raw, server_hostname="localhost")
        self.buf = b""
        self.status = None
        self.headers = {}
        self.sock.sendall(upgrade_request("/"))


def tls_lb(backends, lbs, certs, global_=""):
    b = backends("--echo", "--id", "t")
    config = lb_config([f"server s1 127.0.0.1:{b.port}"], global_=global_)
    return lbs(config.replace("bind 127.0.0.1:{port}",
                              f"bind 127.0.0.1:{{port}} ssl crt {certs / 'server.pem'}"))


def tls_tunnels(lb, certs, n):
    clients = [TLSClient(lb.port, certs) for _ in range(n)]
    for c in clients:
        assert c.greeting() == "t"
    return clients


def eof_times(clients, timeout):
    """Waits, in one thread per client, for the lb to end each connection;
    returns the monotonic times of the ends (None: still open)."""
    times = [None] * len(clients)

    def watch(i):
        times[i] = eof_time(clients[i].sock, timeout)
    threads = [threading.Thread(target=watch, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 5)
    return times


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
        assert not connector.refused, connector.refused[:5]
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
        assert "handed 200 idle tunnels over to generation 2" in lb.output()
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
        bad = good.replace("\nbackend be\n", "\nbackend be\n    balance rr\n")
        rewrite(lb, bad)
        text = "\n".join(reload(lb))
        line = bad.splitlines().index("    balance rr") + 1
        assert f"reload refused: {lb.config_path}:{line}: unknown balance algorithm 'rr'" in text, text
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


def test_a_file_whose_new_listener_cannot_be_bound_changes_nothing(backends, lbs):
    b = backends("--echo", "--id", "w")
    good = lb_config([f"server s1 127.0.0.1:{b.port}"], global_="nbthread 2")
    lb = lbs(good)
    pids = workers_now(lb, 2)
    taken = socket.socket()
    try:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        port = taken.getsockname()[1]
        rewrite(lb, good.replace("default_backend be",
                                 f"bind 127.0.0.1:{port}\n    default_backend be"))
        text = "\n".join(reload(lb))
        assert f"cannot bind 127.0.0.1:{port}: Address already in use" in text, text
        assert "reload refused; generation 1 goes on serving" in text, text
        assert set(lb.workers()) == pids
        c = Client(lb.port)
        assert c.greeting() == "w"
        c.close()
    finally:
        taken.close()


def test_a_tls_tunnel_stays_on_the_old_worker_which_exits_when_it_closes(backends, lbs, certs):
    lb = tls_lb(backends, lbs, certs)
    (old,) = workers_now(lb, 1)
    (c,) = tls_tunnels(lb, certs, 1)
    try:
        reload_ok(lb)
        assert "handed 0 idle tunnels over to generation 2; 1 stay here" in lb.output()
        assert holders(lb, [c.sock]) == [old]
        assert c.echo("on the old worker") == "on the old worker"
        (fresh,) = tls_tunnels(lb, certs, 1)
        assert holders(lb, [fresh.sock]) != [old]
        fresh.close()
        time.sleep(0.5)
        assert pid_alive(old), "the old worker left with a tunnel open"
        assert c.echo("still there") == "still there"
    finally:
        c.close()
    all_gone([old], timeout=5)


def test_hard_stop_after_closes_the_tls_tunnels_left_on_the_old_worker(backends, lbs, certs):
    lb = tls_lb(backends, lbs, certs, global_="hard-stop-after 2s")
    (old,) = workers_now(lb, 1)
    clients = tls_tunnels(lb, certs, 2)
    try:
        reload_ok(lb)
        reloaded = time.monotonic()
        ends = eof_times(clients, timeout=6)
        assert None not in ends, "a tunnel outlived hard-stop-after"
        assert all(1.5 <= t - reloaded <= 4 for t in ends), [t - reloaded for t in ends]
        all_gone([old], timeout=2)
    finally:
        close_all(clients)


def test_close_spread_time_spreads_the_closes_of_the_hard_stop(backends, lbs, certs):
    lb = tls_lb(backends, lbs, certs, global_="hard-stop-after 3s\nclose-spread-time 2s")
    (old,) = workers_now(lb, 1)
    clients = tls_tunnels(lb, certs, 20)
    try:
        reload_ok(lb)
        reloaded = time.monotonic()
        ends = eof_times(clients, timeout=7)
        assert None not in ends, "a tunnel outlived hard-stop-after"
        since = sorted(t - reloaded for t in ends)
        # Closes from about 1 s (3 s - 2 s) to 3 s after the reload.
        assert since[0] >= 0.5 and since[-1] <= 4.5, since
        assert since[-1] - since[0] >= 1.0, f"closed together: {since}"
        assert len({round(t, 1) for t in since}) >= 5, f"closed in few bursts: {since}"
        all_gone([old], timeout=2)
    finally:
        close_all(clients)


def test_reloads_add_and_remove_listeners(backends, lbs):
    b = backends("--echo", "--id", "w")
    one = lb_config([f"server s1 127.0.0.1:{b.port}"])
    lb = lbs(one)
    other = free_port()
    two = one + f"frontend fe2\n    bind 127.0.0.1:{other}\n    default_backend be\n"
    rewrite(lb, two)
    reload_ok(lb)
    assert server_id_of_new_client(other) == "w"
    assert server_id_of_new_client(lb.port) == "w"

    rewrite(lb, one)
    reload_ok(lb)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", other), timeout=1).close()
    assert server_id_of_new_client(lb.port) == "w"


def test_the_number_of_workers_changes_across_reloads_and_no_connection_is_lost(backends, lbs):
    b = backends("--echo", "--id", "w")
    config = lb_config([f"server s1 127.0.0.1:{b.port}"], global_="nbthread {n}")
    lb = lbs(config.replace("{n}", "2"))
    pids = workers_now(lb, 2)
    connector = Connector(lb.port)
    connector.start()
    try:
        connector.wait_answers(10)
        rewrite(lb, config.replace("{n}", "3"))
        reload_ok(lb, signal.SIGHUP)
        pids = workers_now(lb, 3, old=pids)
        connector.wait_answers(30)
        assert not connector.refused and not connector.failures, \
            (connector.refused + connector.failures)[:5]

        rewrite(lb, config.replace("{n}", "1"))
        reload_ok(lb, signal.SIGHUP)
        workers_now(lb, 1, old=pids)
        connector.wait_answers(30)
    finally:
        connector.stop()
    # The two retiring sockets get no new connection once the one-worker
    # generation serves (the lb steers its SO_REUSEPORT groups), so none
    # is queued on a socket as it closes.
    lost = connector.refused + connector.failures
    assert not lost, lost[:5]


def test_a_stick_entry_survives_a_reload_that_keeps_the_table(backends, lbs):
    bs = {i: backends("--echo", "--id", i) for i in "abc"}
    stick = "balance roundrobin\nstick-table type ip size 1k expire 10m\nstick on src"
    lb = lbs(lb_config([f"server {i} 127.0.0.1:{bs[i].port}" for i in "ab"], backend=stick))
    first = server_id_of_new_client(lb.port)
    # The new file adds a server and puts the client's last: without the
    # entry, round robin would send the next client to the file's first.
    order = [i for i in "cba" if i != first] + [first]
    rewrite(lb, lb_config([f"server {i} 127.0.0.1:{bs[i].port}" for i in order], backend=stick))
    reload_ok(lb)
    assert {server_id_of_new_client(lb.port) for _ in range(6)} == {first}


def test_a_server_disabled_at_runtime_stays_so_until_the_file_changes_its_state(
        backends, lbs, tmp_path):
    a, b = backends("--echo", "--id", "a"), backends("--echo", "--id", "b")
    sock = tmp_path / "admin.sock"
    config = lb_config([f"server a 127.0.0.1:{a.port}{{a}}", f"server b 127.0.0.1:{b.port}"],
                       global_=f"stats socket {sock} level admin")

    def reload_with(a_options):
        rewrite(lb, config.replace("{a}", a_options))
        reload_ok(lb)

    def a_status():
        return show_stat(sock)[("be", "a")]["status"]

    lb = lbs(config.replace("{a}", ""))
    assert stats_command(sock, "disable server be/a").strip() == ""
    assert a_status() == "MAINT"
    assert {server_id_of_new_client(lb.port) for _ in range(4)} == {"b"}

    # As HAProxy's server-state rule: the operator's decision stands until
    # the file changes the server's admin state; other changes keep it.
    reload_with("")
    assert a_status() == "MAINT"
    assert {server_id_of_new_client(lb.port) for _ in range(4)} == {"b"}
    reload_with(" weight 2")
    assert a_status() == "MAINT"
    reload_with(" weight 2 disabled")
    assert a_status() == "MAINT"
    reload_with(" weight 2")
    assert a_status() != "MAINT"
    assert "a" in {server_id_of_new_client(lb.port) for _ in range(4)}


def two_worker_lb(backends, lbs, sock, global_=""):
    b = backends("--echo", "--id", "w")
    return lbs(lb_config([f"server s1 127.0.0.1:{b.port}"],
                         global_=f"nbthread 2\nstats socket {sock}\n{global_}"))


def test_sigterm_drains_every_worker_until_hard_stop_after_then_all_exit(backends, lbs, tmp_path):
    sock = tmp_path / "stats.sock"
    lb = two_worker_lb(backends, lbs, sock, "hard-stop-after 2s")
    pids = workers_now(lb, 2)
    clients, _ = open_tunnels(lb.port, 20)
    try:
        assert set(holders(lb, [c.sock for c in clients])) == pids
        lb.proc.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        wait_until(lambda: not port_open(lb.port), timeout=2, what="the listeners closed")
        all_echo(clients, "draining")
        ends = eof_times(clients, timeout=5)
        assert None not in ends, "a tunnel outlived hard-stop-after"
        assert all(1.5 <= t - stopped <= 4 for t in ends), [t - stopped for t in ends]
        assert lb.proc.wait(timeout=3) == 0
    finally:
        close_all(clients)
    all_gone(pids, timeout=1)
    assert not sock.exists(), "the stats socket file outlived the lb"


def test_sigint_stops_every_worker_of_every_generation_at_once(backends, lbs, tmp_path, certs):
    sock = tmp_path / "stats.sock"
    b = backends("--echo", "--id", "t")
    config = lb_config([f"server s1 127.0.0.1:{b.port}"],
                       global_=f"nbthread 2\nstats socket {sock}\nhard-stop-after 30s")
    lb = lbs(config.replace("bind 127.0.0.1:{port}",
                            f"bind 127.0.0.1:{{port}} ssl crt {certs / 'server.pem'}"))
    old = workers_now(lb, 2)
    clients = tls_tunnels(lb, certs, 4)  # they stay on the old workers
    reload_ok(lb)
    clients += tls_tunnels(lb, certs, 4)
    every = set(lb.workers())
    assert len(every) >= 3 and old & every, every
    try:
        lb.proc.send_signal(signal.SIGINT)
        stopped = time.monotonic()
        assert lb.proc.wait(timeout=2) == 0
        ends = eof_times(clients, timeout=2)
        assert None not in ends
        assert all(t - stopped < 1 for t in ends), [t - stopped for t in ends]
    finally:
        close_all(clients)
    all_gone(every, timeout=1)
    assert not sock.exists(), "the stats socket file outlived the lb"
