"""A running lb seen from outside: its master and its worker processes.

* reloads by signal, waiting for the master's verdict in its log;
* the stats socket, spoken to with socat as an operator would;
* which worker process holds the lb's side of a client connection
  (/proc/net/tcp gives the socket's inode, /proc/PID/fd who has it);
* the request log lines (`log stdout`), each prefixed lb[PID] by the worker
  that served it.
"""
import datetime
import os
import re
import signal
import socket
import ssl
import subprocess
import time

from procs import pid_alive, wait_until
from test_lb_log import HTTPLOG

# "... lb[PID] info: <httplog line>"
WORKER_HTTPLOG = re.compile(r"lb\[(?P<pid>\d+)\] \w+: " + HTTPLOG.pattern)

VERDICTS = ("reloaded: generation", "reload refused", "reload failed")


def master_lines(lb, start=0):
    """The master's own log lines (after character offset `start`)."""
    tag = f"lb[{lb.pid}]"
    return [line for line in lb.output()[start:].splitlines() if tag in line]


def wait_output(lb, needle, timeout=10.0):
    """Waits until the lb's output holds needle; returns the output."""
    return wait_until(lambda: (lambda out: out if needle in out else None)(lb.output()),
                      timeout=timeout, what=f"{needle!r} in the lb's output")


def reload(lb, sig=signal.SIGUSR2, timeout=15.0):
    """Sends sig to the master and waits for its verdict on the reload;
    returns the master's log lines from the signal to the verdict."""
    start = len(lb.output())
    os.kill(lb.pid, sig)

    def verdict():
        lines = master_lines(lb, start)
        return lines if any(v in line for line in lines for v in VERDICTS) else None
    return wait_until(verdict, timeout=timeout, what=f"the verdict on a reload:\n{lb.output()[start:]}")


def reload_ok(lb, sig=signal.SIGUSR2, timeout=15.0):
    """A reload that must succeed; returns the generation now serving."""
    lines = reload(lb, sig, timeout)
    text = "\n".join(lines)
    m = re.search(r"reloaded: generation (\d+) serving", text)
    assert m, f"the reload did not succeed:\n{text}"
    return int(m.group(1))


def workers_now(lb, n, old=(), timeout=10.0):
    """Waits until the lb runs exactly n workers, none of them in `old`
    (the workers of earlier generations have exited); returns their pids."""
    old = set(old)

    def current():
        pids = set(lb.workers())
        return pids if len(pids) == n and not pids & old else None
    return wait_until(current, timeout=timeout,
                      what=f"{n} workers, none of {sorted(old)} (now {lb.workers()})")


def all_gone(pids, timeout):
    """Waits until none of pids runs any more."""
    wait_until(lambda: not any(pid_alive(p) for p in pids), timeout=timeout,
               what=f"processes {sorted(pids)} to exit")


# --- the stats socket -----------------------------------------------------------

def stats_command(path, command, timeout=5.0):
    """Sends one command line to the stats socket with socat; returns the answer."""
    r = subprocess.run(["socat", "-t", "2", "-", f"UNIX-CONNECT:{path}"], input=command + "\n",
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"socat: {r.stderr}"
    return r.stdout


def show_stat(path):
    """`show stat` as {(pxname, svname): {column: value}}."""
    lines = stats_command(path, "show stat").splitlines()
    assert lines and lines[0].startswith("# "), lines
    names = lines[0][2:].split(",")
    rows = {}
    for line in lines[1:]:
        if line:
            row = dict(zip(names, line.split(",")))
            rows[(row["pxname"], row["svname"])] = row
    return rows


# --- who serves what ----------------------------------------------------------

def _tcp_inodes(lb_port):
    """{client port: inode} of the lb's accepted sockets on lb_port."""
    found = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local_port = int(fields[1].split(":")[1], 16)
            remote_port = int(fields[2].split(":")[1], 16)
            if local_port == lb_port:
                found[remote_port] = int(fields[9])
    return found


def _socket_owners(pids):
    """{socket inode: pid} for the sockets the given processes hold."""
    owners = {}
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                owners[int(target[8:-1])] = pid
    return owners


def holders(lb, socks):
    """For each client socket connected to lb.port, the pid of the worker
    holding the lb's side of it (None if no worker does)."""
    inodes = _tcp_inodes(lb.port)
    owners = _socket_owners(lb.workers())
    return [owners.get(inodes.get(s.getsockname()[1])) for s in socks]


def open_files(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


# --- request log lines ----------------------------------------------------------

def httplog(lb):
    """The request log lines so far, as regex matches with a "pid" group."""
    return [m for m in (WORKER_HTTPLOG.search(line) for line in lb.output().splitlines()) if m]


def wait_httplog(lb, predicate, n=1, timeout=5.0):
    """Waits for n request log lines that satisfy predicate; returns them."""
    def found():
        lines = [m for m in httplog(lb) if predicate(m)]
        return lines if len(lines) >= n else None
    return wait_until(found, timeout=timeout, what=f"{n} request log line(s)")


def log_date(m):
    """The accept date of a request log line, as a UNIX time (it is UTC)."""
    d = datetime.datetime.strptime(m["date"], "%d/%b/%Y:%H:%M:%S.%f")
    return d.replace(tzinfo=datetime.timezone.utc).timestamp()


# --- ends of connections ----------------------------------------------------------

def eof_time(sock, timeout):
    """Reads (and drops) what arrives until the peer ends the connection:
    returns the monotonic time of the end (FIN, reset, a TLS close with or
    without close_notify), or None if it is still open after timeout."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            sock.settimeout(left)
            if not sock.recv(65536):
                return time.monotonic()
    except (socket.timeout, TimeoutError):
        return None
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
        return time.monotonic()
