"""Durable delivery of points: a disk queue per sink and an InfluxDB writer per sink.

    sinks = SinkSet(cfg.sinks, state_dir)   # no sinks configured -> one local sink
    sinks.enqueue(points, state=snap)       # durable (per fsync policy) before it returns;
                                            # the engine snapshot in the same transaction
    sinks.load_state()                      # the newest snapshot committed (bytes) or None
    task = asyncio.create_task(sinks.run()) # delivery loops; cancel to stop
    await sinks.flush(timeout_s)            # try to drain within the deadline
    await sinks.close()

See docs/delivery.md for the queue format, fsync policy and retry semantics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from lineside.points import Point, Refusal
from lineside.sinks.health import DeliveryHealth
from lineside.sinks.lineproto import to_lines
from lineside.sinks.settings import LocalSink, SinkConfig
from lineside.sinks.sink import Sink, SinkStats

__all__ = ["Sink", "SinkSet", "SinkStats"]

log = logging.getLogger(__name__)


class SinkSet:
    """All configured sinks; each has its own queue file and delivery task."""

    def __init__(self, sinks: Sequence[SinkConfig], state_dir: Path | str,
                 identity: tuple[str, str] | None = None) -> None:
        """`identity` = (enterprise_id, region): stamped on points sent to bureau sinks."""
        self.state_dir = Path(state_dir)
        cfgs = list(sinks) or [LocalSink(type="local", id="local")]
        if identity is None and any(c.role == "bureau" for c in cfgs):
            raise ValueError("a bureau sink needs the site's identity (enterprise id, "
                             "region) to stamp on what it carries")
        self.health = DeliveryHealth()
        self.sinks: dict[str, Sink] = {}
        for c in cfgs:
            if c.id in self.sinks:
                raise ValueError(f"duplicate sink id {c.id!r}")
            self.sinks[c.id] = Sink(c, self.state_dir, health=self.health)
        self.identity = identity
        self._plant = any(c.role != "bureau" for c in cfgs)  # a sink that takes every point
        states = [st for s in self.sinks.values() if (st := s.queue.read_state())]
        self._state_seq = max((seq for seq, _ in states), default=0)

    def load_state(self) -> bytes | None:
        """The newest engine snapshot committed with points in any queue.

        Every queue gets the snapshot with its points; a kill between two queues'
        commits (microseconds) leaves the later one behind: the newest state wins, so no
        bucket is closed twice (the lagging sink misses that one enqueue).
        """
        states = [st for s in self.sinks.values() if (st := s.queue.read_state())]
        return max(states)[1] if states else None

    def enqueue(self, points: Sequence[Point], state: bytes | None = None,
                refused: list[Refusal] | None = None) -> None:
        """Serialize once and append to every sink's queue (bureau: allowed points only),
        with `state` (the engine snapshot after these points) in the same transaction.
        Values the line protocol leaves out are appended to `refused` (once, however
        many sinks). A queue that fails otherwise than by a disk refusing writes (which
        it holds in memory) never stops the others: that sink's batch is set aside in
        its dead-letter file and the failure goes to `health` (docs/delivery.md)."""
        if not points and state is None:
            return
        st: tuple[int, bytes] | None = None
        if state is not None:
            self._state_seq += 1
            st = (self._state_seq, state)
        lines: list[str] | None = None
        for s in self.sinks.values():
            if s.cfg.role == "bureau":
                assert self.identity is not None
                # the one uplink path (docs/design.md, "Safety and security")
                from lineside.sinks.uplink import prepare_for_uplink

                mine = to_lines(prepare_for_uplink(points, *self.identity),
                                None if self._plant else refused)
            else:
                if lines is None:
                    lines = to_lines(points, refused)
                mine = lines
            stage = f"queue {s.id}"
            try:
                s.queue.put(mine, st)
            except Exception as e:  # one sink's trouble must not starve the others
                first = stage not in self.health.failing
                self.health.failed(stage, e)
                s.set_aside(mine, e, log_traceback=first)
            else:
                self.health.ok(stage)

    async def run(self) -> None:
        tasks = [asyncio.create_task(s.run(), name=f"sink-{s.id}") for s in self.sinks.values()]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(BaseException):
                    await t

    async def flush(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        results = await asyncio.gather(*(s.drain(deadline) for s in self.sinks.values()))
        return all(results)

    async def close(self) -> None:
        for s in self.sinks.values():
            await s.close()

    @property
    def holding(self) -> bool:
        """Some queue holds points in memory that its disk refused (not durable yet)."""
        return any(s.queue.holding for s in self.sinks.values())

    def stats(self) -> dict[str, SinkStats]:
        return {sid: s.stats() for sid, s in self.sinks.items()}
