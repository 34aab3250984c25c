"""RFC 6455 conformance of a real `wscale backend`, byte by byte.

Most tests use wsraw.RawWS, a client that can break the protocol on purpose;
a few use python3-websockets, a correct client, to check interoperability.
Every violation must be answered with the exact close code of RFC 6455
section 7.4.1 and followed by the server closing the TCP connection.
"""
import asyncio
import os
import socket
import struct
import time

import pytest
import websockets

from wsraw import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, RawWS,
                   encode_frame)

GREETING = "Connected successfully to server {}"

PROTOCOL_ERROR = 1002
UNSUPPORTED_DATA = 1003
INVALID_PAYLOAD = 1007
TOO_BIG = 1009


# --- helpers ----------------------------------------------------------------

def connect(backend, ident="echo", timeout=5.0):
    """A RawWS past the handshake and the greeting every backend sends first."""
    ws = RawWS(backend.port, timeout=timeout)
    assert ws.recv_text() == GREETING.format(ident)
    return ws


def assert_closed_with(ws, code):
    """The server's close frame carries `code`, then the TCP connection ends."""
    got, reason = ws.recv_close()
    assert got == code, f"expected close {code}, got {got} ({reason!r})"
    assert ws.expect_tcp_close()


def masked_frame(b0, length_bytes, payload=b""):
    """A masked client frame with a hand-made length field (byte 1 without the
    mask bit, then any extended length bytes)."""
    key = os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes([b0]) + bytes([0x80 | length_bytes[0]]) + length_bytes[1:] + key + body


def recv_frame_with_length_form(ws):
    """Like RawWS.recv_frame, but also returns the 7-bit length indicator the
    server used (so its length encoding can be checked)."""
    b0, b1 = ws._read_exact(2)
    assert b0 & 0x70 == 0, "server frame with RSV bits"
    assert b1 & 0x80 == 0, "masked server frame"
    indicator = b1 & 0x7F
    n = indicator
    if indicator == 126:
        n = struct.unpack("!H", ws._read_exact(2))[0]
    elif indicator == 127:
        n = struct.unpack("!Q", ws._read_exact(8))[0]
        assert n >> 63 == 0, "64-bit length with the most significant bit set"
    return indicator, bool(b0 & 0x80), b0 & 0x0F, ws._read_exact(n)


def minimal_indicator(n):
    return n if n < 126 else 126 if n <= 0xFFFF else 127


def run(coro, timeout=10):
    return asyncio.run(asyncio.wait_for(coro, timeout))


# --- framing violations: 1002 -----------------------------------------------

def test_unmasked_client_frame_is_a_protocol_error(echo):
    ws = connect(echo)
    ws.send(OP_TEXT, "hello", mask=False)
    assert_closed_with(ws, PROTOCOL_ERROR)


@pytest.mark.parametrize("rsv,name", [(4, "rsv1"), (2, "rsv2"), (1, "rsv3")])
def test_reserved_bit_without_extension_is_a_protocol_error(echo, rsv, name):
    ws = connect(echo)
    ws.send(OP_TEXT, "hello", rsv=rsv)
    assert_closed_with(ws, PROTOCOL_ERROR)


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
def test_reserved_opcode_is_a_protocol_error(echo, opcode):
    ws = connect(echo)
    ws.send(opcode, b"x")
    assert_closed_with(ws, PROTOCOL_ERROR)


def test_fragmented_ping_is_a_protocol_error(echo):
    ws = connect(echo)
    ws.send(OP_PING, b"abc", fin=False)
    assert_closed_with(ws, PROTOCOL_ERROR)


def test_ping_with_126_byte_payload_is_a_protocol_error(echo):
    ws = connect(echo)
    ws.send(OP_PING, b"p" * 126)
    assert_closed_with(ws, PROTOCOL_ERROR)


def test_continuation_without_a_started_message_is_a_protocol_error(echo):
    ws = connect(echo)
    ws.send(OP_CONT, b"orphan", fin=True)
    assert_closed_with(ws, PROTOCOL_ERROR)


