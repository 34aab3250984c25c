"""Source-address affinity: "stick-table type ip size N expire D" with
"stick on src". A client's address maps to the server it last used; the
lb sends it there without balancing while that server is UP, balances it
again once the entry expired or the server is gone, and it then sticks to
its new server. Every client here is 127.0.0.1, so all of them are one key
(several keys are the unit tests' business: tests/unit/test_stick.c).

Each backend's greeting ("Connected successfully to server <ID>") tells
which one answered."""
import asyncio
import signal
import time

import pytest
import websockets

from procs import Redis, wait_until
from test_lb_tunnel import lb_config, log_lines

GREETING = "Connected successfully to server "


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def greeted(ws):
    text = await asyncio.wait_for(ws.recv(), 5)
    assert text.startswith(GREETING), text
    return text[len(GREETING):]


def server_ids(lb, n):
    """Opens n WebSocket connections one after the other, each closed before
    the next; returns the server id each one was greeted by."""
    async def main():
        ids = []
        for _ in range(n):
            async with websockets.connect(lb.url, open_timeout=5) as ws:
                ids.append(await greeted(ws))
        return ids
    return run(main())


def echo_backends(backends, *ids):
    return {i: backends("--echo", "--id", i) for i in ids}


def servers_of(bs, options=""):
    return [f"server {name} 127.0.0.1:{b.port} {options}".rstrip() for name, b in bs.items()]


def stick(expire="30m", more=""):
    return (f"balance roundrobin\nstick-table type ip size 200k expire {expire}\n"
            f"stick on src\n{more}")


def test_every_connection_from_one_address_goes_to_one_server(backends, lbs):
    bs = echo_backends(backends, "a", "b", "c")
    plain = lbs(lb_config(servers_of(bs), backend="balance roundrobin"))
    sticky = lbs(lb_config(servers_of(bs), backend=stick()))
    # Without the table, round robin turns; with it, the first choice holds.
    assert sorted(server_ids(plain, 6)) == ["a", "a", "b", "b", "c", "c"]
    ids = server_ids(sticky, 8)
    assert len(set(ids)) == 1, ids


def test_connections_open_at_once_all_stick_to_the_same_server(backends, lbs):
    bs = echo_backends(backends, "a", "b", "c")
    lb = lbs(lb_config(servers_of(bs), backend=stick()))

    async def main():
        clients = [await websockets.connect(lb.url, open_timeout=5) for _ in range(6)]
        ids = [await greeted(ws) for ws in clients]
        for ws in clients:
            await ws.close()
        return ids
    ids = run(main())
    assert len(set(ids)) == 1, ids


def test_after_expire_the_next_connection_is_balanced_again_and_sticks(backends, lbs):
    bs = echo_backends(backends, "a", "b", "c")
    lb = lbs(lb_config(servers_of(bs), backend=stick(expire="1s")))
    first = server_ids(lb, 3)
    assert len(set(first)) == 1, first
    # Each connection refreshed the entry; 1 s without one lets it expire.
    time.sleep(1.3)
    then = server_ids(lb, 3)
    assert len(set(then)) == 1, then
    # Round robin goes on from where it was: the next server, not the first.
    assert then[0] != first[0], (first, then)


def test_a_stopped_sticky_server_is_left_with_redispatch_and_the_client_sticks_to_the_next(backends, lbs):
    bs = echo_backends(backends, "a", "b", "c")
    lb = lbs(lb_config(servers_of(bs), backend=stick(more="retries 2\noption redispatch"),
                       connect="1s"))
    before = server_ids(lb, 2)
    assert len(set(before)) == 1, before
    bs[before[0]].stop(signal.SIGKILL)
    # No checks: the lb learns from the refused connection and, on the last
    # retry, redispatches; the table then holds the server that took it.
    after = server_ids(lb, 4)
    assert before[0] not in after, after
    assert len(set(after)) == 1, after


