"""Hash balancing through the real lb (the algorithms themselves have unit
tests): clients of a chat room meet on one server, rooms spread, a reload
that adds a server or a server disabled at runtime moves only the share
consistent hashing promises (and most rooms with map-based), header and
source hashing, and hash-balance-factor spilling a hot room.

Servers are `wscale backend --echo` processes named by their greeting."""
import collections
import signal
import socket

from lbstats import admin, row, show_stat
from procs import wait_until
from test_lb_tunnel import Client, lb_config
from wsraw import upgrade_request

ROOMS = [f"room{k}" for k in range(200)]


class SourceClient(Client):
    """A client from a chosen loopback address, with extra request headers."""

    def __init__(self, port, source="127.0.0.1", extra=None, path="/"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5,
                                             source_address=(source, 0))
        self.buf = b""
        self.status = None
        self.headers = {}
        self.sock.sendall(upgrade_request(path, extra=extra))


def landings(clients):
    """The server ids of clients already started; closes them."""
    try:
        return [c.greeting() for c in clients]
    finally:
        for c in clients:
            c.close()


def room_servers(port, rooms):
    """{room: server id} for one new client per room, ten at a time."""
    out = {}
    for k in range(0, len(rooms), 10):
        batch = rooms[k:k + 10]
        out.update(zip(batch, landings([Client(port, path=f"/chat?x=1&room={r}") for r in batch])))
    return out


def servers(bs, names):
    return [f"server {n} 127.0.0.1:{bs[n].port}" for n in names]


def hash_stack(backends, lbs, tmp_path, names, backend, *, started=None):
    """Echo servers (started: ids to start, default names), an lb using
    `names` of them with the backend lines, and an admin stats socket."""
    bs = {i: backends("--echo", "--id", i) for i in (started or names)}
    sock = tmp_path / f"admin-{names[0]}.sock"
    lb = lbs(lb_config(servers(bs, names), backend=backend,
                       global_=f"stats socket {sock} level admin"))
    return bs, lb, sock


def reload_with(lb, config):
    """Rewrites the lb's file and reloads it (SIGUSR2); waits until the new
    generation serves."""
    generation = lb.output().count("reloaded: generation") + 2
    lb.config_path.write_text(config.format(port=lb.port))
    lb.proc.send_signal(signal.SIGUSR2)
    wait_until(lambda: f"reloaded: generation {generation} " in lb.output(), timeout=10,
               what=f"generation {generation}\n{lb.output()}")


def test_url_param_sends_a_rooms_clients_to_one_server_and_spreads_rooms(backends, lbs,
                                                                         tmp_path):
    names = ["a", "b", "c", "d"]
    _, lb, sock = hash_stack(backends, lbs, tmp_path, names,
                             "balance url_param room\nhash-type consistent")
    per_room = {}
    for room in ROOMS[:10]:
        # 20 clients of the room, all open at once.
        per_room[room] = set(landings([Client(lb.port, path=f"/?room={room}") for _ in range(20)]))
    assert all(len(s) == 1 for s in per_room.values()), per_room
    used = collections.Counter(s.pop() for s in per_room.values())
    assert len(used) >= 3, f"10 rooms on {dict(used)}"
    assert row(show_stat(sock), "be", "BACKEND")["algo"] == "url_param"

    # Without the parameter (or with another one): round-robin.
    plain = landings([Client(lb.port, path=p) for p in ["/", "/?other=1"] * 4])
    assert collections.Counter(plain) == {n: 2 for n in names}


def moved_share(before, after):
    return sum(before[r] != after[r] for r in before) / len(before)


def test_a_fifth_server_moves_about_a_fifth_of_the_rooms_with_consistent_hashing(
        backends, lbs, tmp_path):
    names = ["a", "b", "c", "d", "e"]
    backend = "balance url_param room\nhash-type consistent"
    bs, lb, _ = hash_stack(backends, lbs, tmp_path, names[:4], backend, started=names)
    before = room_servers(lb.port, ROOMS)
    assert set(before.values()) == set(names[:4])
    reload_with(lb, lb_config(servers(bs, names), backend=backend))
    after = room_servers(lb.port, ROOMS)
    share = moved_share(before, after)
    assert 0.1 <= share <= 0.32, share
    # Every room that moved went to the new server.
    assert {after[r] for r in ROOMS if after[r] != before[r]} == {"e"}


def test_a_fifth_server_moves_most_rooms_with_map_based_hashing(backends, lbs, tmp_path):
    names = ["a", "b", "c", "d", "e"]
    backend = "balance url_param room\nhash-type map-based"
    bs, lb, _ = hash_stack(backends, lbs, tmp_path, names[:4], backend, started=names)
    before = room_servers(lb.port, ROOMS)
    reload_with(lb, lb_config(servers(bs, names), backend=backend))
    share = moved_share(before, room_servers(lb.port, ROOMS))
    assert share > 0.5, share


