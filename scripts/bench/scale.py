"""Section 4, Scale (wscale only): N idle WebSocket clients through wscale lb
to chat backends, every one receiving a broadcast, and the memory it takes.

Each process may hold at most RLIMIT_NOFILE files (20000 here), so the lb
gets enough workers (a tunnel is two files in a worker), the backends enough
processes (a client is one file) and the generator enough processes (and
source addresses 127.0.0.x, which `wscale bench` picks beyond ~28,000
connections per address). One publisher sends one message per second for
the window; every client must receive every one."""
import math
import resource
import threading

from common import all_pids, bench, free_port, log, rss_kib
import stacks

LB_PER_WORKER = 8000      # tunnels per worker: SO_REUSEPORT spreads unevenly, room for 9900
CLIENTS_PER_PROC = 15000  # backend clients, generator connections per process
SECONDS = 3


def sysctl(name):
    try:
        with open("/proc/sys/" + name.replace(".", "/")) as f:
            return f.read().split()
    except OSError:
        return None


def mem_available_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


def limits(n, backends):
    """What this machine allows, and the problems in the way of n clients."""
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    ports = sysctl("net.ipv4.ip_local_port_range")
    nports = int(ports[1]) - int(ports[0]) + 1 if ports else 0
    file_max = int((sysctl("fs.file-max") or ["0"])[0])
    info = {"nofile_per_process": nofile, "ip_local_port_range": " ".join(ports or []),
            "somaxconn": (sysctl("net.core.somaxconn") or ["?"])[0], "fs.file-max": file_max,
            "fs.nr_open": (sysctl("fs.nr_open") or ["?"])[0], "mem_available_kib": mem_available_kib()}
    problems = []
    if n / backends > nports:
        problems.append(f"the lb opens {n // backends} connections to each backend from 127.0.0.1, "
                        f"more than the {nports} ports of net.ipv4.ip_local_port_range")
    if file_max and 4 * n + 20000 > file_max:
        problems.append(f"fs.file-max {file_max} is under the ~{4 * n} files needed (4 per client)")
    if math.ceil(n / LB_PER_WORKER) > 64:
        problems.append(f"{n} clients need more than the lb's 64 workers")
    if info["mem_available_kib"] < n * 40:
        problems.append(f"MemAvailable {info['mem_available_kib']} KiB is under ~40 KiB per client "
                        f"(user space and kernel socket buffers)")
    if nofile < 2 * LB_PER_WORKER + 100:
        problems.append(f"the open-files limit ({nofile}) is too small for {LB_PER_WORKER} tunnels per lb worker")
    return info, problems


class PeakRss:
    """Samples the RSS of groups of process trees until stopped; keeps the
    highest total of each group."""

    def __init__(self, groups):
        self.groups, self.peak = groups, {g: 0 for g in groups}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.done.wait(0.25):
            for g, pids in self.groups.items():
                self.peak[g] = max(self.peak[g], sum(rss_kib(p) for p in pids))

    def stop(self):
        self.done.set()
        self.thread.join()
        return self.peak


def lb_config(port, workers, backends):
    servers = "".join(f"    server ws{i} 127.0.0.1:{b.port}\n" for i, b in enumerate(backends))
    return (f"global\n    nbthread {workers}\n    maxconn 9900\n\n"
            "defaults\n    mode http\n    timeout client 60s\n    timeout server 60s\n"
            "    timeout connect 5s\n    timeout tunnel 1h\n\n"
            f"frontend chat\n    bind 127.0.0.1:{port}\n    default_backend ws\n\n"
            f"backend ws\n    balance roundrobin\n{servers}")


def section(make_run, args, raw):
    n = args.scale
    nback = math.ceil(n / CLIENTS_PER_PROC)
    workers = math.ceil(n / LB_PER_WORKER)
    procs = math.ceil(n / CLIENTS_PER_PROC)
    info, problems = limits(n, nback)
    fig = {"clients": n, "lb_workers": workers, "backends": nback, "generator_procs": procs,
           "limits": info, "problems": problems}
    raw["scale"] = fig
    for p in problems:
        log(f"scale: limit: {p}")
    log(f"scale: {n} clients, lb {workers} workers, {nback} backends, generator -P {procs}")
    run = make_run()
    try:
        redis = stacks.redis(run)
        backends = []
        for i in range(nback):
            b = stacks.Backend(run.tmp, ["--id", f"ws{i + 1}", "--redis", redis.url])
            run.add(b.stop)
            backends.append(b)
        port = free_port()
        lb = stacks.wscale_lb(run, "lb-scale", lb_config(port, workers, backends), port)
        groups = {"lb": all_pids([lb.pid]), "backends": [b.pid for b in backends], "redis": [redis.proc.pid]}
        before = {g: sum(rss_kib(p) for p in pids) for g, pids in groups.items()}
        peak = PeakRss(groups)
        try:
            r = bench("fanout", [lb.url], "-c", n, "-p", 1, "-r", 1, "-s", 64, "-t", SECONDS,
                      "-P", procs, "--timeout", "60s", "--grace", "10s", timeout=900)
        finally:
            top = peak.stop()
        fig.update({"established": r["established"], "failed": r["failed"], "sent": r["sent"],
                    "expected": r["expected"], "delivered": r["delivered"], "loss_pct": r["loss_pct"],
                    "latency_p99_ms": r["latency_us"]["p99"] / 1000, "first_error": r.get("first_error"),
                    "handshake_p99_ms": r["handshake_us"]["p99"] / 1000,
                    "rss_before_kib": before, "rss_peak_kib": top})
        if r["established"]:
            fig["bytes_per_client"] = {g: (top[g] - before[g]) * 1024 / r["established"] for g in groups}
        log(f"scale: {r['established']} up, {r['delivered']}/{r['expected']} delivered")
    finally:
        run.stop_all()
