"""`lineside check`: address mistakes with their config location, and the read plan."""

from __future__ import annotations

import pytest

from lineside.backoff import Backoff
from lineside.drivers.modbus.checks import check_device, describe_plan
from lineside.drivers.modbus.settings import ForbiddenRange, ModbusSignal, ModbusTcpDevice


def dev(**kw) -> ModbusTcpDevice:
    kw.setdefault("id", "plc")
    return ModbusTcpDevice(type="modbus-tcp", host="127.0.0.1", **kw)


def loc(name: str) -> tuple:
    return ("lines", 0, "stages", 0, "machines", 0, "signals", name)


@pytest.mark.parametrize(("device", "signals", "bad", "fragment"), [
    (dev(), {"a": {"address": 65535, "type": "uint32"}}, ["a"], "65535"),
    (dev(addressing="one"), {"a": {"address": 0}}, ["a"], "starts at 1"),
    (dev(addressing="plc"), {"a": {"address": 40001, "type": "float32"},
                             "b": {"address": 10001, "type": "uint16"}}, ["b"], "must be bool"),
    (dev(addressing="plc"), {"a": {"address": 20001}}, ["a"], "PLC notation"),
    (dev(), {"a": {"address": 10, "type": "uint32"}, "b": {"address": 11, "type": "int16"}},
     ["b"], "overlaps lines[0].stages[0].machines[0].signals.a"),
    (dev(), {"a": {"address": 10, "type": "float32"}, "b": {"address": 11, "type": "float32"}},
     ["b"], "different values"),
    (dev(forbidden=[ForbiddenRange(start=100, end=109)]), {"a": {"address": 98, "type": "int64"}},
     ["a"], "forbidden holding range 100..109"),
    (dev(max_registers_per_request=8), {"a": {"address": 0, "type": "string", "length": 10}},
     ["a"], "longer than the device's request limit (8)"),
])
def test_problems_are_named(device, signals, bad, fragment):
    problems = check_device(device, [(loc(k), ModbusSignal(**v)) for k, v in signals.items()])
    assert [p[0] for p in problems] == [loc(k) for k in bad]
    assert fragment in problems[0][1]


@pytest.mark.parametrize("signals", [
    {"word": {"address": 5}, "b0": {"address": 5, "type": "bool", "bit": 0},
     "b7": {"address": 5, "type": "bool", "bit": 7}},  # status word and its bits
    {"a": {"address": 5, "type": "float32"}, "b": {"address": 5, "type": "float32"}},  # twice
    {"a": {"address": 5, "table": "input"}, "b": {"address": 5, "type": "int16"}},  # tables
    {"a": {"address": 5, "unit_id": 2}, "b": {"address": 5, "type": "int16"}},  # units
    {"c": {"address": 5, "table": "coil", "type": "bool"},
     "d": {"address": 5, "table": "coil", "type": "bool"}},
])
def test_legitimate_layouts_pass(signals):
    assert check_device(dev(), [(loc(k), ModbusSignal(**v)) for k, v in signals.items()]) == []


def test_describe_plan():
    signals = [(f"m.v{i}", ModbusSignal(address=i * 2, type="float32")) for i in range(70)]
    signals.append(("m.c", ModbusSignal(address=3, table="coil", type="bool")))
    signals.append(("m.bad", ModbusSignal(address=65535, type="float32")))
    lines = describe_plan(dev(interval_s=2), signals)
    assert lines[0] == ("3 request(s) per cycle for 72 signal(s) every 2 s "
                        "(one request per signal would be 72)")
    assert lines[1].startswith("unit 1 FC3 holding 0..123 (124 registers, 62 values): m.v0, ")
    assert lines[2].startswith("unit 1 FC3 holding 124..139 (16 registers, 8 values)")
    assert lines[3] == "unit 1 FC1 coil 3..3 (1 bits, 1 values): m.c"
    assert lines[4].startswith("never read: m.bad (address 65535")


def test_backoff_grows_with_jitter_and_resets():
    b = Backoff(0.5, 4.0, rng=lambda: 1.0 - 1e-12)
    assert [round(b.next_delay(), 3) for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    b.reset()
    lo = Backoff(0.5, 4.0, rng=lambda: 0.0)
    assert [lo.next_delay() for _ in range(3)] == [0.25, 0.5, 1.0]
    assert b.next_delay() == pytest.approx(0.5)


async def test_build_shares_links_per_bus_and_skips_disabled():
    from lineside.drivers.modbus.build import build_modbus_drivers
    from lineside.drivers.modbus.settings import ModbusRtuDevice

    rtu = {"type": "modbus-rtu", "serial_port": "/dev/null-bus", "pause_s": 0.01}
    devices = [dev(id="a"), dev(id="b"), dev(id="off", enabled=False),
               ModbusRtuDevice(id="r1", unit_id=1, **rtu),
               ModbusRtuDevice(id="r2", unit_id=2, **{**rtu, "pause_s": 0.02})]
    drivers = build_modbus_drivers(devices, {})
    try:
        assert [d.device_id for d in drivers] == ["a", "b", "r1", "r2"]
        assert drivers[0].link is not drivers[1].link  # TCP: a connection per device
        assert drivers[2].link is drivers[3].link  # one serial port, one bus
        assert drivers[2].link.pause_s == 0.02  # the longest pause any slave needs
        assert await drivers[0].poll() == [] and drivers[0].stats.cycles == 1
    finally:
        for d in drivers:
            await d.close()
