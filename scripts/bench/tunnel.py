"""Section 1, Tunnel: wscale lb vs HAProxy vs nginx vs no proxy, each in front
of the same two `wscale backend --echo` servers, one proxy worker each.

Per round and proxy (fresh processes each time): user-space memory per idle
tunnel (Δrss of the proxy's process tree with IDLE tunnels open for 3 s, over
IDLE; after a short warm-up echo, so that library code and tables a process
touches once, at its first connection, are not counted per tunnel),
then closed-loop echo at 64 and 512 connections: messages/s, p99, and the
proxy tree's CPU seconds per million relayed messages (each echo crosses the
proxy twice)."""
from common import all_pids, alternate, bench, log, process_tree, tree_cpu, wait_until
import stacks

KINDS = ("wscale", "haproxy", "nginx", "direct")
CONNS = (64, 512)
SIZE = 64


def one(run, kind, backends, args):
    fig = {}
    if kind == "direct":
        urls, pid = [b.url for b in backends], None
    else:
        proxy = stacks.tunnel_proxy(run, kind, [b.port for b in backends])
        urls, pid = [proxy.url], proxy.pid
        if kind != "haproxy":  # master and one worker
            wait_until(lambda: len(process_tree(pid)) >= 2, what=f"{kind}'s worker")
        bench("echo", urls, "-c", 4, "-s", SIZE, "-t", "300ms")
        idle = bench("idle", urls, "-c", args.idle, "-t", "3s", "--pid", ",".join(map(str, all_pids([pid]))))
        fig["idle_established"] = idle["established"]
        if idle["established"] == args.idle:
            fig["idle_bytes"] = idle.get("rss_per_connection_bytes")
    cpu, relayed = 0.0, 0
    for conns in CONNS:
        before = tree_cpu([pid]) if pid else 0.0
        e = bench("echo", urls, "-c", conns, "-s", SIZE, "-t", f"{int(args.echo_seconds * 1000)}ms", "-P", 2)
        if pid:
            cpu += tree_cpu([pid]) - before
        relayed += 2 * e["echoed"]
        fig[f"msgs_{conns}"] = e["msgs_per_s"]
        fig[f"p99_ms_{conns}"] = e["latency_us"]["p99"] / 1000
        fig[f"failed_{conns}"] = e["failed"]
    if pid and relayed:
        fig["cpu_s_per_M"] = cpu / relayed * 1e6
    return fig


def section(make_run, args, raw):
    """Fills raw['tunnel'][kind] with one dict of figures per round."""
    out = raw.setdefault("tunnel", {k: [] for k in KINDS})
    run = make_run()
    try:
        backends = stacks.echo_backends(run, 2)
        for rnd in range(args.rounds):
            for kind in alternate(KINDS, rnd):
                log(f"tunnel round {rnd + 1}/{args.rounds}: {kind}")
                sub = make_run()
                try:
                    out[kind].append(one(sub, kind, backends, args))
                finally:
                    sub.stop_all()
    finally:
        run.stop_all()
