"""The lb's WebSocket tunnel: after a valid 101 it relays bytes both ways.

Timeouts of a tunnel (tunnel, client-fin, server-fin), large transfers under
backpressure, half-closes passed on, bytes sent together with the 101 or the
upgrade request, many tunnels at once.

This module also holds the helpers the other test_lb_*.py modules import:
an lb configuration builder, a raw WebSocket client whose handshake can be
split from its connect, fast frame masking, and a raw TCP server thread that
completes WebSocket handshakes and then does whatever a test asks.
"""
import base64
import hashlib
import os
import socket
import struct
import threading
import time

import pytest

from procs import free_port, wait_until
from wsraw import OP_BINARY, OP_TEXT, RawWS, parse_response, upgrade_request

GREETING = "Connected successfully to server "
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


# --- helpers shared by the test_lb_*.py modules -------------------------------

def lb_config(servers, *, global_="", defaults="", frontend="", backend="",
              connect="2s", client="30s", server="30s", tunnel="1h"):
    """An lb configuration text: one frontend (bind 127.0.0.1:{port}) and one
    backend 'be' with the given server lines ("server a 127.0.0.1:PORT ...").
    Extra lines go to each section; {port} is left for lbs() to fill."""
    lines = ["global"] + ["    " + x for x in global_.strip().splitlines()]
    lines += ["defaults", "    mode http", f"    timeout connect {connect}"]
    if client:
        lines.append(f"    timeout client {client}")
    if server:
        lines.append(f"    timeout server {server}")
    if tunnel:
        lines.append(f"    timeout tunnel {tunnel}")
    lines += ["    " + x for x in defaults.strip().splitlines()]
    lines += ["frontend fe", "    bind 127.0.0.1:{port}", "    default_backend be"]
    lines += ["    " + x for x in frontend.strip().splitlines()]
    lines += ["backend be"] + ["    " + x for x in backend.strip().splitlines()]
    lines += ["    " + s for s in servers]
    return "\n".join(lines) + "\n"


