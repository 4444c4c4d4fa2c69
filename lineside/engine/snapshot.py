"""The engine's snapshot: everything needed to resume identically after a restart
(docs/engine.md, "Snapshot and resume"), as strict JSON types. Machine records, the
periods and the CCPs dump themselves; `Engine._restore` loads each part back. The
snapshot's keys stay those of snapshots already on disk."""

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


def check_version(snap: dict[str, Any]) -> None:
    if snap.get("version") != SNAPSHOT_VERSION:
        raise ValueError(f"engine snapshot version {snap.get('version')!r} is not "
                         f"{SNAPSHOT_VERSION}")
