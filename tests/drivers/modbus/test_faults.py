"""Broken answers on the wire, one error kind each.

Scripted TCP peers (a raw socket server in the test) answer request n with behaviour
n: the driver must give BAD samples, count the fault under its own kind — a wrong
transaction id, another unit, a truncated frame, garbage, a bad CRC (RTU over TCP), an
exception code, a reset connection are not all "timeout" — and read again at the next
good answer."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable

import pytest
from pymodbus.framer.rtu import FramerRTU

from lineside.drivers.modbus.settings import ModbusRtuOverTcpDevice
from lineside.samples import Quality
from tests.drivers.modbus.helpers import driver, tcp_device
from tests.fixtures.common import free_port

pytestmark = pytest.mark.server

Reply = Callable[[bytes], bytes | None]  # request frame -> bytes to send (None: close)


def _mbap(tid: bytes, unit: int, body: bytes) -> bytes:
    return tid + b"\x00\x00" + struct.pack(">H", len(body) + 1) + bytes([unit]) + body


def good(frame: bytes) -> bytes:
    tid, unit, fc, count = frame[0:2], frame[6], frame[7], int.from_bytes(frame[10:12], "big")
    return _mbap(tid, unit, bytes([fc, 2 * count]) + struct.pack(f">{count}H",
                                                                *([4321] * count)))


def too_long(frame: bytes) -> bytes:  # two registers for a one-register read
    return _mbap(frame[0:2], frame[6], bytes([frame[7], 4]) + struct.pack(">2H", 1, 2))


def short(frame: bytes) -> bytes:
    return good(frame)[:-1]  # the last byte never comes


def garbage(_frame: bytes) -> bytes:
    return b"\xde\xad\xbe\xef" * 4


def wrong_tid(frame: bytes) -> bytes:  # the answer to the request before (a late one)
    tid = (int.from_bytes(frame[0:2], "big") - 1) % 65536
    return good(tid.to_bytes(2, "big") + frame[2:])


def wrong_unit(frame: bytes) -> bytes:
    return good(frame[:6] + bytes([frame[6] + 1]) + frame[7:])


def undecodable(frame: bytes) -> bytes:  # a frame of this request, function code 0x55
    return _mbap(frame[0:2], frame[6], b"\x55\x00")


def exception(code: int) -> Reply:
    def reply(frame: bytes) -> bytes:
        return _mbap(frame[0:2], frame[6], bytes([frame[7] | 0x80, code]))
    return reply


def reset(frame: bytes) -> None:
    return None


class ScriptedPeer:
    """Modbus TCP framing: reads a request (MBAP header, then its length)."""

    def __init__(self, script: list[Reply]):
        self.script = script
        self.n = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def request(self, r: asyncio.StreamReader) -> bytes:
        head = await r.readexactly(6)
        return head + await r.readexactly(int.from_bytes(head[4:6], "big"))

    async def handle(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            while frame := await self.request(r):
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


class ScriptedRtuPeer(ScriptedPeer):
    """RTU framing over TCP (a serial gateway): a read request is 8 bytes."""

    async def request(self, r: asyncio.StreamReader) -> bytes:
        return await r.readexactly(8)


def _crc(frame: bytes) -> bytes:
    return frame + FramerRTU.compute_CRC(frame).to_bytes(2, "big")


def rtu_good(frame: bytes) -> bytes:
    count = int.from_bytes(frame[4:6], "big")
    return _crc(bytes([frame[0], frame[1], 2 * count]) + struct.pack(f">{count}H",
                                                                     *([4321] * count)))


def rtu_bad_crc(frame: bytes) -> bytes:
    out = rtu_good(frame)
    return out[:-1] + bytes([out[-1] ^ 0xFF])


def rtu_short(frame: bytes) -> bytes:
    return rtu_good(frame)[:-2]


def rtu_garbage(_frame: bytes) -> bytes:
    return b"\xde\xad\xbe\xef" * 4


def rtu_wrong_unit(frame: bytes) -> bytes:
    return rtu_good(bytes([frame[0] + 1]) + frame[1:])


def rtu_exception(frame: bytes) -> bytes:
    return _crc(bytes([frame[0], frame[1] | 0x80, 4]))


# (id, framing, the fault, the kind it must be counted as)
FAULTS = [
    ("too_long", "tcp", [too_long], "wrong_length"),
    ("truncated", "tcp", [short], "truncated"),
    ("garbage", "tcp", [garbage], "garbage"),
    ("wrong_transaction_id", "tcp", [wrong_tid], "transaction_id"),
    ("wrong_unit", "tcp", [wrong_unit], "wrong_unit"),
    ("undecodable", "tcp", [undecodable], "garbage"),
    ("exception_2", "tcp", [exception(2)], "illegal_address"),
    ("exception_4", "tcp", [exception(4)], "device_failure"),
    ("exception_12", "tcp", [exception(12)], "exception_12"),  # a code Modbus does not name
    ("reset", "tcp", [reset, reset], "connection"),  # one retry on a new connection
    ("rtu_bad_crc", "rtu", [rtu_bad_crc], "bad_crc"),
    ("rtu_truncated", "rtu", [rtu_short], "truncated"),
    ("rtu_garbage", "rtu", [rtu_garbage], "garbage"),
    ("rtu_wrong_unit", "rtu", [rtu_wrong_unit], "wrong_unit"),
    ("rtu_exception", "rtu", [rtu_exception], "device_failure"),
]


@pytest.mark.parametrize(("framing", "faults", "kind"), [f[1:] for f in FAULTS],
                         ids=[f[0] for f in FAULTS])
async def test_fault_is_counted_as_its_kind_then_recovers(framing, faults, kind):
    if framing == "tcp":
        peer: ScriptedPeer = ScriptedPeer([good, *faults, good])
        port = await peer.start()
        device = tcp_device(port, timeout_s=0.3, reconnect_min_s=0.01, reconnect_max_s=0.02)
    else:
        peer = ScriptedRtuPeer([rtu_good, *faults, rtu_good])
        port = await peer.start()
        device = ModbusRtuOverTcpDevice(type="modbus-rtu-over-tcp", id="plc",
                                        host="127.0.0.1", port=port, timeout_s=0.3,
                                        reconnect_min_s=0.01, reconnect_max_s=0.02)
    d = driver(device, {"v": {"address": 0}})
    try:
        first, second = await d.poll(), await d.poll()
        assert (first[0].value, first[0].quality) == (4321, Quality.GOOD)
        assert (second[0].value, second[0].quality) == (None, Quality.BAD)
        failures = {k: n for k, n in d.stats.errors.items() if not k.endswith("_retried")}
        assert failures == {kind: 1}, d.stats.errors
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


async def test_refused_connection_is_connect():
    d = driver(tcp_device(free_port()), {"v": {"address": 0}})
    try:
        assert not (await d.poll())[0].good
        assert dict(d.stats.errors) == {"connect": 1}
    finally:
        await d.close()


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
