"""IPv6 clients of `wscale lb`, next to IPv4 ones on the same frontend.

The lb keeps an IPv4 client's address in 4 bytes of its stream and gives the
stream of an IPv6 client 16 more, from a slab of its own (lb/stream.h): every
place that shows or uses the address must see the client's own, whichever
the family: the request log, X-Forwarded-For, and a tunnel handed over to
the new worker on a reload.
"""
import signal
import socket

from lbmaster import all_gone, reload, wait_httplog, workers_now
from scripted_server import answer_ok, field, parse_head
from scripted_server import scripted  # noqa: F401 -- the fixture
from test_lb_tunnel import Client, lb_config
from wsraw import upgrade_request

BOTH = "bind 127.0.0.1:{port}\n    bind [::1]:{port}"


class Client6(Client):
    """Client (test_lb_tunnel) over IPv6 loopback."""

    def __init__(self, port, timeout=5.0, path="/"):  # Client's own connects to 127.0.0.1
        self.sock = socket.create_connection(("::1", port), timeout=timeout)
        self.buf = b""
        self.status = None
        self.headers = {}
        self.sock.sendall(upgrade_request(path))


def dual_lb(lbs, servers, **kw):
    """An lb with log lines, listening on 127.0.0.1 and [::1] (same port)."""
    config = lb_config(servers, global_="log stdout", defaults="log global", **kw)
    return lbs(config.replace("bind 127.0.0.1:{port}", BOTH))


def tunnel_lines(lb, n):
    """The log lines of n tunnels, by client port."""
    lines = wait_httplog(lb, lambda m: m["status"] == "101", n=n)
    return {int(m["cport"]): m for m in lines}


def test_tunnels_from_ipv6_and_ipv4_clients_log_each_its_own_address(backends, lbs):
    b = backends("--echo", "--id", "e")
    lb = dual_lb(lbs, [f"server s1 127.0.0.1:{b.port}"])
    v6, v4 = Client6(lb.port), Client(lb.port)
    assert v6.greeting() == "e" and v4.greeting() == "e"
    assert v6.echo("over IPv6") == "over IPv6"
    ports = {"[::1]": v6.sock.getsockname()[1], "127.0.0.1": v4.sock.getsockname()[1]}
    v6.close()
    v4.close()
    lines = tunnel_lines(lb, 2)
    assert {ip: int(lines[port]["cport"]) for ip, port in ports.items()} == ports
    assert {lines[port]["cip"] for port in ports.values()} == set(ports)


def test_x_forwarded_for_names_the_ipv6_client(lbs, scripted):
    srv = scripted(answer_ok)
    config = lb_config([f"server s1 {srv.addr}"], frontend="option forwardfor")
    lb = lbs(config.replace("bind 127.0.0.1:{port}", BOTH))
    for host in ("::1", "127.0.0.1"):
        with socket.create_connection((host, lb.port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            got = b""
            while chunk := s.recv(65536):
                got += chunk
        assert got.startswith(b"HTTP/1.1 200 "), got[:100]
    heads = [parse_head(c.head)[1] for c in srv.wait_conns(2)[:2]]
    assert [field(h, "x-forwarded-for") for h in heads] == [["::1"], ["127.0.0.1"]]


def test_an_ipv6_tunnel_handed_over_on_a_reload_keeps_its_address(backends, lbs):
    b = backends("--echo", "--id", "e")
    lb = dual_lb(lbs, [f"server s1 127.0.0.1:{b.port}"])
    (old,) = workers_now(lb, 1)
    v6, v4 = Client6(lb.port), Client(lb.port)
    try:
        assert v6.greeting() == "e" and v4.greeting() == "e"
        reload(lb, signal.SIGHUP)
        all_gone([old], timeout=5)
        (new,) = workers_now(lb, 1, old=[old])
        assert "handed 2 idle tunnels over to generation 2" in lb.output()
        assert v6.echo("still here") == "still here"
        ports = {"[::1]": v6.sock.getsockname()[1], "127.0.0.1": v4.sock.getsockname()[1]}
    finally:
        v6.close()
        v4.close()
    lines = tunnel_lines(lb, 2)
    for ip, port in ports.items():
        assert (lines[port]["cip"], int(lines[port]["pid"])) == (ip, new)
