"""What a reload changes: the devices whose driver must be rebuilt."""

from __future__ import annotations

from typing import Any

from lineside.config.models import LinesideConfig
from lineside.config.plant import iter_machines


def changed_devices(old: LinesideConfig, new: LinesideConfig) -> set[str]:
    """Devices added, removed, changed, or whose machines' signals changed."""
    changed = {d.id for d in new.devices} ^ {d.id for d in old.devices}
    olddev = {d.id: d for d in old.devices}
    changed |= {d.id for d in new.devices if olddev.get(d.id) != d}
    old_sig, new_sig = _signals(old), _signals(new)
    changed |= {dev for dev in set(old_sig) | set(new_sig)
                if old_sig.get(dev) != new_sig.get(dev)}
    return changed


def _signals(cfg: LinesideConfig) -> dict[str, list[tuple[str, Any]]]:
    out: dict[str, list[tuple[str, Any]]] = {}
    for _, _, m, _ in iter_machines(cfg.lines):
        out.setdefault(m.source, []).extend(
            (f"{m.id}.{n}", s) for n, s in sorted(m.signals.items()))
    return out
