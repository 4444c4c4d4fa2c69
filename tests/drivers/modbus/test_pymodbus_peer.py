"""Against pymodbus servers in a child process: types, orders, plan, faults, restarts."""

from __future__ import annotations

import asyncio

import pytest

from lineside.drivers.modbus.codec import encode
from lineside.drivers.modbus.link import Link, WriteRefused, tcp_link
from lineside.drivers.modbus.planner import ReadRequest
from lineside.drivers.modbus.settings import ModbusSignal
from lineside.samples import Quality
from tests.drivers.modbus.helpers import (
    assert_values,
    driver,
    matrix_signals,
    tcp_device,
    values,
)
from tests.fixtures.common import free_port
from tests.fixtures.modbus_peers import RecordingProxy

pytestmark = pytest.mark.server

def layout() -> tuple[dict, dict, dict]:
    """Every type in every order, 5-register slots from 100 (spare registers between
    values: gaps the planner reads across); returns (holding, signals, expected)."""
    signals, expected = matrix_signals()
    holding = {str(s["address"]): encode(expected[k], s["type"], s["byte_order"])
               for k, s in signals.items()}
    addr = 100 + 5 * len(signals)
    for sbo in ("big", "little"):
        holding[str(addr)] = encode("Fryer 3", "string", length=5, string_byte_order=sbo)
        addr += 5
    return holding, signals, expected


def spec_with(port: int, **unit) -> dict:
    unit.setdefault("size", 2000)
    return {"servers": [{"port": port, "units": {"1": unit}}]}


async def test_every_type_and_byte_order(modbus_peer):
    holding, signals, expected = layout()
    port = free_port()
    modbus_peer(spec_with(port, holding=holding))
    d = driver(tcp_device(port), signals)
    try:
        assert_values(await values(d), expected)
        # 40 values over 200 registers with 1-register gaps: 2 requests, not 40
        assert len(d.plan.requests) == 2
    finally:
        await d.close()
    # strings per device byte order
    start = 100 + 5 * len(expected)
    for sbo, at in (("big", start), ("little", start + 5)):
        dev = tcp_device(port, string_byte_order=sbo)
        d = driver(dev, {"s": {"address": at, "type": "string", "length": 5}})
        try:
            assert (await values(d))["s"] == "Fryer 3"
        finally:
            await d.close()


async def test_addressing_units_scale_and_maps(modbus_peer):
    port = free_port()
    spec = {"servers": [{"port": port, "units": {
        "1": {"size": 100, "holding": {"0": [7, 3, 0b101]}, "input": {"9": [250]},
              "coil": {"4": [True]}},
        "2": {"size": 100, "holding": {"0": [42]}},
    }}]}
    modbus_peer(spec)
    d = driver(tcp_device(port, addressing="plc"), {
        "state": {"address": 40001, "map": {7: "running", 3: "idle"}},
        "unknown_state": {"address": 40002, "map": {7: "running"}},
        "temp": {"address": 30010, "scale": 0.1, "offset": -5},
        "coil": {"address": 5, "type": "bool"},
        "alarms": {"address": 40003, "type": "bits", "map": {0: "door", 1: "estop", 2: "oil"}},
        "other_unit": {"address": 40001, "unit_id": 2},
    })
    try:
        samples = {s.signal[2:]: s for s in await d.poll()}
        assert samples["state"].value == "running"
        assert (samples["unknown_state"].value, samples["unknown_state"].quality) == \
            ("3", Quality.UNCERTAIN)
        assert samples["temp"].value == pytest.approx(20.0)
        assert samples["coil"].value is True
        assert samples["alarms"].value == "door,oil"
        assert samples["other_unit"].value == 42
    finally:
        await d.close()


async def test_requests_on_the_wire_follow_the_plan_and_limits(modbus_peer):
    port = free_port()
    modbus_peer(spec_with(port, holding={"0": list(range(1000))}, coil={"0": [True] * 16}))
    proxy = await RecordingProxy(port).start()
    signals = {f"r{i}": {"address": i * 3, "type": "uint16"} for i in range(300)}  # 0..897
    signals |= {f"c{i}": {"address": i * 100, "table": "coil", "type": "bool"} for i in range(5)}
    d = driver(tcp_device(proxy.port, max_registers_per_request=60, max_gap=2,
                          max_gap_bits=98), signals)
    try:
        got = await values(d)
        assert got["r299"] == 897 and got["c0"] is True and got["c4"] is False
        reads = [f for f in proxy.frames if f[1] == 3]
        counts = [int.from_bytes(pdu[3:5], "big") for _, _, pdu in reads]
        assert max(counts) <= 60
        # 20 values (58 registers) per request under the 60-register limit
        assert len(reads) == len([r for r in d.plan.requests if r.table == "holding"]) == 15
        assert sum(1 for f in proxy.frames if f[1] == 1) == 5  # coil gaps of 99 bits > 98: no merge
    finally:
        await d.close()
        await proxy.close()


