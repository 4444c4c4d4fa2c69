"""Broken answers on the wire: wrong length, short frame, garbage, reset mid-frame.
A scripted TCP peer answers request n with behaviour n; each fault must give BAD
samples and a counted error kind, and the next good answer must read again."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable

import pytest

from lineside.samples import Quality
from tests.drivers.modbus.helpers import driver, tcp_device

pytestmark = pytest.mark.server

Reply = Callable[[bytes], bytes | None]  # request frame -> bytes to send (None: close)


def good(frame: bytes) -> bytes:
    tid, unit, fc, count = frame[0:2], frame[6], frame[7], int.from_bytes(frame[10:12], "big")
    body = bytes([fc, 2 * count]) + struct.pack(f">{count}H", *([4321] * count))
    return tid + b"\x00\x00" + struct.pack(">H", len(body) + 1) + bytes([unit]) + body


def too_long(frame: bytes) -> bytes:
    tid, unit, fc = frame[0:2], frame[6], frame[7]
    body = bytes([fc, 4]) + struct.pack(">2H", 1, 2)  # two registers for a one-register read
    return tid + b"\x00\x00" + struct.pack(">H", len(body) + 1) + bytes([unit]) + body


def short(frame: bytes) -> bytes:
    return good(frame)[:-1]  # the last byte never comes


def garbage(_frame: bytes) -> bytes:
    return b"\xde\xad\xbe\xef" * 4


def reset(frame: bytes) -> None:
    return None


class ScriptedPeer:
    def __init__(self, script: list[Reply]):
        self.script = script
        self.n = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def handle(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            while head := await r.readexactly(6):
                frame = head + await r.readexactly(int.from_bytes(head[4:6], "big"))
                behaviour = self.script[min(self.n, len(self.script) - 1)]
                self.n += 1
                out = behaviour(frame)
                if out is None:
                    w.transport.abort()  # RST, mid-conversation
                    return
                w.write(out)
                await w.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            w.close()


@pytest.mark.parametrize(("faults", "kinds"), [
    ([too_long], {"garbled"}),
    ([short], {"timeout"}),
    ([garbage], {"timeout"}),  # not a frame: pymodbus discards it, the answer never comes
    ([reset, reset], {"connection"}),  # one retry on a new connection, then it counts
], ids=["too_long", "short", "garbage", "reset"])
async def test_fault_gives_bad_samples_then_recovers(faults, kinds):
    peer = ScriptedPeer([good, *faults, good])
    port = await peer.start()
    d = driver(tcp_device(port, timeout_s=0.3, reconnect_min_s=0.01, reconnect_max_s=0.02),
               {"v": {"address": 0}})
    try:
        first, second = await d.poll(), await d.poll()
        assert (first[0].value, first[0].quality) == (4321, Quality.GOOD)
        assert (second[0].value, second[0].quality) == (None, Quality.BAD)
        assert set(d.stats.errors) & kinds, d.stats.errors
        assert "FC3 holding 0..0" in (d.stats.last_error or "")
        for _ in range(20):  # after at most a short backoff, a good answer reads again
            await asyncio.sleep(0.03)
            third = await d.poll()
            if third[0].good:
                break
        assert third[0].value == 4321
    finally:
        await d.close()
        peer.server.close()


async def test_a_dropped_idle_connection_costs_no_cycle():
    """The device closes the connection between cycles (idle timeout) or resets it at
    the next request: one retry on a fresh connection reads the value."""
    peer = ScriptedPeer([good, reset, good])
    port = await peer.start()
    d = driver(tcp_device(port), {"v": {"address": 0}})
    try:
        assert [(await d.poll())[0].value for _ in range(3)] == [4321, 4321, 4321]
        assert d.stats.errors == {"connection_retried": 1}
    finally:
        await d.close()
        peer.server.close()
