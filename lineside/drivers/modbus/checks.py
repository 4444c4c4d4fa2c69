"""What `lineside check` asks the Modbus driver: address mistakes and the read plan."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from lineside.drivers.modbus.addressing import BIT_TABLES
from lineside.drivers.modbus.layout import Resolved, limits_for, resolve_all
from lineside.drivers.modbus.planner import plan
from lineside.drivers.modbus.settings import ModbusSignal

Loc = tuple[Any, ...]


def _path(loc: Any) -> str:
    if not isinstance(loc, tuple):
        return str(loc)
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _layout(r: Resolved) -> tuple:
    s = r.sig
    return (s.type, s.length, s.byte_order, r.address.count)


def _compatible(a: Resolved, b: Resolved) -> bool:
    """Two values may share registers when they read them the same way, or when one
    of them picks a single bit out of a one-register word (status words)."""
    if _layout(a) == _layout(b) and a.address.address == b.address.address:
        return True
    return any(x.sig.bit is not None and y.address.count == 1 for x, y in ((a, b), (b, a)))


def _span(r: Resolved) -> str:
    a = r.address
    return f"{a.table} {a.address}" if a.count == 1 else f"{a.table} {a.address}..{a.end - 1}"


def check_device(device: Any, signals: list[tuple[Loc, ModbusSignal]]) -> list[tuple[Loc, str]]:
    """Problems of one device's signals, each with its config location."""
    if not hasattr(device, "addressing"):
        return []
    resolved, problems = resolve_all(device, signals)
    limits = limits_for(device)
    by_group: dict[tuple[int, str], list[Resolved]] = defaultdict(list)
    for r in resolved:
        by_group[(r.unit, r.address.table)].append(r)
        span = limits.span_limit(r.address.table)
        if r.address.count > span:
            problems.append((r.key, f"{r.sig.type} of {r.address.count} registers is longer "
                                    f"than the device's request limit ({span})"))
        for lo, hi in limits.forbidden.get(r.address.table, ()):
            if lo < r.address.end and r.address.address <= hi:
                problems.append((r.key, f"reads {_span(r)}, inside the device's forbidden "
                                        f"{r.address.table} range {lo}..{hi}"))
    for (unit, table), group in by_group.items():
        if table in BIT_TABLES:
            continue  # one bit each: two signals on one coil read the same thing
        group.sort(key=lambda r: (r.address.address, r.address.end))
        open_: list[Resolved] = []
        for r in group:
            open_ = [o for o in open_ if o.address.end > r.address.address]
            for o in open_:
                if not _compatible(o, r):
                    problems.append((r.key, (
                        f"{r.sig.type} at {_span(r)} (unit {unit}) overlaps {_path(o.key)} "
                        f"({o.sig.type} at {_span(o)}): the same registers read as "
                        "different values")))
                    break
            open_.append(r)
    return problems


def describe_plan(device: Any, signals: list[tuple[str, ModbusSignal]]) -> list[str]:
    """Human-readable read plan for `lineside check --print`."""
    resolved, bad = resolve_all(device, signals)
    p = plan([r.item() for r in resolved], limits_for(device))
    n = len(resolved) + len(bad)
    lines = [f"{len(p.requests)} request(s) per cycle for {n} signal(s) "
             f"every {device.interval_s:g} s (one request per signal would be {n})"]
    for req in p.requests:
        keys = [str(i.key) for i in req.items]
        shown = ", ".join(keys[:6]) + (f", … (+{len(keys) - 6})" if len(keys) > 6 else "")
        lines.append(f"{req.describe()}: {shown}")
    for item, why in p.unreadable:
        lines.append(f"never read: {item.key} ({why})")
    for key, why in bad:
        lines.append(f"never read: {key} ({why})")
    return lines
