"""Small builders shared by the Modbus driver tests."""

from __future__ import annotations

from typing import Any

from lineside.drivers.base import SignalRef
from lineside.drivers.modbus import ModbusDriver, build_modbus_drivers
from lineside.drivers.modbus.config import ModbusSignal, ModbusTcpDevice


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
