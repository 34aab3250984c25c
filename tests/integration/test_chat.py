"""The tutorial's chat, end to end: real Redis, real backends, real clients."""
import asyncio
import signal

import websockets

from procs import Proc, free_port, port_open, wait_until

GREETING = "Connected successfully to server {}"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_greeting_arrives_at_once(chat):
    async def main():
        async with websockets.connect(chat.url) as ws:
            # The tutorial waited 5 s; wscale greets immediately.
            assert await asyncio.wait_for(ws.recv(), 1.0) == GREETING.format("ws1")
    run(main())


def test_messages_cross_between_two_backends(redis, backends):
    ws1 = backends("--id", "ws1", "--redis", redis.url)
    ws2 = backends("--id", "ws2", "--redis", redis.url)

    async def main():
        a = await websockets.connect(ws1.url)
        b = await websockets.connect(ws2.url)
        c = await websockets.connect(ws2.url)
        assert await a.recv() == GREETING.format("ws1")
        assert await b.recv() == GREETING.format("ws2")
        assert await c.recv() == GREETING.format("ws2")
        await a.send("hello from a")
        # Each backend prefixes the id of the backend that delivers.
        assert await a.recv() == "ws1:hello from a"
        assert await b.recv() == "ws2:hello from a"
        assert await c.recv() == "ws2:hello from a"
        await c.send("and back from c")
        assert await a.recv() == "ws1:and back from c"
        assert await b.recv() == "ws2:and back from c"
        assert await c.recv() == "ws2:and back from c"
        for ws in (a, b, c):
            await ws.close()
    run(main())


def test_unicode_text_survives_the_round_trip(chat):
    text = "héllo wörld — 你好 — 🎉"

    async def main():
        async with websockets.connect(chat.url) as ws:
            await ws.recv()
            await ws.send(text)
            assert await ws.recv() == "ws1:" + text
    run(main())


def test_messages_from_other_redis_publishers_are_delivered(redis, chat):
    """Any publisher on the channel reaches wscale clients: a Node backend of the
    tutorial, or redis-cli, can share the channel."""
    async def main():
        async with websockets.connect(chat.url) as ws:
            await ws.recv()
            redis.command("PUBLISH", "livechat", "from elsewhere")
            assert await asyncio.wait_for(ws.recv(), 3) == "ws1:from elsewhere"
    run(main())


def test_non_utf8_channel_messages_are_dropped_not_sent(redis, chat):
    async def main():
        async with websockets.connect(chat.url) as ws:
            await ws.recv()
            redis.command("PUBLISH", "livechat", b"\xff\xfe not text")
            redis.command("PUBLISH", "livechat", "valid")
            assert await asyncio.wait_for(ws.recv(), 3) == "ws1:valid"
    run(main())
    assert chat.metrics()["wscale_invalid_bus_messages_total"] == 1


def test_channel_flag_separates_chats(redis, backends):
    a = backends("--id", "a", "--redis", redis.url, "--channel", "room-a")
    b = backends("--id", "b", "--redis", redis.url, "--channel", "room-b")

    async def main():
        wa = await websockets.connect(a.url)
        wb = await websockets.connect(b.url)
        await wa.recv()
        await wb.recv()
        await wa.send("only for room a")
        assert await wa.recv() == "a:only for room a"
        await wb.send("only for room b")
        assert await wb.recv() == "b:only for room b"  # nothing from room a came first
        await wa.close()
        await wb.close()
    run(main())


def test_redis_url_with_password_and_database(tmp_path, backends):
    from procs import Redis
    r = Redis(tmp_path, password="s3cret@pass")
    try:
        url = f"redis://:s3cret%40pass@127.0.0.1:{r.port}/3"
        b = backends("--id", "ws1", "--redis", url)

        async def main():
            async with websockets.connect(b.url) as ws:
                await ws.recv()
                await ws.send("authenticated")
                assert await ws.recv() == "ws1:authenticated"
        run(main())
        assert "s3cret" not in b.output()  # the password is never logged
    finally:
        r.stop()


def test_wrong_redis_password_is_reported_and_unhealthy(tmp_path, backends):
    from procs import Redis
    r = Redis(tmp_path, password="right")
    try:
        b = backends("--redis", f"redis://:wrong@127.0.0.1:{r.port}", wait_healthy=False)
        wait_until(lambda: "AUTH refused" in b.output(), what="AUTH error in the log")
        status, body = b.healthz()
        assert status == 503 and "redis" in body
    finally:
        r.stop()


def test_environment_configures_a_container(tmp_path, redis):
    """The tutorial's container: APPID, PORT, REDIS_HOST, REDIS_PORT."""
    port = free_port()
    env = {"APPID": "4444", "PORT": str(port), "REDIS_HOST": "127.0.0.1",
           "REDIS_PORT": str(redis.port)}
    from procs import WSCALE
    p = Proc([WSCALE, "backend"], str(tmp_path / "env.log"), env=env)
    try:
        wait_until(lambda: port_open(port), what="backend on $PORT")

        async def main():
            async with websockets.connect(f"ws://127.0.0.1:{port}/") as ws:
                assert await ws.recv() == GREETING.format("4444")
                await ws.send("hi")
                assert await ws.recv() == "4444:hi"
        run(main())
    finally:
        assert p.stop(signal.SIGTERM) == 0


def test_flags_win_over_environment(redis, backends):
    b = backends("--id", "from-flag", "--redis", redis.url,
                 env={"APPID": "from-env", "REDIS_URL": "redis://127.0.0.1:1"})

    async def main():
        async with websockets.connect(b.url) as ws:
            assert await ws.recv() == GREETING.format("from-flag")
    run(main())


def test_redis_url_environment_variable(redis, backends):
    b = backends("--id", "ws9", env={"REDIS_URL": redis.url})

    async def main():
        async with websockets.connect(b.url) as ws:
            await ws.recv()
            await ws.send("via REDIS_URL")
            assert await ws.recv() == "ws9:via REDIS_URL"
    run(main())
