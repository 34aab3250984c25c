"""The runtime API on the lb's stats socket, as an operator uses it: socat
and nc -U, one command per connection or several with ';', the interactive
prompt, the levels (user looks, operator also sees addresses, admin
changes servers), and what each change does to real traffic: disable and
enable, drain (persistent clients still go there), weights, shutdown
sessions, and errors. With two workers, a change reaches both and the
counters sum both.

Servers are `wscale backend --echo` processes: their greeting names them,
so every client knows where it landed."""
import collections
import os
import re
import socket
import time

from lbstats import admin, api, nc, parse_csv, row, show_stat, socat
from procs import wait_until
from test_lb_cookie import tunnel
from test_lb_tunnel import connect, lb_config, server_id_of_new_client


def echo_backends(backends, *ids):
    return {i: backends("--echo", "--id", i) for i in ids}


def api_lb(lbs, sock, servers, *, global_="", backend="balance roundrobin", **kw):
    """An lb with an admin stats socket at sock."""
    return lbs(lb_config(servers, global_=f"stats socket {sock} mode 600 level admin\n{global_}",
                         backend=backend, **kw))


def server_lines(bs, extra=""):
    return [f"server {i} 127.0.0.1:{b.port} {extra}".rstrip() for i, b in bs.items()]


def info_fields(text):
    return dict(line.split(": ", 1) for line in text.splitlines() if line)


def ids_of_new_clients(port, n):
    return [server_id_of_new_client(port) for _ in range(n)]


# --- talking to the socket ---------------------------------------------------------


def test_socat_and_nc_get_one_answer_per_connection_then_the_lb_closes(backends, lbs, tmp_path):
    sock = tmp_path / "admin.sock"
    bs = echo_backends(backends, "a")
    lb = api_lb(lbs, sock, server_lines(bs))
    assert os.stat(sock).st_mode & 0o777 == 0o600

    info = socat(sock, "show info")
    assert info.endswith("\n\n"), repr(info)  # every answer ends with an empty line
    fields = info_fields(info)
    assert fields["Name"] == "wscale"
    assert int(fields["Pid"]) == lb.pid  # the master
    assert fields["Nbthread"] == fields["Workers"] == "1"

    rows = parse_csv(nc(sock, "show stat"))
    assert [(r["pxname"], r["svname"]) for r in rows] == [
        ("fe", "FRONTEND"), ("be", "a"), ("be", "BACKEND")]

    # Several commands on a line, with or without spaces around ';'.
    answers = socat(sock, "show version; show cli level;show backend").split("\n\n")
    assert answers == [fields["Version"], "admin", "# name\nbe", ""], answers

    lb.stop()
    assert not sock.exists(), "the socket file outlived the lb"


def read_prompts(s, n=1):
    """Reads up to the n-th "> " prompt; returns the n answers before them."""
    data = b""
    while data.count(b"\n> ") < n or not data.endswith(b"\n> "):
        chunk = s.recv(65536)
        assert chunk, f"closed before the prompt; got {data!r}"
        data += chunk
    return data.decode().split("\n> ")[:-1]


def read_prompt(s):
    return read_prompts(s)[0]


def test_prompt_mode_answers_every_line_until_quit(backends, lbs, tmp_path):
    sock = tmp_path / "admin.sock"
    bs = echo_backends(backends, "a", "b")
    api_lb(lbs, sock, server_lines(bs))
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(str(sock))
        s.sendall(b"prompt\n")
        assert read_prompt(s) == ""
        s.sendall(b"show cli level\n")
        assert read_prompt(s) == "admin\n"
        s.sendall(b"set server be/b weight 7\n")
        assert read_prompt(s) == ""
        # Two lines in one write: two answers, each with its prompt.
        s.sendall(b"get weight be/a\nget weight be/b\n")
        assert read_prompts(s, 2) == ["1 (initial 1)\n", "7 (initial 1)\n"]
        # Still open after an idle moment: interactive sessions wait.
        time.sleep(0.3)
        s.sendall(b"quit\n")
        assert s.recv(100) == b""
    # What was set in that session is the lb's state.
    assert row(show_stat(sock), "be", "b")["weight"] == "7"


