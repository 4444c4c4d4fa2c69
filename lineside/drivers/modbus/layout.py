"""A device's configured signals, resolved: protocol address, unit id, planner limits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lineside.drivers.modbus.addressing import Address, AddressError, resolve
from lineside.drivers.modbus.planner import Item, Limits
from lineside.drivers.modbus.settings import ModbusSignal


@dataclass(frozen=True, slots=True)
class Resolved:
    key: Any  # signal key or config location
    sig: ModbusSignal
    address: Address
    unit: int

    def item(self) -> Item:
        return Item(self.key, self.address.table, self.unit, self.address.address,
                    self.address.count)


def resolve_all(device: Any, pairs: Iterable[tuple[Any, ModbusSignal]]
                ) -> tuple[list[Resolved], list[tuple[Any, str]]]:
    """Resolved signals and, apart, the ones whose address names nothing readable."""
    ok: list[Resolved] = []
    bad: list[tuple[Any, str]] = []
    for key, sig in pairs:
        try:
            addr = resolve(sig, device.addressing)
        except AddressError as e:
            bad.append((key, str(e)))
            continue
        unit = sig.unit_id if sig.unit_id is not None else device.unit_id
        ok.append(Resolved(key, sig, addr, unit))
    return ok, bad


def limits_for(device: Any) -> Limits:
    forbidden: dict[str, list[tuple[int, int]]] = {}
    for f in device.forbidden:
        forbidden.setdefault(f.table, []).append((f.start, f.end))
    gap_bits = device.max_gap_bits if device.max_gap_bits is not None else 16 * device.max_gap
    return Limits(max_registers=device.max_registers_per_request,
                  max_bits=device.max_bits_per_request, max_gap=device.max_gap,
                  max_gap_bits=min(gap_bits, 1999),
                  forbidden={t: tuple(r) for t, r in forbidden.items()})
