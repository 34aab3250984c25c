"""Real processes for integration tests: redis-server and wscale.

Every process is started on a free loopback port, its output goes to a log
file in the test's temporary directory, and it is stopped by its pid when the
test ends (see conftest.py). Nothing here fakes a component.
"""
import os
import resource
import signal
import socket
import subprocess
import time
import urllib.request

WSCALE = os.environ.get("WSCALE_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "wscale")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=10.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def nofile_limiter(n):
    """A preexec_fn setting the child's limit of open files (soft and hard: the
    lb raises its soft limit to the hard one) to n."""
    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
    return limit


class Proc:
    """A child process with a log file, stopped by pid. nofile, if given,
    is its limit of open files (RLIMIT_NOFILE, soft and hard)."""

    def __init__(self, argv, log_path, env=None, nofile=None):
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, "ab")
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                  env=full_env, start_new_session=True,
                                  preexec_fn=None if nofile is None else nofile_limiter(nofile))
        self.pid = self.p.pid

    def ready_or_stop(self, ready, what, timeout=10.0):
        """Waits until ready() is true; if it never is, or the process dies,
        stops the process (its caller never got hold of it) and fails."""
        try:
            wait_until(lambda: ready() or not self.alive(), timeout=timeout, what=what)
            assert self.alive(), f"exited while waiting for {what}:\n{self.output()}"
        except AssertionError:
            self.stop(signal.SIGKILL)
            raise

    def alive(self):
        return self.p.poll() is None

    def send_signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def wait(self, timeout=10.0):
        return self.p.wait(timeout=timeout)

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        if self.alive():
            os.kill(self.pid, sig)
            try:
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.p.wait(timeout=5)
        self.log.close()
        return self.p.returncode

    def output(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer")


def sanitizer_report(text):
    """The first sanitizer report line in a process's output, or None. With
    `make test SANITIZE=1` every wscale process runs under ASan and UBSan."""
    for line in text.splitlines():
        if any(mark in line for mark in SANITIZER_MARKS):
            return line
    return None


class Redis:
    """A private redis-server on a free loopback port, no persistence."""

    def __init__(self, tmp_path, password=None):
        self.port = free_port()
        self.tmp_path = tmp_path
        self.password = password
        self.proc = None
        self.start()

    @property
    def url(self):
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}"

    def start(self):
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.tmp_path)]
        if self.password:
            argv += ["--requirepass", self.password]
        self.proc = Proc(argv, str(self.tmp_path / f"redis-{self.port}.log"))
        self.proc.ready_or_stop(lambda: port_open(self.port), f"redis on port {self.port}")

    def kill(self):
        """SIGKILL: Redis vanishes without a goodbye."""
        self.proc.stop(signal.SIGKILL)

    def stop(self):
        if self.proc:
            self.proc.stop(signal.SIGTERM)

    def command(self, *args):
        """Sends one command with a raw socket; returns the raw reply bytes."""
        parts = [f"*{len(args)}\r\n".encode()]
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            if self.password:
                s.sendall(b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(self.password), self.password.encode()))
                s.recv(100)
            s.sendall(b"".join(parts))
            return s.recv(65536)

    def numsub(self, channel="livechat"):
        reply = self.command("PUBSUB", "NUMSUB", channel)
        return int(reply.split(b"\r\n")[-2][1:])


class Backend:
    """A `wscale backend` process."""

    def __init__(self, tmp_path, args, env=None, wait_healthy=True, port=None, nofile=None):
        self.port = port or free_port()
        argv = [WSCALE, "backend", "--listen", f"127.0.0.1:{self.port}"] + list(args)
        self.proc = Proc(argv, str(tmp_path / f"backend-{self.port}.log"), env=env, nofile=nofile)
        self.pid = self.proc.pid
        self.proc.ready_or_stop(lambda: port_open(self.port), f"backend on port {self.port}")
        if wait_healthy:
            self.proc.ready_or_stop(lambda: self.healthz()[0] == 200, "backend /healthz 200")

    @property
    def url(self):
        return f"ws://127.0.0.1:{self.port}/"

    def http_get(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=3) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def healthz(self):
        return self.http_get("/healthz")

    def metrics(self):
        """Returns the Prometheus samples as {'name{labels}': value}."""
        status, text = self.http_get("/metrics")
        assert status == 200
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                samples[name] = float(value)
        return samples

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def output(self):
        return self.proc.output()

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        return self.proc.stop(sig, timeout)