# --- what it shows -------------------------------------------------------------------


def servers_state(text):
    """"show servers state": version line, header, then rows by column name."""
    lines = text.strip("\n").splitlines()
    assert lines[0] == "1"
    names = lines[1].lstrip("# ").split()
    return {f[3]: dict(zip(names, f)) for f in (line.split() for line in lines[2:])}


def test_show_stat_and_servers_state_report_up_down_and_unchecked_servers(backends, lbs, tmp_path):
    sock = tmp_path / "admin.sock"
    bs = echo_backends(backends, "a", "b")
    dead = backends("--echo", "--id", "c")
    dead_port = dead.port
    dead.stop()
    servers = [f"server a 127.0.0.1:{bs['a'].port} check inter 100ms rise 2 fall 2",
               f"server b 127.0.0.1:{bs['b'].port}",
               f"server c 127.0.0.1:{dead_port} check inter 100ms rise 2 fall 2"]
    lb = api_lb(lbs, sock, servers)
    wait_until(lambda: row(show_stat(sock), "be", "c")["status"] == "DOWN", timeout=5,
               what=f"c DOWN\n{lb.output()}")
    wait_until(lambda: row(show_stat(sock), "be", "a")["check_status"] == "L4OK", timeout=5,
               what="a checked")
    rows = show_stat(sock)
    a, b, c = (row(rows, "be", s) for s in "abc")
    assert (a["status"], a["check_status"], a["weight"], a["act"]) == ("UP", "L4OK", "1", "1")
    assert (b["status"], b["check_status"], b["chkfail"]) == ("no check", "", "")
    assert (c["status"], c["check_status"], c["chkdown"]) == ("DOWN", "L4CON", "1")
    assert c["check_desc"] == "Layer4 connection problem"
    assert int(c["chkfail"]) >= 1
    assert [r["sid"] for r in (a, b, c)] == ["1", "2", "3"]
    be = row(rows, "be", "BACKEND")
    assert (be["status"], be["act"], be["weight"]) == ("UP", "2", "2")  # a and b usable

    state = servers_state(api(sock, "show servers state"))
    assert {n: s["srv_op_state"] for n, s in state.items()} == {"a": "2", "b": "2", "c": "0"}
    assert state["a"]["srv_port"] == str(bs["a"].port)
    assert state["a"]["srv_addr"] == "127.0.0.1"
    assert state["c"]["srv_check_status"] == "8"  # HAProxy's HCHK_STATUS_L4CON
    assert {s["srv_admin_state"] for s in state.values()} == {"0"}
    assert api(sock, "show servers state nosuch") == "Can't find backend.\n\n"

    admin(sock, "disable server be/a")
    admin(sock, "set server be/b state drain")
    state = servers_state(api(sock, "show servers state be"))
    # HAProxy's admin flags: FMAINT 0x01, FDRAIN 0x08.
    assert (state["a"]["srv_admin_state"], state["b"]["srv_admin_state"]) == ("1", "8")
    assert state["a"]["srv_op_state"] == "0"  # in maintenance: stopped
    rows = show_stat(sock)
    assert (row(rows, "be", "a")["status"], row(rows, "be", "b")["status"]) == ("MAINT", "DRAIN")
    # As HAProxy's, a backend counts and is UP by the servers that take new
    # balanced traffic: ready, UP, with a weight. c is DOWN, a in
    # maintenance, b drains: none is left.
    be = row(rows, "be", "BACKEND")
    assert (be["status"], be["act"], be["weight"]) == ("DOWN", "0", "0")
    admin(sock, "set server be/b state ready")
    be = row(show_stat(sock), "be", "BACKEND")
    assert (be["status"], be["act"], be["weight"]) == ("UP", "1", "1")
    admin(sock, "set server be/b weight 0")
    be = row(show_stat(sock), "be", "BACKEND")
    assert (be["status"], be["act"], be["weight"]) == ("DOWN", "0", "0")


