"""The one table at the end: every section's medians with their spread
(min–max over the rounds), then the issue's targets next to what was
measured, with the ratios."""
import os

from common import human, median, spread

W = 22  # column width


def row(label, cells):
    return f"  {label:<30}" + "".join(f"{c:>{W}}" for c in cells)


def col(raw, kind, key, scale=1.0):
    return [None if r.get(key) is None else r[key] * scale for r in raw.get(kind, [])]


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def tunnel_lines(t, args):
    kinds = ("wscale", "haproxy", "nginx", "direct")
    out = [f"1. Tunnel: 2 `wscale backend --echo`, one proxy worker (nbthread 1 / worker_processes 1), "
           f"{args.echo_seconds} s closed-loop echo of 64-byte messages;",
           "   the generator (`wscale bench echo -P 2`) shares the machine's 2 cores with the proxy and the backends.",
           row("", ["wscale lb", "HAProxy", "nginx", "no proxy"])]
    for conns in (64, 512):
        out.append(row(f"msgs/s, {conns} connections", [spread(col(t, k, f"msgs_{conns}")) for k in kinds]))
        out.append(row(f"p99 ms, {conns} connections", [spread(col(t, k, f"p99_ms_{conns}")) for k in kinds]))
    out.append(row("proxy CPU s / 1M relayed msgs", [spread(col(t, k, "cpu_s_per_M")) for k in kinds[:3]] + ["-"]))
    out.append(row("RSS per idle tunnel (bytes)", [spread(col(t, k, "idle_bytes")) for k in kinds[:3]] + ["-"]))
    out.append(f"   idle: Δrss of the proxy's processes with {args.idle} idle tunnels open, fresh processes; "
               "user space only (kernel socket memory not included).")
    return out


def fanout_lines(f, args):
    best = {k: [r["best"]["deliveries_per_s"] if r.get("best") else None for r in f.get(k, [])]
            for k in ("wscale", "tutorial")}
    cpu = {k: [r["best"]["stack_cpu_us_per_delivery"] if r.get("best") else None for r in f.get(k, [])]
           for k in ("wscale", "tutorial")}
    return [f"2. Chat fan-out: 1000 clients via the lb, 10 publishers, 64-byte messages, {args.step_seconds} s steps;"
            " highest rate with loss 0 and p99 < 50 ms.",
            "   wscale: 4 wscale backends + Redis + wscale lb; tutorial: 4 Node servers + Redis + HAProxy "
            "(the tutorial's haproxy.cfg).",
            row("", ["wscale stack", "tutorial stack", "ratio"]),
            row("deliveries/s", [spread(best["wscale"]), spread(best["tutorial"]),
                                 human(ratio(median(best["wscale"]), median(best["tutorial"])), "x")]),
            row("stack CPU µs / delivery", [spread(cpu["wscale"]), spread(cpu["tutorial"]),
                                            human(ratio(median(cpu["wscale"]), median(cpu["tutorial"])), "x")]),
            row("backend RSS / idle client (B)", [spread(col(f, "wscale", "backend_idle_bytes")),
                                                    spread(col(f, "tutorial", "backend_idle_bytes")),
                                                    human(ratio(median(col(f, "wscale", "backend_idle_bytes")),
                                                                median(col(f, "tutorial", "backend_idle_bytes"))), "x")]),
            f"   idle client: Δrss of one backend with {args.idle_clients} clients on it (reached directly), "
            "user space only.",
            "   stack CPU: user+sys of lb, backends and Redis at the best step (the generator's own CPU excluded)."]


def storm_lines(s, args):
    return [f"3. Connect storm: {args.storm} clients through the lb to 4 backends (`wscale bench storm -P 2`).",
            row("", ["wscale stack", "tutorial stack"]),
            row("all up (ms)", [spread(col(s, k, "all_up_ms")) for k in ("wscale", "tutorial")]),
            row("failed", [spread(col(s, k, "failed")) for k in ("wscale", "tutorial")]),
            row("handshake p99 (ms)", [spread(col(s, k, "handshake_p99_ms")) for k in ("wscale", "tutorial")])]


def scale_lines(sc):
    out = [f"4. Scale: {sc['clients']} idle clients through wscale lb ({sc['lb_workers']} workers) to "
           f"{sc['backends']} backends + Redis, generator -P {sc['generator_procs']}, one broadcast a second (one run)."]
    for p in sc.get("problems", []):
        out.append(f"   limit: {p}")
    if "established" not in sc:
        return out + ["   (did not run)"]
    out.append(f"   established {sc['established']}, failed {sc['failed']}; delivered {sc['delivered']} of "
               f"{sc['expected']} ({sc['sent']} messages), loss {sc['loss_pct']:.3f} %, p99 {sc['latency_p99_ms']:.1f} ms")
    peak = sc["rss_peak_kib"]
    per = sc.get("bytes_per_client", {})
    out.append("   peak RSS: " + ", ".join(f"{g} {peak[g] / 1024:.0f} MiB ({per.get(g, 0):.0f} B/client)"
                                           for g in ("lb", "backends", "redis")))
    return out


