"""wscale.chat.v1 when Redis connections blink, Redis restarts, or a backend
drains: members see every message exactly once, in order, and presence
follows the backends."""
import asyncio
import json
import signal
import time

import websockets

from procs import wait_until

PROTO = ["wscale.chat.v1"]


async def open_member(url, room, nick):
    ws = await websockets.connect(url, subprotocols=PROTO)
    hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert hello["op"] == "hello"
    await ws.send(json.dumps({"op": "join", "room": room, "nick": nick}))
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if frame["op"] == "joined":
            return ws, frame


async def collect(ws, sink, until):
    """Appends every frame to sink until the predicate on sink holds."""
    while not until(sink):
        sink.append(json.loads(await ws.recv()))


def texts(frames):
    return [f["text"] for f in frames if f["op"] == "msg"]


def test_members_never_see_the_subscriber_blink(redis, backends):
    """The backends' subscriber connections are killed three times while 300
    messages flow: each member still receives all of them, exactly once and in
    order (the rooms catch up from the stream once the channel is back)."""
    args = ("--redis", redis.url, "--rate-limit", "10000")
    b1 = backends("--id", "ws1", *args)
    b2 = backends("--id", "ws2", *args)
    n = 300

    async def run():
        ann, _ = await open_member(b1.url, "blink", "ann")
        bob, _ = await open_member(b2.url, "blink", "bob")
        got_ann, got_bob = [], []
        done = lambda frames: len(texts(frames)) >= n  # noqa: E731
        readers = [asyncio.create_task(collect(ann, got_ann, done)),
                   asyncio.create_task(collect(bob, got_bob, done))]
        for i in range(n):
            await bob.send(json.dumps({"op": "say", "room": "blink", "text": str(i), "ref": i}))
            await asyncio.sleep(0.003)
            if i in (60, 150, 240):
                killed = redis.command("CLIENT", "KILL", "TYPE", "pubsub")
                assert killed.startswith(b":") and int(killed[1:]) >= 1, killed
        await asyncio.wait_for(asyncio.gather(*readers), 20)
        await ann.close()
        await bob.close()
        return got_ann, got_bob

    got_ann, got_bob = asyncio.run(run())
    expected = [str(i) for i in range(n)]
    assert texts(got_ann) == expected
    assert texts(got_bob) == expected
    ids = [f["id"] for f in got_ann if f["op"] == "msg"]
    assert len(set(ids)) == n
    assert "subscriber: connection to" in b1.output()  # the blink did happen


def test_sigterm_drain_removes_members_at_once(redis, backends):
    """A backend stopped with SIGTERM says 1001 to its clients and removes them
    from their rooms before it exits: the others see presence leave at once,
    not after --presence-ttl (60 s here)."""
    args = ("--redis", redis.url, "--presence-ttl", "60s")
    b1 = backends("--id", "ws1", *args)
    b2 = backends("--id", "ws2", *args)

    async def run():
        ann, joined = await open_member(b1.url, "lobby", "ann")
        bob, _ = await open_member(b2.url, "lobby", "bob")
        frames = []
        await asyncio.wait_for(collect(ann, frames, lambda f: any(
            x["op"] == "presence" and x["nick"] == "bob" and x["event"] == "join" for x in f)), 5)
        started = time.monotonic()
        b2.proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(collect(ann, frames, lambda f: any(
            x["op"] == "presence" and x["nick"] == "bob" and x["event"] == "leave" for x in f)), 10)
        elapsed = time.monotonic() - started
        try:
            await asyncio.wait_for(bob.recv(), 5)
        except websockets.ConnectionClosed as e:
            assert e.rcvd.code == 1001
        await ann.send(json.dumps({"op": "who", "room": "lobby"}))
        await asyncio.wait_for(collect(ann, frames, lambda f: f[-1]["op"] == "who"), 5)
        await ann.close()
        return elapsed, frames[-1]

    elapsed, who = asyncio.run(run())
    assert elapsed < 10
    assert who["members"] == ["ann"]
    assert b2.proc.wait(10) == 0


def test_redis_restart_reloads_scripts_and_rooms(redis, backends):
    """Redis restarts empty (no persistence: its scripts and streams are gone).
    After the backend reconnects, say works again (the scripts are loaded
    anew) and a member that stayed connected receives live messages again
    (the room's channel is subscribed again)."""
    b1 = backends("--id", "ws1", "--redis", redis.url)

    async def run():
        ann, _ = await open_member(b1.url, "lobby", "ann")
        bob, _ = await open_member(b1.url, "lobby", "bob")
        redis.kill()
        redis.start()
        await asyncio.to_thread(wait_until, lambda: redis.numsub("wscale:room:lobby") == 1, 15,
                                0.05, "the room's channel subscribed again")
        await asyncio.to_thread(wait_until, lambda: b1.healthz()[0] == 200, 15, 0.05, "healthy")
        frames = []
        await bob.send(json.dumps({"op": "say", "room": "lobby", "text": "back", "ref": "r1"}))
        bob_frames = []
        await asyncio.wait_for(collect(bob, bob_frames, lambda f: any(
            x["op"] in ("ack", "error") for x in f)), 10)
        await asyncio.wait_for(collect(ann, frames, lambda f: "back" in texts(f)), 10)
        await ann.close()
        await bob.close()
        return bob_frames, frames

    bob_frames, ann_frames = asyncio.run(run())
    answer = [f for f in bob_frames if f["op"] in ("ack", "error")][0]
    assert answer["op"] == "ack" and answer["ref"] == "r1", answer
    assert texts(ann_frames) == ["back"]
