"""The lb's worker processes: `nbthread N` (or `workers N`) in global starts N
of them, every one takes connections on the shared listening sockets, a
worker that dies is restarted without disturbing the others, the counters
the master shows keep their totals across it, and together the workers hold
more connections than one process's open-files limit allows.

Which worker serves a connection is read from /proc (who holds the lb's side
of the socket) and from the request log, whose lines each worker prefixes
with lb[PID]."""
import os
import re
import signal
import stat

import procs
import pytest
from lbmaster import (eof_time, holders, open_files, show_stat, wait_httplog, wait_output,
                      workers_now)
from test_lb_tunnel import Client, lb_config


def echo_lb(backends, lbs, global_, defaults="", ident="w"):
    b = backends("--echo", "--id", ident)
    return lbs(lb_config([f"server s1 127.0.0.1:{b.port}"], global_=global_, defaults=defaults))


def open_tunnels(port, n, ident="w"):
    clients = [Client(port, timeout=10) for _ in range(n)]
    for c in clients:
        assert c.greeting() == ident
    return clients


def close_all(clients):
    for c in clients:
        c.close()


@pytest.mark.parametrize("keyword", ["nbthread", "workers"])
def test_two_workers_both_take_connections(backends, lbs, keyword):
    lb = echo_lb(backends, lbs, f"{keyword} 2\nlog stdout", defaults="log global")
    assert "ready: 2 workers serving generation 1" in lb.output()
    pids = workers_now(lb, 2)
    clients = open_tunnels(lb.port, 40)
    try:
        assert set(holders(lb, [c.sock for c in clients])) == pids
    finally:
        close_all(clients)
    lines = wait_httplog(lb, lambda m: m["status"] == "101", n=40)
    assert {int(m["pid"]) for m in lines} == pids


def test_a_killed_worker_is_restarted_and_the_other_workers_tunnels_and_the_counters_live_on(
        backends, lbs, tmp_path):
    sock = tmp_path / "admin.sock"
    lb = echo_lb(backends, lbs, f"nbthread 2\nstats socket {sock} level admin")
    first = workers_now(lb, 2)
    # The fixture's readiness probe was a connection too: count from here.
    base = int(show_stat(sock)[("fe", "FRONTEND")]["stot"])
    clients = open_tunnels(lb.port, 40)
    try:
        held = holders(lb, [c.sock for c in clients])
        assert set(held) == first
        before = show_stat(sock)
        assert int(before[("fe", "FRONTEND")]["stot"]) == base + 40
        assert before[("fe", "FRONTEND")]["scur"] == "40"

        victim = held[0]
        os.kill(victim, signal.SIGKILL)
        survivors = [c for c, pid in zip(clients, held) if pid != victim]
        for c, pid in zip(clients, held):
            if pid == victim:
                assert eof_time(c.sock, timeout=3) is not None, "a tunnel outlived its worker"
        for i, c in enumerate(survivors):
            assert c.echo(f"untouched {i}") == f"untouched {i}"

        pids = workers_now(lb, 2, old=[victim])
        (restarted,) = pids - first
        out = wait_output(lb, f"restarted (pid {restarted})")
        assert re.search(rf"worker \d of generation 1 \(pid {victim}\) killed by signal 9"
                         r".*; restarting in", out), out

        more = open_tunnels(lb.port, 40)
        clients += more
        assert restarted in holders(lb, [c.sock for c in more])
        after = show_stat(sock)
        # The dead worker's totals stay; its open streams are gone.
        assert int(after[("fe", "FRONTEND")]["stot"]) == base + 80
        assert after[("be", "s1")]["stot"] == "80"
        assert after[("fe", "FRONTEND")]["scur"] == str(len(survivors) + 40)
        for i, c in enumerate(survivors):
            assert c.echo(f"still untouched {i}") == f"still untouched {i}"
    finally:
        close_all(clients)


def nofile_wrapper(tmp_path, limit):
    """A script that runs wscale with an open-files limit of `limit` (soft
    and hard, so the lb cannot raise it)."""
    path = tmp_path / f"wscale-nofile-{limit}"
    path.write_text(f'#!/bin/sh\nulimit -n {limit}\nexec "{procs.WSCALE}" "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def nofile_limit(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    raise AssertionError("no open-files limit")


def test_the_workers_together_hold_more_tunnels_than_one_process_has_files_for(
        backends, lbs, tmp_path, monkeypatch):
    # At 256 files a worker holds at most (256 - 50) / 2 = 103 streams (a
    # stream is two sockets; 50 are kept for listeners, logs, checks). Four
    # of them hold 300 tunnels: the kernel spreads connections over their
    # sockets evenly enough (about 75 each) to stay far from 103.
    b = backends("--echo", "--id", "w")
    with monkeypatch.context() as m:
        m.setattr(procs, "WSCALE", nofile_wrapper(tmp_path, 256))
        lb = lbs(lb_config([f"server s1 127.0.0.1:{b.port}"], global_="nbthread 4"))
    pids = workers_now(lb, 4)
    assert all(nofile_limit(p) == 256 for p in pids | {lb.pid})
    clients = open_tunnels(lb.port, 300)
    try:
        for i in (0, 150, 299):
            assert clients[i].echo(f"tunnel {i}") == f"tunnel {i}"
        held = holders(lb, [c.sock for c in clients])
        per_worker = {p: held.count(p) for p in pids}
        assert sum(per_worker.values()) == 300, per_worker
        assert max(per_worker.values()) <= 103, per_worker
        assert all(open_files(p) < 256 for p in pids)
    finally:
        close_all(clients)
    assert "accept: Too many open files" not in lb.output()
