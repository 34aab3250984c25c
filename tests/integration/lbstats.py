"""What the lb says about itself, read the way operators read it.

Clients of the stats socket (the runtime API): a plain unix socket, and the
real `socat` and `nc -U` commands. Parsers of the formats: HAProxy's CSV (by
column name, with Python's csv module) and Prometheus' text exposition
format (strictly: every line must parse). Used by test_lb_runtime_api.py,
test_lb_stats.py and test_lb_hashing.py.
"""
import csv
import io
import math
import re
import socket
import subprocess
import urllib.request

# --- the runtime API ------------------------------------------------------------


def api(path, text, timeout=5.0):
    """Sends text (one or more lines) to the stats socket at path and reads
    until the lb closes the connection; returns the answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        s.sendall(text.encode() if text.endswith("\n") else (text + "\n").encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.decode()


def socat(path, text, timeout=5.0):
    """`echo TEXT | socat stdio UNIX:PATH`, as the README tells operators."""
    r = subprocess.run(["socat", "stdio", f"UNIX:{path}"], input=text + "\n",
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr
    return r.stdout


def nc(path, text, timeout=5.0):
    """`printf 'TEXT\\n' | nc -U PATH` (OpenBSD netcat: it reads until the
    lb closes)."""
    r = subprocess.run(["nc", "-U", str(path)], input=text + "\n",
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr
    return r.stdout


def show_stat(path):
    """The rows of "show stat", as dicts by column name."""
    return parse_csv(api(path, "show stat"))


def admin(path, command):
    """Runs a command that answers nothing on success (disable server, set
    weight...) and checks that it did."""
    answer = api(path, command)
    assert answer == "\n", f"{command!r} answered {answer!r}"


# --- HAProxy's CSV ----------------------------------------------------------------


def parse_csv(text):
    """HAProxy's CSV ("# pxname,svname,...," then one line per row, every
    line ending with a comma) into a list of dicts by column name."""
    assert text.startswith("# "), text[:200]
    lines = [line for line in text[2:].splitlines() if line]
    rows = list(csv.reader(io.StringIO("\n".join(lines) + "\n")))
    header = rows[0]
    assert header[-1] == "", "the header line must end with a comma"
    names = header[:-1]
    out = []
    for fields in rows[1:]:
        assert len(fields) == len(header) and fields[-1] == "", f"row of {len(fields)} fields: {fields}"
        out.append(dict(zip(names, fields[:-1])))
    return out


def row(rows, pxname, svname):
    """The row of a proxy and a server (or "FRONTEND", "BACKEND")."""
    found = [r for r in rows if r["pxname"] == pxname and r["svname"] == svname]
    assert len(found) == 1, f"{pxname}/{svname}: {len(found)} rows"
    return found[0]


# --- Prometheus --------------------------------------------------------------------

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(,|$)')
SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^\n]*\})? (\S+)$")


def parse_labels(text):
    """'{a="x",b="y"}' into a dict, checking the syntax and escapes."""
    inner = text[1:-1]
    labels = {}
    pos = 0
    while pos < len(inner):
        m = LABEL.match(inner, pos)
        assert m, f"bad label syntax at {inner[pos:]!r}"
        name, value = m.group(1), m.group(2)
        assert name not in labels, f"label {name} twice"
        labels[name] = re.sub(r"\\(.)", lambda e: "\n" if e.group(1) == "n" else e.group(1), value)
        pos = m.end()
    return labels


def parse_prometheus(text):
    """The text exposition format 0.0.4, strictly: returns {family name:
    {"help": str, "type": str, "samples": [(labels dict, float)]}}. Every
    family has one HELP and one TYPE line before its samples, its samples
    are together, and no series appears twice."""
    families = {}
    current = None
    seen = set()
    assert text.endswith("\n"), "the exposition must end with a newline"
    for line in text.splitlines():
        assert line.strip() == line and line, f"blank or padded line {line!r}"
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            kind, name, rest = line[2:6], *line[7:].split(" ", 1)
            assert METRIC_NAME.match(name), f"bad metric name {name!r}"
            fam = families.setdefault(name, {"help": None, "type": None, "samples": []})
            assert not fam["samples"], f"{kind} of {name} after its samples"
            key = kind.lower()
            assert fam[key] is None, f"two {kind} lines for {name}"
            if key == "type":
                assert rest in ("counter", "gauge", "histogram", "summary", "untyped"), line
            fam[key] = rest
            current = name
            continue
        assert not line.startswith("#"), f"unexpected comment {line!r}"
        m = SAMPLE.match(line)
        assert m, f"bad sample line {line!r}"
        name, labels, value = m.group(1), parse_labels(m.group(2)) if m.group(2) else {}, m.group(3)
        assert name == current, f"sample {name} outside its family (current {current})"
        fam = families[name]
        assert fam["help"] is not None and fam["type"] is not None, f"{name}: no HELP/TYPE"
        v = float(value)
        assert not math.isnan(v), f"NaN in {line!r}"
        series = (name, tuple(sorted(labels.items())))
        assert series not in seen, f"series twice: {line!r}"
        seen.add(series)
        if fam["type"] == "counter":
            assert v >= 0, line
        fam["samples"].append((labels, v))
    return families


def metric(families, name, **labels):
    """The value of the one sample of `name` with exactly these labels."""
    found = [v for lab, v in families[name]["samples"] if lab == labels]
    assert len(found) == 1, f"{name}{labels}: {len(found)} samples"
    return found[0]


# --- HTTP ---------------------------------------------------------------------------


def http(port, path, method="GET", headers=None):
    """A request to the lb; returns (status, headers dict, body text)."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()
