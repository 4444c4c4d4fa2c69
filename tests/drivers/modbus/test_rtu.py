"""RTU on a serial line (socat PTY pair, pymodbus serial server on the far end) and
RTU over TCP (a serial gateway's framing)."""

from __future__ import annotations

import asyncio

import pytest

from lineside.drivers.base import SignalRef
from lineside.drivers.modbus.build import build_modbus_drivers
from lineside.drivers.modbus.codec import encode
from lineside.drivers.modbus.settings import ModbusRtuDevice, ModbusRtuOverTcpDevice, ModbusSignal
from tests.fixtures.common import free_port

pytestmark = pytest.mark.server


def units() -> dict:
    return {
        "1": {"size": 50, "holding": {"0": encode(21.5, "float32", "CDAB"), "10": [1]}},
        "2": {"size": 50, "holding": {"0": encode(-7, "int32")}, "coil": {"2": [True]}},
    }


def sigs(*pairs: tuple[str, dict]) -> list[SignalRef]:
    return [SignalRef(k, ModbusSignal(**v)) for k, v in pairs]


async def test_rtu_bus_shared_by_slaves_with_a_dead_one(modbus_peer, pty_pair):
    ours, theirs = pty_pair
    modbus_peer({"servers": [{"serial": theirs, "units": units()}]})
    common = {"type": "modbus-rtu", "serial_port": ours, "baudrate": 19200, "timeout_s": 0.3,
              "pause_s": 0.005, "reconnect_min_s": 0.05, "reconnect_max_s": 0.2}
    devices = [ModbusRtuDevice(id="scale", unit_id=1, byte_order="CDAB", **common),
               ModbusRtuDevice(id="mixer", unit_id=2, **common),
               ModbusRtuDevice(id="gone", unit_id=3, **common)]
    drivers = build_modbus_drivers(devices, {
        "scale": sigs(("s.w", {"address": 0, "type": "float32"}), ("s.on", {"address": 10})),
        "mixer": sigs(("m.n", {"address": 0, "type": "int32"}),
                      ("m.c", {"address": 2, "table": "coil", "type": "bool"})),
        "gone": sigs(("g.x", {"address": 0})),
    })
    assert len({id(d.link) for d in drivers}) == 1  # one bus, one link
    try:
        for _ in range(3):  # concurrent cycles take turns on the bus
            cycles = await asyncio.gather(*(d.poll() for d in drivers))
        got = {s.signal: s for c in cycles for s in c}
        assert got["s.w"].value == pytest.approx(21.5) and got["s.on"].value == 1
        assert got["m.n"].value == -7 and got["m.c"].value is True
        assert not got["g.x"].good
        assert drivers[2].stats.errors["timeout"] >= 1
        assert drivers[0].stats.up and drivers[1].stats.up and not drivers[2].stats.up
        assert set(drivers[0].link.sent) <= {1, 2, 3, 4}
    finally:
        for d in drivers:
            await d.close()


async def test_rtu_over_tcp(modbus_peer):
    port = free_port()
    modbus_peer({"servers": [{"port": port, "framer": "rtu", "units": units()}]})
    devices = [ModbusRtuOverTcpDevice(type="modbus-rtu-over-tcp", id=f"g{u}", host="127.0.0.1",
                                      port=port, unit_id=u, timeout_s=0.5) for u in (1, 2)]
    drivers = build_modbus_drivers(devices, {
        "g1": sigs(("a", {"address": 10})), "g2": sigs(("b", {"address": 0, "type": "int32"}))})
    assert drivers[0].link is drivers[1].link  # one gateway connection
    try:
        a, b = await asyncio.gather(*(d.poll() for d in drivers))
        assert (a[0].value, b[0].value) == (1, -7)
    finally:
        for d in drivers:
            await d.close()
