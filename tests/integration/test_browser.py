"""Real headless Chromium (Debian's, driven by playwright-core): the
tutorial's browser client (`new WebSocket(url)` on two backends, chatting),
the demo's chat page (protocol wscale.chat.v1: rooms, history, members,
recovery after a killed backend), and the lb's stats page."""
import json
import os
import subprocess

import pytest

from lbstats import row, show_stat
from procs import free_port, wait_until
from test_lb_tunnel import lb_config

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "browser", "tutorial-chat.mjs")


def test_chromium_pages_on_two_backends_chat_together(redis, backends):
    ws1 = backends("--id", "ws1", "--redis", redis.url)
    ws2 = backends("--id", "ws2", "--redis", redis.url)
    r = subprocess.run(["node", SCRIPT, ws1.url, ws2.url, "ws1", "ws2"],
                       capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ws2:hello from chromium ✓" in r.stdout


DEMO_SCRIPT = os.path.join(os.path.dirname(__file__), "..", "browser", "demo-chat.mjs")


def run_demo_script(demo, script, url, tmp_path):
    """Runs a browser script against the demo (its backends' pids and a
    screenshot directory as arguments): (observations, screenshot dir)."""
    pids = {name: pid for name, pid in demo.children.items() if name.startswith("ws")}
    shots = tmp_path / "screenshots"
    shots.mkdir()
    r = subprocess.run(["node", script, url, json.dumps(pids), str(shots)],
                       capture_output=True, text=True, timeout=150)
    observed = json.loads(r.stdout.strip().splitlines()[-1]) if r.stdout.strip() else {}
    # A backend the demo restarted is its child too: it must go when the
    # demo stops (the fixture checks).
    for line in demo.stderr().splitlines():
        if " restarted as pid " in line:
            name = line.split(" info: ")[1].split()[0]
            demo.children[name + "-restarted"] = int(line.rsplit(" ", 1)[1])
    assert r.returncode == 0, f"{observed}\n{r.stderr}\n{demo.stderr()}"
    return observed, shots


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_demo_chat_page_in_chromium_survives_a_killed_backend(demos, tmp_path, scheme):
    """Two pages of the demo's chat page through the lb: they land on different
    backends and chat in lobby; the backend of page A is killed (SIGKILL):
    page A shows it is reconnecting, comes back by itself, rejoins, and the
    pages chat again. Over https too, with the demo's self-signed certificate
    accepted. Screenshots are kept in the test's temporary directory."""
    demo = demos("--backends", "3")
    url = demo.tls_url if scheme == "https" else demo.url
    observed, shots = run_demo_script(demo, DEMO_SCRIPT, url, tmp_path)

    assert observed["backendA"] != observed["backendB"]
    assert observed["crossMs"] < 1000, "a message takes more than a second to cross"
    # B shows A's message as the protocol says: author, id, accepting node.
    assert observed["line"]["author"] == "ann"
    assert observed["line"]["node"] == observed["backendA"]
    assert "econnect" in observed["reconnectingText"]  # "Reconnecting in ..."
    # Page A is back: on another backend, or on its own one restarted by the
    # demo's supervisor (0.5 s after the kill), which is then a new process.
    victim = observed["backendA"]
    if observed["backendAfter"] == victim:
        assert f"{victim} restarted as pid" in demo.stderr()
    # Page B was never on the killed backend and stayed where it was.
    assert observed["backendBAfter"] == observed["backendB"]
    assert observed["duplicateIds"] == []
    assert observed["textsA"].count("hello from ann") == 1
    assert observed["textsA"][-2:] == ["ann is back", "welcome back, ann"]
    for name in ("a-connected", "b-connected", "a-reconnecting", "a-back", "b-back"):
        assert (shots / f"{name}.png").stat().st_size > 5000, name


ROOMS_SCRIPT = os.path.join(os.path.dirname(__file__), "..", "browser", "rooms-chat.mjs")


def test_chat_page_rooms_history_members_and_recovery_without_duplicates(demos, tmp_path):
    """The demo's chat page in two Chromium pages (ann and bob) on different
    backends. Rooms stay apart: ann's message in dev never reaches bob, who is
    only in lobby, while lobby messages reach both (and count as unread on
    ann's lobby tab while she looks at dev). Bob joining dev afterwards sees
    ann's earlier message from history, with the same id, and both pages list
    ann and bob in dev. Then ann's backend is killed (SIGKILL) while her page
    is offline; bob says 20 numbered messages in lobby, each acknowledged;
    ann's page reconnects and shows each of the 20 exactly once and in order
    after what it had before, with a "20 missed messages recovered" notice,
    no duplicate id in any room of either page, and its member list back.
    A reload of bob's page comes back to his rooms."""
    demo = demos("--backends", "3")
    observed, shots = run_demo_script(demo, ROOMS_SCRIPT, demo.url, tmp_path)

    assert observed["backendA"] != observed["backendB"]
    # 1. Rooms isolation.
    assert observed["roomsB"] == ["lobby"]
    assert observed["devSeenByB"] is False
    assert observed["devA"] == ["ann in dev"]
    assert observed["devLineNode"] == observed["backendA"]
    assert observed["lobbyA"] == observed["lobbyB"] == ["ann in lobby", "bob in lobby"]
    assert observed["unreadLobbyA"] == "1"
    # 2. History on join, members.
    assert observed["devHistoryB"] == ["ann in dev"]
    assert observed["devHistoryIdSame"] is True
    assert observed["devMembers"] == {"a": ["ann", "bob"], "b": ["ann", "bob"]}
    # 3. Recovery without duplicates.
    assert "econnect" in observed["reconnectingText"]
    assert observed["beforeKill"] == ["ann in lobby", "bob in lobby"]
    numbered = [f"missed {i:02d}" for i in range(1, 21)]
    assert observed["missedSeen"] == numbered
    assert observed["lobbyAfter"] == observed["beforeKill"] + numbered
    assert observed["lobbyAfterMarked"] == observed["lobbyAfter"], "nothing was lost"
    assert observed["beforeKillStillOnce"] is True
    assert observed["idsInOrder"] is True
    assert observed["recoveredNotice"] == ["20 missed messages recovered"]
    assert observed["membersAfter"] == ["ann", "bob"]
    assert observed["duplicateIds"] == []
    assert observed["devAfterA"] == ["ann in dev"]
    assert observed["stateLogA"][-1] == "open" and "reconnecting" in observed["stateLogA"]
    # A reload of B comes back to its rooms, the room it showed, its nick.
    assert observed["reloadB"] == {"rooms": ["lobby", "dev"], "title": "#dev", "nick": "bob",
                                   "dev": ["ann in dev"]}
    for name in ("rooms-a", "rooms-b", "history-b", "a-offline", "a-recovered", "b-end"):
        assert (shots / f"{name}.png").stat().st_size > 5000, name


CAPPED_LB = """
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout tunnel 1h
    retries 3
    option redispatch
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    balance roundrobin
    server ws1 127.0.0.1:{p1}
    server ws2 127.0.0.1:{p2}
    server ws3 127.0.0.1:{p3}
"""


def test_chat_page_marks_the_messages_lost_past_the_history_cap(redis, backends, lbs, tmp_path):
    """The same two pages with backends keeping 5 messages per room
    (--history 5) behind an lb: of the 20 messages said while ann's page was
    away, the stream still holds the last 5; her page shows those once and in
    order, after a visible "some messages were lost" divider (the server's
    recovered has complete:false), and counts 5 recovered."""
    started = {f"ws{i}": backends("--id", f"ws{i}", "--redis", redis.url, "--history", "5")
               for i in (1, 2, 3)}
    lb = lbs(CAPPED_LB, p1=started["ws1"].port, p2=started["ws2"].port, p3=started["ws3"].port)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    pids = {name: b.pid for name, b in started.items()}
    r = subprocess.run(["node", ROOMS_SCRIPT, f"http://127.0.0.1:{lb.port}/", json.dumps(pids),
                        str(shots)], capture_output=True, text=True, timeout=150)
    observed = json.loads(r.stdout.strip().splitlines()[-1]) if r.stdout.strip() else {}
    assert r.returncode == 0, f"{observed}\n{r.stderr}\n{lb.output()}"

    kept = [f"missed {i:02d}" for i in range(16, 21)]
    assert observed["beforeKill"] == ["ann in lobby", "bob in lobby"]
    assert observed["missedSeen"] == kept
    assert observed["lobbyAfterMarked"] == observed["beforeKill"] + ["[lost]"] + kept
    assert observed["recoveredNotice"] == ["5 missed messages recovered"]
    assert observed["duplicateIds"] == []
    assert observed["idsInOrder"] is True


STICKY_SCRIPT = os.path.join(os.path.dirname(__file__), "..", "browser", "sticky-chat.mjs")


def test_chromium_returns_to_its_backend_by_the_lbs_cookie(redis, backends, lbs, tmp_path):
    """The backends' chat page through an lb inserting a SRV cookie: the page
    and its WebSocket are on the server the cookie names, reloads and the
    page's own reconnects (its tunnel shut from the runtime API) come back
    there; with that server in maintenance the reconnect moves, the 101's
    Set-Cookie moves the browser's cookie, and it stays there after the old
    server is ready again."""
    ids = ("ws1", "ws2", "ws3")
    servers = [f"server {i} 127.0.0.1:{backends('--id', i, '--redis', redis.url).port} cookie {i}"
               for i in ids]
    sock = tmp_path / "lb.sock"
    lb = lbs("global\n    stats socket {sock} level admin\n"
             "defaults\n    mode http\n    timeout connect 2s\n    timeout client 30s\n"
             "    timeout server 30s\n    timeout tunnel 1h\n"
             "frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\n"
             "backend be\n    balance roundrobin\n    cookie SRV insert indirect nocache\n"
             + "".join(f"    {s}\n" for s in servers), sock=str(sock))
    shots = tmp_path / "screenshots"
    shots.mkdir()
    r = subprocess.run(["node", STICKY_SCRIPT, f"http://127.0.0.1:{lb.port}/", str(sock), str(shots)],
                       capture_output=True, text=True, timeout=120)
    observed = json.loads(r.stdout.strip().splitlines()[-1]) if r.stdout.strip() else {}
    assert r.returncode == 0, f"{observed}\n{r.stderr}\n{lb.output()}"

    first = observed["first"]
    assert f"SRV={first}" in observed["firstCookie"], "the page's own GET set the cookie"
    assert observed["reloads"] == [first] * 5
    assert observed["reconnects"] == [first] * 3
    moved = observed["moved"]
    assert moved in ids and moved != first
    assert f"SRV={moved}" in observed["movedCookie"], "the 101 moved the cookie"
    assert observed["afterReady"] == moved
    for name in ("sticky", "moved"):
        assert (shots / f"{name}.png").stat().st_size > 5000, name


STATS_SCRIPT = os.path.join(os.path.dirname(__file__), "..", "browser", "stats-page.mjs")


def test_stats_page_in_chromium_shows_each_server_row_coloured_by_status(backends, lbs,
                                                                         tmp_path):
    """The lb's stats page with a server UP, one DOWN by its checks and one
    in maintenance: one row per server with its status, each on screen, the
    UP badge green and the DOWN one red in the screenshot (kept in the
    test's temporary directory)."""
    up = backends("--echo", "--id", "up")
    sock = tmp_path / "admin.sock"
    servers = [f"server up 127.0.0.1:{up.port} check inter 100ms",
               f"server down 127.0.0.1:{free_port()} check inter 100ms fall 1",
               f"server off 127.0.0.1:{up.port} disabled"]
    config = lb_config(servers, global_=f"stats socket {sock} level admin") + (
        "listen stats\n    bind 127.0.0.1:{sport}\n    stats uri /stats\n    stats refresh 5s\n")
    sport = free_port()
    lbs(config, sport=sport)
    wait_until(lambda: [row(show_stat(sock), "be", s)["status"] for s in ("up", "down")]
               == ["UP", "DOWN"], timeout=5, what="up UP and down DOWN")

    shot = tmp_path / "stats-page.png"
    r = subprocess.run(["node", STATS_SCRIPT, f"http://127.0.0.1:{sport}/stats;norefresh",
                        str(shot)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    seen = json.loads(r.stdout.strip().splitlines()[-1])

    assert {(x["proxy"], x["server"]): x["status"] for x in seen["rows"]} == {
        ("be", "up"): "UP", ("be", "down"): "DOWN", ("be", "off"): "MAINT"}
    assert shot.stat().st_size > 5000
    assert seen["nonBackground"] > 0.05, "the screenshot is blank"
    for x in seen["rows"]:
        box = x["box"]
        assert box["width"] > 100 and box["height"] > 8, x
        assert box["x"] >= 0 and box["y"] >= 0, x
        assert box["x"] + box["width"] <= seen["width"], x
        assert box["y"] + box["height"] <= seen["height"], x
    color = {x["server"]: x["badgeColor"] for x in seen["rows"]}
    red, green, blue = color["up"]
    assert green > red + 40 and green > blue + 40, f"UP badge not green: {color['up']}"
    red, green, blue = color["down"]
    assert red > green + 80 and red > blue + 80, f"DOWN badge not red: {color['down']}"