def targets(raw, args):
    """(figure, target, measured, met) for the issue's targets table."""
    rows = []
    t, f, s, sc = raw.get("tunnel"), raw.get("fanout"), raw.get("storm"), raw.get("scale")

    def met(ok):
        return "-" if ok is None else ("met" if ok else "NOT met")

    if t:
        cpu = ratio(median(col(t, "wscale", "cpu_s_per_M")), median(col(t, "haproxy", "cpu_s_per_M")))
        rows.append(("proxy CPU per relayed message", "≤ 0.95 × HAProxy", human(cpu, " × HAProxy"),
                     met(None if cpu is None else cpu <= 0.95)))
        for conns in (64, 512):
            m = ratio(median(col(t, "wscale", f"msgs_{conns}")), median(col(t, "haproxy", f"msgs_{conns}")))
            p = ratio(median(col(t, "wscale", f"p99_ms_{conns}")), median(col(t, "haproxy", f"p99_ms_{conns}")))
            ok = None if m is None or p is None else m >= 1 and p <= 1
            rows.append((f"tunnel msgs/s, {conns} connections", "≥ HAProxy, p99 no worse",
                         f"{human(m, '×')} msgs/s, {human(p, '×')} p99", met(ok)))
        idle = median(col(t, "wscale", "idle_bytes"))
        rows.append(("lb RSS per idle tunnel", "≤ 0.25 KiB", human(idle, " B"),
                     met(None if idle is None else idle <= 256)))
    if f:
        idle = median(col(f, "wscale", "backend_idle_bytes"))
        rows.append(("backend RSS per idle client", "≤ 1 KiB", human(idle, " B"),
                     met(None if idle is None else idle <= 1024)))
        best = {k: median([r["best"]["deliveries_per_s"] if r.get("best") else None for r in f[k]])
                for k in ("wscale", "tutorial")}
        x = ratio(best["wscale"], best["tutorial"])
        rows.append(("fan-out deliveries/s, loss 0, p99 < 50 ms", "≥ 10 × the tutorial stack",
                     human(x, " × tutorial"), met(None if x is None else x >= 10)))
    if s:
        up, failed = median(col(s, "wscale", "all_up_ms")), median(col(s, "wscale", "failed"))
        rows.append((f"connect storm, {args.storm} clients via the lb", "all up < 1 s, 0 failures",
                     f"{human(up, ' ms')}, {human(failed)} failed",
                     met(None if up is None else up < 1000 and failed == 0 and args.storm >= 10000)))
    if sc and "established" in sc:
        ok = sc["established"] >= 100000 and sc["delivered"] == sc["expected"] and sc["expected"] > 0
        rows.append(("concurrent idle clients, all get a broadcast", "100,000",
                     f"{sc['established']} up, {sc['delivered']}/{sc['expected']} delivered", met(ok)))
    return rows


def table(raw, args):
    load = raw.get("loadavg", {})
    lines = [f"wscale bench comparisons: {args.rounds} round(s) alternating A B … B A; "
             "median (min–max over the rounds)",
             f"machine: {os.cpu_count()} cores; load average {load.get('start', '?')} at the start, "
             f"{load.get('end', '?')} at the end (above ~0.5, something else was running)", ""]
    if raw.get("tunnel"):
        lines += tunnel_lines(raw["tunnel"], args) + [""]
    if raw.get("fanout"):
        lines += fanout_lines(raw["fanout"], args) + [""]
    if raw.get("storm"):
        lines += storm_lines(raw["storm"], args) + [""]
    if raw.get("scale"):
        lines += scale_lines(raw["scale"]) + [""]
    rows = targets(raw, args)
    if rows:
        lines.append("Targets (issue 8)")
        lines.append(f"  {'figure':<47}{'target':<28}{'measured':<38}")
        for fig, target, measured, ok in rows:
            lines.append(f"  {fig:<47}{target:<28}{measured:<38}{ok}")
    if args.quick:
        lines += ["", "(--quick: one short round with smaller counts: a smoke run, not figures to quote; "
                  "targets needing the full counts are judged on them.)"]
    return "\n".join(lines)