def test_text_frame_inside_a_fragmented_message_is_a_protocol_error(echo):
    ws = connect(echo)
    ws.send(OP_TEXT, b"first half", fin=False)
    ws.send(OP_TEXT, b"a new message", fin=True)
    assert_closed_with(ws, PROTOCOL_ERROR)


def test_non_minimal_16_bit_length_is_a_protocol_error(echo):
    ws = connect(echo)
    # Five bytes announced in the 16-bit form (minimal is the 7-bit form).
    ws.send_raw(masked_frame(0x81, bytes([126]) + struct.pack("!H", 5), b"hello"))
    assert_closed_with(ws, PROTOCOL_ERROR)


def test_non_minimal_64_bit_length_is_a_protocol_error(echo):
    ws = connect(echo)
    ws.send_raw(masked_frame(0x81, bytes([127]) + struct.pack("!Q", 200), b"h" * 200))
    assert_closed_with(ws, PROTOCOL_ERROR)


def test_64_bit_length_with_the_most_significant_bit_set_is_a_protocol_error(echo):
    ws = connect(echo)
    ws.send_raw(masked_frame(0x81, bytes([127]) + struct.pack("!Q", (1 << 63) | 70000)))
    assert_closed_with(ws, PROTOCOL_ERROR)


# --- close frames -------------------------------------------------------------

def test_close_1000_is_answered_with_1000_then_tcp_close(echo):
    ws = connect(echo)
    ws.send(OP_CLOSE, struct.pack("!H", 1000) + b"bye")
    code, _ = ws.recv_close()
    assert code == 1000
    assert ws.expect_tcp_close()


@pytest.mark.parametrize("code", [1001, 1003, 1007, 1008, 1009, 1010, 1011,
                                  3000, 3999, 4000, 4999])
def test_valid_close_code_is_echoed(echo, code):
    ws = connect(echo)
    ws.send(OP_CLOSE, struct.pack("!H", code))
    assert_closed_with(ws, code)


def test_close_without_payload_is_answered_without_payload(echo):
    ws = connect(echo)
    ws.send(OP_CLOSE, b"")
    assert ws.recv_close() == (None, "")
    assert ws.expect_tcp_close()


def test_close_with_1_byte_payload_is_a_protocol_error(echo):
    ws = connect(echo)
    ws.send(OP_CLOSE, b"\x03")
    assert_closed_with(ws, PROTOCOL_ERROR)


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 1100,
                                  2000, 2999, 5000, 65535])
def test_invalid_close_code_is_a_protocol_error(echo, code):
    ws = connect(echo)
    ws.send(OP_CLOSE, struct.pack("!H", code))
    assert_closed_with(ws, PROTOCOL_ERROR)


def test_close_code_1005_is_a_protocol_error(echo):
    # 1005 means "no status" and must never appear on the wire (7.4.1).
    ws = connect(echo)
    ws.send(OP_CLOSE, struct.pack("!H", 1005) + b"x")
    assert_closed_with(ws, PROTOCOL_ERROR)


def test_close_reason_that_is_not_utf8_is_invalid_payload(echo):
    ws = connect(echo)
    ws.send(OP_CLOSE, struct.pack("!H", 1000) + b"bad \xff\xfe reason")
    assert_closed_with(ws, INVALID_PAYLOAD)


# --- UTF-8 ----------------------------------------------------------------------

@pytest.mark.parametrize("payload", [
    b"\xff",                 # never valid
    b"caf\xc3",              # truncated, then nothing (ends mid-sequence)
    b"\xc0\xaf",             # overlong '/'
    b"\xed\xa0\x80",         # UTF-16 surrogate
    b"\xf4\x90\x80\x80",     # above U+10FFFF
    b"ok \x80 ok",           # lone continuation byte
], ids=["ff", "truncated", "overlong", "surrogate", "above-max", "lone-continuation"])
def test_text_that_is_not_utf8_is_invalid_payload(echo, payload):
    ws = connect(echo)
    ws.send(OP_TEXT, payload)
    assert_closed_with(ws, INVALID_PAYLOAD)


