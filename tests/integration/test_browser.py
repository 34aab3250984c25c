"""The tutorial's browser client in real headless Chromium (Debian's, driven
by playwright-core): `new WebSocket(url)` on two backends, chatting."""
import os
import subprocess

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "browser", "tutorial-chat.mjs")


def test_chromium_pages_on_two_backends_chat_together(redis, backends):
    ws1 = backends("--id", "ws1", "--redis", redis.url)
    ws2 = backends("--id", "ws2", "--redis", redis.url)
    r = subprocess.run(["node", SCRIPT, ws1.url, ws2.url, "ws1", "ws2"],
                       capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ws2:hello from chromium ✓" in r.stdout