def test_a_sticky_server_marked_down_by_checks_loses_its_clients_for_good(backends, lbs):
    bs = echo_backends(backends, "a", "b", "c")
    checks = "option httpchk GET /healthz\ndefault-server check inter 100ms fall 2 rise 2"
    lb = lbs(lb_config(servers_of(bs), backend=stick(more=checks), connect="1s"))
    first = server_ids(lb, 2)
    assert len(set(first)) == 1, first
    port = bs[first[0]].port
    bs[first[0]].stop(signal.SIGKILL)
    wait_until(lambda: log_lines(lb.proc, f"server be/{first[0]} is DOWN"), timeout=3,
               what=f"{first[0]} marked DOWN\n{lb.output()}")
    moved = server_ids(lb, 3)
    assert first[0] not in moved and len(set(moved)) == 1, moved
    # The old server comes back: the client stays where it is now.
    backends("--echo", "--id", first[0], port=port)
    wait_until(lambda: log_lines(lb.proc, f"server be/{first[0]} is UP"), timeout=3,
               what=f"{first[0]} UP again\n{lb.output()}")
    assert server_ids(lb, 3) == [moved[0]] * 3


def test_a_sticky_client_waits_for_its_full_server_instead_of_going_elsewhere(backends, lbs):
    bs = echo_backends(backends, "a", "b")
    lb = lbs(lb_config(servers_of(bs, "maxconn 1"), backend=stick(more="timeout queue 10s")))

    async def main():
        holder = await websockets.connect(lb.url, open_timeout=5)
        home = await greeted(holder)
        # The same address again: its server is at maxconn 1, so the lb
        # queues it there (HAProxy's persistence) rather than balance it.
        waiter = asyncio.ensure_future(websockets.connect(lb.url, open_timeout=10))
        await asyncio.sleep(0.3)
        assert not waiter.done(), "the second connection was answered while its server was full"
        await holder.close()
        second = await asyncio.wait_for(waiter, 5)
        where = await greeted(second)
        await second.close()
        return home, where
    home, where = run(main())
    assert where == home


@pytest.mark.parametrize("redispatch", [True, False])
def test_clients_waiting_for_a_server_that_goes_down(tmp_path, redis, backends, lbs, redispatch):
    """As HAProxy: with option redispatch they are balanced elsewhere at
    once; without it they keep waiting for their server (503 at timeout
    queue). A chat backend whose Redis is gone fails its /healthz, so the
    checks mark it DOWN while its open tunnel stays."""
    other_redis = Redis(tmp_path)
    try:
        redis_of = {"a": redis, "b": other_redis}
        bs = {i: backends("--id", i, "--redis", r.url) for i, r in redis_of.items()}
        more = ("timeout queue 1500ms\noption httpchk GET /healthz\n"
                "default-server check inter 100ms fall 2 rise 2\n"
                + ("option redispatch" if redispatch else ""))
        lb = lbs(lb_config(servers_of(bs, "maxconn 1"), backend=stick(more=more), connect="1s",
                           frontend="log stdout"))

        async def main():
            holder = await websockets.connect(lb.url, open_timeout=5)
            home = await greeted(holder)
            waiter = asyncio.ensure_future(websockets.connect(lb.url, open_timeout=10))
            await asyncio.sleep(0.3)
            assert not waiter.done(), "the second connection was answered while its server was full"
            redis_of[home].stop()
            try:
                second = await asyncio.wait_for(waiter, 5)
                outcome = await greeted(second)
                await second.close()
            except websockets.exceptions.InvalidStatusCode as e:
                outcome = e.status_code
            await holder.close()
            return home, outcome
        home, outcome = run(main())
        assert log_lines(lb.proc, f"server be/{home} is DOWN"), lb.output()
        if redispatch:
            assert outcome == ({"a", "b"} - {home}).pop(), lb.output()
        else:
            assert outcome == 503, lb.output()
            assert [line for line in log_lines(lb.proc, " 503 ") if " sQ-- " in line], lb.output()
    finally:
        other_redis.stop()
