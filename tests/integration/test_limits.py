"""Limits hold under load: message size, slow consumers, many clients."""
import asyncio
import socket
import struct
import threading

import websockets

from wsraw import OP_PING, encode_frame, upgrade_request


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def test_message_of_exactly_1_mib_is_accepted_and_one_byte_more_is_refused_1009(chat):
    async def main():
        async with websockets.connect(chat.url, max_size=None) as ws:
            await ws.recv()
            big = "m" * 1048576
            await ws.send(big)
            assert await asyncio.wait_for(ws.recv(), 10) == "ws1:" + big
            await ws.send(big + "!")
            try:
                await asyncio.wait_for(ws.recv(), 10)
                raise AssertionError("a message over the limit was accepted")
            except websockets.ConnectionClosed as e:
                assert e.rcvd.code == 1009
    run(main())


def open_raw(port, rcvbuf=None):
    """A blocking raw WebSocket after its handshake; returns the socket."""
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(30)
    sock.connect(("127.0.0.1", port))
    sock.sendall(upgrade_request())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101 "), head
    return sock


def read_exact(sock, n):
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = sock.recv_into(view[got:])
        assert k > 0, "connection closed"
        got += k
    return bytes(buf)


def read_frame(sock):
    b0, b1 = read_exact(sock, 2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", read_exact(sock, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", read_exact(sock, 8))[0]
    return b0 & 0x0F, read_exact(sock, n)


def test_client_that_never_reads_is_closed_while_100_others_keep_receiving(redis, backends):
    """5.4 MB pile up for a client that reads nothing: it is closed 1008 as a
    slow consumer at --max-output, and 100 readers get every message."""
    b = backends("--id", "ws1", "--redis", redis.url, "--max-message", "64k",
                 "--max-output", "128k")
    count, size = 90, 60000  # more than the kernel buffers of the slow one hold

    slow = open_raw(b.port, rcvbuf=4096)
    readers = [open_raw(b.port) for _ in range(100)]
    results = [None] * len(readers)

    def receive(k):
        op, payload = read_frame(readers[k])
        assert payload.startswith(b"Connected successfully")
        for i in range(count):
            op, payload = read_frame(readers[k])
            if op != 1 or payload != b"ws1:" + (b"%03d" % i) + b"x" * (size - 3):
                results[k] = f"message {i} wrong"
                return
        results[k] = "ok"

    threads = [threading.Thread(target=receive, args=(k,)) for k in range(len(readers))]
    for t in threads:
        t.start()

    async def publish():
        async with websockets.connect(b.url, max_size=None, max_queue=None) as pub:
            await pub.recv()
            for i in range(count):
                await pub.send(("%03d" % i) + "x" * (size - 3))
                await asyncio.sleep(0.01)
    run(publish())
    for t in threads:
        t.join(30)
    assert results == ["ok"] * len(readers)

    metrics = b.metrics()
    assert metrics["wscale_slow_consumer_closes_total"] == 1
    assert metrics['wscale_closes_sent_total{code="1008"}'] == 1
    for s in readers + [slow]:
        s.close()


def test_1000_concurrent_clients_all_receive_a_broadcast(chat):
    async def main():
        clients = []
        for _ in range(1000):
            clients.append(await websockets.connect(chat.url))
        for ws in clients:
            assert await ws.recv() == "Connected successfully to server ws1"
        await clients[0].send("to everyone")
        got = await asyncio.gather(*(asyncio.wait_for(ws.recv(), 20) for ws in clients))
        assert got == ["ws1:to everyone"] * 1000
        assert chat.metrics()['wscale_connections_open{phase="websocket"}'] == 1000
        await asyncio.gather(*(ws.close() for ws in clients))
    run(main(), timeout=120)


def test_ping_flood_from_a_client_that_never_reads_is_closed_as_slow_consumer(backends):
    """Pongs count against --max-output like any other output."""
    b = backends("--echo", "--max-message", "4k", "--max-output", "64k")
    sock = open_raw(b.port, rcvbuf=4096)
    ping = encode_frame(OP_PING, b"p" * 125)
    try:
        for _ in range(80):  # 80 x 500 pings: ~10 MB of pongs, more than kernel buffers
            sock.sendall(ping * 500)
            if b.metrics()["wscale_slow_consumer_closes_total"] == 1:
                break
    except (BrokenPipeError, ConnectionResetError):
        pass  # closed while we were still sending: what we want
    assert b.metrics()["wscale_slow_consumer_closes_total"] == 1
    sock.close()
