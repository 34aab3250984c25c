"""`wscale lb` and its configuration file: `-c` checks a file the way
`haproxy -c` does (exit 0 and "Configuration file is valid", or exit 1 and
one FILE:LINE: message per error), the command line's own errors exit 2,
and a valid file that cannot bind its address exits 1 naming the bind."""
import os
import socket
import subprocess

import pytest

from procs import WSCALE, lb_check

CONF = os.path.join(os.path.dirname(__file__), "..", "..", "conf")

VALID = """\
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fe
    bind 127.0.0.1:18080
    default_backend be
backend be
    balance roundrobin
    server s1 127.0.0.1:18081
"""


def run_lb(*args, timeout=10):
    return subprocess.run([WSCALE, "lb", *args], capture_output=True, text=True, timeout=timeout)


def line_of(text, needle):
    """The 1-based number of the first line of text containing needle."""
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in the config")


def assert_invalid(tmp_path, text, needle, *message_parts):
    """The config is refused: exit 1, and an error FILE:LINE: naming the line
    that holds `needle`, with every one of message_parts in it."""
    r = lb_check(tmp_path, text)
    path = tmp_path / "check.cfg"
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "Configuration file is valid" not in r.stdout
    prefix = f"{path}:{line_of(text, needle)}: "
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith(prefix) and "warning:" not in ln]
    assert lines, f"no error at {prefix!r}:\n{r.stderr}"
    assert any(all(part in ln for part in message_parts) for ln in lines), r.stderr
    return r


@pytest.mark.parametrize("name", ["tutorial.cfg", "lb.cfg"])
def test_the_shipped_configuration_files_are_valid(name):
    r = run_lb("-c", "-f", os.path.join(CONF, name))
    assert r.returncode == 0, r.stderr
    assert "Configuration file is valid" in r.stdout


def test_a_complete_configuration_is_valid_without_warnings(tmp_path):
    r = lb_check(tmp_path, VALID)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "Configuration file is valid"
    assert "warning" not in r.stderr


def test_an_unknown_keyword_is_an_error_at_its_line(tmp_path):
    text = VALID.replace("    default_backend be\n", "    default_backend be\n    frobnicate on\n")
    assert_invalid(tmp_path, text, "frobnicate", "unknown keyword 'frobnicate'")


def test_an_unknown_balance_algorithm_lists_the_expected_ones(tmp_path):
    text = VALID.replace("balance roundrobin", "balance rr")
    assert_invalid(tmp_path, text, "balance rr", "'rr'", "roundrobin", "leastconn", "random")


def test_a_server_line_in_a_frontend_is_refused(tmp_path):
    text = VALID.replace("    default_backend be\n",
                         "    default_backend be\n    server s9 127.0.0.1:18082\n")
    assert_invalid(tmp_path, text, "s9", "'server'", "frontend")


def test_use_backend_to_a_missing_backend_is_refused(tmp_path):
    text = VALID.replace("default_backend be", "use_backend ghost")
    assert_invalid(tmp_path, text, "use_backend ghost", "'ghost'", "does not exist")


def test_a_bad_duration_is_refused(tmp_path):
    text = VALID.replace("timeout client 5s", "timeout client 5parsecs")
    assert_invalid(tmp_path, text, "5parsecs", "'5parsecs'", "duration")


def test_an_unresolvable_server_host_is_refused(tmp_path):
    text = VALID.replace("127.0.0.1:18081", "nope.invalid:80")
    assert_invalid(tmp_path, text, "nope.invalid", "nope.invalid", "resolve")


def test_mode_tcp_is_refused(tmp_path):
    text = VALID.replace("backend be\n", "backend be\n    mode tcp\n")
    assert_invalid(tmp_path, text, "mode tcp", "'tcp'", "mode http")


def test_several_errors_are_all_reported_at_once(tmp_path):
    text = (VALID.replace("balance roundrobin", "balance rr")
                 .replace("timeout client 5s", "timeout client soon")
                 .replace("    default_backend be\n", "    default_backend be\n    frobnicate on\n"))
    r = lb_check(tmp_path, text)
    assert r.returncode == 1
    path = tmp_path / "check.cfg"
    for needle in ("balance rr", "timeout client soon", "frobnicate"):
        assert f"{path}:{line_of(text, needle)}: " in r.stderr, (needle, r.stderr)
    assert "Configuration file is valid" not in r.stdout


def test_missing_timeouts_are_warnings_and_the_configuration_is_still_valid(tmp_path):
    text = """\
frontend fe
    bind 127.0.0.1:18080
    default_backend be
backend be
    server s1 127.0.0.1:18081
"""
    r = lb_check(tmp_path, text)
    assert r.returncode == 0, r.stderr
    assert "Configuration file is valid" in r.stdout
    path = tmp_path / "check.cfg"
    assert f"{path}:1: warning:" in r.stderr and "timeout client" in r.stderr, r.stderr
    assert f"{path}:4: warning:" in r.stderr and "timeout server" in r.stderr, r.stderr


def test_lb_without_a_file_exits_2_with_a_hint():
    r = run_lb()
    assert r.returncode == 2
    assert "-f FILE" in r.stderr


def test_an_unknown_option_exits_2():
    r = run_lb("--no-such-option", "-f", os.path.join(CONF, "lb.cfg"))
    assert r.returncode == 2
    assert "--no-such-option" in r.stderr


def test_a_missing_file_exits_1_naming_it(tmp_path):
    missing = tmp_path / "does-not-exist.cfg"
    r = run_lb("-c", "-f", str(missing))
    assert r.returncode == 1
    assert str(missing) in r.stderr
    assert "Configuration file is valid" not in r.stdout


def test_running_a_valid_config_whose_port_is_taken_exits_1_naming_the_bind_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        text = VALID.replace("127.0.0.1:18080", f"127.0.0.1:{port}")
        path = tmp_path / "taken.cfg"
        path.write_text(text)
        assert run_lb("-c", "-f", str(path)).returncode == 0  # valid: only the bind fails
        r = run_lb("-f", str(path))
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert f"{path}:{line_of(text, 'bind')}" in out, out
    assert "Address already in use" in out, out
