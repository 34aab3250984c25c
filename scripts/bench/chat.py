"""Sections 2 (chat fan-out) and 3 (connect storm): the wscale stack (four
wscale backends + Redis + wscale lb) vs the tutorial's (four Node servers +
Redis + HAProxy), both running the tutorial's haproxy.cfg.

Per round and stack (fresh processes): memory per idle client of one backend
(Δrss with IDLE clients on it, reached directly), the fan-out search, then
the storm through the lb."""
from common import all_pids, alternate, bench, log, tree_cpu
import stacks

KINDS = ("wscale", "tutorial")
CLIENTS = 1000
PUBLISHERS = 10
SIZE = 64
P99_MAX_US = 50000
MAX_RATE = 1 << 16   # messages/s: far beyond what the 2 cores deliver to 1000 clients
BISECTIONS = 3


def backend_idle(stack, args):
    b = stack.backends[0]
    r = bench("idle", [b.url], "-c", args.idle_clients, "-t", "1s", "--pid", b.pid)
    if r["established"] != args.idle_clients:
        return None
    return r.get("rss_per_connection_bytes")


def step(stack, rate, args):
    """One fan-out run at `rate` messages/s; its figures and whether it
    passed (every message to every client, p99 under 50 ms)."""
    pids = all_pids(stack.pids())
    before = tree_cpu(pids)
    r = bench("fanout", [stack.lb.url], "-c", CLIENTS, "-p", PUBLISHERS, "-r", rate, "-s", SIZE,
              "-t", f"{int(args.step_seconds * 1000)}ms", "--grace", "1s", "-P", 2)
    cpu = tree_cpu(pids) - before
    ok = (r["established"] == CLIENTS and r["loss_pct"] == 0 and r["delivered"] > 0
          and r["latency_us"]["p99"] < P99_MAX_US)
    fig = {"rate": rate, "ok": ok, "deliveries_per_s": r["deliveries_per_s"], "loss_pct": r["loss_pct"],
           "p99_ms": r["latency_us"]["p99"] / 1000, "established": r["established"],
           "stack_cpu_us_per_delivery": cpu / r["delivered"] * 1e6 if r["delivered"] else None}
    log(f"  fanout {stack.kind} {rate} msgs/s: {fig['deliveries_per_s']:.0f} deliveries/s, "
        f"loss {fig['loss_pct']:.3f} %, p99 {fig['p99_ms']:.1f} ms: {'ok' if ok else 'too much'}")
    return fig


def search(stack, args):
    """Doubles the publish rate from args.start_rate until a step fails (or,
    if the first fails, halves it until one passes), then bisects between
    the last good and the first bad rate. Returns every step and the best."""
    steps, good, bad, rate = [], None, None, args.start_rate

    def run_step(r):
        steps.append(step(stack, r, args))
        return steps[-1]

    fig = run_step(rate)
    if fig["ok"]:
        good = fig
        while bad is None and rate * 2 <= MAX_RATE:
            rate *= 2
            fig = run_step(rate)
            good, bad = (fig, bad) if fig["ok"] else (good, fig)
    else:
        bad = fig
        while good is None and rate > 1:
            rate //= 2
            fig = run_step(rate)
            good, bad = (fig, bad) if fig["ok"] else (good, fig)
    for _ in range(BISECTIONS):
        if good is None or bad is None or bad["rate"] - good["rate"] <= max(1, good["rate"] // 16):
            break
        fig = run_step((good["rate"] + bad["rate"]) // 2)
        if fig["ok"]:
            good = fig
        else:
            bad = fig
    return {"steps": steps, "best": good}


def storm(stack, args):
    r = bench("storm", [stack.lb.url], "-c", args.storm, "-P", 2)
    log(f"  storm {stack.kind}: {r['established']} up, {r['failed']} failed, {r['all_up_ms']:.0f} ms")
    return {"all_up_ms": r["all_up_ms"], "failed": r["failed"], "established": r["established"],
            "handshake_p99_ms": r["handshake_us"]["p99"] / 1000, "first_error": r.get("first_error")}


def section(make_run, args, raw, fanout, do_storm):
    """Fills raw['fanout'][kind] and raw['storm'][kind], one dict per round."""
    fan = raw.setdefault("fanout", {k: [] for k in KINDS}) if fanout else None
    sto = raw.setdefault("storm", {k: [] for k in KINDS}) if do_storm else None
    for rnd in range(args.rounds):
        for kind in alternate(KINDS, rnd):
            log(f"chat round {rnd + 1}/{args.rounds}: {kind} stack")
            run = make_run()
            try:
                stack = stacks.ChatStack(run, kind)
                if fan is not None:
                    fig = {"backend_idle_bytes": backend_idle(stack, args)}
                    fig.update(search(stack, args))
                    fan[kind].append(fig)
                if sto is not None:
                    sto[kind].append(storm(stack, args))
            finally:
                run.stop_all()