def test_levels_user_looks_operator_sees_addresses_admin_changes(backends, lbs, tmp_path):
    bs = echo_backends(backends, "a")
    socks = {lvl: tmp_path / f"{lvl}.sock" for lvl in ("user", "operator", "admin")}
    global_ = "\n".join([f"stats socket {socks['user']} level user",
                         f"stats socket {socks['operator']}",  # HAProxy's default level
                         f"stats socket {socks['admin']} mode 600 level admin"])
    lbs(lb_config(server_lines(bs), global_=global_))

    for lvl, sock in socks.items():
        assert api(sock, "show cli level") == f"{lvl}\n\n"
    user_help = api(socks["user"], "help")
    assert "show stat" in user_help and "disable server" not in user_help, user_help
    assert "disable server" in api(socks["admin"], "help")

    for lvl in ("user", "operator"):
        assert api(socks[lvl], "disable server be/a") == "Permission denied\n\n"
        assert api(socks[lvl], "set server be/a weight 0") == "Permission denied\n\n"
        assert api(socks[lvl], "shutdown sessions server be/a") == "Permission denied\n\n"
    # "user" lowers the session's level for the rest of the connection.
    assert api(socks["admin"], "user; disable server be/a") == "\nPermission denied\n\n"
    assert row(show_stat(socks["admin"]), "be", "a")["status"] == "no check"

    # Addresses and algorithms: from operator up, as HAProxy's "show stat".
    user_rows, op_rows = show_stat(socks["user"]), show_stat(socks["operator"])
    assert row(user_rows, "be", "a")["addr"] == ""
    assert row(user_rows, "be", "BACKEND")["algo"] == ""
    assert row(op_rows, "be", "a")["addr"] == f"127.0.0.1:{bs['a'].port}"
    assert row(op_rows, "be", "BACKEND")["algo"] == "roundrobin"

    admin(socks["admin"], "disable server be/a")
    assert row(show_stat(socks["user"]), "be", "a")["status"] == "MAINT"


# --- what changes do to traffic -------------------------------------------------------


def test_disabled_server_keeps_its_tunnels_and_takes_no_new_client_until_enabled(backends, lbs,
                                                                                tmp_path):
    sock = tmp_path / "admin.sock"
    bs = echo_backends(backends, "a", "b")
    lb = api_lb(lbs, sock, server_lines(bs))
    tunnels = [connect(lb.port) for _ in range(4)]
    assert collections.Counter(i for _, i in tunnels) == {"a": 2, "b": 2}

    admin(sock, "disable server be/a")
    assert ids_of_new_clients(lb.port, 6) == ["b"] * 6
    for k, (c, ident) in enumerate(tunnels):
        assert c.echo(f"{ident} still there {k}") == f"{ident} still there {k}"
    a = row(show_stat(sock), "be", "a")
    assert (a["status"], a["tunnels_cur"], a["scur"]) == ("MAINT", "2", "2")

    admin(sock, "enable server be/a")
    assert collections.Counter(ids_of_new_clients(lb.port, 4)) == {"a": 2, "b": 2}
    assert row(show_stat(sock), "be", "a")["status"] == "no check"
    for c, _ in tunnels:
        c.close()


def test_draining_server_takes_only_clients_whose_cookie_names_it(backends, lbs, tmp_path):
    sock = tmp_path / "admin.sock"
    bs = echo_backends(backends, "a", "b")
    servers = [f"server {i} 127.0.0.1:{b.port} cookie {i}" for i, b in bs.items()]
    lb = api_lb(lbs, sock, servers, backend="balance roundrobin\ncookie SRV insert indirect nocache")

    admin(sock, "set server be/a state drain")
    assert row(show_stat(sock), "be", "a")["status"] == "DRAIN"
    assert ids_of_new_clients(lb.port, 4) == ["b"] * 4
    assert [tunnel(lb.port, "SRV=a")[0] for _ in range(3)] == ["a"] * 3
    assert [tunnel(lb.port, "SRV=b")[0] for _ in range(2)] == ["b"] * 2

    # In maintenance, even its persistent clients go elsewhere.
    admin(sock, "set server be/a state maint")
    assert tunnel(lb.port, "SRV=a")[0] == "b"
    admin(sock, "set server be/a state ready")
    assert "a" in ids_of_new_clients(lb.port, 2)