def mask(payload: bytes, key: bytes) -> bytes:
    """XOR masking of RFC 6455 5.3, fast enough for megabytes."""
    n = len(payload)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def client_frame(opcode, payload=b"", fin=True):
    """A masked client frame (wsraw.encode_frame, but fast for big payloads)."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload)
    b0 = (0x80 if fin else 0) | opcode
    if n < 126:
        head = struct.pack("!BB", b0, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", b0, 0x80 | 127, n)
    key = os.urandom(4)
    return head + key + mask(payload, key)


class Client(RawWS):
    """A raw WebSocket client through the lb. The constructor connects and
    sends the upgrade request; the answer is read by head() or greeting(),
    so many clients can be started before any answer is awaited."""

    def __init__(self, port, timeout=5.0, path="/"):  # RawWS's own would wait for the head
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.status = None
        self.headers = {}
        self.sock.sendall(upgrade_request(path))

    def head(self):
        """Reads the response head; returns its status (the body of an
        answer other than 101 stays in self.buf)."""
        raw = self._read_until(b"\r\n\r\n")
        self.status, self.headers, _ = parse_response(raw)
        return self.status

    def greeting(self):
        """Expects a 101 and the backend's greeting; returns the server id."""
        status = self.head()
        assert status == 101, f"expected 101, got {status}: {self.buf[:200]!r}"
        text = self.recv_text()
        assert text.startswith(GREETING), text
        return text[len(GREETING):]

    def echo(self, text):
        self.sock.sendall(client_frame(OP_TEXT, text))
        return self.recv_text()

    def sees_eof(self, timeout):
        """True if the lb ends the connection (FIN or reset) within timeout,
        discarding what arrives before; False if it stays open."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False


def connect(port, timeout=5.0):
    """A client past the 101 and the greeting; returns (client, server id)."""
    c = Client(port, timeout=timeout)
    return c, c.greeting()


def server_id_of_new_client(port):
    """Opens a tunnel, reads the greeting, closes; returns the server id."""
    c, ident = connect(port)
    c.close()
    return ident


def log_lines(proc, needle):
    return [line for line in proc.output().splitlines() if needle in line]


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


class RawServer:
    """A WebSocket server in a thread, on a free loopback port. It completes
    each handshake correctly (101 with the right Sec-WebSocket-Accept, plus
    `after_101` bytes in the same write), then calls behaviour(conn, rest,
    srv) in a thread of the connection: `rest` holds what followed the
    request head; srv.record(name, value) keeps events with their monotonic
    time; srv.stopped is set by stop(), which closes every connection."""

    def __init__(self, behaviour, after_101=b""):
        self.behaviour = behaviour
        self.after_101 = after_101
        self.port = free_port()
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", self.port))
        self.lsock.listen(512)
        self.events = []
        self.conns = []
        self.threads = []
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def record(self, name, value=None):
        with self.lock:
            self.events.append((name, value, time.monotonic()))

    def event(self, name):
        with self.lock:
            for n, v, t in self.events:
                if n == name:
                    return v, t
        return None

    def wait_event(self, name, timeout=5.0):
        return wait_until(lambda: self.event(name), timeout=timeout, what=f"server event {name}")

    def _accept(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(conn)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(t)
            t.start()

    def _serve(self, conn):
        try:
            conn.settimeout(30)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            key = ""
            for line in head.decode("latin-1").split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "sec-websocket-key":
                    key = value.strip()
            self.record("request", head)
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
                         + accept_key(key).encode() + b"\r\n\r\n" + self.after_101)
            self.behaviour(conn, rest, self)
        except OSError as e:
            self.record("error", repr(e))
        finally:
            conn.close()

    def stop(self):
        self.stopped.set()
        self.lsock.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.close()
                except OSError:
                    pass
        for t in self.threads:
            t.join(timeout=5)


@pytest.fixture
def raw_server():
    """raw_server(behaviour, after_101=b"") -> RawServer; all stopped at the end."""
    started = []

    def start(behaviour, after_101=b""):
        s = RawServer(behaviour, after_101)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def read_until_eof(conn, rest, srv):
    """Server behaviour: keep what the client sends until its FIN (event
    "eof" with the bytes), or a reset (events "reset" and "eof")."""
    data = rest
    try:
        while chunk := conn.recv(65536):
            data += chunk
        srv.record("eof", data)
    except OSError as e:
        srv.record("reset", repr(e))
        srv.record("eof", data)


# --- timeouts -----------------------------------------------------------------

def test_idle_tunnel_outlives_client_and_server_timeouts_with_timeout_tunnel(backends, lbs):
    b = backends("--echo", "--id", "echo")
    lb = lbs(lb_config([f"server s1 127.0.0.1:{b.port}"], client="1s", server="1s", tunnel="1h"))
    c, ident = connect(lb.port)
    assert ident == "echo"
    time.sleep(3.0)  # three times timeout client and timeout server
    c.sock.settimeout(3.0)
    assert c.echo("still there after 3 s") == "still there after 3 s"
    c.close()


def test_idle_tunnel_is_closed_on_both_sides_after_timeout_tunnel(raw_server, lbs):
    srv = raw_server(read_until_eof)
    lb = lbs(lb_config([f"server s1 127.0.0.1:{srv.port}"], client="30s", server="30s", tunnel="1s"))
    c = Client(lb.port)
    assert c.head() == 101
    t0 = time.monotonic()
    assert c.sees_eof(timeout=4.0), "the idle tunnel was not closed on the client side"
    elapsed = time.monotonic() - t0
    assert 0.5 <= elapsed <= 3.5, f"client side closed after {elapsed:.2f}s (timeout tunnel 1s)"
    # The server side is closed too, not left to the server's own timeouts.
    _, t_eof = srv.wait_event("eof", timeout=3.0)
    assert 0.5 <= t_eof - t0 <= 3.5, f"server side closed after {t_eof - t0:.2f}s"
    c.close()


def test_tunnel_falls_back_to_the_shorter_of_client_and_server_timeouts_without_timeout_tunnel(raw_server, lbs):
    # Without `timeout tunnel`, a tunnel falls back to the shorter of
    # client and server (HAProxy's rule).
    srv = raw_server(read_until_eof)
    lb = lbs(lb_config([f"server s1 127.0.0.1:{srv.port}"], client="1s", server="20s", tunnel=None))
    c = Client(lb.port)
    assert c.head() == 101
    t0 = time.monotonic()
    assert c.sees_eof(timeout=4.0)
    assert 0.5 <= time.monotonic() - t0 <= 3.5


@pytest.mark.parametrize("side", ["client", "server"])
def test_half_closed_silent_tunnel_is_closed_after_fin_timeout(raw_server, lbs, side):
    """One side shuts its write direction; the other stays silent and open:
    with client-fin/server-fin 1s (tunnel 1h) the lb ends the tunnel."""

    def server_behaviour(conn, rest, srv):
        if side == "server":
            conn.shutdown(socket.SHUT_WR)  # the server says it is done...
        read_until_eof(conn, rest, srv)    # ...or stays silent until the lb closes
        if side == "client":
            srv.stopped.wait(10)           # silent after the forwarded FIN

    srv = raw_server(server_behaviour)
    lb = lbs(lb_config([f"server s1 127.0.0.1:{srv.port}"], tunnel="1h",
                       defaults="timeout client-fin 1s\ntimeout server-fin 1s"))
    c = Client(lb.port)
    assert c.head() == 101
    t0 = time.monotonic()
    if side == "client":
        c.sock.shutdown(socket.SHUT_WR)
        # The FIN reaches the server; the client's side then ends within ~1 s.
        srv.wait_event("eof", timeout=2.0)
        assert c.sees_eof(timeout=4.0), "half-closed tunnel still open after 4 s"
        assert time.monotonic() - t0 >= 0.5, "closed at once instead of after the fin timeout"
    else:
        # The server's FIN reaches the client, which then stays silent.
        assert c.sees_eof(timeout=2.0), "the server's FIN was not passed on"
        _, t_eof = srv.wait_event("eof", timeout=4.0)
        assert t_eof - t0 >= 0.5, "closed at once instead of after the fin timeout"
    elapsed = time.monotonic() - t0
    assert elapsed <= 3.5, f"closed after {elapsed:.2f}s"
    c.close()


# --- half-close ------------------------------------------------------------------

def test_client_half_close_is_forwarded_and_the_server_can_still_answer(raw_server, lbs):
    def bye_after_eof(conn, rest, srv):
        read_until_eof(conn, rest, srv)
        conn.sendall(b"bye")
        conn.close()

    srv = raw_server(bye_after_eof)
    lb = lbs(lb_config([f"server s1 127.0.0.1:{srv.port}"]))
    c = Client(lb.port)
    assert c.head() == 101
    c.sock.sendall(b"some bytes")
    c.sock.shutdown(socket.SHUT_WR)
    got = c.buf
    c.sock.settimeout(5.0)
    while chunk := c.sock.recv(65536):
        got += chunk
    assert got == b"bye"
    data, _ = srv.wait_event("eof")
    assert data == b"some bytes"
    c.close()


def test_server_half_close_is_forwarded_and_the_client_can_still_send(raw_server, lbs):
    def shut_then_read(conn, rest, srv):
        conn.sendall(b"last words")
        conn.shutdown(socket.SHUT_WR)
        read_until_eof(conn, rest, srv)

    srv = raw_server(shut_then_read)
    lb = lbs(lb_config([f"server s1 127.0.0.1:{srv.port}"]))
    c = Client(lb.port)
    assert c.head() == 101
    got = c.buf
    while chunk := c.sock.recv(65536):
        got += chunk
    assert got == b"last words"
    c.sock.sendall(b"after your FIN")
    c.sock.shutdown(socket.SHUT_WR)
    data, _ = srv.wait_event("eof")
    assert data == b"after your FIN"
    c.close()


# --- bytes around the 101 --------------------------------------------------------

def test_bytes_the_server_sends_with_its_101_reach_the_client(raw_server, lbs):
    frame = b"\x81\x0cfirst words!"
    srv = raw_server(read_until_eof, after_101=frame)  # 101 and frame in one write
    lb = lbs(lb_config([f"server s1 127.0.0.1:{srv.port}"]))
    c = Client(lb.port)
    assert c.head() == 101
    assert c.recv_text() == "first words!"
    c.close()


def test_bytes_the_client_sends_with_its_upgrade_request_reach_the_server(raw_server, lbs):
    srv = raw_server(read_until_eof)
    lb = lbs(lb_config([f"server s1 127.0.0.1:{srv.port}"]))
    frame = client_frame(OP_TEXT, "sent before the 101")
    with socket.create_connection(("127.0.0.1", lb.port), timeout=5) as s:
        s.sendall(upgrade_request() + frame)  # one write
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(4096)
        assert parse_response(data)[0] == 101
        s.shutdown(socket.SHUT_WR)
        got, _ = srv.wait_event("eof")
    assert got == frame


def test_greeting_of_wscale_backend_arrives_through_the_lb(backends, lbs):
    b = backends("--echo", "--id", "greeter")
    lb = lbs(lb_config([f"server s1 127.0.0.1:{b.port}"]))
    c, ident = connect(lb.port)
    assert ident == "greeter"
    assert c.echo("hi") == "hi"
    c.close()


# --- volume and backpressure -----------------------------------------------------

def test_fifty_half_megabyte_messages_are_echoed_intact_through_the_tunnel(backends, lbs):
    b = backends("--echo", "--id", "echo", "--max-message", "1m", "--max-output", "64m")
    lb = lbs(lb_config([f"server s1 127.0.0.1:{b.port}"]))
    c, _ = connect(lb.port, timeout=20)
    messages = [os.urandom(512 * 1024) for _ in range(50)]
    errors = []

    def send_all():
        try:
            for m in messages:
                c.sock.sendall(client_frame(OP_BINARY, m))
        except OSError as e:
            errors.append(e)

    sender = threading.Thread(target=send_all)
    sender.start()
    try:
        for i, m in enumerate(messages):
            fin, op, payload = c.recv_frame()
            assert (fin, op) == (True, OP_BINARY)
            assert payload == m, f"message {i} differs"
    finally:
        sender.join(timeout=20)
    assert not errors
    c.close()


def test_client_that_stops_reading_then_resumes_gets_everything_and_lb_memory_stays_flat(backends, lbs):
    b = backends("--echo", "--id", "echo", "--max-message", "1m", "--max-output", "128m")
    lb = lbs(lb_config([f"server s1 127.0.0.1:{b.port}"]))
    c, _ = connect(lb.port, timeout=20)
    messages = [os.urandom(512 * 1024) for _ in range(48)]  # 24 MiB each way
    rss_before = lb.rss_kib()
    done = threading.Event()
    errors = []

    def send_all():
        try:
            for m in messages:
                c.sock.sendall(client_frame(OP_BINARY, m))
        except OSError as e:
            errors.append(e)
        done.set()

    sender = threading.Thread(target=send_all)
    sender.start()
    time.sleep(1.5)  # the client reads nothing meanwhile
    rss_paused = lb.rss_kib()
    try:
        for i, m in enumerate(messages):
            fin, op, payload = c.recv_frame()
            assert payload == m, f"message {i} differs"
    finally:
        sender.join(timeout=20)
    assert not errors
    growth = rss_paused - rss_before
    print(f"lb RSS growth while the client did not read: {growth} KiB")
    # The lb holds at most a buffer per direction; it must not absorb the
    # 24 MiB the backend echoes while the client does not read.
    assert growth < 4096, f"the lb grew by {growth} KiB instead of applying backpressure"
    c.close()


# --- many tunnels ---------------------------------------------------------------------

def test_500_tunnels_open_at_once_all_get_their_greeting(backends, lbs):
    b = backends("--echo", "--id", "many")
    lb = lbs(lb_config([f"server s1 127.0.0.1:{b.port}"]))
    clients = [Client(lb.port, timeout=10) for _ in range(500)]
    try:
        ids = [c.greeting() for c in clients]
        assert ids == ["many"] * 500
        # All 500 are live tunnels at the same time.
        for i in (0, 249, 499):
            assert clients[i].echo(f"tunnel {i}") == f"tunnel {i}"
    finally:
        for c in clients:
            c.close()
