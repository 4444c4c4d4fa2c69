"""Small builders shared by the Modbus driver tests."""

from __future__ import annotations

from typing import Any

from lineside.drivers.base import SignalRef
from lineside.drivers.modbus.build import build_modbus_drivers
from lineside.drivers.modbus.poller import ModbusDriver
from lineside.drivers.modbus.settings import ModbusSignal, ModbusTcpDevice

ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")
# One value per numeric type; the libmodbus peer (peer.c) holds the same, in this order.
SAMPLES = {
    "int16": -12345, "uint16": 54321, "float16": -2.5, "bits": 0x8001,
    "int32": -2_000_000_001, "uint32": 4_000_000_001, "float32": 123.456,
    "int64": -9_000_000_000_000_000_001, "uint64": 18_000_000_000_000_000_001,
    "float64": -98765.4321,
}


def matrix_signals(start: int = 100, slot: int = 5) -> tuple[dict, dict]:
    """Signals for every type in every order in `slot`-register slots, and the values."""
    signals, expected = {}, {}
    addr = start
    for dtype, value in SAMPLES.items():
        for order in ORDERS:
            name = f"{dtype}_{order}"
            signals[name] = {"address": addr, "type": dtype, "byte_order": order}
            expected[name] = value
            addr += slot
    return signals, expected


def assert_values(got: dict, expected: dict) -> None:
    import pytest

    for name, want in expected.items():
        if isinstance(want, float):
            rel = 1e-3 if "float16" in name else 1e-6
            assert got[name] == pytest.approx(want, rel=rel), name
        else:
            assert got[name] == want, name


def tcp_device(port: int, **kw: Any) -> ModbusTcpDevice:
    kw.setdefault("id", "plc")
    kw.setdefault("timeout_s", 0.5)
    kw.setdefault("reconnect_min_s", 0.05)
    kw.setdefault("reconnect_max_s", 0.2)
    return ModbusTcpDevice(type="modbus-tcp", host="127.0.0.1", port=port, **kw)


def refs(signals: dict[str, dict]) -> list[SignalRef]:
    return [SignalRef(f"m.{name}", ModbusSignal(**spec)) for name, spec in signals.items()]


def driver(device: Any, signals: dict[str, dict]) -> ModbusDriver:
    [d] = build_modbus_drivers([device], {device.id: refs(signals)})
    return d


async def values(d: ModbusDriver) -> dict[str, Any]:
    """One cycle as {name: value} (None when not GOOD)."""
    return {s.signal.removeprefix("m."): (s.value if s.good else None) for s in await d.poll()}