def test_disabling_a_server_moves_only_its_rooms_and_enabling_brings_them_back(backends, lbs,
                                                                              tmp_path):
    _, lb, sock = hash_stack(backends, lbs, tmp_path, ["a", "b", "c", "d"],
                             "balance url_param room\nhash-type consistent")
    before = room_servers(lb.port, ROOMS)
    admin(sock, "disable server be/c")
    during = room_servers(lb.port, ROOMS)
    for room in ROOMS:
        if before[room] == "c":
            assert during[room] != "c", room
        else:
            assert during[room] == before[room], room
    assert 0.1 <= moved_share(before, during) <= 0.4
    admin(sock, "enable server be/c")
    assert room_servers(lb.port, ROOMS) == before


def test_hdr_hashes_the_header_and_source_sends_one_address_to_one_server(backends, lbs,
                                                                          tmp_path):
    _, lb, _ = hash_stack(backends, lbs, tmp_path, ["a", "b", "c", "d"], "balance hdr(X-Room)")
    per_room = {}
    for room in ROOMS[:8]:
        clients = [SourceClient(lb.port, extra=[f"x-room: {room}"]) for _ in range(5)]
        per_room[room] = set(landings(clients))
    assert all(len(s) == 1 for s in per_room.values()), per_room
    assert len({next(iter(s)) for s in per_room.values()}) >= 2, per_room
    # Without the header: round-robin.
    assert collections.Counter(landings([SourceClient(lb.port) for _ in range(8)])) == {
        n: 2 for n in "abcd"}

    _, lb2, _ = hash_stack(backends, lbs, tmp_path, ["e", "f", "g", "h"], "balance source")
    for source in ("127.0.0.1", "127.0.0.2"):
        assert len(set(landings([SourceClient(lb2.port, source) for _ in range(10)]))) == 1
    spread = {source: landings([SourceClient(lb2.port, source)])[0]
              for source in (f"127.0.0.{k}" for k in range(1, 17))}
    assert len(set(spread.values())) >= 2, spread


def test_hash_balance_factor_spills_a_hot_room_over_other_servers(backends, lbs, tmp_path):
    _, lb, sock = hash_stack(backends, lbs, tmp_path, ["a", "b", "c", "d"],
                             "balance url_param room\nhash-type consistent\nhash-balance-factor 150")
    # Some background: one client in each of 8 rooms, kept open.
    background = [Client(lb.port, path=f"/?room={r}") for r in ROOMS[:8]]
    for c in background:
        c.greeting()
    hot = []
    for _ in range(16):  # one at a time: each sees the loads the previous left
        c = Client(lb.port, path="/?room=hot")
        hot.append((c, c.greeting()))
    counts = collections.Counter(ident for _, ident in hot)
    home, most = counts.most_common(1)[0]
    # 24 streams over 4 servers: 150% of the average is 9, so the hot
    # room's server stops taking its clients well before all 16.
    assert len(counts) >= 2 and most <= 10, counts
    for c, _ in hot:
        c.close()
    for c in background:
        c.close()
    # Once the load is gone, the room's next client goes home again.
    wait_until(lambda: row(show_stat(sock), "be", "BACKEND")["scur"] == "0", timeout=5,
               what="streams closed")
    assert landings([Client(lb.port, path="/?room=hot")]) == [home]


def test_weights_set_at_runtime_reshape_the_ring_and_move_rooms_to_or_from_that_server_only(
        backends, lbs, tmp_path):
    _, lb, sock = hash_stack(backends, lbs, tmp_path, ["a", "b", "c", "d"],
                             "balance url_param room\nhash-type consistent")
    before = room_servers(lb.port, ROOMS)
    admin(sock, "set server be/c weight 0")
    during = room_servers(lb.port, ROOMS)
    assert "c" not in during.values()
    assert all(during[r] == before[r] for r in ROOMS if before[r] != "c")
    admin(sock, "set server be/c weight 4")  # 4 of 7 units of weight
    heavy = room_servers(lb.port, ROOMS)
    assert {heavy[r] for r in ROOMS if heavy[r] != before[r]} == {"c"}
    share = sum(s == "c" for s in heavy.values()) / len(ROOMS)
    assert 0.4 <= share <= 0.75, share


def test_balance_uri_sends_one_path_to_one_server(backends, lbs, tmp_path):
    _, lb, _ = hash_stack(backends, lbs, tmp_path, ["a", "b", "c", "d"],
                          "balance uri\nhash-type consistent")
    per_path = {}
    for k in range(12):
        per_path[k] = set(landings([Client(lb.port, path=f"/chat/{k}") for _ in range(4)]))
    assert all(len(s) == 1 for s in per_path.values()), per_path
    assert len({next(iter(s)) for s in per_path.values()}) >= 2, per_path