class Lb:
    """A `wscale lb` process running `config`, a configuration text in which
    {port} is replaced by the port it listens on (chosen free) and {name} by
    any keyword given. The process is the master; the workers are its
    children (workers())."""

    def __init__(self, tmp_path, config, wait_ready=True, args=(), nofile=None, **ports):
        self.port = free_port()
        self.config_path = tmp_path / f"lb-{self.port}.cfg"
        self.config_path.write_text(config.format(port=self.port, **ports))
        argv = [WSCALE, "lb", "-f", str(self.config_path)] + list(args)
        self.proc = Proc(argv, str(tmp_path / f"lb-{self.port}.log"), nofile=nofile)
        self.pid = self.proc.pid
        self.known_workers = set()
        if wait_ready:
            self.proc.ready_or_stop(lambda: "ready: " in self.output() and port_open(self.port),
                                    f"lb on port {self.port}")

    @property
    def url(self):
        return f"ws://127.0.0.1:{self.port}/"

    def http_get(self, path, headers=None):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def workers(self):
        """The pids of the worker processes alive now (old ones included)."""
        try:
            with open(f"/proc/{self.pid}/task/{self.pid}/children") as f:
                pids = [int(p) for p in f.read().split()]
        except OSError:
            return []
        self.known_workers.update(pids)
        return pids

    def worker_pid(self):
        """The pid of the only worker (a configuration with one worker)."""
        pids = wait_until(lambda: self.workers(), timeout=5, what="a worker")
        assert len(pids) == 1, f"expected one worker, found {pids}"
        return pids[0]

    def rss_kib(self, pid=None):
        """Resident memory of a process: by default the only worker."""
        pid = pid or self.worker_pid()
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def output(self):
        return self.proc.output()

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        """Stops the master, which stops its workers; any worker still alive
        afterwards is killed (and the test fails on it in conftest)."""
        self.workers()
        status = self.proc.stop(sig, timeout)
        self.orphans = [p for p in self.known_workers if pid_alive(p) and is_worker(p)]
        for p in self.orphans:
            os.kill(p, signal.SIGKILL)
        return status


def lb_check(tmp_path, config):
    """Runs `wscale lb -c -f FILE` on a configuration text."""
    path = tmp_path / "check.cfg"
    path.write_text(config)
    return subprocess.run([WSCALE, "lb", "-c", "-f", str(path)], capture_output=True, text=True,
                          timeout=10)


class Demo:
    """A `wscale demo` process; .children maps a name (redis, ws1.., lb) to its
    pid as printed in the demo's table once everything is up."""

    def __init__(self, tmp_path, args=(), env=None, wait_ready=True):
        self.port = free_port()
        self.tls_port = free_port()
        self.out_path = tmp_path / f"demo-{self.port}.out"
        self.err_path = tmp_path / f"demo-{self.port}.err"
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        full_env = dict(os.environ)
        full_env["TMPDIR"] = str(tmp_path)
        full_env.update(env or {})
        self.p = subprocess.Popen([WSCALE, "demo", "--port", str(self.port),
                                   "--tls-port", str(self.tls_port), *args],
                                  stdout=self.out, stderr=self.err, env=full_env,
                                  start_new_session=True)
        self.pid = self.p.pid
        self.children = {}
        if wait_ready:
            try:
                wait_until(lambda: "Ctrl-C stops everything" in self.stdout() or
                           self.p.poll() is not None, timeout=20, what="the demo's table")
                assert self.p.poll() is None, self.stderr()
            except AssertionError:
                self.stop(signal.SIGKILL)
                raise
            self.children = self.parse_table()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/"

    @property
    def tls_url(self):
        return f"https://127.0.0.1:{self.tls_port}/"

    def stdout(self):
        return self.out_path.read_text(errors="replace")

    def stderr(self):
        return self.err_path.read_text(errors="replace")

    def parse_table(self):
        children = {}
        for line in self.stdout().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[1].isdigit() and ":" in parts[2]:
                children[parts[0]] = int(parts[1])
        return children

    def tmpdirs(self):
        """The demo's temporary directories (it makes them under $TMPDIR)."""
        return [p for p in os.listdir(self.out_path.parent) if p.startswith("wscale-demo-")]

    def stop(self, sig=signal.SIGINT, timeout=25.0):
        if self.p.poll() is None:
            os.kill(self.pid, sig)
            try:
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.p.wait(timeout=5)
        self.out.close()
        self.err.close()
        return self.p.returncode

    def leftovers(self):
        """Children still running (checked by command line: a pid may have
        been reused by an unrelated process since)."""
        left = []
        for name, pid in self.children.items():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read()
            except FileNotFoundError:
                continue
            if pid_alive(pid) and (b"wscale" in cmd or b"redis-server" in cmd or b"/proc/self/exe" in cmd):
                left.append((name, pid))
        return left

    def kill_leftovers(self):
        for _, pid in self.leftovers():
            os.kill(pid, signal.SIGKILL)


def sanitized(pid):
    """True if the process runs under AddressSanitizer (make test SANITIZE=1),
    whose redzones and quarantine make memory figures meaningless."""
    with open(f"/proc/{pid}/maps") as f:
        return "libasan" in f.read()


def process_tree(pid):
    """pid and its descendants: an lb's master and its workers."""
    pids, i = [pid], 0
    while i < len(pids):
        try:
            with open(f"/proc/{pids[i]}/task/{pids[i]}/children") as f:
                pids += [int(p) for p in f.read().split()]
        except OSError:
            pass
        i += 1
    return pids


def cpu_seconds(pid):
    """User + system CPU of pid and its descendants (measurements)."""
    total = 0.0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def rss_kib(pid):
    """Resident memory of pid and its descendants (measurements)."""
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                total += next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        except (OSError, StopIteration):
            continue
    return total


def is_worker(pid):
    """True if pid is (still) an lb worker process."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"--worker" in f.read()
    except OSError:
        return False


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
