"""Helpers of the queue tests on a full disk: numbered points and what a queue file holds."""

from __future__ import annotations

from pathlib import Path

from lineside.sinks.queue import DiskQueue


def lines(start: int, n: int) -> list[str]:
    """n distinct line-protocol points, numbered from `start`."""
    return [f"signal,machine=m{i % 7} value={i} {1_700_000_000_000_000_000 + i}"
            for i in range(start, start + n)]


def queued(path: Path) -> list[str]:
    """The points the queue file at `path` holds, in order (it must be whole)."""
    q = DiskQueue(path, name="check")
    try:
        assert not q.quarantined
        return [ln for c in q.iter_chunks() for ln in c.decode().split("\n")]
    finally:
        q.close()
