"""Traffic that goes on while the lb reloads, in background threads.

Connector connects in a loop: every attempt must be answered (a WebSocket
101 and the backend's greeting). Talker makes every tunnel of a set round-
trip a message, pass after pass. Both record failures instead of raising, so
that a test checks them once the reload is over.
"""
import socket
import threading
import time
import traceback

from procs import wait_until
from test_lb_tunnel import Client
from wsraw import upgrade_request


class _Attempt(Client):
    """Client on a socket already connected (the connect is checked apart)."""

    def __init__(self, sock):  # Client's own would connect
        self.sock = sock
        self.buf = b""
        self.status = None
        self.headers = {}
        self.sock.sendall(upgrade_request("/"))


class Connector(threading.Thread):
    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.stopping = threading.Event()
        self.answered = []   # (monotonic time, server id)
        self.refused = []    # (monotonic time, error): the connect itself failed
        self.failures = []   # (monotonic time, what went wrong and where): connected, no answer

    def run(self):
        while not self.stopping.is_set():
            try:
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            except OSError as e:
                self.refused.append((time.monotonic(), repr(e)))
                continue
            try:
                ident = _Attempt(sock).greeting()
                self.answered.append((time.monotonic(), ident))
            except Exception:  # every failure counts, whatever it is
                self.failures.append((time.monotonic(), traceback.format_exc(limit=-2)))
            finally:
                sock.close()

    def wait_answers(self, n, timeout=10.0):
        """Waits until n more attempts have been answered."""
        target = len(self.answered) + n
        wait_until(lambda: len(self.answered) >= target or self.failures, timeout=timeout,
                   what=f"{n} more answered connection attempts")

    def stop(self):
        self.stopping.set()
        self.join(timeout=10)
        assert not self.is_alive(), "the connector did not stop"


class Talker(threading.Thread):
    """Round trips on every client of `clients` (test_lb_tunnel.Client past
    its greeting, on an echo backend), one pass after another."""

    def __init__(self, clients):
        super().__init__(daemon=True)
        self.clients = clients
        self.stopping = threading.Event()
        self.passes = 0      # complete passes, every client answered
        self.failures = []   # (pass, client index, what went wrong)

    def run(self):
        while not self.stopping.is_set() and not self.failures:
            for i, c in enumerate(self.clients):
                text = f"pass {self.passes} tunnel {i}"
                try:
                    got = c.echo(text)
                    if got != text:
                        self.failures.append((self.passes, i, f"echoed {got!r}"))
                except Exception as e:  # every failure counts, whatever it is
                    self.failures.append((self.passes, i, repr(e)))
            self.passes += 1

    def wait_passes(self, n, timeout=20.0):
        """Waits until n more complete passes are done."""
        target = self.passes + n
        wait_until(lambda: self.passes >= target or self.failures, timeout=timeout,
                   what=f"{n} more passes over {len(self.clients)} tunnels")

    def stop(self):
        self.stopping.set()
        self.join(timeout=20)
        assert not self.is_alive(), "the talker did not stop"
