"""Fixtures: real redis-server and wscale processes, stopped by pid."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from procs import WSCALE, Backend, Redis, sanitizer_report  # noqa: E402


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
    """Starts backends: backends(args...) -> Backend. All are stopped at the end."""
    started = []

    def start(*args, env=None, wait_healthy=True, port=None):
        b = Backend(tmp_path, args, env=env, wait_healthy=wait_healthy, port=port)
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
