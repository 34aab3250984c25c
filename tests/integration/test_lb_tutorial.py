"""The tutorial's whole stack on wscale: its haproxy.cfg run by wscale lb in
front of four wscale backends and one Redis."""
import asyncio

import websockets


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def test_four_consecutive_clients_land_on_four_backends_and_chat(tutorial):
    async def main():
        clients = [await websockets.connect(tutorial.url) for _ in range(4)]
        greetings = [await c.recv() for c in clients]
        # Round-robin: the greetings prove four different backends.
        assert sorted(greetings) == [f"Connected successfully to server ws{i}" for i in range(1, 5)]
        await clients[0].send("hello from one")
        got = sorted([await asyncio.wait_for(c.recv(), 5) for c in clients])
        assert got == [f"ws{i}:hello from one" for i in range(1, 5)]
        for c in clients:
            await c.close()
    run(main())


def test_the_shipped_tutorial_config_is_valid():
    import os
    import subprocess
    from procs import WSCALE
    cfg = os.path.join(os.path.dirname(__file__), "..", "..", "conf", "tutorial.cfg")
    r = subprocess.run([WSCALE, "lb", "-c", "-f", cfg], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    assert "Configuration file is valid" in r.stdout