async def test_only_read_function_codes_leave_the_driver(modbus_peer):
    """Every code path of a busy life (all tables, exceptions, reconnects) through a
    proxy that records each request frame: nothing but 1-4 is ever sent."""
    port = free_port()
    peer = modbus_peer(spec_with(port, size=100, holding={"0": [1, 2, 3]},
                                 holes={"holding": [[50, 59]]}))
    proxy = await RecordingProxy(port).start()
    d = driver(tcp_device(proxy.port), {
        "h": {"address": 0}, "i": {"address": 0, "table": "input"},
        "c": {"address": 0, "table": "coil", "type": "bool"},
        "d": {"address": 0, "table": "discrete", "type": "bool"},
        "hole": {"address": 55}, "f": {"address": 1, "type": "float32"},
    })
    try:
        await d.poll()
        peer.restart()
        for _ in range(3):
            await d.poll()
            await asyncio.sleep(0.25)
        # Even asked directly, the link refuses to frame a write.
        with pytest.raises(WriteRefused):
            await d.link._client.write_register(0, 99, device_id=1)
        await d.poll()
    finally:
        await d.close()
        await proxy.close()
    assert proxy.frames, "nothing recorded"
    assert proxy.function_codes <= {1, 2, 3, 4}
    assert proxy.function_codes == {1, 2, 3, 4}
    assert set(d.link.sent) <= {1, 2, 3, 4}


async def test_server_killed_and_restarted_mid_run(modbus_peer):
    port = free_port()
    peer = modbus_peer(spec_with(port, size=10, holding={"0": [111]}))
    d = driver(tcp_device(port, reconnect_min_s=0.05, reconnect_max_s=0.2), {"v": {"address": 0}})
    try:
        assert (await values(d))["v"] == 111
        peer.kill()
        bad = [await values(d) for _ in range(3)]
        assert all(v["v"] is None for v in bad), "a dead server's last value came back as good"
        assert not d.stats.up
        # the lost connection is noticed at once, not after a timeout; then refused
        assert d.stats.errors["connection"] + d.stats.errors["connect"] >= 1
        assert d.stats.errors["timeout"] == 0
        peer.start(spec_with(port, size=10, holding={"0": [222]}))
        for _ in range(40):  # backoff capped at 0.2 s: back within a few cycles
            got = await values(d)
            if got["v"] is not None:
                break
            await asyncio.sleep(0.05)
        assert got["v"] == 222 and d.stats.up
    finally:
        await d.close()


async def test_exception_codes_and_holes(modbus_peer):
    port = free_port()
    modbus_peer(spec_with(port, size=100, holding={"0": [5]}, holes={"holding": [[20, 29]]}))
    d = driver(tcp_device(port, max_gap=50), {"a": {"address": 0}, "b": {"address": 25},
                                              "c": {"address": 40}})
    try:
        got = await values(d)
        # 0..40 is one request that touches the hole: the whole request fails, is counted
        assert got == {"a": None, "b": None, "c": None}
        assert d.stats.errors["illegal_address"] == 1
        assert d.stats.up  # it answered: no backoff
    finally:
        await d.close()
    # Declaring the hole forbidden fixes the plan: the other values read around it.
    from lineside.drivers.modbus.settings import ForbiddenRange
    d = driver(tcp_device(port, max_gap=50, forbidden=[ForbiddenRange(start=20, end=29)]),
               {"a": {"address": 0}, "b": {"address": 25}, "c": {"address": 40}})
    try:
        got = await values(d)
        assert got == {"a": 5, "b": None, "c": 0}
    finally:
        await d.close()


async def test_link_maps_tables_to_read_codes_only():
    link: Link = tcp_link("127.0.0.1", free_port(), 0.2)
    req = ReadRequest("holding", 1, 0, 1, ())
    assert req.function_code == 3
    from lineside.drivers.modbus.link import ReadError
    with pytest.raises(ReadError) as e:
        await link.read(req, 0.2)
    assert e.value.kind == "connect"
    assert ModbusSignal(address=0).words == 1
