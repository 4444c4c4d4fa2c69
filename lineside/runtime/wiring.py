"""From a configuration to driver objects: which signals each device serves."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from lineside.config.models import LinesideConfig
from lineside.config.plant import iter_machines
from lineside.drivers.base import Driver, SignalRef


def signals_by_device(cfg: LinesideConfig) -> dict[str, list[SignalRef]]:
    out: dict[str, list[SignalRef]] = {d.id: [] for d in cfg.devices}
    for _, _, m, _ in iter_machines(cfg.lines):
        for name, spec in m.signals.items():
            out.setdefault(m.source, []).append(SignalRef(f"{m.id}.{name}", spec))
    return out


def build_drivers(cfg: LinesideConfig, only: set[str] | None = None,
                  clock: Callable[[], float] = time.time) -> list[Driver]:
    """One driver per enabled device (Modbus RTU devices on one port share a bus);
    `clock` is the wall clock they stamp samples with (the agent's, runtime/clock.py)."""
    by_dev = signals_by_device(cfg)
    wanted = [d for d in cfg.devices if d.enabled and (only is None or d.id in only)]
    modbus = [d for d in wanted if d.type != "opcua"]
    opcua = [d for d in wanted if d.type == "opcua"]
    drivers: list[Driver] = []
    if modbus:
        from lineside.drivers.modbus.build import build_modbus_drivers

        drivers += build_modbus_drivers(modbus, {d.id: by_dev.get(d.id, []) for d in modbus},
                                        clock=clock)
    if opcua:
        from lineside.drivers.opcua.driver import OpcuaDriver

        drivers += [OpcuaDriver(d, by_dev.get(d.id, []), Path(cfg.state_dir), clock=clock)
                    for d in opcua]
    return drivers
