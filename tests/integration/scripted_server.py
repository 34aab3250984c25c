"""A small threaded TCP server whose behaviour a test scripts, for what a
real server will not do: answer garbage, lie in a 101, never answer, or show
the exact bytes a proxy forwarded.

    srv = scripted(handler)       # the fixture; listens on a free 127.0.0.1 port
    ... traffic to srv.port ...
    srv.conns[0].received         # every byte that connection received

Each accepted connection runs handler(conn) in its own thread; conn (a Conn)
records every byte it reads. The fixture stops every server at the end of
the test: the listener and all connections are closed and the threads
joined, and an exception raised by a handler (other than the connection
going away) fails the test.
"""
import hashlib
import base64
import socket
import threading
import time

import pytest

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_accept(key):
    """The Sec-WebSocket-Accept value a key calls for (RFC 6455 4.2.2)."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def parse_head(head: bytes):
    """(first line, [(name, value), ...]) of a request or response head."""
    lines = head.decode("latin-1").split("\r\n")
    fields = []
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        fields.append((name, value.strip()))
    return lines[0], fields


def field(fields, name):
    """The values of every field called `name` (case-insensitive)."""
    return [v for n, v in fields if n.lower() == name.lower()]


class Conn:
    """One accepted connection, as the handler sees it."""

    def __init__(self, sock, timeout):
        self.sock = sock
        self.sock.settimeout(timeout)
        self.received = b""  # every byte read, in order
        self.buf = b""       # read but not yet consumed by the handler
        self.eof = False
        self.head = None     # the last head read_head() returned
        self.done = threading.Event()

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            self.eof = True
            raise EOFError("peer closed")
        self.received += chunk
        self.buf += chunk

    def read_head(self):
        """Reads up to the end of a head; returns it (ending in CRLF CRLF)."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n\r\n") + 4
        self.head, self.buf = self.buf[:i], self.buf[i:]
        return self.head

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n") + 2
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_chunked(self):
        """Reads a chunked body up to and including its trailer section;
        returns the raw bytes as they came."""
        raw = b""
        while True:
            line = self.read_line()
            raw += line
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                break
            raw += self.read_exact(size + 2)
        while True:  # trailer fields, then the final CRLF
            line = self.read_line()
            raw += line
            if line == b"\r\n":
                return raw

    def read_body(self, head=None):
        """Reads the body the head announces (Content-Length or chunked)."""
        _, fields = parse_head(head or self.head)
        if any("chunked" in v.lower() for v in field(fields, "transfer-encoding")):
            return self.read_chunked()
        length = field(fields, "content-length")
        return self.read_exact(int(length[0])) if length else b""

    def read_until_close(self, timeout=None):
        """Reads (and records) until the peer closes or `timeout` passes.
        Returns what was read; never raises for the connection ending."""
        if timeout is not None:
            self.sock.settimeout(timeout)
        start = len(self.buf)
        try:
            while True:
                self._fill()
        except (EOFError, OSError):
            pass
        out, self.buf = self.buf[start:], self.buf[:start]
        return out

    def send(self, data: bytes):
        self.sock.sendall(data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def respond(conn, status=200, body=b"ok", headers=(), reason="OK"):
    """Sends a response framed by Content-Length."""
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"] + list(headers)
    conn.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def answer_ok(conn):
    """The well-behaved handler: reads the request head and its body,
    answers 200 with a Content-Length body, then reads on until the proxy
    closes (so anything it forwards past the request is recorded)."""
    conn.read_head()
    conn.read_body()
    respond(conn, 200, b"hello")
    conn.read_until_close(timeout=3)


class ScriptedServer:
    def __init__(self, handler, timeout=5.0):
        self.handler = handler
        self.timeout = timeout
        self.conns = []
        self.errors = []
        self.lock = threading.Lock()
        self.threads = []
        self.stopping = False
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self.acceptor.start()

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    def _accept_loop(self):
        while not self.stopping:
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn = Conn(sock, self.timeout)
            with self.lock:
                self.conns.append(conn)
            t = threading.Thread(target=self._run, args=(conn,), daemon=True)
            with self.lock:
                self.threads.append(t)
            t.start()

    def _run(self, conn):
        try:
            self.handler(conn)
        except (EOFError, ConnectionError, socket.timeout):
            pass  # the proxy went away or stayed silent: the test judges that
        except OSError:
            if not self.stopping:
                raise
        except Exception as e:  # noqa: BLE001 — reported at teardown
            self.errors.append(e)
        finally:
            conn.close()
            conn.done.set()

    @property
    def received(self):
        """Everything every connection received, in accept order."""
        with self.lock:
            return b"".join(c.received for c in self.conns)

    def wait_conns(self, n, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.conns) >= n:
                    return list(self.conns)
            time.sleep(0.01)
        raise AssertionError(f"the server got {len(self.conns)} connections, expected {n}")

    def wait_done(self, timeout=5.0):
        """Waits until every handler so far has returned."""
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            assert c.done.wait(timeout), "a scripted handler is still running"

    def stop(self):
        self.stopping = True
        try:
            self.listener.close()
        except OSError:
            pass
        self.acceptor.join(5)
        with self.lock:
            conns, threads = list(self.conns), list(self.threads)
        for c in conns:
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        for t in threads:
            t.join(5)


@pytest.fixture
def scripted():
    """scripted(handler, timeout=5.0) -> ScriptedServer; all stopped at the end."""
    started = []

    def start(handler, timeout=5.0):
        srv = ScriptedServer(handler, timeout)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()
    for srv in started:
        assert not srv.errors, f"scripted handler failed: {srv.errors!r}"
