"""Fixtures: real redis-server and wscale processes, stopped by pid."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from procs import WSCALE, Backend, Demo, Lb, Redis, sanitizer_report  # noqa: E402


def pytest_configure(config):
    if not os.access(WSCALE, os.X_OK):
        raise pytest.UsageError(f"{WSCALE} is not built: run `make` first")


@pytest.fixture
def redis(tmp_path):
    r = Redis(tmp_path)
    yield r
    r.stop()


@pytest.fixture
def backends(tmp_path):
    """Starts backends: backends(args...) -> Backend. All are stopped at the end.
    nofile=N starts one with at most N open files."""
    started = []

    def start(*args, env=None, wait_healthy=True, port=None, nofile=None):
        b = Backend(tmp_path, args, env=env, wait_healthy=wait_healthy, port=port, nofile=nofile)
        started.append(b)
        return b

    yield start
    for b in started:
        b.stop()
    for b in started:
        report = sanitizer_report(b.output())
        assert report is None, f"backend on port {b.port}: {report}\n{b.output()}"


@pytest.fixture
def chat(redis, backends):
    """One chat backend (id ws1) on a private Redis."""
    return backends("--id", "ws1", "--redis", redis.url)


@pytest.fixture
def echo(backends):
    """One backend in --echo mode (no Redis)."""
    return backends("--echo", "--id", "echo")


@pytest.fixture
def lbs(tmp_path):
    """Starts lb processes: lbs(config_text, **ports) -> Lb. In the text, {port}
    is the lb's own (free) port; other {names} come from the keywords;
    nofile=N starts it with at most N open files. All are stopped at the end
    and must show no sanitizer report."""
    started = []

    def start(config, wait_ready=True, args=(), nofile=None, **ports):
        lb = Lb(tmp_path, config, wait_ready=wait_ready, args=args, nofile=nofile, **ports)
        started.append(lb)
        return lb

    yield start
    for lb in started:
        lb.stop()
    for lb in started:
        report = sanitizer_report(lb.output())
        assert report is None, f"lb on port {lb.port}: {report}\n{lb.output()}"
        assert not lb.orphans, f"lb on port {lb.port}: workers {lb.orphans} outlived the master"


TUTORIAL_CFG = """
frontend http
    bind 127.0.0.1:{port}
    mode http
    timeout client 1000s
    use_backend all
backend all
    mode http
    timeout server 1000s
    timeout connect 1000s
    server s1 127.0.0.1:{p1}
    server s2 127.0.0.1:{p2}
    server s3 127.0.0.1:{p3}
    server s4 127.0.0.1:{p4}
"""


@pytest.fixture
def tutorial(redis, backends, lbs):
    """The tutorial's stack: Redis, four chat backends ws1..ws4, and the
    tutorial's haproxy.cfg (loopback addresses) run by wscale lb."""
    ws = [backends("--id", f"ws{i}", "--redis", redis.url) for i in range(1, 5)]
    lb = lbs(TUTORIAL_CFG, p1=ws[0].port, p2=ws[1].port, p3=ws[2].port, p4=ws[3].port)
    lb.backends = ws
    return lb


@pytest.fixture
def demos(tmp_path):
    """Starts `wscale demo` processes: demos(*args) -> Demo. At the end every
    demo is stopped and none may have left a child or a temporary directory."""
    started = []

    def start(*args, env=None, wait_ready=True):
        d = Demo(tmp_path, args, env=env, wait_ready=wait_ready)
        started.append(d)
        return d

    yield start
    leftovers = []
    for d in started:
        d.stop()
        leftovers += d.leftovers()
        d.kill_leftovers()
    assert not leftovers, f"processes left behind: {leftovers}"


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """A test CA and server certificates made by scripts/gen-certs (see its
    header for the files); nothing private leaves the temporary directory."""
    import subprocess
    d = tmp_path_factory.mktemp("certs")
    script = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "gen-certs")
    subprocess.run([script, str(d)], check=True, capture_output=True, timeout=60)
    return d
