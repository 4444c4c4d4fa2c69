"""Modbus TCP, RTU (serial) and RTU-over-TCP driver.

`build_modbus_drivers` is the entry point for the runtime; `checks` serves `lineside
check`. Only read function codes 1-4 are ever sent (see `link`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from lineside.drivers.base import SignalRef
from lineside.drivers.modbus.link import Link, serial_link, tcp_link
from lineside.drivers.modbus.poller import ModbusDriver

MODBUS_TYPES = ("modbus-tcp", "modbus-rtu", "modbus-rtu-over-tcp")
log = logging.getLogger("lineside.drivers.modbus")

__all__ = ["MODBUS_TYPES", "ModbusDriver", "build_modbus_drivers"]


def build_modbus_drivers(devices: Iterable[Any],
                         signals_by_device: Mapping[str, Sequence[SignalRef]],
                         clock: Callable[[], float] = time.time) -> list[ModbusDriver]:
    """One driver per enabled Modbus device; devices on one serial port (or one serial
    gateway) share its `Link`, so their requests take turns on the bus. `clock`: the
    wall clock samples are stamped with."""
    shared: dict[tuple[Any, ...], Link] = {}  # ("tcp", host, port) or ("serial", port)
    first_on_port: dict[str, Any] = {}
    drivers: list[ModbusDriver] = []
    for dev in devices:
        if getattr(dev, "type", None) not in MODBUS_TYPES or not dev.enabled:
            continue
        if dev.type == "modbus-tcp":
            link = tcp_link(dev.host, dev.port, dev.timeout_s)
        elif dev.type == "modbus-rtu-over-tcp":
            key: tuple[Any, ...] = ("tcp", dev.host, dev.port)
            link = shared.get(key) or tcp_link(dev.host, dev.port, dev.timeout_s, rtu=True)
            shared[key] = link
        else:
            key = ("serial", dev.serial_port)
            first = first_on_port.setdefault(dev.serial_port, dev)
            line = ("baudrate", "parity", "stopbits", "bytesize")
            if any(getattr(first, a) != getattr(dev, a) for a in line):
                log.warning("modbus %s: serial settings differ from %s on the same port %s; "
                            "the port uses %s's", dev.id, first.id, dev.serial_port, first.id,
                            extra={"device": dev.id})
            link = shared.get(key) or serial_link(
                dev.serial_port, baudrate=dev.baudrate, parity=dev.parity,
                stopbits=dev.stopbits, bytesize=dev.bytesize, timeout=dev.timeout_s)
            shared[key] = link
            link.pause_s = max(link.pause_s, dev.pause_s)
        drivers.append(ModbusDriver(dev, list(signals_by_device.get(dev.id, ())), link,
                                    clock=clock))
    return drivers
