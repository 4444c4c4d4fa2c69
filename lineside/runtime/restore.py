"""Where the engine state comes from at start: the queues, or the file of older versions.

The state is committed with the points in every queue (docs/delivery.md); the newest
wins. `engine-state.json` (written before issue 14) is read only when no queue holds a
state, and never written; an unreadable one is moved aside.
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("lineside.agent")

SNAPSHOT_FILE = "engine-state.json"  # before issue 14: read once, never written


def load_snapshot(committed: bytes | None, state_dir: Path, now: float
                  ) -> dict[str, Any] | None:
    """The engine state to resume from: `committed` (the queues' newest), else the old
    file, else None (a fresh start)."""
    if committed is not None:
        try:
            return json.loads(committed)
        except ValueError as e:
            log.error("engine snapshot in the queue unreadable (%s); starting fresh", e)
            return None
    p = state_dir / SNAPSHOT_FILE
    if not p.exists():
        return None
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError) as e:
        bad = p.with_suffix(f".corrupt-{int(now)}")
        with contextlib.suppress(OSError):
            p.rename(bad)
        log.error("engine snapshot %s unreadable (%s); moved to %s, starting fresh", p, e, bad)
        return None
