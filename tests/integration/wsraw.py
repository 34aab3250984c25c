"""A raw-socket WebSocket client for protocol tests.

It can send anything — unmasked frames, reserved bits, lying lengths — which
is why it exists next to python3-websockets (a correct client that refuses
to misbehave). It parses what the server sends strictly, so the server's own
framing is checked by every test that uses it.
"""
import base64
import os
import socket
import ssl
import struct

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


# How raw sockets are opened: plain TCP unless a test module sets a TLS
# context here (see use_tls), so every raw-socket test can also run over TLS.
TLS = {"context": None, "server_hostname": "localhost"}


def use_tls(context, server_hostname="localhost"):
    """Makes the raw clients speak TLS (context) or plain TCP again (None)."""
    TLS["context"] = context
    TLS["server_hostname"] = server_hostname


def connect(port, timeout=5.0):
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if TLS["context"] is None:
        return sock
    return TLS["context"].wrap_socket(sock, server_hostname=TLS["server_hostname"])


def tls_client_context(cafile):
    """A client context trusting only the test CA (and checking names)."""
    return ssl.create_default_context(cafile=str(cafile))


def http_exchange(port, request: bytes, timeout=5.0):
    """Sends raw request bytes, reads until the server closes; returns
    (status, headers dict with lower-case names, body bytes)."""
    with connect(port, timeout=timeout) as s:
        s.sendall(request)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                break
            if not chunk:
                break
            data += chunk
    return parse_response(data)


def parse_response(data: bytes):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def upgrade_request(path="/", key=None, extra=None, host="127.0.0.1"):
    key = key or base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    lines += extra or []
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def encode_frame(opcode, payload=b"", fin=True, rsv=0, mask=True, length=None):
    """A client frame. `length` overrides the encoded payload length."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked


class Closed(Exception):
    """The server closed the TCP connection."""


class RawWS:
    def __init__(self, port, path="/", extra_headers=None, timeout=5.0):
        self.sock = connect(port, timeout=timeout)
        self.buf = b""
        self.sock.sendall(upgrade_request(path, extra=extra_headers))
        head = self._read_until(b"\r\n\r\n")
        self.status, self.headers, _ = parse_response(head)
        assert self.status == 101, head

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except ssl.SSLEOFError:
            chunk = b""
        if not chunk:
            raise Closed()
        self.buf += chunk

    def _read_until(self, marker):
        while marker not in self.buf:
            self._fill()
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def _read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send_raw(self, data: bytes):
        self.sock.sendall(data)

    def send(self, opcode, payload=b"", **kw):
        self.sock.sendall(encode_frame(opcode, payload, **kw))

    def send_text(self, text):
        self.send(OP_TEXT, text)

    def recv_frame(self):
        """Returns (fin, opcode, payload) of the next server frame, checking
        that the server obeys RFC 6455: no mask, no RSV bits."""
        b0, b1 = self._read_exact(2)
        assert b0 & 0x70 == 0, "server frame with RSV bits"
        assert b1 & 0x80 == 0, "masked server frame"
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read_exact(8))[0]
        return bool(b0 & 0x80), b0 & 0x0F, self._read_exact(n)

    def recv_text(self):
        """The next data message's text, skipping control frames."""
        while True:
            fin, op, payload = self.recv_frame()
            if op == OP_TEXT:
                assert fin
                return payload.decode()
            assert op in (OP_PING, OP_PONG), f"unexpected opcode {op}"

    def recv_close(self):
        """Skips data frames up to the close frame; returns (code, reason).
        code is None for a close frame without payload."""
        while True:
            _, op, payload = self.recv_frame()
            if op == OP_CLOSE:
                if not payload:
                    return None, ""
                return struct.unpack("!H", payload[:2])[0], payload[2:].decode()

    def expect_tcp_close(self):
        """The server must close the TCP connection (after its close frame)."""
        try:
            while True:
                self._fill()
                self.buf = b""
        except Closed:
            return True
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()
