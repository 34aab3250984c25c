"""How the lb spreads new tunnels over servers: roundrobin (with weights),
leastconn (by tunnels open) and random(N) (never a DOWN server). Each
backend's greeting names it, so every client knows where it landed."""
import collections
import signal

from procs import wait_until
from test_lb_tunnel import connect, lb_config, log_lines, server_id_of_new_client


def echo_backends(backends, *ids):
    return {i: backends("--echo", "--id", i) for i in ids}


def test_roundrobin_over_four_servers_gives_each_two_of_eight_clients(backends, lbs):
    bs = echo_backends(backends, "w1", "w2", "w3", "w4")
    lb = lbs(lb_config([f"server {n} 127.0.0.1:{b.port}" for n, b in bs.items()],
                       backend="balance roundrobin"))
    ids = [server_id_of_new_client(lb.port) for _ in range(8)]
    assert collections.Counter(ids) == {"w1": 2, "w2": 2, "w3": 2, "w4": 2}, ids
    # In turn, not in bursts: each round of four covers all four servers.
    assert sorted(ids[:4]) == sorted(ids[4:]) == ["w1", "w2", "w3", "w4"], ids


def test_roundrobin_weight_3_against_weight_1_splits_40_connections_30_10(backends, lbs):
    bs = echo_backends(backends, "heavy", "light")
    lb = lbs(lb_config([f"server heavy 127.0.0.1:{bs['heavy'].port} weight 3",
                        f"server light 127.0.0.1:{bs['light'].port} weight 1"],
                       backend="balance roundrobin"))
    ids = [server_id_of_new_client(lb.port) for _ in range(40)]
    assert collections.Counter(ids) == {"heavy": 30, "light": 10}, ids


def test_weight_0_server_takes_no_new_tunnels(backends, lbs):
    bs = echo_backends(backends, "on", "off")
    lb = lbs(lb_config([f"server on 127.0.0.1:{bs['on'].port}",
                        f"server off 127.0.0.1:{bs['off'].port} weight 0"],
                       backend="balance roundrobin"))
    ids = [server_id_of_new_client(lb.port) for _ in range(6)]
    assert ids == ["on"] * 6


def test_leastconn_sends_new_tunnels_to_the_server_with_fewest_open(backends, lbs):
    bs = echo_backends(backends, "x", "y", "z")
    lb = lbs(lb_config([f"server {n} 127.0.0.1:{b.port}" for n, b in bs.items()],
                       backend="balance leastconn", frontend="log stdout"))
    tunnels = [connect(lb.port) for _ in range(6)]
    assert collections.Counter(i for _, i in tunnels) == {"x": 2, "y": 2, "z": 2}

    # Close both tunnels on y; wait until the lb has logged their end.
    for c, ident in tunnels:
        if ident == "y":
            c.close()
    wait_until(lambda: len(log_lines(lb.proc, " be/y ")) >= 2, timeout=5,
               what=f"the two tunnels to y logged as closed\n{lb.output()}")

    new = [connect(lb.port) for _ in range(2)]
    assert [i for _, i in new] == ["y", "y"], lb.output()
    # Now 2/2/2 again: the next three spread over all three servers.
    more = [connect(lb.port) for _ in range(3)]
    assert sorted(i for _, i in more) == ["x", "y", "z"]
    for c, _ in tunnels + new + more:
        c.close()


def test_leastconn_counts_tunnels_by_weight(backends, lbs):
    bs = echo_backends(backends, "big", "small")
    lb = lbs(lb_config([f"server big 127.0.0.1:{bs['big'].port} weight 2",
                        f"server small 127.0.0.1:{bs['small'].port} weight 1"],
                       backend="balance leastconn"))
    tunnels = [connect(lb.port) for _ in range(9)]
    assert collections.Counter(i for _, i in tunnels) == {"big": 6, "small": 3}
    for c, _ in tunnels:
        c.close()


def test_random_2_never_picks_a_down_server(backends, lbs):
    bs = echo_backends(backends, "r1", "r2", "r3")
    lb = lbs(lb_config([f"server {n} 127.0.0.1:{b.port}" for n, b in bs.items()],
                       backend="balance random(2)\noption httpchk GET /healthz\n"
                               "default-server check inter 200ms fall 2 rise 2",
                       connect="1s"))
    bs["r2"].stop(signal.SIGKILL)
    wait_until(lambda: log_lines(lb.proc, "server be/r2 is DOWN"), timeout=3,
               what=f"r2 marked DOWN\n{lb.output()}")
    # Kept open, so that the load the draws compare grows on both live
    # servers; every one must be served (a draw of r2 would be a 503).
    tunnels = [connect(lb.port) for _ in range(30)]
    counts = collections.Counter(i for _, i in tunnels)
    assert set(counts) == {"r1", "r3"}, counts
    for c, _ in tunnels:
        c.close()
