"""Protocol wscale.chat.v1 end to end: negotiation, rooms, history in Redis
streams, recovery after a lost connection, presence, rate and error limits.

Real redis-server, real backends (two where the point is crossing them),
python3-websockets clients speaking the protocol (chatv1.py). Redis itself
is inspected with redis-cli.
"""
import asyncio
import json
import signal
import time

import pytest
import websockets

from chatv1 import PROTOCOL, Chat, matches, msg_id, redis_json, run, strictly_increasing
from procs import free_port
from test_lb_tunnel import lb_config
from wsraw import OP_TEXT, RawWS

GREETING = "Connected successfully to server {}"
# For tests whose clients send faster than the default 20 frames a second.
FAST = ("--rate-limit", "1000")


async def eventually(predicate, timeout=5.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        await asyncio.sleep(0.02)


def pair(redis, backends, *args):
    """Two chat backends ws1 and ws2 on the same Redis."""
    return [backends("--id", f"ws{i}", "--redis", redis.url, *args) for i in (1, 2)]


def replay(frames):
    """Splits the frames that answer a join with since: (joined, the msgs
    replayed, recovered). Presence frames may come between; nothing else."""
    ops = [f for f in frames if f["op"] != "presence"]
    assert ops and ops[0]["op"] == "joined", f"joined does not come first: {ops[:3]}"
    ends = [i for i, f in enumerate(ops) if f["op"] == "recovered"]
    assert len(ends) == 1, f"expected one recovered, got {len(ends)}: {ops[-3:]}"
    msgs = ops[1:ends[0]]
    assert all(f["op"] == "msg" for f in msgs), [f for f in msgs if f["op"] != "msg"][:3]
    return ops[0], msgs, ops[ends[0]]


def check_msg(frame, room, nick, text, node):
    assert matches(frame, {"op": "msg", "room": room, "nick": nick, "text": text, "node": node}), frame
    msg_id(frame["id"])
    assert type(frame["ts"]) is int and abs(frame["ts"] - time.time() * 1000) < 60_000, frame


# --- negotiation --------------------------------------------------------------

@pytest.mark.parametrize("offered", [[PROTOCOL], ["x.other", PROTOCOL]])
def test_v1_is_chosen_by_subprotocol_and_hello_comes_first(chat, offered):
    async def main():
        c = await Chat.connect(chat.url, subprotocols=offered)
        assert c.ws.subprotocol == PROTOCOL
        assert c.ws.response_headers.get_all("Sec-WebSocket-Protocol") == [PROTOCOL]
        assert c.hello == {"op": "hello", "node": "ws1", "protocol": PROTOCOL}
        await c.close()
    run(main())


@pytest.mark.parametrize("offered", [None, ["x.other"]])
def test_without_v1_the_tutorial_protocol_answers_and_no_header(chat, offered):
    async def main():
        async with websockets.connect(chat.url, subprotocols=offered) as ws:
            assert "Sec-WebSocket-Protocol" not in ws.response_headers
            assert await asyncio.wait_for(ws.recv(), 3) == GREETING.format("ws1")
            await ws.send("plain text")
            assert await asyncio.wait_for(ws.recv(), 3) == "ws1:plain text"
    run(main())


def test_echo_backend_does_not_choose_v1(echo):
    async def main():
        async with websockets.connect(echo.url, subprotocols=[PROTOCOL]) as ws:
            assert "Sec-WebSocket-Protocol" not in ws.response_headers
            assert await asyncio.wait_for(ws.recv(), 3) == GREETING.format("echo")
            await ws.send("ping")
            assert await asyncio.wait_for(ws.recv(), 3) == "ping"
    run(main())


def test_lb_passes_the_subprotocol_both_ways(chat, lbs):
    lb = lbs(lb_config([f"server s1 127.0.0.1:{chat.port}"]))

    async def main():
        c = await Chat.connect(lb.url)
        assert c.ws.subprotocol == PROTOCOL
        assert c.hello == {"op": "hello", "node": "ws1", "protocol": PROTOCOL}
        await c.join("lobby", "ann")
        ack = await c.say("lobby", "through the lb", ref="r1")
        assert (await c.expect(op="msg", text="through the lb"))["id"] == ack["id"]
        await c.close()
        async with websockets.connect(lb.url) as ws:
            assert "Sec-WebSocket-Protocol" not in ws.response_headers
            assert await asyncio.wait_for(ws.recv(), 3) == GREETING.format("ws1")
    run(main())


def test_tutorial_clients_and_v1_clients_share_a_backend(chat):
    async def main():
        t1 = await websockets.connect(chat.url)
        t2 = await websockets.connect(chat.url)
        for t in (t1, t2):
            assert await asyncio.wait_for(t.recv(), 3) == GREETING.format("ws1")
        v = await Chat.connect(chat.url)
        await v.join("lobby", "ann")
        await v.say("lobby", "v1 words", ref=1)
        await t1.send("tutorial words")
        # Had the v1 message reached the tutorial channel, it would come first.
        for t in (t1, t2):
            assert await asyncio.wait_for(t.recv(), 3) == "ws1:tutorial words"
        await v.say("lobby", "more v1 words", ref=2)
        await t2.send("and back")
        for t in (t1, t2):
            assert await asyncio.wait_for(t.recv(), 3) == "ws1:and back"
        await v.expect(op="msg", text="more v1 words")
        assert [f["text"] for f in v.frames if f["op"] == "msg"] == ["v1 words", "more v1 words"]
        for ws in (t1, t2, v):
            await ws.close()
    run(main())


# --- rooms --------------------------------------------------------------------

def test_rooms_are_isolated_across_backends(redis, backends):
    ws1, ws2 = pair(redis, backends)

    async def main():
        a1, a2 = await Chat.connect(ws1.url), await Chat.connect(ws2.url)
        b1, b2 = await Chat.connect(ws1.url), await Chat.connect(ws2.url)
        for c, room, nick in ((a1, "a", "a1"), (a2, "a", "a2"), (b1, "b", "b1"), (b2, "b", "b2")):
            await c.join(room, nick)
        ack = await a1.say("a", "for a", ref=1)
        for c in (a1, a2):
            check_msg(await c.expect(op="msg", text="for a"), "a", "a1", "for a", "ws1")
        await b2.say("b", "for b", ref=2)
        await a2.say("a", "for a again", ref=3)
        for c in (b1, b2):
            m = await c.expect(op="msg", text="for b")
            check_msg(m, "b", "b2", "for b", "ws2")
        for c in (a1, a2):
            m = await c.expect(op="msg", text="for a again")
            assert msg_id(m["id"]) > msg_id(ack["id"])
        # The messages of the other room were published first: had they
        # leaked, they would be here already.
        for c, room in ((a1, "a"), (a2, "a"), (b1, "b"), (b2, "b")):
            assert all(f["room"] == room for f in c.frames if "room" in f), c.frames
        for c in (a1, a2, b1, b2):
            await c.close()
    run(main())


def test_backends_subscribe_only_to_rooms_they_have_members_in(redis, backends):
    ws1, ws2 = pair(redis, backends)
    channel = "wscale:room:x"

    async def numsub_is(n):
        await eventually(lambda: redis.numsub(channel) == n, what=f"NUMSUB {channel} == {n}")

    async def main():
        c1, c2, c3 = (await Chat.connect(ws1.url), await Chat.connect(ws1.url),
                      await Chat.connect(ws2.url))
        assert redis.numsub(channel) == 0
        await c1.join("x", "c1")
        await numsub_is(1)
        await c2.join("x", "c2")
        await c3.join("x", "c3")
        await numsub_is(2)
        await c3.leave("x")
        await numsub_is(1)
        # c1 goes away without a close handshake; c2 still keeps ws1 in x.
        c1.ws.transport.abort()
        await c2.expect(op="presence", event="leave", nick="c1")
        assert redis.numsub(channel) == 1
        await c2.close()
        await numsub_is(0)
        assert redis.numsub("wscale:room:never") == 0
        await c3.close()
    run(main())


# --- messages stored in Redis -------------------------------------------------

def test_acked_message_is_in_the_stream_with_the_id_every_member_gets(redis, backends):
    ws1, ws2 = pair(redis, backends)

    async def main():
        a, b = await Chat.connect(ws1.url), await Chat.connect(ws2.url)
        await a.join("store", "ann")
        await b.join("store", "bob")
        ids = []
        for i in range(5):
            text = f"stored {i} — ünïcode"
            ack = await a.say("store", text, ref=f"s{i}")
            assert set(ack) == {"op", "ref", "id"}, ack
            entries = redis_json(redis, "XRANGE", "wscale:history:store", ack["id"], ack["id"])
            assert len(entries) == 1, entries
            entry_id, fields = entries[0]
            fields = dict(zip(fields[::2], fields[1::2]))
            assert entry_id == ack["id"]
            assert fields["nick"] == "ann" and fields["text"] == text and fields["node"] == "ws1"
            for c in (a, b):
                m = await c.expect(op="msg", text=text)
                check_msg(m, "store", "ann", text, "ws1")
                assert m["id"] == ack["id"] and str(m["ts"]) == fields["ts"]
            ids.append(ack["id"])
        assert strictly_increasing(ids), ids
        await a.close()
        await b.close()
    run(main())


def test_joined_last_is_the_newest_id_and_live_messages_come_after_it(chat):
    async def main():
        a = await Chat.connect(chat.url)
        assert (await a.join("fresh", "ann"))["last"] == "0-0"
        ids = [(await a.say("fresh", f"m{i}", ref=i))["id"] for i in range(3)]
        b = await Chat.connect(chat.url)
        joined = await b.join("fresh", "bob")
        assert joined["last"] == ids[-1]
        ack = await a.say("fresh", "live", ref=9)
        m = await b.expect(op="msg", text="live")
        assert m["id"] == ack["id"] and msg_id(m["id"]) > msg_id(joined["last"])
        assert [f["text"] for f in b.frames if f["op"] == "msg"] == ["live"]
        await a.close()
        await b.close()
    run(main())


def test_history_pages_backwards_oldest_first(chat):
    async def main():
        w = await Chat.connect(chat.url)
        await w.join("hist", "ann")
        ids = [(await w.say("hist", f"m{i}", ref=i))["id"] for i in range(7)]
        r = await Chat.connect(chat.url)  # history needs no join

        async def page(**fields):
            h = await r.history("hist", **fields)
            for m in h["messages"]:
                check_msg(m, "hist", "ann", m["text"], "ws1")
            return [m["id"] for m in h["messages"]], [m["text"] for m in h["messages"]], h["more"]

        assert await page() == (ids, [f"m{i}" for i in range(7)], False)
        assert await page(limit=3) == (ids[4:], ["m4", "m5", "m6"], True)
        assert await page(before=ids[4], limit=3) == (ids[1:4], ["m1", "m2", "m3"], True)
        assert await page(before=ids[1], limit=3) == (ids[:1], ["m0"], False)
        assert await page(before=ids[0]) == ([], [], False)
        assert await page(before="0-0") == ([], [], False)
        assert await page(limit=7) == (ids, [f"m{i}" for i in range(7)], False)
        empty = await r.history("nothing-here")
        assert empty["messages"] == [] and empty["more"] is False
        await w.close()
        await r.close()
    run(main())


# --- recovery -----------------------------------------------------------------

async def kill_backend_of(client, backend):
    backend.stop(signal.SIGKILL)
    code = await client.expect_close()
    assert code == 1006, code


def test_rejoin_after_backend_killed_replays_exactly_what_was_missed(redis, backends):
    ws1, ws2 = pair(redis, backends, *FAST)

    async def main():
        a = await Chat.connect(ws1.url)
        await a.join("lobby", "ann")
        b = await Chat.connect(ws2.url)
        await b.join("lobby", "bob")
        await b.say("lobby", "seen", ref=0)
        last = (await a.expect(op="msg", text="seen"))["id"]
        await kill_backend_of(a, ws1)

        ids = [(await b.say("lobby", f"m{i}", ref=i + 1))["id"] for i in range(200)]
        assert strictly_increasing([last] + ids)
        a = await Chat.connect(ws2.url)
        await a.send("join", room="lobby", nick="ann", since=last)
        await a.expect(op="recovered", room="lobby", timeout=10)
        joined, msgs, recovered = replay(a.frames[1:])
        assert joined["last"] == ids[-1]
        assert [(m["id"], m["text"]) for m in msgs] == [(ids[i], f"m{i}") for i in range(200)]
        for m in msgs:
            check_msg(m, "lobby", "bob", m["text"], "ws2")
        assert matches(recovered, {"room": "lobby", "count": 200, "complete": True}), recovered

        ack = await b.say("lobby", "after", ref="after")
        assert (await a.expect(op="msg", text="after"))["id"] == ack["id"]
        after = a.frames[a.frames.index(recovered) + 1:]
        assert [f["text"] for f in after if f["op"] == "msg"] == ["after"]
        await a.close()
        await b.close()
    run(main(), timeout=45)


def test_rejoin_while_messages_keep_coming_has_no_gap_and_no_duplicate(redis, backends):
    ws1, ws2 = pair(redis, backends, *FAST)
    n = 300

    async def main():
        a = await Chat.connect(ws1.url)
        await a.join("lobby", "ann")
        b = await Chat.connect(ws2.url)
        await b.join("lobby", "bob")
        await b.say("lobby", "seen", ref=0)
        last = (await a.expect(op="msg", text="seen"))["id"]
        await kill_backend_of(a, ws1)

        said, joining = asyncio.Event(), asyncio.Event()

        async def send_all():
            acks = []
            for i in range(n):
                acks.append((await b.say("lobby", f"m{i}", ref=i + 1))["id"])
                if i == 50:
                    said.set()
                    await asyncio.wait_for(joining.wait(), 10)
                if i >= 50:
                    await asyncio.sleep(0.002)  # the join lands while messages flow
            return acks

        sender = asyncio.create_task(send_all())
        await asyncio.wait_for(said.wait(), 20)
        a = await Chat.connect(ws2.url)
        await a.send("join", room="lobby", nick="ann", since=last)
        joining.set()
        ids = await sender
        await a.expect(op="msg", text=f"m{n - 1}", timeout=10)

        frames = [f for f in a.frames[1:] if f["op"] != "presence"]
        assert frames[0]["op"] == "joined", frames[:2]
        assert frames[0]["last"] in [last] + ids
        rest = frames[1:]
        ends = [i for i, f in enumerate(rest) if f["op"] == "recovered"]
        assert len(ends) == 1, f"recovered {len(ends)} times"
        assert matches(rest[ends[0]], {"room": "lobby", "count": ends[0], "complete": True}), rest[ends[0]]
        # Replayed: at least m0..m50, said before the join; live: some of the rest.
        assert 51 <= ends[0] < n, ends[0]
        msgs = [f for f in rest if f["op"] == "msg"]
        assert len(msgs) == len(rest) - 1, [f for f in rest if f["op"] not in ("msg", "recovered")]
        got = [(m["id"], m["text"]) for m in msgs]
        want = [(ids[i], f"m{i}") for i in range(n)]
        assert got == want, first_difference(got, want)
        await a.close()
        await b.close()
    run(main(), timeout=50)


def first_difference(got, want):
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            return f"at {i}: got {got[max(0, i - 2):i + 3]}, want {want[max(0, i - 2):i + 3]}"
    return f"got {len(got)} messages, want {len(want)}"


async def capped_room(url):
    """Room "capped" on a backend with --history 10: cat joins it new and
    leaves, then dan says m0..m25. Returns (cat, the last id cat was
    told, the ids of m0..m25)."""
    cat = await Chat.connect(url)
    last = (await cat.join("capped", "cat"))["last"]
    await cat.leave("capped")
    d = await Chat.connect(url)
    await d.join("capped", "dan")
    ids = [(await d.say("capped", f"m{i}", ref=i))["id"] for i in range(26)]
    await d.close()
    return cat, last, ids


async def rejoin(c, room, nick, since):
    """Joins with since; returns (joined, msgs replayed, recovered)."""
    mark = len(c.frames)
    await c.send("join", room=room, nick=nick, since=since)
    await c.expect(op="recovered", room=room)
    return replay(c.frames[mark:])


@pytest.mark.parametrize("since", ["last seen: 0-0", "m0, trimmed away"])
def test_since_beyond_the_history_cap_recovers_the_newest_incompletely(redis, backends, since):
    b = backends("--id", "ws1", "--redis", redis.url, "--history", "10", *FAST)

    async def main():
        cat, last, ids = await capped_room(b.url)
        assert last == "0-0"
        assert redis_json(redis, "XLEN", "wscale:history:capped") == 10
        _, msgs, recovered = await rejoin(cat, "capped", "cat", last if "0-0" in since else ids[0])
        assert [(m["id"], m["text"]) for m in msgs] == [(ids[i], f"m{i}") for i in range(16, 26)]
        assert matches(recovered, {"count": 10, "complete": False}), recovered
        await cat.close()
    run(main())


def test_since_still_inside_the_capped_history_recovers_completely(redis, backends):
    b = backends("--id", "ws1", "--redis", redis.url, "--history", "10", *FAST)

    async def main():
        cat, _, ids = await capped_room(b.url)
        _, msgs, recovered = await rejoin(cat, "capped", "cat", ids[16])  # the oldest kept
        assert [(m["id"], m["text"]) for m in msgs] == [(ids[i], f"m{i}") for i in range(17, 26)]
        assert matches(recovered, {"count": 9, "complete": True}), recovered
        await cat.close()
    run(main())


def test_since_0_0_of_a_new_room_recovers_all_its_messages(chat):
    async def main():
        ann, bob = await Chat.connect(chat.url), await Chat.connect(chat.url)
        last = (await ann.join("brandnew", "ann"))["last"]
        assert last == "0-0"
        await ann.close()  # gone before anything was said
        await bob.join("brandnew", "bob")
        ids = [(await bob.say("brandnew", f"m{i}", ref=i))["id"] for i in range(3)]
        ann = await Chat.connect(chat.url)
        _, msgs, recovered = await rejoin(ann, "brandnew", "ann", last)
        assert [(m["id"], m["text"]) for m in msgs] == [(ids[i], f"m{i}") for i in range(3)]
        assert matches(recovered, {"count": 3, "complete": True}), recovered
        await ann.close()
        await bob.close()
    run(main())


# --- presence -----------------------------------------------------------------

def test_presence_across_backends(redis, backends):
    ws1, ws2 = pair(redis, backends)

    async def main():
        ann, bob = await Chat.connect(ws1.url), await Chat.connect(ws2.url)
        assert (await ann.join("lobby", "ann"))["members"] == ["ann"]
        assert (await bob.join("lobby", "bob"))["members"] == ["ann", "bob"]
        await ann.expect(op="presence", room="lobby", event="join", nick="bob")
        assert await ann.who("lobby") == ["ann", "bob"]
        assert await bob.who("lobby") == ["ann", "bob"]
        await bob.leave("lobby")
        await ann.expect(op="presence", room="lobby", event="leave", nick="bob")
        assert await ann.who("lobby") == ["ann"]
        await ann.close()
        await bob.close()
    run(main())


def test_one_nick_on_two_connections_is_one_member(redis, backends):
    ws1, ws2 = pair(redis, backends)

    async def main():
        zed = await Chat.connect(ws1.url)
        await zed.join("dup", "zed")
        c1, c2 = await Chat.connect(ws1.url), await Chat.connect(ws2.url)
        await c1.join("dup", "cat")
        await zed.expect(op="presence", event="join", nick="cat")
        assert (await c2.join("dup", "cat"))["members"] == ["cat", "zed"]
        assert await zed.who("dup") == ["cat", "zed"]
        await c1.leave("dup")
        assert await zed.who("dup") == ["cat", "zed"]
        await c2.close()
        await zed.expect(op="presence", event="leave", nick="cat")
        assert await zed.who("dup") == ["zed"]
        await zed.say("dup", "sync", ref=1)
        await zed.expect(op="msg", text="sync")
        cats = [(f["event"]) for f in zed.frames if f["op"] == "presence" and f["nick"] == "cat"]
        assert cats == ["join", "leave"], cats
        await c1.close()
        await zed.close()
    run(main())


def test_members_of_a_killed_backend_leave_within_the_ttl(redis, backends):
    ws1, ws2 = pair(redis, backends, "--presence-ttl", "2s")

    async def main():
        ann, bob = await Chat.connect(ws1.url), await Chat.connect(ws2.url)
        await ann.join("lobby", "ann")
        await bob.join("lobby", "bob")
        await ann.expect(op="presence", event="join", nick="bob")
        ws2.stop(signal.SIGKILL)
        # ttl 2 s + a refresh period of ttl/3, and a margin for slow builds.
        await ann.expect(op="presence", event="leave", nick="bob", timeout=8)
        assert await ann.who("lobby") == ["ann"]
        await ann.close()
    run(main())


# --- limits and errors --------------------------------------------------------

def test_a_burst_over_the_rate_limit_is_refused_and_closed(redis, backends):
    b = backends("--id", "ws1", "--redis", redis.url, "--rate-limit", "5")

    async def main():
        c = await Chat.connect(b.url)
        try:
            for i in range(20):
                await c.send("who", room="lobby", ref=i)
        except websockets.ConnectionClosed:
            pass  # closed while the burst was still going out
        assert await c.expect_close() == 1008
        errors = [f for f in c.frames if f["op"] == "error"]
        assert len(errors) == 1 and errors[0]["code"] == "rate_limited", errors
        # A burst of 5 is allowed: the refused frame is a later one.
        assert type(errors[0].get("ref")) is int and 5 <= errors[0]["ref"] < 20, errors[0]
    run(main())


def test_a_client_within_the_rate_limit_is_never_limited(redis, backends):
    b = backends("--id", "ws1", "--redis", redis.url, "--rate-limit", "5")

    async def main():
        c = await Chat.connect(b.url)
        for i in range(7):  # 2 per second for 3 s: more than one burst
            await c.send("who", room="lobby", ref=i)
            await c.expect(op="who", room="lobby")
            await asyncio.sleep(0.5)
        assert await c.is_open()
        await c.close()
    run(main())


LONG_ROOM = "r" * 65
ERROR_CASES = [
    # (request, code, ref echoed). Every connection has joined room "r" first.
    ("not json", "bad_json", None),
    ("", "bad_json", None),
    ("[1, 2]", "bad_json", None),
    ('"who"', "bad_json", None),
    ("null", "bad_json", None),
    ('{"op": "who", "room": "r"', "bad_json", None),
    ({"room": "r", "ref": 1}, "unknown_op", 1),
    ({"op": 7, "ref": 2}, "unknown_op", 2),
    ({"op": "shout", "ref": "s3"}, "unknown_op", "s3"),
    ({"op": "Join", "room": "q", "nick": "n", "ref": 4}, "unknown_op", 4),
    ({"op": "join", "nick": "n", "ref": 10}, "missing_field", 10),
    ({"op": "join", "room": "q", "ref": 11}, "missing_field", 11),
    ({"op": "say", "room": "r", "ref": 12}, "missing_field", 12),
    ({"op": "say", "text": "x", "ref": 13}, "missing_field", 13),
    ({"op": "say", "room": "r", "text": "x"}, "missing_field", None),
    ({"op": "leave", "ref": "l14"}, "missing_field", "l14"),
    ({"op": "history", "ref": 15}, "missing_field", 15),
    ({"op": "who", "ref": 16}, "missing_field", 16),
    ({"op": "history", "room": "r", "limit": 0, "ref": 20}, "bad_field", 20),
    ({"op": "history", "room": "r", "limit": 101, "ref": 21}, "bad_field", 21),
    ({"op": "history", "room": "r", "limit": "5", "ref": 22}, "bad_field", 22),
    ({"op": "history", "room": "r", "limit": 2.5, "ref": 23}, "bad_field", 23),
    ({"op": "history", "room": "r", "before": "yesterday", "ref": 24}, "bad_field", 24),
    ({"op": "join", "room": "q", "nick": "n", "since": "abc", "ref": 25}, "bad_field", 25),
    ({"op": "join", "room": "q", "nick": "n", "since": "1-2-3", "ref": 26}, "bad_field", 26),
    ({"op": "join", "room": "q", "nick": "n", "since": 12345, "ref": 27}, "bad_field", 27),
    ({"op": "who", "room": 5, "ref": 28}, "bad_field", 28),
    ({"op": "join", "room": "q", "nick": ["n"], "ref": 29}, "bad_field", 29),
    ({"op": "say", "room": "r", "text": 7, "ref": 30}, "bad_field", 30),
    ({"op": "who", "room": "r", "ref": 1.5}, "bad_field", None),
    ({"op": "who", "room": "r", "ref": {"a": 1}}, "bad_field", None),
    ({"op": "who", "room": "r", "ref": True}, "bad_field", None),
    ({"op": "join", "room": LONG_ROOM, "nick": "n", "ref": 40}, "too_long", 40),
    ({"op": "who", "room": LONG_ROOM, "ref": 41}, "too_long", 41),
    ({"op": "join", "room": "q", "nick": "n" * 33, "ref": 42}, "too_long", 42),
    ({"op": "join", "room": "q", "nick": "é" * 17, "ref": 43}, "too_long", 43),  # 34 bytes
    ({"op": "say", "room": "r", "text": "x" * 4097, "ref": 44}, "too_long", 44),
    ({"op": "say", "room": "r", "text": "é" * 2049, "ref": 45}, "too_long", 45),  # 4098 bytes
    # A frame over 16 KiB is refused before it is parsed: no ref to echo.
    ({"op": "say", "room": "r", "text": "x" * 20000, "ref": 46}, "too_long", None),
    ({"op": "who", "room": "r", "ref": "f" * 65}, "too_long", None),
    ({"op": "join", "room": "", "nick": "n", "ref": 50}, "bad_name", 50),
    ({"op": "join", "room": "a b", "nick": "n", "ref": 51}, "bad_name", 51),
    ({"op": "join", "room": "a/b", "nick": "n", "ref": 52}, "bad_name", 52),
    ({"op": "join", "room": "café", "nick": "n", "ref": 53}, "bad_name", 53),
    ({"op": "who", "room": "a:b", "ref": 54}, "bad_name", 54),
    ({"op": "join", "room": "q", "nick": "", "ref": 55}, "bad_name", 55),
    ({"op": "join", "room": "q", "nick": "a\u0001b", "ref": 56}, "bad_name", 56),
    ({"op": "join", "room": "q", "nick": "a\u007fb", "ref": 57}, "bad_name", 57),
    ({"op": "join", "room": "q", "nick": "tab\there", "ref": 58}, "bad_name", 58),
    ({"op": "say", "room": "r", "text": "", "ref": 59}, "bad_name", 59),
    ({"op": "say", "room": "other", "text": "x", "ref": 60}, "not_joined", 60),
    ({"op": "leave", "room": "other", "ref": "l61"}, "not_joined", "l61"),
    ({"op": "join", "room": "r", "nick": "n", "ref": 62}, "already_joined", 62),
]


def shorten(request):
    text = repr(request)
    return text if len(text) < 120 else text[:100] + f"... ({len(text)} characters)"


def test_every_error_code_echoes_the_ref_and_keeps_the_connection(redis, backends):
    b = backends("--id", "ws1", "--redis", redis.url)

    async def main():
        wrong = []
        for request, code, ref in ERROR_CASES:
            c = await Chat.connect(b.url)
            await c.join("r", "n")
            await c.send_text(request if isinstance(request, str) else json.dumps(request))
            answer = await c.wait(lambda f: f["op"] not in ("msg", "presence"), timeout=3,
                                  what=f"the answer to {request!r}")
            ok = (answer["op"] == "error" and answer.get("code") == code
                  and isinstance(answer.get("message"), str) and answer["message"]
                  and (ref is None or matches(answer, {"ref": ref})))
            if ok:
                # An ordinary error leaves the connection up and working.
                ok = await c.who("r") == ["n"]
            if not ok:
                wrong.append(f"{shorten(request)}: want {code} ref={ref!r}, got {answer}")
            await c.close()
        assert not wrong, "\n".join(wrong)
    run(main(), timeout=50)


def test_the_largest_accepted_values(chat):
    room = ("Az09_.-" * 10)[:64]
    nick = "é" * 16  # 32 bytes

    async def main():
        c = await Chat.connect(chat.url)
        assert (await c.join(room, nick))["nick"] == nick
        await c.join("emoji", "🎉" * 8)
        text = "é" * 2048  # 4096 bytes
        ack = await c.say(room, text, ref="f" * 64)
        check_msg(await c.expect(op="msg", text=text), room, nick, text, "ws1")
        assert (await c.say(room, "x", ref=2**40))["id"] != ack["id"]
        for limit in (1, 100):
            assert len((await c.history(room, limit=limit))["messages"]) == min(limit, 2)
        await c.close()
    run(main())


def test_a_seventeenth_room_is_refused(redis, backends):
    b = backends("--id", "ws1", "--redis", redis.url, *FAST)

    async def main():
        c = await Chat.connect(b.url)
        for i in range(16):
            await c.join(f"room{i}", "n")
        await c.send("join", room="room16", nick="n", ref="17th")
        error = await c.expect(op="error", ref="17th")
        assert error["code"] == "too_many_rooms", error
        await c.leave("room0")
        await c.join("room16", "n")
        await c.close()
    run(main())


def test_the_tenth_error_within_a_minute_closes_1008(chat):
    async def main():
        c = await Chat.connect(chat.url)
        for i in range(9):
            await c.send("nope", ref=i)
            assert (await c.expect(op="error", ref=i))["code"] == "unknown_op"
        assert await c.who("lobby") == []
        await c.send("nope", ref=9)
        assert (await c.expect(op="error", ref=9))["code"] == "unknown_op"
        assert await c.expect_close() == 1008
    run(main())


def test_requests_needing_redis_are_unavailable_while_it_is_down(redis, backends):
    b = backends("--id", "ws1", "--redis", redis.url)

    async def main():
        c = await Chat.connect(b.url)
        await c.join("lobby", "ann")
        redis.kill()
        await eventually(lambda: b.healthz()[0] == 503, what="the backend to see Redis gone")
        wrong = []
        for op, fields in (("say", {"room": "lobby", "text": "lost?"}), ("join", {"room": "q", "nick": "n"}),
                           ("history", {"room": "lobby"}), ("who", {"room": "lobby"})):
            await c.send(op, ref=op, **fields)
            answer = await c.wait(lambda f: f["op"] not in ("msg", "presence"), timeout=8,
                                  what=f"the answer to {op}")
            if not matches(answer, {"op": "error", "code": "unavailable", "ref": op}):
                wrong.append(f"{op}: {answer}")
        assert not wrong, wrong
        # unavailable is Redis's fault, not the client's: it is not counted
        # among the 10 errors that close a connection.
        for i in range(10):
            await c.send("history", room="lobby", ref=i)
            assert matches(await c.expect(op="error", ref=i, timeout=8), {"code": "unavailable"})
        assert await c.is_open()

        redis.start()
        await eventually(lambda: b.healthz()[0] == 200, timeout=15, what="the backend back on Redis")
        ack = await c.say("lobby", "back", ref="back")
        assert (await c.expect(op="msg", text="back"))["id"] == ack["id"]
        await c.close()
    run(main(), timeout=45)


def test_backend_without_redis_answers_unavailable(backends):
    b = backends("--id", "ws1", "--redis", f"redis://127.0.0.1:{free_port()}", wait_healthy=False)

    async def main():
        c = await Chat.connect(b.url)
        await c.send("history", room="lobby", ref=1)
        assert matches(await c.expect(op="error", ref=1), {"code": "unavailable"})
        assert await c.is_open()
        await c.close()
    run(main(), timeout=20)


def test_a_binary_frame_closes_1003(chat):
    async def main():
        c = await Chat.connect(chat.url)
        await c.ws.send(b'{"op":"who","room":"lobby"}')
        assert await c.expect_close() == 1003
    run(main())


def test_text_that_is_not_utf8_closes_1007(chat):
    c = RawWS(chat.port, extra_headers=[f"Sec-WebSocket-Protocol: {PROTOCOL}"])
    try:
        assert c.headers.get("sec-websocket-protocol") == PROTOCOL
        assert '"hello"' in c.recv_text()
        c.send(OP_TEXT, b'{"op":"who","room":"\xff"}')
        assert c.recv_close()[0] == 1007
        assert c.expect_tcp_close()
    finally:
        c.close()