def test_weights_set_at_runtime_shape_the_share_of_new_clients(backends, lbs, tmp_path):
    sock = tmp_path / "admin.sock"
    bs = echo_backends(backends, "a", "b")
    lb = api_lb(lbs, sock, server_lines(bs, "weight 10"))

    admin(sock, "set server be/a weight 30")
    counts = collections.Counter(ids_of_new_clients(lb.port, 40))
    assert 26 <= counts["a"] <= 34, counts  # 3 to 1

    admin(sock, "set weight be/b 50%")  # of its configured 10
    assert api(sock, "get weight be/b") == "5 (initial 10)\n\n"
    rows = show_stat(sock)
    assert (row(rows, "be", "a")["weight"], row(rows, "be", "b")["weight"]) == ("30", "5")
    assert row(rows, "be", "BACKEND")["weight"] == "35"
    counts = collections.Counter(ids_of_new_clients(lb.port, 35))
    assert 2 <= counts["b"] <= 8, counts  # 1 in 7

    admin(sock, "set server be/a weight 0")
    assert ids_of_new_clients(lb.port, 5) == ["b"] * 5
    admin(sock, "set server be/a weight 100%")
    assert "a" in ids_of_new_clients(lb.port, 4)


def test_shutdown_sessions_closes_that_servers_tunnels_only(backends, lbs, tmp_path):
    sock = tmp_path / "admin.sock"
    bs = echo_backends(backends, "a", "b")
    lb = api_lb(lbs, sock, server_lines(bs))
    tunnels = [connect(lb.port) for _ in range(6)]
    admin(sock, "shutdown sessions server be/a")
    for c, ident in tunnels:
        if ident == "a":
            assert c.sees_eof(timeout=3), "a tunnel of a stayed open"
        else:
            assert c.echo("b lives") == "b lives"
    wait_until(lambda: row(show_stat(sock), "be", "a")["tunnels_cur"] == "0", timeout=3,
               what="a's tunnels counted as closed")
    assert row(show_stat(sock), "be", "b")["tunnels_cur"] == "3"
    assert "server be/a: shut down 3 streams" in lb.output()
    # The server itself is still in service.
    assert "a" in ids_of_new_clients(lb.port, 2)
    for c, _ in tunnels:
        c.close()


def test_errors_name_what_is_wrong_and_change_nothing(backends, lbs, tmp_path):
    sock = tmp_path / "admin.sock"
    bs = echo_backends(backends, "a")
    api_lb(lbs, sock, server_lines(bs))
    before = row(show_stat(sock), "be", "a")
    cases = {
        "disable server be/nosuch": "No such server.\n",
        "enable server nosuch/a": "No such backend.\n",
        "disable server be": "Require 'backend/server'.\n",
        "shutdown sessions server be/": "Require 'backend/server'.\n",
        "set weight be/a": "Require <weight> or <weight%>.\n",
        "set weight be/a 257": "Absolute weight can only be between 0 and 256 inclusive.\n",
        "set weight be/a -1": "Absolute weight can only be between 0 and 256 inclusive.\n",
        "set server be/a weight 5x": "Trailing garbage in weight string\n",
        "set server be/a weight heavy": "Empty weight string empty or preceded by garbage\n",
        "set server be/a weight -5%": "Relative weight must be positive.\n",
        "set server be/a state up": "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n",
        "set server be/a maxconn 5": "'set server <srv> maxconn' is not supported by wscale.\n",
        "show sess": "'show sess' is not supported by wscale.\n",
        "get weight be/nosuch": "No such server.\n",
    }
    for command, answer in cases.items():
        assert api(sock, command) == answer + "\n", command
    unknown = api(sock, "frobnicate the servers")
    assert unknown.startswith("Unknown command"), unknown
    assert "show stat" in unknown and unknown.endswith("\n\n")
    after = row(show_stat(sock), "be", "a")
    assert {k: after[k] for k in ("status", "weight")} == {k: before[k] for k in ("status", "weight")}


# --- two workers -------------------------------------------------------------------------

LOG_PID = re.compile(r"lb\[(\d+)\].* fe be/(\S+) ")


