"""What every section of scripts/bench uses: paths, `wscale bench` runs,
process-tree figures from /proc, medians with their spread."""
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

from procs import (WSCALE, Backend, Proc, Redis, cpu_seconds, free_port,  # noqa: E402,F401
                   port_open, process_tree, rss_kib, wait_until)


def log(msg):
    """Progress on stderr; the figures go to stdout at the end."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class BenchFailed(Exception):
    pass


def bench(mode, urls, *args, timeout=600):
    """Runs `wscale bench MODE -u URLS ARGS --json -q`; returns its JSON."""
    argv = [WSCALE, "bench", mode, "-u", ",".join(urls), *map(str, args), "--json", "-q"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0 or not r.stdout.strip():
        raise BenchFailed(f"{' '.join(argv)}: exit {r.returncode}: {r.stderr.strip()[-300:]}")
    return json.loads(r.stdout)


def tree_rss_kib(pids):
    """Resident memory of these processes and their descendants."""
    return sum(rss_kib(p) for p in pids)


def tree_cpu(pids):
    """User + system CPU seconds of these processes and their descendants."""
    return sum(cpu_seconds(p) for p in pids)


def all_pids(pids):
    """These processes and their descendants (for `wscale bench --pid`)."""
    out = []
    for p in pids:
        out += process_tree(p)
    return out


def alternate(kinds, rnd):
    """The order of round rnd: A B C, then C B A, ..."""
    return list(kinds) if rnd % 2 == 0 else list(reversed(kinds))


def summary(values):
    """(median, min, max) of the figures that exist, or None."""
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return statistics.median(vals), min(vals), max(vals)


def human(v, unit=""):
    """A figure as people read it: 3 significant digits, k/M suffixes."""
    if v is None:
        return "-"
    a = abs(v)
    if a >= 1e6:
        s = f"{v / 1e6:.3g}M"
    elif a >= 1e4:
        s = f"{v / 1e3:.3g}k"
    elif a >= 100:
        s = f"{v:.0f}"
    else:
        s = f"{v:.3g}"
    return s + unit


def spread(values, unit=""):
    """'median (min–max)' of a list of per-round figures."""
    s = summary(values)
    if s is None:
        return "-"
    med, lo, hi = s
    if len([v for v in values if v is not None]) == 1 or lo == hi:
        return human(med, unit)
    return f"{human(med, unit)} ({human(lo)}–{human(hi)})"


def median(values):
    s = summary(values)
    return s[0] if s else None
