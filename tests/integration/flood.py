"""Bad peers in bulk, for the fault tests (test_faults.py).

Thousands of sockets are driven from one thread: asyncio tasks for the
slowloris connections, plain non-blocking sockets for a connection flood, and
one select() loop per garbage payload. Nothing here waits longer than the
bound it is given.
"""
import asyncio
import os
import random
import resource
import select
import socket
import ssl
import sys
import time

from wsraw import upgrade_request

HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
# An empty SETTINGS frame, as a real HTTP/2 client sends right after the preface.
HTTP2_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def raise_nofile():
    """Lets this test process open as many sockets as the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def tls_client_hello():
    """The bytes of a real TLS ClientHello (what a browser sends first)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


# --- slowloris ---------------------------------------------------------------------------

class Slow:
    """What became of one slowloris connection: how it ended ('close',
    'reset', or 'open' if it was still open at the deadline), after how many
    seconds from its connect, and the first bytes the server sent."""

    def __init__(self):
        self.end, self.after, self.reply = "open", None, b""

    @property
    def status(self):
        """The HTTP status the server answered with, or None."""
        if self.reply.startswith(b"HTTP/1.1 ") and len(self.reply) >= 12:
            return int(self.reply[9:12])
        return None


async def slow_connection(port, head, deadline, opened):
    """Sends `head` one byte per second until the server answers or closes;
    `opened` is set once connected."""
    loop = asyncio.get_running_loop()
    out = Slow()
    sock = socket.socket()
    sock.setblocking(False)
    t0 = time.monotonic()
    try:
        await loop.sock_connect(sock, ("127.0.0.1", port))
        t0 = time.monotonic()
        opened.append(out)
        sent = 0
        while time.monotonic() < deadline:
            if sent < len(head) and not out.reply:
                await loop.sock_sendall(sock, head[sent:sent + 1])
                sent += 1
            try:
                data = await asyncio.wait_for(loop.sock_recv(sock, 4096), 1.0)
            except asyncio.TimeoutError:
                continue
            if not data:
                out.end, out.after = "close", time.monotonic() - t0
                break
            out.reply += data
    except (ConnectionResetError, BrokenPipeError):
        out.end, out.after = "reset", time.monotonic() - t0
    finally:
        sock.close()
    return out


async def slowloris(port, n, head, bound, batch=200):
    """n slowloris connections, connected in batches; returns (tasks, list
    that fills as they connect). Each gives up at `bound` seconds from now."""
    deadline = time.monotonic() + bound
    opened, tasks = [], []
    for i in range(0, n, batch):
        group = [asyncio.create_task(slow_connection(port, head, deadline, opened))
                 for _ in range(min(batch, n - i))]
        tasks += group
        while len(opened) < len(tasks) and not any(t.done() for t in group):
            await asyncio.sleep(0.01)
    return tasks, opened


# --- connection flood ------------------------------------------------------------------

def flood(port, n):
    """n TCP connections that send nothing. Connects are non-blocking: those
    the server's backlog cannot hold stay pending in the kernel."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        socks.append(s)
    return socks


# --- garbage -------------------------------------------------------------------------

class Outcome:
    """How a server treated one garbage payload: `end` is 'close', 'reset',
    'tls-alert' or 'timeout' (it neither answered nor closed in time), after
    `after` seconds; `reply` holds the first bytes it sent."""

    def __init__(self, end, after, reply):
        self.end, self.after, self.reply = end, after, reply

    def __repr__(self):
        return f"{self.end} after {self.after:.1f}s, reply {self.reply[:60]!r}"


def barrage(sock, payload, endless=b"", bound=10.0):
    """Sends payload on a connected blocking socket (or TLS socket), then
    `endless` over and over, reading all along, until the server closes or
    `bound` seconds pass. Stops sending once the server has answered
    something, and reads on until it closes."""
    t0 = time.monotonic()
    sock.setblocking(False)
    out, reply = memoryview(payload), b""
    try:
        while time.monotonic() - t0 < bound:
            want_write = bool(out) or (endless and not reply)
            pending = isinstance(sock, ssl.SSLSocket) and sock.pending()
            r, w, _ = ([sock], [], []) if pending else select.select(
                [sock], [sock] if want_write else [], [], 0.1)
            if r:
                try:
                    data = sock.recv(65536)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    data = None
                if data == b"":
                    return Outcome("close", time.monotonic() - t0, reply)
                if data:
                    reply += data
                    out = memoryview(b"")
            if w and want_write:
                if not out:
                    out = memoryview(endless)
                try:
                    out = out[sock.send(out):]
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    pass
    except (ConnectionResetError, BrokenPipeError):
        return Outcome("reset", time.monotonic() - t0, reply)
    except ssl.SSLError as e:
        return Outcome("tls-alert", time.monotonic() - t0, reply or str(e).encode())
    return Outcome("timeout", time.monotonic() - t0, reply)


def seeded_random_bytes(seed, n):
    return random.Random(seed).randbytes(n)


def open_tcp(port, timeout=5.0):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def open_unix(path, timeout=5.0):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(path)
    return s


def open_tls(port, context, timeout=5.0):
    return context.wrap_socket(open_tcp(port, timeout), server_hostname="localhost")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def settled_fd_count(pid, quiet=0.3, timeout=5.0):
    """fd_count once it has not changed for `quiet` seconds: the connection
    a fixture's readiness probe opened, say, is closed by then."""
    deadline = time.monotonic() + timeout
    last, since = fd_count(pid), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = fd_count(pid)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    return data


# --- a client process that holds WebSockets open (frozen by the test) -----------------------

def hold(port, n, batch=50):
    """Opens n WebSockets to port (each past its 101 and greeting), prints
    'ready', then sleeps without ever reading again."""
    socks = []
    while len(socks) < n:
        group = [socket.create_connection(("127.0.0.1", port), timeout=30)
                 for _ in range(min(batch, n - len(socks)))]
        for s in group:
            s.sendall(upgrade_request())
        for s in group:
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                head += recv_exact(s, 1)
            assert head.startswith(b"HTTP/1.1 101 "), head
            recv_exact(s, recv_exact(s, 2)[1])  # the greeting
        socks += group
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    if sys.argv[1:2] == ["hold"]:
        raise_nofile()
        hold(int(sys.argv[2]), int(sys.argv[3]))
