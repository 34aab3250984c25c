"""A client of the protocol wscale.chat.v1 for the integration tests.

Chat wraps one python3-websockets connection opened with the subprotocol.
Every frame the server sends is parsed (one JSON object with "op") and kept
in arrival order in .frames; expect() returns the first frame not yet taken
that matches, waiting with a timeout, and leaves the others for later, so a
test can wait for an ack and a msg that may come in either order.

redis_json() asks Redis through redis-cli (from the redis-tools package
installed with redis-server) and returns its reply decoded from JSON.
"""
import asyncio
import json
import subprocess
import time

import websockets

PROTOCOL = "wscale.chat.v1"


class Closed(AssertionError):
    """The connection closed while a frame was awaited."""


def msg_id(text):
    """A message id "<ms>-<seq>" as a tuple that compares like the ids."""
    ms, seq = text.split("-")
    return int(ms), int(seq)


def strictly_increasing(ids):
    keys = [msg_id(i) for i in ids]
    return all(a < b for a, b in zip(keys, keys[1:]))


def redis_json(redis, *args):
    """One Redis command through `redis-cli --json`; the decoded reply."""
    out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(redis.port), "--json",
                          *[str(a) for a in args]],
                         capture_output=True, text=True, timeout=5, check=True)
    return json.loads(out.stdout)


def matches(frame, pattern):
    return all(k in frame and frame[k] == v and type(frame[k]) is type(v)
               for k, v in pattern.items())


def run(coro, timeout=30):
    """Runs a test's coroutine within timeout. Connections it left open (a
    failed assertion) are aborted, not closed politely: a failing test
    ends at once."""
    try:
        return asyncio.run(asyncio.wait_for(_aborting(coro), timeout))
    finally:
        Chat.opened.clear()


async def _aborting(coro):
    try:
        return await coro
    finally:
        for chat in Chat.opened:
            chat.ws.transport.abort()


class Chat:
    """One v1 connection. .hello is the server's first frame."""

    opened = []  # every Chat connected during run(), for its clean-up

    def __init__(self, ws):
        self.ws = ws
        self.frames = []    # every frame received, in order
        self.unread = []    # frames received that expect() has not returned
        self.hello = None

    @classmethod
    async def connect(cls, url, subprotocols=(PROTOCOL,), **kw):
        """Opens a connection and reads the hello, which must come first."""
        ws = await websockets.connect(url, subprotocols=list(subprotocols), **kw)
        chat = cls(ws)
        cls.opened.append(chat)
        chat.hello = await chat._read(5.0)
        chat.unread.clear()
        assert chat.hello.get("op") == "hello", f"first frame is not hello: {chat.hello}"
        return chat

    async def send(self, op, **fields):
        await self.ws.send(json.dumps({"op": op, **fields}))

    async def send_text(self, text):
        await self.ws.send(text)

    async def _read(self, timeout):
        try:
            data = await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.ConnectionClosed as e:
            raise Closed(f"connection closed ({e}); frames not taken: {self.unread[-8:]}") from None
        assert isinstance(data, str), f"binary frame from the server: {data[:80]!r}"
        frame = json.loads(data)
        assert isinstance(frame, dict) and isinstance(frame.get("op"), str), data
        self.frames.append(frame)
        self.unread.append(frame)
        return frame

    async def wait(self, predicate, timeout=5.0, what="a frame"):
        """The first frame not yet taken for which predicate is true."""
        deadline = time.monotonic() + timeout
        i = 0
        while True:
            while i < len(self.unread):
                frame = self.unread[i]
                if predicate(frame):
                    del self.unread[i]
                    return frame
                i += 1
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; "
                                     f"frames not taken: {self.unread[-8:]}")
            try:
                await self._read(left)
            except asyncio.TimeoutError:
                pass

    async def expect(self, timeout=5.0, **pattern):
        """The first frame not yet taken whose fields equal pattern (values
        of the same type too). An error frame that does not match fails at
        once: it is what the server answered instead."""
        def wanted(frame):
            if frame["op"] == "error" and not matches(frame, pattern):
                raise AssertionError(f"waiting for {pattern}, got {frame}")
            return matches(frame, pattern)
        return await self.wait(wanted, timeout, str(pattern))

    async def expect_close(self, timeout=5.0):
        """Reads until the server closes; returns the close code. The frames
        read meanwhile stay available to expect()."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"still open after {timeout}s; frames: {self.unread[-8:]}"
            try:
                await self._read(left)
            except Closed:
                await self.ws.wait_closed()
                return self.ws.close_code
            except asyncio.TimeoutError:
                pass

    async def is_open(self, timeout=5.0):
        """True if a ping is answered: the connection is still up."""
        try:
            pong = await self.ws.ping()
            await asyncio.wait_for(pong, timeout)
            return True
        except (websockets.ConnectionClosed, asyncio.TimeoutError):
            return False

    # Requests, each waiting for its answer.

    async def join(self, room, nick, **fields):
        await self.send("join", room=room, nick=nick, **fields)
        return await self.expect(op="joined", room=room)

    async def leave(self, room):
        await self.send("leave", room=room)
        return await self.expect(op="left", room=room)

    async def say(self, room, text, ref):
        """Sends a say and returns its ack."""
        await self.send("say", room=room, text=text, ref=ref)
        return await self.expect(op="ack", ref=ref)

    async def who(self, room):
        await self.send("who", room=room)
        return (await self.expect(op="who", room=room))["members"]

    async def history(self, room, **fields):
        await self.send("history", room=room, **fields)
        return await self.expect(op="history", room=room)

    async def close(self):
        await self.ws.close()
