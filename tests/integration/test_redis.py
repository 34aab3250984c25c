"""Redis faults: a backend survives Redis dying, and clients lose nothing."""
import asyncio

import websockets

from procs import Redis, free_port, wait_until


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def first_occurrences(seq):
    seen, out = set(), []
    for x in seq:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


def test_redis_killed_and_restarted_while_clients_send_loses_nothing(redis, backends):
    """Two backends, a sender on each, sending while Redis is SIGKILLed and
    restarted: every receiver gets every message of every sender, in order.
    (Delivery is at least once: a message Redis took just before it died may
    arrive twice, so order is checked on first occurrences.)"""
    ws1 = backends("--id", "ws1", "--redis", redis.url)
    ws2 = backends("--id", "ws2", "--redis", redis.url)
    n = 300

    async def main():
        # Senders get every message too and never read them: unbounded queues
        # keep python-websockets reading, so their close handshakes complete.
        senders = {"A": await websockets.connect(ws1.url, max_queue=None),
                   "B": await websockets.connect(ws2.url, max_queue=None)}
        receivers = [await websockets.connect(ws1.url), await websockets.connect(ws2.url)]
        for ws in list(senders.values()) + receivers:
            await ws.recv()  # greeting

        async def send_all(name, ws):
            for i in range(n):
                await ws.send(f"{name}:{i}")
                await asyncio.sleep(0.01)
                if name == "A" and i == 80:
                    redis.kill()
                if name == "A" and i == 160:
                    redis.start()

        async def receive_all(ws):
            got = {"A": [], "B": []}
            while len(first_occurrences(got["A"])) < n or len(first_occurrences(got["B"])) < n:
                text = await ws.recv()
                _, sender, i = text.split(":")
                got[sender].append(int(i))
            return got

        recv_tasks = [asyncio.create_task(receive_all(ws)) for ws in receivers]
        await asyncio.gather(*(send_all(k, ws) for k, ws in senders.items()))
        results = await asyncio.wait_for(asyncio.gather(*recv_tasks), 30)
        for got in results:
            for sender in ("A", "B"):
                assert first_occurrences(got[sender]) == list(range(n)), sender
        for ws in list(senders.values()) + receivers:
            await ws.close()

    run(main())
    for b in (ws1, ws2):
        m = b.metrics()
        assert m['wscale_redis_reconnects_total{connection="publisher"}'] >= 1
        assert m['wscale_redis_reconnects_total{connection="subscriber"}'] >= 1
        assert b.healthz()[0] == 200


def test_backend_started_before_redis_connects_when_it_arrives(tmp_path, backends):
    port = free_port()
    b = backends("--id", "early", "--redis", f"redis://127.0.0.1:{port}", wait_healthy=False)
    assert b.healthz()[0] == 503

    class Late(Redis):
        def __init__(self):
            self.port, self.tmp_path, self.password, self.proc = port, tmp_path, None, None
            self.start()

    r = Late()
    try:
        wait_until(lambda: b.healthz()[0] == 200, timeout=10, what="healthz 200 after Redis came up")

        async def main():
            async with websockets.connect(b.url) as ws:
                await ws.recv()
                await ws.send("late but here")
                assert await ws.recv() == "early:late but here"
        run(main())
    finally:
        r.stop()


def test_full_publish_queue_closes_the_sender_with_1013(redis, backends):
    b = backends("--id", "ws1", "--redis", redis.url, "--max-message", "512",
                 "--publish-queue", "1k")
    redis.kill()
    wait_until(lambda: b.healthz()[0] == 503, what="healthz 503 once Redis is gone")

    async def main():
        ws = await websockets.connect(b.url)
        await ws.recv()
        await ws.send("x" * 400)
        await ws.send("y" * 400)   # 800 bytes queued: fits in 1k
        await ws.send("z" * 400)   # 1200 bytes: refused
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        except websockets.ConnectionClosed as e:
            assert e.rcvd.code == 1013
    run(main())
    assert b.metrics()["wscale_publish_queue_full_closes_total"] == 1


def test_messages_queued_while_redis_is_down_are_published_when_it_returns(redis, backends):
    b = backends("--id", "ws1", "--redis", redis.url)

    async def main():
        ws = await websockets.connect(b.url)
        await ws.recv()
        redis.kill()
        wait_until(lambda: b.healthz()[0] == 503, what="healthz 503")
        for i in range(5):
            await ws.send(f"queued {i}")
        assert b.metrics()['wscale_publish_queue_messages{state="waiting"}'] == 5
        redis.start()
        for i in range(5):
            assert await asyncio.wait_for(ws.recv(), 10) == f"ws1:queued {i}"
        await ws.close()
    run(main())