def test_invalid_utf8_in_first_fragment_fails_without_the_rest(echo):
    ws = connect(echo, timeout=3.0)
    ws.send(OP_TEXT, b"fine so far \xff", fin=False)
    # The message is not finished, yet the server must fail fast.
    assert_closed_with(ws, INVALID_PAYLOAD)


def test_text_ending_inside_a_utf8_sequence_is_invalid_payload(echo):
    ws = connect(echo)
    ws.send(OP_TEXT, "héllo €".encode()[:-1])  # € cut after 2 of 3 bytes
    assert_closed_with(ws, INVALID_PAYLOAD)


def test_fragmented_text_ending_inside_a_utf8_sequence_is_invalid_payload(echo):
    ws = connect(echo)
    ws.send(OP_TEXT, b"abc", fin=False)
    ws.send(OP_CONT, b"\xf0\x9f\x98", fin=True)
    assert_closed_with(ws, INVALID_PAYLOAD)


def test_four_byte_character_split_across_fragments_is_echoed_intact(echo):
    ws = connect(echo)
    emoji = "😀".encode()
    ws.send(OP_TEXT, b"smile " + emoji[:2], fin=False)
    ws.send(OP_CONT, emoji[2:] + b"!", fin=True)
    assert ws.recv_text() == "smile 😀!"


# --- echo -------------------------------------------------------------------------

@pytest.mark.parametrize("length", [0, 125, 126, 65535, 65536])
def test_text_echo_preserves_length_with_minimal_encoding(echo, length):
    ws = connect(echo)
    text = bytes(97 + i % 26 for i in range(length))
    ws.send(OP_TEXT, text)
    indicator, fin, op, payload = recv_frame_with_length_form(ws)
    assert (fin, op) == (True, OP_TEXT)
    assert payload == text
    assert indicator == minimal_indicator(length)


def test_binary_is_echoed_in_echo_mode(echo):
    ws = connect(echo)
    data = bytes(range(256)) * 3
    ws.send(OP_BINARY, data)
    assert ws.recv_frame() == (True, OP_BINARY, data)


def test_ping_between_fragments_is_answered_then_message_echoed(echo):
    ws = connect(echo)
    ws.send(OP_TEXT, b"Hello, ", fin=False)
    ws.send(OP_CONT, b"frag", fin=False)
    ws.send(OP_PING, b"in between")
    ws.send(OP_CONT, b"mented world", fin=True)
    assert ws.recv_frame() == (True, OP_PONG, b"in between")
    assert ws.recv_frame() == (True, OP_TEXT, b"Hello, fragmented world")


def test_many_frames_in_one_write_are_all_echoed_in_order(echo):
    ws = connect(echo)
    messages = [f"message {i} " + "x" * (i * 7 % 300) for i in range(300)]
    ws.send_raw(b"".join(encode_frame(OP_TEXT, m) for m in messages))
    for m in messages:
        assert ws.recv_text() == m


def test_message_sent_one_byte_at_a_time_is_echoed(echo):
    ws = connect(echo)
    ws.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    text = "byte by byte: héllo wörld 🎉 " * 4
    for b in encode_frame(OP_TEXT, text):
        ws.send_raw(bytes([b]))
    assert ws.recv_text() == text


def test_client_ping_is_answered_with_same_payload(echo):
    ws = connect(echo)
    ws.send(OP_PING, b"abc")
    assert ws.recv_frame() == (True, OP_PONG, b"abc")


def test_client_ping_with_125_byte_payload_is_answered(echo):
    ws = connect(echo)
    payload = os.urandom(125)
    ws.send(OP_PING, payload)
    assert ws.recv_frame() == (True, OP_PONG, payload)


# --- chat mode ---------------------------------------------------------------------

