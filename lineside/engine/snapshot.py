"""The engine's snapshot: everything needed to resume identically after a restart
(docs/engine.md, "Snapshot and resume"), as strict JSON types. Machine records dump themselves
(machine.py); the snapshot's keys stay those of snapshots already on disk."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lineside.engine.core import Engine

SNAPSHOT_VERSION = 1


def engine_snapshot(e: Engine) -> dict[str, Any]:
    """The engine's state as strict JSON types."""
    return {
        "version": SNAPSHOT_VERSION,
        "start": e.start,
        "now": e.now,
        **e.periods.dump(),
        "dirty": [m.id for m in e.dirty_machines],
        "stats": asdict(e.stats),
        "machines": {m.id: m.dump() for m in e.machines},
        "signals": {pv.key: pv.last for pv in e.plant.process_values if pv.last is not None},
        "ccps": e.ccps.dump() if e.ccps is not None else {},
        "reasons": e.reasons.dump() if e.reasons is not None else {},
        "lots": e.lots.dump(),
        "actions": e.actions.dump() if e.actions is not None else {},
    }


def restore_snapshot(e: Engine, snap: dict[str, Any]) -> None:
    """Load a snapshot into a freshly built engine (its configuration may have changed:
    machines removed are dropped, new ones start `unknown` at the resume instant)."""
    if snap.get("version") != SNAPSHOT_VERSION:
        raise ValueError(f"engine snapshot version {snap.get('version')!r} is not "
                         f"{SNAPSHOT_VERSION}")
    e.start = float(snap["start"])
    e.now = float(snap["now"])
    e.periods.load(snap)
    for k, v in snap.get("stats", {}).items():
        if hasattr(e.stats, k):
            setattr(e.stats, k, int(v))
    for mid, d in snap.get("machines", {}).items():
        m = e.by_id.get(mid)
        if m is not None:  # machines removed from the config are dropped
            m.load(d, e.now)
    for mid in snap.get("dirty", []):
        m = e.by_id.get(mid)
        if m is not None and not m.dirty:
            m.dirty = True
            e.dirty_machines.append(m)
    pvs = {pv.key: pv for pv in e.plant.process_values}
    for k, v in snap.get("signals", {}).items():
        if k in pvs:
            pvs[k].last = v
    if e.ccps is not None:
        e.ccps.load(snap.get("ccps") or {})
    if e.reasons is not None:
        e.reasons.load(snap.get("reasons") or {})
    e.lots.load(snap.get("lots") or {})
    if e.actions is not None:
        e.actions.load(snap.get("actions") or {})
    # New machines (added to the config) start `unknown` at the resume instant.
    known = snap.get("machines", {})
    for m in e.machines:
        if m.id not in known:
            m.state_since = m.accounted_to = e.now
