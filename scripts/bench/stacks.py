"""Starting what scripts/bench compares, on 127.0.0.1 free ports.

Every process started here is registered with a Running set, which stops
them all by pid, newest first (the caller does it in a finally)."""
import os
from string import Template

from common import HERE, WSCALE, Backend, Proc, Redis, free_port, port_open

NODE_DIR = os.path.join(HERE, "node")
TUNNEL_MAXCONN = 9900  # streams per proxy process: 2 files each, 20000 files at most


class Running:
    """The processes started so far, stopped newest first."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.stoppers = []

    def add(self, stop):
        self.stoppers.append(stop)

    def stop_all(self):
        while self.stoppers:
            stop = self.stoppers.pop()
            try:
                stop()
            except Exception as e:  # keep stopping the others
                print(f"scripts/bench: stopping: {e}")


class Server:
    """A started process: its pid, its port, its log."""

    def __init__(self, proc, port):
        self.proc, self.port, self.pid = proc, port, proc.pid

    @property
    def url(self):
        return f"ws://127.0.0.1:{self.port}/"


def render(name, **values):
    with open(os.path.join(HERE, name)) as f:
        return Template(f.read()).substitute(**values)


def start(run, name, argv, port, ready=None, env=None, timeout=15.0):
    """Starts argv (log in run.tmp/name.log) and waits for its port and ready()."""
    p = Proc(argv, str(run.tmp / f"{name}.log"), env=env)
    run.add(p.stop)
    p.ready_or_stop(lambda: port_open(port) and (ready is None or ready(p)), f"{name} on port {port}",
                    timeout=timeout)
    return Server(p, port)


def redis(run):
    r = Redis(run.tmp)
    run.add(r.stop)
    return r


def echo_backends(run, n):
    """n `wscale backend --echo` servers."""
    out = []
    for i in range(n):
        b = Backend(run.tmp, ["--echo", "--id", f"e{i}", "--ping-interval", "0"])
        run.add(b.stop)
        out.append(b)
    return out


def wscale_lb(run, name, text, port):
    """A `wscale lb` master running the configuration text; ready once it says so."""
    path = run.tmp / f"{name}.cfg"
    path.write_text(text)
    return start(run, name, [WSCALE, "lb", "-f", str(path)], port, ready=lambda p: "ready: " in p.output())


def haproxy(run, name, text, port):
    path = run.tmp / f"{name}.cfg"
    path.write_text(text)
    return start(run, name, ["haproxy", "-db", "-f", str(path)], port)


def tunnel_proxy(run, kind, backend_ports):
    """Section 1's proxy of this kind (wscale, haproxy, nginx) in front of
    the echo backends."""
    port = free_port()
    if kind == "nginx":
        d = run.tmp / f"nginx-{port}"
        d.mkdir()
        servers = "".join(f"        server 127.0.0.1:{p};\n" for p in backend_ports)
        text = render("nginx.conf", port=port, dir=d, connections=2 * TUNNEL_MAXCONN + 100,
                      servers=servers.rstrip("\n"))
        (d / "nginx.conf").write_text(text)
        return start(run, "nginx", ["nginx", "-p", str(d), "-e", str(d / "error.log"), "-c",
                                    str(d / "nginx.conf")], port)
    servers = "".join(f"    server b{i} 127.0.0.1:{p}\n" for i, p in enumerate(backend_ports))
    template = "lb.cfg" if kind == "wscale" else "haproxy.cfg"
    text = render(template, port=port, maxconn=TUNNEL_MAXCONN, servers=servers.rstrip("\n"))
    if kind == "wscale":
        return wscale_lb(run, "lb-tunnel", text, port)
    return haproxy(run, "haproxy-tunnel", text, port)


def chat_backends(run, kind, redis_port, n=4):
    """n chat backends: `wscale backend` or the tutorial's Node server."""
    out = []
    for i in range(1, n + 1):
        port = free_port()
        appid = f"{i}" * 4  # the tutorial's 1111..4444
        if kind == "wscale":
            b = Backend(run.tmp, ["--id", appid, "--redis", f"redis://127.0.0.1:{redis_port}"], port=port)
            run.add(b.stop)
            out.append(Server(b.proc, port))
        else:
            env = {"PORT": str(port), "APPID": appid, "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(redis_port)}
            out.append(start(run, f"node-{appid}", ["node", os.path.join(NODE_DIR, "server.mjs")], port,
                             ready=lambda p: "subscribed successfully" in p.output(), env=env))
    return out


class ChatStack:
    """Sections 2 and 3: Redis, four chat backends and the tutorial's
    haproxy.cfg in front; kind "wscale" (wscale backends, wscale lb) or
    "tutorial" (Node servers, HAProxy)."""

    def __init__(self, run, kind):
        self.kind = kind
        self.redis = redis(run)
        self.backends = chat_backends(run, kind, self.redis.port)
        port = free_port()
        ports = {f"s{i + 1}": b.port for i, b in enumerate(self.backends)}
        text = render("tutorial.cfg", port=port, **ports)
        if kind == "wscale":
            self.lb = wscale_lb(run, "lb-chat", "global\n    nbthread 2\n\n" + text, port)
        else:
            self.lb = haproxy(run, "haproxy-chat", text, port)

    def pids(self):
        """Every process of the stack (the lb's tree is added by callers)."""
        return [self.lb.pid, self.redis.proc.pid] + [b.pid for b in self.backends]