def test_binary_message_in_chat_mode_is_unsupported_data(chat):
    ws = connect(chat, "ws1")
    ws.send(OP_BINARY, b"\x00\x01\x02")
    assert_closed_with(ws, UNSUPPORTED_DATA)


# --- size limit ------------------------------------------------------------------------

@pytest.fixture
def small(backends):
    return backends("--echo", "--id", "echo", "--max-message", "1000")


def test_message_at_the_size_limit_is_echoed(small):
    ws = connect(small)
    text = "k" * 1000
    ws.send_text(text)
    assert ws.recv_text() == text


def test_frame_over_the_size_limit_is_refused_from_its_header(small):
    ws = connect(small, timeout=3.0)
    # Only the header claiming 1001 bytes: the server must not wait for them.
    ws.send_raw(encode_frame(OP_TEXT, b"", length=1001))
    assert_closed_with(ws, TOO_BIG)


def test_fragmented_message_over_the_size_limit_is_too_big(small):
    ws = connect(small)
    ws.send(OP_TEXT, b"a" * 600, fin=False)
    ws.send(OP_CONT, b"b" * 600, fin=True)
    assert_closed_with(ws, TOO_BIG)


def test_header_claiming_1_gib_is_refused_at_once(echo):
    ws = connect(echo, timeout=3.0)
    ws.send_raw(encode_frame(OP_TEXT, b"", length=2 ** 30))
    assert_closed_with(ws, TOO_BIG)


# --- server pings ---------------------------------------------------------------------

@pytest.fixture
def pinging(backends):
    return backends("--echo", "--id", "echo", "--ping-interval", "300ms")


def test_silent_client_is_pinged_then_dropped(pinging):
    ws = connect(pinging)
    ws.sock.settimeout(1.0)
    fin, op, _ = ws.recv_frame()
    assert (fin, op) == (True, OP_PING)
    # Never answered: the server gives up after another interval.
    ws.sock.settimeout(2.0)
    assert ws.expect_tcp_close()


def test_client_answering_pings_stays_connected(pinging):
    ws = connect(pinging)
    pings = 0
    deadline = time.monotonic() + 1.5
    while (left := deadline - time.monotonic()) > 0:
        ws.sock.settimeout(left)
        try:
            fin, op, payload = ws.recv_frame()
        except socket.timeout:
            break
        assert op == OP_PING, f"unexpected opcode {op}"
        pings += 1
        ws.send(OP_PONG, payload)
    assert pings >= 2, "the server should have pinged the idle client repeatedly"
    ws.sock.settimeout(3.0)
    ws.send_text("still here")
    assert ws.recv_text() == "still here"


def test_websockets_client_idle_across_pings_stays_open(pinging):
    async def main():
        async with websockets.connect(pinging.url) as ws:
            assert await ws.recv() == GREETING.format("echo")
            await asyncio.sleep(1.5)  # the library answers the pings
            await ws.send("after the pause")
            assert await asyncio.wait_for(ws.recv(), 3) == "after the pause"
    run(main())


# --- handshake timeout -------------------------------------------------------------------

def test_incomplete_request_head_is_dropped_after_handshake_timeout(backends):
    b = backends("--echo", "--handshake-timeout", "500ms")
    with socket.create_connection(("127.0.0.1", b.port), timeout=2.0) as s:
        s.sendall(b"GET / HTTP/1.1\r\n")
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass
        # socket.timeout (a test failure) if the server kept the connection.


# --- interoperability --------------------------------------------------------------------

def test_websockets_client_exchanges_100_messages_and_closes_cleanly(echo):
    async def main():
        ws = await websockets.connect(echo.url)
        assert await ws.recv() == GREETING.format("echo")
        for i in range(100):
            msg = f"message {i}: " + "ü" * i
            await ws.send(msg)
            assert await ws.recv() == msg
        await ws.close(code=1000, reason="done")
        return ws.close_code
    assert run(main()) == 1000