def served_by(lb):
    """(worker pid, server) of every request log line so far."""
    return [(int(m.group(1)), m.group(2))
            for m in map(LOG_PID.search, lb.output().splitlines()) if m and "/" in m.group(0)]


def test_with_two_workers_a_change_reaches_both_and_counters_sum_both(backends, lbs, tmp_path):
    sock = tmp_path / "admin.sock"
    bs = echo_backends(backends, "a", "b")
    lb = api_lb(lbs, sock, server_lines(bs), global_="nbthread 2\nlog stdout",
                defaults="log global")
    workers = wait_until(lambda: (lambda w: w if len(w) == 2 else None)(lb.workers()),
                         timeout=5, what="two workers")
    # The fixture's readiness probe connected once; its worker may count it
    # a moment later.
    before = wait_until(lambda: (lambda r: r if r["stot"] == "1" else None)(
        row(show_stat(sock), "fe", "FRONTEND")), timeout=5, what="the probe counted")
    admin(sock, "disable server be/a")
    # Every new connection is a new 4-tuple: the kernel spreads them over
    # both workers' sockets.
    for _ in range(30):
        assert server_id_of_new_client(lb.port) == "b"
    for _ in range(20):
        status, _ = lb.http_get("/healthz")
        assert status == 200
    lines = wait_until(lambda: (lambda s: s if len(s) == 50 else None)(served_by(lb)),
                       timeout=5, what=f"50 log lines\n{lb.output()}")
    per_worker = collections.Counter(pid for pid, _ in lines)
    assert set(per_worker) == set(workers), f"not both workers served: {per_worker}"
    assert {srv for _, srv in lines} == {"b"}

    rows = show_stat(sock)
    fe, b = row(rows, "fe", "FRONTEND"), row(rows, "be", "b")
    grown = {k: int(fe[k]) - int(before[k]) for k in ("stot", "req_tot", "hrsp_1xx", "hrsp_2xx")}
    assert grown == {"stot": 50, "req_tot": 50, "hrsp_1xx": 30, "hrsp_2xx": 20}
    assert (b["stot"], b["tunnels_tot"], b["hrsp_1xx"], b["hrsp_2xx"]) == ("50", "30", "30", "20")
    assert row(rows, "be", "a")["stot"] == "0"
    assert info_fields(api(sock, "show info"))["CumConns"] == fe["stot"]


def worker_of(workers, port, client):
    """The worker holding the lb's end of a client's connection: the inode
    of the socket from /proc/net/tcp, found among the workers' fds."""
    local = f"0100007F:{port:04X}"
    remote = f"0100007F:{client.sock.getsockname()[1]:04X}"
    with open("/proc/net/tcp") as f:
        inodes = [line.split()[9] for line in f if line.split()[1:3] == [local, remote]]
    assert len(inodes) == 1, inodes
    owners = [pid for pid in workers for fd in os.listdir(f"/proc/{pid}/fd")
              if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inodes[0]}]"]
    assert len(owners) == 1, owners
    return owners[0]


def test_with_two_workers_shutdown_sessions_closes_the_tunnels_of_both(backends, lbs, tmp_path):
    sock = tmp_path / "admin.sock"
    bs = echo_backends(backends, "a", "b")
    lb = api_lb(lbs, sock, server_lines(bs), global_="nbthread 2\nlog stdout",
                defaults="log global")
    wait_until(lambda: len(lb.workers()) == 2, timeout=5, what="two workers")
    tunnels = [connect(lb.port) for _ in range(16)]
    workers = lb.workers()
    on_a = {worker_of(workers, lb.port, c) for c, ident in tunnels if ident == "a"}
    assert on_a == set(workers), f"a's tunnels are on {on_a} of {workers}"
    admin(sock, "shutdown sessions server be/a")
    for c, ident in tunnels:
        if ident == "a":
            assert c.sees_eof(timeout=3), "a tunnel of a stayed open"
        else:
            assert c.echo("b lives") == "b lives"
    wait_until(lambda: row(show_stat(sock), "be", "a")["tunnels_cur"] == "0", timeout=3,
               what="a's tunnels counted as closed")
    for c, _ in tunnels:
        c.close()
